//! The one place where errors become HTTP answers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use ccr_core::job::JobError;

/// Everything a route can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON the route expects (status 400 on /create_ccr, 200 elsewhere,
    /// like the reference).
    #[error("{message}")]
    BadRequest { message: String, status: StatusCode },
    /// The body exceeds the size limit (413).
    #[error("request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// A call forwarded to the job's owner (`?forward=1`) got no answer from it (502).
    #[error("cannot forward the call to the job's owner at {location}: {message}")]
    ForwardFailed { location: String, message: String },
    /// The API token is missing or wrong (401, with `WWW-Authenticate: Bearer`).
    #[error("{reason}")]
    Unauthorized { reason: &'static str },
    #[error(transparent)]
    Job(#[from] JobError),
}

/// An error together with the route-specific keys the reference puts beside `error_msg`
/// (`"lag":0` on /get_lag, `"job_detail":""` ...), and the request path for redirects.
pub struct RouteError {
    pub error: ApiError,
    pub defaults: Map<String, Value>,
    pub path: String,
}

impl IntoResponse for RouteError {
    fn into_response(self) -> Response {
        let (status, message) = match &self.error {
            ApiError::BadRequest { message, status } => (*status, message.clone()),
            ApiError::BodyTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, self.error.to_string())
            }
            ApiError::Unauthorized { .. } => {
                let mut response = envelope(
                    StatusCode::UNAUTHORIZED,
                    self.error.to_string(),
                    self.defaults,
                );
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ccr_syncer\""),
                );
                return response;
            }
            ApiError::ForwardFailed { .. } => {
                tracing::warn!(error = %self.error, "forwarding failed");
                (StatusCode::BAD_GATEWAY, self.error.to_string())
            }
            // The job runs on another syncer: send the client there, as the reference does
            // (`curl -L --post303` re-posts the body).
            ApiError::Job(JobError::OwnedElsewhere { owner, .. }) => {
                let location = format!("http://{owner}{}", self.path);
                let mut response = StatusCode::SEE_OTHER.into_response();
                if let Ok(value) = HeaderValue::from_str(&location) {
                    response.headers_mut().insert(header::LOCATION, value);
                }
                return response;
            }
            ApiError::Job(job_error) => {
                log_job_error(job_error);
                (StatusCode::OK, job_error.to_string())
            }
        };
        envelope(status, message, self.defaults)
    }
}

/// `{"success":false,"error_msg":...}` with the route's defaults beside it.
fn envelope(status: StatusCode, message: String, defaults: Map<String, Value>) -> Response {
    let mut body = Map::new();
    body.insert("success".into(), Value::Bool(false));
    body.insert("error_msg".into(), Value::String(message));
    body.extend(defaults);
    (status, axum::Json(Value::Object(body))).into_response()
}

/// Internal failures are logged with their detail; operator mistakes are not noise.
fn log_job_error(error: &JobError) {
    match error {
        JobError::Store(_) | JobError::Corrupt { .. } => tracing::error!(%error, "request failed"),
        JobError::Doris(_) | JobError::CheckFailed(_) => tracing::warn!(%error, "request failed"),
        _ => tracing::debug!(%error, "request refused"),
    }
}
