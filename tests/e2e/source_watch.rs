//! The source watcher end to end: table jobs of one source database share one watcher, so
//! while they are idle the source FE is asked for news about once a second in all (not
//! once a second per job), and new rows still replicate to every table.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{job_body, wait_synced, wait_until, Syncer, TestCluster, CATCH_UP, TABLE_PROPS};

/// Table jobs on the one source database.
const TABLES: usize = 5;
/// Idle watcher polls the measured window spans at least (each about a second apart).
const WINDOW_POLLS: u64 = 3;

fn table(index: usize) -> String {
    format!("t{index}")
}

fn sync_all(syncer: &Syncer, src: &TestCluster, dest: &TestCluster) {
    for index in 0..TABLES {
        let name = table(index);
        let (src_table, dest_table) = (format!("src_db.{name}"), format!("dest_db.{name}"));
        wait_synced(
            syncer,
            &format!("job_{name}"),
            src,
            dest,
            &[(&src_table, &dest_table)],
        );
    }
}

fn counter(syncer: &Syncer, name: &str) -> u64 {
    let value = syncer.metric(name);
    value
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("{name}: {value}")) as u64
}

#[test]
fn idle_table_jobs_of_one_database_ask_its_fe_about_once_a_second_in_all() {
    let setup: String = (0..TABLES)
        .map(|i| {
            format!(
                "CREATE TABLE src_db.{} (id INT, v INT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 {TABLE_PROPS};
                 INSERT INTO src_db.{} VALUES ({i}, {i});",
                table(i),
                table(i)
            )
        })
        .collect();
    let src = TestCluster::source(&setup);
    let dest = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    // The production idle poll interval: the watcher's idle rate is what is measured.
    let syncer = Syncer::start(
        dir.path(),
        &[
            "--db_dir",
            db.to_str().expect("a UTF-8 temporary path"),
            "--idle_poll_interval",
            "1s",
            "--connect_timeout",
            "2s",
            "--rpc_timeout",
            "5s",
        ],
    );
    for index in 0..TABLES {
        let name = table(index);
        syncer.create_ccr(&job_body(&format!("job_{name}"), &src, &name, &dest, &name));
    }
    sync_all(&syncer, &src, &dest);
    assert_eq!(
        syncer.metric("ccr_syncer_source_watchers"),
        "1",
        "one watcher for the database"
    );

    // Every source FE call a caught-up job could make, counted by the simulator.
    let counted: Vec<u64> = ["getBinlog", "getBinlogLag", "getMeta"]
        .iter()
        .map(|rpc| src.add_fault(json!({"rpc": rpc, "action": "delay", "millis": 0, "times": 0})))
        .collect();
    let calls = || -> u64 {
        counted
            .iter()
            .map(|id| src.fault_state(*id)["hits"].as_u64().expect("hits"))
            .sum()
    };
    // Idle: the watcher backed off to about one poll a second.
    let polls = "ccr_syncer_source_watcher_polls_total";
    let next_poll = || {
        let before = counter(&syncer, polls);
        wait_until("the next watcher poll", CATCH_UP, || {
            (counter(&syncer, polls) > before)
                .then_some(())
                .ok_or_else(|| "no poll yet".to_owned())
        });
        Instant::now()
    };
    wait_until(
        "the watcher to back off to its idle interval",
        CATCH_UP,
        || {
            let first = next_poll();
            let gap = next_poll() - first;
            (gap >= Duration::from_millis(500))
                .then_some(())
                .ok_or_else(|| format!("polls {gap:?} apart"))
        },
    );

    let (before, polls_before, started) = (calls(), counter(&syncer, polls), Instant::now());
    wait_until("idle watcher polls to span the window", CATCH_UP, || {
        (counter(&syncer, polls) >= polls_before + WINDOW_POLLS)
            .then_some(())
            .ok_or_else(|| "window still open".to_owned())
    });
    let made = calls() - before;
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        made as f64 <= 2.0 * seconds + 2.0,
        "{made} source FE calls in {seconds:.1} s of idle with {TABLES} jobs"
    );
    eprintln!(
        "idle source FE calls: {made} in {seconds:.1} s with {TABLES} table jobs ({:.2}/s)",
        made as f64 / seconds
    );

    // Still replicating: new rows in every table.
    src.clear_faults();
    for index in 0..TABLES {
        src.sql(&format!(
            "INSERT INTO src_db.{} VALUES ({}, 1)",
            table(index),
            100 + index
        ));
    }
    sync_all(&syncer, &src, &dest);
}
