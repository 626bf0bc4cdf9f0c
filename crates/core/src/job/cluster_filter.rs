//! What a whole-cluster job replicates: which source databases it admits, which of their
//! tables, and what each is called on the target. Pure rules, no cluster in sight; the
//! watcher (`manager::cluster_job`) applies them to the databases it finds.
//!
//! Lists follow the StarRocks migration tool: an entry is `db` (the whole database) or
//! `db.table`. `include` applies first (empty: every database), then `exclude`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Databases every Doris cluster has for itself, never replicated: `information_schema`
/// (virtual, per catalog), `mysql` (virtual, MySQL compatibility, 2.1+) and
/// `__internal_schema` (statistics, audit log).
pub const SYSTEM_DATABASES: [&str; 3] = ["information_schema", "mysql", "__internal_schema"];

/// Whether `db` is one of [`SYSTEM_DATABASES`] (`default_cluster:` prefix of 2.0 allowed).
pub fn is_system_database(db: &str) -> bool {
    let bare = db.strip_prefix("default_cluster:").unwrap_or(db);
    SYSTEM_DATABASES.contains(&bare)
}

/// The settings of a whole-cluster job, persisted in its record (`cluster_job`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ClusterJobSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Target name = prefix + source name, unless `db_mapping` names the database.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub db_prefix: String,
    /// Source database → target database; wins over `db_prefix`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub db_mapping: BTreeMap<String, String>,
    /// Drop the target database (and the database's job) when the source one is dropped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop_target_databases: bool,
}

/// What the job does with one admitted source database: its target name and the table
/// filter of its database job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmittedDatabase {
    pub source: String,
    pub target: String,
    pub include_tables: Vec<String>,
    pub exclude_tables: Vec<String>,
}

/// One entry of `include` / `exclude`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry<'a> {
    Database(&'a str),
    Table(&'a str, &'a str),
}

fn parse_entry(entry: &str) -> Result<Entry<'_>, String> {
    match entry.split_once('.') {
        None if !entry.is_empty() => Ok(Entry::Database(entry)),
        Some((db, table)) if !db.is_empty() && !table.is_empty() && !table.contains('.') => {
            Ok(Entry::Table(db, table))
        }
        _ => Err(format!(
            "{entry:?} is not a database or database.table entry"
        )),
    }
}

/// The well-formed entries of a list (checked by [`ClusterJobSpec::check`] at creation).
fn parsed_entries(list: &[String]) -> Vec<Entry<'_>> {
    list.iter().filter_map(|e| parse_entry(e).ok()).collect()
}

impl ClusterJobSpec {
    /// The request-level rules: entries well formed, no system database named, mapping
    /// targets non-empty and distinct.
    pub fn check(&self) -> Result<(), String> {
        for (list, entries) in [("include", &self.include), ("exclude", &self.exclude)] {
            for entry in entries {
                let db = match parse_entry(entry).map_err(|e| format!("{list}: {e}"))? {
                    Entry::Database(db) | Entry::Table(db, _) => db,
                };
                if is_system_database(db) && list == "include" {
                    return Err(format!(
                        "include: {db} is a system database and is never replicated"
                    ));
                }
            }
        }
        let mut targets = BTreeMap::new();
        for (source, target) in &self.db_mapping {
            if source.is_empty() || target.is_empty() {
                return Err(format!(
                    "db_mapping: empty database name in {source:?} -> {target:?}"
                ));
            }
            if is_system_database(target) {
                return Err(format!("db_mapping: target {target} is a system database"));
            }
            if let Some(other) = targets.insert(target, source) {
                return Err(format!(
                    "db_mapping: {other} and {source} both map to {target}"
                ));
            }
        }
        if self.db_prefix.contains('.') || self.db_prefix.chars().any(char::is_whitespace) {
            return Err(format!("db_prefix {:?} is invalid", self.db_prefix));
        }
        Ok(())
    }

    /// The target name of source database `source`: its `db_mapping` entry, else
    /// `db_prefix` + `source`.
    pub fn target_name(&self, source: &str) -> String {
        match self.db_mapping.get(source) {
            Some(target) => target.clone(),
            None => format!("{}{source}", self.db_prefix),
        }
    }

    /// Whether and how the job replicates source database `db`.
    ///
    /// Included: `include` is empty, or names `db` or a `db.table`. Then a bare `db` in
    /// `exclude` drops the whole database; `db.table` entries narrow it. The database job
    /// gets `include_tables` from `db.table` includes (none when `db` itself is included:
    /// every table) and `exclude_tables` from `db.table` excludes.
    pub fn admit(&self, db: &str) -> Option<AdmittedDatabase> {
        if is_system_database(db) {
            return None;
        }
        let include = parsed_entries(&self.include);
        let exclude = parsed_entries(&self.exclude);
        let whole = include.is_empty() || include.contains(&Entry::Database(db));
        let tables: Vec<String> = include
            .iter()
            .filter_map(|e| match e {
                Entry::Table(d, t) if *d == db => Some((*t).to_owned()),
                _ => None,
            })
            .collect();
        if !whole && tables.is_empty() {
            return None;
        }
        if exclude.contains(&Entry::Database(db)) {
            return None;
        }
        let exclude_tables = exclude
            .iter()
            .filter_map(|e| match e {
                Entry::Table(d, t) if *d == db => Some((*t).to_owned()),
                _ => None,
            })
            .collect();
        Some(AdmittedDatabase {
            source: db.to_owned(),
            target: self.target_name(db),
            include_tables: if whole { Vec::new() } else { tables },
            exclude_tables,
        })
    }
}

/// The name of the database job a whole-cluster job `parent` runs for source database `db`.
pub fn child_job_name(parent: &str, db: &str) -> String {
    format!("{parent}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(include: &[&str], exclude: &[&str]) -> ClusterJobSpec {
        ClusterJobSpec {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn system_databases_are_never_admitted() {
        let all = spec(&[], &[]);
        for db in SYSTEM_DATABASES {
            assert!(all.admit(db).is_none(), "{db}");
        }
        assert!(all.admit("default_cluster:mysql").is_none());
        assert!(all.admit("mysql_app").is_some());
        assert!(spec(&["mysql"], &[]).check().is_err());
    }

    #[test]
    fn empty_include_admits_every_database_whole() {
        let admitted = spec(&[], &[]).admit("sales").unwrap();
        assert_eq!(admitted.target, "sales");
        assert!(admitted.include_tables.is_empty() && admitted.exclude_tables.is_empty());
    }

    #[test]
    fn include_applies_first_then_exclude() {
        let rules = spec(
            &["db1", "db2.t2", "db3", "db5"],
            &["db3.secret", "db5", "db1.t9"],
        );
        rules.check().unwrap();
        let db1 = rules.admit("db1").unwrap();
        assert!(db1.include_tables.is_empty());
        assert_eq!(db1.exclude_tables, ["t9"]);
        let db2 = rules.admit("db2").unwrap();
        assert_eq!(db2.include_tables, ["t2"]);
        let db3 = rules.admit("db3").unwrap();
        assert!(db3.include_tables.is_empty());
        assert_eq!(db3.exclude_tables, ["secret"]);
        assert!(rules.admit("db4").is_none(), "not included");
        assert!(
            rules.admit("db5").is_none(),
            "a bare exclude drops the whole database"
        );
        // A whole-database include wins over its table includes.
        let both = spec(&["db2", "db2.t2"], &[]);
        assert!(both.admit("db2").unwrap().include_tables.is_empty());
        // Excluding every included table leaves a database job that replicates nothing
        // of those; the lists are kept as given.
        let narrowed = spec(&["db2.t2"], &["db2.t2"]).admit("db2").unwrap();
        assert_eq!(narrowed.include_tables, ["t2"]);
        assert_eq!(narrowed.exclude_tables, ["t2"]);
    }

    #[test]
    fn explicit_mapping_wins_over_the_prefix() {
        let mut rules = spec(&[], &[]);
        rules.db_prefix = "dr_".into();
        rules
            .db_mapping
            .insert("orders".into(), "orders_copy".into());
        assert_eq!(rules.admit("sales").unwrap().target, "dr_sales");
        assert_eq!(rules.admit("orders").unwrap().target, "orders_copy");
        rules.db_prefix.clear();
        assert_eq!(rules.target_name("sales"), "sales");
    }

    #[test]
    fn malformed_lists_and_mappings_are_refused() {
        assert!(spec(&[""], &[]).check().is_err());
        assert!(spec(&["db."], &[]).check().is_err());
        assert!(spec(&[".t"], &[]).check().is_err());
        assert!(spec(&[], &["a.b.c"]).check().is_err());
        let mut rules = spec(&[], &[]);
        rules.db_mapping.insert("a".into(), "x".into());
        rules.db_mapping.insert("b".into(), "x".into());
        assert!(rules.check().unwrap_err().contains("both map to x"));
        let mut rules = spec(&[], &[]);
        rules
            .db_mapping
            .insert("a".into(), "information_schema".into());
        assert!(rules.check().is_err());
        let mut rules = spec(&[], &[]);
        rules.db_mapping.insert("a".into(), String::new());
        assert!(rules.check().is_err());
    }

    #[test]
    fn child_names_carry_the_parent() {
        assert_eq!(child_job_name("dr", "sales"), "dr/sales");
    }
}
