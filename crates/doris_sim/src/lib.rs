//! doris_sim: a simulated Apache Doris cluster (one FE, N BEs) that speaks Doris's wire
//! protocols (MySQL on the FE query port, FrontendService/BackendService Thrift, BE HTTP)
//! with a real catalog, binlog, backup/restore, transactions and row data.
//!
//! It depends only on the wire types (`crate::wire`), never on syncer internals.

pub mod backup;
pub mod be_http;
pub mod be_service;
pub mod binlog_journal;
pub mod binlog_service;
pub mod call_counts;
pub mod catalog;
pub mod cluster;
pub mod fault;
pub mod fe_http;
pub mod fe_service;
pub mod launch;
pub mod mysql;
pub mod session;
pub mod sql;
pub mod thrift_server;
pub mod topology;
pub mod txn;
