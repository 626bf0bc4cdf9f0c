//! Shared helpers for end-to-end tests: run the real `ccr_syncer` binary on a free port and
//! talk to it over HTTP like an operator would.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a started syncer may take to answer /version.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried by [`Syncer::start`] before giving up.
const PORT_ATTEMPTS: usize = 5;
/// What the syncer logs when its port is taken.
const ADDRESS_IN_USE: &str = "Address already in use";
/// How long a stopped syncer may take to exit after SIGTERM.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(40);

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `ccr_syncer` process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Syncer {
    pub port: u16,
    pub child: Option<Child>,
    pub log_dir: PathBuf,
    args: Vec<String>,
}

impl Syncer {
    /// Starts the binary with `args` plus `--host 127.0.0.1 --port <free>` and waits until it
    /// answers.
    pub fn start(work_dir: &Path, args: &[&str]) -> Syncer {
        // A port found free can be taken by another test before the syncer binds it: then
        // the syncer exits at once, and another free port is tried.
        for _ in 1..PORT_ATTEMPTS {
            let mut syncer = Self::prepare(work_dir, free_port(), args);
            match syncer.try_spawn() {
                Ok(()) => return syncer,
                Err(log) if log.contains(ADDRESS_IN_USE) => {
                    syncer.child = None;
                    continue;
                }
                Err(log) => panic!("ccr_syncer exited early; log:\n{log}"),
            }
        }
        Self::start_on(work_dir, free_port(), args)
    }

    /// Starts a syncer for replication tests: SQLite metadata in `work_dir`, a 100 ms idle
    /// poll and short timeouts (a failure shows in seconds), plus `extra` flags.
    pub fn start_replicating(work_dir: &Path, extra: &[&str]) -> Syncer {
        let db = work_dir.join("ccr.db");
        let mut args = vec![
            "--db_dir",
            db.to_str().expect("a UTF-8 temporary path"),
            "--idle_poll_interval",
            "100ms",
            "--connect_timeout",
            "2s",
            "--rpc_timeout",
            "5s",
        ];
        args.extend_from_slice(extra);
        Self::start(work_dir, &args)
    }

    pub fn start_on(work_dir: &Path, port: u16, args: &[&str]) -> Syncer {
        let mut syncer = Self::prepare(work_dir, port, args);
        syncer.spawn();
        syncer
    }

    fn prepare(work_dir: &Path, port: u16, args: &[&str]) -> Syncer {
        let log_dir = work_dir.join("log");
        let mut all: Vec<String> = vec![
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--log_dir".into(),
            log_dir.display().to_string(),
            "--log_level".into(),
            "debug".into(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        Syncer {
            port,
            child: None,
            log_dir,
            args: all,
        }
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("ccr_syncer exited early; log:\n{log}");
        }
    }

    /// Starts the process and waits until it answers; `Err` with its log if it exits first.
    fn try_spawn(&mut self) -> Result<(), String> {
        let child = Command::new(ccr_tests::binary("ccr_syncer"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ccr_syncer");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                return Err(format!("(exit {status})\n{}", self.log()));
            }
            if self.try_post("/version", "{}").is_some() {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "ccr_syncer did not answer within {STARTUP_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    fn try_post(&self, path: &str, body: &str) -> Option<(u16, String)> {
        curl_post(&self.url(path), body)
    }

    /// POSTs `body` and returns the status and the body parsed as JSON.
    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        let (status, text) = self.post_raw(path, body);
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {text}"));
        (status, json)
    }

    /// POSTs `body` and returns status and raw body.
    pub fn post_raw(&self, path: &str, body: &str) -> (u16, String) {
        self.try_post(path, body)
            .unwrap_or_else(|| panic!("POST {path} failed to connect"))
    }

    /// POSTs `{"name": name}`.
    pub fn post_name(&self, path: &str, name: &str) -> Value {
        let (status, json) = self.post(path, &serde_json::json!({ "name": name }).to_string());
        assert_eq!(status, 200, "{path}: {json}");
        json
    }

    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.log_dir) {
            for entry in entries.flatten() {
                text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        text
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("syncer running");
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("ccr_syncer did not stop within {SHUTDOWN_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process with SIGKILL (a crash).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same binary again with the same arguments (after stop or kill).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill first");
        self.spawn();
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The syncer's own account of what happened, for the failing test's output.
            let log = self.log();
            let lines: Vec<&str> = log.lines().filter(|l| !l.contains(" DEBUG ")).collect();
            let tail = &lines[lines.len().saturating_sub(80)..];
            eprintln!(
                "---- ccr_syncer log (last {} lines) ----\n{}",
                tail.len(),
                tail.join("\n")
            );
        }
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// POSTs `body` to `url` with curl, as an operator would; `None` if nothing answered.
pub fn curl_post(url: &str, body: &str) -> Option<(u16, String)> {
    curl_post_with_timeout(url, body, 180)
}

/// [`curl_post`] giving up after `seconds`.
pub fn curl_post_with_timeout(url: &str, body: &str, seconds: u32) -> Option<(u16, String)> {
    use std::io::Write;
    let mut child = Command::new("curl")
        .args([
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ])
        .args([
            "-w",
            "\n%{http_code}",
            "--max-time",
            &seconds.to_string(),
            url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("curl is installed");
    let written = child.stdin.take().unwrap().write_all(body.as_bytes());
    let output = child.wait_with_output().ok()?;
    written.ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    let (body, status) = text.rsplit_once('\n')?;
    let status: u16 = status.trim().parse().ok()?;
    (status != 0).then(|| (status, body.to_owned()))
}

/// A simulated Doris cluster running in this test process.
pub struct TestCluster {
    runtime: tokio::runtime::Runtime,
    doris: Option<doris_sim::launch::SimDoris>,
}

impl TestCluster {
    pub fn start() -> TestCluster {
        Self::start_with(doris_sim::launch::SimConfig::default())
    }

    pub fn start_with(mut config: doris_sim::launch::SimConfig) -> TestCluster {
        config.cluster.query_port = 0;
        config.cluster.rpc_port = 0;
        config.cluster.http_port = 0;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let doris = runtime
            .block_on(doris_sim::launch::launch(config))
            .expect("start simulated cluster");
        TestCluster {
            runtime,
            doris: Some(doris),
        }
    }

    pub fn doris(&self) -> &doris_sim::launch::SimDoris {
        self.doris.as_ref().unwrap()
    }

    pub fn query_port(&self) -> u16 {
        self.doris().topology().fe.query_port
    }

    pub fn rpc_port(&self) -> u16 {
        self.doris().topology().fe.rpc_port
    }

    pub fn http_port(&self) -> u16 {
        self.doris().topology().fe.http_port
    }

    fn control_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.http_port(), path)
    }

    /// Adds a fault rule through the FE's control API (as an operator would with curl).
    pub fn add_fault(&self, rule: Value) -> u64 {
        let (status, body) = curl_post(&self.control_url("/api/_sim/faults"), &rule.to_string())
            .expect("control API");
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        json["id"].as_u64().expect("rule id")
    }

    /// Removes every fault rule (releasing held calls).
    pub fn clear_faults(&self) {
        let status = Command::new("curl")
            .args(["-s", "-X", "DELETE", &self.control_url("/api/_sim/faults")])
            .output()
            .expect("curl");
        assert!(status.status.success());
    }

    /// The listed state of fault rule `id` (hits, waiting, ...).
    pub fn fault_state(&self, id: u64) -> Value {
        let output = Command::new("curl")
            .args(["-s", &self.control_url("/api/_sim/faults")])
            .output()
            .expect("curl");
        let json: Value = serde_json::from_slice(&output.stdout).expect("fault list");
        json["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Lets the calls held by a `hang` rule continue.
    pub fn release_fault(&self, id: u64) {
        let (status, body) = curl_post(
            &self.control_url(&format!("/api/_sim/faults/{id}/release")),
            "",
        )
        .expect("control API");
        assert_eq!(status, 200, "{body}");
    }

    /// Runs binlog GC now, as the FE's periodic GC would.
    pub fn gc_binlogs(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        self.doris().catalog.write().gc_binlogs(now);
    }

    /// Restarts the FE, keeping its state; its ports stay closed for `down`.
    pub fn restart_fe(&self, down: Duration) {
        self.runtime
            .block_on(self.doris().cluster.restart_fe(down))
            .expect("restart FE");
    }

    /// Takes BE `index` down for `down` in the background (ports closed, state kept); wait
    /// for it to be back with [`TestCluster::wait_restarted`].
    pub fn restart_be_in_background(
        &self,
        index: usize,
        down: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let handle = self.doris().cluster.handle().clone();
        let id = self.doris().topology().backends[index].id;
        self.runtime.spawn(async move {
            handle.restart_be(id, down).await.expect("restart BE");
        })
    }

    pub fn wait_restarted(&self, restart: tokio::task::JoinHandle<()>) {
        self.runtime.block_on(restart).expect("BE restart task");
    }

    /// The partition names of `table`, comma-separated, in `SHOW PARTITIONS` order.
    pub fn partition_names(&self, table: &str) -> String {
        self.sql(&format!("SHOW PARTITIONS FROM {table}"))
            .lines()
            .map(|l| l.split('\t').nth(1).unwrap().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A job spec for this cluster (root, empty password).
    pub fn spec(&self, database: &str, table: &str) -> Value {
        serde_json::json!({
            "host": "127.0.0.1", "port": self.query_port().to_string(),
            "thrift_port": self.rpc_port().to_string(), "user": "root", "password": "",
            "database": database, "table": table,
        })
    }

    /// Runs SQL with the `mariadb` command-line client and returns its tab-separated output
    /// (no column names); panics if the client fails.
    pub fn sql(&self, statements: &str) -> String {
        let (ok, out) = self.try_sql(statements);
        assert!(ok, "SQL failed: {statements}\n{out}");
        out
    }

    /// Like [`sql`], returning whether it succeeded and stdout+stderr.
    pub fn try_sql(&self, statements: &str) -> (bool, String) {
        let output = Command::new("mariadb")
            .args([
                "-h127.0.0.1",
                "-P",
                &self.query_port().to_string(),
                "-uroot",
                "-N",
                "-B",
                "-e",
                statements,
            ])
            .output()
            .expect("mariadb client is installed");
        let mut text = String::from_utf8_lossy(&output.stdout).to_string();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        (output.status.success(), text)
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(doris) = self.doris.take() {
            self.runtime.block_on(doris.stop());
        }
    }
}

/// Polls `condition` every 50 ms until it holds; panics with `what` (and the last
/// description `condition` gave) after `timeout`.
pub fn wait_until(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> Result<(), String>,
) {
    let deadline = Instant::now() + timeout;
    loop {
        match condition() {
            Ok(()) => return,
            Err(last) if Instant::now() > deadline => {
                panic!("timed out after {timeout:?} waiting for {what}: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A MariaDB database for one test, dropped when the guard goes.
pub struct MariaDbDatabase(pub String);

impl MariaDbDatabase {
    pub fn new() -> Self {
        let name = format!("ccr_api_test_{}_{}", std::process::id(), rand_suffix());
        MariaDbDatabase(name)
    }
}

impl Drop for MariaDbDatabase {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args([
                "-h127.0.0.1",
                "-P3306",
                "-uroot",
                "-e",
                &format!("DROP DATABASE IF EXISTS `{}`", self.0),
            ])
            .status();
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

pub fn mysql_syncer(dir: &tempfile::TempDir, database: &str) -> Syncer {
    Syncer::start(
        dir.path(),
        &[
            "--db_type",
            "mysql",
            "--db_host",
            "127.0.0.1",
            "--db_port",
            "3306",
            "--db_user",
            "root",
            "--db_name",
            database,
        ],
    )
}
