//! The cursor: how far replay has come, and the one way each replayed binlog moves it.
//!
//! A binlog whose effect is on the target moves the cursor and saves it ([`applied`]); one
//! with nothing to do moves it in memory only ([`skipped`]: a restart skips it again); one
//! skipped on purpose is noted in the job status and saved ([`skipped_with_warning`]).

use super::cache::SyncCache;
use super::plan::Skip;
use crate::job::context::JobContext;
use crate::job::error::JobError;
use crate::progress::Progress;

/// What replaying one binlog did.
pub(crate) enum Replayed {
    /// The binlog's effect is durable on the target; the cursor moved and was persisted.
    Applied,
    /// The binlog's transaction is in the pipeline: the cursor moves when it commits.
    Submitted,
    /// Nothing to do on the target for this binlog; the cursor moved in memory only (a
    /// restart simply skips it again).
    Skipped,
    /// The job moved to full or partial sync (persisted); stop replaying this batch.
    PhaseChanged,
}

/// Moves the cursor to `commit_seq` (in memory).
pub(crate) fn advance(progress: &mut Progress, commit_seq: i64) {
    progress.prev_commit_seq = commit_seq;
    progress.commit_seq = commit_seq;
    if !progress.partition_commit_seq_map.is_empty() {
        progress.prune_partition_cut_points();
    }
}

/// Carries out a planned skip: silent ones move the cursor in memory, noted ones are
/// recorded in `skipped_binlogs` and persisted.
pub(crate) async fn skip_binlog(
    ctx: &JobContext,
    progress: &mut Progress,
    seq: i64,
    skip: Skip,
) -> Result<Replayed, JobError> {
    match skip {
        Skip::Silently(why) => {
            tracing::debug!(commit_seq = seq, why, "nothing to replay");
            skipped(progress, seq)
        }
        Skip::Noted(what) => skipped_with_warning(ctx, progress, what, seq).await,
    }
}

/// Persists the cursor at `seq` after a change on the target.
pub(crate) async fn applied(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
) -> Result<Replayed, JobError> {
    cache.invalidate_metadata();
    advance(progress, seq);
    ctx.save(progress).await?;
    Ok(Replayed::Applied)
}

/// Moves the cursor past a binlog with nothing to do (in memory: a restart skips it again).
pub(crate) fn skipped(progress: &mut Progress, seq: i64) -> Result<Replayed, JobError> {
    advance(progress, seq);
    Ok(Replayed::Skipped)
}

/// Skips on purpose, saying so in the job status (persisted with the cursor).
pub(crate) async fn skipped_with_warning(
    ctx: &JobContext,
    progress: &mut Progress,
    what: &str,
    seq: i64,
) -> Result<Replayed, JobError> {
    note_skipped(progress, what, seq);
    advance(progress, seq);
    ctx.save(progress).await?;
    Ok(Replayed::Applied)
}

/// Records in the job status that the binlog at `seq` was skipped on purpose (`what` says
/// which and why), so the difference is never silent. The caller persists.
fn note_skipped(progress: &mut Progress, what: &str, seq: i64) {
    tracing::warn!(commit_seq = seq, what, "binlog skipped");
    progress.unsupported_binlogs.insert(what.to_owned(), seq);
}

/// Remembers the shadow indexes of a running schema change (their loads are not replayed:
/// the target has no such index) and forgets them when the change is cancelled.
pub(crate) fn track_shadow_indexes(progress: &mut Progress, job: &ccr_binlog::AlterJobRecord) {
    if job.is_cancelled() {
        for shadow in job.shadow_index_ids() {
            progress.shadow_index_map.remove(&shadow);
        }
    } else if let Some(map) = &job.index_id_map {
        progress
            .shadow_index_map
            .extend(map.iter().map(|(k, v)| (*k, *v)));
    }
}
