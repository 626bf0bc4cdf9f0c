//! Clients for one Doris cluster: SQL over the MySQL protocol (`sql`), FE and BE Thrift
//! (`rpc`), and a BE's HTTP configuration endpoint (`be_config`).

pub mod be_config;
pub mod cluster;
pub mod error;
pub mod host_map;
pub mod meta;
pub mod rpc;
pub mod sql;

pub use error::{BinlogUnavailable, DorisError, DorisErrorKind};
pub use host_map::HostMapping;
pub use sql::SqlClient;
