//! Which host mapping a job's clusters dial through: the job's own `host_mapping` (per
//! cluster, in its spec, changed by `/update_host_mapping`) over the syncer-wide table of
//! `--host_mapping_file`.
//!
//! The file uses the `hosts.properties` format of the StarRocks migration tool: one
//! `SOURCE_<advertised host>=<host to dial>` or `TARGET_<advertised host>=<host to dial>`
//! per line, `#` comments and blank lines allowed.

use std::collections::BTreeMap;

/// Advertised host → host to dial.
pub type HostTable = BTreeMap<String, String>;

/// The syncer-wide mappings, one table per side, applied to every job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncerHostMapping {
    pub source: HostTable,
    pub target: HostTable,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostMappingFileError {
    #[error("line {line}: expected SOURCE_<host>=<host> or TARGET_<host>=<host>, found {text:?}")]
    Malformed { line: usize, text: String },
    #[error("line {line}: {message}")]
    InvalidEntry { line: usize, message: String },
    #[error("line {line}: {side}{host} is mapped twice")]
    Duplicate {
        line: usize,
        side: &'static str,
        host: String,
    },
}

const SOURCE_PREFIX: &str = "SOURCE_";
const TARGET_PREFIX: &str = "TARGET_";

impl SyncerHostMapping {
    /// Parses the file's text; the first bad line is the error.
    pub fn parse(text: &str) -> Result<Self, HostMappingFileError> {
        let mut mapping = SyncerHostMapping::default();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let malformed = || HostMappingFileError::Malformed {
                line,
                text: trimmed.to_owned(),
            };
            let (key, value) = trimmed.split_once('=').ok_or_else(malformed)?;
            let (key, value) = (key.trim(), value.trim());
            let (side, table, host) = if let Some(host) = key.strip_prefix(SOURCE_PREFIX) {
                (SOURCE_PREFIX, &mut mapping.source, host)
            } else if let Some(host) = key.strip_prefix(TARGET_PREFIX) {
                (TARGET_PREFIX, &mut mapping.target, host)
            } else {
                return Err(malformed());
            };
            check_entry(host, value)
                .map_err(|message| HostMappingFileError::InvalidEntry { line, message })?;
            if table.insert(host.to_owned(), value.to_owned()).is_some() {
                return Err(HostMappingFileError::Duplicate {
                    line,
                    side,
                    host: host.to_owned(),
                });
            }
        }
        Ok(mapping)
    }
}

/// One entry is two non-empty host names without blanks.
fn check_entry(from: &str, to: &str) -> Result<(), String> {
    for (what, host) in [("advertised host", from), ("mapped host", to)] {
        if host.is_empty() {
            return Err(format!("the {what} is empty"));
        }
        if host.chars().any(char::is_whitespace) {
            return Err(format!("the {what} {host:?} contains blanks"));
        }
    }
    Ok(())
}

/// Checks a job's table as given to `/create_ccr` or `/update_host_mapping`; empty values
/// are allowed there (they delete an entry).
pub fn check_request_table(table: &HostTable) -> Result<(), String> {
    for (from, to) in table {
        if to.is_empty() {
            check_entry(from, "-")?;
        } else {
            check_entry(from, to)?;
        }
    }
    Ok(())
}

/// Applies `/update_host_mapping` changes: a non-empty value adds or replaces an entry, an
/// empty one deletes it.
pub fn apply_changes(table: &mut HostTable, changes: &HostTable) {
    for (from, to) in changes {
        if to.is_empty() {
            table.remove(from);
        } else {
            table.insert(from.clone(), to.clone());
        }
    }
}

/// What a cluster dials through: the syncer-wide table with the job's own entries over it.
pub fn effective(syncer_wide: &HostTable, job: &HostTable) -> HostTable {
    let mut table = syncer_wide.clone();
    table.extend(job.iter().map(|(k, v)| (k.clone(), v.clone())));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> HostTable {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_both_sides_with_comments_and_blank_lines() {
        let text = "# private -> public\n\nSOURCE_be-0.src=10.0.0.1\n  TARGET_fe.dst = 10.0.1.9 \n#TARGET_x=y\n";
        let mapping = SyncerHostMapping::parse(text).unwrap();
        assert_eq!(mapping.source, table(&[("be-0.src", "10.0.0.1")]));
        assert_eq!(mapping.target, table(&[("fe.dst", "10.0.1.9")]));
    }

    #[test]
    fn a_bad_line_is_named() {
        let cases = [
            ("SOURCE_a=b\nnonsense\n", "line 2: expected"),
            ("BOTH_a=b", "line 1: expected"),
            ("SOURCE_a", "line 1: expected"),
            ("SOURCE_=b", "line 1: the advertised host is empty"),
            ("TARGET_a=", "line 1: the mapped host is empty"),
            ("TARGET_a=b c", "contains blanks"),
            ("SOURCE_a=b\nSOURCE_a=c", "line 2: SOURCE_a is mapped twice"),
        ];
        for (text, expected) in cases {
            let error = SyncerHostMapping::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
        // The same host on both sides is two entries, not a duplicate.
        assert!(SyncerHostMapping::parse("SOURCE_a=b\nTARGET_a=c").is_ok());
    }

    #[test]
    fn updates_add_replace_and_delete() {
        let mut current = table(&[("a", "1"), ("b", "2")]);
        apply_changes(&mut current, &table(&[("a", "9"), ("b", ""), ("c", "3")]));
        assert_eq!(current, table(&[("a", "9"), ("c", "3")]));
    }

    #[test]
    fn the_job_wins_over_the_file() {
        let file = table(&[("a", "file"), ("b", "file")]);
        let job = table(&[("a", "job")]);
        assert_eq!(
            effective(&file, &job),
            table(&[("a", "job"), ("b", "file")])
        );
    }

    #[test]
    fn request_tables_allow_empty_values_only() {
        assert!(check_request_table(&table(&[("a", "")])).is_ok());
        assert!(check_request_table(&table(&[("", "b")])).is_err());
        assert!(check_request_table(&table(&[("a", "b c")])).is_err());
    }
}
