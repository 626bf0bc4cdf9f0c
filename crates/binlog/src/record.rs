//! `BinlogRecord` (a parsed payload of any type) and `Binlog` (a whole `TBinlog`).

use ccr_wire::types::TBinlog;

use super::ddl::{
    AddPartitionRecord, AlterDatabasePropertyInfo, AlterJobRecord, AlterViewInfo, BarrierLog,
    BatchModifyPartitionsInfo, CreateTableRecord, DropInfo, DropPartitionInfo, DropTableRecord,
    IndexChangeJob, ModifyCommentOperationLog, ModifyTableDefaultDistributionBucketNumOperationLog,
    ModifyTablePropertyOperationLog, RecoverInfo, ReplacePartitionOperationLog,
    ReplaceTableOperationLog, TableAddOrDropColumnsInfo, TableAddOrDropInvertedIndicesInfo,
    TableInfo, TableRenameColumnInfo, TruncateTableRecord,
};
use super::upsert::UpsertRecord;
use super::{BinlogError, BinlogType, CommitSeqLabel};

/// Declares the payload-carrying variants once; each variant is named like its
/// [`BinlogType`] variant, which lets the macro derive parsing, encoding and type lookup.
macro_rules! binlog_records {
    ($($variant:ident($payload:ty),)+) => {
        /// The parsed `data` of a binlog, one variant per binlog type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum BinlogRecord {
            $($variant($payload),)+
            /// DUMMY: a stream head, no payload. Returned alone with `TOO_OLD`; it means
            /// "full sync from its commit seq".
            Dummy,
            /// A type id this build does not know; the raw payload is kept so the caller can
            /// report it (skipping it silently could lose data).
            Unknown { type_id: i32, data: Option<String> },
        }

        impl BinlogRecord {
            /// The binlog type this record is the payload of.
            pub fn binlog_type(&self) -> BinlogType {
                match self {
                    $(BinlogRecord::$variant(_) => BinlogType::$variant,)+
                    BinlogRecord::Dummy => BinlogType::Dummy,
                    BinlogRecord::Unknown { type_id, .. } => BinlogType::Unknown(*type_id),
                }
            }

            /// The record as Doris writes it into `TBinlog.data`; `None` for DUMMY (which
            /// has no data) and for an unknown type that came without data.
            pub fn to_json(&self) -> Result<Option<String>, BinlogError> {
                let encoded = match self {
                    $(BinlogRecord::$variant(payload) => serde_json::to_string(payload),)+
                    BinlogRecord::Dummy => return Ok(None),
                    BinlogRecord::Unknown { data, .. } => return Ok(data.clone()),
                };
                encoded.map(Some).map_err(|source| BinlogError::Encode {
                    binlog_type: self.binlog_type(),
                    source,
                })
            }
        }

        /// Parses the `data` JSON of a binlog of `binlog_type`.
        ///
        /// DUMMY ignores `data`; an unknown type keeps it verbatim in
        /// [`BinlogRecord::Unknown`]. Unknown keys are ignored and missing keys take their
        /// Java default, as Gson does. The error names the type but not the commit seq
        /// (use [`Binlog::try_from`] for that).
        pub fn parse(binlog_type: BinlogType, data: &str) -> Result<BinlogRecord, BinlogError> {
            let parsed = match binlog_type {
                $(BinlogType::$variant => require_object(data)
                    .and_then(|()| serde_json::from_str::<$payload>(data))
                    .map(BinlogRecord::$variant),)+
                BinlogType::Dummy => return Ok(BinlogRecord::Dummy),
                BinlogType::Unknown(type_id) => {
                    return Ok(BinlogRecord::Unknown {
                        type_id,
                        data: Some(data.to_owned()),
                    })
                }
            };
            parsed.map_err(|source| BinlogError::InvalidPayload {
                binlog_type,
                commit_seq: CommitSeqLabel::default(),
                source,
            })
        }
    };
}

binlog_records! {
    Upsert(UpsertRecord),
    AddPartition(AddPartitionRecord),
    CreateTable(CreateTableRecord),
    DropPartition(DropPartitionInfo),
    DropTable(DropTableRecord),
    AlterJob(AlterJobRecord),
    ModifyTableAddOrDropColumns(TableAddOrDropColumnsInfo),
    AlterDatabaseProperty(AlterDatabasePropertyInfo),
    ModifyTableProperty(ModifyTablePropertyOperationLog),
    Barrier(BarrierLog),
    ModifyPartitions(BatchModifyPartitionsInfo),
    ReplacePartitions(ReplacePartitionOperationLog),
    TruncateTable(TruncateTableRecord),
    RenameTable(TableInfo),
    RenameColumn(TableRenameColumnInfo),
    ModifyComment(ModifyCommentOperationLog),
    ModifyViewDef(AlterViewInfo),
    ReplaceTable(ReplaceTableOperationLog),
    ModifyTableAddOrDropInvertedIndices(TableAddOrDropInvertedIndicesInfo),
    IndexChangeJob(IndexChangeJob),
    RenameRollup(TableInfo),
    RenamePartition(TableInfo),
    DropRollup(DropInfo),
    RecoverInfo(RecoverInfo),
    ModifyDistributionBucketNum(ModifyTableDefaultDistributionBucketNumOperationLog),
    ModifyDistributionType(TableInfo),
}

/// Every payload is a JSON object. serde's derived structs would also accept a JSON array
/// (as a field sequence), which Gson never writes, so reject anything else up front.
fn require_object(data: &str) -> Result<(), serde_json::Error> {
    // JSON whitespace is exactly these four characters.
    let body = data.trim_start_matches([' ', '\t', '\n', '\r']);
    if body.starts_with('{') {
        Ok(())
    } else {
        Err(serde::de::Error::custom("expected a JSON object"))
    }
}

/// `tableId` of a barrier that names no table (the DB-level backup barrier).
const NO_TABLE: i64 = 0;

impl BinlogRecord {
    /// The single table a table-scoped record is about. `None` for UPSERT (it may touch
    /// several tables: see [`UpsertRecord::table_ids`]), database-level records, DUMMY,
    /// unknown types and a barrier that names no table. MODIFY_PARTITIONS answers the table
    /// of its first entry (Doris does the same for the binlog's `table_ids`). REPLACE_TABLE
    /// answers the replaced (original) table.
    pub fn table_id(&self) -> Option<i64> {
        match self {
            BinlogRecord::AddPartition(r) => Some(r.table_id),
            BinlogRecord::CreateTable(r) => Some(r.table_id),
            BinlogRecord::DropPartition(r) => Some(r.table_id),
            BinlogRecord::DropTable(r) => Some(r.table_id),
            BinlogRecord::AlterJob(r) => Some(r.table_id),
            BinlogRecord::ModifyTableAddOrDropColumns(r) => Some(r.table_id),
            BinlogRecord::ModifyTableProperty(r) => Some(r.table_id),
            BinlogRecord::Barrier(r) => (r.table_id != NO_TABLE).then_some(r.table_id),
            BinlogRecord::ModifyPartitions(r) => r.infos.first().map(|info| info.table_id),
            BinlogRecord::ReplacePartitions(r) => Some(r.table_id),
            BinlogRecord::TruncateTable(r) => Some(r.table_id),
            BinlogRecord::RenameTable(r)
            | BinlogRecord::RenameRollup(r)
            | BinlogRecord::RenamePartition(r)
            | BinlogRecord::ModifyDistributionType(r) => Some(r.table_id),
            BinlogRecord::RenameColumn(r) => Some(r.table_id),
            BinlogRecord::ModifyComment(r) => Some(r.table_id),
            BinlogRecord::ModifyViewDef(r) => Some(r.table_id),
            BinlogRecord::ReplaceTable(r) => Some(r.orig_table_id),
            BinlogRecord::ModifyTableAddOrDropInvertedIndices(r) => Some(r.table_id),
            BinlogRecord::IndexChangeJob(r) => Some(r.table_id),
            BinlogRecord::DropRollup(r) => Some(r.table_id),
            BinlogRecord::RecoverInfo(r) => Some(r.table_id),
            BinlogRecord::ModifyDistributionBucketNum(r) => Some(r.table_id),
            BinlogRecord::Upsert(_)
            | BinlogRecord::AlterDatabaseProperty(_)
            | BinlogRecord::Dummy
            | BinlogRecord::Unknown { .. } => None,
        }
    }

    /// The SQL text a record carries, for the types that carry one: the `ADD PARTITION`
    /// clause, the `CREATE` DDL, the `DROP PARTITION` clause, the `DROP TABLE` statement,
    /// the ALTER statement of a schema change or light schema change, the `SET (...)`
    /// clause of a property change, the `TRUNCATE` suffix, the inverted-index ALTER.
    /// May be empty (e.g. TRUNCATE of a whole table, rollup jobs). `None` for other types.
    pub fn sql(&self) -> Option<&str> {
        match self {
            BinlogRecord::AddPartition(r) => Some(&r.sql),
            BinlogRecord::CreateTable(r) => Some(&r.sql),
            BinlogRecord::DropPartition(r) => Some(&r.sql),
            BinlogRecord::DropTable(r) => Some(&r.raw_sql),
            BinlogRecord::AlterJob(r) => Some(&r.raw_sql),
            BinlogRecord::ModifyTableAddOrDropColumns(r) => Some(&r.raw_sql),
            BinlogRecord::ModifyTableProperty(r) => Some(&r.sql),
            BinlogRecord::TruncateTable(r) => Some(&r.raw_sql),
            BinlogRecord::ModifyTableAddOrDropInvertedIndices(r) => Some(&r.raw_sql),
            _ => None,
        }
    }
}

/// One binlog as a FE returns it: the `TBinlog` envelope with its payload parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Binlog {
    /// The FE journal id of the operation (sheet §1.1): the replication cursor.
    pub commit_seq: i64,
    /// ms since epoch; `-1` where the FE does not set one (non-UPSERT types on 2.1 FEs).
    pub timestamp: i64,
    /// The type of `record`. For a binlog that arrived wrapped in a BARRIER and was
    /// unwrapped, the inner type.
    pub binlog_type: BinlogType,
    /// Absent only if the FE left it unset.
    pub db_id: Option<i64>,
    /// Tables involved; empty for database-level types and DUMMY.
    pub table_ids: Vec<i64>,
    pub record: BinlogRecord,
    /// Set on DUMMY heads only: `-1` for the database stream, else the table id.
    pub belong: Option<i64>,
    /// True if the FE delivered this binlog inside a BARRIER (2.1-line compatibility
    /// wrapper, sheet §4.3); [`Binlog::to_wire`] then wraps it again.
    pub wrapped_in_barrier: bool,
}

/// `TBinlog.timestamp` when the FE did not set one.
const UNSET_TIMESTAMP: i64 = -1;

impl TryFrom<&TBinlog> for Binlog {
    type Error = BinlogError;

    /// Parses the envelope and payload as sent. A BARRIER stays a BARRIER here; use
    /// [`Binlog::decode`] (or [`Binlog::unwrap_barrier`]) to see through wrappers.
    fn try_from(wire: &TBinlog) -> Result<Self, BinlogError> {
        let commit_seq = wire.commit_seq.ok_or(BinlogError::MissingField {
            field: "commit_seq",
            commit_seq: CommitSeqLabel(None),
        })?;
        let binlog_type = BinlogType::from(wire.type_.ok_or(BinlogError::MissingField {
            field: "type",
            commit_seq: CommitSeqLabel(Some(commit_seq)),
        })?);
        let record = match (binlog_type, wire.data.as_deref()) {
            (BinlogType::Dummy, _) => BinlogRecord::Dummy,
            (BinlogType::Unknown(type_id), data) => BinlogRecord::Unknown {
                type_id,
                data: data.map(str::to_owned),
            },
            (_, None) => {
                return Err(BinlogError::MissingData {
                    binlog_type,
                    commit_seq: CommitSeqLabel(Some(commit_seq)),
                })
            }
            (_, Some(data)) => {
                parse(binlog_type, data).map_err(|e| e.with_commit_seq(commit_seq))?
            }
        };
        Ok(Binlog {
            commit_seq,
            timestamp: wire.timestamp.unwrap_or(UNSET_TIMESTAMP),
            binlog_type,
            db_id: wire.db_id,
            table_ids: wire.table_ids.clone().unwrap_or_default(),
            record,
            belong: wire.belong,
            wrapped_in_barrier: false,
        })
    }
}

impl Binlog {
    /// A binlog for `record`, as the FE would record it (type taken from the record).
    pub fn new(
        commit_seq: i64,
        timestamp: i64,
        db_id: i64,
        table_ids: Vec<i64>,
        record: BinlogRecord,
    ) -> Self {
        Binlog {
            commit_seq,
            timestamp,
            binlog_type: record.binlog_type(),
            db_id: Some(db_id),
            table_ids,
            record,
            belong: None,
            wrapped_in_barrier: false,
        }
    }

    /// A DUMMY stream head; `belong` is `-1` for a database stream, else the table id.
    pub fn dummy(commit_seq: i64, timestamp: i64, db_id: i64, belong: i64) -> Self {
        Binlog {
            commit_seq,
            timestamp,
            binlog_type: BinlogType::Dummy,
            db_id: Some(db_id),
            table_ids: Vec::new(),
            record: BinlogRecord::Dummy,
            belong: Some(belong),
            wrapped_in_barrier: false,
        }
    }

    /// Parses a `TBinlog` and, if it is a BARRIER wrapping another binlog, returns the
    /// inner binlog: what a consumer normally wants.
    pub fn decode(wire: &TBinlog) -> Result<Self, BinlogError> {
        Binlog::try_from(wire)?.unwrap_barrier()
    }

    /// If this is a BARRIER that wraps a binlog (sheet §4.3), returns that binlog: inner
    /// type and record, the barrier's commit seq, timestamp, db and table ids, and
    /// `wrapped_in_barrier = true`. Any other binlog is returned unchanged.
    ///
    /// Errors if the wrapped payload does not parse, or claims to be a BARRIER or DUMMY
    /// (neither has a meaning inside a wrapper). An unknown inner type id yields an
    /// [`BinlogRecord::Unknown`] record, as for a native binlog.
    pub fn unwrap_barrier(self) -> Result<Self, BinlogError> {
        let BinlogRecord::Barrier(barrier) = &self.record else {
            return Ok(self);
        };
        let (Some(inner_type), Some(inner_json)) = (barrier.wrapped_type(), &barrier.binlog) else {
            return Ok(self);
        };
        if matches!(inner_type, BinlogType::Barrier | BinlogType::Dummy) {
            return Err(BinlogError::InvalidBarrier {
                commit_seq: CommitSeqLabel(Some(self.commit_seq)),
                reason: format!("a BARRIER cannot wrap a {inner_type} binlog"),
            });
        }
        let record =
            parse(inner_type, inner_json).map_err(|e| e.with_commit_seq(self.commit_seq))?;
        Ok(Binlog {
            binlog_type: inner_type,
            record,
            wrapped_in_barrier: true,
            ..self
        })
    }

    /// Marks the binlog to be emitted inside a BARRIER wrapper by [`Binlog::to_wire`], as a
    /// 2.1-line FE does for the types of [`BinlogType::is_barrier_wrapped_on_2_1`].
    pub fn into_barrier_wrapped(mut self) -> Self {
        self.wrapped_in_barrier = true;
        self
    }

    /// The `TBinlog` a FE would send for this binlog: the payload encoded with Doris's
    /// keys, wrapped in a BARRIER (`dbId`, `tableId`, `binlogType`, `binlog`) if
    /// `wrapped_in_barrier` is set. An empty `table_ids` is sent as absent, as Doris does
    /// for database-level types and DUMMY.
    pub fn to_wire(&self) -> Result<TBinlog, BinlogError> {
        let payload = self.record.to_json()?;
        let (binlog_type, data) = match (self.wrapped_in_barrier, payload) {
            (true, Some(inner_json)) => {
                let table_id = self
                    .record
                    .table_id()
                    .or_else(|| self.table_ids.first().copied())
                    .unwrap_or(NO_TABLE);
                let barrier = BinlogRecord::Barrier(BarrierLog::wrapping(
                    self.db_id.unwrap_or_default(),
                    table_id,
                    self.binlog_type,
                    inner_json,
                ));
                (BinlogType::Barrier, barrier.to_json()?)
            }
            (_, payload) => (self.binlog_type, payload),
        };
        Ok(TBinlog {
            commit_seq: Some(self.commit_seq),
            timestamp: Some(self.timestamp),
            type_: Some(binlog_type.into()),
            db_id: self.db_id,
            table_ids: (!self.table_ids.is_empty()).then(|| self.table_ids.clone()),
            data,
            belong: self.belong,
        })
    }
}
