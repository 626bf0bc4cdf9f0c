//! Row data: routing rows to partitions and tablets, committing loads as new rowset
//! versions, and reading the merged view a query sees under the table's keys model.
//!
//! A load is two steps so the transaction manager can sit between them:
//! [`OlapTable::prepare_load`] routes rows (no state change), then
//! [`CatalogState::commit_load`] publishes one rowset per touched tablet at
//! `visible_version + 1` of every touched partition.

use std::collections::{BTreeMap, HashMap};

use super::table::{
    DeletePredicate, Distribution, KeysModel, OlapTable, Partition, PartitionItem, PartitionKey,
    PartitionKeyValue, PartitionKind, Rowset,
};
use super::types::Value;
use super::{now_ms, CatalogError, CatalogResult, CatalogState};
use crate::binlog_journal::PublishedTxn;

/// Rows of one load, routed: partition id → bucket index → rows (full-schema order).
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedLoad {
    pub table_id: i64,
    /// Column unique ids matching the value order of every row.
    pub schema: Vec<i32>,
    pub partitions: BTreeMap<i64, BTreeMap<usize, Vec<Vec<Value>>>>,
}

impl PreparedLoad {
    pub fn row_count(&self) -> usize {
        self.partitions
            .values()
            .flat_map(|b| b.values())
            .map(Vec::len)
            .sum()
    }
}

/// FNV-1a: a stable hash so the same key always lands in the same bucket.
fn stable_hash(parts: &[String]) -> u64 {
    const OFFSET: u64 = 0xcbf29ce484222325;
    const PRIME: u64 = 0x100000001b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.as_bytes().iter().chain(std::iter::once(&0u8)) {
            hash ^= *byte as u64;
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

fn key_text(value: &Value) -> String {
    if value.is_null() {
        "\u{0}NULL".into()
    } else {
        value.to_text()
    }
}

impl OlapTable {
    /// The partition a row (full-schema order) belongs to, among `candidates` (all regular
    /// partitions when `None`).
    pub fn route_partition(&self, row: &[Value], candidates: Option<&[i64]>) -> Option<&Partition> {
        let key = PartitionKey(
            self.partition_scheme
                .columns
                .iter()
                .map(|name| {
                    PartitionKeyValue::Value(
                        self.column_index(name)
                            .map(|i| row[i].clone())
                            .unwrap_or(Value::Null),
                    )
                })
                .collect(),
        );
        let mut matching = self.partitions.values().filter(|p| match candidates {
            Some(ids) => ids.contains(&p.id),
            None => !p.is_temp,
        });
        if self.partition_scheme.kind == PartitionKind::List {
            // Explicit values first, then a DEFAULT partition.
            let parts: Vec<&Partition> = matching.collect();
            return parts
                .iter()
                .find(|p| {
                    matches!(&p.item, PartitionItem::List(k) if !k.is_empty())
                        && p.item.contains(&key)
                })
                .or_else(|| {
                    parts
                        .iter()
                        .find(|p| matches!(&p.item, PartitionItem::List(k) if k.is_empty()))
                })
                .copied();
        }
        matching.find(|p| p.item.contains(&key))
    }

    /// Bucket of a row: hash of the distribution columns, or `sequence` for RANDOM.
    pub fn route_bucket(&self, partition: &Partition, row: &[Value], sequence: usize) -> usize {
        let buckets = partition.bucket_num.max(1) as usize;
        match &partition.distribution {
            Distribution::Hash { columns, .. } => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        self.column_index(c)
                            .map(|i| key_text(&row[i]))
                            .unwrap_or_default()
                    })
                    .collect();
                (stable_hash(&parts) % buckets as u64) as usize
            }
            Distribution::Random { .. } => sequence % buckets,
        }
    }

    /// Routes full-schema rows. `partition_ids` restricts the target partitions (INSERT
    /// ... PARTITION (...)); a row outside them fails the load like Doris' strict mode.
    pub fn prepare_load(
        &self,
        table_id: i64,
        rows: Vec<Vec<Value>>,
        partition_ids: Option<&[i64]>,
    ) -> CatalogResult<PreparedLoad> {
        let mut partitions: BTreeMap<i64, BTreeMap<usize, Vec<Vec<Value>>>> = BTreeMap::new();
        for (sequence, row) in rows.into_iter().enumerate() {
            let partition = self.route_partition(&row, partition_ids).ok_or_else(|| {
                CatalogError::Other(
                    "Insert has filtered data in strict mode. Reason: no partition for this tuple"
                        .to_owned(),
                )
            })?;
            let bucket = self.route_bucket(partition, &row, sequence);
            partitions
                .entry(partition.id)
                .or_default()
                .entry(bucket)
                .or_default()
                .push(row);
        }
        Ok(PreparedLoad {
            table_id,
            schema: self.columns.iter().map(|c| c.unique_id).collect(),
            partitions,
        })
    }

    /// The rows of one partition as a query sees them: all rowsets in version order,
    /// merged by the keys model, mapped to the current schema by column unique id (columns
    /// added after a rowset was written read as their default).
    ///
    /// Like Doris' reader (`TabletSchema::merge_dropped_columns`), a delete predicate on a
    /// column dropped since still applies: the read schema is widened by the dropped
    /// columns the predicates reference, whose values the older rowsets still hold.
    pub fn partition_rows(&self, partition: &Partition) -> Vec<Vec<Value>> {
        let Some(index) = partition.indexes.get(&self.base_index.id) else {
            return Vec::new();
        };
        let mut rowsets: Vec<&Rowset> = index
            .tablets
            .iter()
            .flat_map(|t| t.rowsets.iter())
            .collect();
        rowsets.sort_by_key(|r| (r.version, r.id));
        let width = self.columns.len();
        let layout = read_layout(self.columns.iter().map(|c| c.unique_id).collect(), &rowsets);
        let key_positions: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_key)
            .map(|(i, _)| i)
            .collect();
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut by_key: HashMap<Vec<String>, usize> = HashMap::new();
        for rowset in rowsets {
            if let Some(predicate) = &rowset.delete_predicate {
                rows.retain(|row| !predicate_matches(predicate, &layout, row));
                by_key = rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        (
                            key_positions.iter().map(|&k| key_text(&row[k])).collect(),
                            i,
                        )
                    })
                    .collect();
                continue;
            }
            let positions: Vec<Option<usize>> = layout
                .iter()
                .map(|uid| rowset.schema.iter().position(|id| id == uid))
                .collect();
            for stored in &rowset.rows {
                let row: Vec<Value> = positions
                    .iter()
                    .enumerate()
                    .map(|(i, pos)| match pos.and_then(|p| stored.get(p)) {
                        Some(v) => v.clone(),
                        None if i < width => self.columns[i].default_value(),
                        None => Value::Null,
                    })
                    .collect();
                if self.keys_model == KeysModel::Duplicate {
                    rows.push(row);
                    continue;
                }
                let key: Vec<String> = key_positions.iter().map(|&k| key_text(&row[k])).collect();
                match by_key.get(&key) {
                    None => {
                        by_key.insert(key, rows.len());
                        rows.push(row);
                    }
                    Some(&at) if self.keys_model == KeysModel::Unique => rows[at] = row,
                    Some(&at) => {
                        let merged: Vec<Value> = row
                            .iter()
                            .enumerate()
                            .map(|(i, new)| match self.columns.get(i) {
                                Some(col) => match (col.is_key, col.aggregation) {
                                    (false, Some(agg)) => agg.combine(&rows[at][i], new),
                                    (false, None) => new.clone(),
                                    (true, _) => rows[at][i].clone(),
                                },
                                // A dropped column the reader only keeps for deletes.
                                None => new.clone(),
                            })
                            .collect();
                        rows[at] = merged;
                    }
                }
            }
        }
        if self.keys_model != KeysModel::Duplicate {
            rows.sort_by(|a, b| {
                key_positions
                    .iter()
                    .map(|&k| a[k].sort_cmp(&b[k]))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
        }
        if layout.len() > width {
            for row in &mut rows {
                row.truncate(width);
            }
        }
        rows
    }

    /// The rows one materialized index of a partition holds, merged by that index's keys
    /// model: the base index reads like a query ([`OlapTable::partition_rows`]); a rollup
    /// yields its own columns (in index order), aggregated by its key columns.
    pub fn index_rows(&self, partition: &Partition, index_id: i64) -> Vec<Vec<Value>> {
        if index_id == self.base_index.id {
            return self.partition_rows(partition);
        }
        let (Some(meta), Some(index)) = (
            self.rollups.iter().find(|r| r.id == index_id),
            partition.indexes.get(&index_id),
        ) else {
            return Vec::new();
        };
        let columns = self.rollup_columns(meta);
        let mut rowsets: Vec<&Rowset> = index
            .tablets
            .iter()
            .flat_map(|t| t.rowsets.iter())
            .collect();
        rowsets.sort_by_key(|r| (r.version, r.id));
        let width = columns.len();
        let layout = read_layout(
            columns.iter().map(|(ic, _)| ic.source_unique_id).collect(),
            &rowsets,
        );
        let key_positions: Vec<usize> = columns
            .iter()
            .enumerate()
            .filter(|(_, (ic, _))| ic.is_key)
            .map(|(i, _)| i)
            .collect();
        let key_of = |row: &[Value]| -> Vec<String> {
            key_positions.iter().map(|&k| key_text(&row[k])).collect()
        };
        let mut rows: Vec<Vec<Value>> = Vec::new();
        let mut by_key: HashMap<Vec<String>, usize> = HashMap::new();
        for rowset in rowsets {
            if let Some(predicate) = &rowset.delete_predicate {
                rows.retain(|row| !predicate_matches(predicate, &layout, row));
                by_key = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (key_of(r), i))
                    .collect();
                continue;
            }
            let positions: Vec<Option<usize>> = layout
                .iter()
                .map(|uid| rowset.schema.iter().position(|id| id == uid))
                .collect();
            for stored in &rowset.rows {
                let row: Vec<Value> = positions
                    .iter()
                    .enumerate()
                    .map(|(i, pos)| match pos.and_then(|p| stored.get(p)) {
                        Some(v) => v.clone(),
                        None if i < width => columns[i].1.default_value(),
                        None => Value::Null,
                    })
                    .collect();
                if meta.keys_model == KeysModel::Duplicate {
                    rows.push(row);
                    continue;
                }
                let key = key_of(&row);
                match by_key.get(&key) {
                    None => {
                        by_key.insert(key, rows.len());
                        rows.push(row);
                    }
                    Some(&at) => {
                        let merged = row
                            .iter()
                            .enumerate()
                            .map(|(i, new)| match columns.get(i) {
                                Some((ic, _)) => match (ic.is_key, ic.aggregation) {
                                    (true, _) => rows[at][i].clone(),
                                    (false, Some(agg)) => agg.combine(&rows[at][i], new),
                                    (false, None) => new.clone(),
                                },
                                None => new.clone(),
                            })
                            .collect();
                        rows[at] = merged;
                    }
                }
            }
        }
        if layout.len() > width {
            for row in &mut rows {
                row.truncate(width);
            }
        }
        rows.sort_by(|a, b| {
            a.iter()
                .zip(b.iter())
                .map(|(x, y)| x.sort_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        rows
    }

    /// All rows of one index (base or rollup, by name) over the regular partitions.
    pub fn scan_index(&self, index_name: &str) -> Option<Vec<Vec<Value>>> {
        let index_id = self.index_by_name(index_name)?.id;
        Some(
            self.visible_partitions()
                .into_iter()
                .flat_map(|p| self.index_rows(p, index_id))
                .collect(),
        )
    }

    /// All rows of the regular partitions (or of `partition_ids`), merged.
    pub fn scan(&self, partition_ids: Option<&[i64]>) -> Vec<Vec<Value>> {
        let parts: Vec<&Partition> = match partition_ids {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.partitions.get(id))
                .collect(),
            None => self.visible_partitions(),
        };
        parts
            .into_iter()
            .flat_map(|p| self.partition_rows(p))
            .collect()
    }
}

/// The column unique ids a reader lays rows out by: the index's columns, then every other
/// column a delete predicate of `rowsets` reads (a column dropped since).
fn read_layout(mut layout: Vec<i32>, rowsets: &[&Rowset]) -> Vec<i32> {
    for predicate in rowsets.iter().filter_map(|r| r.delete_predicate.as_ref()) {
        for uid in predicate.column_unique_ids() {
            if !layout.contains(&uid) {
                layout.push(uid);
            }
        }
    }
    layout
}

/// Whether `predicate` deletes `row` (laid out by `layout`).
fn predicate_matches(predicate: &DeletePredicate, layout: &[i32], row: &[Value]) -> bool {
    predicate.matches(|unique_id| {
        layout
            .iter()
            .position(|id| *id == unique_id)
            .map(|i| row[i].clone())
            .unwrap_or(Value::Null)
    })
}

/// Label recorded for a load whose transaction is not in the transaction table (Doris
/// generates `insert_<query id>`).
fn fallback_load_label(txn_id: i64) -> String {
    format!("insert_{txn_id:x}")
}

impl CatalogState {
    /// Publishes a prepared load as transaction `txn_id` and records its UPSERT binlog
    /// (labelled with the transaction's label). Returns `(partition_id, new_version)` per
    /// partition.
    pub fn commit_load(
        &mut self,
        load: PreparedLoad,
        txn_id: i64,
    ) -> CatalogResult<Vec<(i64, i64)>> {
        let table_id = load.table_id;
        let published = self.apply_load(load, txn_id)?;
        self.record_visible_txn(table_id, txn_id, &published);
        Ok(published)
    }

    /// The binlog side of a single-table transaction turning VISIBLE: the COMMITTED state
    /// is journaled first (one edit-log id, no binlog), then the UPSERT.
    fn record_visible_txn(&mut self, table_id: i64, txn_id: i64, published: &[(i64, i64)]) {
        let Some((db, _)) = self.table_by_id(table_id) else {
            return;
        };
        let db_id = db.id;
        let label = self
            .txns
            .get(txn_id)
            .map(|txn| txn.label.clone())
            .unwrap_or_else(|| fallback_load_label(txn_id));
        self.journal_op();
        self.record_upsert(&PublishedTxn {
            db_id,
            txn_id,
            label,
            finish_time_ms: now_ms(),
            tables: BTreeMap::from([(table_id, published.to_vec())]),
        });
    }

    /// Publishes a prepared load without recording a binlog: each touched partition's
    /// visible version goes up by one and every touched tablet gets a rowset at that
    /// version. A multi-table transaction calls this per table, then
    /// [`CatalogState::record_upsert`] once. Returns `(partition_id, new_version)` per
    /// partition.
    pub fn apply_load(
        &mut self,
        load: PreparedLoad,
        txn_id: i64,
    ) -> CatalogResult<Vec<(i64, i64)>> {
        // Every materialized index (base and rollups) of a touched tablet's partition gets
        // a rowset: Doris' load writes all indexes of a partition in one transaction.
        let index_count = self
            .table_by_id(load.table_id)
            .and_then(|(_, t)| t.olap())
            .map(|o| 1 + o.rollups.len())
            .unwrap_or(1);
        let rowset_count = load.partitions.values().map(BTreeMap::len).sum::<usize>() * index_count;
        let rowset_ids: Vec<i64> = (0..rowset_count).map(|_| self.next_id()).collect();
        let table = self
            .table_by_id_mut(load.table_id)
            .ok_or_else(|| CatalogError::Other(format!("table {} not found", load.table_id)))?;
        let olap = table
            .olap_mut()
            .ok_or_else(|| CatalogError::Other("not an OLAP table".into()))?;
        let base_index_id = olap.base_index.id;
        // Per rollup: its id, the stored column ids and their positions in the load's rows.
        let projections: Vec<(i64, Vec<i32>, Vec<usize>)> = olap
            .rollups
            .iter()
            .map(|rollup| {
                let (ids, positions) = rollup
                    .columns
                    .iter()
                    .filter_map(|c| {
                        load.schema
                            .iter()
                            .position(|id| *id == c.source_unique_id)
                            .map(|pos| (c.source_unique_id, pos))
                    })
                    .unzip();
                (rollup.id, ids, positions)
            })
            .collect();
        let mut ids = rowset_ids.into_iter();
        let mut published = Vec::new();
        let now = now_ms();
        for (partition_id, buckets) in load.partitions {
            let partition = olap.partitions.get_mut(&partition_id).ok_or_else(|| {
                CatalogError::Other(format!("partition {partition_id} not found"))
            })?;
            let version = partition.visible_version + 1;
            for (rollup_id, schema, positions) in &projections {
                let Some(index) = partition.indexes.get_mut(rollup_id) else {
                    continue;
                };
                for (bucket, rows) in &buckets {
                    let rows = rows
                        .iter()
                        .map(|row| positions.iter().map(|&p| row[p].clone()).collect())
                        .collect();
                    index.tablets[*bucket].rowsets.push(Rowset {
                        id: ids.next().expect("one rowset id per tablet"),
                        version,
                        txn_id,
                        schema: schema.clone(),
                        rows,
                        delete_predicate: None,
                    });
                }
            }
            let index = partition
                .indexes
                .get_mut(&base_index_id)
                .expect("base index in every partition");
            for (bucket, rows) in buckets {
                let tablet = &mut index.tablets[bucket];
                tablet.rowsets.push(Rowset {
                    id: ids.next().expect("one rowset id per tablet"),
                    version,
                    txn_id,
                    schema: load.schema.clone(),
                    rows,
                    delete_predicate: None,
                });
            }
            publish_version(partition, version, now);
            published.push((partition_id, version));
        }
        olap.visible_version += 1;
        olap.visible_version_time_ms = now;
        table.update_time_ms = now;
        Ok(published)
    }

    /// Publishes a DELETE on the given partitions as transaction `txn_id` and records its
    /// UPSERT binlog.
    pub fn commit_delete(
        &mut self,
        table_id: i64,
        partition_ids: &[i64],
        predicate: DeletePredicate,
        txn_id: i64,
    ) -> CatalogResult<Vec<(i64, i64)>> {
        let published = self.apply_delete(table_id, partition_ids, predicate, txn_id)?;
        self.record_visible_txn(table_id, txn_id, &published);
        Ok(published)
    }

    /// Publishes a DELETE without recording a binlog: one delete-predicate rowset per
    /// tablet at the next version of each partition.
    pub fn apply_delete(
        &mut self,
        table_id: i64,
        partition_ids: &[i64],
        predicate: DeletePredicate,
        txn_id: i64,
    ) -> CatalogResult<Vec<(i64, i64)>> {
        let mut published = Vec::new();
        let now = now_ms();
        for &partition_id in partition_ids {
            let tablet_count = self
                .table_by_id(table_id)
                .and_then(|(_, t)| t.olap())
                .and_then(|o| o.partitions.get(&partition_id))
                .map(|p| p.indexes.values().map(|i| i.tablets.len()).sum::<usize>())
                .unwrap_or(0);
            let ids: Vec<i64> = (0..tablet_count).map(|_| self.next_id()).collect();
            let table = self
                .table_by_id_mut(table_id)
                .ok_or_else(|| CatalogError::Other(format!("table {table_id} not found")))?;
            let olap = table
                .olap_mut()
                .ok_or_else(|| CatalogError::Other("not an OLAP table".into()))?;
            let partition = olap.partitions.get_mut(&partition_id).ok_or_else(|| {
                CatalogError::Other(format!("partition {partition_id} not found"))
            })?;
            let version = partition.visible_version + 1;
            let mut ids = ids.into_iter();
            for index in partition.indexes.values_mut() {
                for tablet in &mut index.tablets {
                    tablet.rowsets.push(Rowset {
                        id: ids.next().expect("one rowset id per tablet"),
                        version,
                        txn_id,
                        schema: Vec::new(),
                        rows: Vec::new(),
                        delete_predicate: Some(predicate.clone()),
                    });
                }
            }
            publish_version(partition, version, now);
            olap.visible_version += 1;
            olap.visible_version_time_ms = now;
            table.update_time_ms = now;
            published.push((partition_id, version));
        }
        Ok(published)
    }
}

fn publish_version(partition: &mut Partition, version: i64, now: i64) {
    partition.visible_version = version;
    partition.visible_version_time_ms = now;
    for index in partition.indexes.values_mut() {
        for tablet in &mut index.tablets {
            for replica in &mut tablet.replicas {
                replica.version = version;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable() {
        assert_eq!(stable_hash(&["1".into()]), stable_hash(&["1".into()]));
        assert_ne!(
            stable_hash(&["1".into(), "2".into()]),
            stable_hash(&["12".into()])
        );
    }
}
