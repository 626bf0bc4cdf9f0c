//! DDL: databases, users/grants, tables, views and ALTER TABLE.

use std::collections::BTreeMap;

use super::ast::{
    AlterTableOp, BoundValue, ColumnDef, ColumnPosition, CreateTable, DistributionDef, GrantObject,
    PartitionDef, PartitionValues, Statement,
};
use super::engine::{ok, FeSession};
use super::render;
use crate::binlog_journal::ReplacedPartitions;
use crate::catalog::table::{
    Buckets, Column, Distribution, IndexMeta, KeysModel, OlapTable, Partition, PartitionItem,
    PartitionKey, PartitionKeyValue, PartitionKind, PartitionScheme, Properties, Table, TableKind,
    TableState, ViewDef,
};
use crate::catalog::types::{ColumnType, Value};
use crate::catalog::user::{Privilege, User};
use crate::catalog::{now_ms, CatalogError, CatalogState, Database};
use crate::session::{ResultColumn, SqlError, StatementResult};
use ccr_binlog::JobState;
use ccr_wire::secret::Secret;

/// Buckets a `BUCKETS AUTO` partition gets: an empty table's size estimate maps to one.
const AUTO_BUCKETS: u32 = 1;
/// Doris picks at most this many leading columns as implicit DUPLICATE keys ...
const MAX_IMPLICIT_KEYS: usize = 3;
/// ... whose summed fixed sizes stay within this many bytes.
const MAX_IMPLICIT_KEY_BYTES: usize = 36;
/// Longest partition name Doris accepts.
const MAX_PARTITION_NAME_LEN: usize = 64;

fn other(msg: impl Into<String>) -> SqlError {
    CatalogError::Other(msg.into()).into()
}

pub(super) fn props_from(list: Vec<(String, String)>) -> Properties {
    let mut p = Properties::default();
    for (k, v) in list {
        p.set(&k, &v);
    }
    p
}

/// Checks binlog and boolean properties the way Doris validates them.
fn validate_properties(props: &[(String, String)]) -> Result<(), SqlError> {
    for (k, v) in props {
        match k.as_str() {
            "binlog.enable"
            | "is_being_synced"
            | "light_schema_change"
            | "enable_unique_key_merge_on_write"
            | "store_row_column"
            | "disable_auto_compaction"
            | "enable_single_replica_compaction"
                if !matches!(v.to_ascii_lowercase().as_str(), "true" | "false") =>
            {
                return Err(other(format!("Invalid {k} value: {v}")));
            }
            "binlog.ttl_seconds" | "binlog.max_bytes" | "binlog.max_history_nums"
                if v.parse::<i64>().is_err() =>
            {
                return Err(other(format!("Invalid {k} format: {v}")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Normalizes boolean property values to lower case (Doris prints `true`/`false`).
pub(super) fn normalize_props(props: Vec<(String, String)>) -> Vec<(String, String)> {
    props
        .into_iter()
        .map(|(k, v)| {
            let lower = v.to_ascii_lowercase();
            if lower == "true" || lower == "false" {
                (k, lower)
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Approximate fixed byte size of a type for the implicit-key rule.
fn key_bytes(t: &ColumnType) -> Option<usize> {
    Some(match t {
        ColumnType::Boolean | ColumnType::TinyInt => 1,
        ColumnType::SmallInt => 2,
        ColumnType::Int | ColumnType::Date => 4,
        ColumnType::BigInt | ColumnType::DateTime { .. } => 8,
        ColumnType::LargeInt | ColumnType::Decimal { .. } => 16,
        _ => return None,
    })
}

/// How many leading columns Doris makes the implicit DUPLICATE keys of a table or rollup:
/// at most [`MAX_IMPLICIT_KEYS`] fixed-size columns within [`MAX_IMPLICIT_KEY_BYTES`], a
/// string column ending the run as its last key, and never fewer than one.
pub(super) fn implicit_key_count<'a>(types: impl Iterator<Item = &'a ColumnType>) -> usize {
    let mut count = 0;
    let mut bytes = 0;
    for column_type in types {
        if count >= MAX_IMPLICIT_KEYS {
            break;
        }
        match key_bytes(column_type) {
            Some(b) if bytes + b <= MAX_IMPLICIT_KEY_BYTES => {
                bytes += b;
                count += 1;
            }
            _ => {
                if column_type.is_string() {
                    count += 1;
                }
                break;
            }
        }
    }
    count.max(1)
}

pub(crate) fn build_column(def: &ColumnDef, unique_id: i32) -> Column {
    Column {
        unique_id,
        name: def.name.clone(),
        column_type: def.column_type.clone(),
        is_key: def.is_key,
        aggregation: def.aggregation,
        nullable: if def.auto_increment {
            def.nullable.unwrap_or(false)
        } else {
            def.nullable.unwrap_or(true)
        },
        auto_increment: def.auto_increment,
        default: def.default.clone(),
        comment: def.comment.clone().unwrap_or_default(),
    }
}

fn bound_key(
    values: &[BoundValue],
    types: &[ColumnType],
    fill_max: bool,
) -> Result<PartitionKey, SqlError> {
    if values.len() > types.len() {
        return Err(other(format!(
            "Partition values number is more than partition column number: {}",
            values.len()
        )));
    }
    let mut key = Vec::with_capacity(types.len());
    for (i, t) in types.iter().enumerate() {
        key.push(match values.get(i) {
            Some(None) => PartitionKeyValue::MaxValue,
            Some(Some(v)) => PartitionKeyValue::Value(
                t.coerce(v)
                    .map_err(|e| other(format!("Invalid partition value: {e}")))?,
            ),
            // Missing trailing columns: after MAXVALUE keep MAXVALUE, else the type minimum.
            None if fill_max && key.contains(&PartitionKeyValue::MaxValue) => {
                PartitionKeyValue::MaxValue
            }
            None => PartitionKeyValue::Value(t.min_value()),
        });
    }
    Ok(PartitionKey(key))
}

/// Doris' partition name rule (FeNameFormat): a letter, then letters, digits or `_`.
fn check_partition_name(name: &str) -> Result<(), SqlError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_PARTITION_NAME_LEN;
    if valid {
        Ok(())
    } else {
        Err(other(format!(
            "Incorrect partition name '{name}'. Partition name regex is '^[a-zA-Z][a-zA-Z0-9_]*$'"
        )))
    }
}

/// Computes a new partition's item and checks it against the existing ones.
pub(super) fn partition_item(
    kind: PartitionKind,
    types: &[ColumnType],
    def: &PartitionDef,
    existing: &[&PartitionItem],
) -> Result<PartitionItem, SqlError> {
    check_partition_name(&def.name)?;
    match (kind, &def.values) {
        (PartitionKind::Unpartitioned, _) => Ok(PartitionItem::Whole),
        (PartitionKind::Range, PartitionValues::LessThan(upper)) => {
            let upper = bound_key(upper, types, true)?;
            // The lower bound is the highest existing upper bound below the new one.
            let lower = existing
                .iter()
                .filter_map(|i| match i {
                    PartitionItem::Range { upper: u, .. } if u.cmp_key(&upper).is_le() => {
                        Some(u.clone())
                    }
                    _ => None,
                })
                .max_by(|a, b| a.cmp_key(b))
                .unwrap_or_else(|| {
                    PartitionKey(
                        types
                            .iter()
                            .map(|t| PartitionKeyValue::Value(t.min_value()))
                            .collect(),
                    )
                });
            check_range(lower, upper, existing)
        }
        (PartitionKind::Range, PartitionValues::Fixed { lower, upper }) => {
            let lower = bound_key(lower, types, false)?;
            let upper = bound_key(upper, types, true)?;
            check_range(lower, upper, existing)
        }
        (PartitionKind::List, PartitionValues::In(tuples)) => {
            let mut keys = Vec::new();
            for tuple in tuples {
                if tuple.len() != types.len() {
                    return Err(other(format!(
                        "partition item's size out of partition columns: {}",
                        tuple.len()
                    )));
                }
                let key = bound_key(tuple, types, false)?;
                for item in existing {
                    if let PartitionItem::List(other_keys) = item {
                        if other_keys.iter().any(|k| k.cmp_key(&key).is_eq()) {
                            return Err(other(format!(
                                "The partition key[{}] in partition item[{}] is conflict",
                                key.describe(types),
                                def.name
                            )));
                        }
                    }
                }
                keys.push(key);
            }
            Ok(PartitionItem::List(keys))
        }
        (PartitionKind::List, PartitionValues::Default) => Ok(PartitionItem::List(Vec::new())),
        (PartitionKind::Range, _) => Err(other(format!(
            "Invalid range value format for partition {}",
            def.name
        ))),
        (PartitionKind::List, _) => Err(other(format!(
            "Invalid list value format for partition {}",
            def.name
        ))),
    }
}

fn check_range(
    lower: PartitionKey,
    upper: PartitionKey,
    existing: &[&PartitionItem],
) -> Result<PartitionItem, SqlError> {
    if lower.cmp_key(&upper).is_ge() {
        return Err(other(format!(
            "The lower values must smaller than upper values: [{}, {})",
            lower.to_sql(),
            upper.to_sql()
        )));
    }
    for item in existing {
        if let PartitionItem::Range { lower: l, upper: u } = item {
            if lower.cmp_key(u).is_lt() && l.cmp_key(&upper).is_lt() {
                return Err(other(format!(
                    "Range {} is intersected with range: {}",
                    range_text(&lower, &upper),
                    range_text(l, u)
                )));
            }
        }
    }
    Ok(PartitionItem::Range { lower, upper })
}

fn range_text(lower: &PartitionKey, upper: &PartitionKey) -> String {
    format!("[{}, {})", lower.to_sql(), upper.to_sql())
}

pub(crate) fn bucket_count(b: Buckets) -> u32 {
    match b {
        Buckets::Fixed(n) => n,
        Buckets::Auto => AUTO_BUCKETS,
    }
}

pub(super) fn schema_hash(seed: i64) -> i32 {
    ((seed.wrapping_mul(2654435761) >> 3) & 0x7fff_ffff) as i32
}

impl FeSession {
    pub(crate) fn execute_ddl(&mut self, stmt: Statement) -> Result<StatementResult, SqlError> {
        match stmt {
            Statement::CreateDatabase {
                if_not_exists,
                name,
                properties,
            } => {
                self.require_db(&name, Privilege::Create)?;
                validate_properties(&properties)?;
                let mut state = self.catalog.write();
                if state.db(&name).is_some() && if_not_exists {
                    return Ok(ok(0));
                }
                state.create_database(&name, props_from(normalize_props(properties)))?;
                // Journaled, but Doris records no binlog for database DDL.
                state.journal_op();
                Ok(ok(0))
            }
            Statement::DropDatabase {
                if_exists,
                name,
                force: _,
            } => {
                self.require_db(&name, Privilege::Drop)?;
                let mut state = self.catalog.write();
                if state.db(&name).is_none() && if_exists {
                    return Ok(ok(0));
                }
                let dropped = state.drop_database(&name)?;
                state.binlog_drop_database(dropped.id);
                drop(state);
                if self.current_db.as_deref() == Some(name.as_str()) {
                    self.current_db = None;
                }
                Ok(ok(0))
            }
            Statement::AlterDatabaseProperties { name, properties } => {
                self.require_db(&name, Privilege::Alter)?;
                validate_properties(&properties)?;
                let mut state = self.catalog.write();
                let db_id = state.db_or_err(&name)?.id;
                // The config before the change governs the change's own binlog.
                let scope = state.binlog_scope(db_id, &[]);
                let properties = normalize_props(properties);
                let db = state.db_mut_or_err(&name)?;
                for (k, v) in &properties {
                    db.properties.set(k, v);
                }
                db.update_time_ms = now_ms();
                state.binlog_alter_database_property(scope, db_id, &properties);
                Ok(ok(0))
            }
            Statement::CreateUser {
                if_not_exists,
                user,
                password,
            } => {
                self.require_global("GRANT", |u| {
                    u.is_admin() || u.global.contains(&Privilege::Grant)
                })?;
                let mut state = self.catalog.write();
                if state.users.contains_key(&user.name) {
                    if if_not_exists {
                        return Ok(ok(0));
                    }
                    return Err(SqlError {
                        code: 1396,
                        sql_state: "HY000".into(),
                        message: format!("errCode = 2, detailMessage = Operation CREATE USER failed for '{}'@'{}' : user already exists", user.name, user.host),
                    });
                }
                state.journal_op();
                state.users.insert(
                    user.name.clone(),
                    User::new(
                        &user.name,
                        &user.host,
                        Secret::new(password.unwrap_or_default()),
                    ),
                );
                Ok(ok(0))
            }
            Statement::Grant {
                privileges,
                object,
                user,
            } => {
                self.require_global("GRANT", |u| {
                    u.is_admin() || u.global.contains(&Privilege::Grant)
                })?;
                let mut privs = Vec::new();
                for p in &privileges {
                    if p.eq_ignore_ascii_case("ALL") {
                        privs.extend(Privilege::all_data_privileges());
                    } else {
                        privs.push(
                            Privilege::from_name(p)
                                .ok_or_else(|| other(format!("Unknown privilege: {p}")))?,
                        );
                    }
                }
                let mut state = self.catalog.write();
                if let GrantObject::Database(db) | GrantObject::Table(db, _) = &object {
                    if db != "*" && state.db(db).is_none() {
                        return Err(CatalogError::UnknownDatabase(db.clone()).into());
                    }
                }
                if !state.users.contains_key(&user.name) {
                    return Err(other(format!(
                        "user '{}'@'{}' does not exist",
                        user.name, user.host
                    )));
                }
                if matches!(object, GrantObject::Database(_) | GrantObject::Table(..))
                    && privs
                        .iter()
                        .any(|p| matches!(p, Privilege::Node | Privilege::Admin))
                {
                    return Err(other(
                        "Can not grant NODE_PRIV or ADMIN_PRIV on a database or table",
                    ));
                }
                state.journal_op();
                let target = state.users.get_mut(&user.name).expect("checked above");
                match object {
                    GrantObject::Global => target.global.extend(privs),
                    GrantObject::Database(db) => {
                        target.databases.entry(db).or_default().extend(privs)
                    }
                    GrantObject::Table(db, t) => {
                        target.tables.entry((db, t)).or_default().extend(privs)
                    }
                }
                Ok(ok(0))
            }
            Statement::CreateTable(ct) => self.create_table(*ct),
            Statement::DropTable {
                if_exists,
                name,
                force: _,
                view,
            } => {
                let db = self.resolve_db(name.db.as_deref())?;
                self.require_table(&db, &name.name, Privilege::Drop)?;
                let mut state = self.catalog.write();
                let database = state.db_mut_or_err(&db)?;
                let Some(table) = database.table(&name.name) else {
                    if if_exists {
                        return Ok(ok(0));
                    }
                    return Err(CatalogError::UnknownTable {
                        db,
                        table: name.name,
                    }
                    .into());
                };
                if table.is_view() != view {
                    let (expected, hint) = if view {
                        ("VIEW", "DROP TABLE")
                    } else {
                        ("TABLE", "DROP VIEW")
                    };
                    return Err(CatalogError::WrongObjectType {
                        db,
                        name: name.name,
                        expected,
                        hint,
                    }
                    .into());
                }
                let (db_id, id) = (database.id, table.id);
                state.binlog_drop_table(db_id, id);
                let database = state.db_mut_or_err(&db)?;
                database.tables.remove(&id);
                database.update_time_ms = now_ms();
                Ok(ok(0))
            }
            Statement::CreateView {
                if_not_exists,
                or_replace,
                name,
                columns,
                comment,
                query,
            } => {
                let db = self.resolve_db(name.db.as_deref())?;
                self.require_db(&db, Privilege::Create)?;
                // Validate the query (and its column count) by running it once.
                let (result_columns, _) = self.run_select(&query, 0)?;
                if !columns.is_empty() && columns.len() != result_columns.len() {
                    return Err(other("The number of columns in the view definition does not match the number of columns in the select"));
                }
                let text = render::qualified_select(&query, &db, &columns);
                let output_names = view_output_names(&columns, &result_columns);
                let mut state = self.catalog.write();
                let db_id = state.db_or_err(&db)?.id;
                let existing = state
                    .db_or_err(&db)?
                    .table(&name.name)
                    .map(|t| (t.id, t.is_view()));
                match existing {
                    Some(_) if if_not_exists => return Ok(ok(0)),
                    Some((id, true)) if or_replace => {
                        let t = state
                            .db_mut_or_err(&db)?
                            .tables
                            .get_mut(&id)
                            .expect("view present");
                        t.kind = TableKind::View(ViewDef {
                            query: text,
                            column_names: columns,
                        });
                        t.update_time_ms = now_ms();
                        // Doris records a replaced view as an ALTER VIEW.
                        state.binlog_modify_view_def(db_id, id, &output_names);
                        return Ok(ok(0));
                    }
                    Some(_) => return Err(CatalogError::TableExists(name.name).into()),
                    None => {}
                }
                let id = state.next_id();
                let now = now_ms();
                state.db_mut_or_err(&db)?.tables.insert(
                    id,
                    Table {
                        id,
                        name: name.name,
                        comment: comment.unwrap_or_default(),
                        kind: TableKind::View(ViewDef {
                            query: text,
                            column_names: columns,
                        }),
                        create_time_ms: now,
                        update_time_ms: now,
                    },
                );
                state.binlog_create_table(db_id, id);
                Ok(ok(0))
            }
            Statement::AlterView {
                name,
                columns,
                query,
            } => {
                let db = self.resolve_db(name.db.as_deref())?;
                self.require_table(&db, &name.name, Privilege::Alter)?;
                let (result_columns, _) = self.run_select(&query, 0)?;
                let text = render::qualified_select(&query, &db, &columns);
                let output_names = view_output_names(&columns, &result_columns);
                let mut state = self.catalog.write();
                let db_id = state.db_or_err(&db)?.id;
                let t = state.db_mut_or_err(&db)?.table_mut_or_err(&name.name)?;
                if !t.is_view() {
                    return Err(CatalogError::WrongObjectType {
                        db,
                        name: name.name,
                        expected: "VIEW",
                        hint: "ALTER TABLE",
                    }
                    .into());
                }
                t.kind = TableKind::View(ViewDef {
                    query: text,
                    column_names: columns,
                });
                t.update_time_ms = now_ms();
                let view_id = t.id;
                state.binlog_modify_view_def(db_id, view_id, &output_names);
                Ok(ok(0))
            }
            Statement::AlterTable { name, ops } => {
                let db = self.resolve_db(name.db.as_deref())?;
                self.require_table(&db, &name.name, Privilege::Alter)?;
                let mut state = self.catalog.write();
                for op in ops {
                    alter_table(&mut state, &db, &name.name, op)?;
                }
                Ok(ok(0))
            }
            Statement::CreateMaterializedView {
                if_not_exists,
                name,
                query,
            } => self.create_materialized_view(if_not_exists, &name, &query),
            Statement::DropMaterializedView {
                if_exists,
                name,
                table,
            } => {
                let db = self.resolve_db(table.db.as_deref())?;
                self.require_table(&db, &table.name, Privilege::Alter)?;
                let mut state = self.catalog.write();
                super::rollup::drop_rollup(&mut state, &db, &table.name, &name, if_exists)?;
                Ok(ok(0))
            }
            other_stmt => Err(SqlError::analysis(format!(
                "Unsupported statement: {other_stmt:?}"
            ))),
        }
    }

    fn create_table(&mut self, ct: CreateTable) -> Result<StatementResult, SqlError> {
        let db_name = self.resolve_db(ct.name.db.as_deref())?;
        self.require_table(&db_name, &ct.name.name, Privilege::Create)?;
        let mut state = self.catalog.write();
        let database = state.db_or_err(&db_name)?;
        if database.table(&ct.name.name).is_some() {
            if ct.if_not_exists {
                return Ok(ok(0));
            }
            return Err(CatalogError::TableExists(ct.name.name).into());
        }
        let db_props = database.properties.clone();
        let olap_parts = build_table_definition(&ct)?;
        let (mut columns, keys_model, partition_scheme, distribution) = olap_parts;
        let mut properties = props_from(normalize_props(ct.properties.clone()));
        validate_properties(&properties.0)?;
        if db_props.get("binlog.enable") == Some("true") {
            if properties.get("binlog.enable") == Some("false") {
                return Err(other(
                    "Cannot create table with binlog disabled when database binlog enable",
                ));
            }
            for (k, v) in db_props.0.iter().filter(|(k, _)| k.starts_with("binlog.")) {
                if properties.get(k).is_none() {
                    properties.set(k, v);
                }
            }
        }
        if keys_model == KeysModel::Unique
            && properties.get("enable_unique_key_merge_on_write").is_none()
        {
            // Doris 2.1 creates merge-on-write unique tables by default.
            properties.set("enable_unique_key_merge_on_write", "true");
        }
        let replication_num = state.replication_num(&properties)?;
        for (i, c) in columns.iter_mut().enumerate() {
            c.unique_id = i as i32;
        }
        let table_id = state.next_id();
        let base_index_id = state.next_id();
        let types: Vec<ColumnType> = partition_scheme
            .columns
            .iter()
            .map(|n| {
                columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(n))
                    .map(|c| c.column_type.clone())
                    .unwrap_or(ColumnType::Int)
            })
            .collect();
        let mut partitions = std::collections::BTreeMap::new();
        let bucket_num = bucket_count(distribution.buckets());
        if partition_scheme.kind == PartitionKind::Unpartitioned {
            let p = state.new_partition(
                &ct.name.name,
                PartitionItem::Whole,
                distribution.clone(),
                bucket_num,
                replication_num,
                &[base_index_id],
                false,
            );
            partitions.insert(p.id, p);
        } else {
            let mut items: Vec<(String, PartitionItem)> = Vec::new();
            for def in &ct.partition.as_ref().expect("partitioned").partitions {
                if items.iter().any(|(n, _)| n.eq_ignore_ascii_case(&def.name)) {
                    return Err(other(format!("Duplicate partition name {}", def.name)));
                }
                let existing: Vec<&PartitionItem> = items.iter().map(|(_, i)| i).collect();
                let item = partition_item(partition_scheme.kind, &types, def, &existing)?;
                items.push((def.name.clone(), item));
            }
            for (name, item) in items {
                let p = state.new_partition(
                    &name,
                    item,
                    distribution.clone(),
                    bucket_num,
                    replication_num,
                    &[base_index_id],
                    false,
                );
                partitions.insert(p.id, p);
            }
        }
        let now = now_ms();
        let next_column_unique_id = columns.len() as i32;
        let olap = OlapTable {
            columns,
            keys_model,
            partition_scheme,
            distribution,
            properties,
            partitions,
            base_index: IndexMeta::base(
                base_index_id,
                &ct.name.name,
                schema_hash(base_index_id),
                keys_model,
            ),
            rollups: Vec::new(),
            next_column_unique_id,
            index_defs: ct.indexes.clone(),
            state: TableState::Normal,
            visible_version: 1,
            visible_version_time_ms: now,
        };
        let table = Table {
            id: table_id,
            name: ct.name.name.clone(),
            comment: ct.comment.clone().unwrap_or_default(),
            kind: TableKind::Olap(Box::new(olap)),
            create_time_ms: now,
            update_time_ms: now,
        };
        let db = state.db_mut_or_err(&db_name)?;
        db.tables.insert(table_id, table);
        db.update_time_ms = now;
        let db_id = db.id;
        state.binlog_create_table(db_id, table_id);
        Ok(ok(0))
    }
}

pub(crate) type TableDefinition = (Vec<Column>, KeysModel, PartitionScheme, Distribution);

/// Validates the column/key/partition/distribution parts of a CREATE TABLE.
pub(super) fn build_table_definition(ct: &CreateTable) -> Result<TableDefinition, SqlError> {
    if ct.columns.is_empty() {
        return Err(other("Table should contain at least one column"));
    }
    for (i, c) in ct.columns.iter().enumerate() {
        if ct.columns[..i]
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(&c.name))
        {
            return Err(CatalogError::DuplicateColumn(c.name.clone()).into());
        }
    }
    let mut columns: Vec<Column> = ct.columns.iter().map(|c| build_column(c, 0)).collect();
    let (keys_model, key_names) = match &ct.keys {
        Some((model, names)) => (*model, names.clone()),
        None => {
            // Doris' implicit DUPLICATE keys: leading short columns.
            let count = implicit_key_count(columns.iter().map(|c| &c.column_type));
            let names = columns[..count].iter().map(|c| c.name.clone()).collect();
            (KeysModel::Duplicate, names)
        }
    };
    for (i, key) in key_names.iter().enumerate() {
        let Some(column) = columns.get(i) else {
            return Err(other(format!("Key column[{key}] doesn't exist.")));
        };
        if !column.name.eq_ignore_ascii_case(key) {
            if !columns.iter().any(|c| c.name.eq_ignore_ascii_case(key)) {
                return Err(other(format!("Key column[{key}] doesn't exist.")));
            }
            return Err(other(format!(
                "Key columns should be a ordered prefix of the schema. KeyColumns[{i}] (starts from zero) is {key}, but corresponding column is {} in the previous columns declaration.",
                column.name
            )));
        }
    }
    for (i, c) in columns.iter_mut().enumerate() {
        let is_key = i < key_names.len();
        if c.is_key && !is_key {
            return Err(other(format!(
                "Key column[{}] should be in the key list",
                c.name
            )));
        }
        c.is_key = is_key;
        match (keys_model, is_key, c.aggregation) {
            (_, true, Some(_)) => {
                return Err(other(format!(
                    "Key column {} should not specify aggregate type.",
                    c.name
                )))
            }
            (KeysModel::Aggregate, false, None) => {
                return Err(other(format!(
                    "The column[{}] must specify aggregate type in AGGREGATE KEY model",
                    c.name
                )))
            }
            (KeysModel::Duplicate | KeysModel::Unique, false, Some(_)) => {
                return Err(other(format!(
                    "{} table should not specify aggregate type for non-key column[{}]",
                    keys_model.keyword(),
                    c.name
                )))
            }
            _ => {}
        }
    }
    let partition_scheme = match &ct.partition {
        None => PartitionScheme {
            kind: PartitionKind::Unpartitioned,
            columns: Vec::new(),
            auto_expr: None,
        },
        Some(clause) => {
            let mut names = Vec::new();
            for name in &clause.columns {
                let column = columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        other(format!(
                            "Partition column[{name}] does not exist in column list."
                        ))
                    })?;
                if !column.column_type.can_partition() {
                    return Err(other(format!(
                        "Type[{}] cannot be a partition column",
                        column.column_type.to_sql()
                    )));
                }
                if keys_model != KeysModel::Duplicate && !column.is_key {
                    return Err(other("The partition column could not be aggregated column"));
                }
                names.push(column.name.clone());
            }
            PartitionScheme {
                kind: clause.kind,
                columns: names,
                auto_expr: clause.auto_expr.clone(),
            }
        }
    };
    let distribution = build_distribution(ct.distribution.as_ref(), &columns, keys_model)?;
    Ok((columns, keys_model, partition_scheme, distribution))
}

fn build_distribution(
    def: Option<&DistributionDef>,
    columns: &[Column],
    keys_model: KeysModel,
) -> Result<Distribution, SqlError> {
    let Some(def) = def else {
        return Ok(match keys_model {
            KeysModel::Duplicate => Distribution::Random {
                buckets: Buckets::Auto,
            },
            _ => Distribution::Hash {
                columns: columns
                    .iter()
                    .filter(|c| c.is_key)
                    .map(|c| c.name.clone())
                    .collect(),
                buckets: Buckets::Auto,
            },
        });
    };
    let buckets = def.buckets.unwrap_or(Buckets::Auto);
    match &def.hash_columns {
        None => {
            if keys_model == KeysModel::Unique {
                return Err(other(
                    "Random distribution for unique key table is not supported",
                ));
            }
            Ok(Distribution::Random { buckets })
        }
        Some(names) => {
            let mut out = Vec::new();
            for name in names {
                let c = columns
                    .iter()
                    .find(|c| c.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| other(format!("Distribution column[{name}] is not found")))?;
                if keys_model != KeysModel::Duplicate && !c.is_key {
                    return Err(other(format!(
                        "Distribution column[{}] is not key column",
                        c.name
                    )));
                }
                out.push(c.name.clone());
            }
            Ok(Distribution::Hash {
                columns: out,
                buckets,
            })
        }
    }
}

/// A view's output column names: the explicit list if given, else the SELECT labels.
fn view_output_names(explicit: &[String], result: &[ResultColumn]) -> Vec<String> {
    if explicit.is_empty() {
        result.iter().map(|c| c.name.clone()).collect()
    } else {
        explicit.to_vec()
    }
}

fn table_mut<'a>(
    state: &'a mut CatalogState,
    db: &str,
    name: &str,
) -> Result<&'a mut Table, SqlError> {
    Ok(state.db_mut_or_err(db)?.table_mut_or_err(name)?)
}

fn olap_mut<'a>(table: &'a mut Table, db: &str) -> Result<&'a mut OlapTable, SqlError> {
    let name = table.name.clone();
    table.olap_mut().ok_or_else(|| {
        CatalogError::WrongObjectType {
            db: db.to_owned(),
            name,
            expected: "TABLE",
            hint: "ALTER VIEW",
        }
        .into()
    })
}

/// Applies one ALTER TABLE clause.
fn alter_table(
    state: &mut CatalogState,
    db: &str,
    name: &str,
    op: AlterTableOp,
) -> Result<(), SqlError> {
    let now = now_ms();
    let (db_id, table_id) = {
        let database = state.db_or_err(db)?;
        (database.id, database.table_or_err(name)?.id)
    };
    match op {
        AlterTableOp::SetProperties(props) => {
            validate_properties(&props)?;
            // The config before the change governs the change's own binlog.
            let scope = state.binlog_scope(db_id, &[table_id]);
            let props = normalize_props(props);
            let table = table_mut(state, db, name)?;
            let olap = olap_mut(table, db)?;
            for (k, v) in &props {
                olap.properties.set(k, v);
            }
            state.binlog_modify_table_property(scope, db_id, table_id, &props);
        }
        AlterTableOp::AddPartition {
            temporary,
            partition,
            distribution,
        } => {
            let (kind, types, existing_items, dist, replication_num, index_ids) = {
                let table = state.db_or_err(db)?.table_or_err(name)?;
                let olap = table
                    .olap()
                    .ok_or_else(|| other(format!("Table[{name}] is not a OLAP table")))?;
                if olap.partition_scheme.kind == PartitionKind::Unpartitioned {
                    return Err(other(format!(
                        "Table[{name}] is not partitioned. Can not add partition"
                    )));
                }
                if olap.partition_by_name(&partition.name, temporary).is_some() {
                    if partition.if_not_exists {
                        return Ok(());
                    }
                    return Err(other(format!(
                        "Duplicate partition name {}",
                        partition.name
                    )));
                }
                let items: Vec<PartitionItem> = olap
                    .partitions
                    .values()
                    .filter(|p| p.is_temp == temporary)
                    .map(|p| p.item.clone())
                    .collect();
                let replication_num = olap
                    .partitions
                    .values()
                    .next()
                    .map(|p| p.replication_num)
                    .unwrap_or(1);
                (
                    olap.partition_scheme.kind,
                    olap.partition_column_types(),
                    items,
                    olap.distribution.clone(),
                    replication_num,
                    olap.index_ids(),
                )
            };
            let refs: Vec<&PartitionItem> = existing_items.iter().collect();
            let item = partition_item(kind, &types, &partition, &refs)?;
            let dist = match distribution {
                None => dist,
                Some(def) => {
                    let buckets = def.buckets.unwrap_or(dist.buckets());
                    match (&dist, def.hash_columns) {
                        (Distribution::Hash { columns, .. }, Some(cols)) => {
                            if cols.len() != columns.len()
                                || cols
                                    .iter()
                                    .zip(columns)
                                    .any(|(a, b)| !a.eq_ignore_ascii_case(b))
                            {
                                return Err(other("Cannot assign hash distribution with different distribution cols"));
                            }
                            Distribution::Hash {
                                columns: columns.clone(),
                                buckets,
                            }
                        }
                        (Distribution::Random { .. }, None) => Distribution::Random { buckets },
                        _ => {
                            return Err(other(
                                "Cannot assign different distribution type. default is: "
                                    .to_owned()
                                    + &render::distribution_sql(&dist),
                            ))
                        }
                    }
                }
            };
            let bucket_num = bucket_count(dist.buckets());
            let p = state.new_partition(
                &partition.name,
                item,
                dist,
                bucket_num,
                replication_num,
                &index_ids,
                temporary,
            );
            let partition_id = p.id;
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            olap.partitions.insert(p.id, p);
            state.binlog_add_partition(db_id, table_id, partition_id);
        }
        AlterTableOp::DropPartition {
            temporary,
            if_exists,
            name: partition,
            force,
        } => {
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            if olap.partition_scheme.kind == PartitionKind::Unpartitioned {
                return Err(other(format!(
                    "Table[{name}] is not partitioned. Can not drop partition"
                )));
            }
            match olap.partition_id_by_name(&partition, temporary) {
                Some(id) => {
                    let removed = olap.partitions.remove(&id).expect("partition present");
                    state.binlog_drop_partition(db_id, table_id, &removed, force);
                }
                None if if_exists => {}
                None => {
                    return Err(SqlError {
                        code: 1507,
                        sql_state: "HY000".into(),
                        message: format!(
                        "errCode = 2, detailMessage = Error in list of partitions to {partition}"
                    ),
                    })
                }
            }
        }
        AlterTableOp::RenamePartition { old, new } => {
            check_partition_name(&new)?;
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            if olap.partition_scheme.kind == PartitionKind::Unpartitioned {
                return Err(other(format!(
                    "Table[{name}] is single partitioned. no need to rename partition name."
                )));
            }
            if olap.partition_by_name(&new, false).is_some() {
                return Err(other(format!("Partition name[{new}] is already used")));
            }
            let id = olap
                .partition_id_by_name(&old, false)
                .ok_or_else(|| other(format!("Partition[{old}] does not exists")))?;
            let partition = olap.partitions.get_mut(&id).expect("partition present");
            let old_name = std::mem::replace(&mut partition.name, new.clone());
            state.binlog_rename_partition(db_id, table_id, id, &old_name, &new);
        }
        AlterTableOp::ReplacePartition {
            partitions,
            temp_partitions,
            properties,
        } => {
            let property_is = |key: &str, value: &str| {
                properties
                    .iter()
                    .any(|(k, v)| k == key && v.eq_ignore_ascii_case(value))
            };
            let use_temp_name = property_is("use_temp_partition_name", "true");
            // Doris defaults `strict_range` to true.
            let strict_range = !property_is("strict_range", "false");
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            let old_ids: Vec<i64> = partitions
                .iter()
                .map(|p| {
                    olap.partition_id_by_name(p, false)
                        .ok_or_else(|| other(format!("Partition[{p}] does not exist")))
                })
                .collect::<Result<_, _>>()?;
            let temp_ids: Vec<i64> = temp_partitions
                .iter()
                .map(|p| {
                    olap.partition_id_by_name(p, true)
                        .ok_or_else(|| other(format!("Temp partition[{p}] does not exist")))
                })
                .collect::<Result<_, _>>()?;
            let keep_names = !use_temp_name && old_ids.len() == temp_ids.len();
            for id in &old_ids {
                olap.partitions.remove(id);
            }
            for (i, id) in temp_ids.iter().enumerate() {
                let p = olap.partitions.get_mut(id).expect("temp partition present");
                p.is_temp = false;
                if keep_names {
                    p.name = partitions[i].clone();
                }
            }
            let replaced = ReplacedPartitions {
                partitions,
                temp_partitions,
                replaced_ids: old_ids,
                strict_range,
                use_temp_partition_name: use_temp_name,
                force: false,
            };
            state.binlog_replace_partitions(db_id, table_id, &replaced);
        }
        AlterTableOp::AddColumns { columns, position } => {
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            let mut at = position.clone();
            let added: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
            for def in columns {
                if olap.column(&def.name).is_some() {
                    return Err(CatalogError::DuplicateColumn(def.name).into());
                }
                if olap.keys_model == KeysModel::Aggregate
                    && !def.is_key
                    && def.aggregation.is_none()
                {
                    return Err(other(format!(
                        "Can not add column which is not key column or aggregate column: {}",
                        def.name
                    )));
                }
                let mut column = build_column(&def, olap.next_column_unique_id);
                olap.next_column_unique_id += 1;
                if olap.keys_model == KeysModel::Unique && !def.is_key {
                    column.aggregation = None;
                }
                let index = match &at {
                    Some(ColumnPosition::First) => 0,
                    Some(ColumnPosition::After(c)) => {
                        olap.column_index(c)
                            .ok_or_else(|| other(format!("Column[{c}] does not exists")))?
                            + 1
                    }
                    None if column.is_key => olap.columns.iter().filter(|c| c.is_key).count(),
                    None => olap.columns.len(),
                };
                let key_count = olap.columns.iter().filter(|c| c.is_key).count();
                if column.is_key && index > key_count {
                    return Err(other(format!(
                        "Can not add key column {} after value column",
                        column.name
                    )));
                }
                if !column.is_key && index < key_count {
                    return Err(other(format!(
                        "Can not add value column {} before key column",
                        column.name
                    )));
                }
                at = Some(ColumnPosition::After(column.name.clone()));
                olap.columns.insert(index, column);
            }
            olap.base_index.schema_version += 1;
            let definitions: Vec<&Column> = added.iter().filter_map(|c| olap.column(c)).collect();
            let light = light_schema_change_applies(olap, &definitions);
            let clause = match definitions.as_slice() {
                [single] => format!(
                    "ADD COLUMN {}{}",
                    render::column_definition(single, olap.keys_model, true),
                    position_sql(position.as_ref())
                ),
                many => format!(
                    "ADD COLUMN ({})",
                    many.iter()
                        .map(|c| render::column_definition(c, olap.keys_model, true))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            record_column_change(state, db, name, (db_id, table_id), &clause, light)?;
        }
        AlterTableOp::DropColumn { name: column } => {
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            let index = olap
                .column_index(&column)
                .ok_or_else(|| other(format!("Column does not exists: {column}")))?;
            if olap
                .partition_scheme
                .columns
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&column))
            {
                return Err(other(format!("Can not drop partition column[{column}]")));
            }
            if let Distribution::Hash { columns, .. } = &olap.distribution {
                if columns.iter().any(|c| c.eq_ignore_ascii_case(&column)) {
                    return Err(other(format!("Can not drop distribution column[{column}]")));
                }
            }
            if olap.columns[index].is_key && olap.keys_model != KeysModel::Duplicate {
                return Err(other(format!(
                    "Can not drop key column in Unique data model table: {column}"
                )));
            }
            if olap.columns[index].is_key && olap.key_columns().count() == 1 {
                return Err(other("Can not drop all key columns"));
            }
            let removed = olap.columns.remove(index);
            olap.base_index.schema_version += 1;
            let light = light_schema_change_applies(olap, &[&removed]);
            let clause = format!("DROP COLUMN {}", render::quote_ident(&removed.name));
            record_column_change(state, db, name, (db_id, table_id), &clause, light)?;
        }
        AlterTableOp::ModifyColumn {
            column: def,
            position,
        } => {
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            let index = olap
                .column_index(&def.name)
                .ok_or_else(|| other(format!("Column[{}] does not exists", def.name)))?;
            let old = olap.columns.remove(index);
            let mut column = build_column(&def, old.unique_id);
            column.is_key = old.is_key || def.is_key;
            if olap.keys_model == KeysModel::Aggregate && !column.is_key {
                column.aggregation = def.aggregation.or(old.aggregation);
            }
            let clause = format!(
                "MODIFY COLUMN {}{}",
                render::column_definition(&column, olap.keys_model, true),
                position_sql(position.as_ref())
            );
            let index = match position {
                Some(ColumnPosition::First) => 0,
                Some(ColumnPosition::After(c)) => {
                    olap.column_index(&c)
                        .ok_or_else(|| other(format!("Column[{c}] does not exists")))?
                        + 1
                }
                None => index,
            };
            olap.columns.insert(index, column);
            olap.base_index.schema_version += 1;
            // Changing a column's type or place rewrites data: always a schema-change job.
            record_column_change(state, db, name, (db_id, table_id), &clause, false)?;
        }
        AlterTableOp::ModifyColumnComment {
            name: column,
            comment,
        } => {
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            let index = olap
                .column_index(&column)
                .ok_or_else(|| other(format!("Unknown column: {column}")))?;
            olap.columns[index].comment = comment.clone();
            let column = olap.columns[index].name.clone();
            state.binlog_modify_comment(db_id, table_id, Some(&column), &comment);
        }
        AlterTableOp::AddRollup {
            name: rollup,
            columns,
            duplicate_keys,
        } => super::rollup::add_rollup(state, db, name, &rollup, &columns, &duplicate_keys)?,
        AlterTableOp::DropRollup { name: rollup } => {
            super::rollup::drop_rollup(state, db, name, &rollup, false)?
        }
        AlterTableOp::RenameRollup { old, new } => {
            super::rollup::rename_rollup(state, db, name, &old, &new)?
        }
        AlterTableOp::ModifyComment(comment) => {
            table_mut(state, db, name)?.comment = comment.clone();
            state.binlog_modify_comment(db_id, table_id, None, &comment);
        }
        AlterTableOp::RenameColumn { old, new } => {
            let olap = olap_mut(table_mut(state, db, name)?, db)?;
            let index = olap
                .column_index(&old)
                .ok_or_else(|| other(format!("Column[{old}] does not exists")))?;
            if olap.column(&new).is_some() && !old.eq_ignore_ascii_case(&new) {
                return Err(other(format!("Column name[{new}] is already used")));
            }
            let canonical = olap.columns[index].name.clone();
            olap.columns[index].name = new.clone();
            // Doris renames the column in every index; MV columns keep their derived names.
            let unique_id = olap.columns[index].unique_id;
            for rollup in olap.rollups.iter_mut().filter(|r| r.define_stmt.is_none()) {
                for column in &mut rollup.columns {
                    if column.source_unique_id == unique_id {
                        column.name = new.clone();
                    }
                }
            }
            for c in olap.partition_scheme.columns.iter_mut() {
                if c.eq_ignore_ascii_case(&canonical) {
                    *c = new.clone();
                }
            }
            let rename = |cols: &mut Vec<String>| {
                for c in cols.iter_mut() {
                    if c.eq_ignore_ascii_case(&canonical) {
                        *c = new.clone();
                    }
                }
            };
            if let Distribution::Hash { columns, .. } = &mut olap.distribution {
                rename(columns);
            }
            for p in olap.partitions.values_mut() {
                if let Distribution::Hash { columns, .. } = &mut p.distribution {
                    rename(columns);
                }
            }
            state.binlog_rename_column(db_id, table_id, &canonical, &new);
        }
        AlterTableOp::Rename { new } => {
            let database = state.db_mut_or_err(db)?;
            if database.table(&new).is_some() {
                return Err(CatalogError::TableExists(new).into());
            }
            let table = database.table_mut_or_err(name)?;
            table.name = new.clone();
            if let Some(olap) = table.olap_mut() {
                olap.base_index.name = new.clone();
            }
            state.binlog_rename_table(db_id, table_id, name, &new);
        }
        AlterTableOp::ReplaceWithTable {
            other: other_name,
            swap,
        } => {
            // A non-swap replace removes the original: capture its config first.
            let scope = state.binlog_scope(db_id, &[table_id]);
            let database: &mut Database = state.db_mut_or_err(db)?;
            let target_id = database.table_or_err(name)?.id;
            let other_id = database.table_or_err(&other_name)?.id;
            for id in [target_id, other_id] {
                if database.tables[&id].is_view() {
                    let n = database.tables[&id].name.clone();
                    return Err(other(format!("Table[{n}] is not a OLAP table")));
                }
            }
            let mut replacement = database
                .tables
                .remove(&other_id)
                .expect("other table present");
            replacement.name = name.to_owned();
            if let Some(olap) = replacement.olap_mut() {
                olap.base_index.name = name.to_owned();
            }
            if swap {
                let target = database.tables.get_mut(&target_id).expect("target present");
                target.name = other_name.clone();
                if let Some(olap) = target.olap_mut() {
                    olap.base_index.name = other_name.clone();
                }
            } else {
                database.tables.remove(&target_id);
            }
            database.tables.insert(other_id, replacement);
            state.binlog_replace_table(
                scope,
                db_id,
                (target_id, name),
                (other_id, &other_name),
                swap,
                false,
            );
        }
    }
    if let Ok(table) = table_mut(state, db, name) {
        table.update_time_ms = now;
    }
    Ok(())
}

/// ` FIRST` / `` AFTER `c` `` of a column clause, or nothing.
fn position_sql(position: Option<&ColumnPosition>) -> String {
    match position {
        Some(ColumnPosition::First) => " FIRST".to_owned(),
        Some(ColumnPosition::After(c)) => format!(" AFTER {}", render::quote_ident(c)),
        None => String::new(),
    }
}

/// Whether Doris applies an add/drop of `columns` as a light schema change: the table has
/// `light_schema_change` on (the 2.1 default) and only value columns are involved.
fn light_schema_change_applies(olap: &OlapTable, columns: &[&Column]) -> bool {
    olap.properties.get("light_schema_change") != Some("false") && columns.iter().all(|c| !c.is_key)
}

/// Records an applied column change: MODIFY_TABLE_ADD_OR_DROP_COLUMNS when light, else an
/// emulated schema-change job. `clause` is the ALTER clause as Doris prints it.
fn record_column_change(
    state: &mut CatalogState,
    db: &str,
    table: &str,
    (db_id, table_id): (i64, i64),
    clause: &str,
    light: bool,
) -> Result<(), SqlError> {
    let raw_sql = format!(
        "ALTER TABLE {}.{} {clause}",
        render::quote_ident(db),
        render::quote_ident(table)
    );
    if light {
        state.binlog_light_schema_change(db_id, table_id, raw_sql);
        Ok(())
    } else {
        run_schema_change_job(state, db_id, table_id, &raw_sql)
    }
}

/// Emulates a schema-change job (`SchemaChangeJobV2`) whose schema is already applied:
/// Doris journals PENDING, WAITING_TXN, RUNNING and FINISHED, each an ALTER_JOB binlog, and
/// on FINISHED swaps a shadow copy of the base index (new index, tablet and replica ids,
/// data converted) in for the origin index. The simulator's rows are keyed by column
/// unique id, so the converted data is the same rowsets under the new tablet ids.
fn run_schema_change_job(
    state: &mut CatalogState,
    db_id: i64,
    table_id: i64,
    raw_sql: &str,
) -> Result<(), SqlError> {
    let layout: Vec<(i64, Vec<usize>)> = {
        let olap = state
            .table_by_id(table_id)
            .and_then(|(_, t)| t.olap())
            .ok_or_else(|| other(format!("table {table_id} is not an OLAP table")))?;
        let origin = olap.base_index.id;
        olap.partitions
            .values()
            .map(|p| {
                let replicas = p.indexes[&origin]
                    .tablets
                    .iter()
                    .map(|t| t.replicas.len())
                    .collect();
                (p.id, replicas)
            })
            .collect()
    };
    let job_id = state.next_id();
    let shadow_index_id = state.next_id();
    // Fresh tablet and replica ids per partition, in tablet order.
    let mut fresh_ids: BTreeMap<i64, Vec<(i64, Vec<i64>)>> = BTreeMap::new();
    for (partition_id, replica_counts) in &layout {
        let tablets = replica_counts
            .iter()
            .map(|count| {
                let tablet_id = state.next_id();
                (tablet_id, (0..*count).map(|_| state.next_id()).collect())
            })
            .collect();
        fresh_ids.insert(*partition_id, tablets);
    }
    let origin_index_id = state
        .table_by_id(table_id)
        .and_then(|(_, t)| t.olap())
        .map(|o| o.base_index.id)
        .expect("checked above");
    let shadow_to_origin = BTreeMap::from([(shadow_index_id, origin_index_id)]);
    for job_state in [JobState::Pending, JobState::WaitingTxn, JobState::Running] {
        state.binlog_schema_change_job(
            db_id,
            table_id,
            job_id,
            job_state,
            raw_sql,
            &shadow_to_origin,
        );
    }
    let olap = state
        .table_by_id_mut(table_id)
        .and_then(|t| t.olap_mut())
        .expect("checked above");
    for (partition_id, tablets) in fresh_ids {
        let partition = olap
            .partitions
            .get_mut(&partition_id)
            .expect("listed above");
        let mut index = partition
            .indexes
            .remove(&origin_index_id)
            .expect("base index in every partition");
        index.id = shadow_index_id;
        for (tablet, (tablet_id, replica_ids)) in index.tablets.iter_mut().zip(tablets) {
            tablet.id = tablet_id;
            for (replica, replica_id) in tablet.replicas.iter_mut().zip(replica_ids) {
                replica.id = replica_id;
            }
        }
        partition.indexes.insert(shadow_index_id, index);
    }
    olap.base_index.id = shadow_index_id;
    olap.base_index.schema_hash = schema_hash(shadow_index_id);
    state.binlog_schema_change_job(
        db_id,
        table_id,
        job_id,
        JobState::Finished,
        raw_sql,
        &shadow_to_origin,
    );
    Ok(())
}

/// A fresh, empty copy of a partition (new ids, version 1) — TRUNCATE / INSERT OVERWRITE.
pub(crate) fn recreate_partition(state: &mut CatalogState, old: &Partition) -> Partition {
    let index_ids: Vec<i64> = old.indexes.keys().copied().collect();
    state.new_partition(
        &old.name,
        old.item.clone(),
        old.distribution.clone(),
        old.bucket_num,
        old.replication_num,
        &index_ids,
        old.is_temp,
    )
}

/// The partition Doris' AUTO PARTITION would create for a row no partition accepts:
/// `date_trunc(col, unit)` ranges named `pYYYYMMDDhhmmss`, or one-value list partitions
/// named `p<value>`. `None` when the table has no auto partitioning.
pub(crate) fn auto_partition_for(
    olap: &OlapTable,
    row: &[Value],
) -> Result<Option<(String, PartitionItem)>, SqlError> {
    let Some(expr) = &olap.partition_scheme.auto_expr else {
        return Ok(None);
    };
    let column = olap
        .partition_scheme
        .columns
        .first()
        .ok_or_else(|| other("auto partition without column"))?;
    let index = olap
        .column_index(column)
        .ok_or_else(|| other(format!("Unknown partition column {column}")))?;
    let value = &row[index];
    if value.is_null() {
        return Err(other(
            "Can't create partition for NULL value in auto partition table",
        ));
    }
    let column_type = &olap.columns[index].column_type;
    match olap.partition_scheme.kind {
        PartitionKind::List => {
            let text = value.to_text();
            let name: String = std::iter::once('p')
                .chain(text.chars().filter(|c| c.is_ascii_alphanumeric()))
                .collect();
            let key = PartitionKey(vec![PartitionKeyValue::Value(value.clone())]);
            Ok(Some((name, PartitionItem::List(vec![key]))))
        }
        PartitionKind::Range => {
            let unit = expr
                .rsplit('\'')
                .nth(1)
                .unwrap_or("day")
                .to_ascii_lowercase();
            let text = value.to_text();
            let (date_part, time_part) = text.split_once(' ').unwrap_or((&text, "00:00:00"));
            let date = chrono::NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
                .map_err(|_| other(format!("Invalid date value for auto partition: {text}")))?;
            let hour: u32 = time_part
                .get(0..2)
                .and_then(|h| h.parse().ok())
                .unwrap_or(0);
            use chrono::{Datelike, Duration, NaiveDateTime};
            let midnight = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).expect("valid midnight");
            let (lower, upper): (NaiveDateTime, NaiveDateTime) = match unit.as_str() {
                "year" => {
                    let l = chrono::NaiveDate::from_ymd_opt(date.year(), 1, 1).expect("valid date");
                    (
                        midnight(l),
                        midnight(
                            chrono::NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
                                .expect("valid date"),
                        ),
                    )
                }
                "month" => {
                    let l = chrono::NaiveDate::from_ymd_opt(date.year(), date.month(), 1)
                        .expect("valid date");
                    let (y, m) = if date.month() == 12 {
                        (date.year() + 1, 1)
                    } else {
                        (date.year(), date.month() + 1)
                    };
                    (
                        midnight(l),
                        midnight(chrono::NaiveDate::from_ymd_opt(y, m, 1).expect("valid date")),
                    )
                }
                "week" => {
                    let l = date - Duration::days(date.weekday().num_days_from_monday() as i64);
                    (midnight(l), midnight(l + Duration::days(7)))
                }
                "hour" => {
                    let l = date
                        .and_hms_opt(hour, 0, 0)
                        .ok_or_else(|| other("Invalid hour"))?;
                    (l, l + Duration::hours(1))
                }
                "day" => (midnight(date), midnight(date + Duration::days(1))),
                other_unit => {
                    return Err(other(format!(
                        "Unsupported auto partition unit: {other_unit}"
                    )))
                }
            };
            let render = |t: NaiveDateTime| match column_type {
                ColumnType::Date => Value::Text(t.format("%Y-%m-%d").to_string()),
                _ => Value::Text(t.format("%Y-%m-%d %H:%M:%S").to_string()),
            };
            let name = format!("p{}", lower.format("%Y%m%d%H%M%S"));
            Ok(Some((
                name,
                PartitionItem::Range {
                    lower: PartitionKey(vec![PartitionKeyValue::Value(render(lower))]),
                    upper: PartitionKey(vec![PartitionKeyValue::Value(render(upper))]),
                },
            )))
        }
        PartitionKind::Unpartitioned => Ok(None),
    }
}
