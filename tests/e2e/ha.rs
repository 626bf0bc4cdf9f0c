//! High availability: two syncers share one MariaDB metadata database; when the owner of a
//! job dies, the other adopts the job and replication goes on from the stored progress.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{
    mysql_syncer_with, proxied_mysql_syncer, wait_synced, wait_until, MariaDbDatabase, Syncer,
    TcpProxy, TestCluster,
};

/// Heartbeat every second, dead after four: the lease of a syncer lasts three seconds.
const FAST_HA: [&str; 4] = ["--heartbeat_interval", "1s", "--dead_after", "4s"];

/// Two syncers on one fresh MariaDB metadata database (directly, or through `proxy`), a
/// source holding `src_db.t` with one row, and an empty target.
struct HaPair {
    // Declared first, dropped first: the syncers stop before their store goes.
    a: Syncer,
    b: Syncer,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _database: MariaDbDatabase,
    src: TestCluster,
    dest: TestCluster,
}

impl HaPair {
    fn start(flags_a: &[&str], flags_b: &[&str], proxy: Option<&TcpProxy>) -> HaPair {
        let src = TestCluster::start();
        src.sql(&format!(
            "CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\"); {}
             INSERT INTO src_db.t VALUES (1, 1);",
            table_ddl("src_db.t")
        ));
        let dest = TestCluster::start();
        let database = MariaDbDatabase::new();
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let start = |dir: &tempfile::TempDir, flags: &[&str]| match proxy {
            Some(proxy) => proxied_mysql_syncer(dir, &database.0, proxy, flags),
            None => mysql_syncer_with(dir, &database.0, flags),
        };
        HaPair {
            a: start(&dirs.0, flags_a),
            b: start(&dirs.1, flags_b),
            _dirs: dirs,
            _database: database,
            src,
            dest,
        }
    }

    /// The `/create_ccr` body of job `name`: `src_db.table` → `dest_db.table`.
    fn job(&self, name: &str, table: &str) -> serde_json::Value {
        json!({"name": name, "src": self.src.spec("src_db", table), "dest": self.dest.spec("dest_db", table)})
    }
}

fn table_ddl(qualified: &str) -> String {
    format!(
        "CREATE TABLE {qualified} (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
           PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");"
    )
}

/// Waits until `syncer` answers for `job` itself (it owns the job now).
fn wait_owns(syncer: &Syncer, job: &str) {
    wait_until(
        &format!("{job} to be answered by its new owner"),
        Duration::from_secs(60),
        || {
            let (code, body) = syncer.post_raw("/job_status", &format!(r#"{{"name":"{job}"}}"#));
            if code == 200 && body.contains(r#""success":true"#) {
                Ok(())
            } else {
                Err(format!("{code} {body}"))
            }
        },
    );
}

#[test]
fn a_dead_syncers_job_is_taken_over_and_keeps_replicating() {
    let mut pair = HaPair::start(&[], &[], None);
    let (src, dest, b) = (&pair.src, &pair.dest, &pair.b);
    let a = &mut pair.a;
    a.create_ccr(
        &json!({"name": "ha", "src": src.spec("src_db", "t"), "dest": dest.spec("dest_db", "t")}),
    );
    let dest = &dest;
    let synced = |want: &'static str| {
        move || {
            let (ok, got) = dest.try_sql("SELECT * FROM dest_db.t ORDER BY id");
            if ok && got == want {
                Ok(())
            } else {
                Err(got)
            }
        }
    };
    wait_until(
        "the first row on the target",
        Duration::from_secs(60),
        synced("1\t1\n"),
    );

    // The owner dies without a word; its heartbeat stops.
    let killed = std::time::Instant::now();
    a.kill();
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    // Dead after 8 s without a heartbeat, noticed within the next 2 s round.
    // Until then b redirects (303) to the dead owner.
    wait_owns(b, "ha");
    // Within dead_after + heartbeat_interval (10 s) by default; reported, not asserted
    // (the machine's load decides the rest).
    eprintln!(
        "takeover after kill -9: {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    wait_until(
        "replication to go on",
        Duration::from_secs(60),
        synced("1\t1\n2\t2\n"),
    );

    // The old owner comes back: the job stays where it is, and calls to the old owner are
    // redirected to the new one.
    a.restart();
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    wait_until(
        "replication after the restart",
        Duration::from_secs(60),
        synced("1\t1\n2\t2\n3\t3\n"),
    );
    assert_eq!(
        support::curl_redirect(&a.url("/job_status"), r#"{"name":"ha"}"#),
        format!("303 http://127.0.0.1:{}/job_status", b.port)
    );
}

#[test]
fn a_frozen_owner_that_wakes_after_a_takeover_never_writes_to_the_target_again() {
    let pair = HaPair::start(&FAST_HA, &FAST_HA, None);
    let (src, dest, a, b) = (&pair.src, &pair.dest, &pair.a, &pair.b);
    a.create_ccr(&pair.job("frozen", "t"));
    let tables = [("src_db.t", "dest_db.t")];
    wait_synced(a, "frozen", src, dest, &tables);

    // Loads arrive back to back and the owner freezes while it replays them: it may stop
    // anywhere, between a transaction's ingest and its commit too.
    let loads = |from: i32| {
        (from..from + 20)
            .map(|i| format!("INSERT INTO src_db.t VALUES ({i}, {i});"))
            .collect::<String>()
    };
    src.sql(&loads(100));
    a.freeze();
    src.sql(&loads(200));
    wait_owns(b, "frozen");
    wait_synced(b, "frozen", src, dest, &tables);
    assert_eq!(b.metric("ccr_syncer_job_takeovers_total"), "1");
    assert!(b
        .metrics()
        .contains("ccr_syncer_job_binlogs_handled_total{job=\"frozen\"} "));

    // The frozen owner wakes with its lease long lapsed: it must drop the job without one
    // more write, while the new owner goes on.
    a.thaw();
    src.sql(&loads(300));
    wait_until(
        "the woken syncer to let the job go",
        Duration::from_secs(60),
        || match a.metric("ccr_syncer_jobs").as_str() {
            "0" => Ok(()),
            other => Err(format!("it still runs {other} job(s)")),
        },
    );
    // Its series went with the job: only the new owner shows them.
    let metrics = a.metrics();
    assert!(!metrics.contains("job=\"frozen\""), "{metrics}");
    assert_eq!(a.metric("ccr_syncer_job_takeovers_total"), "0");
    src.sql(&loads(400));
    // Equal rows on a DUPLICATE KEY table: every load is there exactly once.
    wait_synced(b, "frozen", src, dest, &tables);
    assert_eq!(
        dest.sql("SELECT COUNT(*) FROM dest_db.t"),
        "81\n",
        "one row per load, none twice"
    );
}

#[test]
fn a_metadata_store_outage_holds_the_jobs_and_nobody_takes_them_on_stale_heartbeats() {
    let proxy = TcpProxy::start("127.0.0.1:3306");
    // The peer checks five times as often: back on the store, it looks at the owner's old
    // heartbeat well before the owner can refresh it.
    let pair = HaPair::start(
        &FAST_HA,
        &["--heartbeat_interval", "200ms", "--dead_after", "4s"],
        Some(&proxy),
    );
    let (src, dest, a, b) = (&pair.src, &pair.dest, &pair.a, &pair.b);
    a.create_ccr(&pair.job("outage", "t"));
    let tables = [("src_db.t", "dest_db.t")];
    wait_synced(a, "outage", src, dest, &tables);

    proxy.cut();
    src.sql("INSERT INTO src_db.t VALUES (2, 2); INSERT INTO src_db.t VALUES (3, 3);");
    // The owner cannot renew its lease: the job holds and says why (a status read needs no
    // store, the task publishes it).
    wait_until(
        "the job to hold for the store",
        Duration::from_secs(60),
        || {
            let (code, body) = a.post_raw("/job_status", r#"{"name":"outage"}"#);
            if body.contains("waiting_for") && body.contains("metadata store") {
                Ok(())
            } else {
                Err(format!("{code} {body}"))
            }
        },
    );
    let heartbeat_before = a.metric("ccr_syncer_last_heartbeat_timestamp_seconds");
    // The outage outlasts dead_after (4 s): when the store is back, every heartbeat in it
    // is older than that, and still nobody may take the job on that picture.
    std::thread::sleep(Duration::from_secs(6));
    // No heartbeat got through meanwhile, and the gauge says so (alerts look at its age).
    assert_eq!(
        a.metric("ccr_syncer_last_heartbeat_timestamp_seconds"),
        heartbeat_before
    );
    proxy.restore();

    src.sql("INSERT INTO src_db.t VALUES (4, 4)");
    wait_synced(a, "outage", src, dest, &tables);
    // Still the owner's job: the other syncer redirects to it.
    assert_eq!(
        support::curl_redirect(&b.url("/job_status"), r#"{"name":"outage"}"#),
        format!("303 http://127.0.0.1:{}/job_status", a.port)
    );
    assert_eq!(dest.sql("SELECT COUNT(*) FROM dest_db.t"), "4\n");
    assert_eq!(b.metric("ccr_syncer_job_takeovers_total"), "0");
    let heartbeat = |s: &Syncer| {
        s.metric("ccr_syncer_last_heartbeat_timestamp_seconds")
            .parse::<i64>()
            .expect("a heartbeat time")
    };
    wait_until(
        "the heartbeat gauge to move on after the outage",
        Duration::from_secs(30),
        || match heartbeat(a) {
            now if now > heartbeat_before.parse::<i64>().unwrap() => Ok(()),
            now => Err(format!("still {now}")),
        },
    );
}

#[test]
fn any_syncer_answers_for_any_job_and_shows_who_owns_what() {
    let pair = HaPair::start(&FAST_HA, &FAST_HA, None);
    let (src, dest, a, b) = (&pair.src, &pair.dest, &pair.a, &pair.b);
    src.sql(&format!(
        "{} INSERT INTO src_db.t2 VALUES (1, 1);",
        table_ddl("src_db.t2")
    ));
    a.create_ccr(&pair.job("fwd", "t"));
    wait_synced(a, "fwd", src, dest, &[("src_db.t", "dest_db.t")]);

    // The reference's answer stays the default: a redirect to the owner.
    let (code, _) = b.post_raw("/job_status", r#"{"name":"fwd"}"#);
    assert_eq!(code, 303);
    // Asked to, b carries the call to the owner and hands back its answer.
    let (code, body) = b.post_raw("/job_status?forward=1", r#"{"name":"fwd"}"#);
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["success"], true, "{body}");
    assert_eq!(status["status"]["name"], "fwd", "{body}");
    // Verification runs on the owner, which has the job's clusters and cursor.
    let (code, _) = b.post_raw("/verify", r#"{"name":"fwd"}"#);
    assert_eq!(code, 303);
    let (code, body) = b.post_raw("/verify?forward=1", r#"{"name":"fwd"}"#);
    assert_eq!(code, 200, "{body}");
    let verified: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(verified["summary"]["ok"], 1, "{body}");
    let (code, body) = b.post_raw("/pause?forward=1", r#"{"name":"fwd"}"#);
    assert_eq!((code, body.as_str()), (200, r#"{"success":true}"#));
    support::wait_job_status(a, "fwd", "the pause to reach the owner", |s| {
        s["state"] == "paused"
    });
    // A job nobody has: the owner's usual answer, not a forwarding error.
    let (code, body) = b.post_raw("/job_status?forward=1", r#"{"name":"nobody"}"#);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains(r#""success":false"#), "{body}");

    // Who owns what, from either syncer.
    let (_, body) = b.post_raw("/list_jobs", r#"{"detail": true}"#);
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        listed["jobs"],
        json!([{"name": "fwd", "owner": format!("127.0.0.1:{}", a.port), "epoch": 1, "state": "paused"}]),
        "{body}"
    );
    let (_, body) = b.post_raw("/list_jobs", "");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"success": true, "jobs": ["fwd"]})
    );
    let (_, body) = b.post_raw("/syncers", "{}");
    let syncers: serde_json::Value = serde_json::from_str(&body).unwrap();
    let rows = syncers["syncers"].as_array().expect("syncers").clone();
    assert_eq!(rows.len(), 2, "{body}");
    for row in &rows {
        assert_eq!(row["alive"], true, "{body}");
        let me = row["host"] == format!("127.0.0.1:{}", b.port);
        assert_eq!(row["is_me"], me, "{body}");
        let jobs = if row["host"] == format!("127.0.0.1:{}", a.port) {
            json!(["fwd"])
        } else {
            json!([])
        };
        assert_eq!(row["jobs"], jobs, "{body}");
    }

    // A new job goes to the least-loaded live syncer, whichever syncer was asked.
    a.create_ccr(&pair.job("fwd2", "t2"));
    let (_, body) = a.post_raw("/list_jobs", r#"{"detail": true}"#);
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["jobs"][1]["name"], "fwd2", "{body}");
    assert_eq!(
        listed["jobs"][1]["owner"],
        format!("127.0.0.1:{}", b.port),
        "{body}"
    );
    wait_synced(b, "fwd2", src, dest, &[("src_db.t2", "dest_db.t2")]);
}

#[test]
fn a_syncer_that_joins_gets_its_fair_share_of_jobs_handed_over_gracefully() {
    let src = TestCluster::start();
    let tables = ["t1", "t2", "t3", "t4"];
    let mut setup =
        String::from("CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");");
    for t in tables {
        setup.push_str(&format!(
            "CREATE TABLE src_db.{t} (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
               PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
             INSERT INTO src_db.{t} VALUES (1, 1);"
        ));
    }
    src.sql(&setup);
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let a = mysql_syncer_with(&dir_a, &database.0, &FAST_HA);
    for t in tables {
        a.create_ccr(
            &json!({"name": t, "src": src.spec("src_db", t), "dest": dest.spec("dest_db", t)}),
        );
    }
    for t in tables {
        let pair = (format!("src_db.{t}"), format!("dest_db.{t}"));
        wait_synced(&a, t, &src, &dest, &[(&pair.0, &pair.1)]);
    }

    let full_syncs_started: Vec<serde_json::Value> = tables
        .iter()
        .map(|t| a.job_progress(t)["full_sync_start_at"].clone())
        .collect();

    let b = mysql_syncer_with(&dir_b, &database.0, &FAST_HA);
    let owners = || -> Vec<(String, String)> {
        let (_, body) = b.post_raw("/list_jobs", r#"{"detail": true}"#);
        let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
        listed["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                (
                    j["name"].as_str().unwrap().to_owned(),
                    j["owner"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let b_host = format!("127.0.0.1:{}", b.port);
    wait_until(
        "two jobs to move to the new syncer",
        Duration::from_secs(60),
        || {
            let moved = owners()
                .iter()
                .filter(|(_, owner)| *owner == b_host)
                .count();
            if moved == 2 {
                Ok(())
            } else {
                Err(format!("{:?}", owners()))
            }
        },
    );

    // Every job replicates on from where it was, wherever it runs now.
    for t in tables {
        src.sql(&format!("INSERT INTO src_db.{t} VALUES (2, 2), (3, 3)"));
    }
    for (job, owner) in owners() {
        let syncer = if owner == b_host { &b } else { &a };
        let pair = (format!("src_db.{job}"), format!("dest_db.{job}"));
        wait_synced(syncer, &job, &src, &dest, &[(&pair.0, &pair.1)]);
        assert_eq!(
            dest.sql(&format!("SELECT COUNT(*) FROM dest_db.{job}")),
            "3\n"
        );
        let progress = syncer.job_progress(&job);
        let index = tables.iter().position(|t| *t == job).unwrap();
        assert_eq!(
            progress["full_sync_start_at"], full_syncs_started[index],
            "no full sync after the handover: {progress}"
        );
    }
    // And the balance holds: nothing moves back.
    assert_eq!(
        owners()
            .iter()
            .filter(|(_, owner)| *owner == b_host)
            .count(),
        2
    );
}
