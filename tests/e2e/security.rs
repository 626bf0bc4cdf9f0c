//! The API token and secrets: which routes need `Authorization: Bearer`, what a refusal
//! looks like, that peers forward with the token; cluster passwords encrypted at rest (and
//! re-encrypted on rotation), passwords given in MySQL `AES_ENCRYPT` form, and that no
//! answer or log line ever holds a password. The simulated clusters enforce the root
//! password, so a job that replicates proves its decrypted password right.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::{mysql_syncer_with, wait_until, MariaDbDatabase, Syncer, TestCluster, CATCH_UP};

const TOKEN: &str = "e2e-api-token-5b1f0c7d9a";
const SRC_PASSWORD: &str = "Src-Pw-7f3a9c41";
const DEST_PASSWORD: &str = "Dest-Pw-2b8e1d63";
/// Two AES-256 keys, in the two accepted spellings.
const KEY_1_HEX: &str = "8f1c3a5e7b9d0f2143658799abcdef0123456789abcdef0fedcba98765432101";
const KEY_2_BASE64: &str = "q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=";

/// An HTTP answer with its headers.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// POSTs `{}` to `url` with `headers`, keeping the response headers.
fn post(url: &str, headers: &[&str]) -> Answer {
    let output = Command::new("curl")
        .args(["-s", "-i", "-X", "POST", "-d", "{}", "--max-time", "60"])
        .args(headers.iter().flat_map(|h| ["-H", *h]))
        .arg(url)
        .output()
        .expect("curl is installed");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    Answer {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn assert_refused(answer: &Answer, message: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(
        answer.json(),
        json!({"success": false, "error_msg": message}),
        "the usual envelope"
    );
    assert!(
        answer.headers.contains("www-authenticate: bearer"),
        "{}",
        answer.headers
    );
}

const MISSING: &str = "missing API token: send the header Authorization: Bearer <token>";
const WRONG: &str = "wrong API token";

#[test]
fn the_api_token_guards_every_route_but_version_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = write_file(dir.path(), "token", &format!("{TOKEN}\n"));
    let db = dir.path().join("ccr.db");
    let syncer = Syncer::start(
        dir.path(),
        &[
            "--db_dir",
            db.to_str().unwrap(),
            "--api_token_file",
            &token_file,
        ],
    );
    let right = bearer(TOKEN);
    for route in [
        "/list_jobs",
        "/job_status",
        "/create_ccr",
        "/features",
        "/syncers",
        "/delete",
        "/no_such_route",
    ] {
        assert_refused(&post(&syncer.url(route), &[]), MISSING);
        assert_refused(
            &post(&syncer.url(route), &[&bearer("e2e-api-token-5b1f0c7d9b")]),
            WRONG,
        );
        assert_refused(&post(&syncer.url(route), &[&bearer(&TOKEN[..10])]), WRONG);
        assert_refused(
            &post(
                &syncer.url(route),
                &[&format!("Authorization: Basic {TOKEN}")],
            ),
            MISSING,
        );
    }
    let listed = post(&syncer.url("/list_jobs"), &[&right]);
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json(), json!({"success": true, "jobs": []}));
    // The token admits the call; the route then answers as without a token.
    let unknown = post(&syncer.url("/no_such_route"), &[&right]);
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let lowercase = post(
        &syncer.url("/features"),
        &[&format!("authorization: bearer {TOKEN}")],
    );
    assert_eq!(lowercase.status, 200);

    assert_eq!(post(&syncer.url("/version"), &[]).status, 200);
    let metrics = post(&syncer.url("/metrics"), &[]);
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("ccr_syncer_"), "{}", metrics.body);

    assert!(syncer.log().contains("ccr_syncer listening"));
    assert!(!syncer.log().contains(TOKEN), "the token is never logged");
}

#[test]
fn metrics_need_the_token_with_metrics_require_token_and_the_token_may_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    let syncer = Syncer::start_with_env(
        dir.path(),
        &["--db_dir", db.to_str().unwrap(), "--metrics_require_token"],
        &[("CCR_API_TOKEN", TOKEN)],
    );
    assert_refused(&post(&syncer.url("/metrics"), &[]), MISSING);
    assert_refused(&post(&syncer.url("/list_jobs"), &[]), MISSING);
    assert_eq!(post(&syncer.url("/metrics"), &[&bearer(TOKEN)]).status, 200);
    assert_eq!(
        post(&syncer.url("/list_jobs"), &[&bearer(TOKEN)]).status,
        200
    );
    assert_eq!(post(&syncer.url("/version"), &[]).status, 200);
    assert!(!syncer.log().contains(TOKEN), "the token is never logged");
}

#[test]
fn a_key_file_of_the_wrong_size_or_a_short_token_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    let short_key = write_file(dir.path(), "key", &KEY_1_HEX[..32]);
    let short_token = write_file(dir.path(), "token", "short");
    let run = |flag: &str, file: &str| {
        Command::new(ccr_tests::binary("ccr_syncer"))
            .args(["--port", &support::free_port().to_string()])
            .args(["--db_dir", db.to_str().unwrap(), flag, file])
            .output()
            .unwrap()
    };
    let output = run("--secret_key_file", &short_key);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("must be 32 bytes") && stderr.contains(&short_key),
        "{stderr}"
    );
    assert!(!stderr.contains(&KEY_1_HEX[..32]), "the key is not echoed");
    let output = run("--api_token_file", &short_token);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// Passwords

/// A simulated cluster whose root password is `password` (the FE refuses any other).
fn cluster_with_password(password: &str) -> TestCluster {
    let mut config = doris_sim::launch::SimConfig::default();
    config.cluster.root_password = ccr_wire::secret::Secret::new(password);
    TestCluster::start_with(config)
}

/// Runs SQL as root with `password`, with the `mariadb` client.
fn sql(cluster: &TestCluster, password: &str, statements: &str) -> String {
    let output = Command::new("mariadb")
        .args(["-h127.0.0.1", "-P", &cluster.query_port().to_string()])
        .args([
            "-uroot",
            &format!("-p{password}"),
            "-N",
            "-B",
            "-e",
            statements,
        ])
        .output()
        .expect("mariadb client is installed");
    assert!(
        output.status.success(),
        "SQL failed: {statements}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A source with `src_db.t` (one row) and an empty target, each with its own password.
fn clusters() -> (TestCluster, TestCluster) {
    let src = cluster_with_password(SRC_PASSWORD);
    sql(
        &src,
        SRC_PASSWORD,
        &format!(
            "CREATE DATABASE src_db {};
             CREATE TABLE src_db.t (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)
               BUCKETS 2 {};
             INSERT INTO src_db.t VALUES (1, 1);",
            support::DB_PROPS,
            support::TABLE_PROPS
        ),
    );
    (src, cluster_with_password(DEST_PASSWORD))
}

fn spec(cluster: &TestCluster, database: &str, password: &str) -> Value {
    json!({"host": "127.0.0.1", "port": cluster.query_port().to_string(),
           "thrift_port": cluster.rpc_port().to_string(), "user": "root",
           "password": password, "database": database, "table": "t"})
}

/// Inserts row `id` on the source and waits until the target has it: the job logs in to
/// both clusters with the right passwords.
fn replicates(syncer: &Syncer, src: &TestCluster, dest: &TestCluster, id: i32) {
    sql(
        src,
        SRC_PASSWORD,
        &format!("INSERT INTO src_db.t VALUES ({id}, {id})"),
    );
    wait_until(&format!("row {id} on the target"), CATCH_UP, || {
        let (_, status) = syncer.post("/job_status", r#"{"name":"secret_job"}"#);
        let got = Command::new("mariadb")
            .args(["-h127.0.0.1", "-P", &dest.query_port().to_string()])
            .args(["-uroot", &format!("-p{DEST_PASSWORD}"), "-N", "-B", "-e"])
            .arg(format!("SELECT count(*) FROM dest_db.t WHERE id = {id}"))
            .output()
            .unwrap();
        if String::from_utf8_lossy(&got.stdout).trim() == "1" {
            Ok(())
        } else {
            Err(status.to_string())
        }
    });
}

/// Whether any file of the SQLite store (the database, its WAL) holds `needle`.
fn store_files_contain(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        name.starts_with("ccr.db")
            && std::fs::read(entry.path())
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
    })
}

fn key_id(text: &str) -> String {
    ccr_core::secrets::SecretKey::parse(&ccr_wire::secret::Secret::new(text))
        .unwrap()
        .id()
        .to_owned()
}

#[test]
fn passwords_are_encrypted_at_rest_once_a_key_is_given_and_survive_key_rotation() {
    let (src, dest) = clusters();
    let dir = tempfile::tempdir().unwrap();
    let key_1 = write_file(dir.path(), "key1", &format!("{KEY_1_HEX}\n"));
    let key_2 = write_file(dir.path(), "key2", KEY_2_BASE64);
    let mut syncer = Syncer::start_replicating(dir.path(), &[]);
    syncer.create_ccr(&json!({
        "name": "secret_job",
        "src": spec(&src, "src_db", SRC_PASSWORD),
        "dest": spec(&dest, "dest_db", DEST_PASSWORD),
    }));
    replicates(&syncer, &src, &dest, 2);
    syncer.stop();
    // Without a key the passwords are stored as given (the README says so).
    assert!(store_files_contain(dir.path(), SRC_PASSWORD));

    // A key: the stored rows are re-encrypted at start; the job still logs in.
    syncer.set_restart_flags(&[], &["--secret_key_file", &key_1]);
    syncer.restart();
    for password in [SRC_PASSWORD, DEST_PASSWORD] {
        assert!(
            !store_files_contain(dir.path(), password),
            "{password} is still in the SQLite files"
        );
    }
    assert!(store_files_contain(
        dir.path(),
        &format!("enc:v1:{}:", key_id(KEY_1_HEX))
    ));
    replicates(&syncer, &src, &dest, 3);
    syncer.stop();

    // Rotation: the old key decrypts, the new one re-encrypts.
    syncer.set_restart_flags(
        &["--secret_key_file"],
        &["--secret_key_file", &key_2, "--old_secret_key_file", &key_1],
    );
    syncer.restart();
    assert!(store_files_contain(
        dir.path(),
        &format!("enc:v1:{}:", key_id(KEY_2_BASE64))
    ));
    assert!(!store_files_contain(
        dir.path(),
        &format!("enc:v1:{}:", key_id(KEY_1_HEX))
    ));
    replicates(&syncer, &src, &dest, 4);
    syncer.stop();

    // Only the retired key: the job cannot log in and says so, the syncer keeps serving.
    syncer.set_restart_flags(
        &["--secret_key_file", "--old_secret_key_file"],
        &["--secret_key_file", &key_1],
    );
    syncer.restart();
    let status = syncer.job_status("secret_job");
    let reason = status["needs_operator"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("cannot decrypt the stored src password")
            && reason.contains(&key_id(KEY_2_BASE64)),
        "{status}"
    );
    assert_eq!(syncer.list_jobs(), ["secret_job"]);
    assert_eq!(
        syncer.metric("ccr_syncer_jobs_needing_operator"),
        "1",
        "counted as needing an operator"
    );
    assert!(syncer
        .log()
        .contains("stored job record cannot be read; the job needs an operator"));
    for password in [SRC_PASSWORD, DEST_PASSWORD] {
        assert!(!syncer.log().contains(password), "{password} in the log");
    }
    // The way out the hint names: the job can still be deleted.
    syncer.delete("secret_job");
    assert!(syncer.list_jobs().is_empty());
}

/// `TO_BASE64(AES_ENCRYPT(password, key))` computed by the local MariaDB.
fn mariadb_aes_encrypt(password: &str, key: &str) -> String {
    let output = Command::new("mariadb")
        .args(["-h127.0.0.1", "-P3306", "-uroot", "-N", "-B", "-e"])
        .arg(format!(
            "SELECT TO_BASE64(AES_ENCRYPT('{password}', '{key}'))"
        ))
        .output()
        .expect("mariadb client is installed");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn an_aes_encrypt_password_is_accepted_and_no_answer_or_log_line_shows_a_password() {
    let (src, dest) = clusters();
    let dir = tempfile::tempdir().unwrap();
    let migration_key = "migration-tool-key-0451";
    let encrypted_src = mariadb_aes_encrypt(SRC_PASSWORD, migration_key);
    assert!(!encrypted_src.is_empty() && !encrypted_src.contains(SRC_PASSWORD));
    let syncer = Syncer::start_with_env(
        dir.path(),
        &[
            "--db_dir",
            dir.path().join("ccr.db").to_str().unwrap(),
            "--idle_poll_interval",
            "100ms",
        ],
        &[("CCR_SECRET_KEY", KEY_2_BASE64), ("CCR_API_TOKEN", TOKEN)],
    )
    .with_api_token(TOKEN);

    // The clusters check passwords: the ciphertext itself does not log in.
    let mut src_spec = spec(&src, "src_db", &encrypted_src);
    let refused = syncer.try_create_ccr(&json!({
        "name": "secret_job", "src": src_spec, "dest": spec(&dest, "dest_db", DEST_PASSWORD),
    }));
    assert!(
        refused["error_msg"]
            .as_str()
            .unwrap()
            .contains("rejected the login"),
        "{refused}"
    );
    src_spec["password_secret_key"] = json!("not-the-key");
    let refused = syncer.try_create_ccr(&json!({
        "name": "secret_job", "src": src_spec, "dest": spec(&dest, "dest_db", DEST_PASSWORD),
    }));
    assert_eq!(refused["success"], false);
    assert!(
        refused["error_msg"]
            .as_str()
            .unwrap()
            .contains("src password does not decrypt with password_secret_key"),
        "{refused}"
    );
    src_spec["password_secret_key"] = json!(migration_key);
    syncer.create_ccr(&json!({
        "name": "secret_job", "src": src_spec, "dest": spec(&dest, "dest_db", DEST_PASSWORD),
    }));
    replicates(&syncer, &src, &dest, 2);
    assert!(!store_files_contain(dir.path(), SRC_PASSWORD));
    assert!(!store_files_contain(dir.path(), migration_key));

    let name = r#"{"name":"secret_job"}"#;
    let mut answers = Vec::new();
    for (route, body) in [
        ("/job_detail", name),
        ("/job_progress", name),
        ("/job_status", name),
        ("/get_lag", name),
        ("/list_jobs", "{}"),
        ("/list_jobs", r#"{"detail":true}"#),
        ("/syncers", "{}"),
        ("/features", "{}"),
        ("/metrics", "{}"),
        ("/version", "{}"),
        ("/pause", name),
        ("/update_job", r#"{"name":"secret_job","skip_error":true}"#),
        ("/resume", name),
        ("/job_detail?forward=1", name),
    ] {
        let (status, answer) = syncer.post_raw(route, body);
        assert_eq!(status, 200, "{route}: {answer}");
        answers.push(format!("{route}: {answer}"));
    }
    let detail = syncer.job_detail("secret_job");
    assert_eq!(detail["src"]["password"], "******", "{detail}");
    let log = syncer.log();
    for secret in [
        SRC_PASSWORD,
        DEST_PASSWORD,
        migration_key,
        &encrypted_src,
        KEY_2_BASE64,
        TOKEN,
    ] {
        for answer in &answers {
            assert!(!answer.contains(secret), "{secret} in {answer}");
        }
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

// ---------------------------------------------------------------------------------------
// Peers

#[test]
fn peers_forward_and_redirect_calls_with_the_token() {
    let src = TestCluster::source(&format!(
        "CREATE TABLE src_db.t (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id)
           BUCKETS 2 {};",
        support::TABLE_PROPS
    ));
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let token_file = write_file(dirs.0.path(), "token", TOKEN);
    let flags = ["--api_token_file", token_file.as_str()];
    let a = mysql_syncer_with(&dirs.0, &database.0, &flags).with_api_token(TOKEN);
    let b = mysql_syncer_with(&dirs.1, &database.0, &flags).with_api_token(TOKEN);
    a.create_ccr(&json!({"name": "peer_job", "src": src.spec("src_db", "t"),
                         "dest": dest.spec("dest_db", "t")}));
    // Created on a (the least loaded, asked first): b redirects or forwards to it.
    wait_until("a to answer for the job", Duration::from_secs(60), || {
        let (status, answer) = a.post("/job_status", r#"{"name":"peer_job"}"#);
        (status == 200 && answer["success"] == true)
            .then_some(())
            .ok_or(answer.to_string())
    });

    // Forwarded by b, which must send the token to a (a refuses calls without it).
    let (status, answer) = b.post("/job_status?forward=1", r#"{"name":"peer_job"}"#);
    assert_eq!(
        (status, &answer["success"]),
        (200, &json!(true)),
        "{answer}"
    );
    assert_eq!(answer["status"]["name"], "peer_job");

    // The reference's 303: curl follows it with the header when told the target is
    // trusted (it drops credentials on a redirect to another port otherwise).
    let followed = Command::new("curl")
        .args(["-s", "-L", "--location-trusted", "--post303", "-X", "POST"])
        .args(["-H", &bearer(TOKEN), "-d", r#"{"name":"peer_job"}"#])
        .arg(b.url("/job_status"))
        .output()
        .unwrap();
    let followed: Value = serde_json::from_slice(&followed.stdout).unwrap();
    assert_eq!(followed["success"], true, "{followed}");
    assert_eq!(followed["status"]["name"], "peer_job");
    // Without a token b refuses before it even looks for the owner.
    let refused = post(&b.url("/job_status?forward=1"), &[]);
    assert_refused(&refused, MISSING);
}
