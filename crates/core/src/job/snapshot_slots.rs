//! The snapshot coordinator: per database, the order in which this syncer's jobs back up
//! and restore, and which backups they share.
//!
//! Doris runs one backup or restore per database at a time and refuses a second with
//! `Can only run one backup or restore job of a database at same time`. Instead of each
//! job failing and backing off, a job that needs a backup (full or partial sync) queues
//! here under its source database, and a job that needs a restore under its target
//! database (key: FE address and database name, so a database that is the source of some
//! jobs and the target of others has one queue).
//!
//! * Backups are batched: the requests queued while a backup runs are served together by
//!   the next `BACKUP ... ON (t1, t2, ...)`; each job then restores only its own tables
//!   from the shared snapshot. A database job's full sync, and a job whose last shared
//!   backup was refused, are backed up alone. A table appears once per batch (two partial
//!   syncs of different partitions of one table go in different batches).
//! * Restores run one at a time per target database, in arrival order.
//!
//! The coordinator is memory only and orders this syncer's jobs only. Crash safety stays
//! with the jobs: each saves the snapshot name before its batch's backup starts (the
//! backup waits for every member's save, up to [`SAVE_WAIT`]) and finds the backup again
//! by name after a restart. A backup or restore someone else runs on the database (a
//! user, another syncer) shows as a refusal to start: the batch or restore waits and tries
//! again after [`RECHECK`].
//!
//! A ticket leaves its queue or batch when dropped (the job was paused, deleted or
//! stopped while it waited); a member that had already saved the batch's name stays in
//! the backup, so the snapshot it recorded covers its tables.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ccr_doris::cluster::BackupTarget;
use parking_lot::Mutex;
use tokio::sync::watch;

/// How long a batch or restore refused because the database is busy with a job this
/// syncer did not start waits before it tries again: other syncers' and users' jobs are
/// waited for at this pace, not with a backoff growing to minutes.
pub const RECHECK: Duration = if cfg!(test) {
    // The fakes' alien jobs end when a test says so: a short recheck keeps tests quick.
    Duration::from_millis(50)
} else {
    Duration::from_secs(3)
};

/// How long a batch waits for its members to save the snapshot name before its backup
/// starts without the slow ones (they still find the backup by the name they save).
pub const SAVE_WAIT: Duration = Duration::from_secs(5);

/// A backup or restore of this syncer that no job has seen running for this long is no
/// longer trusted to hold the database: the next one tries (and waits if refused).
const BUSY_STALE: Duration = Duration::from_secs(10);

/// Most tables in one batched backup: bounds the statement and the snapshot every member
/// fetches and sends to the target whole.
pub const MAX_BATCH_TABLES: usize = 64;

/// One database of one cluster: the FE's `host:port` and the database name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotKey {
    pub fe: String,
    pub db: String,
}

impl SlotKey {
    pub fn new(host: &str, port: &str, db: &str) -> Self {
        SlotKey {
            fe: format!("{host}:{port}"),
            db: db.to_owned(),
        }
    }
}

impl std::fmt::Display for SlotKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.db, self.fe)
    }
}

/// What a job asks to back up.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// What to back up; empty: the whole database (always alone).
    pub targets: Vec<BackupTarget>,
    /// Backed up on its own, never with other jobs' requests.
    pub alone: bool,
    /// The snapshot name when the backup serves this request only.
    pub own_name: String,
    /// The snapshot name when this request is the first of a shared backup: unique, and
    /// naming no table, so no single job's name can equal it.
    pub shared_name: String,
}

impl BackupRequest {
    fn is_alone(&self) -> bool {
        self.alone || self.targets.is_empty()
    }
}

/// What a backup ticket is to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupTurn {
    /// Queued, or in a batch that has not started: wait (for what, in words).
    Wait { behind: String },
    /// In a batch: save `name` as the job's snapshot, then call [`BackupTicket::saved`].
    Save { name: String },
    /// This ticket starts the batch's backup now; report with `started`, `blocked` or
    /// `refused`.
    Start {
        name: String,
        targets: Vec<BackupTarget>,
        jobs: usize,
    },
    /// The batch's backup started; the job polls it by name.
    Started { name: String },
    /// The start of the shared backup was refused for another reason than a busy
    /// database: the job backs up alone next time.
    Refused,
}

/// What a restore ticket is to do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreTurn {
    Wait {
        behind: String,
    },
    /// The database is this ticket's: start the restore; report with `started` or
    /// `blocked`, or drop the ticket.
    Start,
}

#[derive(Debug)]
struct Queued {
    ticket: u64,
    job: String,
    request: BackupRequest,
}

#[derive(Debug)]
struct Member {
    job: String,
    targets: Vec<BackupTarget>,
    saved: bool,
    /// Its job waits on the batch (a ticket is alive for it).
    attached: bool,
}

#[derive(Debug)]
enum BatchPhase {
    Assembling { since: Instant },
    Starting,
    Blocked { until: Instant, behind: String },
}

#[derive(Debug)]
struct Batch {
    name: String,
    members: BTreeMap<u64, Member>,
    phase: BatchPhase,
}

impl Batch {
    /// Every member's targets, each once.
    fn targets(&self) -> Vec<BackupTarget> {
        let mut all: Vec<BackupTarget> = Vec::new();
        for target in self.members.values().flat_map(|m| m.targets.iter()) {
            if !all.contains(target) {
                all.push(target.clone());
            }
        }
        all
    }
}

#[derive(Debug, Clone)]
enum Outcome {
    Started { name: String },
    Refused,
}

/// What this syncer runs on a database, as far as its jobs have seen.
#[derive(Debug)]
struct Busy {
    /// Snapshot name or restore label.
    name: String,
    /// In words, for the jobs waiting behind it.
    what: String,
    seen: Instant,
}

struct Slot {
    queued: Vec<Queued>,
    batch: Option<Batch>,
    restores: VecDeque<u64>,
    /// The first restore was refused as busy: it tries again from then on.
    restore_retry_at: Option<(Instant, String)>,
    busy: Option<Busy>,
    outcomes: HashMap<u64, Outcome>,
    wake: Arc<watch::Sender<()>>,
}

impl Slot {
    fn new() -> Self {
        Slot {
            queued: Vec::new(),
            batch: None,
            restores: VecDeque::new(),
            restore_retry_at: None,
            busy: None,
            outcomes: HashMap::new(),
            wake: Arc::new(watch::channel(()).0),
        }
    }

    /// No backup or restore of this syncer is known to run on the database.
    fn free(&self, now: Instant) -> bool {
        self.busy
            .as_ref()
            .is_none_or(|b| now.duration_since(b.seen) > BUSY_STALE)
    }

    /// This syncer's backup or restore `name` is what is known to run on the database.
    fn busy_with(&self, name: &str) -> bool {
        self.busy.as_ref().is_some_and(|b| b.name == name)
    }

    fn behind(&self) -> String {
        if let Some(busy) = &self.busy {
            return format!("behind {}", busy.what);
        }
        if let Some(batch) = &self.batch {
            return format!(
                "behind backup {} of {} jobs of this syncer, about to start",
                batch.name,
                batch.members.len()
            );
        }
        if let Some((_, behind)) = &self.restore_retry_at {
            return behind.clone();
        }
        "next in line".to_owned()
    }

    fn wake(&self) {
        self.wake.send_replace(());
    }

    /// Takes queued requests into a new batch, oldest first: the first request always;
    /// then every one that may share its snapshot, up to [`MAX_BATCH_TABLES`] tables.
    fn form_batch(&mut self, now: Instant) {
        let mut taken: Vec<usize> = Vec::new();
        let mut tables: Vec<&BackupTarget> = Vec::new();
        for (index, queued) in self.queued.iter().enumerate() {
            let request = &queued.request;
            if taken.is_empty() {
                taken.push(index);
                tables.extend(request.targets.iter());
                if request.is_alone() {
                    break;
                }
                continue;
            }
            if request.is_alone() {
                // Its turn comes next; the order of arrival is kept.
                break;
            }
            // One entry per table: the same table with other partitions waits for the
            // next batch (a restore of it must find exactly what it asked for).
            let conflicts = request.targets.iter().any(|t| {
                tables
                    .iter()
                    .any(|other| other.table == t.table && other.partitions != t.partitions)
            });
            if conflicts {
                continue;
            }
            let new_tables = request
                .targets
                .iter()
                .filter(|t| !tables.contains(t))
                .count();
            if tables.len() + new_tables > MAX_BATCH_TABLES {
                break;
            }
            taken.push(index);
            tables.extend(request.targets.iter());
        }
        let mut members = BTreeMap::new();
        let mut first: Option<BackupRequest> = None;
        for index in taken.into_iter().rev() {
            let queued = self.queued.remove(index);
            members.insert(
                queued.ticket,
                Member {
                    job: queued.job,
                    targets: queued.request.targets.clone(),
                    saved: false,
                    attached: true,
                },
            );
            first = Some(queued.request);
        }
        let Some(first) = first else {
            return;
        };
        let name = if members.len() == 1 {
            first.own_name
        } else {
            first.shared_name
        };
        self.batch = Some(Batch {
            name,
            members,
            phase: BatchPhase::Assembling { since: now },
        });
    }
}

/// The coordinator every job of this syncer shares (the job manager owns it).
pub struct SnapshotSlots {
    inner: Mutex<Inner>,
}

struct Inner {
    slots: HashMap<SlotKey, Slot>,
    next_ticket: u64,
}

impl Default for SnapshotSlots {
    fn default() -> Self {
        SnapshotSlots {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                next_ticket: 1,
            }),
        }
    }
}

impl SnapshotSlots {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn with_slot<R>(&self, key: &SlotKey, f: impl FnOnce(&mut Slot) -> R) -> R {
        let mut inner = self.inner.lock();
        let slot = inner.slots.entry(key.clone()).or_insert_with(Slot::new);
        f(slot)
    }

    fn ticket_id(&self) -> u64 {
        let mut inner = self.inner.lock();
        let id = inner.next_ticket;
        inner.next_ticket += 1;
        id
    }

    /// Queues `job`'s backup request under `key`.
    pub fn queue_backup(
        self: &Arc<Self>,
        key: SlotKey,
        job: &str,
        request: BackupRequest,
    ) -> BackupTicket {
        let ticket = self.ticket_id();
        self.with_slot(&key, |slot| {
            slot.queued.push(Queued {
                ticket,
                job: job.to_owned(),
                request,
            });
            slot.wake();
        });
        BackupTicket {
            slots: Arc::clone(self),
            key,
            id: ticket,
        }
    }

    /// Attaches `job` again to the batch named `name` it had saved and left (paused and
    /// resumed before the backup started). `None` if no such batch waits to start.
    pub fn rejoin_backup(
        self: &Arc<Self>,
        key: &SlotKey,
        name: &str,
        job: &str,
    ) -> Option<BackupTicket> {
        let id = self.with_slot(key, |slot| {
            let batch = slot.batch.as_mut().filter(|b| b.name == name)?;
            let (id, member) = batch
                .members
                .iter_mut()
                .find(|(_, m)| m.job == job && !m.attached)?;
            member.attached = true;
            Some(*id)
        })?;
        Some(BackupTicket {
            slots: Arc::clone(self),
            key: key.clone(),
            id,
        })
    }

    /// Queues `job`'s restore under `key` (its target database).
    pub fn queue_restore(self: &Arc<Self>, key: SlotKey, job: &str, label: &str) -> RestoreTicket {
        let id = self.ticket_id();
        self.with_slot(&key, |slot| {
            slot.restores.push_back(id);
            slot.wake();
        });
        RestoreTicket {
            slots: Arc::clone(self),
            key,
            id,
            job: job.to_owned(),
            label: label.to_owned(),
            claimed: false,
        }
    }

    /// A job saw its backup or restore `name` running on the database: the jobs queued
    /// there wait behind it (`what` says so in words).
    pub fn running(&self, key: &SlotKey, name: &str, what: impl FnOnce() -> String) {
        self.with_slot(key, |slot| match &mut slot.busy {
            Some(busy) if busy.name == name => busy.seen = Instant::now(),
            _ => {
                slot.busy = Some(Busy {
                    name: name.to_owned(),
                    what: what(),
                    seen: Instant::now(),
                });
                slot.wake();
            }
        });
    }

    /// A job saw its backup or restore `name` finished or cancelled: the next may start.
    pub fn finished(&self, key: &SlotKey, name: &str) {
        self.with_slot(key, |slot| {
            if slot.busy_with(name) {
                slot.busy = None;
                slot.wake();
            }
        });
    }

    /// Whether `name` is a backup or restore this syncer knows it runs (or is about to
    /// start) on the database: never one to cancel as a conflict.
    pub fn is_ours(&self, key: &SlotKey, name: &str) -> bool {
        self.with_slot(key, |slot| {
            slot.busy_with(name) || slot.batch.as_ref().is_some_and(|b| b.name == name)
        })
    }

    /// Backup requests queued and not yet in a batch, per database (for tests and status).
    #[cfg(test)]
    pub fn queued_backups(&self, key: &SlotKey) -> usize {
        self.with_slot(key, |slot| slot.queued.len())
    }

    fn subscribe(&self, key: &SlotKey) -> watch::Receiver<()> {
        self.with_slot(key, |slot| slot.wake.subscribe())
    }
}

/// A job's place in a database's backup queue, then in its batch. Dropping it leaves.
pub struct BackupTicket {
    slots: Arc<SnapshotSlots>,
    key: SlotKey,
    id: u64,
}

impl BackupTicket {
    /// Resolves at the next change of the database's queue; take it before [`Self::turn`]
    /// so no change between the two is missed.
    pub fn changes(&self) -> watch::Receiver<()> {
        self.slots.subscribe(&self.key)
    }

    /// What to do now (forms the next batch when the database is free).
    pub fn turn(&self) -> BackupTurn {
        let now = Instant::now();
        self.slots.with_slot(&self.key, |slot| {
            if let Some(outcome) = slot.outcomes.get(&self.id) {
                return match outcome.clone() {
                    Outcome::Started { name } => BackupTurn::Started { name },
                    Outcome::Refused => BackupTurn::Refused,
                };
            }
            if slot.queued.iter().any(|q| q.ticket == self.id) {
                if slot.batch.is_some() || !slot.free(now) || !slot.restores.is_empty() {
                    return BackupTurn::Wait {
                        behind: slot.behind(),
                    };
                }
                slot.form_batch(now);
                slot.wake();
            }
            let Some(batch) = slot.batch.as_mut() else {
                return BackupTurn::Refused;
            };
            let Some(member) = batch.members.get(&self.id) else {
                return BackupTurn::Wait {
                    behind: slot.behind(),
                };
            };
            if !member.saved {
                return BackupTurn::Save {
                    name: batch.name.clone(),
                };
            }
            let may_start = match &batch.phase {
                BatchPhase::Assembling { since } => {
                    now.duration_since(*since) >= SAVE_WAIT
                        || batch.members.values().all(|m| m.saved || !m.attached)
                }
                BatchPhase::Starting => false,
                BatchPhase::Blocked { until, .. } => now >= *until,
            };
            if may_start {
                batch.phase = BatchPhase::Starting;
                return BackupTurn::Start {
                    name: batch.name.clone(),
                    targets: batch.targets(),
                    jobs: batch.members.len(),
                };
            }
            let behind = match &batch.phase {
                BatchPhase::Blocked { behind, .. } => behind.clone(),
                _ => format!(
                    "the backup {} of {} jobs, about to start",
                    batch.name,
                    batch.members.len()
                ),
            };
            BackupTurn::Wait { behind }
        })
    }

    /// The job saved the batch's snapshot name.
    pub fn saved(&self) {
        self.slots.with_slot(&self.key, |slot| {
            if let Some(member) = slot
                .batch
                .as_mut()
                .and_then(|b| b.members.get_mut(&self.id))
            {
                member.saved = true;
                slot.wake();
            }
        });
    }

    /// The backup this ticket was to start is running: every member polls it by name.
    pub fn started(&self) {
        self.slots.with_slot(&self.key, |slot| {
            let Some(batch) = slot.batch.take() else {
                return;
            };
            let jobs: Vec<&str> = batch.members.values().map(|m| m.job.as_str()).collect();
            slot.busy = Some(Busy {
                name: batch.name.clone(),
                what: format!(
                    "backup {} of this syncer (jobs {})",
                    batch.name,
                    name_list(&jobs)
                ),
                seen: Instant::now(),
            });
            for id in batch.members.keys() {
                slot.outcomes.insert(
                    *id,
                    Outcome::Started {
                        name: batch.name.clone(),
                    },
                );
            }
            slot.wake();
        });
    }

    /// The database is busy with a job this syncer did not start (`behind` says which):
    /// the batch tries again after [`RECHECK`].
    pub fn blocked(&self, behind: String) {
        self.slots.with_slot(&self.key, |slot| {
            if let Some(batch) = slot.batch.as_mut() {
                batch.phase = BatchPhase::Blocked {
                    until: Instant::now() + RECHECK,
                    behind,
                };
                slot.wake();
            }
        });
    }

    /// The backup was refused for another reason: the batch is dissolved. `true` if it
    /// served other jobs too (they are told to back up alone, as this one should).
    pub fn refused(&self) -> bool {
        self.slots.with_slot(&self.key, |slot| {
            let Some(batch) = slot.batch.take() else {
                return false;
            };
            for id in batch.members.keys().filter(|id| **id != self.id) {
                slot.outcomes.insert(*id, Outcome::Refused);
            }
            slot.wake();
            batch.members.len() > 1
        })
    }
}

impl Drop for BackupTicket {
    fn drop(&mut self) {
        let id = self.id;
        self.slots.with_slot(&self.key, |slot| {
            slot.outcomes.remove(&id);
            slot.queued.retain(|q| q.ticket != id);
            if let Some(batch) = slot.batch.as_mut() {
                if let Some(member) = batch.members.get_mut(&id) {
                    if member.saved {
                        // It recorded the name: the backup must still cover its tables.
                        member.attached = false;
                    } else {
                        batch.members.remove(&id);
                    }
                    if matches!(batch.phase, BatchPhase::Starting) {
                        // It was starting the backup and did not report: another may.
                        batch.phase = BatchPhase::Assembling {
                            since: Instant::now(),
                        };
                    }
                    if batch.members.values().all(|m| !m.attached) {
                        // Nobody waits to start it; members that saved its name find
                        // no backup under it later and queue again.
                        slot.batch = None;
                    }
                }
            }
            slot.wake();
        });
    }
}

/// A job's place in a database's restore queue. Dropping it leaves (and frees the database
/// if it had claimed it without starting).
pub struct RestoreTicket {
    slots: Arc<SnapshotSlots>,
    key: SlotKey,
    id: u64,
    job: String,
    label: String,
    claimed: bool,
}

impl RestoreTicket {
    pub fn changes(&self) -> watch::Receiver<()> {
        self.slots.subscribe(&self.key)
    }

    pub fn turn(&mut self) -> RestoreTurn {
        let now = Instant::now();
        let (id, job, label) = (self.id, &self.job, &self.label);
        let turn = self.slots.with_slot(&self.key, |slot| {
            let first = slot.restores.front() == Some(&id);
            let retry_due = slot
                .restore_retry_at
                .as_ref()
                .is_none_or(|(at, _)| now >= *at);
            if first && slot.free(now) && slot.batch.is_none() && retry_due {
                slot.restore_retry_at = None;
                slot.busy = Some(Busy {
                    name: label.clone(),
                    what: format!("restore {label} of job {job}"),
                    seen: now,
                });
                return RestoreTurn::Start;
            }
            let ahead = slot.restores.iter().take_while(|t| **t != id).count();
            let behind = slot.behind();
            RestoreTurn::Wait {
                behind: if ahead > 1 {
                    format!("{behind}; {ahead} restores queued ahead")
                } else {
                    behind
                },
            }
        });
        self.claimed = turn == RestoreTurn::Start;
        turn
    }

    /// The restore was accepted: the database stays busy with it until a job sees it
    /// finished ([`SnapshotSlots::finished`]).
    pub fn started(mut self) {
        self.claimed = false;
        // Drop leaves the queue and keeps the database busy.
    }

    /// The database is busy with a job this syncer did not start: the ticket stays first
    /// and tries again after [`RECHECK`].
    pub fn blocked(&mut self, behind: String) {
        self.claimed = false;
        let label = self.label.clone();
        self.slots.with_slot(&self.key, |slot| {
            if slot.busy_with(&label) {
                slot.busy = None;
            }
            slot.restore_retry_at = Some((Instant::now() + RECHECK, behind));
            slot.wake();
        });
    }
}

impl Drop for RestoreTicket {
    fn drop(&mut self) {
        let (id, claimed, label) = (self.id, self.claimed, self.label.clone());
        self.slots.with_slot(&self.key, |slot| {
            let was_first = slot.restores.front() == Some(&id);
            slot.restores.retain(|t| *t != id);
            if was_first {
                slot.restore_retry_at = None;
            }
            if claimed && slot.busy_with(&label) {
                slot.busy = None;
            }
            slot.wake();
        });
    }
}

/// `a, b, c and 7 more`.
fn name_list(names: &[&str]) -> String {
    const SHOWN: usize = 3;
    let mut text = names
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SlotKey {
        SlotKey::new("127.0.0.1", "9030", "shop")
    }

    fn table(name: &str) -> BackupTarget {
        BackupTarget {
            table: name.into(),
            partitions: Vec::new(),
        }
    }

    fn request(tables: &[&str]) -> BackupRequest {
        BackupRequest {
            targets: tables.iter().map(|t| table(t)).collect(),
            alone: false,
            own_name: format!("ccrs_shop_{}_1", tables.join("_")),
            shared_name: format!("ccrs_shop_batch_{}", tables.join("_")),
        }
    }

    /// Saves and starts: what a job does with its turn.
    fn save_and_start(ticket: &BackupTicket) -> BackupTurn {
        if let BackupTurn::Save { .. } = ticket.turn() {
            ticket.saved();
        }
        ticket.turn()
    }

    #[test]
    fn requests_queued_while_a_backup_runs_share_the_next_one() {
        let slots = SnapshotSlots::new();
        let first = slots.queue_backup(key(), "j1", request(&["t1"]));
        assert_eq!(
            first.turn(),
            BackupTurn::Save {
                name: "ccrs_shop_t1_1".into()
            },
            "alone in its batch: its own name"
        );
        first.saved();
        let BackupTurn::Start { targets, .. } = first.turn() else {
            panic!("the only member starts");
        };
        assert_eq!(targets, vec![table("t1")]);
        first.started();

        let others: Vec<BackupTicket> = (2..=4)
            .map(|i| slots.queue_backup(key(), &format!("j{i}"), request(&[&format!("t{i}")])))
            .collect();
        for ticket in &others {
            assert!(
                matches!(ticket.turn(), BackupTurn::Wait { behind } if behind.contains("ccrs_shop_t1_1"))
            );
        }
        slots.finished(&key(), "ccrs_shop_t1_1");
        let names: Vec<BackupTurn> = others.iter().map(|t| t.turn()).collect();
        assert!(
            names.iter().all(|t| *t
                == BackupTurn::Save {
                    name: "ccrs_shop_batch_t2".into()
                }),
            "one shared name, not any member's own: {names:?}"
        );
        others[0].saved();
        others[1].saved();
        assert!(
            matches!(others[0].turn(), BackupTurn::Wait { .. }),
            "the backup waits for every member's save"
        );
        others[2].saved();
        let BackupTurn::Start { targets, jobs, .. } = others[2].turn() else {
            panic!("the last to save starts it");
        };
        assert_eq!(jobs, 3);
        assert_eq!(targets, vec![table("t2"), table("t3"), table("t4")]);
        assert!(matches!(others[0].turn(), BackupTurn::Wait { .. }));
        others[2].started();
        for ticket in &others {
            assert_eq!(
                ticket.turn(),
                BackupTurn::Started {
                    name: "ccrs_shop_batch_t2".into()
                }
            );
        }
    }

    #[test]
    fn a_database_backup_goes_alone_and_a_table_once_per_batch() {
        let slots = SnapshotSlots::new();
        let whole_db = BackupRequest {
            targets: Vec::new(),
            ..request(&[])
        };
        let db = slots.queue_backup(key(), "db_job", whole_db);
        let t1 = slots.queue_backup(key(), "j1", request(&["t1"]));
        let mut partial = request(&["t1"]);
        partial.targets[0].partitions = vec!["p1".into()];
        let t1_partial = slots.queue_backup(key(), "j2", partial);
        let t2 = slots.queue_backup(key(), "j3", request(&["t2"]));
        let BackupTurn::Start { targets, jobs, .. } = save_and_start(&db) else {
            panic!("first in line");
        };
        assert_eq!((targets.len(), jobs), (0, 1), "the whole database, alone");
        assert!(matches!(t1.turn(), BackupTurn::Wait { .. }));
        db.started();
        slots.finished(&key(), "ccrs_shop__1");
        for t in [&t1, &t2] {
            if let BackupTurn::Save { .. } = t.turn() {
                t.saved();
            }
        }
        let BackupTurn::Start { targets, jobs, .. } = t2.turn() else {
            panic!("the batch starts once both saved");
        };
        assert_eq!(jobs, 2);
        assert_eq!(targets, vec![table("t1"), table("t2")]);
        assert!(
            matches!(t1_partial.turn(), BackupTurn::Wait { .. }),
            "other partitions of t1 wait for the next batch"
        );
    }

    #[test]
    fn a_ticket_dropped_while_queued_leaves_and_one_that_saved_stays_in_the_backup() {
        let slots = SnapshotSlots::new();
        let running = slots.queue_backup(key(), "j0", request(&["t0"]));
        save_and_start(&running);
        running.started();
        let leaving = slots.queue_backup(key(), "j1", request(&["t1"]));
        let staying = slots.queue_backup(key(), "j2", request(&["t2"]));
        let starter = slots.queue_backup(key(), "j3", request(&["t3"]));
        assert_eq!(slots.queued_backups(&key()), 3);
        drop(leaving);
        assert_eq!(
            slots.queued_backups(&key()),
            2,
            "a paused job leaves the queue"
        );
        slots.finished(&key(), "ccrs_shop_t0_1");
        assert!(matches!(staying.turn(), BackupTurn::Save { .. }));
        staying.saved();
        drop(staying);
        let BackupTurn::Start { targets, .. } = save_and_start(&starter) else {
            panic!("the attached member starts");
        };
        assert_eq!(
            targets,
            vec![table("t2"), table("t3")],
            "a member that saved the name is still backed up"
        );
        let rejoined = slots.rejoin_backup(&key(), "ccrs_shop_batch_t2", "j2");
        assert!(rejoined.is_some(), "a resumed member finds its batch again");
    }

    #[test]
    fn a_blocked_batch_waits_and_a_refused_one_tells_every_member() {
        let slots = SnapshotSlots::new();
        let a = slots.queue_backup(key(), "a", request(&["t1"]));
        let b = slots.queue_backup(key(), "b", request(&["t2"]));
        for t in [&a, &b] {
            assert!(matches!(t.turn(), BackupTurn::Save { .. }));
            t.saved();
        }
        assert!(matches!(a.turn(), BackupTurn::Start { .. }));
        a.blocked("behind backup nightly, which this syncer did not start".into());
        assert!(
            matches!(b.turn(), BackupTurn::Wait { behind } if behind.contains("nightly")),
            "the alien job is named"
        );
        assert!(
            matches!(a.turn(), BackupTurn::Wait { .. }),
            "until the recheck"
        );
        slots.with_slot(&key(), |slot| {
            if let Some(BatchPhase::Blocked { until, .. }) =
                slot.batch.as_mut().map(|b| &mut b.phase)
            {
                *until = Instant::now();
            }
        });
        assert!(matches!(b.turn(), BackupTurn::Start { .. }), "tries again");
        assert!(b.refused(), "shared");
        assert_eq!(a.turn(), BackupTurn::Refused);
    }

    #[test]
    fn restores_take_the_database_one_at_a_time_in_arrival_order() {
        let slots = SnapshotSlots::new();
        let target = SlotKey::new("127.0.0.1", "9031", "shop_dr");
        let mut first = slots.queue_restore(target.clone(), "j1", "l1");
        let mut second = slots.queue_restore(target.clone(), "j2", "l2");
        assert!(matches!(second.turn(), RestoreTurn::Wait { .. }));
        assert_eq!(first.turn(), RestoreTurn::Start);
        first.started();
        assert!(
            matches!(second.turn(), RestoreTurn::Wait { behind } if behind.contains("restore l1 of job j1"))
        );
        slots.finished(&target, "l1");
        assert_eq!(second.turn(), RestoreTurn::Start);
        second.blocked("behind restore x, which this syncer did not start".into());
        assert!(
            matches!(second.turn(), RestoreTurn::Wait { behind } if behind.contains("restore x"))
        );
        let mut third = slots.queue_restore(target.clone(), "j3", "l3");
        drop(second);
        assert_eq!(
            third.turn(),
            RestoreTurn::Start,
            "a dropped ticket frees its place"
        );
    }
}
