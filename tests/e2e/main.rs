//! End-to-end tests of the syncer: the real `ccr_syncer` binary between two simulated Doris
//! clusters, driven over HTTP (and with curl and the `mariadb` CLI where a test is about
//! those clients). One binary, so a change links once; `support` holds the launchers, the
//! API client and the waits every module shares.

mod support;

mod api;
mod api_jobs;
mod cluster_jobs;
mod db_sync;
mod ha;
mod ha_chaos;
mod host_mapping;
mod migration_ops;
mod operator_routes;
mod random_workload;
mod replay_sim_fidelity;
mod scripts;
mod security;
mod sim_replication_path;
mod snapshot_slots;
mod source_watch;
mod store_suite;
mod table_sync;
mod telemetry;
mod validate;
mod verify;
