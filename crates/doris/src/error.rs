//! Errors of the Doris client layer.

/// What went wrong talking to one Doris cluster.
#[derive(Debug, thiserror::Error)]
pub enum DorisError {
    /// The FE could not be reached or the connection broke (retryable).
    #[error("cannot connect to Doris FE {addr}: {message}")]
    Connect { addr: String, message: String },
    /// The FE refused the login.
    #[error("Doris FE {addr} rejected the login: {message}")]
    Auth { addr: String, message: String },
    /// The FE answered a statement with an error.
    #[error("Doris FE {addr} failed `{sql}`: {message}")]
    Sql {
        addr: String,
        sql: String,
        message: String,
    },
    /// A result lacked a column the syncer reads.
    #[error("column {0} is not in this table")]
    MissingColumn(String),
    /// A result had an unexpected shape or value.
    #[error("{0}")]
    UnexpectedResult(String),
    /// A Thrift call failed before an answer arrived.
    #[error(transparent)]
    Rpc(#[from] super::rpc::RpcError),
    /// An FE or BE answered a Thrift call with a non-OK status.
    #[error("{method} failed: status {code}: {message}")]
    Status {
        method: &'static str,
        code: i32,
        message: String,
    },
    /// A BE's HTTP endpoint failed.
    #[error("Doris BE {addr} HTTP request failed: {message}")]
    BeHttp { addr: String, message: String },
    /// The caller's own guard withheld the call (its lease on the job may have lapsed):
    /// nothing reached the cluster, and the same call may be made once the guard allows.
    #[error("call withheld: {0}")]
    Withheld(String),
}

/// MySQL error codes for a refused login.
const ACCESS_DENIED_CODES: [&str; 2] = ["1045", "28000"];

impl DorisError {
    pub(crate) fn from_sqlx(addr: &str, sql: &str, error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                if ACCESS_DENIED_CODES.contains(&code.as_str()) {
                    DorisError::Auth {
                        addr: addr.to_owned(),
                        message: db.message().to_owned(),
                    }
                } else {
                    DorisError::Sql {
                        addr: addr.to_owned(),
                        sql: sql.to_owned(),
                        message: db.message().to_owned(),
                    }
                }
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => DorisError::Connect {
                addr: addr.to_owned(),
                message: error.to_string(),
            },
            other => DorisError::Sql {
                addr: addr.to_owned(),
                sql: sql.to_owned(),
                message: other.to_string(),
            },
        }
    }

    /// Whether retrying later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            DorisError::Connect { .. } | DorisError::BeHttp { .. } | DorisError::Withheld(_) => {
                true
            }
            DorisError::Rpc(rpc) => rpc.is_connection_class() || rpc.is_timeout(),
            _ => false,
        }
    }
}

/// Turns a Thrift `TStatus` into `Ok` or [`DorisError::Status`].
pub fn check_status(
    method: &'static str,
    status: Option<&ccr_wire::status::TStatus>,
) -> Result<(), DorisError> {
    match status {
        Some(s) if s.status_code == ccr_wire::status::TStatusCode::OK => Ok(()),
        Some(s) => Err(DorisError::Status {
            method,
            code: s.status_code.0,
            message: s.error_msgs.clone().unwrap_or_default().join("; "),
        }),
        None => Err(DorisError::Status {
            method,
            code: -1,
            message: "the answer carries no status".into(),
        }),
    }
}

/// What kind of failure a [`DorisError`] is, decided here once so that the job layer
/// matches on kinds, never on Doris's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DorisErrorKind {
    /// The cluster could not be reached or timed out; the same call may succeed later.
    Transient,
    /// The cluster is busy with a conflicting job (one backup or restore per database).
    Busy,
    /// The login was refused.
    Auth,
    /// The named object (database, table, column, partition, transaction) does not exist.
    ObjectMissing,
    /// The object to create exists already, or the change is in place already.
    AlreadyDone,
    /// The statement names an object of another kind (DROP TABLE of a view).
    WrongObjectKind,
    /// The statement or call was refused for another reason.
    Refused,
}

/// Texts with which Doris says the object named does not exist.
const MISSING_TEXTS: [&str; 9] = [
    // ERR_DROP_PARTITION_NON_EXISTENT
    "error in list of partitions to",
    "unknown table",
    "unknown column",
    "unknown partition",
    "unknown database",
    "does not exist",
    "not exist",
    "can't find table id",
    "table not found",
];

/// Texts with which Doris says what a statement asks for is in place already.
const ALREADY_DONE_TEXTS: [&str; 4] = [
    "already exists",
    "already exist",
    "duplicate column",
    "duplicate partition",
];

/// Doris's answer when DROP TABLE meets a view (and the like).
const WRONG_KIND_TEXTS: [&str; 2] = ["is not table", "is not view"];

/// Doris's refusal while another backup or restore of the database runs.
const BUSY_TEXTS: [&str; 1] = ["can only run one backup or restore job of a database"];

/// Why an FE refuses to hand out a binlog stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinlogUnavailable {
    /// The table was dropped or has no binlog any more.
    TableGone,
    /// The database was dropped or has no binlog.
    DatabaseGone,
    /// Binlog is switched off.
    Disabled,
}

impl DorisError {
    /// The getBinlog refusal this error is, if it is one.
    pub fn binlog_unavailable(&self) -> Option<BinlogUnavailable> {
        use ccr_wire::status::TStatusCode;
        let DorisError::Status { code, .. } = self else {
            return None;
        };
        [
            (
                TStatusCode::BINLOG_NOT_FOUND_TABLE,
                BinlogUnavailable::TableGone,
            ),
            (
                TStatusCode::BINLOG_NOT_FOUND_DB,
                BinlogUnavailable::DatabaseGone,
            ),
            (TStatusCode::BINLOG_DISABLE, BinlogUnavailable::Disabled),
        ]
        .into_iter()
        .find(|(status, _)| status.0 == *code)
        .map(|(_, why)| why)
    }

    pub fn kind(&self) -> DorisErrorKind {
        if self.is_transient() {
            return DorisErrorKind::Transient;
        }
        let message = match self {
            DorisError::Auth { .. } => return DorisErrorKind::Auth,
            DorisError::Sql { message, .. } | DorisError::Status { message, .. } => {
                message.to_ascii_lowercase()
            }
            _ => return DorisErrorKind::Refused,
        };
        if let DorisError::Status { code, .. } = self {
            use ccr_wire::status::TStatusCode;
            if *code == TStatusCode::BINLOG_NOT_FOUND_TABLE.0
                || *code == TStatusCode::BINLOG_NOT_FOUND_DB.0
            {
                return DorisErrorKind::ObjectMissing;
            }
        }
        if BUSY_TEXTS.iter().any(|t| message.contains(t)) {
            DorisErrorKind::Busy
        } else if WRONG_KIND_TEXTS.iter().any(|t| message.contains(t)) {
            DorisErrorKind::WrongObjectKind
        } else if ALREADY_DONE_TEXTS.iter().any(|t| message.contains(t)) {
            DorisErrorKind::AlreadyDone
        } else if MISSING_TEXTS.iter().any(|t| message.contains(t)) {
            DorisErrorKind::ObjectMissing
        } else {
            DorisErrorKind::Refused
        }
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    fn sql(message: &str) -> DorisError {
        DorisError::Sql {
            addr: "fe:9030".into(),
            sql: "x".into(),
            message: format!("errCode = 2, detailMessage = {message}"),
        }
    }

    #[test]
    fn doris_texts_become_kinds() {
        let cases = [
            ("Unknown column 'w' in 't'", DorisErrorKind::ObjectMissing),
            (
                "Unknown partition p1 in table p",
                DorisErrorKind::ObjectMissing,
            ),
            ("Table [t] does not exist", DorisErrorKind::ObjectMissing),
            (
                "Error in list of partitions to p1",
                DorisErrorKind::ObjectMissing,
            ),
            ("Table 't' already exists", DorisErrorKind::AlreadyDone),
            ("Duplicate column name 'c'", DorisErrorKind::AlreadyDone),
            ("Duplicate partition name p1", DorisErrorKind::AlreadyDone),
            (
                "t is not TABLE. Use 'DROP VIEW t'",
                DorisErrorKind::WrongObjectKind,
            ),
            (
                "Can only run one backup or restore job of a database at same time",
                DorisErrorKind::Busy,
            ),
            ("Syntax error", DorisErrorKind::Refused),
        ];
        for (message, kind) in cases {
            assert_eq!(sql(message).kind(), kind, "{message}");
        }
        let connect = DorisError::Connect {
            addr: "fe".into(),
            message: "refused".into(),
        };
        assert_eq!(connect.kind(), DorisErrorKind::Transient);
        let gone = DorisError::Status {
            method: "getBinlog",
            code: ccr_wire::status::TStatusCode::BINLOG_NOT_FOUND_TABLE.0,
            message: String::new(),
        };
        assert_eq!(gone.kind(), DorisErrorKind::ObjectMissing);
    }
}
