//! One job's task: load its progress, then take sync steps until told to stop.
//!
//! Operator commands arrive through a `watch` channel and are honoured between steps, never
//! in the middle of one. Failures are retried with capped exponential backoff and shown in
//! the job's status; the task never exits on an error.

use std::time::Duration;

use super::context::{JobContext, JobControl, StepOutcome};
use super::error::{decide, FailureContext, JobError, Remedy, RETRY_BACKOFF_MAX};
use super::spec::RunState;
use super::status::{NeedsOperator, DONE_STATE};
use super::sync::{self, SyncCache};
use crate::progress::Progress;

/// What `/job_status` says while a job holds for its lease.
const WAITING_FOR_STORE: &str =
    "the metadata store: no heartbeat of this syncer got through in time, so the job holds \
     until one does and confirms the job is still this syncer's";

/// The first idle wait after a step that did work; it doubles up to the configured idle
/// poll interval while nothing new arrives.
const IDLE_POLL_FIRST: Duration = Duration::from_millis(20);

/// Publishes the status after a step: `error` is the step's failure (none after a
/// success), `operator_hint` set when the policy says the job needs an operator.
fn publish(
    ctx: &JobContext,
    progress: Option<&Progress>,
    control: &JobControl,
    error: Option<&JobError>,
    operator_hint: Option<&'static str>,
) {
    let mut status = ctx.status.lock();
    // The newest operator setting, not the one this step started with: a /pause that
    // arrived during the step must not be shown as running again.
    status.state = ctx.control.borrow().run_state.as_str();
    if let Some(p) = progress {
        if p.phase().is_done() {
            status.state = DONE_STATE;
        }
        status.progress_state = p.phase().name();
        status.tables = if p.phase().is_table_level() {
            1
        } else {
            p.table_mapping.as_ref().map_or_else(
                || {
                    p.phase()
                        .snapshot()
                        .map_or(0, |s| s.checkpoint.objects.len())
                },
                |mapping| mapping.len(),
            )
        };
        status.sub_state = p.phase().sub_state().name();
        status.prev_commit_seq = p.prev_commit_seq;
        status.commit_seq = p.commit_seq;
        status.skipped_binlogs.clone_from(&p.unsupported_binlogs);
        if status.last_full_sync_at != p.full_sync_start_at {
            status.last_full_sync_at = p.full_sync_start_at;
            status.last_full_sync_time = chrono::DateTime::from_timestamp(p.full_sync_start_at, 0)
                .filter(|_| p.full_sync_start_at > 0)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
        }
        status.last_full_sync_reason.clone_from(&p.full_sync_reason);
        ctx.metrics.prev_commit_seq.set(p.prev_commit_seq.max(0));
    }
    match error {
        Some(e) => {
            status.last_error = Some(e.to_string());
            status.last_error_time =
                Some(chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string());
            status.consecutive_failures += 1;
        }
        None => {
            status.last_error = None;
            status.last_error_time = None;
            status.consecutive_failures = 0;
            status.failing_commit_seq = None;
        }
    }
    match (error, operator_hint) {
        (Some(e), Some(hint)) => {
            if status.needs_operator.is_none() {
                // The one ERROR line of this episode: an operator must act.
                tracing::error!(error = %e, hint, "the job cannot go on by itself and needs an operator");
            }
            status.needs_operator = Some(NeedsOperator {
                reason: e.to_string(),
                hint,
                since: status
                    .needs_operator
                    .as_ref()
                    .map(|n| n.since.clone())
                    .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()),
            });
        }
        (Some(_), None) => {}
        (None, _) => status.needs_operator = None,
    }
    ctx.metrics
        .needs_operator
        .set(i64::from(status.needs_operator.is_some()));
    ctx.metrics
        .paused
        .set(i64::from(control.run_state == RunState::Paused));
}

/// Sleeps for `delay`, returning early (with `true`) if the control changes.
async fn wait(ctx: &mut JobContext, delay: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => false,
        changed = ctx.control.changed() => changed.is_ok(),
    }
}

/// The next idle wait: `idle_wait`, which then doubles up to `max`.
fn back_off(idle_wait: &mut Duration, max: Duration) -> Duration {
    let delay = (*idle_wait).min(max);
    *idle_wait = (*idle_wait * 2).min(max);
    delay
}

/// Waits, caught up after commit seq `after`, for the source watcher to report news (or
/// for `own_poll` while no watcher serves the job), returning early if the control
/// changes.
async fn wait_for_news(ctx: &mut JobContext, after: i64, own_poll: Duration) {
    let JobContext {
        source_watch,
        control,
        lease,
        ..
    } = ctx;
    tokio::select! {
        wake = source_watch.wait(after, own_poll) => {
            tracing::trace!(?wake, "woken for news of the source");
        }
        _ = control.changed() => {}
        // The next round of the loop shows the job holding for the store.
        _ = lease.wait_lapsed() => {}
    }
}

/// The task body. Returns only when the job is stopped.
pub async fn run(mut ctx: JobContext) {
    let mut failures: u32 = 0;
    let mut idle_wait = IDLE_POLL_FIRST;
    let mut progress: Option<Progress> = None;
    let mut cache = SyncCache::new();
    loop {
        let control = ctx.control.borrow_and_update().clone();
        if control.stop {
            tracing::info!("job task stopped");
            return;
        }
        let loaded = match progress.as_mut() {
            Some(p) => Ok(p),
            None => match ctx.load_progress().await {
                Ok(p) => Ok(progress.insert(p)),
                Err(e) => Err(e),
            },
        };
        let (current, outcome) = match loaded {
            Ok(current) => {
                if control.run_state == RunState::Paused {
                    publish(&ctx, Some(current), &control, None, None);
                    // Wake only for a new command; a pause holds no resources.
                    if ctx.control.changed().await.is_err() {
                        return;
                    }
                    continue;
                }
                if !ctx.lease.is_held() {
                    // Frozen, or cut off from the store: no step touches the target until
                    // the heartbeat round has renewed the lease and confirmed the job is
                    // still ours (else it stops this task).
                    tracing::info!("lease not held; the job waits for the next heartbeat round");
                    ctx.status.lock().waiting_for = Some(WAITING_FOR_STORE.to_owned());
                    tokio::select! {
                        _ = ctx.lease.wait_held() => {}
                        _ = ctx.control.changed() => {}
                    }
                    ctx.status.lock().waiting_for = None;
                    continue;
                }
                let started = std::time::Instant::now();
                let outcome = sync::step(&ctx, &mut cache, current, &control, failures).await;
                if !matches!(outcome, Ok(StepOutcome::Idle | StepOutcome::CaughtUp)) {
                    ctx.metrics
                        .step_seconds
                        .observe(started.elapsed().as_secs_f64());
                }
                (Some(&*current), outcome)
            }
            Err(error) => (None, Err(error)),
        };
        match outcome {
            Ok(StepOutcome::Progressed) => {
                failures = 0;
                idle_wait = IDLE_POLL_FIRST;
                publish(&ctx, current, &control, None, None);
            }
            Ok(StepOutcome::Finished) => {
                failures = 0;
                publish(&ctx, current, &control, None, None);
                // Done: nothing is polled until the operator sends a command (a full sync
                // copies again) or the job is deleted.
                if ctx.control.changed().await.is_err() {
                    return;
                }
            }
            Ok(StepOutcome::Idle) => {
                failures = 0;
                publish(&ctx, current, &control, None, None);
                // Right after activity more is likely: ask again soon, then back off to
                // the configured idle interval.
                let delay = back_off(&mut idle_wait, ctx.settings.idle_poll_interval);
                let waited = std::time::Instant::now();
                wait(&mut ctx, delay).await;
                // Idle but not caught up: a backup or restore runs, or the disk is full.
                ctx.metrics
                    .cluster_wait_seconds
                    .inc_by(waited.elapsed().as_secs_f64());
            }
            Ok(StepOutcome::CaughtUp) => {
                failures = 0;
                publish(&ctx, current, &control, None, None);
                // The job's own backoff, for when no watcher serves it.
                let own_poll = back_off(&mut idle_wait, ctx.settings.idle_poll_interval);
                let after = current.map_or(0, |p| p.prev_commit_seq);
                wait_for_news(&mut ctx, after, own_poll).await;
            }
            Err(error) => {
                let context = FailureContext {
                    skip_error: control.skip_error,
                    replaying_binlog: false,
                    previous_failures: failures,
                    operator_after: ctx.settings.operator_after_failures,
                };
                let (delay, hint) = match decide(&error, context) {
                    Remedy::Stop => {
                        // Fenced or deleted: another syncer resumes from the last progress
                        // this one wrote; stop without writing again.
                        tracing::warn!(%error, "the job is no longer this syncer's; stopping it here");
                        return;
                    }
                    Remedy::NeedsOperator { hint } => (RETRY_BACKOFF_MAX, Some(hint)),
                    Remedy::Retry(delay) => (delay, None),
                    // Binlog remedies are taken by the batch loop; anything else here is
                    // retried.
                    Remedy::FullSync | Remedy::PartialSync(_) | Remedy::Skip => {
                        (super::error::backoff(failures + 1), None)
                    }
                };
                failures = failures.saturating_add(1);
                ctx.metrics.errors.inc();
                let state = current
                    .map(|p| p.phase().state().name())
                    .unwrap_or("loading");
                tracing::warn!(%error, state, "sync step failed; retrying in {delay:?}");
                publish(&ctx, current, &control, Some(&error), hint);
                wait(&mut ctx, delay).await;
            }
        }
    }
}
