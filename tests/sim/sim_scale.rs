//! The simulator at moderate scale (200 tables x 10 partitions, all with rows): the catalog,
//! SHOW PROC, getMeta and the binlog stay consistent. A correctness check, not a timing
//! one; `scripts/bench_sim_scale.sh` measures the full 1,000-table / 10,000-partition case.

use ccr_doris::rpc::{FeClient, RpcAddress, RpcTimeouts};
use ccr_wire::frontend_service::{TGetBinlogRequest, TGetMetaDB, TGetMetaRequest};
use ccr_wire::status::TStatusCode;
use doris_sim::launch::{launch, SimConfig};

use crate::support::{olap_table, root_rows, root_sql};

const TABLES: usize = 200;
const PARTITIONS: usize = 10;
const DB: &str = "scale";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_tables_of_ten_partitions_with_data() {
    let doris = launch(SimConfig::default()).await.expect("cluster starts");
    root_sql(
        &doris,
        &format!("CREATE DATABASE {DB} PROPERTIES (\"binlog.enable\" = \"true\")"),
    );
    let ranges: Vec<String> = (0..PARTITIONS)
        .map(|p| format!("PARTITION p{p} VALUES LESS THAN (\"{}\")", (p + 1) * 10))
        .collect();
    let values: Vec<String> = (0..PARTITIONS)
        .map(|p| format!("({}, {p})", p * 10))
        .collect();
    for t in 0..TABLES {
        root_sql(
            &doris,
            &format!(
                "CREATE TABLE {DB}.t{t} (`id` INT, `v` INT) DUPLICATE KEY(`id`) \
                 PARTITION BY RANGE(`id`) ({}) DISTRIBUTED BY HASH(`id`) BUCKETS 1",
                ranges.join(", ")
            ),
        );
        root_sql(
            &doris,
            &format!("INSERT INTO {DB}.t{t} VALUES {}", values.join(", ")),
        );
    }

    let db_id = doris.catalog.read().db(DB).expect("db").id;
    let tables = root_rows(&doris, &format!("SHOW PROC '/dbs/{db_id}/'"));
    assert_eq!(tables.len(), TABLES);
    let last = root_rows(
        &doris,
        &format!("SELECT COUNT(*) FROM {DB}.t{}", TABLES - 1),
    );
    assert_eq!(last, vec![vec![Some(PARTITIONS.to_string())]]);

    let fe = FeClient::new(
        vec![RpcAddress::new("127.0.0.1", doris.topology().fe.rpc_port)],
        RpcTimeouts::default(),
    );
    let meta = fe
        .get_meta(TGetMetaRequest {
            user: Some("root".into()),
            passwd: Some(String::new()),
            db: Some(TGetMetaDB {
                name: Some(DB.into()),
                ..Default::default()
            }),
        })
        .await
        .expect("getMeta");
    assert_eq!(meta.status.status_code, TStatusCode::OK);
    let tables = meta.db_meta.and_then(|db| db.tables).expect("tables");
    assert_eq!(tables.len(), TABLES);
    let partitions: Vec<_> = tables
        .iter()
        .flat_map(|t| t.partitions.clone().unwrap_or_default())
        .collect();
    assert_eq!(partitions.len(), TABLES * PARTITIONS);
    // Every partition took exactly one load: version 1 at creation, 2 after the INSERT.
    assert!(partitions.iter().all(|p| p.visible_version == Some(2)));

    // The binlog holds a CREATE_TABLE and an UPSERT per table, in order.
    let mut prev = 0;
    let mut seen = 0;
    loop {
        let result = fe
            .get_binlog(TGetBinlogRequest {
                user: Some("root".into()),
                passwd: Some(String::new()),
                db: Some(DB.into()),
                prev_commit_seq: Some(prev),
                num_acquired: Some(1_000),
                ..Default::default()
            })
            .await
            .expect("getBinlog");
        let status = result.status.expect("status").status_code;
        if status == TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ {
            break;
        }
        assert_eq!(status, TStatusCode::OK);
        let binlogs = result.binlogs.unwrap_or_default();
        assert!(!binlogs.is_empty());
        for binlog in &binlogs {
            let seq = binlog.commit_seq.expect("commit seq");
            assert!(seq > prev, "commit seqs ascend");
            prev = seq;
            seen += 1;
        }
    }
    assert_eq!(seen, 2 * TABLES);

    // Tablet lookups follow the catalog as tables come and go.
    let first_tablet = |table: &str| {
        let olap = olap_table(&doris, DB, table);
        let partition = olap.partitions.values().next().unwrap();
        partition.indexes.values().next().unwrap().tablets[0].id
    };
    let dropped = first_tablet("t0");
    assert!(doris.catalog.read().locate_tablet(dropped).is_some());
    root_sql(&doris, &format!("DROP TABLE {DB}.t0"));
    assert!(doris.catalog.read().locate_tablet(dropped).is_none());
    root_sql(
        &doris,
        &format!(
            "CREATE TABLE {DB}.fresh (`id` INT) DUPLICATE KEY(`id`) \
             DISTRIBUTED BY HASH(`id`) BUCKETS 1"
        ),
    );
    let fresh = first_tablet("fresh");
    let location = doris
        .catalog
        .read()
        .locate_tablet(fresh)
        .expect("new tablet found");
    assert_eq!(location.tablet_id, fresh);
    doris.stop().await;
}
