//! The HTTP API: the reference syncer's routes with the same paths and JSON.
//!
//! Like the reference, every route accepts any method and answers application errors with
//! status 200 and `{"success":false,"error_msg":...}`. Unlike it, request bodies are size
//! limited, every request is traced, a panicking handler answers 500 instead of taking the
//! service down, and no route waits for a running sync step.

mod auth;
mod contract;
mod error;
mod routes;
mod view;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, MethodRouter};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

pub use auth::ApiAuth;
pub use contract::openapi;
pub use error::ApiError;

use ccr_core::job::features::FeatureFlags;
use ccr_core::job::JobManager;
use ccr_core::metrics::Metrics;

/// Largest accepted request body. Job specs are a few hundred bytes; a megabyte leaves
/// room for long lists while keeping a hostile client from filling memory.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;
/// Longest time one request may take (a /create_ccr runs checks against two clusters).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// What the routes share.
pub struct AppState {
    pub jobs: Arc<JobManager>,
    pub metrics: Arc<Metrics>,
    pub features: FeatureFlags,
    pub version: String,
    /// The API token, when one is configured.
    pub auth: Option<ApiAuth>,
}

/// Every route: its path and handler. The OpenAPI document must describe each (tested).
fn route_table() -> Vec<(&'static str, MethodRouter<Arc<AppState>>)> {
    vec![
        ("/version", any(routes::version)),
        ("/create_ccr", any(routes::create_ccr)),
        ("/validate", any(routes::validate)),
        ("/verify", any(routes::verify)),
        ("/get_lag", any(routes::get_lag)),
        ("/pause", any(routes::pause)),
        ("/resume", any(routes::resume)),
        ("/delete", any(routes::delete)),
        ("/job_status", any(routes::job_status)),
        ("/desync", any(routes::desync)),
        ("/update_job", any(routes::update_job)),
        ("/update_host_mapping", any(routes::update_host_mapping)),
        ("/list_jobs", any(routes::list_jobs)),
        ("/job_detail", any(routes::job_detail)),
        ("/job_progress", any(routes::job_progress)),
        ("/force_fullsync", any(routes::force_fullsync)),
        ("/job_skip_binlog", any(routes::job_skip_binlog)),
        ("/features", any(routes::features)),
        ("/metrics", any(routes::metrics)),
        ("/syncers", any(routes::syncers)),
        ("/view", any(routes::view)),
        ("/openapi.json", any(routes::openapi_json)),
    ]
}

/// Builds the router with all routes and middleware.
pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new();
    for (path, handler) in route_table() {
        router = router.route(path, handler);
    }
    let router = router
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::forward_to_owner,
        ))
        // Outside forwarding: only an authorised call is carried to a peer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state,
            routes::count_request,
        ));
    with_service_layers(router)
}

/// The layers every route runs inside: body limit, timeout, tracing, panic containment.
fn with_service_layers(router: Router) -> Router {
    router
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response))
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked; the service keeps running");
    let body = serde_json::json!({"success": false, "error_msg": "internal error"});
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[test]
    fn the_openapi_document_describes_every_route_the_router_serves() {
        let document = openapi();
        let documented: Vec<&String> = document.paths.paths.keys().collect();
        for (path, _) in route_table() {
            assert!(
                document.paths.paths.contains_key(path),
                "{path} is served but not in the OpenAPI document ({documented:?})"
            );
        }
        assert_eq!(
            documented.len(),
            route_table().len(),
            "the document describes a route the router does not serve: {documented:?}"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_and_the_router_keeps_serving() {
        async fn explode() -> &'static str {
            panic!("boom")
        }
        async fn fine() -> &'static str {
            "ok"
        }
        let router = with_service_layers(
            Router::new()
                .route("/explode", any(explode))
                .route("/fine", any(fine)),
        );
        let response = router
            .clone()
            .oneshot(Request::post("/explode").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"success": false, "error_msg": "internal error"})
        );
        let response = router
            .oneshot(Request::post("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}
