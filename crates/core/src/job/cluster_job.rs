//! Whole-cluster jobs: `/create_ccr` with an empty `database` on both sides.
//!
//! Such a job is a parent record that replicates nothing itself. Its task, the *watcher*,
//! lists the source databases every `cluster_watch_interval` and keeps one ordinary
//! database job per admitted database (rules: [`super::cluster_filter`]), named
//! `<job>/<db>` and marked with `parent_job`. Those database jobs are the database-job state
//! machine unchanged; the watcher only creates them, reports the ones whose source
//! database is gone, and (with `drop_target_databases`) drops them and their target.
//!
//! High availability: a whole-cluster job and its database jobs form one family that lives
//! on one syncer. Database jobs are created on the parent's owner, rebalancing never moves
//! a family member, and a takeover hands a dead syncer's families out whole (the store's
//! `distribute` groups jobs by the name before the first `/`).
//!
//! Operator commands on the parent (pause, resume, delete, desync, force_fullsync,
//! update_job, update_host_mapping) reach every database job. A database job takes the
//! commands of any job on its own, except `/delete` (the watcher would create it again):
//! exclude the database, or delete the parent.
//!
//! A child module of `manager` (it extends [`JobManager`] with its private parts).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

use super::{now_secs, now_utc_text, CreateJobRequest, JobLag, JobManager, SHUTDOWN_GRACE};
use crate::job::cluster_filter::is_system_database;
use crate::job::cluster_filter::{child_job_name, AdmittedDatabase};
use crate::job::context::JobControl;
use crate::job::error::JobError;
use crate::job::first_run::{
    check_and_complete, check_cluster_pair, check_cluster_request, sql_client, CheckMappings,
};
use crate::job::spec::{JobInfo, RunState, SyncMode, SyncType};
use crate::job::status::{
    ClusterSummary, DatabaseJobStatus, DroppedDatabase, JobStatus, NeedsOperator, PendingDatabase,
};
use crate::job::validate::{ids, Check, ValidationReport};
use crate::progress::Progress;
use crate::store::progress_codec;
use crate::store::StoreError;

/// What the operator can do about a database job whose source database is gone.
const SOURCE_DROPPED_HINT: &str =
    "the source database was dropped: exclude it from the whole-cluster job and delete the \
     job, or create the whole-cluster job with drop_target_databases";

/// `/validate` checks of a whole-cluster body after `job_name` and `spec`.
const CLUSTERS_CHECK: &str = "clusters";
const SOURCE_DATABASES_CHECK: &str = "source_databases";

/// Phase names a whole-cluster job shows in `/job_status`.
pub(super) const CLUSTER_PROGRESS_STATE: &str = "ClusterSync";
pub(super) const CLUSTER_SUB_STATE: &str = "WatchDatabases";

/// A database job of a whole-cluster job, as the store holds it (passwords still sealed).
struct Child {
    name: String,
    owner: String,
    info: JobInfo,
}

/// The lag of one database job of a whole-cluster job (`/get_lag` of the parent).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct DatabaseLag {
    pub source_database: String,
    pub job: String,
    pub lag: i64,
    pub time_interval_secs: i64,
    /// Why the lag could not be measured (the job then counts 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The watcher task of whole-cluster job `name`: one look at the source databases now,
/// then one per interval, or at once after an operator command; until stopped.
pub(super) async fn watch(
    manager: Arc<JobManager>,
    name: String,
    mut control: watch::Receiver<JobControl>,
) {
    let interval = manager.settings.cluster_watch_interval;
    loop {
        if control.borrow().stop {
            return;
        }
        let outcome = manager.watch_round(&name).await;
        let handle = manager.jobs.read().get(&name).cloned();
        if let Some(handle) = handle {
            let mut status = handle.status.lock();
            let cluster = status.cluster.get_or_insert_with(Default::default);
            cluster.last_watch_time = now_utc_text();
            cluster.last_watch_error = outcome.as_ref().err().map(|e| e.to_string());
        }
        if let Err(error) = outcome {
            tracing::warn!(%error, "looking at the source databases failed; trying again next interval");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            changed = control.changed() => if changed.is_err() { return },
        }
    }
}

impl JobManager {
    /// `/create_ccr` of a whole-cluster job: check both clusters, persist the parent; its
    /// watcher (on the owner) creates the database jobs.
    pub(super) async fn create_cluster_job(
        self: &Arc<Self>,
        request: CreateJobRequest,
    ) -> Result<(), JobError> {
        let rules = request.cluster_rules();
        check_cluster_request(
            &request.src,
            &request.dest,
            &rules,
            &request.include_tables,
            &request.exclude_tables,
        )?;
        let name = request.name.clone();
        let _creating = self.create_lock.lock().await;
        if self.store.get_job(&name).await?.is_some() {
            return Err(JobError::AlreadyExists(name));
        }
        let mappings = CheckMappings::of(&request.src, &request.dest, &self.settings.host_mapping);
        let checked = check_cluster_pair(
            request.src,
            request.dest,
            mappings,
            self.settings.connect_timeout,
            &self.http,
        )
        .await?;
        let info = JobInfo {
            skip_error: request.skip_error,
            allow_table_exists: request.allow_table_exists,
            cluster_job: Some(rules),
            // Its database jobs take it: `once` copies every admitted database one time.
            mode: SyncMode::parse(&request.mode).map_err(JobError::Invalid)?,
            ..JobInfo::new(SyncType::Database, name.clone(), checked.src, checked.dest)
        };
        let rules = format!("{:?}", info.cluster_job);
        let owner = self.register_new_job(info, None).await?;
        tracing::info!(job = %name, %owner, rules, "whole-cluster job created");
        Ok(())
    }

    /// `/validate` of a whole-cluster body: the request rules, both clusters (reachable,
    /// binlog feature on), and which source databases it would replicate now, under which
    /// target names. Each database is checked when its database job is created.
    pub(super) async fn validate_cluster_job(
        &self,
        job_name: Check,
        mut request: CreateJobRequest,
    ) -> ValidationReport {
        let mut checks = vec![job_name];
        let skipped = |check, cause: &str| {
            Check::failed(
                check,
                format!("skipped: {cause} failed"),
                format!("fix {cause} first"),
            )
        };
        let rules = request.cluster_rules();
        let decrypted = [(&mut request.src, "src"), (&mut request.dest, "dest")]
            .into_iter()
            .try_for_each(|(spec, side)| {
                spec.decrypt_given_password(side)
                    .map_err(|e| JobError::Invalid(e.to_string()))
            });
        let valid = decrypted.and_then(|()| {
            check_cluster_request(
                &request.src,
                &request.dest,
                &rules,
                &request.include_tables,
                &request.exclude_tables,
            )
        });
        if let Err(error) = valid {
            checks.push(Check::failed(
                ids::SPEC,
                error.to_string(),
                "fix the request body: src and dest need host, port, thrift_port and user; \
                 include / exclude entries are db or db.table",
            ));
            checks.push(skipped(CLUSTERS_CHECK, ids::SPEC));
            checks.push(skipped(SOURCE_DATABASES_CHECK, ids::SPEC));
            return ValidationReport::new(checks);
        }
        checks.push(Check::passed(
            ids::SPEC,
            "src and dest specs and the whole-cluster rules are valid",
        ));
        let wide = &self.settings.host_mapping;
        let src_mapping = request.src.dial_mapping(&wide.source);
        let mappings = CheckMappings {
            src: src_mapping.clone(),
            dest: request.dest.dial_mapping(&wide.target),
        };
        let timeout = self.settings.connect_timeout;
        let pair = check_cluster_pair(
            request.src.clone(),
            request.dest.clone(),
            mappings,
            timeout,
            &self.http,
        )
        .await;
        if let Err(error) = pair {
            checks.push(Check::failed(
                CLUSTERS_CHECK,
                error.to_string(),
                "check both clusters' addresses and credentials, and enable_feature_binlog \
                 in fe.conf and be.conf",
            ));
            checks.push(skipped(SOURCE_DATABASES_CHECK, CLUSTERS_CHECK));
            return ValidationReport::new(checks);
        }
        checks.push(Check::passed(
            CLUSTERS_CHECK,
            "both clusters answer, with the binlog feature on",
        ));
        let sql = sql_client(&request.src, &src_mapping, timeout);
        let listed = sql.databases().await;
        sql.close().await;
        checks.push(match listed {
            Ok(databases) => {
                let admitted: Vec<String> = databases
                    .iter()
                    .filter_map(|db| rules.admit(db))
                    .map(|a| format!("{} -> {}", a.source, a.target))
                    .collect();
                Check::passed(
                    SOURCE_DATABASES_CHECK,
                    if admitted.is_empty() {
                        "no source database is admitted yet (ones created later are picked up)"
                            .to_owned()
                    } else {
                        format!("would replicate {}", admitted.join(", "))
                    },
                )
            }
            Err(error) => Check::failed(
                SOURCE_DATABASES_CHECK,
                error.to_string(),
                "the source user must be allowed SHOW DATABASES",
            ),
        });
        ValidationReport::new(checks)
    }

    /// The stored record of `name`, passwords still sealed (enough to tell its kind).
    pub(super) async fn stored_info(&self, name: &str) -> Result<JobInfo, JobError> {
        let row = self
            .store
            .get_job(name)
            .await?
            .ok_or_else(|| JobError::NotFound(name.to_owned()))?;
        JobInfo::from_stored_json(&row.job_info).map_err(|e| JobError::Corrupt {
            name: name.to_owned(),
            what: "job_info",
            message: e.to_string(),
        })
    }

    /// Whether `name` is a whole-cluster job.
    pub(super) async fn is_cluster_job(&self, name: &str) -> Result<bool, JobError> {
        Ok(self.stored_info(name).await?.is_cluster_job())
    }

    /// The database jobs of whole-cluster job `parent`, by name.
    async fn cluster_children(&self, parent: &str) -> Result<Vec<Child>, JobError> {
        let prefix = format!("{parent}/");
        let mut children: Vec<Child> = self
            .store
            .list_jobs()
            .await?
            .into_iter()
            .filter(|row| row.name.starts_with(&prefix))
            .filter_map(|row| {
                let info = JobInfo::from_stored_json(&row.job_info).ok()?;
                (info.parent_job == parent).then_some(Child {
                    name: row.name,
                    owner: row.belong_to,
                    info,
                })
            })
            .collect();
        children.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(children)
    }

    /// Runs `command` on every database job of `parent`; failures are collected per job.
    pub(super) async fn for_each_child<F, Fut>(
        self: &Arc<Self>,
        parent: &str,
        command: F,
    ) -> Result<(), JobError>
    where
        F: Fn(Arc<Self>, String) -> Fut,
        Fut: Future<Output = Result<(), JobError>>,
    {
        let mut failed = Vec::new();
        for child in self.cluster_children(parent).await? {
            if let Err(error) = command(Arc::clone(self), child.name.clone()).await {
                failed.push(format!("{}: {error}", child.name));
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(JobError::CheckFailed(format!(
                "failed database jobs: {}",
                failed.join("; ")
            )))
        }
    }

    /// Stops job `name` here and waits (up to the shutdown grace) for its task, marked as
    /// being handed over so no heartbeat round relaunches it; the caller removes the mark.
    async fn stop_for_removal(&self, name: &str, late: &'static str) {
        self.handing_over
            .lock()
            .insert(name.to_owned(), self.settings.identity.clone());
        if let Some(task) = self.unload(name) {
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                tracing::warn!(job = %name, "{late}");
            }
        }
    }

    /// `/delete` of a whole-cluster job: its watcher stops first (so it creates nothing
    /// more), then every database job goes, then the parent. Target data stays.
    pub(super) async fn delete_cluster_job(self: &Arc<Self>, name: &str) -> Result<(), JobError> {
        // The record lock is not held here: the watcher may be waiting for it to begin a
        // round, and it must see the stop and end.
        self.local(name).await?;
        // Not relaunched by a heartbeat round while its database jobs go.
        self.stop_for_removal(name, "the watcher did not stop in time; deleting anyway")
            .await;
        let deleted = async {
            // On a failure the parent stays, so the operator can try again.
            self.for_each_child(name, |manager, child| async move {
                manager.delete_one(&child).await
            })
            .await?;
            if !self.store.delete_job(name).await? {
                return Err(JobError::NotFound(name.to_owned()));
            }
            Ok(())
        }
        .await;
        self.handing_over.lock().remove(name);
        deleted?;
        self.metrics.remove_job(name);
        tracing::info!(job = %name, "whole-cluster job deleted with its database jobs");
        Ok(())
    }

    /// One look of the watcher: a database job for every admitted source database that
    /// has none, and the dropped source databases reported (or, with
    /// `drop_target_databases`, their target and job dropped). Nothing is created or
    /// dropped while the parent is paused.
    async fn watch_round(self: &Arc<Self>, parent: &str) -> Result<(), JobError> {
        let Some(handle) = self.jobs.read().get(parent).cloned() else {
            return Ok(());
        };
        let info = handle.info.lock().await.clone();
        let Some(rules) = info.cluster_job.clone() else {
            return Ok(());
        };
        let paused = info.state == RunState::Paused;
        let source_dbs: BTreeSet<String> = handle
            .src
            .sql()
            .databases()
            .await?
            .into_iter()
            .filter(|db| !is_system_database(db))
            .collect();
        let children = self.cluster_children(parent).await?;
        let by_source: HashMap<&str, &Child> = children
            .iter()
            .map(|c| (c.info.src.database.as_str(), c))
            .collect();
        let mut targets: HashSet<String> = children
            .iter()
            .map(|c| c.info.dest.database.clone())
            .collect();
        let mut pending = Vec::new();
        for db in &source_dbs {
            let Some(admitted) = rules.admit(db) else {
                continue;
            };
            if by_source.contains_key(db.as_str()) {
                continue;
            }
            if handle.control.borrow().stop {
                // Deleted or handed over meanwhile: create nothing more.
                return Ok(());
            }
            let refused = if paused {
                Some("the whole-cluster job is paused".to_owned())
            } else if targets.contains(&admitted.target) {
                Some(format!(
                    "target database {} is already the target of another database of this job",
                    admitted.target
                ))
            } else {
                match self.create_child(&info, &admitted).await {
                    Ok(()) => {
                        targets.insert(admitted.target.clone());
                        None
                    }
                    Err(error) => Some(error.to_string()),
                }
            };
            if let Some(reason) = refused {
                pending.push(PendingDatabase {
                    source_database: admitted.source,
                    target_database: admitted.target,
                    reason,
                });
            }
        }

        let earlier: Vec<DroppedDatabase> = handle
            .status
            .lock()
            .cluster
            .as_ref()
            .map(|c| c.dropped_on_source.clone())
            .unwrap_or_default();
        let since = |job: &str| {
            earlier
                .iter()
                .find(|d| d.job == job)
                .map_or_else(now_utc_text, |d| d.since.clone())
        };
        // Databases dropped with their target earlier stay listed until the source has
        // one of that name again.
        let mut dropped: Vec<DroppedDatabase> = earlier
            .iter()
            .filter(|d| d.target_dropped && !source_dbs.contains(&d.source_database))
            .cloned()
            .collect();
        for child in &children {
            let db = &child.info.src.database;
            if source_dbs.contains(db) {
                continue;
            }
            let target = &child.info.dest.database;
            let drop_target = rules.drop_target_databases && !paused;
            if drop_target {
                self.drop_child_and_target(&handle.dest, &child.name, target)
                    .await?;
                tracing::warn!(job = %child.name, source = %db, %target, "source database dropped: dropped its target database and database job");
            } else if !earlier.iter().any(|d| d.job == child.name) {
                tracing::warn!(job = %child.name, source = %db, "source database dropped; its database job and target database stay");
            }
            dropped.push(DroppedDatabase {
                source_database: db.clone(),
                target_database: target.clone(),
                job: child.name.clone(),
                target_dropped: drop_target,
                since: since(&child.name),
            });
        }
        dropped.sort_by(|a, b| a.source_database.cmp(&b.source_database));
        let mut status = handle.status.lock();
        let cluster = status.cluster.get_or_insert_with(Default::default);
        cluster.pending = pending;
        cluster.dropped_on_source = dropped;
        cluster.source_databases = source_dbs.len();
        Ok(())
    }

    /// Creates, persists and starts the database job of one admitted source database,
    /// after the checks of `/create_ccr` for it (which also create the target database).
    async fn create_child(
        self: &Arc<Self>,
        parent: &JobInfo,
        admitted: &AdmittedDatabase,
    ) -> Result<(), JobError> {
        let name = child_job_name(&parent.name, &admitted.source);
        crate::job::spec::validate_job_name(&name).map_err(JobError::Invalid)?;
        let _creating = self.create_lock.lock().await;
        if self.store.get_job(&name).await?.is_some() {
            return Err(JobError::AlreadyExists(name));
        }
        let mut src = parent.src.clone();
        src.database = admitted.source.clone();
        let mut dest = parent.dest.clone();
        dest.database = admitted.target.clone();
        let mappings = CheckMappings::of(&src, &dest, &self.settings.host_mapping);
        let checked = check_and_complete(
            src,
            dest,
            mappings,
            parent.allow_table_exists,
            self.settings.connect_timeout,
            &self.http,
        )
        .await?;
        let info = JobInfo {
            skip_error: parent.skip_error,
            state: parent.state,
            allow_table_exists: parent.allow_table_exists,
            include_tables: admitted.include_tables.clone(),
            exclude_tables: admitted.exclude_tables.clone(),
            parent_job: parent.name.clone(),
            mode: parent.mode,
            ..JobInfo::new(SyncType::Database, name.clone(), checked.src, checked.dest)
        };
        // On the parent's owner: a family lives on one syncer.
        let me = &self.settings.identity;
        match self.store.create_job(&name, &self.encode(&info), me).await {
            Ok(()) => {}
            Err(StoreError::JobExists(_)) => return Err(JobError::AlreadyExists(name)),
            Err(e) => return Err(e.into()),
        }
        let progress = Progress::new_full_sync(&name, false, now_secs());
        self.store
            .put_progress(&name, &progress_codec::encode(&progress))
            .await?;
        self.metrics.jobs_created.inc();
        tracing::info!(job = %name, parent = %parent.name, src = %info.src.database, dest = %info.dest.database, "database job of a whole-cluster job created");
        self.launch(info, 1);
        Ok(())
    }

    /// `drop_target_databases`: stops the database job, drops its target database, then
    /// removes the job (a failed drop leaves the job, so the next look tries again).
    async fn drop_child_and_target(
        &self,
        dest: &ccr_doris::cluster::DorisCluster,
        child: &str,
        target: &str,
    ) -> Result<(), JobError> {
        // Not relaunched by a heartbeat round meanwhile.
        self.stop_for_removal(
            child,
            "the database job did not stop in time; dropping anyway",
        )
        .await;
        let dropped = async {
            dest.sql().drop_database_if_exists(target).await?;
            self.store.delete_job(child).await?;
            Ok::<(), JobError>(())
        }
        .await;
        self.handing_over.lock().remove(child);
        dropped?;
        self.metrics.remove_job(child);
        Ok(())
    }

    /// `/job_status` of a whole-cluster job: what its watcher published, with every
    /// database job's status and their summary.
    pub(super) async fn cluster_status(
        &self,
        mut status: JobStatus,
    ) -> Result<JobStatus, JobError> {
        let mut cluster = status.cluster.take().unwrap_or_default();
        let gone: HashSet<&str> = cluster
            .dropped_on_source
            .iter()
            .filter(|d| !d.target_dropped)
            .map(|d| d.job.as_str())
            .collect();
        let mut summary = ClusterSummary::default();
        let mut databases = Vec::new();
        for child in self.cluster_children(&status.name).await? {
            let local = (child.owner == self.settings.identity)
                .then(|| self.jobs.read().get(&child.name).cloned())
                .flatten();
            let shown = local.map(|handle| handle.status.lock().clone());
            let source_dropped = gone.contains(child.name.as_str());
            let entry = DatabaseJobStatus {
                source_database: child.info.src.database.clone(),
                target_database: child.info.dest.database.clone(),
                job: child.name,
                owner: child.owner,
                source_dropped,
                state: shown
                    .as_ref()
                    .map_or(child.info.state.as_str(), |s| s.state),
                progress_state: shown.as_ref().map_or("", |s| s.progress_state),
                prev_commit_seq: shown.as_ref().map_or(0, |s| s.prev_commit_seq),
                lag_binlogs: shown.as_ref().map_or(0, |s| s.lag_binlogs),
                lag_seconds: shown.as_ref().map_or(0, |s| s.lag_seconds),
                last_error: shown.as_ref().and_then(|s| s.last_error.clone()),
                needs_operator: shown.as_ref().is_some_and(|s| s.needs_operator.is_some()),
            };
            let failing = entry.last_error.is_some() || entry.needs_operator || source_dropped;
            summary.databases += 1;
            if failing {
                summary.failing += 1;
            } else if entry.state == RunState::Paused.as_str() {
                summary.paused += 1;
            } else {
                summary.running += 1;
            }
            summary.lag_binlogs += entry.lag_binlogs;
            summary.lag_seconds = summary.lag_seconds.max(entry.lag_seconds);
            databases.push(entry);
        }
        cluster.summary = summary;
        cluster.databases = databases;
        status.cluster = Some(cluster);
        Ok(status)
    }

    /// A database job whose source database its parent found dropped shows so.
    pub(super) fn mark_source_dropped(&self, status: &mut JobStatus) {
        if status.parent_job.is_empty() {
            return;
        }
        let Some(parent) = self.jobs.read().get(&status.parent_job).cloned() else {
            return;
        };
        let dropped = parent.status.lock().cluster.as_ref().and_then(|c| {
            c.dropped_on_source
                .iter()
                .find(|d| d.job == status.name && !d.target_dropped)
                .cloned()
        });
        if let Some(dropped) = dropped {
            status.needs_operator = Some(NeedsOperator {
                reason: format!("source database {} was dropped", dropped.source_database),
                hint: SOURCE_DROPPED_HINT,
                since: dropped.since,
            });
        }
    }

    /// `/get_lag` of a whole-cluster job: the database jobs' lags summed (seconds: the
    /// largest), each listed.
    pub(super) async fn cluster_lag(self: &Arc<Self>, name: &str) -> Result<JobLag, JobError> {
        let mut total = JobLag::default();
        for child in self.cluster_children(name).await? {
            let (lag, seconds, error) = match self.database_lag(&child.name).await {
                Ok(lag) => (lag.lag.max(0), lag.time_interval_secs.max(0), None),
                Err(error) => (0, 0, Some(error.to_string())),
            };
            total.lag += lag;
            total.time_interval_secs = total.time_interval_secs.max(seconds);
            total.databases.push(DatabaseLag {
                source_database: child.info.src.database,
                job: child.name,
                lag,
                time_interval_secs: seconds,
                error,
            });
        }
        Ok(total)
    }
}
