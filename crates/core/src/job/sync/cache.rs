//! What a job keeps in memory between steps: caches that can always be rebuilt.

use std::collections::HashMap;

use crate::job::context::JobContext;
use crate::job::error::JobError;
use ccr_doris::cluster::Snapshot;
use ccr_doris::meta::{BackendMeta, DbMeta};

/// The caches of one job.
pub(crate) struct SyncCache {
    /// Target tables' partition/tablet trees; dropped after every DDL and restore.
    pub dest_meta: Option<DbMeta>,
    /// Source tables' partition/tablet trees, kept across transactions: replica versions
    /// in it age with every load, so ingest planning treats it as a hint and refreshes it
    /// on a miss or a failed ingest; dropped after every DDL and restore.
    pub src_meta: Option<DbMeta>,
    pub src_backends: Option<HashMap<i64, BackendMeta>>,
    pub dest_backends: Option<HashMap<i64, BackendMeta>>,
    /// The snapshot being restored (by name), with extra info added.
    pub snapshot: Option<(String, Snapshot)>,
    /// When the source table was last seen to exist (table jobs, while caught up).
    pub source_checked_at: Option<std::time::Instant>,
    /// Target table id → name (database jobs); dropped after every DDL and restore.
    pub dest_tables: Option<HashMap<i64, String>>,
    /// When the lag gauges were last refreshed (while replaying).
    pub lag_measured_at: Option<std::time::Instant>,
    /// The last reading of the target BEs' disk usage (the disk guard).
    pub disk: Option<DiskReading>,
    /// The job's last shared backup was refused: its next backup is one of its own.
    pub backup_alone: bool,
}

impl SyncCache {
    pub fn new() -> Self {
        SyncCache {
            dest_meta: None,
            src_meta: None,
            src_backends: None,
            dest_backends: None,
            snapshot: None,
            source_checked_at: None,
            dest_tables: None,
            lag_measured_at: None,
            disk: None,
            backup_alone: false,
        }
    }

    /// Forgets the table metadata of both clusters: everything a DDL or a restore may
    /// have changed.
    pub fn invalidate_metadata(&mut self) {
        self.dest_meta = None;
        self.src_meta = None;
        self.dest_tables = None;
    }

    /// Forgets the cached backends of both clusters (a BE unknown to the cache was met).
    pub fn invalidate_backends(&mut self) {
        self.src_backends = None;
        self.dest_backends = None;
    }
}

impl SyncCache {
    /// The target name of target table `dest_id`, from a cached `SHOW PROC '/dbs/<id>/'`;
    /// `None` if the target has no such table.
    pub async fn dest_table_name(
        &mut self,
        ctx: &JobContext,
        dest_id: i64,
    ) -> Result<Option<String>, JobError> {
        if self.dest_tables.is_none() {
            let tables = ctx.target.tables(ctx.info.dest.db_id).await?;
            self.dest_tables = Some(tables.into_iter().map(|t| (t.id, t.name)).collect());
        }
        Ok(self
            .dest_tables
            .as_ref()
            .and_then(|tables| tables.get(&dest_id).cloned()))
    }
}

/// The fullest BE above the threshold, as last read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FullBackend {
    pub id: i64,
    pub host: String,
    pub percent: f64,
}

/// The last reading of the target's disks.
#[derive(Debug, Clone)]
pub(crate) struct DiskReading {
    pub at: std::time::Instant,
    pub full: Option<FullBackend>,
}
