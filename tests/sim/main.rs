//! Tests of the simulated Doris cluster (`doris_sim`): its MySQL protocol and SQL, binlog,
//! transactions, backup and restore, faults, scale, and the binlog records it produces, as
//! Doris's clients (and the syncer's `ccr_doris` clients) see them.

mod support;

mod binlog_records;
mod doris_sim_binary;
mod sim_backup;
mod sim_binlog;
mod sim_fault_services;
mod sim_faults;
mod sim_mysql_protocol;
mod sim_rollup;
mod sim_scale;
mod sim_sql;
mod sim_txn;
