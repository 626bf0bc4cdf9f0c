//! The simulated FE's binlogs: SQL run through the engine, then read back through the
//! getBinlog / getBinlogLag / lockBinlog service functions (no network).

use std::collections::BTreeSet;
use std::sync::Arc;

use ccr_binlog::{Binlog, BinlogRecord, BinlogType, JobState};
use ccr_wire::frontend_service::{TGetBinlogRequest, TLockBinlogRequest};
use ccr_wire::status::TStatusCode;
use ccr_wire::types::TBinlog;
use doris_sim::binlog_journal::BinlogFlavor;
use doris_sim::binlog_service::{get_binlog, get_binlog_lag, lock_binlog};
use doris_sim::catalog::types::Value;
use doris_sim::catalog::{now_ms, Catalog};

use crate::support::{binlog_catalog, root_session, topology, ROOT_PASSWORD};
use doris_sim::session::{SqlSession, StatementResult};
use doris_sim::txn::{BeginTxn, LoadJobSourceType, StagedRowset};

/// Larger than any batch a test needs, within the FE's 255 cap.
const BIG_BATCH: i64 = 255;
/// Far enough ahead of now to expire binlogs with a 1 s TTL.
const PAST_TTL_MS: i64 = 10_000;

struct Fixture {
    catalog: Arc<Catalog>,
    session: Box<dyn SqlSession>,
}

fn fixture() -> Fixture {
    let catalog = binlog_catalog(topology());
    let session = root_session(&catalog);
    Fixture { catalog, session }
}

impl Fixture {
    fn exec(&mut self, sql: &str) {
        for result in self.session.execute(sql) {
            match result {
                Ok(StatementResult::Ok { .. }) => {}
                other => panic!("{sql}: expected OK, got {other:?}"),
            }
        }
    }

    fn request(&self, db: &str, table: Option<&str>, prev: i64) -> TGetBinlogRequest {
        TGetBinlogRequest::new(
            "root".to_owned(),
            ROOT_PASSWORD.to_owned(),
            db.to_owned(),
            table.map(str::to_owned),
            None,
            prev,
            BIG_BATCH,
        )
    }

    /// Every binlog after `prev` in a stream, batch by batch until TOO_NEW.
    fn all_after(&self, db: &str, table: Option<&str>, prev: i64) -> Vec<TBinlog> {
        let mut out: Vec<TBinlog> = Vec::new();
        let mut cursor = prev;
        loop {
            let result = get_binlog(&self.catalog, &self.request(db, table, cursor));
            let status = result.status.unwrap().status_code;
            if status == TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ {
                return out;
            }
            assert_eq!(status, TStatusCode::OK);
            let batch = result.binlogs.unwrap();
            assert!(!batch.is_empty());
            cursor = batch.last().unwrap().commit_seq.unwrap();
            out.extend(batch);
        }
    }

    fn table_id(&self, db: &str, table: &str) -> i64 {
        self.catalog.read().db(db).unwrap().table(table).unwrap().id
    }

    fn db_id(&self, db: &str) -> i64 {
        self.catalog.read().db(db).unwrap().id
    }
}

fn status_of(result: &ccr_wire::frontend_service::TGetBinlogResult) -> TStatusCode {
    result.status.as_ref().unwrap().status_code
}

fn message_of(status: &Option<ccr_wire::status::TStatus>) -> String {
    status
        .as_ref()
        .and_then(|s| s.error_msgs.clone())
        .unwrap_or_default()
        .join("; ")
}

fn types(binlogs: &[TBinlog]) -> Vec<BinlogType> {
    binlogs
        .iter()
        .map(|b| BinlogType::from(b.type_.unwrap()))
        .collect()
}

/// The JSON keys of a binlog's payload.
fn keys(binlog: &TBinlog) -> BTreeSet<String> {
    let value: serde_json::Value = serde_json::from_str(binlog.data.as_ref().unwrap()).unwrap();
    value.as_object().unwrap().keys().cloned().collect()
}

fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

const CREATE_ORDERS: &str = "CREATE TABLE orders (id INT, amount INT, note VARCHAR(8)) \
    DUPLICATE KEY(id) PARTITION BY RANGE(id) (PARTITION p1 VALUES LESS THAN (\"100\"), \
    PARTITION p2 VALUES LESS THAN (\"200\")) DISTRIBUTED BY HASH(id) BUCKETS 2 \
    PROPERTIES (\"replication_num\" = \"1\")";

fn binlog_db(f: &mut Fixture) {
    f.exec("CREATE DATABASE shop PROPERTIES (\"binlog.enable\" = \"true\")");
    f.exec("USE shop");
    f.exec(CREATE_ORDERS);
}

#[test]
fn every_statement_yields_its_binlog_with_doris_keys() {
    let mut f = fixture();
    binlog_db(&mut f);
    let statements: &[(&str, BinlogType)] = &[
        (
            "INSERT INTO orders VALUES (1, 10, 'a'), (150, 20, 'b')",
            BinlogType::Upsert,
        ),
        (
            "ALTER TABLE orders ADD PARTITION p3 VALUES LESS THAN (\"300\")",
            BinlogType::AddPartition,
        ),
        (
            "ALTER TABLE orders DROP PARTITION p3 FORCE",
            BinlogType::DropPartition,
        ),
        (
            "ALTER TABLE orders RENAME PARTITION p2 p2b",
            BinlogType::RenamePartition,
        ),
        (
            "ALTER TABLE orders ADD COLUMN c1 INT NULL DEFAULT \"0\" AFTER amount",
            BinlogType::ModifyTableAddOrDropColumns,
        ),
        (
            "ALTER TABLE orders RENAME COLUMN c1 c1b",
            BinlogType::RenameColumn,
        ),
        (
            "ALTER TABLE orders MODIFY COLUMN c1b COMMENT 'cc'",
            BinlogType::ModifyComment,
        ),
        (
            "ALTER TABLE orders MODIFY COMMENT 'orders table'",
            BinlogType::ModifyComment,
        ),
        (
            "ALTER TABLE orders SET (\"binlog.ttl_seconds\" = \"7200\")",
            BinlogType::ModifyTableProperty,
        ),
        ("DELETE FROM orders WHERE id = 1", BinlogType::Upsert),
        (
            "TRUNCATE TABLE orders PARTITION (p1)",
            BinlogType::TruncateTable,
        ),
        (
            "ALTER TABLE orders ADD TEMPORARY PARTITION tp VALUES LESS THAN (\"100\")",
            BinlogType::AddPartition,
        ),
        (
            "ALTER TABLE orders REPLACE PARTITION (p1) WITH TEMPORARY PARTITION (tp)",
            BinlogType::ReplacePartitions,
        ),
        (
            "CREATE VIEW v1 AS SELECT id FROM orders",
            BinlogType::CreateTable,
        ),
        (
            "ALTER VIEW v1 AS SELECT id, amount FROM orders",
            BinlogType::ModifyViewDef,
        ),
        ("DROP VIEW v1", BinlogType::DropTable),
        ("ALTER TABLE orders RENAME orders2", BinlogType::RenameTable),
        (CREATE_ORDERS, BinlogType::CreateTable),
        (
            "ALTER TABLE orders2 REPLACE WITH TABLE orders PROPERTIES (\"swap\" = \"true\")",
            BinlogType::ReplaceTable,
        ),
        ("DROP TABLE orders2", BinlogType::DropTable),
        (
            "ALTER DATABASE shop SET PROPERTIES (\"binlog.ttl_seconds\" = \"3600\")",
            BinlogType::AlterDatabaseProperty,
        ),
    ];
    let mut expected = vec![BinlogType::CreateTable];
    let mut cursor = -1;
    let first = f.all_after("shop", None, cursor);
    assert_eq!(types(&first), expected);
    cursor = first[0].commit_seq.unwrap();
    for (sql, binlog_type) in statements {
        f.exec(sql);
        let produced = f.all_after("shop", None, cursor);
        assert_eq!(types(&produced), vec![*binlog_type], "{sql}");
        let seq = produced[0].commit_seq.unwrap();
        assert!(seq > cursor, "{sql}: seq {seq} after {cursor}");
        cursor = seq;
        expected.push(*binlog_type);
    }
    let all = f.all_after("shop", None, -1);
    assert_eq!(types(&all), expected);
    // Commit seqs strictly increase, with gaps (loads journal COMMITTED before VISIBLE).
    let seqs: Vec<i64> = all.iter().map(|b| b.commit_seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert!(seqs.windows(2).any(|w| w[1] - w[0] > 1));
    let db_id = f.db_id("shop");
    for binlog in &all {
        assert_eq!(binlog.db_id, Some(db_id));
        assert!(
            binlog.timestamp.unwrap() > 0,
            "newest FE timestamps every binlog"
        );
        let decoded = Binlog::decode(binlog).unwrap();
        assert_eq!(decoded.commit_seq, binlog.commit_seq.unwrap());
        assert!(!decoded.wrapped_in_barrier);
    }

    let by_type = |t: BinlogType| {
        all.iter()
            .filter(move |b| BinlogType::from(b.type_.unwrap()) == t)
    };
    let expect_keys = |t: BinlogType, names: &[&str]| {
        let binlog = by_type(t).next().unwrap();
        assert_eq!(keys(binlog), key_set(names), "{t}");
    };
    expect_keys(
        BinlogType::Upsert,
        &[
            "commitSeq",
            "txnId",
            "timeStamp",
            "label",
            "dbId",
            "tableRecords",
        ],
    );
    expect_keys(
        BinlogType::CreateTable,
        &[
            "commitSeq",
            "dbId",
            "tableId",
            "dbName",
            "tableName",
            "tableType",
            "sql",
        ],
    );
    expect_keys(
        BinlogType::AddPartition,
        &[
            "commitSeq",
            "dbId",
            "tableId",
            "partition",
            "range",
            "listPartitionItem",
            "dataProperty",
            "replicaAlloc",
            "isInMemory",
            "isTempPartition",
            "isMutable",
            "sql",
        ],
    );
    // A range partition's record carries its bounds (Guava endpoints of [type, value]
    // keys) and Doris's dummy list item.
    let add_partition: serde_json::Value = serde_json::from_str(
        by_type(BinlogType::AddPartition)
            .next()
            .unwrap()
            .data
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    let range = add_partition["range"].as_array().expect("range endpoints");
    assert_eq!(range.len(), 2, "{add_partition}");
    assert_eq!(range[0]["type"], "CLOSED");
    assert_eq!(range[1]["type"], "OPEN");
    assert_eq!(range[1]["key"][0][0], "INT", "{add_partition}");
    assert_eq!(
        add_partition["listPartitionItem"],
        serde_json::json!({ "partitionKeys": [], "isDefaultPartition": false })
    );
    expect_keys(
        BinlogType::DropPartition,
        &[
            "dbId",
            "tableId",
            "pid",
            "partitionName",
            "isTempPartition",
            "forceDrop",
            "recycleTime",
            "sql",
            "version",
            "versionTime",
        ],
    );
    expect_keys(
        BinlogType::DropTable,
        &[
            "commitSeq",
            "dbId",
            "tableId",
            "tableName",
            "rawSql",
            "isView",
        ],
    );
    expect_keys(
        BinlogType::ModifyTableAddOrDropColumns,
        &[
            "dbId",
            "tableId",
            "indexSchemaMap",
            "indexes",
            "jobId",
            "rawSql",
        ],
    );
    expect_keys(
        BinlogType::AlterDatabaseProperty,
        &["dbId", "dbName", "properties"],
    );
    expect_keys(
        BinlogType::ModifyTableProperty,
        &[
            "dbId",
            "tableId",
            "ctlName",
            "dbName",
            "tableName",
            "properties",
            "sql",
        ],
    );
    expect_keys(
        BinlogType::ReplacePartitions,
        &[
            "dbId",
            "dbName",
            "tblId",
            "tblName",
            "partitions",
            "tempPartitions",
            "strictRange",
            "useTempPartitionName",
            "version",
            "versionTime",
            "force",
        ],
    );
    expect_keys(
        BinlogType::TruncateTable,
        &["dbId", "db", "tblId", "table", "isEntireTable", "rawSql"],
    );
    expect_keys(
        BinlogType::RenameTable,
        &["db", "tb", "ind", "p", "nT", "oT", "nR", "oR", "nP", "oP"],
    );
    expect_keys(
        BinlogType::RenameColumn,
        &[
            "dbId",
            "tableId",
            "colName",
            "newColName",
            "indexIdToSchemaVersion",
        ],
    );
    expect_keys(
        BinlogType::ModifyComment,
        &["type", "dbId", "tblId", "colToComment"],
    );
    expect_keys(
        BinlogType::ModifyViewDef,
        &[
            "dbId",
            "tableId",
            "inlineViewDef",
            "sqlMode",
            "newFullSchema",
        ],
    );
    expect_keys(
        BinlogType::ReplaceTable,
        &[
            "dbId",
            "origTblId",
            "origTblName",
            "newTblName",
            "actualNewTblName",
            "swapTable",
            "isForce",
        ],
    );

    // Payload contents.
    let records: Vec<BinlogRecord> = all
        .iter()
        .map(|b| Binlog::decode(b).unwrap().record)
        .collect();
    let find =
        |pred: &dyn Fn(&BinlogRecord) -> bool| records.iter().find(|r| pred(r)).unwrap().clone();
    let BinlogRecord::AddPartition(add) = find(&|r| matches!(r, BinlogRecord::AddPartition(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        add.sql,
        "ADD PARTITION `p3` VALUES [(\"200\"), (\"300\")) (\"version_info\" = \"1\");"
    );
    let distribution = add.distribution().unwrap();
    assert_eq!(
        (distribution.bucket_num, distribution.column_names),
        (2, vec!["id".to_owned()])
    );
    let BinlogRecord::DropPartition(drop) = find(&|r| matches!(r, BinlogRecord::DropPartition(_)))
    else {
        unreachable!()
    };
    assert_eq!(drop.sql, "DROP PARTITION `p3` FORCE");
    let BinlogRecord::ModifyTableAddOrDropColumns(lsc) =
        find(&|r| matches!(r, BinlogRecord::ModifyTableAddOrDropColumns(_)))
    else {
        unreachable!()
    };
    assert_eq!(lsc.raw_sql, "ALTER TABLE `shop`.`orders` ADD COLUMN `c1` int NULL DEFAULT \"0\" COMMENT \"\" AFTER `amount`");
    let BinlogRecord::RenameTable(rename) = find(&|r| matches!(r, BinlogRecord::RenameTable(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        (rename.old_table(), rename.new_table()),
        (Some("orders"), Some("orders2"))
    );
    let BinlogRecord::TruncateTable(truncate) =
        find(&|r| matches!(r, BinlogRecord::TruncateTable(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        (truncate.raw_sql.as_str(), truncate.is_entire_table),
        ("PARTITIONS (p1)", false)
    );
    let BinlogRecord::ModifyTableProperty(property) =
        find(&|r| matches!(r, BinlogRecord::ModifyTableProperty(_)))
    else {
        unreachable!()
    };
    assert_eq!(property.sql, "SET (binlog.ttl_seconds=7200)");
    let BinlogRecord::DropTable(drop_view) = find(&|r| matches!(r, BinlogRecord::DropTable(_)))
    else {
        unreachable!()
    };
    assert!(drop_view.is_view);
    assert_eq!(drop_view.raw_sql, "DROP TABLE IF EXISTS `v1`");
    let BinlogRecord::CreateTable(create) = &records[0] else {
        unreachable!()
    };
    assert!(
        create.sql.starts_with("CREATE TABLE `orders` ("),
        "{}",
        create.sql
    );
    assert!(create.sql.contains("\"binlog.enable\" = \"true\""));
}

#[test]
fn upsert_versions_match_visible_partition_versions() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("INSERT INTO orders VALUES (1, 10, 'a')");
    f.exec("INSERT INTO orders WITH LABEL my_label VALUES (2, 10, 'a'), (150, 1, 'x')");
    let all = f.all_after("shop", None, -1);
    let upserts: Vec<_> = all
        .iter()
        .filter_map(|b| match Binlog::decode(b).unwrap().record {
            BinlogRecord::Upsert(u) => Some(u),
            _ => None,
        })
        .collect();
    assert_eq!(upserts.len(), 2);
    let table_id = f.table_id("shop", "orders");
    let state = f.catalog.read();
    let olap = state
        .db("shop")
        .unwrap()
        .table("orders")
        .unwrap()
        .olap()
        .unwrap();
    let last = &upserts[1];
    assert_eq!(last.label, "my_label");
    assert_eq!(last.table_ids(), vec![table_id]);
    let record = &last.table_records[&table_id];
    assert_eq!(record.index_ids, vec![olap.base_index.id]);
    assert_eq!(record.partition_records.len(), 2);
    for partition in &record.partition_records {
        let catalog_partition = &olap.partitions[&partition.partition_id];
        assert_eq!(partition.version, catalog_partition.visible_version);
        assert_eq!(
            partition.range,
            catalog_partition
                .item
                .describe(&olap.partition_column_types())
        );
        assert!(!partition.is_temp_partition);
        assert_eq!(partition.stid, -1);
    }
    let p1 = olap.partition_by_name("p1", false).unwrap();
    assert_eq!(p1.visible_version, 3);
    assert_eq!(upserts[0].partition_versions(table_id), vec![(p1.id, 2)]);
    assert_eq!(upserts[0].commit_seq, all[1].commit_seq.unwrap());
}

#[test]
fn insert_overwrite_loads_temp_partitions_then_replaces() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("INSERT INTO orders VALUES (1, 10, 'a')");
    let cursor = f
        .all_after("shop", None, -1)
        .last()
        .unwrap()
        .commit_seq
        .unwrap();
    f.exec("INSERT OVERWRITE TABLE orders PARTITION (p1) VALUES (5, 50, 'o')");
    let produced = f.all_after("shop", None, cursor);
    assert_eq!(
        types(&produced),
        [
            BinlogType::AddPartition,
            BinlogType::Upsert,
            BinlogType::ReplacePartitions
        ]
    );
    let records: Vec<BinlogRecord> = produced
        .iter()
        .map(|b| Binlog::decode(b).unwrap().record)
        .collect();
    let (
        BinlogRecord::AddPartition(add),
        BinlogRecord::Upsert(upsert),
        BinlogRecord::ReplacePartitions(replace),
    ) = (&records[0], &records[1], &records[2])
    else {
        unreachable!()
    };
    assert!(add.is_temp_partition);
    assert!(
        add.sql.starts_with("ADD TEMPORARY PARTITION `p1_"),
        "{}",
        add.sql
    );
    let written = &upsert.partitions_of(add.table_id)[0];
    assert!(written.is_temp_partition);
    assert_eq!(written.version, 2);
    assert_eq!(replace.partitions, ["p1"]);
    assert!(replace.temp_partitions[0].starts_with("p1_"));
    assert!(replace.allows_partial_sync());
    let state = f.catalog.read();
    let olap = state
        .db("shop")
        .unwrap()
        .table("orders")
        .unwrap()
        .olap()
        .unwrap();
    let p1 = olap.partition_by_name("p1", false).unwrap();
    assert_eq!(p1.id, written.partition_id);
    assert_eq!(olap.scan(Some(&[p1.id])).len(), 1);
    let dropped = state.binlog.dropped(state.db("shop").unwrap().id).unwrap();
    assert_eq!(dropped.partitions.len(), 1);
}

#[test]
fn schema_change_job_swaps_in_the_shadow_index() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("INSERT INTO orders VALUES (1, 10, 'a')");
    let origin = f
        .catalog
        .read()
        .db("shop")
        .unwrap()
        .table("orders")
        .unwrap()
        .olap()
        .unwrap()
        .base_index
        .id;
    let cursor = f
        .all_after("shop", None, -1)
        .last()
        .unwrap()
        .commit_seq
        .unwrap();
    f.exec("ALTER TABLE orders MODIFY COLUMN amount BIGINT NULL");
    let produced = f.all_after("shop", None, cursor);
    let jobs: Vec<_> = produced
        .iter()
        .map(|b| match Binlog::decode(b).unwrap().record {
            BinlogRecord::AlterJob(job) => job,
            other => panic!("expected ALTER_JOB, got {other:?}"),
        })
        .collect();
    let states: Vec<JobState> = jobs.iter().map(|j| j.job_state.clone()).collect();
    assert_eq!(
        states,
        [
            JobState::Pending,
            JobState::WaitingTxn,
            JobState::Running,
            JobState::Finished
        ]
    );
    assert!(jobs
        .iter()
        .all(|j| j.is_schema_change() && j.job_id == jobs[0].job_id));
    assert_eq!(jobs[3].origin_index_ids(), vec![origin]);
    let shadow = jobs[0].shadow_index_ids()[0];
    assert_eq!(
        jobs[0].raw_sql,
        "ALTER TABLE `shop`.`orders` MODIFY COLUMN `amount` bigint NULL COMMENT \"\""
    );
    assert_eq!(
        keys(&produced[0]),
        key_set(&[
            "type",
            "dbId",
            "tableId",
            "tableName",
            "jobId",
            "jobState",
            "rawSql",
            "iim",
            "rollupIndexId",
            "baseIndexid"
        ])
    );
    {
        let state = f.catalog.read();
        let olap = state
            .db("shop")
            .unwrap()
            .table("orders")
            .unwrap()
            .olap()
            .unwrap();
        assert_eq!(olap.base_index.id, shadow);
        assert!(olap
            .partitions
            .values()
            .all(|p| p.indexes.keys().eq([&shadow])));
        assert_eq!(olap.scan(None).len(), 1, "data survives the conversion");
        let dropped = state.binlog.dropped(state.db("shop").unwrap().id).unwrap();
        assert!(dropped.indexes.contains_key(&origin));
    }
    // Later loads name the new index.
    f.exec("INSERT INTO orders VALUES (2, 20, 'b')");
    let last = f.all_after("shop", None, produced.last().unwrap().commit_seq.unwrap());
    let BinlogRecord::Upsert(upsert) = Binlog::decode(&last[0]).unwrap().record else {
        unreachable!()
    };
    assert_eq!(
        upsert.table_records.values().next().unwrap().index_ids,
        vec![shadow]
    );
}

#[test]
fn table_stream_excludes_create_and_drop_and_is_selected_by_id_or_name() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("CREATE TABLE other (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    f.exec("INSERT INTO orders VALUES (1, 10, 'a')");
    f.exec("INSERT INTO other VALUES (1)");
    f.exec("ALTER TABLE orders ADD COLUMN c INT NULL");
    let db_stream = f.all_after("shop", None, -1);
    assert_eq!(
        types(&db_stream),
        [
            BinlogType::CreateTable,
            BinlogType::CreateTable,
            BinlogType::Upsert,
            BinlogType::Upsert,
            BinlogType::ModifyTableAddOrDropColumns
        ]
    );
    let table_stream = f.all_after("shop", Some("orders"), -1);
    assert_eq!(
        types(&table_stream),
        [BinlogType::Upsert, BinlogType::ModifyTableAddOrDropColumns]
    );
    assert_eq!(table_stream[0].commit_seq, db_stream[2].commit_seq);
    let table_id = f.table_id("shop", "orders");
    assert_eq!(table_stream[0].table_ids, Some(vec![table_id]));
    // table_id wins over the name.
    let mut by_id = f.request("shop", Some("no_such_name"), -1);
    by_id.table_id = Some(f.table_id("shop", "other"));
    let result = get_binlog(&f.catalog, &by_id);
    assert_eq!(status_of(&result), TStatusCode::OK);
    assert_eq!(
        types(result.binlogs.as_ref().unwrap()),
        [BinlogType::Upsert]
    );
    // A table-only request for a DROP TABLE: no longer in the table stream.
    f.exec("DROP TABLE other");
    let result = get_binlog(&f.catalog, &by_id);
    assert_eq!(
        types(result.binlogs.as_ref().unwrap()),
        [BinlogType::Upsert]
    );
    // Batch size: unset num_acquired → one binlog; clamped to at least one.
    let mut one = f.request("shop", None, -1);
    one.num_acquired = None;
    assert_eq!(get_binlog(&f.catalog, &one).binlogs.unwrap().len(), 1);
    one.num_acquired = Some(0);
    assert_eq!(get_binlog(&f.catalog, &one).binlogs.unwrap().len(), 1);
    one.num_acquired = Some(3);
    assert_eq!(get_binlog(&f.catalog, &one).binlogs.unwrap().len(), 3);
}

#[test]
fn statuses_for_missing_streams_arguments_and_auth() {
    let mut f = fixture();
    f.exec("CREATE DATABASE plain");
    f.exec("USE plain");
    f.exec("CREATE TABLE t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    f.exec("INSERT INTO t VALUES (1)");
    // Binlog off for the database: nothing stored, no stream.
    let result = get_binlog(&f.catalog, &f.request("plain", None, -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_NOT_FOUND_DB);
    assert!(result.binlogs.is_none());
    binlog_db(&mut f);
    let result = get_binlog(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(status_of(&result), TStatusCode::OK);
    // Caught up.
    let last = result.binlogs.unwrap()[0].commit_seq.unwrap();
    assert_eq!(
        status_of(&get_binlog(&f.catalog, &f.request("shop", None, last))),
        TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ
    );
    // No table stream yet (nothing but CREATE_TABLE happened to it).
    let result = get_binlog(&f.catalog, &f.request("shop", Some("orders"), -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_NOT_FOUND_TABLE);
    let mut unknown_id = f.request("shop", None, -1);
    unknown_id.table_id = Some(987_654);
    assert_eq!(
        status_of(&get_binlog(&f.catalog, &unknown_id)),
        TStatusCode::BINLOG_NOT_FOUND_TABLE
    );
    // A negative table id means the database stream.
    unknown_id.table_id = Some(-1);
    assert_eq!(
        status_of(&get_binlog(&f.catalog, &unknown_id)),
        TStatusCode::OK
    );

    let catalog = f.catalog.clone();
    let analysis = |request: &TGetBinlogRequest, text: &str| {
        let result = get_binlog(&catalog, request);
        assert_eq!(status_of(&result), TStatusCode::ANALYSIS_ERROR);
        assert_eq!(
            message_of(&result.status),
            format!("errCode = 2, detailMessage = {text}")
        );
        let lag = get_binlog_lag(&catalog, request);
        assert_eq!(
            lag.status.as_ref().unwrap().status_code,
            TStatusCode::ANALYSIS_ERROR
        );
        assert!(lag.lag.is_none());
    };
    let mut request = f.request("shop", None, -1);
    request.user = None;
    analysis(&request, "user is not set");
    let mut request = f.request("shop", None, -1);
    request.passwd = None;
    analysis(&request, "passwd is not set");
    let mut request = f.request("shop", None, -1);
    request.db = None;
    analysis(&request, "db is not set");
    let mut request = f.request("shop", None, -1);
    request.prev_commit_seq = None;
    analysis(&request, "prev_commit_seq is not set");
    analysis(
        &f.request("nope", None, -1),
        "unknown database, database=nope",
    );
    analysis(
        &f.request("shop", Some("nope"), -1),
        "unknown table, table=nope",
    );
    let mut request = f.request("shop", None, -1);
    request.passwd = Some("wrong".into());
    analysis(
        &request,
        "Access denied for user 'root@127.0.0.1' (using password: YES)",
    );
    f.exec("CREATE USER 'reader' IDENTIFIED BY 'pw'");
    f.exec("GRANT LOAD_PRIV ON shop.* TO 'reader'");
    let mut request = f.request("shop", None, -1);
    request.user = Some("reader".into());
    request.passwd = Some("pw".into());
    analysis(
        &request,
        "Access denied; you need (at least one of) the (SELECT) privilege(s) for this operation",
    );
    f.exec("GRANT SELECT_PRIV ON shop.* TO 'reader'");
    assert_eq!(
        status_of(&get_binlog(&f.catalog, &request)),
        TStatusCode::OK
    );

    // The FE-wide switch off: BINLOG_DISABLE.
    f.catalog
        .set_config("enable_feature_binlog", "false")
        .unwrap();
    let result = get_binlog(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_DISABLE);
}

#[test]
fn only_tables_with_binlog_get_streams_when_the_database_has_none() {
    let mut f = fixture();
    f.exec("CREATE DATABASE mixed");
    f.exec("USE mixed");
    f.exec("CREATE TABLE on_t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")");
    f.exec("CREATE TABLE off_t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    f.exec("INSERT INTO on_t VALUES (1)");
    f.exec("INSERT INTO off_t VALUES (1)");
    assert_eq!(
        types(&f.all_after("mixed", None, -1)),
        [BinlogType::CreateTable, BinlogType::Upsert]
    );
    assert_eq!(
        types(&f.all_after("mixed", Some("on_t"), -1)),
        [BinlogType::Upsert]
    );
    let result = get_binlog(&f.catalog, &f.request("mixed", Some("off_t"), -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_NOT_FOUND_TABLE);
    // Enabling binlog on a table: the property change itself is judged by the old config.
    f.exec("ALTER TABLE off_t SET (\"binlog.enable\" = \"true\")");
    f.exec("INSERT INTO off_t VALUES (2)");
    assert_eq!(
        types(&f.all_after("mixed", Some("off_t"), -1)),
        [BinlogType::Upsert]
    );
    // Turning a table's binlog off purges its stream at the next GC.
    f.exec("ALTER TABLE on_t SET (\"binlog.enable\" = \"false\")");
    f.catalog.write().gc_binlogs(now_ms());
    let result = get_binlog(&f.catalog, &f.request("mixed", Some("on_t"), -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
    let dummy = &result.binlogs.unwrap()[0];
    assert_eq!(BinlogType::from(dummy.type_.unwrap()), BinlogType::Dummy);
    assert_eq!(dummy.belong, Some(f.table_id("mixed", "on_t")));
    let tail = f.all_after("mixed", Some("on_t"), dummy.commit_seq.unwrap());
    assert!(tail.is_empty());
}

/// What a source watcher relies on (Doris `DBBinlog.getBinlog` serves the database stream
/// for a request without a table whatever the database's own `binlog.enable`): with
/// binlog on for some tables only, the database stream holds their binlogs, their
/// DROP_TABLE included, and nothing of the other tables.
#[test]
fn the_database_stream_serves_table_level_binlogs_and_their_drops() {
    let mut f = fixture();
    f.exec("CREATE DATABASE tables_only");
    f.exec("USE tables_only");
    f.exec("CREATE TABLE on_t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")");
    f.exec("CREATE TABLE off_t (k INT) DISTRIBUTED BY HASH(k) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    let on_t = f.table_id("tables_only", "on_t");
    f.exec("INSERT INTO on_t VALUES (1)");
    f.exec("INSERT INTO off_t VALUES (1)");
    f.exec("DROP TABLE on_t");
    let db_stream = f.all_after("tables_only", None, -1);
    assert_eq!(
        types(&db_stream),
        [
            BinlogType::CreateTable,
            BinlogType::Upsert,
            BinlogType::DropTable
        ]
    );
    for binlog in &db_stream {
        assert_eq!(binlog.table_ids.as_deref(), Some(&[on_t][..]));
    }
}

#[test]
fn ttl_expiry_answers_too_old_with_the_dummy_head() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("ALTER DATABASE shop SET PROPERTIES (\"binlog.ttl_seconds\" = \"1\")");
    f.exec("INSERT INTO orders VALUES (1, 10, 'a')");
    f.exec("INSERT INTO orders VALUES (2, 10, 'a')");
    let before = f.all_after("shop", None, -1);
    let last = before.last().unwrap();
    f.catalog.write().gc_binlogs(now_ms() + PAST_TTL_MS);
    let result = get_binlog(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
    let binlogs = result.binlogs.unwrap();
    assert_eq!(binlogs.len(), 1);
    let dummy = Binlog::decode(&binlogs[0]).unwrap();
    assert_eq!(dummy.record, BinlogRecord::Dummy);
    assert_eq!(dummy.belong, Some(-1));
    assert_eq!(dummy.commit_seq, last.commit_seq.unwrap());
    assert_eq!(dummy.timestamp, last.timestamp.unwrap());
    assert!(binlogs[0].data.is_none());
    // A cursor equal to the head is valid.
    let at_head = get_binlog(&f.catalog, &f.request("shop", None, dummy.commit_seq));
    assert_eq!(status_of(&at_head), TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ);
    // The table stream was trimmed to the same point.
    let table = get_binlog(&f.catalog, &f.request("shop", Some("orders"), -1));
    assert_eq!(status_of(&table), TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
    assert_eq!(table.binlogs.unwrap()[0].commit_seq, last.commit_seq);
    // Lag of a too-old cursor: the whole stream, DUMMY included.
    let lag = get_binlog_lag(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(lag.lag, Some(1));
    assert_eq!(lag.next_commit_seq, last.commit_seq);
}

#[test]
fn history_limit_keeps_the_newest_binlogs() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("ALTER DATABASE shop SET PROPERTIES (\"binlog.max_history_nums\" = \"3\")");
    for k in 0..4 {
        f.exec(&format!("INSERT INTO orders VALUES ({k}, 1, 'x')"));
    }
    let before = f.all_after("shop", None, -1);
    f.catalog.write().gc_binlogs(now_ms());
    let result = get_binlog(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
    let head = result.binlogs.unwrap()[0].commit_seq.unwrap();
    let kept = f.all_after("shop", None, head);
    // Two binlogs plus the DUMMY head make three.
    assert_eq!(kept.len(), 2);
    assert_eq!(kept, before[before.len() - 2..]);
    assert_eq!(head, before[before.len() - 3].commit_seq.unwrap());
}

fn lock_request(table_id: Option<i64>, job: &str, seq: Option<i64>) -> TLockBinlogRequest {
    TLockBinlogRequest::new(
        "root".to_owned(),
        ROOT_PASSWORD.to_owned(),
        "shop".to_owned(),
        None,
        table_id,
        job.to_owned(),
        seq,
    )
}

#[test]
fn locks_move_forward_and_pin_binlogs_against_immediate_recycling() {
    let mut f = fixture();
    binlog_db(&mut f);
    for k in 0..3 {
        f.exec(&format!("INSERT INTO orders VALUES ({k}, 1, 'x')"));
    }
    let all = f.all_after("shop", None, -1);
    let seqs: Vec<i64> = all.iter().map(|b| b.commit_seq.unwrap()).collect();
    let lock = |seq: Option<i64>| lock_binlog(&f.catalog, &lock_request(Some(-1), "job_1", seq));
    // Latest, then attempts to move back are ignored.
    let latest = lock(None);
    assert_eq!(latest.status.unwrap().status_code, TStatusCode::OK);
    assert_eq!(latest.locked_commit_seq, Some(*seqs.last().unwrap()));
    let back = lock(Some(seqs[1]));
    assert_eq!(back.locked_commit_seq, Some(*seqs.last().unwrap()));
    let too_new = lock(Some(seqs.last().unwrap() + 100));
    assert_eq!(
        too_new.status.unwrap().status_code,
        TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ
    );
    assert_eq!(too_new.locked_commit_seq, Some(-1));
    // A second job holds an older point: GC may only drop what lies before it.
    let second = lock_binlog(&f.catalog, &lock_request(None, "job_2", Some(seqs[2])));
    assert_eq!(second.locked_commit_seq, Some(seqs[2]));
    f.catalog
        .set_config("enable_recycle_binlog_immediately", "true")
        .unwrap();
    f.catalog.write().gc_binlogs(now_ms());
    let kept = f.all_after("shop", None, seqs[1]);
    assert_eq!(kept, all[2..]);
    let result = get_binlog(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(status_of(&result), TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ);
    assert_eq!(result.binlogs.unwrap()[0].commit_seq, Some(seqs[1]));
    // A lock below the head resolves to the head.
    let low = lock_binlog(&f.catalog, &lock_request(None, "job_3", Some(0)));
    assert_eq!(low.locked_commit_seq, Some(seqs[1]));

    // Without locks, immediate recycling drops everything.
    let mut g = fixture();
    binlog_db(&mut g);
    g.exec("INSERT INTO orders VALUES (1, 1, 'x')");
    let last = g.all_after("shop", None, -1).last().unwrap().commit_seq;
    g.catalog
        .set_config("enable_recycle_binlog_immediately", "true")
        .unwrap();
    g.catalog.write().gc_binlogs(now_ms());
    let result = get_binlog(&g.catalog, &g.request("shop", None, -1));
    assert_eq!(result.binlogs.unwrap()[0].commit_seq, last);

    // Unknown streams.
    let missing = lock_binlog(&f.catalog, &lock_request(Some(424_242), "job_1", None));
    assert_eq!(
        missing.status.unwrap().status_code,
        TStatusCode::BINLOG_NOT_FOUND_TABLE
    );
    let mut unset = lock_request(None, "job_1", None);
    unset.job_unique_id = None;
    let result = lock_binlog(&f.catalog, &unset);
    assert_eq!(
        message_of(&result.status),
        "errCode = 2, detailMessage = job_unique_id is not set"
    );
}

#[test]
fn lag_reports_counts_and_first_last_next() {
    let mut f = fixture();
    binlog_db(&mut f);
    f.exec("INSERT INTO orders VALUES (1, 1, 'x')");
    f.exec("INSERT INTO orders VALUES (2, 1, 'x')");
    let all = f.all_after("shop", None, -1);
    let lag = get_binlog_lag(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(lag.status.unwrap().status_code, TStatusCode::OK);
    assert_eq!(lag.lag, Some(3));
    assert_eq!(lag.first_commit_seq, Some(-1));
    assert_eq!(lag.last_commit_seq, all[2].commit_seq);
    assert_eq!(lag.last_binlog_timestamp, all[2].timestamp);
    assert_eq!(lag.next_commit_seq, all[0].commit_seq);
    assert_eq!(lag.next_binlog_timestamp, all[0].timestamp);
    let lag = get_binlog_lag(
        &f.catalog,
        &f.request("shop", None, all[1].commit_seq.unwrap()),
    );
    assert_eq!((lag.lag, lag.next_commit_seq), (Some(1), all[2].commit_seq));
    let lag = get_binlog_lag(
        &f.catalog,
        &f.request("shop", None, all[2].commit_seq.unwrap()),
    );
    assert_eq!((lag.lag, lag.next_commit_seq), (Some(0), Some(0)));
    let lag = get_binlog_lag(&f.catalog, &f.request("shop", Some("orders"), -1));
    assert_eq!(lag.lag, Some(2));
    let lag = get_binlog_lag(&f.catalog, &f.request("none_such", None, -1));
    assert_eq!(lag.status.unwrap().status_code, TStatusCode::ANALYSIS_ERROR);
}

#[test]
fn doris_2_1_flavor_wraps_newer_types_in_barriers_and_sends_one_at_a_time() {
    let mut f = fixture();
    f.catalog.write().binlog.set_flavor(BinlogFlavor::Doris21);
    binlog_db(&mut f);
    f.exec("ALTER TABLE orders RENAME orders2");
    f.exec("INSERT INTO orders2 VALUES (1, 1, 'x')");
    let first = get_binlog(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(
        first.binlogs.as_ref().unwrap().len(),
        1,
        "2.1 FEs send one binlog per call"
    );
    let all = f.all_after("shop", None, -1);
    assert_eq!(
        types(&all),
        [
            BinlogType::CreateTable,
            BinlogType::Barrier,
            BinlogType::Upsert
        ]
    );
    assert_eq!(all[0].timestamp, Some(-1), "2.1 stamps only UPSERTs");
    assert!(all[2].timestamp.unwrap() > 0);
    assert_eq!(
        keys(&all[1]),
        key_set(&["dbId", "tableId", "binlogType", "binlog"])
    );
    let unwrapped = Binlog::decode(&all[1]).unwrap();
    assert!(unwrapped.wrapped_in_barrier);
    assert_eq!(unwrapped.binlog_type, BinlogType::RenameTable);
    assert_eq!(unwrapped.commit_seq, all[1].commit_seq.unwrap());
    let BinlogRecord::RenameTable(info) = unwrapped.record else {
        unreachable!()
    };
    assert_eq!(info.new_table(), Some("orders2"));
    let lag = get_binlog_lag(&f.catalog, &f.request("shop", None, -1));
    assert_eq!(lag.lag, Some(3));
    assert!(lag.first_commit_seq.is_none(), "2.1 reports the lag only");
}

#[test]
fn light_schema_change_sql_replays_on_another_cluster() {
    let mut source = fixture();
    binlog_db(&mut source);
    source.exec("ALTER TABLE orders ADD COLUMN c2 VARCHAR(4) NULL DEFAULT \"z\" COMMENT \"hi\"");
    source.exec("ALTER TABLE orders DROP COLUMN note");
    let mut target = fixture();
    target.exec("CREATE DATABASE shop");
    target.exec("USE shop");
    target.exec(CREATE_ORDERS);
    for binlog in source.all_after("shop", None, -1) {
        let record = Binlog::decode(&binlog).unwrap().record;
        if let BinlogRecord::ModifyTableAddOrDropColumns(change) = record {
            target.exec(&change.raw_sql);
        }
    }
    let columns = |f: &Fixture| -> Vec<String> {
        let state = f.catalog.read();
        let olap = state
            .db("shop")
            .unwrap()
            .table("orders")
            .unwrap()
            .olap()
            .unwrap()
            .clone();
        olap.columns
            .iter()
            .map(|c| format!("{}:{}:{}", c.name, c.column_type.to_sql(), c.comment))
            .collect()
    };
    assert_eq!(columns(&source), columns(&target));
}

#[test]
fn thrift_committed_transactions_record_one_upsert_with_their_label() {
    let mut f = fixture();
    binlog_db(&mut f);
    let (db_id, table_id) = (f.db_id("shop"), f.table_id("shop", "orders"));
    let cursor = f
        .all_after("shop", None, -1)
        .last()
        .unwrap()
        .commit_seq
        .unwrap();
    let mut state = f.catalog.write();
    let txn_id = state
        .begin_txn(BeginTxn {
            db_id,
            label: Some("ccrj-1:table_sync:1_2:3_4:10".into()),
            default_label_prefix: "insert",
            table_ids: vec![table_id],
            coordinator: "BE: 127.0.0.1".into(),
            source_type: LoadJobSourceType::BackendStreaming,
            timeout_ms: 60_000,
        })
        .unwrap();
    let (partition_id, index_id, replicas) = {
        let olap = state
            .db("shop")
            .unwrap()
            .table("orders")
            .unwrap()
            .olap()
            .unwrap();
        let p1 = olap.partition_by_name("p1", false).unwrap();
        let replicas: Vec<(i64, i64)> = p1.indexes[&olap.base_index.id]
            .tablets
            .iter()
            .flat_map(|t| t.replicas.iter().map(move |r| (t.id, r.backend_id)))
            .collect();
        (p1.id, olap.base_index.id, replicas)
    };
    let schema: Vec<i32> = vec![0, 1, 2];
    for (tablet_id, backend_id) in &replicas {
        let rowset = StagedRowset {
            table_id,
            partition_id,
            index_id,
            schema: schema.clone(),
            rows: vec![vec![Value::Int(7), Value::Int(1), Value::Text("t".into())]],
            delete_predicate: None,
        };
        state
            .stage_rowset(txn_id, *tablet_id, *backend_id, rowset)
            .unwrap();
    }
    state.commit_txn(db_id, txn_id, &replicas).unwrap();
    drop(state);
    let produced = f.all_after("shop", None, cursor);
    assert_eq!(types(&produced), [BinlogType::Upsert]);
    let BinlogRecord::Upsert(upsert) = Binlog::decode(&produced[0]).unwrap().record else {
        unreachable!()
    };
    assert_eq!(upsert.txn_id, txn_id);
    assert_eq!(upsert.label, "ccrj-1:table_sync:1_2:3_4:10");
    assert_eq!(upsert.partition_versions(table_id), vec![(partition_id, 2)]);
    assert!(
        produced[0].commit_seq.unwrap() > cursor + 1,
        "COMMITTED consumed a seq first"
    );
}
