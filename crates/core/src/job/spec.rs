//! What a job replicates: the two cluster specs and the persisted job record.
//!
//! The JSON shapes are the reference syncer's (`jobs.job_info`), so operators' tooling that
//! reads them keeps working. Ports are strings there; we also accept JSON numbers.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::cluster_filter::ClusterJobSpec;
use crate::secrets::mysql_aes::decrypt_aes_encrypt;
use crate::secrets::{SecretError, SecretKeys};
use ccr_wire::secret::Secret;

/// Longest job name accepted. Names become part of labels, metric labels and log lines.
pub const MAX_JOB_NAME_LEN: usize = 128;

/// One frontend of a cluster as discovered at job creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct Frontend {
    pub host: String,
    /// MySQL (query) port, as a decimal string.
    pub port: String,
    /// Thrift (rpc) port, as a decimal string.
    pub thrift_port: String,
    #[serde(default)]
    pub is_master: bool,
}

/// One side of a job: where the cluster is, how to log in, and what to replicate.
///
/// Deserialize only: a spec is written out through [`JobInfo::to_stored_json`] (password
/// sealed for the store) or [`JobInfo::redacted_json`] (password hidden), never by a blanket
/// `Serialize` that could put the password in an answer.
#[derive(Clone, PartialEq, Eq, Deserialize, Default, utoipa::ToSchema)]
pub struct ClusterSpec {
    #[serde(default)]
    pub host: String,
    /// FE query (MySQL) port. Accepted as a JSON string (reference) or number.
    #[serde(default, deserialize_with = "port_text")]
    #[schema(value_type = String, example = "9030")]
    pub port: String,
    /// FE rpc (Thrift) port. Accepted as a JSON string (reference) or number.
    #[serde(default, deserialize_with = "port_text")]
    #[schema(value_type = String, example = "9020")]
    pub thrift_port: String,
    #[serde(default)]
    pub is_master: bool,
    #[serde(default)]
    pub frontends: Vec<Frontend>,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    #[schema(value_type = String, format = Password)]
    pub password: Secret,
    /// `/create_ccr` only: `password` is base64 of MySQL `AES_ENCRYPT(password, this key)`
    /// (the StarRocks migration tool's form); decrypted on creation, never stored.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub password_secret_key: Option<Secret>,
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub database: String,
    #[serde(default)]
    pub db_id: i64,
    #[serde(default)]
    pub table: String,
    #[serde(default)]
    pub table_id: i64,
    /// The reference's `host_mapping`: host the cluster advertises (a private FE or BE
    /// address) → host to dial instead. Applied to every address of this cluster the
    /// syncer dials, and to the source BE addresses handed to the target's BEs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub host_mapping: BTreeMap<String, String>,
}

impl std::fmt::Debug for ClusterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Passwords stay out of logs (Secret prints ***), and the address comes first.
        f.debug_struct("ClusterSpec")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("thrift_port", &self.thrift_port)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("database", &self.database)
            .field("table", &self.table)
            .field("host_mapping", &self.host_mapping)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("host is empty")]
    HostEmpty,
    #[error("port is invalid: {0:?}")]
    PortInvalid(String),
    #[error("thrift_port is invalid: {0:?}")]
    ThriftPortInvalid(String),
    #[error("user is empty")]
    UserEmpty,
    #[error("database is empty")]
    DatabaseEmpty,
    #[error("host_mapping is invalid: {0}")]
    HostMappingInvalid(String),
}

impl ClusterSpec {
    /// The reference's spec validation, with the same messages.
    pub fn validate(&self) -> Result<(), SpecError> {
        self.validate_access()?;
        if self.database.is_empty() {
            return Err(SpecError::DatabaseEmpty);
        }
        Ok(())
    }

    /// [`ClusterSpec::validate`] but for the database: what a whole-cluster job's specs
    /// (database empty on purpose) must satisfy.
    pub fn validate_access(&self) -> Result<(), SpecError> {
        if self.host.trim().is_empty() {
            return Err(SpecError::HostEmpty);
        }
        self.query_port()
            .ok_or_else(|| SpecError::PortInvalid(self.port.clone()))?;
        self.rpc_port()
            .ok_or_else(|| SpecError::ThriftPortInvalid(self.thrift_port.clone()))?;
        if self.user.is_empty() {
            return Err(SpecError::UserEmpty);
        }
        super::host_mapping::check_request_table(&self.host_mapping)
            .map_err(SpecError::HostMappingInvalid)?;
        Ok(())
    }

    pub fn query_port(&self) -> Option<u16> {
        self.port.trim().parse().ok()
    }

    pub fn rpc_port(&self) -> Option<u16> {
        self.thrift_port.trim().parse().ok()
    }

    /// Whether this spec maps any address of its cluster (its own entries; the
    /// syncer-wide file is the manager's).
    pub fn uses_host_mapping(&self) -> bool {
        !self.host_mapping.is_empty()
    }

    pub fn is_table_level(&self) -> bool {
        !self.table.is_empty()
    }

    /// `host:port` of the FE query port, for messages.
    pub fn query_addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The FE Thrift addresses to try: the spec's own FE first, then every FE discovered at
    /// creation.
    pub fn fe_addresses(&self) -> Vec<ccr_doris::rpc::RpcAddress> {
        let mut addresses = Vec::new();
        if let Some(port) = self.rpc_port() {
            addresses.push(ccr_doris::rpc::RpcAddress::new(self.host.clone(), port));
        }
        for fe in &self.frontends {
            if let Ok(port) = fe.thrift_port.trim().parse::<u16>() {
                let address = ccr_doris::rpc::RpcAddress::new(fe.host.clone(), port);
                if !addresses.contains(&address) {
                    addresses.push(address);
                }
            }
        }
        addresses
    }

    /// The host mapping this cluster's clients dial through: `syncer_wide` (the side's
    /// table of `--host_mapping_file`) with this spec's own entries over it.
    pub fn dial_mapping(&self, syncer_wide: &BTreeMap<String, String>) -> ccr_doris::HostMapping {
        ccr_doris::HostMapping::new(super::host_mapping::effective(
            syncer_wide,
            &self.host_mapping,
        ))
    }

    /// How the Doris clients reach this cluster; `syncer_wide` as for
    /// [`ClusterSpec::dial_mapping`].
    pub fn cluster_access(
        &self,
        syncer_wide: &BTreeMap<String, String>,
    ) -> ccr_doris::cluster::ClusterAccess {
        ccr_doris::cluster::ClusterAccess {
            host_mapping: self.dial_mapping(syncer_wide),
            host: self.host.clone(),
            query_port: self.query_port().unwrap_or_default(),
            user: self.user.clone(),
            password: self.password.clone(),
            frontends: self.fe_addresses(),
            cluster: self.cluster.clone(),
        }
    }

    /// Replaces a password given in MySQL `AES_ENCRYPT` form (`password_secret_key` set)
    /// by its plaintext. `side` names the spec in errors.
    pub fn decrypt_given_password(&mut self, side: &'static str) -> Result<(), SecretError> {
        if let Some(key) = self.password_secret_key.take() {
            self.password = decrypt_aes_encrypt(&self.password, &key, side)?;
        }
        Ok(())
    }

    /// The spec as written out, with `password` standing for the password.
    fn written<'a>(&'a self, password: Cow<'a, str>) -> WrittenClusterSpec<'a> {
        WrittenClusterSpec {
            host: &self.host,
            port: &self.port,
            thrift_port: &self.thrift_port,
            is_master: self.is_master,
            frontends: &self.frontends,
            user: &self.user,
            password,
            cluster: &self.cluster,
            database: &self.database,
            db_id: self.db_id,
            table: &self.table,
            table_id: self.table_id,
            host_mapping: &self.host_mapping,
        }
    }

    /// The spec as `/job_detail` shows it: a non-empty password replaced.
    fn redacted(&self) -> WrittenClusterSpec<'_> {
        let shown = if self.password.is_empty() {
            ""
        } else {
            REDACTED_PASSWORD
        };
        self.written(Cow::Borrowed(shown))
    }
}

/// The JSON form of a [`ClusterSpec`] (reference key order), with the password already in
/// the form its destination gets: sealed for the store, redacted for clients.
#[derive(Serialize)]
struct WrittenClusterSpec<'a> {
    host: &'a str,
    port: &'a str,
    thrift_port: &'a str,
    is_master: bool,
    frontends: &'a [Frontend],
    user: &'a str,
    password: Cow<'a, str>,
    cluster: &'a str,
    database: &'a str,
    db_id: i64,
    table: &'a str,
    table_id: i64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    host_mapping: &'a BTreeMap<String, String>,
}

/// What `/job_detail` shows instead of a password.
pub const REDACTED_PASSWORD: &str = "******";

/// Database-level or table-level replication (numbers as persisted by the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum SyncType {
    Database,
    Table,
}

impl From<SyncType> for i32 {
    fn from(value: SyncType) -> Self {
        match value {
            SyncType::Database => 0,
            SyncType::Table => 1,
        }
    }
}

impl TryFrom<i32> for SyncType {
    type Error = String;
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(SyncType::Database),
            1 => Ok(SyncType::Table),
            other => Err(format!("unknown sync type {other}")),
        }
    }
}

/// The operator-controlled run state (numbers as persisted by the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum RunState {
    Running,
    Paused,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
        }
    }
}

impl From<RunState> for i32 {
    fn from(value: RunState) -> Self {
        match value {
            RunState::Running => 0,
            RunState::Paused => 1,
        }
    }
}

impl TryFrom<i32> for RunState {
    type Error = String;
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(RunState::Running),
            1 => Ok(RunState::Paused),
            other => Err(format!("unknown job state {other}")),
        }
    }
}

/// How long a job runs: `continuous` replication (the default), or `once`: one full copy
/// (backup on the source, restore on the target), then the job is done (a migration or an
/// upgrade; the StarRocks migration tool's `one_time_run_mode`, Debezium's `initial_only`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    #[default]
    Continuous,
    Once,
}

impl SyncMode {
    pub fn is_continuous(&self) -> bool {
        *self == SyncMode::Continuous
    }

    /// Reads the `mode` of a `/create_ccr` body; anything else is named in the error.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "" | "continuous" => Ok(SyncMode::Continuous),
            "once" => Ok(SyncMode::Once),
            other => Err(format!(
                "unknown mode {other:?}: \"continuous\" (the default) replicates until the job \
                 is deleted, \"once\" copies the data one time and stops"
            )),
        }
    }
}

/// The persisted job record (`jobs.job_info`). Keys and their order follow the reference;
/// the keys after `state` are ours and are omitted while they hold their defaults.
///
/// In memory the passwords are plaintext [`Secret`]s. The record is written only through
/// [`JobInfo::to_stored_json`] (passwords sealed by the syncer's keys) and
/// [`JobInfo::redacted_json`]; read with [`JobInfo::from_stored_json`] then
/// [`JobInfo::open_passwords`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobInfo {
    pub sync_type: SyncType,
    pub name: String,
    pub src: ClusterSpec,
    pub dest: ClusterSpec,
    #[serde(default)]
    pub skip_error: bool,
    pub state: RunState,
    /// How many times /force_fullsync was called. The job compares it with the count its
    /// progress has honoured, so a request survives a restart (the reference keeps it in
    /// memory only) and the job task never writes the job record.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fullsync_requests: u64,
    /// `/job_skip_binlog` `silence`: the commit seq of the binlog the operator chose to skip.
    /// Commit seqs only grow, so once the job is past it the value is inert.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub skip_commit_seq: i64,
    /// `/job_skip_binlog` `partialsync`: the newest request for a partial sync of one table
    /// of a database job; its serial is compared with the one the progress has honoured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partialsync_request: Option<PartialSyncRequest>,
    /// Adopt an existing target table instead of refusing to create the job.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_table_exists: bool,
    /// Database jobs: replicate only these tables and views (by source name). Empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_tables: Vec<String>,
    /// Database jobs: never replicate these tables and views (applied after
    /// `include_tables`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_tables: Vec<String>,
    /// Set on a whole-cluster job (both databases empty): its rules. Such a job replicates
    /// nothing itself; it runs one database job per admitted source database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_job: Option<ClusterJobSpec>,
    /// Set on a database job a whole-cluster job runs: the name of that job.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent_job: String,
    /// `once`: copy the data one time and stop (the job ends `done`).
    #[serde(default, skip_serializing_if = "SyncMode::is_continuous")]
    pub mode: SyncMode,
}

/// The JSON form of a [`JobInfo`]; see [`WrittenClusterSpec`].
#[derive(Serialize)]
struct WrittenJobInfo<'a> {
    sync_type: SyncType,
    name: &'a str,
    src: WrittenClusterSpec<'a>,
    dest: WrittenClusterSpec<'a>,
    skip_error: bool,
    state: RunState,
    #[serde(skip_serializing_if = "is_zero")]
    fullsync_requests: u64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    skip_commit_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    partialsync_request: &'a Option<PartialSyncRequest>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_table_exists: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    include_tables: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    exclude_tables: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_job: &'a Option<ClusterJobSpec>,
    #[serde(skip_serializing_if = "str::is_empty")]
    parent_job: &'a str,
    #[serde(skip_serializing_if = "SyncMode::is_continuous")]
    mode: SyncMode,
}

impl JobInfo {
    fn written<'a>(
        &'a self,
        src: WrittenClusterSpec<'a>,
        dest: WrittenClusterSpec<'a>,
    ) -> WrittenJobInfo<'a> {
        WrittenJobInfo {
            sync_type: self.sync_type,
            name: &self.name,
            src,
            dest,
            skip_error: self.skip_error,
            state: self.state,
            fullsync_requests: self.fullsync_requests,
            skip_commit_seq: self.skip_commit_seq,
            partialsync_request: &self.partialsync_request,
            allow_table_exists: self.allow_table_exists,
            include_tables: &self.include_tables,
            exclude_tables: &self.exclude_tables,
            cluster_job: &self.cluster_job,
            parent_job: &self.parent_job,
            mode: self.mode,
        }
    }

    /// Whether this is a whole-cluster job (it runs database jobs, not replication).
    pub fn is_cluster_job(&self) -> bool {
        self.cluster_job.is_some()
    }

    /// A new, running job record of `sync_type` with every operator setting at its default.
    pub fn new(sync_type: SyncType, name: String, src: ClusterSpec, dest: ClusterSpec) -> Self {
        JobInfo {
            sync_type,
            name,
            src,
            dest,
            skip_error: false,
            state: RunState::Running,
            fullsync_requests: 0,
            skip_commit_seq: 0,
            partialsync_request: None,
            allow_table_exists: false,
            include_tables: Vec::new(),
            exclude_tables: Vec::new(),
            cluster_job: None,
            parent_job: String::new(),
            mode: SyncMode::Continuous,
        }
    }

    /// The record as the metadata store keeps it: each password sealed by `keys` (plain
    /// when the syncer has no key).
    pub fn to_stored_json(&self, keys: &SecretKeys) -> String {
        let src = self.src.written(Cow::Owned(keys.seal(&self.src.password)));
        let dest = self
            .dest
            .written(Cow::Owned(keys.seal(&self.dest.password)));
        serde_json::to_string(&self.written(src, dest)).expect("job info serialises")
    }

    /// Parses a stored record; the passwords are still in their stored form until
    /// [`JobInfo::open_passwords`].
    pub fn from_stored_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Decrypts the passwords of a record read with [`JobInfo::from_stored_json`].
    /// On failure the record keeps its stored form, and the error names the side.
    pub fn open_passwords(&mut self, keys: &SecretKeys) -> Result<(), (&'static str, SecretError)> {
        let src = keys
            .open(self.src.password.expose())
            .map_err(|e| ("src", e))?;
        let dest = keys
            .open(self.dest.password.expose())
            .map_err(|e| ("dest", e))?;
        self.src.password = src;
        self.dest.password = dest;
        Ok(())
    }

    /// Whether the stored passwords of a record read with [`JobInfo::from_stored_json`]
    /// are already in the form `keys` writes.
    pub fn passwords_are_current(&self, keys: &SecretKeys) -> bool {
        keys.is_current(self.src.password.expose()) && keys.is_current(self.dest.password.expose())
    }

    /// Whether a database job replicates the source table or view named `name`: it must
    /// be in `include_tables` (when that list is given) and not in `exclude_tables`.
    pub fn replicates_table(&self, name: &str) -> bool {
        table_selected(&self.include_tables, &self.exclude_tables, name)
    }

    /// Whether include/exclude lists narrow what a database job replicates.
    pub fn has_table_filter(&self) -> bool {
        !self.include_tables.is_empty() || !self.exclude_tables.is_empty()
    }

    /// The record as shown by `/job_detail`: passwords redacted.
    pub fn redacted_json(&self) -> String {
        let shown = self.written(self.src.redacted(), self.dest.redacted());
        serde_json::to_string(&shown).expect("job info serialises")
    }
}

/// The table filter of a database job: `name` is in `include_tables` (when that list is
/// given) and not in `exclude_tables`.
pub fn table_selected(include_tables: &[String], exclude_tables: &[String], name: &str) -> bool {
    let included = include_tables.is_empty() || include_tables.iter().any(|t| t == name);
    included && !exclude_tables.iter().any(|t| t == name)
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn is_zero_i64(value: &i64) -> bool {
    *value == 0
}

/// An operator's request to re-snapshot one source table of a database job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialSyncRequest {
    /// Source table name.
    pub table: String,
    /// Grows by one per request.
    pub serial: u64,
}

/// Validates a job name. Names may hold any printable character except control characters
/// (they are quoted wherever they are used), but must not be empty or overly long.
pub fn validate_job_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name is empty".into());
    }
    if name.chars().count() > MAX_JOB_NAME_LEN {
        return Err(format!("name is longer than {MAX_JOB_NAME_LEN} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("name contains control characters".into());
    }
    // MySQL's collation ignores trailing spaces, so "j" and "j " would collide there.
    if name.trim() != name {
        return Err("name has leading or trailing spaces".into());
    }
    Ok(())
}

/// Deserialises a port given as a JSON string (reference) or number into its text form.
fn port_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct PortVisitor;

    impl serde::de::Visitor<'_> for PortVisitor {
        type Value = String;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a port as a string or a number")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_owned())
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<String, E> {
            Ok(value.to_string())
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<String, E> {
            Ok(value.to_string())
        }
    }

    deserializer.deserialize_any(PortVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ClusterSpec {
        ClusterSpec {
            host: "127.0.0.1".into(),
            port: "9030".into(),
            thrift_port: "9020".into(),
            user: "root".into(),
            password: Secret::new("pw"),
            database: "db".into(),
            ..Default::default()
        }
    }

    #[test]
    fn ports_accept_strings_and_numbers() {
        let a: ClusterSpec = serde_json::from_str(r#"{"port":"9030","thrift_port":9020}"#).unwrap();
        assert_eq!(a.port, "9030");
        assert_eq!(a.thrift_port, "9020");
        assert!(serde_json::from_str::<ClusterSpec>(r#"{"port":true}"#).is_err());
    }

    #[test]
    fn validation_messages_match_the_reference() {
        assert_eq!(spec().validate(), Ok(()));
        let mut s = spec();
        s.host.clear();
        assert_eq!(s.validate().unwrap_err().to_string(), "host is empty");
        let mut s = spec();
        s.port = "70000".into();
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("port is invalid"));
        let mut s = spec();
        s.database.clear();
        assert_eq!(s.validate().unwrap_err().to_string(), "database is empty");
    }

    #[test]
    fn job_info_round_trips_in_reference_key_order() {
        let info = JobInfo {
            state: RunState::Paused,
            ..JobInfo::new(SyncType::Table, "j".into(), spec(), spec())
        };
        let json = info.to_stored_json(&SecretKeys::none());
        assert!(json.starts_with(r#"{"sync_type":1,"name":"j","src":{"host":"127.0.0.1","port":"9030","thrift_port":"9020","is_master":false,"frontends":[],"user":"root","password":"pw""#), "{json}");
        assert!(json.ends_with(r#""skip_error":false,"state":1}"#), "{json}");
        assert_eq!(JobInfo::from_stored_json(&json).unwrap(), info);
        let shown = info.redacted_json();
        assert!(!shown.contains("\"pw\""));
        assert!(shown.contains(REDACTED_PASSWORD));
    }

    #[test]
    fn the_mode_is_stored_only_when_once() {
        let mut info =
            JobInfo::from_stored_json(r#"{"sync_type":1,"name":"j","src":{},"dest":{},"state":0}"#)
                .unwrap();
        assert_eq!(info.mode, SyncMode::Continuous);
        assert!(!info.to_stored_json(&SecretKeys::none()).contains("mode"));
        info.mode = SyncMode::Once;
        let json = info.to_stored_json(&SecretKeys::none());
        assert!(json.ends_with(r#""mode":"once"}"#), "{json}");
        assert_eq!(JobInfo::from_stored_json(&json).unwrap(), info);
        assert!(info.redacted_json().contains(r#""mode":"once""#));
        assert_eq!(SyncMode::parse("once"), Ok(SyncMode::Once));
        assert_eq!(SyncMode::parse(""), Ok(SyncMode::Continuous));
        let error = SyncMode::parse("one_time").unwrap_err();
        assert!(error.starts_with(r#"unknown mode "one_time""#), "{error}");
    }

    #[test]
    fn host_mapping_uses_the_reference_key_and_is_omitted_when_empty() {
        let with: ClusterSpec = serde_json::from_str(
            r#"{"host":"h","host_mapping":{"10.0.0.1":"1.2.3.4","fe.private":"5.6.7.8"}}"#,
        )
        .unwrap();
        assert_eq!(with.host_mapping["10.0.0.1"], "1.2.3.4");
        let record = |src: &ClusterSpec| {
            JobInfo::from_stored_json(r#"{"sync_type":1,"name":"j","src":{},"dest":{},"state":0}"#)
                .map(|mut info| {
                    info.src = src.clone();
                    info.to_stored_json(&SecretKeys::none())
                })
                .unwrap()
        };
        let json = record(&with);
        assert!(
            json.contains(r#""host_mapping":{"10.0.0.1":"1.2.3.4","fe.private":"5.6.7.8"}}"#),
            "{json}"
        );
        assert!(!record(&spec()).contains("host_mapping"));
        assert!(with.uses_host_mapping() && !spec().uses_host_mapping());
        let mut bad = spec();
        bad.host_mapping.insert(String::new(), "1.2.3.4".into());
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("host_mapping is invalid"));
    }

    #[test]
    fn the_spec_mapping_wins_over_the_syncer_wide_one() {
        let mut s = spec();
        s.host_mapping.insert("a".into(), "job".into());
        let syncer_wide = BTreeMap::from([
            ("a".to_owned(), "file".to_owned()),
            ("b".to_owned(), "file".to_owned()),
        ]);
        let access = s.cluster_access(&syncer_wide);
        assert_eq!(access.host_mapping.resolve("a"), "job");
        assert_eq!(access.host_mapping.resolve("b"), "file");
        assert_eq!(access.host_mapping.resolve("c"), "c");
    }

    #[test]
    fn stored_passwords_are_sealed_by_the_keys_and_opened_back() {
        let key = crate::secrets::SecretKey::parse(&Secret::new("ab".repeat(32))).unwrap();
        let keys = SecretKeys::new(Some(key), None).unwrap();
        let info = JobInfo::from_stored_json(
            r#"{"sync_type":1,"name":"j","src":{"password":"s3cret-src"},"dest":{"password":""},"state":0}"#,
        )
        .unwrap();
        let stored = info.to_stored_json(&keys);
        assert!(!stored.contains("s3cret-src"), "{stored}");
        assert!(stored.contains(r#""password":"enc:v1:"#), "{stored}");
        let mut back = JobInfo::from_stored_json(&stored).unwrap();
        assert!(back.passwords_are_current(&keys));
        back.open_passwords(&keys).unwrap();
        assert_eq!(back, info);
        let mut unkeyed = JobInfo::from_stored_json(&stored).unwrap();
        let (side, _) = unkeyed.open_passwords(&SecretKeys::none()).unwrap_err();
        assert_eq!(side, "src");
        assert!(!info.redacted_json().contains("s3cret-src"));
    }

    #[test]
    fn a_password_in_aes_encrypt_form_is_decrypted_and_its_key_dropped() {
        let mut spec: ClusterSpec = serde_json::from_str(
            r#"{"password":"Hneh+Ta30dEepK6ecJJymw==","password_secret_key":"key"}"#,
        )
        .unwrap();
        spec.decrypt_given_password("src").unwrap();
        assert_eq!(spec.password.expose(), "pw");
        assert!(spec.password_secret_key.is_none());
    }

    #[test]
    fn include_then_exclude_lists_pick_tables() {
        let mut info =
            JobInfo::from_stored_json(r#"{"sync_type":0,"name":"j","src":{},"dest":{},"state":0}"#)
                .unwrap();
        assert!(info.replicates_table("any") && !info.has_table_filter());
        info.include_tables = vec!["a".into(), "b-c".into()];
        info.exclude_tables = vec!["b-c".into(), "z".into()];
        assert!(info.replicates_table("a"));
        assert!(!info.replicates_table("b-c"), "exclude wins over include");
        assert!(!info.replicates_table("z"));
        assert!(!info.replicates_table("other"));
        let json = info.to_stored_json(&SecretKeys::none());
        assert!(
            json.ends_with(r#""include_tables":["a","b-c"],"exclude_tables":["b-c","z"]}"#),
            "{json}"
        );
        info.include_tables.clear();
        assert!(info.replicates_table("other"));
        assert!(!info
            .to_stored_json(&SecretKeys::none())
            .contains("include_tables"));
    }

    #[test]
    fn whole_cluster_records_keep_their_rules_after_state_with_passwords_sealed() {
        let key = crate::secrets::SecretKey::parse(&Secret::new("cd".repeat(32))).unwrap();
        let keys = SecretKeys::new(Some(key), None).unwrap();
        let mut parent = JobInfo::from_stored_json(
            r#"{"sync_type":0,"name":"dr","src":{"password":"s3cret"},"dest":{},"state":0}"#,
        )
        .unwrap();
        parent.cluster_job = Some(ClusterJobSpec {
            include: vec!["db1".into(), "db2.t2".into()],
            db_prefix: "dr_".into(),
            ..Default::default()
        });
        let stored = parent.to_stored_json(&keys);
        assert!(!stored.contains("s3cret"), "{stored}");
        assert!(
            stored.ends_with(
                r#""state":0,"cluster_job":{"include":["db1","db2.t2"],"db_prefix":"dr_"}}"#
            ),
            "{stored}"
        );
        let mut back = JobInfo::from_stored_json(&stored).unwrap();
        back.open_passwords(&keys).unwrap();
        assert_eq!(back, parent);
        assert!(back.is_cluster_job());
        let mut child = parent.clone();
        child.cluster_job = None;
        child.parent_job = "dr".into();
        let stored = child.to_stored_json(&keys);
        assert!(
            stored.ends_with(r#""state":0,"parent_job":"dr"}"#),
            "{stored}"
        );
        assert!(!child.is_cluster_job());
    }

    #[test]
    fn debug_never_shows_the_password() {
        assert!(!format!("{:?}", spec()).contains("pw\""));
    }

    #[test]
    fn job_names() {
        assert_eq!(validate_job_name("").unwrap_err(), "name is empty");
        assert!(validate_job_name("orders-dr `x`").is_ok());
        assert!(validate_job_name("a\nb").is_err());
        assert!(validate_job_name(&"x".repeat(MAX_JOB_NAME_LEN + 1)).is_err());
    }
}
