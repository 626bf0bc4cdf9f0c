//! The simulated FE's http port: Doris's `GET /api/health`, and the simulator's own control
//! API under `/api/_sim/` for fault injection and cluster control (documented for operators
//! in `docs/doris_sim.md`):
//!
//! | method and path                     | effect                                            |
//! |-------------------------------------|---------------------------------------------------|
//! | `POST /api/_sim/faults`             | add a rule ([`FaultRuleSpec`]) → `{"id": n}`       |
//! | `GET /api/_sim/faults`              | rules with hit counts, and the master redirect    |
//! | `DELETE /api/_sim/faults`           | remove every rule                                 |
//! | `DELETE /api/_sim/faults/{id}`      | remove one rule                                   |
//! | `POST /api/_sim/faults/{id}/release`| let calls held at a `hang` rule continue          |
//! | `POST /api/_sim/drop_connections`   | cut the FE's (and optionally BEs') connections    |
//! | `POST /api/_sim/restart_fe`         | restart the FE on the same ports, state kept      |
//! | `POST /api/_sim/restart_be/{id}`    | restart one BE likewise                           |
//! | `POST /api/_sim/master`             | answer NOT_MASTER naming another FE               |
//! | `DELETE /api/_sim/master`           | be master again                                   |
//! | `POST /api/_sim/disk_usage`         | the disk usage SHOW BACKENDS reports              |
//! | `GET /api/_sim/calls`               | calls answered so far ([`crate::call_counts`])    |
//!
//! Answers are JSON; failures are `{"error": "..."}` with status 400 (bad request), 404
//! (unknown rule or BE) or 500 (a restart could not re-bind its ports).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cluster::{shutdown_requested, SimClusterHandle, SimError};
use crate::fault::{FaultError, FaultRule, FaultRuleSpec};

/// A control API failure, answered as `{"error": message}`.
#[derive(Debug)]
struct ControlError {
    status: StatusCode,
    message: String,
}

impl ControlError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<FaultError> for ControlError {
    fn from(error: FaultError) -> Self {
        let status = match error {
            FaultError::UnknownRule(_) => StatusCode::NOT_FOUND,
            FaultError::InvalidRule(_) => StatusCode::BAD_REQUEST,
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

impl From<SimError> for ControlError {
    fn from(error: SimError) -> Self {
        let status = match error {
            SimError::UnknownBackend(_) => StatusCode::NOT_FOUND,
            SimError::DownTimeTooLong { .. } | SimError::NoBackends => StatusCode::BAD_REQUEST,
            SimError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            SimError::Bind { .. } | SimError::Setup(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            message: error.to_string(),
        }
    }
}

type ControlResult = Result<Json<serde_json::Value>, ControlError>;

/// Parses a JSON body; an empty body means every field at its default (so `curl -X POST`
/// without `-d` works for the requests whose fields are all optional).
fn parse_body<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ControlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|error| ControlError::bad_request(format!("invalid JSON body: {error}")))
}

async fn health(State(cluster): State<SimClusterHandle>) -> Json<serde_json::Value> {
    // The FE's answer: how many BEs are alive out of how many.
    Json(json!({
        "msg": "success",
        "code": 0,
        "data": {
            "online_backend_num": cluster.backends_online(),
            "total_backend_num": cluster.topology().backends.len(),
        },
        "count": 0,
    }))
}

async fn add_fault(State(cluster): State<SimClusterHandle>, body: Bytes) -> ControlResult {
    let spec: FaultRuleSpec = parse_body(&body)?;
    let rule = FaultRule::try_from(spec)?;
    let id = cluster.faults().add(rule)?;
    Ok(Json(json!({ "id": id })))
}

async fn list_faults(State(cluster): State<SimClusterHandle>) -> Json<serde_json::Value> {
    let master = cluster
        .faults()
        .not_master()
        .map(|(host, rpc_port)| json!({ "host": host, "rpc_port": rpc_port }));
    Json(json!({
        "rules": cluster.faults().list(),
        "master_redirect": master,
    }))
}

async fn clear_faults(State(cluster): State<SimClusterHandle>) -> Json<serde_json::Value> {
    Json(json!({ "removed": cluster.faults().clear() }))
}

async fn remove_fault(
    State(cluster): State<SimClusterHandle>,
    Path(id): Path<u64>,
) -> ControlResult {
    cluster.faults().remove(id)?;
    Ok(Json(json!({ "removed": 1 })))
}

async fn release_fault(
    State(cluster): State<SimClusterHandle>,
    Path(id): Path<u64>,
) -> ControlResult {
    let released = cluster.faults().release(id)?;
    Ok(Json(json!({ "released": released })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DropConnectionsRequest {
    /// Also cut the BEs' Thrift connections.
    #[serde(default)]
    backends: bool,
}

async fn drop_connections(State(cluster): State<SimClusterHandle>, body: Bytes) -> ControlResult {
    let request: DropConnectionsRequest = parse_body(&body)?;
    cluster.drop_connections(request.backends);
    Ok(Json(json!({})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RestartRequest {
    /// How long the node stays down before serving again.
    #[serde(default)]
    down_millis: u64,
}

async fn restart_fe(State(cluster): State<SimClusterHandle>, body: Bytes) -> ControlResult {
    let request: RestartRequest = parse_body(&body)?;
    cluster
        .restart_fe(Duration::from_millis(request.down_millis))
        .await?;
    Ok(Json(json!({})))
}

async fn restart_be(
    State(cluster): State<SimClusterHandle>,
    Path(backend_id): Path<i64>,
    body: Bytes,
) -> ControlResult {
    let request: RestartRequest = parse_body(&body)?;
    cluster
        .restart_be(backend_id, Duration::from_millis(request.down_millis))
        .await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MasterRequest {
    host: String,
    rpc_port: u16,
}

async fn set_master(State(cluster): State<SimClusterHandle>, body: Bytes) -> ControlResult {
    let request: MasterRequest = serde_json::from_slice(&body)
        .map_err(|error| ControlError::bad_request(format!("invalid JSON body: {error}")))?;
    if request.host.trim().is_empty() || request.rpc_port == 0 {
        return Err(ControlError::bad_request(
            "`host` must not be empty and `rpc_port` not 0",
        ));
    }
    cluster.set_master_redirect(Some((request.host, request.rpc_port)));
    Ok(Json(json!({})))
}

async fn clear_master(State(cluster): State<SimClusterHandle>) -> Json<serde_json::Value> {
    cluster.set_master_redirect(None);
    Json(json!({}))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskUsageRequest {
    /// One BE; every BE when absent.
    #[serde(default)]
    backend_id: Option<i64>,
    /// 0 to 100; `null` (or absent) goes back to the computed usage.
    #[serde(default)]
    percent: Option<f64>,
}

async fn set_disk_usage(State(cluster): State<SimClusterHandle>, body: Bytes) -> ControlResult {
    let request: DiskUsageRequest = parse_body(&body)?;
    if let Some(percent) = request.percent {
        if !(0.0..=100.0).contains(&percent) {
            return Err(ControlError::bad_request(format!(
                "`percent` must be from 0 to 100, not {percent}"
            )));
        }
    }
    let backends: Vec<i64> = match request.backend_id {
        Some(id) if cluster.topology().backends.iter().any(|be| be.id == id) => vec![id],
        Some(id) => return Err(ControlError::bad_request(format!("no backend {id}"))),
        None => cluster.topology().backends.iter().map(|be| be.id).collect(),
    };
    cluster
        .faults()
        .set_disk_used_pct(request.backend_id, request.percent);
    Ok(Json(json!({ "backends": backends })))
}

/// The FE http routes; anything else is 404.
pub fn router(cluster: SimClusterHandle) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route(
            "/api/_sim/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/api/_sim/faults/{id}", delete(remove_fault))
        .route("/api/_sim/faults/{id}/release", post(release_fault))
        .route("/api/_sim/drop_connections", post(drop_connections))
        .route("/api/_sim/restart_fe", post(restart_fe))
        .route("/api/_sim/restart_be/{id}", post(restart_be))
        .route("/api/_sim/master", post(set_master).delete(clear_master))
        .route("/api/_sim/disk_usage", post(set_disk_usage))
        .with_state(cluster)
}

/// Serves the FE http port (the control API and `extra` routes) until `shutdown` becomes
/// `true` (or its sender is dropped).
pub async fn serve(
    listener: TcpListener,
    cluster: SimClusterHandle,
    extra: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router(cluster).merge(extra))
        .with_graceful_shutdown(async move { shutdown_requested(&mut shutdown).await })
        .await
}
