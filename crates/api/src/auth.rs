//! The optional API token: with one configured, every route but `/version` (and `/metrics`
//! unless it is asked to) needs `Authorization: Bearer <token>`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ccr_wire::secret::Secret;
use serde_json::Map;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{ApiError, RouteError};
use super::AppState;

/// Routes that answer without the token: the version is what probes and
/// `start_syncer.sh` ask, and carries nothing private.
const OPEN_ROUTES: &[&str] = &["/version"];
const METRICS_ROUTE: &str = "/metrics";

/// The token and which routes need it. `Debug` never shows the token.
pub struct ApiAuth {
    token: Secret,
    /// SHA-256 of the token: presented tokens are compared as digests of one length, in
    /// constant time, so neither the content nor the length leaks through timing.
    digest: [u8; 32],
    metrics_require_token: bool,
}

impl std::fmt::Debug for ApiAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiAuth")
            .field("token", &self.token)
            .field("metrics_require_token", &self.metrics_require_token)
            .finish()
    }
}

impl ApiAuth {
    pub fn new(token: Secret, metrics_require_token: bool) -> Self {
        let digest = Sha256::digest(token.expose().as_bytes()).into();
        ApiAuth {
            token,
            digest,
            metrics_require_token,
        }
    }

    /// The token, for calls this syncer forwards to its peers (a group shares one token).
    pub(crate) fn token(&self) -> &Secret {
        &self.token
    }

    fn accepts(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        digest.ct_eq(&self.digest).into()
    }

    fn is_open(&self, path: &str) -> bool {
        OPEN_ROUTES.contains(&path) || (path == METRICS_ROUTE && !self.metrics_require_token)
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(request: &Request) -> Option<&[u8]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(value.iter().position(|b| *b == b' ')?)?;
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| token.trim_ascii())
}

/// Middleware: refuses a request without the right token with 401 and the usual envelope.
pub(crate) async fn require_token(
    State(app): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(auth) = &app.auth else {
        return next.run(request).await;
    };
    if auth.is_open(request.uri().path()) {
        return next.run(request).await;
    }
    let refusal = match bearer_token(&request) {
        Some(token) if auth.accepts(token) => return next.run(request).await,
        Some(_) => ApiError::Unauthorized {
            reason: "wrong API token",
        },
        None => ApiError::Unauthorized {
            reason: "missing API token: send the header Authorization: Bearer <token>",
        },
    };
    tracing::debug!(path = request.uri().path(), error = %refusal, "request refused");
    RouteError {
        error: refusal,
        defaults: Map::new(),
        path: String::new(),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_is_accepted() {
        let auth = ApiAuth::new(Secret::new("0123456789abcdef"), false);
        assert!(auth.accepts(b"0123456789abcdef"));
        assert!(!auth.accepts(b"0123456789abcde"));
        assert!(!auth.accepts(b"0123456789abcdef0"));
        assert!(!auth.accepts(b""));
        assert!(!format!("{auth:?}").contains("0123"));
    }

    #[test]
    fn version_is_open_and_metrics_only_when_not_required() {
        let open_metrics = ApiAuth::new(Secret::new("t"), false);
        assert!(open_metrics.is_open("/version") && open_metrics.is_open("/metrics"));
        assert!(!open_metrics.is_open("/job_status") && !open_metrics.is_open("/nope"));
        let closed_metrics = ApiAuth::new(Secret::new("t"), true);
        assert!(closed_metrics.is_open("/version") && !closed_metrics.is_open("/metrics"));
    }
}
