//! FrontendService getSnapshot and restoreSnapshot (sheet §5.3, §5.6; wire §2.7, §2.8).

use std::io::{Read, Write};
use std::sync::Arc;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::catalog::user::Privilege;
use crate::catalog::{now_ms, Catalog};
use ccr_binlog::snapshot::BackupJobInfo;
use ccr_wire::frontend_service::{
    TGetSnapshotRequest, TGetSnapshotResult, TRestoreSnapshotRequest, TRestoreSnapshotResult,
};
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::TSnapshotType;

use super::backup_job::BackupRestoreError;
use super::meta::BackupMetaDoc;
use super::restore_job::{drive, submit_restore, RestoreRequest};
use super::{DEFAULT_RESTORE_TIMEOUT_MS, LOCAL_REPOSITORY, RESTORE_COMPRESSION_CONFIG};

/// First two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Largest decompressed payload accepted, far above any simulated catalog.
const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;
/// Replicas of restored partitions when neither `reserve_replica` nor `replication_num` says
/// otherwise (Doris's default).
const DEFAULT_RESTORE_REPLICATION_NUM: u32 = 3;
/// The client address in access-denied texts (the simulator listens on loopback only).
const CLIENT_HOST: &str = "127.0.0.1";

/// A failed call: status code and Doris's message.
struct CallError {
    code: TStatusCode,
    message: String,
}

impl CallError {
    fn analysis(message: impl Into<String>) -> Self {
        Self {
            code: TStatusCode::ANALYSIS_ERROR,
            message: message.into(),
        }
    }

    /// UserException texts carry Doris's `errCode = 2, detailMessage = ` prefix.
    fn status(&self) -> TStatus {
        let text = if self.code == TStatusCode::ANALYSIS_ERROR {
            format!("errCode = 2, detailMessage = {}", self.message)
        } else {
            self.message.clone()
        };
        TStatus::new(self.code, Some(vec![text]))
    }
}

fn required<'a, T>(value: &'a Option<T>, field: &str) -> Result<&'a T, CallError> {
    value
        .as_ref()
        .ok_or_else(|| CallError::analysis(format!("{field} is not set")))
}

fn ok_status() -> TStatus {
    TStatus::new(TStatusCode::OK, None)
}

/// Password plus `privilege` on `table` (or the db when `table` is empty).
fn check_access(
    catalog: &Catalog,
    user: &str,
    passwd: &str,
    db: &str,
    table: &str,
    privilege: Privilege,
) -> Result<(), CallError> {
    let state = catalog.read();
    let account = match state.user(user) {
        Some(a) if a.password.expose() == passwd => a,
        _ => {
            return Err(CallError::analysis(format!(
                "Access denied for user '{user}@{CLIENT_HOST}' (using password: {})",
                if passwd.is_empty() { "NO" } else { "YES" }
            )))
        }
    };
    let allowed = if table.is_empty() {
        account.has_db_privilege(db, privilege)
    } else {
        account.has_table_privilege(db, table, privilege)
    };
    if allowed {
        Ok(())
    } else {
        Err(CallError::analysis(format!(
            "Access denied; you need (at least one of) the ({}) privilege(s) for this operation",
            privilege.name()
        )))
    }
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn gunzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED_BYTES)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// getSnapshot: the meta and job_info of a FINISHED local backup.
pub fn get_snapshot(catalog: &Catalog, request: &TGetSnapshotRequest) -> TGetSnapshotResult {
    get_snapshot_checked(catalog, request).unwrap_or_else(|e| TGetSnapshotResult {
        status: Some(e.status()),
        ..Default::default()
    })
}

fn get_snapshot_checked(
    catalog: &Catalog,
    request: &TGetSnapshotRequest,
) -> Result<TGetSnapshotResult, CallError> {
    let user = required(&request.user, "user")?;
    let passwd = required(&request.passwd, "passwd")?;
    let db_name = required(&request.db, "db")?;
    let label = required(&request.label_name, "label_name")?;
    required(&request.snapshot_name, "snapshot_name")?;
    let snapshot_type = required(&request.snapshot_type, "snapshot_type")?;
    if *snapshot_type != TSnapshotType::LOCAL {
        return Err(CallError::analysis("snapshot_type is not LOCAL"));
    }
    let table = request.table.clone().unwrap_or_default();
    check_access(catalog, user, passwd, db_name, &table, Privilege::Select)?;
    let state = catalog.read();
    let db = state
        .db(db_name)
        .ok_or_else(|| CallError::analysis(format!("unknown database, database={db_name}")))?;
    let not_exist = |text: String| CallError {
        code: TStatusCode::SNAPSHOT_NOT_EXIST,
        message: text,
    };
    let job = state
        .backup_restore
        .finished_backup(db.id, label)
        .ok_or_else(|| not_exist(format!("snapshot {label} not exist")))?;
    if job.is_expired(now_ms()) {
        return Err(not_exist(format!("snapshot {label} is expired")));
    }
    let mut meta = job.meta.clone();
    let mut job_info = job.job_info.to_vec();
    let compress = request.enable_compress == Some(true);
    if compress {
        let internal = |e: std::io::Error| CallError {
            code: TStatusCode::INTERNAL_ERROR,
            message: format!("failed to compress snapshot: {e}"),
        };
        meta = gzip(&meta).map_err(internal)?;
        job_info = gzip(&job_info).map_err(internal)?;
    }
    Ok(TGetSnapshotResult {
        status: Some(ok_status()),
        meta: Some(meta),
        job_info: Some(job_info),
        master_address: None,
        compressed: Some(compress),
        expired_at: Some(job.expires_at_ms()),
        commit_seq: Some(job.commit_seq),
    })
}

/// restoreSnapshot: submits a RESTORE job; OK only means the job was accepted.
pub fn restore_snapshot(
    catalog: &Arc<Catalog>,
    request: &TRestoreSnapshotRequest,
) -> TRestoreSnapshotResult {
    let status = match restore_snapshot_checked(catalog, request) {
        Ok(()) => ok_status(),
        Err(e) => e.status(),
    };
    TRestoreSnapshotResult {
        status: Some(status),
        master_address: None,
    }
}

/// The RESTORE statement Doris builds from the request (appended to its errors).
fn restore_statement(request: &TRestoreSnapshotRequest, properties: &[(String, String)]) -> String {
    let refs: Vec<String> = request
        .table_refs
        .iter()
        .flatten()
        .map(|r| {
            let table = format!("`{}`", r.table.clone().unwrap_or_default());
            match &r.alias_name {
                Some(alias) => format!("{table} AS `{alias}`"),
                None => table,
            }
        })
        .collect();
    let on = if refs.is_empty() {
        String::new()
    } else {
        format!(" ON ( {} )", refs.join(", "))
    };
    let props: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect();
    format!(
        "RESTORE SNAPSHOT `{}`.`{}` FROM `{}`{on} PROPERTIES ({})",
        request.db.clone().unwrap_or_default(),
        request.label_name.clone().unwrap_or_default(),
        request.repo_name.clone().unwrap_or_default(),
        props.join(", ")
    )
}

fn restore_snapshot_checked(
    catalog: &Arc<Catalog>,
    request: &TRestoreSnapshotRequest,
) -> Result<(), CallError> {
    let user = required(&request.user, "user")?;
    let passwd = required(&request.passwd, "passwd")?;
    let db_name = required(&request.db, "db")?;
    required(&request.label_name, "label_name")?;
    let repo = required(&request.repo_name, "repo_name")?;
    let meta = required(&request.meta, "meta")?;
    let job_info = required(&request.job_info, "job_info")?;
    check_access(catalog, user, passwd, db_name, "", Privilege::Load)?;

    let mut properties: Vec<(String, String)> = request
        .properties
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (flag, key) in [
        (request.clean_tables, "clean_tables"),
        (request.clean_partitions, "clean_partitions"),
        (request.atomic_restore, "atomic_restore"),
    ] {
        if flag == Some(true) {
            properties.push((key.to_owned(), "true".to_owned()));
        }
    }
    let stmt = restore_statement(request, &properties);
    let with_stmt = |message: String| CallError::analysis(format!("{message}, stmt: {stmt}"));

    let compression_allowed = catalog.read().config.get_bool(RESTORE_COMPRESSION_CONFIG);
    let (meta, job_info) = if request.compressed == Some(true) && compression_allowed {
        let bad =
            |e: std::io::Error| with_stmt(format!("decompress meta and job info failed: {e}"));
        (gunzip(meta).map_err(bad)?, gunzip(job_info).map_err(bad)?)
    } else {
        if meta.starts_with(&GZIP_MAGIC) || job_info.starts_with(&GZIP_MAGIC) {
            return Err(with_stmt(format!(
                "The request is compressed, but the config {RESTORE_COMPRESSION_CONFIG} is not enabled, or the compressed flag is not set"
            )));
        }
        (meta.clone(), job_info.clone())
    };
    if repo != LOCAL_REPOSITORY {
        return Err(with_stmt(format!("Repository {repo} does not exist")));
    }
    let job_info = BackupJobInfo::from_slice(&job_info)
        .map_err(|e| with_stmt(format!("invalid job info: {e}")))?;
    let extra = job_info
        .extra_info()
        .map_err(|e| with_stmt(format!("invalid job info: {e}")))?
        .ok_or_else(|| with_stmt("Invalid job extra info empty".to_owned()))?;
    if extra.be_network_map.is_empty() {
        return Err(with_stmt(
            "Invalid job extra info be network map".to_owned(),
        ));
    }
    if extra.token.expose().is_empty() {
        return Err(with_stmt("Invalid job extra info token".to_owned()));
    }
    let meta: BackupMetaDoc = serde_json::from_slice(&meta)
        .map_err(|e| with_stmt(format!("read backup meta failed: {e}")))?;
    let property = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let flag = |key: &str| property(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let replication_num = match property("replication_num") {
        Some(n) => n
            .parse()
            .map_err(|_| with_stmt(format!("Invalid replication_num: {n}")))?,
        None => DEFAULT_RESTORE_REPLICATION_NUM,
    };
    let timeout_ms = match property("timeout") {
        Some(s) => s
            .parse::<i64>()
            .map_err(|_| with_stmt(format!("Invalid timeout format: {s}")))?
            .saturating_mul(1000),
        None => DEFAULT_RESTORE_TIMEOUT_MS,
    };
    let restore = RestoreRequest {
        db: db_name.clone(),
        label: request.label_name.clone().unwrap_or_default(),
        meta,
        job_info,
        extra,
        table_refs: request
            .table_refs
            .iter()
            .flatten()
            .map(|r| (r.table.clone().unwrap_or_default(), r.alias_name.clone()))
            .collect(),
        reserve_replica: flag("reserve_replica"),
        reserve_dynamic_partition_enable: flag("reserve_dynamic_partition_enable"),
        replication_num,
        atomic: flag("atomic_restore"),
        clean_tables: flag("clean_tables"),
        clean_partitions: flag("clean_partitions"),
        timeout_ms,
    };
    let job_id = submit_restore(&mut catalog.write(), &restore).map_err(|e| match e {
        BackupRestoreError::Catalog(c) => with_stmt(c.to_string()),
        other => with_stmt(other.to_string()),
    })?;
    drive(Arc::clone(catalog), job_id, restore);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips() {
        let packed = gzip(b"{\"a\":1}").unwrap();
        assert!(packed.starts_with(&GZIP_MAGIC));
        assert_eq!(gunzip(&packed).unwrap(), b"{\"a\":1}");
    }
}
