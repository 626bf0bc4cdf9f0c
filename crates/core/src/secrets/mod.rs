//! Secrets the syncer keeps: cluster passwords encrypted at rest in the metadata store
//! (`at_rest`, AES-256-GCM under the operator's key) and passwords handed to `/create_ccr`
//! in the StarRocks migration tool's form (`mysql_aes`, MySQL `AES_ENCRYPT`).
//!
//! A leaf: it knows [`ccr_wire::secret::Secret`] and nothing of jobs or stores.

pub mod at_rest;
mod error;
pub mod mysql_aes;

pub use at_rest::{SecretKey, SecretKeys};
pub use error::SecretError;
