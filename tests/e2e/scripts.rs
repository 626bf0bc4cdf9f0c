//! Integration tests of the operator scripts in `scripts/`: they drive `start_syncer.sh`,
//! `stop_syncer.sh` and `enable_db_binlog.sh` as an operator would, against the real
//! `ccr_syncer` binary (through `CCR_SYNCER_BIN`) and, for the binlog script, a fake `mysql`
//! client that records the statements it receives.
//!
//! Every test works in its own temporary directory (pid, log and database files) and on ports
//! picked by binding port 0; a guard kills any syncer a failing test leaves behind.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::free_port;

/// Generous bound for anything that waits on a process (machines running tests are noisy).
const WAIT_LIMIT: Duration = Duration::from_secs(60);
/// Poll interval of the bounded waits.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Seconds `start_syncer.sh --daemon` may wait for `/version` (its own bounded wait).
const START_TIMEOUT_SECS: &str = "60";
/// Seconds `stop_syncer.sh` waits for a clean exit before SIGKILL; large so that a clean exit is
/// never confused with a kill on a slow machine.
const STOP_TIMEOUT_SECS: &str = "60";

/// What the binary logs as its very last line after a clean shutdown.
const SHUTDOWN_LOG_LINE: &str = "ccr_syncer stopped";

fn script(name: &str) -> PathBuf {
    ccr_tests::repo_root().join("scripts").join(name)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// True while `pid` exists and is not a zombie (an exited process nobody reaped yet).
fn process_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // The state letter follows the parenthesised command name.
            let after_name = stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("");
            !after_name.starts_with('Z')
        }
        Err(_) => false,
    }
}

fn process_name(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_LIMIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(POLL_INTERVAL);
    }
}

fn send_signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// The JSON answer of `POST /version`, or None when nothing answers.
fn version_answer(port: u16) -> Option<serde_json::Value> {
    let output = Command::new("curl")
        .args(["--silent", "--fail", "--max-time", "5", "-X", "POST"])
        .arg(format!("http://127.0.0.1:{port}/version"))
        .output()
        .expect("run curl");
    if !output.status.success() {
        return None;
    }
    serde_json::from_slice(&output.stdout).ok()
}

/// One temporary syncer home: pid, log and db directories, and every syncer started in it.
struct Sandbox {
    root: tempfile::TempDir,
    started_pids: Vec<u32>,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            root: tempfile::tempdir().expect("create temp dir"),
            started_pids: Vec::new(),
        }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn pid_dir(&self) -> PathBuf {
        self.path().join("run")
    }

    fn log_dir(&self) -> PathBuf {
        self.path().join("log")
    }

    fn pid_file(&self, port: u16) -> PathBuf {
        self.pid_dir().join(format!("127.0.0.1_{port}.pid"))
    }

    /// A script command with the sandbox environment: the test binary, and SYNCER_HOME pointing
    /// into the sandbox so that no default path escapes it.
    fn command(&self, script_name: &str) -> Command {
        let mut command = Command::new(script(script_name));
        command
            .env("CCR_SYNCER_BIN", ccr_tests::binary("ccr_syncer"))
            .env("SYNCER_HOME", self.path())
            .env("CCR_START_TIMEOUT", START_TIMEOUT_SECS)
            .stdin(Stdio::null());
        command
    }

    fn run(&self, script_name: &str, args: &[&str]) -> Output {
        self.command(script_name)
            .args(args)
            .output()
            .expect("run script")
    }

    fn dir_args(&self, port: u16) -> Vec<String> {
        vec![
            "--pid_dir".into(),
            self.pid_dir().display().to_string(),
            "--log_dir".into(),
            self.log_dir().display().to_string(),
            "--db_dir".into(),
            self.path().join("db").join("ccr.db").display().to_string(),
            "--port".into(),
            port.to_string(),
        ]
    }

    fn start_daemon_output(&self, port: u16, extra: &[&str]) -> Output {
        let mut args = vec!["--daemon".to_string()];
        args.extend(self.dir_args(port));
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("start_syncer.sh", &args)
    }

    /// Starts a daemon syncer on `port` and returns its pid (asserting a successful start).
    fn start_daemon(&mut self, port: u16) -> u32 {
        let output = self.start_daemon_output(port, &[]);
        assert!(
            output.status.success(),
            "start failed: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        let pid = read_pid(&self.pid_file(port));
        self.started_pids.push(pid);
        pid
    }

    /// Installs `script` as a `mysql` client in the sandbox and returns a PATH that finds
    /// it first.
    fn fake_mysql(&self, script: &str) -> String {
        let bin_dir = self.path().join("fakebin");
        fs::create_dir_all(&bin_dir).expect("create fake bin dir");
        let fake = bin_dir.join("mysql");
        fs::write(&fake, script).expect("write fake mysql");
        let chmod = Command::new("chmod")
            .arg("+x")
            .arg(&fake)
            .status()
            .expect("chmod");
        assert!(chmod.success());
        format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn stop(&self, args: &[&str]) -> Output {
        let pid_dir = self.pid_dir();
        let mut all = vec!["--pid_dir", pid_dir.to_str().expect("utf-8 path")];
        all.extend_from_slice(&["--timeout", STOP_TIMEOUT_SECS]);
        all.extend_from_slice(args);
        self.run("stop_syncer.sh", &all)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for &pid in &self.started_pids {
            if process_alive(pid) && process_name(pid) == "ccr_syncer" {
                send_signal(pid, "KILL");
            }
        }
    }
}

fn read_pid(pid_file: &Path) -> u32 {
    let content =
        fs::read_to_string(pid_file).unwrap_or_else(|e| panic!("read {}: {e}", pid_file.display()));
    content
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid file {} holds {content:?}: {e}", pid_file.display()))
}

/// Asserts that a stop ended with a clean exit after SIGTERM, not with SIGKILL.
fn assert_clean_stop(output: &Output, pid: u32) {
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "stop failed: {stdout}\n{stderr}");
    let stopping = format!("Stopping ccr_syncer process {pid} (");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with(&stopping) && line.ends_with("with SIGTERM")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("ccr_syncer process {pid} exited")),
        "{stdout}"
    );
    assert!(!stderr.contains("SIGKILL"), "syncer was killed: {stderr}");
    assert!(!process_alive(pid), "process {pid} still alive after stop");
}

/// A process that is certainly not running any more: spawn and reap one.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait true");
    pid
}

#[test]
fn daemon_start_answers_version_refuses_second_start_and_stops_cleanly() {
    let mut sandbox = Sandbox::new();
    let port = free_port();

    let output = sandbox.start_daemon_output(port, &[]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let pid = read_pid(&sandbox.pid_file(port));
    sandbox.started_pids.push(pid);
    assert!(stdout.contains(&format!("process {pid}")), "{stdout}");
    let log_file = sandbox.log_dir().join(format!("127.0.0.1_{port}.log"));
    assert!(stdout.contains(&log_file.display().to_string()), "{stdout}");

    // The script returned only once the syncer answered, and the pid file names the syncer.
    assert_eq!(process_name(pid), "ccr_syncer");
    let answer = version_answer(port).expect("POST /version answers");
    assert!(answer["version"].is_string(), "{answer}");
    assert!(
        log_file.exists(),
        "--log_dir is a directory holding the log"
    );

    let second = sandbox.start_daemon_output(port, &[]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains(&format!("Syncer running as process {pid}. Stop it first.")),
        "{}",
        text(&second.stderr)
    );
    assert_eq!(read_pid(&sandbox.pid_file(port)), pid, "pid file untouched");

    let stop = sandbox.stop(&["--host", "127.0.0.1", "--port", &port.to_string()]);
    assert_clean_stop(&stop, pid);
    assert!(!sandbox.pid_file(port).exists(), "pid file removed");
    assert!(version_answer(port).is_none(), "port no longer answers");
    // The syncer ran its whole shutdown (it logs this last, after stopping the jobs).
    let log = fs::read_to_string(&log_file).expect("read syncer log");
    assert!(log.contains(SHUTDOWN_LOG_LINE), "{log}");
}

#[test]
fn stop_by_files_and_by_pid_dir_stops_every_syncer() {
    let mut sandbox = Sandbox::new();
    let (port_a, port_b) = (free_port(), free_port());

    // --files: one name relative to the pid dir, one absolute path.
    let pid_a = sandbox.start_daemon(port_a);
    let pid_b = sandbox.start_daemon(port_b);
    let files = format!(
        "127.0.0.1_{port_a}.pid {}",
        sandbox.pid_file(port_b).display()
    );
    let stop = sandbox.stop(&["--files", &files]);
    assert_clean_stop(&stop, pid_a);
    assert_clean_stop(&stop, pid_b);
    assert!(!sandbox.pid_file(port_a).exists());
    assert!(!sandbox.pid_file(port_b).exists());

    // No selection: every pid file in the pid dir.
    let pid_a = sandbox.start_daemon(port_a);
    let pid_b = sandbox.start_daemon(port_b);
    let stop = sandbox.stop(&[]);
    assert_clean_stop(&stop, pid_a);
    assert_clean_stop(&stop, pid_b);
    let left: Vec<_> = fs::read_dir(sandbox.pid_dir())
        .expect("read pid dir")
        .collect();
    assert!(left.is_empty(), "pid files left: {left:?}");

    // Nothing left to stop is an error.
    let again = sandbox.stop(&[]);
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn defaults_live_under_syncer_home() {
    let mut sandbox = Sandbox::new();
    let port = free_port();
    let port_arg = port.to_string();

    let start = sandbox.run("start_syncer.sh", &["--daemon", "--port", &port_arg]);
    assert!(start.status.success(), "{}", text(&start.stderr));
    let pid_file = sandbox
        .path()
        .join("run")
        .join(format!("127.0.0.1_{port}.pid"));
    let pid = read_pid(&pid_file);
    sandbox.started_pids.push(pid);
    assert!(sandbox
        .path()
        .join("log")
        .join(format!("127.0.0.1_{port}.log"))
        .exists());
    assert!(sandbox.path().join("db").is_dir(), "db dir created");

    // stop_syncer.sh finds the same default pid dir; only --port given → host 127.0.0.1.
    let stop = sandbox.run(
        "stop_syncer.sh",
        &["--port", &port_arg, "--timeout", STOP_TIMEOUT_SECS],
    );
    assert_clean_stop(&stop, pid);
    assert!(!pid_file.exists());
}

#[test]
fn stop_reports_missing_empty_and_foreign_pid_files() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.pid_dir()).expect("create pid dir");

    let missing = sandbox.stop(&["--files", "nope.pid"]);
    assert_eq!(missing.status.code(), Some(1));
    let expected = format!(
        "ERROR: {} does not exist",
        sandbox.pid_dir().join("nope.pid").display()
    );
    assert!(
        text(&missing.stderr).contains(&expected),
        "{}",
        text(&missing.stderr)
    );

    let empty = sandbox.pid_dir().join("empty.pid");
    fs::write(&empty, "").expect("write empty pid file");
    let output = sandbox.stop(&["--files", "empty.pid"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("is empty"));

    // A live process that is not a syncer is left alone.
    let mut foreign = Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("spawn sleep");
    let foreign_file = sandbox.pid_dir().join("foreign.pid");
    fs::write(&foreign_file, format!("{}\n", foreign.id())).expect("write pid file");
    let output = sandbox.stop(&["--files", "foreign.pid"]);
    let foreign_alive = process_alive(foreign.id());
    foreign.kill().expect("kill sleep");
    foreign.wait().expect("reap sleep");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("not ccr_syncer"),
        "{}",
        text(&output.stderr)
    );
    assert!(foreign_alive, "a foreign process must not be signalled");
    assert!(foreign_file.exists());

    // --host without --port is refused rather than stopping everything.
    let output = sandbox.stop(&["--host", "127.0.0.1"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn stale_pid_files_are_removed_by_start_and_stop() {
    let mut sandbox = Sandbox::new();
    let port = free_port();
    fs::create_dir_all(sandbox.pid_dir()).expect("create pid dir");

    // stop: a stale file is removed with a warning, and that is not a failure.
    let stale = sandbox.pid_dir().join("stale.pid");
    fs::write(&stale, format!("{}\n", dead_pid())).expect("write pid file");
    let output = sandbox.stop(&["--files", "stale.pid"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("stale"));
    assert!(!stale.exists());

    // start: a stale file for the same host:port does not block the start.
    fs::write(sandbox.pid_file(port), format!("{}\n", dead_pid())).expect("write pid file");
    let output = sandbox.start_daemon_output(port, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("Removing stale pid file"));
    let pid = read_pid(&sandbox.pid_file(port));
    sandbox.started_pids.push(pid);
    assert_eq!(process_name(pid), "ccr_syncer");

    let stop = sandbox.stop(&["--port", &port.to_string()]);
    assert_clean_stop(&stop, pid);
}

#[test]
fn force_stop_kills_at_once() {
    let mut sandbox = Sandbox::new();
    let port = free_port();
    let pid = sandbox.start_daemon(port);

    let output = sandbox.stop(&["--port", &port.to_string(), "--force"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("SIGKILL"));
    assert!(!process_alive(pid));
    assert!(!sandbox.pid_file(port).exists());
}

#[test]
fn grace_is_accepted_for_compatibility() {
    let mut sandbox = Sandbox::new();
    let port = free_port();
    let pid = sandbox.start_daemon(port);

    let output = sandbox.stop(&["--port", &port.to_string(), "--", "--grace"]);
    assert_clean_stop(&output, pid);
}

#[test]
fn daemon_start_failure_reports_the_log_and_leaves_no_pid_file() {
    let sandbox = Sandbox::new();
    // A listener that never speaks HTTP: the syncer cannot bind and must exit.
    let blocker = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = blocker.local_addr().expect("address").port();

    let output = sandbox.start_daemon_output(port, &[]);
    drop(blocker);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains("exited during start-up"),
        "{}",
        text(&output.stderr)
    );
    assert!(!sandbox.pid_file(port).exists());
}

#[test]
fn arguments_after_double_dash_reach_the_binary() {
    let sandbox = Sandbox::new();
    let port = free_port();

    // Daemon: the binary rejects the unknown flag, so the start fails with its message.
    let output = sandbox.start_daemon_output(port, &["--", "--no_such_flag_for_test"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("no_such_flag_for_test"),
        "{}",
        text(&output.stderr)
    );

    // Foreground: same, the script ends with the binary's failure.
    let mut args = sandbox.dir_args(port);
    args.extend(["--".to_string(), "--no_such_flag_for_test".to_string()]);
    let output = sandbox
        .command("start_syncer.sh")
        .args(&args)
        .output()
        .expect("run start");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("no_such_flag_for_test"),
        "{}",
        text(&output.stderr)
    );
    assert!(!sandbox.pid_file(port).exists(), "pid file removed on exit");
}

#[test]
fn foreground_start_writes_pid_file_and_removes_it_on_exit() {
    let sandbox = Sandbox::new();
    let port = free_port();
    let mut script_process: Child = sandbox
        .command("start_syncer.sh")
        .args(sandbox.dir_args(port))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn start");

    let pid_file = sandbox.pid_file(port);
    wait_until("the foreground syncer to answer", || {
        version_answer(port).is_some()
    });
    let pid = read_pid(&pid_file);
    // The pid file names the syncer itself, not the wrapping shell.
    let syncer_is_named = process_name(pid) == "ccr_syncer";
    if !syncer_is_named {
        let _ = script_process.kill();
    }
    assert!(syncer_is_named, "pid {pid} is {}", process_name(pid));
    assert_ne!(pid, script_process.id());

    let stop = sandbox.stop(&["--port", &port.to_string()]);
    assert_clean_stop(&stop, pid);
    let status = script_process.wait().expect("wait start script");
    assert!(status.success(), "foreground script ended with {status}");
    assert!(
        !pid_file.exists(),
        "pid file removed by the foreground script"
    );
}

#[test]
fn help_and_usage_errors() {
    let sandbox = Sandbox::new();
    for (name, help) in [
        ("start_syncer.sh", "--help"),
        ("start_syncer.sh", "-h"),
        ("stop_syncer.sh", "--help"),
        ("stop_syncer.sh", "-h"),
        ("enable_db_binlog.sh", "--help"),
    ] {
        let output = sandbox.run(name, &[help]);
        assert_eq!(output.status.code(), Some(0), "{name} {help}");
        assert!(text(&output.stdout).contains("Usage:"), "{name} {help}");
    }
    for name in ["start_syncer.sh", "stop_syncer.sh"] {
        let output = sandbox.run(name, &["--no_such_option"]);
        assert_eq!(output.status.code(), Some(1), "{name}");
        assert!(text(&output.stderr).contains("unknown option"), "{name}");
        assert!(text(&output.stderr).contains("Usage:"), "{name}");
    }

    let output = sandbox.run("start_syncer.sh", &["--db_user", "someone"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("sqlite3 is only for local for now"));

    let output = sandbox.run("enable_db_binlog.sh", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("db is empty"));
}

/// A fake `mysql` client: appends each statement to $FAKE_MYSQL_LOG, its arguments and the
/// MYSQL_PWD it saw to $FAKE_MYSQL_LOG.argv, and answers like a Doris FE in batch mode for a
/// database `shop` with tables `orders` (binlog off), `items` (binlog on), a view `recent` and
/// a table named with a backquote and a dash.
const FAKE_MYSQL: &str = r#"#!/usr/bin/env bash
set -euo pipefail
sql=""
for arg in "$@"; do
    case "$arg" in --execute=*) sql="${arg#--execute=}" ;; esac
done
printf '%s\n' "$sql" >>"$FAKE_MYSQL_LOG"
printf '%s | MYSQL_PWD=%s\n' "$*" "${MYSQL_PWD:-}" >>"$FAKE_MYSQL_LOG.argv"
case "$sql" in
"SHOW CREATE DATABASE "*) printf 'shop\tCREATE DATABASE `shop`\n' ;;
"SHOW FULL TABLES FROM "*)
    printf 'orders\tBASE TABLE\nitems\tBASE TABLE\nrecent\tVIEW\nodd`na-me\tBASE TABLE\n' ;;
*'.`items`')
    printf 'items\tCREATE TABLE `items` (\n`id` int\n) PROPERTIES (\n"binlog.enable" = "true",\n"binlog.ttl_seconds" = "86400"\n);\n' ;;
"SHOW CREATE TABLE "*)
    printf 't\tCREATE TABLE `t` (\n`id` int\n) PROPERTIES (\n"replication_allocation" = "tag.location.default: 1"\n);\n' ;;
ALTER*) ;;
*) echo "ERROR 1064 (42000): unexpected statement: $sql" >&2; exit 1 ;;
esac
"#;

#[test]
fn enable_db_binlog_enables_tables_then_database() {
    let sandbox = Sandbox::new();
    let path = sandbox.fake_mysql(FAKE_MYSQL);
    let log = sandbox.path().join("statements.log");

    let output = sandbox
        .command("enable_db_binlog.sh")
        .args([
            "-h",
            "fe.example",
            "-p",
            "9031",
            "-u",
            "admin",
            "-P",
            "s3cret",
        ])
        .args(["-d", "shop"])
        .env("PATH", path)
        .env("FAKE_MYSQL_LOG", &log)
        .output()
        .expect("run enable_db_binlog.sh");
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );

    let statements = fs::read_to_string(&log).expect("read statement log");
    let statements: Vec<&str> = statements.lines().collect();
    let on = r#"("binlog.enable" = "true", "binlog.ttl_seconds" = "86400")"#;
    assert_eq!(
        statements,
        vec![
            "SHOW CREATE DATABASE `shop`".to_string(),
            "SHOW FULL TABLES FROM `shop`".to_string(),
            "SHOW CREATE TABLE `shop`.`orders`".to_string(),
            format!("ALTER TABLE `shop`.`orders` SET {on}"),
            "SHOW CREATE TABLE `shop`.`items`".to_string(),
            "SHOW CREATE TABLE `shop`.`odd``na-me`".to_string(),
            format!("ALTER TABLE `shop`.`odd``na-me` SET {on}"),
            format!("ALTER DATABASE `shop` SET PROPERTIES {on}"),
        ]
    );

    // Connection options reach the client; the password only through the environment.
    let argv = fs::read_to_string(sandbox.path().join("statements.log.argv")).expect("argv log");
    for line in argv.lines() {
        assert!(line.contains("--host=fe.example"), "{line}");
        assert!(line.contains("--port=9031"), "{line}");
        assert!(line.contains("--user=admin"), "{line}");
        let (args, env) = line.split_once(" | ").expect("argv line shape");
        assert!(
            !args.contains("s3cret"),
            "password on the command line: {line}"
        );
        assert_eq!(env, "MYSQL_PWD=s3cret");
    }
}

#[test]
fn enable_db_binlog_fails_when_the_client_fails() {
    let sandbox = Sandbox::new();
    let path = sandbox.fake_mysql(
        "#!/usr/bin/env bash\necho \"ERROR 2003 (HY000): Can't connect\" >&2\nexit 1\n",
    );

    let output = sandbox
        .command("enable_db_binlog.sh")
        .args(["-d", "shop"])
        .env("PATH", path)
        .output()
        .expect("run enable_db_binlog.sh");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("cannot read database shop"),
        "{}",
        text(&output.stderr)
    );
}
