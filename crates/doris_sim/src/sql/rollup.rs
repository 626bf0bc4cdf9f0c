//! Rollups and synchronous materialized views: `ALTER TABLE ... ADD / DROP / RENAME ROLLUP`,
//! `CREATE / DROP MATERIALIZED VIEW`, `DESC t ALL` and `SHOW ALTER TABLE ROLLUP`.
//!
//! Both kinds are materialized indexes of every partition, next to the base index. Their rows
//! are stored keyed by the base column they come from (a synchronous MV's `SUM(v)` column
//! stores the raw `v` values and aggregates on read), so a rollup tablet's rowsets download
//! and ingest exactly like the base index's. A build is instant, like the simulator's schema
//! changes: the job journals PENDING, WAITING_TXN, RUNNING and FINISHED at once (ALTER_JOB
//! binlogs of type ROLLUP) and the new index holds the base data projected onto its columns.

use super::ast::{Expr, FromClause, Select, SelectItem, TableSource};
use super::ddl_support::schema_hash;
use super::engine::{ok, FeSession};
use super::render;
use crate::catalog::table::{
    AggregationType, Column, IndexColumn, IndexMeta, IndexState, KeysModel, MaterializedIndex,
    OlapTable, Replica, RollupJob, Rowset, Tablet,
};
use crate::catalog::user::Privilege;
use crate::catalog::{format_time_ms, now_ms, CatalogState};
use crate::session::{SqlError, StatementResult};
use ccr_binlog::JobState;

/// Doris' default `alter_table_timeout_second`, shown in the Timeout column.
const ALTER_TABLE_TIMEOUT_SECONDS: i64 = 86_400;

/// Columns of SHOW ALTER TABLE ROLLUP, in Doris' order.
pub(super) const SHOW_ROLLUP_COLUMNS: &[&str] = &[
    "JobId",
    "TableName",
    "CreateTime",
    "FinishTime",
    "BaseIndexName",
    "RollupIndexName",
    "RollupId",
    "TransactionId",
    "State",
    "Msg",
    "Progress",
    "Timeout",
];

/// Columns of `DESC t ALL`.
pub(super) const DESC_ALL_COLUMNS: &[&str] = &[
    "IndexName",
    "IndexKeysType",
    "Field",
    "Type",
    "InternalType",
    "Null",
    "Key",
    "Default",
    "Extra",
    "Visible",
    "DefineExpr",
    "WhereClause",
];

fn err(message: impl std::fmt::Display) -> SqlError {
    SqlError::analysis(message)
}

fn olap_of<'a>(
    state: &'a CatalogState,
    db: &str,
    table: &str,
) -> Result<(i64, i64, &'a OlapTable), SqlError> {
    let database = state.db_or_err(db)?;
    let t = database.table_or_err(table)?;
    let olap = t
        .olap()
        .ok_or_else(|| err(format!("Table[{table}] is not a OLAP table")))?;
    Ok((database.id, t.id, olap))
}

/// Whether `name` is already the name of an index of the table (base or rollup).
fn index_name_taken(olap: &OlapTable, name: &str) -> bool {
    olap.index_by_name(name).is_some()
}

/// `ALTER TABLE t ADD ROLLUP r (c, ...) [DUPLICATE KEY (c, ...)]`.
pub(super) fn add_rollup(
    state: &mut CatalogState,
    db: &str,
    table: &str,
    rollup: &str,
    columns: &[String],
    duplicate_keys: &[String],
) -> Result<(), SqlError> {
    let (db_id, table_id, olap) = olap_of(state, db, table)?;
    if index_name_taken(olap, rollup) {
        return Err(err(format!("Rollup name[{rollup}] already exists")));
    }
    let mut picked: Vec<&Column> = Vec::new();
    for name in columns {
        let column = olap
            .column(name)
            .ok_or_else(|| err(format!("Column[{name}] does not exist")))?;
        if picked.iter().any(|c| c.unique_id == column.unique_id) {
            return Err(err(format!("Duplicate column name '{name}'")));
        }
        picked.push(column);
    }
    if picked.is_empty() {
        return Err(err("Empty rollup column list"));
    }
    let index_columns = match olap.keys_model {
        KeysModel::Duplicate => {
            let key_count = if duplicate_keys.is_empty() {
                super::ddl::implicit_key_count(picked.iter().map(|c| &c.column_type))
                    .min(picked.len())
            } else {
                for (i, key) in duplicate_keys.iter().enumerate() {
                    if !picked
                        .get(i)
                        .is_some_and(|c| c.name.eq_ignore_ascii_case(key))
                    {
                        return Err(err("Keys column must be the prefix of rollup columns"));
                    }
                }
                duplicate_keys.len()
            };
            picked
                .iter()
                .enumerate()
                .map(|(i, c)| IndexColumn {
                    name: c.name.clone(),
                    source_unique_id: c.unique_id,
                    is_key: i < key_count,
                    aggregation: None,
                })
                .collect::<Vec<_>>()
        }
        model @ (KeysModel::Aggregate | KeysModel::Unique) => {
            if !duplicate_keys.is_empty() {
                return Err(err(
                    "Can not specify keys column in unique or agg key rollup",
                ));
            }
            if model == KeysModel::Unique
                && !olap
                    .key_columns()
                    .all(|k| picked.iter().any(|c| c.unique_id == k.unique_id))
            {
                return Err(err("Rollup should contains all unique keys in basetable"));
            }
            let mut seen_value = false;
            for column in &picked {
                if column.is_key && seen_value {
                    return Err(err(format!(
                        "Key column must before value column: {}",
                        column.name
                    )));
                }
                seen_value |= !column.is_key;
            }
            if !picked.first().is_some_and(|c| c.is_key) {
                return Err(err("No key column is found"));
            }
            picked
                .iter()
                .map(|c| IndexColumn {
                    name: c.name.clone(),
                    source_unique_id: c.unique_id,
                    is_key: c.is_key,
                    aggregation: if c.is_key { None } else { c.aggregation },
                })
                .collect()
        }
    };
    let keys_model = olap.keys_model;
    build_index(
        state,
        (db_id, table_id),
        rollup,
        index_columns,
        keys_model,
        None,
    )
}

/// A base tablet as a rollup build copies it: its replicas' backends and its rowsets.
type BaseTablet = (Vec<i64>, Vec<Rowset>);

/// Creates the index on every partition with the base data projected onto it, journaling
/// the rollup job's states around the build.
fn build_index(
    state: &mut CatalogState,
    (db_id, table_id): (i64, i64),
    name: &str,
    columns: Vec<IndexColumn>,
    keys_model: KeysModel,
    define_stmt: Option<String>,
) -> Result<(), SqlError> {
    let job_id = state.next_id();
    let index_id = state.next_id();
    let watershed_txn_id = state.next_id();
    let create_time_ms = now_ms();
    let (base_id, base_name, table_name, plan) = {
        let (_, table) = state
            .table_by_id(table_id)
            .ok_or_else(|| err(format!("table {table_id} does not exist")))?;
        let olap = table
            .olap()
            .ok_or_else(|| err(format!("Table[{}] is not a OLAP table", table.name)))?;
        // Per partition: per base tablet, its replicas' backends and rowsets.
        let plan: Vec<(i64, Vec<BaseTablet>)> = olap
            .partitions
            .values()
            .map(|p| {
                let tablets = p
                    .base_index(olap.base_index.id)
                    .tablets
                    .iter()
                    .map(|t| {
                        (
                            t.replicas.iter().map(|r| r.backend_id).collect(),
                            t.rowsets.clone(),
                        )
                    })
                    .collect();
                (p.id, tablets)
            })
            .collect();
        (
            olap.base_index.id,
            olap.base_index.name.clone(),
            table.name.clone(),
            plan,
        )
    };
    let stored: Vec<i32> = columns.iter().map(|c| c.source_unique_id).collect();
    let mut built = Vec::new();
    for (partition_id, tablets) in plan {
        let mut new_tablets = Vec::new();
        for (backends, rowsets) in tablets {
            let tablet_id = state.next_id();
            let replicas = backends
                .into_iter()
                .map(|backend_id| Replica {
                    id: state.next_id(),
                    backend_id,
                    version: 1,
                })
                .collect();
            let rowsets = rowsets
                .into_iter()
                .map(|rowset| project_rowset(state.next_id(), rowset, &stored))
                .collect();
            new_tablets.push(Tablet {
                id: tablet_id,
                replicas,
                rowsets,
            });
        }
        built.push((partition_id, new_tablets));
    }
    for job_state in [JobState::Pending, JobState::WaitingTxn, JobState::Running] {
        state.binlog_rollup_job(
            db_id,
            table_id,
            job_id,
            job_state,
            (index_id, name),
            (base_id, &base_name),
        );
    }
    let olap = state
        .table_by_id_mut(table_id)
        .and_then(|t| t.olap_mut())
        .expect("checked above");
    for (partition_id, tablets) in built {
        let Some(partition) = olap.partitions.get_mut(&partition_id) else {
            continue;
        };
        let version = partition.visible_version;
        let mut tablets = tablets;
        for tablet in &mut tablets {
            for replica in &mut tablet.replicas {
                replica.version = version;
            }
        }
        partition.indexes.insert(
            index_id,
            MaterializedIndex {
                id: index_id,
                state: IndexState::Normal,
                tablets,
            },
        );
    }
    olap.rollups.push(IndexMeta {
        id: index_id,
        name: name.to_owned(),
        schema_hash: schema_hash(index_id),
        schema_version: 0,
        columns,
        keys_model,
        define_stmt,
    });
    state.binlog_rollup_job(
        db_id,
        table_id,
        job_id,
        JobState::Finished,
        (index_id, name),
        (base_id, &base_name),
    );
    if let Some(db) = state.databases.get_mut(&db_id) {
        db.rollup_jobs.push(RollupJob {
            job_id,
            table_name,
            create_time_ms,
            finish_time_ms: now_ms(),
            base_index_name: base_name,
            rollup_index_name: name.to_owned(),
            rollup_index_id: index_id,
            transaction_id: watershed_txn_id,
        });
    }
    Ok(())
}

/// A base rowset restricted to the columns a rollup stores (delete predicates kept).
fn project_rowset(id: i64, rowset: Rowset, stored: &[i32]) -> Rowset {
    let (schema, positions): (Vec<i32>, Vec<usize>) = stored
        .iter()
        .filter_map(|uid| {
            rowset
                .schema
                .iter()
                .position(|id| id == uid)
                .map(|pos| (*uid, pos))
        })
        .unzip();
    Rowset {
        id,
        version: rowset.version,
        txn_id: rowset.txn_id,
        rows: rowset
            .rows
            .iter()
            .map(|row| positions.iter().map(|&p| row[p].clone()).collect())
            .collect(),
        schema,
        delete_predicate: rowset.delete_predicate,
    }
}

/// `ALTER TABLE t DROP ROLLUP r` / `DROP MATERIALIZED VIEW [IF EXISTS] mv ON t`.
pub(super) fn drop_rollup(
    state: &mut CatalogState,
    db: &str,
    table: &str,
    rollup: &str,
    if_exists: bool,
) -> Result<(), SqlError> {
    let (db_id, table_id, olap) = olap_of(state, db, table)?;
    if olap.base_index.name.eq_ignore_ascii_case(rollup) {
        return Err(err("Cannot drop base index by using DROP ROLLUP."));
    }
    let Some(meta) = olap.rollup(rollup) else {
        if if_exists {
            return Ok(());
        }
        return Err(err(format!(
            "Rollup index[{rollup}] does not exist in table[{table}]"
        )));
    };
    let (index_id, name) = (meta.id, meta.name.clone());
    let olap = state
        .table_by_id_mut(table_id)
        .and_then(|t| t.olap_mut())
        .expect("checked above");
    olap.rollups.retain(|r| r.id != index_id);
    for partition in olap.partitions.values_mut() {
        partition.indexes.remove(&index_id);
    }
    state.binlog_drop_rollup(db_id, table_id, index_id, &name);
    Ok(())
}

/// `ALTER TABLE t RENAME ROLLUP old new`.
pub(super) fn rename_rollup(
    state: &mut CatalogState,
    db: &str,
    table: &str,
    old: &str,
    new: &str,
) -> Result<(), SqlError> {
    let (db_id, table_id, olap) = olap_of(state, db, table)?;
    let meta = olap
        .rollup(old)
        .ok_or_else(|| err(format!("Rollup index[{old}] does not exists")))?;
    if index_name_taken(olap, new) {
        return Err(err(format!("New rollup name[{new}] is already used")));
    }
    let (index_id, old_name) = (meta.id, meta.name.clone());
    let olap = state
        .table_by_id_mut(table_id)
        .and_then(|t| t.olap_mut())
        .expect("checked above");
    if let Some(meta) = olap.rollups.iter_mut().find(|r| r.id == index_id) {
        meta.name = new.to_owned();
    }
    state.binlog_rename_rollup(db_id, table_id, index_id, &old_name, new);
    Ok(())
}

/// One select item of a synchronous MV: a base column, optionally aggregated.
struct MvItem<'a> {
    column: &'a Column,
    aggregation: Option<AggregationType>,
    label: String,
}

/// Maps a synchronous MV's SELECT to index columns: plain columns (keys) followed by
/// `SUM`/`MIN`/`MAX` of base columns, or a plain projection.
fn mv_columns(olap: &OlapTable, query: &Select) -> Result<(Vec<IndexColumn>, KeysModel), SqlError> {
    if query.filter.is_some() {
        return Err(err(
            "The where clause in a materialized view is not supported by the simulator",
        ));
    }
    if query.having.is_some() {
        return Err(err(
            "The having clause is not supported in add materialized view clause",
        ));
    }
    if let Some(limit) = query.limit {
        return Err(err(format!(
            "The limit clause is not supported in add materialized view clause, expr:limit {limit}"
        )));
    }
    let mut items = Vec::new();
    for item in &query.items {
        let SelectItem::Expr { expr, label, .. } = item else {
            return Err(err(
                "The materialized view does not support `*` in the select list",
            ));
        };
        let unsupported = || {
            err(format!(
                "The materialized view only support the single column or function expr. Error column: {label}"
            ))
        };
        let (column_name, aggregation) = match expr {
            Expr::Column(parts) => (parts.last().cloned().unwrap_or_default(), None),
            Expr::Function {
                name,
                args,
                star: false,
                distinct: false,
            } => {
                let aggregation = match name.to_ascii_uppercase().as_str() {
                    "SUM" => AggregationType::Sum,
                    "MIN" => AggregationType::Min,
                    "MAX" => AggregationType::Max,
                    _ => return Err(unsupported()),
                };
                match args.as_slice() {
                    [Expr::Column(parts)] => {
                        (parts.last().cloned().unwrap_or_default(), Some(aggregation))
                    }
                    _ => return Err(unsupported()),
                }
            }
            _ => return Err(unsupported()),
        };
        let column = olap
            .column(&column_name)
            .ok_or_else(|| err(format!("Unknown column '{column_name}' in 'table list'")))?;
        items.push(MvItem {
            column,
            aggregation,
            label: label.clone(),
        });
    }
    let aggregating = items.iter().any(|i| i.aggregation.is_some()) || !query.group_by.is_empty();
    if !aggregating {
        let key_count = match olap.keys_model {
            KeysModel::Duplicate => {
                super::ddl::implicit_key_count(items.iter().map(|i| &i.column.column_type))
                    .min(items.len())
            }
            _ => items.iter().take_while(|i| i.column.is_key).count(),
        };
        let columns = items
            .iter()
            .enumerate()
            .map(|(i, item)| IndexColumn {
                name: format!("mv_{}", item.column.name),
                source_unique_id: item.column.unique_id,
                is_key: i < key_count,
                aggregation: if i < key_count {
                    None
                } else {
                    item.column.aggregation
                },
            })
            .collect();
        return Ok((columns, olap.keys_model));
    }
    let group_by: Vec<String> = query
        .group_by
        .iter()
        .map(|e| match e {
            Expr::Column(parts) => Ok(parts.last().cloned().unwrap_or_default()),
            _ => Err(err(
                "The materialized view only support the single column in group by clause",
            )),
        })
        .collect::<Result<_, _>>()?;
    let mut seen_aggregate = false;
    let mut columns = Vec::new();
    for item in &items {
        match item.aggregation {
            None => {
                if seen_aggregate {
                    return Err(err(
                        "The aggregate column should be after the single column",
                    ));
                }
                if !group_by
                    .iter()
                    .any(|g| g.eq_ignore_ascii_case(&item.column.name))
                {
                    return Err(err(format!(
                        "The select expr {} must be in the group by clause",
                        item.label
                    )));
                }
                columns.push(IndexColumn {
                    name: format!("mv_{}", item.column.name),
                    source_unique_id: item.column.unique_id,
                    is_key: true,
                    aggregation: None,
                });
            }
            Some(aggregation) => {
                seen_aggregate = true;
                columns.push(IndexColumn {
                    name: format!("mva_{}__`{}`", aggregation.name(), item.column.name),
                    source_unique_id: item.column.unique_id,
                    is_key: false,
                    aggregation: Some(aggregation),
                });
            }
        }
    }
    if !columns.first().is_some_and(|c| c.is_key) {
        return Err(err(
            "The materialized view must contain at least one key column",
        ));
    }
    Ok((columns, KeysModel::Aggregate))
}

impl FeSession {
    /// `CREATE MATERIALIZED VIEW [IF NOT EXISTS] mv AS SELECT ... FROM t [GROUP BY ...]`.
    pub(super) fn create_materialized_view(
        &mut self,
        if_not_exists: bool,
        name: &str,
        query: &Select,
    ) -> Result<StatementResult, SqlError> {
        let table = match &query.from {
            Some(FromClause {
                source: TableSource::Table(table),
                partitions: None,
                ..
            }) => table.clone(),
            _ => {
                return Err(err(
                    "The materialized view only support one table in from clause.",
                ))
            }
        };
        let db = self.resolve_db(table.db.as_deref())?;
        self.require_table(&db, &table.name, Privilege::Alter)?;
        let mut state = self.catalog.write();
        let (db_id, table_id, olap) = olap_of(&state, &db, &table.name)?;
        if index_name_taken(olap, name) {
            if if_not_exists {
                return Ok(ok(0));
            }
            return Err(err(format!("Materialized view[{name}] already exists")));
        }
        let (columns, keys_model) = mv_columns(olap, query)?;
        let define_stmt = define_statement(query, &table.name);
        build_index(
            &mut state,
            (db_id, table_id),
            name,
            columns,
            keys_model,
            Some(define_stmt),
        )?;
        Ok(ok(0))
    }
}

/// The MV's SELECT as SHOW CREATE MATERIALIZED VIEW would print it (items as written).
fn define_statement(query: &Select, table: &str) -> String {
    let items: Vec<String> = query
        .items
        .iter()
        .map(|item| match item {
            SelectItem::Expr { label, .. } => label.clone(),
            SelectItem::Wildcard => "*".to_owned(),
        })
        .collect();
    let mut text = format!(
        "SELECT {} FROM {}",
        items.join(", "),
        render::quote_ident(table)
    );
    let group_by: Vec<String> = query
        .group_by
        .iter()
        .filter_map(|e| match e {
            Expr::Column(parts) => parts.last().map(|c| render::quote_ident(c)),
            _ => None,
        })
        .collect();
    if !group_by.is_empty() {
        text.push_str(&format!(" GROUP BY {}", group_by.join(", ")));
    }
    text
}

/// Rows of `DESC t ALL`: the base index, then each rollup in creation order; the index
/// name and keys type appear on the first row of each index only.
pub(super) fn desc_all_rows(olap: &OlapTable) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let base: Vec<(String, &Column, bool, Option<AggregationType>, String)> = olap
        .columns
        .iter()
        .map(|c| (c.name.clone(), c, c.is_key, c.aggregation, String::new()))
        .collect();
    let mut blocks = vec![(
        olap.base_index.name.clone(),
        olap.keys_model,
        base,
        String::new(),
    )];
    for rollup in &olap.rollups {
        let columns = olap
            .rollup_columns(rollup)
            .into_iter()
            .map(|(ic, c)| {
                let define = if rollup.define_stmt.is_some() {
                    render::quote_ident(&c.name)
                } else {
                    String::new()
                };
                (ic.name.clone(), c, ic.is_key, ic.aggregation, define)
            })
            .collect();
        blocks.push((
            rollup.name.clone(),
            rollup.keys_model,
            columns,
            String::new(),
        ));
    }
    for (index_name, keys_model, columns, where_clause) in blocks {
        for (i, (field, column, is_key, aggregation, define)) in columns.into_iter().enumerate() {
            let (name, keys) = if i == 0 {
                (index_name.clone(), keys_model.thrift_name().to_owned())
            } else {
                (String::new(), String::new())
            };
            let extra = match (is_key, aggregation, keys_model) {
                (false, Some(agg), KeysModel::Aggregate) => agg.name().to_owned(),
                (false, _, KeysModel::Duplicate) => "NONE".to_owned(),
                _ => String::new(),
            };
            rows.push(vec![
                name,
                keys,
                field,
                column.column_type.to_sql(),
                column.column_type.to_sql(),
                if column.nullable { "Yes" } else { "No" }.to_owned(),
                if is_key { "true" } else { "false" }.to_owned(),
                column_default(column),
                extra,
                "true".to_owned(),
                define,
                where_clause.clone(),
            ]);
        }
    }
    rows
}

fn column_default(column: &Column) -> String {
    use crate::catalog::table::DefaultValue;
    match &column.default {
        Some(DefaultValue::Literal(v)) => v.clone(),
        Some(DefaultValue::CurrentTimestamp) => "CURRENT_TIMESTAMP".into(),
        Some(DefaultValue::BitmapEmpty) => "BITMAP_EMPTY".into(),
        _ => "NULL".into(),
    }
}

/// Rows of SHOW ALTER TABLE ROLLUP for one database, oldest job first.
pub(super) fn show_rollup_rows(jobs: &[RollupJob]) -> Vec<Vec<String>> {
    jobs.iter()
        .map(|job| {
            vec![
                job.job_id.to_string(),
                job.table_name.clone(),
                format_time_ms(job.create_time_ms),
                format_time_ms(job.finish_time_ms),
                job.base_index_name.clone(),
                job.rollup_index_name.clone(),
                job.rollup_index_id.to_string(),
                job.transaction_id.to_string(),
                "FINISHED".to_owned(),
                String::new(),
                "NULL".to_owned(),
                ALTER_TABLE_TIMEOUT_SECONDS.to_string(),
            ]
        })
        .collect()
}
