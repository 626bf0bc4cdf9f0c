//! The FE configuration table shown by `ADMIN SHOW FRONTEND CONFIG`.

use std::collections::BTreeMap;

/// Prefix Doris puts before experimental config names when listing them.
pub const EXPERIMENTAL_PREFIX: &str = "experimental_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub value: String,
    /// Java simple type name (`boolean`, `int`, `long`, `String`).
    pub java_type: &'static str,
    pub mutable: bool,
    pub master_only: bool,
    /// Listed under `experimental_<name>` like Doris does for experimental configs.
    pub experimental: bool,
}

/// FE configs by (unprefixed) name.
#[derive(Debug, Clone)]
pub struct FeConfig {
    entries: BTreeMap<String, ConfigEntry>,
}

impl Default for FeConfig {
    fn default() -> Self {
        let mut entries = BTreeMap::new();
        let mut add = |name: &str,
                       value: &str,
                       java_type: &'static str,
                       mutable: bool,
                       master_only: bool,
                       experimental: bool| {
            entries.insert(
                name.to_owned(),
                ConfigEntry {
                    value: value.to_owned(),
                    java_type,
                    mutable,
                    master_only,
                    experimental,
                },
            );
        };
        // Doris 2.1 defaults of the configs CCR and its tests care about.
        add(
            "enable_feature_binlog",
            "false",
            "boolean",
            false,
            false,
            true,
        );
        // Newest-FE binlog GC switch: without a lockBinlog lock, GC drops every binlog.
        add(
            "enable_recycle_binlog_immediately",
            "false",
            "boolean",
            true,
            true,
            false,
        );
        add(
            "max_backup_restore_job_num_per_db",
            "10",
            "int",
            true,
            false,
            false,
        );
        add(
            "max_binlog_messsage_size",
            "1073741824",
            "int",
            true,
            false,
            false,
        );
        add(
            "enable_restore_snapshot_rpc_compression",
            "true",
            "boolean",
            true,
            false,
            false,
        );
        add(
            "restore_reset_index_id",
            "false",
            "boolean",
            true,
            false,
            false,
        );
        add(
            "max_allowed_in_element_num_of_delete",
            "1024",
            "int",
            true,
            true,
            false,
        );
        add(
            "default_max_query_instances",
            "-1",
            "int",
            true,
            false,
            false,
        );
        add(
            "max_running_txn_num_per_db",
            "1000",
            "int",
            true,
            true,
            false,
        );
        add("label_keep_max_second", "259200", "int", true, true, false);
        add(
            "backup_job_default_timeout_ms",
            "86400000",
            "int",
            true,
            true,
            false,
        );
        add("qe_max_connection", "1024", "int", false, false, false);
        add("http_port", "8030", "int", false, false, false);
        add("rpc_port", "9020", "int", false, false, false);
        add("query_port", "9030", "int", false, false, false);
        add("edit_log_port", "9010", "int", false, false, false);
        Self { entries }
    }
}

impl FeConfig {
    fn resolve(&self, name: &str) -> Option<&str> {
        let bare = name.strip_prefix(EXPERIMENTAL_PREFIX).unwrap_or(name);
        self.entries.get_key_value(bare).map(|(k, _)| k.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        let key = self.resolve(name)?;
        self.entries.get(key).map(|e| e.value.as_str())
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == Some("true")
    }

    /// Sets a config (with or without the `experimental_` prefix). `require_mutable` is
    /// what `ADMIN SET FRONTEND CONFIG` enforces; the simulator's own setup bypasses it.
    pub fn set(&mut self, name: &str, value: &str, require_mutable: bool) -> Result<(), String> {
        let key = self
            .resolve(name)
            .ok_or_else(|| format!("Config '{name}' does not exist"))?
            .to_owned();
        let entry = self.entries.get_mut(&key).expect("resolved key exists");
        if require_mutable && !entry.mutable {
            return Err(format!("Config '{name}' is not mutable"));
        }
        if entry.java_type == "boolean" && !matches!(value, "true" | "false") {
            return Err(format!("Invalid value '{value}' for config '{name}'"));
        }
        if matches!(entry.java_type, "int" | "long") && value.parse::<i64>().is_err() {
            return Err(format!("Invalid value '{value}' for config '{name}'"));
        }
        entry.value = value.to_owned();
        Ok(())
    }

    /// `(display name, entry)` sorted by display name.
    pub fn list(&self) -> Vec<(String, &ConfigEntry)> {
        let mut rows: Vec<(String, &ConfigEntry)> = self
            .entries
            .iter()
            .map(|(k, e)| {
                (
                    if e.experimental {
                        format!("{EXPERIMENTAL_PREFIX}{k}")
                    } else {
                        k.clone()
                    },
                    e,
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experimental_configs_are_listed_with_prefix_and_settable_by_either_name() {
        let mut cfg = FeConfig::default();
        assert!(cfg
            .list()
            .iter()
            .any(|(k, _)| k == "experimental_enable_feature_binlog"));
        cfg.set("enable_feature_binlog", "true", false).unwrap();
        assert!(cfg.get_bool("experimental_enable_feature_binlog"));
        assert!(cfg.set("enable_feature_binlog", "false", true).is_err());
        assert!(cfg.set("enable_feature_binlog", "yes", false).is_err());
    }
}
