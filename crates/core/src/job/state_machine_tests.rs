//! The job state machine against the in-memory fakes of [`super::fake`]: full sync,
//! replay, crashes between an action and its checkpoint, purged binlogs and operator
//! commands, each step as `sync::step` takes it in production.

use super::context::{JobContext, StepOutcome};
use super::fake::{self, FakeJob, DEST_TABLE_ID, SNAPSHOT_SEQ};
use super::spec::SyncMode;
use super::sync::{self, SyncCache};
use crate::progress::{Phase, Progress, SnapshotStep};

/// Steps (from the stored progress, as a restarted task would) until `done` holds.
async fn step_until(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    done: impl Fn(&Progress) -> bool,
) {
    for _ in 0..50 {
        if done(progress) {
            return;
        }
        let control = ctx.control.borrow().clone();
        sync::step(ctx, cache, progress, &control, 0)
            .await
            .unwrap_or_else(|e| panic!("step failed in {:?}: {e}", progress.phase()));
    }
    panic!("not reached within 50 steps; at {:?}", progress.phase());
}

/// One step as the job's task takes it, with the newest operator commands.
async fn step_once(
    job: &FakeJob,
    cache: &mut SyncCache,
    progress: &mut Progress,
) -> Result<StepOutcome, super::error::JobError> {
    let control = job.ctx.control.borrow().clone();
    sync::step(&job.ctx, cache, progress, &control, 0).await
}

fn incremental(progress: &Progress) -> bool {
    progress.phase() == &Phase::TableIncremental
}

/// A table job brought to incremental sync.
async fn caught_up_job() -> (FakeJob, SyncCache, Progress) {
    let job = FakeJob::table_job();
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, incremental).await;
    (job, cache, progress)
}

#[tokio::test]
async fn a_new_table_job_checkpoints_each_snapshot_action_before_taking_it() {
    let (job, _, progress) = caught_up_job().await;
    let journal = job.journal.entries();

    let backups = job.journal.matching("backup ");
    assert_eq!(backups.len(), 1, "one backup: {journal:?}");
    let restores = job.journal.matching("restore ");
    assert_eq!(restores.len(), 1, "one restore: {journal:?}");
    // The name of each job on a cluster is durable before the job starts, so a restart
    // finds it instead of starting a second one.
    let name_saved = job
        .journal
        .position("save TableFullSync/BeginCreateSnapshot")
        .expect("snapshot name saved");
    assert!(
        name_saved < job.journal.position("backup ").unwrap(),
        "{journal:?}"
    );
    let label_saved = job
        .journal
        .position("save TableFullSync/RestoreSnapshot")
        .expect("restore label saved");
    assert!(
        label_saved < job.journal.position("restore ").unwrap(),
        "{journal:?}"
    );

    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    assert_eq!(progress.dest_table_id, DEST_TABLE_ID);
    let stored = job.store.stored().unwrap();
    assert_eq!(stored, progress, "what is in memory is what is stored");
}

#[tokio::test]
async fn a_restart_during_the_backup_waits_for_the_same_backup() {
    let job = FakeJob::table_job();
    job.source.backups_take_polls(3);
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        p.phase()
            .snapshot()
            .is_some_and(|s| !s.checkpoint.snapshot_name.is_empty())
    })
    .await;
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(job.journal.matching("backup ").len(), 1);

    // The task dies; a new one starts from the store with empty caches.
    let mut progress = job.store.stored().unwrap();
    let mut cache = SyncCache::new();
    step_until(&job.ctx, &mut cache, &mut progress, incremental).await;
    assert_eq!(
        job.journal.matching("backup ").len(),
        1,
        "the checkpointed backup is waited for, not started again: {:?}",
        job.journal.entries()
    );
}

#[tokio::test]
async fn an_upsert_is_one_labelled_target_transaction_and_one_store_write() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    let saves_before = job.journal.matching("save ").len();
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    let outcome = step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(outcome, StepOutcome::Progressed);

    let label = format!(
        "ccrj-table_sync:{}_{}:{}_{}:{}",
        fake::SRC_DB_ID,
        fake::SRC_TABLE_ID,
        fake::DEST_DB_ID,
        DEST_TABLE_ID,
        SNAPSHOT_SEQ + 1
    );
    assert_eq!(
        job.target.committed(),
        std::collections::BTreeMap::from([(label, 1)])
    );
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 1);
    assert_eq!(
        job.journal.matching("save ").len(),
        saves_before + 1,
        "the cursor is written once, after the commit"
    );
    assert_eq!(
        job.store.stored().unwrap().prev_commit_seq,
        SNAPSHOT_SEQ + 1
    );

    let next = step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(next, StepOutcome::CaughtUp, "caught up");
}

#[tokio::test]
async fn target_bes_are_handed_source_be_addresses_through_the_source_host_mapping() {
    let job = FakeJob::table_job();
    job.source
        .host_mapping
        .replace([("source-be".to_owned(), "10.9.9.9".to_owned())].into());
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, incremental).await;
    let restored = job.target.restored_job_infos();
    assert_eq!(restored.len(), 1);
    assert!(
        restored[0].contains("10.9.9.9") && !restored[0].contains("source-be"),
        "the restore's be_network_map names the mapped host: {}",
        restored[0]
    );

    let control = job.ctx.control.borrow().clone();
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .unwrap();
    // A change applies to the next ingest, though the backend list is cached.
    job.source
        .host_mapping
        .replace([("source-be".to_owned(), "10.7.7.7".to_owned())].into());
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 2));
    sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .unwrap();
    let sources = job.target.ingest_sources();
    assert!(!sources.is_empty());
    let (first, second) = sources.split_at(sources.len() / 2);
    assert!(first.iter().all(|s| s == "10.9.9.9:8040"), "{sources:?}");
    assert!(second.iter().all(|s| s == "10.7.7.7:8040"), "{sources:?}");
}

#[tokio::test]
async fn a_crash_between_commit_and_checkpoint_does_not_apply_the_binlog_twice() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    job.store.fail_next_save();
    let error = step_once(&job, &mut cache, &mut progress)
        .await
        .expect_err("the cursor write is lost");
    assert!(error.to_string().contains("lost"), "{error}");
    assert_eq!(job.target.committed().len(), 1, "the commit took effect");

    // The task restarts from the stored cursor, which is before the binlog.
    let mut progress = job.store.stored().unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    let mut cache = SyncCache::new();
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(
        job.journal.matching("commit ").len(),
        1,
        "the label shows the binlog applied; no second commit: {:?}",
        job.journal.entries()
    );
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 1);
    assert_eq!(
        job.store.stored().unwrap().prev_commit_seq,
        SNAPSHOT_SEQ + 1
    );
}

#[tokio::test]
async fn a_lost_commit_answer_is_resolved_by_asking_the_target() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    job.target.lose_next_commit_answer();
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(job.journal.matching("commit ").len(), 1);
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 1);
}

#[tokio::test]
async fn a_ddl_binlog_is_replayed_by_sql_on_the_target_table() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::modify_comment(SNAPSHOT_SEQ + 1));
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    let statements = job.journal.matching("exec ");
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(
        statements[0].contains("`dest_db`.`t`") && statements[0].contains("orders of the day"),
        "{statements:?}"
    );
    assert_eq!(
        job.store.stored().unwrap().prev_commit_seq,
        SNAPSHOT_SEQ + 1
    );
}

#[tokio::test]
async fn purged_binlogs_after_the_cursor_start_a_new_full_sync() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 2));
    job.source.purge_through(SNAPSHOT_SEQ + 1);
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert!(
        matches!(progress.phase(), Phase::TableFullSync(s) if s.step == SnapshotStep::BeginCreateSnapshot),
        "{:?}",
        progress.phase()
    );
    assert!(
        job.target.committed().is_empty(),
        "nothing replayed over the gap"
    );
    assert_eq!(
        job.store.stored().unwrap().phase(),
        progress.phase(),
        "the new phase is durable"
    );
}

#[tokio::test]
async fn a_requested_full_sync_is_taken_once() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.control.send_modify(|c| c.fullsync_requests = 1);
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.phase().state().name(), "TableFullSync");
    assert_eq!(progress.fullsync_requests_done, 1);
    step_until(&job.ctx, &mut cache, &mut progress, incremental).await;
    assert_eq!(job.journal.matching("backup ").len(), 2);
    assert_eq!(job.journal.matching("restore ").len(), 2);
}

#[tokio::test]
async fn an_unreachable_source_fails_the_step_and_loses_nothing() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    job.source.fail_get_binlogs(1);
    let control = job.ctx.control.borrow().clone();
    let saves = job.journal.matching("save ").len();
    assert!(sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .is_err());
    assert_eq!(job.journal.matching("save ").len(), saves);
    sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 1);
    assert_eq!(job.target.committed().len(), 1);
}

#[tokio::test]
async fn the_lag_gauges_move_while_replaying_and_zero_when_caught_up() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    // More than one getBinlog batch (64): the first step leaves 8 behind.
    for seq in SNAPSHOT_SEQ + 1..=SNAPSHOT_SEQ + 72 {
        job.source.push(&fake::upsert(seq));
    }
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 64);
    assert_eq!(job.ctx.metrics.lag_binlogs.get(), 8);
    assert_eq!(
        job.ctx.metrics.lag_seconds.get(),
        7,
        "seconds between the oldest binlog not applied and the newest"
    );
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        p.prev_commit_seq == SNAPSHOT_SEQ + 72
    })
    .await;
    let idle = step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(idle, StepOutcome::CaughtUp);
    assert_eq!(job.ctx.metrics.lag_binlogs.get(), 0);
    assert_eq!(job.ctx.metrics.lag_seconds.get(), 0);
    assert_eq!(job.target.committed().len(), 72);
}

#[tokio::test]
async fn a_database_job_restores_maps_its_tables_and_leaves_the_filtered_phase_after_the_cut() {
    let job = FakeJob::db_job();
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        matches!(p.phase(), Phase::DbTablesIncremental { .. })
    })
    .await;
    assert_eq!(
        progress.phase().cut_points(),
        Some(&std::collections::BTreeMap::from([(
            fake::SRC_TABLE_ID,
            SNAPSHOT_SEQ
        )]))
    );
    assert_eq!(
        progress.table_mapping,
        Some(std::collections::BTreeMap::from([(
            fake::SRC_TABLE_ID,
            DEST_TABLE_ID
        )]))
    );
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    assert!(
        job.journal
            .position("save DBFullSync/BeginCreateSnapshot")
            .unwrap()
            < job.journal.position("backup ").unwrap()
    );

    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    let label = format!(
        "ccrj-db_sync:{}:{}:{}",
        fake::SRC_DB_ID,
        fake::DEST_DB_ID,
        SNAPSHOT_SEQ + 1
    );
    assert_eq!(
        job.target.committed(),
        std::collections::BTreeMap::from([(label, 1)])
    );
    assert_eq!(
        progress.phase(),
        &Phase::DbIncremental,
        "past every table's cut-over point: nothing left to filter"
    );
    assert_eq!(job.store.stored().unwrap(), progress);
}

#[tokio::test]
async fn a_statement_read_before_a_freeze_is_not_sent_after_the_lease_lapsed() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::modify_comment(SNAPSHOT_SEQ + 1));
    // The process freezes right after reading the binlog, past its lease.
    let lease = std::sync::Arc::clone(&job.lease);
    job.source.during_next_fetch(move || lease.lapse());
    let error = step_once(&job, &mut cache, &mut progress)
        .await
        .expect_err("withheld");
    assert!(error.to_string().contains("lease"), "{error}");
    assert!(
        job.journal.matching("exec ").is_empty(),
        "nothing reached the target"
    );
    assert_eq!(job.store.stored().unwrap().prev_commit_seq, SNAPSHOT_SEQ);

    // The next heartbeat round finds the job still ours and renews: the statement goes out.
    job.lease.renew(std::time::Instant::now());
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(job.journal.matching("exec ").len(), 1);
}

#[tokio::test]
async fn a_job_handed_away_mid_step_writes_nothing_more_even_under_a_renewed_lease() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    job.source.push(&fake::modify_comment(SNAPSHOT_SEQ + 2));
    // While the batch is read, the heartbeat round hands the job to a peer (revoking the
    // fence) and then renews the lease for the jobs it keeps.
    let (fence, lease) = (
        std::sync::Arc::clone(&job.fence),
        std::sync::Arc::clone(&job.lease),
    );
    job.source.during_next_fetch(move || {
        fence.revoke();
        lease.renew(std::time::Instant::now());
    });
    let error = step_once(&job, &mut cache, &mut progress)
        .await
        .expect_err("withheld");
    assert!(error.to_string().contains("another syncer"), "{error}");
    assert!(job.journal.matching("begin ").is_empty());
    assert!(job.journal.matching("exec ").is_empty());
    assert!(job.target.committed().is_empty());
}

/// A caught-up table job whose target refuses the DDL binlog at `SNAPSHOT_SEQ + 1`; an
/// upsert follows it.
async fn job_stuck_on_a_refused_statement() -> (FakeJob, SyncCache, Progress) {
    let (job, mut cache, mut progress) = caught_up_job().await;
    job.source.push(&fake::modify_comment(SNAPSHOT_SEQ + 1));
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 2));
    job.target.refuse_statements(true);
    let control = job.ctx.control.borrow().clone();
    assert!(sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .is_err());
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    assert_eq!(
        job.ctx.status.lock().failing_commit_seq,
        Some(SNAPSHOT_SEQ + 1),
        "the status names the binlog the job is stuck on"
    );
    (job, cache, progress)
}

#[tokio::test]
async fn an_operator_skip_passes_over_exactly_the_stuck_binlog_and_records_it() {
    let (job, mut cache, mut progress) = job_stuck_on_a_refused_statement().await;
    job.control
        .send_modify(|c| c.skip_commit_seq = SNAPSHOT_SEQ + 1);
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 2);
    assert_eq!(
        job.journal.matching("refused ").len(),
        1,
        "the skipped statement is not sent again"
    );
    assert_eq!(
        job.target.committed().len(),
        1,
        "the upsert after it is applied"
    );
    assert_eq!(
        progress
            .unsupported_binlogs
            .get(super::sync::OPERATOR_SKIP_KEY),
        Some(&(SNAPSHOT_SEQ + 1))
    );
    assert_eq!(job.store.stored().unwrap(), progress, "the skip is durable");
}

#[tokio::test]
async fn an_operator_skip_of_another_seq_leaves_the_stuck_binlog_in_place() {
    let (job, mut cache, mut progress) = job_stuck_on_a_refused_statement().await;
    job.control
        .send_modify(|c| c.skip_commit_seq = SNAPSHOT_SEQ + 2);
    let control = job.ctx.control.borrow().clone();
    assert!(sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .is_err());
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    assert!(job.target.committed().is_empty());
}

#[tokio::test]
async fn an_operator_partial_sync_snapshots_the_one_table_once() {
    let job = FakeJob::db_job();
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        matches!(p.phase(), Phase::DbTablesIncremental { .. })
    })
    .await;
    job.control.send_modify(|c| {
        c.partialsync_request = Some(super::spec::PartialSyncRequest {
            table: "t".into(),
            serial: 1,
        })
    });
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert!(
        matches!(progress.phase(), Phase::DbPartialSync { snapshot, .. } if snapshot.checkpoint.table_id == fake::SRC_TABLE_ID),
        "{:?}",
        progress.phase()
    );
    assert_eq!(progress.partialsync_requests_done, 1);
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        matches!(
            p.phase(),
            Phase::DbIncremental | Phase::DbTablesIncremental { .. }
        )
    })
    .await;
    for _ in 0..3 {
        step_once(&job, &mut cache, &mut progress).await.unwrap();
    }
    assert_eq!(
        job.journal.matching("backup ").len(),
        2,
        "{:?}",
        job.journal.entries()
    );
}

#[tokio::test]
async fn a_full_sync_records_its_reason() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    assert_eq!(progress.full_sync_reason, "the job was created");
    job.control.send_modify(|c| c.fullsync_requests = 1);
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.full_sync_reason, "requested by the operator");
    assert_eq!(
        job.store.stored().unwrap().full_sync_reason,
        "requested by the operator"
    );
}

#[tokio::test]
async fn a_job_failing_on_a_binlog_still_refreshes_its_lag_gauges() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    assert_eq!(job.ctx.metrics.lag_binlogs.get(), 0);
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    job.source.push(&fake::modify_comment(SNAPSHOT_SEQ + 2));
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 3));
    // The comment change is refused: the step fails on the second binlog.
    job.target.refuse_statements(true);
    let control = job.ctx.control.borrow().clone();
    assert!(sync::step(&job.ctx, &mut cache, &mut progress, &control, 0)
        .await
        .is_err());
    assert_eq!(
        job.ctx.metrics.lag_binlogs.get(),
        3 - (progress.prev_commit_seq - SNAPSHOT_SEQ),
        "binlogs after the cursor, measured although the step failed"
    );
    assert!(job.ctx.metrics.lag_binlogs.get() > 0);
}

#[tokio::test]
async fn replay_times_ingest_and_commit_and_counts_binlogs_per_fetch() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    let before = (
        job.ctx.metrics.ingest_seconds.count(),
        job.ctx.metrics.commit_seconds.count(),
        job.ctx.metrics.binlog_batch_size.count(),
    );
    for seq in SNAPSHOT_SEQ + 1..=SNAPSHOT_SEQ + 5 {
        job.source.push(&fake::upsert(seq));
    }
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 5);
    let metrics = &job.ctx.metrics;
    assert_eq!(metrics.ingest_seconds.count() - before.0, 5);
    assert_eq!(metrics.commit_seconds.count() - before.1, 5);
    assert_eq!(metrics.binlog_batch_size.count() - before.2, 1);
    assert_eq!(metrics.binlog_batch_size.sum(), 5.0, "one fetch of five");
    assert_eq!(metrics.binlogs_handled(), 5);
}

/// A job of `mode: once`.
fn one_time(mut job: FakeJob) -> FakeJob {
    job.ctx.info.mode = SyncMode::Once;
    job
}

async fn one_step(job: &FakeJob, cache: &mut SyncCache, progress: &mut Progress) -> StepOutcome {
    let control = job.ctx.control.borrow().clone();
    sync::step(&job.ctx, cache, progress, &control, 0)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_one_time_table_job_copies_once_releases_its_table_and_stays_done() {
    let job = one_time(FakeJob::table_job());
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| p.phase().is_done()).await;
    assert_eq!(progress.phase(), &Phase::Done { table_level: true });
    assert_eq!(
        progress.prev_commit_seq, SNAPSHOT_SEQ,
        "the snapshot's commit seq"
    );
    assert_eq!(job.journal.matching("backup ").len(), 1);
    assert_eq!(job.journal.matching("restore ").len(), 1);
    let released = job
        .journal
        .position("exec ALTER TABLE `dest_db`.`t` SET ('is_being_synced' = 'false')")
        .unwrap_or_else(|| panic!("target table released: {:?}", job.journal.entries()));
    assert!(released < job.journal.position("save Done").unwrap());
    assert_eq!(job.store.stored().unwrap(), progress, "done is durable");

    // New source data is not replayed: the job takes no more steps of its own.
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    assert_eq!(
        one_step(&job, &mut cache, &mut progress).await,
        StepOutcome::Finished
    );
    // A restarted task reads the job back as done.
    let mut progress = job.store.stored().unwrap();
    let mut cache = SyncCache::new();
    assert_eq!(
        one_step(&job, &mut cache, &mut progress).await,
        StepOutcome::Finished
    );
    assert!(job.target.committed().is_empty(), "nothing replayed");
    assert_eq!(job.journal.matching("backup ").len(), 1);

    // A full sync asked for by the operator copies again, and ends done again.
    job.control.send_modify(|c| c.fullsync_requests = 1);
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        p.phase().is_done() && p.fullsync_requests_done == 1
    })
    .await;
    assert_eq!(job.journal.matching("backup ").len(), 2);
    assert!(job.target.committed().is_empty());
}

#[tokio::test]
async fn a_one_time_database_job_releases_every_table_it_restored() {
    let job = one_time(FakeJob::db_job());
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| p.phase().is_done()).await;
    assert_eq!(progress.phase(), &Phase::Done { table_level: false });
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    assert_eq!(
        job.journal.matching("exec ALTER TABLE"),
        vec!["exec ALTER TABLE `dest_db`.`t` SET ('is_being_synced' = 'false')".to_owned()],
        "{:?}",
        job.journal.entries()
    );
}

#[tokio::test]
async fn a_full_target_disk_holds_the_restore_and_the_replay_until_it_drains() {
    let job = FakeJob::table_job();
    job.target.set_disk_used_pct(95.0);
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        p.phase()
            .snapshot()
            .is_some_and(|s| s.step == SnapshotStep::RestoreSnapshot)
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            one_step(&job, &mut cache, &mut progress).await,
            StepOutcome::Idle
        );
    }
    assert!(job.journal.matching("restore ").is_empty(), "no restore");
    let waiting = job.ctx.status.lock().waiting_for.clone().unwrap();
    assert!(
        waiting.contains("backend 11 (target-be)") && waiting.contains("95.00 %"),
        "{waiting}"
    );
    assert!(waiting.contains("80"), "the threshold: {waiting}");
    assert_eq!(job.ctx.metrics.target_disk_full.get(), 1);

    job.target.set_disk_used_pct(10.0);
    step_until(&job.ctx, &mut cache, &mut progress, incremental).await;
    assert_eq!(job.journal.matching("restore ").len(), 1);
    assert_eq!(job.ctx.status.lock().waiting_for, None);
    assert_eq!(job.ctx.metrics.target_disk_full.get(), 0);

    // During replay: a batch is held back while the disk is full.
    job.target.set_disk_used_pct(81.0);
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    assert_eq!(
        one_step(&job, &mut cache, &mut progress).await,
        StepOutcome::Idle
    );
    assert!(job.target.committed().is_empty());
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ);
    assert!(job.ctx.status.lock().waiting_for.is_some());
    job.target.set_disk_used_pct(80.0);
    assert_eq!(
        one_step(&job, &mut cache, &mut progress).await,
        StepOutcome::Progressed,
        "at the threshold is not above it"
    );
    assert_eq!(job.target.committed().len(), 1);
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 1);
}

#[tokio::test]
async fn an_operator_partial_sync_of_a_table_dropped_since_is_void_not_a_stuck_job() {
    let job = FakeJob::db_job();
    let mut cache = SyncCache::new();
    let mut progress = job.ctx.load_progress().await.unwrap();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        matches!(p.phase(), Phase::DbTablesIncremental { .. })
    })
    .await;
    job.control.send_modify(|c| {
        c.partialsync_request = Some(super::spec::PartialSyncRequest {
            table: "gone".into(),
            serial: 1,
        })
    });
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.partialsync_requests_done, 1);
    assert!(matches!(
        progress.phase(),
        Phase::DbTablesIncremental { .. }
    ));
    assert_eq!(
        job.store.stored().unwrap(),
        progress,
        "the request is settled durably"
    );
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(
        job.journal.matching("backup ").len(),
        1,
        "only the first full sync"
    );
}

/// The commit seqs of the committed transactions' labels, in commit order.
fn commit_order(job: &FakeJob) -> Vec<String> {
    job.journal.matching("commit ")
}

#[tokio::test]
async fn a_burst_is_pipelined_from_cached_metadata_with_grouped_progress_writes() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    let burst = 200;
    for seq in SNAPSHOT_SEQ + 1..=SNAPSHOT_SEQ + burst {
        job.source.push(&fake::upsert(seq));
    }
    let (src_meta, dest_meta) = (
        job.source.meta_calls(fake::SRC_TABLE_ID),
        job.target.meta_calls(),
    );
    let saves = job.journal.matching("save ").len();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        p.prev_commit_seq == SNAPSHOT_SEQ + burst
    })
    .await;
    assert_eq!(job.target.committed().len(), burst as usize);
    assert_eq!(commit_order(&job).len(), burst as usize, "one commit each");
    // Metadata is read once for the burst, not per transaction.
    assert!(job.source.meta_calls(fake::SRC_TABLE_ID) - src_meta <= 1);
    assert!(job.target.meta_calls() - dest_meta <= 1);
    let writes = job.journal.matching("save ").len() - saves;
    assert!(
        writes * 20 <= burst as usize,
        "{writes} progress writes for {burst} transactions"
    );
    // Pipelined: the next transaction was open before the previous one committed.
    let entries = job.journal.entries();
    let first_commit = entries
        .iter()
        .position(|e| e.starts_with("commit "))
        .unwrap();
    let begins_before = entries[..first_commit]
        .iter()
        .filter(|e| e.starts_with("begin "))
        .count();
    assert!(begins_before > 1, "{:?}", &entries[..first_commit + 1]);
    // Committed strictly in source order: the target's transaction ids were handed out
    // in begin order, which is the source order.
    let ids: Vec<i64> = commit_order(&job)
        .iter()
        .map(|e| e["commit ".len()..].parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[tokio::test]
async fn a_failed_commit_in_a_pipelined_burst_loses_nothing_and_applies_nothing_twice() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    let burst = 50;
    for seq in SNAPSHOT_SEQ + 1..=SNAPSHOT_SEQ + burst {
        job.source.push(&fake::upsert(seq));
    }
    // The eleventh is refused while later ones are in flight.
    let refused_at = SNAPSHOT_SEQ + 11;
    job.target.refuse_commit_of(&format!(
        "ccrj-table_sync:{}_{}:{}_{DEST_TABLE_ID}:{refused_at}",
        fake::SRC_DB_ID,
        fake::SRC_TABLE_ID,
        fake::DEST_DB_ID
    ));
    let control = job.ctx.control.borrow().clone();
    let failed = sync::step(&job.ctx, &mut cache, &mut progress, &control, 0).await;
    assert!(failed.is_err(), "the refused commit fails the step");
    assert_eq!(progress.prev_commit_seq, refused_at - 1);
    assert_eq!(
        job.ctx.status.lock().failing_commit_seq,
        Some(refused_at),
        "the failure is the refused binlog's"
    );
    // The stored cursor may be older (grouped writes), never newer than what is applied.
    let stored = job.store.stored().unwrap();
    assert!(stored.prev_commit_seq < refused_at);
    assert!(
        !job.journal.matching("rollback ").is_empty(),
        "later ones rolled back"
    );

    // A crash now: a new task resumes from the stored progress with nothing cached.
    let mut progress = stored;
    let mut cache = SyncCache::new();
    step_until(&job.ctx, &mut cache, &mut progress, |p| {
        p.prev_commit_seq == SNAPSHOT_SEQ + burst
    })
    .await;
    assert_eq!(job.target.committed().len(), burst as usize);
    // Each binlog committed once: the replayed ones were found committed by label.
    assert_eq!(
        commit_order(&job).len(),
        burst as usize + 1,
        "plus the refused one"
    );
}

#[tokio::test]
async fn cached_metadata_is_read_again_after_a_failed_ingest_and_for_an_unknown_partition() {
    let (job, mut cache, mut progress) = caught_up_job().await;
    // Warm the cache.
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 1));
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    let (src_meta, dest_meta) = (
        job.source.meta_calls(fake::SRC_TABLE_ID),
        job.target.meta_calls(),
    );

    // An ingest planned from the cache fails: planned again from fresh metadata and
    // committed in the same step, without failing it.
    job.target.fail_ingests(1);
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 2));
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 2);
    assert_eq!(job.source.meta_calls(fake::SRC_TABLE_ID), src_meta + 1);
    assert_eq!(job.target.meta_calls(), dest_meta + 1);
    assert_eq!(job.target.committed().len(), 2);

    // A partition the cache does not know is looked up before it is judged gone.
    job.source
        .push(&fake::upsert_of_partition(SNAPSHOT_SEQ + 3, 999));
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 3);
    assert_eq!(job.source.meta_calls(fake::SRC_TABLE_ID), src_meta + 2);

    // A DDL forgets the cache: the next load reads metadata again.
    job.source.push(&fake::modify_comment(SNAPSHOT_SEQ + 4));
    job.source.push(&fake::upsert(SNAPSHOT_SEQ + 5));
    step_once(&job, &mut cache, &mut progress).await.unwrap();
    assert_eq!(progress.prev_commit_seq, SNAPSHOT_SEQ + 5);
    assert_eq!(job.source.meta_calls(fake::SRC_TABLE_ID), src_meta + 3);
}

// ---- the snapshot coordinator: several jobs of one database -------------------------

mod snapshot_slots {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::job::fake::FakeJob;
    use crate::job::runner;
    use crate::job::snapshot_slots::{SlotKey, SnapshotSlots, MAX_BATCH_TABLES};
    use crate::job::spec::RunState;
    use crate::progress::Phase;

    /// Longest a test waits for a condition before it fails.
    const PATIENCE: Duration = Duration::from_secs(20);

    async fn wait_for(what: &str, done: impl Fn() -> bool) {
        let started = Instant::now();
        while !done() {
            assert!(started.elapsed() < PATIENCE, "not reached: {what}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    fn source_slot() -> SlotKey {
        SlotKey::new("127.0.0.1", "9030", "src_db")
    }

    /// Runs each job's task, as the syncer does, in the process `slots` stands for.
    fn start_tasks(
        jobs: &[FakeJob],
        slots: &Arc<SnapshotSlots>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        jobs.iter()
            .map(|job| tokio::spawn(runner::run(job.task_context(slots))))
            .collect()
    }

    /// Stops every task (the syncer stops or dies) and waits for them to end.
    async fn stop_tasks(jobs: &[FakeJob], tasks: Vec<tokio::task::JoinHandle<()>>) {
        for job in jobs {
            job.control.send_modify(|c| c.stop = true);
        }
        for task in tasks {
            task.await.expect("task ends");
        }
        for job in jobs {
            job.control.send_modify(|c| c.stop = false);
        }
    }

    fn incremental(job: &FakeJob) -> bool {
        job.store
            .stored()
            .is_some_and(|p| p.phase() == &Phase::TableIncremental)
    }

    fn recorded_snapshot(job: &FakeJob) -> String {
        job.store
            .stored()
            .and_then(|p| {
                p.phase()
                    .snapshot()
                    .map(|s| s.checkpoint.snapshot_name.clone())
            })
            .unwrap_or_default()
    }

    fn waiting_for(job: &FakeJob) -> String {
        job.ctx
            .status
            .lock()
            .waiting_for
            .clone()
            .unwrap_or_default()
    }

    /// Occupies the source database as a running backup of this syncer does, so the jobs
    /// started next all queue behind it.
    fn occupy(slots: &SnapshotSlots) {
        slots.running(&source_slot(), "ccrs_src_db_t0_1", || {
            "backup ccrs_src_db_t0_1 of this syncer (job job_0)".into()
        });
    }

    #[tokio::test]
    async fn jobs_queued_on_one_database_share_backups_in_batches_and_none_fails() {
        const JOBS: usize = MAX_BATCH_TABLES + 6;
        let jobs = FakeJob::table_jobs_of_one_database(JOBS);
        let (source, target) = (jobs[0].source.clone(), jobs[0].target.clone());
        let slots = jobs[0].slots();
        occupy(&slots);
        let tasks = start_tasks(&jobs, &slots);
        wait_for("every job queued", || {
            slots.queued_backups(&source_slot()) == JOBS
        })
        .await;
        assert!(
            jobs.iter().all(|j| waiting_for(j).starts_with(
                "snapshot slot of source database src_db (127.0.0.1:9030): behind backup \
                 ccrs_src_db_t0_1 of this syncer"
            )),
            "{}",
            waiting_for(&jobs[0])
        );
        slots.finished(&source_slot(), "ccrs_src_db_t0_1");
        wait_for("every job in incremental sync", || {
            jobs.iter().all(incremental)
        })
        .await;
        stop_tasks(&jobs, tasks).await;

        let backups = source.backups();
        let sizes: Vec<usize> = backups.iter().map(|(_, tables)| tables.len()).collect();
        assert_eq!(sizes, vec![MAX_BATCH_TABLES, 6], "two batches: {backups:?}");
        let mut covered: Vec<String> = backups.iter().flat_map(|(_, t)| t.clone()).collect();
        covered.sort();
        let mut tables: Vec<String> = (1..=JOBS).map(|i| format!("t{i}")).collect();
        tables.sort();
        assert_eq!(covered, tables, "every table backed up once");
        assert!(
            backups
                .iter()
                .all(|(name, _)| name.starts_with("ccrs_src_db_batch_")),
            "shared names name no table: {backups:?}"
        );
        let journal = jobs[0].journal.entries();
        assert!(
            !journal.iter().any(|e| e.contains("refused")),
            "the jobs never collided with each other: {journal:?}"
        );
        for (i, job) in jobs.iter().enumerate() {
            assert_eq!(
                job.ctx.metrics.errors.get(),
                0,
                "{} failed no step",
                job.ctx.name
            );
            assert!(waiting_for(job).is_empty());
            let table = format!("t{}", i + 1);
            let restore = target
                .restore_requests()
                .into_iter()
                .find(|r| r.table == table)
                .expect("restored");
            assert_eq!(
                restore.table_refs,
                vec![(table.clone(), Some(table.clone()))],
                "only its own table from the shared snapshot"
            );
            let batch = backups
                .iter()
                .find(|(_, tables)| tables.contains(&table))
                .map(|(name, _)| name.clone())
                .unwrap();
            assert!(
                restore.label.starts_with(&batch),
                "{} from {batch}",
                restore.label
            );
        }
        assert_eq!(target.table_names().len(), JOBS);
    }

    #[tokio::test]
    async fn after_a_restart_every_job_that_recorded_a_shared_backup_is_served_by_it() {
        let jobs = FakeJob::table_jobs_of_one_database(3);
        let source = jobs[0].source.clone();
        let slots = jobs[0].slots();
        occupy(&slots);
        let tasks = start_tasks(&jobs, &slots);
        wait_for("every job queued", || {
            slots.queued_backups(&source_slot()) == 3
        })
        .await;
        source.hold_backups(true);
        slots.finished(&source_slot(), "ccrs_src_db_t0_1");
        wait_for("the shared backup runs", || {
            source.backups().iter().any(|(_, t)| t.len() == 3)
        })
        .await;
        // The syncer dies while the shared backup runs.
        stop_tasks(&jobs, tasks).await;
        let (shared, _) = source.backups().remove(0);
        for job in &jobs {
            assert_eq!(
                recorded_snapshot(job),
                shared,
                "saved before the backup started"
            );
        }

        source.hold_backups(false);
        let restarted = SnapshotSlots::new();
        let tasks = start_tasks(&jobs, &restarted);
        wait_for("every job in incremental sync", || {
            jobs.iter().all(incremental)
        })
        .await;
        stop_tasks(&jobs, tasks).await;
        assert_eq!(source.backups().len(), 1, "no second backup");
        let labels: Vec<String> = jobs[0]
            .target
            .restore_requests()
            .into_iter()
            .map(|r| r.label)
            .collect();
        assert_eq!(labels.len(), 3);
        assert!(labels.iter().all(|l| l.starts_with(&shared)), "{labels:?}");
    }

    #[tokio::test]
    async fn a_queued_job_shows_what_it_waits_for_and_leaves_the_queue_when_paused() {
        let jobs = FakeJob::table_jobs_of_one_database(1);
        let job = &jobs[0];
        let slots = job.slots();
        occupy(&slots);
        let tasks = start_tasks(&jobs, &slots);
        wait_for("queued", || slots.queued_backups(&source_slot()) == 1).await;
        assert_eq!(
            waiting_for(job),
            "snapshot slot of source database src_db (127.0.0.1:9030): behind backup \
             ccrs_src_db_t0_1 of this syncer (job job_0)"
        );
        let status_line = job
            .ctx
            .status
            .lock()
            .summary(crate::job::spec::SyncType::Table);
        assert!(
            status_line.contains("waiting for snapshot slot"),
            "{status_line}"
        );

        job.control.send_modify(|c| c.run_state = RunState::Paused);
        wait_for("left the queue", || {
            slots.queued_backups(&source_slot()) == 0
        })
        .await;
        job.control.send_modify(|c| c.run_state = RunState::Running);
        wait_for("queued again", || slots.queued_backups(&source_slot()) == 1).await;

        slots.finished(&source_slot(), "ccrs_src_db_t0_1");
        wait_for("incremental sync", || incremental(job)).await;
        stop_tasks(&jobs, tasks).await;
        assert!(waiting_for(job).is_empty());
        assert_eq!(job.source.backups().len(), 1);
    }

    /// A table job started while the source runs backup `alien` (not this syncer's).
    fn job_behind_an_alien_backup(alien: &str, cancel_flag: bool) -> FakeJob {
        let mut job = FakeJob::table_job();
        job.set_features(|f| f.cancel_conflict_backup_restore_job = cancel_flag);
        job.source.start_alien_backup(alien);
        job
    }

    #[tokio::test]
    async fn an_alien_backup_is_waited_for_and_never_cancelled_without_the_flag() {
        for (alien, flag) in [("ccrs_src_db_t_1_0000", false), ("nightly_full", true)] {
            let job = job_behind_an_alien_backup(alien, flag);
            let jobs = [job];
            let job = &jobs[0];
            let tasks = start_tasks(&jobs, &job.slots());
            wait_for("waiting behind the alien backup", || {
                waiting_for(job).contains(&format!(
                    "behind backup {alien}, which this syncer did not start"
                ))
            })
            .await;
            assert!(waiting_for(job).starts_with("snapshot slot of source database src_db"));
            job.source.finish_alien_backup(alien);
            wait_for("incremental sync", || incremental(job)).await;
            stop_tasks(&jobs, tasks).await;
            assert!(
                job.journal.matching("cancel ").is_empty(),
                "{alien}: nothing cancelled"
            );
            assert_eq!(
                job.source.backup_state_now(alien).as_deref(),
                Some("FINISHED")
            );
            assert_eq!(job.ctx.metrics.errors.get(), 0, "waiting is no failure");
        }
    }

    #[tokio::test]
    async fn with_the_flag_a_syncers_conflicting_backup_is_cancelled() {
        let alien = "ccrs_src_db_t_1_0000";
        let job = job_behind_an_alien_backup(alien, true);
        let jobs = [job];
        let job = &jobs[0];
        let tasks = start_tasks(&jobs, &job.slots());
        wait_for("incremental sync", || incremental(job)).await;
        stop_tasks(&jobs, tasks).await;
        assert_eq!(
            job.journal.matching("cancel backup"),
            vec![format!("cancel backup {alien}")]
        );
        assert_eq!(
            job.source.backup_state_now(alien).as_deref(),
            Some("CANCELLED")
        );
    }

    #[tokio::test]
    async fn a_restore_waits_for_one_the_target_database_runs_for_someone_else() {
        let jobs = [FakeJob::table_job()];
        let job = &jobs[0];
        job.target.start_alien_restore("someone_else_r_1");
        let tasks = start_tasks(&jobs, &job.slots());
        wait_for("waiting behind the alien restore", || {
            waiting_for(job).starts_with(
                "snapshot slot of target database dest_db (127.0.0.1:9031): behind restore \
                 someone_else_r_1, which this syncer did not start",
            )
        })
        .await;
        job.target.finish_alien_restore();
        wait_for("incremental sync", || incremental(job)).await;
        stop_tasks(&jobs, tasks).await;
        assert!(job.journal.matching("cancel ").is_empty());
        assert!(waiting_for(job).is_empty());
    }
}
