//! The replay planner: what one binlog does, decided without any I/O.
//!
//! Given a binlog and what the job knows (its table mapping, what each table's last
//! snapshot already covered, running schema changes, the include/exclude lists), a planner
//! returns a [`Plan`]; the executors in [`super::incremental`] and [`super::db`] carry it
//! out against the clusters. There is one planner per job kind, each one exhaustive match
//! over the record types with no catch-all arm, so a new record type is a compile error
//! here rather than a silent skip somewhere.
//!
//! What the target may hold after a snapshot: a database job's `table_commit_seq_map`
//! says, per source table, the commit seq its last snapshot contains; every binlog of that
//! table at or below it is already on the target and is skipped. A partial snapshot of
//! some partitions says the same per partition (`partition_commit_seq_map`), for data
//! only. Anything else the target holds is exactly what the binlogs before the cursor made.

use crate::job::error::JobError;
use crate::job::spec::JobInfo;
use crate::progress::Progress;
use ccr_binlog::{Binlog, BinlogRecord, UpsertRecord};

/// A source table of an UPSERT and the target table its data goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TablePair {
    pub src_table_id: i64,
    pub dest_table_id: i64,
}

/// What to do with one binlog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Apply the binlog's data for these tables in one target transaction.
    Transaction { tables: Vec<TablePair> },
    /// Replay the record's DDL by SQL on the target table `dest_table_id`.
    TableDdl { dest_table_id: i64 },
    /// Database job: create the table or view on the target by SQL.
    CreateObject,
    /// Database job: drop target table or view `dest_table_id`.
    DropObject { dest_table_id: i64 },
    /// Database job: rename target object `dest_table_id`; `still_replicated` false when
    /// the new name leaves the job's table lists.
    RenameObject {
        dest_table_id: i64,
        new_name: String,
        still_replicated: bool,
    },
    /// Database job: an unreplicated table got a replicated name; it comes by snapshot if
    /// the source still has it.
    AdoptRenamed { table_id: i64 },
    /// Database job: replay REPLACE WITH TABLE between two mapped tables.
    ReplaceTable { orig_dest: i64, new_dest: i64 },
    /// Database job: replace view `dest_table_id`'s definition.
    AlterView { dest_table_id: i64 },
    /// A schema change is running on the source: remember (or forget) its shadow indexes.
    TrackAlterJob,
    /// Copy source table `table_id` (a table job: its table) by snapshot: `partitions`
    /// only, or the whole table when empty. `unmap` first forgets the table's mapping.
    PartialSync {
        table_id: i64,
        partitions: Vec<String>,
        reason: String,
        unmap: Option<i64>,
    },
    /// Start a new full sync of the job.
    FullSync { reason: String },
    /// Nothing to do on the target.
    Skip(Skip),
    /// The job cannot replay this binlog; the failure policy decides (skip_error, or an
    /// operator).
    Fail(FailReason),
}

/// Why a binlog is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Nothing to replay (covered by a snapshot, not replicated, a marker record).
    Silently(&'static str),
    /// Not replayed on purpose; recorded in `skipped_binlogs` so no difference is silent.
    Noted(&'static str),
}

/// Why a binlog cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FailReason {
    /// What the job replicates is gone from the source.
    SourceGone(String),
    /// This job kind cannot replay the record.
    Unsupported(String),
    /// The record lacks what replaying it needs.
    Invalid(String),
}

impl FailReason {
    pub fn into_error(self) -> JobError {
        match self {
            FailReason::SourceGone(m) => JobError::SourceGone(m),
            FailReason::Unsupported(m) => JobError::Unsupported(m),
            FailReason::Invalid(m) => JobError::CheckFailed(m),
        }
    }
}

/// The executor met a plan its record cannot carry out: a planner bug, reported as a
/// failed step (never a panic, which would end the job's task silently).
pub(crate) fn plan_mismatch(binlog: &Binlog, expected: &str) -> JobError {
    JobError::CheckFailed(format!(
        "internal error at commit seq {}: {expected}, got {}",
        binlog.commit_seq,
        binlog.record.binlog_type()
    ))
}

/// What a table job knows when it plans.
pub(crate) struct TableJob<'a> {
    pub info: &'a JobInfo,
    pub progress: &'a Progress,
    pub schema_change_partial_sync: bool,
}

/// Plans one binlog of a table job.
pub(crate) fn plan_table_binlog(job: &TableJob<'_>, binlog: &Binlog) -> Plan {
    let seq = binlog.commit_seq;
    let src = &job.info.src;
    let ddl = || Plan::TableDdl {
        dest_table_id: job.progress.dest_table_id,
    };
    let whole_table = |reason: &str| Plan::PartialSync {
        table_id: src.table_id,
        partitions: Vec::new(),
        reason: reason.to_owned(),
        unmap: None,
    };
    match &binlog.record {
        BinlogRecord::Upsert(record) => {
            if record.partitions_of(src.table_id).is_empty() {
                Plan::Skip(Skip::Silently("the load wrote no partition of the table"))
            } else {
                Plan::Transaction {
                    tables: vec![TablePair {
                        src_table_id: src.table_id,
                        dest_table_id: job.progress.dest_table_id,
                    }],
                }
            }
        }
        BinlogRecord::Dummy => Plan::FullSync {
            reason: "the source reported a DUMMY binlog".into(),
        },
        BinlogRecord::AlterJob(alter) if alter.is_finished() => {
            if alter.is_schema_change() && job.schema_change_partial_sync {
                whole_table("a schema change finished on the source")
            } else {
                Plan::FullSync {
                    reason: "a rollup or schema change finished on the source".into(),
                }
            }
        }
        BinlogRecord::AlterJob(_) => Plan::TrackAlterJob,
        BinlogRecord::ReplacePartitions(record) => {
            // Without a strict range, or with the temporary names kept, the partitions
            // differ from the target's: a snapshot of the whole table reproduces them.
            let partitions = if record.allows_partial_sync() {
                record.partitions.clone()
            } else {
                Vec::new()
            };
            Plan::PartialSync {
                table_id: src.table_id,
                partitions,
                reason: "partitions were replaced".into(),
                unmap: None,
            }
        }
        BinlogRecord::ReplaceTable(_) => Plan::FullSync {
            reason: "the source table was replaced".into(),
        },
        BinlogRecord::DropTable(_) => Plan::Fail(FailReason::SourceGone(format!(
            "source table {}.{} was dropped (commit seq {seq}); the job cannot continue",
            src.database, src.table
        ))),
        BinlogRecord::Barrier(_) | BinlogRecord::AlterDatabaseProperty(_) => {
            Plan::Skip(Skip::Silently("a marker record"))
        }
        // Partition storage properties (medium, cooldown, replicas) describe the source
        // cluster; the target keeps its own.
        BinlogRecord::ModifyPartitions(_) => Plan::Skip(Skip::Noted(
            "MODIFY_PARTITIONS (storage properties are not replicated)",
        )),
        // Binlogs follow the table by id, so replication goes on; the target keeps its name.
        BinlogRecord::RenameTable(_) => Plan::Skip(Skip::Silently(
            "the source table was renamed; the target keeps its name",
        )),
        BinlogRecord::AddPartition(_)
        | BinlogRecord::DropPartition(_)
        | BinlogRecord::TruncateTable(_)
        | BinlogRecord::ModifyTableAddOrDropColumns(_)
        | BinlogRecord::RenameColumn(_)
        | BinlogRecord::ModifyComment(_)
        | BinlogRecord::RenamePartition(_)
        | BinlogRecord::RenameRollup(_)
        | BinlogRecord::DropRollup(_)
        | BinlogRecord::ModifyTableProperty(_) => ddl(),
        // Index and distribution definitions travel with a snapshot of the table.
        BinlogRecord::ModifyTableAddOrDropInvertedIndices(_)
        | BinlogRecord::IndexChangeJob(_)
        | BinlogRecord::ModifyDistributionBucketNum(_)
        | BinlogRecord::ModifyDistributionType(_) => {
            whole_table("an index or distribution change is replicated by a snapshot")
        }
        BinlogRecord::CreateTable(_)
        | BinlogRecord::ModifyViewDef(_)
        | BinlogRecord::RecoverInfo(_)
        | BinlogRecord::Unknown { .. } => Plan::Fail(FailReason::Unsupported(format!(
            "binlog type {} (commit seq {seq}) cannot be replayed by a table job; \
             set skip_error to skip it, or force a full sync",
            binlog.record.binlog_type()
        ))),
    }
}

/// What a database job knows when it plans.
pub(crate) struct DbJob<'a> {
    pub info: &'a JobInfo,
    pub progress: &'a Progress,
    pub schema_change_partial_sync: bool,
}

impl DbJob<'_> {
    /// Whether the snapshot the job was restored from already holds binlog `seq` of
    /// `table_id`.
    pub fn covered(&self, table_id: i64, seq: i64) -> bool {
        covered(self.progress, table_id, seq)
    }

    pub fn mapped(&self, table_id: i64) -> Option<i64> {
        mapped(self.progress, table_id)
    }

    fn upsert_tables(&self, record: &UpsertRecord, seq: i64) -> Vec<TablePair> {
        record
            .table_ids()
            .into_iter()
            .filter(|id| !self.covered(*id, seq))
            .filter_map(|id| {
                self.mapped(id).map(|dest| TablePair {
                    src_table_id: id,
                    dest_table_id: dest,
                })
            })
            .collect()
    }
}

pub(crate) fn covered(progress: &Progress, table_id: i64, seq: i64) -> bool {
    progress
        .phase()
        .cut_points()
        .is_some_and(|map| ccr_binlog::covered_by_snapshot(map, table_id, seq))
}

pub(crate) fn mapped(progress: &Progress, table_id: i64) -> Option<i64> {
    progress
        .table_mapping
        .as_ref()
        .and_then(|mapping| mapping.get(&table_id))
        .copied()
}

/// Plans one binlog of a database job.
pub(crate) fn plan_db_binlog(job: &DbJob<'_>, binlog: &Binlog) -> Plan {
    let seq = binlog.commit_seq;
    let record = &binlog.record;
    let snapshot_of = |table_id: i64, reason: &str| Plan::PartialSync {
        table_id,
        partitions: Vec::new(),
        reason: reason.to_owned(),
        unmap: None,
    };
    // Records about one table that the job does not replicate, or whose effect its last
    // snapshot already holds, need nothing (a few exceptions are planned below).
    let table = record.table_id();
    let covered = table.is_some_and(|id| job.covered(id, seq));
    let dest = table.and_then(|id| job.mapped(id));
    match record {
        BinlogRecord::Upsert(upsert) => {
            let tables = job.upsert_tables(upsert, seq);
            if tables.is_empty() {
                Plan::Skip(Skip::Silently("no replicated table is written"))
            } else {
                Plan::Transaction { tables }
            }
        }
        BinlogRecord::Dummy => Plan::FullSync {
            reason: "the source reported a DUMMY binlog".into(),
        },
        BinlogRecord::CreateTable(create) => {
            if !job.info.replicates_table(&create.table_name) {
                Plan::Skip(Skip::Silently("excluded by the job's table lists"))
            } else if dest.is_some() || covered {
                Plan::Skip(Skip::Silently("the table is on the target already"))
            } else if create.sql.trim().is_empty() || create.table_name.is_empty() {
                // Doris could not render the DDL: the table comes over by snapshot instead.
                snapshot_of(create.table_id, "CREATE_TABLE without SQL")
            } else {
                Plan::CreateObject
            }
        }
        BinlogRecord::DropTable(_) => match dest {
            Some(dest_table_id) => Plan::DropObject { dest_table_id },
            None => Plan::Skip(Skip::Silently("not replicated")),
        },
        BinlogRecord::RenameTable(info) => {
            let Some(new_name) = info.new_table() else {
                return Plan::Fail(FailReason::Invalid(format!(
                    "RENAME_TABLE at commit seq {seq} carries no new name"
                )));
            };
            let included = job.info.replicates_table(new_name);
            match dest {
                // Even when the table's snapshot covers the rename: a partial snapshot is
                // restored under the target's name, so the name may still be the old one
                // (renaming is idempotent).
                Some(dest_table_id) => Plan::RenameObject {
                    dest_table_id,
                    new_name: new_name.to_owned(),
                    still_replicated: included,
                },
                None if included && !covered => Plan::AdoptRenamed {
                    table_id: info.table_id,
                },
                None => Plan::Skip(Skip::Silently("not replicated")),
            }
        }
        BinlogRecord::ReplaceTable(replace) => {
            let orig = job.mapped(replace.orig_table_id);
            let new = job.mapped(replace.new_table_id);
            match (orig, new) {
                (None, None) => Plan::Skip(Skip::Silently("neither table is replicated")),
                (Some(orig_dest), Some(new_dest)) => Plan::ReplaceTable {
                    orig_dest,
                    new_dest,
                },
                // One side is not replicated: the resulting table can only come by snapshot.
                (orig, _) => Plan::PartialSync {
                    // Not swapped: the original is gone and the replacing table carries
                    // its name; swapped: each keeps its data under the other's name.
                    table_id: if !replace.swap_table || orig.is_none() {
                        replace.new_table_id
                    } else {
                        replace.orig_table_id
                    },
                    partitions: Vec::new(),
                    reason: "a table was replaced by one the job does not replicate".into(),
                    unmap: (!replace.swap_table).then_some(replace.orig_table_id),
                },
            }
        }
        BinlogRecord::Barrier(_) => Plan::Skip(Skip::Silently("a marker record")),
        BinlogRecord::AlterDatabaseProperty(_) => Plan::Skip(Skip::Noted(
            "ALTER_DATABASE_PROPERTY (database properties are not replicated)",
        )),
        BinlogRecord::ModifyPartitions(_) => Plan::Skip(Skip::Noted(
            "MODIFY_PARTITIONS (storage properties are not replicated)",
        )),
        BinlogRecord::Unknown { type_id, .. } => Plan::Fail(FailReason::Unsupported(format!(
            "unknown binlog type {type_id} (commit seq {seq}); set skip_error to skip it, \
             or force a full sync"
        ))),
        BinlogRecord::RecoverInfo(info) if dest.is_none() && !covered => {
            let name = if info.new_table_name.is_empty() {
                &info.table_name
            } else {
                &info.new_table_name
            };
            if info.is_table_recovery() && job.info.replicates_table(name) {
                snapshot_of(info.table_id, "table recovered")
            } else {
                Plan::Skip(Skip::Silently("not replicated"))
            }
        }
        BinlogRecord::AlterJob(_)
        | BinlogRecord::ReplacePartitions(_)
        | BinlogRecord::ModifyViewDef(_)
        | BinlogRecord::ModifyTableAddOrDropInvertedIndices(_)
        | BinlogRecord::IndexChangeJob(_)
        | BinlogRecord::ModifyDistributionBucketNum(_)
        | BinlogRecord::ModifyDistributionType(_)
        | BinlogRecord::RecoverInfo(_)
        | BinlogRecord::AddPartition(_)
        | BinlogRecord::DropPartition(_)
        | BinlogRecord::TruncateTable(_)
        | BinlogRecord::ModifyTableAddOrDropColumns(_)
        | BinlogRecord::RenameColumn(_)
        | BinlogRecord::ModifyComment(_)
        | BinlogRecord::RenamePartition(_)
        | BinlogRecord::RenameRollup(_)
        | BinlogRecord::DropRollup(_)
        | BinlogRecord::ModifyTableProperty(_) => {
            let (Some(table_id), Some(dest_table_id), false) = (table, dest, covered) else {
                return Plan::Skip(Skip::Silently(
                    "not replicated, or covered by the table's snapshot",
                ));
            };
            plan_mapped_table_record(job, record, table_id, dest_table_id)
        }
    }
}

/// A table-scoped record of a mapped table the last snapshot does not cover.
fn plan_mapped_table_record(
    job: &DbJob<'_>,
    record: &BinlogRecord,
    table_id: i64,
    dest_table_id: i64,
) -> Plan {
    let snapshot_of = |reason: String| Plan::PartialSync {
        table_id,
        partitions: Vec::new(),
        reason,
        unmap: None,
    };
    match record {
        BinlogRecord::AlterJob(alter) if alter.is_finished() => {
            if alter.is_schema_change() && !job.schema_change_partial_sync {
                Plan::FullSync {
                    reason: "a schema change finished on the source".into(),
                }
            } else {
                // The new schema (or rollup) arrives with a snapshot of the table.
                snapshot_of("an alter job finished".into())
            }
        }
        BinlogRecord::AlterJob(_) => Plan::TrackAlterJob,
        BinlogRecord::ReplacePartitions(replace) => Plan::PartialSync {
            table_id,
            partitions: if replace.allows_partial_sync() {
                replace.partitions.clone()
            } else {
                Vec::new()
            },
            reason: "partitions were replaced".into(),
            unmap: None,
        },
        BinlogRecord::ModifyViewDef(_) => Plan::AlterView { dest_table_id },
        // Index and distribution definitions travel with a snapshot of the table.
        BinlogRecord::ModifyTableAddOrDropInvertedIndices(_)
        | BinlogRecord::IndexChangeJob(_)
        | BinlogRecord::ModifyDistributionBucketNum(_)
        | BinlogRecord::ModifyDistributionType(_)
        | BinlogRecord::RecoverInfo(_) => snapshot_of(format!(
            "{} is replicated by a snapshot of the table",
            record.binlog_type()
        )),
        BinlogRecord::AddPartition(_)
        | BinlogRecord::DropPartition(_)
        | BinlogRecord::TruncateTable(_)
        | BinlogRecord::ModifyTableAddOrDropColumns(_)
        | BinlogRecord::RenameColumn(_)
        | BinlogRecord::ModifyComment(_)
        | BinlogRecord::RenamePartition(_)
        | BinlogRecord::RenameRollup(_)
        | BinlogRecord::DropRollup(_)
        | BinlogRecord::ModifyTableProperty(_) => Plan::TableDdl { dest_table_id },
        // Planned by the caller; listed so that this match stays exhaustive.
        BinlogRecord::Upsert(_)
        | BinlogRecord::Dummy
        | BinlogRecord::CreateTable(_)
        | BinlogRecord::DropTable(_)
        | BinlogRecord::RenameTable(_)
        | BinlogRecord::ReplaceTable(_)
        | BinlogRecord::Barrier(_)
        | BinlogRecord::AlterDatabaseProperty(_)
        | BinlogRecord::ModifyPartitions(_)
        | BinlogRecord::Unknown { .. } => Plan::Fail(FailReason::Invalid(format!(
            "{} is not a table-scoped record",
            record.binlog_type()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::job::spec::{ClusterSpec, SyncType};
    use crate::progress::Phase;
    use ccr_binlog::{parse, BinlogType};

    const SRC_TABLE: i64 = 10;
    const DEST_TABLE: i64 = 20;

    fn info(sync_type: SyncType, exclude: &[&str]) -> JobInfo {
        let spec = |db: &str, table: &str, table_id: i64| ClusterSpec {
            database: db.into(),
            table: table.into(),
            table_id,
            ..Default::default()
        };
        JobInfo {
            exclude_tables: exclude.iter().map(|s| s.to_string()).collect(),
            ..JobInfo::new(
                sync_type,
                "j".into(),
                spec("s", "t", SRC_TABLE),
                spec("d", "t", DEST_TABLE),
            )
        }
    }

    fn binlog(seq: i64, kind: BinlogType, data: &str) -> Binlog {
        Binlog::new(seq, 0, 1, vec![], parse(kind, data).expect("record parses"))
    }

    fn upsert(seq: i64, tables: &[i64]) -> Binlog {
        let records: Vec<String> = tables
            .iter()
            .map(|t| {
                format!(
                    r#""{t}": {{"partitionRecords": [{{"partitionId": {}, "version": 2}}], "indexIds": [1]}}"#,
                    t * 100
                )
            })
            .collect();
        binlog(
            seq,
            BinlogType::Upsert,
            &format!(r#"{{"tableRecords": {{{}}}}}"#, records.join(",")),
        )
    }

    fn table_job(progress: &Progress, binlog: &Binlog) -> Plan {
        let info = info(SyncType::Table, &[]);
        plan_table_binlog(
            &TableJob {
                info: &info,
                progress,
                schema_change_partial_sync: true,
            },
            binlog,
        )
    }

    fn table_progress() -> Progress {
        let mut progress =
            Progress::new_full_sync("j", true, 1).with_phase(Phase::TableIncremental);
        progress.dest_table_id = DEST_TABLE;
        progress
    }

    /// A database job that maps source tables 10 → 20 and 11 → 21; table 11's snapshot
    /// covers commit seq 50.
    fn db_progress() -> Progress {
        let mut progress =
            Progress::new_full_sync("j", false, 1).with_phase(Phase::DbTablesIncremental {
                cut_points: BTreeMap::from([(11, 50)]),
            });
        progress.table_mapping = Some(BTreeMap::from([(10, 20), (11, 21)]));
        progress
    }

    fn db_job(progress: &Progress, binlog: &Binlog) -> Plan {
        let info = info(SyncType::Database, &["secret"]);
        plan_db_binlog(
            &DbJob {
                info: &info,
                progress,
                schema_change_partial_sync: true,
            },
            binlog,
        )
    }

    /// A record of every light-DDL type (replayed by SQL), about source table 10.
    const LIGHT_DDL: [(BinlogType, &str); 10] = [
        (BinlogType::AddPartition, r#"{"tableId": 10}"#),
        (BinlogType::DropPartition, r#"{"tableId": 10}"#),
        (BinlogType::TruncateTable, r#"{"tblId": 10}"#),
        (
            BinlogType::ModifyTableAddOrDropColumns,
            r#"{"tableId": 10}"#,
        ),
        (BinlogType::RenameColumn, r#"{"tableId": 10}"#),
        (BinlogType::ModifyComment, r#"{"tblId": 10}"#),
        (BinlogType::RenamePartition, r#"{"tb": 10}"#),
        (BinlogType::RenameRollup, r#"{"tb": 10}"#),
        (BinlogType::DropRollup, r#"{"tableId": 10}"#),
        (BinlogType::ModifyTableProperty, r#"{"tableId": 10}"#),
    ];

    fn alter_job(seq: i64, job_type: &str, state: &str) -> Binlog {
        binlog(
            seq,
            BinlogType::AlterJob,
            &format!(r#"{{"type": "{job_type}", "jobState": "{state}", "tableId": 10}}"#),
        )
    }

    fn unknown_binlog() -> Binlog {
        let record = BinlogRecord::Unknown {
            type_id: 99,
            data: None,
        };
        Binlog::new(5, 0, 1, vec![], record)
    }

    fn is_ddl(plan: &Plan) -> bool {
        matches!(plan, Plan::TableDdl { .. })
    }

    // ---- table jobs, one test per record type ----

    #[test]
    fn table_upsert_is_a_transaction_unless_it_misses_the_table() {
        let p = table_progress();
        assert_eq!(
            table_job(&p, &upsert(5, &[SRC_TABLE])),
            Plan::Transaction {
                tables: vec![TablePair {
                    src_table_id: SRC_TABLE,
                    dest_table_id: DEST_TABLE
                }]
            }
        );
        assert!(matches!(
            table_job(&p, &upsert(5, &[99])),
            Plan::Skip(Skip::Silently(_))
        ));
    }

    #[test]
    fn table_light_ddl_is_sql() {
        let p = table_progress();
        for (kind, data) in LIGHT_DDL {
            assert!(is_ddl(&table_job(&p, &binlog(5, kind, data))), "{kind}");
        }
    }

    #[test]
    fn table_alter_jobs_track_then_resync() {
        let p = table_progress();
        let running = alter_job(5, "SCHEMA_CHANGE", "RUNNING");
        assert_eq!(table_job(&p, &running), Plan::TrackAlterJob);
        let finished = alter_job(6, "SCHEMA_CHANGE", "FINISHED");
        assert!(
            matches!(table_job(&p, &finished), Plan::PartialSync { ref partitions, .. } if partitions.is_empty())
        );
        let rollup = alter_job(6, "ROLLUP", "FINISHED");
        assert!(matches!(table_job(&p, &rollup), Plan::FullSync { .. }));
    }

    #[test]
    fn table_replaced_partitions_copy_those_partitions_or_the_whole_table() {
        // Class H: a non-strict replace, or one keeping temporary names, copies the whole
        // table so the target ends with exactly the source's partitions.
        let p = table_progress();
        let strict = binlog(
            5,
            BinlogType::ReplacePartitions,
            r#"{"tblId": 10, "partitions": ["p1"], "tempPartitions": ["tp1"], "strictRange": true}"#,
        );
        assert!(
            matches!(table_job(&p, &strict), Plan::PartialSync { ref partitions, .. } if partitions == &["p1"])
        );
        let loose = binlog(
            5,
            BinlogType::ReplacePartitions,
            r#"{"tblId": 10, "partitions": ["p2"], "tempPartitions": ["tp"], "strictRange": false, "useTempPartitionName": true}"#,
        );
        assert!(
            matches!(table_job(&p, &loose), Plan::PartialSync { ref partitions, .. } if partitions.is_empty())
        );
    }

    #[test]
    fn table_markers_renames_and_storage_properties_are_skipped() {
        let p = table_progress();
        assert!(matches!(
            table_job(&p, &binlog(5, BinlogType::Barrier, "{}")),
            Plan::Skip(Skip::Silently(_))
        ));
        assert!(matches!(
            table_job(&p, &binlog(5, BinlogType::AlterDatabaseProperty, "{}")),
            Plan::Skip(Skip::Silently(_))
        ));
        assert!(matches!(
            table_job(
                &p,
                &binlog(5, BinlogType::RenameTable, r#"{"tb": 10, "nT": "x"}"#)
            ),
            Plan::Skip(Skip::Silently(_))
        ));
        assert!(matches!(
            table_job(
                &p,
                &binlog(5, BinlogType::ModifyPartitions, r#"{"infos": []}"#)
            ),
            Plan::Skip(Skip::Noted(_))
        ));
    }

    #[test]
    fn table_dropped_replaced_or_foreign_records_stop_or_resync() {
        let p = table_progress();
        assert!(matches!(
            table_job(&p, &binlog(5, BinlogType::DropTable, r#"{"tableId": 10}"#)),
            Plan::Fail(FailReason::SourceGone(_))
        ));
        assert!(matches!(
            table_job(
                &p,
                &binlog(5, BinlogType::ReplaceTable, r#"{"origTblId": 10}"#)
            ),
            Plan::FullSync { .. }
        ));
        assert!(matches!(
            table_job(&p, &Binlog::dummy(5, 0, 1, 10)),
            Plan::FullSync { .. }
        ));
        for kind in [
            BinlogType::CreateTable,
            BinlogType::ModifyViewDef,
            BinlogType::RecoverInfo,
        ] {
            assert!(
                matches!(
                    table_job(&p, &binlog(5, kind, r#"{"tableId": 10}"#)),
                    Plan::Fail(FailReason::Unsupported(_))
                ),
                "{kind}"
            );
        }
        for (kind, data) in [
            (
                BinlogType::ModifyTableAddOrDropInvertedIndices,
                r#"{"tableId": 10}"#,
            ),
            (BinlogType::IndexChangeJob, r#"{"tableId": 10}"#),
            (
                BinlogType::ModifyDistributionBucketNum,
                r#"{"tableId": 10}"#,
            ),
            (BinlogType::ModifyDistributionType, r#"{"tb": 10}"#),
        ] {
            assert!(
                matches!(
                    table_job(&p, &binlog(5, kind, data)),
                    Plan::PartialSync { .. }
                ),
                "{kind}"
            );
        }
        let unknown = unknown_binlog();
        assert!(matches!(
            table_job(&p, &unknown),
            Plan::Fail(FailReason::Unsupported(_))
        ));
    }

    // ---- database jobs, one test per record type ----

    #[test]
    fn db_upsert_writes_mapped_tables_the_snapshot_does_not_hold() {
        let p = db_progress();
        // Table 11's snapshot holds seq 40; 12 is not replicated.
        assert_eq!(
            db_job(&p, &upsert(40, &[10, 11, 12])),
            Plan::Transaction {
                tables: vec![TablePair {
                    src_table_id: 10,
                    dest_table_id: 20
                }]
            }
        );
        assert!(matches!(db_job(&p, &upsert(40, &[11, 12])), Plan::Skip(_)));
        assert!(matches!(
            db_job(&p, &upsert(51, &[11])),
            Plan::Transaction { .. }
        ));
    }

    #[test]
    fn db_create_table_by_sql_unless_excluded_present_or_without_sql() {
        let p = db_progress();
        let create = |id: i64, name: &str, sql: &str| {
            binlog(
                5,
                BinlogType::CreateTable,
                &format!(r#"{{"tableId": {id}, "tableName": "{name}", "sql": "{sql}"}}"#),
            )
        };
        assert_eq!(
            db_job(&p, &create(30, "n", "CREATE TABLE n (k int)")),
            Plan::CreateObject
        );
        assert!(matches!(
            db_job(&p, &create(31, "secret", "CREATE TABLE secret (k int)")),
            Plan::Skip(_)
        ));
        assert!(matches!(
            db_job(&p, &create(10, "t", "CREATE TABLE t (k int)")),
            Plan::Skip(_)
        ));
        assert!(matches!(
            db_job(&p, &create(32, "n", "")),
            Plan::PartialSync { table_id: 32, .. }
        ));
    }

    #[test]
    fn db_drop_and_rename_follow_the_mapping_and_the_lists() {
        let p = db_progress();
        assert_eq!(
            db_job(&p, &binlog(5, BinlogType::DropTable, r#"{"tableId": 10}"#)),
            Plan::DropObject { dest_table_id: 20 }
        );
        assert!(matches!(
            db_job(&p, &binlog(5, BinlogType::DropTable, r#"{"tableId": 12}"#)),
            Plan::Skip(_)
        ));
        assert_eq!(
            db_job(
                &p,
                &binlog(5, BinlogType::RenameTable, r#"{"tb": 10, "nT": "secret"}"#)
            ),
            Plan::RenameObject {
                dest_table_id: 20,
                new_name: "secret".into(),
                still_replicated: false
            }
        );
        assert_eq!(
            db_job(
                &p,
                &binlog(5, BinlogType::RenameTable, r#"{"tb": 12, "nT": "in"}"#)
            ),
            Plan::AdoptRenamed { table_id: 12 }
        );
        assert!(matches!(
            db_job(
                &p,
                &binlog(5, BinlogType::RenameTable, r#"{"tb": 12, "nT": "secret"}"#)
            ),
            Plan::Skip(_)
        ));
        assert!(matches!(
            db_job(&p, &binlog(5, BinlogType::RenameTable, r#"{"tb": 10}"#)),
            Plan::Fail(FailReason::Invalid(_))
        ));
        assert!(
            matches!(
                db_job(
                    &p,
                    &binlog(45, BinlogType::RenameTable, r#"{"tb": 11, "nT": "x"}"#)
                ),
                Plan::RenameObject {
                    dest_table_id: 21,
                    ..
                }
            ),
            "a partial snapshot keeps the target's name, so a covered rename still runs"
        );
    }

    #[test]
    fn db_replace_table_between_mapped_tables_or_by_snapshot() {
        let p = db_progress();
        assert_eq!(
            db_job(
                &p,
                &binlog(
                    5,
                    BinlogType::ReplaceTable,
                    r#"{"origTblId": 10, "newTblName": 11, "swapTable": true}"#
                )
            ),
            Plan::ReplaceTable {
                orig_dest: 20,
                new_dest: 21
            }
        );
        assert!(matches!(
            db_job(
                &p,
                &binlog(
                    5,
                    BinlogType::ReplaceTable,
                    r#"{"origTblId": 10, "newTblName": 12, "swapTable": false}"#
                )
            ),
            Plan::PartialSync {
                table_id: 12,
                unmap: Some(10),
                ..
            }
        ));
        assert!(matches!(
            db_job(
                &p,
                &binlog(
                    5,
                    BinlogType::ReplaceTable,
                    r#"{"origTblId": 13, "newTblName": 12}"#
                )
            ),
            Plan::Skip(_)
        ));
    }

    #[test]
    fn db_table_ddl_is_sql_on_the_mapped_table_and_skipped_when_covered() {
        // Class E's foundation: what a table's snapshot holds is never replayed again.
        let p = db_progress();
        for (kind, data) in LIGHT_DDL {
            assert_eq!(
                db_job(&p, &binlog(5, kind, data)),
                Plan::TableDdl { dest_table_id: 20 },
                "{kind}"
            );
            let covered = data.replace("10", "11");
            assert!(
                matches!(db_job(&p, &binlog(45, kind, &covered)), Plan::Skip(_)),
                "{kind} covered"
            );
            let unmapped = data.replace("10", "12");
            assert!(
                matches!(db_job(&p, &binlog(5, kind, &unmapped)), Plan::Skip(_)),
                "{kind} unmapped"
            );
        }
    }

    #[test]
    fn db_alter_jobs_replaced_partitions_views_and_indexes() {
        let p = db_progress();
        let running = alter_job(5, "SCHEMA_CHANGE", "RUNNING");
        assert_eq!(db_job(&p, &running), Plan::TrackAlterJob);
        let finished = alter_job(5, "ROLLUP", "FINISHED");
        assert!(matches!(
            db_job(&p, &finished),
            Plan::PartialSync { table_id: 10, .. }
        ));
        let loose = binlog(
            5,
            BinlogType::ReplacePartitions,
            r#"{"tblId": 10, "partitions": ["p3"], "strictRange": false}"#,
        );
        assert!(
            matches!(db_job(&p, &loose), Plan::PartialSync { ref partitions, .. } if partitions.is_empty())
        );
        let view = binlog(
            5,
            BinlogType::ModifyViewDef,
            r#"{"tableId": 10, "inlineViewDef": "SELECT 1"}"#,
        );
        assert_eq!(db_job(&p, &view), Plan::AlterView { dest_table_id: 20 });
        for (kind, data) in [
            (
                BinlogType::ModifyTableAddOrDropInvertedIndices,
                r#"{"tableId": 10}"#,
            ),
            (BinlogType::IndexChangeJob, r#"{"tableId": 10}"#),
            (
                BinlogType::ModifyDistributionBucketNum,
                r#"{"tableId": 10}"#,
            ),
            (BinlogType::ModifyDistributionType, r#"{"tb": 10}"#),
            (
                BinlogType::RecoverInfo,
                r#"{"tableId": 10, "partitionId": 5, "partitionName": "p"}"#,
            ),
        ] {
            assert!(
                matches!(
                    db_job(&p, &binlog(5, kind, data)),
                    Plan::PartialSync { table_id: 10, .. }
                ),
                "{kind}"
            );
        }
    }

    #[test]
    fn db_recovered_tables_markers_and_unknown_records() {
        let p = db_progress();
        let recovered = binlog(
            5,
            BinlogType::RecoverInfo,
            r#"{"tableId": 12, "tableName": "back", "partitionId": -1}"#,
        );
        assert!(matches!(
            db_job(&p, &recovered),
            Plan::PartialSync { table_id: 12, .. }
        ));
        let excluded = binlog(
            5,
            BinlogType::RecoverInfo,
            r#"{"tableId": 12, "tableName": "secret", "partitionId": -1}"#,
        );
        assert!(matches!(db_job(&p, &excluded), Plan::Skip(_)));
        assert!(matches!(
            db_job(&p, &binlog(5, BinlogType::Barrier, "{}")),
            Plan::Skip(Skip::Silently(_))
        ));
        assert!(matches!(
            db_job(&p, &binlog(5, BinlogType::AlterDatabaseProperty, "{}")),
            Plan::Skip(Skip::Noted(_))
        ));
        assert!(matches!(
            db_job(
                &p,
                &binlog(5, BinlogType::ModifyPartitions, r#"{"infos": []}"#)
            ),
            Plan::Skip(Skip::Noted(_))
        ));
        assert!(matches!(
            db_job(&p, &Binlog::dummy(5, 0, 1, -1)),
            Plan::FullSync { .. }
        ));
        let unknown = unknown_binlog();
        assert!(matches!(
            db_job(&p, &unknown),
            Plan::Fail(FailReason::Unsupported(_))
        ));
    }
}
