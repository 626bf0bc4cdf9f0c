//! A simulated BE's HTTP (webserver) port: `/api/show_config` and `/api/health` in the shapes
//! the Doris BE produces, and the binlog download API (`/api/_binlog/_download`) a target BE
//! calls on a source BE during `ingest_binlog`.
//!
//! Binlog download API (Doris' `DownloadBinlogAction`), GET (and HEAD) with `method=`:
//! - `get_binlog_info&tablet_id=T&binlog_version=V` → `<rowset_id>:<num_segments>` of the
//!   rowset that load version V wrote into tablet T;
//! - `get_rowset_meta&tablet_id=T&rowset_id=R&binlog_version=V` → the rowset meta;
//! - `get_segment_file&tablet_id=T&rowset_id=R&segment_index=I[&acquire_md5=true]` → segment
//!   I (HEAD gives its size in `Content-Length`);
//! - `get_segment_index_file&...` → 404: simulated rowsets have no inverted-index files.
//!
//! Errors: tablet without a replica on this BE → 500, unknown version/rowset/segment → 404,
//! bad parameters → 400. Doris' BE does not check a token on this API (its check is a stub
//! and target BEs send none); the simulator accepts requests without `token` too, but rejects
//! a `token` that is present and differs from the cluster token (401).
//!
//! Divergence: Doris serves a protobuf RowsetMetaPB and binary segment files. The simulator
//! serves JSON documents of its own ([`RowsetMetaDoc`], [`SegmentDoc`]) holding row values
//! keyed by column unique id (names travel alongside, for reading only; as in Doris, a
//! segment keeps the values of a column dropped since and a delete predicate names its
//! column by unique id), sends no `Content-MD5` header (a Doris BE only checks it when present),
//! and reports a load version that wrote no rows into a tablet as an empty rowset with id
//! `0` and no segments (Doris writes a real empty rowset into every tablet of the
//! partition).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::catalog::table::{Column, CompareOp, DeleteCondition, DeletePredicate, Rowset};
use crate::catalog::types::{ColumnType, Value};
use crate::catalog::Catalog;
use crate::topology::BackendAddr;

/// One row of `/api/show_config`: the BE lists each config as
/// `[name, C++ type, value, is_mutable]`, all four as JSON strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfigItem {
    pub name: String,
    /// The C++ type name the BE registers the config under (`bool`, `int32_t`, `std::string`).
    pub value_type: &'static str,
    /// The value as the BE prints it. The BE streams values through a plain `ostream`, so
    /// booleans read `1`/`0`, not `true`/`false`.
    pub value: String,
    pub mutable: bool,
}

/// The configuration one simulated BE reports, ordered by name like the BE's config map.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    items: Vec<BackendConfigItem>,
}

fn bool_value(value: bool) -> String {
    if value { "1" } else { "0" }.to_owned()
}

impl BackendConfig {
    /// The configs a BE at `backend` reports. `binlog_enabled` is `enable_feature_binlog`
    /// from be.conf; it is not mutable at runtime on a real BE either.
    pub fn for_backend(backend: &BackendAddr, binlog_enabled: bool) -> Self {
        let port = |name: &str, port: u16| BackendConfigItem {
            name: name.to_owned(),
            value_type: "int32_t",
            value: port.to_string(),
            mutable: false,
        };
        let mut items = vec![
            port("be_port", backend.be_port),
            port("brpc_port", backend.brpc_port),
            BackendConfigItem {
                name: "enable_feature_binlog".to_owned(),
                value_type: "bool",
                value: bool_value(binlog_enabled),
                mutable: false,
            },
            port("heartbeat_service_port", backend.heartbeat_port),
            port("webserver_port", backend.http_port),
        ];
        items.sort_by(|a, b| a.name.cmp(&b.name));
        Self { items }
    }

    pub fn items(&self) -> &[BackendConfigItem] {
        &self.items
    }

    pub fn get(&self, name: &str) -> Option<&BackendConfigItem> {
        self.items.iter().find(|item| item.name == name)
    }

    /// The `/api/show_config` body: every config, or only the one named `conf_item` (an
    /// unknown name yields `[]`, as on the BE).
    fn show_config_json(&self, conf_item: Option<&str>) -> String {
        let rows: Vec<[&str; 4]> = self
            .items
            .iter()
            .filter(|item| conf_item.is_none_or(|wanted| item.name == wanted))
            .map(|item| {
                [
                    item.name.as_str(),
                    item.value_type,
                    item.value.as_str(),
                    if item.mutable { "true" } else { "false" },
                ]
            })
            .collect();
        serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_owned())
    }
}

#[derive(Debug, Deserialize)]
struct ShowConfigParams {
    conf_item: Option<String>,
}

/// The BE answers show_config without setting a content type, so its HTTP library's default
/// goes out; clients parse the body as JSON regardless.
const SHOW_CONFIG_CONTENT_TYPE: &str = "text/html; charset=ISO-8859-1";

/// The BE's health answer, byte for byte (note the space after the first colon only).
const HEALTH_BODY: &str = r#"{"status": "OK","msg": "To Be Added"}"#;

async fn show_config(
    State(config): State<BackendConfig>,
    Query(params): Query<ShowConfigParams>,
) -> impl IntoResponse {
    // An empty `conf_item=` means "all", as on the BE.
    let conf_item = params.conf_item.as_deref().filter(|name| !name.is_empty());
    (
        [(header::CONTENT_TYPE, SHOW_CONFIG_CONTENT_TYPE)],
        config.show_config_json(conf_item),
    )
}

async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], HEALTH_BODY)
}

/// The BE HTTP routes plus `extra` (e.g. [`binlog_download_routes`]); anything else is 404.
pub fn router(config: BackendConfig, extra: Router) -> Router {
    Router::new()
        .route("/api/show_config", get(show_config))
        .route("/api/health", get(health))
        .with_state(config)
        .merge(extra)
}

/// Serves the BE HTTP port until `shutdown` becomes `true` (or its sender is dropped).
pub async fn serve(
    listener: TcpListener,
    config: BackendConfig,
    extra: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router(config, extra))
        .with_graceful_shutdown(
            async move { crate::cluster::shutdown_requested(&mut shutdown).await },
        )
        .await
}

/// The path of Doris' binlog download action.
pub const BINLOG_DOWNLOAD_PATH: &str = "/api/_binlog/_download";

/// Rowset id reported for a load version that wrote nothing into a tablet.
pub const EMPTY_ROWSET_ID: &str = "0";

/// Tag of [`RowsetMetaDoc`] documents, so a reader can tell them from Doris' protobuf.
pub const ROWSET_META_FORMAT: &str = "doris_sim.rowset_meta.v2";
/// Tag of [`SegmentDoc`] documents.
pub const SEGMENT_FORMAT: &str = "doris_sim.segment.v2";

/// The rowset meta a source BE serves (`get_rowset_meta`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowsetMetaDoc {
    pub format: String,
    pub rowset_id: String,
    pub tablet_id: i64,
    /// `[version, version]`: the load version that produced the rowset.
    pub version: i64,
    pub txn_id: i64,
    pub num_segments: usize,
    pub num_rows: usize,
    /// A DELETE's conditions (rows of earlier versions matching all of them disappear).
    pub delete_predicate: Option<Vec<DeleteConditionDoc>>,
}

/// One condition of a delete predicate (Doris' `DeleteSubPredicatePB`): the column by
/// unique id, with its name and type when the DELETE ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeleteConditionDoc {
    pub column_unique_id: i32,
    /// The column's name (informational; the reader resolves the unique id).
    pub column: String,
    /// The column's type as DDL text (`int`, `varchar(20)`).
    pub column_type: String,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `IN`, `NOT IN`, `IS NULL`, `IS NOT NULL`.
    pub op: String,
    pub values: Vec<serde_json::Value>,
}

/// One segment file: the column unique ids of the rowset's schema and the rows in that
/// column order. Values are JSON `null`, booleans, numbers (floating point) or strings
/// (integers, decimals, dates and text, in their SQL text form) so nothing loses precision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentDoc {
    pub format: String,
    /// What each row value belongs to (Doris segments identify columns by unique id).
    pub column_unique_ids: Vec<i32>,
    /// The columns' current names, for reading only (`""` for a column dropped since).
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

/// A rowset's rows as a segment document: every stored column, dropped ones included
/// (`columns` names the current schema).
pub fn segment_doc(rowset: &Rowset, columns: &[Column]) -> SegmentDoc {
    SegmentDoc {
        format: SEGMENT_FORMAT.to_owned(),
        column_unique_ids: rowset.schema.clone(),
        columns: rowset
            .schema
            .iter()
            .map(|id| {
                columns
                    .iter()
                    .find(|c| c.unique_id == *id)
                    .map(|c| c.name.clone())
                    .unwrap_or_default()
            })
            .collect(),
        rows: rowset
            .rows
            .iter()
            .map(|row| row.iter().map(value_to_json).collect())
            .collect(),
    }
}

/// A downloaded segment's rows, keyed by the same unique ids: a value of a local column is
/// read as that column's type; a value of a column the local table no longer has is kept
/// raw (only a delete predicate on that column still reads it). Returns the rowset schema
/// and the rows.
pub fn rows_from_segment(
    segment: &SegmentDoc,
    columns: &[Column],
) -> Result<(Vec<i32>, Vec<Vec<Value>>), String> {
    let locals: Vec<Option<&Column>> = segment
        .column_unique_ids
        .iter()
        .map(|id| columns.iter().find(|c| c.unique_id == *id))
        .collect();
    let rows = segment
        .rows
        .iter()
        .map(|row| {
            if row.len() != locals.len() {
                return Err(format!(
                    "segment row has {} values for {} columns",
                    row.len(),
                    locals.len()
                ));
            }
            row.iter()
                .zip(&locals)
                .map(|(json, local)| {
                    let value = value_from_json(json);
                    match local {
                        Some(c) => c
                            .column_type
                            .coerce(&value)
                            .map_err(|e| format!("column {}: {e}", c.name)),
                        None => Ok(value),
                    }
                })
                .collect()
        })
        .collect::<Result<_, String>>()?;
    Ok((segment.column_unique_ids.clone(), rows))
}

/// A delete predicate as documents (`columns` names the current schema; a dropped column
/// keeps the name it had when the DELETE ran).
pub fn delete_condition_docs(
    predicate: &DeletePredicate,
    columns: &[Column],
) -> Vec<DeleteConditionDoc> {
    predicate
        .conditions
        .iter()
        .map(|c| DeleteConditionDoc {
            column_unique_id: c.column_unique_id,
            column: columns
                .iter()
                .find(|col| col.unique_id == c.column_unique_id)
                .map(|col| col.name.clone())
                .unwrap_or_else(|| c.column_name.clone()),
            column_type: c.column_type.to_sql(),
            op: compare_op_name(c.op).to_owned(),
            values: c.values.iter().map(value_to_json).collect(),
        })
        .collect()
}

/// A cell as segment JSON.
pub fn value_to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| serde_json::Value::String(value.to_text())),
        Value::Int(_) | Value::Decimal { .. } | Value::Text(_) => {
            serde_json::Value::String(value.to_text())
        }
    }
}

/// A segment JSON cell back as a value (to be coerced to the reader's column type).
pub fn value_from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i.into()),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

/// The text form of a delete operator in [`DeleteConditionDoc`].
pub fn compare_op_name(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "!=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::In => "IN",
        CompareOp::NotIn => "NOT IN",
        CompareOp::IsNull => "IS NULL",
        CompareOp::IsNotNull => "IS NOT NULL",
    }
}

/// Rebuilds a downloaded delete predicate, resolving each condition's column by unique id
/// (as Doris' BE does with `sub_predicates_v2`): against the local column when the table
/// has it, else against the type the document carries (a column dropped since, whose
/// values older rowsets still hold).
pub fn delete_predicate_from_docs(
    docs: &[DeleteConditionDoc],
    columns: &[Column],
) -> Result<DeletePredicate, String> {
    let conditions = docs
        .iter()
        .map(|doc| {
            let local = columns.iter().find(|c| c.unique_id == doc.column_unique_id);
            let column_type = match local {
                Some(c) => c.column_type.clone(),
                None => ColumnType::from_sql(&doc.column_type),
            };
            let values = doc
                .values
                .iter()
                .map(|v| {
                    column_type
                        .coerce(&value_from_json(v))
                        .map_err(|e| format!("column {}: {e}", doc.column))
                })
                .collect::<Result<_, String>>()?;
            Ok(DeleteCondition {
                column_unique_id: doc.column_unique_id,
                column_name: local
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| doc.column.clone()),
                column_type,
                op: compare_op_from_name(&doc.op)
                    .ok_or_else(|| format!("unknown delete operator {}", doc.op))?,
                values,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(DeletePredicate { conditions })
}

/// Inverse of [`compare_op_name`].
pub fn compare_op_from_name(name: &str) -> Option<CompareOp> {
    Some(match name {
        "=" => CompareOp::Eq,
        "!=" => CompareOp::Ne,
        "<" => CompareOp::Lt,
        "<=" => CompareOp::Le,
        ">" => CompareOp::Gt,
        ">=" => CompareOp::Ge,
        "IN" => CompareOp::In,
        "NOT IN" => CompareOp::NotIn,
        "IS NULL" => CompareOp::IsNull,
        "IS NOT NULL" => CompareOp::IsNotNull,
        _ => return None,
    })
}

/// What one BE's binlog download API serves from: the cluster catalog (which holds every
/// tablet's rowsets) restricted to the tablets with a replica on this BE.
#[derive(Debug, Clone)]
pub struct BinlogDownloads {
    pub catalog: Arc<Catalog>,
    pub backend_id: i64,
}

/// The `/api/_binlog/_download` route of one BE.
pub fn binlog_download_routes(source: BinlogDownloads) -> Router {
    Router::new()
        .route(BINLOG_DOWNLOAD_PATH, get(binlog_download))
        .with_state(source)
}

#[derive(Debug, Default, Deserialize)]
struct DownloadParams {
    method: Option<String>,
    tablet_id: Option<String>,
    binlog_version: Option<String>,
    rowset_id: Option<String>,
    segment_index: Option<String>,
    // `acquire_md5` is accepted and ignored: no Content-MD5 is sent (see the module docs).
    token: Option<String>,
}

/// A failed download request: HTTP status and plain-text body.
struct DownloadError(StatusCode, String);

impl IntoResponse for DownloadError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> DownloadError {
    DownloadError(StatusCode::BAD_REQUEST, message.into())
}

fn int_param(value: &Option<String>, name: &str) -> Result<i64, DownloadError> {
    let text = value
        .as_deref()
        .ok_or_else(|| bad_request(format!("missing parameter: {name}")))?;
    text.parse()
        .map_err(|_| bad_request(format!("invalid {name}: {text}")))
}

/// Which rowset of a tablet a download asks about.
#[derive(Clone, Copy)]
enum WantedRowset<'a> {
    /// The one a load at this partition version wrote.
    Version(i64),
    /// The one with this id (as the download names it).
    Id(&'a str),
}

/// A copy of what a download needs from one tablet, taken under the catalog lock: only the
/// rowset asked about (a tablet holds one rowset per load; copying them all made every
/// download cost as much as the tablet's whole history).
struct TabletSnapshot {
    visible_version: i64,
    rowset: Option<Rowset>,
    columns: Vec<Column>,
}

impl BinlogDownloads {
    fn tablet(
        &self,
        tablet_id: i64,
        wanted: WantedRowset<'_>,
    ) -> Result<TabletSnapshot, DownloadError> {
        let missing = || {
            DownloadError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("tablet {tablet_id} not found"),
            )
        };
        let state = self.catalog.read();
        let location = state.locate_tablet(tablet_id).ok_or_else(missing)?;
        let tablet = state.tablet(location).ok_or_else(missing)?;
        if !tablet
            .replicas
            .iter()
            .any(|r| r.backend_id == self.backend_id)
        {
            return Err(missing());
        }
        let olap = state
            .databases
            .get(&location.db_id)
            .and_then(|db| db.tables.get(&location.table_id))
            .and_then(|t| t.olap())
            .ok_or_else(missing)?;
        let partition = olap
            .partitions
            .get(&location.partition_id)
            .ok_or_else(missing)?;
        let rowset = tablet
            .rowsets
            .iter()
            .find(|r| match wanted {
                WantedRowset::Version(version) => r.version == version,
                WantedRowset::Id(id) => r.id.to_string() == id,
            })
            .cloned();
        Ok(TabletSnapshot {
            visible_version: partition.visible_version,
            rowset,
            columns: olap.columns.clone(),
        })
    }
}

impl TabletSnapshot {
    /// The rowset load version `version` wrote (an empty one if it wrote nothing here).
    /// Version 1 is the initial empty version, not a load. The snapshot must have been
    /// taken for that version.
    fn rowset_at(&self, tablet_id: i64, version: i64) -> Result<Option<&Rowset>, DownloadError> {
        if version < 2 || version > self.visible_version {
            return Err(DownloadError(
                StatusCode::NOT_FOUND,
                format!("binlog version {version} of tablet {tablet_id} not found"),
            ));
        }
        Ok(self.rowset.as_ref().filter(|r| r.version == version))
    }

    fn rowset_id_at(&self, tablet_id: i64, version: i64) -> Result<String, DownloadError> {
        Ok(self
            .rowset_at(tablet_id, version)?
            .map(|r| r.id.to_string())
            .unwrap_or_else(|| EMPTY_ROWSET_ID.to_owned()))
    }

    fn meta(&self, tablet_id: i64, version: i64) -> Result<RowsetMetaDoc, DownloadError> {
        let rowset = self.rowset_at(tablet_id, version)?;
        let delete_predicate = rowset
            .and_then(|r| r.delete_predicate.as_ref())
            .map(|p| delete_condition_docs(p, &self.columns));
        Ok(RowsetMetaDoc {
            format: ROWSET_META_FORMAT.to_owned(),
            rowset_id: self.rowset_id_at(tablet_id, version)?,
            tablet_id,
            version,
            txn_id: rowset.map(|r| r.txn_id).unwrap_or(-1),
            num_segments: rowset.map(segment_count).unwrap_or(0),
            num_rows: rowset.map(|r| r.rows.len()).unwrap_or(0),
            delete_predicate,
        })
    }

    /// Segment `index` of rowset `rowset_id`: every stored column, by unique id. The
    /// snapshot must have been taken for that rowset id.
    fn segment(&self, rowset_id: &str, index: i64) -> Result<SegmentDoc, DownloadError> {
        let not_found = || {
            DownloadError(
                StatusCode::NOT_FOUND,
                format!("segment {index} of rowset {rowset_id} not found"),
            )
        };
        let rowset = self
            .rowset
            .as_ref()
            .filter(|r| r.id.to_string() == rowset_id)
            .ok_or_else(not_found)?;
        if index < 0 || index as usize >= segment_count(rowset) {
            return Err(not_found());
        }
        Ok(segment_doc(rowset, &self.columns))
    }
}

/// A rowset with rows is one segment; a delete-only or empty rowset has none.
fn segment_count(rowset: &Rowset) -> usize {
    usize::from(!rowset.rows.is_empty())
}

async fn binlog_download(
    State(source): State<BinlogDownloads>,
    Query(params): Query<DownloadParams>,
) -> Result<Response, DownloadError> {
    source.catalog.calls().count_be("binlog_download");
    if let Some(token) = &params.token {
        if token != source.catalog.cluster_token().expose() {
            return Err(DownloadError(
                StatusCode::UNAUTHORIZED,
                "invalid token".to_owned(),
            ));
        }
    }
    let method = params
        .method
        .as_deref()
        .ok_or_else(|| bad_request("missing parameter: method"))?;
    let tablet_id = int_param(&params.tablet_id, "tablet_id")?;
    match method {
        "get_binlog_info" => {
            let version = int_param(&params.binlog_version, "binlog_version")?;
            let tablet = source.tablet(tablet_id, WantedRowset::Version(version))?;
            let rowset = tablet.rowset_at(tablet_id, version)?;
            let body = format!(
                "{}:{}",
                tablet.rowset_id_at(tablet_id, version)?,
                rowset.map(segment_count).unwrap_or(0)
            );
            Ok(body.into_response())
        }
        "get_rowset_meta" => {
            let version = int_param(&params.binlog_version, "binlog_version")?;
            let rowset_id = params
                .rowset_id
                .as_deref()
                .ok_or_else(|| bad_request("missing parameter: rowset_id"))?;
            let meta = source
                .tablet(tablet_id, WantedRowset::Version(version))?
                .meta(tablet_id, version)?;
            if meta.rowset_id != rowset_id {
                return Err(DownloadError(
                    StatusCode::NOT_FOUND,
                    format!("rowset {rowset_id} of tablet {tablet_id} not found"),
                ));
            }
            Ok(json_file(serde_json::to_vec(&meta)))
        }
        "get_segment_file" => {
            let rowset_id = params
                .rowset_id
                .as_deref()
                .ok_or_else(|| bad_request("missing parameter: rowset_id"))?;
            let index = int_param(&params.segment_index, "segment_index")?;
            let segment = source
                .tablet(tablet_id, WantedRowset::Id(rowset_id))?
                .segment(rowset_id, index)?;
            Ok(json_file(serde_json::to_vec(&segment)))
        }
        "get_segment_index_file" => Err(DownloadError(
            StatusCode::NOT_FOUND,
            format!("tablet {tablet_id} has no inverted index files"),
        )),
        other => Err(bad_request(format!("invalid method: {other}"))),
    }
}

/// A downloadable file with its size announced (HEAD requests get the same headers).
fn json_file(body: Result<Vec<u8>, serde_json::Error>) -> Response {
    match body {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_LENGTH, bytes.len().to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend() -> BackendAddr {
        BackendAddr {
            id: 10001,
            host: "127.0.0.1".into(),
            be_port: 9060,
            http_port: 8040,
            brpc_port: 8060,
            heartbeat_port: 9050,
        }
    }

    #[test]
    fn single_item_matches_the_be_layout() {
        let config = BackendConfig::for_backend(&backend(), true);
        assert_eq!(
            config.show_config_json(Some("enable_feature_binlog")),
            r#"[["enable_feature_binlog","bool","1","false"]]"#
        );
        let off = BackendConfig::for_backend(&backend(), false);
        assert_eq!(off.get("enable_feature_binlog").unwrap().value, "0");
    }

    #[test]
    fn unknown_item_is_an_empty_array_and_no_filter_lists_all_sorted() {
        let config = BackendConfig::for_backend(&backend(), true);
        assert_eq!(config.show_config_json(Some("no_such_config")), "[]");
        let all: Vec<Vec<String>> = serde_json::from_str(&config.show_config_json(None)).unwrap();
        let names: Vec<&str> = all.iter().map(|row| row[0].as_str()).collect();
        assert_eq!(
            names,
            [
                "be_port",
                "brpc_port",
                "enable_feature_binlog",
                "heartbeat_service_port",
                "webserver_port"
            ]
        );
        assert!(all.iter().all(|row| row.len() == 4));
        assert_eq!(all[4], ["webserver_port", "int32_t", "8040", "false"]);
    }

    #[test]
    fn segment_values_and_delete_operators_round_trip() {
        for value in [
            Value::Null,
            Value::Bool(true),
            Value::Int(-170141183460469231731687303715884105728),
            Value::Float(1.5),
            Value::Decimal {
                unscaled: 12345,
                scale: 2,
            },
            Value::Text("2024-01-02 03:04:05".into()),
        ] {
            let back = value_from_json(&value_to_json(&value));
            assert_eq!(back.to_text(), value.to_text(), "{value:?}");
        }
        for op in [
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Lt,
            CompareOp::Le,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::In,
            CompareOp::NotIn,
            CompareOp::IsNull,
            CompareOp::IsNotNull,
        ] {
            assert_eq!(compare_op_from_name(compare_op_name(op)), Some(op));
        }
    }

    #[test]
    fn payloads_name_columns_by_unique_id_across_renames_and_drops() {
        // Source: (id #0, amount #1, qty #2) at write time; since then amount was renamed
        // and qty dropped.
        let source_now = [Column::test_int(0, "id"), Column::test_int(1, "amt")];
        let rowset = Rowset {
            id: 9,
            version: 2,
            txn_id: 5,
            schema: vec![0, 1, 2],
            rows: vec![vec![Value::Int(1), Value::Int(20), Value::Int(3)]],
            delete_predicate: None,
        };
        let doc = segment_doc(&rowset, &source_now);
        assert_eq!(doc.column_unique_ids, [0, 1, 2]);
        assert_eq!(doc.columns, ["id", "amt", ""]);
        // Target not renamed yet: the value still lands in #1.
        let target = [
            Column::test_int(0, "id"),
            Column::test_int(1, "amount"),
            Column::test_int(2, "qty"),
        ];
        let (schema, rows) = rows_from_segment(&doc, &target).unwrap();
        assert_eq!(schema, [0, 1, 2]);
        assert_eq!(rows[0][1].to_text(), "20");

        let predicate = DeletePredicate {
            conditions: vec![
                DeleteCondition {
                    column_unique_id: 1,
                    column_name: "amount".into(),
                    column_type: crate::catalog::types::ColumnType::Int,
                    op: CompareOp::Eq,
                    values: vec![Value::Int(20)],
                },
                DeleteCondition {
                    column_unique_id: 2,
                    column_name: "qty".into(),
                    column_type: crate::catalog::types::ColumnType::Int,
                    op: CompareOp::Gt,
                    values: vec![Value::Int(2)],
                },
            ],
        };
        let docs = delete_condition_docs(&predicate, &source_now);
        assert_eq!(docs[0].column, "amt");
        assert_eq!(docs[1].column, "qty");
        // A target that renamed amount and dropped qty resolves both by unique id.
        let rebuilt = delete_predicate_from_docs(&docs, &source_now).unwrap();
        assert_eq!(rebuilt.conditions[0].column_unique_id, 1);
        assert_eq!(rebuilt.conditions[1].column_unique_id, 2);
        let stored = |id: i32| match id {
            1 => Value::Int(20),
            // A dropped column's raw value, as a segment keeps it.
            2 => Value::Text("10".into()),
            _ => Value::Null,
        };
        assert!(rebuilt.matches(stored));
    }
}
