//! Snapshot files on the source BEs and the BE HTTP route target BEs download them from.
//!
//! Layout, as in Doris: a backup puts each tablet's snapshot in
//! `<snapshot_path>/<tablet_id>/<schema_hash>/` on the BE holding the chosen replica, where
//! `<snapshot_path>` (job_info `tablet_snapshot_path_map`) is
//! `/sim/be_<be_id>/snapshot/<yyyyMMddHHmmss>.<job_id>.<timeout_s>`.
//!
//! Route (Doris's `DownloadAction` for tablets): `GET|HEAD
//! /api/_tablet/_download?token=<cluster token>&file=<path>`:
//! - `file` is a snapshot directory → the file names, each followed by `\n`;
//! - `file` is a file → its bytes (`Content-Length` set; HEAD gives the size only).
//!
//! Errors: missing token → 401 `token is not specified.`; wrong token → 401 `invalid token.`;
//! unknown or expired path → 404 `file not exist: <path>`; missing `file` → 400.
//!
//! File formats (ours, not Doris's tablet header protobuf / segment v2):
//! - `<tablet_id>.hdr`: a [`TabletSnapshotHeader`] JSON document listing the tablet's rowsets
//!   (version, row count, segment file, delete predicate) at the snapshot version;
//! - `<rowset_id>_0.dat`: a [`SegmentDoc`] JSON document (column unique ids + rows, names
//!   alongside), the same format the binlog download API serves. Like Doris's snapshot, it
//!   holds every stored column, including one dropped since, and delete predicates name
//!   their column by unique id.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::be_http::{delete_condition_docs, segment_doc, DeleteConditionDoc};
use crate::catalog::table::{Column, Tablet};
use crate::catalog::{now_ms, Catalog};

/// The path of Doris's tablet (snapshot) download action.
pub const TABLET_DOWNLOAD_PATH: &str = "/api/_tablet/_download";
/// Tag of [`TabletSnapshotHeader`] documents.
pub const TABLET_HEADER_FORMAT: &str = "doris_sim.tablet_snapshot.v2";
/// Separator after each name in a directory listing (Doris's `FILE_DELIMETER_IN_DIR_RESPONSE`).
pub const DIR_LISTING_DELIMITER: &str = "\n";

/// One rowset of a tablet snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRowset {
    pub rowset_id: i64,
    pub version: i64,
    pub txn_id: i64,
    pub num_rows: usize,
    /// The segment file with the rows; `None` for delete-only or empty rowsets.
    pub segment_file: Option<String>,
    pub delete_predicate: Option<Vec<DeleteConditionDoc>>,
}

/// `<tablet_id>.hdr`: what a tablet snapshot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TabletSnapshotHeader {
    pub format: String,
    pub tablet_id: i64,
    pub schema_hash: i64,
    /// The partition's visible version the snapshot was taken at.
    pub version: i64,
    pub rowsets: Vec<SnapshotRowset>,
}

/// The files of one tablet snapshot directory, by file name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotDir {
    pub backend_id: i64,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The header file name of a tablet snapshot.
pub fn header_file_name(tablet_id: i64) -> String {
    format!("{tablet_id}.hdr")
}

fn segment_file_name(rowset_id: i64) -> String {
    format!("{rowset_id}_0.dat")
}

/// Serializes a tablet's rowsets up to `version` into snapshot files (header first).
pub fn tablet_snapshot_files(
    tablet: &Tablet,
    schema_hash: i64,
    version: i64,
    columns: &[Column],
) -> Result<BTreeMap<String, Vec<u8>>, serde_json::Error> {
    let mut files = BTreeMap::new();
    let mut rowsets = Vec::new();
    for rowset in tablet.rowsets.iter().filter(|r| r.version <= version) {
        let segment_file = if rowset.rows.is_empty() {
            None
        } else {
            let name = segment_file_name(rowset.id);
            files.insert(
                name.clone(),
                serde_json::to_vec(&segment_doc(rowset, columns))?,
            );
            Some(name)
        };
        rowsets.push(SnapshotRowset {
            rowset_id: rowset.id,
            version: rowset.version,
            txn_id: rowset.txn_id,
            num_rows: rowset.rows.len(),
            segment_file,
            delete_predicate: rowset
                .delete_predicate
                .as_ref()
                .map(|p| delete_condition_docs(p, columns)),
        });
    }
    let header = TabletSnapshotHeader {
        format: TABLET_HEADER_FORMAT.to_owned(),
        tablet_id: tablet.id,
        schema_hash,
        version,
        rowsets,
    };
    files.insert(header_file_name(tablet.id), serde_json::to_vec(&header)?);
    Ok(files)
}

/// What one BE's snapshot download route serves from.
#[derive(Debug, Clone)]
pub struct SnapshotDownloads {
    pub catalog: Arc<Catalog>,
    pub backend_id: i64,
}

/// The `/api/_tablet/_download` route of one BE.
pub fn snapshot_download_routes(source: SnapshotDownloads) -> Router {
    Router::new()
        .route(TABLET_DOWNLOAD_PATH, get(tablet_download))
        .with_state(source)
}

#[derive(Debug, Default, Deserialize)]
struct DownloadParams {
    token: Option<String>,
    file: Option<String>,
}

/// What a path names on a BE.
enum SnapshotEntry {
    Dir(Vec<String>),
    File(Vec<u8>),
}

impl SnapshotDownloads {
    fn lookup(&self, path: &str) -> Option<SnapshotEntry> {
        let path = path.trim_end_matches('/');
        let state = self.catalog.read();
        let now = now_ms();
        for backup in state.backup_restore.jobs().iter().filter_map(|j| match j {
            super::Job::Backup(b) if !b.is_expired(now) => Some(b),
            _ => None,
        }) {
            if let Some(dir) = backup.snapshot_dirs.get(path) {
                if dir.backend_id == self.backend_id {
                    return Some(SnapshotEntry::Dir(dir.files.keys().cloned().collect()));
                }
            }
            if let Some((dir_path, name)) = path.rsplit_once('/') {
                if let Some(dir) = backup.snapshot_dirs.get(dir_path) {
                    if dir.backend_id == self.backend_id {
                        if let Some(bytes) = dir.files.get(name) {
                            return Some(SnapshotEntry::File(bytes.clone()));
                        }
                    }
                }
            }
        }
        None
    }
}

async fn tablet_download(
    State(source): State<SnapshotDownloads>,
    Query(params): Query<DownloadParams>,
) -> Response {
    source.catalog.calls().count_be("snapshot_download");
    match params.token.as_deref() {
        None | Some("") => {
            return (StatusCode::UNAUTHORIZED, "token is not specified.").into_response()
        }
        Some(token) if token != source.catalog.cluster_token().expose() => {
            return (StatusCode::UNAUTHORIZED, "invalid token.").into_response()
        }
        Some(_) => {}
    }
    let Some(path) = params.file.filter(|f| !f.is_empty()) else {
        return (StatusCode::BAD_REQUEST, "missing parameter: file").into_response();
    };
    match source.lookup(&path) {
        Some(SnapshotEntry::Dir(names)) => {
            let body: String = names
                .iter()
                .map(|n| format!("{n}{DIR_LISTING_DELIMITER}"))
                .collect();
            ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
        }
        Some(SnapshotEntry::File(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_LENGTH, bytes.len().to_string()),
            ],
            bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("file not exist: {path}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::be_http::SegmentDoc;
    use crate::catalog::table::{Replica, Rowset};
    use crate::catalog::types::Value;

    #[test]
    fn snapshot_files_stop_at_the_snapshot_version() {
        let rowset = |id: i64, version: i64| Rowset {
            id,
            version,
            txn_id: id,
            schema: vec![0, 1],
            rows: vec![vec![Value::Int(id as i128), Value::Int(1)]],
            delete_predicate: None,
        };
        let tablet = Tablet {
            id: 77,
            replicas: vec![Replica {
                id: 78,
                backend_id: 1,
                version: 3,
            }],
            rowsets: vec![rowset(5, 2), rowset(6, 3)],
        };
        let files = tablet_snapshot_files(
            &tablet,
            99,
            2,
            &[Column::test_int(0, "k"), Column::test_int(1, "v")],
        )
        .unwrap();
        assert_eq!(
            files.keys().cloned().collect::<Vec<_>>(),
            ["5_0.dat", "77.hdr"]
        );
        let header: TabletSnapshotHeader = serde_json::from_slice(&files["77.hdr"]).unwrap();
        assert_eq!(header.version, 2);
        assert_eq!(header.rowsets.len(), 1);
        assert_eq!(header.rowsets[0].segment_file.as_deref(), Some("5_0.dat"));
        let segment: SegmentDoc = serde_json::from_slice(&files["5_0.dat"]).unwrap();
        assert_eq!(segment.column_unique_ids, [0, 1]);
        assert_eq!(segment.columns, ["k", "v"]);
    }
}
