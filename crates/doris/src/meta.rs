//! The partition / index / tablet / replica tree of tables, as getMeta reports it.

use std::collections::{BTreeMap, HashSet};

use ccr_wire::frontend_service::{TGetMetaDBMeta, TGetMetaTableMeta};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaMeta {
    pub id: i64,
    pub backend_id: i64,
    /// The replica's visible version.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabletMeta {
    pub id: i64,
    pub replicas: Vec<ReplicaMeta>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexMeta {
    pub id: i64,
    pub name: String,
    pub tablets: Vec<TabletMeta>,
}

impl IndexMeta {
    /// Tablets in ascending id order, which is their bucket order (Doris allocates tablet
    /// ids sequentially per bucket and restore preserves the order).
    pub fn tablets_in_bucket_order(&self) -> Vec<&TabletMeta> {
        let mut tablets: Vec<&TabletMeta> = self.tablets.iter().collect();
        tablets.sort_by_key(|t| t.id);
        tablets
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMeta {
    pub id: i64,
    pub name: String,
    /// Doris's rendering of the partition's range or list; equal across clusters for the
    /// same partition definition, which is how partitions are paired.
    pub range: String,
    pub visible_version: i64,
    pub is_temp: bool,
    pub indexes: Vec<IndexMeta>,
}

impl PartitionMeta {
    pub fn index(&self, id: i64) -> Option<&IndexMeta> {
        self.indexes.iter().find(|i| i.id == id)
    }

    pub fn index_by_name(&self, name: &str) -> Option<&IndexMeta> {
        self.indexes.iter().find(|i| i.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    pub id: i64,
    pub name: String,
    pub partitions: Vec<PartitionMeta>,
}

impl TableMeta {
    pub fn partition(&self, id: i64) -> Option<&PartitionMeta> {
        self.partitions.iter().find(|p| p.id == id)
    }

    /// The non-temporary partition with this range text.
    pub fn partition_by_range(&self, range: &str) -> Option<&PartitionMeta> {
        self.partitions
            .iter()
            .find(|p| !p.is_temp && p.range == range)
    }

    fn from_wire(table: &TGetMetaTableMeta) -> Self {
        let partitions = table
            .partitions
            .iter()
            .flatten()
            .map(|p| PartitionMeta {
                id: p.id.unwrap_or_default(),
                name: p.name.clone().unwrap_or_default(),
                range: p.range.clone().unwrap_or_default(),
                visible_version: p.visible_version.unwrap_or_default(),
                is_temp: p.is_temp.unwrap_or(false),
                indexes: p
                    .indexes
                    .iter()
                    .flatten()
                    .map(|i| IndexMeta {
                        id: i.id.unwrap_or_default(),
                        name: i.name.clone().unwrap_or_default(),
                        tablets: i
                            .tablets
                            .iter()
                            .flatten()
                            .map(|t| TabletMeta {
                                id: t.id.unwrap_or_default(),
                                replicas: t
                                    .replicas
                                    .iter()
                                    .flatten()
                                    .map(|r| ReplicaMeta {
                                        id: r.id.unwrap_or_default(),
                                        backend_id: r.backend_id.unwrap_or_default(),
                                        version: r.version.unwrap_or_default(),
                                    })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        TableMeta {
            id: table.id.unwrap_or_default(),
            name: table.name.clone().unwrap_or_default(),
            partitions,
        }
    }
}

/// What getMeta says about some tables of one database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbMeta {
    pub id: i64,
    pub tables: BTreeMap<i64, TableMeta>,
    pub dropped_tables: HashSet<i64>,
    pub dropped_partitions: HashSet<i64>,
    pub dropped_indexes: HashSet<i64>,
}

impl DbMeta {
    pub(crate) fn from_wire(db: &TGetMetaDBMeta) -> Self {
        let collect = |ids: &Option<Vec<i64>>, map: &Option<BTreeMap<i64, i64>>| -> HashSet<i64> {
            ids.iter()
                .flatten()
                .copied()
                .chain(map.iter().flat_map(|m| m.keys().copied()))
                .collect()
        };
        DbMeta {
            id: db.id.unwrap_or_default(),
            tables: db
                .tables
                .iter()
                .flatten()
                .map(|t| {
                    let table = TableMeta::from_wire(t);
                    (table.id, table)
                })
                .collect(),
            dropped_tables: collect(&db.dropped_tables, &db.dropped_table_map),
            dropped_partitions: collect(&db.dropped_partitions, &db.dropped_partition_map),
            dropped_indexes: collect(&db.dropped_indexes, &db.dropped_index_map),
        }
    }
}

/// One BE as getBackendMeta reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendMeta {
    pub id: i64,
    pub host: String,
    pub be_port: u16,
    pub http_port: u16,
    pub alive: bool,
}
