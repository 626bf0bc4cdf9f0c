//! Session variables the simulated FE knows (names, Doris 2.1 defaults, validation).

/// The Doris build the simulator claims to be.
pub const DORIS_VERSION: &str = "doris-2.1.7-rc01-simulated";
/// MySQL server version Doris 2.1 reports (handshake and `VERSION()`).
pub const MYSQL_SERVER_VERSION: &str = "5.7.99";

pub struct VariableSpec {
    pub name: &'static str,
    pub default: &'static str,
    pub read_only: bool,
    pub kind: VariableKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum VariableKind {
    Text,
    Bool,
    Int,
    SqlMode,
    TimeZone,
}

const fn var(name: &'static str, default: &'static str, kind: VariableKind) -> VariableSpec {
    VariableSpec {
        name,
        default,
        read_only: false,
        kind,
    }
}

const fn read_only(name: &'static str, default: &'static str) -> VariableSpec {
    VariableSpec {
        name,
        default,
        read_only: true,
        kind: VariableKind::Text,
    }
}

use VariableKind::*;

/// Sorted by name (SHOW VARIABLES prints them in this order).
pub static SESSION_VARIABLES: &[VariableSpec] = &[
    var("auto_increment_increment", "1", Int),
    var("autocommit", "true", Bool),
    var("character_set_client", "utf8mb4", Text),
    var("character_set_connection", "utf8mb4", Text),
    var("character_set_database", "utf8mb4", Text),
    var("character_set_results", "utf8mb4", Text),
    var("character_set_server", "utf8mb4", Text),
    var("collation_connection", "utf8mb4_0900_bin", Text),
    var("collation_database", "utf8mb4_0900_bin", Text),
    var("collation_server", "utf8mb4_0900_bin", Text),
    var("default_storage_engine", "olap", Text),
    var("div_precision_increment", "4", Int),
    var("enable_nereids_planner", "true", Bool),
    var("enable_profile", "false", Bool),
    var("enable_server_side_prepared_statement", "false", Bool),
    var("exec_mem_limit", "2147483648", Int),
    var("group_concat_max_len", "2147483646", Int),
    read_only("have_query_cache", "YES"),
    var("init_connect", "", Text),
    var("insert_timeout", "14400", Int),
    var("interactive_timeout", "3600", Int),
    read_only("language", "/palo/share/english/"),
    read_only("license", "Apache License, Version 2.0"),
    read_only("lower_case_table_names", "0"),
    var("max_allowed_packet", "16777216", Int),
    var("max_execution_time", "-1", Int),
    var("net_buffer_length", "16384", Int),
    var("net_read_timeout", "60", Int),
    var("net_write_timeout", "600", Int),
    var("parallel_pipeline_task_num", "0", Int),
    var("performance_schema", "false", Bool),
    var("query_cache_size", "1048576", Int),
    var("query_cache_type", "0", Int),
    var("query_timeout", "900", Int),
    var("sql_auto_is_null", "false", Bool),
    var("sql_mode", "ONLY_FULL_GROUP_BY", SqlMode),
    var("sql_safe_updates", "0", Int),
    var("sql_select_limit", "9223372036854775807", Int),
    read_only("system_time_zone", "UTC"),
    var("time_zone", "UTC", TimeZone),
    var("transaction_isolation", "REPEATABLE-READ", Text),
    var("transaction_read_only", "false", Bool),
    var("tx_isolation", "REPEATABLE-READ", Text),
    var("tx_read_only", "false", Bool),
    read_only("version", MYSQL_SERVER_VERSION),
    read_only(
        "version_comment",
        "Doris version doris-2.1.7-rc01-simulated",
    ),
    var("wait_timeout", "28800", Int),
];

/// SQL modes Doris recognises.
const SQL_MODES: &[&str] = &[
    "REAL_AS_FLOAT",
    "PIPES_AS_CONCAT",
    "ANSI_QUOTES",
    "IGNORE_SPACE",
    "NOT_USED",
    "ONLY_FULL_GROUP_BY",
    "NO_UNSIGNED_SUBTRACTION",
    "NO_DIR_IN_CREATE",
    "NO_AUTO_VALUE_ON_ZERO",
    "NO_BACKSLASH_ESCAPES",
    "STRICT_TRANS_TABLES",
    "STRICT_ALL_TABLES",
    "NO_ZERO_IN_DATE",
    "NO_ZERO_DATE",
    "ALLOW_INVALID_DATES",
    "ERROR_FOR_DIVISION_BY_ZERO",
    "HIGH_NOT_PRECEDENCE",
    "NO_ENGINE_SUBSTITUTION",
    "PAD_CHAR_TO_FULL_LENGTH",
    "TRADITIONAL",
    "ANSI",
    "TIME_TRUNCATE_FRACTIONAL",
];

/// Normalises and checks a value for `spec`; the error is Doris' message.
pub fn validate(spec: &VariableSpec, value: &str) -> Result<String, String> {
    let bad = || {
        format!(
            "Variable '{}' can't be set to the value of '{value}'",
            spec.name
        )
    };
    match spec.kind {
        Text => Ok(value.to_owned()),
        Bool => match value.to_ascii_lowercase().as_str() {
            "1" | "true" | "on" => Ok("true".into()),
            "0" | "false" | "off" => Ok("false".into()),
            _ => Err(bad()),
        },
        Int => value
            .trim()
            .parse::<i64>()
            .map(|v| v.to_string())
            .map_err(|_| bad()),
        SqlMode => {
            let modes: Vec<String> = value
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty())
                .collect();
            if modes.iter().all(|m| SQL_MODES.contains(&m.as_str())) {
                Ok(modes.join(","))
            } else {
                Err(bad())
            }
        }
        TimeZone => {
            let ok = value.eq_ignore_ascii_case("SYSTEM")
                || value.eq_ignore_ascii_case("UTC")
                || value.eq_ignore_ascii_case("GMT")
                || is_offset(value)
                || (value.contains('/')
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c)));
            if ok {
                Ok(value.to_owned())
            } else {
                Err(format!("Unknown or incorrect time zone: '{value}'"))
            }
        }
    }
}

/// `+08:00` / `-5:30`.
fn is_offset(value: &str) -> bool {
    let Some(rest) = value.strip_prefix(['+', '-']) else {
        return false;
    };
    let Some((h, m)) = rest.split_once(':') else {
        return false;
    };
    h.parse::<u8>().is_ok_and(|h| h <= 14) && m.len() == 2 && m.parse::<u8>().is_ok_and(|m| m < 60)
}

/// Known names sharing a word with `name` (for the unknown-variable message).
pub fn similar_names(name: &str) -> Vec<String> {
    let words: Vec<&str> = name.split('_').filter(|w| w.len() > 2).collect();
    SESSION_VARIABLES
        .iter()
        .filter(|v| words.iter().any(|w| v.name.contains(w)))
        .map(|v| format!("'{}'", v.name))
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_sorted_and_validated() {
        assert!(SESSION_VARIABLES.windows(2).all(|w| w[0].name < w[1].name));
        let sql_mode = SESSION_VARIABLES
            .iter()
            .find(|v| v.name == "sql_mode")
            .unwrap();
        assert_eq!(
            validate(sql_mode, "only_full_group_by,PIPES_AS_CONCAT").unwrap(),
            "ONLY_FULL_GROUP_BY,PIPES_AS_CONCAT"
        );
        assert!(validate(sql_mode, "BOGUS").is_err());
        let tz = SESSION_VARIABLES
            .iter()
            .find(|v| v.name == "time_zone")
            .unwrap();
        assert!(validate(tz, "+00:00").is_ok());
        assert!(validate(tz, "nowhere").is_err());
    }
}
