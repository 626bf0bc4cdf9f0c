//! Engine-level tests of the simulated FE's SQL surface, through the `SqlEngine` /
//! `SqlSession` traits (no network).

use std::sync::Arc;

use doris_sim::catalog::Catalog;
use doris_sim::session::{ColumnType, SqlEngine, SqlError, SqlSession, StatementResult};
use doris_sim::sql::FeSqlEngine;

use doris_sim::topology::ClusterTopology;

use crate::support::{binlog_catalog, topology_on, ROOT_PASSWORD};

/// BEs on distinct hosts, in the reverse of their id order (SHOW BACKENDS sorts by host).
fn topology() -> ClusterTopology {
    topology_on(|i| format!("127.0.0.{}", 3 - i))
}

struct Fixture {
    catalog: Arc<Catalog>,
    engine: FeSqlEngine,
}

fn fixture() -> Fixture {
    let catalog = binlog_catalog(topology());
    Fixture {
        engine: FeSqlEngine::new(catalog.clone()),
        catalog,
    }
}

impl Fixture {
    fn root(&self) -> Box<dyn SqlSession> {
        self.engine.open_session("root", None).unwrap()
    }
}

struct Rows {
    columns: Vec<String>,
    types: Vec<ColumnType>,
    rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns))
    }

    fn get(&self, row: usize, name: &str) -> String {
        self.rows[row][self.col(name)]
            .clone()
            .unwrap_or_else(|| "<null>".into())
    }

    fn column_values(&self, name: &str) -> Vec<String> {
        (0..self.rows.len()).map(|r| self.get(r, name)).collect()
    }

    fn strings(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.clone().unwrap_or_else(|| "<null>".into()))
                    .collect()
            })
            .collect()
    }
}

fn one(s: &mut dyn SqlSession, sql: &str) -> Result<StatementResult, SqlError> {
    let mut results = s.execute(sql);
    assert_eq!(
        results.len(),
        1,
        "one result expected for {sql}: {results:?}"
    );
    results.remove(0)
}

fn query(s: &mut dyn SqlSession, sql: &str) -> Rows {
    match one(s, sql) {
        Ok(StatementResult::Rows { columns, rows }) => Rows {
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            types: columns.iter().map(|c| c.column_type).collect(),
            rows,
        },
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

fn exec(s: &mut dyn SqlSession, sql: &str) -> u64 {
    match one(s, sql) {
        Ok(StatementResult::Ok { affected_rows, .. }) => affected_rows,
        other => panic!("{sql}: expected OK, got {other:?}"),
    }
}

fn fail(s: &mut dyn SqlSession, sql: &str) -> SqlError {
    match one(s, sql) {
        Err(e) => e,
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
    }
}

// ---------- P1: cluster checks ----------

#[test]
fn frontends_tvf_and_show_frontends() {
    let f = fixture();
    let mut s = f.root();
    let r = query(
        &mut *s,
        "select Host, QueryPort, RpcPort, IsMaster from frontends();",
    );
    assert_eq!(r.columns, ["Host", "QueryPort", "RpcPort", "IsMaster"]);
    assert!(r.types.iter().all(|t| *t == ColumnType::String));
    assert_eq!(
        r.strings(),
        vec![vec!["127.0.0.1", "19030", "19020", "true"]]
    );

    let all = query(&mut *s, "SELECT * FROM frontends()");
    let show = query(&mut *s, "SHOW FRONTENDS");
    let expected = [
        "Name",
        "Host",
        "EditLogPort",
        "HttpPort",
        "QueryPort",
        "RpcPort",
        "ArrowFlightSqlPort",
        "Role",
        "IsMaster",
        "ClusterId",
        "Join",
        "Alive",
        "ReplayedJournalId",
        "LastStartTime",
        "LastHeartbeat",
        "IsHelper",
        "ErrMsg",
        "Version",
        "CurrentConnected",
    ];
    assert_eq!(all.columns, expected);
    assert_eq!(show.columns, expected);
    assert!(show.types.iter().all(|t| *t == ColumnType::Varchar));
    assert_eq!(show.get(0, "EditLogPort"), "19010");
    assert_eq!(show.get(0, "HttpPort"), "18030");
    assert_eq!(show.get(0, "ArrowFlightSqlPort"), "-1");
    assert_eq!(show.get(0, "Role"), "FOLLOWER");
    assert_eq!(show.get(0, "Alive"), "true");
    assert!(show.get(0, "Name").starts_with("fe_"));
    assert!(show.get(0, "Version").starts_with("doris-2.1"));
    assert_eq!(show.get(0, "CurrentConnected"), "Yes");
}

#[test]
fn frontend_config_reports_binlog_switch() {
    let catalog = Catalog::new(topology(), ROOT_PASSWORD);
    let engine = FeSqlEngine::new(catalog.clone());
    let mut s = engine.open_session("root", None).unwrap();
    let r = query(
        &mut *s,
        r#"ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%""#,
    );
    assert_eq!(
        r.columns,
        ["Key", "Value", "Type", "IsMutable", "MasterOnly", "Comment"]
    );
    assert_eq!(
        r.strings(),
        vec![vec![
            "experimental_enable_feature_binlog",
            "false",
            "boolean",
            "false",
            "false",
            ""
        ]]
    );
    catalog.set_config("enable_feature_binlog", "true").unwrap();
    let r = query(
        &mut *s,
        r#"ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%""#,
    );
    assert_eq!(r.get(0, "Value"), "true");
    // Not mutable at runtime, like Doris.
    let e = fail(
        &mut *s,
        r#"ADMIN SET FRONTEND CONFIG ("enable_feature_binlog" = "false")"#,
    );
    assert!(e.message.contains("not mutable"), "{e:?}");
    exec(
        &mut *s,
        r#"ADMIN SET FRONTEND CONFIG ("max_backup_restore_job_num_per_db" = "3")"#,
    );
    assert_eq!(
        catalog
            .config_value("max_backup_restore_job_num_per_db")
            .as_deref(),
        Some("3")
    );
}

#[test]
fn show_backends_has_21_columns_sorted_by_host() {
    let f = fixture();
    let mut s = f.root();
    let r = query(&mut *s, "show backends");
    assert_eq!(
        r.columns,
        [
            "BackendId",
            "Host",
            "HeartbeatPort",
            "BePort",
            "HttpPort",
            "BrpcPort",
            "ArrowFlightSqlPort",
            "LastStartTime",
            "LastHeartbeat",
            "Alive",
            "SystemDecommissioned",
            "TabletNum",
            "DataUsedCapacity",
            "TrashUsedCapacity",
            "AvailCapacity",
            "TotalCapacity",
            "UsedPct",
            "MaxDiskUsedPct",
            "RemoteUsedCapacity",
            "Tag",
            "ErrMsg",
            "Version",
            "Status",
            "HeartbeatFailureCounter",
            "NodeRole",
        ]
    );
    assert_eq!(
        r.column_values("Host"),
        ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    );
    assert_eq!(r.column_values("BackendId"), ["20003", "20002", "20001"]);
    assert_eq!(r.get(0, "BePort"), "19062");
    assert_eq!(r.get(0, "HttpPort"), "18042");
    assert_eq!(r.get(0, "BrpcPort"), "18062");
    assert_eq!(r.get(0, "HeartbeatPort"), "19052");
    assert_eq!(r.get(0, "DataUsedCapacity"), "0.000");
    assert_eq!(r.get(0, "TotalCapacity"), "1.000 TB");
    assert_eq!(r.get(0, "UsedPct"), "0.00 %");
    assert_eq!(r.get(0, "Tag"), "{\"location\" : \"default\"}");
    assert_eq!(r.get(0, "NodeRole"), "mix");
    assert_eq!(r.get(0, "TabletNum"), "0");
}

#[test]
fn databases_create_show_alter_drop() {
    let f = fixture();
    let mut s = f.root();
    let r = query(&mut *s, "SHOW DATABASES");
    assert_eq!(r.columns, ["Database"]);
    assert_eq!(
        r.column_values("Database"),
        ["__internal_schema", "information_schema", "mysql"]
    );
    exec(&mut *s, "CREATE DATABASE IF NOT EXISTS `src_db`");
    exec(&mut *s, "CREATE DATABASE IF NOT EXISTS `src_db`");
    let e = fail(&mut *s, "CREATE DATABASE src_db");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1007,
            "errCode = 2, detailMessage = Can't create database 'src_db'; database exists"
        )
    );
    assert_eq!(
        query(&mut *s, "SHOW DATABASES LIKE 'src_db'").column_values("Database"),
        ["src_db"]
    );
    assert!(query(&mut *s, "SHOW DATABASES LIKE 'SRC_DB'")
        .rows
        .is_empty());

    let r = query(&mut *s, "SHOW CREATE DATABASE `src_db`");
    assert_eq!(r.columns, ["Database", "Create Database"]);
    assert_eq!(
        r.strings(),
        vec![vec!["src_db", "CREATE DATABASE `src_db`"]]
    );

    exec(
        &mut *s,
        r#"ALTER DATABASE src_db SET properties ("binlog.enable" = "true", "binlog.ttl_seconds"="86400")"#,
    );
    let r = query(&mut *s, "show create database src_db");
    assert_eq!(
        r.get(0, "Create Database"),
        "CREATE DATABASE `src_db`\nPROPERTIES (\n\"binlog.enable\" = \"true\",\n\"binlog.ttl_seconds\" = \"86400\"\n)"
    );
    assert!(r
        .get(0, "Create Database")
        .contains(r#""binlog.enable" = "true""#));

    exec(
        &mut *s,
        r#"CREATE DATABASE d2 PROPERTIES ("binlog.enable" = "TRUE")"#,
    );
    assert!(query(&mut *s, "show create database d2")
        .get(0, "Create Database")
        .contains(r#""binlog.enable" = "true""#));

    exec(&mut *s, "DROP DATABASE d2 FORCE");
    exec(&mut *s, "DROP DATABASE IF EXISTS d2");
    let e = fail(&mut *s, "DROP DATABASE d2");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1008,
            "errCode = 2, detailMessage = Can't drop database 'd2'; database doesn't exist"
        )
    );
    let e = fail(&mut *s, "SHOW CREATE DATABASE nope");
    assert_eq!(
        (e.code, e.sql_state.as_str(), e.message.as_str()),
        (
            1049,
            "42000",
            "errCode = 2, detailMessage = Unknown database 'nope'"
        )
    );
}

const ORDERS_DDL: &str = r#"CREATE TABLE IF NOT EXISTS orders (
  `id` INT,
  `region` VARCHAR(16),
  `amount` BIGINT
) ENGINE=OLAP
UNIQUE KEY(`id`, `region`)
PARTITION BY RANGE(`id`) (
  PARTITION p_low VALUES LESS THAN ("1000"),
  PARTITION p_mid VALUES [("1000"), ("5000")),
  PARTITION p_max VALUES LESS THAN MAXVALUE
)
DISTRIBUTED BY HASH(`id`) BUCKETS 2
PROPERTIES ("replication_num" = "1", "binlog.enable" = "true", "binlog.ttl_seconds" = "3600");"#;

const ORDERS_SHOW: &str = r#"CREATE TABLE `orders` (
  `id` int NULL,
  `region` varchar(16) NULL,
  `amount` bigint NULL
) ENGINE=OLAP
UNIQUE KEY(`id`, `region`)
COMMENT 'OLAP'
PARTITION BY RANGE(`id`)
(PARTITION p_low VALUES [("-2147483648"), ("1000")),
PARTITION p_mid VALUES [("1000"), ("5000")),
PARTITION p_max VALUES [("5000"), (MAXVALUE)))
DISTRIBUTED BY HASH(`id`) BUCKETS 2
PROPERTIES (
"replication_allocation" = "tag.location.default: 1",
"min_load_replica_num" = "-1",
"is_being_synced" = "false",
"storage_medium" = "hdd",
"storage_format" = "V2",
"inverted_index_storage_format" = "V1",
"enable_unique_key_merge_on_write" = "true",
"light_schema_change" = "true",
"disable_auto_compaction" = "false",
"enable_single_replica_compaction" = "false",
"group_commit_interval_ms" = "10000",
"group_commit_data_bytes" = "134217728",
"binlog.enable" = "true",
"binlog.ttl_seconds" = "3600",
"binlog.max_bytes" = "9223372036854775807",
"binlog.max_history_nums" = "9223372036854775807"
);"#;

#[test]
fn partitioned_table_show_create_round_trips() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(&mut *s, ORDERS_DDL);
    let r = query(&mut *s, "SHOW CREATE TABLE `shop`.`orders`");
    assert_eq!(r.columns, ["Table", "Create Table"]);
    assert_eq!(r.get(0, "Table"), "orders");
    assert_eq!(r.get(0, "Create Table"), ORDERS_SHOW);

    // The rendered text is itself valid DDL producing the same rendering.
    exec(&mut *s, "CREATE DATABASE shop2");
    exec(&mut *s, "USE shop2");
    exec(&mut *s, ORDERS_SHOW);
    assert_eq!(
        query(&mut *s, "SHOW CREATE TABLE orders").get(0, "Create Table"),
        ORDERS_SHOW
    );

    let r = query(&mut *s, "SHOW TABLES FROM `shop` LIKE 'orders'");
    assert_eq!(r.columns, ["Tables_in_shop"]);
    assert_eq!(r.column_values("Tables_in_shop"), ["orders"]);
    assert!(query(&mut *s, "SHOW TABLES FROM shop LIKE 'other'")
        .rows
        .is_empty());
}

#[test]
fn proc_directories_walk_dbs_tables_partitions_indexes_tablets() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(&mut *s, ORDERS_DDL);
    let dbs = query(&mut *s, "show proc '/dbs/'");
    assert_eq!(
        dbs.columns,
        [
            "DbId",
            "DbName",
            "TableNum",
            "Size",
            "Quota",
            "LastConsistencyCheckTime",
            "ReplicaCount",
            "ReplicaQuota",
            "RunningTransactionNum",
            "TransactionQuota",
            "LastUpdateTime",
        ]
    );
    let row = dbs
        .column_values("DbName")
        .iter()
        .position(|n| n == "shop")
        .unwrap();
    let db_id: i64 = dbs.get(row, "DbId").parse().unwrap();
    assert!(db_id > 10000);
    assert_eq!(dbs.get(row, "TableNum"), "1");
    assert_eq!(dbs.get(row, "ReplicaCount"), "6");
    assert_eq!(dbs.get(0, "DbName"), "information_schema");
    assert_eq!(dbs.get(0, "DbId"), "0");

    let tables = query(&mut *s, &format!("show proc '/dbs/{db_id}/'"));
    assert_eq!(
        tables.columns,
        [
            "TableId",
            "TableName",
            "IndexNum",
            "PartitionColumnName",
            "PartitionNum",
            "State",
            "Type",
            "LastConsistencyCheckTime",
            "ReplicaCount",
            "VisibleVersion",
            "VisibleVersionTime",
            "RunningTransactionNum",
            "LastUpdateTime",
        ]
    );
    assert_eq!(tables.get(0, "TableName"), "orders");
    assert_eq!(tables.get(0, "PartitionColumnName"), "id");
    assert_eq!(tables.get(0, "PartitionNum"), "3");
    assert_eq!(tables.get(0, "Type"), "OLAP");
    assert_eq!(tables.get(0, "State"), "NORMAL");
    let table_id: i64 = tables.get(0, "TableId").parse().unwrap();
    assert!(table_id > db_id);

    let parts = query(
        &mut *s,
        &format!("show proc '/dbs/{db_id}/{table_id}/partitions'"),
    );
    assert_eq!(parts.columns.len(), 20);
    assert_eq!(
        parts.column_values("PartitionName"),
        ["p_low", "p_mid", "p_max"]
    );
    assert_eq!(
        parts.get(1, "Range"),
        "[types: [INT]; keys: [1000]; ..types: [INT]; keys: [5000]; )"
    );
    assert_eq!(
        parts.get(0, "Range"),
        "[types: [INT]; keys: [-2147483648]; ..types: [INT]; keys: [1000]; )"
    );
    assert_eq!(
        parts.get(2, "Range"),
        "[types: [INT]; keys: [5000]; ..types: [INT]; keys: [MAXVALUE]; )"
    );
    assert_eq!(parts.get(0, "VisibleVersion"), "1");
    assert_eq!(parts.get(0, "PartitionKey"), "id");
    assert_eq!(parts.get(0, "DistributionKey"), "id");
    assert_eq!(parts.get(0, "Buckets"), "2");
    assert_eq!(parts.get(0, "ReplicationNum"), "1");
    assert_eq!(parts.get(0, "CooldownTime"), "9999-12-31 23:59:59");
    assert_eq!(parts.get(0, "ReplicaAllocation"), "tag.location.default: 1");
    assert_eq!(parts.get(0, "DataSize"), "0.000");
    let same = query(&mut *s, "SHOW PARTITIONS FROM shop.orders");
    assert_eq!(same.columns, parts.columns);
    assert_eq!(
        same.column_values("PartitionId"),
        parts.column_values("PartitionId")
    );
    let filtered = query(
        &mut *s,
        r#"SHOW PARTITIONS FROM orders WHERE PartitionName = "p_mid""#,
    );
    assert_eq!(filtered.rows.len(), 1);
    assert!(filtered.get(0, "Range").contains("5000"));

    let partition_id = parts.get(0, "PartitionId");
    let indexes = query(
        &mut *s,
        &format!("show proc '/dbs/{db_id}/{table_id}/partitions/{partition_id}'"),
    );
    assert_eq!(
        indexes.columns,
        ["IndexId", "IndexName", "State", "LastConsistencyCheckTime"]
    );
    assert_eq!(indexes.get(0, "IndexName"), "orders");
    assert_eq!(indexes.get(0, "State"), "NORMAL");
    let index_id = indexes.get(0, "IndexId");

    let tablets = query(
        &mut *s,
        &format!("show proc '/dbs/{db_id}/{table_id}/partitions/{partition_id}/{index_id}'"),
    );
    assert_eq!(tablets.columns.len(), 21);
    assert_eq!(tablets.rows.len(), 2, "two buckets, one replica each");
    let tablet = tablets.get(0, "TabletId");
    let backend = tablets.get(0, "BackendId");
    assert!(["20001", "20002", "20003"].contains(&backend.as_str()));
    assert_ne!(
        tablets.get(0, "BackendId"),
        tablets.get(1, "BackendId"),
        "replicas spread over BEs"
    );
    assert!(tablets
        .get(0, "MetaUrl")
        .ends_with(&format!("/api/meta/header/{tablet}")));
    assert!(tablets
        .get(0, "CompactionStatus")
        .ends_with(&format!("/api/compaction/show?tablet_id={tablet}")));
    assert_eq!(tablets.get(0, "Version"), "1");
    assert_eq!(tablets.get(0, "LstFailedVersion"), "-1");
    assert_eq!(tablets.get(0, "LstFailedTime"), "NULL");

    let t = query(&mut *s, &format!("show table {table_id}"));
    assert_eq!(t.columns, ["DbName", "TableName", "DbId"]);
    assert_eq!(
        t.strings(),
        vec![vec![
            "shop".to_owned(),
            "orders".to_owned(),
            db_id.to_string()
        ]]
    );
    assert!(query(&mut *s, "show table 1").rows.is_empty());

    let e = fail(&mut *s, "show proc '/dbs/99999999'");
    assert!(
        e.message.ends_with("Database 99999999 does not exist"),
        "{e:?}"
    );
    let e = fail(&mut *s, "show proc '/dbs/abc'");
    assert!(e.message.ends_with("Invalid db id format: abc"), "{e:?}");
}

#[test]
fn ids_come_from_one_increasing_generator() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE a");
    exec(&mut *s, "CREATE TABLE a.t (k INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let state = f.catalog.read();
    let db = state.db("a").unwrap();
    let t = db.table("t").unwrap();
    let olap = t.olap().unwrap();
    let p = olap.partitions.values().next().unwrap();
    let tablet = &p.indexes[&olap.base_index.id].tablets[0];
    let ids = [
        db.id,
        t.id,
        olap.base_index.id,
        p.id,
        tablet.id,
        tablet.replicas[0].id,
    ];
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(
        p.name, "t",
        "an unpartitioned table's partition is named like the table"
    );
    assert_eq!(p.visible_version, 1);
}

#[test]
fn session_setup_statements() {
    let f = fixture();
    let mut s = f.root();
    exec(
        &mut *s,
        "SET sql_mode=(SELECT CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION')),time_zone='+00:00',NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
    );
    let r = query(&mut *s, "SELECT @@sql_mode, @@time_zone");
    assert_eq!(
        r.strings(),
        vec![vec![
            "ONLY_FULL_GROUP_BY,PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION",
            "+00:00"
        ]]
    );
    let r = query(&mut *s, "select @@version_comment limit 1");
    assert_eq!(r.columns, ["@@version_comment"]);
    assert!(r
        .get(0, "@@version_comment")
        .starts_with("Doris version doris-2.1"));
    assert_eq!(
        query(&mut *s, "SELECT VERSION()").strings(),
        vec![vec!["5.7.99"]]
    );
    let r = query(&mut *s, "select 1");
    assert_eq!(
        (r.columns.clone(), r.strings()),
        (vec!["1".to_owned()], vec![vec!["1".to_owned()]])
    );
    let r = query(&mut *s, "SHOW VARIABLES LIKE 'version_comment'");
    assert_eq!(
        r.columns,
        ["Variable_name", "Value", "Default_Value", "Changed"]
    );
    assert_eq!(r.get(0, "Variable_name"), "version_comment");
    let r = query(&mut *s, "show variables like 'time_zone'");
    assert_eq!(
        (r.get(0, "Value"), r.get(0, "Changed")),
        ("+00:00".to_owned(), "1".to_owned())
    );
    exec(&mut *s, "SET autocommit = 1");
    exec(&mut *s, "SET SESSION query_timeout = 60");
    exec(&mut *s, "SET @my_var = 5");
    assert_eq!(query(&mut *s, "select @my_var").strings(), vec![vec!["5"]]);
    let e = fail(&mut *s, "SET no_such_var = 1");
    assert_eq!(e.code, 1193);
    assert!(
        e.message.contains("Unknown system variable 'no_such_var'"),
        "{e:?}"
    );
    let e = fail(&mut *s, "SET version_comment = 'x'");
    assert_eq!(e.code, 1238);
}

#[test]
fn multi_statement_text_runs_in_order_and_stops_at_first_error() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE db1");
    exec(&mut *s, "CREATE TABLE db1.t1 (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let results = s.execute("use db1;show tables;");
    assert_eq!(results.len(), 2);
    assert!(matches!(results[0], Ok(StatementResult::Ok { .. })));
    match &results[1] {
        Ok(StatementResult::Rows { columns, rows }) => {
            assert_eq!(columns[0].name, "Tables_in_db1");
            assert_eq!(rows, &vec![vec![Some("t1".to_owned())]]);
        }
        other => panic!("{other:?}"),
    }
    let results = s.execute("select 1; select nope_col; select 2");
    assert_eq!(results.len(), 2);
    assert!(results[1].is_err());
    let results = s.execute("select ';' -- comment ; here\n ; /* ; */ select 2");
    assert_eq!(results.len(), 2);
}

#[test]
fn open_session_checks_database() {
    let f = fixture();
    let e = f
        .engine
        .open_session("root", Some("missing"))
        .err()
        .unwrap();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1049,
            "errCode = 2, detailMessage = Unknown database 'missing'"
        )
    );
    assert_eq!(
        f.engine.user_password("root").as_deref(),
        Some(ROOT_PASSWORD)
    );
    assert!(f.engine.user_password("nobody").is_none());
    let mut s = f.root();
    let e = fail(&mut *s, "SHOW TABLES");
    assert_eq!((e.code, e.sql_state.as_str()), (1046, "3D000"));
    assert!(s.use_database("information_schema").is_ok());
}

#[test]
fn identifiers_keywords_dashes_and_backquotes() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE `my-db`");
    exec(&mut *s, "CREATE TABLE `my-db`.`select` (`from` INT, `we``ird` VARCHAR(8)) DISTRIBUTED BY HASH(`from`) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(&mut *s, "CREATE TABLE `my-db`.`a-b` (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let r = query(&mut *s, "SHOW TABLES FROM `my-db`");
    assert_eq!(r.column_values("Tables_in_my-db"), ["a-b", "select"]);
    let text = query(&mut *s, "SHOW CREATE TABLE `my-db`.`select`").get(0, "Create Table");
    assert!(
        text.starts_with(
            "CREATE TABLE `select` (\n  `from` int NULL,\n  `we``ird` varchar(8) NULL\n)"
        ),
        "{text}"
    );
    exec(
        &mut *s,
        "INSERT INTO `my-db`.`select` (`from`, `we``ird`) VALUES (1, 'x')",
    );
    let r = query(
        &mut *s,
        "SELECT `we``ird`, `from` FROM `my-db`.`select` WHERE `from` = 1",
    );
    assert_eq!(r.columns, ["we`ird", "from"]);
    assert_eq!(r.strings(), vec![vec!["x", "1"]]);
    exec(&mut *s, "DROP TABLE `my-db`.`a-b` FORCE");
}

#[test]
fn privileges_are_enforced() {
    let f = fixture();
    let mut root = f.root();
    exec(&mut *root, "CREATE DATABASE shop");
    exec(&mut *root, "CREATE DATABASE secret");
    exec(&mut *root, "CREATE TABLE shop.t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(&mut *root, "CREATE USER 'u'@'%' IDENTIFIED BY 'p'");
    let e = fail(&mut *root, "CREATE USER 'u'@'%' IDENTIFIED BY 'p'");
    assert_eq!(e.code, 1396);
    assert_eq!(f.engine.user_password("u").as_deref(), Some("p"));

    let mut u = f.engine.open_session("u", None).unwrap();
    let e = fail(&mut *u, "show backends");
    assert_eq!(e.code, 1227);
    assert_eq!(e.message, "errCode = 2, detailMessage = Access denied; you need (at least one of) the ADMIN/OPERATOR privilege(s) for this operation");
    assert_eq!(fail(&mut *u, "select Host from frontends()").code, 1227);
    assert_eq!(fail(&mut *u, "show proc '/dbs/'").code, 1227);
    assert_eq!(fail(&mut *u, "ADMIN SHOW FRONTEND CONFIG").code, 1227);
    assert_eq!(
        query(&mut *u, "SHOW DATABASES").column_values("Database"),
        ["information_schema"]
    );
    let e = fail(&mut *u, "SHOW CREATE DATABASE shop");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1044,
            "errCode = 2, detailMessage = Access denied for user 'u'@'%' to database 'shop'"
        )
    );
    assert_eq!(fail(&mut *u, "SELECT * FROM shop.t").code, 1142);
    assert_eq!(fail(&mut *u, "CREATE DATABASE mine").code, 1044);
    assert_eq!(
        fail(&mut *u, "GRANT SELECT_PRIV ON shop.* TO 'u'@'%'").code,
        1227
    );
    assert!(f.engine.open_session("u", Some("shop")).is_err());

    exec(
        &mut *root,
        "GRANT SELECT_PRIV, LOAD_PRIV ON shop.* TO 'u'@'%'",
    );
    assert_eq!(
        query(&mut *u, "SHOW DATABASES").column_values("Database"),
        ["information_schema", "shop"]
    );
    assert_eq!(
        query(&mut *u, "SHOW TABLES FROM shop").column_values("Tables_in_shop"),
        ["t"]
    );
    exec(&mut *u, "INSERT INTO shop.t VALUES (1)");
    assert_eq!(
        query(&mut *u, "SELECT count(*) FROM shop.t").strings(),
        vec![vec!["1"]]
    );
    assert_eq!(fail(&mut *u, "DROP TABLE shop.t").code, 1142);
    assert_eq!(fail(&mut *u, "SHOW CREATE DATABASE secret").code, 1044);

    exec(&mut *root, "GRANT ADMIN_PRIV ON *.*.* TO 'u'@'%'");
    assert_eq!(query(&mut *u, "show backends").rows.len(), 3);
    exec(&mut *u, "DROP TABLE shop.t");
}

// ---------- P2: DDL ----------

#[test]
fn create_table_validations() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    const TAIL: &str = "DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")";
    exec(&mut *s, &format!("CREATE TABLE t (k INT, v INT) {TAIL}"));
    let e = fail(&mut *s, &format!("CREATE TABLE t (k INT) {TAIL}"));
    assert_eq!(
        (e.code, e.sql_state.as_str(), e.message.as_str()),
        (
            1050,
            "42S01",
            "errCode = 2, detailMessage = Table 't' already exists"
        )
    );
    exec(
        &mut *s,
        &format!("CREATE TABLE IF NOT EXISTS t (k INT) {TAIL}"),
    );
    let e = fail(&mut *s, &format!("CREATE TABLE nodb.t (k INT) {TAIL}"));
    assert_eq!(e.code, 1049);
    assert_eq!(
        fail(&mut *s, &format!("CREATE TABLE t2 (k INT, K INT) {TAIL}")).code,
        1060
    );
    let e = fail(
        &mut *s,
        &format!("CREATE TABLE t2 (k INT, v INT) UNIQUE KEY(v) {TAIL}"),
    );
    assert!(e.message.contains("ordered prefix"), "{e:?}");
    let e = fail(
        &mut *s,
        &format!("CREATE TABLE t2 (k INT, v INT) AGGREGATE KEY(k) {TAIL}"),
    );
    assert!(e.message.contains("must specify aggregate type"), "{e:?}");
    let e = fail(
        &mut *s,
        &format!("CREATE TABLE t2 (k INT, v INT SUM) DUPLICATE KEY(k) {TAIL}"),
    );
    assert!(
        e.message.contains("should not specify aggregate type"),
        "{e:?}"
    );
    let e = fail(
        &mut *s,
        &format!("CREATE TABLE t2 (k INT) DUPLICATE KEY(k) PARTITION BY RANGE(k) (PARTITION p1 VALUES LESS THAN (\"10\"), PARTITION p1 VALUES LESS THAN (\"20\")) {TAIL}"),
    );
    assert!(e.message.contains("Duplicate partition name p1"), "{e:?}");
    let e = fail(
        &mut *s,
        &format!("CREATE TABLE t2 (k INT) DUPLICATE KEY(k) PARTITION BY RANGE(k) (PARTITION p1 VALUES [(\"0\"), (\"10\")), PARTITION p2 VALUES [(\"5\"), (\"20\"))) {TAIL}"),
    );
    assert!(e.message.contains("is intersected with range"), "{e:?}");
    let e = fail(&mut *s, "CREATE TABLE t2 (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"5\")");
    assert!(e.message.contains("Failed to find enough backend"), "{e:?}");
}

#[test]
fn list_partitions_and_random_distribution_render() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    exec(
        &mut *s,
        r#"CREATE TABLE tags (
  `k` BIGINT,
  `city` VARCHAR(8) NOT NULL COMMENT "where",
  `doc` VARIANT,
  INDEX idx_city (`city`) USING INVERTED PROPERTIES ("parser" = "english")
) DUPLICATE KEY(`k`)
PARTITION BY LIST(`city`) (
  PARTITION p_north VALUES IN ("oslo", "riga"),
  PARTITION p_south VALUES IN ("rome")
)
DISTRIBUTED BY RANDOM BUCKETS 1
PROPERTIES ("replication_num" = "1")"#,
    );
    let text = query(&mut *s, "SHOW CREATE TABLE tags").get(0, "Create Table");
    assert!(text.contains("  `city` varchar(8) NOT NULL COMMENT \"where\",\n  `doc` variant NULL,\n  INDEX idx_city (`city`) USING INVERTED PROPERTIES(\"parser\" = \"english\") COMMENT ''\n) ENGINE=OLAP\nDUPLICATE KEY(`k`)"), "{text}");
    assert!(text.contains("PARTITION BY LIST(`city`)\n(PARTITION p_north VALUES IN (\"oslo\",\"riga\"),\nPARTITION p_south VALUES IN (\"rome\"))\nDISTRIBUTED BY RANDOM BUCKETS 1\n"), "{text}");
    let parts = query(&mut *s, "SHOW PARTITIONS FROM tags");
    assert_eq!(
        parts.get(0, "Range"),
        "[types: [VARCHAR]; keys: [oslo]; , types: [VARCHAR]; keys: [riga]; ]"
    );
    assert_eq!(parts.get(0, "DistributionKey"), "RANDOM");
    // Round trip.
    exec(&mut *s, "CREATE DATABASE d2");
    exec(&mut *s, "USE d2");
    exec(&mut *s, &text);
    assert_eq!(
        query(&mut *s, "SHOW CREATE TABLE tags").get(0, "Create Table"),
        text
    );
    // Routing by list value.
    exec(
        &mut *s,
        "INSERT INTO tags (k, city) VALUES (1, 'rome'), (2, 'oslo')",
    );
    let e = fail(&mut *s, "INSERT INTO tags (k, city) VALUES (3, 'paris')");
    assert!(e.message.contains("no partition for this tuple"), "{e:?}");
    let parts = query(&mut *s, "SHOW PARTITIONS FROM tags");
    assert_eq!(parts.column_values("VisibleVersion"), ["2", "2"]);
}

#[test]
fn views_are_qualified_and_queryable() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(&mut *s, "CREATE TABLE users (user_id INT, name VARCHAR(16), age INT) DUPLICATE KEY(user_id) DISTRIBUTED BY HASH(user_id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(
        &mut *s,
        "INSERT INTO users VALUES (1, 'a', 10), (1, 'a', 5), (2, 'b', 7)",
    );
    exec(&mut *s, "CREATE VIEW v_sales (k1, name, v1) AS SELECT user_id AS k1, name, SUM(age) FROM users GROUP BY k1, name");
    let r = query(&mut *s, "SHOW CREATE TABLE v_sales");
    assert_eq!(
        r.columns,
        [
            "View",
            "Create View",
            "character_set_client",
            "collation_connection"
        ]
    );
    assert_eq!(
        r.get(0, "Create View"),
        "CREATE VIEW `v_sales` AS SELECT `internal`.`shop`.`users`.`user_id` AS `k1`, `internal`.`shop`.`users`.`name` AS `name`, sum(`internal`.`shop`.`users`.`age`) AS `v1` FROM `internal`.`shop`.`users` GROUP BY `k1`, `name`;"
    );
    assert_eq!(
        query(&mut *s, "SHOW CREATE VIEW v_sales").get(0, "View"),
        "v_sales"
    );
    let r = query(&mut *s, "SELECT * FROM v_sales ORDER BY k1");
    assert_eq!(r.columns, ["k1", "name", "v1"]);
    assert_eq!(r.strings(), vec![vec!["1", "a", "15"], vec!["2", "b", "7"]]);
    let r = query(&mut *s, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' AND  table_type = 'VIEW'");
    assert_eq!(r.columns, ["table_name"]);
    assert_eq!(r.strings(), vec![vec!["v_sales"]]);

    let proc = query(&mut *s, "show proc '/dbs/'");
    let row = proc
        .column_values("DbName")
        .iter()
        .position(|n| n == "shop")
        .unwrap();
    let tables = query(
        &mut *s,
        &format!("show proc '/dbs/{}'", proc.get(row, "DbId")),
    );
    assert_eq!(tables.column_values("Type"), ["OLAP", "VIEW"]);

    let e = fail(&mut *s, "DROP TABLE `v_sales` FORCE");
    assert_eq!((e.code, e.message.as_str()), (1347, "errCode = 2, detailMessage = 'shop.v_sales' is not TABLE. Use 'DROP VIEW shop.v_sales'."));
    exec(&mut *s, "DROP VIEW IF EXISTS `v_sales` ");
    exec(&mut *s, "DROP VIEW IF EXISTS `v_sales` ");
    let e = fail(&mut *s, "DROP TABLE nope");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            1109,
            "errCode = 2, detailMessage = Unknown table 'nope' in shop"
        )
    );
}

#[test]
fn alter_table_properties_partitions_columns_rename_replace() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(
        &mut *s,
        ORDERS_DDL
            .replace("LESS THAN MAXVALUE", "LESS THAN (\"9000\")")
            .as_str(),
    );
    exec(
        &mut *s,
        r#"ALTER TABLE `orders` SET ("is_being_synced"="true")"#,
    );
    exec(
        &mut *s,
        r#"ALTER TABLE shop.orders SET ("binlog.enable" = "false")"#,
    );
    let text = query(&mut *s, "SHOW CREATE TABLE orders").get(0, "Create Table");
    assert!(
        text.contains(r#""is_being_synced" = "true""#)
            && text.contains(r#""binlog.enable" = "false""#),
        "{text}"
    );

    exec(&mut *s, "ALTER TABLE `orders` ADD PARTITION `p3` VALUES [(\"9000\"), (\"9500\")) (\"version_info\" = \"1\") DISTRIBUTED BY HASH(id) BUCKETS 3");
    exec(
        &mut *s,
        "ALTER TABLE orders ADD PARTITION p4 VALUES LESS THAN (\"10000\")",
    );
    let parts = query(&mut *s, "SHOW PARTITIONS FROM orders");
    assert_eq!(
        parts.column_values("PartitionName"),
        ["p_low", "p_mid", "p_max", "p3", "p4"]
    );
    assert_eq!(parts.get(3, "Buckets"), "3");
    assert_eq!(
        parts.get(4, "Range"),
        "[types: [INT]; keys: [9500]; ..types: [INT]; keys: [10000]; )"
    );
    let e = fail(
        &mut *s,
        "ALTER TABLE orders ADD PARTITION p5 VALUES [(\"9400\"), (\"9600\"))",
    );
    assert!(e.message.contains("intersected"), "{e:?}");
    exec(&mut *s, "ALTER TABLE `shop`.`orders` DROP PARTITION `p4`");
    exec(
        &mut *s,
        "ALTER TABLE orders DROP PARTITION IF EXISTS p4 FORCE",
    );
    let e = fail(&mut *s, "ALTER TABLE orders DROP PARTITION p4");
    assert_eq!(e.code, 1507);
    exec(&mut *s, "ALTER TABLE orders RENAME PARTITION p3 p3_new;");
    exec(
        &mut *s,
        "ALTER TABLE orders ADD TEMPORARY PARTITION tp VALUES [(\"9000\"), (\"9500\"))",
    );
    assert_eq!(
        query(&mut *s, "SHOW TEMPORARY PARTITIONS FROM orders").column_values("PartitionName"),
        ["tp"]
    );
    exec(
        &mut *s,
        "INSERT INTO orders TEMPORARY PARTITION (tp) VALUES (9001, 'eu', 1)",
    );
    exec(
        &mut *s,
        "ALTER TABLE orders REPLACE PARTITION (p3_new) WITH TEMPORARY PARTITION (tp)",
    );
    assert_eq!(
        query(&mut *s, "SELECT id FROM orders").strings(),
        vec![vec!["9001"]]
    );
    assert!(query(&mut *s, "SHOW TEMPORARY PARTITIONS FROM orders")
        .rows
        .is_empty());

    exec(&mut *s, "ALTER TABLE `shop`.`orders` ADD COLUMN `note` varchar(8) NULL DEFAULT \"n\" COMMENT \"\" AFTER `amount`");
    exec(&mut *s, "ALTER TABLE orders ADD COLUMN (`c1` int NULL DEFAULT \"0\" COMMENT \"\", `c2` int NULL DEFAULT \"0\" COMMENT \"\")");
    let cols = query(&mut *s, "SHOW COLUMNS FROM orders");
    assert_eq!(
        cols.columns,
        ["Field", "Type", "Null", "Key", "Default", "Extra"]
    );
    assert_eq!(
        cols.column_values("Field"),
        ["id", "region", "amount", "note", "c1", "c2"]
    );
    assert_eq!(
        cols.column_values("Key"),
        ["YES", "YES", "NO", "NO", "NO", "NO"]
    );
    // Rows written before a column existed read its default.
    assert_eq!(
        query(&mut *s, "SELECT note, c1 FROM orders").strings(),
        vec![vec!["n", "0"]]
    );
    exec(&mut *s, "ALTER TABLE orders DROP COLUMN `c2`");
    exec(
        &mut *s,
        "ALTER TABLE `orders` MODIFY COLUMN `c1` COMMENT 'x', MODIFY COLUMN `note` COMMENT 'y'",
    );
    exec(&mut *s, "ALTER TABLE `orders` RENAME COLUMN `c1` `c1_new`");
    exec(&mut *s, "ALTER TABLE orders MODIFY COMMENT 'orders table'");
    let full = query(&mut *s, "SHOW FULL COLUMNS FROM orders");
    assert_eq!(full.column_values("Comment"), ["", "", "", "y", "x"]);
    assert_eq!(full.get(4, "Field"), "c1_new");
    let text = query(&mut *s, "SHOW CREATE TABLE orders").get(0, "Create Table");
    assert!(text.contains("COMMENT 'orders table'"), "{text}");
    let e = fail(&mut *s, "ALTER TABLE orders DROP COLUMN id");
    assert!(e.message.contains("partition column"), "{e:?}");

    exec(&mut *s, "ALTER TABLE orders RENAME orders2");
    assert_eq!(
        query(&mut *s, "SHOW TABLES").column_values("Tables_in_shop"),
        ["orders2"]
    );
    exec(&mut *s, "CREATE TABLE __ccr_orders2_1 (id INT, region VARCHAR(16), amount BIGINT) UNIQUE KEY(id, region) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(&mut *s, "INSERT INTO __ccr_orders2_1 VALUES (7, 'us', 70)");
    exec(
        &mut *s,
        r#"ALTER TABLE `orders2` REPLACE WITH TABLE `__ccr_orders2_1` PROPERTIES("swap"="false")"#,
    );
    assert_eq!(
        query(&mut *s, "SHOW TABLES").column_values("Tables_in_shop"),
        ["orders2"]
    );
    assert_eq!(
        query(&mut *s, "SELECT id, amount FROM orders2").strings(),
        vec![vec!["7", "70"]]
    );
    exec(&mut *s, "CREATE TABLE other (id INT, region VARCHAR(16), amount BIGINT) UNIQUE KEY(id, region) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(&mut *s, "ALTER TABLE orders2 REPLACE WITH TABLE other");
    assert_eq!(
        query(&mut *s, "SHOW TABLES").column_values("Tables_in_shop"),
        ["orders2", "other"]
    );
    assert_eq!(
        query(&mut *s, "SELECT count(*) FROM other").strings(),
        vec![vec!["1"]]
    );
    assert_eq!(
        query(&mut *s, "SELECT count(*) FROM orders2").strings(),
        vec![vec!["0"]]
    );
}

// ---------- P3: data ----------

#[test]
fn aggregate_model_combines_rows() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    exec(&mut *s, "CREATE TABLE agg (k INT, `last` INT REPLACE, cost INT SUM, `max` INT MAX, `min` INT MIN) AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 3 PROPERTIES (\"replication_num\" = \"1\")");
    for i in 0..5 {
        exec(
            &mut *s,
            &format!("INSERT INTO agg VALUES (1, {i}, {i}, {i}, {i})"),
        );
    }
    exec(&mut *s, "INSERT INTO agg VALUES (2, 9, 9, 9, 9)");
    let r = query(
        &mut *s,
        "SELECT `last`, cost, `max`, `min` FROM agg WHERE k = 1",
    );
    assert_eq!(r.strings(), vec![vec!["4", "10", "4", "0"]]);
    assert_eq!(
        query(&mut *s, "SELECT count(*) FROM agg").strings(),
        vec![vec!["2"]]
    );
    let parts = query(&mut *s, "SHOW PARTITIONS FROM agg");
    assert_eq!(
        parts.get(0, "VisibleVersion"),
        "7",
        "six loads on top of version 1"
    );
}

#[test]
fn unique_model_replaces_and_duplicate_keeps_all() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    exec(&mut *s, "CREATE TABLE u (k INT, v VARCHAR(8)) UNIQUE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")");
    exec(&mut *s, "CREATE TABLE dup (k INT, v VARCHAR(8)) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")");
    for t in ["u", "dup"] {
        exec(
            &mut *s,
            &format!("INSERT INTO {t} VALUES (1, 'a'), (2, 'b')"),
        );
        exec(&mut *s, &format!("INSERT INTO {t} (k, v) VALUES (1, 'c')"));
    }
    assert_eq!(
        query(&mut *s, "SELECT k, v FROM u ORDER BY k").strings(),
        vec![vec!["1", "c"], vec!["2", "b"]]
    );
    assert_eq!(
        query(&mut *s, "SELECT k, v FROM dup ORDER BY k, v").strings(),
        vec![vec!["1", "a"], vec!["1", "c"], vec!["2", "b"]]
    );
    let r = query(
        &mut *s,
        "SELECT COUNT(*), SUM(k), MIN(v), MAX(k) FROM d.dup WHERE k > 0 AND v != 'zz'",
    );
    assert_eq!(r.columns, ["COUNT(*)", "SUM(k)", "MIN(v)", "MAX(k)"]);
    assert_eq!(r.strings(), vec![vec!["3", "4", "a", "2"]]);
    assert_eq!(
        query(&mut *s, "SELECT v FROM dup ORDER BY v DESC LIMIT 2").strings(),
        vec![vec!["c"], vec!["b"]]
    );
    assert_eq!(
        query(
            &mut *s,
            "SELECT k, count(*) AS n FROM dup GROUP BY k ORDER BY n DESC"
        )
        .strings(),
        vec![vec!["1", "2"], vec!["2", "1"]]
    );

    // Same key, same tablet: routing is deterministic.
    let state = f.catalog.read();
    let olap = state.db("d").unwrap().table("dup").unwrap().olap().unwrap();
    let p = olap.partitions.values().next().unwrap();
    let with_key_1: Vec<usize> = p.indexes[&olap.base_index.id]
        .tablets
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.rowsets
                .iter()
                .any(|r| r.rows.iter().any(|row| row[0].to_text() == "1"))
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(with_key_1.len(), 1);
    assert_eq!(p.visible_version, 3);
}

#[test]
fn insert_errors_delete_truncate_overwrite() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    exec(&mut *s, "CREATE TABLE e (id INT NOT NULL, test INT, v VARCHAR(4)) DUPLICATE KEY(id) PARTITION BY RANGE(id) (PARTITION p1 VALUES LESS THAN (\"10\"), PARTITION p2 VALUES LESS THAN (\"20\")) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    assert_eq!(
        exec(
            &mut *s,
            "INSERT INTO e VALUES (1, 1, 'a'), (2, 2, 'b'), (15, 3, 'c')"
        ),
        3
    );
    assert!(fail(&mut *s, "INSERT INTO e VALUES (25, 1, 'x')")
        .message
        .contains("no partition"));
    assert!(fail(&mut *s, "INSERT INTO e VALUES (NULL, 1, 'x')")
        .message
        .contains("not nullable"));
    assert!(fail(&mut *s, "INSERT INTO e VALUES (3, 1, 'toolong')")
        .message
        .contains("too long"));
    assert!(fail(&mut *s, "INSERT INTO e VALUES (3, 1)")
        .message
        .contains("Column count"));
    assert_eq!(fail(&mut *s, "INSERT INTO e (nope) VALUES (3)").code, 1054);
    assert!(
        fail(&mut *s, "INSERT INTO e PARTITION (p1) VALUES (15, 1, 'x')")
            .message
            .contains("no partition")
    );
    exec(&mut *s, "INSERT INTO e PARTITION (p2) VALUES (16, 1, 'x')");

    exec(&mut *s, "DELETE FROM e WHERE test >= 3");
    assert_eq!(
        query(&mut *s, "SELECT id FROM e ORDER BY id").strings(),
        vec![vec!["1"], vec!["2"], vec!["16"]]
    );
    exec(&mut *s, "DELETE FROM e PARTITION p1 WHERE id = 1");
    assert_eq!(
        query(&mut *s, "SELECT id FROM e ORDER BY id").strings(),
        vec![vec!["2"], vec!["16"]]
    );
    exec(&mut *s, "INSERT INTO e VALUES (1, 9, 'new')");
    assert_eq!(
        query(&mut *s, "SELECT v FROM e WHERE id = 1").strings(),
        vec![vec!["new"]],
        "deletes only hide older versions"
    );

    let before = query(&mut *s, "SHOW PARTITIONS FROM e");
    exec(&mut *s, "TRUNCATE TABLE e PARTITION(`p1`)");
    let after = query(&mut *s, "SHOW PARTITIONS FROM e");
    assert_ne!(before.get(0, "PartitionId"), after.get(0, "PartitionId"));
    assert_eq!(after.get(0, "VisibleVersion"), "1");
    assert_eq!(
        query(&mut *s, "SELECT id FROM e").strings(),
        vec![vec!["16"]]
    );

    exec(
        &mut *s,
        "INSERT OVERWRITE TABLE e VALUES (3, 0, 'o'), (4, 1, 'p')",
    );
    assert_eq!(
        query(&mut *s, "SELECT id FROM e ORDER BY id").strings(),
        vec![vec!["3"], vec!["4"]]
    );
    exec(&mut *s, "INSERT INTO e SELECT id + 10, test, v FROM e");
    assert_eq!(
        query(&mut *s, "SELECT count(*) FROM e").strings(),
        vec![vec!["4"]]
    );
    exec(&mut *s, "TRUNCATE TABLE e");
    assert_eq!(
        query(&mut *s, "SELECT COUNT() FROM d.e").strings(),
        vec![vec!["0"]]
    );

    exec(&mut *s, "CREATE TABLE ua (k INT, v INT SUM) AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let e = fail(&mut *s, "DELETE FROM ua WHERE v = 1");
    assert!(e.message.contains("is not key column"), "{e:?}");
}

#[test]
fn auto_partition_creates_partitions_on_insert() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    exec(
        &mut *s,
        r#"CREATE TABLE metrics (
  `ts` DATE NOT NULL,
  `host` STRING,
  `hits` BIGINT SUM DEFAULT "0",
  `peak` INT MAX DEFAULT "0"
) AGGREGATE KEY(`ts`, `host`)
AUTO PARTITION BY RANGE (date_trunc(`ts`, 'day')) ()
DISTRIBUTED BY HASH(`host`) BUCKETS AUTO
PROPERTIES ("replication_allocation" = "tag.location.default: 1", "estimate_partition_size" = "1G")"#,
    );
    assert!(query(&mut *s, "SHOW PARTITIONS FROM metrics")
        .rows
        .is_empty());
    exec(&mut *s, "INSERT INTO metrics VALUES ('2024-03-01', 'a', 1, 5), ('2024-03-02', 'a', 2, 1), ('2024-03-01', 'a', 3, 2)");
    let parts = query(&mut *s, "SHOW PARTITIONS FROM metrics");
    assert_eq!(
        parts.column_values("PartitionName"),
        ["p20240301000000", "p20240302000000"]
    );
    assert_eq!(
        parts.get(0, "Range"),
        "[types: [DATEV2]; keys: [2024-03-01]; ..types: [DATEV2]; keys: [2024-03-02]; )"
    );
    assert_eq!(
        query(&mut *s, "SELECT ts, hits, peak FROM metrics ORDER BY ts").strings(),
        vec![vec!["2024-03-01", "4", "5"], vec!["2024-03-02", "2", "1"]]
    );
    let text = query(&mut *s, "SHOW CREATE TABLE metrics").get(0, "Create Table");
    assert!(text.contains("AUTO PARTITION BY RANGE (date_trunc(`ts`, 'day'))\n(PARTITION p20240301000000 VALUES [(\"2024-03-01\"), (\"2024-03-02\")),\nPARTITION p20240302000000 VALUES [(\"2024-03-02\"), (\"2024-03-03\")))\nDISTRIBUTED BY HASH(`host`) BUCKETS AUTO"), "{text}");
    assert!(
        text.contains("\"estimate_partition_size\" = \"1G\""),
        "{text}"
    );
}

#[test]
fn update_rewrites_unique_rows() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "USE d");
    exec(&mut *s, "CREATE TABLE orders (id INT, amount BIGINT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")");
    exec(
        &mut *s,
        "INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30)",
    );
    assert_eq!(
        exec(
            &mut *s,
            "UPDATE orders SET amount = amount + 1 WHERE id = 3"
        ),
        1
    );
    assert_eq!(
        query(&mut *s, "SELECT id, amount FROM orders ORDER BY id").strings(),
        vec![vec!["1", "10"], vec!["2", "20"], vec!["3", "31"]]
    );
    assert!(fail(&mut *s, "UPDATE orders SET id = 5")
        .message
        .contains("Only value columns"));
    exec(&mut *s, "CREATE TABLE dup (id INT, amount BIGINT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    assert!(fail(&mut *s, "UPDATE dup SET amount = 1")
        .message
        .contains("Only unique table could be updated."));
}

#[test]
fn partition_names_follow_doris_rules() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    let e = fail(
        &mut *s,
        "CREATE TABLE d.t (k INT) PARTITION BY RANGE(k) (PARTITION `p-1` VALUES LESS THAN (\"1\")) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
    );
    assert!(
        e.message.contains("Incorrect partition name 'p-1'"),
        "{e:?}"
    );
}

#[test]
fn catalog_api_locates_tablets_and_reads_rowsets() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE d");
    exec(&mut *s, "CREATE TABLE d.t (k INT, v INT) DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"2\")");
    exec(&mut *s, "INSERT INTO d.t VALUES (1, 2)");
    let state = f.catalog.read();
    let (_, table) = state
        .table_by_id(state.db("d").unwrap().table("t").unwrap().id)
        .unwrap();
    let olap = table.olap().unwrap();
    let partition = olap.partitions.values().next().unwrap();
    let tablet_id = partition.indexes[&olap.base_index.id].tablets[0].id;
    let location = state.locate_tablet(tablet_id).unwrap();
    assert_eq!(location.partition_id, partition.id);
    let tablet = state.tablet(location).unwrap();
    assert_eq!(tablet.replicas.len(), 2);
    assert!(tablet.replicas.iter().all(|r| r.version == 2));
    assert_eq!(tablet.rowsets.len(), 1);
    assert_eq!(tablet.rowsets[0].version, 2);
    assert_eq!(olap.scan(None).len(), 1);
}

#[test]
fn show_columns_and_desc_answer_for_views() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(&mut *s, "CREATE TABLE users (user_id INT, name VARCHAR(16), age BIGINT) DUPLICATE KEY(user_id) DISTRIBUTED BY HASH(user_id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(
        &mut *s,
        "CREATE VIEW v (k1, n) AS SELECT user_id, name FROM users",
    );
    let desc = query(&mut *s, "DESC v");
    assert_eq!(
        desc.columns,
        ["Field", "Type", "Null", "Key", "Default", "Extra"]
    );
    assert_eq!(desc.column_values("Field"), ["k1", "n"]);
    assert_eq!(desc.get(0, "Type"), "int");
    let columns = query(&mut *s, "SHOW COLUMNS FROM v");
    assert_eq!(columns.column_values("Field"), ["k1", "n"]);
    let full = query(&mut *s, "SHOW FULL COLUMNS FROM shop.v");
    assert_eq!(full.columns.len(), 9);
    assert_eq!(full.column_values("Field"), ["k1", "n"]);
}

#[test]
fn a_delete_on_a_column_dropped_since_still_hides_its_rows() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(&mut *s, "CREATE TABLE t (id INT, qty INT, note VARCHAR(8)) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")");
    exec(
        &mut *s,
        "INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 1, 'c'), (4, 10, 'd')",
    );
    exec(&mut *s, "DELETE FROM t WHERE qty = 1");
    exec(&mut *s, "DELETE FROM t WHERE qty > 5");
    exec(&mut *s, "ALTER TABLE t DROP COLUMN qty");
    // Doris widens the read schema by the dropped column the predicate needs.
    let r = query(&mut *s, "SELECT * FROM t ORDER BY id");
    assert_eq!(r.strings(), vec![vec!["2", "b"]]);
    // A new column of the same name is another column (another unique id).
    exec(
        &mut *s,
        "ALTER TABLE t ADD COLUMN qty INT NULL DEFAULT \"1\"",
    );
    exec(&mut *s, "INSERT INTO t VALUES (5, 'e', 1)");
    let r = query(&mut *s, "SELECT * FROM t ORDER BY id");
    assert_eq!(r.strings(), vec![vec!["2", "b", "1"], vec!["5", "e", "1"]]);
}

#[test]
fn an_empty_table_comment_reads_as_the_engine_name() {
    let f = fixture();
    let mut s = f.root();
    exec(&mut *s, "CREATE DATABASE shop");
    exec(&mut *s, "USE shop");
    exec(&mut *s, "CREATE TABLE plain (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    exec(&mut *s, "CREATE TABLE noted (id INT) DUPLICATE KEY(id) COMMENT 'orders' DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let r = query(&mut *s, "SELECT table_name, table_comment FROM information_schema.tables WHERE table_schema = 'shop' ORDER BY table_name");
    assert_eq!(
        r.strings(),
        vec![vec!["noted", "orders"], vec!["plain", "OLAP"]]
    );
    let ddl = query(&mut *s, "SHOW CREATE TABLE plain").get(0, "Create Table");
    assert!(ddl.contains("COMMENT 'OLAP'"), "{ddl}");
}

#[test]
fn show_grants_has_doris_columns_and_lists_each_level() {
    let f = fixture();
    let mut root = f.root();
    exec(&mut *root, "CREATE DATABASE shop");
    exec(&mut *root, "CREATE TABLE shop.t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let grants = query(&mut *root, "SHOW GRANTS");
    assert_eq!(
        grants.columns,
        [
            "UserIdentity",
            "Comment",
            "Password",
            "Roles",
            "GlobalPrivs",
            "CatalogPrivs",
            "DatabasePrivs",
            "TablePrivs",
            "ColPrivs",
            "ResourcePrivs",
            "WorkloadGroupPrivs"
        ]
    );
    assert_eq!(grants.rows.len(), 1);
    assert_eq!(grants.get(0, "UserIdentity"), "'root'@'%'");
    assert_eq!(grants.get(0, "Roles"), "operator");
    assert_eq!(
        grants.get(0, "GlobalPrivs"),
        "Node_priv,Admin_priv,Grant_priv"
    );
    assert_eq!(grants.get(0, "CatalogPrivs"), "<null>");

    exec(&mut *root, "CREATE USER 'u'@'%' IDENTIFIED BY 'p'");
    exec(
        &mut *root,
        "GRANT SELECT_PRIV, LOAD_PRIV ON shop.* TO 'u'@'%'",
    );
    exec(&mut *root, "GRANT ALTER_PRIV ON shop.t TO 'u'@'%'");
    let mut u = f.engine.open_session("u", None).unwrap();
    let mine = query(&mut *u, "SHOW GRANTS");
    assert_eq!(mine.get(0, "UserIdentity"), "'u'@'%'");
    assert_eq!(mine.get(0, "Password"), "Yes");
    assert_eq!(mine.get(0, "GlobalPrivs"), "<null>");
    assert_eq!(
        mine.get(0, "DatabasePrivs"),
        "internal.information_schema: Select_priv; internal.mysql: Select_priv; internal.shop: Select_priv,Load_priv"
    );
    assert_eq!(mine.get(0, "TablePrivs"), "internal.shop.t: Alter_priv");
    assert_eq!(mine.get(0, "WorkloadGroupPrivs"), "normal: Usage_priv");
    assert_eq!(
        query(&mut *u, "SHOW GRANTS FOR 'u'@'%'").get(0, "UserIdentity"),
        "'u'@'%'"
    );

    // Another account's grants need GRANT.
    let e = fail(&mut *u, "SHOW GRANTS FOR root");
    assert_eq!(
        (e.code, e.message.as_str()),
        (1227, "errCode = 2, detailMessage = Access denied; you need (at least one of) the GRANT privilege(s) for this operation")
    );
    assert_eq!(fail(&mut *u, "SHOW ALL GRANTS").code, 1227);
    let everyone = query(&mut *root, "SHOW ALL GRANTS");
    assert_eq!(
        everyone.column_values("UserIdentity"),
        ["'root'@'%'", "'u'@'%'"]
    );
    assert_eq!(
        query(&mut *root, "SHOW GRANTS FOR 'u'@'%'").get(0, "TablePrivs"),
        "internal.shop.t: Alter_priv"
    );
    assert!(fail(&mut *root, "SHOW GRANTS FOR nobody")
        .message
        .contains("does not exist"));
}
