//! INSERT [OVERWRITE], DELETE and TRUNCATE: each commits like one load transaction.

use super::ast::{BinaryOp, Expr, Insert, InsertSource, ObjectName, Statement};
use super::ddl::{auto_partition_for, bucket_count, recreate_partition};
use super::engine::{ok, FeSession};
use super::query::{wire_type, RelColumn};
use crate::binlog_journal::ReplacedPartitions;
use crate::catalog::data::PreparedLoad;
use crate::catalog::table::{
    Column, CompareOp, DeleteCondition, DeletePredicate, KeysModel, OlapTable, PartitionItem,
};
use crate::catalog::types::Value;
use crate::catalog::user::Privilege;
use crate::catalog::{CatalogError, CatalogState};
use crate::session::{SqlError, StatementResult};
use crate::txn::{BeginTxn, LoadJobSourceType};

fn other(msg: impl Into<String>) -> SqlError {
    CatalogError::Other(msg.into()).into()
}

fn olap_of<'a>(
    state: &'a CatalogState,
    db: &str,
    table: &str,
) -> Result<(i64, &'a OlapTable), SqlError> {
    let t = state.db_or_err(db)?.table_or_err(table)?;
    let olap = t.olap().ok_or_else(|| {
        other(format!(
            "Only support insert/delete on OLAP table, but {table} is a VIEW"
        ))
    })?;
    Ok((t.id, olap))
}

fn partition_ids(
    olap: &OlapTable,
    names: &[String],
    temporary: bool,
) -> Result<Vec<i64>, SqlError> {
    if names.len() == 1 && names[0] == "*" {
        return Ok(olap.visible_partitions().iter().map(|p| p.id).collect());
    }
    names
        .iter()
        .map(|n| {
            olap.partition_id_by_name(n, temporary).ok_or_else(|| {
                other(format!(
                    "Unknown partition '{n}' in table '{}'",
                    olap.base_index.name
                ))
            })
        })
        .collect()
}

/// Used when `insert_timeout` cannot be read (Doris' default, 4 hours).
const DEFAULT_INSERT_TIMEOUT_SECONDS: i64 = 14_400;

impl FeSession {
    /// Begins the load transaction of one SQL statement on `table_id`.
    fn begin_sql_txn(
        &self,
        state: &mut CatalogState,
        db: &str,
        table_id: i64,
        label: Option<String>,
        default_label_prefix: &'static str,
    ) -> Result<i64, SqlError> {
        let db_id = state.db_or_err(db)?.id;
        let timeout_seconds = self
            .variable("insert_timeout")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(DEFAULT_INSERT_TIMEOUT_SECONDS);
        state
            .begin_txn(BeginTxn {
                db_id,
                label,
                default_label_prefix,
                table_ids: vec![table_id],
                coordinator: format!("FE: {}", self.catalog.topology().fe.host),
                source_type: LoadJobSourceType::InsertStreaming,
                timeout_ms: timeout_seconds.saturating_mul(1000),
            })
            .map_err(SqlError::analysis)
    }

    pub(crate) fn execute_dml(&mut self, stmt: Statement) -> Result<StatementResult, SqlError> {
        match stmt {
            Statement::Insert(insert) => self.insert(*insert),
            Statement::Update {
                table,
                assignments,
                filter,
            } => self.update(table, assignments, filter),
            Statement::Delete {
                table,
                partitions,
                filter,
            } => self.delete(table, partitions, filter),
            Statement::Truncate { name, partitions } => {
                let db = self.resolve_db(name.db.as_deref())?;
                self.require_table(&db, &name.name, Privilege::Load)?;
                let mut state = self.catalog.write();
                let (table_id, olap) = olap_of(&state, &db, &name.name)?;
                let ids = match &partitions {
                    Some(names) => partition_ids(olap, names, false)?,
                    None => olap.visible_partitions().iter().map(|p| p.id).collect(),
                };
                replace_with_empty(&mut state, table_id, &ids);
                let db_id = state.db_or_err(&db)?.id;
                state.binlog_truncate_table(db_id, table_id, partitions.as_deref(), &ids);
                Ok(ok(0))
            }
            other_stmt => Err(SqlError::analysis(format!(
                "Unsupported statement: {other_stmt:?}"
            ))),
        }
    }

    fn insert(&mut self, insert: Insert) -> Result<StatementResult, SqlError> {
        let db = self.resolve_db(insert.table.db.as_deref())?;
        self.require_table(&db, &insert.table.name, Privilege::Load)?;
        // Evaluate the source before taking the write lock (INSERT ... SELECT reads).
        let source_rows: Vec<Vec<Value>> = match &insert.source {
            InsertSource::Values(rows) => rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|e| self.eval_const(e))
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<_, _>>()?,
            InsertSource::Select(select) => self.run_select(select, 0)?.1,
        };
        let mut state = self.catalog.write();
        let (table_id, olap) = olap_of(&state, &db, &insert.table.name)?;
        let targets: Vec<usize> = match &insert.columns {
            Some(names) => names
                .iter()
                .map(|n| {
                    olap.column_index(n).ok_or_else(|| {
                        SqlError::from(CatalogError::UnknownColumn {
                            column: n.clone(),
                            table: insert.table.name.clone(),
                        })
                    })
                })
                .collect::<Result<_, _>>()?,
            None => (0..olap.columns.len()).collect(),
        };
        let mut rows = Vec::with_capacity(source_rows.len());
        for source in source_rows {
            if source.len() != targets.len() {
                return Err(other("Column count doesn't match value count"));
            }
            let mut row: Vec<Option<Value>> = vec![None; olap.columns.len()];
            for (value, &target) in source.into_iter().zip(&targets) {
                row[target] = Some(value);
            }
            let row = row
                .into_iter()
                .zip(&olap.columns)
                .map(|(v, c)| {
                    let v = match v {
                        Some(v) => c.column_type.coerce(&v).map_err(|e| {
                            other(format!("Insert has filtered data in strict mode. {e}"))
                        })?,
                        None if c.default.is_none() && !c.nullable && !c.auto_increment => {
                            return Err(other(format!(
                                "Column has no default value. column: {}",
                                c.name
                            )));
                        }
                        None => c.default_value(),
                    };
                    if v.is_null() && !c.nullable {
                        return Err(other(format!(
                            "Insert has filtered data in strict mode. column {} is not nullable",
                            c.name
                        )));
                    }
                    Ok(v)
                })
                .collect::<Result<Vec<_>, SqlError>>()?;
            rows.push(row);
        }
        let restrict = match &insert.partitions {
            Some((temp, names)) => Some(partition_ids(olap, names, *temp)?),
            None => None,
        };
        let db_id = state.db_or_err(&db)?.id;
        if insert.overwrite {
            let ids = restrict
                .clone()
                .unwrap_or_else(|| olap.visible_partitions().iter().map(|p| p.id).collect());
            // Route against the current partitions first so a row outside them fails the
            // statement before any partition is replaced.
            olap.prepare_load(table_id, rows.clone(), restrict.as_deref())?;
            let txn_id =
                self.begin_sql_txn(&mut state, &db, table_id, insert.label.clone(), "insert")?;
            // Doris loads into temporary copies, then swaps them in (sheet §1.2).
            let temp_ids = add_overwrite_temp_partitions(&mut state, db_id, table_id, &ids, txn_id);
            let (_, olap) = olap_of(&state, &db, &insert.table.name)?;
            let routed = olap.prepare_load(table_id, rows, Some(&temp_ids));
            let result = finish_load(&mut state, db_id, txn_id, routed);
            if result.is_ok() {
                swap_in_temp_partitions(&mut state, db_id, table_id, &ids, &temp_ids);
            } else {
                drop_overwrite_temp_partitions(&mut state, db_id, table_id, &temp_ids);
            }
            return result;
        }
        if restrict.is_none() && olap.partition_scheme.auto_expr.is_some() {
            let mut missing: Vec<(String, PartitionItem)> = Vec::new();
            for row in &rows {
                if olap.route_partition(row, None).is_none() {
                    if let Some((name, item)) = auto_partition_for(olap, row)? {
                        if !missing.iter().any(|(n, _)| *n == name) {
                            missing.push((name, item));
                        }
                    }
                }
            }
            let (distribution, buckets, replication_num, index_ids) = (
                olap.distribution.clone(),
                bucket_count(olap.distribution.buckets()),
                state.replication_num(&olap.properties)?,
                olap.index_ids(),
            );
            for (name, item) in missing {
                let p = state.new_partition(
                    &name,
                    item,
                    distribution.clone(),
                    buckets,
                    replication_num,
                    &index_ids,
                    false,
                );
                let partition_id = p.id;
                if let Some(olap) = state.table_by_id_mut(table_id).and_then(|t| t.olap_mut()) {
                    olap.partitions.insert(p.id, p);
                }
                state.binlog_add_partition(db_id, table_id, partition_id);
            }
        }
        let (_, olap) = olap_of(&state, &db, &insert.table.name)?;
        let routed = olap.prepare_load(table_id, rows, restrict.as_deref());
        let txn_id =
            self.begin_sql_txn(&mut state, &db, table_id, insert.label.clone(), "insert")?;
        finish_load(&mut state, db_id, txn_id, routed)
    }

    fn update(
        &mut self,
        table: ObjectName,
        assignments: Vec<(String, Expr)>,
        filter: Option<Expr>,
    ) -> Result<StatementResult, SqlError> {
        let db = self.resolve_db(table.db.as_deref())?;
        self.require_table(&db, &table.name, Privilege::Load)?;
        // Read the current rows, compute the new versions without the lock, then load
        // them: the UNIQUE KEY model makes the load replace the old rows.
        let (columns, rows, schema) = {
            let state = self.catalog.read();
            let (_, olap) = olap_of(&state, &db, &table.name)?;
            if olap.keys_model != KeysModel::Unique {
                return Err(other("Only unique table could be updated."));
            }
            let columns: Vec<RelColumn> = olap
                .columns
                .iter()
                .map(|c| RelColumn {
                    name: c.name.clone(),
                    qualifier: Some(table.name.clone()),
                    column_type: wire_type(&c.column_type),
                })
                .collect();
            (columns, olap.scan(None), olap.columns.clone())
        };
        let mut targets = Vec::new();
        for (name, expr) in &assignments {
            let index = schema
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    SqlError::from(CatalogError::UnknownColumn {
                        column: name.clone(),
                        table: table.name.clone(),
                    })
                })?;
            if schema[index].is_key {
                return Err(other(format!(
                    "Only value columns of unique table could be updated, column: {}",
                    schema[index].name
                )));
            }
            targets.push((index, expr));
        }
        let mut updated = Vec::new();
        for row in rows {
            let keep = match &filter {
                Some(f) => self.eval_on_row(f, &columns, &row)?.is_true(),
                None => true,
            };
            if !keep {
                continue;
            }
            let mut new_row = row.clone();
            for (index, expr) in &targets {
                let value = self.eval_on_row(expr, &columns, &row)?;
                new_row[*index] = schema[*index]
                    .column_type
                    .coerce(&value)
                    .map_err(|e| other(format!("Insert has filtered data in strict mode. {e}")))?;
            }
            updated.push(new_row);
        }
        let mut state = self.catalog.write();
        let (table_id, olap) = olap_of(&state, &db, &table.name)?;
        if olap
            .columns
            .iter()
            .map(|c| c.unique_id)
            .ne(schema.iter().map(|c| c.unique_id))
        {
            return Err(other(format!(
                "Table[{}]'s schema changed while updating, please retry",
                table.name
            )));
        }
        let routed = olap.prepare_load(table_id, updated, None);
        let db_id = state.db_or_err(&db)?.id;
        let txn_id = self.begin_sql_txn(&mut state, &db, table_id, None, "insert")?;
        finish_load(&mut state, db_id, txn_id, routed)
    }

    fn delete(
        &mut self,
        table: ObjectName,
        partitions: Option<Vec<String>>,
        filter: Option<Expr>,
    ) -> Result<StatementResult, SqlError> {
        let db = self.resolve_db(table.db.as_deref())?;
        self.require_table(&db, &table.name, Privilege::Load)?;
        let filter = filter.ok_or_else(|| other("Where clause only supports compound predicate, binary predicate, is_null predicate or in predicate"))?;
        // Snapshot the schema, then evaluate literals without holding the catalog lock
        // (a literal may be a scalar subquery that reads the catalog).
        let (columns, keys_model, mow) = {
            let state = self.catalog.read();
            let (_, olap) = olap_of(&state, &db, &table.name)?;
            let mow = olap.keys_model == KeysModel::Unique
                && olap.properties.get("enable_unique_key_merge_on_write") == Some("true");
            (olap.columns.clone(), olap.keys_model, mow)
        };
        let mut conditions = Vec::new();
        self.delete_conditions(&filter, &columns, &table.name, &mut conditions)?;
        if keys_model != KeysModel::Duplicate && !mow {
            for c in &conditions {
                let column = columns
                    .iter()
                    .find(|col| col.unique_id == c.column_unique_id)
                    .expect("resolved above");
                if !column.is_key {
                    return Err(other(format!(
                        "Column[{}] is not key column or storage model is not duplicate or column type is float or double.",
                        column.name
                    )));
                }
            }
        }
        let mut state = self.catalog.write();
        let (table_id, olap) = olap_of(&state, &db, &table.name)?;
        if olap
            .columns
            .iter()
            .map(|c| c.unique_id)
            .ne(columns.iter().map(|c| c.unique_id))
        {
            return Err(other(format!(
                "Table[{}]'s schema changed while deleting, please retry",
                table.name
            )));
        }
        let ids = match &partitions {
            Some(names) => partition_ids(olap, names, false)?,
            None => olap.visible_partitions().iter().map(|p| p.id).collect(),
        };
        let db_id = state.db_or_err(&db)?.id;
        let txn_id = self.begin_sql_txn(&mut state, &db, table_id, None, "delete")?;
        if let Err(e) = state.commit_delete(table_id, &ids, DeletePredicate { conditions }, txn_id)
        {
            abort_quietly(&mut state, db_id, txn_id, &e.to_string());
            return Err(e.into());
        }
        state.finish_sql_txn(txn_id);
        Ok(load_ok(0, &state, txn_id))
    }

    /// Flattens `a = 1 AND b IN (2, 3) AND c IS NULL` into delete conditions.
    fn delete_conditions(
        &self,
        expr: &Expr,
        columns: &[Column],
        table: &str,
        out: &mut Vec<DeleteCondition>,
    ) -> Result<(), SqlError> {
        let column_of = |e: &Expr| -> Result<(i32, String, usize), SqlError> {
            // (unique id, name, position); the type is read from `columns[position]`.
            let Expr::Column(parts) = e else {
                return Err(other("Left expr of binary predicate should be column name"));
            };
            let name = parts.last().cloned().unwrap_or_default();
            let i = columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| {
                    SqlError::from(CatalogError::UnknownColumn {
                        column: name.clone(),
                        table: table.to_owned(),
                    })
                })?;
            Ok((columns[i].unique_id, columns[i].name.clone(), i))
        };
        let literal = |e: &Expr, index: usize| -> Result<Value, SqlError> {
            let v = self.eval_const(e)?;
            columns[index]
                .column_type
                .coerce(&v)
                .map_err(|m| other(format!("Invalid column value: {m}")))
        };
        match expr {
            Expr::Binary { op: BinaryOp::And, left, right } => {
                self.delete_conditions(left, columns, table, out)?;
                self.delete_conditions(right, columns, table, out)
            }
            Expr::Binary { op, left, right } => {
                let op = match op {
                    BinaryOp::Eq => CompareOp::Eq,
                    BinaryOp::Ne => CompareOp::Ne,
                    BinaryOp::Lt => CompareOp::Lt,
                    BinaryOp::Le => CompareOp::Le,
                    BinaryOp::Gt => CompareOp::Gt,
                    BinaryOp::Ge => CompareOp::Ge,
                    _ => return Err(other("Where clause only supports compound predicate, binary predicate, is_null predicate or in predicate")),
                };
                let (unique_id, name, index) = column_of(left)?;
                out.push(DeleteCondition { column_unique_id: unique_id, column_name: name, column_type: columns[index].column_type.clone(), op, values: vec![literal(right, index)?] });
                Ok(())
            }
            Expr::InList { expr, list, negated } => {
                let (unique_id, name, index) = column_of(expr)?;
                let values = list.iter().map(|e| literal(e, index)).collect::<Result<Vec<_>, _>>()?;
                out.push(DeleteCondition {
                    column_unique_id: unique_id,
                    column_name: name,
                    column_type: columns[index].column_type.clone(),
                    op: if *negated { CompareOp::NotIn } else { CompareOp::In },
                    values,
                });
                Ok(())
            }
            Expr::IsNull { expr, negated } => {
                let (unique_id, name, index) = column_of(expr)?;
                out.push(DeleteCondition {
                    column_unique_id: unique_id,
                    column_name: name,
                    column_type: columns[index].column_type.clone(),
                    op: if *negated { CompareOp::IsNotNull } else { CompareOp::IsNull },
                    values: Vec::new(),
                });
                Ok(())
            }
            _ => Err(other("Where clause only supports compound predicate, binary predicate, is_null predicate or in predicate")),
        }
    }
}

/// Publishes a routed load in transaction `txn_id` (aborting it if routing or publishing
/// failed) and builds the OK packet.
fn finish_load(
    state: &mut CatalogState,
    db_id: i64,
    txn_id: i64,
    routed: Result<PreparedLoad, CatalogError>,
) -> Result<StatementResult, SqlError> {
    let published = routed.and_then(|load| {
        let count = load.row_count();
        if count > 0 {
            state.commit_load(load, txn_id)?;
        }
        Ok(count)
    });
    match published {
        Ok(count) => {
            state.finish_sql_txn(txn_id);
            Ok(load_ok(count, state, txn_id))
        }
        Err(e) => {
            abort_quietly(state, db_id, txn_id, &e.to_string());
            Err(e.into())
        }
    }
}

/// Aborts a SQL load's transaction after a failure; the failure itself is what the client
/// sees, so an abort error (the transaction vanished) is only logged.
fn abort_quietly(state: &mut CatalogState, db_id: i64, txn_id: i64, reason: &str) {
    if let Err(e) = state.abort_txn(db_id, txn_id, reason) {
        tracing::debug!(txn_id, error = %e, "could not abort a failed SQL load");
    }
}

/// Doris' OK info for a load: `{'label':'...', 'status':'VISIBLE', 'txnId':'N'}`.
fn load_ok(count: usize, state: &CatalogState, txn_id: i64) -> StatementResult {
    let label = state
        .txns
        .get(txn_id)
        .map(|t| t.label.clone())
        .unwrap_or_default();
    StatementResult::Ok {
        affected_rows: count as u64,
        info: Some(format!(
            "{{'label':'{label}', 'status':'VISIBLE', 'txnId':'{txn_id}'}}"
        )),
    }
}

/// INSERT OVERWRITE, step 1: an empty temporary copy of each target partition (named
/// `<name>_<txn hex>`), each recorded as an ADD_PARTITION. Returns their ids in order.
fn add_overwrite_temp_partitions(
    state: &mut CatalogState,
    db_id: i64,
    table_id: i64,
    ids: &[i64],
    txn_id: i64,
) -> Vec<i64> {
    let mut temp_ids = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(old) = state
            .table_by_id(table_id)
            .and_then(|(_, t)| t.olap())
            .and_then(|o| o.partitions.get(id))
            .cloned()
        else {
            continue;
        };
        let index_ids: Vec<i64> = old.indexes.keys().copied().collect();
        let temp = state.new_partition(
            &format!("{}_{txn_id:x}", old.name),
            old.item.clone(),
            old.distribution.clone(),
            old.bucket_num,
            old.replication_num,
            &index_ids,
            true,
        );
        let temp_id = temp.id;
        if let Some(olap) = state.table_by_id_mut(table_id).and_then(|t| t.olap_mut()) {
            olap.partitions.insert(temp_id, temp);
        }
        state.binlog_add_partition(db_id, table_id, temp_id);
        temp_ids.push(temp_id);
    }
    temp_ids
}

/// INSERT OVERWRITE after a failed load: the temporary partitions are dropped again
/// (each a DROP_PARTITION, as Doris cleans them up).
fn drop_overwrite_temp_partitions(
    state: &mut CatalogState,
    db_id: i64,
    table_id: i64,
    temp_ids: &[i64],
) {
    for temp_id in temp_ids {
        let removed = state
            .table_by_id_mut(table_id)
            .and_then(|t| t.olap_mut())
            .and_then(|olap| olap.partitions.remove(temp_id));
        if let Some(partition) = removed {
            state.binlog_drop_partition(db_id, table_id, &partition, true);
        }
    }
}

/// INSERT OVERWRITE, step 2: the temporary partitions replace the formal ones under the
/// formal names (`REPLACE PARTITION ... WITH TEMPORARY PARTITION`, strict range, formal
/// names kept), recorded as REPLACE_PARTITIONS.
fn swap_in_temp_partitions(
    state: &mut CatalogState,
    db_id: i64,
    table_id: i64,
    ids: &[i64],
    temp_ids: &[i64],
) {
    let Some(olap) = state.table_by_id_mut(table_id).and_then(|t| t.olap_mut()) else {
        return;
    };
    let mut partitions = Vec::new();
    let mut temp_partitions = Vec::new();
    for (id, temp_id) in ids.iter().zip(temp_ids) {
        let Some(old) = olap.partitions.remove(id) else {
            continue;
        };
        let temp = olap
            .partitions
            .get_mut(temp_id)
            .expect("temp partition added");
        temp_partitions.push(std::mem::replace(&mut temp.name, old.name.clone()));
        temp.is_temp = false;
        partitions.push(old.name);
    }
    let replaced = ReplacedPartitions {
        partitions,
        temp_partitions,
        replaced_ids: ids.to_vec(),
        strict_range: true,
        use_temp_partition_name: false,
        force: false,
    };
    state.binlog_replace_partitions(db_id, table_id, &replaced);
}

/// Replaces partitions by empty copies with new ids (TRUNCATE); returns the new ids in
/// the same order.
fn replace_with_empty(state: &mut CatalogState, table_id: i64, ids: &[i64]) -> Vec<i64> {
    let mut new_ids = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(old) = state
            .table_by_id(table_id)
            .and_then(|(_, t)| t.olap())
            .and_then(|o| o.partitions.get(id))
            .cloned()
        else {
            continue;
        };
        let fresh = recreate_partition(state, &old);
        new_ids.push(fresh.id);
        if let Some(olap) = state.table_by_id_mut(table_id).and_then(|t| t.olap_mut()) {
            olap.partitions.remove(id);
            olap.partitions.insert(fresh.id, fresh);
        }
    }
    new_ids
}
