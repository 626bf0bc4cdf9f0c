//! Jobs: the manager that owns them, and each job's persistent state machine.
//!
//! Modules depend one way, top to bottom:
//! * `manager` — every job of this syncer, the API's entry point;
//! * `runner` — one job's task: steps, retries, status;
//! * `sync` — one step of the state machine (replay planner, executors, snapshots);
//! * `context` — what a step works with; `cluster` — the source and target traits, with
//!   `fake` in-memory stand-ins for tests; `source_watch` — one watcher per source
//!   database that wakes its caught-up jobs (the registry is the manager's);
//! * `record` — the job record at the store boundary (passwords sealed and opened);
//! * `manager::cluster_job` (file `cluster_job.rs`) — whole-cluster jobs: one database job
//!   per admitted source database, kept by a watcher; its rules are `cluster_filter`;
//! * leaves: `spec`, `cluster_filter`, `settings`, `features`, `clock`, `status`, `error`,
//!   `first_run`, `host_mapping`, `snapshot_slots` (the snapshot coordinator the manager owns:
//!   backups batched per source database, restores one at a time per target database); `validate` (the `/validate` report, built on
//!   `first_run`'s checks); `verify` (the `/verify` comparison of source and target).
//!
//! The progress a job persists (its phase and cursor) is `crate::progress`; its JSON form
//! is `crate::store::progress_codec`.

pub mod clock;
pub mod cluster;
pub mod cluster_filter;
pub mod context;
pub mod error;
#[cfg(test)]
pub(crate) mod fake;
pub mod features;
pub mod first_run;
pub mod host_mapping;
pub mod lease;
pub mod manager;
pub mod record;
pub mod runner;
pub mod settings;
pub mod snapshot_slots;
pub mod source_watch;
#[cfg(test)]
mod source_watch_tests;
pub mod spec;
#[cfg(test)]
mod state_machine_tests;
pub mod status;
mod sync;
pub mod validate;
pub mod verify;

pub use error::JobError;
pub use manager::{
    BinlogSkip, CreateJobRequest, DatabaseLag, JobLag, JobManager, JobOverview, JobOwner,
    JobProgress, SyncerInfo,
};
pub use settings::JobSettings;
