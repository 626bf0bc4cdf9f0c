//! Settings every job of this syncer shares.

use std::time::Duration;

use super::features::FeatureFlags;
use super::host_mapping::SyncerHostMapping;
use crate::secrets::SecretKeys;

/// Settings every job shares.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// This syncer's identity `host:port`.
    pub identity: String,
    pub connect_timeout: Duration,
    pub rpc_timeout: Duration,
    pub commit_txn_timeout: Duration,
    pub idle_poll_interval: Duration,
    /// Failed steps in a row after which a job is shown as needing an operator.
    pub operator_after_failures: u32,
    /// A job holds while a target BE's fullest disk is above this percentage.
    pub target_max_disk_used_percent: f64,
    /// How long a job reuses its last reading of the target BEs' disk usage.
    pub target_disk_check_interval: Duration,
    /// Between two progress report lines of the manager; zero: no report.
    pub report_interval: Duration,
    pub max_ingest_concurrency_per_backend: usize,
    /// `--txn_pipeline_depth`: transactions of one job opened and ingesting while an
    /// earlier one commits (1: one at a time).
    pub txn_pipeline_depth: usize,
    pub features: FeatureFlags,
    /// How often this syncer renews its heartbeat and looks for dead peers.
    pub heartbeat_interval: Duration,
    /// A syncer whose heartbeat is older than this (by the store's clock) is dead and its
    /// jobs are taken over.
    pub dead_after: Duration,
    /// How often a whole-cluster job lists the source databases (new ones get a database
    /// job within this interval; dropped ones are reported).
    pub cluster_watch_interval: Duration,
    /// `--host_mapping_file`: host mappings every job dials through, under its own.
    pub host_mapping: SyncerHostMapping,
    /// Encrypt cluster passwords in the store (none: stored plain). `Debug` shows key ids.
    pub secret_keys: SecretKeys,
    /// `--verify_interval`: how often every caught-up job of this syncer is verified
    /// (zero: never, only on `/verify`).
    pub verify_interval: Duration,
}

impl JobSettings {
    /// How long after a heartbeat round began this syncer may still write: one interval
    /// short of `dead_after`, so a round that is late by up to an interval is still safe.
    pub fn lease_term(&self) -> Duration {
        self.dead_after.saturating_sub(self.heartbeat_interval)
    }
}
