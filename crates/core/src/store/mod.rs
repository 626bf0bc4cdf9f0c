//! Metadata store: where jobs, their progress and the syncers' heartbeats live.
//!
//! Two backends implement [`MetaStore`]: SQLite (embedded default, one file, WAL) and MySQL
//! (shared by several syncers for high availability). Both keep the reference syncer's table
//! names (`jobs`, `progresses`, `syncers`) so operators recognise them, and both use bound
//! parameters only.

mod meta_store;
mod mysql;
pub mod progress_codec;
mod progress_store;
mod sqlite;

use std::sync::Arc;

pub use meta_store::{JobRow, MetaStore, StoreConfig, StoreError, SyncerRow};
pub use progress_store::{OwnedProgress, ProgressStore};

/// Open the configured backend, creating the SQLite file or MySQL database if missing and
/// applying pending migrations (safe when several syncers start at once on one database).
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn MetaStore>, StoreError> {
    match config {
        StoreConfig::Sqlite { path } => Ok(Arc::new(sqlite::SqliteStore::open(path).await?)),
        StoreConfig::Mysql {
            host,
            port,
            user,
            password,
            database,
        } => Ok(Arc::new(
            mysql::MysqlStore::open(host, *port, user, password, database).await?,
        )),
    }
}
