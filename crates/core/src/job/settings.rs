//! Settings every job of this syncer shares.

use std::time::Duration;

use super::features::FeatureFlags;

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
    pub max_ingest_concurrency_per_backend: usize,
    pub features: FeatureFlags,
}
