//! The service's metrics and their Prometheus text exposition.
//!
//! Every metric name lives here, so the telemetry vocabulary is in one place. Job names are
//! label values (escaped), never part of metric names.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

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
pub const HTTP_REQUESTS_TOTAL: &str = "ccr_syncer_http_requests_total";
pub const JOB_METADATA_WRITES_TOTAL: &str = "ccr_syncer_job_metadata_writes_total";
pub const JOB_SOURCE_CALLS_TOTAL: &str = "ccr_syncer_job_source_calls_total";
pub const JOB_SOURCE_CALL_SECONDS_TOTAL: &str = "ccr_syncer_job_source_call_seconds_total";
pub const JOB_TARGET_CALLS_TOTAL: &str = "ccr_syncer_job_target_calls_total";
pub const JOB_TARGET_CALL_SECONDS_TOTAL: &str = "ccr_syncer_job_target_call_seconds_total";

/// Calls to one cluster and the time spent waiting for them.
#[derive(Debug, Default)]
pub struct CallTime {
    pub calls: AtomicU64,
    pub nanos: AtomicU64,
}

impl CallTime {
    pub fn record(&self, elapsed: std::time::Duration) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Per-job figures, updated by the job's task.
#[derive(Debug, Default)]
pub struct JobMetrics {
    pub binlogs_handled: AtomicU64,
    pub errors: AtomicU64,
    pub prev_commit_seq: AtomicU64,
    /// Source binlogs not yet applied, and how many seconds of source time they span;
    /// refreshed by the job while it replays (at most every few seconds) and zeroed when
    /// it is caught up.
    pub lag_binlogs: AtomicU64,
    pub lag_seconds: AtomicU64,
    pub paused: AtomicU64,
    /// 1 while the job cannot go on without an operator.
    pub needs_operator: AtomicU64,
    /// Durable writes of the job's progress.
    pub metadata_writes: AtomicU64,
    /// Calls to the source and target clusters and the time spent in them.
    pub source_calls: std::sync::Arc<CallTime>,
    pub target_calls: std::sync::Arc<CallTime>,
}

impl JobMetrics {
    /// The job's lag as last measured: binlogs not yet applied and the seconds of source
    /// time they span.
    pub fn record_lag(&self, binlogs: i64, seconds: i64) {
        let gauge = |v: i64| u64::try_from(v).unwrap_or(0);
        self.lag_binlogs.store(gauge(binlogs), Ordering::Relaxed);
        self.lag_seconds.store(gauge(seconds), Ordering::Relaxed);
    }
}

/// Process-wide metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {
    pub jobs_created: AtomicU64,
    pub http_requests: AtomicU64,
    jobs: Mutex<BTreeMap<String, std::sync::Arc<JobMetrics>>>,
}

impl Metrics {
    /// The metrics of job `name`, registered on first use.
    pub fn job(&self, name: &str) -> std::sync::Arc<JobMetrics> {
        self.jobs.lock().entry(name.to_owned()).or_default().clone()
    }

    /// Drops a deleted job's series.
    pub fn remove_job(&self, name: &str) {
        self.jobs.lock().remove(name);
    }

    /// Renders the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let jobs: Vec<_> = self
            .jobs
            .lock()
            .iter()
            .map(|(n, m)| (n.clone(), m.clone()))
            .collect();
        let mut out = String::new();
        let total_handled: u64 = jobs
            .iter()
            .map(|(_, m)| m.binlogs_handled.load(Ordering::Relaxed))
            .sum();
        scalar(
            &mut out,
            JOBS_CREATED_TOTAL,
            "counter",
            "Jobs created through /create_ccr since start.",
            self.jobs_created.load(Ordering::Relaxed),
        );
        scalar(
            &mut out,
            JOBS,
            "gauge",
            "Jobs run by this syncer.",
            jobs.len() as u64,
        );
        scalar(
            &mut out,
            BINLOGS_HANDLED_TOTAL,
            "counter",
            "Binlogs applied by all jobs.",
            total_handled,
        );
        scalar(
            &mut out,
            JOBS_NEEDING_OPERATOR,
            "gauge",
            "Jobs that cannot go on without an operator (see needs_operator in /job_status).",
            jobs.iter()
                .map(|(_, m)| m.needs_operator.load(Ordering::Relaxed))
                .sum(),
        );
        scalar(
            &mut out,
            HTTP_REQUESTS_TOTAL,
            "counter",
            "HTTP requests served.",
            self.http_requests.load(Ordering::Relaxed),
        );
        per_job(
            &mut out,
            JOB_BINLOGS_HANDLED_TOTAL,
            "counter",
            "Binlogs applied by a job.",
            &jobs,
            |m| &m.binlogs_handled,
        );
        per_job(
            &mut out,
            JOB_NEEDS_OPERATOR,
            "gauge",
            "1 while a job cannot go on without an operator.",
            &jobs,
            |m| &m.needs_operator,
        );
        per_job(
            &mut out,
            JOB_ERRORS_TOTAL,
            "counter",
            "Failed sync steps of a job.",
            &jobs,
            |m| &m.errors,
        );
        per_job(
            &mut out,
            JOB_PREV_COMMIT_SEQ,
            "gauge",
            "Last source commit seq applied to the target.",
            &jobs,
            |m| &m.prev_commit_seq,
        );
        per_job(
            &mut out,
            JOB_LAG_BINLOGS,
            "gauge",
            "Source binlogs not yet applied, as last measured.",
            &jobs,
            |m| &m.lag_binlogs,
        );
        per_job(
            &mut out,
            JOB_LAG_SECONDS,
            "gauge",
            "Seconds of source time between the oldest binlog not yet applied and the newest.",
            &jobs,
            |m| &m.lag_seconds,
        );
        per_job(
            &mut out,
            JOB_PAUSED,
            "gauge",
            "1 while the job is paused.",
            &jobs,
            |m| &m.paused,
        );
        per_job(
            &mut out,
            JOB_METADATA_WRITES_TOTAL,
            "counter",
            "Durable writes of the job's progress.",
            &jobs,
            |m| &m.metadata_writes,
        );
        per_job(
            &mut out,
            JOB_SOURCE_CALLS_TOTAL,
            "counter",
            "Calls to the source cluster.",
            &jobs,
            |m| &m.source_calls.calls,
        );
        per_job(
            &mut out,
            JOB_TARGET_CALLS_TOTAL,
            "counter",
            "Calls to the target cluster.",
            &jobs,
            |m| &m.target_calls.calls,
        );
        per_job_seconds(
            &mut out,
            JOB_SOURCE_CALL_SECONDS_TOTAL,
            "Time spent waiting for the source cluster.",
            &jobs,
            |m| &m.source_calls.nanos,
        );
        per_job_seconds(
            &mut out,
            JOB_TARGET_CALL_SECONDS_TOTAL,
            "Time spent waiting for the target cluster.",
            &jobs,
            |m| &m.target_calls.nanos,
        );
        out
    }
}

fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

fn per_job(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    jobs: &[(String, std::sync::Arc<JobMetrics>)],
    field: impl Fn(&JobMetrics) -> &AtomicU64,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (job, metrics) in jobs {
        let _ = writeln!(
            out,
            "{name}{{job=\"{}\"}} {}",
            escape_label(job),
            field(metrics).load(Ordering::Relaxed)
        );
    }
}

fn per_job_seconds(
    out: &mut String,
    name: &str,
    help: &str,
    jobs: &[(String, std::sync::Arc<JobMetrics>)],
    nanos: impl Fn(&JobMetrics) -> &AtomicU64,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
    for (job, metrics) in jobs {
        let seconds = nanos(metrics).load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}{{job=\"{}\"}} {seconds:.6}", escape_label(job));
    }
}

/// Escapes a label value as the exposition format requires.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_job_labels() {
        let metrics = Metrics::default();
        metrics.jobs_created.fetch_add(2, Ordering::Relaxed);
        metrics
            .job("a\"b")
            .binlogs_handled
            .fetch_add(5, Ordering::Relaxed);
        let text = metrics.render();
        assert!(text.contains("ccr_syncer_jobs_created_total 2\n"));
        assert!(text.contains("ccr_syncer_binlogs_handled_total 5\n"));
        assert!(text.contains("ccr_syncer_job_binlogs_handled_total{job=\"a\\\"b\"} 5\n"));
        assert!(text.contains("# TYPE ccr_syncer_jobs gauge\n"));
        metrics.remove_job("a\"b");
        assert!(!metrics.render().contains("job=\""));
    }
}
