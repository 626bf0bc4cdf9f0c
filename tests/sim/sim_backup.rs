//! BACKUP / RESTORE between two simulated clusters, through the same SQL and Thrift calls the
//! syncer makes: BACKUP + SHOW BACKUP on the source, getSnapshot, extra_info from
//! getBackendMeta + getMasterToken, restoreSnapshot + SHOW RESTORE on the target (whose
//! "BEs" download the snapshot from the source BEs over HTTP).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ccr_binlog::snapshot::{BackupJobInfo, BeNetworkAddress, ExtraInfo};
use ccr_doris::rpc::{FeClient, RpcTimeouts};
use ccr_wire::frontend_service::{
    TGetBackendMetaRequest, TGetBinlogRequest, TGetMasterTokenRequest, TGetSnapshotRequest,
    TGetSnapshotResult, TRestoreSnapshotRequest, TTableRef,
};
use ccr_wire::secret::Secret;
use ccr_wire::status::TStatusCode;
use ccr_wire::types::{TBinlogType, TSnapshotType};
use doris_sim::launch::{launch, SimConfig, SimDoris};
use doris_sim::session::{SqlError, StatementResult};

use crate::support;

const DB: &str = "ccr";
const USER: &str = "root";
const PASSWORD: &str = "";
/// Generous bound for a job that normally takes well under a second.
const JOB_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Larger than any binlog batch a test needs (the FE caps at 255).
const BIG_BATCH: i64 = 255;
/// Slow step interval for tests that watch a job while it runs.
const SLOW_STEP: Duration = Duration::from_millis(150);

const ORDERS_DDL: &str = r#"CREATE TABLE ccr.orders (
  `id` INT,
  `region` VARCHAR(16),
  `amount` BIGINT
) ENGINE=OLAP
DUPLICATE KEY(`id`)
PARTITION BY RANGE(`id`) (
  PARTITION p_low VALUES LESS THAN ("100"),
  PARTITION p_mid VALUES LESS THAN ("500"),
  PARTITION p_high VALUES LESS THAN ("1000")
)
DISTRIBUTED BY HASH(`id`) BUCKETS 3
PROPERTIES ("replication_num" = "2")"#;

const USERS_DDL: &str = r#"CREATE TABLE ccr.users (
  `uid` BIGINT,
  `name` VARCHAR(32),
  `score` DECIMAL(10, 2)
) ENGINE=OLAP
UNIQUE KEY(`uid`)
DISTRIBUTED BY HASH(`uid`) BUCKETS 2
PROPERTIES ("replication_num" = "1")"#;

struct Cluster {
    doris: SimDoris,
    fe: FeClient,
}

impl Cluster {
    async fn start() -> Cluster {
        let doris = launch(SimConfig::default())
            .await
            .expect("simulated cluster starts");
        let fe = support::fe_client(doris.topology().fe.rpc_port, RpcTimeouts::default());
        let cluster = Cluster { doris, fe };
        cluster.sql(&format!(
            "CREATE DATABASE {DB} PROPERTIES (\"binlog.enable\" = \"true\")"
        ));
        cluster
    }

    fn try_sql(&self, statement: &str) -> Result<StatementResult, SqlError> {
        support::try_root_sql(&self.doris, statement)
    }

    fn sql(&self, statement: &str) -> StatementResult {
        self.try_sql(statement)
            .unwrap_or_else(|e| panic!("{statement}: {}", e.message))
    }

    fn error(&self, statement: &str) -> SqlError {
        match self.try_sql(statement) {
            Err(e) => e,
            Ok(result) => panic!("{statement}: expected an error, got {result:?}"),
        }
    }

    fn rows(&self, statement: &str) -> Vec<Vec<Option<String>>> {
        match self.sql(statement) {
            StatementResult::Rows { rows, .. } => rows,
            other => panic!("{statement}: expected rows, got {other:?}"),
        }
    }

    /// Rows of a SHOW as column name → value maps.
    fn records(&self, statement: &str) -> Vec<BTreeMap<String, String>> {
        match self.sql(statement) {
            StatementResult::Rows { columns, rows } => rows
                .into_iter()
                .map(|row| {
                    columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| (c.name.clone(), v.unwrap_or_default()))
                        .collect()
                })
                .collect(),
            other => panic!("{statement}: expected rows, got {other:?}"),
        }
    }

    fn show_create(&self, table: &str) -> String {
        self.rows(&format!("SHOW CREATE TABLE {DB}.{table}"))[0][1]
            .clone()
            .unwrap()
    }

    /// Partition name → visible version.
    fn partition_versions(&self, table: &str) -> BTreeMap<String, i64> {
        support::olap_table(&self.doris, DB, table)
            .partitions
            .values()
            .map(|p| (p.name.clone(), p.visible_version))
            .collect()
    }

    /// Polls `SHOW <kind> ... WHERE <column> = "<label>"` until FINISHED or CANCELLED.
    async fn wait_job(&self, kind: &str, column: &str, label: &str) -> BTreeMap<String, String> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        loop {
            let rows = self.records(&format!(
                "SHOW {kind} FROM {DB} WHERE {column} = \"{label}\""
            ));
            let row = rows.last().cloned().expect("the job is listed");
            if row["State"] == "FINISHED" || row["State"] == "CANCELLED" {
                return row;
            }
            assert!(Instant::now() < deadline, "{kind} {label} did not finish");
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn backup(&self, label: &str, on: &str) -> BTreeMap<String, String> {
        let properties = if on.contains("PROPERTIES") {
            ""
        } else {
            "PROPERTIES (\"type\" = \"full\")"
        };
        self.sql(&format!(
            "BACKUP SNAPSHOT `{DB}`.`{label}` TO `__keep_on_local__` {on} {properties}"
        ));
        let row = self.wait_job("BACKUP", "SnapshotName", label).await;
        assert_eq!(row["State"], "FINISHED", "{row:?}");
        row
    }

    async fn get_snapshot(&self, label: &str) -> TGetSnapshotResult {
        self.fe
            .get_snapshot(snapshot_request(label))
            .await
            .expect("getSnapshot")
    }

    /// The extra_info a syncer adds: every BE with its HTTP port, and the cluster token.
    async fn extra_info(&self) -> ExtraInfo {
        let backends = self
            .fe
            .get_backend_meta(TGetBackendMetaRequest {
                cluster: None,
                user: Some(USER.into()),
                passwd: Some(PASSWORD.into()),
            })
            .await
            .expect("getBackendMeta")
            .backends
            .expect("backends");
        let token = self
            .fe
            .get_master_token(TGetMasterTokenRequest {
                cluster: None,
                user: Some(USER.into()),
                password: Some(PASSWORD.into()),
            })
            .await
            .expect("getMasterToken")
            .token
            .expect("token");
        ExtraInfo {
            be_network_map: backends
                .into_iter()
                .map(|b| {
                    (
                        b.id.unwrap(),
                        BeNetworkAddress {
                            ip: b.host,
                            port: b.http_port,
                        },
                    )
                })
                .collect(),
            token: Secret::new(token),
        }
    }

    async fn restore(&self, label: &str, snapshot: &TGetSnapshotResult, options: RestoreOptions) {
        let request = TRestoreSnapshotRequest {
            user: Some(USER.into()),
            passwd: Some(PASSWORD.into()),
            db: Some(DB.into()),
            table: Some(String::new()),
            label_name: Some(label.into()),
            repo_name: Some("__keep_on_local__".into()),
            table_refs: (!options.refs.is_empty()).then(|| {
                options
                    .refs
                    .iter()
                    .map(|(table, alias)| TTableRef {
                        table: Some(table.clone()),
                        alias_name: alias.clone(),
                    })
                    .collect()
            }),
            properties: Some(BTreeMap::from([(
                "reserve_replica".to_owned(),
                "true".to_owned(),
            )])),
            meta: snapshot.meta.clone(),
            job_info: Some(options.job_info.to_vec()),
            clean_tables: Some(false),
            clean_partitions: Some(false),
            atomic_restore: Some(options.atomic),
            compressed: None,
            force_replace: None,
        };
        let result = self
            .fe
            .restore_snapshot(request)
            .await
            .expect("restoreSnapshot");
        let status = result.status.expect("status");
        assert_eq!(status.status_code, TStatusCode::OK, "{status:?}");
    }
}

struct RestoreOptions {
    job_info: BackupJobInfo,
    refs: Vec<(String, Option<String>)>,
    atomic: bool,
}

fn snapshot_request(label: &str) -> TGetSnapshotRequest {
    TGetSnapshotRequest {
        user: Some(USER.into()),
        passwd: Some(PASSWORD.into()),
        db: Some(DB.into()),
        table: Some(String::new()),
        label_name: Some(label.into()),
        snapshot_name: Some(String::new()),
        snapshot_type: Some(TSnapshotType::LOCAL),
        enable_compress: None,
    }
}

fn message(result: &TGetSnapshotResult) -> String {
    result
        .status
        .as_ref()
        .and_then(|s| s.error_msgs.clone())
        .unwrap_or_default()
        .join("; ")
}

/// Source data: three partitions written by several loads, a unique-key table with an
/// update and a delete, and a view.
fn populate(source: &Cluster) {
    source.sql(ORDERS_DDL);
    source.sql(USERS_DDL);
    source.sql("INSERT INTO ccr.orders VALUES (1, 'eu', 10), (2, 'us', 20), (150, 'eu', 30)");
    source.sql("INSERT INTO ccr.orders VALUES (3, 'ap', 40), (700, 'us', 50), (701, 'eu', 60)");
    source.sql("INSERT INTO ccr.orders VALUES (4, 'eu', 70)");
    source.sql("INSERT INTO ccr.users VALUES (1, 'ann', 1.50), (2, 'bob', 2.25), (3, 'cid', 3)");
    source.sql("INSERT INTO ccr.users VALUES (2, 'bob', 9.99)");
    source.sql("DELETE FROM ccr.users WHERE uid = 3");
    source
        .sql("CREATE VIEW ccr.eu_orders AS SELECT id, amount FROM ccr.orders WHERE region = 'eu'");
}

const ORDERS_ROWS: &str = "SELECT * FROM ccr.orders ORDER BY id";
const USERS_ROWS: &str = "SELECT * FROM ccr.users ORDER BY uid";

fn without_synced_flag(ddl: &str) -> String {
    ddl.replace(
        "\"is_being_synced\" = \"true\"",
        "\"is_being_synced\" = \"false\"",
    )
}

#[tokio::test]
async fn full_snapshot_moves_rows_schema_and_versions_to_another_cluster() {
    let source = Cluster::start().await;
    let target = Cluster::start().await;
    populate(&source);
    let orders_before = source.rows(ORDERS_ROWS);
    let users_before = source.rows(USERS_ROWS);
    let versions_before = source.partition_versions("orders");

    let row = source.backup("snap_full", "").await;
    assert_eq!(row["DbName"], DB);
    assert_eq!(row["Status"], "[OK]");
    assert_eq!(row["Timeout"], "86400");
    assert!(row["BackupObjs"].contains("[orders]"), "{row:?}");
    for time in [
        "CreateTime",
        "SnapshotFinishedTime",
        "UploadFinishedTime",
        "FinishedTime",
    ] {
        assert_eq!(
            row[time].len(),
            "2024-01-01 00:00:00".len(),
            "{time}: {row:?}"
        );
    }
    // Written after the backup: must not travel with the snapshot.
    source.sql("INSERT INTO ccr.orders VALUES (5, 'eu', 999)");

    let snapshot = source.get_snapshot("snap_full").await;
    assert_eq!(
        snapshot.status.as_ref().unwrap().status_code,
        TStatusCode::OK
    );
    assert!(snapshot.expired_at.unwrap() > snapshot.commit_seq.unwrap());
    let job_info = BackupJobInfo::from_slice(snapshot.job_info.as_ref().unwrap()).unwrap();
    for key in [
        "name",
        "database",
        "id",
        "backup_time",
        "content",
        "backup_objects",
        "new_backup_objects",
        "backup_result",
        "tablet_be_map",
        "tablet_snapshot_path_map",
        "table_commit_seq_map",
    ] {
        assert!(job_info.as_map().contains_key(key), "job_info lacks {key}");
    }
    assert_eq!(job_info.name(), Some("snap_full"));
    let objects = job_info.backup_objects().unwrap();
    let orders = &objects["orders"];
    assert_eq!(orders.partitions.len(), 3);
    for (name, partition) in &orders.partitions {
        assert_eq!(partition.version, versions_before[name]);
        let index = &partition.indexes["orders"];
        assert_eq!(index.tablets_order.as_ref().unwrap().len(), 3);
    }
    let views = job_info.new_backup_objects().unwrap().views;
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].name, "eu_orders");

    // table_commit_seq_map = the commit seqs of the BARRIER binlogs the backup journaled;
    // the DB-level barrier (commit_seq) comes first and is not stored.
    let binlogs = source
        .fe
        .get_binlog(TGetBinlogRequest::new(
            USER.to_owned(),
            PASSWORD.to_owned(),
            DB.to_owned(),
            None,
            None,
            0,
            BIG_BATCH,
        ))
        .await
        .expect("getBinlog")
        .binlogs
        .unwrap_or_default();
    let barriers: BTreeMap<i64, i64> = binlogs
        .iter()
        .filter(|b| b.type_ == Some(TBinlogType::BARRIER))
        .map(|b| (b.table_ids.clone().unwrap()[0], b.commit_seq.unwrap()))
        .collect();
    let cut = job_info.table_commit_seq_map().unwrap();
    assert_eq!(cut, barriers);
    assert_eq!(cut.len(), 2);
    assert!(cut.values().all(|seq| *seq > snapshot.commit_seq.unwrap()));

    let mut job_info = job_info;
    job_info.set_extra_info(&source.extra_info().await).unwrap();
    target
        .restore(
            "snap_full_r",
            &snapshot,
            RestoreOptions {
                job_info,
                refs: Vec::new(),
                atomic: false,
            },
        )
        .await;
    let restored = target.wait_job("RESTORE", "Label", "snap_full_r").await;
    assert_eq!(restored["State"], "FINISHED", "{restored:?}");
    assert_eq!(restored["Status"], "[OK]");
    assert_eq!(restored["ReplicationNum"].parse::<i64>().unwrap(), 3);
    assert!(restored["RestoreObjs"].contains("orders"));
    assert_eq!(restored["Timestamp"].len(), "2024-10-22-06-27-06".len());

    assert_eq!(target.rows(ORDERS_ROWS), orders_before);
    assert_eq!(target.rows(USERS_ROWS), users_before);
    assert!(!target
        .rows(ORDERS_ROWS)
        .iter()
        .any(|r| r[2].as_deref() == Some("999")));
    assert_eq!(target.partition_versions("orders"), versions_before);
    for table in ["orders", "users"] {
        let restored_ddl = target.show_create(table);
        assert!(restored_ddl.contains("\"is_being_synced\" = \"true\""));
        assert_eq!(
            without_synced_flag(&restored_ddl),
            source.show_create(table)
        );
    }
    assert_eq!(
        target.rows("SELECT * FROM ccr.eu_orders ORDER BY id"),
        vec![
            vec![Some("1".into()), Some("10".into())],
            vec![Some("4".into()), Some("70".into())],
            vec![Some("150".into()), Some("30".into())],
            vec![Some("701".into()), Some("60".into())],
        ]
    );
    source.doris.stop().await;
    target.doris.stop().await;
}

#[tokio::test]
async fn alias_partial_mismatch_atomic_and_token_restores() {
    let source = Cluster::start().await;
    let target = Cluster::start().await;
    populate(&source);
    source.backup("snap_a", "ON (`orders`, `users`)").await;
    let snapshot_a = source.get_snapshot("snap_a").await;
    let extra = source.extra_info().await;
    let job_info_a = || {
        let mut info = BackupJobInfo::from_slice(snapshot_a.job_info.as_ref().unwrap()).unwrap();
        info.set_extra_info(&extra).unwrap();
        info
    };
    let orders_a = source.rows(ORDERS_ROWS);

    // Alias: orders is restored as orders_copy, nothing else.
    target
        .restore(
            "r_alias",
            &snapshot_a,
            RestoreOptions {
                job_info: job_info_a(),
                refs: vec![("orders".into(), Some("orders_copy".into()))],
                atomic: false,
            },
        )
        .await;
    let row = target.wait_job("RESTORE", "Label", "r_alias").await;
    assert_eq!(row["State"], "FINISHED", "{row:?}");
    assert_eq!(
        target.rows("SELECT * FROM ccr.orders_copy ORDER BY id"),
        orders_a
    );
    assert!(target.try_sql("SELECT * FROM ccr.users").is_err());

    // Signature mismatch: orders_copy exists with another schema.
    target.sql("CREATE TABLE ccr.orders (`id` INT, `note` STRING) DUPLICATE KEY(`id`) DISTRIBUTED BY HASH(`id`) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")");
    target
        .restore(
            "r_mismatch",
            &snapshot_a,
            RestoreOptions {
                job_info: job_info_a(),
                refs: vec![("orders".into(), None)],
                atomic: false,
            },
        )
        .await;
    let row = target.wait_job("RESTORE", "Label", "r_mismatch").await;
    assert_eq!(row["State"], "CANCELLED");
    assert_eq!(
        row["Status"],
        "[COMMON_ERROR, msg: Table orders already exist but with different schema]"
    );
    target.sql("DROP TABLE ccr.orders");

    // Full restore of orders, then a partial snapshot of two partitions into it.
    target
        .restore(
            "r_orders",
            &snapshot_a,
            RestoreOptions {
                job_info: job_info_a(),
                refs: vec![("orders".into(), None)],
                atomic: false,
            },
        )
        .await;
    assert_eq!(
        target.wait_job("RESTORE", "Label", "r_orders").await["State"],
        "FINISHED"
    );
    let table_id_before = target
        .doris
        .catalog
        .read()
        .db(DB)
        .unwrap()
        .table("orders")
        .unwrap()
        .id;
    source.sql("INSERT INTO ccr.orders VALUES (6, 'us', 80), (200, 'ap', 90), (800, 'eu', 100)");
    let partial = source
        .backup("snap_p", "ON (`orders` PARTITION (`p_low`, `p_mid`))")
        .await;
    assert_eq!(partial["BackupObjs"], "[orders PARTITIONS (p_low, p_mid)]");
    let snapshot_p = source.get_snapshot("snap_p").await;
    let mut info_p = BackupJobInfo::from_slice(snapshot_p.job_info.as_ref().unwrap()).unwrap();
    assert_eq!(
        info_p.backup_objects().unwrap()["orders"].partitions.len(),
        2
    );
    info_p.set_extra_info(&extra).unwrap();
    target
        .restore(
            "r_partial",
            &snapshot_p,
            RestoreOptions {
                job_info: info_p,
                refs: Vec::new(),
                atomic: false,
            },
        )
        .await;
    assert_eq!(
        target.wait_job("RESTORE", "Label", "r_partial").await["State"],
        "FINISHED"
    );
    let ids = |cluster: &Cluster| -> Vec<String> {
        cluster
            .rows(ORDERS_ROWS)
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect()
    };
    // p_low and p_mid now hold the new rows; p_high still holds the first snapshot's.
    assert!(ids(&target).contains(&"6".to_owned()));
    assert!(ids(&target).contains(&"200".to_owned()));
    assert!(!ids(&target).contains(&"800".to_owned()));
    let source_versions = source.partition_versions("orders");
    let target_versions = target.partition_versions("orders");
    assert_eq!(target_versions["p_low"], source_versions["p_low"]);
    assert_eq!(target_versions["p_mid"], source_versions["p_mid"]);
    let table_id_after = target
        .doris
        .catalog
        .read()
        .db(DB)
        .unwrap()
        .table("orders")
        .unwrap()
        .id;
    assert_eq!(
        table_id_before, table_id_after,
        "non-atomic restore keeps the table"
    );

    // Atomic restore: the old rows stay readable until the swap.
    let old_rows = target.rows(ORDERS_ROWS);
    source.backup("snap_b", "ON (`orders`)").await;
    let snapshot_b = source.get_snapshot("snap_b").await;
    let mut info_b = BackupJobInfo::from_slice(snapshot_b.job_info.as_ref().unwrap()).unwrap();
    info_b.set_extra_info(&extra).unwrap();
    target
        .doris
        .catalog
        .write()
        .backup_restore
        .set_step_interval(SLOW_STEP);
    target
        .restore(
            "r_atomic",
            &snapshot_b,
            RestoreOptions {
                job_info: info_b,
                refs: Vec::new(),
                atomic: true,
            },
        )
        .await;
    let mut observed_running = 0;
    let deadline = Instant::now() + JOB_TIMEOUT;
    loop {
        let state_before =
            target.records("SHOW RESTORE FROM ccr WHERE Label = \"r_atomic\"")[0]["State"].clone();
        let rows = target.rows(ORDERS_ROWS);
        let state_after =
            target.records("SHOW RESTORE FROM ccr WHERE Label = \"r_atomic\"")[0]["State"].clone();
        if state_after == "FINISHED" || state_after == "CANCELLED" {
            assert_eq!(state_after, "FINISHED");
            break;
        }
        if state_before != "FINISHED" {
            assert_eq!(rows, old_rows, "old rows readable while {state_after}");
            observed_running += 1;
        }
        assert!(Instant::now() < deadline, "atomic restore did not finish");
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    assert!(observed_running > 0);
    assert_eq!(target.rows(ORDERS_ROWS), source.rows(ORDERS_ROWS));
    let table_id_atomic = target
        .doris
        .catalog
        .read()
        .db(DB)
        .unwrap()
        .table("orders")
        .unwrap()
        .id;
    assert_ne!(
        table_id_atomic, table_id_after,
        "atomic restore swaps in a new table"
    );
    target
        .doris
        .catalog
        .write()
        .backup_restore
        .set_step_interval(Duration::from_millis(25));

    // A wrong token: the source BEs refuse the download and the restore is cancelled.
    let mut info_bad = BackupJobInfo::from_slice(snapshot_a.job_info.as_ref().unwrap()).unwrap();
    info_bad
        .set_extra_info(&ExtraInfo {
            be_network_map: extra.be_network_map.clone(),
            token: Secret::new("not-the-token"),
        })
        .unwrap();
    target
        .restore(
            "r_token",
            &snapshot_a,
            RestoreOptions {
                job_info: info_bad,
                refs: vec![("users".into(), None)],
                atomic: false,
            },
        )
        .await;
    let row = target.wait_job("RESTORE", "Label", "r_token").await;
    assert_eq!(row["State"], "CANCELLED");
    assert!(
        row["Status"].contains("HTTP 401: invalid token."),
        "{row:?}"
    );
    assert!(target.try_sql("SELECT * FROM ccr.users").is_err());
    source.doris.stop().await;
    target.doris.stop().await;
}

#[tokio::test]
async fn backup_checks_errors_cancel_and_expiry_like_doris() {
    let source = Cluster::start().await;
    populate(&source);
    let e = source.error("BACKUP SNAPSHOT ccr.s1 TO repo1 PROPERTIES (\"type\" = \"full\")");
    assert_eq!(
        e.message,
        "errCode = 2, detailMessage = Repository repo1 does not exist"
    );
    let e = source.error("BACKUP SNAPSHOT ccr.s1 TO `__keep_on_local__` ON (nope)");
    assert_eq!((e.code, e.sql_state.as_str()), (1051, "42S02"));
    assert!(e.message.contains("Unknown table 'nope'"), "{}", e.message);
    let e =
        source.error("BACKUP SNAPSHOT ccr.s1 TO `__keep_on_local__` ON (orders PARTITION (p_x))");
    assert!(e.message.contains("Unknown partition p_x"), "{}", e.message);
    let e = source.error("SHOW BACKUP FROM ccr WHERE State = \"x\"");
    assert!(
        e.message.contains("Where clause should like: SnapshotName"),
        "{}",
        e.message
    );

    // One job per database; CANCEL BACKUP stops the running one.
    source
        .doris
        .catalog
        .write()
        .backup_restore
        .set_step_interval(SLOW_STEP);
    source.sql("BACKUP SNAPSHOT ccr.s_slow TO `__keep_on_local__` ON (orders)");
    let e = source.error("BACKUP SNAPSHOT ccr.s_other TO `__keep_on_local__` ON (orders)");
    assert!(e
        .message
        .contains("Can only run one backup or restore job of a database at same time"));
    source.sql("CANCEL BACKUP FROM ccr");
    let row = source.wait_job("BACKUP", "SnapshotName", "s_slow").await;
    assert_eq!(row["State"], "CANCELLED");
    assert_eq!(row["Status"], "[COMMON_ERROR, msg: user cancelled]");
    let e = source.error("CANCEL BACKUP FROM ccr");
    assert!(e.message.contains("can not be cancelled"), "{}", e.message);
    let missing = source.get_snapshot("s_slow").await;
    assert_eq!(
        missing.status.as_ref().unwrap().status_code,
        TStatusCode::SNAPSHOT_NOT_EXIST
    );
    assert!(message(&missing).contains("snapshot s_slow not exist"));
    source
        .doris
        .catalog
        .write()
        .backup_restore
        .set_step_interval(Duration::from_millis(5));

    // getSnapshot argument checks.
    let mut request = snapshot_request("s1");
    request.snapshot_name = None;
    let result = source.fe.get_snapshot(request).await.unwrap();
    assert!(message(&result).contains("snapshot_name is not set"));
    let mut request = snapshot_request("s1");
    request.snapshot_type = Some(TSnapshotType::REMOTE);
    let result = source.fe.get_snapshot(request).await.unwrap();
    assert!(message(&result).contains("snapshot_type is not LOCAL"));

    // A snapshot past its timeout is refused; compressed answers are gzip.
    source
        .backup("s_short", "ON (users) PROPERTIES (\"timeout\" = \"1\")")
        .await;
    let mut request = snapshot_request("s_short");
    request.enable_compress = Some(true);
    let compressed = source.fe.get_snapshot(request).await.unwrap();
    assert_eq!(compressed.compressed, Some(true));
    assert!(compressed.job_info.unwrap().starts_with(&[0x1f, 0x8b]));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let expired = source.get_snapshot("s_short").await;
    assert!(
        message(&expired).contains("snapshot s_short is expired"),
        "{}",
        message(&expired)
    );
    // History keeps every job.
    let all = source.records("SHOW BACKUP FROM ccr WHERE SnapshotName LIKE \"s_%\"");
    assert_eq!(all.len(), 2);
    source.doris.stop().await;
}

// ---- mariadb CLI ------------------------------------------------------------------------

async fn mariadb(port: u16, sql: &str) -> String {
    let output = support::mariadb(port, &["-uroot", "-e", sql]).await;
    assert!(
        output.status.success(),
        "{sql}: {}",
        support::stderr(&output)
    );
    support::stdout(&output)
}

fn header(output: &str) -> Vec<&str> {
    output
        .lines()
        .next()
        .unwrap_or_default()
        .split('\t')
        .collect()
}

#[tokio::test]
async fn mariadb_session_backs_up_a_partitioned_table() {
    let cluster = Cluster::start().await;
    let port = cluster.doris.topology().fe.query_port;
    mariadb(
        port,
        &format!(
            "{}; INSERT INTO ccr.orders VALUES (1, 'eu', 10), (150, 'us', 20)",
            ORDERS_DDL
        ),
    )
    .await;
    let select = mariadb(
        port,
        "SELECT id, region, amount FROM ccr.orders ORDER BY id",
    )
    .await;
    assert_eq!(select, "id\tregion\tamount\n1\teu\t10\n150\tus\t20\n");

    let dbs = mariadb(port, "SHOW PROC '/dbs'").await;
    assert_eq!(header(&dbs)[..2], ["DbId", "DbName"]);
    assert!(dbs.lines().any(|l| l.split('\t').nth(1) == Some("ccr")));
    let frontends = mariadb(port, "SHOW FRONTENDS").await;
    assert!(header(&frontends).contains(&"IsMaster"));
    let backends = mariadb(port, "SHOW BACKENDS").await;
    assert!(header(&backends).contains(&"BackendId"));
    assert_eq!(backends.lines().count(), 1 + 3);

    mariadb(
        port,
        "BACKUP SNAPSHOT `ccr`.`cli_snap` TO `__keep_on_local__` ON (`orders`) PROPERTIES (\"type\" = \"full\")",
    )
    .await;
    let deadline = Instant::now() + JOB_TIMEOUT;
    let finished = loop {
        let out = mariadb(
            port,
            "SHOW BACKUP FROM ccr WHERE SnapshotName = \"cli_snap\"",
        )
        .await;
        assert_eq!(
            header(&out),
            [
                "JobId",
                "SnapshotName",
                "DbName",
                "State",
                "BackupObjs",
                "CreateTime",
                "SnapshotFinishedTime",
                "UploadFinishedTime",
                "FinishedTime",
                "UnfinishedTasks",
                "Progress",
                "TaskErrMsg",
                "Status",
                "Timeout"
            ]
        );
        let row: Vec<String> = out
            .lines()
            .nth(1)
            .unwrap()
            .split('\t')
            .map(str::to_owned)
            .collect();
        if row[3] == "FINISHED" {
            break row;
        }
        assert!(
            [
                "PENDING",
                "SNAPSHOTING",
                "UPLOAD_SNAPSHOT",
                "UPLOADING",
                "SAVE_META",
                "UPLOAD_INFO"
            ]
            .contains(&row[3].as_str()),
            "{row:?}"
        );
        assert!(Instant::now() < deadline, "backup did not finish");
        tokio::time::sleep(POLL_INTERVAL).await;
    };
    assert!(finished[0].parse::<i64>().is_ok());
    assert_eq!(finished[1], "cli_snap");
    assert_eq!(finished[4], "[orders]");
    let time = chrono_like(&finished[8]);
    assert!(time, "FinishedTime {}", finished[8]);
    assert_eq!(finished[12], "[OK]");
    assert_eq!(finished[13], "86400");
    cluster.doris.stop().await;
}

/// `yyyy-MM-dd HH:mm:ss`.
fn chrono_like(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b' ',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        })
}

/// Column name → unique id of a table, its next unique id, its rollups' (name, source
/// unique ids) and its stored comment.
type Identity = (Vec<(String, i32)>, i32, Vec<(String, Vec<i32>)>, String);

fn identity(cluster: &Cluster, table: &str) -> Identity {
    let state = cluster.doris.catalog.read();
    let t = state.db(DB).unwrap().table(table).unwrap();
    let olap = t.olap().unwrap();
    (
        olap.columns
            .iter()
            .map(|c| (c.name.clone(), c.unique_id))
            .collect(),
        olap.next_column_unique_id,
        olap.rollups
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.columns.iter().map(|c| c.source_unique_id).collect(),
                )
            })
            .collect(),
        t.comment.clone(),
    )
}

#[tokio::test]
async fn restore_keeps_unique_ids_dropped_column_deletes_and_the_real_comment() {
    let source = Cluster::start().await;
    let target = Cluster::start().await;
    source.sql(
        "CREATE TABLE ccr.t (id INT, qty INT, city VARCHAR(8), amt BIGINT) DUPLICATE KEY(id) \
         DISTRIBUTED BY HASH(id) BUCKETS 2 PROPERTIES (\"replication_num\" = \"1\")",
    );
    source.sql(
        "CREATE TABLE ccr.noted (id INT) DUPLICATE KEY(id) COMMENT 'kept' \
         DISTRIBUTED BY HASH(id) BUCKETS 1 PROPERTIES (\"replication_num\" = \"1\")",
    );
    source.sql("ALTER TABLE ccr.t ADD ROLLUP r_amt (`id`, `amt`)");
    source.sql("INSERT INTO ccr.t VALUES (1, 1, 'a', 10), (2, 2, 'b', 20), (3, 1, 'c', 30)");
    source.sql("DELETE FROM ccr.t WHERE qty = 1");
    source.sql("ALTER TABLE ccr.t DROP COLUMN qty");
    source.sql("ALTER TABLE ccr.t RENAME COLUMN city town");
    source.sql("ALTER TABLE ccr.t ADD COLUMN extra INT NULL DEFAULT \"7\"");
    source.sql("INSERT INTO ccr.t VALUES (4, 'd', 40, 8)");
    let rows = "SELECT * FROM ccr.t ORDER BY id";
    let expected = source.rows(rows);
    assert_eq!(expected.len(), 2, "{expected:?}");

    source.backup("snap_ids", "").await;
    let snapshot = source.get_snapshot("snap_ids").await;
    let mut job_info = BackupJobInfo::from_slice(snapshot.job_info.as_ref().unwrap()).unwrap();
    job_info.set_extra_info(&source.extra_info().await).unwrap();
    target
        .restore(
            "snap_ids_r",
            &snapshot,
            RestoreOptions {
                job_info,
                refs: Vec::new(),
                atomic: false,
            },
        )
        .await;
    let restored = target.wait_job("RESTORE", "Label", "snap_ids_r").await;
    assert_eq!(restored["State"], "FINISHED", "{restored:?}");
    assert_eq!(target.rows(rows), expected);
    assert_eq!(
        target.rows("SELECT id, amt FROM ccr.t ORDER BY id"),
        source.rows("SELECT id, amt FROM ccr.t ORDER BY id")
    );
    for table in ["t", "noted"] {
        assert_eq!(
            identity(&target, table),
            identity(&source, table),
            "{table}"
        );
        assert_eq!(
            without_synced_flag(&target.show_create(table)),
            source.show_create(table)
        );
    }
    let comments = "SELECT table_name, table_comment FROM information_schema.tables \
                    WHERE table_schema = 'ccr' ORDER BY table_name";
    assert_eq!(target.rows(comments), source.rows(comments));
    // The same column DDL on both sides gives the same new unique id.
    for cluster in [&source, &target] {
        cluster.sql("ALTER TABLE ccr.t ADD COLUMN later INT NULL");
    }
    assert_eq!(identity(&target, "t"), identity(&source, "t"));
    source.doris.stop().await;
    target.doris.stop().await;
}
