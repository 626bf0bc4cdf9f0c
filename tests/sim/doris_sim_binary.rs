//! The `doris_sim` binary as an operator runs it: flags, the one JSON line on stdout, a
//! MySQL client against the printed port, a Thrift client against the printed rpc port, and
//! a clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ccr_doris::rpc::{FeClient, RpcAddress, RpcTimeouts};
use ccr_wire::frontend_service::TLockBinlogRequest;
use serde_json::Value;

/// How long the binary may take to print its line, or to exit after SIGTERM (debug build
/// on a busy two-core machine).
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Poll interval while waiting for the process to exit.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// A running `doris_sim`, killed if a test fails before stopping it.
struct SimProcess {
    child: Child,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn doris_sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_doris_sim"))
}

/// Starts the binary on free ports and returns it with its JSON line, parsed.
fn spawn(extra: &[&str]) -> (SimProcess, Value, BufReader<std::process::ChildStdout>) {
    let mut child = doris_sim()
        .args(["--query-port", "0", "--rpc-port", "0", "--http-port", "0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("doris_sim starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let process = SimProcess { child };
    // Read the line on a helper thread so a silent binary fails the test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).map(|_| line);
        let _ = tx.send((read, stdout));
    });
    let (line, stdout) = rx
        .recv_timeout(WAIT_TIMEOUT)
        .expect("doris_sim prints its line in time");
    let line = line.expect("stdout readable");
    let json: Value =
        serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    (process, json, stdout)
}

fn port(value: &Value) -> u16 {
    let port = value.as_u64().expect("numeric port");
    assert!(port > 0, "a real port, not 0");
    u16::try_from(port).expect("TCP port")
}

fn mariadb(query_port: u16, statement: &str) -> String {
    let output = Command::new("mariadb")
        .args(["--no-defaults", "--batch", "--skip-column-names"])
        .args(["-h127.0.0.1", &format!("-P{query_port}"), "-uroot", "-e"])
        .arg(statement)
        .output()
        .expect("mariadb runs");
    assert!(
        output.status.success(),
        "{statement}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// SIGTERM, then the exit status (bounded wait).
fn terminate(mut process: SimProcess) -> std::process::ExitStatus {
    let pid = process.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        if let Some(status) = process.child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "doris_sim ignored SIGTERM");
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[test]
fn prints_one_json_line_serves_mysql_and_exits_on_sigterm() {
    let (process, cluster, mut stdout) = spawn(&["--backends", "2", "--log-level", "warn"]);
    let fe = &cluster["fe"];
    let query_port = port(&fe["query_port"]);
    port(&fe["rpc_port"]);
    port(&fe["http_port"]);
    let backends = cluster["backends"].as_array().expect("backends array");
    assert_eq!(backends.len(), 2);
    for backend in backends {
        assert!(backend["id"].as_i64().is_some());
        port(&backend["be_port"]);
        port(&backend["http_port"]);
    }

    let listed = mariadb(query_port, "SHOW BACKENDS");
    assert_eq!(listed.lines().count(), 2, "{listed}");
    mariadb(query_port, "CREATE DATABASE smoke");
    assert!(mariadb(query_port, "SHOW DATABASES")
        .lines()
        .any(|line| line == "smoke"));

    let status = terminate(process);
    assert!(status.success(), "exit status {status}");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout readable");
    assert_eq!(rest, "", "exactly one line on stdout");
}

#[test]
fn binlog_flavor_flag_selects_the_fe_generation() {
    let (process, cluster, _stdout) = spawn(&["--backends", "1", "--binlog-flavor", "doris-2.1"]);
    let rpc_port = port(&cluster["fe"]["rpc_port"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // A 2.1 FE does not know lockBinlog.
    let error = runtime
        .block_on(async {
            FeClient::new(
                vec![RpcAddress::new("127.0.0.1", rpc_port)],
                RpcTimeouts::default(),
            )
            .lock_binlog(TLockBinlogRequest::default())
            .await
        })
        .unwrap_err();
    assert!(error.is_unknown_method(), "{error}");
    assert!(terminate(process).success());
}

#[test]
fn help_documents_every_flag_and_bad_flags_are_refused() {
    let output = doris_sim().arg("--help").output().expect("doris_sim runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--query-port",
        "--rpc-port",
        "--http-port",
        "--backends",
        "--root-password",
        "--fe-binlog",
        "--be-binlog",
        "--binlog-flavor",
        "--log-level",
    ] {
        let line = help
            .lines()
            .position(|line| line.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} missing from --help:\n{help}"));
        let description = help.lines().nth(line + 1).unwrap_or_default();
        assert!(
            !description.trim().is_empty(),
            "{flag} has no description:\n{help}"
        );
    }
    assert!(help.contains("doris-2.1") && help.contains("newest"));

    for bad in [
        &["--binlog-flavor", "doris-1.2"][..],
        &["--log-level", "loud=very=much"][..],
    ] {
        let output = doris_sim()
            .args(bad)
            .stdout(Stdio::piped())
            .output()
            .expect("doris_sim runs");
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?} printed a cluster line");
    }
}

/// The SIGTERM handler is in place before the ready line: a caller that stops the cluster
/// the moment it reads the line gets a clean exit, not a death by the signal. (Once the
/// handler came after the line, and a loaded machine lost that race.)
#[test]
fn a_sigterm_right_after_the_ready_line_is_a_clean_stop() {
    for _ in 0..10 {
        let (process, _cluster, _stdout) = spawn(&["--backends", "1", "--log-level", "warn"]);
        assert!(terminate(process).success());
    }
}
