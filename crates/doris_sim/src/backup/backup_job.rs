//! `BACKUP SNAPSHOT db.label TO \`__keep_on_local__\` [ON | EXCLUDE (...)]`: the cut (barriers
//! and data snapshot, taken atomically under the catalog lock when the statement runs) and
//! the job walking through Doris's states afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::catalog::table::{IndexState, Partition, Table, TableKind};
use crate::catalog::{format_time_ms, now_ms, Catalog, CatalogError, CatalogState};
use ccr_binlog::snapshot::{
    BackupIndex, BackupJobInfo, BackupJobInfoParts, BackupOlapTable, BackupPartition, BackupView,
    NewBackupObjects,
};

use super::files::{tablet_snapshot_files, SnapshotDir};
use super::meta::{BackupMetaDoc, TableMetaDoc, ViewMetaDoc, BACKUP_META_FORMAT};
use super::{
    spawn_driver, Job, JobStatus, BACKUP_TIMEOUT_CONFIG, LOCAL_REPOSITORY, MAX_JOBS_CONFIG,
    ONE_JOB_PER_DB,
};

/// FE meta version Doris 2.1 writes into job_info.
const META_VERSION: i32 = 129;
/// The producer version written into job_info (the simulator poses as Doris 2.1.7).
const PRODUCER_VERSION: (i32, i32, i32) = (2, 1, 7);
/// `content` of a full backup.
const CONTENT_ALL: &str = "ALL";
/// `backup_result` of a usable snapshot.
const BACKUP_SUCCEED: &str = "succeed";

/// Errors of BACKUP / RESTORE submission, each worded as Doris words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupRestoreError {
    /// MySQL 1051.
    #[error("Unknown table '{0}'")]
    UnknownTable(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Doris's ERR_COMMON_ERROR (MySQL 1105).
    #[error("{0}")]
    Common(String),
}

/// Doris's BackupJobState.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupState {
    Pending,
    Snapshoting,
    UploadSnapshot,
    Uploading,
    SaveMeta,
    UploadInfo,
    Finished,
    Cancelled,
}

impl BackupState {
    pub fn name(self) -> &'static str {
        match self {
            BackupState::Pending => "PENDING",
            BackupState::Snapshoting => "SNAPSHOTING",
            BackupState::UploadSnapshot => "UPLOAD_SNAPSHOT",
            BackupState::Uploading => "UPLOADING",
            BackupState::SaveMeta => "SAVE_META",
            BackupState::UploadInfo => "UPLOAD_INFO",
            BackupState::Finished => "FINISHED",
            BackupState::Cancelled => "CANCELLED",
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, BackupState::Finished | BackupState::Cancelled)
    }

    /// The states after PENDING, in order. For `__keep_on_local__` the upload steps do
    /// nothing, but Doris still passes through them.
    const PROGRESSION: [BackupState; 6] = [
        BackupState::Snapshoting,
        BackupState::UploadSnapshot,
        BackupState::Uploading,
        BackupState::SaveMeta,
        BackupState::UploadInfo,
        BackupState::Finished,
    ];
}

/// One object of a BACKUP's `ON (...)` / `EXCLUDE (...)` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupTableRef {
    pub table: String,
    /// Empty = every partition.
    pub partitions: Vec<String>,
    pub temporary_partitions: bool,
}

/// A parsed BACKUP statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRequest {
    pub db: String,
    pub label: String,
    pub repository: String,
    /// `None` = the whole database.
    pub refs: Option<Vec<BackupTableRef>>,
    /// `EXCLUDE (...)` instead of `ON (...)`.
    pub exclude: bool,
    /// `"timeout"` property (seconds), else FE config `backup_job_default_timeout_ms`.
    pub timeout_ms: Option<i64>,
}

/// A backup job and, once its cut is taken, its snapshot.
#[derive(Debug)]
pub struct BackupJob {
    pub id: i64,
    pub label: String,
    pub db_id: i64,
    pub db_name: String,
    pub state: BackupState,
    /// `BackupObjs` column text.
    pub objects: String,
    pub create_time_ms: i64,
    pub snapshot_finished_ms: i64,
    pub upload_finished_ms: i64,
    pub finished_ms: i64,
    pub status: JobStatus,
    /// Also the snapshot's lifetime: getSnapshot refuses it after `create + timeout`.
    pub timeout_ms: i64,
    /// Commit seq of the DB-level barrier (getSnapshot `commit_seq`).
    pub commit_seq: i64,
    pub job_info: BackupJobInfo,
    pub meta: Vec<u8>,
    /// Snapshot directory path → files, per source BE.
    pub snapshot_dirs: BTreeMap<String, SnapshotDir>,
}

impl BackupJob {
    pub fn expires_at_ms(&self) -> i64 {
        self.create_time_ms.saturating_add(self.timeout_ms)
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms > self.expires_at_ms()
    }

    fn advance_to(&mut self, next: BackupState, now: i64) {
        match next {
            BackupState::UploadSnapshot => self.snapshot_finished_ms = now,
            BackupState::SaveMeta => self.upload_finished_ms = now,
            BackupState::Finished => self.finished_ms = now,
            _ => {}
        }
        self.state = next;
    }

    pub(crate) fn cancel(&mut self, now_ms: i64) -> Result<(), String> {
        if self.state.is_done() {
            return Err(format!(
                "Job with label {} can not be cancelled. state: {}",
                self.label,
                self.state.name()
            ));
        }
        self.status = JobStatus::CommonError("user cancelled".to_owned());
        self.state = BackupState::Cancelled;
        self.finished_ms = now_ms;
        // The snapshots are released with the job.
        self.snapshot_dirs.clear();
        Ok(())
    }

    /// The SHOW BACKUP row.
    pub fn show_row(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.label.clone(),
            self.db_name.clone(),
            self.state.name().to_owned(),
            self.objects.clone(),
            format_time_ms(self.create_time_ms),
            format_time_ms(self.snapshot_finished_ms),
            format_time_ms(self.upload_finished_ms),
            format_time_ms(self.finished_ms),
            String::new(),
            String::new(),
            String::new(),
            self.status.render(),
            (self.timeout_ms / 1000).to_string(),
        ]
    }
}

/// The tables a backup covers, resolved against the catalog.
struct Target<'a> {
    table: &'a Table,
    /// For OLAP tables: the partitions backed up.
    partitions: Vec<&'a Partition>,
    /// The `BackupObjs` text of this object.
    display: String,
}

fn resolve_targets<'a>(
    db_tables: &'a BTreeMap<i64, Table>,
    request: &BackupRequest,
) -> Result<Vec<Target<'a>>, BackupRestoreError> {
    let by_name = |name: &str| db_tables.values().find(|t| t.name == name);
    let refs: Vec<BackupTableRef> = match (&request.refs, request.exclude) {
        (Some(refs), false) => refs.clone(),
        (refs, _) => {
            let excluded: BTreeSet<&str> =
                refs.iter().flatten().map(|r| r.table.as_str()).collect();
            db_tables
                .values()
                .filter(|t| !excluded.contains(t.name.as_str()))
                .map(|t| BackupTableRef {
                    table: t.name.clone(),
                    partitions: Vec::new(),
                    temporary_partitions: false,
                })
                .collect()
        }
    };
    let mut targets = Vec::new();
    for r in refs {
        let table =
            by_name(&r.table).ok_or_else(|| BackupRestoreError::UnknownTable(r.table.clone()))?;
        let display = if r.partitions.is_empty() {
            format!("[{}]", r.table)
        } else {
            format!("[{} PARTITIONS ({})]", r.table, r.partitions.join(", "))
        };
        let Some(olap) = table.olap() else {
            // Views are backed up as metadata only.
            targets.push(Target {
                table,
                partitions: Vec::new(),
                display,
            });
            continue;
        };
        if !olap.temp_partitions().is_empty() {
            return Err(BackupRestoreError::Common(
                "Do not support backup table with temp partitions".into(),
            ));
        }
        if r.temporary_partitions {
            return Err(BackupRestoreError::Common(
                "Do not support backup temp partitions".into(),
            ));
        }
        let partitions = if r.partitions.is_empty() {
            olap.visible_partitions()
        } else {
            let mut chosen = Vec::new();
            for name in &r.partitions {
                let partition = olap.partition_by_name(name, false).ok_or_else(|| {
                    // Doris's text, including its missing space before the table name.
                    BackupRestoreError::Common(format!(
                        "Unknown partition {name} in table{}",
                        r.table
                    ))
                })?;
                chosen.push(partition);
            }
            chosen
        };
        targets.push(Target {
            table,
            partitions,
            display,
        });
    }
    Ok(targets)
}

/// Submits a backup: checks it like Doris, then — under the caller's write lock — journals the
/// DB barrier and one BARRIER per OLAP table, freezes every partition's visible version and
/// copies each tablet's rows at that version into snapshot files. Returns the job id; the
/// caller starts [`drive`].
pub fn start_backup(
    state: &mut CatalogState,
    request: &BackupRequest,
) -> Result<i64, BackupRestoreError> {
    if request.repository != LOCAL_REPOSITORY {
        return Err(BackupRestoreError::Common(format!(
            "Repository {} does not exist",
            request.repository
        )));
    }
    let db_id = state.db_or_err(&request.db)?.id;
    if state.backup_restore.running_job(db_id).is_some() {
        return Err(BackupRestoreError::Common(ONE_JOB_PER_DB.to_owned()));
    }
    // Validate before consuming any id.
    let db = state.databases.get(&db_id).expect("found above");
    let (olap_ids, objects) = {
        let targets = resolve_targets(&db.tables, request)?;
        let objects: Vec<String> = targets.iter().map(|t| t.display.clone()).collect();
        let ids: Vec<(i64, Option<Vec<i64>>)> = targets
            .iter()
            .map(|t| {
                (
                    t.table.id,
                    t.table
                        .olap()
                        .map(|_| t.partitions.iter().map(|p| p.id).collect()),
                )
            })
            .collect();
        (ids, objects.join(", "))
    };
    let timeout_ms = request.timeout_ms.unwrap_or_else(|| {
        state
            .config
            .get(BACKUP_TIMEOUT_CONFIG)
            .and_then(|v| v.parse().ok())
            .unwrap_or(86_400_000)
    });
    let job_id = state.next_id();
    let now = now_ms();
    // 1. The DB-level barrier: journaled, never stored; its id is the snapshot's commit seq.
    let commit_seq = state.journal_op();
    // 2. One BARRIER binlog per OLAP table: the table's cut point.
    let mut table_commit_seq_map = BTreeMap::new();
    for (table_id, partitions) in &olap_ids {
        if partitions.is_some() {
            table_commit_seq_map.insert(*table_id, state.binlog_backup_barrier(db_id, *table_id));
        }
    }
    // 3. Freeze versions and snapshot the tablets (still under the same lock).
    let snapshot = take_snapshot(state, db_id, job_id, now, timeout_ms, &olap_ids)
        .map_err(|e| BackupRestoreError::Common(format!("failed to make snapshot: {e}")))?;
    let db = state.databases.get(&db_id).expect("found above");
    let parts = BackupJobInfoParts {
        name: request.label.clone(),
        database: db.name.clone(),
        id: db_id,
        backup_time: now,
        content: CONTENT_ALL.to_owned(),
        backup_objects: snapshot.backup_objects,
        new_backup_objects: NewBackupObjects {
            views: snapshot.views,
            odbc_tables: Vec::new(),
            odbc_resources: Vec::new(),
        },
        backup_result: BACKUP_SUCCEED.to_owned(),
        meta_version: META_VERSION,
        major_version: PRODUCER_VERSION.0,
        minor_version: PRODUCER_VERSION.1,
        patch_version: PRODUCER_VERSION.2,
        tablet_be_map: snapshot.tablet_be_map,
        tablet_snapshot_path_map: snapshot.tablet_snapshot_path_map,
        table_commit_seq_map,
    };
    let job_info = BackupJobInfo::from_parts(&parts)
        .map_err(|e| BackupRestoreError::Common(format!("failed to save job info: {e}")))?;
    let meta = serde_json::to_vec(&snapshot.meta)
        .map_err(|e| BackupRestoreError::Common(format!("failed to save meta: {e}")))?;
    let job = BackupJob {
        id: job_id,
        label: request.label.clone(),
        db_id,
        db_name: db.name.clone(),
        state: BackupState::Pending,
        objects,
        create_time_ms: now,
        snapshot_finished_ms: 0,
        upload_finished_ms: 0,
        finished_ms: 0,
        status: JobStatus::Ok,
        timeout_ms,
        commit_seq,
        job_info,
        meta,
        snapshot_dirs: snapshot.dirs,
    };
    let max_jobs = state
        .config
        .get(MAX_JOBS_CONFIG)
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    state
        .backup_restore
        .add(Job::Backup(Box::new(job)), max_jobs);
    Ok(job_id)
}

/// Everything the cut produced.
struct Snapshot {
    backup_objects: BTreeMap<String, BackupOlapTable>,
    views: Vec<BackupView>,
    tablet_be_map: BTreeMap<i64, i64>,
    tablet_snapshot_path_map: BTreeMap<i64, String>,
    dirs: BTreeMap<String, SnapshotDir>,
    meta: BackupMetaDoc,
}

/// `/sim/be_<id>/snapshot/<yyyyMMddHHmmss>.<job>.<timeout s>`, Doris's snapshot dir shape.
fn snapshot_path(backend_id: i64, job_id: i64, now: i64, timeout_ms: i64) -> String {
    let stamp = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default();
    format!(
        "/sim/be_{backend_id}/snapshot/{stamp}.{job_id}.{}",
        timeout_ms / 1000
    )
}

fn take_snapshot(
    state: &CatalogState,
    db_id: i64,
    job_id: i64,
    now: i64,
    timeout_ms: i64,
    targets: &[(i64, Option<Vec<i64>>)],
) -> Result<Snapshot, serde_json::Error> {
    let db = state.databases.get(&db_id).expect("caller checked");
    let mut snapshot = Snapshot {
        backup_objects: BTreeMap::new(),
        views: Vec::new(),
        tablet_be_map: BTreeMap::new(),
        tablet_snapshot_path_map: BTreeMap::new(),
        dirs: BTreeMap::new(),
        meta: BackupMetaDoc {
            format: BACKUP_META_FORMAT.to_owned(),
            db_id,
            db_name: db.name.clone(),
            tables: Vec::new(),
            views: Vec::new(),
        },
    };
    for (table_id, partition_ids) in targets {
        let table = &db.tables[table_id];
        let olap = match (&table.kind, partition_ids) {
            (TableKind::View(view), _) => {
                snapshot.views.push(BackupView {
                    id: table.id,
                    name: table.name.clone(),
                });
                snapshot.meta.views.push(ViewMetaDoc {
                    id: table.id,
                    name: table.name.clone(),
                    comment: table.comment.clone(),
                    query: view.query.clone(),
                    column_names: view.column_names.clone(),
                });
                continue;
            }
            (TableKind::Olap(olap), Some(_)) => olap,
            (TableKind::Olap(_), None) => continue,
        };
        let partitions: Vec<&Partition> = partition_ids
            .iter()
            .flatten()
            .filter_map(|id| olap.partitions.get(id))
            .collect();
        let index_names: BTreeMap<i64, (&str, i64)> = std::iter::once(&olap.base_index)
            .chain(&olap.rollups)
            .map(|m| (m.id, (m.name.as_str(), i64::from(m.schema_hash))))
            .collect();
        let mut backup_partitions = BTreeMap::new();
        for partition in &partitions {
            let version = partition.visible_version;
            let mut indexes = BTreeMap::new();
            for index in partition
                .indexes
                .values()
                .filter(|i| i.state == IndexState::Normal)
            {
                let Some((index_name, schema_hash)) = index_names.get(&index.id).copied() else {
                    continue;
                };
                let mut tablets = BTreeMap::new();
                for tablet in &index.tablets {
                    // One healthy replica: the lowest replica id holding the version.
                    let Some(replica) = tablet
                        .replicas
                        .iter()
                        .filter(|r| r.version >= version)
                        .min_by_key(|r| r.id)
                    else {
                        continue;
                    };
                    let path = snapshot_path(replica.backend_id, job_id, now, timeout_ms);
                    let files = tablet_snapshot_files(tablet, schema_hash, version, &olap.columns)?;
                    tablets.insert(tablet.id, files.keys().cloned().collect());
                    snapshot.tablet_be_map.insert(tablet.id, replica.backend_id);
                    snapshot
                        .tablet_snapshot_path_map
                        .insert(tablet.id, path.clone());
                    snapshot.dirs.insert(
                        format!("{path}/{}/{schema_hash}", tablet.id),
                        SnapshotDir {
                            backend_id: replica.backend_id,
                            files,
                        },
                    );
                }
                indexes.insert(
                    index_name.to_owned(),
                    BackupIndex {
                        id: index.id,
                        schema_hash,
                        tablets,
                        tablets_order: Some(index.tablets.iter().map(|t| t.id).collect()),
                    },
                );
            }
            backup_partitions.insert(
                partition.name.clone(),
                BackupPartition {
                    id: partition.id,
                    version,
                    indexes,
                },
            );
        }
        snapshot.backup_objects.insert(
            table.name.clone(),
            BackupOlapTable {
                id: table.id,
                partitions: backup_partitions,
            },
        );
        snapshot
            .meta
            .tables
            .push(TableMetaDoc::of(table, olap, &partitions));
    }
    Ok(snapshot)
}

/// Walks backup `job_id` from PENDING to FINISHED, one state per step interval. Each state
/// change is journaled (one edit-log id, no binlog). Stops early if the job was cancelled.
pub fn drive(catalog: Arc<Catalog>, job_id: i64) {
    spawn_driver(format!("sim-backup-{job_id}"), move || {
        for next in BackupState::PROGRESSION {
            let pause = catalog.read().backup_restore.step_interval();
            std::thread::sleep(pause);
            let mut state = catalog.write();
            let Some(job) = state.backup_restore.backup_mut(job_id) else {
                return;
            };
            if job.state.is_done() {
                return;
            }
            job.advance_to(next, now_ms());
            state.journal_op();
        }
    });
}
