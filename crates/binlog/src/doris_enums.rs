//! Java enums that appear in binlog payloads. Gson writes a Java enum as its constant name
//! (`"SCHEMA_CHANGE"`); each Rust enum here keeps names it does not know in `Other` so that a
//! newer FE's value round-trips instead of failing the whole record.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a string-valued enum with known variants plus `Other(String)`, serialised as
/// the bare name.
macro_rules! doris_string_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $($(#[$variant_meta])* $variant,)+
            /// A name this build does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(text) => text,
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok($name::from(text.as_ref()))
            }
        }
    };
}

doris_string_enum! {
    /// `AlterJobV2.JobType`: which kind of alter job an ALTER_JOB binlog reports.
    AlterJobType {
        #[default]
        SchemaChange => "SCHEMA_CHANGE",
        Rollup => "ROLLUP",
    }
}

doris_string_enum! {
    /// `AlterJobV2.JobState`, also used by inverted-index build jobs (INDEX_CHANGE_JOB).
    JobState {
        #[default]
        Pending => "PENDING",
        WaitingTxn => "WAITING_TXN",
        Running => "RUNNING",
        Finished => "FINISHED",
        Cancelled => "CANCELLED",
    }
}

doris_string_enum! {
    /// `TableIf.TableType` of a created table (CREATE_TABLE binlog). Only the kinds CCR
    /// deals with are named.
    TableType {
        #[default]
        Olap => "OLAP",
        View => "VIEW",
        MaterializedView => "MATERIALIZED_VIEW",
    }
}

doris_string_enum! {
    /// `ModifyCommentOperationLog.Type`: a table comment or column comments.
    CommentType {
        Column => "COLUMN",
        #[default]
        Table => "TABLE",
    }
}

doris_string_enum! {
    /// `DistributionInfo.DistributionInfoType`.
    DistributionType {
        #[default]
        Hash => "HASH",
        Random => "RANDOM",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_names_round_trip() {
        let state: JobState = serde_json::from_str("\"WAITING_TXN\"").unwrap();
        assert_eq!(state, JobState::WaitingTxn);
        assert_eq!(serde_json::to_string(&state).unwrap(), "\"WAITING_TXN\"");
        let future: JobState = serde_json::from_str("\"PAUSED\"").unwrap();
        assert_eq!(future, JobState::Other("PAUSED".into()));
        assert_eq!(serde_json::to_string(&future).unwrap(), "\"PAUSED\"");
        assert_eq!(TableType::from("VIEW"), TableType::View);
        assert_eq!(AlterJobType::Rollup.to_string(), "ROLLUP");
        assert!(serde_json::from_str::<JobState>("3").is_err());
    }
}
