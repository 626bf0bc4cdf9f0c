//! SQL to one Doris FE over the MySQL protocol.
//!
//! Doris refuses server-side prepared statements by default, so every statement goes as a
//! plain-text COM_QUERY (sqlx does that for a `&str` without arguments) and literals are
//! quoted here instead of bound. Results are read by column name, as text, the way the
//! reference syncer reads them; values are parsed explicitly by the caller.

use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::{Column, Executor, Row};

use super::error::DorisError;
use super::host_map::{never_resolves, HostMapping};
use ccr_wire::secret::Secret;

/// Connections kept per FE and credentials. The syncer's statements are short and
/// independent; a few connections cover concurrent jobs on one cluster.
const MAX_CONNECTIONS_PER_FE: u32 = 4;
/// A pooled connection unused for this long is closed, so an FE restart is not met with a
/// pile of dead sockets.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);

/// Quotes an identifier for Doris: backquotes around it, inner backquotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes a string literal: single quotes, with backslash and quote escaped.
pub fn quote_str(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// One result row, addressable by column label.
#[derive(Debug, Clone)]
pub struct SqlRow {
    columns: Arc<[String]>,
    values: Vec<Option<String>>,
}

impl SqlRow {
    /// The value of `column` (exact label); an error if the result has no such column.
    pub fn get(&self, column: &str) -> Result<Option<&str>, DorisError> {
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| DorisError::MissingColumn(column.to_owned()))?;
        Ok(self.values[index].as_deref())
    }

    /// The value of `column`, treating SQL NULL as an empty string.
    pub fn text(&self, column: &str) -> Result<String, DorisError> {
        Ok(self.get(column)?.unwrap_or_default().to_owned())
    }

    pub fn int(&self, column: &str) -> Result<i64, DorisError> {
        let text = self.text(column)?;
        text.trim().parse().map_err(|_| {
            DorisError::UnexpectedResult(format!("column {column} is not an integer: {text:?}"))
        })
    }

    /// Booleans as Go's `ParseBool` reads them (the reference's rule).
    pub fn bool(&self, column: &str) -> Result<bool, DorisError> {
        let text = self.text(column)?;
        parse_bool(&text).ok_or_else(|| {
            DorisError::UnexpectedResult(format!("column {column} is not a boolean: {text:?}"))
        })
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    pub fn values(&self) -> &[Option<String>] {
        &self.values
    }
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A pool of server-level connections (no default database) to one FE. Cheap to clone;
/// clones share the pool.
#[derive(Clone)]
pub struct SqlClient {
    inner: Arc<SqlInner>,
}

struct SqlInner {
    /// The FE as configured (before host mapping), for messages.
    host: String,
    addr: String,
    /// Everything but the host, which is mapped when a pool is built.
    options: MySqlConnectOptions,
    connect_timeout: Duration,
    mapping: HostMapping,
    /// The pool and the mapping generation it dials under; rebuilt when the mapping changes.
    pool: parking_lot::Mutex<(u64, Option<MySqlPool>)>,
}

impl std::fmt::Debug for SqlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlClient")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl SqlClient {
    /// Creates the pool; no connection is opened until the first statement.
    pub fn new(
        host: &str,
        port: u16,
        user: &str,
        password: &Secret,
        connect_timeout: Duration,
    ) -> Self {
        Self::with_host_mapping(
            host,
            port,
            user,
            password,
            connect_timeout,
            HostMapping::default(),
        )
    }

    /// Like [`SqlClient::new`], dialling `host` through `mapping`; a change of the mapping
    /// takes effect at the next statement.
    pub fn with_host_mapping(
        host: &str,
        port: u16,
        user: &str,
        password: &Secret,
        connect_timeout: Duration,
        mapping: HostMapping,
    ) -> Self {
        let mut options = MySqlConnectOptions::new()
            .port(port)
            .username(user)
            // Doris needs none of sqlx's session set-up; sending nothing matches the
            // reference syncer and avoids depending on Doris's SET support.
            .pipes_as_concat(false)
            .no_engine_substitution(false)
            .timezone(None)
            .set_names(false)
            .statement_cache_capacity(0);
        // sqlx would send a scramble of the empty string, which Doris refuses; an empty
        // password must be sent as no password at all.
        if !password.is_empty() {
            options = options.password(password.expose());
        }
        SqlClient {
            inner: Arc::new(SqlInner {
                host: host.to_owned(),
                addr: format!("{host}:{port}"),
                options,
                connect_timeout,
                mapping,
                pool: parking_lot::Mutex::new((0, None)),
            }),
        }
    }

    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// The pool for the current host mapping, built (lazily connecting) if the mapping
    /// changed since the last statement.
    fn pool(&self) -> Result<MySqlPool, DorisError> {
        let inner = &self.inner;
        let generation = inner.mapping.generation();
        let mut slot = inner.pool.lock();
        if let (built, Some(pool)) = &*slot {
            if *built == generation {
                return Ok(pool.clone());
            }
        }
        let dialled = inner.mapping.resolve(&inner.host);
        if never_resolves(&dialled) {
            return Err(DorisError::Connect {
                addr: inner.addr.clone(),
                message: format!(
                    "{dialled} does not resolve ({})",
                    inner.mapping.dial_note(&inner.host)
                ),
            });
        }
        let pool = MySqlPoolOptions::new()
            .max_connections(MAX_CONNECTIONS_PER_FE)
            .min_connections(0)
            .acquire_timeout(inner.connect_timeout)
            .idle_timeout(Some(IDLE_CONNECTION_TIMEOUT))
            .test_before_acquire(true)
            .connect_lazy_with(inner.options.clone().host(&dialled));
        if let (_, Some(old)) = std::mem::replace(&mut *slot, (generation, Some(pool.clone()))) {
            tokio::spawn(async move { old.close().await });
        }
        Ok(pool)
    }

    /// Runs one statement and returns its rows.
    pub async fn query(&self, sql: &str) -> Result<Vec<SqlRow>, DorisError> {
        let rows: Vec<MySqlRow> = self
            .pool()?
            .fetch_all(sql)
            .await
            .map_err(|e| self.error(sql, e))?;
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let columns: Arc<[String]> = first
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        rows.iter()
            .map(|row| {
                let values = (0..columns.len())
                    .map(|i| row.try_get_unchecked::<Option<String>, _>(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| self.error(sql, e))?;
                Ok(SqlRow {
                    columns: columns.clone(),
                    values,
                })
            })
            .collect()
    }

    /// Runs one statement that returns no rows; gives the affected row count.
    pub async fn exec(&self, sql: &str) -> Result<u64, DorisError> {
        let done = self
            .pool()?
            .execute(sql)
            .await
            .map_err(|e| self.error(sql, e))?;
        Ok(done.rows_affected())
    }

    fn error(&self, sql: &str, error: sqlx::Error) -> DorisError {
        let inner = &self.inner;
        match inner.mapping.mapped(&inner.host) {
            Some(dialled) => {
                let addr = format!("{} (dialled as {dialled} per host_mapping)", inner.addr);
                DorisError::from_sqlx(&addr, sql, error)
            }
            None => DorisError::from_sqlx(&inner.addr, sql, error),
        }
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        let pool = self.inner.pool.lock().1.clone();
        if let Some(pool) = pool {
            pool.close().await;
        }
    }

    // ---- typed statements -------------------------------------------------------------

    /// `frontends()`: every FE of the cluster.
    pub async fn frontends(&self) -> Result<Vec<FrontendRow>, DorisError> {
        let rows = self
            .query("select Host, QueryPort, RpcPort, IsMaster from frontends();")
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FrontendRow {
                    host: row.text("Host")?,
                    query_port: row.text("QueryPort")?,
                    rpc_port: row.text("RpcPort")?,
                    is_master: row.bool("IsMaster")?,
                })
            })
            .collect()
    }

    /// Whether the FE has `enable_feature_binlog` on (first matching config row).
    pub async fn fe_binlog_enabled(&self) -> Result<bool, DorisError> {
        let rows = self
            .query(r#"ADMIN SHOW FRONTEND CONFIG LIKE "%enable_feature_binlog%""#)
            .await?;
        match rows.first() {
            Some(row) => Ok(parse_bool(&row.text("Value")?).unwrap_or(false)),
            None => Ok(false),
        }
    }

    /// `show backends`.
    pub async fn backends(&self) -> Result<Vec<BackendRow>, DorisError> {
        let rows = self.query("show backends").await?;
        rows.iter()
            .map(|row| {
                Ok(BackendRow {
                    id: row.int("BackendId")?,
                    host: row.text("Host")?,
                    be_port: port(row, "BePort")?,
                    http_port: port(row, "HttpPort")?,
                    brpc_port: port(row, "BrpcPort")?,
                    alive: row.get("Alive")?.and_then(parse_bool).unwrap_or(true),
                    max_disk_used_pct: row
                        .get("MaxDiskUsedPct")
                        .ok()
                        .flatten()
                        .and_then(parse_percent),
                })
            })
            .collect()
    }

    pub async fn database_exists(&self, db: &str) -> Result<bool, DorisError> {
        // LIKE treats `_` and `%` as wildcards, so the rows are filtered for the exact name.
        let rows = self
            .query(&format!("SHOW DATABASES LIKE {}", quote_str(db)))
            .await?;
        for row in &rows {
            if row.text("Database")? == db {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub async fn show_create_database(&self, db: &str) -> Result<String, DorisError> {
        let rows = self
            .query(&format!("SHOW CREATE DATABASE {}", quote_ident(db)))
            .await?;
        let row = rows.last().ok_or_else(|| {
            DorisError::UnexpectedResult(format!("SHOW CREATE DATABASE {db} returned no row"))
        })?;
        row.text("Create Database")
    }

    pub async fn table_exists(&self, db: &str, table: &str) -> Result<bool, DorisError> {
        let sql = format!(
            "SHOW TABLES FROM {} LIKE {}",
            quote_ident(db),
            quote_str(table)
        );
        let rows = self.query(&sql).await?;
        let column = format!("Tables_in_{db}");
        for row in &rows {
            if row.text(&column)? == table {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The `Create Table` text of a table (an error for a view, whose answer has no such
    /// column).
    pub async fn show_create_table(&self, db: &str, table: &str) -> Result<String, DorisError> {
        let sql = format!(
            "SHOW CREATE TABLE {}.{}",
            quote_ident(db),
            quote_ident(table)
        );
        let rows = self.query(&sql).await?;
        let row = rows.last().ok_or_else(|| {
            DorisError::UnexpectedResult(format!("SHOW CREATE TABLE {db}.{table} returned no row"))
        })?;
        row.text("Create Table")
    }

    /// Every database the user sees (`SHOW DATABASES`), system ones included, with the
    /// `default_cluster:` prefix of Doris 2.0 removed.
    pub async fn databases(&self) -> Result<Vec<String>, DorisError> {
        let rows = self.query("SHOW DATABASES").await?;
        rows.iter()
            .map(|row| {
                let name = row.text("Database")?;
                Ok(name
                    .strip_prefix("default_cluster:")
                    .map(str::to_owned)
                    .unwrap_or(name))
            })
            .collect()
    }

    pub async fn drop_database_if_exists(&self, db: &str) -> Result<(), DorisError> {
        self.exec(&format!("DROP DATABASE IF EXISTS {}", quote_ident(db)))
            .await?;
        Ok(())
    }

    pub async fn create_database_if_not_exists(&self, db: &str) -> Result<(), DorisError> {
        self.exec(&format!(
            "CREATE DATABASE IF NOT EXISTS {}",
            quote_ident(db)
        ))
        .await?;
        Ok(())
    }

    /// The id of database `db` from `show proc '/dbs/'`.
    pub async fn database_id(&self, db: &str) -> Result<Option<i64>, DorisError> {
        let rows = self.query("show proc '/dbs/'").await?;
        let prefixed = format!("default_cluster:{db}");
        for row in &rows {
            let name = row.text("DbName")?;
            if name == db || name == prefixed {
                return Ok(Some(row.int("DbId")?));
            }
        }
        Ok(None)
    }

    /// The id of `table` in the database with id `db_id`, from `show proc '/dbs/<id>/'`.
    pub async fn table_id(&self, db_id: i64, table: &str) -> Result<Option<i64>, DorisError> {
        let rows = self.query(&format!("show proc '/dbs/{db_id}/'")).await?;
        for row in &rows {
            if row.text("TableName")? == table {
                return Ok(Some(row.int("TableId")?));
            }
        }
        Ok(None)
    }

    /// Every table and view of the database with id `db_id`.
    pub async fn tables(&self, db_id: i64) -> Result<Vec<TableRow>, DorisError> {
        let rows = self.query(&format!("show proc '/dbs/{db_id}/'")).await?;
        rows.iter()
            .map(|row| {
                Ok(TableRow {
                    id: row.int("TableId")?,
                    name: row.text("TableName")?,
                    is_view: row.text("Type")?.eq_ignore_ascii_case("VIEW"),
                })
            })
            .collect()
    }

    /// `@@version_comment`: the Doris build (`Doris version doris-2.1.7-rc01-...`); the
    /// handshake and `VERSION()` only say `5.7.99`.
    pub async fn version_comment(&self) -> Result<String, DorisError> {
        let rows = self.query("SELECT @@version_comment").await?;
        let row = rows.first().ok_or_else(|| {
            DorisError::UnexpectedResult("SELECT @@version_comment returned no row".into())
        })?;
        Ok(row.values().first().cloned().flatten().unwrap_or_default())
    }

    /// `SHOW GRANTS`: the privileges of the user this client logs in as.
    pub async fn own_grants(&self) -> Result<GrantRow, DorisError> {
        let rows = self.query("SHOW GRANTS").await?;
        let row = rows
            .first()
            .ok_or_else(|| DorisError::UnexpectedResult("SHOW GRANTS returned no row".into()))?;
        Ok(GrantRow {
            user_identity: row.text("UserIdentity")?,
            global_privs: row.text("GlobalPrivs")?,
            database_privs: row.text("DatabasePrivs")?,
        })
    }

    /// `ALTER TABLE db.t SET ("key" = "value")`.
    pub async fn set_table_property(
        &self,
        db: &str,
        table: &str,
        key: &str,
        value: &str,
    ) -> Result<(), DorisError> {
        self.exec(&set_table_property_sql(db, table, key, value))
            .await?;
        Ok(())
    }
}

impl SqlClient {
    /// `SHOW PARTITIONS FROM db.t`: every (non-temporary) partition with its range and
    /// visible version, in Doris's order.
    pub async fn partitions(&self, db: &str, table: &str) -> Result<Vec<PartitionRow>, DorisError> {
        let sql = format!(
            "SHOW PARTITIONS FROM {}.{}",
            quote_ident(db),
            quote_ident(table)
        );
        let rows = self.query(&sql).await?;
        rows.iter()
            .map(|row| {
                Ok(PartitionRow {
                    name: row.text("PartitionName")?,
                    range: row.text("Range")?,
                    visible_version: row.int("VisibleVersion")?,
                })
            })
            .collect()
    }

    /// `SHOW FULL COLUMNS FROM db.t`: the columns in table order with their types.
    pub async fn columns(&self, db: &str, table: &str) -> Result<Vec<ColumnRow>, DorisError> {
        let sql = format!(
            "SHOW FULL COLUMNS FROM {}.{}",
            quote_ident(db),
            quote_ident(table)
        );
        let rows = self.query(&sql).await?;
        rows.iter()
            .map(|row| {
                Ok(ColumnRow {
                    name: row.text("Field")?,
                    column_type: row.text("Type")?,
                })
            })
            .collect()
    }

    /// The table's comment from `information_schema.tables` (empty when it has none).
    pub async fn table_comment(&self, db: &str, table: &str) -> Result<String, DorisError> {
        let sql = format!(
            "SELECT TABLE_COMMENT FROM information_schema.tables WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
            quote_str(db),
            quote_str(table)
        );
        let rows = self.query(&sql).await?;
        match rows.first() {
            Some(row) => row.text("TABLE_COMMENT"),
            None => Err(DorisError::UnexpectedResult(format!(
                "information_schema.tables has no table {db}.{table}"
            ))),
        }
    }
}

/// One row of `SHOW PARTITIONS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRow {
    pub name: String,
    /// Doris's rendering of the range or list (equal for equal definitions).
    pub range: String,
    pub visible_version: i64,
}

/// One row of `SHOW FULL COLUMNS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRow {
    pub name: String,
    /// As Doris prints it: `int`, `varchar(20)`, `decimal(10,2)`.
    pub column_type: String,
}

/// `ALTER TABLE db.t SET ("key" = "value")`, quoted.
pub fn set_table_property_sql(db: &str, table: &str, key: &str, value: &str) -> String {
    format!(
        "ALTER TABLE {}.{} SET ({} = {})",
        quote_ident(db),
        quote_ident(table),
        quote_str(key),
        quote_str(value)
    )
}

fn port(row: &SqlRow, column: &str) -> Result<u16, DorisError> {
    let value = row.int(column)?;
    u16::try_from(value).map_err(|_| {
        DorisError::UnexpectedResult(format!("column {column} is not a port: {value}"))
    })
}

/// One row of `frontends()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontendRow {
    pub host: String,
    pub query_port: String,
    pub rpc_port: String,
    pub is_master: bool,
}

/// One row of `show proc '/dbs/<id>/'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub id: i64,
    pub name: String,
    pub is_view: bool,
}

/// One row of `show backends`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendRow {
    pub id: i64,
    pub host: String,
    pub be_port: u16,
    pub http_port: u16,
    pub brpc_port: u16,
    pub alive: bool,
    /// `MaxDiskUsedPct`: how full the BE's fullest data disk is, in percent (`None` when
    /// the FE does not say).
    pub max_disk_used_pct: Option<f64>,
}

/// A `SHOW BACKENDS` percentage (`83.00 %`; the `%` optional).
pub fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().trim_end_matches('%').trim();
    number.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// One row of `SHOW GRANTS` (NULL lists read as empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRow {
    /// `'user'@'host'`.
    pub user_identity: String,
    /// Comma-separated global privileges, `Node_priv,Admin_priv`.
    pub global_privs: String,
    /// `internal.db: Select_priv,Load_priv; ...`.
    pub database_privs: String,
}

impl GrantRow {
    /// Whether the global privileges hold `privilege` (`Admin_priv`), case-insensitively.
    pub fn has_global(&self, privilege: &str) -> bool {
        self.global_privs
            .split(',')
            .any(|p| p.trim().eq_ignore_ascii_case(privilege))
    }
}

/// The Doris release in a `@@version_comment` or `Version` text
/// (`Doris version doris-2.1.7-rc01-...` → `(2, 1, 7)`); `None` when it names none.
pub fn doris_release(text: &str) -> Option<(u32, u32, u32)> {
    text.match_indices("doris-").find_map(|(at, prefix)| {
        let rest = &text[at + prefix.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let mut parts = rest[..end].split('.').map(|p| p.parse::<u32>().ok());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Some(major)), Some(Some(minor)), patch) => {
                Some((major, minor, patch.flatten().unwrap_or(0)))
            }
            _ => None,
        }
    })
}

/// Whether a `SHOW CREATE DATABASE` / `SHOW CREATE TABLE` text has binlog enabled (the exact
/// property rendering Doris prints).
pub fn binlog_enabled_in(create_text: &str) -> bool {
    create_text.contains(r#""binlog.enable" = "true""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("select"), "`select`");
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("my-db"), "`my-db`");
        assert_eq!(quote_str("it's"), r"'it\'s'");
        assert_eq!(quote_str(r"a\b"), r"'a\\b'");
    }

    #[test]
    fn disk_percentages_are_read_with_or_without_the_sign() {
        assert_eq!(parse_percent("83.00 %"), Some(83.0));
        assert_eq!(parse_percent("12.5%"), Some(12.5));
        assert_eq!(parse_percent(" 0 "), Some(0.0));
        assert_eq!(parse_percent("N/A"), None);
        assert_eq!(parse_percent(""), None);
    }

    #[test]
    fn rows_are_read_by_column_name() {
        let row = SqlRow {
            columns: vec!["Host".to_owned(), "IsMaster".to_owned(), "Port".to_owned()].into(),
            values: vec![Some("h".into()), Some("true".into()), None],
        };
        assert_eq!(row.text("Host").unwrap(), "h");
        assert!(row.bool("IsMaster").unwrap());
        assert_eq!(row.text("Port").unwrap(), "");
        assert_eq!(
            row.get("host").unwrap_err().to_string(),
            "column host is not in this table"
        );
        assert!(row.int("Host").is_err());
    }

    #[test]
    fn doris_release_is_read_from_the_version_comment() {
        assert_eq!(
            doris_release("Doris version doris-2.1.7-rc01-d5a02e095d"),
            Some((2, 1, 7))
        );
        assert_eq!(doris_release("doris-3.0.2-rc03"), Some((3, 0, 2)));
        assert_eq!(
            doris_release("Doris version doris-2.1-dev"),
            Some((2, 1, 0))
        );
        assert_eq!(doris_release("5.7.99"), None);
        assert_eq!(doris_release("Doris version trunk"), None);
        assert!(doris_release("doris-2.0.15") < doris_release("doris-2.1.0"));
    }

    #[test]
    fn grant_rows_are_searched_by_privilege_name() {
        let row = GrantRow {
            user_identity: "'root'@'%'".into(),
            global_privs: "Node_priv,Admin_priv".into(),
            database_privs: String::new(),
        };
        assert!(row.has_global("Admin_priv") && row.has_global("admin_priv"));
        assert!(!row.has_global("Grant_priv"));
    }

    #[test]
    fn binlog_switch_detection() {
        assert!(binlog_enabled_in(
            "CREATE DATABASE `d`\nPROPERTIES (\n\"binlog.enable\" = \"true\"\n)"
        ));
        assert!(!binlog_enabled_in("CREATE DATABASE `d`"));
        assert!(!binlog_enabled_in("\"binlog.enable\" = \"false\""));
    }
}
