//! Hooks that turn catalog changes into binlogs, one per binlog-producing Doris operation
//! (sheet §1.2, payloads §4.2). The SQL engine calls them inside the same write-locked
//! step that changes the catalog; the transaction manager calls [`CatalogState::record_upsert`]
//! when a transaction becomes VISIBLE.
//!
//! Each hook consumes one edit-log id (the binlog's commit seq) whether or not the binlog
//! is stored, as Doris journals the operation either way.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value as Json};

use crate::catalog::table::{
    Column, Distribution, OlapTable, Partition, PartitionItem, PartitionKey, PartitionKeyValue,
    Table, TableKind,
};
use crate::catalog::types::ColumnType;
use crate::catalog::{now_ms, CatalogState};
use crate::sql::render;
use ccr_binlog::{
    AddPartitionRecord, AlterDatabasePropertyInfo, AlterJobRecord, AlterJobType, AlterViewInfo,
    BarrierLog, Binlog, BinlogRecord, CommentType, CreateTableRecord, DropInfo, DropPartitionInfo,
    DropTableRecord, JobState, ModifyCommentOperationLog, ModifyTablePropertyOperationLog,
    PartitionRecord, ReplacePartitionOperationLog, ReplaceTableOperationLog,
    TableAddOrDropColumnsInfo, TableInfo, TableRecord, TableRenameColumnInfo, TableType,
    TruncateTableRecord, UpsertRecord,
};

use super::{BinlogConfig, BinlogFlavor, BinlogScope, DbGcConfig, DroppedKind};

/// Catalog name Doris writes into records that carry one.
const INTERNAL_CATALOG: &str = "internal";
/// `stid` of a partition written by an ordinary (single-statement) load.
const NO_SUB_TXN: i64 = -1;
/// Cooldown time Doris stores for partitions that never cool down (9999-12-31 23:59:59).
const NEVER_COOLDOWN_MS: i64 = 253_402_271_999_000;
/// FE config: newest-FE GC drops every binlog not protected by a lock.
const RECYCLE_IMMEDIATELY_CONFIG: &str = "enable_recycle_binlog_immediately";
/// FE config: the global binlog switch.
const FEATURE_BINLOG_CONFIG: &str = "enable_feature_binlog";

/// A transaction that just became VISIBLE: what an UPSERT binlog describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedTxn {
    pub db_id: i64,
    pub txn_id: i64,
    pub label: String,
    /// Txn finish time (ms); the binlog's timestamp.
    pub finish_time_ms: i64,
    /// Table id → `(partition id, version the txn created)` per partition written.
    pub tables: BTreeMap<i64, Vec<(i64, i64)>>,
}

/// A `REPLACE PARTITION` (or the replace step of INSERT OVERWRITE) that was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedPartitions {
    /// Formal partitions replaced.
    pub partitions: Vec<String>,
    /// Temporary partitions that replaced them.
    pub temp_partitions: Vec<String>,
    /// Ids of the replaced formal partitions (they enter the dropped set).
    pub replaced_ids: Vec<i64>,
    pub strict_range: bool,
    pub use_temp_partition_name: bool,
    pub force: bool,
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A catalog column as a (trimmed) Gson `Column` object; nobody interprets it beyond names.
fn column_json(column: &Column) -> Json {
    json!({
        "name": column.name,
        "type": column.column_type.primitive_name(),
        "isKey": column.is_key,
        "aggregationType": column.aggregation.map(|a| a.name()),
        "isAllowNull": column.nullable,
        "isAutoInc": column.auto_increment,
        "comment": column.comment,
        "uniqueId": column.unique_id,
    })
}

impl CatalogState {
    /// Whether FE config `enable_feature_binlog` is on (nothing is recorded otherwise).
    pub fn binlog_feature_enabled(&self) -> bool {
        self.config.get_bool(FEATURE_BINLOG_CONFIG)
    }

    /// Journals an operation that produces no binlog (create database, grants, the
    /// COMMITTED step of a transaction, ...): it only consumes an edit-log id.
    pub fn journal_op(&mut self) -> i64 {
        self.binlog.next_journal_id()
    }

    /// The binlog configs in force for a binlog of `db_id` naming `table_ids`, read from
    /// the catalog now. Capture it *before* a change when the change itself may alter the
    /// configs or remove the table (property changes, drops, replace).
    pub fn binlog_scope(&self, db_id: i64, table_ids: &[i64]) -> BinlogScope {
        let Some(db) = self.databases.get(&db_id) else {
            return BinlogScope::default();
        };
        BinlogScope {
            db_config: BinlogConfig::from_properties(&db.properties),
            tables: table_ids
                .iter()
                .map(|id| {
                    let config = db
                        .tables
                        .get(id)
                        .and_then(Table::olap)
                        .map(|olap| BinlogConfig::from_properties(&olap.properties))
                        .unwrap_or_default();
                    (*id, config)
                })
                .collect(),
        }
    }

    /// Runs binlog GC now over every database (Doris's 15 s daemon, on demand).
    pub fn gc_binlogs(&mut self, now_ms: i64) {
        let recycle_immediately = self.config.get_bool(RECYCLE_IMMEDIATELY_CONFIG);
        let databases = &self.databases;
        self.binlog.gc(now_ms, recycle_immediately, |db_id| {
            let db = databases.get(&db_id)?;
            Some(DbGcConfig {
                db_config: BinlogConfig::from_properties(&db.properties),
                tables: db
                    .tables
                    .iter()
                    .filter_map(|(id, table)| {
                        let olap = table.olap()?;
                        Some((*id, BinlogConfig::from_properties(&olap.properties)))
                    })
                    .collect(),
            })
        });
    }

    /// Runs GC if the daemon period has passed since the last pass.
    pub fn maybe_gc_binlogs(&mut self, now_ms: i64) {
        if self.binlog.gc_due(now_ms) {
            self.gc_binlogs(now_ms);
        }
    }

    /// Journals one binlog-producing operation: consumes its commit seq, builds the record
    /// with it and stores the binlog if `scope` enables it. Returns the seq if stored.
    fn emit(
        &mut self,
        scope: BinlogScope,
        db_id: i64,
        table_ids: Vec<i64>,
        timestamp: Option<i64>,
        build: impl FnOnce(i64) -> BinlogRecord,
    ) -> Option<i64> {
        let commit_seq = self.binlog.next_journal_id();
        if !self.binlog_feature_enabled() {
            return None;
        }
        let now = now_ms();
        self.maybe_gc_binlogs(now);
        let record = build(commit_seq);
        let timestamp =
            timestamp.unwrap_or_else(|| self.binlog.timestamp_for(record.binlog_type(), now));
        let binlog = Binlog::new(commit_seq, timestamp, db_id, table_ids, record);
        match self.binlog.store(&scope, binlog, now) {
            Ok(true) => Some(commit_seq),
            Ok(false) => None,
            Err(error) => {
                tracing::error!(commit_seq, %error, "cannot encode binlog; not recorded");
                None
            }
        }
    }

    fn names_of(&self, db_id: i64, table_id: i64) -> (String, String) {
        let db = self.databases.get(&db_id);
        let table = db.and_then(|db| db.tables.get(&table_id));
        (
            db.map(|db| db.name.clone()).unwrap_or_default(),
            table.map(|t| t.name.clone()).unwrap_or_default(),
        )
    }

    fn olap_of(&self, db_id: i64, table_id: i64) -> Option<&OlapTable> {
        self.databases.get(&db_id)?.tables.get(&table_id)?.olap()
    }

    /// UPSERT: a transaction became VISIBLE. Call once per transaction, after its versions
    /// are published in the catalog (`visible_version` of every partition it wrote is the
    /// version it created). Index ids are every materialized index of the written
    /// partitions (base, rollups and shadow indexes all receive loads).
    pub fn record_upsert(&mut self, txn: &PublishedTxn) -> Option<i64> {
        let mut table_records = BTreeMap::new();
        for (table_id, partitions) in &txn.tables {
            let Some(olap) = self.olap_of(txn.db_id, *table_id) else {
                continue;
            };
            let types = olap.partition_column_types();
            let mut index_ids = BTreeSet::new();
            let partition_records = partitions
                .iter()
                .filter_map(|(partition_id, version)| {
                    let partition = olap.partitions.get(partition_id)?;
                    index_ids.extend(partition.indexes.keys().copied());
                    Some(PartitionRecord {
                        partition_id: *partition_id,
                        range: partition.item.describe(&types),
                        version: *version,
                        is_temp_partition: partition.is_temp,
                        stid: NO_SUB_TXN,
                    })
                })
                .collect();
            table_records.insert(
                *table_id,
                TableRecord {
                    partition_records,
                    index_ids: index_ids.into_iter().collect(),
                },
            );
        }
        if table_records.is_empty() {
            // A transaction that published nothing has nothing to replay.
            self.journal_op();
            return None;
        }
        let table_ids: Vec<i64> = table_records.keys().copied().collect();
        let scope = self.binlog_scope(txn.db_id, &table_ids);
        self.emit(
            scope,
            txn.db_id,
            table_ids,
            Some(txn.finish_time_ms),
            |commit_seq| {
                BinlogRecord::Upsert(UpsertRecord {
                    commit_seq,
                    txn_id: txn.txn_id,
                    time_stamp: txn.finish_time_ms,
                    label: txn.label.clone(),
                    db_id: txn.db_id,
                    table_records,
                    stids: None,
                })
            },
        )
    }

    /// BARRIER a BACKUP journals for one OLAP table (sheet §5.2). Returns the barrier's commit
    /// seq — the table's cut point in `table_commit_seq_map` — whether or not it is stored.
    pub(crate) fn binlog_backup_barrier(&mut self, db_id: i64, table_id: i64) -> i64 {
        let (db_name, table_name) = self.names_of(db_id, table_id);
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::Barrier(BarrierLog::for_table(
                db_id,
                &db_name,
                table_id,
                &table_name,
            ))
        });
        // `emit` consumed exactly one edit-log id: the barrier's.
        self.binlog.last_journal_id()
    }

    /// CREATE_TABLE for a table or view just added to the catalog; `sql` is its
    /// `SHOW CREATE TABLE` text (binlog properties included).
    pub(crate) fn binlog_create_table(&mut self, db_id: i64, table_id: i64) -> Option<i64> {
        let (db_name, _) = self.names_of(db_id, table_id);
        let table = self.databases.get(&db_id)?.tables.get(&table_id)?;
        let (table_type, sql) = match &table.kind {
            TableKind::Olap(olap) => (TableType::Olap, render::create_table(table, olap, true)),
            TableKind::View(view) => (TableType::View, render::create_view(table, &view.query)),
        };
        let table_name = table.name.clone();
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |commit_seq| {
            BinlogRecord::CreateTable(CreateTableRecord {
                commit_seq,
                db_id,
                table_id,
                db_name,
                table_name,
                table_type,
                sql,
            })
        })
    }

    /// DROP_TABLE; call while the table is still in the catalog (its config decides).
    pub(crate) fn binlog_drop_table(&mut self, db_id: i64, table_id: i64) -> Option<i64> {
        let table = self.databases.get(&db_id)?.tables.get(&table_id)?;
        let table_name = table.name.clone();
        let is_view = table.is_view();
        let scope = self.binlog_scope(db_id, &[table_id]);
        let seq = self.emit(scope, db_id, vec![table_id], None, |commit_seq| {
            BinlogRecord::DropTable(DropTableRecord {
                commit_seq,
                db_id,
                table_id,
                raw_sql: format!("DROP TABLE IF EXISTS {}", quote(&table_name)),
                table_name,
                is_view,
            })
        })?;
        self.binlog
            .note_dropped(db_id, DroppedKind::Table, &[table_id], seq);
        Some(seq)
    }

    /// ADD_PARTITION for a partition just added (also temporary, auto and INSERT OVERWRITE
    /// partitions).
    pub(crate) fn binlog_add_partition(
        &mut self,
        db_id: i64,
        table_id: i64,
        partition_id: i64,
    ) -> Option<i64> {
        let flavor = self.binlog.flavor();
        let olap = self.olap_of(db_id, table_id)?;
        let types = olap.partition_column_types();
        let partition = olap.partitions.get(&partition_id)?;
        let (range, list_partition_item) = partition_item_json(&partition.item, &types);
        let values = partition.item.values_sql();
        let mut sql = format!(
            "ADD {}PARTITION {} ",
            if partition.is_temp { "TEMPORARY " } else { "" },
            quote(&partition.name)
        );
        if !values.is_empty() {
            sql.push_str(&format!(
                "{values} (\"version_info\" = \"{}\");",
                partition.visible_version
            ));
        }
        let partition_json = partition_json(partition, flavor);
        let replica_alloc = json!({
            "allocMap": { "{\"location\" : \"default\"}": partition.replication_num }
        });
        let is_temp_partition = partition.is_temp;
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |commit_seq| {
            BinlogRecord::AddPartition(AddPartitionRecord {
                commit_seq,
                db_id,
                table_id,
                partition: Some(partition_json),
                range: Some(range),
                list_partition_item: Some(list_partition_item),
                data_property: Some(json!({
                    "storageMedium": "HDD",
                    "cooldownTimeMs": NEVER_COOLDOWN_MS,
                    "storagePolicy": "",
                    "isMutable": true,
                    "storageMediumSpecified": false,
                })),
                replica_alloc: Some(replica_alloc),
                is_in_memory: false,
                is_temp_partition,
                is_mutable: true,
                sql,
            })
        })
    }

    /// DROP_PARTITION for `partition`, already removed from the table.
    pub(crate) fn binlog_drop_partition(
        &mut self,
        db_id: i64,
        table_id: i64,
        partition: &Partition,
        force: bool,
    ) -> Option<i64> {
        let olap = self.olap_of(db_id, table_id)?;
        let (version, version_time) = (olap.visible_version, olap.visible_version_time_ms);
        let now = now_ms();
        let scope = self.binlog_scope(db_id, &[table_id]);
        let seq = self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::DropPartition(DropPartitionInfo {
                db_id,
                table_id,
                partition_id: partition.id,
                partition_name: partition.name.clone(),
                is_temp_partition: partition.is_temp,
                force_drop: force,
                recycle_time: if force { 0 } else { now },
                sql: format!(
                    "DROP {}PARTITION {}{}",
                    if partition.is_temp { "TEMPORARY " } else { "" },
                    quote(&partition.name),
                    if force { " FORCE" } else { "" }
                ),
                version,
                version_time,
            })
        })?;
        self.binlog
            .note_dropped(db_id, DroppedKind::Partition, &[partition.id], seq);
        Some(seq)
    }

    /// RENAME_PARTITION.
    pub(crate) fn binlog_rename_partition(
        &mut self,
        db_id: i64,
        table_id: i64,
        partition_id: i64,
        old_name: &str,
        new_name: &str,
    ) -> Option<i64> {
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::RenamePartition(TableInfo::for_partition_rename(
                db_id,
                table_id,
                partition_id,
                old_name,
                new_name,
            ))
        })
    }

    /// REPLACE_PARTITIONS, after the temporary partitions took the formal ones' place.
    pub(crate) fn binlog_replace_partitions(
        &mut self,
        db_id: i64,
        table_id: i64,
        replaced: &ReplacedPartitions,
    ) -> Option<i64> {
        let (db_name, table_name) = self.names_of(db_id, table_id);
        let olap = self.olap_of(db_id, table_id)?;
        let (version, version_time) = (olap.visible_version, olap.visible_version_time_ms);
        let scope = self.binlog_scope(db_id, &[table_id]);
        let seq = self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::ReplacePartitions(ReplacePartitionOperationLog {
                db_id,
                db_name,
                table_id,
                table_name,
                partitions: replaced.partitions.clone(),
                temp_partitions: replaced.temp_partitions.clone(),
                strict_range: replaced.strict_range,
                use_temp_partition_name: replaced.use_temp_partition_name,
                version,
                version_time,
                force: replaced.force,
            })
        })?;
        self.binlog
            .note_dropped(db_id, DroppedKind::Partition, &replaced.replaced_ids, seq);
        Some(seq)
    }

    /// MODIFY_TABLE_ADD_OR_DROP_COLUMNS for a light schema change already applied;
    /// `raw_sql` is the ALTER statement as Doris prints it.
    pub(crate) fn binlog_light_schema_change(
        &mut self,
        db_id: i64,
        table_id: i64,
        raw_sql: String,
    ) -> Option<i64> {
        let olap = self.olap_of(db_id, table_id)?;
        let columns: Vec<Json> = olap.columns.iter().map(column_json).collect();
        let index_schema_map = BTreeMap::from([(olap.base_index.id, columns)]);
        // Doris allocates a job id for the light change too.
        let job_id = self.next_id();
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::ModifyTableAddOrDropColumns(TableAddOrDropColumnsInfo {
                db_id,
                table_id,
                index_schema_map,
                indexes: Vec::new(),
                job_id,
                raw_sql,
            })
        })
    }

    /// ALTER_JOB: one state change of a schema-change job. `shadow_to_origin` maps each
    /// shadow index id to the index it replaces; at FINISHED the origin ids are dropped.
    pub(crate) fn binlog_schema_change_job(
        &mut self,
        db_id: i64,
        table_id: i64,
        job_id: i64,
        job_state: JobState,
        raw_sql: &str,
        shadow_to_origin: &BTreeMap<i64, i64>,
    ) -> Option<i64> {
        let (_, table_name) = self.names_of(db_id, table_id);
        let finished = job_state == JobState::Finished;
        let scope = self.binlog_scope(db_id, &[table_id]);
        let seq = self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::AlterJob(AlterJobRecord {
                job_type: AlterJobType::SchemaChange,
                db_id,
                table_id,
                table_name,
                job_id,
                job_state,
                raw_sql: raw_sql.to_owned(),
                index_id_map: Some(shadow_to_origin.clone()),
                ..AlterJobRecord::default()
            })
        })?;
        if finished {
            let origins: Vec<i64> = shadow_to_origin.values().copied().collect();
            self.binlog
                .note_dropped(db_id, DroppedKind::Index, &origins, seq);
        }
        Some(seq)
    }

    /// ALTER_JOB: one state change of a rollup (or synchronous MV) build job.
    pub(crate) fn binlog_rollup_job(
        &mut self,
        db_id: i64,
        table_id: i64,
        job_id: i64,
        job_state: JobState,
        rollup: (i64, &str),
        base: (i64, &str),
    ) -> Option<i64> {
        let (_, table_name) = self.names_of(db_id, table_id);
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::AlterJob(AlterJobRecord {
                job_type: AlterJobType::Rollup,
                db_id,
                table_id,
                table_name,
                job_id,
                job_state,
                // Doris records no statement for rollup jobs.
                raw_sql: String::new(),
                index_id_map: None,
                rollup_index_id: rollup.0,
                rollup_index_name: Some(rollup.1.to_owned()),
                base_index_id: base.0,
                base_index_name: Some(base.1.to_owned()),
            })
        })
    }

    /// DROP_ROLLUP (a rollup or synchronous MV was dropped).
    pub(crate) fn binlog_drop_rollup(
        &mut self,
        db_id: i64,
        table_id: i64,
        index_id: i64,
        index_name: &str,
    ) -> Option<i64> {
        let (_, table_name) = self.names_of(db_id, table_id);
        let scope = self.binlog_scope(db_id, &[table_id]);
        let seq = self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::DropRollup(DropInfo {
                db_id,
                table_id,
                table_name,
                index_id,
                index_name: index_name.to_owned(),
                force_drop: false,
                recycle_time: 0,
                delete_tablet_watermark_txn_id: -1,
            })
        })?;
        self.binlog
            .note_dropped(db_id, DroppedKind::Index, &[index_id], seq);
        Some(seq)
    }

    /// RENAME_ROLLUP.
    pub(crate) fn binlog_rename_rollup(
        &mut self,
        db_id: i64,
        table_id: i64,
        index_id: i64,
        old_name: &str,
        new_name: &str,
    ) -> Option<i64> {
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::RenameRollup(TableInfo::for_rollup_rename(
                db_id, table_id, index_id, old_name, new_name,
            ))
        })
    }

    /// MODIFY_TABLE_PROPERTY; `scope` captured before the change (sheet §1.3: the new
    /// config only governs later operations).
    pub(crate) fn binlog_modify_table_property(
        &mut self,
        scope: BinlogScope,
        db_id: i64,
        table_id: i64,
        properties: &[(String, String)],
    ) -> Option<i64> {
        let (db_name, table_name) = self.names_of(db_id, table_id);
        let assignments: Vec<String> = properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let sql = format!("SET ({})", assignments.join(","));
        let properties: BTreeMap<String, String> = properties.iter().cloned().collect();
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::ModifyTableProperty(ModifyTablePropertyOperationLog {
                db_id,
                table_id,
                ctl_name: INTERNAL_CATALOG.to_owned(),
                db_name,
                table_name,
                properties,
                sql,
            })
        })
    }

    /// ALTER_DATABASE_PROPERTY; `scope` captured before the change.
    pub(crate) fn binlog_alter_database_property(
        &mut self,
        scope: BinlogScope,
        db_id: i64,
        properties: &[(String, String)],
    ) -> Option<i64> {
        let db_name = self.databases.get(&db_id)?.name.clone();
        let properties: BTreeMap<String, String> = properties.iter().cloned().collect();
        self.emit(scope, db_id, Vec::new(), None, |_| {
            BinlogRecord::AlterDatabaseProperty(AlterDatabasePropertyInfo {
                db_id,
                db_name,
                properties,
            })
        })
    }

    /// RENAME_COLUMN, after the rename.
    pub(crate) fn binlog_rename_column(
        &mut self,
        db_id: i64,
        table_id: i64,
        old_name: &str,
        new_name: &str,
    ) -> Option<i64> {
        let olap = self.olap_of(db_id, table_id)?;
        let versions = BTreeMap::from([(olap.base_index.id, olap.base_index.schema_version)]);
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::RenameColumn(TableRenameColumnInfo {
                db_id,
                table_id,
                column_name: old_name.to_owned(),
                new_column_name: new_name.to_owned(),
                index_id_to_schema_version: versions,
            })
        })
    }

    /// MODIFY_COMMENT of one column (`column = Some`) or of the table.
    pub(crate) fn binlog_modify_comment(
        &mut self,
        db_id: i64,
        table_id: i64,
        column: Option<&str>,
        comment: &str,
    ) -> Option<i64> {
        let record = match column {
            Some(column) => ModifyCommentOperationLog {
                comment_type: CommentType::Column,
                db_id,
                table_id,
                column_comments: Some(BTreeMap::from([(column.to_owned(), comment.to_owned())])),
                table_comment: None,
            },
            None => ModifyCommentOperationLog {
                comment_type: CommentType::Table,
                db_id,
                table_id,
                column_comments: None,
                table_comment: Some(comment.to_owned()),
            },
        };
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::ModifyComment(record)
        })
    }

    /// RENAME_TABLE.
    pub(crate) fn binlog_rename_table(
        &mut self,
        db_id: i64,
        table_id: i64,
        old_name: &str,
        new_name: &str,
    ) -> Option<i64> {
        let scope = self.binlog_scope(db_id, &[table_id]);
        self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::RenameTable(TableInfo::for_table_rename(
                db_id, table_id, old_name, new_name,
            ))
        })
    }

    /// REPLACE_TABLE (`ALTER TABLE orig REPLACE WITH TABLE new`); `scope` captured before
    /// the change (a non-swap replace removes the original table).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn binlog_replace_table(
        &mut self,
        scope: BinlogScope,
        db_id: i64,
        orig: (i64, &str),
        new: (i64, &str),
        swap_table: bool,
        is_force: bool,
    ) -> Option<i64> {
        let (orig_table_id, orig_name) = orig;
        let (new_table_id, new_name) = new;
        let seq = self.emit(scope, db_id, vec![orig_table_id], None, |_| {
            BinlogRecord::ReplaceTable(ReplaceTableOperationLog {
                db_id,
                orig_table_id,
                orig_table_name: orig_name.to_owned(),
                new_table_id,
                new_table_name: new_name.to_owned(),
                swap_table,
                is_force,
            })
        })?;
        if !swap_table {
            self.binlog
                .note_dropped(db_id, DroppedKind::Table, &[orig_table_id], seq);
        }
        Some(seq)
    }

    /// MODIFY_VIEW_DEF, after the view's definition changed; `column_names` are the
    /// view's output columns.
    pub(crate) fn binlog_modify_view_def(
        &mut self,
        db_id: i64,
        view_id: i64,
        column_names: &[String],
    ) -> Option<i64> {
        let table = self.databases.get(&db_id)?.tables.get(&view_id)?;
        let TableKind::View(view) = &table.kind else {
            return None;
        };
        let inline_view_def = view.query.clone();
        let new_full_schema = column_names
            .iter()
            .map(|name| json!({ "name": name, "isAllowNull": true }))
            .collect();
        let scope = self.binlog_scope(db_id, &[view_id]);
        self.emit(scope, db_id, vec![view_id], None, |_| {
            BinlogRecord::ModifyViewDef(AlterViewInfo {
                db_id,
                table_id: view_id,
                inline_view_def,
                sql_mode: 0,
                new_full_schema,
            })
        })
    }

    /// TRUNCATE_TABLE of the whole table (`partitions = None`) or of named partitions;
    /// `old_partition_ids` are the partitions the truncate replaced by empty ones.
    pub(crate) fn binlog_truncate_table(
        &mut self,
        db_id: i64,
        table_id: i64,
        partitions: Option<&[String]>,
        old_partition_ids: &[i64],
    ) -> Option<i64> {
        let (db, table) = self.names_of(db_id, table_id);
        let raw_sql = partitions
            .map(|names| format!("PARTITIONS ({})", names.join(", ")))
            .unwrap_or_default();
        let scope = self.binlog_scope(db_id, &[table_id]);
        let seq = self.emit(scope, db_id, vec![table_id], None, |_| {
            BinlogRecord::TruncateTable(TruncateTableRecord {
                db_id,
                db,
                table_id,
                table,
                is_entire_table: partitions.is_none(),
                raw_sql,
            })
        })?;
        self.binlog
            .note_dropped(db_id, DroppedKind::Partition, old_partition_ids, seq);
        Some(seq)
    }

    /// DROP DATABASE: journaled without a binlog; the database's binlogs go with it.
    pub(crate) fn binlog_drop_database(&mut self, db_id: i64) {
        self.journal_op();
        self.binlog.drop_database(db_id);
    }
}

/// The serialised catalog partition inside ADD_PARTITION: id, name, version and the
/// distribution info the syncer reads (`distributionInfo` on 2.x, `di` on 3.0+).
/// A partition key as Doris's `PartitionKey` serializer writes it: one `[type, value]`
/// pair per partition column.
fn partition_key_json(key: &PartitionKey, types: &[ColumnType]) -> Json {
    Json::Array(
        key.0
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let type_name = types
                    .get(i)
                    .map(ColumnType::primitive_name)
                    .unwrap_or_default();
                match value {
                    PartitionKeyValue::MaxValue => json!([type_name, "MAXVALUE"]),
                    PartitionKeyValue::Value(v) => json!([type_name, v.to_text()]),
                }
            })
            .collect(),
    )
}

/// The `range` and `listPartitionItem` of an ADD_PARTITION record (Doris's
/// `PartitionPersistInfo`): the range as its two endpoints (`[{type, key}, {type, key}]`,
/// Guava bound types) and the list item as `{partitionKeys, isDefaultPartition}`; the one
/// a partition does not have is Doris's dummy (a closed range of empty keys / an empty
/// list).
fn partition_item_json(item: &PartitionItem, types: &[ColumnType]) -> (Json, Json) {
    let dummy_range = json!([{ "type": "CLOSED", "key": [] }, { "type": "CLOSED", "key": [] }]);
    let dummy_list = json!({ "partitionKeys": [], "isDefaultPartition": false });
    match item {
        PartitionItem::Whole => (dummy_range, dummy_list),
        PartitionItem::Range { lower, upper } => (
            json!([
                { "type": "CLOSED", "key": partition_key_json(lower, types) },
                { "type": "OPEN", "key": partition_key_json(upper, types) },
            ]),
            dummy_list,
        ),
        PartitionItem::List(keys) => (
            dummy_range,
            json!({
                "partitionKeys": keys
                    .iter()
                    .map(|k| partition_key_json(k, types))
                    .collect::<Vec<_>>(),
                "isDefaultPartition": keys.is_empty(),
            }),
        ),
    }
}

fn partition_json(partition: &Partition, flavor: BinlogFlavor) -> Json {
    let (kind, columns) = match &partition.distribution {
        Distribution::Hash { columns, .. } => ("HASH", columns.clone()),
        Distribution::Random { .. } => ("RANDOM", Vec::new()),
    };
    let distribution = json!({
        "type": kind,
        "bucketNum": partition.bucket_num,
        "distributionColumns": columns
            .iter()
            .map(|name| json!({ "name": name }))
            .collect::<Vec<_>>(),
    });
    let distribution_key = match flavor {
        BinlogFlavor::Doris21 => "distributionInfo",
        BinlogFlavor::Newest => "di",
    };
    let mut object = serde_json::Map::new();
    object.insert("id".into(), json!(partition.id));
    object.insert("name".into(), json!(partition.name));
    object.insert("state".into(), json!("NORMAL"));
    object.insert("visibleVersion".into(), json!(partition.visible_version));
    object.insert(
        "visibleVersionTime".into(),
        json!(partition.visible_version_time_ms),
    );
    object.insert(distribution_key.into(), distribution);
    Json::Object(object)
}
