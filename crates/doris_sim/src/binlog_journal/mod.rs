//! The simulated FE's binlog store (Doris `BinlogManager` / `DBBinlog` / `TableBinlog`).
//!
//! * Every journaled metadata operation consumes one id of a cluster-wide edit-log counter
//!   ([`BinlogJournal::next_journal_id`]); an operation that produces a binlog uses its id as
//!   the binlog's `commit_seq`. Operations without a binlog (create database, grants, the
//!   COMMITTED step of a load, ...) consume ids too, so commit seqs have gaps as in Doris.
//! * Per database: one ordered **db stream** holding every stored binlog of the database and
//!   one **table stream** per table (every binlog naming the table, except CREATE_TABLE and
//!   DROP_TABLE). Each stream has a DUMMY head whose seq/timestamp move forward on GC.
//! * Enable rules: a binlog is stored if the database has `binlog.enable`, or any table it
//!   names has it (sheet §1.3). A table stream is created when the database or the table has
//!   binlog enabled, and keeps receiving binlogs once it exists.
//! * GC (sheet §3): TTL on positive timestamps, `binlog.max_bytes`,
//!   `binlog.max_history_nums`, lockBinlog locks, `enable_recycle_binlog_immediately`.
//!   Doris runs it from a daemon every 15 s; the simulator runs it lazily (at most once per
//!   [`BINLOG_GC_INTERVAL_MS`]) when binlogs are recorded or read, or on demand.
//!
//! The hooks that produce binlogs from catalog changes live in [`producers`]; the FE RPCs
//! reading this store live in [`crate::binlog_service`].

pub mod producers;

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::table::Properties;
use ccr_binlog::{Binlog, BinlogError, BinlogType};
use ccr_wire::types::TBinlog;

pub use producers::{PublishedTxn, ReplacedPartitions};

/// Doris's binlog GC daemon period (`BinlogGcer`): 15 s.
pub const BINLOG_GC_INTERVAL_MS: i64 = 15_000;
/// A fresh Doris FE has already journaled its bootstrap operations (system databases, root
/// user, frontends, backends) before a user connects; start the counter past them so ids do
/// not look like catalog ids.
const INITIAL_JOURNAL_ID: i64 = 1_000;
/// Commit seq of a stream head nothing has been GC'd from.
const INITIAL_DUMMY_SEQ: i64 = -1;
/// Timestamp value meaning "not set" (non-UPSERT binlogs on 2.1 FEs, initial 2.1 heads).
const UNSET_TIMESTAMP: i64 = -1;
/// `belong` of the db stream's DUMMY head.
const DB_STREAM_BELONG: i64 = -1;
/// Approximate size Doris charges per binlog against `binlog.max_bytes`:
/// `80 + 8 × |table_ids| + len(data)` (sheet §3).
const BINLOG_BASE_SIZE: i64 = 80;
const BINLOG_SIZE_PER_TABLE_ID: i64 = 8;
/// `BinlogConfig` defaults (sheet §1.3).
pub const DEFAULT_BINLOG_TTL_SECONDS: i64 = 86_400;
pub const DEFAULT_BINLOG_MAX: i64 = i64::MAX;
const MS_PER_SECOND: i64 = 1_000;

/// Which Doris FE generation the store behaves like. It decides BARRIER wrapping, which
/// binlogs carry a timestamp, the DUMMY head's initial timestamp and the getBinlog batch
/// size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinlogFlavor {
    /// 2.1-line FE: RENAME_TABLE, RENAME_COLUMN, MODIFY_COMMENT, MODIFY_VIEW_DEF,
    /// REPLACE_TABLE, ... are emitted wrapped in a BARRIER (sheet §4.3); only UPSERTs carry a
    /// timestamp; getBinlog returns exactly one binlog per call.
    Doris21,
    /// Newest FE (3.0+/master): every type native, every binlog timestamped, getBinlog
    /// batches up to `num_acquired`, lockBinlog and the extended getBinlogLag fields.
    #[default]
    Newest,
}

/// A database's or table's binlog properties (Doris `BinlogConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinlogConfig {
    pub enable: bool,
    pub ttl_seconds: i64,
    pub max_bytes: i64,
    pub max_history_nums: i64,
}

impl Default for BinlogConfig {
    fn default() -> Self {
        BinlogConfig {
            enable: false,
            ttl_seconds: DEFAULT_BINLOG_TTL_SECONDS,
            max_bytes: DEFAULT_BINLOG_MAX,
            max_history_nums: DEFAULT_BINLOG_MAX,
        }
    }
}

impl BinlogConfig {
    /// Reads `binlog.enable`, `binlog.ttl_seconds`, `binlog.max_bytes` and
    /// `binlog.max_history_nums`; absent or unparsable values take the defaults.
    pub fn from_properties(properties: &Properties) -> Self {
        let number = |key: &str, default: i64| {
            properties
                .get(key)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(default)
        };
        BinlogConfig {
            enable: properties
                .get("binlog.enable")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            ttl_seconds: number("binlog.ttl_seconds", DEFAULT_BINLOG_TTL_SECONDS),
            max_bytes: number("binlog.max_bytes", DEFAULT_BINLOG_MAX),
            max_history_nums: number("binlog.max_history_nums", DEFAULT_BINLOG_MAX),
        }
    }
}

/// The binlog configs that decide whether (and where) one binlog is stored: its database's
/// and those of the tables it names, captured when the operation ran.
#[derive(Debug, Clone, Default)]
pub struct BinlogScope {
    pub db_config: BinlogConfig,
    /// One entry per table the binlog names, in `table_ids` order.
    pub tables: Vec<(i64, BinlogConfig)>,
}

impl BinlogScope {
    fn stores(&self) -> bool {
        self.db_config.enable || self.tables.iter().any(|(_, config)| config.enable)
    }
}

/// The configs GC needs for one database: its own and its tables' (a table that no longer
/// exists counts as binlog-disabled).
#[derive(Debug, Clone, Default)]
pub struct DbGcConfig {
    pub db_config: BinlogConfig,
    pub tables: BTreeMap<i64, BinlogConfig>,
}

/// Ids dropped while their drop binlog is still retained, with the drop's commit seq
/// (Doris `DBBinlog.recordDroppedOrRecoveredResources`; getMeta reports them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DroppedResources {
    pub partitions: BTreeMap<i64, i64>,
    pub tables: BTreeMap<i64, i64>,
    pub indexes: BTreeMap<i64, i64>,
}

impl DroppedResources {
    fn forget_up_to(&mut self, commit_seq: i64) {
        for ids in [&mut self.partitions, &mut self.tables, &mut self.indexes] {
            ids.retain(|_, seq| *seq > commit_seq);
        }
    }
}

/// Kind of catalog object a drop binlog removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DroppedKind {
    Partition,
    Table,
    Index,
}

/// Where a DUMMY head stands: the last GC'd binlog's seq and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamHead {
    pub commit_seq: i64,
    pub timestamp: i64,
}

/// One stored binlog, encoded once as the FE would send it.
#[derive(Debug, Clone)]
struct StoredBinlog {
    wire: TBinlog,
    timestamp: i64,
    /// Approximate size (see [`BINLOG_BASE_SIZE`]).
    size: i64,
    /// Number of table streams holding this binlog (Doris `table_ref`).
    table_refs: usize,
}

#[derive(Debug, Clone)]
struct TableStream {
    head: StreamHead,
    seqs: BTreeSet<i64>,
    /// job_unique_id → locked commit seq.
    locks: BTreeMap<String, i64>,
}

/// All binlogs of one database.
#[derive(Debug, Clone)]
struct DbStream {
    head: StreamHead,
    binlogs: BTreeMap<i64, StoredBinlog>,
    tables: BTreeMap<i64, TableStream>,
    locks: BTreeMap<String, i64>,
    dropped: DroppedResources,
}

/// Why a stream could not be read or locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The database has never stored a binlog (`BINLOG_NOT_FOUND_DB`).
    #[error("no binlog stream for database {0}")]
    NotFoundDb(i64),
    /// The table has no binlog stream (`BINLOG_NOT_FOUND_TABLE`).
    #[error("no binlog stream for table {table_id} of database {db_id}")]
    NotFoundTable { db_id: i64, table_id: i64 },
    /// lockBinlog asked for a seq beyond the newest binlog (`BINLOG_TOO_NEW_COMMIT_SEQ`).
    #[error("commit seq {requested} is newer than the last binlog {last}")]
    TooNew { requested: i64, last: i64 },
}

/// Result of reading a stream after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub enum BinlogFetch {
    /// Binlogs with `commit_seq > prev`, oldest first (never empty).
    Binlogs(Vec<TBinlog>),
    /// The cursor is older than the head: the DUMMY head alone.
    TooOld(TBinlog),
    /// Nothing after the cursor.
    TooNew,
}

/// Lag figures of a stream relative to a cursor (getBinlogLag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinlogLag {
    pub lag: i64,
    pub first_commit_seq: i64,
    pub first_binlog_timestamp: i64,
    pub last_commit_seq: i64,
    pub last_binlog_timestamp: i64,
    /// 0 when nothing follows the cursor; the head when the cursor is too old.
    pub next_commit_seq: i64,
    pub next_binlog_timestamp: i64,
}

/// The binlog store of one simulated FE; lives in the catalog state.
#[derive(Debug, Clone)]
pub struct BinlogJournal {
    last_journal_id: i64,
    flavor: BinlogFlavor,
    dbs: BTreeMap<i64, DbStream>,
    last_gc_ms: i64,
}

impl Default for BinlogJournal {
    fn default() -> Self {
        BinlogJournal {
            last_journal_id: INITIAL_JOURNAL_ID,
            flavor: BinlogFlavor::default(),
            dbs: BTreeMap::new(),
            last_gc_ms: 0,
        }
    }
}

impl BinlogJournal {
    /// Consumes and returns the next edit-log id (the commit seq of a binlog-producing op).
    pub fn next_journal_id(&mut self) -> i64 {
        self.last_journal_id += 1;
        self.last_journal_id
    }

    /// The newest edit-log id handed out.
    pub fn last_journal_id(&self) -> i64 {
        self.last_journal_id
    }

    pub fn flavor(&self) -> BinlogFlavor {
        self.flavor
    }

    pub fn set_flavor(&mut self, flavor: BinlogFlavor) {
        self.flavor = flavor;
    }

    /// The timestamp a binlog of `binlog_type` gets when recorded at `now_ms`
    /// (UPSERTs carry their txn finish time instead, set by the producer).
    pub fn timestamp_for(&self, binlog_type: BinlogType, now_ms: i64) -> i64 {
        match (self.flavor, binlog_type) {
            (BinlogFlavor::Doris21, BinlogType::Upsert) | (BinlogFlavor::Newest, _) => now_ms,
            (BinlogFlavor::Doris21, _) => UNSET_TIMESTAMP,
        }
    }

    fn initial_head(&self, now_ms: i64) -> StreamHead {
        StreamHead {
            commit_seq: INITIAL_DUMMY_SEQ,
            timestamp: match self.flavor {
                BinlogFlavor::Doris21 => UNSET_TIMESTAMP,
                BinlogFlavor::Newest => now_ms,
            },
        }
    }

    /// Stores `binlog` if `scope` enables it; returns whether it was stored. 2.1 flavor
    /// wraps the types 2.1 FEs emit inside a BARRIER.
    pub fn store(
        &mut self,
        scope: &BinlogScope,
        binlog: Binlog,
        now_ms: i64,
    ) -> Result<bool, BinlogError> {
        if !scope.stores() {
            return Ok(false);
        }
        let binlog_type = binlog.binlog_type;
        let binlog =
            if self.flavor == BinlogFlavor::Doris21 && binlog_type.is_barrier_wrapped_on_2_1() {
                binlog.into_barrier_wrapped()
            } else {
                binlog
            };
        let wire = binlog.to_wire()?;
        let commit_seq = binlog.commit_seq;
        let db_id = binlog.db_id.unwrap_or_default();
        let size = BINLOG_BASE_SIZE
            + BINLOG_SIZE_PER_TABLE_ID * binlog.table_ids.len() as i64
            + wire.data.as_ref().map_or(0, |d| d.len() as i64);
        let head = self.initial_head(now_ms);
        let db = self.dbs.entry(db_id).or_insert_with(|| DbStream {
            head,
            binlogs: BTreeMap::new(),
            tables: BTreeMap::new(),
            locks: BTreeMap::new(),
            dropped: DroppedResources::default(),
        });
        let mut table_refs = 0;
        if !binlog_type.is_db_stream_only() {
            for (table_id, config) in &scope.tables {
                let exists = db.tables.contains_key(table_id);
                if exists || scope.db_config.enable || config.enable {
                    let stream = db.tables.entry(*table_id).or_insert_with(|| TableStream {
                        head,
                        seqs: BTreeSet::new(),
                        locks: BTreeMap::new(),
                    });
                    if stream.seqs.insert(commit_seq) {
                        table_refs += 1;
                    }
                }
            }
        }
        db.binlogs.insert(
            commit_seq,
            StoredBinlog {
                wire,
                timestamp: binlog.timestamp,
                size,
                table_refs,
            },
        );
        Ok(true)
    }

    /// Remembers ids removed by the stored drop binlog at `commit_seq`.
    pub fn note_dropped(&mut self, db_id: i64, kind: DroppedKind, ids: &[i64], commit_seq: i64) {
        let Some(db) = self.dbs.get_mut(&db_id) else {
            return;
        };
        let map = match kind {
            DroppedKind::Partition => &mut db.dropped.partitions,
            DroppedKind::Table => &mut db.dropped.tables,
            DroppedKind::Index => &mut db.dropped.indexes,
        };
        for id in ids {
            map.insert(*id, commit_seq);
        }
    }

    /// Ids dropped within binlog retention in a database (for getMeta).
    pub fn dropped(&self, db_id: i64) -> Option<&DroppedResources> {
        self.dbs.get(&db_id).map(|db| &db.dropped)
    }

    /// Forgets a dropped database's binlogs.
    pub fn drop_database(&mut self, db_id: i64) {
        self.dbs.remove(&db_id);
    }

    /// The DUMMY head as a `TBinlog`.
    fn dummy_wire(db_id: i64, head: StreamHead, belong: i64) -> TBinlog {
        Binlog::dummy(head.commit_seq, head.timestamp, db_id, belong)
            .to_wire()
            .expect("a DUMMY has no payload to encode")
    }

    /// Head, ordered seqs and belong of the requested stream.
    fn stream(
        &self,
        db_id: i64,
        table_id: Option<i64>,
    ) -> Result<(&DbStream, StreamHead, Vec<i64>, i64), StreamError> {
        let db = self.dbs.get(&db_id).ok_or(StreamError::NotFoundDb(db_id))?;
        match table_id {
            None => Ok((
                db,
                db.head,
                db.binlogs.keys().copied().collect(),
                DB_STREAM_BELONG,
            )),
            Some(table_id) => {
                let stream = db
                    .tables
                    .get(&table_id)
                    .ok_or(StreamError::NotFoundTable { db_id, table_id })?;
                Ok((
                    db,
                    stream.head,
                    stream.seqs.iter().copied().collect(),
                    table_id,
                ))
            }
        }
    }

    /// getBinlog's selection (sheet §2.1): the binlogs after `prev_commit_seq`, at most
    /// `limit` of them (at least one).
    pub fn fetch(
        &self,
        db_id: i64,
        table_id: Option<i64>,
        prev_commit_seq: i64,
        limit: usize,
    ) -> Result<BinlogFetch, StreamError> {
        let (db, head, seqs, belong) = self.stream(db_id, table_id)?;
        if head.commit_seq > prev_commit_seq {
            return Ok(BinlogFetch::TooOld(Self::dummy_wire(db_id, head, belong)));
        }
        let batch: Vec<TBinlog> = seqs
            .iter()
            .filter(|seq| **seq > prev_commit_seq)
            .take(limit.max(1))
            .map(|seq| db.binlogs[seq].wire.clone())
            .collect();
        Ok(if batch.is_empty() {
            BinlogFetch::TooNew
        } else {
            BinlogFetch::Binlogs(batch)
        })
    }

    /// getBinlogLag's figures (sheet §2.2).
    pub fn lag(
        &self,
        db_id: i64,
        table_id: Option<i64>,
        prev_commit_seq: i64,
    ) -> Result<BinlogLag, StreamError> {
        let (db, head, seqs, _) = self.stream(db_id, table_id)?;
        let timestamp_of = |seq: i64| db.binlogs[&seq].timestamp;
        let (last_commit_seq, last_binlog_timestamp) = match seqs.last() {
            Some(seq) => (*seq, timestamp_of(*seq)),
            None => (head.commit_seq, head.timestamp),
        };
        let mut lag = BinlogLag {
            lag: 0,
            first_commit_seq: head.commit_seq,
            first_binlog_timestamp: head.timestamp,
            last_commit_seq,
            last_binlog_timestamp,
            next_commit_seq: 0,
            next_binlog_timestamp: 0,
        };
        if head.commit_seq > prev_commit_seq {
            // The whole stream, DUMMY head included.
            lag.lag = seqs.len() as i64 + 1;
            lag.next_commit_seq = head.commit_seq;
            lag.next_binlog_timestamp = head.timestamp;
            return Ok(lag);
        }
        let after: Vec<i64> = seqs
            .iter()
            .copied()
            .filter(|seq| *seq > prev_commit_seq)
            .collect();
        lag.lag = after.len() as i64;
        if let Some(next) = after.first() {
            lag.next_commit_seq = *next;
            lag.next_binlog_timestamp = timestamp_of(*next);
        }
        Ok(lag)
    }

    /// lockBinlog (sheet §2.3): pins the stream at `requested` (negative = the newest
    /// binlog) for `job`. Locks only move forward; returns the seq now held.
    pub fn lock(
        &mut self,
        db_id: i64,
        table_id: Option<i64>,
        job: &str,
        requested: i64,
    ) -> Result<i64, StreamError> {
        let (_, head, seqs, _) = self.stream(db_id, table_id)?;
        let last = seqs.last().copied().unwrap_or(head.commit_seq);
        let target = if requested < 0 {
            last
        } else if requested < head.commit_seq {
            head.commit_seq
        } else if requested > last {
            return Err(StreamError::TooNew { requested, last });
        } else {
            requested
        };
        let db = self.dbs.get_mut(&db_id).expect("stream found above");
        let locks = match table_id {
            None => &mut db.locks,
            Some(table_id) => &mut db.tables.get_mut(&table_id).expect("found above").locks,
        };
        let held = locks.entry(job.to_owned()).or_insert(target);
        if target > *held {
            *held = target;
        }
        Ok(*held)
    }

    /// Whether the lazy GC is due at `now_ms`.
    pub fn gc_due(&self, now_ms: i64) -> bool {
        now_ms - self.last_gc_ms >= BINLOG_GC_INTERVAL_MS
    }

    /// One GC pass over every database (sheet §3). `configs` gives each database's current
    /// binlog configs (`None`: the database no longer exists, its binlogs are dropped).
    pub fn gc(
        &mut self,
        now_ms: i64,
        recycle_immediately: bool,
        configs: impl Fn(i64) -> Option<DbGcConfig>,
    ) {
        self.last_gc_ms = now_ms;
        self.dbs.retain(|db_id, _| configs(*db_id).is_some());
        for (db_id, db) in self.dbs.iter_mut() {
            let config = configs(*db_id).expect("kept above");
            if config.db_config.enable {
                db.gc_db_enabled(&config.db_config, now_ms, recycle_immediately);
            } else {
                db.gc_by_tables(&config.tables, now_ms, recycle_immediately);
            }
            let head = db.head.commit_seq;
            db.dropped.forget_up_to(head);
        }
    }
}

/// A stream entry as GC sees it.
#[derive(Debug, Clone, Copy)]
struct GcEntry {
    commit_seq: i64,
    timestamp: i64,
    size: i64,
}

/// How many leading entries of a stream GC removes (sheet §3 steps 1-4). The removed
/// part is always a prefix: the walk stops at the first entry no criterion applies to.
fn gc_prefix_len(
    entries: &[GcEntry],
    config: &BinlogConfig,
    min_lock: Option<i64>,
    now_ms: i64,
    recycle_immediately: bool,
) -> usize {
    let expired_ms = now_ms.saturating_sub(config.ttl_seconds.saturating_mul(MS_PER_SECOND));
    let mut expired_seq = entries
        .iter()
        .filter(|e| e.timestamp > 0 && e.timestamp <= expired_ms)
        .map(|e| e.commit_seq)
        .max();
    match min_lock {
        Some(locked) if expired_seq.is_none_or(|seq| seq + 1 < locked) => {
            expired_seq = Some(locked - 1);
        }
        None if recycle_immediately => expired_seq = entries.last().map(|e| e.commit_seq),
        _ => {}
    }
    let mut total_bytes: i64 = entries.iter().map(|e| e.size).sum();
    // The DUMMY head counts towards max_history_nums.
    let mut count = entries.len() as i64 + 1;
    let mut removed = 0;
    for entry in entries {
        let expired = expired_seq.is_some_and(|seq| entry.commit_seq <= seq);
        if !(expired || total_bytes > config.max_bytes || count > config.max_history_nums) {
            break;
        }
        total_bytes -= entry.size;
        count -= 1;
        removed += 1;
    }
    removed
}

impl DbStream {
    fn entries(&self, seqs: impl Iterator<Item = i64>) -> Vec<GcEntry> {
        seqs.map(|commit_seq| {
            let stored = &self.binlogs[&commit_seq];
            GcEntry {
                commit_seq,
                timestamp: stored.timestamp,
                size: stored.size,
            }
        })
        .collect()
    }

    fn min_lock(&self) -> Option<i64> {
        self.locks
            .values()
            .chain(self.tables.values().flat_map(|t| t.locks.values()))
            .min()
            .copied()
    }

    /// Database binlog enabled: the db config governs; table streams follow the db head.
    fn gc_db_enabled(&mut self, config: &BinlogConfig, now_ms: i64, recycle_immediately: bool) {
        let entries = self.entries(self.binlogs.keys().copied());
        let removed = gc_prefix_len(
            &entries,
            config,
            self.min_lock(),
            now_ms,
            recycle_immediately,
        );
        let Some(last) = removed.checked_sub(1).map(|i| entries[i]) else {
            return;
        };
        self.head = StreamHead {
            commit_seq: last.commit_seq,
            timestamp: last.timestamp,
        };
        for table in self.tables.values_mut() {
            let gone: Vec<i64> = table.seqs.range(..=last.commit_seq).copied().collect();
            if let Some(newest_gone) = gone.last() {
                table.head = StreamHead {
                    commit_seq: *newest_gone,
                    timestamp: self.binlogs[newest_gone].timestamp,
                };
            }
            for seq in gone {
                table.seqs.remove(&seq);
            }
            table.locks.retain(|_, seq| *seq > table.head.commit_seq);
        }
        self.binlogs.retain(|seq, _| *seq > last.commit_seq);
        self.locks.retain(|_, seq| *seq > last.commit_seq);
    }

    /// Database binlog disabled: each table stream GCs with its own config (a disabled
    /// table is purged), then db-stream entries up to the newest GC'd seq go unless a table
    /// stream still holds them.
    fn gc_by_tables(
        &mut self,
        configs: &BTreeMap<i64, BinlogConfig>,
        now_ms: i64,
        recycle_immediately: bool,
    ) {
        let mut newest_gone: Option<i64> = None;
        let table_ids: Vec<i64> = self.tables.keys().copied().collect();
        for table_id in table_ids {
            let config = configs.get(&table_id).copied().unwrap_or_default();
            let table = &self.tables[&table_id];
            let entries = self.entries(table.seqs.iter().copied());
            let removed = if config.enable {
                let min_lock = table.locks.values().min().copied();
                gc_prefix_len(&entries, &config, min_lock, now_ms, recycle_immediately)
            } else {
                entries.len()
            };
            let Some(last) = removed.checked_sub(1).map(|i| entries[i]) else {
                continue;
            };
            for entry in &entries[..removed] {
                if let Some(stored) = self.binlogs.get_mut(&entry.commit_seq) {
                    stored.table_refs = stored.table_refs.saturating_sub(1);
                }
            }
            let table = self.tables.get_mut(&table_id).expect("listed above");
            table.seqs.retain(|seq| *seq > last.commit_seq);
            table.head = StreamHead {
                commit_seq: last.commit_seq,
                timestamp: last.timestamp,
            };
            table.locks.retain(|_, seq| *seq > last.commit_seq);
            newest_gone = newest_gone.max(Some(last.commit_seq));
        }
        let Some(cut) = newest_gone else { return };
        let gone: Vec<i64> = self
            .binlogs
            .range(..=cut)
            .filter(|(_, stored)| stored.table_refs == 0)
            .map(|(seq, _)| *seq)
            .collect();
        if let Some(last) = gone.last() {
            self.head = StreamHead {
                commit_seq: *last,
                timestamp: self.binlogs[last].timestamp,
            };
        }
        for seq in gone {
            self.binlogs.remove(&seq);
        }
        self.locks.retain(|_, seq| *seq > self.head.commit_seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(commit_seq: i64, timestamp: i64) -> GcEntry {
        GcEntry {
            commit_seq,
            timestamp,
            size: 100,
        }
    }

    #[test]
    fn ttl_removes_the_expired_prefix_only() {
        let config = BinlogConfig {
            enable: true,
            ttl_seconds: 10,
            ..BinlogConfig::default()
        };
        let now = 100_000;
        // Expired at or before now - 10 s = 90 000.
        let entries = [entry(5, 80_000), entry(7, 89_000), entry(9, 95_000)];
        assert_eq!(gc_prefix_len(&entries, &config, None, now, false), 2);
        // An unset timestamp never expires by TTL; it still goes if a later one expires.
        let entries = [entry(5, -1), entry(7, 95_000), entry(9, 89_000)];
        assert_eq!(gc_prefix_len(&entries, &config, None, now, false), 3);
        let entries = [entry(5, -1), entry(7, 95_000)];
        assert_eq!(gc_prefix_len(&entries, &config, None, now, false), 0);
    }

    #[test]
    fn history_and_bytes_limits_count_the_dummy_head() {
        let config = BinlogConfig {
            enable: true,
            max_history_nums: 2,
            ..BinlogConfig::default()
        };
        let now = 1_000;
        let entries = [entry(1, now), entry(2, now), entry(3, now)];
        // 3 binlogs + DUMMY = 4 > 2: two go, leaving one binlog + DUMMY.
        assert_eq!(gc_prefix_len(&entries, &config, None, now, false), 2);
        let config = BinlogConfig {
            enable: true,
            max_bytes: 150,
            ..BinlogConfig::default()
        };
        assert_eq!(gc_prefix_len(&entries, &config, None, now, false), 2);
    }

    #[test]
    fn locks_bound_immediate_recycling() {
        let config = BinlogConfig {
            enable: true,
            ..BinlogConfig::default()
        };
        let now = 1_000;
        let entries = [entry(1, now), entry(2, now), entry(3, now)];
        assert_eq!(gc_prefix_len(&entries, &config, None, now, false), 0);
        assert_eq!(gc_prefix_len(&entries, &config, None, now, true), 3);
        assert_eq!(gc_prefix_len(&entries, &config, Some(2), now, true), 1);
        assert_eq!(gc_prefix_len(&entries, &config, Some(2), now, false), 1);
    }
}
