//! Whole-cluster jobs end to end: `/create_ccr` with no database on either side replicates
//! the admitted databases of the source cluster, each through its own database job
//! (`<job>/<db>`), picks up databases created later, reports dropped ones (and drops their
//! target only with `drop_target_databases`), and passes operator commands to its database
//! jobs; all of it survives a restart of the syncer.

use crate::support;

use serde_json::{json, Value};
use support::{caught_up, wait_until, Syncer, TestCluster, CATCH_UP, DB_PROPS, TABLE_PROPS};

/// The watcher looks often, so a new or dropped database shows within a test's patience.
const WATCH_FLAGS: [&str; 2] = ["--cluster_watch_interval", "200ms"];

/// Creates `db.table` (binlog on) holding `rows` rows (ids 1..=rows).
fn table_with_rows(cluster: &TestCluster, db: &str, table: &str, rows: u32) {
    cluster.sql(&format!(
        "CREATE TABLE {db}.{table} (id INT, v VARCHAR(20)) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
    ));
    let values: Vec<String> = (1..=rows)
        .map(|i| format!("({i}, '{table}-{i}')"))
        .collect();
    cluster.sql(&format!(
        "INSERT INTO {db}.{table} VALUES {}",
        values.join(", ")
    ));
}

/// The `/create_ccr` body of whole-cluster job `name` from `src` to `dest`, with `extra`
/// keys (include, exclude, db_prefix, ...).
fn cluster_job_body(name: &str, src: &TestCluster, dest: &TestCluster, extra: Value) -> Value {
    let mut body = json!({
        "name": name,
        "src": src.spec("", ""),
        "dest": dest.spec("", ""),
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    body
}

/// The databases of `cluster` (system ones included).
fn databases(cluster: &TestCluster) -> Vec<String> {
    cluster
        .sql("SHOW DATABASES")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until every `(source table, target table)` holds the same rows and each job of
/// `jobs` is caught up without error.
fn wait_tables_equal(
    syncer: &Syncer,
    jobs: &[&str],
    src: &TestCluster,
    dest: &TestCluster,
    tables: &[(&str, &str)],
) {
    wait_until("the target tables to equal the source", CATCH_UP, || {
        for (src_table, dest_table) in tables {
            let want = src.try_rows(src_table);
            let got = dest.try_rows(dest_table);
            if want != got {
                return Err(format!("{src_table}: {want} / {dest_table}: {got}"));
            }
        }
        for job in jobs {
            caught_up(syncer, job)?;
        }
        Ok(())
    });
}

fn cluster_status(syncer: &Syncer, job: &str) -> Value {
    syncer.job_status(job)["cluster"].clone()
}

#[test]
fn a_whole_cluster_job_replicates_what_its_lists_admit_and_follows_new_databases() {
    let src = TestCluster::start();
    let dest = TestCluster::start();
    for db in ["db1", "db2", "db3", "db4"] {
        src.sql(&format!("CREATE DATABASE {db} {DB_PROPS}"));
    }
    table_with_rows(&src, "db1", "t1", 3);
    table_with_rows(&src, "db2", "t2", 4);
    table_with_rows(&src, "db2", "t3", 2);
    table_with_rows(&src, "db3", "t", 5);
    table_with_rows(&src, "db3", "secret", 2);
    table_with_rows(&src, "db4", "t", 1);
    let dir = tempfile::tempdir().unwrap();
    let mut syncer = Syncer::start_replicating(dir.path(), &WATCH_FLAGS);

    // One side empty is still the reference's refusal.
    let mut one_sided = cluster_job_body("half", &src, &dest, json!({}));
    one_sided["dest"]["database"] = json!("d");
    let answer = syncer.try_create_ccr(&one_sided);
    assert_eq!(answer["success"], false, "{answer}");
    assert_eq!(
        answer["error_msg"],
        "src spec is invalid: database is empty"
    );

    let body = cluster_job_body(
        "dr",
        &src,
        &dest,
        json!({
            "include": ["db1", "db2.t2", "db3", "db_new"],
            "exclude": ["db3.secret"],
            "db_prefix": "dr_",
            "db_mapping": {"db3": "third"},
        }),
    );
    // /validate says what the job would replicate, and changes nothing.
    let (_, report) = syncer.post("/validate", &body.to_string());
    assert_eq!(report["ok"], true, "{report}");
    let databases_check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "source_databases")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(
        databases_check["message"], "would replicate db1 -> dr_db1, db2 -> dr_db2, db3 -> third",
        "{report}"
    );
    assert!(syncer.list_jobs().is_empty());
    syncer.create_ccr(&body);
    let children = ["dr/db1", "dr/db2", "dr/db3"];
    wait_until("the database jobs to be created", CATCH_UP, || {
        let jobs = syncer.list_jobs();
        match children.iter().all(|c| jobs.contains(&c.to_string())) {
            true => Ok(()),
            false => Err(format!("{jobs:?}")),
        }
    });
    wait_tables_equal(
        &syncer,
        &children,
        &src,
        &dest,
        &[
            ("db1.t1", "dr_db1.t1"),
            ("db2.t2", "dr_db2.t2"),
            ("db3.t", "third.t"),
        ],
    );
    // Exactly the admitted databases and tables, under their mapped names.
    let target_dbs = databases(&dest);
    for absent in [
        "dr_db4",
        "db4",
        "db1",
        "dr_db3",
        "dr_information_schema",
        "dr_mysql",
    ] {
        assert!(
            !target_dbs.contains(&absent.to_owned()),
            "{absent} in {target_dbs:?}"
        );
    }
    assert_eq!(dest.sql("SHOW TABLES FROM dr_db2").trim(), "t2");
    assert_eq!(dest.sql("SHOW TABLES FROM third").trim(), "t");
    let mut jobs = syncer.list_jobs();
    jobs.sort();
    assert_eq!(jobs, ["dr", "dr/db1", "dr/db2", "dr/db3"]);

    let status = syncer.job_status("dr");
    let cluster = &status["cluster"];
    assert_eq!(cluster["summary"]["databases"], 3, "{status}");
    assert_eq!(cluster["summary"]["running"], 3, "{status}");
    assert_eq!(cluster["summary"]["failing"], 0, "{status}");
    let by_db: Vec<(String, String)> = cluster["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap().to_owned();
            (s("source_database"), s("target_database"))
        })
        .collect();
    assert_eq!(
        by_db,
        [
            ("db1".to_owned(), "dr_db1".to_owned()),
            ("db2".to_owned(), "dr_db2".to_owned()),
            ("db3".to_owned(), "third".to_owned())
        ]
    );
    let lag = syncer.get_lag("dr");
    assert_eq!(lag["lag"], 0, "{lag}");
    assert_eq!(lag["databases"].as_array().map(Vec::len), Some(3), "{lag}");
    assert_eq!(syncer.job_status("dr/db1")["parent_job"], "dr");

    // Lag is summed: binlogs written while the database jobs are paused.
    syncer.pause("dr");
    wait_until("every database job to pause", CATCH_UP, || {
        for child in children {
            let state = syncer.job_status(child)["state"].clone();
            if state != "paused" {
                return Err(format!("{child}: {state}"));
            }
        }
        Ok(())
    });
    src.sql("INSERT INTO db1.t1 VALUES (10, 'paused-1')");
    src.sql("INSERT INTO db2.t2 VALUES (10, 'paused-2')");
    src.sql("INSERT INTO db2.t3 VALUES (10, 'not-replicated')");
    wait_until("the parent to sum its database jobs' lag", CATCH_UP, || {
        let lag = syncer.get_lag("dr");
        let per_db: i64 = lag["databases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| d["lag"].as_i64().unwrap_or(0))
            .sum();
        if lag["lag"].as_i64().unwrap_or(0) >= 2 && lag["lag"].as_i64() == Some(per_db) {
            Ok(())
        } else {
            Err(lag.to_string())
        }
    });
    assert_eq!(cluster_status(&syncer, "dr")["summary"]["paused"], 3);
    syncer.resume("dr");

    // A database created later and admitted by the lists gets its own job.
    src.sql(&format!("CREATE DATABASE db_new {DB_PROPS}"));
    table_with_rows(&src, "db_new", "n", 3);
    src.sql(&format!("CREATE DATABASE db_late {DB_PROPS}"));
    table_with_rows(&src, "db_late", "n", 1);
    wait_tables_equal(
        &syncer,
        &["dr/db1", "dr/db2", "dr/db3", "dr/db_new"],
        &src,
        &dest,
        &[
            ("db1.t1", "dr_db1.t1"),
            ("db2.t2", "dr_db2.t2"),
            ("db_new.n", "dr_db_new.n"),
        ],
    );
    assert!(
        !databases(&dest).contains(&"dr_db_late".to_owned()),
        "not admitted"
    );
    assert_eq!(dest.sql("SHOW TABLES FROM dr_db2").trim(), "t2");

    // A database job cannot be deleted alone: the watcher would bring it back.
    let (_, answer) = syncer.post("/delete", &json!({"name": "dr/db1"}).to_string());
    assert_eq!(answer["success"], false, "{answer}");
    assert!(
        answer["error_msg"]
            .as_str()
            .unwrap()
            .contains("whole-cluster job dr"),
        "{answer}"
    );

    // A restart keeps the parent, its database jobs and their progress.
    assert!(syncer.stop().success());
    syncer.restart();
    src.sql("INSERT INTO db3.t VALUES (20, 'after-restart')");
    src.sql("INSERT INTO db_new.n VALUES (20, 'after-restart')");
    wait_tables_equal(
        &syncer,
        &["dr/db3", "dr/db_new"],
        &src,
        &dest,
        &[("db3.t", "third.t"), ("db_new.n", "dr_db_new.n")],
    );
    wait_until(
        "the parent to list its four databases again",
        CATCH_UP,
        || {
            let cluster = cluster_status(&syncer, "dr");
            match cluster["summary"]["databases"] == 4 && cluster["summary"]["running"] == 4 {
                true => Ok(()),
                false => Err(cluster.to_string()),
            }
        },
    );

    // The parent's record keeps its rules, passwords redacted.
    let detail = syncer.job_detail("dr");
    assert_eq!(detail["cluster_job"]["db_prefix"], "dr_", "{detail}");
    assert_eq!(
        detail["cluster_job"]["exclude"],
        json!(["db3.secret"]),
        "{detail}"
    );
    assert_eq!(syncer.job_detail("dr/db2")["include_tables"], json!(["t2"]));

    // A full sync asked of the parent is a full sync of every database job.
    let honoured = |job: &str| syncer.job_progress(job)["fullsync_requests_done"].clone();
    for child in children {
        assert_eq!(
            honoured(child),
            Value::Null,
            "{child}: no full sync asked yet"
        );
    }
    syncer.force_fullsync("dr");
    wait_until(
        "every database job to run a new full sync",
        CATCH_UP,
        || {
            for child in children {
                let done = honoured(child);
                if done != 1 {
                    return Err(format!("{child}: fullsync_requests_done {done}"));
                }
            }
            Ok(())
        },
    );
    wait_tables_equal(
        &syncer,
        &children,
        &src,
        &dest,
        &[("db1.t1", "dr_db1.t1"), ("db3.t", "third.t")],
    );

    // Deleting the parent deletes its database jobs; the target data stays.
    syncer.delete("dr");
    assert!(syncer.list_jobs().is_empty());
    assert_eq!(dest.rows("dr_db1.t1").lines().count(), 4);
}

#[test]
fn a_dropped_source_database_is_reported_and_its_target_dropped_only_when_asked() {
    let src = TestCluster::start();
    let dest = TestCluster::start();
    for db in ["keep", "gone"] {
        src.sql(&format!("CREATE DATABASE {db} {DB_PROPS}"));
        table_with_rows(&src, db, "t", 2);
    }
    let dir = tempfile::tempdir().unwrap();
    let syncer = Syncer::start_replicating(dir.path(), &WATCH_FLAGS);
    // Two whole-cluster jobs on the same source: one only reports, one drops.
    syncer.create_ccr(&cluster_job_body(
        "report",
        &src,
        &dest,
        json!({"db_prefix": "r_"}),
    ));
    syncer.create_ccr(&cluster_job_body(
        "mirror",
        &src,
        &dest,
        json!({"db_prefix": "m_", "drop_target_databases": true}),
    ));
    let children = ["report/keep", "report/gone", "mirror/keep", "mirror/gone"];
    wait_until("the database jobs to be created", CATCH_UP, || {
        let jobs = syncer.list_jobs();
        match children.iter().all(|c| jobs.contains(&c.to_string())) {
            true => Ok(()),
            false => Err(format!("{jobs:?}")),
        }
    });
    wait_tables_equal(
        &syncer,
        &children,
        &src,
        &dest,
        &[
            ("keep.t", "r_keep.t"),
            ("gone.t", "r_gone.t"),
            ("keep.t", "m_keep.t"),
            ("gone.t", "m_gone.t"),
        ],
    );

    src.sql("DROP DATABASE gone");
    wait_until("both jobs to notice the dropped database", CATCH_UP, || {
        let report = cluster_status(&syncer, "report");
        let mirror = cluster_status(&syncer, "mirror");
        let dropped = |c: &Value| {
            c["dropped_on_source"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let reported = dropped(&report);
        let mirrored = dropped(&mirror);
        let ok = reported.len() == 1
            && reported[0]["source_database"] == "gone"
            && reported[0]["target_dropped"] == false
            && mirrored.len() == 1
            && mirrored[0]["target_dropped"] == true
            && !databases(&dest).contains(&"m_gone".to_owned());
        match ok {
            true => Ok(()),
            false => Err(format!("report: {report}\nmirror: {mirror}")),
        }
    });
    // Reported only: the target database and the database job stay, the job shows why.
    assert_eq!(dest.rows("r_gone.t").lines().count(), 2);
    let gone = syncer.job_status("report/gone");
    assert!(
        gone["needs_operator"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("source database gone was dropped")),
        "{gone}"
    );
    let report = cluster_status(&syncer, "report");
    assert_eq!(report["summary"]["failing"], 1, "{report}");
    let jobs = syncer.list_jobs();
    assert!(jobs.contains(&"report/gone".to_owned()), "{jobs:?}");
    // Dropped on request: the target database and the database job went.
    assert!(!jobs.contains(&"mirror/gone".to_owned()), "{jobs:?}");
    assert_eq!(cluster_status(&syncer, "mirror")["summary"]["databases"], 1);
    // The other database replicates on.
    src.sql("INSERT INTO keep.t VALUES (9, 'later')");
    wait_tables_equal(
        &syncer,
        &["report/keep", "mirror/keep"],
        &src,
        &dest,
        &[("keep.t", "r_keep.t"), ("keep.t", "m_keep.t")],
    );
}

/// The owner of each job as `/list_jobs {"detail": true}` asked of `syncer` shows it.
fn owners(syncer: &Syncer) -> Vec<(String, String)> {
    let (_, body) = syncer.post_raw("/list_jobs", r#"{"detail": true}"#);
    let listed: Value = serde_json::from_str(&body).unwrap();
    let mut owners: Vec<(String, String)> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let s = |k: &str| j[k].as_str().unwrap().to_owned();
            (s("name"), s("owner"))
        })
        .collect();
    owners.sort();
    owners
}

#[test]
fn a_takeover_moves_a_whole_cluster_job_with_its_database_jobs_to_one_syncer() {
    let src = TestCluster::start();
    let dest = TestCluster::start();
    for db in ["db1", "db2", "db3"] {
        src.sql(&format!("CREATE DATABASE {db} {DB_PROPS}"));
        table_with_rows(&src, db, "t", 2);
    }
    let database = support::MariaDbDatabase::new();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let flags = [
        "--heartbeat_interval",
        "1s",
        "--dead_after",
        "4s",
        WATCH_FLAGS[0],
        WATCH_FLAGS[1],
    ];
    let mut a = support::mysql_syncer_with(&dirs[0], &database.0, &flags);
    let a_host = format!("127.0.0.1:{}", a.port);
    // Asked first and alone, `a` owns the job; its database jobs are created beside it.
    a.create_ccr(&cluster_job_body(
        "dr",
        &src,
        &dest,
        json!({"db_prefix": "c_"}),
    ));
    let jobs = ["dr/db1", "dr/db2", "dr/db3"];
    wait_until("the database jobs to be created", CATCH_UP, || {
        let listed = a.list_jobs();
        match jobs.iter().all(|c| listed.contains(&c.to_string())) {
            true => Ok(()),
            false => Err(format!("{listed:?}")),
        }
    });
    let b = support::mysql_syncer_with(&dirs[1], &database.0, &flags);
    let c = support::mysql_syncer_with(&dirs[2], &database.0, &flags);
    wait_tables_equal(
        &a,
        &jobs,
        &src,
        &dest,
        &[
            ("db1.t", "c_db1.t"),
            ("db2.t", "c_db2.t"),
            ("db3.t", "c_db3.t"),
        ],
    );
    assert!(
        owners(&a).iter().all(|(_, owner)| *owner == a_host),
        "{:?}",
        owners(&a)
    );

    // The owner dies: one of the two live syncers adopts the whole family.
    a.kill();
    wait_until("the family to move to one live syncer", CATCH_UP, || {
        let now = owners(&b);
        let hosts: std::collections::BTreeSet<&String> = now.iter().map(|(_, o)| o).collect();
        match hosts.len() == 1 && !hosts.contains(&a_host) {
            true => Ok(()),
            false => Err(format!("{now:?}")),
        }
    });
    let new_owner = owners(&b)[0].1.clone();
    let owner = if new_owner == format!("127.0.0.1:{}", b.port) {
        &b
    } else {
        &c
    };
    src.sql("INSERT INTO db2.t VALUES (7, 'after-takeover')");
    wait_tables_equal(owner, &jobs, &src, &dest, &[("db2.t", "c_db2.t")]);
    assert_eq!(
        cluster_status(owner, "dr")["summary"]["databases"],
        3,
        "{}",
        owner.job_status("dr")
    );
}

#[test]
fn a_one_time_whole_cluster_job_copies_each_admitted_database_once_and_ends_done() {
    let src = TestCluster::start();
    let dest = TestCluster::start();
    for db in ["m1", "m2", "skipped"] {
        src.sql(&format!("CREATE DATABASE {db} {DB_PROPS}"));
        table_with_rows(&src, db, "t", 3);
    }
    let dir = tempfile::tempdir().unwrap();
    let syncer = Syncer::start_replicating(dir.path(), &WATCH_FLAGS);
    syncer.create_ccr(&cluster_job_body(
        "move",
        &src,
        &dest,
        json!({"mode": "once", "include": ["m1", "m2"]}),
    ));
    wait_until("both database jobs to be done", CATCH_UP, || {
        let states: Vec<Value> = ["move/m1", "move/m2"]
            .iter()
            .map(|job| {
                if syncer.list_jobs().iter().any(|j| j == job) {
                    syncer.job_status(job)["state"].clone()
                } else {
                    Value::Null
                }
            })
            .collect();
        if states.iter().all(|s| s == "done") {
            Ok(())
        } else {
            Err(format!("{states:?}"))
        }
    });
    for db in ["m1", "m2"] {
        assert_eq!(
            dest.rows(&format!("{db}.t")),
            src.rows(&format!("{db}.t")),
            "{db}"
        );
        // A finished copy leaves the target writable, as /desync does.
        dest.sql(&format!("INSERT INTO {db}.t VALUES (99, 'local')"));
    }
    assert!(!databases(&dest).contains(&"skipped".to_owned()));
}
