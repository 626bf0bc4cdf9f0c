//! The target disk guard: a job holds before it starts a restore and before it applies
//! binlogs while a target BE's fullest disk is above `--target_max_disk_used_percent`,
//! and goes on by itself once none is.
//!
//! The reading (`SHOW BACKENDS`, `MaxDiskUsedPct`) is reused for
//! `--target_disk_check_interval`, so a job asks the target FE at most that often. While it
//! holds, `/job_status` `waiting_for` names the BE, its usage and the threshold, the gauge
//! `ccr_syncer_job_target_disk_full` is 1, and one WARN line marks the episode's start.

use std::time::Instant;

use super::cache::{DiskReading, FullBackend, SyncCache};
use crate::job::context::JobContext;
use crate::job::error::JobError;

/// A threshold at or above this never holds a job: the guard is off.
const GUARD_OFF_PERCENT: f64 = 100.0;

/// Whether the job may write to the target now; `false` means hold (status, gauge and log
/// say why). A reading that fails is logged and does not hold the job: the guard must not
/// stop replication of a target whose FE refuses `SHOW BACKENDS` to the job's user.
pub(crate) async fn target_has_room(
    ctx: &JobContext,
    cache: &mut SyncCache,
) -> Result<bool, JobError> {
    let threshold = ctx.settings.target_max_disk_used_percent;
    if threshold >= GUARD_OFF_PERCENT {
        return Ok(true);
    }
    let fresh = cache
        .disk
        .as_ref()
        .is_some_and(|r| r.at.elapsed() < ctx.settings.target_disk_check_interval);
    if !fresh {
        let full = match ctx.target.disk_usage().await {
            Ok(backends) => backends
                .into_iter()
                .filter(|be| be.alive)
                .filter_map(|be| {
                    be.max_disk_used_pct.map(|percent| FullBackend {
                        id: be.id,
                        host: be.host,
                        percent,
                    })
                })
                .filter(|be| be.percent > threshold)
                .max_by(|a, b| a.percent.total_cmp(&b.percent)),
            Err(error) => {
                tracing::warn!(%error, "cannot read the target BEs' disk usage; going on without the disk guard this time");
                None
            }
        };
        cache.disk = Some(DiskReading {
            at: Instant::now(),
            full,
        });
    }
    let full = cache.disk.as_ref().and_then(|r| r.full.clone());
    let was_full = ctx.metrics.target_disk_full.get() == 1;
    match full {
        Some(be) => {
            let reason = format!(
                "disk space on the target: backend {} ({}) has its fullest disk {:.2} % used, \
                 above --target_max_disk_used_percent {threshold}; the job goes on by itself \
                 once it is not",
                be.id, be.host, be.percent
            );
            if !was_full {
                // The one WARN line of this episode.
                tracing::warn!(
                    backend_id = be.id,
                    host = %be.host,
                    used_percent = be.percent,
                    threshold,
                    "a target BE's disk is fuller than allowed; the job holds"
                );
            }
            ctx.metrics.target_disk_full.set(1);
            ctx.status.lock().waiting_for = Some(reason);
            Ok(false)
        }
        None => {
            if was_full {
                tracing::info!(
                    threshold,
                    "target disks are under the threshold again; the job goes on"
                );
                ctx.metrics.target_disk_full.set(0);
                ctx.status.lock().waiting_for = None;
            }
            Ok(true)
        }
    }
}
