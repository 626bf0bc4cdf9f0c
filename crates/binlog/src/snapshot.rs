//! The snapshot `job_info` document (Doris `BackupJobInfo`, sheet §5.4) and the
//! `extra_info` the syncer adds to it before a restore (§5.5).
//!
//! The syncer must hand `job_info` back to the target FE with every key it received, plus
//! `extra_info`. So [`BackupJobInfo`] keeps the whole JSON object and offers typed views of
//! the sections the syncer reads, rather than a struct that would drop what it does not
//! model.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::BinlogError;
use ccr_wire::secret::Secret;

/// Keys of the job_info object (Doris's spelling).
const KEY_NAME: &str = "name";
const KEY_DATABASE: &str = "database";
const KEY_DB_ID: &str = "id";
const KEY_BACKUP_TIME: &str = "backup_time";
const KEY_BACKUP_OBJECTS: &str = "backup_objects";
const KEY_NEW_BACKUP_OBJECTS: &str = "new_backup_objects";
const KEY_TABLET_BE_MAP: &str = "tablet_be_map";
const KEY_TABLET_SNAPSHOT_PATH_MAP: &str = "tablet_snapshot_path_map";
const KEY_TABLE_COMMIT_SEQ_MAP: &str = "table_commit_seq_map";
const KEY_EXTRA_INFO: &str = "extra_info";

/// A snapshot's `job_info`: the full JSON object as BACKUP wrote it, with typed accessors.
#[derive(Clone, PartialEq)]
pub struct BackupJobInfo {
    document: Map<String, Value>,
}

/// An OLAP table of the snapshot (`backup_objects` value).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupOlapTable {
    pub id: i64,
    /// Partition name → partition.
    pub partitions: BTreeMap<String, BackupPartition>,
}

/// A partition of a snapshot table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupPartition {
    pub id: i64,
    /// The partition's visible version at backup time; restore sets it on the target.
    pub version: i64,
    /// Index name → index; the base index is keyed by the table name.
    pub indexes: BTreeMap<String, BackupIndex>,
}

/// A materialized index of a snapshot partition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupIndex {
    pub id: i64,
    pub schema_hash: i64,
    /// Tablet id → snapshot file names.
    pub tablets: BTreeMap<i64, Vec<String>>,
    /// Tablet ids in bucket order; absent in old snapshots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tablets_order: Option<Vec<i64>>,
}

impl BackupIndex {
    /// Tablet ids in bucket order: `tablets_order` when present, else ascending tablet id
    /// (what old snapshots imply, since Doris allocates tablet ids in bucket order).
    pub fn tablet_ids_in_bucket_order(&self) -> Vec<i64> {
        match &self.tablets_order {
            Some(order) => order.clone(),
            None => self.tablets.keys().copied().collect(),
        }
    }
}

/// `new_backup_objects`: the non-OLAP objects of the snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NewBackupObjects {
    pub views: Vec<BackupView>,
    /// ODBC tables, kept raw (CCR does not replicate them).
    pub odbc_tables: Vec<Value>,
    /// ODBC resources, kept raw.
    pub odbc_resources: Vec<Value>,
}

/// A view of the snapshot (metadata only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupView {
    pub id: i64,
    pub name: String,
}

/// `extra_info`: how target BEs reach the source BEs to download snapshot files.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtraInfo {
    /// Backend id → address of every source BE, with its HTTP port.
    pub be_network_map: BTreeMap<i64, BeNetworkAddress>,
    /// The source cluster token (from getMasterToken); hidden from `Debug`.
    #[serde(serialize_with = "ccr_wire::secret::serialize_exposed")]
    pub token: Secret,
}

/// A source BE's host and HTTP port in `extra_info.be_network_map`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BeNetworkAddress {
    pub ip: String,
    pub port: i32,
}

/// Every section of a job_info a producer (the simulated FE) fills, in Doris's key
/// spelling; turned into a [`BackupJobInfo`] with [`BackupJobInfo::from_parts`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BackupJobInfoParts {
    pub name: String,
    pub database: String,
    pub id: i64,
    pub backup_time: i64,
    /// `ALL` or `METADATA_ONLY`.
    pub content: String,
    pub backup_objects: BTreeMap<String, BackupOlapTable>,
    pub new_backup_objects: NewBackupObjects,
    /// `"succeed"` for a usable snapshot.
    pub backup_result: String,
    pub meta_version: i32,
    pub major_version: i32,
    pub minor_version: i32,
    pub patch_version: i32,
    pub tablet_be_map: BTreeMap<i64, i64>,
    pub tablet_snapshot_path_map: BTreeMap<i64, String>,
    pub table_commit_seq_map: BTreeMap<i64, i64>,
}

impl BackupJobInfo {
    /// Parses `job_info` bytes (uncompressed JSON). Must be a JSON object.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, BinlogError> {
        let document = serde_json::from_slice::<Map<String, Value>>(bytes).map_err(|source| {
            BinlogError::InvalidJobInfo {
                section: None,
                source,
            }
        })?;
        Ok(BackupJobInfo { document })
    }

    /// Builds a job_info from typed parts (for producers).
    pub fn from_parts(parts: &BackupJobInfoParts) -> Result<Self, BinlogError> {
        let invalid = |source| BinlogError::InvalidJobInfo {
            section: None,
            source,
        };
        match serde_json::to_value(parts).map_err(invalid)? {
            Value::Object(document) => Ok(BackupJobInfo { document }),
            _ => Err(invalid(serde::ser::Error::custom(
                "job_info parts did not encode to a JSON object",
            ))),
        }
    }

    /// The JSON text, every key preserved (key order may differ from the input; the FE
    /// does not care, sheet §5.5).
    pub fn to_json_string(&self) -> String {
        // Display of a Value is its compact JSON and cannot fail.
        Value::Object(self.document.clone()).to_string()
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.to_json_string().into_bytes()
    }

    /// The whole document, for keys without a typed accessor.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.document
    }

    /// The snapshot label.
    pub fn name(&self) -> Option<&str> {
        self.document.get(KEY_NAME)?.as_str()
    }

    /// The source database name.
    pub fn database(&self) -> Option<&str> {
        self.document.get(KEY_DATABASE)?.as_str()
    }

    /// The source database id.
    pub fn db_id(&self) -> Option<i64> {
        self.document.get(KEY_DB_ID)?.as_i64()
    }

    pub fn backup_time(&self) -> Option<i64> {
        self.document.get(KEY_BACKUP_TIME)?.as_i64()
    }

    /// Table id → commit seq of the table's backup barrier: the cut point between what the
    /// snapshot contains and what incremental replay must apply (sheet §5.2, §7.2). Empty
    /// if the section is absent.
    pub fn table_commit_seq_map(&self) -> Result<BTreeMap<i64, i64>, BinlogError> {
        self.section(KEY_TABLE_COMMIT_SEQ_MAP)
    }

    /// Table name → OLAP table (partitions, indexes, tablets).
    pub fn backup_objects(&self) -> Result<BTreeMap<String, BackupOlapTable>, BinlogError> {
        self.section(KEY_BACKUP_OBJECTS)
    }

    /// Views and ODBC objects.
    pub fn new_backup_objects(&self) -> Result<NewBackupObjects, BinlogError> {
        self.section(KEY_NEW_BACKUP_OBJECTS)
    }

    /// Source tablet id → the source BE holding its snapshot.
    pub fn tablet_be_map(&self) -> Result<BTreeMap<i64, i64>, BinlogError> {
        self.section(KEY_TABLET_BE_MAP)
    }

    /// Source tablet id → snapshot directory on its BE.
    pub fn tablet_snapshot_path_map(&self) -> Result<BTreeMap<i64, String>, BinlogError> {
        self.section(KEY_TABLET_SNAPSHOT_PATH_MAP)
    }

    /// The name and content of the OLAP table with id `table_id`, if the snapshot has it.
    pub fn table_by_id(
        &self,
        table_id: i64,
    ) -> Result<Option<(String, BackupOlapTable)>, BinlogError> {
        Ok(self
            .backup_objects()?
            .into_iter()
            .find(|(_, table)| table.id == table_id))
    }

    /// The `extra_info` a syncer added, if any.
    pub fn extra_info(&self) -> Result<Option<ExtraInfo>, BinlogError> {
        match self.document.get(KEY_EXTRA_INFO) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => ExtraInfo::deserialize(value).map(Some).map_err(|source| {
                BinlogError::InvalidJobInfo {
                    section: Some(KEY_EXTRA_INFO),
                    source,
                }
            }),
        }
    }

    /// Sets (or replaces) `extra_info`, leaving every other key untouched.
    pub fn set_extra_info(&mut self, extra_info: &ExtraInfo) -> Result<(), BinlogError> {
        let value =
            serde_json::to_value(extra_info).map_err(|source| BinlogError::InvalidJobInfo {
                section: Some(KEY_EXTRA_INFO),
                source,
            })?;
        self.document.insert(KEY_EXTRA_INFO.to_owned(), value);
        Ok(())
    }

    /// Deserialises one section; absent or null reads as empty.
    fn section<T: DeserializeOwned + Default>(&self, key: &'static str) -> Result<T, BinlogError> {
        match self.document.get(key) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(value) => T::deserialize(value).map_err(|source| BinlogError::InvalidJobInfo {
                section: Some(key),
                source,
            }),
        }
    }
}

/// Shows identity and size only: the document carries the source cluster token once
/// `extra_info` is set, and can be megabytes long.
impl fmt::Debug for BackupJobInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupJobInfo")
            .field("name", &self.name())
            .field("database", &self.database())
            .field("db_id", &self.db_id())
            .field("keys", &self.document.len())
            .field(
                "has_extra_info",
                &self.document.contains_key(KEY_EXTRA_INFO),
            )
            .finish()
    }
}

/// Snapshot cut-over rule for DB sync (sheet §7.2): a binlog of `table_id` at `commit_seq`
/// is already contained in the snapshot iff the table is in the map and `commit_seq` is at
/// or below its cut point. Tables absent from the map (created after the backup) are never
/// covered.
pub fn covered_by_snapshot(
    table_commit_seq_map: &BTreeMap<i64, i64>,
    table_id: i64,
    commit_seq: i64,
) -> bool {
    table_commit_seq_map
        .get(&table_id)
        .is_some_and(|cut_point| commit_seq <= *cut_point)
}
