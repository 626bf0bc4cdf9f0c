//! This syncer's lease on the jobs it owns, and the guard that keeps a syncer whose lease
//! may have lapsed from touching a target.
//!
//! Peers declare a syncer dead when its heartbeat, stamped with the store's clock, is older
//! than `dead_after` by the store's clock. The syncer itself cannot read that clock on every
//! call, so it counts with its own monotonic clock from the moment it *sent* a heartbeat
//! that succeeded: until `sent + term`, with `term = dead_after - heartbeat_interval`, no
//! peer can have taken its jobs. A process that was frozen (SIGSTOP, a long pause) wakes
//! with that window passed: every target write is withheld until the next heartbeat round
//! has renewed the lease *and* re-read which jobs are still its own (the manager renews
//! only after unloading the jobs it lost). The monotonic clock keeps counting while a
//! process is stopped, so a freeze always shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ccr_doris::cluster::{
    BeginTxn, CommitOutcome, NamedSnapshotJob, RestoreRequest, RollbackOutcome, Snapshot,
    SnapshotJobState, TxnState,
};
use ccr_doris::meta::{BackendMeta, DbMeta};
use ccr_doris::sql::{BackendRow, TableRow};
use ccr_doris::DorisError;
use parking_lot::Mutex;

use super::cluster::{IngestCall, TabletCommit, TargetCluster};

/// The lease of one syncer process.
#[derive(Debug)]
pub struct Lease {
    term: Duration,
    /// When the last heartbeat round that renewed the lease started (sent its heartbeat).
    renewed_at: Mutex<Option<Instant>>,
    renewed: tokio::sync::Notify,
}

impl Lease {
    /// A lease not yet renewed (held from the first successful heartbeat round on).
    pub fn new(term: Duration) -> Arc<Self> {
        Arc::new(Lease {
            term,
            renewed_at: Mutex::new(None),
            renewed: tokio::sync::Notify::new(),
        })
    }

    /// A lease that never lapses: for a syncer alone on its store, and for tests.
    pub fn unlimited() -> Arc<Self> {
        let lease = Lease::new(Duration::MAX);
        lease.renew(Instant::now());
        lease
    }

    /// Records a heartbeat round that began at `sent` and succeeded.
    pub fn renew(&self, sent: Instant) {
        let mut at = self.renewed_at.lock();
        if at.is_none_or(|previous| sent > previous) {
            *at = Some(sent);
        }
        drop(at);
        self.renewed.notify_waiters();
    }

    /// Lets the lease lapse now, as a freeze past its term would.
    #[cfg(test)]
    pub fn lapse(&self) {
        *self.renewed_at.lock() = None;
    }

    /// Whether no peer can have taken this syncer's jobs yet.
    pub fn is_held(&self) -> bool {
        self.renewed_at
            .lock()
            .is_some_and(|at| at.elapsed() < self.term)
    }

    /// Why a target call is withheld, if it is.
    pub fn check(&self) -> Result<(), DorisError> {
        if self.is_held() {
            return Ok(());
        }
        Err(DorisError::Withheld(
            "this syncer's lease on its jobs has lapsed (no heartbeat got through in time); \
             waiting for the next heartbeat round"
                .to_owned(),
        ))
    }

    /// Waits until the lease lapses (never, for an unlimited one). A caught-up job waits
    /// for news with this too, so its status says it holds for the store when the store
    /// is cut off while nothing happens.
    pub async fn wait_lapsed(&self) {
        loop {
            let expires = match *self.renewed_at.lock() {
                None => return,
                Some(at) => at.checked_add(self.term),
            };
            let Some(expires) = expires else {
                return std::future::pending().await;
            };
            tokio::time::sleep_until(tokio::time::Instant::from_std(expires)).await;
            if !self.is_held() {
                return;
            }
        }
    }

    /// Waits until the lease is held again.
    pub async fn wait_held(&self) {
        loop {
            let renewed = self.renewed.notified();
            if self.is_held() {
                return;
            }
            renewed.await;
        }
    }
}

/// One job's right to write: this syncer's lease, and whether the job is still this
/// syncer's to run. The manager revokes it when it hands the job away, before it renews the
/// lease, so a step that was frozen mid-way and wakes after the renewal still cannot write.
#[derive(Debug)]
pub struct JobFence {
    lease: Arc<Lease>,
    revoked: std::sync::atomic::AtomicBool,
}

impl JobFence {
    pub fn new(lease: Arc<Lease>) -> Arc<Self> {
        Arc::new(JobFence {
            lease,
            revoked: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The job is no longer this syncer's: no write of its task goes out any more.
    pub fn revoke(&self) {
        self.revoked
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Why a target write is withheld, if it is.
    pub fn check(&self) -> Result<(), DorisError> {
        if self.revoked.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DorisError::Withheld(
                "the job was handed to another syncer".to_owned(),
            ));
        }
        self.lease.check()
    }
}

/// A target whose every write first checks the job's fence; reads pass through.
pub struct FencedTarget {
    inner: Arc<dyn TargetCluster>,
    fence: Arc<JobFence>,
}

impl FencedTarget {
    pub fn new(inner: Arc<dyn TargetCluster>, fence: Arc<JobFence>) -> Self {
        FencedTarget { inner, fence }
    }
}

#[async_trait]
impl TargetCluster for FencedTarget {
    async fn exec(&self, sql: &str) -> Result<u64, DorisError> {
        self.fence.check()?;
        self.inner.exec(sql).await
    }

    async fn database_id(&self, db: &str) -> Result<Option<i64>, DorisError> {
        self.inner.database_id(db).await
    }

    async fn tables(&self, db_id: i64) -> Result<Vec<TableRow>, DorisError> {
        self.inner.tables(db_id).await
    }

    async fn table_id(&self, db_id: i64, table: &str) -> Result<Option<i64>, DorisError> {
        self.inner.table_id(db_id, table).await
    }

    async fn table_exists(&self, db: &str, table: &str) -> Result<bool, DorisError> {
        self.inner.table_exists(db, table).await
    }

    async fn show_create_table(&self, db: &str, table: &str) -> Result<String, DorisError> {
        self.inner.show_create_table(db, table).await
    }

    async fn table_meta(&self, db_id: i64, table_ids: &[i64]) -> Result<DbMeta, DorisError> {
        self.inner.table_meta(db_id, table_ids).await
    }

    async fn backends(&self) -> Result<Vec<BackendMeta>, DorisError> {
        self.inner.backends().await
    }

    async fn disk_usage(&self) -> Result<Vec<BackendRow>, DorisError> {
        self.inner.disk_usage().await
    }

    async fn begin_txn(
        &self,
        db: &str,
        table_ids: Vec<i64>,
        label: &str,
    ) -> Result<BeginTxn, DorisError> {
        self.fence.check()?;
        self.inner.begin_txn(db, table_ids, label).await
    }

    async fn ingest(&self, calls: &[IngestCall]) -> Result<(), DorisError> {
        self.fence.check()?;
        self.inner.ingest(calls).await
    }

    async fn commit_txn(
        &self,
        db: &str,
        txn_id: i64,
        commit_infos: Vec<TabletCommit>,
    ) -> Result<CommitOutcome, DorisError> {
        self.fence.check()?;
        self.inner.commit_txn(db, txn_id, commit_infos).await
    }

    async fn rollback_txn(
        &self,
        db: &str,
        txn_id: i64,
        reason: &str,
    ) -> Result<RollbackOutcome, DorisError> {
        self.fence.check()?;
        self.inner.rollback_txn(db, txn_id, reason).await
    }

    async fn txn_by_label(&self, db: &str, label: &str) -> Result<Option<TxnState>, DorisError> {
        self.inner.txn_by_label(db, label).await
    }

    async fn txn_by_id(&self, db: &str, txn_id: i64) -> Result<Option<TxnState>, DorisError> {
        self.inner.txn_by_id(db, txn_id).await
    }

    async fn restore_snapshot(
        &self,
        request: &RestoreRequest,
        snapshot: &Snapshot,
    ) -> Result<(), DorisError> {
        self.fence.check()?;
        self.inner.restore_snapshot(request, snapshot).await
    }

    async fn restore_state(
        &self,
        db: &str,
        label: &str,
    ) -> Result<Option<SnapshotJobState>, DorisError> {
        self.inner.restore_state(db, label).await
    }

    async fn restore_jobs(&self, db: &str) -> Result<Vec<NamedSnapshotJob>, DorisError> {
        self.inner.restore_jobs(db).await
    }

    async fn cancel_restore(&self, db: &str) -> Result<(), DorisError> {
        self.fence.check()?;
        self.inner.cancel_restore(db).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_job_writes_no_more_even_under_a_fresh_lease() {
        let lease = Lease::new(Duration::from_secs(60));
        lease.renew(Instant::now());
        let fence = JobFence::new(Arc::clone(&lease));
        assert!(fence.check().is_ok());
        fence.revoke();
        lease.renew(Instant::now());
        let error = fence.check().unwrap_err();
        assert!(error.to_string().contains("another syncer"), "{error}");
    }

    #[test]
    fn a_lease_is_held_for_its_term_from_the_round_that_renewed_it() {
        let lease = Lease::new(Duration::from_millis(50));
        assert!(!lease.is_held(), "not held before the first round");
        lease.renew(Instant::now());
        assert!(lease.is_held());
        assert!(lease.check().is_ok());
        // An older round finishing late does not move the lease back.
        lease.renew(Instant::now() - Duration::from_secs(10));
        assert!(lease.is_held());
    }

    #[tokio::test]
    async fn a_lapsed_lease_withholds_writes_until_renewed() {
        let lease = Lease::new(Duration::from_secs(30));
        lease.renew(Instant::now() - Duration::from_secs(60));
        let error = lease.check().unwrap_err();
        assert!(error.is_transient(), "{error}");
        assert!(error.to_string().contains("lease"), "{error}");
        let waiter = {
            let lease = Arc::clone(&lease);
            tokio::spawn(async move { lease.wait_held().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "still lapsed");
        lease.renew(Instant::now());
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the renewal wakes the waiter")
            .unwrap();
        assert!(lease.check().is_ok());
    }

    #[tokio::test]
    async fn a_held_lease_is_waited_out_until_it_lapses_and_an_unlimited_one_never() {
        let lease = Lease::new(Duration::from_millis(200));
        lease.renew(Instant::now());
        tokio::time::timeout(Duration::from_secs(30), lease.wait_lapsed())
            .await
            .expect("the lease lapses after its term");
        assert!(!lease.is_held());
        // Lapsed already: no wait.
        tokio::time::timeout(Duration::from_secs(30), lease.wait_lapsed())
            .await
            .expect("at once");
        let unlimited = Lease::unlimited();
        assert!(
            tokio::time::timeout(Duration::from_millis(50), unlimited.wait_lapsed())
                .await
                .is_err(),
            "an unlimited lease never lapses"
        );
    }
}
