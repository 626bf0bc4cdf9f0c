//! What the end-to-end modules share: launchers for simulated clusters and the real
//! `ccr_syncer` binary (on a free port, talked to over HTTP with curl like an operator
//! would), a typed client for the syncer's job routes, and condition-based waits for a job
//! to catch up.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a job may take to catch up (a full sync, a partial sync, or replaying a few
/// binlogs) on a busy two-core machine.
pub const CATCH_UP: Duration = Duration::from_secs(90);

/// Source database properties: binlog on, as every replicated database needs.
pub const DB_PROPS: &str = "PROPERTIES (\"binlog.enable\" = \"true\")";
/// Source table properties: one replica (the simulator's default BE count allows it) and
/// binlog on.
pub const TABLE_PROPS: &str =
    "PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")";

/// How long a started syncer may take to answer /version.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried by [`Syncer::start`] before giving up.
const PORT_ATTEMPTS: usize = 5;
/// What the syncer logs when its port is taken.
const ADDRESS_IN_USE: &str = "Address already in use";
/// How long a stopped syncer may take to exit after SIGTERM.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(40);

/// Ports [`free_port`] picks from: below the kernel's ephemeral range (32768-60999 by
/// default), so no outgoing connection and no port-0 listener of a concurrent test can take
/// a stopped syncer's port before it restarts on it.
const TEST_PORTS: std::ops::Range<u16> = 20000..32768;

/// A port nobody listens on right now, from [`TEST_PORTS`].
pub fn free_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(TEST_PORTS);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running `ccr_syncer` process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Syncer {
    pub port: u16,
    pub child: Option<Child>,
    pub log_dir: PathBuf,
    args: Vec<String>,
    /// Environment variables the process gets besides the test's own.
    env: Vec<(String, String)>,
    /// Sent as `Authorization: Bearer` with every call (see [`Syncer::with_api_token`]).
    api_token: Option<String>,
}

impl Syncer {
    /// Starts the binary with `args` plus `--host 127.0.0.1 --port <free>` and waits until it
    /// answers.
    pub fn start(work_dir: &Path, args: &[&str]) -> Syncer {
        Self::start_with_env(work_dir, args, &[])
    }

    /// [`Syncer::start`] with extra environment variables.
    pub fn start_with_env(work_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Syncer {
        // A port found free can be taken by another test before the syncer binds it: then
        // the syncer exits at once, and another free port is tried.
        for _ in 1..PORT_ATTEMPTS {
            let mut syncer = Self::prepare(work_dir, free_port(), args, env);
            match syncer.try_spawn() {
                Ok(()) => return syncer,
                Err(log) if log.contains(ADDRESS_IN_USE) => {
                    syncer.child = None;
                    continue;
                }
                Err(log) => panic!("ccr_syncer exited early; log:\n{log}"),
            }
        }
        Self::start_on_with_env(work_dir, free_port(), args, env)
    }

    /// Sends `Authorization: Bearer <token>` with every later call (also after restarts).
    pub fn with_api_token(mut self, token: &str) -> Syncer {
        self.api_token = Some(token.to_owned());
        self
    }

    /// Changes the command line used by the next [`Syncer::restart`]: drops every flag in
    /// `remove` (with its value) and appends `add`.
    pub fn set_restart_flags(&mut self, remove: &[&str], add: &[&str]) {
        let mut kept = Vec::new();
        let mut args = std::mem::take(&mut self.args).into_iter();
        while let Some(arg) = args.next() {
            if remove.contains(&arg.as_str()) {
                args.next();
            } else {
                kept.push(arg);
            }
        }
        kept.extend(add.iter().map(|s| s.to_string()));
        self.args = kept;
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

    fn start_on_with_env(
        work_dir: &Path,
        port: u16,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Syncer {
        let mut syncer = Self::prepare(work_dir, port, args, env);
        syncer.spawn();
        syncer
    }

    fn prepare(work_dir: &Path, port: u16, args: &[&str], env: &[(&str, &str)]) -> Syncer {
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
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            api_token: None,
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
            .envs(self.env.iter().map(|(k, v)| (k, v)))
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
        let header = self
            .api_token
            .as_ref()
            .map(|token| format!("Authorization: Bearer {token}"));
        curl_post_with_headers(&self.url(path), body, header.as_slice(), 180)
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

    /// Freezes the process (SIGSTOP), as a long pause or a hung host would.
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    /// Lets a frozen process run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    fn signal(&self, name: &str) {
        let child = self.child.as_ref().expect("the syncer runs");
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }
}

/// The syncer's job routes, typed. Each method posts the route's body and panics with the
/// route, the body and the answer when the call does not succeed; the routes that only
/// act (`pause`, `resume`, ...) must answer exactly `{"success": true}`. Tests about the
/// envelope or failing calls use [`Syncer::post`] / [`Syncer::post_name`] instead.
impl Syncer {
    /// POSTs `body` to `path`, expecting HTTP 200 and `"success": true`.
    pub fn call(&self, path: &str, body: &Value) -> Value {
        let (status, answer) = self.post(path, &body.to_string());
        assert!(
            status == 200 && answer["success"] == true,
            "POST {path} {body}: HTTP {status}, answer {answer}"
        );
        answer
    }

    /// POSTs `body` to an action route, expecting exactly `{"success": true}`.
    fn act(&self, path: &str, body: &Value) {
        let answer = self.call(path, body);
        assert_eq!(answer, json!({"success": true}), "POST {path} {body}");
    }

    /// Creates a job; `body` as for `/create_ccr` (see [`TestCluster::spec`]).
    pub fn create_ccr(&self, body: &Value) {
        self.act("/create_ccr", body);
    }

    /// `/create_ccr`'s answer, successful or not (the request itself must be decodable:
    /// HTTP 200).
    pub fn try_create_ccr(&self, body: &Value) -> Value {
        let (status, answer) = self.post("/create_ccr", &body.to_string());
        assert_eq!(status, 200, "POST /create_ccr {body}: {answer}");
        answer
    }

    pub fn pause(&self, job: &str) {
        self.act("/pause", &json!({ "name": job }));
    }

    pub fn resume(&self, job: &str) {
        self.act("/resume", &json!({ "name": job }));
    }

    pub fn delete(&self, job: &str) {
        self.act("/delete", &json!({ "name": job }));
    }

    pub fn desync(&self, job: &str) {
        self.act("/desync", &json!({ "name": job }));
    }

    pub fn force_fullsync(&self, job: &str) {
        self.act("/force_fullsync", &json!({ "name": job }));
    }

    /// `/update_job` with `skip_error`.
    pub fn update_job(&self, job: &str, skip_error: bool) {
        self.act(
            "/update_job",
            &json!({ "name": job, "skip_error": skip_error }),
        );
    }

    /// The `status` object of `/job_status` (state, progress_state, last_error, ...).
    pub fn job_status(&self, job: &str) -> Value {
        self.call("/job_status", &json!({ "name": job }))["status"].clone()
    }

    /// The whole `/get_lag` answer (lag, prev/first/last commit seq, ...).
    pub fn get_lag(&self, job: &str) -> Value {
        self.call("/get_lag", &json!({ "name": job }))
    }

    /// `/get_lag`'s `lag`: source binlogs after the job's applied commit seq.
    pub fn lag(&self, job: &str) -> i64 {
        let answer = self.get_lag(job);
        answer["lag"]
            .as_i64()
            .unwrap_or_else(|| panic!("/get_lag {job}: no lag in {answer}"))
    }

    /// `/job_progress`'s `job_progress`, decoded (it is a JSON document in a string).
    pub fn job_progress(&self, job: &str) -> Value {
        Self::embedded(
            &self.call("/job_progress", &json!({ "name": job })),
            "job_progress",
        )
    }

    /// `/job_detail`'s `job_detail`, decoded (it is a JSON document in a string).
    pub fn job_detail(&self, job: &str) -> Value {
        Self::embedded(
            &self.call("/job_detail", &json!({ "name": job })),
            "job_detail",
        )
    }

    fn embedded(answer: &Value, key: &str) -> Value {
        let text = answer[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} string in {answer}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {text}"))
    }

    /// The names `/list_jobs` lists; the answer must be exactly `{"success", "jobs"}`.
    pub fn list_jobs(&self) -> Vec<String> {
        let answer = self.call("/list_jobs", &json!({}));
        let jobs: Vec<String> = answer["jobs"]
            .as_array()
            .unwrap_or_else(|| panic!("/list_jobs: no jobs in {answer}"))
            .iter()
            .map(|name| name.as_str().expect("job names are strings").to_owned())
            .collect();
        assert_eq!(answer, json!({"success": true, "jobs": jobs}), "/list_jobs");
        jobs
    }

    /// The Prometheus text of `/metrics`.
    pub fn metrics(&self) -> String {
        let (status, text) = self.post_raw("/metrics", "");
        assert_eq!(status, 200, "/metrics: {text}");
        text
    }

    /// The value of an unlabelled metric line, or `<absent>`.
    pub fn metric(&self, name: &str) -> String {
        self.metrics()
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or("<absent>")
            .to_owned()
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
    curl_post_with_headers(url, body, &[], seconds)
}

/// [`curl_post`] with extra request headers (`"Name: value"`), giving up after `seconds`.
pub fn curl_post_with_headers(
    url: &str,
    body: &str,
    headers: &[String],
    seconds: u32,
) -> Option<(u16, String)> {
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
        .args(headers.iter().flat_map(|h| ["-H", h.as_str()]))
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

/// Where curl is sent when it POSTs `body` to `url` without following redirects:
/// `"<http code> <redirect url>"` (a syncer that does not own a job answers 303).
pub fn curl_redirect(url: &str, body: &str) -> String {
    let output = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            "-X",
            "POST",
            "-d",
            body,
            url,
        ])
        .output()
        .expect("curl is installed");
    String::from_utf8_lossy(&output.stdout).into_owned()
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

    /// A cluster holding database `src_db` (binlog on) after `setup` (one `mariadb -e`
    /// call; may be empty).
    pub fn source(setup: &str) -> TestCluster {
        let cluster = Self::start();
        cluster.sql(&format!("CREATE DATABASE src_db {DB_PROPS}"));
        if !setup.is_empty() {
            cluster.sql(setup);
        }
        cluster
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

    /// Makes SHOW BACKENDS report every BE's disk `percent` full (`MaxDiskUsedPct`), through
    /// the FE's control API.
    pub fn set_disk_usage(&self, percent: f64) {
        let (status, body) = curl_post(
            &self.control_url("/api/_sim/disk_usage"),
            &json!({ "percent": percent }).to_string(),
        )
        .expect("control API");
        assert_eq!(status, 200, "{body}");
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

    /// The rows of `table`, ordered by the first two columns; panics if the query fails.
    pub fn rows(&self, table: &str) -> String {
        self.sql(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
    }

    /// Like [`TestCluster::rows`], with a failure (a table not there yet) as its error
    /// text, so a caller waiting for equal rows simply looks again.
    pub fn try_rows(&self, table: &str) -> String {
        self.sql_or_error(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
    }

    /// The output of `statements`, or `<failed: the client's output>`: for comparisons a
    /// caller repeats until both sides agree (an object may not be there yet).
    pub fn sql_or_error(&self, statements: &str) -> String {
        let (ok, out) = self.try_sql(statements);
        if ok {
            out
        } else {
            format!("<failed: {out}>")
        }
    }

    /// Waits until a call is held by `hang` rule `id` (the call `what` names).
    pub fn wait_fault_held(&self, id: u64, what: &str) {
        wait_until(&format!("{what} to be held"), CATCH_UP, || {
            let state = self.fault_state(id);
            if state["waiting"].as_u64().unwrap_or(0) >= 1 {
                Ok(())
            } else {
                Err(state.to_string())
            }
        });
    }

    /// A client of the project's own Thrift/SQL layer (`ccr_doris`) for this cluster, as
    /// root: for tests that make the calls a syncer makes.
    pub fn client(&self) -> ccr_doris::cluster::DorisCluster {
        use ccr_doris::cluster::{ClientSettings, ClusterAccess, DorisCluster};
        use ccr_doris::rpc::{RpcAddress, RpcTimeouts};
        DorisCluster::new(
            ClusterAccess {
                host: "127.0.0.1".into(),
                query_port: self.query_port(),
                user: "root".into(),
                password: ccr_wire::secret::Secret::default(),
                frontends: vec![RpcAddress::new("127.0.0.1", self.rpc_port())],
                cluster: String::new(),
                host_mapping: Default::default(),
            },
            ClientSettings {
                timeouts: RpcTimeouts::default(),
                max_ingest_per_backend: 8,
            },
        )
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

/// `Ok` once `job` is caught up: `/get_lag` says 0 and `/job_status` shows no
/// `last_error`; else what they show.
pub fn caught_up(syncer: &Syncer, job: &str) -> Result<(), String> {
    let status = syncer.job_status(job);
    let lag = syncer.get_lag(job);
    if lag["lag"] == 0 && status.get("last_error").is_none() {
        Ok(())
    } else {
        Err(format!("job {job}: status {status}, lag {lag}"))
    }
}

/// Waits until `job` is caught up and `compare` finds the target equal to the source
/// (`Err` says what differs; it is in the panic after [`CATCH_UP`]).
pub fn wait_converged(syncer: &Syncer, job: &str, mut compare: impl FnMut() -> Result<(), String>) {
    wait_until(
        &format!("job {job} to catch up with the target equal to the source"),
        CATCH_UP,
        || {
            let compared = compare();
            match (compared, caught_up(syncer, job)) {
                (Ok(()), Ok(())) => Ok(()),
                (Ok(()), Err(job)) => Err(job),
                (Err(diff), Ok(())) => Err(diff),
                (Err(diff), Err(job)) => Err(format!("{diff}\n{job}")),
            }
        },
    );
}

/// Waits until `job` is caught up and each `(source table, target table)` of `tables`
/// (qualified names) holds the same rows on `src` and `dest`.
pub fn wait_synced(
    syncer: &Syncer,
    job: &str,
    src: &TestCluster,
    dest: &TestCluster,
    tables: &[(&str, &str)],
) {
    wait_converged(syncer, job, || {
        for (src_table, dest_table) in tables {
            let want = src.try_rows(src_table);
            let got = dest.try_rows(dest_table);
            if want != got {
                return Err(format!(
                    "{src_table} on the source:\n{want}\n{dest_table} on the target:\n{got}"
                ));
            }
        }
        Ok(())
    });
}

/// Waits until `job`'s `/job_status` `status` object satisfies `condition`.
pub fn wait_job_status(
    syncer: &Syncer,
    job: &str,
    what: &str,
    mut condition: impl FnMut(&Value) -> bool,
) {
    wait_until(what, CATCH_UP, || {
        let status = syncer.job_status(job);
        if condition(&status) {
            Ok(())
        } else {
            Err(status.to_string())
        }
    });
}

/// Runs `statements` on `src` while `job` is paused, so the syncer meets them all at
/// once (as when an application sends them back to back), then resumes the job.
pub fn back_to_back(syncer: &Syncer, job: &str, src: &TestCluster, statements: &str) {
    syncer.pause(job);
    wait_job_status(syncer, job, "the job to pause", |s| s["state"] == "paused");
    src.sql(statements);
    syncer.resume(job);
}

/// `SHOW CREATE TABLE` output made comparable across clusters: without the
/// `is_being_synced` property, one line per clause without trailing commas, and the
/// database's own name `db` replaced by a placeholder (views qualify their tables).
pub fn comparable_create(text: &str, db: &str) -> String {
    text.replace(&format!("`{db}`"), "`<db>`")
        .split("\\n")
        .filter(|line| !line.contains("is_being_synced"))
        .map(|line| line.trim_end_matches(','))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `/create_ccr` body of job `name` from `src_db.<src_table>` on `src` to
/// `dest_db.<dest_table>` on `dest` (both tables empty for a database job).
pub fn job_body(
    name: &str,
    src: &TestCluster,
    src_table: &str,
    dest: &TestCluster,
    dest_table: &str,
) -> Value {
    json!({
        "name": name,
        "src": src.spec("src_db", src_table),
        "dest": dest.spec("dest_db", dest_table),
    })
}

/// A source cluster holding database `src_db`, an empty target cluster and a replicating
/// syncer ([`Syncer::start_replicating`]) between them, with its work directory.
pub struct Replication {
    pub src: TestCluster,
    pub dest: TestCluster,
    pub syncer: Syncer,
    pub dir: tempfile::TempDir,
}

impl Replication {
    /// Runs `setup` (one `mariadb -e` call, may be empty) on the new `src_db`.
    pub fn start(setup: &str) -> Replication {
        Self::start_with(setup, &[])
    }

    /// [`Replication::start`] with extra syncer flags.
    pub fn start_with(setup: &str, syncer_args: &[&str]) -> Replication {
        let src = TestCluster::source(setup);
        let dest = TestCluster::start();
        let dir = tempfile::tempdir().unwrap();
        let syncer = Syncer::start_replicating(dir.path(), syncer_args);
        Replication {
            src,
            dest,
            syncer,
            dir,
        }
    }

    /// The parts, for a test that names them on their own: (source, target, syncer, work
    /// directory; keep the last alive as long as the syncer).
    pub fn into_parts(self) -> (TestCluster, TestCluster, Syncer, tempfile::TempDir) {
        (self.src, self.dest, self.syncer, self.dir)
    }

    /// Creates job `name` (see [`job_body`]).
    pub fn create_job(&self, name: &str, src_table: &str, dest_table: &str) {
        self.syncer.create_ccr(&job_body(
            name, &self.src, src_table, &self.dest, dest_table,
        ));
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
    mysql_syncer_with(dir, database, &[])
}

/// [`mysql_syncer`] with `extra` flags.
pub fn mysql_syncer_with(dir: &tempfile::TempDir, database: &str, extra: &[&str]) -> Syncer {
    mysql_syncer_on(dir, database, 3306, extra)
}

/// A syncer on MariaDB reached at 127.0.0.1:`port` (the server, or a proxy before it).
fn mysql_syncer_on(dir: &tempfile::TempDir, database: &str, port: u16, extra: &[&str]) -> Syncer {
    let port = port.to_string();
    let mut args = vec![
        "--db_type",
        "mysql",
        "--db_host",
        "127.0.0.1",
        "--db_port",
        &port,
        "--db_user",
        "root",
        "--db_name",
        database,
    ];
    args.extend_from_slice(extra);
    Syncer::start(dir.path(), &args)
}

/// A TCP proxy in front of a server, which a test can cut off and restore: the server's
/// outage as its clients see it (resets, refused work), without touching the server that
/// other tests share.
pub struct TcpProxy {
    pub port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<parking_lot::Mutex<Vec<std::net::TcpStream>>>,
}

impl TcpProxy {
    /// Forwards 127.0.0.1:`port` to `upstream`.
    pub fn start(upstream: &str) -> TcpProxy {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let (cut_flag, open_list, upstream) = (cut.clone(), open.clone(), upstream.to_owned());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut_flag.load(Ordering::SeqCst) {
                    continue; // dropped at once: the client sees a reset
                }
                let Ok(server) = std::net::TcpStream::connect(&upstream) else {
                    continue;
                };
                for stream in [&client, &server] {
                    open_list.lock().push(stream.try_clone().unwrap());
                }
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        TcpProxy { port, cut, open }
    }

    /// Closes every open connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for stream in self.open.lock().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A syncer on MariaDB reached through `proxy`, with `extra` flags.
pub fn proxied_mysql_syncer(
    dir: &tempfile::TempDir,
    database: &str,
    proxy: &TcpProxy,
    extra: &[&str],
) -> Syncer {
    mysql_syncer_on(dir, database, proxy.port, extra)
}
