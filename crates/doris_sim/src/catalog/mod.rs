//! The FE catalog: the cluster state behind one simulated FE — users, FE configs,
//! databases, tables, partitions, materialized indexes, tablets, replicas and versioned
//! row data.
//!
//! All state sits behind one `RwLock` ([`Catalog::read`] / [`Catalog::write`]). Callers
//! keep guards for one logical operation only and never across an `.await`.

pub mod config;
pub mod data;
pub mod table;
pub mod types;
pub mod user;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::backup::BackupRestoreJobs;
use crate::binlog_journal::BinlogJournal;
use crate::call_counts::CallCounters;
use crate::fault::FaultInjector;
use crate::topology::ClusterTopology;
use crate::txn::TxnTable;
use ccr_wire::secret::Secret;

use self::config::FeConfig;
use self::table::{
    Distribution, IndexState, MaterializedIndex, Partition, PartitionItem, Properties, Replica,
    Table, Tablet,
};
use self::user::{Privilege, User};

/// Doris hands out catalog ids from one counter; fresh clusters start just above 10000.
const FIRST_CATALOG_ID: i64 = 10000;
/// `information_schema` always has id 0 in Doris.
pub const INFORMATION_SCHEMA_DB_ID: i64 = 0;
/// Doris' `mysql` system database id.
pub const MYSQL_DB_ID: i64 = 1;
pub const INFORMATION_SCHEMA: &str = "information_schema";
pub const MYSQL_DB: &str = "mysql";
pub const INTERNAL_SCHEMA: &str = "__internal_schema";
/// Doris' default replication number; the simulator caps it at the number of BEs.
const DEFAULT_REPLICATION_NUM: u32 = 3;

/// Errors of catalog operations; each maps to the MySQL error Doris returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("Unknown database '{0}'")]
    UnknownDatabase(String),
    #[error("Can't create database '{0}'; database exists")]
    DatabaseExists(String),
    #[error("Can't drop database '{0}'; database doesn't exist")]
    DropUnknownDatabase(String),
    #[error("Table '{0}' already exists")]
    TableExists(String),
    #[error("Unknown table '{table}' in {db}")]
    UnknownTable { db: String, table: String },
    #[error("Unknown column '{column}' in '{table}'")]
    UnknownColumn { column: String, table: String },
    #[error("Duplicate column name '{0}'")]
    DuplicateColumn(String),
    #[error("'{db}.{name}' is not {expected}. Use '{hint} {db}.{name}'.")]
    WrongObjectType {
        db: String,
        name: String,
        expected: &'static str,
        hint: &'static str,
    },
    #[error("No database selected")]
    NoDatabaseSelected,
    /// Any other FE error (MySQL 1105).
    #[error("{0}")]
    Other(String),
}

impl CatalogError {
    /// MySQL error number and SQLSTATE Doris uses for this error.
    pub fn mysql_code(&self) -> (u16, &'static str) {
        match self {
            CatalogError::UnknownDatabase(_) => (1049, "42000"),
            CatalogError::DatabaseExists(_) => (1007, "HY000"),
            CatalogError::DropUnknownDatabase(_) => (1008, "HY000"),
            CatalogError::TableExists(_) => (1050, "42S01"),
            CatalogError::UnknownTable { .. } => (1109, "42S02"),
            CatalogError::UnknownColumn { .. } => (1054, "42S22"),
            CatalogError::DuplicateColumn(_) => (1060, "42S21"),
            CatalogError::WrongObjectType { .. } => (1347, "HY000"),
            CatalogError::NoDatabaseSelected => (1046, "3D000"),
            CatalogError::Other(_) => (1105, "HY000"),
        }
    }
}

pub type CatalogResult<T> = Result<T, CatalogError>;

#[derive(Debug, Clone)]
pub struct Database {
    pub id: i64,
    pub name: String,
    /// Properties set by CREATE/ALTER DATABASE (`binlog.enable`, ...), in insertion order.
    pub properties: Properties,
    pub tables: BTreeMap<i64, Table>,
    pub create_time_ms: i64,
    pub update_time_ms: i64,
    /// `information_schema`, `mysql`, `__internal_schema`: listed but not droppable.
    pub is_system: bool,
    /// Rollup / synchronous-MV build jobs, oldest first (SHOW ALTER TABLE ROLLUP).
    pub rollup_jobs: Vec<table::RollupJob>,
}

impl Database {
    fn new(id: i64, name: &str, is_system: bool) -> Self {
        let now = now_ms();
        Self {
            id,
            name: name.to_owned(),
            properties: Properties::default(),
            tables: BTreeMap::new(),
            create_time_ms: now,
            update_time_ms: now,
            is_system,
            rollup_jobs: Vec::new(),
        }
    }

    /// Table or view by exact (case-sensitive) name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.values().find(|t| t.name == name)
    }

    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.values_mut().find(|t| t.name == name)
    }

    pub fn table_or_err(&self, name: &str) -> CatalogResult<&Table> {
        self.table(name).ok_or_else(|| CatalogError::UnknownTable {
            db: self.name.clone(),
            table: name.to_owned(),
        })
    }

    pub fn table_mut_or_err(&mut self, name: &str) -> CatalogResult<&mut Table> {
        let db = self.name.clone();
        self.table_mut(name).ok_or(CatalogError::UnknownTable {
            db,
            table: name.to_owned(),
        })
    }

    pub fn binlog_enabled(&self) -> bool {
        self.properties.get("binlog.enable") == Some("true")
    }
}

/// Where a tablet lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabletLocation {
    pub db_id: i64,
    pub table_id: i64,
    pub partition_id: i64,
    pub index_id: i64,
    pub tablet_id: i64,
}

/// The whole mutable FE state.
#[derive(Debug)]
pub struct CatalogState {
    next_id: i64,
    /// Round-robin cursor so replicas of successive tablets spread over the BEs.
    next_backend_slot: usize,
    backend_ids: Vec<i64>,
    pub databases: BTreeMap<i64, Database>,
    /// Accounts by user name (the simulator keeps one host per name).
    pub users: BTreeMap<String, User>,
    pub config: FeConfig,
    /// Edit-log ids and the binlog streams (`sim::binlog_journal`).
    pub binlog: BinlogJournal,
    /// Load transactions (see [`crate::txn`]).
    pub txns: TxnTable,
    /// BACKUP / RESTORE jobs and their snapshots (see [`crate::backup`]).
    pub backup_restore: BackupRestoreJobs,
    /// Tablet id → location, a cache for [`CatalogState::locate_tablet`]: every commit info
    /// and ingest names a tablet, and walking the whole catalog for each made commits
    /// O(tablets x commit infos). Entries are checked against the catalog on use and the
    /// map is rebuilt on a miss, so code that adds, moves or drops tablets need not know it.
    tablet_locations: Mutex<HashMap<i64, TabletLocation>>,
}

impl CatalogState {
    /// The next catalog id (databases, tables, indexes, partitions, tablets, replicas,
    /// rowsets, jobs all share it, as in Doris).
    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn db(&self, name: &str) -> Option<&Database> {
        self.databases.values().find(|d| d.name == name)
    }

    pub fn db_mut(&mut self, name: &str) -> Option<&mut Database> {
        self.databases.values_mut().find(|d| d.name == name)
    }

    pub fn db_or_err(&self, name: &str) -> CatalogResult<&Database> {
        self.db(name)
            .ok_or_else(|| CatalogError::UnknownDatabase(name.to_owned()))
    }

    pub fn db_mut_or_err(&mut self, name: &str) -> CatalogResult<&mut Database> {
        self.db_mut(name)
            .ok_or_else(|| CatalogError::UnknownDatabase(name.to_owned()))
    }

    pub fn create_database(&mut self, name: &str, properties: Properties) -> CatalogResult<i64> {
        if self.db(name).is_some() {
            return Err(CatalogError::DatabaseExists(name.to_owned()));
        }
        let id = self.next_id();
        let mut db = Database::new(id, name, false);
        db.properties = properties;
        self.databases.insert(id, db);
        Ok(id)
    }

    pub fn drop_database(&mut self, name: &str) -> CatalogResult<Database> {
        let db = self
            .db(name)
            .ok_or_else(|| CatalogError::DropUnknownDatabase(name.to_owned()))?;
        if db.is_system {
            return Err(CatalogError::Other(format!(
                "Can not drop system database: {name}"
            )));
        }
        let id = db.id;
        Ok(self.databases.remove(&id).expect("database present"))
    }

    /// A table anywhere in the catalog by id.
    pub fn table_by_id(&self, table_id: i64) -> Option<(&Database, &Table)> {
        self.databases
            .values()
            .find_map(|db| db.tables.get(&table_id).map(|t| (db, t)))
    }

    pub fn table_by_id_mut(&mut self, table_id: i64) -> Option<&mut Table> {
        self.databases
            .values_mut()
            .find_map(|db| db.tables.get_mut(&table_id))
    }

    /// Finds a tablet by id (for BE and Thrift services).
    pub fn locate_tablet(&self, tablet_id: i64) -> Option<TabletLocation> {
        let mut cache = self.tablet_locations.lock();
        if let Some(&location) = cache.get(&tablet_id) {
            if self.tablet(location).is_some() {
                return Some(location);
            }
        }
        *cache = self.scan_tablet_locations();
        cache.get(&tablet_id).copied()
    }

    /// Every tablet's location, by walking the whole catalog.
    fn scan_tablet_locations(&self) -> HashMap<i64, TabletLocation> {
        let mut locations = HashMap::new();
        for db in self.databases.values() {
            for table in db.tables.values() {
                let Some(olap) = table.olap() else { continue };
                for partition in olap.partitions.values() {
                    for index in partition.indexes.values() {
                        for tablet in &index.tablets {
                            let location = TabletLocation {
                                db_id: db.id,
                                table_id: table.id,
                                partition_id: partition.id,
                                index_id: index.id,
                                tablet_id: tablet.id,
                            };
                            locations.insert(tablet.id, location);
                        }
                    }
                }
            }
        }
        locations
    }

    /// The tablet at a location found by [`CatalogState::locate_tablet`].
    pub fn tablet(&self, location: TabletLocation) -> Option<&Tablet> {
        self.databases
            .get(&location.db_id)?
            .tables
            .get(&location.table_id)?
            .olap()?
            .partitions
            .get(&location.partition_id)?
            .indexes
            .get(&location.index_id)?
            .tablets
            .iter()
            .find(|t| t.id == location.tablet_id)
    }

    /// Number of replicas a new partition gets from the table properties.
    pub fn replication_num(&self, properties: &Properties) -> CatalogResult<u32> {
        let requested = if let Some(n) = properties.get("replication_num") {
            Some(
                n.trim()
                    .parse::<u32>()
                    .map_err(|_| CatalogError::Other(format!("Invalid replication_num: {n}")))?,
            )
        } else if let Some(alloc) = properties.get("replication_allocation") {
            let n = alloc
                .split(',')
                .filter_map(|part| part.split(':').nth(1))
                .map(|n| n.trim().parse::<u32>())
                .sum::<Result<u32, _>>()
                .map_err(|_| {
                    CatalogError::Other(format!("Invalid replication allocation: {alloc}"))
                })?;
            Some(n)
        } else {
            None
        };
        let available = self.backend_ids.len() as u32;
        match requested {
            Some(0) => Err(CatalogError::Other("Total replication num should between 1 and 32767".into())),
            Some(n) if n > available => Err(CatalogError::Other(format!(
                "Failed to find enough backend, please check the replication num,replication tag and storage medium and avail capacity of backends or maybe all be on decommission state. Create failed replications: {n}, available backends: {available}"
            ))),
            Some(n) => Ok(n),
            None => Ok(DEFAULT_REPLICATION_NUM.min(available).max(1)),
        }
    }

    /// Builds a new partition with its base index (and rollup indexes), one tablet per
    /// bucket and `replication_num` replicas per tablet spread round-robin over the BEs.
    /// Its visible version starts at 1 like in Doris.
    #[allow(clippy::too_many_arguments)]
    pub fn new_partition(
        &mut self,
        name: &str,
        item: PartitionItem,
        distribution: Distribution,
        bucket_num: u32,
        replication_num: u32,
        index_ids: &[i64],
        is_temp: bool,
    ) -> Partition {
        let id = self.next_id();
        let mut indexes = BTreeMap::new();
        for &index_id in index_ids {
            let mut tablets = Vec::with_capacity(bucket_num as usize);
            for _ in 0..bucket_num {
                let tablet_id = self.next_id();
                let mut replicas = Vec::with_capacity(replication_num as usize);
                let start = self.next_backend_slot;
                self.next_backend_slot = self.next_backend_slot.wrapping_add(1);
                for r in 0..replication_num as usize {
                    let backend_id = self.backend_ids[(start + r) % self.backend_ids.len()];
                    replicas.push(Replica {
                        id: self.next_id(),
                        backend_id,
                        version: 1,
                    });
                }
                tablets.push(Tablet {
                    id: tablet_id,
                    replicas,
                    rowsets: Vec::new(),
                });
            }
            indexes.insert(
                index_id,
                MaterializedIndex {
                    id: index_id,
                    state: IndexState::Normal,
                    tablets,
                },
            );
        }
        Partition {
            id,
            name: name.to_owned(),
            item,
            is_temp,
            visible_version: 1,
            visible_version_time_ms: now_ms(),
            distribution,
            bucket_num,
            replication_num,
            indexes,
        }
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.get(name)
    }
}

/// The catalog of one simulated FE.
pub struct Catalog {
    topology: ClusterTopology,
    started_at_ms: i64,
    /// The cluster token (Doris keeps one per cluster in its image and hands it to BEs by
    /// heartbeat): getMasterToken returns it and BE downloads check it.
    cluster_token: Secret,
    state: RwLock<CatalogState>,
    /// The cluster's control state, once attached: SHOW BACKENDS reports the disk usage
    /// set through the control API (`POST /api/_sim/disk_usage`).
    faults: std::sync::OnceLock<FaultInjector>,
    /// Calls the cluster's services answered (outside the state lock: counting must not
    /// contend with the work it counts).
    calls: CallCounters,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("topology", &self.topology)
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// A fresh cluster: system databases, `root` with `root_password` and all privileges,
    /// Doris 2.1 default FE configs.
    pub fn new(topology: ClusterTopology, root_password: &str) -> Arc<Catalog> {
        let mut state = CatalogState {
            next_id: FIRST_CATALOG_ID,
            next_backend_slot: 0,
            backend_ids: topology.backends.iter().map(|b| b.id).collect(),
            databases: BTreeMap::new(),
            users: BTreeMap::new(),
            config: FeConfig::default(),
            binlog: BinlogJournal::default(),
            txns: TxnTable::default(),
            backup_restore: BackupRestoreJobs::default(),
            tablet_locations: Mutex::new(HashMap::new()),
        };
        if state.backend_ids.is_empty() {
            // A cluster without BEs cannot hold tablets; keep placement total anyway.
            tracing::warn!("simulated cluster has no backends; tablets get no real replicas");
            state.backend_ids.push(-1);
        }
        state.databases.insert(
            INFORMATION_SCHEMA_DB_ID,
            Database::new(INFORMATION_SCHEMA_DB_ID, INFORMATION_SCHEMA, true),
        );
        state
            .databases
            .insert(MYSQL_DB_ID, Database::new(MYSQL_DB_ID, MYSQL_DB, true));
        let internal_id = state.next_id();
        state.databases.insert(
            internal_id,
            Database::new(internal_id, INTERNAL_SCHEMA, true),
        );
        let mut root = User::new("root", "%", Secret::new(root_password));
        root.global
            .extend([Privilege::Node, Privilege::Admin, Privilege::Grant]);
        state.users.insert(root.name.clone(), root);
        Arc::new(Catalog {
            topology,
            started_at_ms: now_ms(),
            cluster_token: Secret::new(random_token()),
            state: RwLock::new(state),
            faults: std::sync::OnceLock::new(),
            calls: CallCounters::default(),
        })
    }

    /// The call counters of this cluster's FE and BE services.
    pub fn calls(&self) -> &CallCounters {
        &self.calls
    }

    /// Lets SHOW BACKENDS report the disk usage set in `faults` (the cluster's control API).
    pub fn attach_faults(&self, faults: FaultInjector) {
        let _ = self.faults.set(faults);
    }

    /// The disk usage the control API set for BE `backend_id`, if any.
    pub fn reported_disk_used_pct(&self, backend_id: i64) -> Option<f64> {
        self.faults.get()?.disk_used_pct(backend_id)
    }

    pub fn topology(&self) -> &ClusterTopology {
        &self.topology
    }

    /// The cluster token (a random UUID per simulated cluster, like Doris').
    pub fn cluster_token(&self) -> &Secret {
        &self.cluster_token
    }

    /// When this simulated FE started (ms since the epoch).
    pub fn started_at_ms(&self) -> i64 {
        self.started_at_ms
    }

    /// Shared access to the state; hold it briefly and never across `.await`.
    pub fn read(&self) -> RwLockReadGuard<'_, CatalogState> {
        self.state.read()
    }

    /// Exclusive access to the state; hold it briefly and never across `.await`.
    pub fn write(&self) -> RwLockWriteGuard<'_, CatalogState> {
        self.state.write()
    }

    /// Sets an FE config for tests/setup (no mutability check).
    pub fn set_config(&self, name: &str, value: &str) -> CatalogResult<()> {
        self.state
            .write()
            .config
            .set(name, value, false)
            .map_err(CatalogError::Other)
    }

    pub fn config_value(&self, name: &str) -> Option<String> {
        self.state.read().config.get(name).map(str::to_owned)
    }
}

/// A random UUID in its text form, the shape of Doris' cluster token.
fn random_token() -> String {
    let bits: u128 = rand::random();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `yyyy-MM-dd HH:mm:ss` (UTC) or the literal `NULL` for unset times, like Doris'
/// TimeUtils.longToTimeString.
pub fn format_time_ms(ms: i64) -> String {
    if ms <= 0 {
        return "NULL".into();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "NULL".into())
}
