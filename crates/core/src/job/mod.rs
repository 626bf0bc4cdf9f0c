//! Jobs: the manager that owns them, and each job's persistent state machine.

pub mod error;
pub mod features;
pub mod first_run;
pub mod manager;
pub mod progress;
pub mod runner;
pub mod spec;
mod sync;

pub use error::JobError;
pub use manager::{CreateJobRequest, JobLag, JobManager, JobSettings};
