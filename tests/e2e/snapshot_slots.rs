//! The snapshot coordinator end to end: many table jobs of one source database created at
//! once share batched backups and restore one at a time, and a backup someone else runs
//! on the source database is waited for.

use crate::support;

use std::time::Duration;

use support::{job_body, wait_job_status, wait_synced, Replication, TABLE_PROPS};

/// `CREATE TABLE src_db.t<i> ...` with a few rows, for `count` tables.
fn tables_with_rows(count: usize) -> String {
    (1..=count)
        .map(|i| {
            format!(
                "CREATE TABLE src_db.t{i} (id INT, v INT) UNIQUE KEY(id) DISTRIBUTED BY HASH(id) \
                 BUCKETS 2 {TABLE_PROPS}; INSERT INTO src_db.t{i} VALUES (1, {i}), (2, {i}), (3, {i});"
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn twenty_table_jobs_created_at_once_on_one_database_all_replicate() {
    const JOBS: usize = 20;
    let (src, dest, syncer, _dir) = Replication::start(&tables_with_rows(JOBS)).into_parts();
    std::thread::scope(|scope| {
        for i in 1..=JOBS {
            let (src, dest, syncer) = (&src, &dest, &syncer);
            scope.spawn(move || {
                let table = format!("t{i}");
                syncer.create_ccr(&job_body(&format!("job_{i}"), src, &table, dest, &table));
            });
        }
    });
    for i in 1..=JOBS {
        let job = format!("job_{i}");
        wait_job_status(&syncer, &job, "incremental sync", |s| {
            s["progress_state"] == "TableIncrementalSync"
        });
    }
    // Rows written now arrive by replay; every table then matches.
    src.sql(
        &(1..=JOBS)
            .map(|i| format!("INSERT INTO src_db.t{i} VALUES (4, {i});"))
            .collect::<String>(),
    );
    for i in 1..=JOBS {
        let (src_table, dest_table) = (format!("src_db.t{i}"), format!("dest_db.t{i}"));
        wait_synced(
            &syncer,
            &format!("job_{i}"),
            &src,
            &dest,
            &[(&src_table, &dest_table)],
        );
        let status = syncer.job_status(&format!("job_{i}"));
        assert!(status.get("waiting_for").is_none(), "{status}");
        assert_eq!(status["consecutive_failures"], 0, "{status}");
    }
    let backups = src.sql("SHOW BACKUP FROM src_db");
    assert!(
        backups.contains("ccrs_src_db_batch_"),
        "jobs shared a backup:\n{backups}"
    );
    let log = syncer.log();
    assert!(
        !log.contains("Can only run one backup or restore job"),
        "the jobs never collided with each other"
    );
}

#[test]
fn a_job_waits_for_a_backup_someone_else_runs_on_its_source_database() {
    let replication = Replication::start(&tables_with_rows(1));
    let Replication {
        src, dest, syncer, ..
    } = &replication;
    // A user's backup that runs a while (each state lasts a second).
    let slow = Duration::from_secs(1);
    src.doris()
        .catalog
        .write()
        .backup_restore
        .set_step_interval(slow);
    src.sql("BACKUP SNAPSHOT src_db.nightly TO `__keep_on_local__` ON (t1) PROPERTIES (\"type\" = \"full\")");
    replication.create_job("orders_dr", "t1", "t1");
    wait_job_status(syncer, "orders_dr", "waiting for snapshot slot", |s| {
        s["waiting_for"].as_str().is_some_and(|w| {
            w.starts_with("snapshot slot of source database src_db")
                && w.contains("behind backup nightly, which this syncer did not start")
        })
    });
    let status = syncer.job_status("orders_dr");
    assert_eq!(status["progress_state"], "TableFullSync", "{status}");
    assert!(
        status.get("last_error").is_none(),
        "waiting is no failure: {status}"
    );
    // The user's backup ends by itself; the job then takes its turn.
    src.doris()
        .catalog
        .write()
        .backup_restore
        .set_step_interval(doris_sim::backup::DEFAULT_STEP_INTERVAL);
    wait_synced(
        syncer,
        "orders_dr",
        src,
        dest,
        &[("src_db.t1", "dest_db.t1")],
    );
    let nightly = src.sql("SHOW BACKUP FROM src_db WHERE SnapshotName = \"nightly\"");
    assert!(nightly.contains("FINISHED"), "never cancelled:\n{nightly}");
}
