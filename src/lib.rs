//! ccr_syncer: cross-cluster replication for Apache Doris.
//!
//! Layers, each depending only on those below it:
//! `api` (HTTP) → `job` (manager and per-job state machines) → `doris` (clients for one
//! cluster) / `store` (metadata). `binlog` holds the typed binlog records, `wire` the Thrift
//! types generated from `thrift/`, and `sim` the simulated Doris cluster used by tests and demos.

pub mod api;
pub mod binlog;
pub mod config;
pub mod doris;
pub mod job;
pub mod metrics;
pub mod secret;
pub mod sim;
pub mod store;
pub mod wire;
