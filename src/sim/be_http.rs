//! A simulated BE's HTTP (webserver) port: `/api/show_config` and `/api/health` in the shapes
//! the Doris BE produces. Rowset downloads for `ingest_binlog` are added here later.

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::sim::topology::BackendAddr;

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

/// The BE HTTP routes; anything else is 404.
pub fn router(config: BackendConfig) -> Router {
    Router::new()
        .route("/api/show_config", get(show_config))
        .route("/api/health", get(health))
        .with_state(config)
}

/// Serves the BE HTTP port until `shutdown` becomes `true` (or its sender is dropped).
pub async fn serve(
    listener: TcpListener,
    config: BackendConfig,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router(config))
        .with_graceful_shutdown(async move {
            crate::sim::cluster::shutdown_requested(&mut shutdown).await
        })
        .await
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
}
