//! Table-sync benchmark: two simulated clusters in this process, the real `ccr_syncer`
//! binary between them, and a stream of small transactions on the source.
//!
//! Prints replication lag (source commit → visible on the target) at p50/p99 for a paced
//! stream, sustained replicated transactions per second for a burst, durable metadata
//! writes per transaction, and the share of the job's wall time spent waiting for the
//! clusters. Run with `cargo bench --bench table_sync` (or `scripts/bench_table_sync.sh`).
//! Knobs (environment): BENCH_PACED_TXNS (200), BENCH_PACED_RATE (20 per second),
//! BENCH_BURST_TXNS (500).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use doris_sim::launch::{launch, SimConfig, SimDoris};
use parking_lot::Mutex;
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, Executor, MySqlConnection, Row};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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

struct SyncerProcess {
    child: Child,
    port: u16,
    http: reqwest::Client,
}

impl SyncerProcess {
    async fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let url = format!("http://127.0.0.1:{}{path}", self.port);
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn metrics(&self) -> BTreeMap<String, f64> {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        let text = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
            .collect()
    }
}

impl Drop for SyncerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Times at which each id became visible on the target, filled by a poller.
type Visibility = Arc<Mutex<BTreeMap<i64, Instant>>>;

async fn poll_visibility(
    target: MySqlConnection,
    visible: Visibility,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut target = target;
    let mut seen = 0i64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let row = target
            .fetch_one("SELECT count(*) FROM dest_db.t")
            .await
            .expect("poll target");
        let count: i64 = row
            .try_get_unchecked::<String, _>(0)
            .unwrap()
            .parse()
            .unwrap();
        if count > seen {
            let now = Instant::now();
            let mut map = visible.lock();
            for id in seen + 1..=count {
                map.insert(id, now);
            }
            seen = count;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn metric(m: &BTreeMap<String, f64>, name: &str) -> f64 {
    m.get(&format!("{name}{{job=\"bench\"}}"))
        .copied()
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let paced = env_number("BENCH_PACED_TXNS", 200) as i64;
    let rate = env_number("BENCH_PACED_RATE", 20).max(1);
    let burst = env_number("BENCH_BURST_TXNS", 500) as i64;

    let mut config = SimConfig::default();
    config.cluster.query_port = 0;
    config.cluster.rpc_port = 0;
    config.cluster.http_port = 0;
    let src = launch(config.clone()).await.expect("source cluster");
    let dest = launch(config).await.expect("target cluster");
    let mut writer = connect(&src).await;
    writer
        .execute(
            "CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");
             CREATE TABLE src_db.t (id BIGINT, v BIGINT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 4
                 PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")",
        )
        .await
        .expect("source schema");

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new(ccr_tests::binary("ccr_syncer"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log_level",
            "warn",
        ])
        .args(["--db_dir", dir.path().join("ccr.db").to_str().unwrap()])
        .args(["--log_dir", dir.path().to_str().unwrap()])
        .stdin(Stdio::null())
        .spawn()
        .expect("start ccr_syncer");
    let syncer = SyncerProcess {
        child,
        port,
        http: reqwest::Client::new(),
    };
    let started = Instant::now();
    while syncer
        .http
        .get(format!("http://127.0.0.1:{port}/version"))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "syncer did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spec = |cluster: &SimDoris, db: &str| {
        serde_json::json!({"host": "127.0.0.1", "port": cluster.topology().fe.query_port,
            "thrift_port": cluster.topology().fe.rpc_port, "user": "root", "password": "",
            "database": db, "table": "t"})
    };
    let created = syncer
        .post("/create_ccr", serde_json::json!({"name": "bench", "src": spec(&src, "src_db"), "dest": spec(&dest, "dest_db")}))
        .await;
    assert_eq!(created["success"], true, "{created}");
    loop {
        let status = syncer
            .post("/job_status", serde_json::json!({"name": "bench"}))
            .await;
        if status["status"]["progress_state"] == "TableIncrementalSync" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "full sync did not finish: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let visible: Visibility = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = tokio::spawn(poll_visibility(
        connect(&dest).await,
        Arc::clone(&visible),
        Arc::clone(&stop),
    ));

    // Phase 1: a paced stream, for lag.
    let before = syncer.metrics().await;
    let phase_start = Instant::now();
    let mut committed = BTreeMap::new();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    for id in 1..=paced {
        let due = phase_start + interval * (id as u32 - 1);
        tokio::time::sleep_until(due.into()).await;
        writer
            .execute(format!("INSERT INTO src_db.t VALUES ({id}, {id})").as_str())
            .await
            .expect("insert");
        committed.insert(id, Instant::now());
    }
    wait_visible(&visible, paced).await;
    let mut lags: Vec<Duration> = committed
        .iter()
        .map(|(id, at)| visible.lock()[id].saturating_duration_since(*at))
        .collect();
    lags.sort();
    let paced_wall = phase_start.elapsed();
    let after_paced = syncer.metrics().await;

    // Phase 2: a burst, for throughput.
    let burst_start = Instant::now();
    for id in paced + 1..=paced + burst {
        writer
            .execute(format!("INSERT INTO src_db.t VALUES ({id}, {id})").as_str())
            .await
            .expect("insert");
    }
    let written = burst_start.elapsed();
    wait_visible(&visible, paced + burst).await;
    let burst_wall = burst_start.elapsed();
    let after = syncer.metrics().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = poller.await;

    let delta = |name: &str, a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>| {
        metric(b, name) - metric(a, name)
    };
    let binlogs = delta("ccr_syncer_job_binlogs_handled_total", &before, &after);
    let writes = delta("ccr_syncer_job_metadata_writes_total", &before, &after);
    let call_secs = |a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>| {
        delta("ccr_syncer_job_source_call_seconds_total", a, b)
            + delta("ccr_syncer_job_target_call_seconds_total", a, b)
    };
    println!("table sync benchmark (two simulated clusters, one table, 4 buckets, 1 replica)");
    println!("paced stream: {paced} txns at {rate}/s");
    println!(
        "  replication lag p50 {:>8.1} ms",
        percentile(&lags, 0.50).as_secs_f64() * 1e3
    );
    println!(
        "  replication lag p99 {:>8.1} ms",
        percentile(&lags, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "  replication lag max {:>8.1} ms",
        lags.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!(
        "  time waiting for the clusters: {:.0}% of wall time",
        100.0 * call_secs(&before, &after_paced) / paced_wall.as_secs_f64()
    );
    println!(
        "burst: {burst} txns written in {:.2} s ({:.0}/s on the source)",
        written.as_secs_f64(),
        burst as f64 / written.as_secs_f64()
    );
    println!(
        "  replicated in {:.2} s: {:.0} txns/s sustained",
        burst_wall.as_secs_f64(),
        burst as f64 / burst_wall.as_secs_f64()
    );
    println!(
        "  time waiting for the clusters: {:.0}% of wall time",
        100.0 * call_secs(&after_paced, &after) / burst_wall.as_secs_f64()
    );
    println!(
        "durable metadata writes per replicated txn: {:.2} ({writes} writes, {binlogs} binlogs)",
        writes / binlogs.max(1.0)
    );
    drop(syncer);
    src.stop().await;
    dest.stop().await;
}

async fn wait_visible(visible: &Visibility, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while visible.lock().len() < count as usize {
        assert!(Instant::now() < deadline, "target did not catch up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
