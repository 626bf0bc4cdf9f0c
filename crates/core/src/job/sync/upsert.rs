//! Replaying a data binlog (UPSERT): a target transaction whose tablets ingest the source
//! rowsets straight from the source BEs.
//!
//! The transaction label is derived from the commit seq and the table ids, never random.
//! That makes the target the judge of whether a binlog was applied: after a crash the same
//! label is met again, and a committed transaction under it means "done" (no second
//! ingest), a pending one is rolled back and redone. So the only durable write per binlog is
//! the progress after the commit.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::cache::SyncCache;
use super::plan::TablePair;
use crate::job::cluster::{IngestCall, TabletCommit, TargetCluster};
use crate::job::context::JobContext;
use crate::job::error::JobError;
use ccr_binlog::UpsertRecord;
use ccr_doris::cluster::{BeginTxn, CommitOutcome, RollbackOutcome};
use ccr_doris::meta::{BackendMeta, DbMeta, PartitionMeta, TableMeta};
use ccr_doris::rpc::RpcAddress;
use ccr_doris::DorisError;

/// How long to wait for a committed transaction to become visible before the step gives
/// up (the next step finds it committed by its label and moves on).
const PUBLISH_WAIT: Duration = Duration::from_secs(60);
/// Pause between visibility checks.
const PUBLISH_POLL: Duration = Duration::from_millis(200);

/// One ingest call (a target replica pulling a source tablet's rowset) and the replica
/// the commit then lists.
#[derive(Debug, Clone)]
struct IngestTask {
    call: IngestCall,
    commit: TabletCommit,
}

/// The label of the transaction that applies binlog `commit_seq` of a table job.
pub(crate) fn table_txn_label(
    src_db: i64,
    src_table: i64,
    dest_db: i64,
    dest_table: i64,
    commit_seq: i64,
) -> String {
    format!("ccrj-table_sync:{src_db}_{src_table}:{dest_db}_{dest_table}:{commit_seq}")
}

/// The label of the transaction that applies binlog `commit_seq` of a database job (one
/// transaction covers every target table the binlog writes).
pub(crate) fn db_txn_label(src_db: i64, dest_db: i64, commit_seq: i64) -> String {
    format!("ccrj-db_sync:{src_db}:{dest_db}:{commit_seq}")
}

/// What one replayed UPSERT writes, and under which label.
pub(crate) struct UpsertPlan<'a> {
    pub commit_seq: i64,
    pub record: &'a UpsertRecord,
    /// The tables to replay (a subset of the record's, already filtered by the caller).
    pub tables: Vec<TablePair>,
    pub label: String,
    /// Shadow index id → origin index id of schema changes running on the source.
    pub shadow_indexes: &'a BTreeMap<i64, i64>,
    /// Source partitions whose share of the binlog the target already has (a partial
    /// snapshot of them covered it).
    pub covered_partitions: Vec<i64>,
}

/// Applies one UPSERT to the target tables of `plan` in one target transaction. On `Ok`
/// the data is committed on the target (now or by an earlier attempt).
pub(crate) async fn apply(
    ctx: &JobContext,
    cache: &mut SyncCache,
    plan: &UpsertPlan<'_>,
) -> Result<(), JobError> {
    let dest = &ctx.info.dest;
    let commit_seq = plan.commit_seq;
    if plan.tables.is_empty() {
        return Ok(());
    }
    let label = plan.label.as_str();
    let dest_ids: Vec<i64> = plan.tables.iter().map(|p| p.dest_table_id).collect();
    let Some(txn_id) = begin(ctx, label, dest_ids).await? else {
        tracing::info!(commit_seq, %label, "binlog was already applied before a restart");
        return Ok(());
    };
    let result = ingest_and_commit(ctx, cache, plan, txn_id).await;
    if let Err(error) = &result {
        tracing::warn!(commit_seq, txn_id, %error, "replaying the binlog failed; rolling back");
        match ctx
            .target
            .rollback_txn(
                &dest.database,
                txn_id,
                &format!("ccr replay failed: {error}"),
            )
            .await
        {
            Ok(RollbackOutcome::AlreadyCommitted) => return Ok(()),
            Ok(RollbackOutcome::RolledBack) => {}
            // The transaction times out on the target anyway; the retry rolls it back by label.
            Err(rollback_error) => tracing::warn!(txn_id, %rollback_error, "rollback failed"),
        }
    }
    result
}

/// Opens the transaction, or learns that an earlier attempt already committed it
/// (`None`). A pending transaction of an earlier attempt is rolled back first.
async fn begin(
    ctx: &JobContext,
    label: &str,
    dest_table_ids: Vec<i64>,
) -> Result<Option<i64>, JobError> {
    let dest = &ctx.info.dest;
    for _ in 0..2 {
        match ctx
            .target
            .begin_txn(&dest.database, dest_table_ids.clone(), label)
            .await
            .map_err(target_table_lost)?
        {
            BeginTxn::Started { txn_id } => return Ok(Some(txn_id)),
            BeginTxn::LabelExists { .. } => {
                let Some(existing) = ctx.target.txn_by_label(&dest.database, label).await? else {
                    return Err(JobError::CheckFailed(format!(
                        "label {label} is taken but no transaction holds it"
                    )));
                };
                if existing.is_committed() {
                    return Ok(None);
                }
                tracing::info!(
                    txn_id = existing.txn_id,
                    label,
                    "rolling back the pending transaction of an earlier attempt"
                );
                if ctx
                    .target
                    .rollback_txn(&dest.database, existing.txn_id, "ccr retry")
                    .await?
                    == RollbackOutcome::AlreadyCommitted
                {
                    return Ok(None);
                }
            }
        }
    }
    Err(JobError::CheckFailed(format!(
        "label {label} stays taken after rolling back its transaction"
    )))
}

/// A target table that vanished is a metadata mismatch (a new snapshot recreates it).
fn target_table_lost(error: DorisError) -> JobError {
    match error.kind() {
        ccr_doris::DorisErrorKind::ObjectMissing => {
            JobError::MetaMismatch(format!("the target table is gone: {error}"))
        }
        _ => error.into(),
    }
}

async fn ingest_and_commit(
    ctx: &JobContext,
    cache: &mut SyncCache,
    upsert: &UpsertPlan<'_>,
    txn_id: i64,
) -> Result<(), JobError> {
    let commit_seq = upsert.commit_seq;
    let plan = match plan_ingest(ctx, cache, upsert, txn_id).await {
        Ok(plan) => plan,
        Err(PlanError::Meta { message, .. }) => {
            // The cached target tree may be stale: one fresh look before giving up.
            tracing::debug!(%message, "metadata mismatch; refreshing the target's metadata");
            cache.invalidate_target();
            plan_ingest(ctx, cache, upsert, txn_id)
                .await
                .map_err(|e| e.into_job_error(commit_seq))?
        }
        Err(e) => return Err(e.into_job_error(commit_seq)),
    };
    let dest = &ctx.info.dest;
    let calls: Vec<IngestCall> = plan.iter().map(|task| task.call.clone()).collect();
    let started = Instant::now();
    let ingested = ctx.target.ingest(&calls).await;
    ctx.metrics
        .ingest_seconds
        .observe(started.elapsed().as_secs_f64());
    ingested?;
    let commit_infos = plan.iter().map(|task| task.commit).collect();
    let started = Instant::now();
    let committed = ctx
        .target
        .commit_txn(&dest.database, txn_id, commit_infos)
        .await;
    ctx.metrics
        .commit_seconds
        .observe(started.elapsed().as_secs_f64());
    match committed {
        Ok(CommitOutcome::Visible) => Ok(()),
        Ok(CommitOutcome::CommittedNotVisible) => {
            wait_visible(ctx.target.as_ref(), &dest.database, txn_id).await
        }
        Err(error) if error.is_transient() => {
            // The commit may have happened; the target knows.
            match ctx.target.txn_by_id(&dest.database, txn_id).await? {
                Some(state) if state.is_committed() => Ok(()),
                _ => Err(error.into()),
            }
        }
        Err(error) => Err(error.into()),
    }
}

async fn wait_visible(dest: &dyn TargetCluster, db: &str, txn_id: i64) -> Result<(), JobError> {
    let deadline = Instant::now() + PUBLISH_WAIT;
    loop {
        if let Some(state) = dest.txn_by_id(db, txn_id).await? {
            if state.status == "VISIBLE" {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            // Committed is durable; visibility follows. The data is in, so do not fail.
            tracing::warn!(
                txn_id,
                "transaction committed but not yet visible after {PUBLISH_WAIT:?}"
            );
            return Ok(());
        }
        tokio::time::sleep(PUBLISH_POLL).await;
    }
}

/// Why no ingest plan could be made.
enum PlanError {
    /// Source and target metadata of source table `table` do not match (partition, index
    /// or tablet missing, tablet counts differ): only a new snapshot of it can fix that.
    Meta {
        table: i64,
        message: String,
    },
    Doris(DorisError),
}

impl From<DorisError> for PlanError {
    fn from(e: DorisError) -> Self {
        PlanError::Doris(e)
    }
}

impl PlanError {
    fn into_job_error(self, commit_seq: i64) -> JobError {
        match self {
            PlanError::Meta { table, message } => JobError::TableMismatch {
                src_table_id: table,
                message: format!("binlog {commit_seq}: {message}"),
            },
            PlanError::Doris(e) => e.into(),
        }
    }
}

async fn backends(
    list: impl std::future::Future<Output = Result<Vec<BackendMeta>, DorisError>>,
    cached: &mut Option<HashMap<i64, BackendMeta>>,
) -> Result<HashMap<i64, BackendMeta>, DorisError> {
    if let Some(map) = cached {
        return Ok(map.clone());
    }
    let map: HashMap<i64, BackendMeta> = list.await?.into_iter().map(|be| (be.id, be)).collect();
    *cached = Some(map.clone());
    Ok(map)
}

/// Target metadata covering every table of `ids`: the cached tree if it has them all,
/// else the cache extended with a fresh getMeta of the missing ones.
async fn dest_meta<'c>(
    ctx: &JobContext,
    cache: &'c mut SyncCache,
    ids: &[i64],
) -> Result<&'c DbMeta, DorisError> {
    let missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| {
            !cache
                .dest_meta
                .as_ref()
                .is_some_and(|meta| meta.tables.contains_key(id))
        })
        .collect();
    if !missing.is_empty() {
        let fetched = ctx.target.table_meta(ctx.info.dest.db_id, &missing).await?;
        match &mut cache.dest_meta {
            Some(meta) => meta.tables.extend(fetched.tables),
            None => cache.dest_meta = Some(fetched),
        }
    }
    Ok(cache.dest_meta.as_ref().expect("filled above"))
}

/// Pairs every target replica of every written tablet with a source replica that has the
/// binlog's version.
async fn plan_ingest(
    ctx: &JobContext,
    cache: &mut SyncCache,
    upsert: &UpsertPlan<'_>,
    txn_id: i64,
) -> Result<Vec<IngestTask>, PlanError> {
    let src = &ctx.info.src;
    let src_ids: Vec<i64> = upsert.tables.iter().map(|p| p.src_table_id).collect();
    let dest_ids: Vec<i64> = upsert.tables.iter().map(|p| p.dest_table_id).collect();
    let src_meta = ctx.source.table_meta(src.db_id, &src_ids).await?;
    let mut src_backends = backends(ctx.source.backends(), &mut cache.src_backends).await?;
    // Target BEs download from these: they get the source's host mapping as it is now
    // (the cache keeps the advertised hosts, so a mapping change applies at once).
    for backend in src_backends.values_mut() {
        backend.host = ctx.source.download_host(&backend.host);
    }
    let dest_backends = backends(ctx.target.backends(), &mut cache.dest_backends).await?;
    let dest_meta: &DbMeta = dest_meta(ctx, cache, &dest_ids).await?;
    let mut plan = Vec::new();
    let mut round_robin = 0usize;
    for pair in &upsert.tables {
        let Some(src_table) = src_meta
            .tables
            .get(&pair.src_table_id)
            .filter(|_| !src_meta.dropped_tables.contains(&pair.src_table_id))
        else {
            // Dropped on the source since: its rowsets can no longer be read, and its
            // DROP_TABLE binlog (later in the stream) removes the target table too.
            tracing::warn!(
                commit_seq = upsert.commit_seq,
                src_table_id = pair.src_table_id,
                "source table no longer exists; its share of the binlog is skipped"
            );
            continue;
        };
        let mismatch = |message: String| PlanError::Meta {
            table: pair.src_table_id,
            message,
        };
        let dest_table = dest_meta.tables.get(&pair.dest_table_id).ok_or_else(|| {
            mismatch(format!(
                "target table {} not in getMeta",
                pair.dest_table_id
            ))
        })?;
        let Some(table_record) = upsert.record.table_records.get(&pair.src_table_id) else {
            continue;
        };
        for partition_record in &table_record.partition_records {
            if partition_record.is_temp_partition
                || upsert
                    .covered_partitions
                    .contains(&partition_record.partition_id)
                || src_meta
                    .dropped_partitions
                    .contains(&partition_record.partition_id)
            {
                continue;
            }
            let Some(src_partition) = src_table.partition(partition_record.partition_id) else {
                // Dropped on the source since: its later DROP_PARTITION binlog removes it on
                // the target too, and its rowsets can no longer be read.
                continue;
            };
            let dest_partition = dest_table
                .partition_by_range(&src_partition.range)
                .ok_or_else(|| {
                    mismatch(format!(
                        "no partition with range {:?} in target table {}",
                        src_partition.range, dest_table.name
                    ))
                })?;
            for index_id in &table_record.index_ids {
                if upsert.shadow_indexes.contains_key(index_id)
                    || src_meta.dropped_indexes.contains(index_id)
                {
                    continue;
                }
                plan_index(
                    IndexPair {
                        src_table_id: pair.src_table_id,
                        src_table,
                        dest_table,
                        src_partition,
                        dest_partition,
                        index_id: *index_id,
                    },
                    partition_record.version,
                    txn_id,
                    (&src_backends, &dest_backends),
                    &mut round_robin,
                    &mut plan,
                )?;
            }
        }
    }
    Ok(plan)
}

struct IndexPair<'a> {
    src_table_id: i64,
    src_table: &'a TableMeta,
    dest_table: &'a TableMeta,
    src_partition: &'a PartitionMeta,
    dest_partition: &'a PartitionMeta,
    index_id: i64,
}

fn plan_index(
    pair: IndexPair<'_>,
    version: i64,
    txn_id: i64,
    (src_backends, dest_backends): (&HashMap<i64, BackendMeta>, &HashMap<i64, BackendMeta>),
    round_robin: &mut usize,
    plan: &mut Vec<IngestTask>,
) -> Result<(), PlanError> {
    let mismatch = |message: String| PlanError::Meta {
        table: pair.src_table_id,
        message,
    };
    let src_index = pair.src_partition.index(pair.index_id).ok_or_else(|| {
        mismatch(format!(
            "source index {} not in partition {}",
            pair.index_id, pair.src_partition.name
        ))
    })?;
    // The base index carries the table's name, which may differ between the clusters.
    let dest_index_name = if src_index.name == pair.src_table.name {
        pair.dest_table.name.as_str()
    } else {
        src_index.name.as_str()
    };
    let dest_index = pair
        .dest_partition
        .index_by_name(dest_index_name)
        .ok_or_else(|| mismatch(format!("no target index {dest_index_name:?}")))?;
    let src_tablets = src_index.tablets_in_bucket_order();
    let dest_tablets = dest_index.tablets_in_bucket_order();
    if src_tablets.len() != dest_tablets.len() {
        return Err(mismatch(format!(
            "index {dest_index_name:?}: {} source tablets but {} target tablets",
            src_tablets.len(),
            dest_tablets.len()
        )));
    }
    for (src_tablet, dest_tablet) in src_tablets.iter().zip(&dest_tablets) {
        let sources: Vec<&BackendMeta> = src_tablet
            .replicas
            .iter()
            .filter(|r| r.version >= version)
            .filter_map(|r| src_backends.get(&r.backend_id))
            .collect();
        if sources.is_empty() {
            return Err(mismatch(format!(
                "no source replica of tablet {} has version {version}",
                src_tablet.id
            )));
        }
        for replica in &dest_tablet.replicas {
            let target_backend = dest_backends
                .get(&replica.backend_id)
                .ok_or_else(|| mismatch(format!("target backend {} unknown", replica.backend_id)))?
                .clone();
            let source = sources[*round_robin % sources.len()];
            *round_robin += 1;
            plan.push(IngestTask {
                call: IngestCall {
                    backend: RpcAddress::new(target_backend.host.clone(), target_backend.be_port),
                    txn_id,
                    source_tablet: src_tablet.id,
                    binlog_version: version,
                    source_host: source.host.clone(),
                    source_http_port: source.http_port,
                    target_partition: pair.dest_partition.id,
                    target_tablet: dest_tablet.id,
                },
                commit: TabletCommit {
                    tablet_id: dest_tablet.id,
                    backend_id: target_backend.id,
                },
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_deterministic_per_binlog_and_tables() {
        assert_eq!(
            table_txn_label(1, 2, 3, 4, 99),
            "ccrj-table_sync:1_2:3_4:99"
        );
        assert_ne!(
            table_txn_label(1, 2, 3, 4, 99),
            table_txn_label(1, 2, 3, 5, 99)
        );
    }
}
