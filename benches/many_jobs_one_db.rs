//! Many table jobs created at once on one source database: two simulated clusters in this
//! process, the real `ccr_syncer` binary between them. Prints the time from the first
//! `/create_ccr` until every job is in incremental sync, and how many backups the source
//! ran for them (the snapshot coordinator batches them). Run with
//! `cargo bench -p ccr_tests --bench many_jobs_one_db`; BENCH_JOBS (100) sets the number.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use doris_sim::launch::{launch, SimConfig, SimDoris};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, Executor, MySqlConnection};

/// Longest the run waits for all jobs; past it the bench fails rather than hang.
const GIVE_UP: Duration = Duration::from_secs(600);

async fn connect(cluster: &SimDoris) -> MySqlConnection {
    let options = MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(cluster.topology().fe.query_port)
        .username("root")
        .pipes_as_concat(false)
        .no_engine_substitution(false)
        .timezone(None)
        .set_names(false);
    MySqlConnection::connect_with(&options)
        .await
        .expect("connect to the simulated FE")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct SyncerProcess(Child);

impl Drop for SyncerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let jobs: usize = std::env::var("BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut config = SimConfig::default();
    config.cluster.query_port = 0;
    config.cluster.rpc_port = 0;
    config.cluster.http_port = 0;
    let src = launch(config.clone()).await.expect("source cluster");
    let dest = launch(config).await.expect("target cluster");
    let mut writer = connect(&src).await;
    writer
        .execute("CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\")")
        .await
        .unwrap();
    for i in 1..=jobs {
        writer
            .execute(
                format!(
                    "CREATE TABLE src_db.t{i} (id BIGINT, v BIGINT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) \
                     BUCKETS 3 PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
                     INSERT INTO src_db.t{i} VALUES (1, {i}), (2, {i})"
                )
                .as_str(),
            )
            .await
            .unwrap();
    }

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _syncer = SyncerProcess(
        Command::new(ccr_tests::binary("ccr_syncer"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--log_level", "warn"])
            .args(["--db_dir", dir.path().join("ccr.db").to_str().unwrap()])
            .args(["--log_dir", dir.path().to_str().unwrap()])
            .stdin(Stdio::null())
            .spawn()
            .expect("start ccr_syncer"),
    );
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let request = http
            .post(format!("http://127.0.0.1:{port}{path}"))
            .json(&body);
        async move { request.send().await?.json::<serde_json::Value>().await }
    };
    let waiting = Instant::now();
    while post("/version", serde_json::json!({})).await.is_err() {
        assert!(
            waiting.elapsed() < Duration::from_secs(30),
            "syncer did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spec = |cluster: &SimDoris, db: &str, table: &str| {
        serde_json::json!({"host": "127.0.0.1", "port": cluster.topology().fe.query_port,
            "thrift_port": cluster.topology().fe.rpc_port, "user": "root", "password": "",
            "database": db, "table": table})
    };

    let started = Instant::now();
    let creations: Vec<_> = (1..=jobs)
        .map(|i| {
            let table = format!("t{i}");
            post(
                "/create_ccr",
                serde_json::json!({"name": format!("job_{i}"),
                    "src": spec(&src, "src_db", &table), "dest": spec(&dest, "dest_db", &table)}),
            )
        })
        .collect();
    for created in futures::future::join_all(creations).await {
        let created = created.expect("create answered");
        assert_eq!(created["success"], true, "{created}");
    }
    let all_created = started.elapsed();
    let mut pending: Vec<usize> = (1..=jobs).collect();
    let mut first_incremental = None;
    while !pending.is_empty() {
        assert!(
            started.elapsed() < GIVE_UP,
            "{} jobs never reached incremental sync",
            pending.len()
        );
        let mut still = Vec::new();
        for i in pending {
            let status = post(
                "/job_status",
                serde_json::json!({"name": format!("job_{i}")}),
            )
            .await
            .expect("status answered");
            if status["status"]["progress_state"] == "TableIncrementalSync" {
                first_incremental.get_or_insert(started.elapsed());
            } else {
                still.push(i);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let all_incremental = started.elapsed();
    let backups = src
        .catalog
        .read()
        .backup_restore
        .jobs()
        .iter()
        .filter(|j| matches!(j, doris_sim::backup::Job::Backup(_)))
        .count();
    println!("table jobs created at once on one database: {jobs}");
    println!(
        "  all created (HTTP answers):  {:.1} s",
        all_created.as_secs_f64()
    );
    println!(
        "  first in incremental sync:   {:.1} s",
        first_incremental.unwrap_or_default().as_secs_f64()
    );
    println!(
        "  all in incremental sync:     {:.1} s",
        all_incremental.as_secs_f64()
    );
    println!("  backups the source kept (at most max_backup_restore_job_num_per_db): {backups}");
}
