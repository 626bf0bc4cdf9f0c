//! Doris 2.1-style DDL text: SHOW CREATE DATABASE / TABLE / VIEW, and the fully
//! qualified SELECT text stored for views.

use super::ast::{BinaryOp, Expr, Select, SelectItem, TableSource};
use crate::catalog::table::{
    Buckets, Column, DefaultValue, Distribution, KeysModel, OlapTable, PartitionKind, Table,
};
use crate::catalog::types::Value;
use crate::catalog::Database;

/// Binlog defaults Doris prints for a table (BinlogConfig).
const BINLOG_DEFAULT_TTL_SECONDS: &str = "86400";
const BINLOG_DEFAULT_MAX: &str = "9223372036854775807";

/// Properties Doris prints in this fixed order (with defaults when unset).
const ORDERED_TABLE_PROPERTIES: &[(&str, &str)] = &[
    ("min_load_replica_num", "-1"),
    ("is_being_synced", "false"),
    ("storage_medium", "hdd"),
    ("storage_format", "V2"),
    ("inverted_index_storage_format", "V1"),
];

const TRAILING_TABLE_PROPERTIES: &[(&str, &str)] = &[
    ("light_schema_change", "true"),
    ("disable_auto_compaction", "false"),
    ("enable_single_replica_compaction", "false"),
    ("group_commit_interval_ms", "10000"),
    ("group_commit_data_bytes", "134217728"),
];

/// Keys printed by dedicated code (not copied from the user's properties list).
const SPECIAL_KEYS: &[&str] = &[
    "replication_num",
    "replication_allocation",
    "enable_unique_key_merge_on_write",
    "version_info",
];

pub(crate) fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn escape(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' || c == quote {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `CREATE DATABASE `db`` plus a PROPERTIES block when properties were set.
pub(crate) fn create_database(db: &Database) -> String {
    let mut text = format!("CREATE DATABASE {}", quote_ident(&db.name));
    if !db.properties.is_empty() {
        let props: Vec<String> = db
            .properties
            .0
            .iter()
            .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
            .collect();
        text.push_str(&format!("\nPROPERTIES (\n{}\n)", props.join(",\n")));
    }
    text
}

/// One column definition: `` `c` int NULL DEFAULT "0" COMMENT "x" ``. In an ALTER clause
/// (`for_alter`) key columns carry `KEY` and the comment is always printed, as in the
/// `rawSql` of Doris's schema-change binlogs.
pub(crate) fn column_definition(c: &Column, keys_model: KeysModel, for_alter: bool) -> String {
    let mut line = format!("{} {}", quote_ident(&c.name), c.column_type.to_sql());
    if for_alter && c.is_key {
        line.push_str(" KEY");
    }
    if let (Some(agg), KeysModel::Aggregate) = (c.aggregation, keys_model) {
        if !c.is_key {
            line.push(' ');
            line.push_str(agg.name());
        }
    }
    line.push_str(if c.nullable { " NULL" } else { " NOT NULL" });
    if c.auto_increment {
        line.push_str(" AUTO_INCREMENT(1)");
    }
    match &c.default {
        Some(DefaultValue::Literal(v)) => {
            line.push_str(&format!(" DEFAULT \"{}\"", escape(v, '"')))
        }
        Some(DefaultValue::CurrentTimestamp) => line.push_str(" DEFAULT CURRENT_TIMESTAMP"),
        Some(DefaultValue::BitmapEmpty) => line.push_str(" DEFAULT BITMAP_EMPTY"),
        Some(DefaultValue::Null) if c.nullable => line.push_str(" DEFAULT NULL"),
        _ => {}
    }
    if for_alter || !c.comment.is_empty() {
        line.push_str(&format!(" COMMENT \"{}\"", escape(&c.comment, '"')));
    }
    line
}

/// The `SHOW CREATE TABLE` text of an OLAP table.
pub(crate) fn create_table(table: &Table, olap: &OlapTable, print_binlog: bool) -> String {
    let mut lines: Vec<String> = olap
        .columns
        .iter()
        .map(|c| format!("  {}", column_definition(c, olap.keys_model, false)))
        .collect();
    lines.extend(olap.index_defs.iter().map(|i| format!("  {i}")));
    let mut text = format!(
        "CREATE TABLE {} (\n{}\n) ENGINE=OLAP\n",
        quote_ident(&table.name),
        lines.join(",\n")
    );
    let keys: Vec<String> = olap.key_columns().map(|c| quote_ident(&c.name)).collect();
    text.push_str(&format!(
        "{} KEY({})\n",
        olap.keys_model.keyword(),
        keys.join(", ")
    ));
    let comment = escape(table.display_comment(), '\'');
    text.push_str(&format!("COMMENT '{comment}'\n"));
    let scheme = &olap.partition_scheme;
    if scheme.kind != PartitionKind::Unpartitioned {
        let kind = if scheme.kind == PartitionKind::Range {
            "RANGE"
        } else {
            "LIST"
        };
        let parts: Vec<String> = olap
            .visible_partitions()
            .iter()
            // Doris prints partition names bare (its name rule keeps them plain identifiers).
            .map(|p| format!("PARTITION {} {}", p.name, p.item.values_sql()))
            .collect();
        match &scheme.auto_expr {
            Some(expr) if !expr.is_empty() => {
                text.push_str(&format!("AUTO PARTITION BY {kind} ({expr})\n"))
            }
            Some(_) | None => {
                let cols: Vec<String> = scheme.columns.iter().map(|c| quote_ident(c)).collect();
                let prefix = if scheme.auto_expr.is_some() {
                    "AUTO "
                } else {
                    ""
                };
                text.push_str(&format!(
                    "{prefix}PARTITION BY {kind}({})\n",
                    cols.join(", ")
                ));
            }
        }
        text.push_str(&format!("({})\n", parts.join(",\n")));
    }
    text.push_str(&distribution_sql(&olap.distribution));
    text.push('\n');
    let mut props: Vec<(String, String)> = Vec::new();
    let replicas = olap
        .properties
        .get("replication_num")
        .map(|n| format!("tag.location.default: {n}"))
        .or_else(|| {
            olap.properties
                .get("replication_allocation")
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            format!(
                "tag.location.default: {}",
                olap.partitions
                    .values()
                    .next()
                    .map(|p| p.replication_num)
                    .unwrap_or(1)
            )
        });
    props.push(("replication_allocation".into(), replicas));
    for (k, default) in ORDERED_TABLE_PROPERTIES {
        props.push((
            (*k).into(),
            olap.properties.get(k).unwrap_or(default).to_owned(),
        ));
    }
    if olap.keys_model == KeysModel::Unique {
        props.push((
            "enable_unique_key_merge_on_write".into(),
            olap.properties
                .get("enable_unique_key_merge_on_write")
                .unwrap_or("false")
                .to_owned(),
        ));
    }
    for (k, default) in TRAILING_TABLE_PROPERTIES {
        props.push((
            (*k).into(),
            olap.properties.get(k).unwrap_or(default).to_owned(),
        ));
    }
    // Everything else the user set, in the order given.
    for (k, v) in &olap.properties.0 {
        let known = ORDERED_TABLE_PROPERTIES
            .iter()
            .chain(TRAILING_TABLE_PROPERTIES)
            .any(|(x, _)| x == k);
        if !known && !SPECIAL_KEYS.contains(&k.as_str()) && !k.starts_with("binlog.") {
            props.push((k.clone(), v.clone()));
        }
    }
    if print_binlog {
        for (k, default) in [
            ("binlog.enable", "false"),
            ("binlog.ttl_seconds", BINLOG_DEFAULT_TTL_SECONDS),
            ("binlog.max_bytes", BINLOG_DEFAULT_MAX),
            ("binlog.max_history_nums", BINLOG_DEFAULT_MAX),
        ] {
            props.push((
                k.into(),
                olap.properties.get(k).unwrap_or(default).to_owned(),
            ));
        }
    }
    let rendered: Vec<String> = props
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect();
    text.push_str(&format!("PROPERTIES (\n{}\n);", rendered.join(",\n")));
    text
}

pub(crate) fn distribution_sql(distribution: &Distribution) -> String {
    let buckets = match distribution.buckets() {
        Buckets::Fixed(n) => n.to_string(),
        Buckets::Auto => "AUTO".into(),
    };
    match distribution {
        Distribution::Hash { columns, .. } => {
            let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
            format!("DISTRIBUTED BY HASH({}) BUCKETS {buckets}", cols.join(", "))
        }
        Distribution::Random { .. } => format!("DISTRIBUTED BY RANDOM BUCKETS {buckets}"),
    }
}

/// `CREATE VIEW `v` [COMMENT '...'] AS <query>;`.
pub(crate) fn create_view(table: &Table, query: &str) -> String {
    let comment = if table.comment.is_empty() {
        String::new()
    } else {
        format!(" COMMENT '{}'", escape(&table.comment, '\''))
    };
    format!(
        "CREATE VIEW {}{comment} AS {query};",
        quote_ident(&table.name)
    )
}

/// Renders a view's SELECT fully qualified (`` `internal`.`db`.`t`.`col` ``), with an
/// `AS` label on every item (`column_names` override the labels), like Doris stores it.
pub(crate) fn qualified_select(select: &Select, db: &str, column_names: &[String]) -> String {
    let table = match select.from.as_ref().map(|f| &f.source) {
        Some(TableSource::Table(name)) => Some(format!(
            "`internal`.{}.{}",
            quote_ident(name.db.as_deref().unwrap_or(db)),
            quote_ident(&name.name)
        )),
        _ => None,
    };
    let ctx = QualifyCtx {
        table: table.clone(),
        bare_columns: false,
    };
    let mut items = Vec::new();
    for (i, item) in select.items.iter().enumerate() {
        match item {
            SelectItem::Wildcard => items.push("*".to_owned()),
            SelectItem::Expr { expr, alias, label } => {
                let name = column_names
                    .get(i)
                    .cloned()
                    .or_else(|| alias.clone())
                    .unwrap_or_else(|| label.clone());
                items.push(format!("{} AS {}", ctx.expr(expr), quote_ident(&name)));
            }
        }
    }
    // GROUP BY / ORDER BY may name select-item labels, so bare names stay bare there.
    let keys_ctx = QualifyCtx {
        table: ctx.table.clone(),
        bare_columns: true,
    };
    let mut text = format!("SELECT {}", items.join(", "));
    if let Some(from) = &select.from {
        match &from.source {
            TableSource::Table(_) => {
                text.push_str(&format!(" FROM {}", ctx.table.clone().unwrap_or_default()))
            }
            TableSource::Function { name } => text.push_str(&format!(" FROM {name}()")),
        }
    }
    if let Some(f) = &select.filter {
        text.push_str(&format!(" WHERE {}", ctx.expr(f)));
    }
    if !select.group_by.is_empty() {
        let g: Vec<String> = select.group_by.iter().map(|e| keys_ctx.expr(e)).collect();
        text.push_str(&format!(" GROUP BY {}", g.join(", ")));
    }
    if let Some(h) = &select.having {
        text.push_str(&format!(" HAVING {}", ctx.expr(h)));
    }
    if !select.order_by.is_empty() {
        let o: Vec<String> = select
            .order_by
            .iter()
            .map(|o| {
                format!(
                    "{}{}",
                    keys_ctx.expr(&o.expr),
                    if o.descending { " DESC" } else { " ASC" }
                )
            })
            .collect();
        text.push_str(&format!(" ORDER BY {}", o.join(", ")));
    }
    if let Some(l) = select.limit {
        text.push_str(&format!(" LIMIT {l}"));
        if let Some(o) = select.offset {
            text.push_str(&format!(" OFFSET {o}"));
        }
    }
    text
}

struct QualifyCtx {
    /// `` `internal`.`db`.`t` `` of the single FROM table.
    table: Option<String>,
    /// Render single-part column names unqualified.
    bare_columns: bool,
}

impl QualifyCtx {
    fn expr(&self, expr: &Expr) -> String {
        match expr {
            Expr::Literal(v) => literal(v),
            Expr::Column(parts) => {
                let name = parts.last().cloned().unwrap_or_default();
                if parts.len() == 1 && self.bare_columns {
                    return quote_ident(&name);
                }
                match &self.table {
                    Some(t) => format!("{t}.{}", quote_ident(&name)),
                    None => quote_ident(&name),
                }
            }
            Expr::SystemVar(v) => format!("@@{v}"),
            Expr::UserVar(v) => format!("@{v}"),
            Expr::Function {
                name,
                args,
                star,
                distinct,
            } => {
                let inner = if *star {
                    "*".to_owned()
                } else {
                    args.iter()
                        .map(|a| self.expr(a))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                format!(
                    "{name}({}{inner})",
                    if *distinct { "DISTINCT " } else { "" }
                )
            }
            Expr::Binary { op, left, right } => format!(
                "({} {} {})",
                self.expr(left),
                op_text(*op),
                self.expr(right)
            ),
            Expr::Not(e) => format!("(NOT {})", self.expr(e)),
            Expr::Negate(e) => format!("(-{})", self.expr(e)),
            Expr::IsNull { expr, negated } => format!(
                "({} IS {}NULL)",
                self.expr(expr),
                if *negated { "NOT " } else { "" }
            ),
            Expr::InList {
                expr,
                list,
                negated,
            } => format!(
                "({} {}IN ({}))",
                self.expr(expr),
                if *negated { "NOT " } else { "" },
                list.iter()
                    .map(|e| self.expr(e))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => format!(
                "({} {}BETWEEN {} AND {})",
                self.expr(expr),
                if *negated { "NOT " } else { "" },
                self.expr(low),
                self.expr(high)
            ),
            Expr::Like {
                expr,
                pattern,
                negated,
            } => {
                format!(
                    "({} {}LIKE {})",
                    self.expr(expr),
                    if *negated { "NOT " } else { "" },
                    self.expr(pattern)
                )
            }
            Expr::Subquery(s) => format!("({})", qualified_select(s, "", &[])),
            Expr::Cast { expr, type_name } => format!("CAST({} AS {type_name})", self.expr(expr)),
        }
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) => format!("'{}'", escape(s, '\'')),
        Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        other => other.to_text(),
    }
}

fn op_text(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Eq => "=",
        BinaryOp::NullSafeEq => "<=>",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::And => "AND",
        BinaryOp::Or => "OR",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        BinaryOp::Concat => "||",
    }
}
