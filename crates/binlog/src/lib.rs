//! Typed Doris binlog records.
//!
//! A Doris FE hands out binlogs as thrift `TBinlog`s whose `data` field is a JSON document
//! written by Gson; its shape depends on the binlog type. This module gives every payload a
//! serde type with Doris's exact key spelling, so that
//! * the syncer can parse what a source FE sends ([`Binlog::try_from`], [`parse`]), and
//! * the simulated FE can produce byte-for-byte the same shapes ([`Binlog::to_wire`],
//!   [`BinlogRecord::to_json`]).
//!
//! Conventions shared by all payload types (spec: `doris-binlog-and-sync-semantics.md` §0):
//! * keys Doris writes for Java primitives (`long`, `int`, `boolean`) are always serialised;
//!   keys for object fields Doris may leave null are `Option`s omitted when `None`;
//! * missing keys read as their Java default (older FEs lack newer fields), unknown keys are
//!   ignored;
//! * `Map<Long, X>` is a JSON object keyed by decimal strings (a `BTreeMap<i64, X>` here);
//! * deep catalog objects the syncer never interprets (serialised partitions, columns,
//!   data properties) are kept as raw `serde_json::Value`s.
//!
//! The snapshot `job_info` document (BACKUP's BackupJobInfo) lives in [`snapshot`].

mod binlog_type;
mod ddl;
mod doris_enums;
mod record;
pub mod snapshot;
mod upsert;

pub use binlog_type::BinlogType;
pub use ddl::{
    AddPartitionRecord, AlterDatabasePropertyInfo, AlterJobRecord, AlterViewInfo, BarrierLog,
    BatchModifyPartitionsInfo, CreateTableRecord, DataProperty, DropInfo, DropPartitionInfo,
    DropTableRecord, IndexChangeJob, IndexDefinition, ModifyCommentOperationLog,
    ModifyPartitionInfo, ModifyTableDefaultDistributionBucketNumOperationLog,
    ModifyTablePropertyOperationLog, PartitionDistribution, RecoverInfo,
    ReplacePartitionOperationLog, ReplaceTableOperationLog, TableAddOrDropColumnsInfo,
    TableAddOrDropInvertedIndicesInfo, TableInfo, TableRenameColumnInfo, TruncateTableRecord,
};
pub use doris_enums::{AlterJobType, CommentType, DistributionType, JobState, TableType};
pub use record::{parse, Binlog, BinlogRecord};
pub use snapshot::{
    covered_by_snapshot, BackupIndex, BackupJobInfo, BackupJobInfoParts, BackupOlapTable,
    BackupPartition, BackupView, BeNetworkAddress, ExtraInfo, NewBackupObjects,
};
pub use upsert::{PartitionRecord, TableRecord, UpsertRecord};

use std::fmt;

/// Errors of the binlog layer: decoding a `TBinlog`, its JSON payload, or a snapshot's
/// `job_info`.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// A `TBinlog` field every binlog must carry is absent.
    #[error("binlog ({commit_seq}) has no `{field}` field")]
    MissingField {
        field: &'static str,
        commit_seq: CommitSeqLabel,
    },

    /// A binlog type that carries a JSON payload came without `data`.
    #[error("{binlog_type} binlog at {commit_seq} has no data payload")]
    MissingData {
        binlog_type: BinlogType,
        commit_seq: CommitSeqLabel,
    },

    /// The `data` JSON does not match the payload type of its binlog type.
    #[error("{binlog_type} binlog at {commit_seq}: invalid JSON payload: {source}")]
    InvalidPayload {
        binlog_type: BinlogType,
        commit_seq: CommitSeqLabel,
        #[source]
        source: serde_json::Error,
    },

    /// A BARRIER wraps something that cannot be handled as a native binlog.
    #[error("BARRIER binlog at {commit_seq} wraps an unusable inner binlog: {reason}")]
    InvalidBarrier {
        commit_seq: CommitSeqLabel,
        reason: String,
    },

    /// Serialising a record to JSON failed (only possible for hand-built raw values).
    #[error("cannot encode {binlog_type} binlog payload: {source}")]
    Encode {
        binlog_type: BinlogType,
        #[source]
        source: serde_json::Error,
    },

    /// The snapshot `job_info` is not the JSON object BACKUP produces, or one of its
    /// sections has an unexpected shape.
    #[error("invalid snapshot job_info{}: {source}", section_label(.section))]
    InvalidJobInfo {
        section: Option<&'static str>,
        #[source]
        source: serde_json::Error,
    },
}

fn section_label(section: &Option<&'static str>) -> String {
    section.map(|s| format!(" (`{s}`)")).unwrap_or_default()
}

/// The commit sequence an error is about, when known (a bare payload parse has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitSeqLabel(pub Option<i64>);

impl fmt::Display for CommitSeqLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(seq) => write!(f, "commit seq {seq}"),
            None => f.write_str("unknown commit seq"),
        }
    }
}

impl BinlogError {
    /// Attaches the binlog's commit seq to an error produced without one.
    pub(crate) fn with_commit_seq(mut self, seq: i64) -> Self {
        match &mut self {
            BinlogError::MissingField { commit_seq, .. }
            | BinlogError::MissingData { commit_seq, .. }
            | BinlogError::InvalidPayload { commit_seq, .. }
            | BinlogError::InvalidBarrier { commit_seq, .. } => {
                if commit_seq.0.is_none() {
                    *commit_seq = CommitSeqLabel(Some(seq));
                }
            }
            BinlogError::Encode { .. } | BinlogError::InvalidJobInfo { .. } => {}
        }
        self
    }
}
