//! Source watchers against the in-memory fakes: several caught-up table jobs of one source
//! database, each running its real task ([`super::runner::run`]), share one watcher. The
//! clock is tokio's paused clock, so "over a minute" is a minute of the schedule, counted
//! in calls, not wall time.

use std::sync::Arc;
use std::time::Duration;

use super::context::JobControl;
use super::fake::{self, FakeJob, FakeSource, Journal, DEST_TABLE_ID};
use super::settings::JobSettings;
use super::source_watch::{Interest, SourceWatch, SourceWatches, WatchKey, WatchMetrics};
use super::status::JobStatus;
use crate::progress::{Phase, Progress};

/// The idle poll interval of these tests: the production default.
const IDLE: Duration = Duration::from_secs(1);
/// Where every job's cursor starts.
const START_SEQ: i64 = 100;

/// A table job's task running against the shared fake source, with the handles the test
/// keeps on it.
struct RunningJob {
    table_id: i64,
    store: Arc<fake::MemoryProgress>,
    journal: Journal,
    status: Arc<parking_lot::Mutex<JobStatus>>,
    control: tokio::sync::watch::Sender<JobControl>,
    task: tokio::task::JoinHandle<()>,
}

/// Table ids of the jobs: 1000, 1001, ...
fn table_id(index: usize) -> i64 {
    1000 + index as i64
}

fn key() -> WatchKey {
    WatchKey {
        frontend: "source-fe:9020".into(),
        database: "src_db".into(),
        user: "root".into(),
    }
}

impl RunningJob {
    /// Starts a table job of table `table_id`, caught up at [`START_SEQ`], served by the
    /// watcher of `registry`.
    async fn start(source: &Arc<FakeSource>, registry: &Arc<SourceWatches>, table_id: i64) -> Self {
        let FakeJob {
            mut ctx,
            store,
            journal,
            control,
            ..
        } = FakeJob::table_job_on(
            source,
            &format!("job_{table_id}"),
            &format!("t{table_id}"),
            table_id,
        );
        let mut progress =
            Progress::new_full_sync(&ctx.name, true, 0).with_phase(Phase::TableIncremental);
        progress.prev_commit_seq = START_SEQ;
        progress.commit_seq = START_SEQ;
        progress.dest_table_id = DEST_TABLE_ID;
        ctx.save(&progress).await.expect("the memory store saves");
        ctx.settings = Arc::new(JobSettings {
            idle_poll_interval: IDLE,
            ..(*ctx.settings).clone()
        });
        ctx.source_watch = SourceWatch::new(
            Arc::clone(registry),
            key(),
            source.clone(),
            Interest::Table(table_id),
        );
        let status = Arc::clone(&ctx.status);
        let task = tokio::spawn(super::runner::run(ctx));
        RunningJob {
            table_id,
            store,
            journal,
            status,
            control,
            task,
        }
    }

    /// Starts `count` jobs of tables 1000, 1001, ...
    async fn start_many(
        source: &Arc<FakeSource>,
        registry: &Arc<SourceWatches>,
        count: usize,
    ) -> Vec<Self> {
        let mut jobs = Vec::new();
        for index in 0..count {
            jobs.push(Self::start(source, registry, table_id(index)).await);
        }
        jobs
    }

    fn applied_seq(&self) -> i64 {
        self.store.stored().map_or(0, |p| p.prev_commit_seq)
    }

    fn last_error(&self) -> Option<String> {
        self.status.lock().last_error.clone()
    }

    async fn stop(self) {
        self.control.send_modify(|c| c.stop = true);
        self.task.await.expect("the job's task ends");
    }
}

async fn stop_all(jobs: Vec<RunningJob>) {
    for job in jobs {
        job.stop().await;
    }
}

fn registry() -> (Arc<SourceWatches>, WatchMetrics) {
    let metrics = WatchMetrics::default();
    (SourceWatches::new(IDLE, metrics.clone()), metrics)
}

/// Lets the paused clock run for `time`: every task takes the steps due meanwhile.
async fn run_for(time: Duration) {
    tokio::time::sleep(time).await;
}

fn own_calls(source: &FakeSource, jobs: &[RunningJob]) -> Vec<u64> {
    jobs.iter()
        .map(|job| source.binlog_calls(Some(job.table_id)))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn twenty_idle_jobs_of_one_database_cost_one_call_per_idle_interval() {
    let source = FakeSource::new(Journal::default());
    let (registry, metrics) = registry();
    let jobs = RunningJob::start_many(&source, &registry, 20).await;
    // Every job caught up, fetched once more for its first registration, and the watcher
    // backed off to its idle interval.
    run_for(Duration::from_secs(10)).await;
    assert_eq!(registry.len(), 1, "one watcher for the database");
    assert_eq!(metrics.watchers.get(), 1);
    for job in &jobs {
        assert_eq!(
            source.binlog_calls(Some(job.table_id)),
            2,
            "its first fetch and the one its first registration asked for"
        );
        assert_eq!(source.meta_calls(job.table_id), 1, "one existence check");
    }

    let db_before = source.binlog_calls(None);
    let own_before = own_calls(&source, &jobs);
    run_for(Duration::from_secs(60)).await;
    let db_calls = source.binlog_calls(None) - db_before;
    assert!(
        (59..=61).contains(&db_calls),
        "about one database-stream call a second while idle: {db_calls} in 60 s"
    );
    assert_eq!(
        own_calls(&source, &jobs),
        own_before,
        "no job polls by itself"
    );
    for job in &jobs {
        assert_eq!(
            source.meta_calls(job.table_id),
            1,
            "no periodic existence check while the watcher reports drops"
        );
    }
    assert_eq!(
        metrics.polls.get(),
        source.binlog_calls(None) + 1,
        "its getBinlog calls and the look at the stream's head it started with"
    );
    stop_all(jobs).await;
}

#[tokio::test(start_paused = true)]
async fn a_commit_to_one_table_wakes_only_that_tables_job() {
    let source = FakeSource::new(Journal::default());
    let (registry, _) = registry();
    let jobs = RunningJob::start_many(&source, &registry, 3).await;
    run_for(Duration::from_secs(10)).await;
    let before = own_calls(&source, &jobs);

    source.push(&fake::modify_comment_of(jobs[0].table_id, START_SEQ + 1));
    run_for(Duration::from_secs(5)).await;

    assert_eq!(jobs[0].applied_seq(), START_SEQ + 1, "replayed");
    assert_eq!(
        jobs[0].journal.matching("exec ").len(),
        1,
        "the comment change ran on its target"
    );
    let after = own_calls(&source, &jobs);
    assert!(after[0] > before[0], "the job of the table fetched");
    assert_eq!(after[1..], before[1..], "the other jobs were not woken");
    for job in &jobs[1..] {
        assert_eq!(job.applied_seq(), START_SEQ);
    }

    stop_all(jobs).await;
}

#[tokio::test(start_paused = true)]
async fn a_dropped_table_wakes_its_job_which_reports_the_source_gone() {
    let source = FakeSource::new(Journal::default());
    let (registry, _) = registry();
    let jobs = RunningJob::start_many(&source, &registry, 3).await;
    run_for(Duration::from_secs(10)).await;
    let dropped = &jobs[1];

    source.drop_table(dropped.table_id, START_SEQ + 1);
    run_for(Duration::from_secs(5)).await;

    let error = dropped.last_error().expect("the job reports an error");
    assert!(error.contains("was dropped"), "{error}");
    assert!(source.meta_calls(dropped.table_id) >= 2, "it checked again");
    for job in [&jobs[0], &jobs[2]] {
        assert_eq!(job.last_error(), None);
        assert_eq!(
            source.meta_calls(job.table_id),
            1,
            "the other jobs were not woken to check"
        );
    }
    stop_all(jobs).await;
}

#[tokio::test(start_paused = true)]
async fn jobs_poll_by_themselves_while_the_database_stream_cannot_be_read() {
    let source = FakeSource::new(Journal::default());
    source.set_db_stream_missing(true);
    let (registry, _) = registry();
    let jobs = RunningJob::start_many(&source, &registry, 3).await;
    run_for(Duration::from_secs(10)).await;

    let before = own_calls(&source, &jobs);
    run_for(Duration::from_secs(30)).await;
    for (job, before) in jobs.iter().zip(&before) {
        let polls = source.binlog_calls(Some(job.table_id)) - before;
        assert!(
            (29..=31).contains(&polls),
            "own polling at the idle interval: {polls} in 30 s"
        );
    }
    // Data still flows.
    source.push(&fake::modify_comment_of(jobs[2].table_id, START_SEQ + 1));
    run_for(Duration::from_secs(3)).await;
    assert_eq!(jobs[2].applied_seq(), START_SEQ + 1);

    // The stream comes back: the watcher takes over again (its retry backs off to 30 s).
    source.set_db_stream_missing(false);
    run_for(Duration::from_secs(60)).await;
    let before = own_calls(&source, &jobs);
    run_for(Duration::from_secs(30)).await;
    assert_eq!(
        own_calls(&source, &jobs),
        before,
        "the watcher serves them again"
    );
    stop_all(jobs).await;
}

#[tokio::test(start_paused = true)]
async fn the_watcher_ends_with_its_last_job() {
    let source = FakeSource::new(Journal::default());
    let (registry, metrics) = registry();
    let mut jobs = RunningJob::start_many(&source, &registry, 3).await;
    run_for(Duration::from_secs(5)).await;
    assert_eq!(registry.len(), 1);

    jobs.pop().expect("three jobs").stop().await;
    jobs.pop().expect("two jobs").stop().await;
    assert_eq!(registry.len(), 1, "one job left");
    jobs.pop().expect("one job").stop().await;
    assert!(registry.is_empty(), "no watcher without jobs");
    assert_eq!(metrics.watchers.get(), 0);

    let polls = source.binlog_calls(None);
    run_for(Duration::from_secs(10)).await;
    assert_eq!(source.binlog_calls(None), polls, "its task ended");
}

#[tokio::test(start_paused = true)]
async fn a_watcher_starts_at_the_head_of_the_stream_not_at_an_old_cursor() {
    let source = FakeSource::new(Journal::default());
    // A busy table no job replicates: 10,000 binlogs after the jobs' cursors.
    let busy = 5;
    source.add_table(busy, "busy");
    for seq in START_SEQ + 1..=START_SEQ + 10_000 {
        source.push(&fake::modify_comment_of(busy, seq));
    }
    let (registry, _) = registry();
    let jobs = RunningJob::start_many(&source, &registry, 2).await;
    run_for(Duration::from_secs(10)).await;
    assert!(
        source.binlog_calls(None) < 30,
        "not the 100 calls reading the history would take: {}",
        source.binlog_calls(None)
    );
    // And it sees what comes next.
    source.push(&fake::modify_comment_of(
        jobs[0].table_id,
        START_SEQ + 10_001,
    ));
    run_for(Duration::from_secs(3)).await;
    assert_eq!(jobs[0].applied_seq(), START_SEQ + 10_001);
    stop_all(jobs).await;
}
