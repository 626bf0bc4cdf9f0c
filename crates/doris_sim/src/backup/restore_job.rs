//! RESTORE of a local snapshot (what restoreSnapshot submits): PENDING (check and build the
//! restored objects aside) → SNAPSHOTING → DOWNLOAD → DOWNLOADING (fetch every tablet's
//! snapshot from the source BEs over HTTP with the source token) → COMMIT → COMMITTING
//! (install everything under one catalog lock) → FINISHED, or CANCELLED.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::be_http::{delete_predicate_from_docs, rows_from_segment, SegmentDoc};
use crate::catalog::table::{
    Column, DeletePredicate, OlapTable, Partition, Rowset, Table, TableKind, ViewDef,
};
use crate::catalog::types::Value;
use crate::catalog::{format_time_ms, now_ms, Catalog, CatalogState};
use ccr_binlog::snapshot::{BackupJobInfo, ExtraInfo};

use super::backup_job::BackupRestoreError;
use super::files::{header_file_name, TabletSnapshotHeader, TABLET_DOWNLOAD_PATH};
use super::meta::{
    build_table, new_partition_like, retarget_view_query, schema_signature,
    snapshot_partition_item, BackupMetaDoc,
};
use super::{spawn_driver, Job, JobStatus, MAX_JOBS_CONFIG, ONE_JOB_PER_DB};

/// Connecting to a source BE's HTTP port.
const DOWNLOAD_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One download request; snapshot files of the simulator are small, this bounds a hung peer.
const DOWNLOAD_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Doris's RestoreJobState.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreState {
    Pending,
    Snapshoting,
    Download,
    Downloading,
    Commit,
    Committing,
    Finished,
    Cancelled,
}

impl RestoreState {
    pub fn name(self) -> &'static str {
        match self {
            RestoreState::Pending => "PENDING",
            RestoreState::Snapshoting => "SNAPSHOTING",
            RestoreState::Download => "DOWNLOAD",
            RestoreState::Downloading => "DOWNLOADING",
            RestoreState::Commit => "COMMIT",
            RestoreState::Committing => "COMMITTING",
            RestoreState::Finished => "FINISHED",
            RestoreState::Cancelled => "CANCELLED",
        }
    }

    pub fn is_done(self) -> bool {
        matches!(self, RestoreState::Finished | RestoreState::Cancelled)
    }
}

/// A validated restore submission.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub db: String,
    pub label: String,
    pub meta: BackupMetaDoc,
    pub job_info: BackupJobInfo,
    pub extra: ExtraInfo,
    /// `(snapshot table, target alias)`; empty = everything in the snapshot.
    pub table_refs: Vec<(String, Option<String>)>,
    pub reserve_replica: bool,
    pub reserve_dynamic_partition_enable: bool,
    /// Replicas of restored partitions unless `reserve_replica` keeps the snapshot's.
    pub replication_num: u32,
    pub atomic: bool,
    pub clean_tables: bool,
    pub clean_partitions: bool,
    pub timeout_ms: i64,
}

/// A restore job as SHOW RESTORE reports it.
#[derive(Debug)]
pub struct RestoreJob {
    pub id: i64,
    pub label: String,
    pub db_id: i64,
    pub db_name: String,
    /// The snapshot's backup time as `yyyy-MM-dd-HH-mm-ss`.
    pub backup_timestamp: String,
    pub state: RestoreState,
    pub reserve_replica: bool,
    pub reserve_dynamic_partition_enable: bool,
    pub replication_num: u32,
    pub restore_objs: String,
    pub create_time_ms: i64,
    pub meta_prepared_ms: i64,
    pub snapshot_finished_ms: i64,
    pub download_finished_ms: i64,
    pub finished_ms: i64,
    pub status: JobStatus,
    pub timeout_ms: i64,
}

impl RestoreJob {
    pub(crate) fn cancel(&mut self, now_ms: i64) -> Result<(), String> {
        if self.state.is_done() {
            return Err(format!(
                "Job with label {} can not be cancelled. state: {}",
                self.label,
                self.state.name()
            ));
        }
        self.fail(
            format!("user cancelled, current state: {}", self.state.name()),
            now_ms,
        );
        Ok(())
    }

    fn fail(&mut self, message: String, now_ms: i64) {
        self.status = JobStatus::CommonError(message);
        self.state = RestoreState::Cancelled;
        self.finished_ms = now_ms;
    }

    /// The SHOW RESTORE row (newer FE layout).
    pub fn show_row(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.label.clone(),
            self.backup_timestamp.clone(),
            self.db_name.clone(),
            self.state.name().to_owned(),
            "false".to_owned(),
            self.replication_num.to_string(),
            format!("tag.location.default: {}", self.replication_num),
            self.reserve_replica.to_string(),
            self.reserve_dynamic_partition_enable.to_string(),
            self.restore_objs.clone(),
            format_time_ms(self.create_time_ms),
            format_time_ms(self.meta_prepared_ms),
            format_time_ms(self.snapshot_finished_ms),
            format_time_ms(self.download_finished_ms),
            format_time_ms(self.finished_ms),
            String::new(),
            String::new(),
            String::new(),
            self.status.render(),
            (self.timeout_ms / 1000).to_string(),
        ]
    }
}

/// `yyyy-MM-dd-HH-mm-ss`, the backup timestamp format of SHOW RESTORE.
fn backup_timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d-%H-%M-%S").to_string())
        .unwrap_or_default()
}

/// The snapshot tables and views a restore covers, with their target names.
struct Selection {
    tables: Vec<(String, String)>,
    views: Vec<(String, String)>,
}

fn select(request: &RestoreRequest) -> Result<Selection, BackupRestoreError> {
    let label = request.job_info.name().unwrap_or_default().to_owned();
    let in_tables = |n: &str| request.meta.tables.iter().any(|t| t.name == n);
    let in_views = |n: &str| request.meta.views.iter().any(|v| v.name == n);
    if request.table_refs.is_empty() {
        return Ok(Selection {
            tables: request
                .meta
                .tables
                .iter()
                .map(|t| (t.name.clone(), t.name.clone()))
                .collect(),
            views: request
                .meta
                .views
                .iter()
                .map(|v| (v.name.clone(), v.name.clone()))
                .collect(),
        });
    }
    let mut selection = Selection {
        tables: Vec::new(),
        views: Vec::new(),
    };
    for (name, alias) in &request.table_refs {
        let target = alias.clone().unwrap_or_else(|| name.clone());
        if in_tables(name) {
            selection.tables.push((name.clone(), target));
        } else if in_views(name) {
            selection.views.push((name.clone(), target));
        } else {
            return Err(BackupRestoreError::Common(format!(
                "Table {name} does not exist in snapshot {label}"
            )));
        }
    }
    Ok(selection)
}

/// Brief JSON description of what is restored (Doris's BackupJobInfo brief info).
fn restore_objs(request: &RestoreRequest, selection: &Selection) -> String {
    let tables: Vec<serde_json::Value> = selection
        .tables
        .iter()
        .map(|(name, _)| {
            let partitions: Vec<&str> = request
                .meta
                .tables
                .iter()
                .find(|t| &t.name == name)
                .map(|t| t.partitions.iter().map(|p| p.name.as_str()).collect())
                .unwrap_or_default();
            serde_json::json!({"name": name, "partition_names": partitions})
        })
        .collect();
    let views: Vec<serde_json::Value> = selection
        .views
        .iter()
        .map(|(name, _)| serde_json::json!({"name": name}))
        .collect();
    serde_json::json!({
        "name": request.job_info.name().unwrap_or_default(),
        "database": request.job_info.database().unwrap_or_default(),
        "backup_time": request.job_info.backup_time().unwrap_or_default(),
        "content": "ALL",
        "olap_table_list": tables,
        "view_list": views,
        "odbc_table_list": [],
        "odbc_resource_list": [],
    })
    .to_string()
}

/// Registers a restore job (PENDING) and returns its id; the caller starts [`drive`].
pub fn submit_restore(
    state: &mut CatalogState,
    request: &RestoreRequest,
) -> Result<i64, BackupRestoreError> {
    let db_id = state.db_or_err(&request.db)?.id;
    if state.backup_restore.running_job(db_id).is_some() {
        return Err(BackupRestoreError::Common(ONE_JOB_PER_DB.to_owned()));
    }
    let selection = select(request)?;
    let job = RestoreJob {
        id: state.next_id(),
        label: request.label.clone(),
        db_id,
        db_name: request.db.clone(),
        backup_timestamp: backup_timestamp(request.job_info.backup_time().unwrap_or_default()),
        state: RestoreState::Pending,
        reserve_replica: request.reserve_replica,
        reserve_dynamic_partition_enable: request.reserve_dynamic_partition_enable,
        replication_num: request.replication_num,
        restore_objs: restore_objs(request, &selection),
        create_time_ms: now_ms(),
        meta_prepared_ms: 0,
        snapshot_finished_ms: 0,
        download_finished_ms: 0,
        finished_ms: 0,
        status: JobStatus::Ok,
        timeout_ms: request.timeout_ms,
    };
    let id = job.id;
    state.journal_op();
    let max_jobs = state
        .config
        .get(MAX_JOBS_CONFIG)
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    state
        .backup_restore
        .add(Job::Restore(Box::new(job)), max_jobs);
    Ok(id)
}

/// What a restored OLAP table becomes.
#[derive(Debug)]
enum TablePlan {
    /// A table the target lacks, built with new ids.
    New(Table),
    /// An existing table with the same schema: these new partitions replace (or join) its
    /// partitions of the same names.
    Existing {
        table_id: i64,
        partitions: Vec<Partition>,
    },
}

/// One target tablet and where its snapshot lies.
#[derive(Debug, Clone)]
struct TabletDownload {
    target_tablet: i64,
    source_tablet: i64,
    source_backend: i64,
    /// `<snapshot path>/<source tablet>/<schema hash>`.
    dir: String,
    /// Columns of the target table.
    columns: Vec<Column>,
    /// Restoring into an existing table: source column unique id → local one (matched by
    /// name; the signature check makes them correspond). `None` for a table the restore
    /// creates, which keeps the source's unique ids.
    unique_id_map: Option<BTreeMap<i32, i32>>,
}

/// Everything PENDING prepared.
#[derive(Debug, Default)]
struct RestorePlan {
    tables: Vec<TablePlan>,
    /// `(target name, comment, definition)` of views to create.
    views: Vec<(String, String, ViewDef)>,
    /// Target names of every restored table and view (what clean_tables keeps).
    restored_names: BTreeSet<String>,
    /// Per restored existing table: partition names the snapshot has (clean_partitions).
    snapshot_partitions: BTreeMap<i64, BTreeSet<String>>,
    downloads: Vec<TabletDownload>,
}

/// A downloaded rowset in the target table's schema.
#[derive(Debug)]
struct LoadedRowset {
    version: i64,
    txn_id: i64,
    schema: Vec<i32>,
    rows: Vec<Vec<Value>>,
    delete_predicate: Option<DeletePredicate>,
}

/// Index id → the name the snapshot's job info files the index under: the base index under
/// the source table's name, rollups under their own.
fn index_names(olap: &OlapTable, source_table: &str) -> BTreeMap<i64, String> {
    std::iter::once((olap.base_index.id, source_table.to_owned()))
        .chain(olap.rollups.iter().map(|r| (r.id, r.name.clone())))
        .collect()
}

fn mismatch(kind: &str, name: &str) -> String {
    format!("{kind} {name} already exist but with different schema")
}

/// PENDING: checks the snapshot against the target database and builds the restored
/// objects aside.
fn prepare(state: &mut CatalogState, request: &RestoreRequest) -> Result<RestorePlan, String> {
    let selection = select(request).map_err(|e| e.to_string())?;
    let backup_objects = request
        .job_info
        .backup_objects()
        .map_err(|e| e.to_string())?;
    let tablet_be_map = request
        .job_info
        .tablet_be_map()
        .map_err(|e| e.to_string())?;
    let path_map = request
        .job_info
        .tablet_snapshot_path_map()
        .map_err(|e| e.to_string())?;
    let mut plan = RestorePlan::default();
    let db_id = state.db_or_err(&request.db).map_err(|e| e.to_string())?.id;
    for (source_name, target_name) in &selection.tables {
        let meta = request
            .meta
            .tables
            .iter()
            .find(|t| &t.name == source_name)
            .expect("selected from the meta");
        let snapshot_table = backup_objects
            .get(source_name)
            .ok_or_else(|| format!("table {source_name} is not in the job info"))?;
        let built = build_table(state, meta, target_name, request.reserve_replica)?;
        let built_olap = built.table.olap().expect("built OLAP").clone();
        let existing = state.databases[&db_id]
            .table(target_name)
            .map(|t| (t.id, t.olap().cloned()));
        // (source partition name, target partition) pairs whose tablets get data.
        let targets: Vec<(String, Partition)>;
        let table_columns: Vec<Column>;
        let unique_id_map: Option<BTreeMap<i32, i32>>;
        // Index id → index name on the target (base index under the source table's name,
        // which is how the job info keys it).
        let target_index_names: BTreeMap<i64, String>;
        match existing {
            None => {
                table_columns = built_olap.columns.clone();
                unique_id_map = None;
                target_index_names = index_names(&built_olap, source_name);
                targets = built
                    .partitions
                    .iter()
                    .map(|(name, id)| (name.clone(), built_olap.partitions[id].clone()))
                    .collect();
                plan.tables.push(TablePlan::New(built.table));
            }
            Some((_, None)) => return Err(mismatch("Table", target_name)),
            Some((table_id, Some(local))) => {
                if schema_signature(&local) != schema_signature(&built_olap) {
                    return Err(mismatch("Table", target_name));
                }
                table_columns = local.columns.clone();
                unique_id_map = Some(
                    built_olap
                        .columns
                        .iter()
                        .filter_map(|source| {
                            local
                                .column(&source.name)
                                .map(|c| (source.unique_id, c.unique_id))
                        })
                        .collect(),
                );
                target_index_names = index_names(&local, source_name);
                let mut new_partitions = Vec::new();
                let mut pairs = Vec::new();
                for part in &meta.partitions {
                    let item = snapshot_partition_item(meta, &local, &part.name)?;
                    if let Some(old) = local.partition_by_name(&part.name, false) {
                        if old.item != item {
                            return Err(format!(
                                "Partition {} in table {target_name} has different partition item with the one in snapshot",
                                part.name
                            ));
                        }
                    }
                    let replication = if request.reserve_replica {
                        part.replication_num
                    } else {
                        request.replication_num
                    };
                    let partition = new_partition_like(state, &local, part, item, replication);
                    pairs.push((part.name.clone(), partition.clone()));
                    new_partitions.push(partition);
                }
                plan.snapshot_partitions.insert(
                    table_id,
                    meta.partitions.iter().map(|p| p.name.clone()).collect(),
                );
                plan.tables.push(TablePlan::Existing {
                    table_id,
                    partitions: new_partitions,
                });
                targets = pairs;
            }
        }
        plan.restored_names.insert(target_name.clone());
        for (part_name, partition) in targets {
            let source_partition = snapshot_table
                .partitions
                .get(&part_name)
                .ok_or_else(|| format!("partition {part_name} is not in the job info"))?;
            for target_index in partition.indexes.values() {
                let index_name = target_index_names
                    .get(&target_index.id)
                    .ok_or_else(|| format!("index {} has no name", target_index.id))?;
                let source_index = source_partition.indexes.get(index_name).ok_or_else(|| {
                    format!("index {index_name} of {source_name} is not in the job info")
                })?;
                let source_tablets = source_index.tablet_ids_in_bucket_order();
                if source_tablets.len() != target_index.tablets.len() {
                    return Err(format!(
                        "tablet count of partition {part_name} differs: snapshot {}, target {}",
                        source_tablets.len(),
                        target_index.tablets.len()
                    ));
                }
                for (source_tablet, target) in source_tablets.iter().zip(&target_index.tablets) {
                    let source_backend = *tablet_be_map.get(source_tablet).ok_or_else(|| {
                        format!("tablet {source_tablet} has no BE in the job info")
                    })?;
                    let path = path_map.get(source_tablet).ok_or_else(|| {
                        format!("tablet {source_tablet} has no snapshot path in the job info")
                    })?;
                    plan.downloads.push(TabletDownload {
                        target_tablet: target.id,
                        source_tablet: *source_tablet,
                        source_backend,
                        dir: format!("{path}/{source_tablet}/{}", source_index.schema_hash),
                        columns: table_columns.clone(),
                        unique_id_map: unique_id_map.clone(),
                    });
                }
            }
        }
    }
    for (source_name, target_name) in &selection.views {
        let view = request
            .meta
            .views
            .iter()
            .find(|v| &v.name == source_name)
            .expect("selected from the meta");
        let query = retarget_view_query(&view.query, &request.meta.db_name, &request.db);
        match state.databases[&db_id].table(target_name).map(|t| &t.kind) {
            None => plan.views.push((
                target_name.clone(),
                view.comment.clone(),
                ViewDef {
                    query,
                    column_names: view.column_names.clone(),
                },
            )),
            Some(TableKind::View(local)) if local.query == query => {}
            Some(_) => return Err(mismatch("View", target_name)),
        }
        plan.restored_names.insert(target_name.clone());
    }
    Ok(plan)
}

/// DOWNLOADING: fetches every tablet snapshot from its source BE.
async fn download_all(
    request: &RestoreRequest,
    downloads: &[TabletDownload],
) -> Result<BTreeMap<i64, Vec<LoadedRowset>>, String> {
    let client = reqwest::Client::builder()
        .connect_timeout(DOWNLOAD_CONNECT_TIMEOUT)
        .timeout(DOWNLOAD_REQUEST_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))?;
    let token = request.extra.token.expose();
    let mut loaded = BTreeMap::new();
    for download in downloads {
        let address = request
            .extra
            .be_network_map
            .get(&download.source_backend)
            .ok_or_else(|| {
                format!(
                    "backend {} of tablet {} is not in extra_info.be_network_map",
                    download.source_backend, download.source_tablet
                )
            })?;
        let url = format!(
            "http://{}:{}{TABLET_DOWNLOAD_PATH}",
            address.ip, address.port
        );
        let fetch = |file: String, head: bool| {
            let request = if head {
                client.head(&url)
            } else {
                client.get(&url)
            };
            let url = url.clone();
            async move {
                let response = request
                    .query(&[("token", token), ("file", file.as_str())])
                    .send()
                    .await
                    .map_err(|e| format!("download {file} from {url} failed: {e}"))?;
                let status = response.status();
                // The header itself: a HEAD answer has no body to measure.
                let length = response
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| format!("download {file} from {url} failed: {e}"))?;
                if !status.is_success() {
                    return Err(format!(
                        "download {file} from {url} failed: HTTP {}: {}",
                        status.as_u16(),
                        String::from_utf8_lossy(&body)
                    ));
                }
                Ok((length, body.to_vec()))
            }
        };
        let (_, listing) = fetch(download.dir.clone(), false).await?;
        let names: Vec<String> = String::from_utf8_lossy(&listing)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let mut files = BTreeMap::new();
        for name in names {
            let path = format!("{}/{name}", download.dir);
            let (size, _) = fetch(path.clone(), true).await?;
            let (_, bytes) = fetch(path.clone(), false).await?;
            if size.is_some_and(|s| s != bytes.len() as u64) {
                return Err(format!(
                    "download {path}: size mismatch, announced {size:?}, got {}",
                    bytes.len()
                ));
            }
            files.insert(name, bytes);
        }
        let rowsets = load_tablet(download, &files)?;
        loaded.insert(download.target_tablet, rowsets);
    }
    Ok(loaded)
}

/// Turns downloaded snapshot files into rowsets of the target table.
fn load_tablet(
    download: &TabletDownload,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<LoadedRowset>, String> {
    let header_name = header_file_name(download.source_tablet);
    let header: TabletSnapshotHeader = files
        .get(&header_name)
        .ok_or_else(|| {
            format!(
                "snapshot of tablet {} has no header",
                download.source_tablet
            )
        })
        .and_then(|b| serde_json::from_slice(b).map_err(|e| format!("bad {header_name}: {e}")))?;
    let mut rowsets = Vec::new();
    for rowset in &header.rowsets {
        let (schema, rows) = match &rowset.segment_file {
            None => (Vec::new(), Vec::new()),
            Some(file) => {
                let mut segment: SegmentDoc = files
                    .get(file)
                    .ok_or_else(|| format!("snapshot file {file} is missing"))
                    .and_then(|b| {
                        serde_json::from_slice(b).map_err(|e| format!("bad {file}: {e}"))
                    })?;
                if let Some(map) = &download.unique_id_map {
                    remap_segment(&mut segment, map);
                }
                rows_from_segment(&segment, &download.columns)?
            }
        };
        let delete_predicate = match rowset.delete_predicate.as_deref() {
            None => None,
            Some(docs) => {
                let mut docs = docs.to_vec();
                if let Some(map) = &download.unique_id_map {
                    for doc in &mut docs {
                        // A column the local table lacks reads as NULL.
                        doc.column_unique_id =
                            map.get(&doc.column_unique_id).copied().unwrap_or(-1);
                    }
                }
                Some(delete_predicate_from_docs(&docs, &download.columns)?)
            }
        };
        rowsets.push(LoadedRowset {
            version: rowset.version,
            txn_id: rowset.txn_id,
            schema,
            rows,
            delete_predicate,
        });
    }
    Ok(rowsets)
}

/// Rewrites a segment's column unique ids to the local table's, leaving out columns the
/// local table does not have.
fn remap_segment(segment: &mut SegmentDoc, map: &BTreeMap<i32, i32>) {
    let kept: Vec<(usize, i32)> = segment
        .column_unique_ids
        .iter()
        .enumerate()
        .filter_map(|(pos, id)| map.get(id).map(|local| (pos, *local)))
        .collect();
    segment.column_unique_ids = kept.iter().map(|(_, id)| *id).collect();
    segment.columns = kept
        .iter()
        .map(|(pos, _)| segment.columns.get(*pos).cloned().unwrap_or_default())
        .collect();
    for row in &mut segment.rows {
        *row = kept
            .iter()
            .map(|(pos, _)| row.get(*pos).cloned().unwrap_or(serde_json::Value::Null))
            .collect();
    }
}

/// Fills downloaded rowsets into the planned partitions and sets their versions.
fn fill_partitions(
    state: &mut CatalogState,
    partitions: &mut [&mut Partition],
    loaded: &mut BTreeMap<i64, Vec<LoadedRowset>>,
    versions: &BTreeMap<String, i64>,
) {
    let now = now_ms();
    for partition in partitions.iter_mut() {
        let version = versions.get(&partition.name).copied().unwrap_or(1);
        partition.visible_version = version;
        partition.visible_version_time_ms = now;
        for index in partition.indexes.values_mut() {
            for tablet in &mut index.tablets {
                for replica in &mut tablet.replicas {
                    replica.version = version;
                }
                for rowset in loaded.remove(&tablet.id).unwrap_or_default() {
                    tablet.rowsets.push(Rowset {
                        id: state.next_id(),
                        version: rowset.version,
                        txn_id: rowset.txn_id,
                        schema: rowset.schema,
                        rows: rowset.rows,
                        delete_predicate: rowset.delete_predicate,
                    });
                }
            }
        }
    }
}

/// COMMITTING: installs the restored objects in one step.
fn commit(
    state: &mut CatalogState,
    request: &RestoreRequest,
    plan: RestorePlan,
    mut loaded: BTreeMap<i64, Vec<LoadedRowset>>,
) -> Result<(), String> {
    let db_id = state.db_or_err(&request.db).map_err(|e| e.to_string())?.id;
    let backup_objects = request
        .job_info
        .backup_objects()
        .map_err(|e| e.to_string())?;
    let versions_of = |source_table: &str| -> BTreeMap<String, i64> {
        backup_objects
            .get(source_table)
            .map(|t| {
                t.partitions
                    .iter()
                    .map(|(n, p)| (n.clone(), p.version))
                    .collect()
            })
            .unwrap_or_default()
    };
    let source_name_of = |target: &str| -> String {
        request
            .table_refs
            .iter()
            .find(|(_, alias)| alias.as_deref() == Some(target))
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| target.to_owned())
    };
    let now = now_ms();
    for table_plan in plan.tables {
        match table_plan {
            TablePlan::New(mut table) => {
                if state.databases[&db_id].table(&table.name).is_some() {
                    return Err(format!(
                        "Table {} was created on the target during the restore",
                        table.name
                    ));
                }
                let versions = versions_of(&source_name_of(&table.name));
                let olap = table.olap_mut().expect("built OLAP");
                let mut parts: Vec<&mut Partition> = olap.partitions.values_mut().collect();
                fill_partitions(state, &mut parts, &mut loaded, &versions);
                olap.visible_version = olap
                    .partitions
                    .values()
                    .map(|p| p.visible_version)
                    .max()
                    .unwrap_or(1);
                let db = state.databases.get_mut(&db_id).expect("found above");
                db.tables.insert(table.id, table);
                db.update_time_ms = now;
            }
            TablePlan::Existing {
                table_id,
                mut partitions,
            } => {
                let Some(mut table) = state.databases[&db_id].tables.get(&table_id).cloned() else {
                    return Err(format!("table {table_id} was dropped during the restore"));
                };
                let versions = versions_of(&source_name_of(&table.name));
                let mut parts: Vec<&mut Partition> = partitions.iter_mut().collect();
                fill_partitions(state, &mut parts, &mut loaded, &versions);
                let keep = plan
                    .snapshot_partitions
                    .get(&table_id)
                    .cloned()
                    .unwrap_or_default();
                let olap = table.olap_mut().expect("checked in PENDING");
                olap.partitions.retain(|_, p| {
                    // An atomic restore builds the table aside from the snapshot alone (as
                    // Doris's RestoreJob does), so none of the local partitions survive.
                    if request.atomic {
                        return false;
                    }
                    let replaced = !p.is_temp
                        && partitions
                            .iter()
                            .any(|n| n.name.eq_ignore_ascii_case(&p.name));
                    let cleaned = request.clean_partitions
                        && !p.is_temp
                        && !keep.iter().any(|k| k.eq_ignore_ascii_case(&p.name));
                    !replaced && !cleaned
                });
                for partition in partitions {
                    olap.partitions.insert(partition.id, partition);
                }
                olap.properties.set("is_being_synced", "true");
                olap.visible_version = olap
                    .partitions
                    .values()
                    .map(|p| p.visible_version)
                    .max()
                    .unwrap_or(1)
                    .max(olap.visible_version);
                table.update_time_ms = now;
                let new_id = if request.atomic {
                    // Built aside, swapped in: the restored table is a new table.
                    state.next_id()
                } else {
                    table_id
                };
                let db = state.databases.get_mut(&db_id).expect("found above");
                db.tables.remove(&table_id);
                table.id = new_id;
                db.tables.insert(new_id, table);
                db.update_time_ms = now;
            }
        }
    }
    for (name, comment, def) in plan.views {
        let id = state.next_id();
        let db = state.databases.get_mut(&db_id).expect("found above");
        if db.table(&name).is_some() {
            continue;
        }
        db.tables.insert(
            id,
            Table {
                id,
                name,
                comment,
                kind: TableKind::View(def),
                create_time_ms: now,
                update_time_ms: now,
            },
        );
    }
    if request.clean_tables {
        let db = state.databases.get_mut(&db_id).expect("found above");
        db.tables
            .retain(|_, t| plan.restored_names.contains(&t.name));
    }
    Ok(())
}

/// Runs one state transition under the lock; `false` if the job is gone or done (cancelled).
fn step(
    catalog: &Catalog,
    job_id: i64,
    transition: impl FnOnce(&mut CatalogState) -> Result<RestoreState, String>,
) -> bool {
    let mut state = catalog.write();
    match state.backup_restore.restore(job_id) {
        Some(job) if !job.state.is_done() => {}
        _ => return false,
    }
    let outcome = transition(&mut state);
    let now = now_ms();
    state.journal_op();
    let job = state
        .backup_restore
        .restore_mut(job_id)
        .expect("checked above");
    match outcome {
        Ok(next) => {
            match next {
                RestoreState::Snapshoting => job.meta_prepared_ms = now,
                RestoreState::Download => job.snapshot_finished_ms = now,
                RestoreState::Commit => job.download_finished_ms = now,
                RestoreState::Finished => job.finished_ms = now,
                _ => {}
            }
            job.state = next;
            !next.is_done()
        }
        Err(message) => {
            tracing::warn!(job_id, %message, "restore cancelled");
            job.fail(message, now);
            false
        }
    }
}

/// Drives restore `job_id` to FINISHED (or CANCELLED) on its own thread.
pub fn drive(catalog: Arc<Catalog>, job_id: i64, request: RestoreRequest) {
    spawn_driver(format!("sim-restore-{job_id}"), move || {
        let pause = || std::thread::sleep(catalog.read().backup_restore.step_interval());
        let mut plan = None;
        pause();
        if !step(&catalog, job_id, |state| {
            plan = Some(prepare(state, &request)?);
            Ok(RestoreState::Snapshoting)
        }) {
            return;
        }
        let plan = plan.expect("prepared");
        pause();
        if !step(&catalog, job_id, |_| Ok(RestoreState::Download)) {
            return;
        }
        pause();
        if !step(&catalog, job_id, |_| Ok(RestoreState::Downloading)) {
            return;
        }
        let downloaded = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start download runtime: {e}"))
            .and_then(|runtime| runtime.block_on(download_all(&request, &plan.downloads)));
        let loaded = match downloaded {
            Ok(loaded) => loaded,
            Err(message) => {
                step(&catalog, job_id, |_| Err(message));
                return;
            }
        };
        if !step(&catalog, job_id, |_| Ok(RestoreState::Commit)) {
            return;
        }
        pause();
        if !step(&catalog, job_id, |_| Ok(RestoreState::Committing)) {
            return;
        }
        pause();
        step(&catalog, job_id, |state| {
            commit(state, &request, plan, loaded)?;
            Ok(RestoreState::Finished)
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_timestamp_uses_hyphens() {
        assert_eq!(backup_timestamp(0), "1970-01-01-00-00-00");
    }

    #[test]
    fn mismatch_text_matches_the_syncer_pattern() {
        assert_eq!(
            mismatch("Table", "t1"),
            "Table t1 already exist but with different schema"
        );
    }
}
