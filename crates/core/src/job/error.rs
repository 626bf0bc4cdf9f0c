//! Errors of the job layer, their kinds, and the one policy that decides what a failure
//! leads to.

use std::time::Duration;

use crate::store::StoreError;
use ccr_doris::{DorisError, DorisErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job {0} not exist")]
    NotFound(String),
    #[error("job {0} already exist")]
    AlreadyExists(String),
    /// The request itself is wrong (name, specs).
    #[error("{0}")]
    Invalid(String),
    /// A pre-flight check against the clusters failed, or a step cannot go on as asked.
    #[error("{0}")]
    CheckFailed(String),
    /// The job belongs to another syncer (high availability); the API redirects there.
    #[error("job {name} belongs to syncer {owner}")]
    OwnedElsewhere { name: String, owner: String },
    /// Source and target metadata no longer match; a new snapshot of the job is needed.
    #[error("metadata mismatch: {0}")]
    MetaMismatch(String),
    /// Source and target metadata of one table no longer match; a snapshot of that table
    /// is enough.
    #[error("metadata mismatch of source table {src_table_id}: {message}")]
    TableMismatch { src_table_id: i64, message: String },
    /// What the job replicates is gone from the source (its table or database).
    #[error("{0}")]
    SourceGone(String),
    /// The job reached something this build cannot do; it waits for an operator.
    #[error("{0}")]
    Unsupported(String),
    /// A backup or restore the job started was cancelled by the cluster, `attempts` times
    /// in a row for this snapshot flow.
    #[error("{message} (attempt {attempts})")]
    SnapshotFailed { attempts: u32, message: String },
    #[error("the syncer is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Doris(#[from] DorisError),
    /// A stored password cannot be decrypted (its key is not configured, or it is
    /// damaged): the job cannot log in until an operator supplies the key.
    #[error("job {name}: cannot decrypt the stored {side} password: {source}")]
    SecretUnreadable {
        name: String,
        side: &'static str,
        source: crate::secrets::SecretError,
    },
    /// A persisted record could not be read.
    #[error("job {name}: stored {what} is unreadable: {message}")]
    Corrupt {
        name: String,
        what: &'static str,
        message: String,
    },
}

/// What kind of failure an error is; [`decide`] maps kinds to remedies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A cluster or the store was briefly unreachable or busy; retrying may succeed.
    Transient,
    /// The target's metadata no longer matches the source's for the whole job.
    MetaMismatch,
    /// One table's metadata no longer matches.
    TableMismatch(i64),
    /// What the job replicates is gone from the source.
    SourceGone,
    /// Something this build cannot replay.
    Unsupported,
    /// Another syncer owns the job now, or the job was deleted: stop without writing.
    Fenced,
    /// A refused statement, a bad request or record: retrying alone will not help.
    Invalid,
}

impl JobError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            JobError::NotFound(_)
            | JobError::AlreadyExists(_)
            | JobError::Invalid(_)
            | JobError::CheckFailed(_)
            | JobError::SnapshotFailed { .. }
            | JobError::SecretUnreadable { .. }
            | JobError::Corrupt { .. } => ErrorKind::Invalid,
            JobError::OwnedElsewhere { .. } => ErrorKind::Fenced,
            JobError::MetaMismatch(_) => ErrorKind::MetaMismatch,
            JobError::TableMismatch { src_table_id, .. } => ErrorKind::TableMismatch(*src_table_id),
            JobError::SourceGone(_) => ErrorKind::SourceGone,
            JobError::Unsupported(_) => ErrorKind::Unsupported,
            JobError::ShuttingDown => ErrorKind::Transient,
            JobError::Store(StoreError::NotOwner { .. } | StoreError::JobNotFound(_)) => {
                ErrorKind::Fenced
            }
            JobError::Store(StoreError::CorruptProgress { .. }) => ErrorKind::Invalid,
            JobError::Store(_) => ErrorKind::Transient,
            JobError::Doris(e) => match e.kind() {
                DorisErrorKind::Transient | DorisErrorKind::Busy => ErrorKind::Transient,
                DorisErrorKind::Auth
                | DorisErrorKind::ObjectMissing
                | DorisErrorKind::AlreadyDone
                | DorisErrorKind::WrongObjectKind
                | DorisErrorKind::Refused => ErrorKind::Invalid,
            },
        }
    }

    /// How many times in a row this failure has happened, as far as the error itself
    /// knows (a snapshot flow counts its cancelled attempts across steps).
    fn attempts(&self) -> u32 {
        match self {
            JobError::SnapshotFailed { attempts, .. } => *attempts,
            _ => 0,
        }
    }
}

/// What happens after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Try the same step again after `Backoff`.
    Retry(Duration),
    /// Start a new full sync of the job.
    FullSync,
    /// Take a snapshot of this source table (database jobs; the table's own table job
    /// uses it for its table).
    PartialSync(i64),
    /// Skip the binlog and record it in `skipped_binlogs` (`skip_error` is set).
    Skip,
    /// The job cannot go on by itself: show `needs_operator` with this hint, log one ERROR,
    /// and keep retrying at the longest backoff so a repaired cluster is picked up.
    NeedsOperator { hint: &'static str },
    /// Stop the job's task here without writing (fenced or deleted).
    Stop,
}

/// The facts [`decide`] needs besides the error.
#[derive(Debug, Clone, Copy)]
pub struct FailureContext {
    /// The operator allows skipping a binlog that fails.
    pub skip_error: bool,
    /// The failure happened while replaying a binlog (so skipping or resyncing is possible).
    pub replaying_binlog: bool,
    /// Failed steps in a row before this one.
    pub previous_failures: u32,
    /// Failures in a row after which a job is shown as needing an operator.
    pub operator_after: u32,
}

/// First retry delay after a failed step.
pub const RETRY_BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Longest retry delay: long enough not to hammer a broken cluster, short enough that a
/// repaired one is noticed within a minute.
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(60);

/// The hint shown with a job that needs an operator.
const HINT_SKIP_OR_RESYNC: &str = "fix the cause, then POST /resume to retry at once (it \
     also retries every minute); or POST /update_job with {\"skip_error\": true} to skip the \
     failing binlog; or POST /force_fullsync";
const HINT_SOURCE_GONE: &str =
    "the replicated source object is gone; POST /delete the job or recreate the object and POST /force_fullsync";
const HINT_CLUSTER: &str = "a cluster keeps failing the step: check that both clusters are \
     up and reachable, then POST /resume to retry at once (it also retries every minute)";

/// Delay before retry `failures` (1-based): doubling from 1 s, capped at 60 s.
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    (RETRY_BACKOFF_INITIAL * 2u32.pow(exponent)).min(RETRY_BACKOFF_MAX)
}

/// The one policy: what a failure of `kind` leads to.
pub fn decide(error: &JobError, context: FailureContext) -> Remedy {
    // This failure included: the error's own count already holds it.
    let failures = (context.previous_failures + 1).max(error.attempts());
    let exhausted = failures >= context.operator_after;
    match error.kind() {
        ErrorKind::Fenced => Remedy::Stop,
        ErrorKind::MetaMismatch if context.replaying_binlog => Remedy::FullSync,
        ErrorKind::TableMismatch(table) if context.replaying_binlog => Remedy::PartialSync(table),
        ErrorKind::SourceGone => Remedy::NeedsOperator {
            hint: HINT_SOURCE_GONE,
        },
        ErrorKind::Unsupported if context.replaying_binlog && context.skip_error => Remedy::Skip,
        ErrorKind::Unsupported => Remedy::NeedsOperator {
            hint: HINT_SKIP_OR_RESYNC,
        },
        ErrorKind::Invalid if context.replaying_binlog && context.skip_error => Remedy::Skip,
        ErrorKind::Transient if exhausted => Remedy::NeedsOperator { hint: HINT_CLUSTER },
        ErrorKind::Invalid | ErrorKind::MetaMismatch | ErrorKind::TableMismatch(_) if exhausted => {
            Remedy::NeedsOperator {
                hint: HINT_SKIP_OR_RESYNC,
            }
        }
        ErrorKind::Transient
        | ErrorKind::Invalid
        | ErrorKind::MetaMismatch
        | ErrorKind::TableMismatch(_) => Remedy::Retry(backoff(failures)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(skip_error: bool, replaying_binlog: bool, previous_failures: u32) -> FailureContext {
        FailureContext {
            skip_error,
            replaying_binlog,
            previous_failures,
            operator_after: 5,
        }
    }

    fn transient() -> JobError {
        JobError::Doris(DorisError::Connect {
            addr: "a:1".into(),
            message: "refused".into(),
        })
    }

    fn refused() -> JobError {
        JobError::Doris(DorisError::Sql {
            addr: "a:1".into(),
            sql: "ALTER".into(),
            message: "errCode = 2, detailMessage = syntax error".into(),
        })
    }

    #[test]
    fn transient_failures_back_off_then_need_an_operator() {
        assert_eq!(
            decide(&transient(), context(true, true, 0)),
            Remedy::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&transient(), context(true, true, 2)),
            Remedy::Retry(Duration::from_secs(4))
        );
        assert!(matches!(
            decide(&transient(), context(true, true, 4)),
            Remedy::NeedsOperator { .. }
        ));
    }

    #[test]
    fn a_refused_binlog_is_skipped_only_with_skip_error() {
        assert_eq!(decide(&refused(), context(true, true, 0)), Remedy::Skip);
        assert_eq!(
            decide(&refused(), context(false, true, 0)),
            Remedy::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&refused(), context(true, false, 0)),
            Remedy::Retry(Duration::from_secs(1)),
            "outside a binlog there is nothing to skip"
        );
    }

    #[test]
    fn mismatches_resync_the_smallest_scope() {
        let table = JobError::TableMismatch {
            src_table_id: 7,
            message: "index gone".into(),
        };
        assert_eq!(
            decide(&table, context(false, true, 0)),
            Remedy::PartialSync(7)
        );
        let job = JobError::MetaMismatch("x".into());
        assert_eq!(decide(&job, context(true, true, 0)), Remedy::FullSync);
    }

    #[test]
    fn unsupported_and_gone_sources_need_an_operator_at_once() {
        let unsupported = JobError::Unsupported("type 99".into());
        assert!(matches!(
            decide(&unsupported, context(false, true, 0)),
            Remedy::NeedsOperator { .. }
        ));
        assert_eq!(decide(&unsupported, context(true, true, 0)), Remedy::Skip);
        let gone = JobError::SourceGone("table dropped".into());
        assert!(matches!(
            decide(&gone, context(true, true, 0)),
            Remedy::NeedsOperator { .. }
        ));
    }

    #[test]
    fn cancelled_snapshots_count_their_own_attempts() {
        let failed = JobError::SnapshotFailed {
            attempts: 4,
            message: "restore cancelled".into(),
        };
        assert_eq!(
            decide(&failed, context(false, false, 0)),
            Remedy::Retry(Duration::from_secs(8))
        );
        let failed = JobError::SnapshotFailed {
            attempts: 5,
            message: "restore cancelled".into(),
        };
        assert!(matches!(
            decide(&failed, context(false, false, 0)),
            Remedy::NeedsOperator { .. }
        ));
    }

    #[test]
    fn fenced_jobs_stop() {
        let fenced = JobError::Store(StoreError::JobNotFound("j".into()));
        assert_eq!(decide(&fenced, context(true, true, 9)), Remedy::Stop);
    }

    #[test]
    fn backoff_doubles_to_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(10), Duration::from_secs(60));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(60));
    }
}
