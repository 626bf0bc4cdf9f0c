//! Pre-flight checks of `/create_ccr`, run against both clusters before the job is stored.
//!
//! They follow the reference syncer's first run (same order, same messages), so an operator
//! learns about a missing binlog switch or an existing target table at once instead of from
//! a job that never makes progress.

use std::time::Duration;

use futures::future::try_join_all;

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

/// Runs every check; on success returns the specs completed with FE lists and ids.
pub async fn check_and_complete(
    mut src: ClusterSpec,
    mut dest: ClusterSpec,
    mappings: CheckMappings,
    allow_table_exists: bool,
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
        check_source(&src_sql, &mut src).await?;
        prepare_target(&dest_sql, &mut dest, allow_table_exists).await?;
        Ok(())
    }
    .await;
    src_sql.close().await;
    dest_sql.close().await;
    result.map(|()| CheckedSpecs { src, dest })
}

fn sql_client(spec: &ClusterSpec, mapping: &HostMapping, connect_timeout: Duration) -> SqlClient {
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

async fn frontends(sql: &SqlClient) -> Result<Vec<Frontend>, JobError> {
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
    if !sql.fe_binlog_enabled().await? {
        return Err(JobError::CheckFailed(format!(
            "Fe {} enable_feature_binlog=false, please set it true in fe.conf",
            sql.addr()
        )));
    }
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
    let db = src.database.clone();
    if !sql.database_exists(&db).await? {
        return Err(JobError::CheckFailed(format!(
            "src database {db} not exists"
        )));
    }
    if !src.is_table_level() && !binlog_enabled_in(&sql.show_create_database(&db).await?) {
        return Err(JobError::CheckFailed(format!(
            "src database {db} not enable binlog"
        )));
    }
    src.db_id = sql
        .database_id(&db)
        .await?
        .ok_or_else(|| JobError::CheckFailed(format!("src database {db} not found dbId")))?;
    if src.is_table_level() {
        let table = src.table.clone();
        if !sql.table_exists(&db, &table).await? {
            return Err(JobError::CheckFailed(format!(
                "src table {db}.{table} not exists"
            )));
        }
        if !binlog_enabled_in(&sql.show_create_table(&db, &table).await?) {
            return Err(JobError::CheckFailed(format!(
                "src table {db}.{table} not enable binlog"
            )));
        }
        src.table_id = sql.table_id(src.db_id, &table).await?.ok_or_else(|| {
            JobError::CheckFailed(format!("src table {db}.{table} not found tableId"))
        })?;
    }
    Ok(())
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
    if dest.is_table_level() {
        let table = dest.table.clone();
        if sql.table_exists(&db, &table).await? {
            if !allow_table_exists {
                return Err(JobError::CheckFailed(format!(
                    "dest table {db}.{table} already exists"
                )));
            }
            dest.table_id = sql.table_id(dest.db_id, &table).await?.unwrap_or_default();
        }
    }
    Ok(())
}
