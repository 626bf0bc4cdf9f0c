//! SHOW statements, SHOW PROC directories and the FE config admin statements.

use super::ast::{BinaryOp, Expr, OrderItem, ShowFilter, Statement, UserIdentity};
use super::engine::{ok, FeSession};
use super::query::{like_match, Relation};
use super::render;
use super::vars::{DORIS_VERSION, SESSION_VARIABLES};
use crate::catalog::table::{OlapTable, Partition, Table, TableKind};
use crate::catalog::user::{Privilege, User};
use crate::catalog::{format_time_ms, CatalogError, CatalogState, Database, INFORMATION_SCHEMA};
use crate::session::{ColumnType, ResultColumn, SqlError, StatementResult};
use crate::txn::{TxnFilter, SHOW_TRANSACTION_COLUMNS};

/// Doris 2.1 SHOW FRONTENDS / frontends() columns.
const FRONTEND_COLUMNS: &[&str] = &[
    "Name",
    "Host",
    "EditLogPort",
    "HttpPort",
    "QueryPort",
    "RpcPort",
    "ArrowFlightSqlPort",
    "Role",
    "IsMaster",
    "ClusterId",
    "Join",
    "Alive",
    "ReplayedJournalId",
    "LastStartTime",
    "LastHeartbeat",
    "IsHelper",
    "ErrMsg",
    "Version",
    "CurrentConnected",
];

/// Doris 2.1 SHOW BACKENDS columns.
const BACKEND_COLUMNS: &[&str] = &[
    "BackendId",
    "Host",
    "HeartbeatPort",
    "BePort",
    "HttpPort",
    "BrpcPort",
    "ArrowFlightSqlPort",
    "LastStartTime",
    "LastHeartbeat",
    "Alive",
    "SystemDecommissioned",
    "TabletNum",
    "DataUsedCapacity",
    "TrashUsedCapacity",
    "AvailCapacity",
    "TotalCapacity",
    "UsedPct",
    "MaxDiskUsedPct",
    "RemoteUsedCapacity",
    "Tag",
    "ErrMsg",
    "Version",
    "Status",
    "HeartbeatFailureCounter",
    "NodeRole",
];

const DBS_COLUMNS: &[&str] = &[
    "DbId",
    "DbName",
    "TableNum",
    "Size",
    "Quota",
    "LastConsistencyCheckTime",
    "ReplicaCount",
    "ReplicaQuota",
    "RunningTransactionNum",
    "TransactionQuota",
    "LastUpdateTime",
];

const TABLES_COLUMNS: &[&str] = &[
    "TableId",
    "TableName",
    "IndexNum",
    "PartitionColumnName",
    "PartitionNum",
    "State",
    "Type",
    "LastConsistencyCheckTime",
    "ReplicaCount",
    "VisibleVersion",
    "VisibleVersionTime",
    "RunningTransactionNum",
    "LastUpdateTime",
];

/// Doris 2.1 partitions proc / SHOW PARTITIONS columns.
const PARTITION_COLUMNS: &[&str] = &[
    "PartitionId",
    "PartitionName",
    "VisibleVersion",
    "VisibleVersionTime",
    "State",
    "PartitionKey",
    "Range",
    "DistributionKey",
    "Buckets",
    "ReplicationNum",
    "StorageMedium",
    "CooldownTime",
    "RemoteStoragePolicy",
    "LastConsistencyCheckTime",
    "DataSize",
    "IsInMemory",
    "ReplicaAllocation",
    "IsMutable",
    "SyncWithBaseTables",
    "UnsyncTables",
];

const INDEX_COLUMNS: &[&str] = &["IndexId", "IndexName", "State", "LastConsistencyCheckTime"];

const TABLET_COLUMNS: &[&str] = &[
    "TabletId",
    "ReplicaId",
    "BackendId",
    "SchemaHash",
    "Version",
    "LstSuccessVersion",
    "LstFailedVersion",
    "LstFailedTime",
    "LocalDataSize",
    "RemoteDataSize",
    "RowCount",
    "State",
    "LstConsistencyCheckTime",
    "CheckVersion",
    "VersionCount",
    "QueryHits",
    "PathHash",
    "MetaUrl",
    "CompactionStatus",
    "CooldownReplicaId",
    "CooldownMetaId",
];

const CONFIG_COLUMNS: &[&str] = &["Key", "Value", "Type", "IsMutable", "MasterOnly", "Comment"];

/// Quotas Doris shows for a database without explicit quotas.
const DEFAULT_DATA_QUOTA: &str = "1024.000 TB";
const DEFAULT_REPLICA_QUOTA: &str = "1073741824";
/// Disk capacity each simulated BE reports (1 TiB).
const BACKEND_TOTAL_CAPACITY_BYTES: u64 = 1 << 40;
/// An unset cooldown time as Doris prints it.
const NO_COOLDOWN: &str = "9999-12-31 23:59:59";
/// Approximate bytes per stored row, for the size columns.
const BYTES_PER_ROW: u64 = 64;

/// Doris 2.1 / 3.0 SHOW GRANTS columns (the auth proc's title names).
const GRANTS_COLUMNS: &[&str] = &[
    "UserIdentity",
    "Comment",
    "Password",
    "Roles",
    "GlobalPrivs",
    "CatalogPrivs",
    "DatabasePrivs",
    "TablePrivs",
    "ColPrivs",
    "ResourcePrivs",
    "WorkloadGroupPrivs",
];

/// What every account may read, as Doris lists it under DatabasePrivs.
const IMPLICIT_DATABASE_PRIVS: &str =
    "internal.information_schema: Select_priv; internal.mysql: Select_priv";
/// The workload group every account may use.
const IMPLICIT_WORKLOAD_GROUP_PRIVS: &str = "normal: Usage_priv";

/// A privilege set as Doris prints it: `Select_priv,Load_priv` (Doris's privilege order).
fn privilege_list(privileges: &std::collections::BTreeSet<Privilege>) -> String {
    privileges
        .iter()
        .map(|p| {
            let name = p.name().to_ascii_lowercase();
            let mut chars = name.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            format!(
                "{}{}_priv",
                first.into_iter().collect::<String>(),
                chars.as_str()
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One SHOW GRANTS row of `user`; empty lists are NULL.
fn grants_row(user: &User) -> Vec<Option<String>> {
    let non_empty = |text: String| (!text.is_empty()).then_some(text);
    let mut databases = vec![IMPLICIT_DATABASE_PRIVS.to_owned()];
    databases.extend(
        user.databases
            .iter()
            .filter(|(_, privs)| !privs.is_empty())
            .map(|(db, privs)| format!("internal.{db}: {}", privilege_list(privs))),
    );
    let tables: Vec<String> = user
        .tables
        .iter()
        .filter(|(_, privs)| !privs.is_empty())
        .map(|((db, table), privs)| format!("internal.{db}.{table}: {}", privilege_list(privs)))
        .collect();
    let builtin_root = user.name == "root";
    vec![
        Some(user.identity()),
        Some(if builtin_root { "ROOT" } else { "" }.to_owned()),
        Some(
            if user.password.is_empty() {
                "No"
            } else {
                "Yes"
            }
            .to_owned(),
        ),
        Some(if builtin_root { "operator" } else { "" }.to_owned()),
        non_empty(privilege_list(&user.global)),
        None,
        Some(databases.join("; ")),
        non_empty(tables.join("; ")),
        None,
        None,
        Some(IMPLICIT_WORKLOAD_GROUP_PRIVS.to_owned()),
    ]
}

fn varchar_result(names: &[&str], rows: Vec<Vec<String>>) -> StatementResult {
    StatementResult::Rows {
        columns: names.iter().map(|n| ResultColumn::varchar(*n)).collect(),
        rows: rows
            .into_iter()
            .map(|r| r.into_iter().map(Some).collect())
            .collect(),
    }
}

/// Human-readable bytes like Doris' DebugUtil (`0.000`, `2.738 KB`).
pub(crate) fn format_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 5] = [
        ("PB", 1 << 50),
        ("TB", 1 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            return format!("{:.3} {unit}", bytes as f64 / size as f64);
        }
    }
    format!("{:.3}", bytes as f64)
}

fn bool_text(b: bool) -> String {
    if b { "true" } else { "false" }.to_owned()
}

/// Deterministic pseudo-random number from a text (FE names, cluster id, path hashes).
fn stable_number(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

impl FeSession {
    /// `SHOW GRANTS` of the current user needs no privilege; another user's or everyone's
    /// (`SHOW ALL GRANTS`) needs GRANT.
    fn show_grants(
        &self,
        all: bool,
        user: Option<UserIdentity>,
    ) -> Result<StatementResult, SqlError> {
        let me = self.current_user()?;
        let others = all || user.as_ref().is_some_and(|u| u.name != me.name);
        if others {
            self.require_global("GRANT", |u| {
                u.is_admin() || u.global.contains(&Privilege::Grant)
            })?;
        }
        let state = self.catalog.read();
        let users: Vec<&User> = match (&user, all) {
            (_, true) => state.users.values().collect(),
            (Some(identity), false) => {
                let found = state.users.get(&identity.name).ok_or_else(|| {
                    SqlError::from(CatalogError::Other(format!(
                        "user '{}'@'{}' does not exist",
                        identity.name, identity.host
                    )))
                })?;
                vec![found]
            }
            (None, false) => state.users.get(&me.name).into_iter().collect(),
        };
        Ok(StatementResult::Rows {
            columns: GRANTS_COLUMNS
                .iter()
                .map(|n| ResultColumn::varchar(*n))
                .collect(),
            rows: users.into_iter().map(grants_row).collect(),
        })
    }

    pub(crate) fn frontend_rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let fe = &self.catalog.topology().fe;
        let seed = stable_number(&format!("{}:{}", fe.host, fe.edit_log_port));
        let name = format!(
            "fe_{:08x}_{:04x}_{:04x}_{:04x}_{:012x}",
            seed >> 32,
            (seed >> 16) & 0xffff,
            seed & 0xffff,
            (seed >> 48) & 0xffff,
            seed & 0xffff_ffff_ffff
        );
        let journal_id = self.catalog.read().databases.len() as u64 + 1;
        let started = format_time_ms(self.catalog.started_at_ms());
        let row = vec![
            name,
            fe.host.clone(),
            fe.edit_log_port.to_string(),
            fe.http_port.to_string(),
            fe.query_port.to_string(),
            fe.rpc_port.to_string(),
            "-1".into(),
            "FOLLOWER".into(),
            "true".into(),
            ((seed % i32::MAX as u64) as i64).to_string(),
            "true".into(),
            "true".into(),
            journal_id.to_string(),
            started,
            format_time_ms(crate::catalog::now_ms()),
            "true".into(),
            String::new(),
            DORIS_VERSION.into(),
            "Yes".into(),
        ];
        (FRONTEND_COLUMNS.to_vec(), vec![row])
    }

    pub(crate) fn backend_rows(&self) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let topology = self.catalog.topology();
        let state = self.catalog.read();
        let started = format_time_ms(self.catalog.started_at_ms());
        let now = format_time_ms(crate::catalog::now_ms());
        let mut backends: Vec<_> = topology.backends.iter().collect();
        backends.sort_by(|a, b| a.host.cmp(&b.host).then(a.id.cmp(&b.id)));
        let rows = backends
            .into_iter()
            .map(|be| {
                let (tablets, rows) = backend_usage(&state, be.id);
                let used = rows * BYTES_PER_ROW;
                let pct = self
                    .catalog
                    .reported_disk_used_pct(be.id)
                    .unwrap_or(used as f64 * 100.0 / BACKEND_TOTAL_CAPACITY_BYTES as f64);
                vec![
                    be.id.to_string(),
                    be.host.clone(),
                    be.heartbeat_port.to_string(),
                    be.be_port.to_string(),
                    be.http_port.to_string(),
                    be.brpc_port.to_string(),
                    "-1".into(),
                    started.clone(),
                    now.clone(),
                    "true".into(),
                    "false".into(),
                    tablets.to_string(),
                    format_bytes(used),
                    format_bytes(0),
                    format_bytes(BACKEND_TOTAL_CAPACITY_BYTES - used),
                    format_bytes(BACKEND_TOTAL_CAPACITY_BYTES),
                    format!("{pct:.2} %"),
                    format!("{pct:.2} %"),
                    format_bytes(0),
                    "{\"location\" : \"default\"}".into(),
                    String::new(),
                    DORIS_VERSION.into(),
                    format!(
                        "{{\"lastSuccessReportTabletsTime\":\"{now}\",\"lastStreamLoadTime\":-1,\"isQueryDisabled\":false,\"isLoadDisabled\":false}}"
                    ),
                    "0".into(),
                    "mix".into(),
                ]
            })
            .collect();
        (BACKEND_COLUMNS.to_vec(), rows)
    }

    pub(crate) fn show_variables(&self, filter: &ShowFilter) -> Result<StatementResult, SqlError> {
        let rows = SESSION_VARIABLES
            .iter()
            .map(|spec| {
                let value = self.variable(spec.name).unwrap_or_default();
                let changed = if value != spec.default { "1" } else { "0" };
                vec![
                    spec.name.to_owned(),
                    value,
                    spec.default.to_owned(),
                    changed.to_owned(),
                ]
            })
            .collect();
        self.filtered(
            &["Variable_name", "Value", "Default_Value", "Changed"],
            rows,
            filter,
            0,
            true,
        )
    }

    /// Applies `LIKE` (on column `like_column`) or `WHERE` to SHOW rows.
    fn filtered(
        &self,
        names: &[&str],
        rows: Vec<Vec<String>>,
        filter: &ShowFilter,
        like_column: usize,
        like_ci: bool,
    ) -> Result<StatementResult, SqlError> {
        let mut rows = rows;
        if let Some(pattern) = &filter.like {
            rows.retain(|r| like_match(pattern, &r[like_column], like_ci));
        }
        if let Some(expr) = &filter.filter {
            let relation = Relation::from_text(names, ColumnType::Varchar, rows);
            let select = super::ast::Select {
                items: vec![super::ast::SelectItem::Wildcard],
                from: None,
                filter: Some(expr.clone()),
                group_by: Vec::new(),
                having: None,
                order_by: Vec::new(),
                limit: None,
                offset: None,
            };
            rows = self.filter_relation(&relation, &select)?;
        }
        Ok(varchar_result(names, rows))
    }

    pub(crate) fn execute_show(&mut self, stmt: Statement) -> Result<StatementResult, SqlError> {
        match stmt {
            Statement::ShowDatabases(filter) => {
                let user = self.current_user()?;
                let rows: Vec<Vec<String>> = self
                    .catalog
                    .read()
                    .databases
                    .values()
                    .filter(|d| d.name == INFORMATION_SCHEMA || user.can_see_db(&d.name))
                    .map(|d| vec![d.name.clone()])
                    .collect();
                let mut rows = rows;
                rows.sort();
                self.filtered(&["Database"], rows, &filter, 0, false)
            }
            Statement::ShowTables { full, db, filter } => {
                let db = self.resolve_db(db.as_deref())?;
                let user = self.current_user()?;
                let rows: Vec<Vec<String>> = {
                    let state = self.catalog.read();
                    let database = state.db_or_err(&db)?;
                    if !user.can_see_db(&db) && db != INFORMATION_SCHEMA {
                        return Err(super::engine::db_access_denied(&user, &db));
                    }
                    let mut names: Vec<(String, bool)> = database
                        .tables
                        .values()
                        .filter(|t| user.can_see_table(&db, &t.name))
                        .map(|t| (t.name.clone(), t.is_view()))
                        .collect();
                    names.sort();
                    names
                        .into_iter()
                        .map(|(n, view)| {
                            if full {
                                vec![
                                    n,
                                    if view {
                                        "VIEW".into()
                                    } else {
                                        "BASE TABLE".into()
                                    },
                                ]
                            } else {
                                vec![n]
                            }
                        })
                        .collect()
                };
                let title = format!("Tables_in_{db}");
                let names: Vec<&str> = if full {
                    vec![&title, "Table_type"]
                } else {
                    vec![&title]
                };
                self.filtered(&names, rows, &filter, 0, false)
            }
            Statement::ShowCreateDatabase(name) => {
                let user = self.current_user()?;
                let state = self.catalog.read();
                let db = state.db_or_err(&name)?;
                if !user.can_see_db(&name) {
                    return Err(super::engine::db_access_denied(&user, &name));
                }
                Ok(varchar_result(
                    &["Database", "Create Database"],
                    vec![vec![db.name.clone(), render::create_database(db)]],
                ))
            }
            Statement::ShowCreateTable {
                name,
                view_expected,
            } => {
                let db = self.resolve_db(name.db.as_deref())?;
                let user = self.current_user()?;
                let state = self.catalog.read();
                let database = state.db_or_err(&db)?;
                let table = database.table_or_err(&name.name)?;
                if !user.can_see_table(&db, &table.name) {
                    drop(state);
                    return self
                        .require_table(&db, &name.name, Privilege::Select)
                        .map(|_| ok(0));
                }
                match &table.kind {
                    TableKind::View(v) => Ok(varchar_result(
                        &[
                            "View",
                            "Create View",
                            "character_set_client",
                            "collation_connection",
                        ],
                        vec![vec![
                            table.name.clone(),
                            render::create_view(table, &v.query),
                            "utf8mb4".into(),
                            "utf8mb4_0900_bin".into(),
                        ]],
                    )),
                    TableKind::Olap(_) if view_expected => Err(CatalogError::WrongObjectType {
                        db: db.clone(),
                        name: table.name.clone(),
                        expected: "VIEW",
                        hint: "SHOW CREATE TABLE",
                    }
                    .into()),
                    TableKind::Olap(olap) => {
                        let print_binlog = state.config.get_bool("enable_feature_binlog");
                        Ok(varchar_result(
                            &["Table", "Create Table"],
                            vec![vec![
                                table.name.clone(),
                                render::create_table(table, olap, print_binlog),
                            ]],
                        ))
                    }
                }
            }
            Statement::ShowFrontends => {
                self.require_global("ADMIN/OPERATOR", |u| u.is_operator())?;
                let (names, rows) = self.frontend_rows();
                Ok(varchar_result(&names, rows))
            }
            Statement::ShowBackends => {
                self.require_global("ADMIN/OPERATOR", |u| u.is_operator())?;
                let (names, rows) = self.backend_rows();
                Ok(varchar_result(&names, rows))
            }
            Statement::ShowFrontendConfig(filter) => {
                self.require_global("ADMIN", |u| u.is_admin())?;
                let rows: Vec<Vec<String>> = self
                    .catalog
                    .read()
                    .config
                    .list()
                    .into_iter()
                    .map(|(name, e)| {
                        vec![
                            name,
                            e.value.clone(),
                            e.java_type.into(),
                            bool_text(e.mutable),
                            bool_text(e.master_only),
                            String::new(),
                        ]
                    })
                    .collect();
                self.filtered(CONFIG_COLUMNS, rows, &filter, 0, true)
            }
            Statement::SetFrontendConfig(props) => {
                self.require_global("ADMIN", |u| u.is_admin())?;
                let mut state = self.catalog.write();
                for (k, v) in props {
                    state.config.set(&k, &v, true).map_err(SqlError::analysis)?;
                }
                Ok(ok(0))
            }
            Statement::ShowProc(path) => {
                self.require_global("ADMIN", |u| u.is_admin())?;
                let (names, rows) = self.proc(&path)?;
                Ok(varchar_result(&names, rows))
            }
            Statement::ShowPartitions {
                table,
                temporary,
                filter,
                order_by,
                limit,
            } => {
                let db = self.resolve_db(table.db.as_deref())?;
                let rows = {
                    let state = self.catalog.read();
                    let database = state.db_or_err(&db)?;
                    let t = database.table_or_err(&table.name)?;
                    let olap = t.olap().ok_or_else(|| {
                        SqlError::analysis(format!("Table[{}] is not a OLAP table", t.name))
                    })?;
                    let parts = if temporary {
                        olap.temp_partitions()
                    } else {
                        olap.visible_partitions()
                    };
                    parts
                        .into_iter()
                        .map(|p| partition_row(olap, p))
                        .collect::<Vec<_>>()
                };
                self.require_table(&db, &table.name, Privilege::Select)?;
                let result = self.filtered(PARTITION_COLUMNS, rows, &filter, 1, true)?;
                Ok(self.order_and_limit(result, &order_by, limit))
            }
            Statement::ShowTableById(id) => {
                self.require_global("ADMIN", |u| u.is_admin())?;
                let state = self.catalog.read();
                let rows = match state.table_by_id(id) {
                    Some((db, t)) => vec![vec![db.name.clone(), t.name.clone(), db.id.to_string()]],
                    None => Vec::new(),
                };
                Ok(varchar_result(&["DbName", "TableName", "DbId"], rows))
            }
            Statement::ShowGrants { all, user } => self.show_grants(all, user),
            Statement::ShowTransaction { db, filter } => self.show_transaction(db, filter),
            Statement::ShowAlterTableRollup { db, filter } => {
                let db = self.resolve_db(db.as_deref())?;
                self.require_db(&db, Privilege::Select)?;
                let rows = {
                    let state = self.catalog.read();
                    super::rollup::show_rollup_rows(&state.db_or_err(&db)?.rollup_jobs)
                };
                self.filtered(super::rollup::SHOW_ROLLUP_COLUMNS, rows, &filter, 0, false)
            }
            Statement::ShowColumns {
                table,
                full,
                all_indexes,
            } => {
                let db = self.resolve_db(table.db.as_deref())?;
                self.require_table(&db, &table.name, Privilege::Select)?;
                let is_view = {
                    let state = self.catalog.read();
                    state.db_or_err(&db)?.table_or_err(&table.name)?.is_view()
                };
                if is_view {
                    return self.view_columns(&db, &table.name, full);
                }
                let state = self.catalog.read();
                let t = state.db_or_err(&db)?.table_or_err(&table.name)?;
                let olap = t.olap().ok_or_else(|| {
                    SqlError::analysis(format!("{} is not an OLAP table", table.name))
                })?;
                if all_indexes {
                    return Ok(varchar_result(
                        super::rollup::DESC_ALL_COLUMNS,
                        super::rollup::desc_all_rows(olap),
                    ));
                }
                let rows = olap
                    .columns
                    .iter()
                    .map(|c| {
                        let default = match &c.default {
                            Some(crate::catalog::table::DefaultValue::Literal(v)) => v.clone(),
                            Some(crate::catalog::table::DefaultValue::CurrentTimestamp) => {
                                "CURRENT_TIMESTAMP".into()
                            }
                            Some(crate::catalog::table::DefaultValue::BitmapEmpty) => {
                                "BITMAP_EMPTY".into()
                            }
                            _ => "NULL".into(),
                        };
                        let extra = c
                            .aggregation
                            .filter(|_| !c.is_key)
                            .map(|a| a.name().to_owned())
                            .unwrap_or_default();
                        let null = if c.nullable { "YES" } else { "NO" }.to_owned();
                        let key = if c.is_key { "YES" } else { "NO" }.to_owned();
                        if full {
                            vec![
                                c.name.clone(),
                                c.column_type.to_sql(),
                                String::new(),
                                null,
                                key,
                                default,
                                extra,
                                "select,insert,update,references".into(),
                                c.comment.clone(),
                            ]
                        } else {
                            vec![
                                c.name.clone(),
                                c.column_type.to_sql(),
                                null,
                                key,
                                default,
                                extra,
                            ]
                        }
                    })
                    .collect();
                Ok(varchar_result(show_columns_names(full), rows))
            }
            other => Err(SqlError::analysis(format!(
                "Unsupported statement: {other:?}"
            ))),
        }
    }

    fn order_and_limit(
        &self,
        result: StatementResult,
        order_by: &[OrderItem],
        limit: Option<u64>,
    ) -> StatementResult {
        let StatementResult::Rows { columns, mut rows } = result else {
            return result;
        };
        if !order_by.is_empty() {
            let keys: Vec<(usize, bool)> = order_by
                .iter()
                .filter_map(|o| match &o.expr {
                    super::ast::Expr::Column(parts) => {
                        let name = parts.last()?;
                        columns
                            .iter()
                            .position(|c| c.name.eq_ignore_ascii_case(name))
                            .map(|i| (i, o.descending))
                    }
                    _ => None,
                })
                .collect();
            rows.sort_by(|a, b| {
                for (i, desc) in &keys {
                    let (x, y) = (
                        a[*i].clone().unwrap_or_default(),
                        b[*i].clone().unwrap_or_default(),
                    );
                    let ord = match (x.parse::<f64>(), y.parse::<f64>()) {
                        (Ok(p), Ok(q)) => p.partial_cmp(&q).unwrap_or(std::cmp::Ordering::Equal),
                        _ => x.cmp(&y),
                    };
                    let ord = if *desc { ord.reverse() } else { ord };
                    if ord.is_ne() {
                        return ord;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        if let Some(l) = limit {
            rows.truncate(l as usize);
        }
        StatementResult::Rows { columns, rows }
    }

    /// SHOW PROC directories the syncer walks.
    fn proc(&self, path: &str) -> Result<(Vec<&'static str>, Vec<Vec<String>>), SqlError> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let state = self.catalog.read();
        match parts.as_slice() {
            ["dbs"] => {
                let rows = state.databases.values().map(db_row).collect();
                Ok((DBS_COLUMNS.to_vec(), rows))
            }
            ["frontends"] => {
                drop(state);
                Ok(self.frontend_rows())
            }
            ["backends"] => {
                drop(state);
                Ok(self.backend_rows())
            }
            ["dbs", db_id, rest @ ..] => {
                let db_id: i64 = db_id
                    .parse()
                    .map_err(|_| SqlError::analysis(format!("Invalid db id format: {db_id}")))?;
                let db = state.databases.get(&db_id).ok_or_else(|| {
                    SqlError::analysis(format!("Database {db_id} does not exist"))
                })?;
                match rest {
                    [] => Ok((
                        TABLES_COLUMNS.to_vec(),
                        db.tables.values().map(table_row).collect(),
                    )),
                    [table_id, rest @ ..] => {
                        let table_id: i64 = table_id.parse().map_err(|_| {
                            SqlError::analysis(format!("Invalid table id format: {table_id}"))
                        })?;
                        let table = db.tables.get(&table_id).ok_or_else(|| {
                            SqlError::analysis(format!("Table[{table_id}] does not exist"))
                        })?;
                        let olap = table.olap().ok_or_else(|| {
                            SqlError::analysis(format!("Table[{table_id}] is not a OLAP table"))
                        })?;
                        partition_proc(olap, rest, &self.catalog.topology().backends)
                    }
                }
            }
            _ => Err(SqlError::analysis(format!(
                "Proc path '{path}' doesn't exist"
            ))),
        }
    }

    fn filter_relation(
        &self,
        relation: &Relation,
        select: &super::ast::Select,
    ) -> Result<Vec<Vec<String>>, SqlError> {
        let (_, rows) = self.run_select_on(relation, select)?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_iter().map(|v| v.to_text()).collect())
            .collect())
    }
}

fn backend_usage(state: &CatalogState, backend_id: i64) -> (usize, u64) {
    let mut tablets = 0;
    let mut rows = 0u64;
    for db in state.databases.values() {
        for table in db.tables.values() {
            let Some(olap) = table.olap() else { continue };
            for p in olap.partitions.values() {
                for index in p.indexes.values() {
                    for tablet in &index.tablets {
                        if tablet.replicas.iter().any(|r| r.backend_id == backend_id) {
                            tablets += 1;
                            rows += tablet.row_count() as u64;
                        }
                    }
                }
            }
        }
    }
    (tablets, rows)
}

fn db_row(db: &Database) -> Vec<String> {
    let replicas: usize = db
        .tables
        .values()
        .filter_map(Table::olap)
        .map(OlapTable::replica_count)
        .sum();
    let rows: u64 = db
        .tables
        .values()
        .filter_map(Table::olap)
        .flat_map(|o| o.partitions.values().map(|p| p.row_count() as u64))
        .sum();
    vec![
        db.id.to_string(),
        db.name.clone(),
        db.tables.len().to_string(),
        format_bytes(rows * BYTES_PER_ROW),
        DEFAULT_DATA_QUOTA.into(),
        "NULL".into(),
        replicas.to_string(),
        DEFAULT_REPLICA_QUOTA.into(),
        "0".into(),
        "1000".into(),
        format_time_ms(db.update_time_ms),
    ]
}

fn table_row(table: &Table) -> Vec<String> {
    match &table.kind {
        TableKind::View(_) => vec![
            table.id.to_string(),
            table.name.clone(),
            "NULL".into(),
            "NULL".into(),
            "NULL".into(),
            "NULL".into(),
            "VIEW".into(),
            "NULL".into(),
            "NULL".into(),
            "NULL".into(),
            "NULL".into(),
            "0".into(),
            format_time_ms(table.update_time_ms),
        ],
        TableKind::Olap(olap) => {
            let partition_columns = if olap.partition_scheme.columns.is_empty() {
                "NULL".to_owned()
            } else {
                olap.partition_scheme.columns.join(", ")
            };
            vec![
                table.id.to_string(),
                table.name.clone(),
                (1 + olap.rollups.len()).to_string(),
                partition_columns,
                olap.visible_partitions().len().to_string(),
                olap.state.name().into(),
                "OLAP".into(),
                "NULL".into(),
                olap.replica_count().to_string(),
                olap.visible_version.to_string(),
                format_time_ms(olap.visible_version_time_ms),
                "0".into(),
                format_time_ms(table.update_time_ms),
            ]
        }
    }
}

pub(crate) fn partition_row(olap: &OlapTable, p: &Partition) -> Vec<String> {
    let types = olap.partition_column_types();
    vec![
        p.id.to_string(),
        p.name.clone(),
        p.visible_version.to_string(),
        format_time_ms(p.visible_version_time_ms),
        "NORMAL".into(),
        olap.partition_scheme.columns.join(", "),
        p.item.describe(&types),
        p.distribution.key_text(),
        p.bucket_num.to_string(),
        p.replication_num.to_string(),
        "HDD".into(),
        NO_COOLDOWN.into(),
        String::new(),
        "NULL".into(),
        format_bytes(p.row_count() as u64 * BYTES_PER_ROW),
        "false".into(),
        format!("tag.location.default: {}", p.replication_num),
        "true".into(),
        "true".into(),
        "NULL".into(),
    ]
}

fn partition_proc(
    olap: &OlapTable,
    rest: &[&str],
    backends: &[crate::topology::BackendAddr],
) -> Result<(Vec<&'static str>, Vec<Vec<String>>), SqlError> {
    let (temp, rest) = match rest.first() {
        Some(&"partitions") => (false, &rest[1..]),
        Some(&"temp_partitions") => (true, &rest[1..]),
        _ => {
            return Err(SqlError::analysis(format!(
                "Proc path '{}' doesn't exist",
                rest.join("/")
            )))
        }
    };
    let parts = if temp {
        olap.temp_partitions()
    } else {
        olap.visible_partitions()
    };
    let Some(partition_id) = rest.first() else {
        return Ok((
            PARTITION_COLUMNS.to_vec(),
            parts.into_iter().map(|p| partition_row(olap, p)).collect(),
        ));
    };
    let partition_id: i64 = partition_id
        .parse()
        .map_err(|_| SqlError::analysis(format!("Invalid partition id format: {partition_id}")))?;
    let partition = parts
        .into_iter()
        .find(|p| p.id == partition_id)
        .ok_or_else(|| SqlError::analysis(format!("Partition[{partition_id}] does not exist")))?;
    let index_name = |id: i64| {
        if id == olap.base_index.id {
            olap.base_index.name.clone()
        } else {
            olap.rollups
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.name.clone())
                .unwrap_or_default()
        }
    };
    let Some(index_id) = rest.get(1) else {
        let rows = partition
            .indexes
            .values()
            .map(|i| {
                vec![
                    i.id.to_string(),
                    index_name(i.id),
                    i.state.name().into(),
                    "NULL".into(),
                ]
            })
            .collect();
        return Ok((INDEX_COLUMNS.to_vec(), rows));
    };
    let index_id: i64 = index_id
        .parse()
        .map_err(|_| SqlError::analysis(format!("Invalid index id format: {index_id}")))?;
    let index = partition
        .indexes
        .get(&index_id)
        .ok_or_else(|| SqlError::analysis(format!("Index[{index_id}] does not exist")))?;
    let schema_hash = if index_id == olap.base_index.id {
        olap.base_index.schema_hash
    } else {
        olap.rollups
            .iter()
            .find(|r| r.id == index_id)
            .map(|r| r.schema_hash)
            .unwrap_or(0)
    };
    let mut rows = Vec::new();
    for tablet in &index.tablets {
        for replica in &tablet.replicas {
            let be = backends.iter().find(|b| b.id == replica.backend_id);
            let (host, http) = be
                .map(|b| (b.host.clone(), b.http_port))
                .unwrap_or_default();
            let row_count = tablet.row_count() as u64;
            rows.push(vec![
                tablet.id.to_string(),
                replica.id.to_string(),
                replica.backend_id.to_string(),
                schema_hash.to_string(),
                replica.version.to_string(),
                replica.version.to_string(),
                "-1".into(),
                "NULL".into(),
                (row_count * BYTES_PER_ROW).to_string(),
                "0".into(),
                row_count.to_string(),
                "NORMAL".into(),
                "NULL".into(),
                "-1".into(),
                (tablet.rowsets.len() + 1).to_string(),
                "0".into(),
                ((stable_number(&format!("{}:{}", replica.backend_id, tablet.id)) >> 1) as i64)
                    .to_string(),
                format!("http://{host}:{http}/api/meta/header/{}", tablet.id),
                format!(
                    "http://{host}:{http}/api/compaction/show?tablet_id={}",
                    tablet.id
                ),
                "-1".into(),
                String::new(),
            ]);
        }
    }
    Ok((TABLET_COLUMNS.to_vec(), rows))
}

/// Doris' complaint about a SHOW TRANSACTION without a usable WHERE clause.
const SHOW_TRANSACTION_WHERE_HINT: &str =
    "Where clause should looks like one of them: id = 123 or label = 'label'";

impl FeSession {
    /// `DESC v` / `SHOW [FULL] COLUMNS FROM v` on a view: the columns of the view's
    /// result, every one nullable and not a key, as Doris lists a view's schema. The types
    /// come from the simulator's result types, so character columns read as
    /// `varchar(65533)` whatever their base column's length.
    fn view_columns(&self, db: &str, view: &str, full: bool) -> Result<StatementResult, SqlError> {
        use crate::session::ColumnType as Wire;
        let relation = self.table_relation(db, view, None, 0)?;
        let rows = relation
            .columns
            .iter()
            .map(|c| {
                let type_text = match c.column_type {
                    Wire::Varchar => "varchar(65533)",
                    Wire::String => "text",
                    Wire::TinyInt => "tinyint",
                    Wire::SmallInt => "smallint",
                    Wire::Int => "int",
                    Wire::BigInt => "bigint",
                    Wire::LargeInt => "largeint",
                    Wire::Float => "float",
                    Wire::Double => "double",
                    Wire::Decimal => "decimal(38,9)",
                    Wire::Date => "date",
                    Wire::DateTime => "datetime",
                    Wire::Boolean => "boolean",
                }
                .to_owned();
                let mut row = vec![c.name.clone(), type_text];
                if full {
                    row.push(String::new());
                }
                row.extend(["YES".to_owned(), "NO".to_owned(), "NULL".to_owned()]);
                row.push(String::new());
                if full {
                    row.push("select,insert,update,references".into());
                    row.push(String::new());
                }
                row
            })
            .collect();
        Ok(varchar_result(show_columns_names(full), rows))
    }
}

impl FeSession {
    /// `SHOW TRANSACTION [FROM db] WHERE id = N | label = "x"` (needs LOAD on the db).
    fn show_transaction(
        &mut self,
        db: Option<String>,
        filter: Option<Expr>,
    ) -> Result<StatementResult, SqlError> {
        let db = self.resolve_db(db.as_deref())?;
        let filter = match filter {
            Some(Expr::Binary {
                op: BinaryOp::Eq,
                left,
                right,
            }) => match (*left, *right) {
                (Expr::Column(parts), Expr::Literal(value)) => {
                    let column = parts.last().cloned().unwrap_or_default();
                    if column.eq_ignore_ascii_case("id") {
                        let id = value
                            .to_text()
                            .parse::<i64>()
                            .map_err(|_| SqlError::analysis(SHOW_TRANSACTION_WHERE_HINT))?;
                        TxnFilter::Id(id)
                    } else if column.eq_ignore_ascii_case("label") {
                        TxnFilter::Label(value.to_text())
                    } else {
                        return Err(SqlError::analysis(SHOW_TRANSACTION_WHERE_HINT));
                    }
                }
                _ => return Err(SqlError::analysis(SHOW_TRANSACTION_WHERE_HINT)),
            },
            _ => return Err(SqlError::analysis(SHOW_TRANSACTION_WHERE_HINT)),
        };
        self.require_db(&db, Privilege::Load)?;
        let mut state = self.catalog.write();
        let db_id = state.db_or_err(&db)?.id;
        let rows = state.show_transactions(db_id, &filter);
        Ok(varchar_result(&SHOW_TRANSACTION_COLUMNS, rows))
    }
}

/// The columns of `SHOW [FULL] COLUMNS` (and `DESC`), in Doris's order.
fn show_columns_names(full: bool) -> &'static [&'static str] {
    if full {
        &[
            "Field",
            "Type",
            "Collation",
            "Null",
            "Key",
            "Default",
            "Extra",
            "Privileges",
            "Comment",
        ]
    } else {
        &["Field", "Type", "Null", "Key", "Default", "Extra"]
    }
}

#[cfg(test)]
mod tests {
    use super::format_bytes;

    #[test]
    fn bytes_render_like_doris() {
        assert_eq!(format_bytes(0), "0.000");
        assert_eq!(format_bytes(2804), "2.738 KB");
        assert_eq!(format_bytes(1 << 40), "1.000 TB");
    }
}
