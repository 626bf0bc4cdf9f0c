//! Scale benchmark (issue 13): the real `ccr_syncer` binary between two simulated clusters
//! in this process, measured at the sizes the issue names. Not a test: it prints figures
//! beside their targets and asserts nothing about them.
//!
//! Parts (each on fresh clusters and a fresh syncer, so one part's jobs never load another):
//! - `idle`: idle table jobs spread over source databases; source FE calls per second per
//!   database, and the syncer's RSS and CPU share over the idle window.
//! - `many`: table jobs created at once on one database; time until all are incremental.
//! - `burst`: one table job (3 buckets) paused while N single-row transactions are written,
//!   then resumed; replicated transactions per second, syncer CPU, FE calls and durable
//!   progress writes per transaction.
//! - `paced`: the same job fed 10 transactions a second; source commit → visible on target
//!   lag p50/p99.
//! - `db`: a database job over many tables and partitions; full sync wall time and the
//!   share of it spent inside cluster calls.
//!
//! FE calls are counted by the simulator itself (`doris_sim::call_counts`) and read in this
//! process; the bench's own setup happens before each window and is subtracted, and its
//! polling reads the catalogs directly, so no call it makes is counted.
//!
//! Run with `scripts/bench_scale.sh [flags]` (`--help` lists them; the defaults are the
//! issue's full sizes).

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use doris_sim::call_counts::CallCounts;
use doris_sim::launch::{launch, SimConfig, SimDoris};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, Executor, MySqlConnection};
use tokio::task::JoinSet;

#[derive(Debug, Parser)]
#[command(about = "Scale figures of ccr_syncer against two simulated clusters (issue 13)")]
struct Args {
    /// Parts to run, comma-separated: idle, many, burst, paced, db.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "idle,many,burst,paced,db"
    )]
    only: Vec<Part>,
    /// idle: table jobs in total.
    #[arg(long, default_value_t = 1_000)]
    idle_jobs: usize,
    /// idle: source databases the jobs are spread over.
    #[arg(long, default_value_t = 10)]
    idle_dbs: usize,
    /// idle: length of the measured idle window, seconds.
    #[arg(long, default_value_t = 60)]
    idle_secs: u64,
    /// many: table jobs created at once on one database.
    #[arg(long, default_value_t = 100)]
    many_jobs: usize,
    /// burst: single-row transactions written while the job is paused.
    #[arg(long, default_value_t = 1_000)]
    burst: usize,
    /// paced: transactions of the paced stream.
    #[arg(long, default_value_t = 300)]
    paced: usize,
    /// paced: transactions per second.
    #[arg(long, default_value_t = 10)]
    paced_rate: u64,
    /// db: tables of the database job.
    #[arg(long, default_value_t = 1_000)]
    db_tables: usize,
    /// db: partitions over all its tables (a tenth of the tables are range-partitioned and
    /// hold all partitions but one per other table).
    #[arg(long, default_value_t = 10_000)]
    db_partitions: usize,
    /// How long any part waits for jobs to reach incremental sync or to catch up, seconds.
    #[arg(long, default_value_t = 900)]
    deadline_secs: u64,
    /// POST /create_ccr calls in flight at once.
    #[arg(long, default_value_t = 16)]
    create_parallelism: usize,
    /// BEs per simulated cluster.
    #[arg(long, default_value_t = 3)]
    backends: usize,
    /// Passed by `cargo bench` to harness-less benches; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Idle,
    Many,
    Burst,
    Paced,
    Db,
}

/// One line of the closing table.
struct Figure {
    name: String,
    value: String,
    target: &'static str,
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
}

impl Report {
    fn add(&mut self, name: impl Into<String>, value: impl Into<String>, target: &'static str) {
        let figure = Figure {
            name: name.into(),
            value: value.into(),
            target,
        };
        println!("  {}: {}", figure.name, figure.value);
        self.figures.push(figure);
    }

    fn print(&self) {
        let width = |f: fn(&Figure) -> usize| self.figures.iter().map(f).max().unwrap_or(0);
        let (name_w, value_w) = (
            width(|f| f.name.len()).max(6),
            width(|f| f.value.len()).max(8),
        );
        println!();
        println!("{:name_w$}  {:value_w$}  target", "figure", "measured");
        println!("{}", "-".repeat(name_w + value_w + 12));
        for f in &self.figures {
            println!("{:name_w$}  {:value_w$}  {}", f.name, f.value, f.target);
        }
    }
}

// ---------------------------------------------------------------- clusters

struct Clusters {
    src: SimDoris,
    dest: SimDoris,
}

impl Clusters {
    async fn start(backends: usize) -> Clusters {
        let mut config = SimConfig::default();
        config.cluster.query_port = 0;
        config.cluster.rpc_port = 0;
        config.cluster.http_port = 0;
        config.cluster.backends = backends;
        Clusters {
            src: launch(config.clone()).await.expect("source cluster"),
            dest: launch(config).await.expect("target cluster"),
        }
    }

    /// Calls both clusters have answered so far.
    fn calls(&self) -> (CallCounts, CallCounts) {
        (
            self.src.catalog.calls().snapshot(),
            self.dest.catalog.calls().snapshot(),
        )
    }

    async fn stop(self) {
        self.src.stop().await;
        self.dest.stop().await;
    }
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

/// Creates and fills the source's tables before anything is measured, saying how long it
/// took.
async fn load_source(clusters: &Clusters, statements: &[String]) {
    let started = Instant::now();
    run_batched(&mut connect(&clusters.src).await, statements).await;
    println!(
        "  source loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Runs `statements` in batches of `;`-joined queries (fewer round trips while loading).
async fn run_batched(conn: &mut MySqlConnection, statements: &[String]) {
    for chunk in statements.chunks(50) {
        conn.execute(chunk.join(";\n").as_str())
            .await
            .unwrap_or_else(|e| panic!("setup SQL failed: {e}\n{}", chunk[0]));
    }
}

fn create_db_sql(db: &str) -> String {
    format!("CREATE DATABASE {db} PROPERTIES (\"binlog.enable\" = \"true\")")
}

/// A small table with binlog on: `buckets` buckets, one replica.
fn create_table_sql(db: &str, table: &str, buckets: u32) -> String {
    format!(
        "CREATE TABLE {db}.{table} (id BIGINT, v BIGINT) DUPLICATE KEY(id) \
         DISTRIBUTED BY HASH(id) BUCKETS {buckets} \
         PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")"
    )
}

/// Visible rows of `db.table` read from the catalog directly (not a counted call). The
/// bench's tables are duplicate-key without deletes, so this is the sum of the stored rows
/// (a query's merge would cost the simulator more than the bench should).
fn visible_rows(cluster: &SimDoris, db: &str, table: &str) -> usize {
    stored_rows(&cluster.catalog.read(), db, table)
}

fn stored_rows(state: &doris_sim::catalog::CatalogState, db: &str, table: &str) -> usize {
    state
        .db(db)
        .and_then(|d| d.table(table))
        .and_then(|t| t.olap())
        .map_or(0, |olap| {
            olap.visible_partitions()
                .iter()
                .map(|p| p.row_count())
                .sum()
        })
}

/// The commit seq of the newest binlog of `db.table` on the source.
fn last_commit_seq(cluster: &SimDoris, db: &str, table: &str) -> i64 {
    let state = cluster.catalog.read();
    let db = state.db(db).expect("source database");
    let table_id = db.table(table).expect("source table").id;
    state
        .binlog
        .lag(db.id, Some(table_id), 0)
        .expect("binlog stream of the table")
        .last_commit_seq
}

// ---------------------------------------------------------------- the syncer

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Syncer {
    child: Child,
    port: u16,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// CPU time and resident memory of a process, from /proc.
#[derive(Debug, Clone, Copy)]
struct ProcSample {
    cpu: Duration,
    rss_kib: u64,
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// CPU time and RSS of process `pid` (`self` for this one, i.e. the simulators).
fn proc_sample(pid: &str) -> ProcSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process stat");
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat has a command")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ProcSample {
        cpu: Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second() as f64),
        rss_kib,
    }
}

impl Syncer {
    async fn start() -> Syncer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(ccr_tests::binary("ccr_syncer"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--log_level", "warn"])
            .args(["--db_dir", dir.path().join("ccr.db").to_str().unwrap()])
            .args(["--log_dir", dir.path().to_str().unwrap()])
            .stdin(Stdio::null())
            .spawn()
            .expect("start ccr_syncer");
        let syncer = Syncer {
            child,
            port,
            http: reqwest::Client::new(),
            _dir: dir,
        };
        let started = Instant::now();
        while syncer
            .http
            .get(syncer.url("/version"))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "syncer did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        syncer
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        post(&self.http, &self.url(path), body).await
    }

    async fn metrics(&self) -> BTreeMap<String, f64> {
        let text = self
            .http
            .get(self.url("/metrics"))
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

    fn sample(&self) -> ProcSample {
        proc_sample(&self.child.id().to_string())
    }

    /// Phase of every job, from one `/view?format=json` (the syncer's own status, no
    /// cluster call): job name → `progress_state/sub_state`.
    async fn phases(&self) -> BTreeMap<String, String> {
        let view: serde_json::Value = self
            .http
            .get(self.url("/view?format=json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        view["jobs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|job| {
                (
                    job["name"].as_str().unwrap_or_default().to_owned(),
                    job["phase"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Waits until every job in `names` shows `phase` (a `progress_state`), or the
    /// deadline passes; returns how many got there and when the last one did.
    async fn wait_for_phase(
        &self,
        names: &[String],
        phase: &str,
        since: Instant,
        deadline: Duration,
    ) -> Reached {
        let prefix = format!("{phase}/");
        loop {
            let phases = self.phases().await;
            let reached = names
                .iter()
                .filter(|n| phases.get(*n).is_some_and(|p| p.starts_with(&prefix)))
                .count();
            if reached == names.len() {
                return Reached::All(since.elapsed());
            }
            if since.elapsed() > deadline {
                return Reached::Partly {
                    reached,
                    of: names.len(),
                    after: since.elapsed(),
                };
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

async fn post(http: &reqwest::Client, url: &str, body: serde_json::Value) -> serde_json::Value {
    http.post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

enum Reached {
    All(Duration),
    Partly {
        reached: usize,
        of: usize,
        after: Duration,
    },
}

impl Reached {
    fn describe(&self) -> String {
        match self {
            Reached::All(after) => format!("{:.1} s", after.as_secs_f64()),
            Reached::Partly { reached, of, after } => format!(
                "not reached after {:.0} s ({reached} of {of})",
                after.as_secs_f64()
            ),
        }
    }

    fn all(&self) -> bool {
        matches!(self, Reached::All(_))
    }
}

fn cluster_spec(cluster: &SimDoris, db: &str, table: &str) -> serde_json::Value {
    serde_json::json!({"host": "127.0.0.1", "port": cluster.topology().fe.query_port,
        "thrift_port": cluster.topology().fe.rpc_port, "user": "root", "password": "",
        "database": db, "table": table})
}

/// One `/create_ccr` body: job `name` replicating `db.table` (a database job when `table`
/// is empty) to the same names on the target.
fn job_body(clusters: &Clusters, name: &str, db: &str, table: &str) -> serde_json::Value {
    serde_json::json!({"name": name, "src": cluster_spec(&clusters.src, db, table),
        "dest": cluster_spec(&clusters.dest, db, table)})
}

/// Creates the table jobs of `bodies` (named `names`) at once and waits until all are in
/// incremental sync, timed from the first creation.
async fn create_until_incremental(
    syncer: &Syncer,
    names: &[String],
    bodies: Vec<serde_json::Value>,
    args: &Args,
) -> Reached {
    let created = Instant::now();
    create_jobs(syncer, bodies, args.create_parallelism).await;
    println!(
        "  {} jobs created in {:.1} s",
        names.len(),
        created.elapsed().as_secs_f64()
    );
    syncer
        .wait_for_phase(
            names,
            "TableIncrementalSync",
            created,
            Duration::from_secs(args.deadline_secs),
        )
        .await
}

/// POSTs every body to /create_ccr, `parallelism` at a time; panics on a refusal.
async fn create_jobs(syncer: &Syncer, bodies: Vec<serde_json::Value>, parallelism: usize) {
    let limit = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut calls = JoinSet::new();
    for body in bodies {
        let permit = Arc::clone(&limit).acquire_owned().await.unwrap();
        let (http, url) = (syncer.http.clone(), syncer.url("/create_ccr"));
        calls.spawn(async move {
            let answer = post(&http, &url, body.clone()).await;
            drop(permit);
            assert_eq!(answer["success"], true, "create_ccr {body}: {answer}");
        });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("create_ccr task");
    }
}

/// Sum of a metric over all its label sets.
fn metric_sum(metrics: &BTreeMap<String, f64>, name: &str) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| *k == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

fn metric_delta(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>, name: &str) -> f64 {
    metric_sum(b, name) - metric_sum(a, name)
}

// ---------------------------------------------------------------- call classes

/// FE methods that move data (the rest are metadata: getMeta, getBackendMeta, getBinlog,
/// getBinlogLag, getMasterToken, snapshots, and every SQL statement).
const TXN_METHODS: [&str; 3] = ["beginTxn", "commitTxn", "rollbackTxn"];

struct CallSplit {
    metadata: u64,
    transaction: u64,
}

fn split_calls(calls: &CallCounts) -> CallSplit {
    let transaction: u64 = TXN_METHODS.iter().map(|m| calls.fe_method(m)).sum();
    CallSplit {
        metadata: calls.fe_total() - transaction + calls.sql_total(),
        transaction,
    }
}

/// `method=count` per FE method and SQL kind, for the detail lines.
fn describe_calls(calls: &CallCounts) -> String {
    let mut by_method: BTreeMap<String, u64> = BTreeMap::new();
    for row in calls.fe.values() {
        for (method, n) in row {
            *by_method.entry((*method).to_owned()).or_default() += n;
        }
    }
    for (kind, n) in &calls.sql {
        *by_method.entry(format!("SQL {kind}")).or_default() += n;
    }
    for (call, n) in &calls.be {
        *by_method.entry(format!("BE {call}")).or_default() += n;
    }
    if by_method.is_empty() {
        return "none".to_owned();
    }
    by_method
        .iter()
        .map(|(m, n)| format!("{m}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------- parts

async fn idle_part(args: &Args, report: &mut Report) {
    let dbs = args.idle_dbs.max(1);
    println!(
        "idle: {} table jobs over {dbs} source databases, {} s window",
        args.idle_jobs, args.idle_secs
    );
    let clusters = Clusters::start(args.backends).await;
    let db_name = |d: usize| format!("idle_{d:02}");
    let mut statements: Vec<String> = (0..dbs).map(|d| create_db_sql(&db_name(d))).collect();
    let jobs: Vec<(String, String, String)> = (0..args.idle_jobs)
        .map(|j| {
            let db = db_name(j % dbs);
            let table = format!("t{j:04}");
            (format!("idle_{j:04}"), db, table)
        })
        .collect();
    for (_, db, table) in &jobs {
        statements.push(create_table_sql(db, table, 1));
        statements.push(format!("INSERT INTO {db}.{table} VALUES (1, 1), (2, 2)"));
    }
    load_source(&clusters, &statements).await;
    let syncer = Syncer::start().await;
    let bodies = jobs
        .iter()
        .map(|(name, db, table)| job_body(&clusters, name, db, table))
        .collect();
    let names: Vec<String> = jobs.iter().map(|(n, ..)| n.clone()).collect();
    let reached = create_until_incremental(&syncer, &names, bodies, args).await;
    println!("  all jobs incremental: {}", reached.describe());
    // Let the jobs' pollers settle into their idle rhythm before the window.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let (src_before, _) = clusters.calls();
    let proc_before = syncer.sample();
    let window_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let window = window_started.elapsed().as_secs_f64();
    let proc_after = syncer.sample();
    let (src_after, _) = clusters.calls();
    let calls = src_after.since(&src_before);

    let per_db: Vec<f64> = (0..dbs)
        .map(|d| calls.fe_db(&db_name(d)) as f64 / window)
        .collect();
    let total = (calls.fe_total() + calls.sql_total()) as f64 / window;
    let max_db = per_db.iter().copied().fold(0.0, f64::max);
    println!("  source calls in the window: {}", describe_calls(&calls));
    let note = if reached.all() {
        String::new()
    } else {
        format!(" ({})", reached.describe())
    };
    report.add(
        format!(
            "idle: source FE calls/s per database ({} jobs, {dbs} dbs)",
            args.idle_jobs
        ),
        format!(
            "{:.2} (all calls / dbs; busiest db {max_db:.2}){note}",
            total / dbs as f64
        ),
        "<= 1",
    );
    report.add(
        "idle: source FE calls/s per job",
        format!("{:.3}", total / args.idle_jobs.max(1) as f64),
        "(before the watcher: ~1.1)",
    );
    report.add(
        "idle: syncer RSS",
        format!("{:.1} MiB", proc_after.rss_kib as f64 / 1024.0),
        "<= 200 MiB",
    );
    report.add(
        "idle: syncer CPU",
        format!(
            "{:.2}% of a core",
            100.0 * (proc_after.cpu - proc_before.cpu).as_secs_f64() / window
        ),
        "<= 5%",
    );
    drop(syncer);
    clusters.stop().await;
}

async fn many_part(args: &Args, report: &mut Report) {
    let n = args.many_jobs;
    println!("many: {n} table jobs created at once on one source database");
    let clusters = Clusters::start(args.backends).await;
    let db = "many_db";
    let mut statements = vec![create_db_sql(db)];
    for t in 0..n {
        statements.push(create_table_sql(db, &format!("t{t:04}"), 1));
        statements.push(format!("INSERT INTO {db}.t{t:04} VALUES (1, 1), (2, 2)"));
    }
    run_batched(&mut connect(&clusters.src).await, &statements).await;
    let syncer = Syncer::start().await;
    let names: Vec<String> = (0..n).map(|t| format!("many_{t:04}")).collect();
    let bodies = (0..n)
        .map(|t| job_body(&clusters, &names[t], db, &format!("t{t:04}")))
        .collect();
    let reached = create_until_incremental(&syncer, &names, bodies, args).await;
    report.add(
        format!("many: {n} jobs on one db created -> all incremental"),
        reached.describe(),
        "<= 60 s",
    );
    drop(syncer);
    clusters.stop().await;
}

const TABLE_DB: &str = "burst_db";
const TABLE: &str = "t";
const TABLE_JOB: &str = "burst";

/// One table job (3 buckets) in incremental sync, for the burst and paced parts.
async fn table_job(args: &Args) -> (Clusters, Syncer, MySqlConnection) {
    let clusters = Clusters::start(args.backends).await;
    let mut writer = connect(&clusters.src).await;
    run_batched(
        &mut writer,
        &[
            create_db_sql(TABLE_DB),
            create_table_sql(TABLE_DB, TABLE, 3),
        ],
    )
    .await;
    let syncer = Syncer::start().await;
    create_jobs(
        &syncer,
        vec![job_body(&clusters, TABLE_JOB, TABLE_DB, TABLE)],
        1,
    )
    .await;
    let reached = syncer
        .wait_for_phase(
            &[TABLE_JOB.to_owned()],
            "TableIncrementalSync",
            Instant::now(),
            Duration::from_secs(args.deadline_secs),
        )
        .await;
    assert!(
        reached.all(),
        "the table job's full sync did not finish: {}",
        reached.describe()
    );
    (clusters, syncer, writer)
}

/// Waits until the target holds `rows` rows of the table; false after the deadline.
async fn wait_rows(clusters: &Clusters, rows: usize, deadline: Duration) -> bool {
    let started = Instant::now();
    while visible_rows(&clusters.dest, TABLE_DB, TABLE) < rows {
        if started.elapsed() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    true
}

async fn burst_part(
    args: &Args,
    report: &mut Report,
    clusters: &Clusters,
    syncer: &Syncer,
    writer: &mut MySqlConnection,
    next_id: &mut usize,
) {
    let n = args.burst;
    println!("burst: {n} single-row transactions on one table job (3 buckets)");
    let paused = syncer
        .post("/pause", serde_json::json!({"name": TABLE_JOB}))
        .await;
    assert_eq!(paused["success"], true, "{paused}");
    let written = Instant::now();
    for _ in 0..n {
        *next_id += 1;
        writer
            .execute(format!("INSERT INTO {TABLE_DB}.{TABLE} VALUES ({0}, {0})", *next_id).as_str())
            .await
            .expect("insert");
    }
    let write_secs = written.elapsed().as_secs_f64();
    println!(
        "  written in {write_secs:.2} s ({:.0} txn/s on the source)",
        n as f64 / write_secs
    );
    let last_seq = last_commit_seq(&clusters.src, TABLE_DB, TABLE);
    let rows = visible_rows(&clusters.src, TABLE_DB, TABLE);

    let (src_before, dest_before) = clusters.calls();
    let metrics_before = syncer.metrics().await;
    let proc_before = syncer.sample();
    let sims_before = proc_sample("self");
    let started = Instant::now();
    let resumed = syncer
        .post("/resume", serde_json::json!({"name": TABLE_JOB}))
        .await;
    assert_eq!(resumed["success"], true, "{resumed}");
    let deadline = Duration::from_secs(args.deadline_secs);
    let mut caught_up = wait_rows(clusters, rows, deadline).await;
    // The rows are there; the job's own cursor (its durable progress) must be too.
    while caught_up {
        let status = syncer
            .post("/job_status", serde_json::json!({"name": TABLE_JOB}))
            .await;
        if status["status"]["prev_commit_seq"].as_i64().unwrap_or(0) >= last_seq {
            break;
        }
        if started.elapsed() > deadline {
            caught_up = false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let proc_after = syncer.sample();
    let sims_after = proc_sample("self");
    let metrics_after = syncer.metrics().await;
    let (src_after, dest_after) = clusters.calls();
    if !caught_up {
        report.add(
            format!("burst: throughput ({n} txns)"),
            format!(
                "not reached after {wall:.0} s ({} of {rows} rows)",
                visible_rows(&clusters.dest, TABLE_DB, TABLE)
            ),
            ">= 1000 txn/s",
        );
        return;
    }
    let src = src_after.since(&src_before);
    let dest = dest_after.since(&dest_before);
    println!("  source calls: {}", describe_calls(&src));
    println!("  target calls: {}", describe_calls(&dest));
    let (s, d) = (split_calls(&src), split_calls(&dest));
    let per_txn = |x: f64| x / n as f64;
    report.add(
        format!("burst: throughput ({n} txns)"),
        format!("{:.0} txn/s ({wall:.2} s)", n as f64 / wall),
        ">= 1000 txn/s",
    );
    report.add(
        "burst: syncer CPU per txn",
        format!(
            "{:.3} ms",
            per_txn((proc_after.cpu - proc_before.cpu).as_secs_f64() * 1e3)
        ),
        "<= 0.5 ms",
    );
    report.add(
        "burst: simulators' CPU per txn (both clusters)",
        format!(
            "{:.3} ms",
            per_txn((sims_after.cpu - sims_before.cpu).as_secs_f64() * 1e3)
        ),
        "(informative)",
    );
    report.add(
        "burst: FE metadata calls per txn (src+dest)",
        format!(
            "{:.3} (src {:.3}, dest {:.3})",
            per_txn((s.metadata + d.metadata) as f64),
            per_txn(s.metadata as f64),
            per_txn(d.metadata as f64)
        ),
        "<= 0.05",
    );
    report.add(
        "burst: FE transaction calls per txn (src+dest)",
        format!("{:.3}", per_txn((s.transaction + d.transaction) as f64)),
        "(begin+commit: 2)",
    );
    let cluster_secs = metric_delta(
        &metrics_before,
        &metrics_after,
        "ccr_syncer_job_source_call_seconds_total",
    ) + metric_delta(
        &metrics_before,
        &metrics_after,
        "ccr_syncer_job_target_call_seconds_total",
    );
    report.add(
        "burst: durable progress writes per txn",
        format!(
            "{:.3}",
            per_txn(metric_delta(
                &metrics_before,
                &metrics_after,
                "ccr_syncer_job_metadata_writes_total"
            ))
        ),
        "<= 0.05",
    );
    report.add(
        "burst: time inside cluster calls",
        format!("{:.0}% of wall time", 100.0 * cluster_secs / wall),
        "(informative)",
    );
}

async fn paced_part(
    args: &Args,
    report: &mut Report,
    clusters: &Clusters,
    writer: &mut MySqlConnection,
    next_id: &mut usize,
) {
    let n = args.paced;
    let rate = args.paced_rate.max(1);
    println!("paced: {n} transactions at {rate}/s");
    let base_rows = visible_rows(&clusters.src, TABLE_DB, TABLE);
    assert!(
        wait_rows(clusters, base_rows, Duration::from_secs(args.deadline_secs)).await,
        "the target did not catch up before the paced stream"
    );
    // A poller notes when each row count is first seen on the target.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen: Arc<parking_lot::Mutex<Vec<Instant>>> = Arc::default();
    let poller = {
        let (stop, seen) = (Arc::clone(&stop), Arc::clone(&seen));
        let dest = clusters.dest.catalog.clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let rows = stored_rows(&dest.read(), TABLE_DB, TABLE);
                let now = Instant::now();
                {
                    let mut seen = seen.lock();
                    while base_rows + seen.len() < rows {
                        seen.push(now);
                    }
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let started = Instant::now();
    let mut committed = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until((started + interval * i as u32).into()).await;
        *next_id += 1;
        writer
            .execute(format!("INSERT INTO {TABLE_DB}.{TABLE} VALUES ({0}, {0})", *next_id).as_str())
            .await
            .expect("insert");
        committed.push(Instant::now());
    }
    let caught_up = wait_rows(
        clusters,
        base_rows + n,
        Duration::from_secs(args.deadline_secs),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = poller.await;
    let seen = seen.lock();
    let mut lags: Vec<Duration> = committed
        .iter()
        .zip(seen.iter())
        .map(|(at, visible)| visible.saturating_duration_since(*at))
        .collect();
    lags.sort();
    let percentile = |p: f64| {
        lags.get(((lags.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let note = if caught_up {
        String::new()
    } else {
        format!(" (only {} of {n} arrived)", seen.len())
    };
    report.add(
        format!("paced: lag p50 at {rate} txn/s"),
        format!("{:.1} ms{note}", percentile(0.50)),
        "(before the pipeline: ~50 ms)",
    );
    report.add(
        format!("paced: lag p99 at {rate} txn/s"),
        format!("{:.1} ms (max {:.1} ms)", percentile(0.99), percentile(1.0)),
        "<= 100 ms",
    );
}

async fn db_part(args: &Args, report: &mut Report) {
    let tables = args.db_tables.max(1);
    let partitioned = (tables / 10).max(1);
    let per_table = args
        .db_partitions
        .saturating_sub(tables - partitioned)
        .div_ceil(partitioned)
        .max(1);
    let partitions = partitioned * per_table + (tables - partitioned);
    println!("db: database job over {tables} tables, {partitions} partitions");
    let clusters = Clusters::start(args.backends).await;
    let db = "big_db";
    let mut statements = vec![create_db_sql(db)];
    for t in 0..tables {
        let name = format!("t{t:05}");
        if t < partitioned {
            let ranges: Vec<String> = (0..per_table)
                .map(|p| format!("PARTITION p{p} VALUES LESS THAN (\"{}\")", (p + 1) * 10))
                .collect();
            statements.push(format!(
                "CREATE TABLE {db}.{name} (id BIGINT, v BIGINT) DUPLICATE KEY(id) \
                 PARTITION BY RANGE(id) ({}) DISTRIBUTED BY HASH(id) BUCKETS 1 \
                 PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")",
                ranges.join(", ")
            ));
            let rows: Vec<String> = (0..per_table)
                .map(|p| format!("({}, {p})", p * 10))
                .collect();
            statements.push(format!(
                "INSERT INTO {db}.{name} VALUES {}",
                rows.join(", ")
            ));
        } else {
            statements.push(create_table_sql(db, &name, 1));
            statements.push(format!("INSERT INTO {db}.{name} VALUES (1, 1)"));
        }
    }
    load_source(&clusters, &statements).await;
    let syncer = Syncer::start().await;
    let metrics_before = syncer.metrics().await;
    let proc_before = syncer.sample();
    let sims_before = proc_sample("self");
    let (src_before, dest_before) = clusters.calls();
    let started = Instant::now();
    create_jobs(&syncer, vec![job_body(&clusters, "big", db, "")], 1).await;
    let reached = syncer
        .wait_for_phase(
            &["big".to_owned()],
            "DBIncrementalSync",
            started,
            Duration::from_secs(args.deadline_secs),
        )
        .await;
    let wall = started.elapsed().as_secs_f64();
    let proc_after = syncer.sample();
    let sims_after = proc_sample("self");
    let metrics_after = syncer.metrics().await;
    let (src_after, dest_after) = clusters.calls();
    println!(
        "  source calls: {}",
        describe_calls(&src_after.since(&src_before))
    );
    println!(
        "  target calls: {}",
        describe_calls(&dest_after.since(&dest_before))
    );
    report.add(
        format!("db: {tables}-table, {partitions}-partition job full sync"),
        reached.describe(),
        "(wall time)",
    );
    if reached.all() {
        let inside = metric_delta(
            &metrics_before,
            &metrics_after,
            "ccr_syncer_job_source_call_seconds_total",
        ) + metric_delta(
            &metrics_before,
            &metrics_after,
            "ccr_syncer_job_target_call_seconds_total",
        );
        // Between its calls the job waits for the backup and restore it started to run
        // on the clusters: cluster time too, not the syncer's.
        let waiting = metric_delta(
            &metrics_before,
            &metrics_after,
            "ccr_syncer_job_cluster_wait_seconds_total",
        );
        let cpu = (proc_after.cpu - proc_before.cpu).as_secs_f64();
        report.add(
            "db: syncer's own share of full sync wall time",
            format!(
                "{:.1}% (outside calls {inside:.2} s and waits for backup/restore {waiting:.2} s, of {wall:.2} s)",
                100.0 * (1.0 - (inside + waiting) / wall).max(0.0)
            ),
            "<= 10%",
        );
        // The syncer's CPU time: what it spent working, its waits between polls aside.
        report.add(
            "db: syncer CPU during the full sync",
            format!("{cpu:.2} s ({:.1}% of wall time)", 100.0 * cpu / wall),
            "(informative)",
        );
        let sims_cpu = (sims_after.cpu - sims_before.cpu).as_secs_f64();
        report.add(
            "db: simulators' CPU during the full sync",
            format!(
                "{sims_cpu:.2} s ({:.1}% of wall time)",
                100.0 * sims_cpu / wall
            ),
            "(informative)",
        );
    }
    drop(syncer);
    clusters.stop().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let mut report = Report::default();
    let run = |part| args.only.contains(&part);
    let started = Instant::now();
    if run(Part::Idle) {
        idle_part(&args, &mut report).await;
    }
    if run(Part::Many) {
        many_part(&args, &mut report).await;
    }
    if run(Part::Burst) || run(Part::Paced) {
        let (clusters, syncer, mut writer) = table_job(&args).await;
        let mut next_id = 0;
        if run(Part::Burst) {
            burst_part(
                &args,
                &mut report,
                &clusters,
                &syncer,
                &mut writer,
                &mut next_id,
            )
            .await;
        }
        if run(Part::Paced) {
            paced_part(&args, &mut report, &clusters, &mut writer, &mut next_id).await;
        }
        drop(syncer);
        clusters.stop().await;
    }
    if run(Part::Db) {
        db_part(&args, &mut report).await;
    }
    report.print();
    println!(
        "(two simulated clusters with {} BEs each in this process; {:.0} s in all)",
        args.backends,
        started.elapsed().as_secs_f64()
    );
}
