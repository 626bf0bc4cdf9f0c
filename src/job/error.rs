//! Errors of the job layer, and how each is treated.

use crate::doris::DorisError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job {0} not exist")]
    NotFound(String),
    #[error("job {0} already exist")]
    AlreadyExists(String),
    /// The request itself is wrong (name, specs).
    #[error("{0}")]
    Invalid(String),
    /// A pre-flight check against the clusters failed.
    #[error("{0}")]
    CheckFailed(String),
    /// The job belongs to another syncer (high availability); the API redirects there.
    #[error("job {name} belongs to syncer {owner}")]
    OwnedElsewhere { name: String, owner: String },
    /// Source and target metadata no longer match; a new snapshot is needed.
    #[error("metadata mismatch: {0}")]
    MetaMismatch(String),
    /// The job reached something this build cannot do; it waits for an operator.
    #[error("{0}")]
    Unsupported(String),
    #[error("the syncer is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Doris(#[from] DorisError),
    /// A persisted record could not be read.
    #[error("job {name}: stored {what} is unreadable: {message}")]
    Corrupt {
        name: String,
        what: &'static str,
        message: String,
    },
}
