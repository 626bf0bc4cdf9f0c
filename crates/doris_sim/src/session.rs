//! The seam between the FE's MySQL protocol server (`sim::mysql`) and its SQL engine
//! (`sim::sql`): the protocol side authenticates and frames packets, the engine parses and
//! executes statements against the catalog.

/// How a result column is declared on the wire. Doris declares SHOW results as VARCHAR and
/// table-valued-function results as STRING; SELECT results carry the column's own type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Varchar,
    /// Doris `STRING` (sent as MYSQL_TYPE_STRING / blob-like, like the FE does for TVFs).
    String,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    LargeInt,
    Float,
    Double,
    Decimal,
    Date,
    DateTime,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultColumn {
    /// The label exactly as the client must see it (select-list spelling).
    pub name: String,
    pub column_type: ColumnType,
}

impl ResultColumn {
    pub fn varchar(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            column_type: ColumnType::Varchar,
        }
    }
}

/// The outcome of one statement.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// A result set; every value is sent as text, `None` is SQL NULL.
    Rows {
        columns: Vec<ResultColumn>,
        rows: Vec<Vec<Option<String>>>,
    },
    /// An OK packet.
    Ok {
        affected_rows: u64,
        info: Option<String>,
    },
}

/// An error packet as Doris sends it: `code` (e.g. 1105), SQLSTATE (e.g. "HY000") and the
/// message text (Doris's `errCode = 2, detailMessage = ...` form where Doris uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: u16,
    pub sql_state: String,
    pub message: String,
}

impl SqlError {
    /// The generic Doris analysis error: 1105 / HY000 / `errCode = 2, detailMessage = <msg>`.
    pub fn analysis(detail: impl std::fmt::Display) -> Self {
        Self {
            code: 1105,
            sql_state: "HY000".into(),
            message: format!("errCode = 2, detailMessage = {detail}"),
        }
    }
}

/// The engine behind one FE.
pub trait SqlEngine: Send + Sync + 'static {
    /// Plaintext password of `user`, or `None` if there is no such user. The protocol side
    /// checks the client's scramble against it.
    fn user_password(&self, user: &str) -> Option<String>;
    /// Open a session for an authenticated user; `database` is the handshake's default
    /// database (error 1049 if it does not exist).
    fn open_session(
        &self,
        user: &str,
        database: Option<&str>,
    ) -> Result<Box<dyn SqlSession>, SqlError>;
}

/// One client connection's state (user, current database, session variables).
pub trait SqlSession: Send {
    /// Execute the text of one COM_QUERY. Several `;`-separated statements run in order; the
    /// results are returned in order and execution stops after the first error.
    fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult, SqlError>>;
    /// COM_INIT_DB.
    fn use_database(&mut self, database: &str) -> Result<(), SqlError>;
}
