//! The operator's newer routes end to end: `/job_skip_binlog` (silence, fullsync,
//! partialsync) and the `/view` page.

use crate::support;

use serde_json::{json, Value};
use support::{wait_job_status, wait_synced, wait_until, Replication, CATCH_UP, TABLE_PROPS};

fn table_sql(name: &str) -> String {
    format!(
        "CREATE TABLE src_db.{name} (id INT, v INT) DUPLICATE KEY(id) \
         DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
    )
}

fn skip(replication: &Replication, body: Value) -> Value {
    replication
        .syncer
        .post("/job_skip_binlog", &body.to_string())
        .1
}

/// Whether `table`'s definition carries the comment the test sets on the source.
fn has_the_comment(cluster: &support::TestCluster, table: &str) -> bool {
    cluster
        .sql(&format!("SHOW CREATE TABLE {table}"))
        .contains("nightly orders")
}

#[test]
fn a_binlog_the_target_refuses_is_skipped_by_seq_and_only_that_one() {
    let replication = Replication::start(&table_sql("t"));
    replication.create_job("t", "t", "t");
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    wait_synced(syncer, "t", src, dest, &[("src_db.t", "dest_db.t")]);

    // The target refuses the comment change (as a target missing a feature would); the
    // load behind it must not be lost by skipping it.
    dest.add_fault(json!({"sql": "MODIFY COMMENT", "action": "sql_error", "message": "comments are frozen here", "times": 0}));
    src.sql("ALTER TABLE src_db.t MODIFY COMMENT 'nightly orders'; INSERT INTO src_db.t VALUES (1, 10), (2, 20)");
    let mut stuck_on = 0;
    wait_job_status(
        syncer,
        "t",
        "the job to report the binlog it fails on",
        |status| {
            stuck_on = status["failing_commit_seq"].as_i64().unwrap_or(0);
            stuck_on > 0
                && status["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("comments are frozen"))
        },
    );

    for (body, wanted) in [
        (
            json!({"name": "t", "skip_by": "silence", "skip_commit_seq": stuck_on + 1}),
            "is stuck on the binlog at commit seq",
        ),
        (
            json!({"name": "t", "skip_by": "silence"}),
            "skip_commit_seq must be",
        ),
        (
            json!({"name": "t", "skip_by": "sideways", "skip_commit_seq": stuck_on}),
            "unknown skip_by",
        ),
        (
            json!({"name": "nope", "skip_by": "silence", "skip_commit_seq": stuck_on}),
            "job nope not exist",
        ),
        (
            json!({"skip_by": "silence", "skip_commit_seq": stuck_on}),
            "name is empty",
        ),
        (
            json!({"name": "t", "skip_by": "partialsync", "table": "t"}),
            "replicates one table",
        ),
    ] {
        let answer = skip(&replication, body.clone());
        assert_eq!(answer["success"], false, "{body} → {answer}");
        let message = answer["error_msg"].as_str().unwrap();
        assert!(message.contains(wanted), "{body} → {message}");
    }
    assert_eq!(
        syncer.job_status("t")["failing_commit_seq"].as_i64(),
        Some(stuck_on),
        "a refused skip changes nothing"
    );

    let answer = skip(
        &replication,
        json!({"name": "t", "skip_by": "SILENCE", "skip_commit_seq": stuck_on}),
    );
    assert_eq!(answer, json!({"success": true}));
    wait_synced(syncer, "t", src, dest, &[("src_db.t", "dest_db.t")]);
    let status = syncer.job_status("t");
    assert_eq!(
        status["skipped_binlogs"]["skipped by the operator (job_skip_binlog)"].as_i64(),
        Some(stuck_on),
        "{status}"
    );
    assert!(status.get("failing_commit_seq").is_none(), "{status}");
    assert!(has_the_comment(src, "src_db.t"));
    assert!(
        !has_the_comment(dest, "dest_db.t"),
        "the skipped change is not on the target"
    );

    // A skip is no longer possible once the job is past it.
    let answer = skip(
        &replication,
        json!({"name": "t", "skip_by": "silence", "skip_commit_seq": stuck_on}),
    );
    assert!(
        answer["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("is not failing on any binlog")),
        "{answer}"
    );

    // skip_by fullsync snapshots the table again: a row lost on the target comes back.
    dest.clear_faults();
    dest.sql("DELETE FROM dest_db.t WHERE id = 1");
    assert_eq!(dest.rows("dest_db.t"), "2\t20\n");
    let answer = skip(&replication, json!({"name": "t", "skip_by": "fullsync"}));
    assert_eq!(answer, json!({"success": true}));
    wait_synced(syncer, "t", src, dest, &[("src_db.t", "dest_db.t")]);
    let progress = syncer.job_progress("t");
    assert_eq!(
        progress["full_sync_reason"], "requested by the operator",
        "{progress}"
    );
}

#[test]
fn a_partial_sync_by_request_restores_one_table_of_a_database_job() {
    let replication = Replication::start(&format!("{}; {}", table_sql("a"), table_sql("b")));
    replication.create_job("db", "", "");
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    src.sql("INSERT INTO src_db.a VALUES (1, 1), (2, 2); INSERT INTO src_db.b VALUES (3, 3)");
    let tables = [("src_db.a", "dest_db.a"), ("src_db.b", "dest_db.b")];
    wait_synced(syncer, "db", src, dest, &tables);

    // Someone wrote to the target behind the syncer's back: both tables now differ.
    dest.sql("INSERT INTO dest_db.a VALUES (9, 9); INSERT INTO dest_db.b VALUES (8, 8)");
    let answer = skip(
        &replication,
        json!({"name": "db", "skip_by": "partialsync", "table": "missing"}),
    );
    assert!(
        answer["error_msg"]
            .as_str()
            .is_some_and(|m| m.contains("does not replicate table")),
        "{answer}"
    );
    let answer = skip(
        &replication,
        json!({"name": "db", "skip_by": "partialsync", "skip_table": "a"}),
    );
    assert_eq!(answer, json!({"success": true}));
    wait_until("table a to be restored from the source", CATCH_UP, || {
        let rows = dest.try_rows("dest_db.a");
        if rows == "1\t1\n2\t2\n" {
            Ok(())
        } else {
            Err(rows)
        }
    });
    // Only that table was snapshotted: b keeps the stray row, and replication goes on.
    src.sql("INSERT INTO src_db.a VALUES (4, 4)");
    wait_until(
        "the job to replicate after the partial sync",
        CATCH_UP,
        || {
            let rows = dest.try_rows("dest_db.a");
            if rows == "1\t1\n2\t2\n4\t4\n" && support::caught_up(syncer, "db").is_ok() {
                Ok(())
            } else {
                Err(rows)
            }
        },
    );
    assert_eq!(dest.rows("dest_db.b"), "3\t3\n8\t8\n");
}

/// Runs headless Chromium (Debian's `chromium`, which `.ci/run` installs) with `args`
/// ending in a URL; its standard output.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("chromium runs (apt-get install chromium; .ci/run installs it)");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The cells of the `<tr data-job="...">` line of the page's DOM.
fn row_cells(dom: &str, job: &str) -> Vec<String> {
    let start = dom
        .find(&format!("data-job=\"{job}\""))
        .unwrap_or_else(|| panic!("no line of job {job} in {dom}"));
    let line = &dom[start..dom[start..].find("</tr>").unwrap() + start];
    line.split("<td")
        .skip(1)
        .map(|cell| {
            let text = &cell[cell.find('>').unwrap() + 1..];
            text[..text.find("</td>").unwrap()].to_owned()
        })
        .collect()
}

#[test]
fn the_view_page_shows_every_job_in_a_browser_and_as_text_tsv_and_json() {
    let replication = Replication::start(&format!("{}; {}", table_sql("t"), table_sql("u")));
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    replication.create_job("orders", "t", "t");
    syncer.create_ccr(&json!({
        "name": "everything",
        "src": src.spec("src_db", ""),
        "dest": dest.spec("dest_db_all", ""),
    }));
    src.sql("INSERT INTO src_db.t VALUES (1, 1)");
    wait_synced(syncer, "orders", src, dest, &[("src_db.t", "dest_db.t")]);
    wait_synced(
        syncer,
        "everything",
        src,
        dest,
        &[("src_db.u", "dest_db_all.u")],
    );
    syncer.pause("everything");
    wait_job_status(syncer, "everything", "the pause", |s| {
        s["state"] == "paused"
    });

    let dom = chromium(&["--dump-dom", &syncer.url("/view")]);
    assert!(dom.contains("<h1>Jobs of syncer"), "{dom}");
    assert!(dom.contains("2 job(s)"), "{dom}");
    let orders = row_cells(&dom, "orders");
    assert_eq!(orders[0], "orders");
    assert_eq!(orders[1], "table");
    assert_eq!(orders[2], "running");
    assert!(orders[3].starts_with("TableIncrementalSync/"), "{orders:?}");
    assert_eq!(orders[4], "0", "lag in binlogs: {orders:?}");
    assert_eq!(orders[8], "the job was created", "{orders:?}");
    assert!(!orders[7].is_empty(), "last full sync time: {orders:?}");
    assert_eq!(orders[9], "false");
    let everything = row_cells(&dom, "everything");
    assert_eq!(everything[1], "db");
    assert_eq!(everything[2], "paused");
    assert!(everything[3].starts_with("DB"), "{everything:?}");

    let screenshot = ccr_tests::repo_root().join("target/view-page.png");
    chromium(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1600,400",
        &syncer.url("/view"),
    ]);
    let png = std::fs::read(&screenshot).expect("the screenshot is written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 2000,
        "{} bytes",
        png.len()
    );

    let (status, text) = syncer.post_raw("/view?format=text", "");
    assert_eq!(status, 200);
    assert!(
        text.lines().nth(1).unwrap().contains("| Job Name"),
        "{text}"
    );
    assert!(text.contains("| orders "), "{text}");
    let (_, tsv) = syncer.post_raw("/view?type=raw", "");
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines.len(), 3, "{tsv}");
    assert!(lines[0].starts_with("Job Name\tType\tState"), "{tsv}");
    let (_, json) = syncer.post_raw("/view?format=json", "");
    let json: Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = json["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"orders") && names.contains(&"everything"));
    let (status, bad) = syncer.post_raw("/view?format=xml", "");
    assert_eq!(status, 400);
    assert!(bad.contains("unknown view format"), "{bad}");
}

#[test]
fn the_live_openapi_document_covers_the_routes_and_the_readme_shows_each_with_curl() {
    let dir = tempfile::tempdir().unwrap();
    let syncer = support::Syncer::start(dir.path(), &[]);
    let (status, text) = syncer.post_raw("/openapi.json", "");
    assert_eq!(status, 200);
    let document: Value = serde_json::from_str(&text).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let paths = document["paths"].as_object().unwrap();
    for route in [
        "/create_ccr",
        "/job_skip_binlog",
        "/view",
        "/validate",
        "/update_host_mapping",
    ] {
        assert!(
            paths.contains_key(route),
            "{route} missing from the document"
        );
    }
    // Every route answers with the envelope the document gives it; the error envelope is
    // a component.
    assert!(document["components"]["schemas"]["ErrorAnswer"].is_object());
    let readme = std::fs::read_to_string(ccr_tests::repo_root().join("README.md")).unwrap();
    for path in paths.keys() {
        let in_table = readme
            .lines()
            .any(|line| line.starts_with('|') && line.contains(&format!("`{path}`")));
        assert!(in_table, "README's API table has no row for {path}");
        let curl = readme
            .lines()
            .any(|line| line.starts_with("curl") && line.contains(&format!("$S{path}")));
        assert!(curl, "README shows no curl example of {path}");
    }
}
