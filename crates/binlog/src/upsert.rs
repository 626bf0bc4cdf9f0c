//! UPSERT (0): a load transaction became visible on the source (sheet §4.2 UpsertRecord).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `UpsertRecord`: the tables, partitions and indexes a visible transaction wrote, with the
/// partition versions it created. Those versions are the `binlog_version`s the target BEs
/// ingest (sheet §6).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UpsertRecord {
    #[serde(rename = "commitSeq")]
    pub commit_seq: i64,
    #[serde(rename = "txnId")]
    pub txn_id: i64,
    /// Transaction finish time, ms since epoch (Doris spells the key with a capital `S`).
    #[serde(rename = "timeStamp")]
    pub time_stamp: i64,
    #[serde(rename = "label")]
    pub label: String,
    #[serde(rename = "dbId")]
    pub db_id: i64,
    /// Table id → what the transaction wrote to it.
    #[serde(rename = "tableRecords")]
    pub table_records: BTreeMap<i64, TableRecord>,
    /// Sub-transaction ids; only present for multi-statement "txn insert" (newer Doris).
    #[serde(rename = "stids", skip_serializing_if = "Option::is_none")]
    pub stids: Option<Vec<i64>>,
}

/// `UpsertRecord.TableRecord`: one table's share of the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TableRecord {
    #[serde(rename = "partitionRecords")]
    pub partition_records: Vec<PartitionRecord>,
    /// Materialized indexes that received data: base and rollups, and during a schema change
    /// possibly shadow indexes the target does not have. Absent in early 2.0 records.
    #[serde(rename = "indexIds")]
    pub index_ids: Vec<i64>,
}

/// `UpsertRecord.TableRecord.PartitionRecord`: one partition written by the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartitionRecord {
    #[serde(rename = "partitionId")]
    pub partition_id: i64,
    /// The partition's range string (sheet §2.6): the key that pairs source and target
    /// partitions; `""` for unpartitioned tables.
    #[serde(rename = "range")]
    pub range: String,
    /// The partition version this transaction created on the source.
    #[serde(rename = "version")]
    pub version: i64,
    #[serde(rename = "isTempPartition")]
    pub is_temp_partition: bool,
    /// Sub-transaction id, `-1` for ordinary loads. Written by Doris versions that know
    /// sub-transactions (a Java `long`, so always present there); older records lack it and
    /// read as `-1`. [U: first Doris release emitting it]
    #[serde(rename = "stid")]
    pub stid: i64,
}

impl Default for PartitionRecord {
    fn default() -> Self {
        PartitionRecord {
            partition_id: 0,
            range: String::new(),
            version: 0,
            is_temp_partition: false,
            stid: NO_SUB_TXN,
        }
    }
}

/// `stid` of a partition written by an ordinary (not multi-statement) transaction.
pub(crate) const NO_SUB_TXN: i64 = -1;

impl UpsertRecord {
    /// Ids of every table the transaction wrote, ascending.
    pub fn table_ids(&self) -> Vec<i64> {
        self.table_records.keys().copied().collect()
    }

    /// The partitions written to `table_id` (empty if the transaction did not touch it).
    pub fn partitions_of(&self, table_id: i64) -> &[PartitionRecord] {
        self.table_records
            .get(&table_id)
            .map(|record| record.partition_records.as_slice())
            .unwrap_or(&[])
    }

    /// `(partition id, version created)` for every non-temporary partition of `table_id`:
    /// the versions a replay must ingest. Temporary partitions are left out because
    /// backup/restore never carries them to the target (sheet §6.2).
    pub fn partition_versions(&self, table_id: i64) -> Vec<(i64, i64)> {
        self.partitions_of(table_id)
            .iter()
            .filter(|partition| !partition.is_temp_partition)
            .map(|partition| (partition.partition_id, partition.version))
            .collect()
    }

    /// True for a multi-statement transaction ("txn insert") with sub-transactions.
    pub fn is_txn_insert(&self) -> bool {
        self.stids.as_ref().is_some_and(|stids| !stids.is_empty())
    }
}
