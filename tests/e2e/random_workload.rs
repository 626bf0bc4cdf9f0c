//! Seeded randomized differential test of replication.
//!
//! A generator (`model.rs`) keeps a model of the source schema and produces random valid
//! interleavings of the supported operations (DDL of tables, views, partitions, columns,
//! rollups, comments, properties; loads, deletes, updates, overwrites, truncates). They are
//! issued back to back on one source connection, while a table or database job replicates
//! them (optionally with `kill -9` of the syncer at random points). Then the test waits
//! until the job has no lag and no error and the target equals the source: tables and
//! views, `SHOW CREATE TABLE`, columns of every index, partitions, comments and all rows.
//!
//! Every run writes its operations log (JSON lines) under `target/tmp/random_workload/`;
//! `scripts/soak.sh --replay FILE` reruns exactly the same statements. CI runs the seeds
//! of the `ci_*` tests; `scripts/soak.sh` runs many more through the ignored `soak` test.
//!
//! Environment (soak and replay): `RW_SEEDS`, `RW_START`, `RW_KIND` (table|db|both),
//! `RW_KILL` (0|1), `RW_REPLAY` (a log file), `RW_TIMEOUT_SECS` (default 90),
//! `RW_STABLE_SECS` (fail early once caught up but still different for that long; 0 = off).
//! `tests/e2e/random_workload/repros/*.jsonl` are hand-shrunk logs of divergences found so far
//! (`scripts/soak.sh --replay FILE`). `RW_KNOWN` (comma-separated known divergences to mask for triage: `olap_comment`).

use crate::support;
mod model;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use model::{q, Gen, DB};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{Connection, Executor, Row};
use support::{Syncer, TestCluster};

const DEST_DB: &str = "dest_db";
const JOB: &str = "rw";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Table,
    Db,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Db => "db",
        }
    }
    fn parse(s: &str) -> Kind {
        match s {
            "table" => Kind::Table,
            "db" => Kind::Db,
            other => panic!("unknown job kind {other}"),
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn log_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("random_workload");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// ---- a MySQL-protocol client (one connection, text protocol) ----

struct Client {
    rt: tokio::runtime::Runtime,
    conn: MySqlConnection,
}

impl Client {
    fn connect(port: u16) -> Client {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let options = MySqlConnectOptions::new()
            .host("127.0.0.1")
            .port(port)
            .username("root")
            .pipes_as_concat(false)
            .no_engine_substitution(false)
            .timezone(None)
            .set_names(false)
            .statement_cache_capacity(0);
        let conn = rt
            .block_on(MySqlConnection::connect_with(&options))
            .expect("connect to the simulated FE");
        Client { rt, conn }
    }

    fn exec(&mut self, sql: &str) -> Result<(), String> {
        self.rt
            .block_on(self.conn.execute(sql))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        let rows = self
            .rt
            .block_on(self.conn.fetch_all(sql))
            .map_err(|e| e.to_string())?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get_unchecked::<Option<String>, _>(i)
                            .map(|v| v.unwrap_or_else(|| "NULL".into()))
                            .map_err(|e| e.to_string())
                    })
                    .collect()
            })
            .collect()
    }
}

// ---- the snapshot compared ----

/// Whether known divergence `name` is masked (`RW_KNOWN=a,b`): for triage of the other
/// failures only; CI masks nothing.
fn known(name: &str) -> bool {
    std::env::var("RW_KNOWN")
        .map(|v| v.split(',').any(|k| k.trim() == name))
        .unwrap_or(false)
}

type Snapshot = BTreeMap<String, String>;

fn neutral(text: &str) -> String {
    text.replace(&format!("`{DB}`"), "`<db>`")
        .replace(&format!("`{DEST_DB}`"), "`<db>`")
        .replace(DB, "<db>")
        .replace(DEST_DB, "<db>")
}

fn rows_text(result: Result<Vec<Vec<String>>, String>, sort: bool) -> String {
    match result {
        Ok(rows) => {
            let mut lines: Vec<String> = rows.iter().map(|r| r.join("\t")).collect();
            if sort {
                lines.sort();
            }
            neutral(&lines.join("\n"))
        }
        Err(e) => format!("<failed: {}>", neutral(&e)),
    }
}

/// Everything compared of database `db` (only `table` for a table job).
fn snapshot(client: &mut Client, db: &str, table: Option<&str>) -> Snapshot {
    let mut snap = Snapshot::new();
    let names: Vec<String> = match client.query(&format!("SHOW TABLES FROM {}", q(db))) {
        Ok(rows) => rows.into_iter().map(|r| r[0].clone()).collect(),
        Err(e) => {
            snap.insert("/tables".into(), format!("<failed: {}>", neutral(&e)));
            return snap;
        }
    };
    let mut names: Vec<String> = names
        .into_iter()
        .filter(|n| table.is_none_or(|t| t == n))
        .collect();
    names.sort();
    snap.insert("/tables".into(), names.join("\n"));
    let only = table
        .map(|t| format!(" AND TABLE_NAME = '{}'", t.replace('\'', "''")))
        .unwrap_or_default();
    let info = client
        .query(&format!(
            "SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT FROM information_schema.tables \
             WHERE TABLE_SCHEMA = '{db}'{only}"
        ))
        .map(|rows| {
            rows.into_iter()
                .map(|mut r| {
                    if known("olap_comment") && r.get(2).is_some_and(|c| c == "OLAP") {
                        r[2] = String::new();
                    }
                    r
                })
                .collect()
        });
    snap.insert("/information_schema".into(), rows_text(info, true));
    for name in &names {
        let qn = format!("{}.{}", q(db), q(name));
        let create = match client.query(&format!("SHOW CREATE TABLE {qn}")) {
            Ok(rows) => rows
                .first()
                .and_then(|r| r.get(1))
                .map(|text| {
                    neutral(text)
                        .lines()
                        .filter(|l| !l.contains("is_being_synced"))
                        .map(|l| l.trim_end_matches(','))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default(),
            Err(e) => format!("<failed: {}>", neutral(&e)),
        };
        let is_view = create.contains("CREATE VIEW");
        snap.insert(format!("{name}/create"), create);
        if !is_view {
            snap.insert(
                format!("{name}/columns"),
                rows_text(client.query(&format!("DESC {qn} ALL")), false),
            );
            let partitions = client
                .query(&format!("SHOW PARTITIONS FROM {qn}"))
                .map(|rows| {
                    rows.into_iter()
                        .map(|r| {
                            // PartitionName, PartitionKey, Range, DistributionKey, Buckets.
                            [1, 5, 6, 7, 8]
                                .iter()
                                .map(|&i| r.get(i).cloned().unwrap_or_default())
                                .collect()
                        })
                        .collect()
                });
            snap.insert(format!("{name}/partitions"), rows_text(partitions, true));
        }
        snap.insert(
            format!("{name}/rows"),
            rows_text(client.query(&format!("SELECT * FROM {qn}")), true),
        );
    }
    snap
}

fn diff(want: &Snapshot, got: &Snapshot) -> String {
    let mut out = String::new();
    let keys: std::collections::BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for key in keys {
        let (a, b) = (want.get(key), got.get(key));
        if a != b {
            out.push_str(&format!(
                "--- {key}\n  source: {}\n  target: {}\n",
                a.map(|s| s.replace('\n', "\n          "))
                    .unwrap_or("<absent>".into()),
                b.map(|s| s.replace('\n', "\n          "))
                    .unwrap_or("<absent>".into()),
            ));
        }
    }
    out
}

// ---- one run ----

/// Two clusters, the syncer, the source connection and the operations log of one run.
struct Run {
    src: TestCluster,
    dest: TestCluster,
    syncer: Syncer,
    src_conn: Client,
    _dir: tempfile::TempDir,
    kind: Kind,
    table: Option<String>,
    log_path: PathBuf,
    log: std::fs::File,
    lines: Vec<String>,
}

impl Run {
    fn start(kind: Kind, log_path: PathBuf, header: Value) -> Run {
        let src = TestCluster::start();
        let dest = TestCluster::start();
        let dir = tempfile::tempdir().unwrap();
        let syncer = Syncer::start_replicating(dir.path(), &[]);
        let src_conn = Client::connect(src.query_port());
        let log = std::fs::File::create(&log_path).expect("create the operations log");
        let mut run = Run {
            src,
            dest,
            syncer,
            src_conn,
            _dir: dir,
            kind,
            table: None,
            log_path,
            log,
            lines: Vec::new(),
        };
        run.record(header);
        run
    }

    fn record(&mut self, line: Value) {
        let text = line.to_string();
        writeln!(self.log, "{text}").unwrap();
        self.log.flush().unwrap();
        self.lines.push(text);
    }

    fn exec(&mut self, sql: &str) -> Result<(), String> {
        self.src_conn.exec(sql)
    }

    fn record_batch(&mut self, phase: &str, stmts: Vec<(String, Result<(), String>)>) {
        let stmts: Vec<Value> = stmts
            .into_iter()
            .map(|(sql, r)| match r {
                Ok(()) => json!({"sql": sql, "ok": true}),
                Err(e) => json!({"sql": sql, "ok": false, "error": e}),
            })
            .collect();
        self.record(json!({"event": "batch", "phase": phase, "stmts": stmts}));
    }

    fn create_job(&mut self, table: Option<String>) {
        self.record(json!({"event": "create_job", "table": table}));
        let t = table.clone().unwrap_or_default();
        let body =
            json!({"name": JOB, "src": self.src.spec(DB, &t), "dest": self.dest.spec(DEST_DB, &t)});
        self.syncer.create_ccr(&body);
        self.table = table;
    }

    fn kill(&mut self) {
        self.record(json!({"event": "kill"}));
        self.syncer.kill();
    }

    fn restart(&mut self) {
        self.record(json!({"event": "restart"}));
        self.syncer.restart();
    }

    /// Waits until the job is caught up without error and the target equals the source.
    fn converge(&mut self, what: &str) -> Result<(), String> {
        self.record(json!({"event": "converge", "what": what}));
        let timeout = Duration::from_secs(env_u64("RW_TIMEOUT_SECS", 90));
        let stable = env_u64("RW_STABLE_SECS", 0);
        let started = Instant::now();
        let mut dest_conn = Client::connect(self.dest.query_port());
        let mut check_conn = Client::connect(self.src.query_port());
        let mut last: Option<(String, Instant)> = None;
        loop {
            let lag = self.syncer.get_lag(JOB);
            let status = self.syncer.job_status(JOB);
            let caught_up = lag["lag"] == 0 && status.get("last_error").is_none();
            let want = snapshot(&mut check_conn, DB, self.table.as_deref());
            let got = snapshot(&mut dest_conn, DEST_DB, self.table.as_deref());
            if caught_up && want == got {
                return Ok(());
            }
            let d = diff(&want, &got);
            let report = || {
                format!(
                    "{what}: the target did not converge after {:?}\nstatus: {status}\nlag: {lag}\ndiff (source vs target):\n{d}",
                    started.elapsed()
                )
            };
            if started.elapsed() > timeout {
                return Err(report());
            }
            // Early failure (soak): caught up but different, or stuck on the same error at
            // the same commit seq, with nothing changing for `stable` seconds.
            let stuck = status.get("last_error").is_some();
            if stable > 0 && (caught_up || stuck) {
                let state = format!(
                    "{d}\n{}\n{}",
                    // Retries name new labels: digits do not count as a change.
                    status["last_error"]
                        .to_string()
                        .replace(|c: char| c.is_ascii_digit(), ""),
                    status["prev_commit_seq"]
                );
                match &last {
                    Some((prev, since)) if *prev == state => {
                        if since.elapsed() > Duration::from_secs(stable) {
                            let how = if caught_up { "caught up" } else { "stuck" };
                            return Err(format!("({how}, unchanged for {stable}s) {}", report()));
                        }
                    }
                    _ => last = Some((state, Instant::now())),
                }
            } else {
                last = None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn failure(&self, seed: Option<u64>, reason: &str) -> String {
        // The syncer's own log, on request (it is long): `RW_SYNCER_LOG=1`.
        let syncer_log = if env_u64("RW_SYNCER_LOG", 0) == 1 {
            format!("\n---- syncer log ----\n{}", self.syncer.log())
        } else {
            String::new()
        };
        format!(
            "random workload FAILED (seed {}, {} job)\noperations log: {}\n---- operations ----\n{}\n---- {reason}{syncer_log}",
            seed.map(|s| s.to_string()).unwrap_or_else(|| "replay".into()),
            self.kind.name(),
            self.log_path.display(),
            self.lines.join("\n"),
        )
    }
}

/// Runs statements and records them as one batch.
fn run_batch(run: &mut Run, phase: &str, stmts: Vec<String>) {
    let results: Vec<(String, Result<(), String>)> = stmts
        .into_iter()
        .map(|sql| {
            let r = run.exec(&sql);
            (sql, r)
        })
        .collect();
    run.record_batch(phase, results);
}

/// Runs generated statements, applying each accepted one to the model.
fn exec_generated(
    run: &mut Run,
    gen: &mut Gen,
    ops: Vec<(String, model::Effect)>,
    results: &mut Vec<(String, Result<(), String>)>,
) {
    for (sql, effect) in ops {
        let r = run.exec(&sql);
        if r.is_ok() {
            effect(&mut gen.model);
        }
        results.push((sql, r));
    }
}

fn run_generated(run: &mut Run, gen: &mut Gen, phase: &str, ops: Vec<(String, model::Effect)>) {
    let mut results = Vec::new();
    exec_generated(run, gen, ops, &mut results);
    run.record_batch(phase, results);
}

/// A generated run of `seed`: setup, job, full sync, workload (with kill points), then
/// convergence. `Err` carries the failure report.
fn generated_case(seed: u64, kind: Kind, kill: bool) -> (Result<(), String>, PathBuf) {
    let path = log_dir().join(format!(
        "{}-{seed}{}.jsonl",
        kind.name(),
        if kill { "-kill" } else { "" }
    ));
    let mut run = Run::start(
        kind,
        path.clone(),
        json!({"seed": seed, "kind": kind.name(), "kill": kill}),
    );
    let mut gen = Gen::new(StdRng::seed_from_u64(seed), kind == Kind::Db);
    let setup = gen.setup();
    run_generated(&mut run, &mut gen, "setup", setup);
    let rows = gen.initial_rows();
    run_generated(&mut run, &mut gen, "setup", rows);
    let table = (kind == Kind::Table).then(|| gen.only_table());
    run.create_job(table);
    if let Err(e) = run.converge("full sync") {
        return (Err(run.failure(Some(seed), &e)), path);
    }
    let batches = gen.rng.gen_range(4..8);
    let mut kill_at: Vec<usize> = Vec::new();
    if kill {
        kill_at.push(gen.rng.gen_range(0..batches));
        if gen.rng.gen_bool(0.5) {
            kill_at.push(gen.rng.gen_range(0..batches));
        }
    }
    let mut down = false;
    for i in 0..batches {
        // Each operation is generated against the model as the previous ones left it, and
        // issued right away: the batch goes back to back on one connection.
        let mut results = Vec::new();
        for _ in 0..gen.rng.gen_range(3..9) {
            let ops = gen.next();
            exec_generated(&mut run, &mut gen, ops, &mut results);
        }
        run.record_batch("workload", results);
        if down {
            run.restart();
            down = false;
        }
        if kill_at.contains(&i) {
            run.kill();
            down = true;
        }
    }
    if down {
        run.restart();
    }
    let result = run
        .converge("workload")
        .map_err(|e| run.failure(Some(seed), &e));
    (result, path)
}

/// Reruns an operations log exactly.
fn replay_case(file: &Path) -> (Result<(), String>, PathBuf) {
    let text = std::fs::read_to_string(file).expect("read the operations log");
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Value = serde_json::from_str(lines.next().expect("a header line")).unwrap();
    let kind = Kind::parse(header["kind"].as_str().unwrap_or("db"));
    let path = log_dir().join(format!(
        "replay-{}",
        file.file_name().unwrap().to_string_lossy()
    ));
    let mut header2 = header.clone();
    header2["replay_of"] = json!(file.display().to_string());
    let mut run = Run::start(kind, path.clone(), header2);
    let seed = header["seed"].as_u64();
    for line in lines {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        match event["event"].as_str().unwrap_or_default() {
            "batch" => {
                let stmts: Vec<String> = event["stmts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| match s {
                        Value::String(sql) => sql.clone(),
                        other => other["sql"].as_str().unwrap().to_owned(),
                    })
                    .collect();
                run_batch(
                    &mut run,
                    event["phase"].as_str().unwrap_or("workload"),
                    stmts,
                );
            }
            "create_job" => run.create_job(event["table"].as_str().map(str::to_owned)),
            "kill" => run.kill(),
            "restart" => run.restart(),
            "converge" => {
                let what = event["what"].as_str().unwrap_or("workload").to_owned();
                if let Err(e) = run.converge(&what) {
                    return (Err(run.failure(seed, &e)), path);
                }
            }
            other => panic!("unknown event {other}: {line}"),
        }
    }
    (Ok(()), path)
}

fn ci_case(seed: u64, kind: Kind, kill: bool) {
    if let (Err(report), _) = generated_case(seed, kind, kill) {
        panic!("{report}");
    }
}

// CI's fixed seeds: a few dozen cases that run in about a minute; scripts/soak.sh runs
// hundreds more.

#[test]
fn ci_table_job() {
    for seed in 1..=20 {
        ci_case(seed, Kind::Table, false);
    }
}

#[test]
fn ci_table_job_kill() {
    for seed in 21..=28 {
        ci_case(seed, Kind::Table, true);
    }
}

#[test]
fn ci_db_job() {
    for seed in 1..=20 {
        ci_case(seed, Kind::Db, false);
    }
}

#[test]
fn ci_db_job_kill() {
    for seed in 21..=28 {
        ci_case(seed, Kind::Db, true);
    }
}

/// Every divergence the random workload found, replayed exactly from its (shrunk) log:
/// each one failed before its fix.
#[test]
fn ci_found_divergences_stay_fixed() {
    let dir = ccr_tests::repo_root().join("tests/e2e/random_workload/repros");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the repros folder")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    logs.sort();
    assert!(logs.len() >= 7, "repros: {logs:?}");
    for log in logs {
        if let (Err(report), _) = replay_case(&log) {
            panic!("{}: {report}", log.display());
        }
    }
}

/// Runs one case in its own thread so that a panic (a harness or cluster failure) is a
/// failed case, not the end of the soak.
fn isolated(
    f: impl FnOnce() -> (Result<(), String>, PathBuf) + Send + 'static,
) -> (Result<(), String>, Option<PathBuf>) {
    match std::thread::spawn(f).join() {
        Ok((r, p)) => (r, Some(p)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            (Err(format!("panicked: {msg}")), None)
        }
    }
}

/// Many seeds (scripts/soak.sh), or one replay with `RW_REPLAY`.
#[test]
#[ignore]
fn soak() {
    if let Ok(file) = std::env::var("RW_REPLAY") {
        let file = PathBuf::from(file);
        let (result, path) = isolated(move || replay_case(&file));
        match result {
            Ok(()) => println!(
                "1 passed, 0 failed (replay log {})",
                path.unwrap().display()
            ),
            Err(report) => {
                eprintln!("{report}");
                println!("0 passed, 1 failed");
                panic!("replay failed");
            }
        }
        return;
    }
    let seeds = env_u64("RW_SEEDS", 10);
    let start = env_u64("RW_START", 1);
    let kill = env_u64("RW_KILL", 0) == 1;
    let kinds: Vec<Kind> = match std::env::var("RW_KIND").as_deref().unwrap_or("both") {
        "both" => vec![Kind::Table, Kind::Db],
        k => vec![Kind::parse(k)],
    };
    let summary_path = log_dir().join(format!(
        "soak-{}-{start}{}-summary.txt",
        std::env::var("RW_KIND").unwrap_or_else(|_| "both".into()),
        if kill { "-kill" } else { "" }
    ));
    let mut summary = std::fs::File::create(&summary_path).unwrap();
    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    for seed in start..start + seeds {
        for &kind in &kinds {
            let t0 = Instant::now();
            let (result, path) = isolated(move || generated_case(seed, kind, kill));
            let path = path
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "-".into());
            let line = match &result {
                Ok(()) => {
                    passed += 1;
                    format!("PASS {} seed {seed} ({:.0?})", kind.name(), t0.elapsed())
                }
                Err(report) => {
                    failed += 1;
                    eprintln!("{report}");
                    let reason = report
                        .lines()
                        .find(|l| l.starts_with("---- ") && *l != "---- operations ----")
                        .unwrap_or_default()
                        .to_owned();
                    let f = format!(
                        "FAIL {} seed {seed} kill={kill} log={path} {reason}",
                        kind.name()
                    );
                    failures.push(f.clone());
                    f
                }
            };
            println!("{line}");
            writeln!(summary, "{line}").unwrap();
        }
    }
    let total = format!("{passed} passed, {failed} failed");
    writeln!(summary, "{total}").unwrap();
    for f in &failures {
        println!("{f}");
    }
    println!("{total}");
}
