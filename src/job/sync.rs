//! The sync state machine: one call takes one step of the job's current phase.
//!
//! Full, partial and incremental sync are built on this entry point (table-level
//! replication issue); until then a job reports plainly that its phase cannot run here.

use super::error::JobError;
use super::progress::Progress;
use super::runner::{JobControl, JobTask, StepOutcome};

/// Takes one step.
///
/// Async because the real steps await the clusters; this build's has nothing to await. On success, everything the step changed on the target is durable and
/// `progress` says so (persisted); on error nothing was recorded as done.
#[allow(clippy::unused_async)]
pub(crate) async fn step(
    task: &JobTask,
    progress: &mut Progress,
    control: &JobControl,
) -> Result<StepOutcome, JobError> {
    let _ = (task, control);
    Err(JobError::Unsupported(format!(
        "{} is not supported by this build yet",
        progress.sync_state.name()
    )))
}
