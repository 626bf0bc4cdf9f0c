//! `BinlogType`: the kinds of binlog a Doris FE records (thrift enum `TBinlogType`).

use std::fmt;

use ccr_wire::types::TBinlogType;

/// Declares the known binlog types once, as (variant, wire id, Doris name), and derives the
/// enum and its conversions from that single table so ids and names cannot drift apart.
macro_rules! binlog_types {
    ($($variant:ident = $id:literal => $name:literal,)+) => {
        /// A binlog type. Known ids (0..=26, newest FE IDL) get their own variant; any other
        /// id is kept as `Unknown(id)` rather than rejected, because Doris reserves ids for
        /// back-ported types and a client must not fail to decode them (sheet §1.6).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BinlogType {
            $($variant,)+
            Unknown(i32),
        }

        impl BinlogType {
            /// Every known type, in id order.
            pub const KNOWN: &'static [BinlogType] = &[$(BinlogType::$variant,)+];

            /// The thrift enum value.
            pub fn id(self) -> i32 {
                match self {
                    $(BinlogType::$variant => $id,)+
                    BinlogType::Unknown(id) => id,
                }
            }

            /// Doris's name for the type (`"UPSERT"`, `"ADD_PARTITION"`, ...); `"UNKNOWN"` for
            /// ids this build does not know (see `Display` for a form that keeps the id).
            pub fn name(self) -> &'static str {
                match self {
                    $(BinlogType::$variant => $name,)+
                    BinlogType::Unknown(_) => "UNKNOWN",
                }
            }

            /// Looks a type up by its Doris name (exact, upper case).
            pub fn from_name(name: &str) -> Option<BinlogType> {
                match name {
                    $($name => Some(BinlogType::$variant),)+
                    _ => None,
                }
            }
        }

        impl From<i32> for BinlogType {
            fn from(id: i32) -> Self {
                match id {
                    $($id => BinlogType::$variant,)+
                    other => BinlogType::Unknown(other),
                }
            }
        }
    };
}

binlog_types! {
    Upsert = 0 => "UPSERT",
    AddPartition = 1 => "ADD_PARTITION",
    CreateTable = 2 => "CREATE_TABLE",
    DropPartition = 3 => "DROP_PARTITION",
    DropTable = 4 => "DROP_TABLE",
    AlterJob = 5 => "ALTER_JOB",
    ModifyTableAddOrDropColumns = 6 => "MODIFY_TABLE_ADD_OR_DROP_COLUMNS",
    Dummy = 7 => "DUMMY",
    AlterDatabaseProperty = 8 => "ALTER_DATABASE_PROPERTY",
    ModifyTableProperty = 9 => "MODIFY_TABLE_PROPERTY",
    Barrier = 10 => "BARRIER",
    ModifyPartitions = 11 => "MODIFY_PARTITIONS",
    ReplacePartitions = 12 => "REPLACE_PARTITIONS",
    TruncateTable = 13 => "TRUNCATE_TABLE",
    RenameTable = 14 => "RENAME_TABLE",
    RenameColumn = 15 => "RENAME_COLUMN",
    ModifyComment = 16 => "MODIFY_COMMENT",
    ModifyViewDef = 17 => "MODIFY_VIEW_DEF",
    ReplaceTable = 18 => "REPLACE_TABLE",
    ModifyTableAddOrDropInvertedIndices = 19 => "MODIFY_TABLE_ADD_OR_DROP_INVERTED_INDICES",
    IndexChangeJob = 20 => "INDEX_CHANGE_JOB",
    RenameRollup = 21 => "RENAME_ROLLUP",
    RenamePartition = 22 => "RENAME_PARTITION",
    DropRollup = 23 => "DROP_ROLLUP",
    RecoverInfo = 24 => "RECOVER_INFO",
    ModifyDistributionBucketNum = 25 => "MODIFY_DISTRIBUTION_BUCKET_NUM",
    ModifyDistributionType = 26 => "MODIFY_DISTRIBUTION_TYPE",
}

impl BinlogType {
    pub fn is_known(self) -> bool {
        !matches!(self, BinlogType::Unknown(_))
    }

    /// Types whose binlog is kept only in the database stream, never in a table stream
    /// (sheet §1.4): a table-scoped `getBinlog` never returns them.
    pub fn is_db_stream_only(self) -> bool {
        matches!(self, BinlogType::CreateTable | BinlogType::DropTable)
    }

    /// Types that 2.1-line FEs do not emit natively but wrap in a BARRIER binlog
    /// (sheet §4.1 "2.1 wrapper" column, §4.3).
    pub fn is_barrier_wrapped_on_2_1(self) -> bool {
        matches!(
            self,
            BinlogType::RenameTable
                | BinlogType::RenameColumn
                | BinlogType::ModifyComment
                | BinlogType::ModifyViewDef
                | BinlogType::ReplaceTable
                | BinlogType::ModifyTableAddOrDropInvertedIndices
                | BinlogType::IndexChangeJob
                | BinlogType::RenameRollup
                | BinlogType::RenamePartition
                | BinlogType::DropRollup
        )
    }
}

impl From<BinlogType> for i32 {
    fn from(binlog_type: BinlogType) -> i32 {
        binlog_type.id()
    }
}

impl From<TBinlogType> for BinlogType {
    fn from(wire: TBinlogType) -> Self {
        BinlogType::from(wire.0)
    }
}

impl From<BinlogType> for TBinlogType {
    fn from(binlog_type: BinlogType) -> Self {
        TBinlogType(binlog_type.id())
    }
}

/// `UPSERT` for known types, `UNKNOWN(27)` for others (the id is what an operator needs).
impl fmt::Display for BinlogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinlogType::Unknown(id) => write!(f, "UNKNOWN({id})"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_match_the_wire_enum() {
        assert_eq!(BinlogType::KNOWN.len(), 27);
        for (index, binlog_type) in BinlogType::KNOWN.iter().enumerate() {
            assert_eq!(binlog_type.id(), index as i32);
            assert_eq!(BinlogType::from(binlog_type.id()), *binlog_type);
            assert_eq!(
                BinlogType::from_name(binlog_type.name()),
                Some(*binlog_type)
            );
            let wire = TBinlogType::from(*binlog_type);
            assert_eq!(wire, TBinlogType::ENUM_VALUES[index]);
            assert_eq!(BinlogType::from(wire), *binlog_type);
        }
        assert_eq!(
            BinlogType::from(TBinlogType::MODIFY_DISTRIBUTION_TYPE).name(),
            "MODIFY_DISTRIBUTION_TYPE"
        );
    }

    #[test]
    fn unknown_ids_are_preserved() {
        let unknown = BinlogType::from(27);
        assert_eq!(unknown, BinlogType::Unknown(27));
        assert!(!unknown.is_known());
        assert_eq!(i32::from(unknown), 27);
        assert_eq!(TBinlogType::from(unknown), TBinlogType(27));
        assert_eq!(unknown.to_string(), "UNKNOWN(27)");
        assert_eq!(BinlogType::from(-3), BinlogType::Unknown(-3));
        assert_eq!(BinlogType::from_name("UNKNOWN"), None);
        assert_eq!(BinlogType::Upsert.to_string(), "UPSERT");
    }
}
