//! Replaying a data binlog (UPSERT): a target transaction whose tablets ingest the source
//! rowsets straight from the source BEs.
//!
//! The transaction label is derived from the commit seq and the table ids, never random.
//! That makes the target the judge of whether a binlog was applied: after a crash the same
//! label is met again, and a committed transaction under it means "done" (no second
//! ingest), a pending one is rolled back and redone. So the progress need not be written
//! after every commit: [`super::pipeline`] writes it once per group of transactions.
//!
//! Ingests are planned from metadata cached across transactions (no getMeta per
//! binlog); what the cache lacks or gets wrong is fetched again before anything is judged.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::cache::SyncCache;
use super::plan::TablePair;
use crate::job::cluster::{IngestCall, TabletCommit, TargetCluster};
use crate::job::context::JobContext;
use crate::job::error::JobError;
use crate::metrics::JobMetrics;
use ccr_binlog::UpsertRecord;
use ccr_doris::cluster::{BeginTxn, CommitOutcome, RollbackOutcome};
use ccr_doris::meta::{BackendMeta, DbMeta, PartitionMeta, ReplicaMeta, TableMeta, TabletMeta};
use ccr_doris::rpc::RpcAddress;
use ccr_doris::DorisError;

/// How long to wait for a committed transaction to become visible before the step gives
/// up (the next step finds it committed by its label and moves on).
const PUBLISH_WAIT: Duration = Duration::from_secs(60);
/// Pause between visibility checks.
const PUBLISH_POLL: Duration = Duration::from_millis(200);

/// What one binlog's transaction writes: its ingest calls (a target replica pulling a
/// source tablet's rowset; the transaction id is filled in once it is open) and the
/// replicas its commit then lists.
#[derive(Debug, Clone, Default)]
pub(crate) struct IngestPlan {
    pub calls: Vec<IngestCall>,
    pub commits: Vec<TabletCommit>,
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

/// What one replayed UPSERT writes, and under which label. Owned, so the transaction
/// pipeline can keep it while later binlogs are planned.
pub(crate) struct UpsertPlan {
    pub commit_seq: i64,
    pub record: UpsertRecord,
    /// The tables to replay (a subset of the record's, already filtered by the caller).
    pub tables: Vec<TablePair>,
    pub label: String,
    /// Shadow index id → origin index id of schema changes running on the source.
    pub shadow_indexes: BTreeMap<i64, i64>,
    /// Source partitions whose share of the binlog the target already has (a partial
    /// snapshot of them covered it).
    pub covered_partitions: Vec<i64>,
}

impl UpsertPlan {
    pub(crate) fn dest_table_ids(&self) -> Vec<i64> {
        self.tables.iter().map(|p| p.dest_table_id).collect()
    }
}

/// Opens the transaction, or learns that an earlier attempt already committed it
/// (`None`). A pending transaction of an earlier attempt is rolled back first.
pub(crate) async fn begin(
    target: &dyn TargetCluster,
    db: &str,
    label: &str,
    dest_table_ids: Vec<i64>,
) -> Result<Option<i64>, JobError> {
    for _ in 0..2 {
        match target
            .begin_txn(db, dest_table_ids.clone(), label)
            .await
            .map_err(target_table_lost)?
        {
            BeginTxn::Started { txn_id } => return Ok(Some(txn_id)),
            BeginTxn::LabelExists { .. } => {
                let Some(existing) = target.txn_by_label(db, label).await? else {
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
                if target
                    .rollback_txn(db, existing.txn_id, "ccr retry")
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

/// Has the target BEs make `calls` into transaction `txn_id`, timed for the metrics.
pub(crate) async fn ingest(
    target: &dyn TargetCluster,
    metrics: &JobMetrics,
    mut calls: Vec<IngestCall>,
    txn_id: i64,
) -> Result<(), DorisError> {
    for call in &mut calls {
        call.txn_id = txn_id;
    }
    let started = Instant::now();
    let ingested = target.ingest(&calls).await;
    metrics
        .ingest_seconds
        .observe(started.elapsed().as_secs_f64());
    ingested
}

/// Commits an ingested transaction. On `Ok` the data is durable on the target.
pub(crate) async fn commit(
    ctx: &JobContext,
    txn_id: i64,
    commit_infos: Vec<TabletCommit>,
) -> Result<(), JobError> {
    let dest = &ctx.info.dest;
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

/// Rolls back a transaction that failed before its commit; `true` if it had committed
/// after all (the commit answer was lost), so the binlog counts as applied.
pub(crate) async fn roll_back(
    ctx: &JobContext,
    commit_seq: i64,
    txn_id: i64,
    error: &JobError,
) -> bool {
    tracing::warn!(commit_seq, txn_id, %error, "replaying the binlog failed; rolling back");
    match ctx
        .target
        .rollback_txn(
            &ctx.info.dest.database,
            txn_id,
            &format!("ccr replay failed: {error}"),
        )
        .await
    {
        Ok(RollbackOutcome::AlreadyCommitted) => true,
        Ok(RollbackOutcome::RolledBack) => false,
        // The transaction times out on the target anyway; the retry rolls it back by label.
        Err(rollback_error) => {
            tracing::warn!(txn_id, %rollback_error, "rollback failed");
            false
        }
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
    /// The cached metadata does not know something the binlog names (a partition, an
    /// index, a replica at the binlog's version): look again before judging.
    Stale(String),
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
            PlanError::Stale(message) => JobError::CheckFailed(format!(
                "binlog {commit_seq}: {message} even after refreshing the metadata"
            )),
            PlanError::Doris(e) => e.into(),
        }
    }
}

/// How far the metadata an ingest plan is made from can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freshness {
    /// Cached since earlier binlogs: what it lacks may merely be new.
    Cached,
    /// Fetched for this plan: what it lacks is gone.
    Fresh,
}

/// Plans the ingest of `upsert` from the cached metadata of both clusters, looking at
/// the clusters again only if the cache lacks something (a new partition, a missing
/// tablet, a mismatch). In a steady stream of loads this makes no metadata call at all.
pub(crate) async fn plan_ingest(
    ctx: &JobContext,
    cache: &mut SyncCache,
    upsert: &UpsertPlan,
) -> Result<IngestPlan, JobError> {
    match plan_from_cache(ctx, cache, upsert, Freshness::Cached).await {
        Ok(plan) => Ok(plan),
        Err(PlanError::Doris(e)) => Err(e.into()),
        Err(PlanError::Meta { message, .. } | PlanError::Stale(message)) => {
            tracing::debug!(commit_seq = upsert.commit_seq, %message, "cached metadata is stale; refreshing it");
            plan_fresh(ctx, cache, upsert).await
        }
    }
}

/// Plans the ingest of `upsert` from metadata fetched now (after a failed ingest, or when
/// the cache was found stale).
pub(crate) async fn plan_fresh(
    ctx: &JobContext,
    cache: &mut SyncCache,
    upsert: &UpsertPlan,
) -> Result<IngestPlan, JobError> {
    cache.invalidate_metadata();
    cache.invalidate_backends();
    plan_from_cache(ctx, cache, upsert, Freshness::Fresh)
        .await
        .map_err(|e| e.into_job_error(upsert.commit_seq))
}

async fn backends(
    list: impl std::future::Future<Output = Result<Vec<BackendMeta>, DorisError>>,
    cached: &mut Option<HashMap<i64, BackendMeta>>,
) -> Result<(), DorisError> {
    if cached.is_none() {
        *cached = Some(list.await?.into_iter().map(|be| (be.id, be)).collect());
    }
    Ok(())
}

/// The tables of `ids` that `cached` knows nothing of.
fn uncovered(cached: &Option<DbMeta>, ids: &[i64]) -> Vec<i64> {
    ids.iter()
        .copied()
        .filter(|id| {
            !cached.as_ref().is_some_and(|meta| {
                meta.tables.contains_key(id) || meta.dropped_tables.contains(id)
            })
        })
        .collect()
}

/// Adds a getMeta answer for more tables to the cached tree.
fn merge(cached: &mut Option<DbMeta>, fetched: DbMeta) {
    match cached {
        Some(meta) => {
            meta.tables.extend(fetched.tables);
            meta.dropped_tables.extend(fetched.dropped_tables);
            meta.dropped_partitions.extend(fetched.dropped_partitions);
            meta.dropped_indexes.extend(fetched.dropped_indexes);
        }
        None => *cached = Some(fetched),
    }
}

/// Pairs every target replica of every written tablet with a source replica that has (or,
/// from a cached tree, presumably has) the binlog's version.
async fn plan_from_cache(
    ctx: &JobContext,
    cache: &mut SyncCache,
    upsert: &UpsertPlan,
    freshness: Freshness,
) -> Result<IngestPlan, PlanError> {
    let src = &ctx.info.src;
    let src_ids: Vec<i64> = upsert.tables.iter().map(|p| p.src_table_id).collect();
    let dest_ids = upsert.dest_table_ids();
    let missing = uncovered(&cache.src_meta, &src_ids);
    if !missing.is_empty() {
        let fetched = ctx.source.table_meta(src.db_id, &missing).await?;
        merge(&mut cache.src_meta, fetched);
    }
    let missing = uncovered(&cache.dest_meta, &dest_ids);
    if !missing.is_empty() {
        let fetched = ctx.target.table_meta(ctx.info.dest.db_id, &missing).await?;
        merge(&mut cache.dest_meta, fetched);
    }
    backends(ctx.source.backends(), &mut cache.src_backends).await?;
    backends(ctx.target.backends(), &mut cache.dest_backends).await?;
    // Target BEs download from these: they get the source's host mapping as it is now
    // (the cache keeps the advertised hosts, so a mapping change applies at once).
    let src_backends: HashMap<i64, BackendMeta> = cache
        .src_backends
        .iter()
        .flatten()
        .map(|(id, backend)| {
            let mut backend = backend.clone();
            backend.host = ctx.source.download_host(&backend.host);
            (*id, backend)
        })
        .collect();
    let meta = Metadata {
        src: cache.src_meta.as_ref().expect("filled above"),
        dest: cache.dest_meta.as_ref().expect("filled above"),
        src_backends: &src_backends,
        dest_backends: cache.dest_backends.as_ref().expect("filled above"),
        freshness,
    };
    meta.plan(upsert)
}

struct IndexPair<'a> {
    src_table_id: i64,
    src_table: &'a TableMeta,
    dest_table: &'a TableMeta,
    src_partition: &'a PartitionMeta,
    dest_partition: &'a PartitionMeta,
    index_id: i64,
}

/// The metadata one ingest plan is made from.
struct Metadata<'m> {
    src: &'m DbMeta,
    dest: &'m DbMeta,
    src_backends: &'m HashMap<i64, BackendMeta>,
    dest_backends: &'m HashMap<i64, BackendMeta>,
    freshness: Freshness,
}

impl Metadata<'_> {
    /// What the source tree lacks: stale if cached (look again), gone if fresh.
    fn lacks(&self, what: impl FnOnce() -> String) -> Result<(), PlanError> {
        match self.freshness {
            Freshness::Cached => Err(PlanError::Stale(what())),
            Freshness::Fresh => Ok(()),
        }
    }

    fn plan(&self, upsert: &UpsertPlan) -> Result<IngestPlan, PlanError> {
        let (src_meta, dest_meta) = (self.src, self.dest);
        let mut plan = IngestPlan::default();
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
                    // New since the cache was filled, or dropped on the source since: then
                    // its later DROP_PARTITION binlog removes it on the target too, and its
                    // rowsets can no longer be read.
                    self.lacks(|| format!("source partition {}", partition_record.partition_id))?;
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
                    self.plan_index(
                        IndexPair {
                            src_table_id: pair.src_table_id,
                            src_table,
                            dest_table,
                            src_partition,
                            dest_partition,
                            index_id: *index_id,
                        },
                        partition_record.version,
                        &mut round_robin,
                        &mut plan,
                    )?;
                }
            }
        }
        Ok(plan)
    }

    fn plan_index(
        &self,
        pair: IndexPair<'_>,
        version: i64,
        round_robin: &mut usize,
        plan: &mut IngestPlan,
    ) -> Result<(), PlanError> {
        let mismatch = |message: String| PlanError::Meta {
            table: pair.src_table_id,
            message,
        };
        let Some(src_index) = pair.src_partition.index(pair.index_id) else {
            // A rollup added since the cache was filled is merely new.
            self.lacks(|| format!("source index {}", pair.index_id))?;
            return Err(mismatch(format!(
                "source index {} not in partition {}",
                pair.index_id, pair.src_partition.name
            )));
        };
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
            let sources = self.source_replicas(src_tablet, version);
            if sources.is_empty() {
                self.lacks(|| {
                    format!(
                        "a source replica of tablet {} at version {version}",
                        src_tablet.id
                    )
                })?;
                return Err(mismatch(format!(
                    "no source replica of tablet {} has version {version}",
                    src_tablet.id
                )));
            }
            for replica in &dest_tablet.replicas {
                let Some(target_backend) = self.dest_backends.get(&replica.backend_id) else {
                    self.lacks(|| format!("target backend {}", replica.backend_id))?;
                    return Err(mismatch(format!(
                        "target backend {} unknown",
                        replica.backend_id
                    )));
                };
                let source = sources[*round_robin % sources.len()];
                *round_robin += 1;
                plan.calls.push(IngestCall {
                    backend: RpcAddress::new(target_backend.host.clone(), target_backend.be_port),
                    // Filled in once the transaction is open.
                    txn_id: 0,
                    source_tablet: src_tablet.id,
                    binlog_version: version,
                    source_host: source.host.clone(),
                    source_http_port: source.http_port,
                    target_partition: pair.dest_partition.id,
                    target_tablet: dest_tablet.id,
                });
                plan.commits.push(TabletCommit {
                    tablet_id: dest_tablet.id,
                    backend_id: target_backend.id,
                });
            }
        }
        Ok(())
    }

    /// The source replicas to download version `version` of `tablet` from. A fresh tree
    /// says exactly which have it. A cached one is older than the binlog, so no replica
    /// shows its version yet: those that were current when it was read (at the tablet's
    /// highest version then) are presumed to have kept up; an ingest from one that did not
    /// fails and is planned again from a fresh tree.
    fn source_replicas(&self, tablet: &TabletMeta, version: i64) -> Vec<&BackendMeta> {
        let known = |r: &&ReplicaMeta| self.src_backends.contains_key(&r.backend_id);
        let current_then = match self.freshness {
            Freshness::Fresh => version,
            Freshness::Cached => tablet
                .replicas
                .iter()
                .filter(known)
                .map(|r| r.version)
                .max()
                .unwrap_or(version)
                .min(version),
        };
        tablet
            .replicas
            .iter()
            .filter(|r| r.version >= current_then)
            .filter_map(|r| self.src_backends.get(&r.backend_id))
            .collect()
    }
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
