//! Scale harness for the simulated Doris cluster (not a test: it prints figures).
//!
//! Launches a cluster in this process, creates many tables through the MySQL protocol (some
//! range-partitioned, so the total reaches the wanted partition count), puts rows into every
//! partition, then measures what the syncer leans on at that size: DDL and insert rates,
//! `SHOW PROC '/dbs/<id>/'`, getMeta for one table, getBinlog, and the process RSS.
//!
//! Run it with `scripts/bench_sim_scale.sh` (or `cargo run --example sim_scale -- --help`).

use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use ccr_doris::rpc::{BeClient, FeClient, RpcAddress, RpcTimeouts};
use ccr_wire::backend_service::TIngestBinlogRequest;
use ccr_wire::frontend_service::{
    TBeginTxnRequest, TCommitTxnRequest, TGetBinlogRequest, TGetMetaDB, TGetMetaRequest,
    TGetMetaTable, TGetMetaTableMeta,
};
use ccr_wire::status::TStatusCode;
use ccr_wire::types::{TTabletCommitInfo, TUniqueId};
use clap::Parser;
use doris_sim::cluster::SimClusterOptions;
use doris_sim::launch::{launch, SimConfig};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, Executor, MySqlConnection};

/// The database every table goes into.
const DB: &str = "scale";
/// How many times each read-side probe runs; the figures are the median and the worst.
const PROBE_RUNS: usize = 20;

#[derive(Debug, Parser)]
#[command(about = "Measures the simulated Doris cluster at scale")]
struct ScaleArgs {
    /// Tables in total.
    #[arg(long, default_value_t = 1_000)]
    tables: usize,
    /// How many of them are range-partitioned (the rest have a single partition).
    #[arg(long, default_value_t = 100)]
    partitioned_tables: usize,
    /// Partitions of each partitioned table.
    #[arg(long, default_value_t = 92)]
    partitions_per_table: usize,
    /// Number of BEs (replication is min(3, BEs)).
    #[arg(long, default_value_t = 3)]
    backends: usize,
    /// Extra single-row INSERTs after the load, to measure the insert rate on a full catalog.
    #[arg(long, default_value_t = 1_000)]
    extra_inserts: usize,
}

fn create_table_sql(index: usize, partitions: usize) -> String {
    let name = table_name(index);
    if partitions <= 1 {
        return format!(
            "CREATE TABLE {DB}.{name} (`id` INT, `v` BIGINT, `note` VARCHAR(32)) \
             DUPLICATE KEY(`id`) DISTRIBUTED BY HASH(`id`) BUCKETS 1"
        );
    }
    let ranges: Vec<String> = (0..partitions)
        .map(|p| format!("PARTITION p{p} VALUES LESS THAN (\"{}\")", (p + 1) * 10))
        .collect();
    format!(
        "CREATE TABLE {DB}.{name} (`id` INT, `v` BIGINT, `note` VARCHAR(32)) \
         DUPLICATE KEY(`id`) PARTITION BY RANGE(`id`) ({}) \
         DISTRIBUTED BY HASH(`id`) BUCKETS 1",
        ranges.join(", ")
    )
}

fn table_name(index: usize) -> String {
    format!("t{index:05}")
}

/// One INSERT putting a row into each partition of the table.
fn insert_sql(index: usize, partitions: usize) -> String {
    let rows: Vec<String> = (0..partitions.max(1))
        .map(|p| format!("({}, {p}, 'row {p}')", p * 10))
        .collect();
    format!(
        "INSERT INTO {DB}.{} VALUES {}",
        table_name(index),
        rows.join(", ")
    )
}

fn meta_request(db_id: i64, table_id: i64) -> TGetMetaRequest {
    TGetMetaRequest {
        user: Some("root".into()),
        passwd: Some(String::new()),
        db: Some(TGetMetaDB {
            id: Some(db_id),
            name: None,
            tables: Some(vec![TGetMetaTable {
                id: Some(table_id),
                name: None,
            }]),
        }),
    }
}

async fn table_meta(
    fe: &FeClient,
    db_id: i64,
    table_id: i64,
) -> Result<TGetMetaTableMeta, Box<dyn std::error::Error>> {
    let result = fe.get_meta(meta_request(db_id, table_id)).await?;
    result
        .db_meta
        .and_then(|db| db.tables)
        .and_then(|tables| tables.into_iter().next())
        .ok_or_else(|| "getMeta returned no table".into())
}

/// What the syncer does for one source load: begin a txn on the target table, make every
/// target replica ingest its source tablet's rowset (here: the same cluster, table
/// `source_id` → `target_id`, partitions paired by name), commit. Returns the number of
/// ingests, their total time and the commitTxn time.
async fn replay_load(
    doris: &doris_sim::launch::SimDoris,
    fe: &FeClient,
    db_id: i64,
    source_id: i64,
    target_id: i64,
) -> Result<(usize, Duration, Duration), Box<dyn std::error::Error>> {
    let source = table_meta(fe, db_id, source_id).await?;
    let target = table_meta(fe, db_id, target_id).await?;
    let backends: BTreeMap<i64, (u16, u16)> = doris
        .topology()
        .backends
        .iter()
        .map(|b| (b.id, (b.be_port, b.http_port)))
        .collect();
    let begun = fe
        .begin_txn(TBeginTxnRequest {
            user: Some("root".into()),
            passwd: Some(String::new()),
            db: Some(DB.into()),
            table_ids: Some(vec![target_id]),
            label: Some(format!("replay_{source_id}_{target_id}")),
            ..Default::default()
        })
        .await?;
    let txn_id = begun.txn_id.ok_or("beginTxn gave no txn id")?;
    let timeouts = RpcTimeouts::default();
    let clients: BTreeMap<i64, BeClient> = backends
        .iter()
        .map(|(id, (be_port, _))| {
            let address = RpcAddress::new("127.0.0.1", *be_port);
            (*id, BeClient::new(address, timeouts))
        })
        .collect();
    let mut infos = Vec::new();
    let started = Instant::now();
    let target_partitions = target.partitions.unwrap_or_default();
    for source_partition in source.partitions.unwrap_or_default() {
        let target_partition = target_partitions
            .iter()
            .find(|p| p.name == source_partition.name)
            .ok_or("no target partition of that name")?;
        let version = source_partition.visible_version.unwrap_or_default();
        let source_index = &source_partition.indexes.unwrap_or_default()[0];
        let target_index = &target_partition.indexes.clone().unwrap_or_default()[0];
        let source_tablets = source_index.tablets.clone().unwrap_or_default();
        let target_tablets = target_index.tablets.clone().unwrap_or_default();
        for (source_tablet, target_tablet) in source_tablets.iter().zip(&target_tablets) {
            let source_replicas = source_tablet.replicas.clone().unwrap_or_default();
            for (n, replica) in target_tablet
                .replicas
                .clone()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let remote = &source_replicas[n % source_replicas.len()];
                let remote_http = backends[&remote.backend_id.unwrap_or_default()].1;
                let backend_id = replica.backend_id.unwrap_or_default();
                let result = clients[&backend_id]
                    .ingest_binlog(TIngestBinlogRequest {
                        txn_id: Some(txn_id),
                        remote_tablet_id: source_tablet.id,
                        binlog_version: Some(version),
                        remote_host: Some("127.0.0.1".into()),
                        remote_port: Some(remote_http.to_string()),
                        partition_id: target_partition.id,
                        local_tablet_id: target_tablet.id,
                        load_id: Some(TUniqueId::new(-1, -1)),
                    })
                    .await?;
                let status = result.status.ok_or("ingest_binlog gave no status")?;
                if status.status_code != TStatusCode::OK {
                    return Err(format!("ingest_binlog failed: {status:?}").into());
                }
                infos.push(TTabletCommitInfo::new(
                    target_tablet.id.unwrap_or_default(),
                    backend_id,
                ));
            }
        }
    }
    let ingest_time = started.elapsed();
    let ingests = infos.len();
    let started = Instant::now();
    let committed = fe
        .commit_txn(TCommitTxnRequest {
            user: Some("root".into()),
            passwd: Some(String::new()),
            db: Some(DB.into()),
            txn_id: Some(txn_id),
            commit_infos: Some(infos),
            ..Default::default()
        })
        .await?;
    let commit_time = started.elapsed();
    let status = committed.status.ok_or("commitTxn gave no status")?;
    if status.status_code != TStatusCode::OK {
        return Err(format!("commitTxn failed: {status:?}").into());
    }
    Ok((ingests, ingest_time, commit_time))
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `$body` `PROBE_RUNS` times; evaluates to its (median, worst) duration.
macro_rules! probe {
    ($body:expr) => {{
        let mut times = Vec::with_capacity(PROBE_RUNS);
        for _ in 0..PROBE_RUNS {
            let started = Instant::now();
            $body;
            times.push(started.elapsed());
        }
        times.sort();
        (times[times.len() / 2], times[times.len() - 1])
    }};
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = ScaleArgs::parse();
    let doris = launch(SimConfig {
        cluster: SimClusterOptions {
            backends: args.backends,
            ..SimClusterOptions::default()
        },
        ..SimConfig::default()
    })
    .await?;
    let fe_port = doris.topology().fe.query_port;
    let mut sql = MySqlConnection::connect_with(
        &MySqlConnectOptions::new()
            .host("127.0.0.1")
            .port(fe_port)
            .username("root"),
    )
    .await?;
    sql.execute(format!("CREATE DATABASE {DB} PROPERTIES (\"binlog.enable\" = \"true\")").as_str())
        .await?;
    let partitioned = args.partitioned_tables.min(args.tables);
    let partitions_of = |index: usize| {
        if index < partitioned {
            args.partitions_per_table
        } else {
            1
        }
    };
    let total_partitions: usize = (0..args.tables).map(partitions_of).sum();
    println!(
        "cluster: {} BEs; {} tables ({} partitioned x {}), {} partitions",
        args.backends, args.tables, partitioned, args.partitions_per_table, total_partitions
    );
    println!("rss at start: {} KiB", rss_kib().unwrap_or(0));

    let started = Instant::now();
    for index in 0..args.tables {
        sql.execute(create_table_sql(index, partitions_of(index)).as_str())
            .await?;
    }
    let create_time = started.elapsed();
    println!(
        "create {} tables: {:.2} s ({:.0} tables/s)",
        args.tables,
        create_time.as_secs_f64(),
        args.tables as f64 / create_time.as_secs_f64()
    );

    let started = Instant::now();
    for index in 0..args.tables {
        sql.execute(insert_sql(index, partitions_of(index)).as_str())
            .await?;
    }
    let load_time = started.elapsed();
    println!(
        "load one row per partition ({} INSERTs, {} rows): {:.2} s ({:.0} inserts/s)",
        args.tables,
        total_partitions,
        load_time.as_secs_f64(),
        args.tables as f64 / load_time.as_secs_f64()
    );

    let started = Instant::now();
    for n in 0..args.extra_inserts {
        let index = n % args.tables;
        sql.execute(
            format!(
                "INSERT INTO {DB}.{} VALUES (1, {n}, 'extra')",
                table_name(index)
            )
            .as_str(),
        )
        .await?;
    }
    let extra_time = started.elapsed();
    if args.extra_inserts > 0 {
        println!(
            "single-row INSERTs on the full catalog: {} in {:.2} s ({:.0} inserts/s)",
            args.extra_inserts,
            extra_time.as_secs_f64(),
            args.extra_inserts as f64 / extra_time.as_secs_f64()
        );
    }

    let (db_id, table_id, last_seq) = {
        let state = doris.catalog.read();
        let db = state.db(DB).ok_or("database vanished")?;
        let table = db.table(&table_name(0)).ok_or("table vanished")?;
        (db.id, table.id, state.binlog.last_journal_id())
    };

    let show_proc = format!("SHOW PROC '/dbs/{db_id}/'");
    let (median, worst) = probe!({
        let rows = sql.fetch_all(show_proc.as_str()).await?;
        assert_eq!(rows.len(), args.tables);
    });
    println!(
        "SHOW PROC '/dbs/<id>/' ({} rows): median {}, worst {}",
        args.tables,
        ms(median),
        ms(worst)
    );

    let partitions_proc = format!("SHOW PROC '/dbs/{db_id}/{table_id}/partitions'");
    let (median, worst) = probe!(sql.fetch_all(partitions_proc.as_str()).await?);
    println!(
        "SHOW PROC '/dbs/<id>/<table>/partitions': median {}, worst {}",
        ms(median),
        ms(worst)
    );

    let fe = FeClient::new(
        vec![RpcAddress::new("127.0.0.1", doris.topology().fe.rpc_port)],
        RpcTimeouts::default(),
    );
    let meta_request = meta_request(db_id, table_id);
    let (median, worst) = probe!({
        let result = fe.get_meta(meta_request.clone()).await?;
        assert_eq!(result.status.status_code, TStatusCode::OK);
    });
    println!(
        "getMeta (one table of {} partitions): median {}, worst {}",
        partitions_of(0),
        ms(median),
        ms(worst)
    );

    // A cursor in the middle of the stream: the FE must find the next binlog after it.
    let binlog_request = TGetBinlogRequest {
        user: Some("root".into()),
        passwd: Some(String::new()),
        db: Some(DB.into()),
        prev_commit_seq: Some(last_seq / 2),
        ..Default::default()
    };
    let (median, worst) = probe!({
        let result = fe.get_binlog(binlog_request.clone()).await?;
        assert_eq!(result.status.map(|s| s.status_code), Some(TStatusCode::OK));
    });
    println!(
        "getBinlog (db stream, last journal id {last_seq}, cursor in the middle): median {}, worst {}",
        ms(median),
        ms(worst)
    );
    // Replay the first table's load into the second, as the syncer would.
    let second_id = doris
        .catalog
        .read()
        .db(DB)
        .and_then(|db| db.table(&table_name(1)))
        .ok_or("table vanished")?
        .id;
    let (ingests, ingest_time, commit_time) =
        replay_load(&doris, &fe, db_id, table_id, second_id).await?;
    println!(
        "replay one load ({} partitions): {ingests} ingest_binlog in {:.2} s ({:.0}/s), \
         commitTxn with {ingests} commit infos {}",
        partitions_of(0),
        ingest_time.as_secs_f64(),
        ingests as f64 / ingest_time.as_secs_f64(),
        ms(commit_time)
    );
    println!("rss at end: {} KiB", rss_kib().unwrap_or(0));

    sql.close().await?;
    doris.stop().await;
    Ok(())
}
