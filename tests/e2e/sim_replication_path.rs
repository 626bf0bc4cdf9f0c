//! The simulator's whole replication surface, driven through the project's Thrift clients
//! the way a syncer uses it, without the syncer: a snapshot of cluster A restored into
//! cluster B (getSnapshot, getBackendMeta, getMasterToken, restoreSnapshot), then one source
//! transaction replayed (getBinlogLag, lockBinlog, getBinlog, getMeta, beginTxn,
//! ingest_binlog, commitTxn); B's rows equal A's after each.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use ccr_binlog::snapshot::{BackupJobInfo, BeNetworkAddress, ExtraInfo};
use ccr_binlog::{Binlog, BinlogRecord};
use ccr_doris::cluster::{BeginTxn, BinlogBatch, CommitOutcome, RestoreRequest};
use ccr_doris::rpc::{RpcAddress, RpcTimeouts};
use ccr_wire::backend_service::TIngestBinlogRequest;
use ccr_wire::frontend_service::TLockBinlogRequest;
use ccr_wire::status::TStatusCode;
use ccr_wire::types::{TTabletCommitInfo, TUniqueId};
use support::{wait_until, TestCluster};

fn rows(cluster: &TestCluster, table: &str) -> String {
    cluster.sql(&format!("SELECT * FROM {table} ORDER BY id"))
}

#[test]
fn snapshot_restore_then_one_replayed_transaction() {
    let a = TestCluster::start();
    let b = TestCluster::start();
    a.sql(
        "CREATE DATABASE shop PROPERTIES (\"binlog.enable\" = \"true\");
         CREATE TABLE shop.orders (id INT, day INT, amount BIGINT) DUPLICATE KEY(id)
           PARTITION BY RANGE(day) (PARTITION p1 VALUES LESS THAN (10), PARTITION p2 VALUES LESS THAN (20))
           DISTRIBUTED BY HASH(id) BUCKETS 3 PROPERTIES (\"replication_num\" = \"2\", \"binlog.enable\" = \"true\");
         INSERT INTO shop.orders VALUES (1, 1, 10), (2, 12, 20), (3, 5, 30);
         BACKUP SNAPSHOT shop.snap1 TO `__keep_on_local__` ON (orders) PROPERTIES (\"type\" = \"full\");",
    );
    b.sql("CREATE DATABASE shop_dr");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _context = runtime.enter();
    let (src, dest) = (a.client(), b.client());
    wait_until("backup FINISHED", Duration::from_secs(30), || {
        let state = runtime.block_on(src.backup_state("shop", "snap1")).unwrap();
        match state {
            Some(s) if s.is_finished() => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });

    // Snapshot → extra info → restore on B.
    let mut snapshot = runtime
        .block_on(src.get_snapshot("shop", "orders", "snap1"))
        .unwrap();
    let mut job_info = BackupJobInfo::from_slice(&snapshot.job_info).unwrap();
    let id_of = |cluster: &TestCluster, proc: &str, name: &str| -> i64 {
        let listing = cluster.sql(&format!("SHOW PROC '{proc}'"));
        let row = listing
            .lines()
            .find(|l| l.split('\t').nth(1) == Some(name))
            .unwrap_or_else(|| panic!("{name} in {listing}"));
        row.split('\t').next().unwrap().parse().unwrap()
    };
    let src_db_id = id_of(&a, "/dbs/", "shop");
    let table_id = id_of(&a, &format!("/dbs/{src_db_id}/"), "orders");
    let cut = job_info.table_commit_seq_map().unwrap()[&table_id];
    let backends = runtime.block_on(src.backends()).unwrap();
    assert_eq!(backends.len(), 3);
    let token = runtime.block_on(src.master_token()).unwrap();
    assert!(!token.is_empty());
    let be_network_map: BTreeMap<i64, BeNetworkAddress> = backends
        .iter()
        .map(|be| {
            (
                be.id,
                BeNetworkAddress {
                    ip: be.host.clone(),
                    port: i32::from(be.http_port),
                },
            )
        })
        .collect();
    job_info
        .set_extra_info(&ExtraInfo {
            be_network_map,
            token,
        })
        .unwrap();
    snapshot.job_info = job_info.to_vec();
    let restore = RestoreRequest {
        db: "shop_dr".into(),
        table: "orders".into(),
        label: "snap1_r_1".into(),
        table_refs: vec![],
        clean_tables: false,
        clean_partitions: false,
        atomic_restore: true,
    };
    runtime
        .block_on(dest.restore_snapshot(&restore, &snapshot))
        .unwrap();
    wait_until("restore FINISHED", Duration::from_secs(30), || {
        let state = runtime
            .block_on(dest.restore_state("shop_dr", "snap1_r_1"))
            .unwrap();
        match state {
            Some(s) if s.is_finished() => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(rows(&b, "shop_dr.orders"), rows(&a, "shop.orders"));

    // One more source transaction, seen in the binlog after the snapshot's cut.
    a.sql("INSERT INTO shop.orders VALUES (4, 15, 40), (5, 2, 50)");
    let lag = runtime.block_on(async {
        let fe = ccr_doris::rpc::FeClient::new(
            vec![RpcAddress::new("127.0.0.1", a.rpc_port())],
            RpcTimeouts::default(),
        );
        let request = ccr_wire::frontend_service::TGetBinlogRequest {
            user: Some("root".into()),
            passwd: Some(String::new()),
            db: Some("shop".into()),
            table_id: Some(table_id),
            prev_commit_seq: Some(cut),
            ..Default::default()
        };
        let lag = fe.get_binlog_lag(request).await.unwrap();
        let locked = fe
            .lock_binlog(TLockBinlogRequest {
                user: Some("root".into()),
                passwd: Some(String::new()),
                db: Some("shop".into()),
                table_id: Some(table_id),
                job_unique_id: Some("test_job".into()),
                lock_commit_seq: Some(cut),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(locked.status.unwrap().status_code, TStatusCode::OK);
        assert_eq!(locked.locked_commit_seq, Some(cut));
        lag
    });
    assert_eq!(lag.status.unwrap().status_code, TStatusCode::OK);
    assert_eq!(lag.lag, Some(1));
    let batch = runtime
        .block_on(src.get_binlogs("shop", Some(("orders", table_id)), cut, 16))
        .unwrap();
    let BinlogBatch::Binlogs {
        binlogs,
        too_old: false,
    } = batch
    else {
        panic!("{batch:?}")
    };
    let binlog = Binlog::decode(&binlogs[0]).unwrap();
    let BinlogRecord::Upsert(upsert) = &binlog.record else {
        panic!("{binlog:?}")
    };

    // Replay it on B: pair partitions by range and tablets by bucket order, ingest every
    // target replica from a source replica at the binlog's version, commit.
    assert_eq!(upsert.db_id, src_db_id);
    let src_meta = runtime
        .block_on(src.table_meta(src_db_id, &[table_id]))
        .unwrap();
    let dest_db_id = id_of(&b, "/dbs/", "shop_dr");
    let dest_table_id = id_of(&b, &format!("/dbs/{dest_db_id}/"), "orders");
    let dest_meta = runtime
        .block_on(dest.table_meta(dest_db_id, &[dest_table_id]))
        .unwrap();
    let dest_backends: BTreeMap<i64, _> = runtime
        .block_on(dest.backends())
        .unwrap()
        .into_iter()
        .map(|be| (be.id, be))
        .collect();
    let src_backends: BTreeMap<i64, _> = backends.into_iter().map(|be| (be.id, be)).collect();
    let label = format!("replay_{}", binlog.commit_seq);
    let BeginTxn::Started { txn_id } = runtime
        .block_on(dest.begin_txn("shop_dr", vec![dest_table_id], &label))
        .unwrap()
    else {
        panic!("label taken")
    };
    let mut commit_infos = Vec::new();
    let src_table = &src_meta.tables[&table_id];
    let dest_table = &dest_meta.tables[&dest_table_id];
    for record in upsert.partitions_of(table_id) {
        let src_partition = src_table.partition(record.partition_id).unwrap();
        let dest_partition = dest_table.partition_by_range(&src_partition.range).unwrap();
        let src_index = &src_partition.indexes[0];
        let dest_index = dest_partition.index_by_name(&dest_table.name).unwrap();
        for (s, d) in src_index
            .tablets_in_bucket_order()
            .iter()
            .zip(dest_index.tablets_in_bucket_order())
        {
            let source = s
                .replicas
                .iter()
                .find(|r| r.version >= record.version)
                .unwrap();
            let source_be = &src_backends[&source.backend_id];
            for replica in &d.replicas {
                let target_be = &dest_backends[&replica.backend_id];
                let result = runtime
                    .block_on(
                        dest.backend(&RpcAddress::new(target_be.host.clone(), target_be.be_port))
                            .ingest_binlog(TIngestBinlogRequest {
                                txn_id: Some(txn_id),
                                remote_tablet_id: Some(s.id),
                                binlog_version: Some(record.version),
                                remote_host: Some(source_be.host.clone()),
                                remote_port: Some(source_be.http_port.to_string()),
                                partition_id: Some(dest_partition.id),
                                local_tablet_id: Some(d.id),
                                load_id: Some(TUniqueId { hi: -1, lo: -1 }),
                            }),
                    )
                    .unwrap();
                assert_eq!(result.status.unwrap().status_code, TStatusCode::OK);
                commit_infos.push(TTabletCommitInfo {
                    tablet_id: d.id,
                    backend_id: target_be.id,
                });
            }
        }
    }
    let committed = runtime
        .block_on(dest.commit_txn("shop_dr", txn_id, commit_infos))
        .unwrap();
    assert_eq!(committed, CommitOutcome::Visible);
    assert_eq!(rows(&b, "shop_dr.orders"), rows(&a, "shop.orders"));
    let state = runtime
        .block_on(dest.txn_by_label("shop_dr", &label))
        .unwrap()
        .unwrap();
    assert_eq!(state.status, "VISIBLE");
}
