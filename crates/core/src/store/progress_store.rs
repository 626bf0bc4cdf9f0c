//! What a job's state machine needs of the store: its progress, fenced by ownership.

use std::sync::Arc;

use async_trait::async_trait;

use super::meta_store::{MetaStore, StoreError};
use super::progress_codec;

/// Where one syncer keeps its jobs' progress: what a job's state machine needs of the store.
///
/// Every method is durable when it returns `Ok` and safe to call concurrently for different
/// jobs; one job's task is the only writer of that job's progress.
#[async_trait]
pub trait ProgressStore: Send + Sync {
    /// The job's saved progress, if it has one.
    async fn load(&self, job: &str) -> Result<Option<crate::progress::Progress>, StoreError>;

    /// Saves the progress with one durable write. Fenced: refused with
    /// [`StoreError::NotOwner`] once another syncer owns the job, and with
    /// [`StoreError::JobNotFound`] once it is deleted, so a job that lost its job record
    /// never writes again. Idempotent: saving the same progress twice is harmless.
    async fn save(&self, job: &str, progress: &crate::progress::Progress)
        -> Result<(), StoreError>;

    /// The first progress of a job whose record exists but has never run (not fenced: no
    /// other syncer can own a job nobody has run).
    async fn create(
        &self,
        job: &str,
        progress: &crate::progress::Progress,
    ) -> Result<(), StoreError>;
}

/// The progress of a job that `owner` runs under ownership `epoch`, kept in a
/// [`MetaStore`] as reference JSON.
pub struct OwnedProgress {
    store: Arc<dyn MetaStore>,
    owner: String,
    epoch: i64,
}

impl OwnedProgress {
    pub fn new(store: Arc<dyn MetaStore>, owner: impl Into<String>, epoch: i64) -> Self {
        OwnedProgress {
            store,
            owner: owner.into(),
            epoch,
        }
    }
}

#[async_trait]
impl ProgressStore for OwnedProgress {
    async fn load(&self, job: &str) -> Result<Option<crate::progress::Progress>, StoreError> {
        let Some(text) = self.store.get_progress(job).await? else {
            return Ok(None);
        };
        progress_codec::decode(&text)
            .map(Some)
            .map_err(|source| StoreError::CorruptProgress {
                name: job.to_owned(),
                source,
            })
    }

    async fn save(
        &self,
        job: &str,
        progress: &crate::progress::Progress,
    ) -> Result<(), StoreError> {
        self.store
            .put_progress_owned(
                job,
                &self.owner,
                self.epoch,
                &progress_codec::encode(progress),
            )
            .await
    }

    async fn create(
        &self,
        job: &str,
        progress: &crate::progress::Progress,
    ) -> Result<(), StoreError> {
        self.store
            .put_progress(job, &progress_codec::encode(progress))
            .await
    }
}
