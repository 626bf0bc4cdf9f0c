//! Route handlers: parse the body, call the job manager, shape the answer.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, RouteError};
use super::{AppState, MAX_REQUEST_BODY_BYTES};
use ccr_core::job::CreateJobRequest;

type AppStateRef = State<Arc<AppState>>;

#[derive(Deserialize)]
struct NameRequest {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct UpdateJobRequest {
    #[serde(default)]
    name: String,
    #[serde(default)]
    skip_error: bool,
}

/// Decodes a JSON body, turning decoder and size errors into the API's error.
fn decode<T: DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    bad_status: StatusCode,
) -> Result<T, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge {
                limit: MAX_REQUEST_BODY_BYTES,
            }
        } else {
            ApiError::BadRequest {
                message: rejection.body_text(),
                status: bad_status,
            }
        }
    })?;
    serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest {
        message: e.to_string(),
        status: bad_status,
    })
}

/// Runs a route body and wraps its fields in the `{"success":true,...}` envelope; on error
/// the route's `defaults` stand beside `error_msg`.
async fn respond<F>(uri: &OriginalUri, defaults: Value, work: F) -> Response
where
    F: Future<Output = Result<Map<String, Value>, ApiError>>,
{
    match work.await {
        Ok(fields) => {
            let mut body = Map::new();
            body.insert("success".into(), Value::Bool(true));
            body.extend(fields);
            axum::Json(Value::Object(body)).into_response()
        }
        Err(error) => RouteError {
            error,
            defaults: match defaults {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            path: uri
                .0
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        }
        .into_response(),
    }
}

fn fields(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Handlers for `{"name": ...}` routes: success or failure only, or the manager's answer
/// under one key (`$field`, with `$default` beside the error message on failure).
macro_rules! name_route {
    ($handler:ident, $method:ident, $field:literal, $default:tt) => {
        pub(super) async fn $handler(
            State(app): AppStateRef,
            uri: OriginalUri,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            respond(&uri, json!($default), async {
                let request: NameRequest = decode(body, StatusCode::OK)?;
                let answer = app.jobs.$method(&request.name).await?;
                Ok(fields(json!({ $field: answer })))
            })
            .await
        }
    };
    ($handler:ident, $method:ident) => {
        pub(super) async fn $handler(
            State(app): AppStateRef,
            uri: OriginalUri,
            body: Result<Bytes, BytesRejection>,
        ) -> Response {
            respond(&uri, json!({}), async {
                let request: NameRequest = decode(body, StatusCode::OK)?;
                app.jobs.$method(&request.name).await?;
                Ok(Map::new())
            })
            .await
        }
    };
}

name_route!(pause, pause);
name_route!(resume, resume);
name_route!(delete, delete);
name_route!(desync, desync);
name_route!(job_status, status, "status", {});
name_route!(job_detail, detail, "job_detail", {"job_detail": ""});
name_route!(job_progress, progress, "job_progress", {"job_progress": ""});

pub(super) async fn force_fullsync(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        let request: NameRequest = decode(body, StatusCode::OK)?;
        if request.name.is_empty() {
            // The reference words this one differently from the other routes.
            return Err(ApiError::BadRequest {
                message: "job name is empty".into(),
                status: StatusCode::OK,
            });
        }
        app.jobs.force_fullsync(&request.name).await?;
        Ok(Map::new())
    })
    .await
}

pub(super) async fn version(State(app): AppStateRef) -> Response {
    axum::Json(json!({ "version": app.version })).into_response()
}

pub(super) async fn create_ccr(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        // A body that does not decode is a 400 here, as in the reference.
        let request: CreateJobRequest = decode(body, StatusCode::BAD_REQUEST)?;
        app.jobs.create(request).await?;
        Ok(Map::new())
    })
    .await
}

pub(super) async fn get_lag(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({"lag": 0}), async {
        let request: NameRequest = decode(body, StatusCode::OK)?;
        let lag = app.jobs.lag(&request.name).await?;
        Ok(fields(serde_json::to_value(lag).unwrap_or_default()))
    })
    .await
}

pub(super) async fn update_job(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        let request: UpdateJobRequest = decode(body, StatusCode::OK)?;
        app.jobs
            .set_skip_error(&request.name, request.skip_error)
            .await?;
        Ok(Map::new())
    })
    .await
}

pub(super) async fn list_jobs(State(app): AppStateRef, uri: OriginalUri) -> Response {
    respond(&uri, json!({}), async {
        let jobs = app.jobs.list().await?;
        Ok(fields(json!({ "jobs": jobs })))
    })
    .await
}

pub(super) async fn features(State(app): AppStateRef) -> Response {
    let flags: Vec<Value> = app
        .features
        .list()
        .into_iter()
        .map(|(name, value, default)| json!({"feature": name, "value": value, "default": default.to_string()}))
        .collect();
    axum::Json(json!({"success": true, "flags": flags})).into_response()
}

pub(super) async fn metrics(State(app): AppStateRef) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

pub(super) async fn not_found(uri: OriginalUri) -> Response {
    let body = json!({"success": false, "error_msg": format!("no such route: {}", uri.0.path())});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// Counts every request for /metrics.
pub(super) async fn count_request(
    State(app): AppStateRef,
    request: Request,
    next: Next,
) -> Response {
    app.metrics.http_requests.fetch_add(1, Ordering::Relaxed);
    next.run(request).await
}
