//! Rollups and synchronous materialized views in the simulated FE: the SQL surface, the
//! data each index holds, the binlogs they produce and getMeta's index listing (engine
//! level, no network).

use std::sync::Arc;

use crate::support::{binlog_catalog, root_session, topology, ROOT_PASSWORD};
use ccr_binlog::{AlterJobType, Binlog, BinlogRecord, BinlogType, JobState};
use ccr_wire::frontend_service::{
    FrontendServiceSyncHandler, TGetBinlogRequest, TGetMetaDB, TGetMetaRequest,
};
use ccr_wire::status::TStatusCode;
use doris_sim::binlog_service::get_binlog;
use doris_sim::catalog::types::Value;
use doris_sim::catalog::Catalog;
use doris_sim::fault::FaultInjector;
use doris_sim::fe_service::SimFrontendService;
use doris_sim::session::{SqlError, SqlSession, StatementResult};

/// Larger than any batch a test needs, within the FE's 255 cap.
const BIG_BATCH: i64 = 255;

struct Fixture {
    catalog: Arc<Catalog>,
    session: Box<dyn SqlSession>,
}

fn fixture() -> Fixture {
    let catalog = binlog_catalog(topology());
    let session = root_session(&catalog);
    let mut f = Fixture { catalog, session };
    f.exec("CREATE DATABASE shop PROPERTIES (\"binlog.enable\" = \"true\")");
    f.exec("USE shop");
    f
}

impl Fixture {
    fn run(&mut self, sql: &str) -> Result<StatementResult, SqlError> {
        let mut results = self.session.execute(sql);
        assert_eq!(results.len(), 1, "{sql}");
        results.remove(0)
    }

    fn exec(&mut self, sql: &str) {
        match self.run(sql) {
            Ok(StatementResult::Ok { .. }) => {}
            other => panic!("{sql}: expected OK, got {other:?}"),
        }
    }

    fn fail(&mut self, sql: &str) -> String {
        match self.run(sql) {
            Err(e) => e.message,
            Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
        }
    }

    /// (column names, rows) of a query.
    fn query(&mut self, sql: &str) -> (Vec<String>, Vec<Vec<String>>) {
        match self.run(sql) {
            Ok(StatementResult::Rows { columns, rows }) => (
                columns.into_iter().map(|c| c.name).collect(),
                rows.into_iter()
                    .map(|r| r.into_iter().map(|v| v.unwrap_or_default()).collect())
                    .collect(),
            ),
            other => panic!("{sql}: expected rows, got {other:?}"),
        }
    }

    /// The rows index `index` of `shop.table` holds, as text.
    fn index_rows(&self, table: &str, index: &str) -> Vec<Vec<String>> {
        let state = self.catalog.read();
        let olap = state
            .db("shop")
            .and_then(|db| db.table(table))
            .and_then(|t| t.olap())
            .expect("table exists");
        olap.scan_index(index)
            .unwrap_or_else(|| panic!("no index {index}"))
            .iter()
            .map(|row| row.iter().map(Value::to_text).collect())
            .collect()
    }

    /// Every binlog of `shop` after `prev`, decoded.
    fn binlogs_after(&self, prev: i64) -> Vec<Binlog> {
        let request = TGetBinlogRequest::new(
            "root".to_owned(),
            ROOT_PASSWORD.to_owned(),
            "shop".to_owned(),
            None,
            None,
            prev,
            BIG_BATCH,
        );
        let result = get_binlog(&self.catalog, &request);
        match result.status.unwrap().status_code {
            TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ => Vec::new(),
            TStatusCode::OK => result
                .binlogs
                .unwrap()
                .iter()
                .map(|b| Binlog::decode(b).unwrap())
                .collect(),
            other => panic!("getBinlog answered {other:?}"),
        }
    }

    fn last_seq(&self) -> i64 {
        self.binlogs_after(0)
            .last()
            .map(|b| b.commit_seq)
            .unwrap_or(0)
    }
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

const SALES: &str = "CREATE TABLE sales (`k` INT, `region` VARCHAR(8), `v` BIGINT) \
     DUPLICATE KEY(`k`) DISTRIBUTED BY HASH(`k`) BUCKETS 2 \
     PROPERTIES (\"replication_num\" = \"1\")";

#[test]
fn add_rollup_copies_data_and_loads_write_every_index() {
    let mut f = fixture();
    f.exec(SALES);
    f.exec("INSERT INTO sales VALUES (1, 'eu', 10), (2, 'us', 20), (1, 'eu', 5)");
    let before = f.last_seq();
    f.exec("ALTER TABLE sales ADD ROLLUP r_region (`region`, `v`)");

    let (columns, rows) = f.query("DESC sales ALL");
    assert_eq!(&columns[..3], ["IndexName", "IndexKeysType", "Field"]);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r[0].as_str())
        .filter(|n| !n.is_empty())
        .collect();
    assert_eq!(names, ["sales", "r_region"]);
    let rollup_fields: Vec<(&str, &str)> = rows[3..]
        .iter()
        .map(|r| (r[2].as_str(), r[6].as_str()))
        .collect();
    assert_eq!(rollup_fields, [("region", "true"), ("v", "false")]);
    assert_eq!(rows[3][1], "DUP_KEYS");

    // The build copied the base data; later loads reach the rollup too.
    f.exec("INSERT INTO sales VALUES (3, 'apac', 7)");
    assert_eq!(
        f.index_rows("sales", "r_region"),
        strings(&[&["apac", "7"], &["eu", "5"], &["eu", "10"], &["us", "20"]])
    );
    // SELECT still reads the base index.
    let (_, selected) = f.query("SELECT k, region, v FROM sales ORDER BY k, v");
    assert_eq!(selected.len(), 4);

    let (columns, jobs) = f.query("SHOW ALTER TABLE ROLLUP FROM shop");
    assert_eq!(
        columns,
        [
            "JobId",
            "TableName",
            "CreateTime",
            "FinishTime",
            "BaseIndexName",
            "RollupIndexName",
            "RollupId",
            "TransactionId",
            "State",
            "Msg",
            "Progress",
            "Timeout"
        ]
    );
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0][1], "sales");
    assert_eq!(jobs[0][4], "sales");
    assert_eq!(jobs[0][5], "r_region");
    assert_eq!(jobs[0][8], "FINISHED");
    let (_, filtered) = f.query("SHOW ALTER TABLE ROLLUP WHERE TableName = \"other\"");
    assert!(filtered.is_empty());

    // Binlogs: four ALTER_JOB states of a ROLLUP job, then the UPSERT naming both indexes.
    let binlogs = f.binlogs_after(before);
    let jobs: Vec<_> = binlogs
        .iter()
        .filter_map(|b| match &b.record {
            BinlogRecord::AlterJob(job) => Some(job.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        jobs.iter().map(|j| j.job_state.clone()).collect::<Vec<_>>(),
        [
            JobState::Pending,
            JobState::WaitingTxn,
            JobState::Running,
            JobState::Finished
        ]
    );
    let rollup_id = jobs[0].rollup_index_id;
    let (base_id, table_id) = {
        let state = f.catalog.read();
        let table = state.db("shop").unwrap().table("sales").unwrap();
        (table.olap().unwrap().base_index.id, table.id)
    };
    for job in &jobs {
        assert_eq!(job.job_type, AlterJobType::Rollup);
        assert!(job.is_rollup());
        assert_eq!(job.rollup_index_id, rollup_id);
        assert_eq!(job.rollup_index_name.as_deref(), Some("r_region"));
        assert_eq!(job.base_index_id, base_id);
        assert_eq!(job.base_index_name.as_deref(), Some("sales"));
        assert_eq!(job.table_id, table_id);
        assert!(job.raw_sql.is_empty());
        assert!(job.shadow_index_ids().is_empty());
    }
    let wire = get_binlog(
        &f.catalog,
        &TGetBinlogRequest::new(
            "root".to_owned(),
            ROOT_PASSWORD.to_owned(),
            "shop".to_owned(),
            None,
            None,
            before,
            1,
        ),
    );
    let json: serde_json::Value =
        serde_json::from_str(wire.binlogs.unwrap()[0].data.as_ref().unwrap()).unwrap();
    for key in [
        "rollUpIndexName",
        "baseIndexName",
        "rollupIndexId",
        "baseIndexid",
    ] {
        assert!(json.get(key).is_some(), "ALTER_JOB lacks {key}: {json}");
    }
    assert_eq!(json["type"], "ROLLUP");
    let upsert = binlogs
        .iter()
        .find_map(|b| match &b.record {
            BinlogRecord::Upsert(u) => Some(u.clone()),
            _ => None,
        })
        .expect("the insert's UPSERT");
    assert_eq!(
        upsert.table_records[&table_id].index_ids,
        vec![base_id.min(rollup_id), base_id.max(rollup_id)]
    );
}

#[test]
fn rollup_definitions_are_checked_like_doris() {
    let mut f = fixture();
    f.exec(SALES);
    f.exec(
        "CREATE TABLE agg (`k1` INT, `k2` INT, `v` BIGINT SUM) AGGREGATE KEY(`k1`, `k2`) \
         DISTRIBUTED BY HASH(`k1`) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
    );
    f.exec(
        "CREATE TABLE uniq (`k` INT, `v` INT) UNIQUE KEY(`k`) \
         DISTRIBUTED BY HASH(`k`) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
    );
    f.exec("ALTER TABLE sales ADD ROLLUP r1 (`v`, `k`) DUPLICATE KEY (`v`)");
    assert!(f
        .fail("ALTER TABLE sales ADD ROLLUP r1 (`k`)")
        .contains("Rollup name[r1] already exists"));
    assert!(f
        .fail("ALTER TABLE sales ADD ROLLUP r2 (`nope`)")
        .contains("Column[nope] does not exist"));
    assert!(f
        .fail("ALTER TABLE sales ADD ROLLUP r2 (`k`, `v`) DUPLICATE KEY (`v`)")
        .contains("Keys column must be the prefix of rollup columns"));
    assert!(f
        .fail("ALTER TABLE uniq ADD ROLLUP r (`v`)")
        .contains("Rollup should contains all unique keys in basetable"));
    assert!(f
        .fail("ALTER TABLE agg ADD ROLLUP r (`v`, `k1`)")
        .contains("Key column must before value column"));

    // Renaming a base column renames it in the rollups too.
    f.exec("ALTER TABLE sales RENAME COLUMN v amount");
    let (_, rows) = f.query("DESC sales ALL");
    let r1: Vec<&str> = rows
        .iter()
        .skip_while(|r| r[0] != "r1")
        .map(|r| r[2].as_str())
        .collect();
    assert_eq!(r1, ["amount", "k"]);

    // An AGGREGATE rollup re-aggregates by its own keys.
    f.exec("INSERT INTO agg VALUES (1, 1, 10), (1, 2, 5), (2, 1, 1)");
    f.exec("ALTER TABLE agg ADD ROLLUP r_k1 (`k1`, `v`)");
    f.exec("INSERT INTO agg VALUES (1, 3, 100)");
    assert_eq!(
        f.index_rows("agg", "r_k1"),
        strings(&[&["1", "115"], &["2", "1"]])
    );
    assert_eq!(f.index_rows("agg", "agg").len(), 4);

    // A DELETE applies to every index.
    f.exec("DELETE FROM agg WHERE k1 = 2");
    assert_eq!(f.index_rows("agg", "r_k1"), strings(&[&["1", "115"]]));
}

#[test]
fn synchronous_materialized_views_aggregate_and_reject_other_forms() {
    let mut f = fixture();
    f.exec(SALES);
    f.exec("INSERT INTO sales VALUES (1, 'eu', 10), (2, 'us', 20), (1, 'eu', 5)");
    f.exec("CREATE MATERIALIZED VIEW mv_sum AS SELECT k, SUM(v) FROM sales GROUP BY k");
    f.exec("INSERT INTO sales VALUES (2, 'us', 1)");
    assert_eq!(
        f.index_rows("sales", "mv_sum"),
        strings(&[&["1", "15"], &["2", "21"]])
    );
    let (_, rows) = f.query("DESC sales ALL");
    let mv_rows: Vec<&Vec<String>> = rows.iter().skip_while(|r| r[0] != "mv_sum").collect();
    assert_eq!(mv_rows[0][1], "AGG_KEYS");
    assert_eq!(mv_rows[0][2], "mv_k");
    assert_eq!(mv_rows[1][2], "mva_SUM__`v`");
    assert_eq!(mv_rows[1][8], "SUM");

    // A projection MV keeps every row.
    f.exec("CREATE MATERIALIZED VIEW mv_proj AS SELECT region, k FROM sales");
    assert_eq!(f.index_rows("sales", "mv_proj").len(), 4);

    assert!(f
        .fail("CREATE MATERIALIZED VIEW mv_sum AS SELECT k FROM sales")
        .contains("Materialized view[mv_sum] already exists"));
    f.exec("CREATE MATERIALIZED VIEW IF NOT EXISTS mv_sum AS SELECT k FROM sales");
    assert!(f
        .fail("CREATE MATERIALIZED VIEW bad AS SELECT k + 1 FROM sales")
        .contains("only support the single column or function expr"));
    assert!(f
        .fail("CREATE MATERIALIZED VIEW bad AS SELECT SUM(v), k FROM sales GROUP BY k")
        .contains("The aggregate column should be after the single column"));
    assert!(f
        .fail("CREATE MATERIALIZED VIEW bad AS SELECT k, COUNT(v) FROM sales GROUP BY k")
        .contains("only support the single column or function expr"));

    let before = f.last_seq();
    f.exec("DROP MATERIALIZED VIEW mv_proj ON sales");
    f.exec("DROP MATERIALIZED VIEW IF EXISTS mv_proj ON sales");
    assert!(f
        .fail("DROP MATERIALIZED VIEW mv_proj ON sales")
        .contains("does not exist"));
    let binlogs = f.binlogs_after(before);
    assert_eq!(binlogs.len(), 1);
    assert_eq!(binlogs[0].binlog_type, BinlogType::DropRollup);
}

#[test]
fn drop_and_rename_rollup_record_their_binlogs() {
    let mut f = fixture();
    f.exec(SALES);
    f.exec("ALTER TABLE sales ADD ROLLUP r_a (`region`, `v`)");
    let rollup_id = {
        let state = f.catalog.read();
        let olap = state
            .db("shop")
            .and_then(|db| db.table("sales"))
            .and_then(|t| t.olap())
            .unwrap()
            .clone();
        olap.rollup("r_a").unwrap().id
    };
    let before = f.last_seq();
    f.exec("ALTER TABLE sales RENAME ROLLUP r_a r_b");
    assert!(f
        .fail("ALTER TABLE sales RENAME ROLLUP r_a r_c")
        .contains("Rollup index[r_a] does not exists"));
    assert!(f
        .fail("ALTER TABLE sales RENAME ROLLUP r_b sales")
        .contains("is already used"));
    assert!(f
        .fail("ALTER TABLE sales DROP ROLLUP sales")
        .contains("Cannot drop base index"));
    f.exec("ALTER TABLE sales DROP ROLLUP r_b");
    assert!(f
        .fail("ALTER TABLE sales DROP ROLLUP r_b")
        .contains("Rollup index[r_b] does not exist in table[sales]"));

    let binlogs = f.binlogs_after(before);
    assert_eq!(binlogs.len(), 2);
    match &binlogs[0].record {
        BinlogRecord::RenameRollup(info) => {
            assert_eq!(info.old_rollup(), Some("r_a"));
            assert_eq!(info.new_rollup(), Some("r_b"));
            assert_eq!(info.index_id, rollup_id);
        }
        other => panic!("expected RENAME_ROLLUP, got {other:?}"),
    }
    match &binlogs[1].record {
        BinlogRecord::DropRollup(info) => {
            assert_eq!(info.index_name, "r_b");
            assert_eq!(info.index_id, rollup_id);
            assert_eq!(info.table_name, "sales");
        }
        other => panic!("expected DROP_ROLLUP, got {other:?}"),
    }
    let (_, rows) = f.query("DESC sales ALL");
    assert_eq!(
        rows.iter().filter(|r| !r[0].is_empty()).count(),
        1,
        "only the base index is left"
    );
    // New partitions of the table no longer materialize the dropped index.
    let state = f.catalog.read();
    let olap = state
        .db("shop")
        .and_then(|db| db.table("sales"))
        .and_then(|t| t.olap())
        .unwrap();
    assert!(olap
        .partitions
        .values()
        .all(|p| p.indexes.len() == 1 && !p.indexes.contains_key(&rollup_id)));
}

#[test]
fn get_meta_lists_rollup_indexes_and_new_partitions_carry_them() {
    let mut f = fixture();
    f.exec(
        "CREATE TABLE events (`day` DATE, `k` INT, `v` INT) DUPLICATE KEY(`day`, `k`) \
         PARTITION BY RANGE(`day`) (PARTITION p1 VALUES LESS THAN (\"2024-02-01\")) \
         DISTRIBUTED BY HASH(`k`) BUCKETS 2 PROPERTIES (\"replication_num\" = \"2\")",
    );
    f.exec("ALTER TABLE events ADD ROLLUP r_k (`k`, `v`)");
    f.exec("ALTER TABLE events ADD PARTITION p2 VALUES LESS THAN (\"2024-03-01\")");
    f.exec("INSERT INTO events VALUES ('2024-02-10', 1, 5)");

    let service = SimFrontendService::new(f.catalog.clone(), FaultInjector::new());
    let meta = service
        .handle_get_meta(TGetMetaRequest {
            user: Some("root".into()),
            passwd: Some(ROOT_PASSWORD.into()),
            db: Some(TGetMetaDB {
                name: Some("shop".into()),
                ..Default::default()
            }),
        })
        .unwrap();
    let tables = meta.db_meta.unwrap().tables.unwrap();
    let partitions = tables[0].partitions.clone().unwrap();
    assert_eq!(partitions.len(), 2);
    for partition in &partitions {
        let indexes = partition.indexes.clone().unwrap();
        let mut names: Vec<String> = indexes.iter().map(|i| i.name.clone().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["events", "r_k"]);
        for index in &indexes {
            let tablets = index.tablets.clone().unwrap();
            assert_eq!(tablets.len(), 2);
            for tablet in &tablets {
                let replicas = tablet.replicas.clone().unwrap();
                assert_eq!(replicas.len(), 2);
                assert!(replicas
                    .iter()
                    .all(|r| r.version == partition.visible_version));
            }
        }
    }
    assert_eq!(f.index_rows("events", "r_k"), strings(&[&["1", "5"]]));
}
