//! SELECT execution: relations (tables, views, table functions, information_schema),
//! expression evaluation, filtering, grouping/aggregation, ordering and limits.

use std::cmp::Ordering;

use super::ast::{BinaryOp, Expr, FromClause, OrderItem, Select, SelectItem, TableSource};
use super::engine::FeSession;
use super::lexer::tokenize;
use super::parser::parse_statement;
use super::vars::MYSQL_SERVER_VERSION;
use crate::catalog::table::TableKind;
use crate::catalog::types::{ColumnType as CatalogType, Value};
use crate::catalog::user::Privilege;
use crate::catalog::{CatalogError, INFORMATION_SCHEMA};
use crate::session::{ColumnType, ResultColumn, SqlError, StatementResult};

/// Views nest at most this deep (guards against a view that (indirectly) selects itself).
const MAX_VIEW_DEPTH: usize = 16;

#[derive(Debug, Clone)]
pub(crate) struct RelColumn {
    pub name: String,
    pub qualifier: Option<String>,
    pub column_type: ColumnType,
}

/// A materialized input of a SELECT.
#[derive(Debug, Clone, Default)]
pub(crate) struct Relation {
    pub columns: Vec<RelColumn>,
    pub rows: Vec<Vec<Value>>,
}

impl Relation {
    pub fn from_text(names: &[&str], column_type: ColumnType, rows: Vec<Vec<String>>) -> Self {
        Relation {
            columns: names
                .iter()
                .map(|n| RelColumn {
                    name: (*n).to_owned(),
                    qualifier: None,
                    column_type,
                })
                .collect(),
            rows: rows
                .into_iter()
                .map(|r| r.into_iter().map(Value::Text).collect())
                .collect(),
        }
    }
}

/// The wire type of a catalog column type.
pub(crate) fn wire_type(t: &CatalogType) -> ColumnType {
    match t {
        CatalogType::Boolean => ColumnType::Boolean,
        CatalogType::TinyInt => ColumnType::TinyInt,
        CatalogType::SmallInt => ColumnType::SmallInt,
        CatalogType::Int => ColumnType::Int,
        CatalogType::BigInt => ColumnType::BigInt,
        CatalogType::LargeInt => ColumnType::LargeInt,
        CatalogType::Float => ColumnType::Float,
        CatalogType::Double => ColumnType::Double,
        CatalogType::Decimal { .. } => ColumnType::Decimal,
        CatalogType::Date => ColumnType::Date,
        CatalogType::DateTime { .. } => ColumnType::DateTime,
        CatalogType::Char(_) | CatalogType::Varchar(_) => ColumnType::Varchar,
        CatalogType::String | CatalogType::Other(_) => ColumnType::String,
    }
}

/// MySQL LIKE: `%` any run, `_` one char, `\` escapes.
pub(crate) fn like_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('_') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&p[2..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&p, &t)
}

/// Row context for evaluation.
struct Row<'a> {
    columns: &'a [RelColumn],
    values: &'a [Value],
}

fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count" | "sum" | "min" | "max" | "avg" | "any_value" | "group_concat"
    )
}

fn contains_aggregate(expr: &Expr) -> bool {
    match expr {
        Expr::Function { name, args, .. } => {
            is_aggregate(name) || args.iter().any(contains_aggregate)
        }
        Expr::Binary { left, right, .. } => contains_aggregate(left) || contains_aggregate(right),
        Expr::Not(e)
        | Expr::Negate(e)
        | Expr::IsNull { expr: e, .. }
        | Expr::Cast { expr: e, .. } => contains_aggregate(e),
        Expr::InList { expr, list, .. } => {
            contains_aggregate(expr) || list.iter().any(contains_aggregate)
        }
        Expr::Between {
            expr, low, high, ..
        } => contains_aggregate(expr) || contains_aggregate(low) || contains_aggregate(high),
        Expr::Like { expr, pattern, .. } => contains_aggregate(expr) || contains_aggregate(pattern),
        _ => false,
    }
}

impl FeSession {
    pub(crate) fn execute_select(&mut self, select: &Select) -> Result<StatementResult, SqlError> {
        let (columns, rows) = self.run_select(select, 0)?;
        Ok(StatementResult::Rows {
            columns,
            rows: rows
                .into_iter()
                .map(|r| r.iter().map(Value::to_cell).collect())
                .collect(),
        })
    }

    /// Evaluates an expression against one row of a relation.
    pub(crate) fn eval_on_row(
        &self,
        expr: &Expr,
        columns: &[RelColumn],
        values: &[Value],
    ) -> Result<Value, SqlError> {
        self.eval(expr, &Row { columns, values })
    }

    /// Evaluates an expression that needs no row (SET values, INSERT VALUES).
    pub(crate) fn eval_const(&self, expr: &Expr) -> Result<Value, SqlError> {
        self.eval(
            expr,
            &Row {
                columns: &[],
                values: &[],
            },
        )
    }

    pub(crate) fn run_select(
        &self,
        select: &Select,
        depth: usize,
    ) -> Result<(Vec<ResultColumn>, Vec<Vec<Value>>), SqlError> {
        let relation = match &select.from {
            None => Relation {
                columns: Vec::new(),
                rows: vec![Vec::new()],
            },
            Some(from) => self.relation(from, depth)?,
        };
        self.run_select_on(&relation, select)
    }

    /// Runs the non-FROM parts of a SELECT over an already materialized relation.
    pub(crate) fn run_select_on(
        &self,
        relation: &Relation,
        select: &Select,
    ) -> Result<(Vec<ResultColumn>, Vec<Vec<Value>>), SqlError> {
        let mut input: Vec<&Vec<Value>> = Vec::new();
        for row in &relation.rows {
            let keep = match &select.filter {
                Some(f) => self
                    .eval(
                        f,
                        &Row {
                            columns: &relation.columns,
                            values: row,
                        },
                    )?
                    .is_true(),
                None => true,
            };
            if keep {
                input.push(row);
            }
        }
        // Expand `*`.
        let mut items: Vec<(Expr, String)> = Vec::new();
        for item in &select.items {
            match item {
                SelectItem::Wildcard => {
                    for c in &relation.columns {
                        items.push((Expr::Column(vec![c.name.clone()]), c.name.clone()));
                    }
                }
                SelectItem::Expr { expr, alias, label } => {
                    items.push((expr.clone(), alias.clone().unwrap_or_else(|| label.clone())))
                }
            }
        }
        let aggregate = !select.group_by.is_empty()
            || items.iter().any(|(e, _)| contains_aggregate(e))
            || select.having.as_ref().is_some_and(contains_aggregate);
        let columns: Vec<ResultColumn> = items
            .iter()
            .map(|(e, label)| ResultColumn {
                name: label.clone(),
                column_type: self.expr_type(e, &relation.columns),
            })
            .collect();
        // Order keys resolve select aliases and positions to the item expressions.
        let order_exprs: Vec<(Expr, bool)> = select
            .order_by
            .iter()
            .map(|OrderItem { expr, descending }| {
                let resolved = match expr {
                    Expr::Literal(Value::Int(n)) if *n >= 1 && (*n as usize) <= items.len() => {
                        items[*n as usize - 1].0.clone()
                    }
                    Expr::Column(parts)
                        if parts.len() == 1
                            && !relation
                                .columns
                                .iter()
                                .any(|c| c.name.eq_ignore_ascii_case(&parts[0])) =>
                    {
                        items
                            .iter()
                            .find(|(_, l)| l.eq_ignore_ascii_case(&parts[0]))
                            .map(|(e, _)| e.clone())
                            .unwrap_or_else(|| expr.clone())
                    }
                    _ => expr.clone(),
                };
                (resolved, *descending)
            })
            .collect();
        let mut output: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
        if aggregate {
            let mut groups: Vec<(Vec<Value>, Vec<&Vec<Value>>)> = Vec::new();
            for row in input {
                let ctx = Row {
                    columns: &relation.columns,
                    values: row,
                };
                let key: Vec<Value> = select
                    .group_by
                    .iter()
                    .map(|g| {
                        let g = self.resolve_alias(g, &items, &relation.columns);
                        self.eval(&g, &ctx)
                    })
                    .collect::<Result<_, _>>()?;
                match groups.iter_mut().find(|(k, _)| {
                    k.iter()
                        .zip(&key)
                        .all(|(a, b)| a.sort_cmp(b) == Ordering::Equal)
                }) {
                    Some((_, rows)) => rows.push(row),
                    None => groups.push((key, vec![row])),
                }
            }
            if groups.is_empty() && select.group_by.is_empty() {
                groups.push((Vec::new(), Vec::new()));
            }
            for (_, rows) in &groups {
                if let Some(h) = &select.having {
                    if !self.eval_group(h, &relation.columns, rows)?.is_true() {
                        continue;
                    }
                }
                let values = items
                    .iter()
                    .map(|(e, _)| self.eval_group(e, &relation.columns, rows))
                    .collect::<Result<Vec<_>, _>>()?;
                let keys = order_exprs
                    .iter()
                    .map(|(e, _)| self.eval_group(e, &relation.columns, rows))
                    .collect::<Result<Vec<_>, _>>()?;
                output.push((values, keys));
            }
        } else {
            for row in input {
                let ctx = Row {
                    columns: &relation.columns,
                    values: row,
                };
                let values = items
                    .iter()
                    .map(|(e, _)| self.eval(e, &ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                let keys = order_exprs
                    .iter()
                    .map(|(e, _)| self.eval(e, &ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                output.push((values, keys));
            }
        }
        if !order_exprs.is_empty() {
            output.sort_by(|(_, a), (_, b)| {
                for (i, (_, desc)) in order_exprs.iter().enumerate() {
                    let ord = a[i].sort_cmp(&b[i]);
                    let ord = if *desc { ord.reverse() } else { ord };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            });
        }
        let offset = select.offset.unwrap_or(0) as usize;
        let limit = select.limit.map(|l| l as usize).unwrap_or(usize::MAX);
        let rows = output
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(v, _)| v)
            .collect();
        Ok((columns, rows))
    }

    fn resolve_alias(&self, expr: &Expr, items: &[(Expr, String)], columns: &[RelColumn]) -> Expr {
        if let Expr::Column(parts) = expr {
            if parts.len() == 1
                && !columns
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case(&parts[0]))
            {
                if let Some((e, _)) = items
                    .iter()
                    .find(|(_, l)| l.eq_ignore_ascii_case(&parts[0]))
                {
                    return e.clone();
                }
            }
        }
        expr.clone()
    }

    fn expr_type(&self, expr: &Expr, columns: &[RelColumn]) -> ColumnType {
        match expr {
            Expr::Column(parts) => find_column(columns, parts)
                .map(|i| columns[i].column_type)
                .unwrap_or(ColumnType::Varchar),
            Expr::Literal(Value::Int(_)) => ColumnType::BigInt,
            Expr::Literal(Value::Decimal { .. }) => ColumnType::Decimal,
            Expr::Literal(Value::Float(_)) => ColumnType::Double,
            Expr::Literal(Value::Bool(_)) => ColumnType::Boolean,
            Expr::Function { name, args, .. } => match name.as_str() {
                "count" => ColumnType::BigInt,
                "sum" | "min" | "max" => args
                    .first()
                    .map(|a| self.expr_type(a, columns))
                    .map(|t| {
                        if name == "sum"
                            && matches!(
                                t,
                                ColumnType::TinyInt | ColumnType::SmallInt | ColumnType::Int
                            )
                        {
                            ColumnType::BigInt
                        } else {
                            t
                        }
                    })
                    .unwrap_or(ColumnType::BigInt),
                "avg" => ColumnType::Double,
                "murmur_hash3_64" => ColumnType::BigInt,
                _ => ColumnType::Varchar,
            },
            _ => ColumnType::Varchar,
        }
    }

    /// Materializes the FROM source.
    fn relation(&self, from: &FromClause, depth: usize) -> Result<Relation, SqlError> {
        let mut relation = match &from.source {
            TableSource::Function { name } => match name.as_str() {
                "frontends" => {
                    self.require_global("ADMIN/OPERATOR", |u| u.is_operator())?;
                    let (names, rows) = self.frontend_rows();
                    Relation::from_text(&names, ColumnType::String, rows)
                }
                "backends" => {
                    self.require_global("ADMIN/OPERATOR", |u| u.is_operator())?;
                    let (names, rows) = self.backend_rows();
                    Relation::from_text(&names, ColumnType::String, rows)
                }
                other => {
                    return Err(SqlError::analysis(format!(
                        "Can not found function '{other}'"
                    )))
                }
            },
            TableSource::Table(name) => {
                let db = self.resolve_db(name.db.as_deref())?;
                if db.eq_ignore_ascii_case(INFORMATION_SCHEMA) {
                    self.information_schema(&name.name)?
                } else {
                    self.table_relation(&db, &name.name, from.partitions.as_ref(), depth)?
                }
            }
        };
        let qualifier = from.alias.clone().or(match &from.source {
            TableSource::Table(n) => Some(n.name.clone()),
            TableSource::Function { name } => Some(name.clone()),
        });
        for c in &mut relation.columns {
            c.qualifier = qualifier.clone();
        }
        Ok(relation)
    }

    pub(crate) fn table_relation(
        &self,
        db: &str,
        table: &str,
        partitions: Option<&(bool, Vec<String>)>,
        depth: usize,
    ) -> Result<Relation, SqlError> {
        enum Source {
            Rows(Relation),
            View(String, Vec<String>),
        }
        let source = {
            let state = self.catalog.read();
            let database = state.db_or_err(db)?;
            let t = database.table_or_err(table)?;
            match &t.kind {
                TableKind::View(v) => Source::View(v.query.clone(), v.column_names.clone()),
                TableKind::Olap(olap) => {
                    let ids = match partitions {
                        None => None,
                        Some((temp, names)) => Some(
                            names
                                .iter()
                                .map(|n| {
                                    olap.partition_id_by_name(n, *temp).ok_or_else(|| {
                                        SqlError::analysis(format!("Partition: {n} is not exists"))
                                    })
                                })
                                .collect::<Result<Vec<_>, _>>()?,
                        ),
                    };
                    Source::Rows(Relation {
                        columns: olap
                            .columns
                            .iter()
                            .map(|c| RelColumn {
                                name: c.name.clone(),
                                qualifier: None,
                                column_type: wire_type(&c.column_type),
                            })
                            .collect(),
                        rows: olap.scan(ids.as_deref()),
                    })
                }
            }
        };
        self.require_table(db, table, Privilege::Select)?;
        match source {
            Source::Rows(r) => Ok(r),
            Source::View(query, names) => {
                if depth >= MAX_VIEW_DEPTH {
                    return Err(SqlError::analysis(format!("View {table} nests too deeply")));
                }
                let tokens = tokenize(&query).map_err(|e| SqlError::analysis(e.to_string()))?;
                let super::ast::Statement::Select(select) =
                    parse_statement(&query, &tokens).map_err(|e| SqlError::analysis(e.0))?
                else {
                    return Err(SqlError::analysis(format!(
                        "View {table} has an invalid definition"
                    )));
                };
                let (columns, rows) = self.run_select(&select, depth + 1)?;
                Ok(Relation {
                    columns: columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| RelColumn {
                            name: names.get(i).cloned().unwrap_or_else(|| c.name.clone()),
                            qualifier: None,
                            column_type: c.column_type,
                        })
                        .collect(),
                    rows,
                })
            }
        }
    }

    /// `information_schema.tables` / `schemata` (what the syncer and tools query).
    fn information_schema(&self, table: &str) -> Result<Relation, SqlError> {
        let user = self.current_user()?;
        let state = self.catalog.read();
        match table.to_ascii_lowercase().as_str() {
            "tables" => {
                let names = [
                    "TABLE_CATALOG",
                    "TABLE_SCHEMA",
                    "TABLE_NAME",
                    "TABLE_TYPE",
                    "ENGINE",
                    "VERSION",
                    "ROW_FORMAT",
                    "TABLE_ROWS",
                    "AVG_ROW_LENGTH",
                    "DATA_LENGTH",
                    "MAX_DATA_LENGTH",
                    "INDEX_LENGTH",
                    "DATA_FREE",
                    "AUTO_INCREMENT",
                    "CREATE_TIME",
                    "UPDATE_TIME",
                    "CHECK_TIME",
                    "TABLE_COLLATION",
                    "CHECKSUM",
                    "CREATE_OPTIONS",
                    "TABLE_COMMENT",
                ];
                let mut rows = Vec::new();
                for db in state
                    .databases
                    .values()
                    .filter(|d| user.can_see_db(&d.name))
                {
                    for t in db
                        .tables
                        .values()
                        .filter(|t| user.can_see_table(&db.name, &t.name))
                    {
                        let rows_count = t.olap().map(|o| o.scan(None).len()).unwrap_or(0);
                        rows.push(vec![
                            "internal".to_owned(),
                            db.name.clone(),
                            t.name.clone(),
                            if t.is_view() {
                                "VIEW".into()
                            } else {
                                "BASE TABLE".into()
                            },
                            if t.is_view() {
                                "VIEW".into()
                            } else {
                                "Doris".into()
                            },
                            "0".into(),
                            String::new(),
                            rows_count.to_string(),
                            "0".into(),
                            "0".into(),
                            "0".into(),
                            "0".into(),
                            "0".into(),
                            "0".into(),
                            crate::catalog::format_time_ms(t.create_time_ms),
                            crate::catalog::format_time_ms(t.update_time_ms),
                            "NULL".into(),
                            "utf-8".into(),
                            "0".into(),
                            String::new(),
                            t.display_comment().to_owned(),
                        ]);
                    }
                }
                Ok(Relation::from_text(&names, ColumnType::Varchar, rows))
            }
            "schemata" => {
                let names = [
                    "CATALOG_NAME",
                    "SCHEMA_NAME",
                    "DEFAULT_CHARACTER_SET_NAME",
                    "DEFAULT_COLLATION_NAME",
                    "SQL_PATH",
                    "DEFAULT_ENCRYPTION",
                ];
                let rows = state
                    .databases
                    .values()
                    .filter(|d| user.can_see_db(&d.name) || d.name == INFORMATION_SCHEMA)
                    .map(|d| {
                        vec![
                            "internal".into(),
                            d.name.clone(),
                            "utf8mb4".into(),
                            "utf8mb4_0900_bin".into(),
                            "NULL".into(),
                            "NO".into(),
                        ]
                    })
                    .collect();
                Ok(Relation::from_text(&names, ColumnType::Varchar, rows))
            }
            other => Err(CatalogError::UnknownTable {
                db: INFORMATION_SCHEMA.into(),
                table: other.into(),
            }
            .into()),
        }
    }

    fn eval(&self, expr: &Expr, row: &Row<'_>) -> Result<Value, SqlError> {
        Ok(match expr {
            Expr::Literal(v) => v.clone(),
            Expr::Column(parts) => {
                let i = find_column(row.columns, parts).ok_or_else(|| unknown_column(parts))?;
                row.values[i].clone()
            }
            Expr::SystemVar(name) => Value::Text(self.variable(name).ok_or_else(|| SqlError {
                code: 1193,
                sql_state: "HY000".into(),
                message: format!("errCode = 2, detailMessage = Unknown system variable '{name}'"),
            })?),
            Expr::UserVar(name) => self
                .user_variables
                .get(&name.to_ascii_lowercase())
                .cloned()
                .unwrap_or(Value::Null),
            Expr::Subquery(select) => {
                let (_, rows) = self.run_select(select, 0)?;
                if rows.len() > 1 {
                    return Err(SqlError::analysis(
                        "Expected LE 1 to be returned by expression",
                    ));
                }
                rows.into_iter()
                    .next()
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or(Value::Null)
            }
            Expr::Not(e) => {
                let v = self.eval(e, row)?;
                if v.is_null() {
                    Value::Null
                } else {
                    Value::Bool(!v.is_true())
                }
            }
            Expr::Negate(e) => self.eval(e, row)?.negate(),
            Expr::IsNull { expr, negated } => {
                Value::Bool(self.eval(expr, row)?.is_null() != *negated)
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let v = self.eval(expr, row)?;
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut found = false;
                for item in list {
                    if v.sql_cmp(&self.eval(item, row)?) == Some(Ordering::Equal) {
                        found = true;
                        break;
                    }
                }
                Value::Bool(found != *negated)
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = self.eval(expr, row)?;
                let (lo, hi) = (self.eval(low, row)?, self.eval(high, row)?);
                match (v.sql_cmp(&lo), v.sql_cmp(&hi)) {
                    (Some(a), Some(b)) => {
                        Value::Bool((a != Ordering::Less && b != Ordering::Greater) != *negated)
                    }
                    _ => Value::Null,
                }
            }
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                let v = self.eval(expr, row)?;
                let p = self.eval(pattern, row)?;
                if v.is_null() || p.is_null() {
                    return Ok(Value::Null);
                }
                Value::Bool(like_match(&p.to_text(), &v.to_text(), false) != *negated)
            }
            Expr::Cast { expr, type_name } => {
                let v = self.eval(expr, row)?;
                let tokens = tokenize(type_name).map_err(|e| SqlError::analysis(e.to_string()))?;
                let name = match tokens.first().map(|t| &t.kind) {
                    Some(super::lexer::TokenKind::Word(w)) => w.clone(),
                    _ => String::new(),
                };
                let params: Vec<u32> = tokens
                    .iter()
                    .filter_map(|t| match &t.kind {
                        super::lexer::TokenKind::Number(n) => n.parse().ok(),
                        _ => None,
                    })
                    .collect();
                match CatalogType::from_name(&name, &params) {
                    Some(t) => t.coerce(&v).unwrap_or(Value::Null),
                    None => Value::Text(v.to_text()),
                }
            }
            Expr::Binary { op, left, right } => {
                let l = self.eval(left, row)?;
                if *op == BinaryOp::And && !l.is_null() && !l.is_true() {
                    return Ok(Value::Bool(false));
                }
                if *op == BinaryOp::Or && l.is_true() {
                    return Ok(Value::Bool(true));
                }
                let r = self.eval(right, row)?;
                binary(*op, &l, &r)?
            }
            Expr::Function {
                name, args, star, ..
            } => {
                if is_aggregate(name) {
                    // Aggregate outside a group context: evaluate over this single row.
                    let rows = [row.values.to_vec()];
                    let refs: Vec<&Vec<Value>> = rows.iter().collect();
                    return self.eval_group(expr, row.columns, &refs);
                }
                let values = args
                    .iter()
                    .map(|a| self.eval(a, row))
                    .collect::<Result<Vec<_>, _>>()?;
                self.scalar_function(name, &values, *star)?
            }
        })
    }

    fn scalar_function(&self, name: &str, args: &[Value], _star: bool) -> Result<Value, SqlError> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        Ok(match name {
            "version" => Value::Text(MYSQL_SERVER_VERSION.into()),
            "database" | "schema" => self
                .current_db
                .clone()
                .map(Value::Text)
                .unwrap_or(Value::Null),
            "user" | "current_user" | "session_user" | "system_user" => {
                Value::Text(format!("'{}'@'%'", self.user))
            }
            "connection_id" => Value::Int(0),
            "concat" => {
                if args.iter().any(Value::is_null) {
                    Value::Null
                } else {
                    Value::Text(args.iter().map(Value::to_text).collect())
                }
            }
            "concat_ws" => {
                let sep = arg(0).to_text();
                Value::Text(
                    args.iter()
                        .skip(1)
                        .filter(|v| !v.is_null())
                        .map(Value::to_text)
                        .collect::<Vec<_>>()
                        .join(&sep),
                )
            }
            "lower" | "lcase" => {
                if arg(0).is_null() {
                    Value::Null
                } else {
                    Value::Text(arg(0).to_text().to_lowercase())
                }
            }
            "upper" | "ucase" => {
                if arg(0).is_null() {
                    Value::Null
                } else {
                    Value::Text(arg(0).to_text().to_uppercase())
                }
            }
            "length" | "char_length" | "character_length" => {
                if arg(0).is_null() {
                    Value::Null
                } else if name == "length" {
                    Value::Int(arg(0).to_text().len() as i128)
                } else {
                    Value::Int(arg(0).to_text().chars().count() as i128)
                }
            }
            "ifnull" | "nvl" => {
                if arg(0).is_null() {
                    arg(1)
                } else {
                    arg(0)
                }
            }
            "coalesce" => args
                .iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Null),
            "now" | "current_timestamp" | "localtime" | "localtimestamp" | "sysdate" => {
                Value::Text(chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string())
            }
            "current_date" | "curdate" => {
                Value::Text(chrono::Utc::now().format("%Y-%m-%d").to_string())
            }
            "last_insert_id" => Value::Int(0),
            "murmur_hash3_64" => {
                let texts: Vec<Option<String>> = args
                    .iter()
                    .map(|v| (!v.is_null()).then(|| v.to_text()))
                    .collect();
                let bytes: Vec<Option<&[u8]>> = texts
                    .iter()
                    .map(|t| t.as_deref().map(str::as_bytes))
                    .collect();
                super::hash::murmur_hash3_64(&bytes)
                    .map(|h| Value::Int(i128::from(h)))
                    .unwrap_or(Value::Null)
            }
            "abs" => match arg(0) {
                Value::Null => Value::Null,
                v if v.sql_cmp(&Value::Int(0)) == Some(Ordering::Less) => v.negate(),
                v => v,
            },
            other => {
                return Err(SqlError::analysis(format!(
                    "Can not found function '{other}'"
                )))
            }
        })
    }

    /// Evaluates an expression over a group of rows (aggregates aggregate; other column
    /// references take the group's first row).
    fn eval_group(
        &self,
        expr: &Expr,
        columns: &[RelColumn],
        rows: &[&Vec<Value>],
    ) -> Result<Value, SqlError> {
        match expr {
            Expr::Function {
                name,
                args,
                star,
                distinct,
            } if is_aggregate(name) => {
                let mut values = Vec::new();
                for row in rows {
                    let ctx = Row {
                        columns,
                        values: row,
                    };
                    if *star || args.is_empty() {
                        values.push(Value::Int(1));
                    } else {
                        values.push(self.eval(&args[0], &ctx)?);
                    }
                }
                let mut values: Vec<Value> = values.into_iter().filter(|v| !v.is_null()).collect();
                if *distinct {
                    values.sort_by(|a, b| a.sort_cmp(b));
                    values.dedup_by(|a, b| a.sort_cmp(b) == Ordering::Equal);
                }
                Ok(match name.as_str() {
                    "count" => Value::Int(values.len() as i128),
                    "sum" => values
                        .iter()
                        .fold(None, |acc: Option<Value>, v| {
                            Some(acc.map(|a| a.add(v)).unwrap_or(v.clone()))
                        })
                        .unwrap_or(Value::Null),
                    "min" => values
                        .into_iter()
                        .min_by(|a, b| a.sort_cmp(b))
                        .unwrap_or(Value::Null),
                    "max" => values
                        .into_iter()
                        .max_by(|a, b| a.sort_cmp(b))
                        .unwrap_or(Value::Null),
                    "any_value" => values.into_iter().next().unwrap_or(Value::Null),
                    "group_concat" => Value::Text(
                        values
                            .iter()
                            .map(Value::to_text)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    _ => {
                        if values.is_empty() {
                            Value::Null
                        } else {
                            let sum = values.iter().fold(Value::Int(0), |a, v| a.add(v));
                            binary(BinaryOp::Div, &sum, &Value::Int(values.len() as i128))?
                        }
                    }
                })
            }
            Expr::Binary { op, left, right } if contains_aggregate(expr) => {
                let l = self.eval_group(left, columns, rows)?;
                let r = self.eval_group(right, columns, rows)?;
                binary(*op, &l, &r)
            }
            Expr::Not(e) if contains_aggregate(e) => {
                Ok(Value::Bool(!self.eval_group(e, columns, rows)?.is_true()))
            }
            _ => {
                let empty: Vec<Value> = vec![Value::Null; columns.len()];
                let first = rows.first().map(|r| r.as_slice()).unwrap_or(&empty);
                self.eval(
                    expr,
                    &Row {
                        columns,
                        values: first,
                    },
                )
            }
        }
    }
}

fn binary(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, SqlError> {
    use BinaryOp::*;
    Ok(match op {
        And => match (l.is_null(), r.is_null()) {
            (false, false) => Value::Bool(l.is_true() && r.is_true()),
            _ if (!l.is_null() && !l.is_true()) || (!r.is_null() && !r.is_true()) => {
                Value::Bool(false)
            }
            _ => Value::Null,
        },
        Or => match (l.is_null(), r.is_null()) {
            (false, false) => Value::Bool(l.is_true() || r.is_true()),
            _ if l.is_true() || r.is_true() => Value::Bool(true),
            _ => Value::Null,
        },
        NullSafeEq => Value::Bool(l.sort_cmp(r) == Ordering::Equal && l.is_null() == r.is_null()),
        Eq | Ne | Lt | Le | Gt | Ge => match l.sql_cmp(r) {
            None => Value::Null,
            Some(o) => Value::Bool(match op {
                Eq => o == Ordering::Equal,
                Ne => o != Ordering::Equal,
                Lt => o == Ordering::Less,
                Le => o != Ordering::Greater,
                Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }),
        },
        Concat => {
            if l.is_null() || r.is_null() {
                Value::Null
            } else {
                Value::Text(format!("{}{}", l.to_text(), r.to_text()))
            }
        }
        Add => {
            if l.is_null() || r.is_null() {
                Value::Null
            } else {
                l.add(r)
            }
        }
        Sub => {
            if l.is_null() || r.is_null() {
                Value::Null
            } else {
                l.add(&r.negate())
            }
        }
        Mul | Div | Mod => {
            if l.is_null() || r.is_null() {
                return Ok(Value::Null);
            }
            if let (Value::Int(a), Value::Int(b), Mul) = (l, r, op) {
                return Ok(Value::Int(a.saturating_mul(*b)));
            }
            let (a, b): (f64, f64) = (
                l.to_text().parse().unwrap_or(0.0),
                r.to_text().parse().unwrap_or(0.0),
            );
            match op {
                Mul => Value::Float(a * b),
                Div if b == 0.0 => Value::Null,
                Div => Value::Float(a / b),
                _ if b == 0.0 => Value::Null,
                _ => Value::Float(a % b),
            }
        }
    })
}

/// Finds a column by its last name part, honouring a qualifier (alias/table) if given.
fn find_column(columns: &[RelColumn], parts: &[String]) -> Option<usize> {
    let name = parts.last()?;
    let qualifier = if parts.len() >= 2 {
        Some(&parts[parts.len() - 2])
    } else {
        None
    };
    columns.iter().position(|c| {
        c.name.eq_ignore_ascii_case(name)
            && qualifier.is_none_or(|q| c.qualifier.as_deref().is_none_or(|cq| cq == q))
    })
}

fn unknown_column(parts: &[String]) -> SqlError {
    let name = parts.last().cloned().unwrap_or_default();
    let table = if parts.len() >= 2 {
        parts[parts.len() - 2].clone()
    } else {
        "table list".into()
    };
    CatalogError::UnknownColumn {
        column: name,
        table,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::like_match;
    use crate::catalog::Catalog;
    use crate::session::{SqlSession, StatementResult};
    use crate::sql::FeSqlEngine;
    use crate::topology::ClusterTopology;

    fn engine() -> FeSqlEngine {
        let topology = ClusterTopology::for_unit_tests();
        FeSqlEngine::new(Catalog::new(topology, ""))
    }

    /// The cells of the last statement's rows.
    fn query(engine: &FeSqlEngine, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut session = engine.session("root", None).unwrap();
        let mut results = session.execute(sql);
        match results.pop().unwrap().unwrap() {
            StatementResult::Rows { rows, .. } => rows,
            other => panic!("not rows: {other:?}"),
        }
    }

    #[test]
    fn murmur_hash3_64_in_sql_gives_doris_results() {
        let engine = engine();
        let rows = query(
            &engine,
            "SELECT murmur_hash3_64(NULL), murmur_hash3_64('hello'), murmur_hash3_64('hello', 'world')",
        );
        assert_eq!(
            rows,
            vec![vec![
                None,
                Some("-3215607508166160593".into()),
                Some("3583109472027628045".into())
            ]]
        );
    }

    #[test]
    fn row_checksums_sum_as_largeint_over_partitions() {
        let engine = engine();
        let mut session = engine.session("root", None).unwrap();
        for result in session.execute(
            "CREATE DATABASE d;
             CREATE TABLE d.t (id INT, s VARCHAR(10)) DUPLICATE KEY(id)
               PARTITION BY RANGE(id) (PARTITION p1 VALUES LESS THAN (\"10\"), PARTITION p2 VALUES LESS THAN (\"20\"))
               DISTRIBUTED BY HASH(id) BUCKETS 2;
             INSERT INTO d.t VALUES (1, 'hello'), (2, NULL), (15, '\u{e9}t\u{e9}');",
        ) {
            result.unwrap();
        }
        let sum = |from: &str| {
            query(
                &engine,
                &format!(
                    "SELECT COUNT(*), SUM(CAST(murmur_hash3_64(ifnull(concat('v', CAST(`id` AS STRING)), 'n'), \
                     ifnull(concat('v', CAST(`s` AS STRING)), 'n')) AS LARGEINT)) FROM {from}"
                ),
            )
        };
        let row = |id: &str, s: Option<&str>| {
            let id = format!("v{id}");
            let s = s.map(|s| format!("v{s}")).unwrap_or_else(|| "n".into());
            i128::from(
                super::super::hash::murmur_hash3_64(&[Some(id.as_bytes()), Some(s.as_bytes())])
                    .unwrap(),
            )
        };
        let p1 = row("1", Some("hello")) + row("2", None);
        let p2 = row("15", Some("\u{e9}t\u{e9}"));
        assert_eq!(
            sum("d.t PARTITION (p1)"),
            vec![vec![Some("2".into()), Some(p1.to_string())]]
        );
        assert_eq!(
            sum("d.t PARTITIONS (p2)"),
            vec![vec![Some("1".into()), Some(p2.to_string())]]
        );
        assert_eq!(
            sum("d.t"),
            vec![vec![Some("3".into()), Some((p1 + p2).to_string())]]
        );
    }

    #[test]
    fn like_wildcards_and_escapes() {
        assert!(like_match(
            "%enable_feature_binlog%",
            "experimental_enable_feature_binlog",
            false
        ));
        assert!(like_match("d_", "db", false));
        assert!(!like_match("d_", "dbb", false));
        assert!(like_match("a\\_b", "a_b", false));
        assert!(!like_match("a\\_b", "axb", false));
        assert!(like_match("DB", "db", true));
        assert!(!like_match("DB", "db", false));
    }
}
