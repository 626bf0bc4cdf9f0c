//! The FE's binlog RPCs — `getBinlog`, `getBinlogLag`, `lockBinlog` — as plain functions over
//! the catalog, for the FrontendService Thrift handler to call (sheet §2.1-2.3, thrift sheet
//! §6.4-6.6). The handler answers NOT_MASTER / UNKNOWN_METHOD itself; everything else
//! (argument checks, authentication, SELECT privilege, stream selection, statuses) is here.
//!
//! Every call first runs the lazy binlog GC if its 15 s period has passed, so reading
//! binlogs observes retention the way a Doris FE with its GC daemon does.

use crate::binlog_journal::{BinlogFetch, BinlogFlavor, StreamError};
use crate::catalog::user::Privilege;
use crate::catalog::{now_ms, Catalog, CatalogState};
use ccr_wire::frontend_service::{
    TGetBinlogLagResult, TGetBinlogRequest, TGetBinlogResult, TLockBinlogRequest, TLockBinlogResult,
};
use ccr_wire::status::{TStatus, TStatusCode};

/// The client address in access-denied messages: the simulator only listens on loopback
/// and thrift-rs does not hand the peer address to handlers.
const CLIENT_HOST: &str = "127.0.0.1";
/// Most binlogs one getBinlog call returns (newest FE clamps `num_acquired` to 1..=255).
const MAX_BINLOGS_PER_FETCH: i64 = 255;
/// Batch size when `num_acquired` is unset (sheet §2.1: presumably 1).
const DEFAULT_BINLOGS_PER_FETCH: i64 = 1;

/// The stream a request addresses, after validation, authentication and lookup.
#[derive(Debug, Clone, Copy)]
struct StreamTarget {
    db_id: i64,
    /// `None`: the database stream.
    table_id: Option<i64>,
}

/// The identifying fields shared by the three requests.
struct StreamRequest<'a> {
    user: Option<&'a str>,
    passwd: Option<&'a str>,
    db: Option<&'a str>,
    table: Option<&'a str>,
    table_id: Option<i64>,
}

fn status(code: TStatusCode, message: Option<String>) -> TStatus {
    TStatus::new(code, message.map(|m| vec![m]))
}

/// A Doris UserException: ANALYSIS_ERROR, message with Doris's `errCode = 2,
/// detailMessage = ` prefix (as the rest of the simulated FrontendService reports them).
fn analysis_error(message: impl std::fmt::Display) -> TStatus {
    status(
        TStatusCode::ANALYSIS_ERROR,
        Some(format!("errCode = 2, detailMessage = {message}")),
    )
}

fn ok_status() -> TStatus {
    status(TStatusCode::OK, None)
}

fn stream_error_status(error: StreamError) -> TStatus {
    let code = match error {
        StreamError::NotFoundDb(_) => TStatusCode::BINLOG_NOT_FOUND_DB,
        StreamError::NotFoundTable { .. } => TStatusCode::BINLOG_NOT_FOUND_TABLE,
        StreamError::TooNew { .. } => TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ,
    };
    status(code, None)
}

/// `"<field> is not set"` for the first absent mandatory field.
fn require_fields(fields: &[(&str, bool)]) -> Result<(), TStatus> {
    match fields.iter().find(|(_, present)| !present) {
        Some((name, _)) => Err(analysis_error(format!("{name} is not set"))),
        None => Ok(()),
    }
}

/// Checks credentials and SELECT, resolves the database and the table stream
/// (`table_id` ≥ 0 wins over `table`; neither → the database stream).
fn resolve_target(
    state: &CatalogState,
    request: &StreamRequest<'_>,
) -> Result<StreamTarget, TStatus> {
    let user_name = request.user.unwrap_or_default();
    let passwd = request.passwd.unwrap_or_default();
    let user = state
        .user(user_name)
        .filter(|user| user.password.expose() == passwd)
        .ok_or_else(|| {
            analysis_error(format!(
                "Access denied for user '{user_name}@{CLIENT_HOST}' (using password: {})",
                if passwd.is_empty() { "NO" } else { "YES" }
            ))
        })?;
    let db_name = request.db.unwrap_or_default();
    let db = state
        .db(db_name)
        .ok_or_else(|| analysis_error(format!("unknown database, database={db_name}")))?;
    let table = match (request.table_id.filter(|id| *id >= 0), request.table) {
        (Some(table_id), _) => Some((table_id, db.tables.get(&table_id).map(|t| t.name.clone()))),
        (None, Some(name)) if !name.is_empty() => {
            let table = db
                .table(name)
                .ok_or_else(|| analysis_error(format!("unknown table, table={name}")))?;
            Some((table.id, Some(table.name.clone())))
        }
        (None, _) => None,
    };
    let allowed = match &table {
        Some((_, Some(name))) => user.has_table_privilege(db_name, name, Privilege::Select),
        _ => user.has_db_privilege(db_name, Privilege::Select),
    };
    if !allowed {
        return Err(analysis_error(
            "Access denied; you need (at least one of) the (SELECT) privilege(s) for this operation",
        ));
    }
    if !state.binlog_feature_enabled() {
        return Err(status(
            TStatusCode::BINLOG_DISABLE,
            Some("binlog feature is not enabled (enable_feature_binlog=false)".into()),
        ));
    }
    Ok(StreamTarget {
        db_id: db.id,
        table_id: table.map(|(id, _)| id),
    })
}

fn stream_request(request: &TGetBinlogRequest) -> StreamRequest<'_> {
    StreamRequest {
        user: request.user.as_deref(),
        passwd: request.passwd.as_deref(),
        db: request.db.as_deref(),
        table: request.table.as_deref(),
        table_id: request.table_id,
    }
}

/// Validates a getBinlog/getBinlogLag request and runs the due GC; returns the stream
/// target and `prev_commit_seq`.
fn prepare_read(
    state: &mut CatalogState,
    request: &TGetBinlogRequest,
) -> Result<(StreamTarget, i64), TStatus> {
    require_fields(&[
        ("user", request.user.is_some()),
        ("passwd", request.passwd.is_some()),
        ("db", request.db.is_some()),
        ("prev_commit_seq", request.prev_commit_seq.is_some()),
    ])?;
    let target = resolve_target(state, &stream_request(request))?;
    state.maybe_gc_binlogs(now_ms());
    Ok((target, request.prev_commit_seq.expect("checked above")))
}

/// `getBinlog`: the binlogs after `prev_commit_seq` in the requested stream.
///
/// OK with 1..=`num_acquired` binlogs (exactly one for the 2.1 flavor); TOO_OLD with the
/// DUMMY head alone when the cursor fell behind GC; TOO_NEW when caught up;
/// NOT_FOUND_DB / NOT_FOUND_TABLE when the stream does not exist.
pub fn get_binlog(catalog: &Catalog, request: &TGetBinlogRequest) -> TGetBinlogResult {
    let mut state = catalog.write();
    let (target, prev_commit_seq) = match prepare_read(&mut state, request) {
        Ok(prepared) => prepared,
        Err(status) => return TGetBinlogResult::new(status, None, None, None, None, None),
    };
    let limit = match state.binlog.flavor() {
        BinlogFlavor::Doris21 => 1,
        BinlogFlavor::Newest => request
            .num_acquired
            .unwrap_or(DEFAULT_BINLOGS_PER_FETCH)
            .clamp(1, MAX_BINLOGS_PER_FETCH),
    };
    let (status, binlogs) = match state.binlog.fetch(
        target.db_id,
        target.table_id,
        prev_commit_seq,
        limit as usize,
    ) {
        Ok(BinlogFetch::Binlogs(binlogs)) => (ok_status(), Some(binlogs)),
        Ok(BinlogFetch::TooOld(dummy)) => (
            status(TStatusCode::BINLOG_TOO_OLD_COMMIT_SEQ, None),
            Some(vec![dummy]),
        ),
        Ok(BinlogFetch::TooNew) => (status(TStatusCode::BINLOG_TOO_NEW_COMMIT_SEQ, None), None),
        Err(error) => (stream_error_status(error), None),
    };
    TGetBinlogResult::new(status, None, binlogs, None, None, None)
}

/// `getBinlogLag`: how many binlogs follow `prev_commit_seq` (the whole stream, DUMMY
/// included, when the cursor is too old). The newest flavor also reports the first (DUMMY
/// head), last and next commit seqs and timestamps.
pub fn get_binlog_lag(catalog: &Catalog, request: &TGetBinlogRequest) -> TGetBinlogLagResult {
    let empty =
        |status| TGetBinlogLagResult::new(status, None, None, None, None, None, None, None, None);
    let mut state = catalog.write();
    let (target, prev_commit_seq) = match prepare_read(&mut state, request) {
        Ok(prepared) => prepared,
        Err(status) => return empty(status),
    };
    match state
        .binlog
        .lag(target.db_id, target.table_id, prev_commit_seq)
    {
        Err(error) => empty(stream_error_status(error)),
        Ok(lag) => match state.binlog.flavor() {
            BinlogFlavor::Doris21 => TGetBinlogLagResult::new(
                ok_status(),
                lag.lag,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ),
            BinlogFlavor::Newest => TGetBinlogLagResult::new(
                ok_status(),
                lag.lag,
                None,
                lag.first_commit_seq,
                lag.last_commit_seq,
                lag.first_binlog_timestamp,
                lag.last_binlog_timestamp,
                lag.next_commit_seq,
                lag.next_binlog_timestamp,
            ),
        },
    }
}

/// Whether this FE knows `lockBinlog` (newest flavor only); a 2.1 FE's Thrift server
/// answers the call with UNKNOWN_METHOD, which the syncer treats as "no locking".
pub fn lock_binlog_supported(catalog: &Catalog) -> bool {
    catalog.read().binlog.flavor() == BinlogFlavor::Newest
}

/// `lockBinlog`: pins the stream for `job_unique_id` at `lock_commit_seq` (unset or
/// negative: the newest binlog; older than the head: the head). Locks only move forward;
/// a seq beyond the newest binlog is TOO_NEW with `locked_commit_seq = -1`.
pub fn lock_binlog(catalog: &Catalog, request: &TLockBinlogRequest) -> TLockBinlogResult {
    const NOT_LOCKED: i64 = -1;
    if let Err(status) = require_fields(&[
        ("user", request.user.is_some()),
        ("passwd", request.passwd.is_some()),
        ("db", request.db.is_some()),
        ("job_unique_id", request.job_unique_id.is_some()),
    ]) {
        return TLockBinlogResult::new(status, None, None);
    }
    let mut state = catalog.write();
    let stream = StreamRequest {
        user: request.user.as_deref(),
        passwd: request.passwd.as_deref(),
        db: request.db.as_deref(),
        table: request.table.as_deref(),
        table_id: request.table_id,
    };
    let target = match resolve_target(&state, &stream) {
        Ok(target) => target,
        Err(status) => return TLockBinlogResult::new(status, None, None),
    };
    state.maybe_gc_binlogs(now_ms());
    let job = request.job_unique_id.as_deref().unwrap_or_default();
    let requested = request.lock_commit_seq.unwrap_or(NOT_LOCKED);
    match state
        .binlog
        .lock(target.db_id, target.table_id, job, requested)
    {
        Ok(locked) => TLockBinlogResult::new(ok_status(), locked, None),
        Err(error @ StreamError::TooNew { .. }) => {
            TLockBinlogResult::new(stream_error_status(error), NOT_LOCKED, None)
        }
        Err(error) => TLockBinlogResult::new(stream_error_status(error), None, None),
    }
}
