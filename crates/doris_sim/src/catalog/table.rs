//! Tables, partitions, materialized indexes, tablets, replicas and versioned row data.

use std::collections::BTreeMap;

use super::types::{ColumnType, Value};

/// Aggregation of a value column in the AGGREGATE KEY model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregationType {
    Sum,
    Min,
    Max,
    Replace,
    ReplaceIfNotNull,
    HllUnion,
    BitmapUnion,
    QuantileUnion,
    Generic,
}

impl AggregationType {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_uppercase().as_str() {
            "SUM" => Self::Sum,
            "MIN" => Self::Min,
            "MAX" => Self::Max,
            "REPLACE" => Self::Replace,
            "REPLACE_IF_NOT_NULL" => Self::ReplaceIfNotNull,
            "HLL_UNION" => Self::HllUnion,
            "BITMAP_UNION" => Self::BitmapUnion,
            "QUANTILE_UNION" => Self::QuantileUnion,
            "GENERIC" => Self::Generic,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "SUM",
            Self::Min => "MIN",
            Self::Max => "MAX",
            Self::Replace => "REPLACE",
            Self::ReplaceIfNotNull => "REPLACE_IF_NOT_NULL",
            Self::HllUnion => "HLL_UNION",
            Self::BitmapUnion => "BITMAP_UNION",
            Self::QuantileUnion => "QUANTILE_UNION",
            Self::Generic => "GENERIC",
        }
    }

    /// Combines the stored value with a newly loaded one.
    pub fn combine(self, old: &Value, new: &Value) -> Value {
        match self {
            Self::Sum => old.add(new),
            Self::Min | Self::Max => {
                if old.is_null() {
                    return new.clone();
                }
                if new.is_null() {
                    return old.clone();
                }
                let take_new = match new.sort_cmp(old) {
                    std::cmp::Ordering::Less => self == Self::Min,
                    std::cmp::Ordering::Greater => self == Self::Max,
                    std::cmp::Ordering::Equal => false,
                };
                if take_new {
                    new.clone()
                } else {
                    old.clone()
                }
            }
            Self::ReplaceIfNotNull => {
                if new.is_null() {
                    old.clone()
                } else {
                    new.clone()
                }
            }
            _ => new.clone(),
        }
    }
}

/// A column's DEFAULT clause.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    Literal(String),
    Null,
    CurrentTimestamp,
    BitmapEmpty,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Stable id of the column across renames; row data is keyed by it (like Doris' column
    /// unique id), so light schema changes do not rewrite rows.
    pub unique_id: i32,
    pub name: String,
    pub column_type: ColumnType,
    pub is_key: bool,
    pub aggregation: Option<AggregationType>,
    pub nullable: bool,
    pub auto_increment: bool,
    pub default: Option<DefaultValue>,
    pub comment: String,
}

#[cfg(test)]
impl Column {
    /// A nullable INT column for tests; unique id 0 is the key.
    pub(crate) fn test_int(unique_id: i32, name: &str) -> Column {
        Column {
            unique_id,
            name: name.into(),
            column_type: crate::catalog::types::ColumnType::Int,
            is_key: unique_id == 0,
            aggregation: None,
            nullable: true,
            auto_increment: false,
            default: None,
            comment: String::new(),
        }
    }
}

impl Column {
    /// The value a row gets when a load does not provide this column.
    pub fn default_value(&self) -> Value {
        match &self.default {
            Some(DefaultValue::Literal(text)) => self
                .column_type
                .coerce(&Value::Text(text.clone()))
                .unwrap_or(Value::Null),
            Some(DefaultValue::CurrentTimestamp) => {
                Value::Text(chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string())
            }
            _ => Value::Null,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysModel {
    Duplicate,
    Unique,
    Aggregate,
}

impl KeysModel {
    /// The keyword Doris prints (`DUPLICATE KEY`, ...).
    pub fn keyword(self) -> &'static str {
        match self {
            KeysModel::Duplicate => "DUPLICATE",
            KeysModel::Unique => "UNIQUE",
            KeysModel::Aggregate => "AGGREGATE",
        }
    }

    /// The `TKeysType` style name (`DUP_KEYS`, ...).
    pub fn thrift_name(self) -> &'static str {
        match self {
            KeysModel::Duplicate => "DUP_KEYS",
            KeysModel::Unique => "UNIQUE_KEYS",
            KeysModel::Aggregate => "AGG_KEYS",
        }
    }
}

/// One bound of a range partition or one list-partition tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionKeyValue {
    Value(Value),
    MaxValue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PartitionKey(pub Vec<PartitionKeyValue>);

impl PartitionKey {
    /// Compares two keys of the same partition columns (MAXVALUE sorts last).
    pub fn cmp_key(&self, other: &PartitionKey) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let ord = match (a, b) {
                (PartitionKeyValue::MaxValue, PartitionKeyValue::MaxValue) => Ordering::Equal,
                (PartitionKeyValue::MaxValue, _) => Ordering::Greater,
                (_, PartitionKeyValue::MaxValue) => Ordering::Less,
                (PartitionKeyValue::Value(x), PartitionKeyValue::Value(y)) => x.sort_cmp(y),
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        self.0.len().cmp(&other.0.len())
    }

    /// `types: [INT]; keys: [100]; ` — the text Doris prints in the `Range` column.
    pub fn describe(&self, types: &[ColumnType]) -> String {
        let type_names: Vec<String> = types.iter().map(ColumnType::primitive_name).collect();
        let keys: Vec<String> = self
            .0
            .iter()
            .map(|k| match k {
                PartitionKeyValue::MaxValue => "MAXVALUE".into(),
                PartitionKeyValue::Value(v) => v.to_text(),
            })
            .collect();
        format!(
            "types: [{}]; keys: [{}]; ",
            type_names.join(", "),
            keys.join(", ")
        )
    }

    /// `("0", "a")` / `(MAXVALUE)` — the SQL form used in DDL and binlog text.
    pub fn to_sql(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|k| match k {
                PartitionKeyValue::MaxValue => "MAXVALUE".into(),
                PartitionKeyValue::Value(v) => format!("\"{}\"", v.to_text()),
            })
            .collect();
        format!("({})", parts.join(", "))
    }
}

/// What a partition holds.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionItem {
    /// The single partition of an unpartitioned table.
    Whole,
    /// `[lower, upper)`.
    Range {
        lower: PartitionKey,
        upper: PartitionKey,
    },
    /// The listed tuples; empty = the DEFAULT partition.
    List(Vec<PartitionKey>),
}

impl PartitionItem {
    /// The `Range` column text of SHOW PARTITIONS (byte-compatible with Doris, which the
    /// syncer relies on to match partitions between clusters).
    pub fn describe(&self, types: &[ColumnType]) -> String {
        match self {
            PartitionItem::Whole => String::new(),
            PartitionItem::Range { lower, upper } => {
                format!("[{}..{})", lower.describe(types), upper.describe(types))
            }
            PartitionItem::List(keys) if keys.is_empty() => {
                format!("[types: [{}]; keys: [default key]; ]", type_list(types))
            }
            PartitionItem::List(keys) => {
                let parts: Vec<String> = keys.iter().map(|k| k.describe(types)).collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }

    /// The `VALUES ...` clause of this partition in DDL text.
    pub fn values_sql(&self) -> String {
        match self {
            PartitionItem::Whole => String::new(),
            PartitionItem::Range { lower, upper } => {
                format!("VALUES [{}, {})", lower.to_sql(), upper.to_sql())
            }
            PartitionItem::List(keys) => {
                if keys.iter().all(|k| k.0.len() == 1) {
                    let vals: Vec<String> = keys
                        .iter()
                        .map(|k| match &k.0[0] {
                            PartitionKeyValue::Value(v) => format!("\"{}\"", v.to_text()),
                            PartitionKeyValue::MaxValue => "MAXVALUE".into(),
                        })
                        .collect();
                    format!("VALUES IN ({})", vals.join(","))
                } else {
                    let vals: Vec<String> = keys.iter().map(PartitionKey::to_sql).collect();
                    format!("VALUES IN ({})", vals.join(","))
                }
            }
        }
    }

    /// Whether a row's partition-column values fall into this partition.
    pub fn contains(&self, key: &PartitionKey) -> bool {
        match self {
            PartitionItem::Whole => true,
            PartitionItem::Range { lower, upper } => {
                lower.cmp_key(key) != std::cmp::Ordering::Greater
                    && key.cmp_key(upper) == std::cmp::Ordering::Less
            }
            PartitionItem::List(keys) => keys
                .iter()
                .any(|k| k.cmp_key(key) == std::cmp::Ordering::Equal),
        }
    }
}

fn type_list(types: &[ColumnType]) -> String {
    types
        .iter()
        .map(ColumnType::primitive_name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionKind {
    Unpartitioned,
    Range,
    List,
}

/// The table's partitioning scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionScheme {
    pub kind: PartitionKind,
    /// Partition column names (as declared).
    pub columns: Vec<String>,
    /// AUTO PARTITION function text, e.g. ``date_trunc(`ts`, 'day')``.
    pub auto_expr: Option<String>,
}

/// Bucket count: fixed or chosen by Doris (`BUCKETS AUTO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buckets {
    Fixed(u32),
    Auto,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Hash {
        columns: Vec<String>,
        buckets: Buckets,
    },
    Random {
        buckets: Buckets,
    },
}

impl Distribution {
    pub fn buckets(&self) -> Buckets {
        match self {
            Distribution::Hash { buckets, .. } | Distribution::Random { buckets } => *buckets,
        }
    }

    /// `HASH(`id`)` columns joined by `, `, or `RANDOM` (SHOW PARTITIONS DistributionKey).
    pub fn key_text(&self) -> String {
        match self {
            Distribution::Hash { columns, .. } => columns.join(", "),
            Distribution::Random { .. } => "RANDOM".into(),
        }
    }
}

/// One copy of a tablet on a backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    pub id: i64,
    pub backend_id: i64,
    /// Highest version this replica has applied.
    pub version: i64,
}

/// The rows one committed load (or delete) wrote into one tablet.
#[derive(Debug, Clone, PartialEq)]
pub struct Rowset {
    pub id: i64,
    /// The partition version this rowset became visible at (`[version, version]`).
    pub version: i64,
    /// The transaction that wrote it (`-1` for data that did not come from a transaction).
    pub txn_id: i64,
    /// Column unique ids in the order the row values are stored.
    pub schema: Vec<i32>,
    pub rows: Vec<Vec<Value>>,
    /// A DELETE: rows of *earlier* versions matching this predicate disappear.
    pub delete_predicate: Option<DeletePredicate>,
}

/// A conjunction of `column op literal` conditions (what Doris' DELETE accepts).
#[derive(Debug, Clone, PartialEq)]
pub struct DeletePredicate {
    pub conditions: Vec<DeleteCondition>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteCondition {
    /// The column's unique id: what the condition is resolved by (Doris'
    /// `DeleteSubPredicatePB.column_unique_id`), so renames and drops of the column do not
    /// break it.
    pub column_unique_id: i32,
    /// The column's name when the DELETE ran (informational, like `column_name` in Doris).
    pub column_name: String,
    /// The column's type when the DELETE ran (Doris keeps it in the delete rowset's tablet
    /// schema), so the condition still applies to a column dropped since.
    pub column_type: ColumnType,
    pub op: CompareOp,
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl CompareOp {
    pub fn matches(self, value: &Value, operands: &[Value]) -> bool {
        use std::cmp::Ordering::*;
        let first = operands.first().cloned().unwrap_or(Value::Null);
        match self {
            CompareOp::IsNull => value.is_null(),
            CompareOp::IsNotNull => !value.is_null(),
            CompareOp::In => operands.iter().any(|o| value.sql_cmp(o) == Some(Equal)),
            CompareOp::NotIn => {
                !value.is_null()
                    && operands
                        .iter()
                        .all(|o| value.sql_cmp(o).is_some_and(|c| c != Equal))
            }
            op => match value.sql_cmp(&first) {
                None => false,
                Some(ord) => match op {
                    CompareOp::Eq => ord == Equal,
                    CompareOp::Ne => ord != Equal,
                    CompareOp::Lt => ord == Less,
                    CompareOp::Le => ord != Greater,
                    CompareOp::Gt => ord == Greater,
                    _ => ord != Less,
                },
            },
        }
    }
}

impl DeletePredicate {
    /// Whether a row (given by column unique id) is deleted by this predicate. A stored
    /// value is read as the condition column's type (a column dropped since the rowset was
    /// written may hold raw values).
    pub fn matches(&self, value_of: impl Fn(i32) -> Value) -> bool {
        self.conditions.iter().all(|c| {
            let value = match value_of(c.column_unique_id) {
                Value::Text(text) if !c.column_type.is_string() => {
                    let raw = Value::Text(text);
                    c.column_type.coerce(&raw).unwrap_or(raw)
                }
                value => value,
            };
            c.op.matches(&value, &c.values)
        })
    }

    /// Unique ids of the columns the conditions read.
    pub fn column_unique_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.conditions.iter().map(|c| c.column_unique_id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tablet {
    pub id: i64,
    pub replicas: Vec<Replica>,
    /// Committed rowsets in version order.
    pub rowsets: Vec<Rowset>,
}

impl Tablet {
    pub fn row_count(&self) -> usize {
        self.rowsets.iter().map(|r| r.rows.len()).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    Normal,
    Shadow,
}

impl IndexState {
    pub fn name(self) -> &'static str {
        match self {
            IndexState::Normal => "NORMAL",
            IndexState::Shadow => "SHADOW",
        }
    }
}

/// A materialized index of one partition (the base index is named like the table).
#[derive(Debug, Clone, PartialEq)]
pub struct MaterializedIndex {
    pub id: i64,
    pub state: IndexState,
    /// One tablet per bucket, in bucket order.
    pub tablets: Vec<Tablet>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub id: i64,
    pub name: String,
    pub item: PartitionItem,
    pub is_temp: bool,
    pub visible_version: i64,
    /// Milliseconds since the epoch.
    pub visible_version_time_ms: i64,
    /// Distribution of this partition (buckets may differ from the table default).
    pub distribution: Distribution,
    pub bucket_num: u32,
    pub replication_num: u32,
    /// Materialized indexes by index id; the table's base index id is always present.
    pub indexes: BTreeMap<i64, MaterializedIndex>,
}

impl Partition {
    pub fn base_index(&self, base_index_id: i64) -> &MaterializedIndex {
        &self.indexes[&base_index_id]
    }

    pub fn row_count(&self) -> usize {
        self.indexes
            .values()
            .next()
            .map(|i| i.tablets.iter().map(Tablet::row_count).sum())
            .unwrap_or(0)
    }
}

/// Metadata of an index that exists in every partition (base index or rollup).
#[derive(Debug, Clone, PartialEq)]
pub struct IndexMeta {
    pub id: i64,
    pub name: String,
    pub schema_hash: i32,
    pub schema_version: i32,
    /// Rollups only: the index's own columns (empty for the base index, whose columns are
    /// the table's).
    pub columns: Vec<IndexColumn>,
    /// Rollups only: how rows with equal keys merge (the base index follows the table).
    pub keys_model: KeysModel,
    /// Synchronous materialized views only: the defining `SELECT` as given.
    pub define_stmt: Option<String>,
}

impl IndexMeta {
    /// The base index of a table: its columns are the table's.
    pub fn base(id: i64, name: &str, schema_hash: i32, keys_model: KeysModel) -> Self {
        IndexMeta {
            id,
            name: name.to_owned(),
            schema_hash,
            schema_version: 0,
            columns: Vec::new(),
            keys_model,
            define_stmt: None,
        }
    }
}

/// A finished rollup build job, as SHOW ALTER TABLE ROLLUP lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupJob {
    pub job_id: i64,
    pub table_name: String,
    pub create_time_ms: i64,
    pub finish_time_ms: i64,
    pub base_index_name: String,
    pub rollup_index_name: String,
    pub rollup_index_id: i64,
    /// The watershed transaction: loads begun before it had to finish first.
    pub transaction_id: i64,
}

/// A column of a rollup / synchronous MV index. Rollup rows are stored keyed by the base
/// column they come from, so a rollup reads the same rowset layout as the base index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexColumn {
    /// The name the index shows (`DESC t ALL`): the base column's name for rollups,
    /// `mv_<col>` / `mva_<AGG>__<col>` for materialized views.
    pub name: String,
    /// Unique id of the base column whose values this column holds.
    pub source_unique_id: i32,
    pub is_key: bool,
    /// Aggregation of a value column (AGGREGATE/UNIQUE rollups and aggregating MVs).
    pub aggregation: Option<AggregationType>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OlapTable {
    pub columns: Vec<Column>,
    pub keys_model: KeysModel,
    pub partition_scheme: PartitionScheme,
    pub distribution: Distribution,
    /// Table properties as given/altered, in insertion order.
    pub properties: Properties,
    /// Regular and temporary partitions by id.
    pub partitions: BTreeMap<i64, Partition>,
    pub base_index: IndexMeta,
    pub rollups: Vec<IndexMeta>,
    pub next_column_unique_id: i32,
    /// Row indexes (`INDEX idx (...) USING ...`) kept as their DDL text.
    pub index_defs: Vec<String>,
    pub state: TableState,
    /// Table-level visible version: 1 at creation, +1 per committed load/delete.
    pub visible_version: i64,
    pub visible_version_time_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableState {
    Normal,
    SchemaChange,
    Rollup,
    Restore,
}

impl TableState {
    pub fn name(self) -> &'static str {
        match self {
            TableState::Normal => "NORMAL",
            TableState::SchemaChange => "SCHEMA_CHANGE",
            TableState::Rollup => "ROLLUP",
            TableState::Restore => "RESTORE",
        }
    }
}

impl OlapTable {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.is_key)
    }

    pub fn partition_column_types(&self) -> Vec<ColumnType> {
        self.partition_scheme
            .columns
            .iter()
            .filter_map(|n| self.column(n).map(|c| c.column_type.clone()))
            .collect()
    }

    /// Regular (non-temporary) partitions in Doris' display order: by range/list key
    /// for partitioned tables, else by id.
    pub fn visible_partitions(&self) -> Vec<&Partition> {
        self.sorted_partitions(false)
    }

    pub fn temp_partitions(&self) -> Vec<&Partition> {
        self.sorted_partitions(true)
    }

    fn sorted_partitions(&self, temp: bool) -> Vec<&Partition> {
        let mut parts: Vec<&Partition> = self
            .partitions
            .values()
            .filter(|p| p.is_temp == temp)
            .collect();
        parts.sort_by(|a, b| match (&a.item, &b.item) {
            (PartitionItem::Range { lower: la, .. }, PartitionItem::Range { lower: lb, .. }) => {
                la.cmp_key(lb)
            }
            (PartitionItem::List(ka), PartitionItem::List(kb)) => match (ka.first(), kb.first()) {
                (Some(x), Some(y)) => x.cmp_key(y),
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, None) => a.id.cmp(&b.id),
            },
            _ => a.id.cmp(&b.id),
        });
        parts
    }

    pub fn partition_by_name(&self, name: &str, temp: bool) -> Option<&Partition> {
        self.partitions
            .values()
            .find(|p| p.is_temp == temp && p.name.eq_ignore_ascii_case(name))
    }

    pub fn partition_id_by_name(&self, name: &str, temp: bool) -> Option<i64> {
        self.partition_by_name(name, temp).map(|p| p.id)
    }

    pub fn replica_count(&self) -> usize {
        self.partitions
            .values()
            .flat_map(|p| p.indexes.values())
            .flat_map(|i| i.tablets.iter())
            .map(|t| t.replicas.len())
            .sum()
    }

    /// Ids of the base index and every rollup (what a new partition materializes).
    pub fn index_ids(&self) -> Vec<i64> {
        std::iter::once(self.base_index.id)
            .chain(self.rollups.iter().map(|r| r.id))
            .collect()
    }

    /// The base index or a rollup by name (case-insensitive, like Doris index names).
    pub fn index_by_name(&self, name: &str) -> Option<&IndexMeta> {
        std::iter::once(&self.base_index)
            .chain(&self.rollups)
            .find(|m| m.name.eq_ignore_ascii_case(name))
    }

    pub fn rollup(&self, name: &str) -> Option<&IndexMeta> {
        self.rollups
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The columns of a rollup whose base column still exists, paired with that column.
    pub fn rollup_columns<'a>(
        &'a self,
        rollup: &'a IndexMeta,
    ) -> Vec<(&'a IndexColumn, &'a Column)> {
        rollup
            .columns
            .iter()
            .filter_map(|ic| {
                self.columns
                    .iter()
                    .find(|c| c.unique_id == ic.source_unique_id)
                    .map(|c| (ic, c))
            })
            .collect()
    }

    pub fn binlog_enabled(&self) -> bool {
        self.properties.get("binlog.enable") == Some("true")
    }
}

/// A view: its (fully qualified) defining SELECT text.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    /// The SELECT text as stored (table refs qualified as `` `internal`.`db`.`t` ``).
    pub query: String,
    /// Explicit column names from `CREATE VIEW v (a, b)`, if any.
    pub column_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableKind {
    Olap(Box<OlapTable>),
    View(ViewDef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub id: i64,
    pub name: String,
    pub comment: String,
    pub kind: TableKind,
    pub create_time_ms: i64,
    pub update_time_ms: i64,
}

impl Table {
    pub fn olap(&self) -> Option<&OlapTable> {
        match &self.kind {
            TableKind::Olap(t) => Some(t),
            TableKind::View(_) => None,
        }
    }

    pub fn olap_mut(&mut self) -> Option<&mut OlapTable> {
        match &mut self.kind {
            TableKind::Olap(t) => Some(t),
            TableKind::View(_) => None,
        }
    }

    pub fn is_view(&self) -> bool {
        matches!(self.kind, TableKind::View(_))
    }

    /// `OLAP` / `VIEW` as in SHOW PROC '/dbs/<id>'.
    pub fn type_name(&self) -> &'static str {
        if self.is_view() {
            "VIEW"
        } else {
            "OLAP"
        }
    }

    /// The comment as Doris reports it (`Table.getComment`): the stored comment, or the
    /// table type's name (`OLAP`, `VIEW`) when it is empty.
    pub fn display_comment(&self) -> &str {
        if self.comment.is_empty() {
            self.type_name()
        } else {
            &self.comment
        }
    }
}

/// String properties in insertion order (Doris prints user properties in a stable order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties(pub Vec<(String, String)>);

impl Properties {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.0.push((key.to_owned(), value.to_owned())),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_text_matches_doris_rendering() {
        let item = PartitionItem::Range {
            lower: PartitionKey(vec![PartitionKeyValue::Value(Value::Int(0))]),
            upper: PartitionKey(vec![PartitionKeyValue::Value(Value::Int(100))]),
        };
        assert_eq!(
            item.describe(&[ColumnType::Int]),
            "[types: [INT]; keys: [0]; ..types: [INT]; keys: [100]; )"
        );
        let list = PartitionItem::List(vec![
            PartitionKey(vec![PartitionKeyValue::Value(Value::Int(500))]),
            PartitionKey(vec![PartitionKeyValue::Value(Value::Int(600))]),
        ]);
        assert_eq!(
            list.describe(&[ColumnType::Int]),
            "[types: [INT]; keys: [500]; , types: [INT]; keys: [600]; ]"
        );
        assert_eq!(list.values_sql(), "VALUES IN (\"500\",\"600\")");
    }

    #[test]
    fn aggregation_combines_like_doris() {
        assert_eq!(
            AggregationType::Sum.combine(&Value::Int(3), &Value::Int(4)),
            Value::Int(7)
        );
        assert_eq!(
            AggregationType::Max.combine(&Value::Int(3), &Value::Int(1)),
            Value::Int(3)
        );
        assert_eq!(
            AggregationType::Min.combine(&Value::Int(3), &Value::Int(1)),
            Value::Int(1)
        );
        assert_eq!(
            AggregationType::ReplaceIfNotNull.combine(&Value::Int(3), &Value::Null),
            Value::Int(3)
        );
    }
}
