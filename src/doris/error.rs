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
    /// A BE's HTTP endpoint failed.
    #[error("Doris BE {addr} HTTP request failed: {message}")]
    BeHttp { addr: String, message: String },
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
        matches!(self, DorisError::Connect { .. } | DorisError::BeHttp { .. })
    }
}
