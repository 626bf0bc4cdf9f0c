//! Call counters of one simulated cluster: FrontendService methods per database name,
//! MySQL-protocol statements per kind, BackendService methods and BE HTTP downloads.
//!
//! They let a bench say how many calls the syncer sends a cluster (per source database,
//! per replicated transaction) without a proxy in between. Counting is one relaxed atomic
//! add; only the first call naming a database takes a write lock to add its row. The
//! counters only grow: callers take a [`CallCounts`] snapshot before and after a window
//! and subtract.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use parking_lot::RwLock;

use crate::catalog::Catalog;

/// FrontendService methods, by their wire names.
pub const FE_METHODS: [&str; 11] = [
    "beginTxn",
    "commitTxn",
    "rollbackTxn",
    "getBinlog",
    "getBinlogLag",
    "lockBinlog",
    "getSnapshot",
    "restoreSnapshot",
    "getMasterToken",
    "getMeta",
    "getBackendMeta",
];

/// Kinds of MySQL-protocol statements, by the statement's leading keyword.
pub const SQL_KINDS: [&str; 9] = [
    "SELECT", "SHOW", "INSERT", "DML", "DDL", "BACKUP", "RESTORE", "SESSION", "OTHER",
];

/// BackendService methods and BE HTTP downloads (all BEs of the cluster together).
pub const BE_CALLS: [&str; 4] = [
    "ingest_binlog",
    "query_ingest_binlog",
    "binlog_download",
    "snapshot_download",
];

/// The key under which FE calls naming no database are counted.
pub const NO_DATABASE: &str = "";

type Row<const N: usize> = [AtomicU64; N];

fn row<const N: usize>() -> Row<N> {
    std::array::from_fn(|_| AtomicU64::new(0))
}

fn index_of(names: &[&str], name: &str) -> usize {
    names
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("{name} is not a counted call"))
}

/// The live counters (shared by the cluster's services through its catalog).
#[derive(Debug)]
pub struct CallCounters {
    fe_by_db: RwLock<HashMap<String, Arc<Row<{ FE_METHODS.len() }>>>>,
    sql: Row<{ SQL_KINDS.len() }>,
    be: Row<{ BE_CALLS.len() }>,
}

impl Default for CallCounters {
    fn default() -> Self {
        Self {
            fe_by_db: RwLock::default(),
            sql: row(),
            be: row(),
        }
    }
}

impl CallCounters {
    /// Counts one FrontendService call (`method` is one of [`FE_METHODS`]) naming
    /// database `db` ([`NO_DATABASE`] when the request names none).
    pub fn count_fe(&self, method: &str, db: &str) {
        let index = index_of(&FE_METHODS, method);
        if let Some(row) = self.fe_by_db.read().get(db) {
            row[index].fetch_add(1, Ordering::Relaxed);
            return;
        }
        let row = Arc::clone(
            self.fe_by_db
                .write()
                .entry(db.to_owned())
                .or_insert_with(|| Arc::new(row())),
        );
        row[index].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one statement of a COM_QUERY, by the statement's first word.
    pub fn count_sql(&self, first_word: &str) {
        self.sql[sql_kind(first_word)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one BE call (`name` is one of [`BE_CALLS`]).
    pub fn count_be(&self, name: &str) {
        self.be[index_of(&BE_CALLS, name)].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CallCounts {
        let load = |row: &[AtomicU64], names: &[&'static str]| -> BTreeMap<&'static str, u64> {
            names
                .iter()
                .zip(row)
                .map(|(name, n)| (*name, n.load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        CallCounts {
            fe: self
                .fe_by_db
                .read()
                .iter()
                .map(|(db, row)| (db.clone(), load(&row[..], &FE_METHODS)))
                .collect(),
            sql: load(&self.sql, &SQL_KINDS),
            be: load(&self.be, &BE_CALLS),
        }
    }
}

/// Leading keywords → statement kind; anything else is `OTHER`.
const SQL_KIND_OF_WORD: [(&str, &str); 26] = [
    ("SELECT", "SELECT"),
    ("WITH", "SELECT"),
    ("SHOW", "SHOW"),
    ("DESC", "SHOW"),
    ("DESCRIBE", "SHOW"),
    ("EXPLAIN", "SHOW"),
    ("INSERT", "INSERT"),
    ("DELETE", "DML"),
    ("UPDATE", "DML"),
    ("TRUNCATE", "DML"),
    ("CREATE", "DDL"),
    ("ALTER", "DDL"),
    ("DROP", "DDL"),
    ("RENAME", "DDL"),
    ("GRANT", "DDL"),
    ("REVOKE", "DDL"),
    ("ADMIN", "DDL"),
    ("RECOVER", "DDL"),
    ("BACKUP", "BACKUP"),
    ("CANCEL", "BACKUP"),
    ("RESTORE", "RESTORE"),
    ("SET", "SESSION"),
    ("USE", "SESSION"),
    ("BEGIN", "SESSION"),
    ("COMMIT", "SESSION"),
    ("ROLLBACK", "SESSION"),
];

/// Index into [`SQL_KINDS`] of a statement starting with `first_word`.
fn sql_kind(first_word: &str) -> usize {
    let kind = SQL_KIND_OF_WORD
        .iter()
        .find(|(word, _)| word.eq_ignore_ascii_case(first_word))
        .map_or("OTHER", |(_, kind)| kind);
    index_of(&SQL_KINDS, kind)
}

/// A snapshot of [`CallCounters`]; only non-zero counts are present.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallCounts {
    /// Database name ([`NO_DATABASE`] for none) → FE method → calls.
    pub fe: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Statement kind → statements.
    pub sql: BTreeMap<&'static str, u64>,
    /// BE call → calls.
    pub be: BTreeMap<&'static str, u64>,
}

impl CallCounts {
    /// What happened between `earlier` and `self` (counts only grow).
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        fn minus(
            now: &BTreeMap<&'static str, u64>,
            then: Option<&BTreeMap<&'static str, u64>>,
        ) -> BTreeMap<&'static str, u64> {
            now.iter()
                .map(|(k, v)| (*k, v - then.and_then(|t| t.get(k)).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect()
        }
        CallCounts {
            fe: self
                .fe
                .iter()
                .map(|(db, row)| (db.clone(), minus(row, earlier.fe.get(db))))
                .filter(|(_, row)| !row.is_empty())
                .collect(),
            sql: minus(&self.sql, Some(&earlier.sql)),
            be: minus(&self.be, Some(&earlier.be)),
        }
    }

    /// FE calls of `method` over all databases.
    pub fn fe_method(&self, method: &str) -> u64 {
        self.fe.values().filter_map(|row| row.get(method)).sum()
    }

    /// Every FE call naming database `db`.
    pub fn fe_db(&self, db: &str) -> u64 {
        self.fe.get(db).map_or(0, |row| row.values().sum())
    }

    /// Every FE call (Thrift), over all databases and none.
    pub fn fe_total(&self) -> u64 {
        self.fe.values().flat_map(|row| row.values()).sum()
    }

    /// Every MySQL-protocol statement.
    pub fn sql_total(&self) -> u64 {
        self.sql.values().sum()
    }
}

/// `GET /api/_sim/calls` on the FE's HTTP port: the cluster's [`CallCounts`] as JSON
/// (`{"fe": {db: {method: n}}, "sql": {kind: n}, "be": {call: n}}`, the FE calls naming no
/// database under `""`), for clients outside the simulator's process.
pub fn call_count_routes(catalog: Arc<Catalog>) -> Router {
    async fn calls(State(catalog): State<Arc<Catalog>>) -> Json<CallCounts> {
        Json(catalog.calls().snapshot())
    }
    Router::new()
        .route("/api/_sim/calls", get(calls))
        .with_state(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_database_and_kind_and_subtracts() {
        let counters = CallCounters::default();
        counters.count_fe("getBinlog", "db1");
        let before = counters.snapshot();
        counters.count_fe("getBinlog", "db1");
        counters.count_fe("getBinlog", "db2");
        counters.count_fe("getMasterToken", NO_DATABASE);
        counters.count_sql("show");
        counters.count_sql("Insert");
        counters.count_sql("frobnicate");
        counters.count_be("ingest_binlog");
        let delta = counters.snapshot().since(&before);
        assert_eq!(delta.fe_db("db1"), 1);
        assert_eq!(delta.fe_db("db2"), 1);
        assert_eq!(delta.fe_method("getBinlog"), 2);
        assert_eq!(delta.fe_total(), 3);
        assert_eq!(delta.sql["SHOW"], 1);
        assert_eq!(delta.sql["INSERT"], 1);
        assert_eq!(delta.sql["OTHER"], 1);
        assert_eq!(delta.be["ingest_binlog"], 1);
        assert_eq!(delta.sql_total(), 3);
    }
}
