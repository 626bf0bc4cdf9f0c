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

use super::cache::SyncCache;
use super::cursor::{advance, applied, skip_binlog, skipped, track_shadow_indexes, Replayed};
use super::ddl::{self, TargetTable};
use super::pipeline::TxnPipeline;
use super::plan::{self, plan_mismatch, Plan};
use super::snapshot::{start_db_partial_sync, start_full_sync};
use super::upsert::{self, UpsertPlan};
use crate::job::context::JobContext;
use crate::job::error::JobError;
use crate::progress::Progress;
use ccr_binlog::{
    AlterViewInfo, Binlog, BinlogRecord, CreateTableRecord, DropTableRecord,
    ReplaceTableOperationLog,
};
use ccr_doris::sql::quote_ident;
use ccr_doris::{DorisError, DorisErrorKind};

/// Property lines that differ between a replicated table and its source by design.
const SYNC_ONLY_PROPERTY: &str = "\"is_being_synced\"";

fn qualified(db: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(db), quote_ident(table))
}

/// Hands table `table_id` (some `partitions`, or all) to a partial sync; the binlog at
/// `seq` counts as applied once it is done.
async fn partial_sync(
    ctx: &JobContext,
    progress: &mut Progress,
    seq: i64,
    table_id: i64,
    partitions: Vec<String>,
    reason: &str,
) -> Result<Replayed, JobError> {
    advance(progress, seq);
    start_db_partial_sync(ctx, progress, table_id, partitions, reason).await?;
    Ok(Replayed::PhaseChanged)
}

/// A finished or replaced table's schema change no longer has shadow indexes to filter.
fn forget_shadow_indexes(progress: &mut Progress, record: &BinlogRecord) {
    if let BinlogRecord::AlterJob(job) = record {
        for shadow in job.shadow_index_ids() {
            progress.shadow_index_map.remove(&shadow);
        }
    }
}

/// Plans and carries out one binlog of a database job.
pub(super) async fn replay(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    pipeline: &mut TxnPipeline,
    binlog: &Binlog,
) -> Result<Replayed, JobError> {
    let seq = binlog.commit_seq;
    let plan = plan::plan_db_binlog(
        &plan::DbJob {
            info: &ctx.info,
            progress,
            schema_change_partial_sync: ctx.settings.features.schema_change_partial_sync,
        },
        binlog,
    );
    tracing::debug!(commit_seq = seq, kind = %binlog.record.binlog_type(), ?plan, "planned");
    if !matches!(plan, Plan::Transaction { .. }) {
        pipeline.drain(ctx, cache, progress).await?;
    }
    let record = &binlog.record;
    match plan {
        Plan::Transaction { tables } => {
            let BinlogRecord::Upsert(upsert_record) = record else {
                return Err(plan_mismatch(binlog, "only an UPSERT plans a transaction"));
            };
            let partitions: Vec<i64> = tables
                .iter()
                .flat_map(|t| upsert_record.partitions_of(t.src_table_id))
                .map(|p| p.partition_id)
                .collect();
            let upsert = UpsertPlan {
                commit_seq: seq,
                record: upsert_record.clone(),
                tables,
                label: upsert::db_txn_label(ctx.info.src.db_id, ctx.info.dest.db_id, seq),
                shadow_indexes: progress.shadow_index_map.clone(),
                covered_partitions: progress.partitions_covered(&partitions, seq),
            };
            pipeline.submit(ctx, cache, progress, upsert).await?;
            Ok(Replayed::Submitted)
        }
        Plan::TableDdl { dest_table_id } => {
            let table_id = record.table_id().unwrap_or_default();
            let Some(name) = cache.dest_table_name(ctx, dest_table_id).await? else {
                return Err(JobError::TableMismatch {
                    src_table_id: table_id,
                    message: format!("target table {dest_table_id} is gone"),
                });
            };
            let dest = &ctx.info.dest;
            let target = TargetTable {
                db: &dest.database,
                table: &name,
            };
            if ddl::replay_table_ddl(ctx.target.as_ref(), target, record).await? {
                applied(ctx, cache, progress, seq).await
            } else {
                skipped(progress, seq)
            }
        }
        Plan::CreateObject => {
            let BinlogRecord::CreateTable(create) = record else {
                return Err(plan_mismatch(binlog, "only a CREATE_TABLE plans a create"));
            };
            create_table(ctx, cache, progress, seq, create).await
        }
        Plan::DropObject { dest_table_id } => {
            let BinlogRecord::DropTable(drop) = record else {
                return Err(plan_mismatch(binlog, "only a DROP_TABLE plans a drop"));
            };
            drop_table(ctx, cache, progress, seq, drop, dest_table_id).await
        }
        Plan::RenameObject {
            dest_table_id,
            new_name,
            still_replicated,
        } => {
            let table_id = record.table_id().unwrap_or_default();
            rename_table(
                ctx,
                cache,
                progress,
                seq,
                table_id,
                dest_table_id,
                &new_name,
                still_replicated,
            )
            .await
        }
        Plan::AdoptRenamed { table_id } => {
            if source_has_table(ctx, table_id).await? {
                // A table the job did not replicate now has a replicated name.
                partial_sync(
                    ctx,
                    progress,
                    seq,
                    table_id,
                    Vec::new(),
                    "a table was renamed into the replicated set",
                )
                .await
            } else {
                skipped(progress, seq)
            }
        }
        Plan::ReplaceTable {
            orig_dest,
            new_dest,
        } => {
            let BinlogRecord::ReplaceTable(replace) = record else {
                return Err(plan_mismatch(
                    binlog,
                    "only a REPLACE_TABLE plans a replace",
                ));
            };
            replace_table(ctx, cache, progress, seq, replace, orig_dest, new_dest).await
        }
        Plan::AlterView { dest_table_id } => {
            let BinlogRecord::ModifyViewDef(view) = record else {
                return Err(plan_mismatch(
                    binlog,
                    "only a MODIFY_VIEW_DEF plans an ALTER VIEW",
                ));
            };
            alter_view(ctx, cache, progress, seq, dest_table_id, view).await
        }
        Plan::TrackAlterJob => {
            let BinlogRecord::AlterJob(job) = record else {
                return Err(plan_mismatch(binlog, "only an ALTER_JOB plans tracking"));
            };
            track_shadow_indexes(progress, job);
            advance(progress, seq);
            ctx.save(progress).await?;
            Ok(Replayed::Applied)
        }
        Plan::PartialSync {
            table_id,
            partitions,
            reason,
            unmap: forget,
        } => {
            forget_shadow_indexes(progress, record);
            if let Some(forget) = forget {
                progress.unmap_table(forget);
            }
            partial_sync(ctx, progress, seq, table_id, partitions, &reason).await
        }
        Plan::FullSync { reason } => {
            forget_shadow_indexes(progress, record);
            start_full_sync(ctx, progress, &reason).await?;
            Ok(Replayed::PhaseChanged)
        }
        Plan::Skip(skip) => skip_binlog(ctx, progress, seq, skip).await,
        Plan::Fail(reason) => Err(reason.into_error()),
    }
}

async fn create_table(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    record: &CreateTableRecord,
) -> Result<Replayed, JobError> {
    let name = &record.table_name;
    let dest = &ctx.info.dest;
    let target = qualified(&dest.database, name);
    let mut sql = record.sql.clone();
    if record.is_view() {
        sql = ddl::retarget_view_sql(&sql, &ctx.info.src.database, &dest.database);
    }
    let statement = ddl::retarget_create(&sql, &target).ok_or_else(|| {
        JobError::CheckFailed(format!("cannot replay CREATE_TABLE, unexpected SQL: {sql}"))
    })?;
    let client = ctx.target.as_ref();
    if record.is_view() && ctx.settings.features.create_view_drop_exists {
        client
            .exec(&format!("DROP VIEW IF EXISTS {target}"))
            .await?;
    }
    match client.exec(&statement).await {
        Ok(_) => tracing::info!(%statement, "replayed CREATE"),
        Err(error) if error.kind() == DorisErrorKind::AlreadyDone => {
            if !record.is_view() && !same_table_definition(ctx, name, &record.sql).await? {
                // Someone else's table, or ours from before a crash and changed since:
                // make it the source's by snapshot.
                return partial_sync(
                    ctx,
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
            if !source_has_table(ctx, record.table_id).await? {
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
                    ctx,
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
    let dest_id = ctx
        .target
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
    applied(ctx, cache, progress, seq).await
}

/// Whether target table `name` has the definition `source_sql` describes (the source's
/// `SHOW CREATE TABLE` text), ignoring what replication itself changes.
async fn same_table_definition(
    ctx: &JobContext,
    name: &str,
    source_sql: &str,
) -> Result<bool, JobError> {
    let target = match ctx
        .target
        .show_create_table(&ctx.info.dest.database, name)
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

async fn source_has_table(ctx: &JobContext, table_id: i64) -> Result<bool, JobError> {
    let tables = ctx.source.tables(ctx.info.src.db_id).await?;
    Ok(tables.iter().any(|t| t.id == table_id))
}

async fn drop_table(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    record: &DropTableRecord,
    dest_id: i64,
) -> Result<Replayed, JobError> {
    if let Some(name) = cache.dest_table_name(ctx, dest_id).await? {
        let dest = &ctx.info.dest;
        let target = qualified(&dest.database, &name);
        let drop_view = format!("DROP VIEW IF EXISTS {target}");
        let client = ctx.target.as_ref();
        if record.is_view {
            client.exec(&drop_view).await?;
        } else {
            match client.exec(&format!("DROP TABLE {target} FORCE")).await {
                Ok(_) => {}
                Err(e) if e.kind() == DorisErrorKind::WrongObjectKind => {
                    client.exec(&drop_view).await?;
                }
                Err(e) if e.kind() == DorisErrorKind::ObjectMissing => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(table = %name, "replayed DROP");
    }
    progress.unmap_table(record.table_id);
    applied(ctx, cache, progress, seq).await
}

#[allow(clippy::too_many_arguments)]
async fn rename_table(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    table_id: i64,
    dest_id: i64,
    new_name: &str,
    still_replicated: bool,
) -> Result<Replayed, JobError> {
    let current = cache.dest_table_name(ctx, dest_id).await?;
    match current {
        Some(current) if current != new_name => {
            let dest = &ctx.info.dest;
            let statement = format!(
                "ALTER TABLE {} RENAME {}",
                qualified(&dest.database, &current),
                quote_ident(new_name)
            );
            ctx.target.exec(&statement).await?;
            tracing::info!(%statement, "replayed RENAME");
        }
        Some(_) => {} // Already renamed (a replay after a crash).
        None => {
            return Err(JobError::TableMismatch {
                src_table_id: table_id,
                message: format!("target table {dest_id} to rename to {new_name} is gone"),
            })
        }
    }
    if !still_replicated {
        tracing::warn!(table = %new_name, "table renamed out of the replicated set; no longer replicated");
        progress.unmap_table(table_id);
    }
    applied(ctx, cache, progress, seq).await
}

async fn replace_table(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    record: &ReplaceTableOperationLog,
    orig_dest: i64,
    new_dest: i64,
) -> Result<Replayed, JobError> {
    let orig_name = cache.dest_table_name(ctx, orig_dest).await?;
    let new_name = cache.dest_table_name(ctx, new_dest).await?;
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
            return Err(JobError::TableMismatch {
                src_table_id: record.orig_table_id,
                message: format!("target tables of REPLACE_TABLE at commit seq {seq} are gone"),
            });
        };
        let dest = &ctx.info.dest;
        let statement = format!(
            "ALTER TABLE {} REPLACE WITH TABLE {} PROPERTIES (\"swap\" = \"{}\")",
            qualified(&dest.database, &orig_name),
            quote_ident(&new_name),
            record.swap_table
        );
        ctx.target.exec(&statement).await?;
        tracing::info!(%statement, "replayed REPLACE TABLE");
    }
    if !record.swap_table {
        progress.unmap_table(record.orig_table_id);
    }
    applied(ctx, cache, progress, seq).await
}

async fn alter_view(
    ctx: &JobContext,
    cache: &mut SyncCache,
    progress: &mut Progress,
    seq: i64,
    dest_id: i64,
    view: &AlterViewInfo,
) -> Result<Replayed, JobError> {
    let Some(name) = cache.dest_table_name(ctx, dest_id).await? else {
        return Err(JobError::TableMismatch {
            src_table_id: view.table_id,
            message: format!("target view {dest_id} is gone"),
        });
    };
    let dest = &ctx.info.dest;
    let definition = ddl::retarget_view_sql(
        &view.inline_view_def,
        &ctx.info.src.database,
        &dest.database,
    );
    let target = qualified(&dest.database, &name);
    let statement = format!(
        "ALTER VIEW {target} AS {}",
        definition.trim().trim_end_matches(';')
    );
    match ctx.target.exec(&statement).await {
        Ok(_) => tracing::info!(%statement, "replayed ALTER VIEW"),
        Err(error) if !error.is_transient() => {
            // As for CREATE VIEW: the target's tables are ahead of this binlog. The view is
            // dropped and comes by snapshot as it is now on the source.
            tracing::warn!(view = %name, %error, "ALTER VIEW refused by the target; the view comes by snapshot");
            ctx.target
                .exec(&format!("DROP VIEW IF EXISTS {target}"))
                .await?;
            cache.invalidate_metadata();
            return partial_sync(
                ctx,
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
    applied(ctx, cache, progress, seq).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::sync::plan::covered;
    use crate::progress::Phase;

    #[test]
    fn the_tables_phase_ends_when_the_cursor_passes_every_cut_point() {
        let mut progress =
            Progress::new_full_sync("j", false, 1).with_phase(Phase::DbTablesIncremental {
                cut_points: BTreeMap::from([(1, 10), (2, 20)]),
            });
        progress.prev_commit_seq = 15;
        assert!(covered(&progress, 2, 18));
        assert!(!covered(&progress, 1, 18));
        assert!(
            !covered(&progress, 3, 18),
            "tables created later are never covered"
        );
        assert!(!progress.finish_tables_phase());
        progress.prev_commit_seq = 20;
        assert!(progress.finish_tables_phase());
        assert_eq!(progress.phase(), &Phase::DbIncremental);
        assert!(!covered(&progress, 2, 18));
        assert!(!progress.finish_tables_phase());
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
