//! What one binlog does in a database job.
//!
//! The job keeps `table_mapping` (source table or view id → target id) and, right after a
//! full or partial sync, `table_commit_seq_map` (source table id → the commit seq its
//! snapshot already contains). A binlog about a table:
//!
//! * at or below the table's cut-over seq is skipped (the snapshot has it);
//! * about a table that is not mapped is skipped: the table is excluded by the job's
//!   include/exclude lists, or was created and dropped before the syncer saw it;
//! * otherwise it is replayed on the mapped target table — data in one target transaction
//!   per source transaction, DDL by SQL, and what neither can express by a partial sync of
//!   that table (restored under an alias and swapped in).
//!
//! Membership in the include/exclude lists is decided by a table's name whenever the job
//! meets a name: at full sync, at CREATE_TABLE, and at RENAME_TABLE. A table renamed into
//! the replicated set is brought over by a partial sync; a table renamed out of it is
//! renamed on the target too and then no longer replicated (the target keeps it as it was).

use std::collections::BTreeMap;

use super::ddl::{self, TargetTable};
use super::incremental::{advance, applied, skipped, skipped_with_warning, Replayed};
use super::snapshot::{start_db_partial_sync, start_full_sync};
use super::upsert::{self, TablePair, UpsertPlan};
use super::SyncCache;
use crate::binlog::{
    AlterJobRecord, AlterViewInfo, Binlog, BinlogRecord, CreateTableRecord, DropTableRecord,
    ReplaceTableOperationLog, TableInfo,
};
use crate::doris::sql::quote_ident;
use crate::doris::DorisError;
use crate::job::error::JobError;
use crate::job::manager::now_secs;
use crate::job::progress::{Progress, SyncState};
use crate::job::runner::JobTask;

/// What Doris answers when DROP TABLE meets a view.
const NOT_A_TABLE: &str = "is not TABLE";
/// What Doris answers when a created table or view exists already.
const ALREADY_EXISTS: &str = "already exists";
/// Property lines that differ between a replicated table and its source by design.
const SYNC_ONLY_PROPERTY: &str = "\"is_being_synced\"";

/// The target name of target table `dest_id`, from a cached `SHOW PROC '/dbs/<id>/'`;
/// `None` if the target has no such table.
pub(crate) async fn dest_table_name(
    task: &JobTask,
    cache: &mut SyncCache,
    dest_id: i64,
) -> Result<Option<String>, JobError> {
    if cache.dest_tables.is_none() {
        let tables = task.dest.sql().tables(task.info.dest.db_id).await?;
        cache.dest_tables = Some(tables.into_iter().map(|t| (t.id, t.name)).collect());
    }
    Ok(cache
        .dest_tables
        .as_ref()
        .and_then(|tables| tables.get(&dest_id).cloned()))
}

/// Leaves DbTablesIncrementalSync once the cursor has passed every table's cut-over seq:
/// from then on nothing needs filtering. Returns whether the state changed (the caller
/// persists).
pub(super) fn finish_tables_phase(progress: &mut Progress) -> bool {
    if progress.sync_state != SyncState::DbTablesIncrementalSync {
        return false;
    }
    let cursor = progress.prev_commit_seq;
    let passed = progress
        .table_commit_seq_map
        .as_ref()
        .is_none_or(|map| map.values().all(|cut| *cut <= cursor));
    if passed {
        tracing::info!(
            commit_seq = cursor,
            "every table is past its snapshot; plain incremental sync"
        );
        progress.sync_state = SyncState::DbIncrementalSync;
        progress.table_commit_seq_map = None;
    }
    passed
}

/// Whether the snapshot the job was restored from already contains binlog `seq` of
/// `table_id`.
fn covered(progress: &Progress, table_id: i64, seq: i64) -> bool {
    progress.sync_state == SyncState::DbTablesIncrementalSync
        && progress
            .table_commit_seq_map
            .as_ref()
            .is_some_and(|map| crate::binlog::covered_by_snapshot(map, table_id, seq))
}

fn mapped(progress: &Progress, table_id: i64) -> Option<i64> {
    progress
        .table_mapping
        .as_ref()
        .and_then(|mapping| mapping.get(&table_id))
        .copied()
}

fn unmap(progress: &mut Progress, table_id: i64) {
    if let Some(mapping) = progress.table_mapping.as_mut() {
        mapping.remove(&table_id);
    }
    if let Some(map) = progress.table_commit_seq_map.as_mut() {
        map.remove(&table_id);
    }
}

fn qualified(db: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(db), quote_ident(table))
}

/// Hands table `table_id` (some `partitions`, or all) to a partial sync; the binlog at
/// `seq` counts as applied once it is done.
async fn partial_sync(
    task: &JobTask,
    progress: &mut Progress,
    seq: i64,
    table_id: i64,
    partitions: Vec<String>,
    reason: &str,
) -> Result<Replayed, JobError> {
    advance(progress, seq);
    start_db_partial_sync(task, progress, table_id, partitions, reason).await?;
    Ok(Replayed::PhaseChanged)
}

/// Replays one binlog of a database job.
pub(super) async fn replay(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    binlog: &Binlog,
) -> Result<Replayed, JobError> {
    let seq = binlog.commit_seq;
    match &binlog.record {
        BinlogRecord::Upsert(record) => {
            let tables: Vec<TablePair> = record
                .table_ids()
                .into_iter()
                .filter(|id| !covered(progress, *id, seq))
                .filter_map(|id| {
                    mapped(progress, id).map(|dest| TablePair {
                        src_table_id: id,
                        dest_table_id: dest,
                    })
                })
                .collect();
            if tables.is_empty() {
                return skipped(progress, seq);
            }
            let partitions: Vec<i64> = tables
                .iter()
                .flat_map(|t| record.partitions_of(t.src_table_id))
                .map(|p| p.partition_id)
                .collect();
            let plan = UpsertPlan {
                commit_seq: seq,
                record,
                tables,
                label: upsert::db_txn_label(task.info.src.db_id, task.info.dest.db_id, seq),
                shadow_indexes: &progress.shadow_index_map,
                covered_partitions: progress.partitions_covered(&partitions, seq),
            };
            upsert::apply(task, cache, &plan).await?;
            progress.ingest_binlog_at = now_secs();
            applied(task, cache, progress, seq).await
        }
        BinlogRecord::Dummy => {
            start_full_sync(task, progress, "the source reported a DUMMY binlog").await?;
            Ok(Replayed::PhaseChanged)
        }
        BinlogRecord::CreateTable(record) => create_table(task, cache, progress, seq, record).await,
        BinlogRecord::DropTable(record) => drop_table(task, cache, progress, seq, record).await,
        BinlogRecord::RenameTable(info) => rename_table(task, cache, progress, seq, info).await,
        BinlogRecord::ReplaceTable(record) => {
            replace_table(task, cache, progress, seq, record).await
        }
        BinlogRecord::Barrier(_) => skipped(progress, seq),
        BinlogRecord::AlterDatabaseProperty(_) => {
            skipped_with_warning(
                task,
                progress,
                "ALTER_DATABASE_PROPERTY (database properties are not replicated)",
                seq,
            )
            .await
        }
        BinlogRecord::ModifyPartitions(_) => {
            skipped_with_warning(
                task,
                progress,
                "MODIFY_PARTITIONS (storage properties are not replicated)",
                seq,
            )
            .await
        }
        BinlogRecord::Unknown { type_id, .. } => Err(JobError::Unsupported(format!(
            "unknown binlog type {type_id} (commit seq {seq}); set skip_error to skip it, \
             or force a full sync"
        ))),
        record => {
            let Some(table_id) = record.table_id() else {
                return skipped(progress, seq);
            };
            if covered(progress, table_id, seq) {
                return skipped(progress, seq);
            }
            let Some(dest_id) = mapped(progress, table_id) else {
                if let BinlogRecord::RecoverInfo(info) = record {
                    let name = if info.new_table_name.is_empty() {
                        &info.table_name
                    } else {
                        &info.new_table_name
                    };
                    if info.is_table_recovery() && task.info.replicates_table(name) {
                        return partial_sync(
                            task,
                            progress,
                            seq,
                            table_id,
                            Vec::new(),
                            "table recovered",
                        )
                        .await;
                    }
                }
                tracing::debug!(commit_seq = seq, table_id, kind = %record.binlog_type(), "binlog of a table this job does not replicate");
                return skipped(progress, seq);
            };
            table_binlog(task, cache, progress, seq, table_id, dest_id, record).await
        }
    }
}

/// A binlog about one mapped table.
async fn table_binlog(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    table_id: i64,
    dest_id: i64,
    record: &BinlogRecord,
) -> Result<Replayed, JobError> {
    match record {
        BinlogRecord::AlterJob(job) => alter_job(task, progress, seq, table_id, job).await,
        BinlogRecord::ReplacePartitions(r) => {
            let partitions = if r.allows_partial_sync() {
                r.partitions.clone()
            } else {
                Vec::new()
            };
            partial_sync(
                task,
                progress,
                seq,
                table_id,
                partitions,
                "partitions were replaced",
            )
            .await
        }
        BinlogRecord::ModifyViewDef(view) => {
            alter_view(task, cache, progress, seq, dest_id, view).await
        }
        BinlogRecord::ModifyTableAddOrDropInvertedIndices(_)
        | BinlogRecord::IndexChangeJob(_)
        | BinlogRecord::ModifyDistributionBucketNum(_)
        | BinlogRecord::ModifyDistributionType(_)
        | BinlogRecord::RecoverInfo(_) => {
            // Index and distribution definitions travel with a snapshot of the table.
            let reason = format!(
                "{} is replicated by a snapshot of the table",
                record.binlog_type()
            );
            partial_sync(task, progress, seq, table_id, Vec::new(), &reason).await
        }
        _ => {
            let Some(name) = dest_table_name(task, cache, dest_id).await? else {
                return Err(JobError::MetaMismatch(format!(
                    "target table {dest_id} of source table {table_id} is gone"
                )));
            };
            let dest = &task.info.dest;
            let target = TargetTable {
                db: &dest.database,
                table: &name,
            };
            if ddl::replay_table_ddl(task.dest.sql(), target, record).await? {
                applied(task, cache, progress, seq).await
            } else {
                skipped(progress, seq)
            }
        }
    }
}

async fn alter_job(
    task: &JobTask,
    progress: &mut Progress,
    seq: i64,
    table_id: i64,
    job: &AlterJobRecord,
) -> Result<Replayed, JobError> {
    if job.is_finished() {
        for shadow in job.shadow_index_ids() {
            progress.shadow_index_map.remove(&shadow);
        }
        if job.is_schema_change() && !task.settings.features.schema_change_partial_sync {
            start_full_sync(task, progress, "a schema change finished on the source").await?;
            return Ok(Replayed::PhaseChanged);
        }
        // The new schema (or rollup) arrives with a snapshot of the table.
        return partial_sync(
            task,
            progress,
            seq,
            table_id,
            Vec::new(),
            "an alter job finished",
        )
        .await;
    }
    super::incremental::track_shadow_indexes(progress, job);
    advance(progress, seq);
    task.save(progress).await?;
    Ok(Replayed::Applied)
}

async fn create_table(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    record: &CreateTableRecord,
) -> Result<Replayed, JobError> {
    let name = &record.table_name;
    if !task.info.replicates_table(name) {
        tracing::info!(table = %name, "created table is excluded by the job's table lists");
        return skipped(progress, seq);
    }
    if mapped(progress, record.table_id).is_some() || covered(progress, record.table_id, seq) {
        return skipped(progress, seq);
    }
    if record.sql.trim().is_empty() || name.is_empty() {
        // Doris could not render the DDL: the table comes over by snapshot instead.
        return partial_sync(
            task,
            progress,
            seq,
            record.table_id,
            Vec::new(),
            "CREATE_TABLE without SQL",
        )
        .await;
    }
    let dest = &task.info.dest;
    let target = qualified(&dest.database, name);
    let mut sql = record.sql.clone();
    if record.is_view() {
        sql = ddl::retarget_view_sql(&sql, &task.info.src.database, &dest.database);
    }
    let statement = ddl::retarget_create(&sql, &target).ok_or_else(|| {
        JobError::CheckFailed(format!("cannot replay CREATE_TABLE, unexpected SQL: {sql}"))
    })?;
    let client = task.dest.sql();
    if record.is_view() && task.settings.features.create_view_drop_exists {
        client
            .exec(&format!("DROP VIEW IF EXISTS {target}"))
            .await?;
    }
    match client.exec(&statement).await {
        Ok(_) => tracing::info!(%statement, "replayed CREATE"),
        Err(DorisError::Sql { message, .. }) if message.contains(ALREADY_EXISTS) => {
            if !record.is_view() && !same_table_definition(task, name, &record.sql).await? {
                // Someone else's table, or ours from before a crash and changed since:
                // make it the source's by snapshot.
                return partial_sync(
                    task,
                    progress,
                    seq,
                    record.table_id,
                    Vec::new(),
                    "the created table exists on the target with another definition",
                )
                .await;
            }
            tracing::info!(table = %name, "created table already exists on the target; adopted");
        }
        Err(error) => {
            if !source_has_table(task, record.table_id).await? {
                // Created and dropped (or renamed away) before we got here; its DROP
                // binlog follows.
                tracing::warn!(table = %name, %error, "CREATE failed and the source object is gone; skipped");
                return skipped(progress, seq);
            }
            if record.is_view() && !error.is_transient() {
                // The view's tables on the target are ahead of this binlog (a snapshot
                // brought a later schema): the view comes by snapshot as it is now.
                tracing::warn!(view = %name, %error, "CREATE VIEW refused by the target; the view comes by snapshot");
                return partial_sync(
                    task,
                    progress,
                    seq,
                    record.table_id,
                    Vec::new(),
                    "CREATE VIEW refused by the target",
                )
                .await;
            }
            return Err(error.into());
        }
    }
    let dest_id = task
        .dest
        .sql()
        .table_id(dest.db_id, name)
        .await?
        .ok_or_else(|| {
            JobError::CheckFailed(format!(
                "table {}.{name} not found on the target after CREATE",
                dest.database
            ))
        })?;
    progress
        .table_mapping
        .get_or_insert_with(BTreeMap::new)
        .insert(record.table_id, dest_id);
    applied(task, cache, progress, seq).await
}

/// Whether target table `name` has the definition `source_sql` describes (the source's
/// `SHOW CREATE TABLE` text), ignoring what replication itself changes.
async fn same_table_definition(
    task: &JobTask,
    name: &str,
    source_sql: &str,
) -> Result<bool, JobError> {
    let target = match task
        .dest
        .sql()
        .show_create_table(&task.info.dest.database, name)
        .await
    {
        Ok(text) => text,
        Err(DorisError::Sql { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    Ok(normalized_definition(&target) == normalized_definition(source_sql))
}

fn normalized_definition(sql: &str) -> String {
    sql.trim()
        .trim_end_matches(';')
        .lines()
        .filter(|line| !line.contains(SYNC_ONLY_PROPERTY))
        .map(|line| line.trim().trim_end_matches(','))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn source_has_table(task: &JobTask, table_id: i64) -> Result<bool, JobError> {
    let tables = task.src.sql().tables(task.info.src.db_id).await?;
    Ok(tables.iter().any(|t| t.id == table_id))
}

async fn drop_table(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    record: &DropTableRecord,
) -> Result<Replayed, JobError> {
    let Some(dest_id) = mapped(progress, record.table_id) else {
        return skipped(progress, seq);
    };
    if let Some(name) = dest_table_name(task, cache, dest_id).await? {
        let dest = &task.info.dest;
        let target = qualified(&dest.database, &name);
        let drop_view = format!("DROP VIEW IF EXISTS {target}");
        let client = task.dest.sql();
        if record.is_view {
            client.exec(&drop_view).await?;
        } else {
            match client.exec(&format!("DROP TABLE {target} FORCE")).await {
                Ok(_) => {}
                Err(DorisError::Sql { message, .. }) if message.contains(NOT_A_TABLE) => {
                    client.exec(&drop_view).await?;
                }
                Err(DorisError::Sql { message, .. })
                    if message.contains("Unknown table") || message.contains("not exist") => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(table = %name, "replayed DROP");
    }
    unmap(progress, record.table_id);
    applied(task, cache, progress, seq).await
}

async fn rename_table(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    info: &TableInfo,
) -> Result<Replayed, JobError> {
    let Some(new_name) = info.new_table() else {
        return Err(JobError::CheckFailed(format!(
            "RENAME_TABLE at commit seq {seq} carries no new name"
        )));
    };
    let included = task.info.replicates_table(new_name);
    let Some(dest_id) = mapped(progress, info.table_id) else {
        if included
            && !covered(progress, info.table_id, seq)
            && source_has_table(task, info.table_id).await?
        {
            // A table the job did not replicate now has a replicated name: bring it over.
            return partial_sync(
                task,
                progress,
                seq,
                info.table_id,
                Vec::new(),
                "a table was renamed into the replicated set",
            )
            .await;
        }
        return skipped(progress, seq);
    };
    let current = dest_table_name(task, cache, dest_id).await?;
    match current {
        Some(current) if current != new_name => {
            let dest = &task.info.dest;
            let statement = format!(
                "ALTER TABLE {} RENAME {}",
                qualified(&dest.database, &current),
                quote_ident(new_name)
            );
            task.dest.sql().exec(&statement).await?;
            tracing::info!(%statement, "replayed RENAME");
        }
        Some(_) => {} // Already renamed (a replay after a crash).
        None => {
            return Err(JobError::MetaMismatch(format!(
                "target table {dest_id} to rename to {new_name} is gone"
            )))
        }
    }
    if !included {
        tracing::warn!(table = %new_name, "table renamed out of the replicated set; no longer replicated");
        unmap(progress, info.table_id);
    }
    applied(task, cache, progress, seq).await
}

async fn replace_table(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    record: &ReplaceTableOperationLog,
) -> Result<Replayed, JobError> {
    let orig = mapped(progress, record.orig_table_id);
    let new = mapped(progress, record.new_table_id);
    let (Some(orig_dest), Some(new_dest)) = (orig, new) else {
        if orig.is_none() && new.is_none() {
            return skipped(progress, seq);
        }
        // One side is not replicated: the resulting table can only come by snapshot.
        let table = if record.swap_table || orig.is_none() {
            record.new_table_id
        } else {
            record.orig_table_id
        };
        if !record.swap_table {
            unmap(progress, record.orig_table_id);
        }
        return partial_sync(
            task,
            progress,
            seq,
            table,
            Vec::new(),
            "a table was replaced by one the job does not replicate",
        )
        .await;
    };
    let orig_name = dest_table_name(task, cache, orig_dest).await?;
    let new_name = dest_table_name(task, cache, new_dest).await?;
    let done = match (&orig_name, &new_name) {
        // Swapped: each id carries the other's name; not swapped: the original is gone and
        // the replacing table carries its name.
        (Some(o), Some(n)) => {
            record.swap_table && *o == record.new_table_name && *n == record.orig_table_name
        }
        (None, Some(n)) => !record.swap_table && *n == record.orig_table_name,
        _ => false,
    };
    if !done {
        let (Some(orig_name), Some(new_name)) = (orig_name, new_name) else {
            return Err(JobError::MetaMismatch(format!(
                "target tables of REPLACE_TABLE at commit seq {seq} are gone"
            )));
        };
        let dest = &task.info.dest;
        let statement = format!(
            "ALTER TABLE {} REPLACE WITH TABLE {} PROPERTIES (\"swap\" = \"{}\")",
            qualified(&dest.database, &orig_name),
            quote_ident(&new_name),
            record.swap_table
        );
        task.dest.sql().exec(&statement).await?;
        tracing::info!(%statement, "replayed REPLACE TABLE");
    }
    if !record.swap_table {
        unmap(progress, record.orig_table_id);
    }
    applied(task, cache, progress, seq).await
}

async fn alter_view(
    task: &JobTask,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    dest_id: i64,
    view: &AlterViewInfo,
) -> Result<Replayed, JobError> {
    let Some(name) = dest_table_name(task, cache, dest_id).await? else {
        return Err(JobError::MetaMismatch(format!(
            "target view {dest_id} is gone"
        )));
    };
    let dest = &task.info.dest;
    let definition = ddl::retarget_view_sql(
        &view.inline_view_def,
        &task.info.src.database,
        &dest.database,
    );
    let target = qualified(&dest.database, &name);
    let statement = format!(
        "ALTER VIEW {target} AS {}",
        definition.trim().trim_end_matches(';')
    );
    match task.dest.sql().exec(&statement).await {
        Ok(_) => tracing::info!(%statement, "replayed ALTER VIEW"),
        Err(error) if !error.is_transient() => {
            // As for CREATE VIEW: the target's tables are ahead of this binlog. The view is
            // dropped and comes by snapshot as it is now on the source.
            tracing::warn!(view = %name, %error, "ALTER VIEW refused by the target; the view comes by snapshot");
            task.dest
                .sql()
                .exec(&format!("DROP VIEW IF EXISTS {target}"))
                .await?;
            cache.invalidate_target();
            return partial_sync(
                task,
                progress,
                seq,
                view.table_id,
                Vec::new(),
                "ALTER VIEW refused by the target",
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    }
    applied(task, cache, progress, seq).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::progress::Progress;

    #[test]
    fn the_tables_phase_ends_when_the_cursor_passes_every_cut_point() {
        let mut progress = Progress::new_full_sync("j", false, 1);
        progress.sync_state = SyncState::DbTablesIncrementalSync;
        progress.table_commit_seq_map = Some(BTreeMap::from([(1, 10), (2, 20)]));
        progress.prev_commit_seq = 15;
        assert!(covered(&progress, 2, 18));
        assert!(!covered(&progress, 1, 18));
        assert!(
            !covered(&progress, 3, 18),
            "tables created later are never covered"
        );
        assert!(!finish_tables_phase(&mut progress));
        progress.prev_commit_seq = 20;
        assert!(finish_tables_phase(&mut progress));
        assert_eq!(progress.sync_state, SyncState::DbIncrementalSync);
        assert!(progress.table_commit_seq_map.is_none());
        assert!(!covered(&progress, 2, 18));
        assert!(!finish_tables_phase(&mut progress));
    }

    #[test]
    fn definitions_compare_without_replication_markers() {
        let source =
            "CREATE TABLE `t` (\n  `k` int NULL\n) ENGINE=OLAP\nPROPERTIES (\n\"a\" = \"1\"\n);";
        let target = "CREATE TABLE `t` (\n  `k` int NULL\n) ENGINE=OLAP\nPROPERTIES (\n\"is_being_synced\" = \"true\",\n\"a\" = \"1\"\n)";
        assert_eq!(normalized_definition(source), normalized_definition(target));
        assert_ne!(
            normalized_definition(source),
            normalized_definition(&source.replace("int", "bigint"))
        );
    }
}
