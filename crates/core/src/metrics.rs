//! The service's metrics: a `prometheus-client` registry rendered in the Prometheus text
//! exposition format (version 0.0.4).
//!
//! Every metric name lives here, so the telemetry vocabulary is in one place. The constants
//! are the names as exposed, counters with their `_total`; the registry is given counter
//! names without it because its encoder appends the suffix. Job names are label values,
//! never part of metric names. A job's series exist while this syncer runs the job:
//! [`Metrics::remove_job`] drops them when the job is deleted or moves to another syncer.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use parking_lot::Mutex;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub const JOBS_CREATED_TOTAL: &str = "ccr_syncer_jobs_created_total";
pub const JOBS: &str = "ccr_syncer_jobs";
pub const BINLOGS_HANDLED_TOTAL: &str = "ccr_syncer_binlogs_handled_total";
pub const JOB_BINLOGS_HANDLED_TOTAL: &str = "ccr_syncer_job_binlogs_handled_total";
pub const JOB_ERRORS_TOTAL: &str = "ccr_syncer_job_errors_total";
pub const JOB_PREV_COMMIT_SEQ: &str = "ccr_syncer_job_prev_commit_seq";
pub const JOB_LAG_BINLOGS: &str = "ccr_syncer_job_lag_binlogs";
pub const JOB_LAG_SECONDS: &str = "ccr_syncer_job_lag_seconds";
pub const JOB_PAUSED: &str = "ccr_syncer_job_paused";
pub const JOBS_NEEDING_OPERATOR: &str = "ccr_syncer_jobs_needing_operator";
pub const JOB_NEEDS_OPERATOR: &str = "ccr_syncer_job_needs_operator";
pub const JOB_VERIFY_MISMATCH_TABLES: &str = "ccr_syncer_job_verify_mismatch_tables";
pub const JOB_LAST_VERIFY_TIMESTAMP_SECONDS: &str = "ccr_syncer_job_last_verify_timestamp_seconds";
pub const JOB_TARGET_DISK_FULL: &str = "ccr_syncer_job_target_disk_full";
pub const HTTP_REQUESTS_TOTAL: &str = "ccr_syncer_http_requests_total";
pub const JOB_METADATA_WRITES_TOTAL: &str = "ccr_syncer_job_metadata_writes_total";
pub const JOB_SOURCE_CALLS_TOTAL: &str = "ccr_syncer_job_source_calls_total";
pub const JOB_SOURCE_CALL_SECONDS_TOTAL: &str = "ccr_syncer_job_source_call_seconds_total";
pub const JOB_TARGET_CALLS_TOTAL: &str = "ccr_syncer_job_target_calls_total";
pub const JOB_TARGET_CALL_SECONDS_TOTAL: &str = "ccr_syncer_job_target_call_seconds_total";
pub const JOB_CLUSTER_WAIT_SECONDS_TOTAL: &str = "ccr_syncer_job_cluster_wait_seconds_total";
pub const JOB_STEP_DURATION_SECONDS: &str = "ccr_syncer_job_step_duration_seconds";
pub const INGEST_BINLOG_DURATION_SECONDS: &str = "ccr_syncer_ingest_binlog_duration_seconds";
pub const COMMIT_TXN_DURATION_SECONDS: &str = "ccr_syncer_commit_txn_duration_seconds";
pub const BINLOG_BATCH_SIZE: &str = "ccr_syncer_binlog_batch_size";
pub const JOB_TAKEOVERS_TOTAL: &str = "ccr_syncer_job_takeovers_total";
pub const LAST_HEARTBEAT_TIMESTAMP_SECONDS: &str = "ccr_syncer_last_heartbeat_timestamp_seconds";
pub const SOURCE_WATCHERS: &str = "ccr_syncer_source_watchers";
pub const SOURCE_WATCHER_POLLS_TOTAL: &str = "ccr_syncer_source_watcher_polls_total";

/// Upper bounds of a job step's duration: one binlog applied takes milliseconds, a
/// snapshot poll or a large ingest up to minutes.
const STEP_SECONDS_BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Upper bounds of one ingest or commitTxn wait: around a millisecond on a healthy
/// cluster, up to the RPC timeouts (tens of seconds) on a struggling one.
const CALL_SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds of binlogs per getBinlog answer: powers of two up to the 32 a job asks
/// for (`BINLOG_BATCH` in the incremental sync); a full batch means the job is behind.
const BATCH_SIZE_BUCKETS: [f64; 6] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];

/// The name a counter is registered under: the encoder appends `_total`.
fn counter_name(exposed: &'static str) -> &'static str {
    exposed
        .strip_suffix("_total")
        .expect("counter names end in _total")
}

/// The label set of every per-job series.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: String,
}

type SecondsCounter = Counter<f64, AtomicU64>;

/// Calls to one cluster and the time spent waiting for them.
#[derive(Debug, Default)]
pub struct CallTime {
    pub calls: Counter,
    pub seconds: SecondsCounter,
}

impl CallTime {
    pub fn record(&self, elapsed: std::time::Duration) {
        self.calls.inc();
        self.seconds.inc_by(elapsed.as_secs_f64());
    }
}

/// Per-job figures, updated by the job's task. Handles to the registered series (or to
/// detached ones for tests): cloning shares the values.
#[derive(Debug, Clone)]
pub struct JobMetrics {
    binlogs_handled: Counter,
    /// The syncer-wide total, counted with the job's own.
    all_binlogs_handled: Counter,
    pub errors: Counter,
    pub prev_commit_seq: Gauge,
    /// Source binlogs not yet applied, and how many seconds of source time they span;
    /// refreshed by the job while it replays (at most every few seconds, also while its
    /// steps fail) and zeroed when it is caught up.
    pub lag_binlogs: Gauge,
    pub lag_seconds: Gauge,
    pub paused: Gauge,
    /// 1 while the job cannot go on without an operator.
    pub needs_operator: Gauge,
    /// Tables the last verification found different on the target, and when it ended
    /// (Unix seconds; 0 before the first).
    pub verify_mismatch_tables: Gauge,
    pub last_verify_timestamp: Gauge,
    /// 1 while the job holds because a target BE's disk is above the threshold.
    pub target_disk_full: Gauge,
    /// Durable writes of the job's progress.
    pub metadata_writes: Counter,
    /// Calls to the source and target clusters and the time spent in them.
    pub source_calls: Arc<CallTime>,
    pub target_calls: Arc<CallTime>,
    /// Time the job waited for work running on a cluster between its calls: a backup or
    /// restore (its own, or the one it queues behind), a full target disk.
    pub cluster_wait_seconds: SecondsCounter,
    /// Durations of the job's steps that did work or failed (idle polls are left out).
    pub step_seconds: Histogram,
    /// Syncer-wide: one binlog's ingest_binlog calls (concurrent) until all answered.
    pub ingest_seconds: Histogram,
    /// Syncer-wide: commitTxn calls.
    pub commit_seconds: Histogram,
    /// Syncer-wide: binlogs in each getBinlog answer that had any.
    pub binlog_batch_size: Histogram,
}

impl Default for JobMetrics {
    /// Registered nowhere: for jobs run by tests.
    fn default() -> Self {
        JobMetrics {
            binlogs_handled: Counter::default(),
            all_binlogs_handled: Counter::default(),
            errors: Counter::default(),
            prev_commit_seq: Gauge::default(),
            lag_binlogs: Gauge::default(),
            lag_seconds: Gauge::default(),
            paused: Gauge::default(),
            needs_operator: Gauge::default(),
            verify_mismatch_tables: Gauge::default(),
            last_verify_timestamp: Gauge::default(),
            target_disk_full: Gauge::default(),
            metadata_writes: Counter::default(),
            source_calls: Arc::default(),
            target_calls: Arc::default(),
            cluster_wait_seconds: SecondsCounter::default(),
            step_seconds: step_histogram(),
            ingest_seconds: call_histogram(),
            commit_seconds: call_histogram(),
            binlog_batch_size: batch_histogram(),
        }
    }
}

impl JobMetrics {
    /// The job's lag as last measured: binlogs not yet applied and the seconds of source
    /// time they span.
    pub fn record_lag(&self, binlogs: i64, seconds: i64) {
        self.lag_binlogs.set(binlogs.max(0));
        self.lag_seconds.set(seconds.max(0));
    }

    /// One binlog applied to the target.
    pub fn binlog_applied(&self) {
        self.binlogs_handled.inc();
        self.all_binlogs_handled.inc();
    }

    pub fn binlogs_handled(&self) -> u64 {
        self.binlogs_handled.get()
    }
}

fn step_histogram() -> Histogram {
    Histogram::new(STEP_SECONDS_BUCKETS)
}

fn call_histogram() -> Histogram {
    Histogram::new(CALL_SECONDS_BUCKETS)
}

fn batch_histogram() -> Histogram {
    Histogram::new(BATCH_SIZE_BUCKETS)
}

/// The per-job families; one series of each per job this syncer runs.
#[derive(Debug, Clone)]
struct JobFamilies {
    binlogs_handled: Family<JobLabel, Counter>,
    errors: Family<JobLabel, Counter>,
    prev_commit_seq: Family<JobLabel, Gauge>,
    lag_binlogs: Family<JobLabel, Gauge>,
    lag_seconds: Family<JobLabel, Gauge>,
    paused: Family<JobLabel, Gauge>,
    needs_operator: Family<JobLabel, Gauge>,
    verify_mismatch_tables: Family<JobLabel, Gauge>,
    last_verify_timestamp: Family<JobLabel, Gauge>,
    target_disk_full: Family<JobLabel, Gauge>,
    metadata_writes: Family<JobLabel, Counter>,
    source_calls: Family<JobLabel, Counter>,
    source_call_seconds: Family<JobLabel, SecondsCounter>,
    target_calls: Family<JobLabel, Counter>,
    target_call_seconds: Family<JobLabel, SecondsCounter>,
    cluster_wait_seconds: Family<JobLabel, SecondsCounter>,
    step_seconds: Family<JobLabel, Histogram, fn() -> Histogram>,
}

impl JobFamilies {
    fn new() -> Self {
        JobFamilies {
            binlogs_handled: Family::default(),
            errors: Family::default(),
            prev_commit_seq: Family::default(),
            lag_binlogs: Family::default(),
            lag_seconds: Family::default(),
            paused: Family::default(),
            needs_operator: Family::default(),
            verify_mismatch_tables: Family::default(),
            last_verify_timestamp: Family::default(),
            target_disk_full: Family::default(),
            metadata_writes: Family::default(),
            source_calls: Family::default(),
            source_call_seconds: Family::default(),
            target_calls: Family::default(),
            target_call_seconds: Family::default(),
            cluster_wait_seconds: Family::default(),
            step_seconds: Family::new_with_constructor(step_histogram),
        }
    }

    fn register(&self, registry: &mut Registry) {
        let counters = [
            (
                JOB_BINLOGS_HANDLED_TOTAL,
                "Binlogs applied by a job",
                &self.binlogs_handled,
            ),
            (JOB_ERRORS_TOTAL, "Failed sync steps of a job", &self.errors),
            (
                JOB_METADATA_WRITES_TOTAL,
                "Durable writes of the job's progress",
                &self.metadata_writes,
            ),
            (
                JOB_SOURCE_CALLS_TOTAL,
                "Calls to the source cluster",
                &self.source_calls,
            ),
            (
                JOB_TARGET_CALLS_TOTAL,
                "Calls to the target cluster",
                &self.target_calls,
            ),
        ];
        for (name, help, family) in counters {
            registry.register(counter_name(name), help, family.clone());
        }
        let gauges = [
            (
                JOB_NEEDS_OPERATOR,
                "1 while a job cannot go on without an operator",
                &self.needs_operator,
            ),
            (
                JOB_PREV_COMMIT_SEQ,
                "Last source commit seq applied to the target",
                &self.prev_commit_seq,
            ),
            (
                JOB_LAG_BINLOGS,
                "Source binlogs not yet applied, as last measured by the job",
                &self.lag_binlogs,
            ),
            (
                JOB_LAG_SECONDS,
                "Seconds of source time between the oldest binlog not yet applied and the newest",
                &self.lag_seconds,
            ),
            (JOB_PAUSED, "1 while the job is paused", &self.paused),
            (
                JOB_VERIFY_MISMATCH_TABLES,
                "Tables the job's last verification found different on the target",
                &self.verify_mismatch_tables,
            ),
            (
                JOB_LAST_VERIFY_TIMESTAMP_SECONDS,
                "When the job's last verification ended (Unix seconds; 0 before the first)",
                &self.last_verify_timestamp,
            ),
            (
                JOB_TARGET_DISK_FULL,
                "1 while the job holds because a target BE's disk is fuller than allowed",
                &self.target_disk_full,
            ),
        ];
        for (name, help, family) in gauges {
            registry.register(name, help, family.clone());
        }
        registry.register(
            counter_name(JOB_SOURCE_CALL_SECONDS_TOTAL),
            "Time spent waiting for the source cluster",
            self.source_call_seconds.clone(),
        );
        registry.register(
            counter_name(JOB_TARGET_CALL_SECONDS_TOTAL),
            "Time spent waiting for the target cluster",
            self.target_call_seconds.clone(),
        );
        registry.register(
            counter_name(JOB_CLUSTER_WAIT_SECONDS_TOTAL),
            "Time spent waiting for work running on a cluster (a backup or restore, a full target disk) between calls",
            self.cluster_wait_seconds.clone(),
        );
        registry.register(
            JOB_STEP_DURATION_SECONDS,
            "Duration of a job's sync steps that did work or failed (idle polls left out)",
            self.step_seconds.clone(),
        );
    }

    /// Handles to the series of `label`, created if missing.
    fn series(&self, label: &JobLabel, shared: &SyncerWide) -> JobMetrics {
        JobMetrics {
            binlogs_handled: self.binlogs_handled.get_or_create_owned(label),
            all_binlogs_handled: shared.binlogs_handled.clone(),
            errors: self.errors.get_or_create_owned(label),
            prev_commit_seq: self.prev_commit_seq.get_or_create_owned(label),
            lag_binlogs: self.lag_binlogs.get_or_create_owned(label),
            lag_seconds: self.lag_seconds.get_or_create_owned(label),
            paused: self.paused.get_or_create_owned(label),
            needs_operator: self.needs_operator.get_or_create_owned(label),
            verify_mismatch_tables: self.verify_mismatch_tables.get_or_create_owned(label),
            last_verify_timestamp: self.last_verify_timestamp.get_or_create_owned(label),
            target_disk_full: self.target_disk_full.get_or_create_owned(label),
            metadata_writes: self.metadata_writes.get_or_create_owned(label),
            source_calls: Arc::new(CallTime {
                calls: self.source_calls.get_or_create_owned(label),
                seconds: self.source_call_seconds.get_or_create_owned(label),
            }),
            target_calls: Arc::new(CallTime {
                calls: self.target_calls.get_or_create_owned(label),
                seconds: self.target_call_seconds.get_or_create_owned(label),
            }),
            cluster_wait_seconds: self.cluster_wait_seconds.get_or_create_owned(label),
            step_seconds: self.step_seconds.get_or_create_owned(label),
            ingest_seconds: shared.ingest_seconds.clone(),
            commit_seconds: shared.commit_seconds.clone(),
            binlog_batch_size: shared.binlog_batch_size.clone(),
        }
    }

    fn remove(&self, label: &JobLabel) {
        // Every family of `new`: a series left behind would outlive its job here.
        self.binlogs_handled.remove(label);
        self.errors.remove(label);
        self.prev_commit_seq.remove(label);
        self.lag_binlogs.remove(label);
        self.lag_seconds.remove(label);
        self.paused.remove(label);
        self.needs_operator.remove(label);
        self.verify_mismatch_tables.remove(label);
        self.last_verify_timestamp.remove(label);
        self.target_disk_full.remove(label);
        self.metadata_writes.remove(label);
        self.source_calls.remove(label);
        self.source_call_seconds.remove(label);
        self.target_calls.remove(label);
        self.target_call_seconds.remove(label);
        self.cluster_wait_seconds.remove(label);
        self.step_seconds.remove(label);
    }
}

/// Series shared by all jobs.
#[derive(Debug, Clone)]
struct SyncerWide {
    binlogs_handled: Counter,
    ingest_seconds: Histogram,
    commit_seconds: Histogram,
    binlog_batch_size: Histogram,
}

type JobMap = Arc<Mutex<BTreeMap<String, Arc<JobMetrics>>>>;

/// `ccr_syncer_jobs` and `ccr_syncer_jobs_needing_operator`, counted at each scrape from the
/// jobs registered at that moment.
#[derive(Debug)]
struct JobCounts(JobMap);

impl Collector for JobCounts {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (jobs, needing_operator) = {
            let jobs = self.0.lock();
            let needing: i64 = jobs.values().map(|m| m.needs_operator.get()).sum();
            (jobs.len() as i64, needing)
        };
        let counts = [
            (JOBS, "Jobs run by this syncer.", jobs),
            (
                JOBS_NEEDING_OPERATOR,
                "Jobs that cannot go on without an operator (see needs_operator in /job_status).",
                needing_operator,
            ),
        ];
        for (name, help, value) in counts {
            let gauge = ConstGauge::new(value);
            let series = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(series)?;
        }
        Ok(())
    }
}

/// Process-wide metrics registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub jobs_created: Counter,
    pub http_requests: Counter,
    /// Jobs this syncer adopted from syncers whose heartbeat stopped.
    pub takeovers: Counter,
    /// Unix time (this host's clock) of the last heartbeat that reached the store.
    pub last_heartbeat: Gauge,
    /// Source watchers running (one per source database stream with caught-up jobs), and
    /// their getBinlog calls.
    pub source_watchers: Gauge,
    pub source_watcher_polls: Counter,
    shared: SyncerWide,
    families: JobFamilies,
    jobs: JobMap,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let jobs_created = Counter::default();
        let http_requests = Counter::default();
        let takeovers = Counter::default();
        let last_heartbeat = Gauge::default();
        let source_watchers = Gauge::default();
        let source_watcher_polls = Counter::default();
        let shared = SyncerWide {
            binlogs_handled: Counter::default(),
            ingest_seconds: call_histogram(),
            commit_seconds: call_histogram(),
            binlog_batch_size: batch_histogram(),
        };
        registry.register(
            counter_name(JOBS_CREATED_TOTAL),
            "Jobs created through /create_ccr since start",
            jobs_created.clone(),
        );
        registry.register(
            counter_name(BINLOGS_HANDLED_TOTAL),
            "Binlogs applied by all jobs since start",
            shared.binlogs_handled.clone(),
        );
        registry.register(
            counter_name(HTTP_REQUESTS_TOTAL),
            "HTTP requests served",
            http_requests.clone(),
        );
        registry.register(
            counter_name(JOB_TAKEOVERS_TOTAL),
            "Jobs this syncer took over from syncers whose heartbeat stopped",
            takeovers.clone(),
        );
        registry.register(
            LAST_HEARTBEAT_TIMESTAMP_SECONDS,
            "Unix time of this syncer's last heartbeat that reached the metadata store",
            last_heartbeat.clone(),
        );
        registry.register(
            SOURCE_WATCHERS,
            "Source watchers running: one per source database whose caught-up jobs it wakes",
            source_watchers.clone(),
        );
        registry.register(
            counter_name(SOURCE_WATCHER_POLLS_TOTAL),
            "getBinlog calls of the source watchers (one database stream each)",
            source_watcher_polls.clone(),
        );
        registry.register(
            INGEST_BINLOG_DURATION_SECONDS,
            "Time from a binlog's first ingest_binlog call until all of them (concurrent, one per tablet) answered",
            shared.ingest_seconds.clone(),
        );
        registry.register(
            COMMIT_TXN_DURATION_SECONDS,
            "Latency of commitTxn calls to the target",
            shared.commit_seconds.clone(),
        );
        registry.register(
            BINLOG_BATCH_SIZE,
            "Binlogs in each getBinlog answer that had any",
            shared.binlog_batch_size.clone(),
        );
        let families = JobFamilies::new();
        families.register(&mut registry);
        let jobs = JobMap::default();
        registry.register_collector(Box::new(JobCounts(Arc::clone(&jobs))));
        Metrics {
            registry,
            jobs_created,
            http_requests,
            takeovers,
            last_heartbeat,
            source_watchers,
            source_watcher_polls,
            shared,
            families,
            jobs,
        }
    }
}

impl Metrics {
    /// The metrics of job `name`, registered on first use.
    pub fn job(&self, name: &str) -> Arc<JobMetrics> {
        let mut jobs = self.jobs.lock();
        if let Some(metrics) = jobs.get(name) {
            return Arc::clone(metrics);
        }
        let label = JobLabel {
            job: name.to_owned(),
        };
        let metrics = Arc::new(self.families.series(&label, &self.shared));
        jobs.insert(name.to_owned(), Arc::clone(&metrics));
        metrics
    }

    /// Drops the series of a job this syncer no longer runs.
    pub fn remove_job(&self, name: &str) {
        let mut jobs = self.jobs.lock();
        if jobs.remove(name).is_some() {
            self.families.remove(&JobLabel {
                job: name.to_owned(),
            });
        }
    }

    /// Renders the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_job_labels() {
        let metrics = Metrics::default();
        metrics.jobs_created.inc_by(2);
        let job = metrics.job("a\"b");
        for _ in 0..5 {
            job.binlog_applied();
        }
        job.step_seconds.observe(0.2);
        let text = metrics.render();
        assert!(text.contains("# TYPE ccr_syncer_jobs_created_total counter\n"));
        assert!(text.contains("ccr_syncer_jobs_created_total 2\n"));
        assert!(text.contains("ccr_syncer_binlogs_handled_total 5\n"));
        assert!(text.contains("ccr_syncer_job_binlogs_handled_total{job=\"a\\\"b\"} 5\n"));
        assert!(text.contains("# TYPE ccr_syncer_jobs gauge\nccr_syncer_jobs 1\n"));
        assert!(text.contains(
            "ccr_syncer_job_step_duration_seconds_bucket{job=\"a\\\"b\",le=\"0.25\"} 1\n"
        ));
        metrics.remove_job("a\"b");
        let text = metrics.render();
        assert!(!text.contains("job=\""), "{text}");
        assert!(text.contains("ccr_syncer_jobs 0\n"));
        // A syncer-wide counter, not a sum over the jobs still here.
        assert!(text.contains("ccr_syncer_binlogs_handled_total 5\n"));
    }

    #[test]
    fn exposes_every_name_of_the_vocabulary() {
        let metrics = Metrics::default();
        let job = metrics.job("j");
        job.needs_operator.set(1);
        let text = metrics.render();
        let names = [
            JOBS_CREATED_TOTAL,
            JOBS,
            BINLOGS_HANDLED_TOTAL,
            JOB_BINLOGS_HANDLED_TOTAL,
            JOB_ERRORS_TOTAL,
            JOB_PREV_COMMIT_SEQ,
            JOB_LAG_BINLOGS,
            JOB_LAG_SECONDS,
            JOB_PAUSED,
            JOBS_NEEDING_OPERATOR,
            JOB_NEEDS_OPERATOR,
            JOB_VERIFY_MISMATCH_TABLES,
            JOB_LAST_VERIFY_TIMESTAMP_SECONDS,
            HTTP_REQUESTS_TOTAL,
            JOB_METADATA_WRITES_TOTAL,
            JOB_SOURCE_CALLS_TOTAL,
            JOB_SOURCE_CALL_SECONDS_TOTAL,
            JOB_TARGET_CALLS_TOTAL,
            JOB_TARGET_CALL_SECONDS_TOTAL,
            JOB_CLUSTER_WAIT_SECONDS_TOTAL,
            JOB_TAKEOVERS_TOTAL,
            LAST_HEARTBEAT_TIMESTAMP_SECONDS,
            SOURCE_WATCHERS,
            SOURCE_WATCHER_POLLS_TOTAL,
        ];
        for name in names {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}: {text}");
        }
        for name in [
            JOB_STEP_DURATION_SECONDS,
            INGEST_BINLOG_DURATION_SECONDS,
            COMMIT_TXN_DURATION_SECONDS,
            BINLOG_BATCH_SIZE,
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} histogram\n")),
                "{name}: {text}"
            );
        }
        assert!(text.contains("ccr_syncer_jobs_needing_operator 1\n"));
    }
}
