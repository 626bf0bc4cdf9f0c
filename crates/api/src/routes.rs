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

#[derive(Deserialize, Default)]
struct ListJobsRequest {
    #[serde(default)]
    detail: bool,
}

/// `/list_jobs`: job names, as the reference; `{"detail": true}` adds each job's owner and
/// ownership epoch. An empty or absent body is the reference's plain form.
pub(super) async fn list_jobs(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        let empty = body
            .as_ref()
            .is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace));
        let request: ListJobsRequest = if empty {
            ListJobsRequest::default()
        } else {
            decode(body, StatusCode::OK)?
        };
        if request.detail {
            let jobs = app.jobs.list_owned().await?;
            Ok(fields(json!({ "jobs": jobs })))
        } else {
            let jobs = app.jobs.list().await?;
            Ok(fields(json!({ "jobs": jobs })))
        }
    })
    .await
}

/// `/syncers`: the syncers sharing the metadata store, with their heartbeats and jobs.
pub(super) async fn syncers(State(app): AppStateRef, uri: OriginalUri) -> Response {
    respond(&uri, json!({"syncers": []}), async {
        let syncers = app.jobs.syncers().await?;
        Ok(fields(json!({ "syncers": syncers })))
    })
    .await
}

/// The header that asks for forwarding, and the one that counts hops.
const FORWARD_HEADER: &str = "x-ccr-forward";
const FORWARD_HOPS_HEADER: &str = "x-ccr-forward-hops";
/// Owners a call may be forwarded through (ownership can move while it travels).
const MAX_FORWARD_HOPS: u32 = 3;

/// `?forward=1` or `X-CCR-Forward: 1`: a job call that another syncer owns is sent on to
/// that owner by this syncer, and the owner's answer comes back as it is, instead of the
/// reference's `303 See Other` (which stays the default).
pub(super) async fn forward_to_owner(
    State(app): AppStateRef,
    request: Request,
    next: Next,
) -> Response {
    let asked = request.uri().query().is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair == "forward=1" || pair == "forward=true")
    }) || request
        .headers()
        .get(FORWARD_HEADER)
        .is_some_and(|value| value == "1" || value == "true");
    if !asked {
        return next.run(request).await;
    }
    let hops: u32 = request
        .headers()
        .get(FORWARD_HOPS_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BODY_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return RouteError {
                error: ApiError::BodyTooLarge {
                    limit: MAX_REQUEST_BODY_BYTES,
                },
                defaults: Map::new(),
                path: String::new(),
            }
            .into_response()
        }
    };
    let answer = next
        .run(Request::from_parts(
            parts,
            axum::body::Body::from(body.clone()),
        ))
        .await;
    if answer.status() != StatusCode::SEE_OTHER || hops >= MAX_FORWARD_HOPS {
        return answer;
    }
    let Some(location) = answer
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return answer;
    };
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(super::REQUEST_TIMEOUT)
            .build()
            .expect("HTTP client")
    });
    let mut forwarded = client.post(&location);
    if let Some(auth) = &app.auth {
        // The syncers of a group share the token.
        forwarded = forwarded.bearer_auth(auth.token().expose());
    }
    let forwarded = forwarded
        .header(header::CONTENT_TYPE, "application/json")
        .header(FORWARD_HEADER, "1")
        .header(FORWARD_HOPS_HEADER, (hops + 1).to_string())
        .body(body)
        .send()
        .await;
    let failed = |message: String| {
        RouteError {
            error: ApiError::ForwardFailed {
                location: location.clone(),
                message,
            },
            defaults: Map::new(),
            path: String::new(),
        }
        .into_response()
    };
    match forwarded {
        Ok(owner_answer) => {
            let status = owner_answer.status().as_u16();
            let location = owner_answer
                .headers()
                .get(reqwest::header::LOCATION)
                .cloned();
            match owner_answer.bytes().await {
                Ok(bytes) => {
                    let mut response = (
                        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                        [(header::CONTENT_TYPE, "application/json")],
                        bytes,
                    )
                        .into_response();
                    if let Some(location) = location
                        .and_then(|v| axum::http::HeaderValue::from_bytes(v.as_bytes()).ok())
                    {
                        response.headers_mut().insert(header::LOCATION, location);
                    }
                    response
                }
                Err(error) => failed(error.to_string()),
            }
        }
        Err(error) => failed(error.to_string()),
    }
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
