//! Pre-flight checks of `/create_ccr`, run against both clusters before the job is stored.
//!
//! They follow the reference syncer's first run (same order, same messages), so an operator
//! learns about a missing binlog switch or an existing target table at once instead of from
//! a job that never makes progress. `/validate` (`job::validate`) runs the same functions,
//! all of them, and reports each instead of stopping at the first failure; only
//! [`prepare_target`] writes (it creates the target database), and `/validate` never calls it.

use std::time::Duration;

use futures::future::try_join_all;

use super::cluster_filter::ClusterJobSpec;
use super::error::JobError;
use super::spec::{ClusterSpec, Frontend};
use ccr_doris::be_config::be_binlog_enabled;
use ccr_doris::sql::binlog_enabled_in;
use ccr_doris::{HostMapping, SqlClient};

/// What the checks learn and the job keeps.
#[derive(Debug)]
pub struct CheckedSpecs {
    pub src: ClusterSpec,
    pub dest: ClusterSpec,
}

/// The host mappings the checks dial each cluster through (the job's own over the
/// syncer-wide ones).
pub struct CheckMappings {
    pub src: HostMapping,
    pub dest: HostMapping,
}

impl CheckMappings {
    /// What `src` and `dest` dial through under the syncer-wide mappings `wide`.
    pub fn of(
        src: &ClusterSpec,
        dest: &ClusterSpec,
        wide: &super::host_mapping::SyncerHostMapping,
    ) -> Self {
        CheckMappings {
            src: src.dial_mapping(&wide.source),
            dest: dest.dial_mapping(&wide.target),
        }
    }
}

/// Runs every check; on success returns the specs completed with FE lists and ids.
pub async fn check_and_complete(
    src: ClusterSpec,
    dest: ClusterSpec,
    mappings: CheckMappings,
    allow_table_exists: bool,
    connect_timeout: Duration,
    http: &reqwest::Client,
) -> Result<CheckedSpecs, JobError> {
    check_pair(
        src,
        dest,
        mappings,
        Some(allow_table_exists),
        connect_timeout,
        http,
    )
    .await
}

/// The checks of a whole-cluster job at creation: both clusters answer, with the binlog
/// feature on; gives the specs completed with their FE lists. Each database is checked
/// when its database job is created.
pub async fn check_cluster_pair(
    src: ClusterSpec,
    dest: ClusterSpec,
    mappings: CheckMappings,
    connect_timeout: Duration,
    http: &reqwest::Client,
) -> Result<CheckedSpecs, JobError> {
    check_pair(src, dest, mappings, None, connect_timeout, http).await
}

/// Both clusters answer with the binlog feature on (their FE lists filled in); with
/// `objects` (`Some(allow_table_exists)`) also the source objects and the target.
async fn check_pair(
    mut src: ClusterSpec,
    mut dest: ClusterSpec,
    mappings: CheckMappings,
    objects: Option<bool>,
    connect_timeout: Duration,
    http: &reqwest::Client,
) -> Result<CheckedSpecs, JobError> {
    let src_sql = sql_client(&src, &mappings.src, connect_timeout);
    let dest_sql = sql_client(&dest, &mappings.dest, connect_timeout);
    let result = async {
        src.frontends = frontends(&src_sql).await?;
        dest.frontends = frontends(&dest_sql).await?;
        check_binlog_feature(&src_sql, &mappings.src, http, connect_timeout).await?;
        check_binlog_feature(&dest_sql, &mappings.dest, http, connect_timeout).await?;
        if let Some(allow_table_exists) = objects {
            check_source(&src_sql, &mut src).await?;
            prepare_target(&dest_sql, &mut dest, allow_table_exists).await?;
        }
        Ok(())
    }
    .await;
    src_sql.close().await;
    dest_sql.close().await;
    result.map(|()| CheckedSpecs { src, dest })
}

/// The request-level rules of a whole-cluster job: both specs valid but for their (empty)
/// database, no table, the cluster rules well formed.
pub fn check_cluster_request(
    src: &ClusterSpec,
    dest: &ClusterSpec,
    rules: &ClusterJobSpec,
    include_tables: &[String],
    exclude_tables: &[String],
) -> Result<(), JobError> {
    src.validate_access()
        .map_err(|e| JobError::Invalid(format!("src spec is invalid: {e}")))?;
    dest.validate_access()
        .map_err(|e| JobError::Invalid(format!("dest spec is invalid: {e}")))?;
    if !include_tables.is_empty() || !exclude_tables.is_empty() {
        return Err(JobError::Invalid(
            "a whole-cluster job takes include / exclude (db or db.table entries), not \
             include_tables / exclude_tables"
                .into(),
        ));
    }
    rules.check().map_err(JobError::Invalid)
}

/// The request-level rules of `/create_ccr`: both specs valid, both sides the same kind
/// of job, table filters only on database jobs and without empty names.
pub fn check_request_specs(
    src: &ClusterSpec,
    dest: &ClusterSpec,
    include_tables: &[String],
    exclude_tables: &[String],
) -> Result<(), JobError> {
    src.validate()
        .map_err(|e| JobError::Invalid(format!("src spec is invalid: {e}")))?;
    dest.validate()
        .map_err(|e| JobError::Invalid(format!("dest spec is invalid: {e}")))?;
    if src.is_table_level() != dest.is_table_level() {
        return Err(JobError::Invalid(
            "src/dest are not both db or table sync".into(),
        ));
    }
    if src.is_table_level() && (!include_tables.is_empty() || !exclude_tables.is_empty()) {
        return Err(JobError::Invalid(
            "include_tables / exclude_tables apply to database jobs only".into(),
        ));
    }
    if let Some(empty) = include_tables
        .iter()
        .chain(exclude_tables)
        .find(|name| name.is_empty())
    {
        return Err(JobError::Invalid(format!(
            "table names in include_tables / exclude_tables must not be empty: {empty:?}"
        )));
    }
    Ok(())
}

pub(crate) fn sql_client(
    spec: &ClusterSpec,
    mapping: &HostMapping,
    connect_timeout: Duration,
) -> SqlClient {
    let port = spec.query_port().expect("spec validated before checks");
    SqlClient::with_host_mapping(
        &spec.host,
        port,
        &spec.user,
        &spec.password,
        connect_timeout,
        mapping.clone(),
    )
}

pub(crate) async fn frontends(sql: &SqlClient) -> Result<Vec<Frontend>, JobError> {
    Ok(sql
        .frontends()
        .await?
        .into_iter()
        .map(|fe| Frontend {
            host: fe.host,
            port: fe.query_port,
            thrift_port: fe.rpc_port,
            is_master: fe.is_master,
        })
        .collect())
}

async fn check_binlog_feature(
    sql: &SqlClient,
    mapping: &HostMapping,
    http: &reqwest::Client,
    timeout: Duration,
) -> Result<(), JobError> {
    check_fe_binlog(sql).await?;
    check_be_binlog(sql, mapping, http, timeout).await
}

/// The FE's `enable_feature_binlog` must be on.
pub(crate) async fn check_fe_binlog(sql: &SqlClient) -> Result<(), JobError> {
    if !sql.fe_binlog_enabled().await? {
        return Err(JobError::CheckFailed(format!(
            "Fe {} enable_feature_binlog=false, please set it true in fe.conf",
            sql.addr()
        )));
    }
    Ok(())
}

/// Every BE's `enable_feature_binlog` must be on (asked over each BE's HTTP port).
pub(crate) async fn check_be_binlog(
    sql: &SqlClient,
    mapping: &HostMapping,
    http: &reqwest::Client,
    timeout: Duration,
) -> Result<(), JobError> {
    let backends = sql.backends().await?;
    let answers = try_join_all(backends.iter().map(|be| async move {
        let on = be_binlog_enabled(http, &be.host, be.http_port, mapping, timeout).await?;
        Ok::<_, JobError>((format!("{}:{}", be.host, be.http_port), on))
    }))
    .await?;
    let disabled: Vec<String> = answers
        .into_iter()
        .filter(|(_, on)| !on)
        .map(|(addr, _)| addr)
        .collect();
    if !disabled.is_empty() {
        return Err(JobError::CheckFailed(format!(
            "Be: [{}] enable_feature_binlog=false, please set it true in be.conf",
            disabled.join(" ")
        )));
    }
    Ok(())
}

async fn check_source(sql: &SqlClient, src: &mut ClusterSpec) -> Result<(), JobError> {
    src.db_id = check_source_database(sql, src).await?;
    if src.is_table_level() {
        src.table_id = check_source_table(sql, src, src.db_id).await?;
    }
    Ok(())
}

/// The source database exists (with binlog on, for a database job); gives its id.
pub(crate) async fn check_source_database(
    sql: &SqlClient,
    src: &ClusterSpec,
) -> Result<i64, JobError> {
    let db = &src.database;
    if !sql.database_exists(db).await? {
        return Err(JobError::CheckFailed(format!(
            "src database {db} not exists"
        )));
    }
    if !src.is_table_level() && !binlog_enabled_in(&sql.show_create_database(db).await?) {
        return Err(JobError::CheckFailed(format!(
            "src database {db} not enable binlog"
        )));
    }
    sql.database_id(db)
        .await?
        .ok_or_else(|| JobError::CheckFailed(format!("src database {db} not found dbId")))
}

/// The source table of a table job exists with binlog on; gives its id.
pub(crate) async fn check_source_table(
    sql: &SqlClient,
    src: &ClusterSpec,
    db_id: i64,
) -> Result<i64, JobError> {
    let (db, table) = (&src.database, &src.table);
    if !sql.table_exists(db, table).await? {
        return Err(JobError::CheckFailed(format!(
            "src table {db}.{table} not exists"
        )));
    }
    if !binlog_enabled_in(&sql.show_create_table(db, table).await?) {
        return Err(JobError::CheckFailed(format!(
            "src table {db}.{table} not enable binlog"
        )));
    }
    sql.table_id(db_id, table)
        .await?
        .ok_or_else(|| JobError::CheckFailed(format!("src table {db}.{table} not found tableId")))
}

async fn prepare_target(
    sql: &SqlClient,
    dest: &mut ClusterSpec,
    allow_table_exists: bool,
) -> Result<(), JobError> {
    let db = dest.database.clone();
    sql.create_database_if_not_exists(&db).await?;
    dest.db_id = sql
        .database_id(&db)
        .await?
        .ok_or_else(|| JobError::CheckFailed(format!("dest database {db} not found dbId")))?;
    if dest.is_table_level() && check_target_table(sql, dest, allow_table_exists).await? {
        dest.table_id = sql
            .table_id(dest.db_id, &dest.table)
            .await?
            .unwrap_or_default();
    }
    Ok(())
}

/// A table job's target table must not exist unless `allow_table_exists`; gives whether it
/// exists. Reads only.
pub(crate) async fn check_target_table(
    sql: &SqlClient,
    dest: &ClusterSpec,
    allow_table_exists: bool,
) -> Result<bool, JobError> {
    let (db, table) = (&dest.database, &dest.table);
    let exists = sql.table_exists(db, table).await?;
    if exists && !allow_table_exists {
        return Err(JobError::CheckFailed(format!(
            "dest table {db}.{table} already exists"
        )));
    }
    Ok(exists)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(database: &str) -> ClusterSpec {
        ClusterSpec {
            host: "127.0.0.1".into(),
            port: "9030".into(),
            thrift_port: "9020".into(),
            user: "root".into(),
            database: database.into(),
            ..Default::default()
        }
    }

    #[test]
    fn one_empty_database_is_still_refused_with_the_reference_message() {
        let error = check_request_specs(&spec(""), &spec("d"), &[], &[]).unwrap_err();
        assert_eq!(error.to_string(), "src spec is invalid: database is empty");
        let error = check_request_specs(&spec("s"), &spec(""), &[], &[]).unwrap_err();
        assert_eq!(error.to_string(), "dest spec is invalid: database is empty");
    }

    #[test]
    fn whole_cluster_requests_check_access_and_rules_but_no_database() {
        let rules = ClusterJobSpec::default();
        check_cluster_request(&spec(""), &spec(""), &rules, &[], &[]).unwrap();
        let mut no_user = spec("");
        no_user.user.clear();
        assert!(check_cluster_request(&no_user, &spec(""), &rules, &[], &[])
            .unwrap_err()
            .to_string()
            .contains("user is empty"));
        assert!(
            check_cluster_request(&spec(""), &spec(""), &rules, &["t".into()], &[])
                .unwrap_err()
                .to_string()
                .contains("include / exclude")
        );
        let bad = ClusterJobSpec {
            include: vec!["db.".into()],
            ..Default::default()
        };
        assert!(check_cluster_request(&spec(""), &spec(""), &bad, &[], &[]).is_err());
    }
}
