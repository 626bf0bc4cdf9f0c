//! A job's turn at the snapshot coordinator ([`crate::job::snapshot_slots`]): it waits in
//! its step, with `/job_status` `waiting_for` saying `snapshot slot of ... database ...:
//! behind ...`, until its batch's backup or its restore may start, or until an operator
//! command (pause, delete, stop) arrives, which ends the step and drops its place.
//!
//! A refusal because the database is busy is never an error here: the job waits behind
//! the job that holds the database. One this syncer did not start is cancelled only with
//! `feature_cancel_conflict_backup_restore_job`, and only if its name says a syncer issued
//! it (`ccrs_<db>` / `ccrp_<db>`, as the reference recognises its own); a user's backup is
//! always waited for.

use std::time::Duration;

use tokio::sync::watch;

use crate::job::context::{JobContext, StepOutcome};
use crate::job::error::JobError;
use crate::job::snapshot_slots::{
    BackupTicket, BackupTurn, RestoreTicket, RestoreTurn, SlotKey, RECHECK,
};
use crate::progress::{Progress, SnapshotCheckpoint};
use ccr_doris::DorisError;

/// Characters Doris accepts in labels and snapshot names; anything else becomes `_`.
pub(super) fn label_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What `waiting_for` starts with while a job is queued at the coordinator.
pub(crate) const WAITING_FOR_SLOT: &str = "snapshot slot";

/// How often a job whose restore holds the target database asks whether it finished, so
/// the restore queued behind it starts right after.
const RESTORE_WATCH_POLL: Duration = Duration::from_millis(50);

/// Longest a step watches a running restore; then the usual polling between steps goes on.
const RESTORE_WATCH_MAX: Duration = Duration::from_secs(10);

fn set_waiting(ctx: &JobContext, side: &str, key: &SlotKey, behind: &str) {
    let text = format!("{WAITING_FOR_SLOT} of {side} database {key}: {behind}");
    let mut status = ctx.status.lock();
    if !waiting_for_slot(&status.waiting_for) {
        // Once per wait: the text itself changes as the queue moves.
        tracing::info!(waiting_for = %text, "queued for a snapshot slot");
    }
    status.waiting_for = Some(text);
}

fn clear_waiting(ctx: &JobContext) {
    let mut status = ctx.status.lock();
    if waiting_for_slot(&status.waiting_for) {
        status.waiting_for = None;
    }
}

fn waiting_for_slot(waiting_for: &Option<String>) -> bool {
    waiting_for
        .as_deref()
        .is_some_and(|w| w.starts_with(WAITING_FOR_SLOT))
}

/// Waits for a change of the queue, for `timeout`, or for an operator command; `false` on
/// the command (the step ends and the job's place is given up). The wait is the job's
/// wait for a cluster: its turn comes when a backup or restore ends.
async fn wait_change(
    ctx: &JobContext,
    mut changes: watch::Receiver<()>,
    control: &mut watch::Receiver<crate::job::context::JobControl>,
    timeout: Duration,
) -> bool {
    cluster_wait(ctx, async {
        tokio::select! {
            _ = changes.changed() => true,
            _ = tokio::time::sleep(timeout) => true,
            _ = control.changed() => false,
        }
    })
    .await
}

/// Runs `wait`, counting its time as the job's wait for a cluster.
async fn cluster_wait<T>(ctx: &JobContext, wait: impl std::future::Future<Output = T>) -> T {
    let waited = std::time::Instant::now();
    let output = wait.await;
    ctx.metrics
        .cluster_wait_seconds
        .inc_by(waited.elapsed().as_secs_f64());
    output
}

/// How a job's turn at the backup queue ended.
pub(super) enum BackupOutcome {
    /// Its batch's backup runs under the name the job saved: poll it.
    Started,
    /// An operator command arrived while it waited.
    Left,
    /// The shared backup was refused: the job backs up alone next.
    BackUpAlone,
    /// The job's own backup was refused.
    Refused(DorisError),
}

/// Waits for the job's batch, saves the batch's snapshot name (before the backup starts),
/// and starts the backup if it is this job's to start.
pub(super) async fn take_backup_turn(
    ctx: &JobContext,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    ticket: BackupTicket,
) -> Result<BackupOutcome, JobError> {
    let outcome = backup_turn(ctx, progress, checkpoint, &ticket).await;
    drop(ticket);
    clear_waiting(ctx);
    outcome
}

async fn backup_turn(
    ctx: &JobContext,
    progress: &mut Progress,
    checkpoint: &mut SnapshotCheckpoint,
    ticket: &BackupTicket,
) -> Result<BackupOutcome, JobError> {
    let key = ctx.source_slot();
    let db = &ctx.info.src.database;
    let mut control = ctx.control.clone();
    loop {
        let changes = ticket.changes();
        match ticket.turn() {
            BackupTurn::Wait { behind } => set_waiting(ctx, "source", &key, &behind),
            BackupTurn::Save { name } => {
                checkpoint.snapshot_name = name;
                progress.set_checkpoint(checkpoint);
                ctx.save(progress).await?;
                ticket.saved();
                continue;
            }
            BackupTurn::Start {
                name,
                targets,
                jobs,
            } => {
                tracing::info!(snapshot = %name, objects = targets.len(), jobs, "starting backup");
                match ctx.source.backup(db, &name, &targets).await {
                    Ok(()) => {
                        ticket.started();
                        return Ok(BackupOutcome::Started);
                    }
                    Err(error) if error.kind() == ccr_doris::DorisErrorKind::Busy => {
                        let behind = conflicting(ctx, &key, SnapshotJobKind::Backup).await;
                        tracing::info!(%error, %behind, "the source database is busy; the backup waits");
                        set_waiting(ctx, "source", &key, &behind);
                        ticket.blocked(behind);
                    }
                    Err(error) => {
                        if ticket.refused() {
                            tracing::warn!(%error, snapshot = %name, jobs, "a shared backup was refused; its jobs back up alone");
                            return Ok(BackupOutcome::BackUpAlone);
                        }
                        return Ok(BackupOutcome::Refused(error));
                    }
                }
            }
            BackupTurn::Started { .. } => return Ok(BackupOutcome::Started),
            BackupTurn::Refused => return Ok(BackupOutcome::BackUpAlone),
        }
        if !wait_change(ctx, changes, &mut control, RECHECK).await {
            return Ok(BackupOutcome::Left);
        }
    }
}

/// Whether a syncer issued snapshot or restore `name` of source database `db` (the
/// reference's rule: its names start with `ccrs_<db>` or `ccrp_<db>`).
fn issued_by_a_syncer(name: &str, src_db: &str) -> bool {
    let db = label_safe(src_db);
    ["ccrs", "ccrp"]
        .iter()
        .any(|prefix| name.starts_with(&format!("{prefix}_{db}")))
}

/// Which of a database's snapshot jobs holds it: a backup (source) or a restore (target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SnapshotJobKind {
    Backup,
    Restore,
}

impl SnapshotJobKind {
    fn word(self) -> &'static str {
        match self {
            SnapshotJobKind::Backup => "backup",
            SnapshotJobKind::Restore => "restore",
        }
    }
}

/// What holds the database of `kind` (the source's for a backup, the target's for a
/// restore), in words; with `feature_cancel_conflict_backup_restore_job`, a syncer's job
/// this syncer does not run is cancelled.
pub(super) async fn conflicting(ctx: &JobContext, key: &SlotKey, kind: SnapshotJobKind) -> String {
    let (db, listed, other) = match kind {
        SnapshotJobKind::Backup => {
            let db = &ctx.info.src.database;
            (db, ctx.source.backup_jobs(db).await, "restore or backup")
        }
        SnapshotJobKind::Restore => {
            let db = &ctx.info.dest.database;
            (db, ctx.target.restore_jobs(db).await, "backup or restore")
        }
    };
    let what = kind.word();
    let running = match listed {
        Ok(jobs) => jobs.into_iter().rev().find(|j| j.is_running()),
        Err(error) => {
            tracing::warn!(%error, "cannot list the database's {what}s");
            None
        }
    };
    let Some(running) = running else {
        return format!("behind a {other} this syncer did not start");
    };
    let cancel = ctx.settings.features.cancel_conflict_backup_restore_job
        && issued_by_a_syncer(&running.name, &ctx.info.src.database)
        && !ctx.snapshot_slots.is_ours(key, &running.name);
    if cancel {
        tracing::warn!(name = %running.name, "cancelling a conflicting {what} (feature_cancel_conflict_backup_restore_job)");
        let cancelled = match kind {
            SnapshotJobKind::Backup => ctx.source.cancel_backup(db).await,
            SnapshotJobKind::Restore => ctx.target.cancel_restore(db).await,
        };
        match cancelled {
            Ok(()) => return format!("behind {what} {}, cancelled", running.name),
            Err(error) => tracing::warn!(%error, "cannot cancel the conflicting {what}"),
        }
    }
    format!(
        "behind {what} {}, which this syncer did not start",
        running.name
    )
}

/// Waits until the target database is this ticket's; `false` if an operator command
/// arrived first.
pub(super) async fn wait_restore_turn(ctx: &JobContext, ticket: &mut RestoreTicket) -> bool {
    let key = ctx.target_slot();
    let mut control = ctx.control.clone();
    let granted = loop {
        let changes = ticket.changes();
        match ticket.turn() {
            RestoreTurn::Start => break true,
            RestoreTurn::Wait { behind } => set_waiting(ctx, "target", &key, &behind),
        }
        if !wait_change(ctx, changes, &mut control, RECHECK).await {
            break false;
        }
    };
    clear_waiting(ctx);
    granted
}

/// Watches the running restore `label` for a while: `Progressed` once it is finished or
/// cancelled (the next step takes it from there), `Idle` if it still runs.
pub(super) async fn watch_restore(ctx: &JobContext, label: &str) -> Result<StepOutcome, JobError> {
    let mut control = ctx.control.clone();
    let db = &ctx.info.dest.database;
    let started = std::time::Instant::now();
    while started.elapsed() < RESTORE_WATCH_MAX {
        let command = cluster_wait(ctx, async {
            tokio::select! {
                _ = tokio::time::sleep(RESTORE_WATCH_POLL) => false,
                _ = control.changed() => true,
            }
        })
        .await;
        if command {
            return Ok(StepOutcome::Idle);
        }
        match ctx.target.restore_state(db, label).await? {
            Some(state) if state.is_finished() || state.is_cancelled() => {
                return Ok(StepOutcome::Progressed)
            }
            _ => {}
        }
    }
    Ok(StepOutcome::Idle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncer_names_are_recognised_by_their_database_prefix() {
        assert!(issued_by_a_syncer("ccrs_shop_orders_1_ab", "shop"));
        assert!(issued_by_a_syncer("ccrp_shop_batch_1_ab_r_2", "shop"));
        assert!(!issued_by_a_syncer("nightly_shop", "shop"));
        assert!(!issued_by_a_syncer("ccrs_other_t_1", "shop"));
    }
}
