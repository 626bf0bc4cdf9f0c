//! Route handlers: parse the body, call the job manager, shape the answer.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use super::contract::{
    Ack, DetailAnswer, ErrorAnswer, FeatureFlag, FeaturesAnswer, LagAnswer, ListJobsAnswer,
    ListJobsRequest, ListedJob, NameRequest, ProgressAnswer, SkipBinlogRequest, StatusAnswer,
    SyncersAnswer, UpdateHostMappingRequest, UpdateJobRequest, ValidateAnswer, VerifyAnswer,
    VerifyRequest, VersionAnswer, ViewAnswer, ViewFormatName, ViewTypeName,
};
use super::error::{ApiError, RouteError};
use super::{AppState, MAX_REQUEST_BODY_BYTES};
use ccr_core::job::verify::VerifyOptions;
use ccr_core::job::{BinlogSkip, CreateJobRequest};

// What every job route may answer besides its own 200 (see the document's description).
// utoipa takes the responses literally, so each route lists them.

type AppStateRef = State<Arc<AppState>>;

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

/// Handlers for `{"name": ...}` routes, with their OpenAPI annotation: success or failure
/// only, or the manager's answer under one key (`$field`, with `$default` beside the error
/// message on failure).
macro_rules! name_route {
    ($handler:ident => $method:ident, $path:literal, $summary:literal, $answer:ident, $field:literal, $default:tt) => {
        #[utoipa::path(post, tag = "job", path = $path, summary = $summary,
            request_body(content = NameRequest, content_type = "application/json"),
            responses((status = 200, description = "Done, or why not (success false)", body = $answer)))]
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
    ($handler:ident => $method:ident, $path:literal, $summary:literal) => {
        #[utoipa::path(post, tag = "job", path = $path, summary = $summary,
            request_body(content = NameRequest, content_type = "application/json"),
            responses((status = 200, description = "Done, or why not (success false)", body = Ack)))]
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

name_route!(pause => pause, "/pause", "Pauses a job");
name_route!(resume => resume, "/resume", "Resumes a paused job");
name_route!(delete => delete, "/delete", "Stops a job and removes its metadata (target data stays)");
name_route!(desync => desync, "/desync", "Deletes the job and makes the target tables writable");
name_route!(
    job_status => status, "/job_status", "The job's state, phase, cursor, lag and last error",
    StatusAnswer, "status", {}
);
name_route!(
    job_detail => detail, "/job_detail", "The job record, passwords redacted",
    DetailAnswer, "job_detail", {"job_detail": ""}
);
/// `/job_progress`: the stored progress document (in a string, as the reference answers)
/// and beside it a line for people.
#[utoipa::path(post, tag = "job", path = "/job_progress", summary = "The job's persisted progress and a summary",
        request_body(content = NameRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Done, or why not (success false)", body = ProgressAnswer),
        ))]
pub(super) async fn job_progress(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({"job_progress": ""}), async {
        let request: NameRequest = decode(body, StatusCode::OK)?;
        let progress = app.jobs.progress(&request.name).await?;
        Ok(fields(json!({
            "job_progress": progress.job_progress,
            "summary": progress.summary,
        })))
    })
    .await
}

#[utoipa::path(post, tag = "job", path = "/force_fullsync", summary = "Starts a new full sync of the job",
        request_body(content = NameRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Done, or why not (success false)", body = Ack),
        ))]
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

/// `/job_skip_binlog`: `skip_by` `silence` (the binlog at `skip_commit_seq`), `fullsync`,
/// or `partialsync` of `table` (database jobs).
#[utoipa::path(post, tag = "job", path = "/job_skip_binlog", summary = "Gets a job past a binlog it cannot replay",
        request_body(content = SkipBinlogRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Done, or why not (success false)", body = Ack),
        ))]
pub(super) async fn job_skip_binlog(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        let request: SkipBinlogRequest = decode(body, StatusCode::OK)?;
        let bad = |message: String| ApiError::BadRequest {
            message,
            status: StatusCode::OK,
        };
        if request.name.is_empty() {
            return Err(bad("name is empty".into()));
        }
        let skip = match request.skip_by.to_ascii_lowercase().as_str() {
            "silence" => BinlogSkip::Silence {
                commit_seq: request.skip_commit_seq,
            },
            "fullsync" => BinlogSkip::FullSync,
            "partialsync" => BinlogSkip::PartialSync {
                table: request.table,
            },
            other => {
                return Err(bad(format!(
                    "unknown skip_by {other:?}: use silence, fullsync or partialsync"
                )))
            }
        };
        app.jobs.skip_binlog(&request.name, skip).await?;
        Ok(Map::new())
    })
    .await
}

#[utoipa::path(get, tag = "service", path = "/version", summary = "The syncer's version",
        responses((status = 200, description = "The version", body = VersionAnswer)))]
pub(super) async fn version(State(app): AppStateRef) -> Response {
    axum::Json(VersionAnswer {
        version: app.version.clone(),
    })
    .into_response()
}

#[utoipa::path(post, tag = "jobs", path = "/create_ccr", summary = "Creates a job: checks both clusters, then starts its full sync",
        request_body(content = CreateJobRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Created, or why not (success false)", body = Ack),
            (status = 400, description = "The body is not a job spec", body = Ack),
        ))]
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

/// `/validate`: the `/create_ccr` body, checked against both clusters without creating
/// anything; `success` says the checks ran, `ok` whether all passed.
#[utoipa::path(post, tag = "jobs", path = "/validate", summary = "Checks a job spec against both clusters without creating anything",
        request_body(content = CreateJobRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "The checks (success says they ran, ok whether all passed), or why they could not run", body = ValidateAnswer),
            (status = 400, description = "The body is not a job spec", body = Ack),
        ))]
pub(super) async fn validate(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        // The same 400 as /create_ccr for a body that does not decode.
        let request: CreateJobRequest = decode(body, StatusCode::BAD_REQUEST)?;
        let report = app.jobs.validate(request).await?;
        Ok(fields(json!({ "ok": report.ok, "checks": report.checks })))
    })
    .await
}

/// `/verify`: compares the job's target with its source, table by table (row counts,
/// checksums, columns, partitions, comments); `success` says the comparison ran, each
/// table's `result` what it found.
#[utoipa::path(post, tag = "job", path = "/verify", summary = "Proves the target equals the source: row counts, checksums, columns, partitions and comments per table",
        request_body(content = VerifyRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Each table's outcome (ok, mismatch, unstable, error) and a summary, or why the comparison could not run", body = VerifyAnswer),
        ))]
pub(super) async fn verify(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        let request: VerifyRequest = decode(body, StatusCode::OK)?;
        let mut options = VerifyOptions {
            tables: request.tables,
            partitions: request.partitions,
            ..VerifyOptions::default()
        };
        if let Some(secs) = request.catch_up_timeout_secs {
            options.catch_up_timeout = std::time::Duration::from_secs(secs);
        }
        let report = app.jobs.verify(&request.name, options).await?;
        Ok(fields(
            json!({ "tables": report.tables, "summary": report.summary }),
        ))
    })
    .await
}

#[utoipa::path(post, tag = "job", path = "/get_lag", summary = "How far the target is behind the source",
        request_body(content = NameRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Done, or why not (success false)", body = LagAnswer),
        ))]
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

#[utoipa::path(post, tag = "job", path = "/update_job", summary = "Sets skip_error",
        request_body(content = UpdateJobRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Done, or why not (success false)", body = Ack),
        ))]
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

/// `/update_host_mapping`: adds or changes host mapping entries of a job (an empty value
/// deletes one), as the reference.
#[utoipa::path(post, tag = "job", path = "/update_host_mapping", summary = "Adds, changes or deletes (empty value) host mapping entries of a job",
        request_body(content = UpdateHostMappingRequest, content_type = "application/json"),
        responses(
            (status = 200, description = "Done, or why not (success false)", body = Ack),
        ))]
pub(super) async fn update_host_mapping(
    State(app): AppStateRef,
    uri: OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    respond(&uri, json!({}), async {
        let request: UpdateHostMappingRequest = decode(body, StatusCode::OK)?;
        if request.name.is_empty() {
            return Err(ApiError::BadRequest {
                message: "name is empty".into(),
                status: StatusCode::OK,
            });
        }
        app.jobs
            .update_host_mapping(
                &request.name,
                &request.src_host_mapping,
                &request.dest_host_mapping,
            )
            .await?;
        Ok(Map::new())
    })
    .await
}

/// `/list_jobs`: job names, as the reference; `{"detail": true}` adds each job's owner and
/// ownership epoch. An empty or absent body is the reference's plain form.
#[utoipa::path(post, tag = "jobs", path = "/list_jobs", summary = "Every job of the metadata store",
        request_body(content = Option<ListJobsRequest>, content_type = "application/json"),
        responses((status = 200, description = "The jobs, or why not", body = ListJobsAnswer)))]
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
        let jobs: Vec<ListedJob> = if request.detail {
            let owned = app.jobs.list_owned().await?;
            owned.into_iter().map(ListedJob::Owned).collect()
        } else {
            let names = app.jobs.list().await?;
            names.into_iter().map(ListedJob::Name).collect()
        };
        Ok(fields(json!({ "jobs": jobs })))
    })
    .await
}

/// `/syncers`: the syncers sharing the metadata store, with their heartbeats and jobs.
#[utoipa::path(get, tag = "service", path = "/syncers", summary = "The syncers sharing the metadata store",
        responses((status = 200, description = "Their heartbeats and jobs", body = SyncersAnswer)))]
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

/// `/view`: the jobs page (see [`super::view`]).
#[utoipa::path(get, tag = "service", path = "/view", summary = "Every job on one page",
        params(
            ("format" = Option<ViewFormatName>, Query, description = "html (the default), text, tsv or json"),
            ("type" = Option<ViewTypeName>, Query, description = "the reference syncer's names: html, table (text), raw (tsv)"),
        ),
        responses(
            (status = 200, description = "The page", content(
                (String = "text/html"),
                (String = "text/plain"),
                (ViewAnswer = "application/json"),
            )),
            (status = 400, description = "Unknown format", body = ErrorAnswer),
        ))]
pub(super) async fn view(State(app): AppStateRef, uri: OriginalUri) -> Response {
    let shown = async {
        let format = super::view::ViewFormat::from_query(uri.0.query()).map_err(|message| {
            ApiError::BadRequest {
                message,
                status: StatusCode::BAD_REQUEST,
            }
        })?;
        let jobs = app.jobs.overview().await?;
        Ok::<_, ApiError>(super::view::render(
            format,
            &jobs,
            &app.jobs.settings().identity,
        ))
    };
    match shown.await {
        Ok(page) => page,
        Err(error) => RouteError {
            error,
            defaults: Map::new(),
            path: String::new(),
        }
        .into_response(),
    }
}

#[utoipa::path(get, tag = "service", path = "/features", summary = "The feature flags and their values",
        responses((status = 200, description = "The flags", body = FeaturesAnswer)))]
pub(super) async fn features(State(app): AppStateRef) -> Response {
    let flags = app
        .features
        .list()
        .into_iter()
        .map(|(name, value, default)| FeatureFlag {
            feature: name.to_owned(),
            value,
            default: default.to_string(),
        })
        .collect();
    axum::Json(FeaturesAnswer {
        success: true,
        flags,
    })
    .into_response()
}

#[utoipa::path(get, tag = "service", path = "/metrics", summary = "Prometheus metrics (text exposition format 0.0.4)",
        responses((status = 200, description = "The metrics", body = String, content_type = "text/plain")))]
pub(super) async fn metrics(State(app): AppStateRef) -> Response {
    (
        [(header::CONTENT_TYPE, ccr_core::metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
        .into_response()
}

#[utoipa::path(get, tag = "service", path = "/openapi.json", summary = "This document",
        responses((status = 200, description = "The OpenAPI 3 document", body = Object)))]
pub(super) async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let document = DOCUMENT.get_or_init(|| {
        super::contract::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.as_str(),
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
    app.metrics.http_requests.inc();
    next.run(request).await
}
