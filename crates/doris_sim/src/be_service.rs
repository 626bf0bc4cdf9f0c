//! The BackendService of one simulated BE (Thrift, `be_port`): `ingest_binlog`, which pulls a
//! source rowset over HTTP from a source BE (another simulated cluster in this process or in
//! another one) and stages it in the local transaction, and `query_ingest_binlog`.
//!
//! Ingest always runs synchronously (Doris' default `ingest_binlog_work_pool_size = -1`):
//! the status reflects the outcome and `is_async` is false. The download follows Doris'
//! sequence — `get_binlog_info`, `get_rowset_meta`, then HEAD + GET per segment with a size
//! check — against the source BE's `/api/_binlog/_download` (see `sim::be_http`). The staged
//! rowset keeps the source rowset's schema, by column unique id (the target table, created
//! by restore or by the replayed CREATE TABLE, has the source's unique ids), so a rename
//! between the load and its ingest changes nothing; delete predicates resolve by unique id
//! too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::be_http::{
    delete_predicate_from_docs, rows_from_segment, RowsetMetaDoc, SegmentDoc, BINLOG_DOWNLOAD_PATH,
};
use crate::catalog::{Catalog, TabletLocation};
use crate::fault::FaultInjector;
use crate::txn::{StagedRowset, TxnStatus};
use ccr_wire::backend_service::{
    BackendServiceSyncHandler, TIngestBinlogRequest, TIngestBinlogResult,
    TQueryIngestBinlogRequest, TQueryIngestBinlogResult,
};
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::TIngestBinlogStatus;

/// Attempts per download request, as the Doris BE makes.
const DOWNLOAD_ATTEMPTS: u32 = 3;
/// Pause between download attempts (Doris: 1 s).
const DOWNLOAD_RETRY_INTERVAL: Duration = Duration::from_secs(1);
/// Connecting to the source BE's HTTP port.
const DOWNLOAD_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One whole download request; simulated rowsets are small, this only bounds a hung peer.
const DOWNLOAD_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A failed ingest, as the TStatus the BE answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IngestError {
    pub code: TStatusCode,
    pub message: String,
}

impl IngestError {
    fn new(code: TStatusCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn http(message: impl Into<String>) -> Self {
        Self::new(TStatusCode::HTTP_ERROR, message)
    }

    fn runtime(message: impl Into<String>) -> Self {
        Self::new(TStatusCode::RUNTIME_ERROR, message)
    }

    fn status(&self) -> TStatus {
        TStatus::new(self.code, Some(vec![self.message.clone()]))
    }
}

/// The BackendService of one simulated BE.
#[derive(Clone)]
pub struct SimBackendService {
    backend_id: i64,
    catalog: Arc<Catalog>,
    /// `enable_feature_binlog` in this BE's be.conf.
    binlog_enabled: bool,
    /// Runs the HTTP client's futures; Thrift handlers run on plain threads.
    runtime: tokio::runtime::Handle,
    http: reqwest::Client,
    /// The cluster's fault injector, consulted first in every method with this BE's id.
    faults: FaultInjector,
}

impl std::fmt::Debug for SimBackendService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBackendService")
            .field("backend_id", &self.backend_id)
            .field("binlog_enabled", &self.binlog_enabled)
            .finish_non_exhaustive()
    }
}

/// The fields of an ingest request, all present.
struct IngestRequest<'a> {
    txn_id: i64,
    remote_tablet_id: i64,
    binlog_version: i64,
    remote_host: &'a str,
    remote_port: &'a str,
    partition_id: i64,
    local_tablet_id: i64,
}

fn present<'a, T>(value: &'a Option<T>, field: &str) -> Result<&'a T, IngestError> {
    value
        .as_ref()
        .ok_or_else(|| IngestError::new(TStatusCode::ANALYSIS_ERROR, format!("{field} is empty")))
}

impl SimBackendService {
    /// The service of BE `backend_id`; HTTP downloads run on `runtime`; `faults` is the
    /// cluster's injector.
    pub fn new(
        backend_id: i64,
        catalog: Arc<Catalog>,
        binlog_enabled: bool,
        runtime: tokio::runtime::Handle,
        faults: FaultInjector,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(DOWNLOAD_CONNECT_TIMEOUT)
            .timeout(DOWNLOAD_REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            backend_id,
            catalog,
            binlog_enabled,
            runtime,
            http,
            faults,
        })
    }

    fn ingest(&self, request: &TIngestBinlogRequest) -> Result<(), IngestError> {
        if !self.binlog_enabled {
            return Err(IngestError::runtime("enable feature binlog is false"));
        }
        let parsed = IngestRequest {
            txn_id: *present(&request.txn_id, "txn_id")?,
            remote_tablet_id: *present(&request.remote_tablet_id, "remote_tablet_id")?,
            binlog_version: *present(&request.binlog_version, "binlog_version")?,
            remote_host: present(&request.remote_host, "remote_host")?,
            remote_port: present(&request.remote_port, "remote_port")?,
            partition_id: *present(&request.partition_id, "partition_id")?,
            local_tablet_id: *present(&request.local_tablet_id, "local_tablet_id")?,
        };
        present(&request.load_id, "load_id")?;
        let request = parsed;
        let location = self.prepare(&request)?;
        let (meta, segments) = self.download(&request)?;
        let staged = self.to_local_rowset(location, &meta, &segments)?;
        self.catalog
            .write()
            .stage_rowset(
                request.txn_id,
                request.local_tablet_id,
                self.backend_id,
                staged,
            )
            .map_err(|e| {
                IngestError::runtime(format!(
                    "failed to commit txn for remote tablet {}: {e}",
                    request.remote_tablet_id
                ))
            })
    }

    /// Checks the local tablet (a replica on this BE, in the given partition) and that the
    /// transaction can take data.
    fn prepare(&self, request: &IngestRequest<'_>) -> Result<TabletLocation, IngestError> {
        let mut state = self.catalog.write();
        let tablet_missing = || {
            IngestError::new(
                TStatusCode::TABLET_MISSING,
                format!("tablet {} not found", request.local_tablet_id),
            )
        };
        let location = state
            .locate_tablet(request.local_tablet_id)
            .ok_or_else(tablet_missing)?;
        let on_this_backend = state
            .tablet(location)
            .is_some_and(|t| t.replicas.iter().any(|r| r.backend_id == self.backend_id));
        if !on_this_backend {
            return Err(tablet_missing());
        }
        let prepare_failed = |reason: String| {
            IngestError::runtime(format!(
                "failed to prepare txn {} on tablet {}: {reason}",
                request.txn_id, request.local_tablet_id
            ))
        };
        if location.partition_id != request.partition_id {
            return Err(prepare_failed(format!(
                "the tablet belongs to partition {}, not {}",
                location.partition_id, request.partition_id
            )));
        }
        let txn = state
            .txn_in_db(location.db_id, request.txn_id)
            .map_err(|e| prepare_failed(e.to_string()))?;
        if txn.status != TxnStatus::Prepare {
            return Err(prepare_failed(format!(
                "transaction is {}",
                txn.status.name()
            )));
        }
        if !txn.table_ids.contains(&location.table_id) {
            return Err(prepare_failed(format!(
                "table {} is not part of the transaction",
                location.table_id
            )));
        }
        Ok(location)
    }

    /// Runs `future` on the runtime and waits for it from this (non-runtime) thread.
    fn run<F>(&self, future: F) -> Result<F::Output, IngestError>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Thrift handlers run on plain threads: block this one on the future (a spawned
        // task and a channel cost two more thread switches per download request).
        if tokio::runtime::Handle::try_current().is_err() {
            return Ok(self.runtime.block_on(future));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv()
            .map_err(|_| IngestError::runtime("the simulator's runtime is shutting down"))
    }

    /// One download request with Doris' retries (only transport failures are retried: an
    /// HTTP error status is the source's final answer). Returns the body and the
    /// `Content-Length` the source announced.
    fn fetch(
        &self,
        head: bool,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<(Vec<u8>, Option<u64>), IngestError> {
        let mut last_error = String::new();
        for attempt in 0..DOWNLOAD_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(DOWNLOAD_RETRY_INTERVAL);
            }
            let builder = if head {
                self.http.head(url)
            } else {
                self.http.get(url)
            }
            .query(query);
            let outcome = self.run(async move {
                let response = builder.send().await?;
                let status = response.status();
                let length = response
                    .headers()
                    .get(reqwest::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let body = response.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>((status, length, body))
            })?;
            match outcome {
                Ok((status, length, body)) if status.is_success() => return Ok((body, length)),
                Ok((status, _, body)) => {
                    return Err(IngestError::http(format!(
                        "failed to download binlog from {url}: HTTP {status}: {}",
                        String::from_utf8_lossy(&body).trim()
                    )))
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(IngestError::http(format!(
            "failed to download binlog from {url} after {DOWNLOAD_ATTEMPTS} attempts: {last_error}"
        )))
    }

    fn download(
        &self,
        request: &IngestRequest<'_>,
    ) -> Result<(RowsetMetaDoc, Vec<SegmentDoc>), IngestError> {
        let url = format!(
            "http://{}:{}{BINLOG_DOWNLOAD_PATH}",
            request.remote_host, request.remote_port
        );
        let tablet = request.remote_tablet_id.to_string();
        let version = request.binlog_version.to_string();
        let (info, _) = self.fetch(
            false,
            &url,
            &[
                ("method", "get_binlog_info".to_owned()),
                ("tablet_id", tablet.clone()),
                ("binlog_version", version.clone()),
            ],
        )?;
        let info = String::from_utf8_lossy(&info).trim().to_owned();
        let (rowset_id, num_segments) = info
            .rsplit_once(':')
            .and_then(|(id, n)| Some((id.to_owned(), n.parse::<usize>().ok()?)))
            .ok_or_else(|| IngestError::http(format!("malformed binlog info: {info}")))?;
        let (meta, _) = self.fetch(
            false,
            &url,
            &[
                ("method", "get_rowset_meta".to_owned()),
                ("tablet_id", tablet.clone()),
                ("rowset_id", rowset_id.clone()),
                ("binlog_version", version),
            ],
        )?;
        let meta: RowsetMetaDoc = serde_json::from_slice(&meta)
            .map_err(|e| IngestError::http(format!("malformed rowset meta: {e}")))?;
        let mut segments = Vec::with_capacity(num_segments);
        for index in 0..num_segments {
            let query = [
                ("method", "get_segment_file".to_owned()),
                ("tablet_id", tablet.clone()),
                ("rowset_id", rowset_id.clone()),
                ("segment_index", index.to_string()),
            ];
            let (_, announced) = self.fetch(true, &url, &query)?;
            let mut with_md5 = query.to_vec();
            with_md5.push(("acquire_md5", "true".to_owned()));
            let (body, _) = self.fetch(false, &url, &with_md5)?;
            if let Some(size) = announced {
                if size != body.len() as u64 {
                    return Err(IngestError::http(format!(
                        "segment {index} of rowset {rowset_id}: expected {size} bytes, got {}",
                        body.len()
                    )));
                }
            }
            segments.push(
                serde_json::from_slice(&body)
                    .map_err(|e| IngestError::http(format!("malformed segment file: {e}")))?,
            );
        }
        Ok((meta, segments))
    }

    /// The downloaded rowset in the local table's schema.
    fn to_local_rowset(
        &self,
        location: TabletLocation,
        meta: &RowsetMetaDoc,
        segments: &[SegmentDoc],
    ) -> Result<StagedRowset, IngestError> {
        let state = self.catalog.read();
        let olap = state
            .databases
            .get(&location.db_id)
            .and_then(|db| db.tables.get(&location.table_id))
            .and_then(|t| t.olap())
            .ok_or_else(|| {
                IngestError::new(
                    TStatusCode::TABLET_MISSING,
                    format!("tablet {} not found", location.tablet_id),
                )
            })?;
        // Doris keeps the downloaded segments as they are: the rowset keeps its own schema
        // (column unique ids) and the reader maps it to the table's current columns by id.
        let mut schema: Option<Vec<i32>> = None;
        let mut rows = Vec::new();
        for segment in segments {
            let (ids, segment_rows) =
                rows_from_segment(segment, &olap.columns).map_err(IngestError::runtime)?;
            match &schema {
                Some(known) if *known != ids => {
                    return Err(IngestError::runtime(
                        "the segments of one rowset have different schemas",
                    ))
                }
                Some(_) => {}
                None => schema = Some(ids),
            }
            rows.extend(segment_rows);
        }
        let delete_predicate = meta
            .delete_predicate
            .as_deref()
            .map(|docs| delete_predicate_from_docs(docs, &olap.columns))
            .transpose()
            .map_err(IngestError::runtime)?;
        Ok(StagedRowset {
            table_id: location.table_id,
            partition_id: location.partition_id,
            index_id: location.index_id,
            schema: schema.unwrap_or_default(),
            rows,
            delete_predicate,
        })
    }

    fn query_ingest(
        &self,
        request: &TQueryIngestBinlogRequest,
    ) -> Result<TIngestBinlogStatus, IngestError> {
        let txn_id = *present(&request.txn_id, "txn_id")?;
        present(&request.partition_id, "partition_id")?;
        let tablet_id = *present(&request.tablet_id, "tablet_id")?;
        present(&request.load_id, "load_id")?;
        let state = self.catalog.read();
        let Some(txn) = state.txns.get(txn_id) else {
            return Ok(TIngestBinlogStatus::NOT_FOUND);
        };
        Ok(match txn.status {
            TxnStatus::Aborted => TIngestBinlogStatus::FAILED,
            TxnStatus::Committed | TxnStatus::Visible => TIngestBinlogStatus::OK,
            TxnStatus::Prepare if txn.has_staged(tablet_id, self.backend_id) => {
                TIngestBinlogStatus::OK
            }
            TxnStatus::Prepare => TIngestBinlogStatus::NOT_FOUND,
        })
    }
}

impl BackendServiceSyncHandler for SimBackendService {
    fn handle_ingest_binlog(
        &self,
        request: TIngestBinlogRequest,
    ) -> thrift::Result<TIngestBinlogResult> {
        self.catalog.calls().count_be("ingest_binlog");
        if let Err(fault) = self
            .faults
            .before_rpc("ingest_binlog", Some(self.backend_id))
        {
            return Ok(TIngestBinlogResult {
                status: Some(fault.into_reply()?.status),
                is_async: Some(false),
            });
        }
        let status = match self.ingest(&request) {
            Ok(()) => TStatus::new(TStatusCode::OK, None),
            Err(e) => {
                tracing::debug!(backend = self.backend_id, error = %e, "ingest_binlog failed");
                e.status()
            }
        };
        Ok(TIngestBinlogResult {
            status: Some(status),
            is_async: Some(false),
        })
    }

    fn handle_query_ingest_binlog(
        &self,
        request: TQueryIngestBinlogRequest,
    ) -> thrift::Result<TQueryIngestBinlogResult> {
        self.catalog.calls().count_be("query_ingest_binlog");
        if let Err(fault) = self
            .faults
            .before_rpc("query_ingest_binlog", Some(self.backend_id))
        {
            // The result has no TStatus: an injected status code is the TIngestBinlogStatus.
            let reply = fault.into_reply()?;
            return Ok(TQueryIngestBinlogResult {
                status: Some(TIngestBinlogStatus(reply.status.status_code.0)),
                err_msg: reply.status.error_msgs.and_then(|m| m.into_iter().next()),
            });
        }
        Ok(match self.query_ingest(&request) {
            Ok(status) => TQueryIngestBinlogResult {
                status: Some(status),
                err_msg: None,
            },
            Err(e) => TQueryIngestBinlogResult {
                status: Some(TIngestBinlogStatus::ANALYSIS_ERROR),
                err_msg: Some(e.message),
            },
        })
    }
}
