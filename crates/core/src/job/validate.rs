//! `/validate`: every pre-flight check of `/create_ccr`, and a few more, each reported on
//! its own, without changing anything on either cluster or in the metadata store.
//!
//! The checks that `/create_ccr` also makes are the same functions (`job::first_run`), so a
//! job that validates passes create's checks as long as nothing changes in between. Each
//! check has its own time limit, so an unreachable cluster answers in seconds. A check that
//! needs something an earlier check could not get (a login, the source database) is still
//! listed, with `ok: false` and a message starting `skipped: `: the list of check ids is the
//! same for every request of one job kind.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use super::error::JobError;
use super::first_run::{
    check_be_binlog, check_fe_binlog, check_request_specs, check_source_database,
    check_source_table, check_target_table, frontends, sql_client,
};
use super::spec::{table_selected, ClusterSpec, SyncMode};
use ccr_doris::cluster::{ClientSettings, DorisCluster};
use ccr_doris::rpc::RpcTimeouts;
use ccr_doris::sql::{doris_release, BackendRow};
use ccr_doris::{DorisError, DorisErrorKind, HostMapping, SqlClient};

/// Longest time one check may take: an unreachable cluster is reported within seconds, not
/// after the syncer's (longer) connect and call timeouts.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// How much longer than a check the SQL pool waits for a connection (see `Side::probe`).
const POOL_GRACE: Duration = Duration::from_secs(1);
/// The privilege the syncer's statements need on both clusters (`SHOW PROC`, `ADMIN SHOW
/// FRONTEND CONFIG`, `SHOW BACKENDS`, `frontends()` all require it).
const REQUIRED_PRIVILEGE: &str = "Admin_priv";

/// The stable ids of the checks, in the order they are reported.
pub mod ids {
    pub const JOB_NAME: &str = "job_name";
    pub const SPEC: &str = "spec";
    pub const SOURCE_FE_QUERY: &str = "source_fe_query";
    pub const SOURCE_FE_RPC: &str = "source_fe_rpc";
    pub const TARGET_FE_QUERY: &str = "target_fe_query";
    pub const TARGET_FE_RPC: &str = "target_fe_rpc";
    pub const SOURCE_FE_BINLOG: &str = "source_fe_binlog";
    pub const SOURCE_BE_BINLOG: &str = "source_be_binlog";
    pub const TARGET_FE_BINLOG: &str = "target_fe_binlog";
    pub const TARGET_BE_BINLOG: &str = "target_be_binlog";
    pub const SOURCE_PRIVILEGES: &str = "source_privileges";
    pub const TARGET_PRIVILEGES: &str = "target_privileges";
    pub const VERSION_ORDER: &str = "version_order";
    pub const SOURCE_DATABASE: &str = "source_database";
    pub const SOURCE_TABLE: &str = "source_table";
    pub const TARGET_TABLE: &str = "target_table";
    pub const SOURCE_BACKENDS_REACHABLE: &str = "source_backends_reachable";
    pub const TARGET_BACKENDS_REACHABLE: &str = "target_backends_reachable";
    pub const HOSTS_RESOLVABLE: &str = "hosts_resolvable";
}

/// The outcome of one check. `hint` says what the operator should do; empty when `ok`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    #[schema(value_type = String, example = "source_fe_binlog")]
    pub check: &'static str,
    pub ok: bool,
    pub message: String,
    pub hint: String,
}

impl Check {
    pub fn passed(check: &'static str, message: impl Into<String>) -> Self {
        Check {
            check,
            ok: true,
            message: message.into(),
            hint: String::new(),
        }
    }

    pub fn failed(
        check: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Check {
            check,
            ok: false,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Not run because `cause` (an earlier check) failed.
    fn skipped(check: &'static str, cause: &'static str) -> Self {
        Check::failed(
            check,
            format!("skipped: {cause} failed"),
            format!("fix {cause} first"),
        )
    }
}

/// The answer of `/validate`: `ok` when every check passed.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl ValidationReport {
    pub(crate) fn new(checks: Vec<Check>) -> Self {
        ValidationReport {
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    /// The check with this id, if it was reported.
    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == id)
    }
}

/// What `/validate` checks beyond the job name (which needs the metadata store).
pub struct ValidationRequest {
    pub src: ClusterSpec,
    pub dest: ClusterSpec,
    /// The syncer-wide host mappings (`--host_mapping_file`) of each side; the specs' own
    /// entries win over them.
    pub src_wide_mapping: BTreeMap<String, String>,
    pub dest_wide_mapping: BTreeMap<String, String>,
    pub allow_table_exists: bool,
    pub include_tables: Vec<String>,
    pub exclude_tables: Vec<String>,
    /// The `/create_ccr` `mode` as given (checked with the specs).
    pub mode: String,
}

impl ValidationRequest {
    /// Whether a database job replicates the source table or view `name` (the job record's
    /// rule).
    fn replicates(&self, name: &str) -> bool {
        table_selected(&self.include_tables, &self.exclude_tables, name)
    }
}

/// Runs every check after `job_name` (given, as it needs the store) and reports them all.
pub async fn validate(
    job_name: Check,
    request: ValidationRequest,
    connect_timeout: Duration,
    http: &reqwest::Client,
) -> ValidationReport {
    let mut checks = vec![job_name];
    let specs = SyncMode::parse(&request.mode)
        .map_err(JobError::Invalid)
        .and_then(|_| {
            check_request_specs(
                &request.src,
                &request.dest,
                &request.include_tables,
                &request.exclude_tables,
            )
        });
    if let Err(error) = specs {
        checks.push(Check::failed(
            ids::SPEC,
            error.to_string(),
            "fix the request body: each of src and dest needs host, port, thrift_port, user \
             and database; both name a table or neither does; mode is continuous or once",
        ));
        checks.extend(
            cluster_check_ids(request.src.is_table_level())
                .into_iter()
                .map(|id| Check::skipped(id, ids::SPEC)),
        );
        return ValidationReport::new(checks);
    }
    checks.push(Check::passed(ids::SPEC, "src and dest specs are valid"));
    let timeout = connect_timeout.min(CHECK_TIMEOUT);
    let (source, target) = tokio::join!(
        Side::probe(
            Role::Source,
            &request.src,
            &request.src_wide_mapping,
            timeout,
            http
        ),
        Side::probe(
            Role::Target,
            &request.dest,
            &request.dest_wide_mapping,
            timeout,
            http
        ),
    );
    checks.extend(source.connection_checks.iter().cloned());
    checks.extend(target.connection_checks.iter().cloned());
    checks.extend(source.binlog_checks.iter().cloned());
    checks.extend(target.binlog_checks.iter().cloned());
    checks.push(source.privileges.clone());
    checks.push(target.privileges.clone());
    checks.push(version_order(
        source.version.as_deref(),
        target.version.as_deref(),
    ));
    checks.extend(objects(&source, &target, &request).await);
    checks.push(source.backends_reachable.clone());
    checks.push(target.backends_reachable.clone());
    checks.push(hosts_resolvable(&source, &target).await);
    source.sql.close().await;
    target.sql.close().await;
    ValidationReport::new(checks)
}

/// The ids of the checks after `spec`, in their order (`source_table`: table jobs only).
fn cluster_check_ids(table_job: bool) -> Vec<&'static str> {
    use ids::*;
    let mut all = vec![
        SOURCE_FE_QUERY,
        SOURCE_FE_RPC,
        TARGET_FE_QUERY,
        TARGET_FE_RPC,
        SOURCE_FE_BINLOG,
        SOURCE_BE_BINLOG,
        TARGET_FE_BINLOG,
        TARGET_BE_BINLOG,
        SOURCE_PRIVILEGES,
        TARGET_PRIVILEGES,
        VERSION_ORDER,
        SOURCE_DATABASE,
        SOURCE_TABLE,
        TARGET_TABLE,
        SOURCE_BACKENDS_REACHABLE,
        TARGET_BACKENDS_REACHABLE,
        HOSTS_RESOLVABLE,
    ];
    if !table_job {
        all.retain(|id| *id != SOURCE_TABLE);
    }
    all
}

#[derive(Clone, Copy)]
enum Role {
    Source,
    Target,
}

impl Role {
    fn pick(self, source: &'static str, target: &'static str) -> &'static str {
        match self {
            Role::Source => source,
            Role::Target => target,
        }
    }

    fn name(self) -> &'static str {
        self.pick("source", "target")
    }
}

/// What the checks of one cluster found.
struct Side {
    sql: SqlClient,
    /// Each check's limit on this side.
    timeout: Duration,
    /// Whether the FE query port took the login (everything SQL depends on it).
    logged_in: bool,
    version: Option<String>,
    connection_checks: Vec<Check>,
    binlog_checks: Vec<Check>,
    privileges: Check,
    backends_reachable: Check,
    /// Hosts the cluster advertises (its FEs and BEs) with a port each, and the spec's own.
    hosts: Vec<(String, u16)>,
}

impl Side {
    async fn probe(
        role: Role,
        spec: &ClusterSpec,
        wide_mapping: &BTreeMap<String, String>,
        timeout: Duration,
        http: &reqwest::Client,
    ) -> Side {
        let mapping = spec.dial_mapping(wide_mapping);
        // The pool waits a little longer than each check, so the check's own limit fires
        // first and says what did not answer (the pool would only say it timed out).
        let sql = sql_client(spec, &mapping, timeout + POOL_GRACE);
        let query_id = role.pick(ids::SOURCE_FE_QUERY, ids::TARGET_FE_QUERY);
        let rpc_id = role.pick(ids::SOURCE_FE_RPC, ids::TARGET_FE_RPC);
        // The login (SQL) and the Thrift port are independent: probe both at once.
        let (version, rpc) = tokio::join!(
            sql_login(&sql, spec, &mapping, timeout),
            limited(timeout, rpc_login(spec, wide_mapping, timeout)),
        );
        let query_check = match &version {
            Ok(text) => Check::passed(
                query_id,
                format!("logged in to {} as {} ({text})", sql.addr(), spec.user),
            ),
            Err(error) => login_failure(query_id, role, error),
        };
        let rpc_check = match rpc {
            Ok(()) => Check::passed(
                rpc_id,
                format!(
                    "Thrift port {}:{} answered getBackendMeta as {}",
                    spec.host, spec.thrift_port, spec.user
                ),
            ),
            Err(error) => Check::failed(
                rpc_id,
                match &error {
                    // Only the time limit gives this kind here: name the port it waited on.
                    JobError::CheckFailed(waited) => {
                        format!("FE {}:{} (Thrift): {waited}", spec.host, spec.thrift_port)
                    }
                    other => other.to_string(),
                },
                format!(
                    "check thrift_port (the FE rpc_port in fe.conf, default 9020), that it is \
                     reachable from the syncer, and the {} user and password",
                    role.name()
                ),
            ),
        };
        let logged_in = query_check.ok;
        // The names the syncer dials: advertised names through the host mapping.
        let mut hosts = vec![(
            mapping.resolve(&spec.host),
            spec.query_port().unwrap_or_default(),
        )];
        let fe_binlog_id = role.pick(ids::SOURCE_FE_BINLOG, ids::TARGET_FE_BINLOG);
        let be_binlog_id = role.pick(ids::SOURCE_BE_BINLOG, ids::TARGET_BE_BINLOG);
        let privileges_id = role.pick(ids::SOURCE_PRIVILEGES, ids::TARGET_PRIVILEGES);
        let reachable_id = role.pick(
            ids::SOURCE_BACKENDS_REACHABLE,
            ids::TARGET_BACKENDS_REACHABLE,
        );
        if !logged_in {
            return Side {
                sql,
                timeout,
                logged_in,
                version: None,
                connection_checks: vec![query_check, rpc_check],
                binlog_checks: vec![
                    Check::skipped(fe_binlog_id, query_id),
                    Check::skipped(be_binlog_id, query_id),
                ],
                privileges: Check::skipped(privileges_id, query_id),
                backends_reachable: Check::skipped(reachable_id, query_id),
                hosts,
            };
        }
        let fe_binlog = match limited(timeout, check_fe_binlog(&sql)).await {
            Ok(()) => Check::passed(fe_binlog_id, "enable_feature_binlog is on"),
            Err(error) => Check::failed(
                fe_binlog_id,
                error.to_string(),
                hint_for(
                    &error,
                    role,
                    "set enable_feature_binlog = true in fe.conf on every FE and restart them",
                ),
            ),
        };
        let be_binlog = match limited(timeout, check_be_binlog(&sql, &mapping, http, timeout)).await
        {
            Ok(()) => Check::passed(be_binlog_id, "enable_feature_binlog is on on every BE"),
            Err(error) => Check::failed(
                be_binlog_id,
                error.to_string(),
                hint_for(
                    &error,
                    role,
                    "set enable_feature_binlog = true in be.conf on every BE and restart them",
                ),
            ),
        };
        let privileges = privileges(privileges_id, role, &sql, spec, timeout).await;
        if let Ok(fes) = limited(timeout, frontends(&sql)).await {
            for fe in fes {
                hosts.push((
                    mapping.resolve(&fe.host),
                    fe.port.parse().unwrap_or_default(),
                ));
            }
        }
        let backends_reachable = match limited(timeout, sql.backends()).await {
            Ok(backends) => {
                for be in &backends {
                    hosts.push((mapping.resolve(&be.host), be.be_port));
                }
                backends_reachable(reachable_id, role, &backends, &mapping, timeout).await
            }
            Err(error) => Check::failed(
                reachable_id,
                format!("cannot list the backends: {error}"),
                format!(
                    "the {} user needs {REQUIRED_PRIVILEGE} to run SHOW BACKENDS",
                    role.name()
                ),
            ),
        };
        Side {
            sql,
            timeout,
            logged_in,
            version: version.ok(),
            connection_checks: vec![query_check, rpc_check],
            binlog_checks: vec![fe_binlog, be_binlog],
            privileges,
            backends_reachable,
            hosts,
        }
    }
}

/// The hint for a failed check: `fix` when the check ran and found the problem
/// ([`JobError::CheckFailed`]); otherwise what kept it from running.
fn hint_for(error: &JobError, role: Role, fix: &str) -> String {
    match error {
        JobError::CheckFailed(_) => fix.to_owned(),
        JobError::Doris(doris) if doris.kind() == DorisErrorKind::Transient => format!(
            "the {} cluster did not answer: check that it is up and reachable from the syncer",
            role.name()
        ),
        _ => format!(
            "the {0} cluster refused the statement: the {0} user probably lacks \
             {REQUIRED_PRIVILEGE} (see {0}_privileges)",
            role.name()
        ),
    }
}

/// Runs `call` for at most `limit`; a timeout is reported as a connect failure.
async fn limited<T, E>(
    limit: Duration,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, JobError>
where
    E: Into<JobError>,
{
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => Err(JobError::CheckFailed(format!(
            "no answer within {} s",
            limit.as_secs_f64()
        ))),
    }
}

/// Logs in over the query port and reads the Doris version. A TCP connection is tried
/// first: the SQL pool retries a refused connection until its timeout and then reports only
/// that it timed out, while the operator needs the refusal, and at once.
async fn sql_login(
    sql: &SqlClient,
    spec: &ClusterSpec,
    mapping: &HostMapping,
    timeout: Duration,
) -> Result<String, JobError> {
    let port = spec.query_port().unwrap_or_default();
    tcp_reachable(&mapping.resolve(&spec.host), port, timeout)
        .await
        .map_err(|message| {
            JobError::Doris(DorisError::Connect {
                addr: sql.addr().to_owned(),
                message,
            })
        })?;
    limited(timeout, sql.version_comment())
        .await
        .map_err(|error| match error {
            JobError::CheckFailed(waited) => JobError::CheckFailed(format!(
                "FE {} accepted a TCP connection but did not complete the login: {waited}",
                sql.addr()
            )),
            other => other,
        })
}

/// One authenticated, read-only Thrift call to the FE's rpc port.
async fn rpc_login(
    spec: &ClusterSpec,
    wide_mapping: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<(), DorisError> {
    let mut access = spec.cluster_access(wide_mapping);
    // Only the spec's own FE: this check is about the port the operator gave.
    access.frontends.truncate(1);
    let cluster = DorisCluster::new(
        access,
        ClientSettings {
            timeouts: RpcTimeouts {
                connect: timeout,
                call: timeout,
                commit_txn: timeout,
            },
            max_ingest_per_backend: 1,
        },
    );
    cluster.backends().await.map(|_| ())
}

fn login_failure(check: &'static str, role: Role, error: &JobError) -> Check {
    let auth = matches!(error, JobError::Doris(DorisError::Auth { .. }));
    let hint = if auth {
        format!("check the {} user and password", role.name())
    } else {
        format!(
            "check host and port (the FE query_port in fe.conf, default 9030), that the {} FE \
             is up and that the syncer can reach it",
            role.name()
        )
    };
    Check::failed(check, error.to_string(), hint)
}

/// The user must hold ADMIN: the syncer's SQL (FE config, SHOW PROC, SHOW BACKENDS) needs it.
async fn privileges(
    check: &'static str,
    role: Role,
    sql: &SqlClient,
    spec: &ClusterSpec,
    timeout: Duration,
) -> Check {
    match limited(timeout, sql.own_grants()).await {
        Ok(grants) if grants.has_global(REQUIRED_PRIVILEGE) => Check::passed(
            check,
            format!("{} holds {}", grants.user_identity, grants.global_privs),
        ),
        Ok(grants) => Check::failed(
            check,
            format!(
                "{} lacks {REQUIRED_PRIVILEGE} (global privileges: {}; database privileges: {})",
                grants.user_identity,
                none_if_empty(&grants.global_privs),
                none_if_empty(&grants.database_privs),
            ),
            format!(
                "on the {} cluster run GRANT ADMIN_PRIV ON *.*.* TO '{}'@'%': the syncer reads FE \
                 config, SHOW PROC and the backends, which need it",
                role.name(),
                spec.user
            ),
        ),
        Err(error) => Check::failed(
            check,
            format!("cannot read the user's grants: {error}"),
            "check that SHOW GRANTS works for this user",
        ),
    }
}

fn none_if_empty(text: &str) -> &str {
    if text.is_empty() {
        "none"
    } else {
        text
    }
}

/// The target must run the same Doris release as the source or a newer one; the versions
/// are the clusters' `@@version_comment` (`None`: that cluster's login failed).
fn version_order(source: Option<&str>, target: Option<&str>) -> Check {
    let (Some(src), Some(dest)) = (source, target) else {
        let cause = if source.is_none() {
            ids::SOURCE_FE_QUERY
        } else {
            ids::TARGET_FE_QUERY
        };
        return Check::skipped(ids::VERSION_ORDER, cause);
    };
    let shown = format!("source {src}, target {dest}");
    match (doris_release(src), doris_release(dest)) {
        (Some(s), Some(d)) if s <= d => Check::passed(ids::VERSION_ORDER, shown),
        (Some(_), Some(_)) => Check::failed(
            ids::VERSION_ORDER,
            format!("{shown}: the source is newer than the target"),
            "upgrade the target cluster first: a target older than its source may not read \
             the source's snapshots and binlogs",
        ),
        _ => Check::failed(
            ids::VERSION_ORDER,
            format!("{shown}: cannot read a Doris release from them"),
            "check by hand that the source runs a Doris release no newer than the target's",
        ),
    }
}

/// The source database (and table) and the target table.
async fn objects(source: &Side, target: &Side, request: &ValidationRequest) -> Vec<Check> {
    let table_job = request.src.is_table_level();
    let src = &request.src;
    let mut checks = Vec::new();
    let mut source_tables: Option<Vec<String>> = None;
    let binlog_hint = |what: &str| {
        format!(
            "ALTER {what} SET (\"binlog.enable\" = \"true\") on the source, or create it with \
             that property"
        )
    };
    if !source.logged_in {
        checks.push(Check::skipped(ids::SOURCE_DATABASE, ids::SOURCE_FE_QUERY));
        if table_job {
            checks.push(Check::skipped(ids::SOURCE_TABLE, ids::SOURCE_FE_QUERY));
        }
    } else {
        match limited(source.timeout, check_source_database(&source.sql, src)).await {
            Ok(db_id) => {
                checks.push(Check::passed(
                    ids::SOURCE_DATABASE,
                    if table_job {
                        format!("source database {} exists", src.database)
                    } else {
                        format!(
                            "source database {} exists with binlog enabled",
                            src.database
                        )
                    },
                ));
                if table_job {
                    checks.push(
                        match limited(source.timeout, check_source_table(&source.sql, src, db_id))
                            .await
                        {
                            Ok(_) => Check::passed(
                                ids::SOURCE_TABLE,
                                format!(
                                    "source table {}.{} exists with binlog enabled",
                                    src.database, src.table
                                ),
                            ),
                            Err(error) => Check::failed(
                                ids::SOURCE_TABLE,
                                error.to_string(),
                                hint_for(
                                    &error,
                                    Role::Source,
                                    &format!(
                                        "check the source table name; {}",
                                        binlog_hint(&format!(
                                            "TABLE {}.{}",
                                            src.database, src.table
                                        ))
                                    ),
                                ),
                            ),
                        },
                    );
                } else if let Ok(tables) = limited(source.timeout, source.sql.tables(db_id)).await {
                    source_tables = Some(tables.into_iter().map(|t| t.name).collect());
                }
            }
            Err(error) => {
                checks.push(Check::failed(
                    ids::SOURCE_DATABASE,
                    error.to_string(),
                    hint_for(
                        &error,
                        Role::Source,
                        &format!(
                            "check the source database name; a database job needs it with \
                             binlog on: {}",
                            binlog_hint(&format!("DATABASE {}", src.database))
                        ),
                    ),
                ));
                if table_job {
                    checks.push(Check::skipped(ids::SOURCE_TABLE, ids::SOURCE_DATABASE));
                }
            }
        }
    }
    checks.push(target_table(target, request, source_tables.as_deref()).await);
    checks
}

/// Table job: the target table is absent or `allow_table_exists`. Database job: no table the
/// job replicates exists in the target database yet, unless `allow_table_exists`.
async fn target_table(
    target: &Side,
    request: &ValidationRequest,
    source_tables: Option<&[String]>,
) -> Check {
    if !target.logged_in {
        return Check::skipped(ids::TARGET_TABLE, ids::TARGET_FE_QUERY);
    }
    let dest = &request.dest;
    let db = &dest.database;
    let exists_hint = "drop it or pick another target name, or set \"allow_table_exists\": true \
                       to let the job adopt it";
    let db_exists = match limited(target.timeout, target.sql.database_exists(db)).await {
        Ok(exists) => exists,
        Err(error) => {
            let hint = hint_for(&error, Role::Target, "");
            return Check::failed(ids::TARGET_TABLE, error.to_string(), hint);
        }
    };
    if !db_exists {
        return Check::passed(
            ids::TARGET_TABLE,
            format!("target database {db} does not exist yet; /create_ccr creates it"),
        );
    }
    if dest.is_table_level() {
        return match limited(
            target.timeout,
            check_target_table(&target.sql, dest, request.allow_table_exists),
        )
        .await
        {
            Ok(true) => Check::passed(
                ids::TARGET_TABLE,
                format!(
                    "target table {db}.{} exists and allow_table_exists is set",
                    dest.table
                ),
            ),
            Ok(false) => Check::passed(
                ids::TARGET_TABLE,
                format!("target table {db}.{} does not exist", dest.table),
            ),
            Err(error) => Check::failed(
                ids::TARGET_TABLE,
                error.to_string(),
                hint_for(&error, Role::Target, exists_hint),
            ),
        };
    }
    let Some(source_tables) = source_tables else {
        return Check::skipped(ids::TARGET_TABLE, ids::SOURCE_DATABASE);
    };
    let existing: BTreeSet<String> = match limited(target.timeout, async {
        let db_id = target.sql.database_id(db).await?.unwrap_or_default();
        target.sql.tables(db_id).await
    })
    .await
    {
        Ok(tables) => tables.into_iter().map(|t| t.name).collect(),
        Err(error) => {
            let hint = hint_for(&error, Role::Target, "");
            return Check::failed(ids::TARGET_TABLE, error.to_string(), hint);
        }
    };
    let clashing: Vec<&str> = source_tables
        .iter()
        .filter(|name| request.replicates(name) && existing.contains(*name))
        .map(String::as_str)
        .collect();
    match (clashing.is_empty(), request.allow_table_exists) {
        (true, _) => Check::passed(
            ids::TARGET_TABLE,
            format!("target database {db} holds none of the replicated tables"),
        ),
        (false, true) => Check::passed(
            ids::TARGET_TABLE,
            format!(
                "target database {db} already holds {} and allow_table_exists is set",
                clashing.join(", ")
            ),
        ),
        (false, false) => Check::failed(
            ids::TARGET_TABLE,
            format!("target database {db} already holds {}", clashing.join(", ")),
            "the full sync restores over them: drop them, pick another target database, \
             exclude them, or set \"allow_table_exists\": true to accept that",
        ),
    }
}

/// Whether the syncer can open a TCP connection to every BE's be_port and http port.
async fn backends_reachable(
    check: &'static str,
    role: Role,
    backends: &[BackendRow],
    mapping: &HostMapping,
    timeout: Duration,
) -> Check {
    // What the syncer dials: each advertised host through the host mapping.
    let addresses: Vec<(String, u16)> = backends
        .iter()
        .flat_map(|be| {
            let host = mapping.resolve(&be.host);
            [(host.clone(), be.be_port), (host, be.http_port)]
        })
        .collect();
    let results = futures::future::join_all(
        addresses
            .iter()
            .map(|(host, port)| tcp_reachable(host, *port, timeout)),
    )
    .await;
    let unreachable: Vec<String> = addresses
        .iter()
        .zip(results)
        .filter_map(|((host, port), result)| {
            result.err().map(|error| format!("{host}:{port} ({error})"))
        })
        .collect();
    let what = role.pick(
        "the target BEs download rowsets and snapshots from the source BEs' http ports",
        "the syncer sends ingest calls to the target BEs' be_port",
    );
    if unreachable.is_empty() {
        Check::passed(
            check,
            format!(
                "the syncer reaches be_port and http port of all {} {} BEs (its own view: {what})",
                backends.len(),
                role.name()
            ),
        )
    } else {
        Check::failed(
            check,
            format!("the syncer cannot reach {}", unreachable.join(", ")),
            format!(
                "check that the {} BEs are up and that the addresses SHOW BACKENDS advertises \
                 are reachable ({what}; this is the syncer's view only)",
                role.name()
            ),
        )
    }
}

async fn tcp_reachable(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs_f64())),
    }
}

/// Every host both clusters advertise (their specs' hosts, FEs and BEs) resolves.
async fn hosts_resolvable(source: &Side, target: &Side) -> Check {
    let mut hosts: Vec<(String, u16)> = source.hosts.iter().chain(&target.hosts).cloned().collect();
    hosts.sort();
    hosts.dedup_by(|a, b| a.0 == b.0);
    let failed = unresolvable(&hosts, source.timeout).await;
    if failed.is_empty() {
        let names: Vec<&str> = hosts.iter().map(|(host, _)| host.as_str()).collect();
        Check::passed(
            ids::HOSTS_RESOLVABLE,
            format!("every advertised host name resolves: {}", names.join(", ")),
        )
    } else {
        Check::failed(
            ids::HOSTS_RESOLVABLE,
            format!("cannot resolve {}", failed.join(", ")),
            "add the names to DNS or /etc/hosts of the syncer's machine, or have the clusters \
             advertise addresses the syncer can resolve",
        )
    }
}

/// The `(host, port)` pairs that do not resolve, each with the reason.
pub(crate) async fn unresolvable(addresses: &[(String, u16)], timeout: Duration) -> Vec<String> {
    let results = futures::future::join_all(addresses.iter().map(|(host, port)| async move {
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), *port))).await {
            Ok(Ok(mut found)) => found
                .next()
                .is_none()
                .then(|| format!("{host} (no address)")),
            Ok(Err(error)) => Some(format!("{host} ({error})")),
            Err(_) => Some(format!(
                "{host} (no answer within {} s)",
                timeout.as_secs_f64()
            )),
        }
    }))
    .await;
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_that_do_not_resolve_are_reported() {
        let failed = unresolvable(
            &[
                ("127.0.0.1".into(), 9030),
                ("localhost".into(), 9030),
                ("no-such-host.invalid".into(), 9030),
            ],
            CHECK_TIMEOUT,
        )
        .await;
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(
            failed[0].starts_with("no-such-host.invalid ("),
            "{failed:?}"
        );
    }

    #[test]
    fn the_report_is_ok_only_when_every_check_is() {
        let report = ValidationReport::new(vec![
            Check::passed(ids::JOB_NAME, "free"),
            Check::skipped(ids::SOURCE_FE_BINLOG, ids::SOURCE_FE_QUERY),
        ]);
        assert!(!report.ok);
        let skipped = report.get(ids::SOURCE_FE_BINLOG).unwrap();
        assert_eq!(skipped.message, "skipped: source_fe_query failed");
        assert_eq!(skipped.hint, "fix source_fe_query first");
        assert!(ValidationReport::new(vec![Check::passed(ids::SPEC, "fine")]).ok);
    }

    #[tokio::test]
    async fn an_invalid_spec_skips_every_cluster_check_and_keeps_the_list() {
        let request = ValidationRequest {
            src: ClusterSpec::default(),
            dest: ClusterSpec::default(),
            src_wide_mapping: BTreeMap::new(),
            dest_wide_mapping: BTreeMap::new(),
            allow_table_exists: false,
            include_tables: Vec::new(),
            exclude_tables: Vec::new(),
            mode: String::new(),
        };
        let report = validate(
            Check::passed(ids::JOB_NAME, "free"),
            request,
            CHECK_TIMEOUT,
            &reqwest::Client::new(),
        )
        .await;
        let spec = report.get(ids::SPEC).unwrap();
        assert_eq!(spec.message, "src spec is invalid: host is empty");
        let listed: Vec<&str> = report.checks.iter().skip(2).map(|c| c.check).collect();
        assert_eq!(listed, cluster_check_ids(false));
        assert!(report.checks[2..]
            .iter()
            .all(|c| !c.ok && c.message == "skipped: spec failed"));
    }

    #[test]
    fn the_target_may_not_run_an_older_release() {
        let v = |release: &str| format!("Doris version doris-{release}-rc01-abc");
        assert!(version_order(Some(&v("2.1.7")), Some(&v("2.1.7"))).ok);
        assert!(version_order(Some(&v("2.0.15")), Some(&v("2.1.0"))).ok);
        let older = version_order(Some(&v("3.0.1")), Some(&v("2.1.7")));
        assert!(
            !older.ok
                && older
                    .message
                    .ends_with("the source is newer than the target")
        );
        assert!(older.hint.contains("upgrade the target"));
        assert!(!version_order(Some("5.7.99"), Some(&v("2.1.7"))).ok);
        let skipped = version_order(Some(&v("2.1.7")), None);
        assert_eq!(skipped.message, "skipped: target_fe_query failed");
    }

    #[test]
    fn database_jobs_replicate_by_include_then_exclude() {
        let request = ValidationRequest {
            src: ClusterSpec::default(),
            dest: ClusterSpec::default(),
            src_wide_mapping: BTreeMap::new(),
            dest_wide_mapping: BTreeMap::new(),
            allow_table_exists: false,
            include_tables: vec!["a".into(), "b".into()],
            exclude_tables: vec!["b".into()],
            mode: String::new(),
        };
        assert!(request.replicates("a"));
        assert!(!request.replicates("b") && !request.replicates("c"));
    }
}
