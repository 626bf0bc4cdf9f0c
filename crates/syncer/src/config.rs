//! Command-line flags of `ccr_syncer`.
//!
//! Names and defaults follow the reference Go syncer so existing scripts keep working:
//! Go's flag package accepts `-name=value` as well as `--name value`, so single-dash long
//! flags are rewritten to the double-dash form before parsing (see [`normalize_go_flags`]).
//! Durations take Go's syntax (`10s`, `500ms`, `1m30s`).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use ccr_core::job::features::FeatureFlags;
use ccr_core::job::host_mapping::SyncerHostMapping;
use ccr_core::secrets::{SecretKey, SecretKeys};
use ccr_wire::secret::Secret;

/// The version string answered by `/version` and printed by `--version`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), ":", env!("CCR_GIT_SHA"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DbType {
    /// Embedded SQLite file (the default; one syncer, or several sharing one local file).
    #[value(name = "sqlite3")]
    Sqlite3,
    /// A MySQL-compatible server shared by several syncers (high availability).
    #[value(name = "mysql")]
    Mysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// How each log line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    Text,
    /// One JSON object per line (`timestamp`, `level`, `message`, the event's fields,
    /// `target` and the current `span`, e.g. a job's name), for log shippers.
    Json,
}

/// Parses a Go-style duration such as `10s`, `1500ms`, `2m`, `1h30m` or a bare number of
/// seconds.
/// A percentage from 0 to 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if (0.0..=100.0).contains(&value) => Ok(value),
        _ => Err(format!("{text:?} is not a percentage from 0 to 100")),
    }
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return duration_from_secs(secs, text);
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("invalid duration {text:?}: missing unit"))?;
        if number_len == 0 {
            return Err(format!("invalid duration {text:?}"));
        }
        let value: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("invalid duration {text:?}: unknown unit {unit:?}")),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    duration_from_secs(total, text)
}

fn duration_from_secs(secs: f64, text: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {text:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "ccr_syncer",
    about = "Cross-cluster replication service for Apache Doris",
    disable_version_flag = true
)]
pub struct SyncerArgs {
    /// Print the version and exit.
    #[arg(long, action = ArgAction::SetTrue)]
    pub version: bool,
    /// This syncer's host name: part of its identity `host:port` in the metadata store
    /// (high availability) and of redirects to the job's owner. Also the HTTP bind address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// HTTP port of the API.
    #[arg(long, default_value_t = 9190)]
    pub port: u16,
    /// Metadata store: sqlite3 (embedded file) or mysql (shared, for high availability).
    #[arg(long = "db_type", value_enum, default_value = "sqlite3")]
    pub db_type: DbType,
    /// SQLite database file.
    #[arg(long = "db_dir", default_value = "ccr.db")]
    pub db_dir: PathBuf,
    #[arg(long = "db_host", default_value = "127.0.0.1")]
    pub db_host: String,
    #[arg(long = "db_port", default_value_t = 3306)]
    pub db_port: u16,
    #[arg(long = "db_user", default_value = "root")]
    pub db_user: String,
    /// Also read from the environment (CCR_DB_PASSWORD), which keeps it out of `ps`.
    #[arg(
        long = "db_password",
        env = "CCR_DB_PASSWORD",
        default_value = "",
        hide_default_value = true,
        hide_env_values = true
    )]
    pub db_password: SecretArg,
    /// MySQL database holding the metadata (created if missing).
    #[arg(long = "db_name", default_value = "ccr")]
    pub db_name: String,
    /// Accepted for compatibility with the reference; sqlx needs no packet cap.
    #[arg(long = "mysql_max_allowed_packet", default_value_t = 1_073_741_824)]
    pub mysql_max_allowed_packet: u64,
    /// Connect timeout of Thrift and SQL connections to Doris.
    #[arg(long = "connect_timeout", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Timeout of one Thrift call.
    #[arg(long = "rpc_timeout", default_value = "30s", value_parser = parse_duration)]
    pub rpc_timeout: Duration,
    /// Timeout of the commitTxn call (it waits for publish on the FE).
    #[arg(long = "commit_txn_timeout", default_value = "33s", value_parser = parse_duration)]
    pub commit_txn_timeout: Duration,
    /// In-flight ingest_binlog calls per target BE per job.
    #[arg(long = "max_ingest_concurrency_per_backend", default_value_t = 48)]
    pub max_ingest_concurrency_per_backend: usize,
    /// Transactions of one job that are opened and ingest their rowsets while an earlier
    /// one commits; commits stay in source order. 1 replays one transaction at a time.
    #[arg(long = "txn_pipeline_depth", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub txn_pipeline_depth: u16,
    /// Host mappings for every job, one `SOURCE_<advertised host>=<host to dial>` or
    /// `TARGET_<advertised host>=<host to dial>` per line (`#` comments allowed); a job's
    /// own `host_mapping` wins for the same host.
    #[arg(long = "host_mapping_file")]
    pub host_mapping_file: Option<PathBuf>,
    /// Accepted for compatibility; the repository is always `__keep_on_local__`.
    #[arg(long = "local_repo_name", default_value = "")]
    pub local_repo_name: String,
    /// Verify every caught-up job of this syncer this often, in seconds (as `/verify` does:
    /// row counts, checksums, columns, partitions, comments), setting
    /// `ccr_syncer_job_verify_mismatch_tables` and `last_verification` in `/job_status`.
    /// 0 (the default) turns it off.
    #[arg(long = "verify_interval", default_value_t = 0)]
    pub verify_interval: u64,
    /// How long an idle job waits before asking the source for new binlogs again.
    #[arg(long = "idle_poll_interval", default_value = "1s", value_parser = parse_duration)]
    pub idle_poll_interval: Duration,
    /// How often the syncer renews its heartbeat in the metadata store and looks for dead
    /// peers.
    #[arg(long = "heartbeat_interval", default_value = "2s", value_parser = parse_duration)]
    pub heartbeat_interval: Duration,
    /// A syncer whose heartbeat is older than this, by the store's clock, is dead: its jobs
    /// go to the live syncers. A syncer stops writing to targets `heartbeat_interval` before
    /// that (its lease). Must be more than twice `heartbeat_interval`.
    #[arg(long = "dead_after", default_value = "8s", value_parser = parse_duration)]
    pub dead_after: Duration,
    /// How often a whole-cluster job lists the source cluster's databases: a new admitted
    /// database gets its database job within this interval, a dropped one is reported.
    #[arg(long = "cluster_watch_interval", default_value = "10s", value_parser = parse_duration)]
    pub cluster_watch_interval: Duration,
    /// Failed steps in a row after which a job is shown as needing an operator
    /// (`needs_operator` in /job_status, one ERROR line, a metric); it keeps retrying.
    #[arg(long = "operator_after_failures", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..))]
    pub operator_after_failures: u32,
    /// A job holds (before a restore, and before applying binlogs) while any target BE's
    /// fullest disk is above this percentage (`MaxDiskUsedPct` of `SHOW BACKENDS`), and
    /// goes on by itself once it is not. 100 turns the guard off.
    #[arg(long = "target_max_disk_used_percent", default_value_t = 80.0, value_parser = parse_percent)]
    pub target_max_disk_used_percent: f64,
    /// How long a job reuses its last reading of the target BEs' disk usage.
    #[arg(long = "target_disk_check_interval", default_value = "30s", value_parser = parse_duration)]
    pub target_disk_check_interval: Duration,
    /// Seconds between two progress report lines (jobs by state, tables, lag; INFO);
    /// 0 turns the report off. A duration (`5m`) is accepted too.
    #[arg(long = "report_interval", default_value = "300", value_parser = parse_duration)]
    pub report_interval: Duration,
    #[arg(long = "log_level", value_enum, default_value = "info")]
    pub log_level: LogLevel,
    #[arg(long = "log_format", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Directory for the log file `<host>_<port>.log`; logs go to stdout when unset.
    #[arg(long = "log_dir")]
    pub log_dir: Option<PathBuf>,
    /// Log file path (reference name); takes precedence over --log_dir.
    #[arg(long = "log_filename")]
    pub log_filename: Option<PathBuf>,
    /// Also write log lines to stderr when logging to a file.
    #[arg(long = "log_also_to_stderr", action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub log_also_to_stderr: bool,
    /// Accepted for compatibility; Go's pprof has no Rust counterpart (a warning is logged).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub pprof: bool,
    #[arg(long = "pprof_port", default_value_t = 6060)]
    pub pprof_port: u16,
    /// File holding the API token (surrounding whitespace ignored); or the token itself in
    /// `CCR_API_TOKEN`. When a token is set, every route but /version and /metrics needs
    /// `Authorization: Bearer <token>`.
    #[arg(long = "api_token_file")]
    pub api_token_file: Option<PathBuf>,
    /// /metrics needs the token too.
    #[arg(long = "metrics_require_token", action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    pub metrics_require_token: bool,
    /// File holding the key that encrypts cluster passwords in the metadata store
    /// (AES-256-GCM): 32 bytes as 64 hex digits or base64; or the key itself in
    /// `CCR_SECRET_KEY`. Without a key passwords are stored plain.
    #[arg(long = "secret_key_file")]
    pub secret_key_file: Option<PathBuf>,
    /// The previous key (rotation): decrypts stored passwords, which are re-encrypted under
    /// --secret_key_file at start. Or the key itself in `CCR_OLD_SECRET_KEY`.
    #[arg(long = "old_secret_key_file")]
    pub old_secret_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub features: FeatureFlags,
}

/// A password given on the command line, kept out of `Debug` output.
#[derive(Clone, Default)]
pub struct SecretArg(pub Secret);

impl std::fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for SecretArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(SecretArg(Secret::new(s)))
    }
}

/// Shortest API token accepted: anything shorter is guessable.
pub const MIN_API_TOKEN_LEN: usize = 16;
/// The environment variables that may hold the token and the keys themselves (never flags:
/// `ps` shows flags). A file flag wins over its variable.
pub const API_TOKEN_ENV: &str = "CCR_API_TOKEN";
pub const SECRET_KEY_ENV: &str = "CCR_SECRET_KEY";
pub const OLD_SECRET_KEY_ENV: &str = "CCR_OLD_SECRET_KEY";

/// A secret from the environment, if set and not empty.
fn secret_env(name: &str) -> Option<Secret> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(Secret::new)
}

impl SyncerArgs {
    /// The API token from `--api_token_file` or `CCR_API_TOKEN`, if any.
    pub fn api_token(&self) -> Result<Option<Secret>, String> {
        let token = match (&self.api_token_file, secret_env(API_TOKEN_ENV)) {
            (Some(path), _) => Secret::new(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read --api_token_file {}: {e}", path.display()))?,
            ),
            (None, Some(token)) => token,
            (None, None) => return Ok(None),
        };
        let token = Secret::new(token.expose().trim());
        if token.expose().len() < MIN_API_TOKEN_LEN {
            return Err(format!(
                "the API token (--api_token_file or CCR_API_TOKEN) must be at least {MIN_API_TOKEN_LEN} characters"
            ));
        }
        Ok(Some(token))
    }

    /// The keys that encrypt stored passwords, from the key files or the environment.
    pub fn secret_keys(&self) -> Result<SecretKeys, String> {
        let read = |file: &Option<PathBuf>, env: &str, flag: &str| {
            match (file, secret_env(env)) {
                (Some(path), _) => SecretKey::from_file(path).map(Some),
                (None, Some(text)) => SecretKey::parse(&text).map(Some),
                (None, None) => Ok(None),
            }
            .map_err(|e| format!("{flag} / {env}: {e}"))
        };
        let current = read(&self.secret_key_file, SECRET_KEY_ENV, "--secret_key_file")?;
        let old = read(
            &self.old_secret_key_file,
            OLD_SECRET_KEY_ENV,
            "--old_secret_key_file",
        )?;
        SecretKeys::new(current, old).map_err(|e| e.to_string())
    }

    /// This syncer's identity in the metadata store: `host:port`.
    pub fn identity(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Parses flags after rewriting Go-style `-name` flags (see [`normalize_go_flags`]).
    /// Checks what the flags cannot say one by one.
    /// The mappings of `--host_mapping_file` (none without the flag).
    pub fn host_mapping(&self) -> Result<SyncerHostMapping, String> {
        let Some(path) = &self.host_mapping_file else {
            return Ok(SyncerHostMapping::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --host_mapping_file {}: {e}", path.display()))?;
        SyncerHostMapping::parse(&text)
            .map_err(|e| format!("--host_mapping_file {}: {e}", path.display()))
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.heartbeat_interval.is_zero() || self.dead_after <= self.heartbeat_interval * 2 {
            return Err(format!(
                "--dead_after ({:?}) must be more than twice --heartbeat_interval ({:?}), which must not be 0",
                self.dead_after, self.heartbeat_interval
            ));
        }
        if self.cluster_watch_interval.is_zero() {
            return Err("--cluster_watch_interval must not be 0".into());
        }
        Ok(())
    }

    pub fn try_parse_go_style<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::try_parse_from(normalize_go_flags(args.into_iter().map(Into::into)))
    }
}

/// Rewrites Go flag syntax (`-name=value`, `-name value`) to clap's `--name`. Single-letter
/// flags such as `-h` are left alone.
pub fn normalize_go_flags(args: impl Iterator<Item = String>) -> Vec<String> {
    args.enumerate()
        .map(|(i, arg)| {
            let is_go_long = i > 0
                && arg.starts_with('-')
                && !arg.starts_with("--")
                && arg.split('=').next().is_some_and(|name| name.len() > 2);
            if is_go_long {
                format!("-{arg}")
            } else {
                arg
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_mapping_file_is_read_and_checked() {
        let none = SyncerArgs::try_parse_go_style(["ccr_syncer"]).unwrap();
        assert_eq!(none.host_mapping().unwrap(), SyncerHostMapping::default());

        let path =
            std::env::temp_dir().join(format!("ccr_hosts_{}.properties", std::process::id()));
        std::fs::write(
            &path,
            "# comment\nSOURCE_be-0.svc=10.0.0.1\nTARGET_fe.svc=10.0.1.1\n",
        )
        .unwrap();
        let args = SyncerArgs::try_parse_go_style([
            "ccr_syncer",
            "-host_mapping_file",
            path.to_str().unwrap(),
        ])
        .unwrap();
        let mapping = args.host_mapping().unwrap();
        assert_eq!(mapping.source["be-0.svc"], "10.0.0.1");
        assert_eq!(mapping.target["fe.svc"], "10.0.1.1");
        std::fs::write(&path, "SOURCE_a=b\nbroken\n").unwrap();
        let error = args.host_mapping().unwrap_err();
        assert!(
            error.contains("--host_mapping_file") && error.contains("line 2"),
            "{error}"
        );
        std::fs::remove_file(&path).unwrap();
        let missing = args.host_mapping().unwrap_err();
        assert!(
            missing.starts_with("cannot read --host_mapping_file"),
            "{missing}"
        );
    }

    #[test]
    fn defaults_match_the_reference() {
        let args = SyncerArgs::try_parse_go_style(["ccr_syncer"]).unwrap();
        assert_eq!(args.host, "127.0.0.1");
        assert_eq!(args.port, 9190);
        assert_eq!(args.db_type, DbType::Sqlite3);
        assert_eq!(args.db_dir, PathBuf::from("ccr.db"));
        assert_eq!(args.db_port, 3306);
        assert_eq!(args.db_user, "root");
        assert_eq!(args.connect_timeout, Duration::from_secs(10));
        assert_eq!(args.rpc_timeout, Duration::from_secs(30));
        assert_eq!(args.commit_txn_timeout, Duration::from_secs(33));
        assert_eq!(args.max_ingest_concurrency_per_backend, 48);
        assert!(args.features.atomic_restore);
        assert!(!args.features.clean_table_and_partitions);
        assert_eq!(args.identity(), "127.0.0.1:9190");
        assert_eq!(args.log_format, LogFormat::Text);
    }

    #[test]
    fn log_format_is_text_or_json() {
        let args = SyncerArgs::try_parse_go_style(["ccr_syncer", "-log_format=json"]).unwrap();
        assert_eq!(args.log_format, LogFormat::Json);
        assert!(SyncerArgs::try_parse_go_style(["ccr_syncer", "--log_format", "xml"]).is_err());
    }

    #[test]
    fn go_style_flags_are_accepted() {
        let args = SyncerArgs::try_parse_go_style([
            "ccr_syncer",
            "-host=10.0.0.1",
            "-port",
            "9291",
            "-feature_atomic_restore=false",
            "--feature_clean_table_and_partitions",
            "-rpc_timeout=1m30s",
            "-db_type=mysql",
        ])
        .unwrap();
        assert_eq!(args.host, "10.0.0.1");
        assert_eq!(args.port, 9291);
        assert!(!args.features.atomic_restore);
        assert!(args.features.clean_table_and_partitions);
        assert_eq!(args.rpc_timeout, Duration::from_secs(90));
        assert_eq!(args.db_type, DbType::Mysql);
    }

    #[test]
    fn unknown_db_type_is_a_usage_error() {
        let err =
            SyncerArgs::try_parse_go_style(["ccr_syncer", "--db_type", "oracle"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("oracle"), "{err}");
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_duration("1500ms").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("10parsecs").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn password_is_not_in_debug_output() {
        let args =
            SyncerArgs::try_parse_go_style(["ccr_syncer", "--db_password", "topsecret"]).unwrap();
        assert!(!format!("{args:?}").contains("topsecret"));
        assert_eq!(args.db_password.0.expose(), "topsecret");
    }

    #[test]
    fn the_api_token_comes_from_a_file_trimmed_and_short_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "  a-long-enough-api-token\n").unwrap();
        let args = SyncerArgs::try_parse_go_style([
            "ccr_syncer",
            "--api_token_file",
            path.to_str().unwrap(),
        ])
        .unwrap();
        assert_eq!(
            args.api_token().unwrap().unwrap().expose(),
            "a-long-enough-api-token"
        );
        std::fs::write(&path, "short").unwrap();
        assert!(args.api_token().unwrap_err().contains("at least 16"));
    }

    #[test]
    fn a_key_file_of_the_wrong_size_is_a_clear_start_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "abcd".repeat(8)).unwrap();
        let args = SyncerArgs::try_parse_go_style([
            "ccr_syncer",
            "--secret_key_file",
            path.to_str().unwrap(),
        ])
        .unwrap();
        let error = args.secret_keys().unwrap_err();
        assert!(error.contains("must be 32 bytes"), "{error}");
        assert!(error.contains(path.to_str().unwrap()), "{error}");
        std::fs::write(&path, "abcd".repeat(16)).unwrap();
        assert!(args.secret_keys().unwrap().encrypts());
        assert!(!format!("{args:?}").contains("abcdabcd"));
    }

    #[test]
    fn features_are_listed_sorted_with_defaults() {
        let flags = FeatureFlags::default().list();
        let names: Vec<_> = flags.iter().map(|f| f.0).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(flags.len(), 7);
        assert!(flags.iter().all(|(_, value, default)| value == default));
    }
}
