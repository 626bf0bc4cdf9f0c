//! The snapshot `meta` getSnapshot returns and restoreSnapshot takes back.
//!
//! Doris sends its binary BackupMeta (Java-serialized catalog objects). The simulator sends a
//! JSON document of its own, [`BackupMetaDoc`]: per OLAP table the Doris-rendered `CREATE
//! TABLE` text (columns, keys, partitioning, distribution, properties) plus each backed-up
//! partition's bucket and replica counts, the columns' unique ids and the table's next unique
//! id (Doris's BackupMeta carries the whole catalog table, so a restored table keeps them),
//! and the real table comment (the rendered text shows `'OLAP'` for an empty one); per view
//! its stored SELECT text. The syncer treats
//! `meta` as opaque bytes, so only the simulated FE reads it.

use serde::{Deserialize, Serialize};

use crate::catalog::table::{
    AggregationType, Buckets, Column, Distribution, IndexColumn, IndexMeta, KeysModel, OlapTable,
    Partition, PartitionItem, PartitionKind, Table, TableKind, TableState,
};
use crate::catalog::types::ColumnType;
use crate::catalog::{now_ms, CatalogState};
use crate::sql::ast::{CreateTable, Statement};
use crate::sql::{ddl_support, render};

/// Tag of [`BackupMetaDoc`] documents.
pub const BACKUP_META_FORMAT: &str = "doris_sim.backup_meta.v1";

/// The catalog objects of one snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupMetaDoc {
    pub format: String,
    pub db_id: i64,
    pub db_name: String,
    pub tables: Vec<TableMetaDoc>,
    pub views: Vec<ViewMetaDoc>,
}

/// An OLAP table of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMetaDoc {
    pub id: i64,
    pub name: String,
    /// `SHOW CREATE TABLE` text with binlog properties, listing every partition.
    pub create_sql: String,
    /// The backed-up partitions (a subset of those in `create_sql` for partial backups).
    pub partitions: Vec<PartitionMetaDoc>,
    /// Rollups and synchronous MVs, in creation order.
    #[serde(default)]
    pub rollups: Vec<RollupMetaDoc>,
    /// Unique id of each column of `create_sql`, in its order.
    #[serde(default)]
    pub column_unique_ids: Vec<i32>,
    /// The table's next column unique id (above every id it ever gave, dropped columns'
    /// included).
    #[serde(default)]
    pub next_column_unique_id: Option<i32>,
    /// The table comment as stored (`""` when there is none).
    #[serde(default)]
    pub comment: Option<String>,
}

/// A rollup / synchronous MV of a snapshot table; columns name their base column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupMetaDoc {
    pub name: String,
    /// `DUP_KEYS` / `AGG_KEYS` / `UNIQUE_KEYS`.
    pub keys_type: String,
    pub columns: Vec<RollupColumnDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub define_stmt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupColumnDoc {
    pub name: String,
    /// The base column whose values the index column holds.
    pub base_column: String,
    pub is_key: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
    /// Unique id of the base column (resolved by name when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_unique_id: Option<i32>,
}

impl RollupMetaDoc {
    fn of(olap: &OlapTable, rollup: &IndexMeta) -> Self {
        RollupMetaDoc {
            name: rollup.name.clone(),
            keys_type: rollup.keys_model.thrift_name().to_owned(),
            columns: olap
                .rollup_columns(rollup)
                .into_iter()
                .map(|(ic, c)| RollupColumnDoc {
                    name: ic.name.clone(),
                    base_column: c.name.clone(),
                    is_key: ic.is_key,
                    aggregation: ic.aggregation.map(|a| a.name().to_owned()),
                    source_unique_id: Some(ic.source_unique_id),
                })
                .collect(),
            define_stmt: rollup.define_stmt.clone(),
        }
    }

    /// The rollup's index metadata in a table whose columns are `columns`.
    fn build(&self, id: i64, columns: &[Column]) -> Result<IndexMeta, String> {
        let keys_model = [
            KeysModel::Duplicate,
            KeysModel::Aggregate,
            KeysModel::Unique,
        ]
        .into_iter()
        .find(|m| m.thrift_name() == self.keys_type)
        .ok_or_else(|| format!("rollup {}: unknown keys type {}", self.name, self.keys_type))?;
        let index_columns = self
            .columns
            .iter()
            .map(|doc| {
                let base = columns
                    .iter()
                    .find(|c| match doc.source_unique_id {
                        Some(id) => c.unique_id == id,
                        None => c.name.eq_ignore_ascii_case(&doc.base_column),
                    })
                    .ok_or_else(|| {
                        format!("rollup {}: unknown column {}", self.name, doc.base_column)
                    })?;
                let aggregation = match &doc.aggregation {
                    None => None,
                    Some(name) => Some(AggregationType::from_name(name).ok_or_else(|| {
                        format!("rollup {}: unknown aggregation {name}", self.name)
                    })?),
                };
                Ok(IndexColumn {
                    name: doc.name.clone(),
                    source_unique_id: base.unique_id,
                    is_key: doc.is_key,
                    aggregation,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(IndexMeta {
            id,
            name: self.name.clone(),
            schema_hash: ddl_support::schema_hash(id),
            schema_version: 0,
            columns: index_columns,
            keys_model,
            define_stmt: self.define_stmt.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionMetaDoc {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub bucket_num: u32,
    pub replication_num: u32,
}

/// A view of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewMetaDoc {
    pub id: i64,
    pub name: String,
    pub comment: String,
    /// The stored SELECT, table refs qualified with the source database.
    pub query: String,
    pub column_names: Vec<String>,
}

impl TableMetaDoc {
    /// The meta of `table` restricted to `partitions`.
    pub fn of(table: &Table, olap: &OlapTable, partitions: &[&Partition]) -> Self {
        TableMetaDoc {
            id: table.id,
            name: table.name.clone(),
            create_sql: render::create_table(table, olap, true),
            partitions: partitions
                .iter()
                .map(|p| PartitionMetaDoc {
                    id: p.id,
                    name: p.name.clone(),
                    version: p.visible_version,
                    bucket_num: p.bucket_num,
                    replication_num: p.replication_num,
                })
                .collect(),
            rollups: olap
                .rollups
                .iter()
                .map(|r| RollupMetaDoc::of(olap, r))
                .collect(),
            column_unique_ids: olap.columns.iter().map(|c| c.unique_id).collect(),
            next_column_unique_id: Some(olap.next_column_unique_id),
            comment: Some(table.comment.clone()),
        }
    }

    fn parse(&self) -> Result<CreateTable, String> {
        match crate::sql::parse_one(&self.create_sql)
            .map_err(|e| format!("invalid table meta of {}: {e}", self.name))?
        {
            Statement::CreateTable(ct) => Ok(*ct),
            _ => Err(format!("invalid table meta of {}", self.name)),
        }
    }
}

/// What makes two tables "the same schema" for restore: Doris's table signature covers the
/// name-independent shape — keys model, columns, partitioning and distribution.
pub fn schema_signature(olap: &OlapTable) -> String {
    let columns: Vec<String> = olap
        .columns
        .iter()
        .map(|c| {
            format!(
                "{}:{}:{}:{}:{}",
                c.name.to_ascii_lowercase(),
                c.column_type.to_sql(),
                c.is_key,
                c.aggregation.map(|a| a.name()).unwrap_or(""),
                c.nullable
            )
        })
        .collect();
    let partition_columns: Vec<String> = olap
        .partition_scheme
        .columns
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    // Doris signs every index's schema too: a table that gained or lost a rollup differs.
    let rollups: Vec<String> = olap
        .rollups
        .iter()
        .map(|r| {
            let columns: Vec<String> = olap
                .rollup_columns(r)
                .into_iter()
                .map(|(ic, c)| {
                    format!(
                        "{}:{}:{}:{}",
                        ic.name.to_ascii_lowercase(),
                        c.name.to_ascii_lowercase(),
                        ic.is_key,
                        ic.aggregation.map(|a| a.name()).unwrap_or("")
                    )
                })
                .collect();
            format!(
                "{}[{}]{}",
                r.name.to_ascii_lowercase(),
                r.keys_model.thrift_name(),
                columns.join(",")
            )
        })
        .collect();
    format!(
        "{}|{}|{:?}({})|{}|{}",
        olap.keys_model.keyword(),
        columns.join(","),
        olap.partition_scheme.kind,
        partition_columns.join(","),
        render::distribution_sql(&olap.distribution),
        rollups.join(";")
    )
}

/// A table built from snapshot meta, not yet in the catalog.
#[derive(Debug, Clone)]
pub struct BuiltTable {
    pub table: Table,
    /// `(source partition name, new partition id)` for each built partition.
    pub partitions: Vec<(String, i64)>,
}

/// Builds the table `meta` describes under the name `target_name`, with new ids and one
/// empty partition per backed-up partition (`reserve_replica` keeps the snapshot's replica
/// counts). The table carries `is_being_synced = true`.
pub fn build_table(
    state: &mut CatalogState,
    meta: &TableMetaDoc,
    target_name: &str,
    reserve_replica: bool,
) -> Result<BuiltTable, String> {
    let ct = meta.parse()?;
    let (mut columns, keys_model, partition_scheme, distribution) =
        ddl_support::table_definition(&ct).map_err(|e| e.message)?;
    // The source's column unique ids: the snapshot's rowsets are keyed by them.
    let keep_ids = meta.column_unique_ids.len() == columns.len();
    for (i, c) in columns.iter_mut().enumerate() {
        c.unique_id = if keep_ids {
            meta.column_unique_ids[i]
        } else {
            i as i32
        };
    }
    let mut properties = ddl_support::properties(ct.properties.clone());
    properties.set("is_being_synced", "true");
    let default_replication = state
        .replication_num(&properties)
        .map_err(|e| e.to_string())?;
    let table_id = state.next_id();
    let base_index_id = state.next_id();
    let types: Vec<ColumnType> = partition_scheme
        .columns
        .iter()
        .filter_map(|n| {
            columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(n))
                .map(|c| c.column_type.clone())
        })
        .collect();
    let mut olap = OlapTable {
        columns,
        keys_model,
        partition_scheme,
        distribution,
        properties,
        partitions: Default::default(),
        base_index: IndexMeta::base(
            base_index_id,
            target_name,
            ddl_support::schema_hash(base_index_id),
            keys_model,
        ),
        rollups: Vec::new(),
        next_column_unique_id: 0,
        index_defs: ct.indexes.clone(),
        state: TableState::Normal,
        visible_version: 1,
        visible_version_time_ms: now_ms(),
    };
    let above_all = olap
        .columns
        .iter()
        .map(|c| c.unique_id + 1)
        .max()
        .unwrap_or(0);
    olap.next_column_unique_id = meta
        .next_column_unique_id
        .unwrap_or(above_all)
        .max(above_all);
    for rollup in &meta.rollups {
        let id = state.next_id();
        let index = rollup.build(id, &olap.columns)?;
        olap.rollups.push(index);
    }
    let mut built = Vec::new();
    for part in &meta.partitions {
        let item = partition_item_of(&ct, &olap, &types, &part.name, target_name)?;
        let replication = if reserve_replica {
            part.replication_num
        } else {
            default_replication
        };
        let partition = new_partition_like(state, &olap, part, item, replication);
        built.push((part.name.clone(), partition.id));
        olap.partitions.insert(partition.id, partition);
    }
    let now = now_ms();
    let table = Table {
        id: table_id,
        name: target_name.to_owned(),
        comment: meta
            .comment
            .clone()
            .unwrap_or_else(|| ct.comment.clone().unwrap_or_default()),
        kind: TableKind::Olap(Box::new(olap)),
        create_time_ms: now,
        update_time_ms: now,
    };
    Ok(BuiltTable {
        table,
        partitions: built,
    })
}

/// The partition item of partition `name` as the snapshot's CREATE TABLE declares it.
pub fn partition_item_of(
    ct: &CreateTable,
    olap: &OlapTable,
    types: &[ColumnType],
    name: &str,
    table_name: &str,
) -> Result<PartitionItem, String> {
    if olap.partition_scheme.kind == PartitionKind::Unpartitioned {
        return Ok(PartitionItem::Whole);
    }
    let def = ct
        .partition
        .as_ref()
        .and_then(|p| {
            p.partitions
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| format!("partition {name} of table {table_name} is not in the meta"))?;
    ddl_support::partition_item(olap.partition_scheme.kind, types, def).map_err(|e| e.message)
}

/// The item a snapshot partition has, read from `meta` (for comparing with a local one).
pub fn snapshot_partition_item(
    meta: &TableMetaDoc,
    olap: &OlapTable,
    name: &str,
) -> Result<PartitionItem, String> {
    let ct = meta.parse()?;
    let types = olap.partition_column_types();
    partition_item_of(&ct, olap, &types, name, &meta.name)
}

/// An empty partition for snapshot partition `part` in a table shaped like `olap` (its
/// base index id and distribution).
pub fn new_partition_like(
    state: &mut CatalogState,
    olap: &OlapTable,
    part: &PartitionMetaDoc,
    item: PartitionItem,
    replication_num: u32,
) -> Partition {
    let distribution = match &olap.distribution {
        Distribution::Hash { columns, buckets } => Distribution::Hash {
            columns: columns.clone(),
            buckets: keep_auto(*buckets, part.bucket_num),
        },
        Distribution::Random { buckets } => Distribution::Random {
            buckets: keep_auto(*buckets, part.bucket_num),
        },
    };
    state.new_partition(
        &part.name,
        item,
        distribution,
        part.bucket_num,
        replication_num,
        &olap.index_ids(),
        false,
    )
}

fn keep_auto(table_buckets: Buckets, bucket_num: u32) -> Buckets {
    match table_buckets {
        Buckets::Auto => Buckets::Auto,
        Buckets::Fixed(_) => Buckets::Fixed(bucket_num),
    }
}

/// A view's SELECT with the source database's qualifier replaced by the target's.
pub fn retarget_view_query(query: &str, source_db: &str, target_db: &str) -> String {
    if source_db == target_db {
        return query.to_owned();
    }
    let from = format!("`internal`.{}.", render::quote_ident(source_db));
    let to = format!("`internal`.{}.", render::quote_ident(target_db));
    query.replace(&from, &to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_queries_follow_the_target_database() {
        let query = "SELECT `internal`.`src`.`t`.`k` AS `k` FROM `internal`.`src`.`t`";
        assert_eq!(
            retarget_view_query(query, "src", "dst"),
            "SELECT `internal`.`dst`.`t`.`k` AS `k` FROM `internal`.`dst`.`t`"
        );
        assert_eq!(retarget_view_query(query, "src", "src"), query);
    }
}
