//! The simulator's data path through the syncer's own Thrift clients: FE metadata calls,
//! target transactions, and replaying a source load into a target cluster with
//! `ingest_binlog` (target BEs download rowsets from source BEs over HTTP).

use std::collections::BTreeMap;

use ccr_doris::rpc::{BeClient, FeClient, RpcAddress, RpcTimeouts};
use ccr_wire::backend_service::{TIngestBinlogRequest, TQueryIngestBinlogRequest};
use ccr_wire::frontend_service::{
    TBeginTxnRequest, TCommitTxnRequest, TGetBackendMetaRequest, TGetBinlogRequest,
    TGetMasterTokenRequest, TGetMetaDB, TGetMetaDBMeta, TGetMetaRequest, TGetMetaTable,
    TGetMetaTableMeta, TRollbackTxnRequest,
};
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::{TIngestBinlogStatus, TTabletCommitInfo, TUniqueId};
use doris_sim::cluster::SimClusterOptions;
use doris_sim::launch::{launch, SimConfig, SimDoris};
use doris_sim::session::{SqlSession, StatementResult};

use crate::support;

const DB: &str = "ccr";
const TABLE: &str = "orders";
const USER: &str = "root";
const PASSWORD: &str = "";

/// Two range partitions, three buckets, two replicas per tablet on three BEs.
const DDL: &str = r#"CREATE TABLE ccr.orders (
  `id` INT,
  `region` VARCHAR(16),
  `amount` BIGINT
) ENGINE=OLAP
DUPLICATE KEY(`id`)
PARTITION BY RANGE(`id`) (
  PARTITION p_low VALUES LESS THAN ("100"),
  PARTITION p_high VALUES LESS THAN ("1000")
)
DISTRIBUTED BY HASH(`id`) BUCKETS 3
PROPERTIES ("replication_num" = "2")"#;

struct Cluster {
    doris: SimDoris,
    fe: FeClient,
}

impl Cluster {
    async fn start() -> Cluster {
        Self::start_with(SimClusterOptions::default()).await
    }

    async fn start_with(options: SimClusterOptions) -> Cluster {
        let doris = launch(SimConfig {
            cluster: options,
            ..SimConfig::default()
        })
        .await
        .expect("simulated cluster starts");
        let fe = support::fe_client(doris.topology().fe.rpc_port, RpcTimeouts::default());
        let cluster = Cluster { doris, fe };
        cluster.sql(&format!("CREATE DATABASE {DB}"));
        cluster.sql(DDL);
        cluster
    }

    fn session(&self) -> Box<dyn SqlSession> {
        self.doris
            .cluster
            .engine()
            .open_session(USER, None)
            .expect("root session")
    }

    fn sql(&self, statement: &str) -> StatementResult {
        support::root_sql(&self.doris, statement)
    }

    fn rows(&self, statement: &str) -> Vec<Vec<Option<String>>> {
        match self.sql(statement) {
            StatementResult::Rows { rows, .. } => rows,
            other => panic!("{statement}: expected rows, got {other:?}"),
        }
    }

    fn sorted_table_rows(&self) -> Vec<Vec<Option<String>>> {
        let mut rows = self.rows(&format!("SELECT * FROM {DB}.{TABLE}"));
        rows.sort();
        rows
    }

    fn show_transaction(&self, txn_id: i64) -> BTreeMap<String, String> {
        match self.sql(&format!("SHOW TRANSACTION FROM {DB} WHERE id = {txn_id}")) {
            StatementResult::Rows { columns, rows } => {
                assert_eq!(rows.len(), 1, "one transaction {txn_id}");
                columns
                    .iter()
                    .zip(&rows[0])
                    .map(|(c, v)| (c.name.clone(), v.clone().unwrap_or_default()))
                    .collect()
            }
            other => panic!("expected rows, got {other:?}"),
        }
    }

    fn db_id(&self) -> i64 {
        self.doris.catalog.read().db(DB).expect("db exists").id
    }

    fn table_id(&self) -> i64 {
        let state = self.doris.catalog.read();
        state.db(DB).unwrap().table(TABLE).unwrap().id
    }

    async fn meta(&self) -> TGetMetaTableMeta {
        let result = self
            .fe
            .get_meta(TGetMetaRequest {
                user: Some(USER.into()),
                passwd: Some(PASSWORD.into()),
                db: Some(TGetMetaDB {
                    id: Some(self.db_id()),
                    name: None,
                    tables: Some(vec![TGetMetaTable {
                        id: Some(self.table_id()),
                        name: None,
                    }]),
                }),
            })
            .await
            .expect("getMeta");
        assert_eq!(result.status.status_code, TStatusCode::OK);
        let db: TGetMetaDBMeta = result.db_meta.expect("db_meta");
        db.tables.unwrap().into_iter().next().expect("the table")
    }

    /// Backend id → (host, be_port, http_port), from getBackendMeta.
    async fn backends(&self) -> BTreeMap<i64, (String, u16, u16)> {
        let result = self
            .fe
            .get_backend_meta(TGetBackendMetaRequest {
                cluster: None,
                user: Some(USER.into()),
                passwd: Some(PASSWORD.into()),
            })
            .await
            .expect("getBackendMeta");
        assert_eq!(result.status.status_code, TStatusCode::OK);
        result
            .backends
            .unwrap()
            .into_iter()
            .map(|b| {
                (
                    b.id.unwrap(),
                    (b.host, b.be_port as u16, b.http_port as u16),
                )
            })
            .collect()
    }

    async fn begin(&self, label: &str) -> i64 {
        let result = self
            .fe
            .begin_txn(begin_request(label, vec![self.table_id()]))
            .await
            .expect("beginTxn");
        assert_status(&result.status, TStatusCode::OK);
        assert_eq!(result.db_id, Some(self.db_id()));
        result.txn_id.expect("txn id")
    }

    async fn commit(&self, txn_id: i64, infos: Vec<TTabletCommitInfo>) -> TStatus {
        self.fe
            .commit_txn(TCommitTxnRequest {
                user: Some(USER.into()),
                passwd: Some(PASSWORD.into()),
                db: Some(DB.into()),
                txn_id: Some(txn_id),
                commit_infos: Some(infos),
                ..Default::default()
            })
            .await
            .expect("commitTxn")
            .status
            .expect("status")
    }

    async fn rollback(&self, txn_id: i64) -> TStatus {
        self.fe
            .rollback_txn(TRollbackTxnRequest {
                user: Some(USER.into()),
                passwd: Some(PASSWORD.into()),
                db: Some(DB.into()),
                txn_id: Some(txn_id),
                reason: None,
            })
            .await
            .expect("rollbackTxn")
            .status
            .expect("status")
    }

    async fn stop(self) {
        self.doris.stop().await;
    }
}

fn begin_request(label: &str, table_ids: Vec<i64>) -> TBeginTxnRequest {
    TBeginTxnRequest {
        user: Some(USER.into()),
        passwd: Some(PASSWORD.into()),
        db: Some(DB.into()),
        table_ids: Some(table_ids),
        label: Some(label.into()),
        ..Default::default()
    }
}

fn message(status: &TStatus) -> String {
    status.error_msgs.clone().unwrap_or_default().join("; ")
}

fn assert_status(status: &Option<TStatus>, code: TStatusCode) {
    let status = status.as_ref().expect("status is set");
    assert_eq!(status.status_code, code, "{}", message(status));
}

fn assert_error(status: &TStatus, code: TStatusCode, text: &str) {
    assert_eq!(status.status_code, code, "{}", message(status));
    assert!(
        message(status).contains(text),
        "{:?} does not contain {text:?}",
        message(status)
    );
}

/// One ingest request: the target replica on `local_tablet` pulls `remote_tablet` at
/// `version` from the source BE at `remote`.
fn ingest_request(
    txn_id: i64,
    remote_tablet: i64,
    version: i64,
    remote: &(String, u16, u16),
    partition_id: i64,
    local_tablet: i64,
) -> TIngestBinlogRequest {
    TIngestBinlogRequest {
        txn_id: Some(txn_id),
        remote_tablet_id: Some(remote_tablet),
        binlog_version: Some(version),
        remote_host: Some(remote.0.clone()),
        remote_port: Some(remote.2.to_string()),
        partition_id: Some(partition_id),
        local_tablet_id: Some(local_tablet),
        load_id: Some(TUniqueId::new(-1, -1)),
    }
}

fn be_client(backend: &(String, u16, u16)) -> BeClient {
    BeClient::new(
        RpcAddress::new(backend.0.clone(), backend.1),
        RpcTimeouts::default(),
    )
}

/// One planned ingest: which target BE, and its request.
struct PlannedIngest {
    target_backend: i64,
    request: TIngestBinlogRequest,
}

/// Plans the ingests of one source load like the syncer: partitions paired by range, the
/// base index by name, tablets by ascending id, every target replica fed round-robin from a
/// source replica that has the load's version. `versions`: range → source version to copy.
async fn plan(
    source: &Cluster,
    target: &Cluster,
    txn_id: i64,
    versions: &BTreeMap<String, i64>,
) -> Vec<PlannedIngest> {
    let source_meta = source.meta().await;
    let target_meta = target.meta().await;
    let source_backends = source.backends().await;
    let mut planned = Vec::new();
    for source_partition in source_meta.partitions.unwrap() {
        let range = source_partition.range.clone().unwrap();
        let Some(&version) = versions.get(&range) else {
            continue;
        };
        let target_partition = target_meta
            .partitions
            .as_ref()
            .unwrap()
            .iter()
            .find(|p| p.range.as_deref() == Some(range.as_str()))
            .expect("partition with the same range");
        for source_index in source_partition.indexes.unwrap() {
            let target_index = target_partition
                .indexes
                .as_ref()
                .unwrap()
                .iter()
                .find(|i| i.name == source_index.name)
                .expect("index with the same name");
            let mut source_tablets = source_index.tablets.unwrap();
            let mut target_tablets = target_index.tablets.clone().unwrap();
            source_tablets.sort_by_key(|t| t.id);
            target_tablets.sort_by_key(|t| t.id);
            assert_eq!(source_tablets.len(), target_tablets.len());
            for (source_tablet, target_tablet) in source_tablets.iter().zip(&target_tablets) {
                let eligible: Vec<_> = source_tablet
                    .replicas
                    .as_ref()
                    .unwrap()
                    .iter()
                    .filter(|r| r.version.unwrap() >= version)
                    .collect();
                assert!(
                    !eligible.is_empty(),
                    "a source replica has version {version}"
                );
                for (n, replica) in target_tablet.replicas.as_ref().unwrap().iter().enumerate() {
                    let source_replica = eligible[n % eligible.len()];
                    let remote = &source_backends[&source_replica.backend_id.unwrap()];
                    planned.push(PlannedIngest {
                        target_backend: replica.backend_id.unwrap(),
                        request: ingest_request(
                            txn_id,
                            source_tablet.id.unwrap(),
                            version,
                            remote,
                            target_partition.id.unwrap(),
                            target_tablet.id.unwrap(),
                        ),
                    });
                }
            }
        }
    }
    planned
}

/// Runs planned ingests; returns the commit infos of the successful ones.
async fn ingest_all(target: &Cluster, planned: &[PlannedIngest]) -> Vec<TTabletCommitInfo> {
    let backends = target.backends().await;
    let mut infos = Vec::new();
    for ingest in planned {
        let client = be_client(&backends[&ingest.target_backend]);
        let result = client
            .ingest_binlog(ingest.request.clone())
            .await
            .expect("ingest_binlog call");
        assert_status(&result.status, TStatusCode::OK);
        assert_eq!(result.is_async, Some(false));
        infos.push(TTabletCommitInfo::new(
            ingest.request.local_tablet_id.unwrap(),
            ingest.target_backend,
        ));
    }
    infos
}

/// Range → visible version of every source partition.
async fn partition_versions(cluster: &Cluster) -> BTreeMap<String, i64> {
    cluster
        .meta()
        .await
        .partitions
        .unwrap()
        .into_iter()
        .map(|p| (p.range.unwrap(), p.visible_version.unwrap()))
        .collect()
}

/// The partitions (range → new version) a source statement advanced.
async fn run_on_source(source: &Cluster, statement: &str) -> BTreeMap<String, i64> {
    let before = partition_versions(source).await;
    source.sql(statement);
    partition_versions(source)
        .await
        .into_iter()
        .filter(|(range, version)| before.get(range) != Some(version))
        .collect()
}

/// Replays one source statement into the target like the syncer does; returns the txn id.
async fn replay(source: &Cluster, target: &Cluster, statement: &str, label: &str) -> i64 {
    let changed = run_on_source(source, statement).await;
    assert!(!changed.is_empty(), "{statement} advanced a partition");
    let txn_id = target.begin(label).await;
    let planned = plan(source, target, txn_id, &changed).await;
    let infos = ingest_all(target, &planned).await;
    let status = target.commit(txn_id, infos).await;
    assert_eq!(status.status_code, TStatusCode::OK, "{}", message(&status));
    txn_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_calls_answer_like_doris() {
    let cluster = Cluster::start().await;
    let fe = &cluster.fe;

    // getBackendMeta: every BE with its ports; password checked.
    let backends = cluster.backends().await;
    let topology = cluster.doris.topology().clone();
    assert_eq!(backends.len(), topology.backends.len());
    for be in &topology.backends {
        assert_eq!(
            backends[&be.id],
            (be.host.clone(), be.be_port, be.http_port)
        );
    }
    let denied = fe
        .get_backend_meta(TGetBackendMetaRequest {
            cluster: None,
            user: Some(USER.into()),
            passwd: Some("wrong".into()),
        })
        .await
        .unwrap();
    assert_error(
        &denied.status,
        TStatusCode::NOT_AUTHORIZED,
        "Access denied for user 'root@127.0.0.1' (using password: YES)",
    );
    let no_user = fe
        .get_backend_meta(TGetBackendMetaRequest::default())
        .await
        .unwrap();
    assert_error(
        &no_user.status,
        TStatusCode::ANALYSIS_ERROR,
        "user is not set",
    );

    // getMasterToken: the cluster token; bad password is NOT_AUTHORIZED.
    let token = fe
        .get_master_token(TGetMasterTokenRequest {
            cluster: Some(String::new()),
            user: Some(USER.into()),
            password: Some(PASSWORD.into()),
        })
        .await
        .unwrap();
    assert_status(&token.status, TStatusCode::OK);
    assert_eq!(
        token.token.as_deref(),
        Some(cluster.doris.catalog.cluster_token().expose())
    );
    assert_eq!(token.token.unwrap().len(), 36, "a UUID");
    let bad = fe
        .get_master_token(TGetMasterTokenRequest {
            cluster: None,
            user: Some(USER.into()),
            password: Some("nope".into()),
        })
        .await
        .unwrap();
    assert_error(
        bad.status.as_ref().unwrap(),
        TStatusCode::NOT_AUTHORIZED,
        "Access denied",
    );
    assert!(bad.token.is_none());
    let no_password = fe
        .get_master_token(TGetMasterTokenRequest {
            cluster: None,
            user: Some(USER.into()),
            password: None,
        })
        .await
        .unwrap();
    assert_error(
        no_password.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "password is not set",
    );

    // getMeta: the table tree; unknown db is OK without db_meta; missing fields rejected.
    let meta = cluster.meta().await;
    assert_eq!(meta.name.as_deref(), Some(TABLE));
    let partitions = meta.partitions.unwrap();
    assert_eq!(partitions.len(), 2);
    for partition in &partitions {
        assert_eq!(partition.visible_version, Some(1));
        let indexes = partition.indexes.as_ref().unwrap();
        assert_eq!(indexes.len(), 1);
        assert_eq!(indexes[0].name.as_deref(), Some(TABLE));
        let tablets = indexes[0].tablets.as_ref().unwrap();
        assert_eq!(tablets.len(), 3);
        assert!(tablets.windows(2).all(|w| w[0].id < w[1].id));
        assert!(tablets
            .iter()
            .all(|t| t.replicas.as_ref().unwrap().len() == 2));
    }
    let ranges: Vec<String> = partitions
        .iter()
        .map(|p| p.range.clone().unwrap())
        .collect();
    let shown = cluster.rows(&format!("SHOW PARTITIONS FROM {DB}.{TABLE}"));
    assert!(!shown.is_empty());
    assert!(ranges.iter().all(|r| r.starts_with('[')), "{ranges:?}");

    let unknown_db = fe
        .get_meta(TGetMetaRequest {
            user: Some(USER.into()),
            passwd: Some(PASSWORD.into()),
            db: Some(TGetMetaDB {
                id: Some(987_654_321),
                name: None,
                tables: None,
            }),
        })
        .await
        .unwrap();
    assert_eq!(unknown_db.status.status_code, TStatusCode::OK);
    assert!(unknown_db.db_meta.is_none());
    let no_passwd = fe
        .get_meta(TGetMetaRequest {
            user: Some(USER.into()),
            passwd: None,
            db: None,
        })
        .await
        .unwrap();
    assert_error(
        &no_passwd.status,
        TStatusCode::ANALYSIS_ERROR,
        "passwd is not set",
    );
    let bad_password = fe
        .get_meta(TGetMetaRequest {
            user: Some(USER.into()),
            passwd: Some("x".into()),
            db: Some(TGetMetaDB::default()),
        })
        .await
        .unwrap();
    assert_error(
        &bad_password.status,
        TStatusCode::ANALYSIS_ERROR,
        "Access denied for user",
    );

    // getBinlog is served by the binlog service, with Doris' argument checks.
    let binlog = fe.get_binlog(TGetBinlogRequest::default()).await.unwrap();
    assert_error(
        binlog.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "user is not set",
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_and_rollback_follow_doris_rules() {
    let cluster = Cluster::start().await;
    let table_id = cluster.table_id();

    let first = cluster.begin("ccrj-1:table_sync:1_2:3_4:10").await;
    let reused = cluster
        .fe
        .begin_txn(begin_request(
            "ccrj-1:table_sync:1_2:3_4:10",
            vec![table_id],
        ))
        .await
        .unwrap();
    assert_error(
        reused.status.as_ref().unwrap(),
        TStatusCode::LABEL_ALREADY_EXISTS,
        &format!(
            "Label [ccrj-1:table_sync:1_2:3_4:10] has already been used, relate to txn [{first}]"
        ),
    );
    assert_eq!(reused.job_status.as_deref(), Some("PREPARE"));
    assert!(reused.txn_id.is_none());

    // Argument checks, in Doris' order.
    let mut no_label = begin_request("x", vec![table_id]);
    no_label.label = None;
    let result = cluster.fe.begin_txn(no_label).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "label is not set",
    );
    let mut no_tables = begin_request("x", vec![]);
    no_tables.table_ids = None;
    let result = cluster.fe.begin_txn(no_tables).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "table ids is not set",
    );
    let result = cluster
        .fe
        .begin_txn(begin_request("x", vec![424_242]))
        .await
        .unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "can't find table id: 424242",
    );
    let mut bad_password = begin_request("x", vec![table_id]);
    bad_password.passwd = Some("wrong".into());
    let result = cluster.fe.begin_txn(bad_password).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "Access denied for user",
    );

    // Rollback: OK once, then "already aborted"; an aborted label can be reused.
    assert_eq!(cluster.rollback(first).await.status_code, TStatusCode::OK);
    assert_error(
        &cluster.rollback(first).await,
        TStatusCode::ANALYSIS_ERROR,
        "is already aborted",
    );
    assert_error(
        &cluster.rollback(999_999_999).await,
        TStatusCode::ANALYSIS_ERROR,
        "transaction [999999999] not found",
    );
    let shown = cluster.show_transaction(first);
    assert_eq!(shown["TransactionStatus"], "ABORTED");
    assert_eq!(shown["Reason"], "system cancel");
    assert_eq!(shown["LoadJobSourceType"], "BACKEND_STREAMING");
    let second = cluster.begin("ccrj-1:table_sync:1_2:3_4:10").await;
    assert_ne!(second, first);

    // SQL loads are transactions with labels too.
    let StatementResult::Ok { info, .. } = cluster.sql(&format!(
        "INSERT INTO {DB}.{TABLE} WITH LABEL sql_load_1 VALUES (1, 'eu', 10)"
    )) else {
        panic!("INSERT answers OK");
    };
    let info = info.unwrap();
    assert!(info.contains("'label':'sql_load_1'"), "{info}");
    let error = cluster
        .session()
        .execute(&format!(
            "INSERT INTO {DB}.{TABLE} WITH LABEL sql_load_1 VALUES (2, 'eu', 10)"
        ))
        .pop()
        .unwrap()
        .unwrap_err();
    assert!(
        error
            .message
            .contains("Label [sql_load_1] has already been used"),
        "{}",
        error.message
    );
    let by_label = cluster.rows(&format!(
        "SHOW TRANSACTION FROM {DB} WHERE label = 'sql_load_1'"
    ));
    assert_eq!(by_label.len(), 1);
    assert_eq!(by_label[0][3].as_deref(), Some("VISIBLE"));
    assert_eq!(by_label[0][4].as_deref(), Some("INSERT_STREAMING"));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_source_loads_reproduces_the_rows() {
    let source = Cluster::start().await;
    let target = Cluster::start().await;

    let first = replay(
        &source,
        &target,
        &format!(
            "INSERT INTO {DB}.{TABLE} VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'ap', 30), \
             (150, 'eu', 5), (160, 'ap', 7), (170, 'us', NULL), (4, 'eu', 40)"
        ),
        "ccrj-a:table_sync:1_2:3_4:100",
    )
    .await;
    assert_eq!(source.sorted_table_rows().len(), 7);
    assert_eq!(target.sorted_table_rows(), source.sorted_table_rows());

    // A second load into one partition, then a DELETE across both.
    replay(
        &source,
        &target,
        &format!("INSERT INTO {DB}.{TABLE} VALUES (5, 'eu', 50), (6, 'us', 60)"),
        "ccrj-b:table_sync:1_2:3_4:101",
    )
    .await;
    replay(
        &source,
        &target,
        &format!("DELETE FROM {DB}.{TABLE} WHERE region = 'eu'"),
        "ccrj-c:table_sync:1_2:3_4:102",
    )
    .await;
    let rows = source.sorted_table_rows();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(target.sorted_table_rows(), rows);

    // The target's partitions advanced by one version per replayed load that touched them.
    let target_versions = partition_versions(&target).await;
    let source_versions = partition_versions(&source).await;
    assert_eq!(target_versions, source_versions);

    let shown = target.show_transaction(first);
    assert_eq!(shown["TransactionStatus"], "VISIBLE");
    assert_eq!(shown["Label"], "ccrj-a:table_sync:1_2:3_4:100");
    assert_ne!(shown["CommitTime"], "NULL");
    assert_ne!(shown["FinishTime"], "NULL");
    assert_error(
        &target.rollback(first).await,
        TStatusCode::ANALYSIS_ERROR,
        "is already VISIBLE",
    );
    // Committing a visible transaction again is accepted (the syncer's recovery path).
    assert_eq!(
        target.commit(first, Vec::new()).await.status_code,
        TStatusCode::OK
    );
    source.stop().await;
    target.stop().await;
}

/// The call counters a bench reads (`doris_sim::call_counts`): one replayed load is counted
/// per FE method under its database, per SQL statement kind, and per BE call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_load_is_counted_per_database_method_and_call() {
    let source = Cluster::start().await;
    let target = Cluster::start().await;
    let source_before = source.doris.catalog.calls().snapshot();
    let target_before = target.doris.catalog.calls().snapshot();
    let changed = run_on_source(
        &source,
        &format!("INSERT INTO {DB}.{TABLE} VALUES (1, 'eu', 10), (150, 'us', 20)"),
    )
    .await;
    let txn = target.begin("counted").await;
    let planned = plan(&source, &target, txn, &changed).await;
    let infos = ingest_all(&target, &planned).await;
    assert_eq!(target.commit(txn, infos).await.status_code, TStatusCode::OK);
    let on_source = source
        .doris
        .catalog
        .calls()
        .snapshot()
        .since(&source_before);
    let on_target = target
        .doris
        .catalog
        .calls()
        .snapshot()
        .since(&target_before);

    assert_eq!(on_source.sql.get("INSERT"), Some(&1), "{on_source:?}");
    // getMeta named the database by id: it is counted under the database's name.
    assert!(on_source.fe[DB]["getMeta"] >= 1, "{on_source:?}");
    assert_eq!(on_target.fe[DB]["beginTxn"], 1, "{on_target:?}");
    assert_eq!(on_target.fe[DB]["commitTxn"], 1, "{on_target:?}");
    assert_eq!(on_target.fe_method("rollbackTxn"), 0);
    assert_eq!(on_target.be["ingest_binlog"], planned.len() as u64);
    // Every ingest asks the source BE for the binlog info and the rowset meta at least.
    assert!(on_source.be["binlog_download"] >= 2 * planned.len() as u64);
    assert_eq!(on_source.fe_method("beginTxn"), 0);
    // The same counts on the FE's HTTP port.
    let url = format!(
        "http://127.0.0.1:{}/api/_sim/calls",
        target.doris.topology().fe.http_port
    );
    let served: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(
        served["fe"][DB]["commitTxn"],
        target.doris.catalog.calls().snapshot().fe[DB]["commitTxn"]
    );
    source.stop().await;
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_ingests_commits_and_rollbacks() {
    let source = Cluster::start().await;
    let target = Cluster::start().await;
    let changed = run_on_source(
        &source,
        &format!("INSERT INTO {DB}.{TABLE} VALUES (1, 'eu', 10), (150, 'us', 20), (7, 'ap', 3)"),
    )
    .await;
    let target_backends = target.backends().await;

    // Rollback discards staged data.
    let txn = target.begin("rolled-back").await;
    let planned = plan(&source, &target, txn, &changed).await;
    let infos = ingest_all(&target, &planned).await;
    let query = be_client(&target_backends[&planned[0].target_backend])
        .query_ingest_binlog(TQueryIngestBinlogRequest {
            txn_id: Some(txn),
            partition_id: planned[0].request.partition_id,
            tablet_id: planned[0].request.local_tablet_id,
            load_id: Some(TUniqueId::new(-1, -1)),
        })
        .await
        .unwrap();
    assert_eq!(query.status, Some(TIngestBinlogStatus::OK));
    assert_eq!(target.rollback(txn).await.status_code, TStatusCode::OK);
    assert_error(
        &target.commit(txn, infos).await,
        TStatusCode::ANALYSIS_ERROR,
        "is already aborted",
    );
    assert!(target.sorted_table_rows().is_empty());
    assert_eq!(target.show_transaction(txn)["TransactionStatus"], "ABORTED");

    // Commit infos missing a tablet's replicas are rejected; the data stays invisible.
    let txn = target.begin("missing-infos").await;
    let planned = plan(&source, &target, txn, &changed).await;
    let mut infos = ingest_all(&target, &planned).await;
    let dropped = infos[0].tablet_id;
    infos.retain(|info| info.tablet_id != dropped);
    assert_error(
        &target.commit(txn, infos).await,
        TStatusCode::ANALYSIS_ERROR,
        &format!("Tablet [{dropped}] success replica num 0 is less than quorum replica num 2"),
    );
    assert!(target.sorted_table_rows().is_empty());
    assert_eq!(target.show_transaction(txn)["TransactionStatus"], "PREPARE");
    // A commit info naming a BE without a replica of the tablet is rejected too.
    let foreign_backend = *target_backends
        .keys()
        .find(|id| {
            planned
                .iter()
                .filter(|p| p.request.local_tablet_id == Some(dropped))
                .all(|p| p.target_backend != **id)
        })
        .expect("a BE without that tablet");
    assert_error(
        &target
            .commit(txn, vec![TTabletCommitInfo::new(dropped, foreign_backend)])
            .await,
        TStatusCode::ANALYSIS_ERROR,
        &format!("backend {foreign_backend} has no replica of tablet {dropped}"),
    );
    assert_error(
        &target.commit(txn, vec![]).await,
        TStatusCode::ANALYSIS_ERROR,
        "is less than quorum replica num",
    );
    let mut no_infos = TCommitTxnRequest {
        user: Some(USER.into()),
        passwd: Some(PASSWORD.into()),
        db: Some(DB.into()),
        txn_id: Some(txn),
        ..Default::default()
    };
    let result = target.fe.commit_txn(no_infos.clone()).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "commit_infos is not set",
    );
    no_infos.commit_infos = Some(Vec::new());
    no_infos.txn_id = Some(123_456_789);
    let result = target.fe.commit_txn(no_infos).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "transaction [123456789] not found",
    );

    // Bad ingests: wrong version, unknown tablet, tablet on another BE, missing field.
    let sample = &planned[0];
    let client = be_client(&target_backends[&sample.target_backend]);
    let mut wrong_version = sample.request.clone();
    wrong_version.binlog_version = Some(99);
    let result = client.ingest_binlog(wrong_version).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::HTTP_ERROR,
        "binlog version 99",
    );
    let mut unknown_remote = sample.request.clone();
    unknown_remote.remote_tablet_id = Some(5_555_555);
    let result = client.ingest_binlog(unknown_remote).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::HTTP_ERROR,
        "tablet 5555555 not found",
    );
    let mut unknown_local = sample.request.clone();
    unknown_local.local_tablet_id = Some(7_777_777);
    let result = client.ingest_binlog(unknown_local).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::TABLET_MISSING,
        "tablet 7777777 not found",
    );
    let local = sample.request.local_tablet_id.unwrap();
    let elsewhere = target_backends
        .keys()
        .find(|id| {
            planned
                .iter()
                .filter(|p| p.request.local_tablet_id == Some(local))
                .all(|p| p.target_backend != **id)
        })
        .expect("a BE without the tablet");
    let result = be_client(&target_backends[elsewhere])
        .ingest_binlog(sample.request.clone())
        .await
        .unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::TABLET_MISSING,
        &format!("tablet {local} not found"),
    );
    let mut no_txn = sample.request.clone();
    no_txn.txn_id = None;
    let result = client.ingest_binlog(no_txn).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "txn_id is empty",
    );
    let mut no_load_id = sample.request.clone();
    no_load_id.load_id = None;
    let result = client.ingest_binlog(no_load_id).await.unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::ANALYSIS_ERROR,
        "load_id is empty",
    );

    // The source's download API checks a presented token against its cluster token.
    let source_backend = &source.doris.topology().backends[0];
    let tablet = {
        let state = source.doris.catalog.read();
        let table = state.db(DB).unwrap().table(TABLE).unwrap();
        let olap = table.olap().unwrap();
        let partition = olap.partitions.values().next().unwrap();
        partition
            .indexes
            .values()
            .next()
            .unwrap()
            .tablets
            .iter()
            .find(|t| t.replicas.iter().any(|r| r.backend_id == source_backend.id))
            .unwrap()
            .id
    };
    let url = format!(
        "http://127.0.0.1:{}/api/_binlog/_download",
        source_backend.http_port
    );
    let http = reqwest::Client::new();
    let get = |token: Option<String>| {
        let mut query = vec![
            ("method", "get_binlog_info".to_owned()),
            ("tablet_id", tablet.to_string()),
            ("binlog_version", "2".to_owned()),
        ];
        if let Some(token) = token {
            query.push(("token", token));
        }
        http.get(&url).query(&query).send()
    };
    let bad_token = get(Some("not-the-token".into())).await.unwrap();
    assert_eq!(bad_token.status(), reqwest::StatusCode::UNAUTHORIZED);
    let good_token = get(Some(
        source.doris.catalog.cluster_token().expose().to_owned(),
    ))
    .await
    .unwrap();
    assert_eq!(good_token.status(), reqwest::StatusCode::OK);
    let body = good_token.text().await.unwrap();
    let (_, segments) = body.split_once(':').expect("<rowset_id>:<num_segments>");
    assert!(segments.parse::<usize>().is_ok(), "{body}");
    assert_eq!(get(None).await.unwrap().status(), reqwest::StatusCode::OK);

    // After all that, a complete replay of the same load still works.
    let txn = target.begin("complete").await;
    let planned = plan(&source, &target, txn, &changed).await;
    let infos = ingest_all(&target, &planned).await;
    assert_eq!(target.commit(txn, infos).await.status_code, TStatusCode::OK);
    assert_eq!(target.sorted_table_rows(), source.sorted_table_rows());
    source.stop().await;
    target.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_needs_the_binlog_feature_on_the_be() {
    let target = Cluster::start_with(SimClusterOptions {
        be_binlog_enabled: false,
        ..SimClusterOptions::default()
    })
    .await;
    let txn = target.begin("disabled").await;
    let backends = target.backends().await;
    let (&backend_id, backend) = backends.iter().next().unwrap();
    let result = be_client(backend)
        .ingest_binlog(ingest_request(txn, 1, 2, backend, 1, 1))
        .await
        .unwrap();
    assert_error(
        result.status.as_ref().unwrap(),
        TStatusCode::RUNTIME_ERROR,
        "enable feature binlog is false",
    );
    assert!(backend_id > 0);
    target.stop().await;
}
