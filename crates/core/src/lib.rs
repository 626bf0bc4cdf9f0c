//! The syncer's core: the job manager and each job's persistent state machine (`job`), the
//! metadata store with HA ownership (`store`), and the syncer's metrics (`metrics`).
//!
//! It reaches Doris only through `ccr_doris` and knows binlogs only as `ccr_binlog` records;
//! the HTTP API (`ccr_api`) and the binary (`ccr_syncer`) sit on top of it.

pub mod job;
pub mod metrics;
pub mod progress;
pub mod secrets;
pub mod store;

#[cfg(test)]
mod module_graph_tests;
