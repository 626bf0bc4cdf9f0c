//! Payloads of the metadata (DDL) binlog types, sheet §4.2. One struct per Doris class;
//! field names in `#[serde(rename)]` are Doris's Gson names, verbatim.
//!
//! Evidence: types tagged [V] in the sheet were checked against Doris sources by the sheet's
//! authors; keys tagged [S] are known only from what the Go syncer reads, and are marked so
//! on the field or type below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::doris_enums::{AlterJobType, CommentType, DistributionType, JobState, TableType};
use super::BinlogType;

fn minus_one() -> i64 {
    -1
}

// ---------------------------------------------------------------------------------------------
// ADD_PARTITION (1)
// ---------------------------------------------------------------------------------------------

/// `AddPartitionRecord` (ADD_PARTITION). Carries the whole serialised catalog partition
/// (kept raw) and a ready-made `ADD PARTITION` clause in `sql`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AddPartitionRecord {
    #[serde(rename = "commitSeq")]
    pub commit_seq: i64,
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    /// The serialised catalog `Partition`; see [`AddPartitionRecord::distribution`].
    #[serde(rename = "partition", skip_serializing_if = "Option::is_none")]
    pub partition: Option<Value>,
    /// Range partition bounds in Doris's internal form (the syncer does not use it).
    #[serde(rename = "range", skip_serializing_if = "Option::is_none")]
    pub range: Option<Value>,
    /// List partition item in Doris's internal form (the syncer does not use it).
    #[serde(rename = "listPartitionItem", skip_serializing_if = "Option::is_none")]
    pub list_partition_item: Option<Value>,
    #[serde(rename = "dataProperty", skip_serializing_if = "Option::is_none")]
    pub data_property: Option<Value>,
    #[serde(rename = "replicaAlloc", skip_serializing_if = "Option::is_none")]
    pub replica_alloc: Option<Value>,
    #[serde(rename = "isInMemory")]
    pub is_in_memory: bool,
    #[serde(rename = "isTempPartition")]
    pub is_temp_partition: bool,
    #[serde(rename = "isMutable")]
    pub is_mutable: bool,
    /// ``ADD [TEMPORARY ]PARTITION `name` VALUES ... ("version_info" = "v");`` — no
    /// `DISTRIBUTED BY` clause (the syncer appends one from [`AddPartitionRecord::distribution`]).
    #[serde(rename = "sql")]
    pub sql: String,
}

/// Distribution of a partition as found inside [`AddPartitionRecord::partition`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionDistribution {
    pub distribution_type: DistributionType,
    pub bucket_num: i32,
    /// Names of the hash distribution columns (empty for RANDOM).
    pub column_names: Vec<String>,
}

/// Key of the distribution info inside a serialised partition: 2.0/2.1 use the long name,
/// 3.0+ renamed catalog fields to short ones.
const DISTRIBUTION_KEY_2_X: &str = "distributionInfo";
const DISTRIBUTION_KEY_3_0: &str = "di";

impl AddPartitionRecord {
    /// Reads the distribution of the added partition: `distributionInfo` (2.x) or `di`
    /// (3.0+), then `type`, `bucketNum` and the `name` of each `distributionColumns` entry.
    /// The inner key names of the 3.0 form are assumed unchanged [U, sheet §9 item 6].
    /// `None` if the partition carries no recognisable distribution info.
    pub fn distribution(&self) -> Option<PartitionDistribution> {
        let partition = self.partition.as_ref()?.as_object()?;
        let info = partition
            .get(DISTRIBUTION_KEY_2_X)
            .or_else(|| partition.get(DISTRIBUTION_KEY_3_0))?
            .as_object()?;
        let distribution_type = DistributionType::from(info.get("type")?.as_str()?);
        let bucket_num = info
            .get("bucketNum")
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0);
        let column_names = info
            .get("distributionColumns")
            .and_then(Value::as_array)
            .map(|columns| {
                columns
                    .iter()
                    .filter_map(|column| column.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Some(PartitionDistribution {
            distribution_type,
            bucket_num,
            column_names,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// CREATE_TABLE (2)
// ---------------------------------------------------------------------------------------------

/// `CreateTableRecord` (CREATE_TABLE): the created table/view with its full DDL.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateTableRecord {
    #[serde(rename = "commitSeq")]
    pub commit_seq: i64,
    /// `-1` if the database vanished before the record was written.
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    /// Added in 2.0.3; empty when read from older FEs.
    #[serde(rename = "dbName")]
    pub db_name: String,
    /// Added in 2.0.3; empty when read from older FEs.
    #[serde(rename = "tableName")]
    pub table_name: String,
    #[serde(rename = "tableType")]
    pub table_type: TableType,
    /// `CREATE TABLE`/`CREATE VIEW` as `SHOW CREATE TABLE` prints it; empty if Doris could
    /// not render it.
    #[serde(rename = "sql")]
    pub sql: String,
}

impl CreateTableRecord {
    pub fn is_view(&self) -> bool {
        self.table_type == TableType::View
    }
}

// ---------------------------------------------------------------------------------------------
// DROP_PARTITION (3)
// ---------------------------------------------------------------------------------------------

/// `DropPartitionInfo` (DROP_PARTITION).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DropPartitionInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    /// Partition id; the key was added mid-2.x and reads as `-1` when absent.
    #[serde(rename = "pid", default = "minus_one")]
    pub partition_id: i64,
    #[serde(rename = "partitionName")]
    pub partition_name: String,
    #[serde(rename = "isTempPartition")]
    pub is_temp_partition: bool,
    #[serde(rename = "forceDrop")]
    pub force_drop: bool,
    #[serde(rename = "recycleTime")]
    pub recycle_time: i64,
    /// ``DROP [TEMPORARY ]PARTITION `name`[ FORCE]``
    #[serde(rename = "sql")]
    pub sql: String,
    #[serde(rename = "version")]
    pub version: i64,
    #[serde(rename = "versionTime")]
    pub version_time: i64,
}

impl Default for DropPartitionInfo {
    fn default() -> Self {
        DropPartitionInfo {
            db_id: 0,
            table_id: 0,
            partition_id: -1,
            partition_name: String::new(),
            is_temp_partition: false,
            force_drop: false,
            recycle_time: 0,
            sql: String::new(),
            version: 0,
            version_time: 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DROP_TABLE (4)
// ---------------------------------------------------------------------------------------------

/// `DropTableRecord` (DROP_TABLE).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DropTableRecord {
    #[serde(rename = "commitSeq")]
    pub commit_seq: i64,
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "tableName")]
    pub table_name: String,
    /// ``DROP TABLE IF EXISTS `name` ``
    #[serde(rename = "rawSql")]
    pub raw_sql: String,
    /// Whether the dropped object was a view. Newer Doris [S: key known from the syncer
    /// only]; reads `false` when absent.
    #[serde(rename = "isView")]
    pub is_view: bool,
}

// ---------------------------------------------------------------------------------------------
// ALTER_JOB (5)
// ---------------------------------------------------------------------------------------------

/// `AlterJobRecord` (ALTER_JOB): one state change of a schema-change or rollup job.
///
/// Divergence from the sheet: the sheet lists `baseIndexId`, but the Doris source read while
/// writing this (`AlterJobRecord.java`) serialises the field as `baseIndexid` (lower-case
/// `i`). We write `baseIndexid` and accept both on read. The rollup ids are Java `long`s, so
/// Doris writes them (as 0) for schema-change jobs too.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlterJobRecord {
    #[serde(rename = "type")]
    pub job_type: AlterJobType,
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "tableName")]
    pub table_name: String,
    #[serde(rename = "jobId")]
    pub job_id: i64,
    #[serde(rename = "jobState")]
    pub job_state: JobState,
    /// The original ALTER statement (empty for rollups).
    #[serde(rename = "rawSql")]
    pub raw_sql: String,
    /// Schema change only: shadow index id → origin index id (added late 2.x / 3.0).
    #[serde(rename = "iim", skip_serializing_if = "Option::is_none")]
    pub index_id_map: Option<BTreeMap<i64, i64>>,
    #[serde(rename = "rollupIndexId")]
    pub rollup_index_id: i64,
    /// Rollup only (note Doris's `rollUp` capitalisation).
    #[serde(rename = "rollUpIndexName", skip_serializing_if = "Option::is_none")]
    pub rollup_index_name: Option<String>,
    #[serde(rename = "baseIndexid", alias = "baseIndexId")]
    pub base_index_id: i64,
    /// Rollup only.
    #[serde(rename = "baseIndexName", skip_serializing_if = "Option::is_none")]
    pub base_index_name: Option<String>,
}

impl AlterJobRecord {
    pub fn is_schema_change(&self) -> bool {
        self.job_type == AlterJobType::SchemaChange
    }

    pub fn is_rollup(&self) -> bool {
        self.job_type == AlterJobType::Rollup
    }

    pub fn is_finished(&self) -> bool {
        self.job_state == JobState::Finished
    }

    pub fn is_cancelled(&self) -> bool {
        self.job_state == JobState::Cancelled
    }

    /// Shadow index ids of a schema change (they receive loads before the job finishes and
    /// must be filtered out of UPSERT `indexIds` on replay).
    pub fn shadow_index_ids(&self) -> Vec<i64> {
        self.index_id_map
            .as_ref()
            .map(|map| map.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Origin index ids of a schema change (dropped when it finishes).
    pub fn origin_index_ids(&self) -> Vec<i64> {
        self.index_id_map
            .as_ref()
            .map(|map| map.values().copied().collect())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// MODIFY_TABLE_ADD_OR_DROP_COLUMNS (6)
// ---------------------------------------------------------------------------------------------

/// `TableAddOrDropColumnsInfo` (light schema change). Column and index objects are catalog
/// structures kept raw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableAddOrDropColumnsInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    /// Index id → that index's full column list after the change.
    #[serde(rename = "indexSchemaMap")]
    pub index_schema_map: BTreeMap<i64, Vec<Value>>,
    #[serde(rename = "indexes")]
    pub indexes: Vec<Value>,
    #[serde(rename = "jobId")]
    pub job_id: i64,
    /// The ALTER statement, e.g. ``ALTER TABLE `db`.`t` ADD COLUMN `c` int NULL COMMENT ""``
    /// (2.0 writes the db as `default_cluster:db`). [S: key known from the syncer only]
    #[serde(rename = "rawSql")]
    pub raw_sql: String,
}

// ---------------------------------------------------------------------------------------------
// ALTER_DATABASE_PROPERTY (8), MODIFY_TABLE_PROPERTY (9)
// ---------------------------------------------------------------------------------------------

/// `AlterDatabasePropertyInfo` (ALTER_DATABASE_PROPERTY). Database-level: the binlog has
/// no `table_ids`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlterDatabasePropertyInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "dbName")]
    pub db_name: String,
    #[serde(rename = "properties")]
    pub properties: BTreeMap<String, String>,
}

/// `ModifyTablePropertyOperationLog` (MODIFY_TABLE_PROPERTY).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModifyTablePropertyOperationLog {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "ctlName")]
    pub ctl_name: String,
    #[serde(rename = "dbName")]
    pub db_name: String,
    #[serde(rename = "tableName")]
    pub table_name: String,
    #[serde(rename = "properties")]
    pub properties: BTreeMap<String, String>,
    /// `SET (k=v,k2=v2)`, keys and values unquoted.
    #[serde(rename = "sql")]
    pub sql: String,
}

// ---------------------------------------------------------------------------------------------
// BARRIER (10)
// ---------------------------------------------------------------------------------------------

/// `BarrierLog` (BARRIER): either a backup cut point for one table, or (2.1-line FEs) a
/// wrapper around a binlog of a newer type (sheet §4.3); see
/// [`super::Binlog::unwrap_barrier`].
///
/// `binlogType` is a Java `int`, so Doris writes it (as 0) even for plain barriers; whether
/// a barrier wraps something is decided by the presence of `binlog`, as Doris does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BarrierLog {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    /// Absent on wrappers.
    #[serde(rename = "dbName", skip_serializing_if = "Option::is_none")]
    pub db_name: Option<String>,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    /// Absent on wrappers.
    #[serde(rename = "tableName", skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    /// TBinlogType id of the wrapped binlog.
    #[serde(rename = "binlogType")]
    pub binlog_type: i32,
    /// The wrapped binlog's JSON payload.
    #[serde(rename = "binlog", skip_serializing_if = "Option::is_none")]
    pub binlog: Option<String>,
}

impl BarrierLog {
    /// The barrier BACKUP journals for one table (its commit seq is that table's cut point).
    pub fn for_table(db_id: i64, db_name: &str, table_id: i64, table_name: &str) -> Self {
        BarrierLog {
            db_id,
            db_name: Some(db_name.to_owned()),
            table_id,
            table_name: Some(table_name.to_owned()),
            binlog_type: 0,
            binlog: None,
        }
    }

    /// A 2.1-style wrapper carrying `inner_json`, the payload of a binlog of `inner_type`.
    pub fn wrapping(db_id: i64, table_id: i64, inner_type: BinlogType, inner_json: String) -> Self {
        BarrierLog {
            db_id,
            db_name: None,
            table_id,
            table_name: None,
            binlog_type: inner_type.id(),
            binlog: Some(inner_json),
        }
    }

    /// The type of the wrapped binlog, or `None` for a plain barrier.
    pub fn wrapped_type(&self) -> Option<BinlogType> {
        self.binlog
            .as_ref()
            .map(|_| BinlogType::from(self.binlog_type))
    }
}

// ---------------------------------------------------------------------------------------------
// MODIFY_PARTITIONS (11)
// ---------------------------------------------------------------------------------------------

/// `BatchModifyPartitionsInfo` (MODIFY_PARTITIONS); a single `MODIFY PARTITION` is also
/// written in this batch form. Inner keys are [S] (the wrapper is [V]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchModifyPartitionsInfo {
    #[serde(rename = "infos")]
    pub infos: Vec<ModifyPartitionInfo>,
}

/// `ModifyPartitionInfo`: the new properties of one partition. [S]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModifyPartitionInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "partitionId")]
    pub partition_id: i64,
    #[serde(rename = "dataProperty", skip_serializing_if = "Option::is_none")]
    pub data_property: Option<DataProperty>,
    #[serde(rename = "replicationNum")]
    pub replication_num: i32,
    #[serde(rename = "isInMemory")]
    pub is_in_memory: bool,
    /// `ReplicaAllocation` (`{"allocMap": {...}}`), kept raw.
    #[serde(rename = "replicaAlloc", skip_serializing_if = "Option::is_none")]
    pub replica_alloc: Option<Value>,
    #[serde(rename = "storagePolicy")]
    pub storage_policy: String,
    #[serde(rename = "tableProperties", skip_serializing_if = "Option::is_none")]
    pub table_properties: Option<BTreeMap<String, String>>,
    #[serde(rename = "partitionName")]
    pub partition_name: String,
    #[serde(rename = "isTempPartition")]
    pub is_temp_partition: bool,
}

/// `DataProperty`: storage medium and cooldown of a partition. [S]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DataProperty {
    /// `"HDD"` or `"SSD"`.
    #[serde(rename = "storageMedium")]
    pub storage_medium: String,
    #[serde(rename = "cooldownTimeMs")]
    pub cooldown_time_ms: i64,
    #[serde(rename = "storagePolicy")]
    pub storage_policy: String,
    #[serde(rename = "isMutable")]
    pub is_mutable: bool,
    #[serde(rename = "storageMediumSpecified")]
    pub storage_medium_specified: bool,
}

// ---------------------------------------------------------------------------------------------
// REPLACE_PARTITIONS (12)
// ---------------------------------------------------------------------------------------------

/// `ReplacePartitionOperationLog` (REPLACE_PARTITIONS): formal partitions replaced by
/// temporary ones (also what INSERT OVERWRITE does).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplacePartitionOperationLog {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "dbName")]
    pub db_name: String,
    #[serde(rename = "tblId")]
    pub table_id: i64,
    #[serde(rename = "tblName")]
    pub table_name: String,
    /// Formal partitions being replaced.
    #[serde(rename = "partitions")]
    pub partitions: Vec<String>,
    /// Temporary partitions replacing them.
    #[serde(rename = "tempPartitions")]
    pub temp_partitions: Vec<String>,
    #[serde(rename = "strictRange")]
    pub strict_range: bool,
    /// True: the temporary partitions keep their own names.
    #[serde(rename = "useTempPartitionName")]
    pub use_temp_partition_name: bool,
    #[serde(rename = "version")]
    pub version: i64,
    #[serde(rename = "versionTime")]
    pub version_time: i64,
    #[serde(rename = "force")]
    pub force: bool,
}

impl ReplacePartitionOperationLog {
    /// Whether the replaced partitions keep their names and ranges, so that a partial
    /// snapshot of `partitions` reproduces the result on the target (sheet §4.1); otherwise
    /// only a full sync does.
    pub fn allows_partial_sync(&self) -> bool {
        self.strict_range && !self.use_temp_partition_name
    }
}

// ---------------------------------------------------------------------------------------------
// TRUNCATE_TABLE (13)
// ---------------------------------------------------------------------------------------------

/// `TruncateTableRecord` (TRUNCATE_TABLE).
///
/// The newest FE also records the ids of the truncated (old) partitions, under a key the
/// sheet could not verify [U, sheet §9 item 5]; it is not modelled and is ignored on read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TruncateTableRecord {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    /// Database name (`default_cluster:`-prefixed on 2.0).
    #[serde(rename = "db")]
    pub db: String,
    #[serde(rename = "tblId")]
    pub table_id: i64,
    /// Table name.
    #[serde(rename = "table")]
    pub table: String,
    #[serde(rename = "isEntireTable")]
    pub is_entire_table: bool,
    /// `""` for the whole table, or a clause such as `PARTITIONS (p1, p2)`.
    #[serde(rename = "rawSql")]
    pub raw_sql: String,
}

// ---------------------------------------------------------------------------------------------
// RENAME_TABLE (14), RENAME_ROLLUP (21), RENAME_PARTITION (22), MODIFY_DISTRIBUTION_TYPE (26)
// ---------------------------------------------------------------------------------------------

/// `TableInfo`: the short-keyed record of renames and of the distribution-type change.
///
/// Doris fills the ids and names a use does not need with `-1` and `""` (its factory
/// methods, read in `TableInfo.java`; not on the sheet), so a rename table also carries
/// `"ind": -1, "p": -1, "nR": "", "oR": "", "nP": "", "oP": ""`. The constructors below
/// produce exactly those shapes. Old-name keys are missing in older FEs; the accessors
/// (`new_table()`, `old_table()`, ...) treat missing and empty alike.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableInfo {
    #[serde(rename = "db")]
    pub db_id: i64,
    #[serde(rename = "tb")]
    pub table_id: i64,
    /// Rollup index id (rename rollup).
    #[serde(rename = "ind")]
    pub index_id: i64,
    /// Partition id (rename partition).
    #[serde(rename = "p")]
    pub partition_id: i64,
    #[serde(rename = "nT", skip_serializing_if = "Option::is_none")]
    pub new_table_name: Option<String>,
    #[serde(rename = "oT", skip_serializing_if = "Option::is_none")]
    pub old_table_name: Option<String>,
    #[serde(rename = "nR", skip_serializing_if = "Option::is_none")]
    pub new_rollup_name: Option<String>,
    #[serde(rename = "oR", skip_serializing_if = "Option::is_none")]
    pub old_rollup_name: Option<String>,
    #[serde(rename = "nP", skip_serializing_if = "Option::is_none")]
    pub new_partition_name: Option<String>,
    #[serde(rename = "oP", skip_serializing_if = "Option::is_none")]
    pub old_partition_name: Option<String>,
}

/// Id Doris writes for an index or partition a `TableInfo` use does not involve.
const UNUSED_ID: i64 = -1;

fn non_empty(name: &Option<String>) -> Option<&str> {
    name.as_deref().filter(|name| !name.is_empty())
}

impl TableInfo {
    /// RENAME_TABLE, as Doris writes it.
    pub fn for_table_rename(db_id: i64, table_id: i64, old_name: &str, new_name: &str) -> Self {
        Self::with_names(
            db_id,
            table_id,
            UNUSED_ID,
            UNUSED_ID,
            [new_name, old_name, "", "", "", ""],
        )
    }

    /// RENAME_ROLLUP, as Doris writes it.
    pub fn for_rollup_rename(
        db_id: i64,
        table_id: i64,
        index_id: i64,
        old_name: &str,
        new_name: &str,
    ) -> Self {
        Self::with_names(
            db_id,
            table_id,
            index_id,
            UNUSED_ID,
            ["", "", new_name, old_name, "", ""],
        )
    }

    /// RENAME_PARTITION, as Doris writes it.
    pub fn for_partition_rename(
        db_id: i64,
        table_id: i64,
        partition_id: i64,
        old_name: &str,
        new_name: &str,
    ) -> Self {
        Self::with_names(
            db_id,
            table_id,
            UNUSED_ID,
            partition_id,
            ["", "", "", "", new_name, old_name],
        )
    }

    /// MODIFY_DISTRIBUTION_TYPE, as Doris writes it: new names empty, old names unset.
    pub fn for_modify_distribution(db_id: i64, table_id: i64) -> Self {
        TableInfo {
            db_id,
            table_id,
            index_id: UNUSED_ID,
            partition_id: UNUSED_ID,
            new_table_name: Some(String::new()),
            new_rollup_name: Some(String::new()),
            new_partition_name: Some(String::new()),
            ..TableInfo::default()
        }
    }

    /// `names` = [nT, oT, nR, oR, nP, oP].
    fn with_names(
        db_id: i64,
        table_id: i64,
        index_id: i64,
        partition_id: i64,
        names: [&str; 6],
    ) -> Self {
        let [new_table, old_table, new_rollup, old_rollup, new_partition, old_partition] =
            names.map(|name| Some(name.to_owned()));
        TableInfo {
            db_id,
            table_id,
            index_id,
            partition_id,
            new_table_name: new_table,
            old_table_name: old_table,
            new_rollup_name: new_rollup,
            old_rollup_name: old_rollup,
            new_partition_name: new_partition,
            old_partition_name: old_partition,
        }
    }

    pub fn new_table(&self) -> Option<&str> {
        non_empty(&self.new_table_name)
    }

    pub fn old_table(&self) -> Option<&str> {
        non_empty(&self.old_table_name)
    }

    pub fn new_rollup(&self) -> Option<&str> {
        non_empty(&self.new_rollup_name)
    }

    pub fn old_rollup(&self) -> Option<&str> {
        non_empty(&self.old_rollup_name)
    }

    pub fn new_partition(&self) -> Option<&str> {
        non_empty(&self.new_partition_name)
    }

    pub fn old_partition(&self) -> Option<&str> {
        non_empty(&self.old_partition_name)
    }
}

// ---------------------------------------------------------------------------------------------
// RENAME_COLUMN (15), MODIFY_COMMENT (16), MODIFY_VIEW_DEF (17), REPLACE_TABLE (18)
// ---------------------------------------------------------------------------------------------

/// `TableRenameColumnInfo` (RENAME_COLUMN).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableRenameColumnInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "colName")]
    pub column_name: String,
    #[serde(rename = "newColName")]
    pub new_column_name: String,
    /// Index id → schema version after the rename.
    #[serde(rename = "indexIdToSchemaVersion")]
    pub index_id_to_schema_version: BTreeMap<i64, i32>,
}

/// `ModifyCommentOperationLog` (MODIFY_COMMENT): column comments or the table comment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModifyCommentOperationLog {
    #[serde(rename = "type")]
    pub comment_type: CommentType,
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tblId")]
    pub table_id: i64,
    /// Column name → new comment (COLUMN only).
    #[serde(rename = "colToComment", skip_serializing_if = "Option::is_none")]
    pub column_comments: Option<BTreeMap<String, String>>,
    /// New table comment (TABLE only).
    #[serde(rename = "tblComment", skip_serializing_if = "Option::is_none")]
    pub table_comment: Option<String>,
}

/// `AlterViewInfo` (MODIFY_VIEW_DEF).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlterViewInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    /// The view's id.
    #[serde(rename = "tableId")]
    pub table_id: i64,
    /// The view's SELECT, fully qualified as `` `internal`.`db`.`tbl` ``.
    #[serde(rename = "inlineViewDef")]
    pub inline_view_def: String,
    #[serde(rename = "sqlMode")]
    pub sql_mode: i64,
    /// The view's column list (catalog column objects, raw).
    #[serde(rename = "newFullSchema")]
    pub new_full_schema: Vec<Value>,
}

/// `ReplaceTableOperationLog` (REPLACE_TABLE): `ALTER TABLE orig REPLACE WITH TABLE new`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplaceTableOperationLog {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    /// The table being replaced (the statement's target).
    #[serde(rename = "origTblId")]
    pub orig_table_id: i64,
    #[serde(rename = "origTblName")]
    pub orig_table_name: String,
    /// The replacing table's **id**: Doris stores it under the misleading key `newTblName`.
    #[serde(rename = "newTblName")]
    pub new_table_id: i64,
    /// The replacing table's name.
    #[serde(rename = "actualNewTblName")]
    pub new_table_name: String,
    /// True: the two tables swap names; false: the original is dropped.
    #[serde(rename = "swapTable")]
    pub swap_table: bool,
    #[serde(rename = "isForce")]
    pub is_force: bool,
}

// ---------------------------------------------------------------------------------------------
// MODIFY_TABLE_ADD_OR_DROP_INVERTED_INDICES (19), INDEX_CHANGE_JOB (20) — keys [S]
// ---------------------------------------------------------------------------------------------

/// A catalog `Index` (inverted / bitmap / bloom filter / ngram index definition).
///
/// 3.0+ writes short keys (`i`, `in`, `c`, `it`, `pt`, `ct`, `cui`), 2.x long ones
/// (`indexId`, `indexName`, ...). We write the short (newest) form and read both. [S]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexDefinition {
    #[serde(rename = "i", alias = "indexId")]
    pub index_id: i64,
    #[serde(rename = "in", alias = "indexName")]
    pub index_name: String,
    #[serde(rename = "c", alias = "columns")]
    pub columns: Vec<String>,
    /// `INVERTED`, `BITMAP`, `BLOOMFILTER` or `NGRAM_BF`.
    #[serde(rename = "it", alias = "indexType")]
    pub index_type: String,
    #[serde(rename = "pt", alias = "properties")]
    pub properties: BTreeMap<String, String>,
    #[serde(rename = "ct", alias = "comment")]
    pub comment: String,
    #[serde(rename = "cui", alias = "columnUniqueIds")]
    pub column_unique_ids: Vec<i32>,
}

/// `TableAddOrDropInvertedIndicesInfo` (light add/drop of inverted indexes). All keys [S].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableAddOrDropInvertedIndicesInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "isDropInvertedIndex")]
    pub is_drop_inverted_index: bool,
    #[serde(rename = "rawSql")]
    pub raw_sql: String,
    /// The table's full index list after the change.
    #[serde(rename = "indexes")]
    pub indexes: Vec<IndexDefinition>,
    /// The indexes added or dropped.
    #[serde(rename = "alterInvertedIndexes")]
    pub alter_inverted_indexes: Vec<IndexDefinition>,
}

/// `IndexChangeJob` (INDEX_CHANGE_JOB): one state change of an inverted-index build job, per
/// partition. All keys [S].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexChangeJob {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "tableName")]
    pub table_name: String,
    #[serde(rename = "partitionId")]
    pub partition_id: i64,
    #[serde(rename = "partitionName")]
    pub partition_name: String,
    #[serde(rename = "jobState")]
    pub job_state: JobState,
    #[serde(rename = "errMsg")]
    pub err_msg: String,
    #[serde(rename = "createTimeMs")]
    pub create_time_ms: i64,
    #[serde(rename = "finishedTimeMs")]
    pub finished_time_ms: i64,
    #[serde(rename = "isDropOp")]
    pub is_drop_op: bool,
    #[serde(rename = "originIndexId")]
    pub origin_index_id: i64,
    #[serde(rename = "timeoutMs")]
    pub timeout_ms: i64,
    #[serde(rename = "alterInvertedIndexes")]
    pub alter_inverted_indexes: Vec<IndexDefinition>,
}

// ---------------------------------------------------------------------------------------------
// DROP_ROLLUP (23), RECOVER_INFO (24), MODIFY_DISTRIBUTION_BUCKET_NUM (25)
// ---------------------------------------------------------------------------------------------

/// `DropInfo` (DROP_ROLLUP).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DropInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "tableName")]
    pub table_name: String,
    #[serde(rename = "indexId")]
    pub index_id: i64,
    /// The dropped rollup's name (newer Doris; it writes no binlog when the name is empty).
    #[serde(rename = "indexName")]
    pub index_name: String,
    #[serde(rename = "forceDrop")]
    pub force_drop: bool,
    #[serde(rename = "recycleTime")]
    pub recycle_time: i64,
    #[serde(rename = "deleteTabletWatermarkTxnId")]
    pub delete_tablet_watermark_txn_id: i64,
}

/// `RecoverInfo` (RECOVER_INFO): a table or partition recovered from the recycle bin.
///
/// `tableName`/`partitionName` exist in newer FEs only [S]. Whether Doris omits unset name
/// strings is not known; we always write them (empty when unset).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RecoverInfo {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "newDbName")]
    pub new_db_name: String,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "tableName")]
    pub table_name: String,
    #[serde(rename = "newTableName")]
    pub new_table_name: String,
    /// `-1` for a table recovery.
    #[serde(rename = "partitionId")]
    pub partition_id: i64,
    #[serde(rename = "partitionName")]
    pub partition_name: String,
    #[serde(rename = "newPartitionName")]
    pub new_partition_name: String,
}

impl RecoverInfo {
    /// A whole table was recovered (as opposed to one partition): partition id `-1`, or no
    /// partition name at all (older FEs lack `partitionName`, so `newPartitionName` counts).
    pub fn is_table_recovery(&self) -> bool {
        self.partition_id == -1
            || (self.partition_name.is_empty() && self.new_partition_name.is_empty())
    }
}

/// `ModifyTableDefaultDistributionBucketNumOperationLog` (MODIFY_DISTRIBUTION_BUCKET_NUM):
/// the default bucket count for new partitions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ModifyTableDefaultDistributionBucketNumOperationLog {
    #[serde(rename = "dbId")]
    pub db_id: i64,
    #[serde(rename = "tableId")]
    pub table_id: i64,
    #[serde(rename = "type")]
    pub distribution_type: DistributionType,
    #[serde(rename = "autoBucket")]
    pub auto_bucket: bool,
    #[serde(rename = "bucketNum")]
    pub bucket_num: i32,
    /// The distribution columns as one string.
    #[serde(rename = "columnsName")]
    pub columns_name: String,
}
