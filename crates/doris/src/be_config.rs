//! Reading a BE's configuration over its HTTP port (`/api/show_config`).

use std::time::Duration;

use super::error::DorisError;
use super::host_map::{never_resolves, HostMapping};

/// Asks the BE at `host:http_port` (dialled through `mapping`) whether
/// `enable_feature_binlog` is on.
///
/// The BE answers a JSON array of rows `[name, type, value, mutable]`; with `conf_item` it
/// holds exactly one row, whose third element is the value.
pub async fn be_binlog_enabled(
    http: &reqwest::Client,
    host: &str,
    http_port: u16,
    mapping: &HostMapping,
    timeout: Duration,
) -> Result<bool, DorisError> {
    let addr = format!("{host}:{http_port}");
    let dialled = mapping.resolve(host);
    let fail = |message: String| DorisError::BeHttp {
        addr: addr.clone(),
        message: format!("{message} ({})", mapping.dial_note(host)),
    };
    if never_resolves(&dialled) {
        return Err(fail(format!("{dialled} does not resolve")));
    }
    let url =
        format!("http://{dialled}:{http_port}/api/show_config?conf_item=enable_feature_binlog");
    let response = http
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fail(format!("HTTP status {}", response.status())));
    }
    let rows: Vec<Vec<serde_json::Value>> = response
        .json()
        .await
        .map_err(|e| fail(format!("bad body: {e}")))?;
    Ok(binlog_value_is_on(&rows))
}

fn binlog_value_is_on(rows: &[Vec<serde_json::Value>]) -> bool {
    match rows {
        [row] => matches!(row.get(2).and_then(|v| v.as_str()), Some("true" | "1")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn value_is_the_third_element_of_the_only_row() {
        let on = vec![vec![
            json!("enable_feature_binlog"),
            json!("bool"),
            json!("true"),
            json!("false"),
        ]];
        assert!(binlog_value_is_on(&on));
        let off = vec![vec![
            json!("enable_feature_binlog"),
            json!("bool"),
            json!("false"),
            json!("false"),
        ]];
        assert!(!binlog_value_is_on(&off));
        assert!(!binlog_value_is_on(&[]));
    }
}
