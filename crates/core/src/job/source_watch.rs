//! One source watcher per source database: while a database's jobs are caught up, one task
//! asks the database's FE for news (one getBinlog of the database stream) instead of every
//! job polling its own stream, and wakes only the jobs whose tables have new commits.
//!
//! Why no wake-up is lost and no job spins:
//! * A watcher starts at the stream's newest commit seq (it never reads the history),
//!   reads forward from there and remembers the newest commit seq it has seen of each
//!   table id, of database-level records (no table ids) and of DROP_TABLE records.
//!   Whatever is committed after the watcher started has a commit seq above its first
//!   cursor, so it sees all of it.
//! * A caught-up job registers "idle after S" and is due once a commit seq above S and
//!   above the last one it was woken for has been seen for its table (or, for a database
//!   job, anywhere in the database). Each seen commit wakes a job at most once.
//! * A job's first registration is answered at once, and so is every registration after
//!   the watcher lost track of the stream (its cursor was purged): the job's last fetch may
//!   predate what the watcher knows, so it fetches again, and from then on the watcher
//!   covers it. A spurious wake-up costs one fetch of the job's own stream.
//! * While the watcher cannot read the database stream (no binlog stored yet, no
//!   database-level privilege, an FE that refuses it, a connection error) its jobs poll
//!   their own streams as before; the watcher keeps trying, with backoff, and logs the
//!   episode once.
//!
//! The registry is owned by the job manager; each job's [`SourceWatch`] subscribes on its
//! first idle wait and unsubscribes when the job's task ends (deleted, handed over,
//! stopped). A watcher ends with its last subscriber.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

use super::cluster::SourceCluster;
use ccr_doris::cluster::BinlogBatch;
use ccr_doris::DorisError;
use ccr_wire::types::{TBinlog, TBinlogType};

/// Binlogs a watcher asks for per call: it only reads their table ids, so a large batch
/// gets it through a burst in few calls (FEs clamp to 255; old ones send one).
const WATCH_BATCH: i64 = 100;
/// The poll interval right after news: a paced stream of transactions is picked up within
/// this, sooner than a job's own backoff (20 ms doubling) would.
const HOT_POLL: Duration = Duration::from_millis(20);
/// How long after the last news the watcher keeps the hot interval before backing off
/// (doubling from [`HOT_POLL`] to the idle poll interval).
const HOT_WINDOW: Duration = Duration::from_millis(200);
/// The longest wait between two tries of a watcher that cannot read the stream (its jobs
/// poll by themselves meanwhile, so this only bounds how soon it takes over again).
const RETRY_MAX: Duration = Duration::from_secs(30);
/// A cursor below every commit seq: nothing seen yet.
const NOTHING_SEEN: i64 = i64::MIN;

/// Which database stream a watcher reads: the source FE, the database, and the user whose
/// credentials read it (jobs with other credentials get their own watcher, so one job's
/// privileges never decide what another learns).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchKey {
    pub frontend: String,
    pub database: String,
    pub user: String,
}

/// What a job waits for news of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// A table job: commits naming its source table.
    Table(i64),
    /// A database job: any commit of the database.
    Database,
}

/// Why an idle job is woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// There may be binlogs after the job's cursor: fetch.
    News,
    /// Fetch, and check that the source table still exists (its DROP_TABLE was seen, or the
    /// watcher lost track of the stream and may have missed one).
    CheckTable,
    /// No watcher serves the job now: the job polled by itself after its own delay.
    OwnPoll,
}

/// The watchers' figures: how many run, and how often they asked their FE.
#[derive(Debug, Clone, Default)]
pub struct WatchMetrics {
    pub watchers: Gauge,
    pub polls: Counter,
}

/// Every source watcher of this syncer, by database stream.
pub struct SourceWatches {
    /// The longest wait between two polls of a quiet stream (`--idle_poll_interval`).
    idle_interval: Duration,
    metrics: WatchMetrics,
    watches: Mutex<HashMap<WatchKey, Arc<Watch>>>,
}

impl SourceWatches {
    pub fn new(idle_interval: Duration, metrics: WatchMetrics) -> Arc<Self> {
        Arc::new(SourceWatches {
            idle_interval,
            metrics,
            watches: Mutex::new(HashMap::new()),
        })
    }

    /// Watchers running now.
    pub fn len(&self) -> usize {
        self.watches.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Joins the watcher of `key`, starting it (reading from `cursor`, through `source`)
    /// if there is none.
    fn subscribe(
        self: &Arc<Self>,
        key: &WatchKey,
        source: &Arc<dyn SourceCluster>,
        interest: Interest,
        cursor: i64,
    ) -> Subscription {
        let mut watches = self.watches.lock();
        let watch = match watches.get(key) {
            Some(watch) => Arc::clone(watch),
            None => {
                let watch = Arc::new(Watch {
                    key: key.clone(),
                    state: Mutex::new(WatchState::new(cursor)),
                    stop: Notify::new(),
                });
                tokio::spawn(watch_stream(
                    Arc::clone(&watch),
                    Arc::clone(source),
                    self.idle_interval,
                    self.metrics.polls.clone(),
                ));
                self.metrics.watchers.inc();
                tracing::info!(frontend = %key.frontend, database = %key.database, cursor, "source watcher started");
                watches.insert(key.clone(), Arc::clone(&watch));
                watch
            }
        };
        let id = watch.state.lock().add(interest);
        Subscription {
            registry: Arc::clone(self),
            watch,
            id,
        }
    }

    /// Leaves a watcher; the last one out ends it.
    fn unsubscribe(&self, watch: &Arc<Watch>, id: u64) {
        let mut watches = self.watches.lock();
        let mut state = watch.state.lock();
        state.subscribers.remove(&id);
        if !state.subscribers.is_empty() || state.closed {
            return;
        }
        state.closed = true;
        drop(state);
        if watches
            .get(&watch.key)
            .is_some_and(|current| Arc::ptr_eq(current, watch))
        {
            watches.remove(&watch.key);
        }
        self.metrics.watchers.dec();
        watch.stop.notify_one();
        tracing::info!(frontend = %watch.key.frontend, database = %watch.key.database, "source watcher ended with its last job");
    }
}

/// One job's membership of a watcher; leaving is dropping it.
struct Subscription {
    registry: Arc<SourceWatches>,
    watch: Arc<Watch>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.unsubscribe(&self.watch, self.id);
    }
}

/// A job's handle on the watcher of its source database (a field of its context).
pub struct SourceWatch {
    watching: Option<Watching>,
    /// Set by a [`Wake::CheckTable`]; taken by the next existence check.
    check_table: AtomicBool,
}

struct Watching {
    registry: Arc<SourceWatches>,
    key: WatchKey,
    /// What the watcher reads with if this job starts it.
    source: Arc<dyn SourceCluster>,
    interest: Interest,
    subscription: Mutex<Option<Subscription>>,
}

impl SourceWatch {
    /// A job with no watcher: every idle wait is its own poll delay.
    pub fn unwatched() -> Self {
        SourceWatch {
            watching: None,
            check_table: AtomicBool::new(false),
        }
    }

    /// A job served by the watcher of `key` in `registry` (joined at its first idle wait).
    pub fn new(
        registry: Arc<SourceWatches>,
        key: WatchKey,
        source: Arc<dyn SourceCluster>,
        interest: Interest,
    ) -> Self {
        SourceWatch {
            watching: Some(Watching {
                registry,
                key,
                source,
                interest,
                subscription: Mutex::new(None),
            }),
            check_table: AtomicBool::new(false),
        }
    }

    /// Waits, caught up after commit seq `after`, until the job should fetch again: woken
    /// by the watcher, or after `own_poll` while no watcher serves it.
    ///
    /// Dropping the future (the job's control changed) may drop a wake-up with it; that is
    /// harmless because the job's next step fetches anyway.
    pub async fn wait(&self, after: i64, own_poll: Duration) -> Wake {
        let registration = match &self.watching {
            None => Registration::Unwatched,
            Some(watching) => {
                let start = watching.start_cursor(after).await;
                watching.register(after, start)
            }
        };
        let wake = match registration {
            Registration::Now(wake) => wake,
            Registration::Wait(woken) => woken.await.unwrap_or(Wake::OwnPoll),
            Registration::Unwatched => {
                tokio::time::sleep(own_poll).await;
                Wake::OwnPoll
            }
        };
        if wake == Wake::CheckTable {
            self.check_table.store(true, Ordering::Relaxed);
        }
        wake
    }

    /// Whether a wake-up asked for a check of the source table since the last call.
    pub fn take_table_check(&self) -> bool {
        self.check_table.swap(false, Ordering::Relaxed)
    }

    /// Whether a working watcher reports this job's DROP_TABLE (so the job needs no
    /// periodic look at its source table).
    pub fn reports_drops(&self) -> bool {
        self.watching.as_ref().is_some_and(|watching| {
            watching
                .subscription
                .lock()
                .as_ref()
                .is_some_and(|subscription| subscription.watch.state.lock().working)
        })
    }
}

impl Watching {
    /// Where a watcher this job starts reads from: the newest commit seq of the stream
    /// (one getBinlogLag), so it never reads the history before it. Anything committed
    /// since is above it, and every job fetches once more after joining a watcher, which
    /// covers what came before. FEs that do not report the newest seq: `after`.
    async fn start_cursor(&self, after: i64) -> i64 {
        if self.subscription.lock().is_some()
            || self.registry.watches.lock().contains_key(&self.key)
        {
            return after;
        }
        self.registry.metrics.polls.inc();
        match self
            .source
            .binlog_lag(&self.key.database, None, after)
            .await
        {
            Ok(lag) => lag.last_commit_seq.map_or(after, |last| last.max(after)),
            // The watcher's first poll meets the same failure and says so.
            Err(_) => after,
        }
    }

    fn register(&self, after: i64, start: i64) -> Registration {
        let mut subscription = self.subscription.lock();
        let subscription = subscription.get_or_insert_with(|| {
            self.registry
                .subscribe(&self.key, &self.source, self.interest, start)
        });
        let registration = subscription
            .watch
            .state
            .lock()
            .register(subscription.id, after);
        registration
    }
}

/// How a registration is answered.
enum Registration {
    Now(Wake),
    Wait(oneshot::Receiver<Wake>),
    /// No working watcher: the job polls by itself.
    Unwatched,
}

/// One database stream's watcher: its state, shared by its task and its subscribers.
struct Watch {
    key: WatchKey,
    state: Mutex<WatchState>,
    /// Told when the last subscriber leaves, so the task ends without finishing its wait.
    stop: Notify,
}

/// The newest commit seqs a watcher has seen.
struct Seen {
    any: i64,
    /// Records without table ids (database-level): news for every job.
    db_level: i64,
    by_table: HashMap<i64, i64>,
    dropped: HashMap<i64, i64>,
}

impl Seen {
    /// What a subscriber with `interest` is due for, given it has handled everything up
    /// to `handled`.
    fn due(&self, interest: Interest, handled: i64) -> Option<Wake> {
        match interest {
            Interest::Database => (self.any > handled).then_some(Wake::News),
            Interest::Table(table) => {
                let newest = |map: &HashMap<i64, i64>| map.get(&table).copied();
                if newest(&self.dropped).is_some_and(|seq| seq > handled) {
                    Some(Wake::CheckTable)
                } else if newest(&self.by_table)
                    .unwrap_or(NOTHING_SEEN)
                    .max(self.db_level)
                    > handled
                {
                    Some(Wake::News)
                } else {
                    None
                }
            }
        }
    }

    /// Whether a DROP_TABLE of the table of `interest` was seen.
    fn was_dropped(&self, interest: Interest) -> bool {
        matches!(interest, Interest::Table(table) if self.dropped.contains_key(&table))
    }

    fn note(&mut self, binlog: &TBinlog) {
        let seq = binlog.commit_seq.unwrap_or(NOTHING_SEEN);
        self.any = self.any.max(seq);
        match binlog.table_ids.as_deref() {
            None | Some([]) => self.db_level = self.db_level.max(seq),
            Some(tables) => {
                let dropped = binlog.type_ == Some(TBinlogType::DROP_TABLE);
                for table in tables {
                    let newest = self.by_table.entry(*table).or_insert(seq);
                    *newest = (*newest).max(seq);
                    if dropped {
                        self.dropped.insert(*table, seq);
                    }
                }
            }
        }
    }
}

struct Subscriber {
    interest: Interest,
    /// The watcher generation the subscriber's fetches are known to be covered by (0:
    /// none yet).
    synced: u64,
    /// The watcher's cursor when the subscriber was last woken: its next fetch covers
    /// everything up to it.
    woken_through: i64,
    waiting: Option<Waiting>,
}

impl Subscriber {
    /// What the subscriber, caught up after `after`, is due for; a wake-up due covers
    /// everything up to `cursor`.
    fn wake_if_due(&mut self, seen: &Seen, after: i64, cursor: i64) -> Option<Wake> {
        let wake = seen.due(self.interest, after.max(self.woken_through))?;
        self.woken_through = cursor;
        Some(wake)
    }
}

struct Waiting {
    after: i64,
    wake: oneshot::Sender<Wake>,
}

struct WatchState {
    cursor: i64,
    /// Up by one whenever the watcher loses track of the stream (its cursor was purged).
    generation: u64,
    /// Whether the last poll read the stream (a new watcher counts as working until its
    /// first poll says otherwise).
    working: bool,
    closed: bool,
    seen: Seen,
    subscribers: HashMap<u64, Subscriber>,
    next_id: u64,
}

impl WatchState {
    fn new(cursor: i64) -> Self {
        WatchState {
            cursor,
            generation: 1,
            working: true,
            closed: false,
            seen: Seen {
                any: NOTHING_SEEN,
                db_level: NOTHING_SEEN,
                by_table: HashMap::new(),
                dropped: HashMap::new(),
            },
            subscribers: HashMap::new(),
            next_id: 0,
        }
    }

    fn add(&mut self, interest: Interest) -> u64 {
        self.next_id += 1;
        self.subscribers.insert(
            self.next_id,
            Subscriber {
                interest,
                synced: 0,
                woken_through: NOTHING_SEEN,
                waiting: None,
            },
        );
        self.next_id
    }

    fn register(&mut self, id: u64, after: i64) -> Registration {
        if !self.working {
            return Registration::Unwatched;
        }
        let (generation, cursor) = (self.generation, self.cursor);
        let Some(subscriber) = self.subscribers.get_mut(&id) else {
            return Registration::Unwatched;
        };
        if subscriber.synced != generation {
            // Its last fetch (and existence check) may predate what this watcher knows:
            // fetch once more, and check the table if the watcher saw it dropped.
            let wake = if subscriber.synced == 0 && !self.seen.was_dropped(subscriber.interest) {
                Wake::News
            } else {
                Wake::CheckTable
            };
            subscriber.synced = generation;
            subscriber.woken_through = cursor;
            subscriber.waiting = None;
            return Registration::Now(wake);
        }
        if let Some(wake) = subscriber.wake_if_due(&self.seen, after, cursor) {
            subscriber.waiting = None;
            return Registration::Now(wake);
        }
        let (wake, woken) = oneshot::channel();
        subscriber.waiting = Some(Waiting { after, wake });
        Registration::Wait(woken)
    }

    /// Wakes every waiting subscriber that what was seen concerns.
    fn wake_due(&mut self) {
        let cursor = self.cursor;
        for subscriber in self.subscribers.values_mut() {
            let Some(waiting) = subscriber.waiting.take() else {
                continue;
            };
            match subscriber.wake_if_due(&self.seen, waiting.after, cursor) {
                // A receiver gone means the job's control changed: it fetches anyway.
                Some(wake) => {
                    let _ = waiting.wake.send(wake);
                }
                None => subscriber.waiting = Some(waiting),
            }
        }
    }

    /// The watcher cannot serve its jobs: hands every waiting one back to its own polling.
    /// Returns whether it was working until now.
    fn stop_working(&mut self) -> bool {
        let was_working = std::mem::replace(&mut self.working, false);
        self.wake_all(Wake::OwnPoll);
        was_working
    }

    /// Wakes every waiting subscriber with `wake`.
    fn wake_all(&mut self, wake: Wake) {
        let (generation, cursor) = (self.generation, self.cursor);
        for subscriber in self.subscribers.values_mut() {
            if let Some(waiting) = subscriber.waiting.take() {
                if wake != Wake::OwnPoll {
                    // Woken after the change, so its next fetch is covered by it.
                    subscriber.synced = generation;
                    subscriber.woken_through = cursor;
                }
                let _ = waiting.wake.send(wake);
            }
        }
    }
}

impl Watch {
    /// Takes in a batch read from the stream.
    fn saw(&self, binlogs: &[TBinlog]) {
        let mut state = self.state.lock();
        for binlog in binlogs {
            let seq = binlog.commit_seq.unwrap_or(NOTHING_SEEN);
            state.cursor = state.cursor.max(seq);
            if binlog.type_ != Some(TBinlogType::DUMMY) {
                state.seen.note(binlog);
            }
        }
        state.wake_due();
    }

    /// The cursor was purged: what lies between it and the stream's head is unknown, so
    /// every job fetches (and checks its table) again, and the watcher goes on from the
    /// head.
    fn restart_after_purge(&self, binlogs: &[TBinlog]) {
        let previous = self.state.lock().cursor;
        self.saw(binlogs);
        let mut state = self.state.lock();
        state.generation += 1;
        tracing::warn!(frontend = %self.key.frontend, database = %self.key.database, previous, cursor = state.cursor, "binlogs after the source watcher's cursor were purged; every job of the database fetches again");
        state.wake_all(Wake::CheckTable);
    }

    fn poll_worked(&self) {
        let mut state = self.state.lock();
        if !state.working {
            state.working = true;
            tracing::info!(frontend = %self.key.frontend, database = %self.key.database, "source watcher reads the database's binlog stream again; its jobs stop polling by themselves");
        }
    }

    fn poll_failed(&self, error: &DorisError) {
        if self.state.lock().stop_working() {
            tracing::warn!(frontend = %self.key.frontend, database = %self.key.database, %error, "source watcher cannot read the database's binlog stream; its jobs poll their own streams until it can");
        }
    }
}

/// Hands a watcher's jobs back to their own polling if its task ends while they are still
/// subscribed (a panic).
struct TaskEnd(Arc<Watch>);

impl Drop for TaskEnd {
    fn drop(&mut self) {
        let mut state = self.0.state.lock();
        if !state.closed {
            state.stop_working();
            tracing::error!(frontend = %self.0.key.frontend, database = %self.0.key.database, "source watcher task ended unexpectedly; its jobs poll by themselves");
        }
    }
}

/// A watcher's task: polls the database stream until its last subscriber leaves.
async fn watch_stream(
    watch: Arc<Watch>,
    source: Arc<dyn SourceCluster>,
    idle_interval: Duration,
    polls: Counter,
) {
    let _end = TaskEnd(Arc::clone(&watch));
    let hot = HOT_POLL.min(idle_interval);
    let mut quiet = hot;
    let mut retry = idle_interval;
    // A job just caught up: more is likely soon.
    let mut last_news = Instant::now();
    loop {
        let cursor = {
            let state = watch.state.lock();
            if state.closed {
                return;
            }
            state.cursor
        };
        polls.inc();
        let answer = source
            .get_binlogs(&watch.key.database, None, cursor, WATCH_BATCH)
            .await;
        if answer.is_ok() {
            watch.poll_worked();
            retry = idle_interval;
        }
        let delay = match answer {
            Ok(BinlogBatch::CaughtUp) => {
                if last_news.elapsed() < HOT_WINDOW {
                    hot
                } else {
                    quiet = (quiet * 2).min(idle_interval);
                    quiet
                }
            }
            Ok(BinlogBatch::Binlogs {
                binlogs,
                too_old: true,
            }) => {
                watch.restart_after_purge(&binlogs);
                Duration::ZERO
            }
            Ok(BinlogBatch::Binlogs { binlogs, .. }) => {
                watch.saw(&binlogs);
                last_news = Instant::now();
                quiet = hot;
                // A full batch: more is waiting. One binlog may be all an older FE gives
                // per call.
                if binlogs.len() == 1 || binlogs.len() as i64 >= WATCH_BATCH {
                    Duration::ZERO
                } else {
                    hot
                }
            }
            Err(error) => {
                watch.poll_failed(&error);
                let delay = retry;
                retry = (retry * 2).min(RETRY_MAX);
                delay
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = watch.stop.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: i64 = 7;
    const OTHER: i64 = 8;

    fn watch(cursor: i64) -> Watch {
        Watch {
            key: WatchKey {
                frontend: "fe:9020".into(),
                database: "db".into(),
                user: "root".into(),
            },
            state: Mutex::new(WatchState::new(cursor)),
            stop: Notify::new(),
        }
    }

    fn binlog(seq: i64, kind: TBinlogType, tables: Option<Vec<i64>>) -> TBinlog {
        TBinlog::new(seq, 0, kind, 1, tables, None::<String>, None)
    }

    fn upsert(seq: i64, table: i64) -> TBinlog {
        binlog(seq, TBinlogType::UPSERT, Some(vec![table]))
    }

    /// A subscriber of `interest` whose first registration (answered at once) is behind
    /// it.
    fn synced(watch: &Watch, interest: Interest, after: i64) -> u64 {
        let mut state = watch.state.lock();
        let id = state.add(interest);
        assert!(matches!(
            state.register(id, after),
            Registration::Now(Wake::News)
        ));
        id
    }

    fn register(watch: &Watch, id: u64, after: i64) -> Registration {
        watch.state.lock().register(id, after)
    }

    fn woken(registration: Registration) -> oneshot::Receiver<Wake> {
        match registration {
            Registration::Wait(woken) => woken,
            Registration::Now(wake) => panic!("answered at once: {wake:?}"),
            Registration::Unwatched => panic!("unwatched"),
        }
    }

    /// A [`synced`] subscriber now waiting after `after`, and its wake-up.
    fn waiting(watch: &Watch, interest: Interest, after: i64) -> (u64, oneshot::Receiver<Wake>) {
        let id = synced(watch, interest, after);
        (id, woken(register(watch, id, after)))
    }

    #[test]
    fn a_commit_seen_before_a_job_registers_wakes_it_at_once_and_only_once() {
        let watch = watch(100);
        let id = synced(&watch, Interest::Table(TABLE), 100);
        // Committed after the job's fetch, seen by the watcher before the job registered.
        watch.saw(&[upsert(101, TABLE)]);
        assert!(matches!(
            register(&watch, id, 100),
            Registration::Now(Wake::News)
        ));
        // The fetch it made found nothing for it after all: no second wake for 101.
        woken(register(&watch, id, 100));
    }

    #[test]
    fn a_commit_wakes_the_jobs_of_its_tables_and_a_database_level_record_every_job() {
        let watch = watch(100);
        let (table_job, mut table_woken) = waiting(&watch, Interest::Table(TABLE), 100);
        let (_, mut other_woken) = waiting(&watch, Interest::Table(OTHER), 100);
        let (db_job, mut db_woken) = waiting(&watch, Interest::Database, 100);

        watch.saw(&[upsert(101, TABLE)]);
        assert_eq!(table_woken.try_recv(), Ok(Wake::News));
        assert_eq!(db_woken.try_recv(), Ok(Wake::News));
        assert!(other_woken.try_recv().is_err(), "not its table");

        let mut table_woken = woken(register(&watch, table_job, 101));
        let mut db_woken = woken(register(&watch, db_job, 101));
        watch.saw(&[binlog(102, TBinlogType::ALTER_DATABASE_PROPERTY, None)]);
        for woken in [&mut table_woken, &mut other_woken, &mut db_woken] {
            assert_eq!(woken.try_recv(), Ok(Wake::News));
        }
        // A table job's cursor does not move past a database-level record (its stream
        // lacks it): it is not woken for it again.
        woken(register(&watch, table_job, 101));
    }

    #[test]
    fn a_drop_asks_only_the_dropped_tables_job_to_check_its_table() {
        let watch = watch(100);
        let (dropped, mut dropped_woken) = waiting(&watch, Interest::Table(TABLE), 100);
        let (_, mut other_woken) = waiting(&watch, Interest::Table(OTHER), 100);
        watch.saw(&[binlog(101, TBinlogType::DROP_TABLE, Some(vec![TABLE]))]);
        assert_eq!(dropped_woken.try_recv(), Ok(Wake::CheckTable));
        assert!(other_woken.try_recv().is_err());
        // Checked once (a table recovered since stays quiet).
        woken(register(&watch, dropped, 100));
    }

    #[test]
    fn a_job_joining_after_its_tables_drop_was_seen_checks_its_table() {
        let watch = watch(100);
        watch.saw(&[binlog(101, TBinlogType::DROP_TABLE, Some(vec![TABLE]))]);
        let mut state = watch.state.lock();
        let late = state.add(Interest::Table(TABLE));
        assert!(matches!(
            state.register(late, 100),
            Registration::Now(Wake::CheckTable)
        ));
        let other = state.add(Interest::Table(OTHER));
        assert!(matches!(
            state.register(other, 100),
            Registration::Now(Wake::News)
        ));
    }

    #[test]
    fn a_purged_cursor_has_every_job_fetch_and_check_again() {
        let watch = watch(100);
        let (waiting_job, mut waiting_woken) = waiting(&watch, Interest::Table(TABLE), 100);
        let busy = synced(&watch, Interest::Table(OTHER), 100);
        watch.restart_after_purge(&[binlog(500, TBinlogType::DUMMY, None)]);
        assert_eq!(watch.state.lock().cursor, 500, "goes on from the head");
        assert_eq!(waiting_woken.try_recv(), Ok(Wake::CheckTable));
        // Woken after the restart, its fetch is covered: it waits now.
        woken(register(&watch, waiting_job, 500));
        // A job that was fetching meanwhile may have fetched before: once more.
        assert!(matches!(
            register(&watch, busy, 100),
            Registration::Now(Wake::CheckTable)
        ));
    }

    #[test]
    fn a_failing_watcher_hands_its_jobs_back_to_their_own_polling() {
        let watch = watch(100);
        let (id, mut woken_by) = waiting(&watch, Interest::Table(TABLE), 100);
        let error = DorisError::Connect {
            addr: "fe:9020".into(),
            message: "refused".into(),
        };
        watch.poll_failed(&error);
        assert_eq!(woken_by.try_recv(), Ok(Wake::OwnPoll));
        assert!(matches!(register(&watch, id, 100), Registration::Unwatched));
        watch.poll_worked();
        woken(register(&watch, id, 100));
    }
}
