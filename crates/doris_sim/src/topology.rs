//! Addresses of one simulated cluster, fixed once its listeners are bound.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct FrontendAddr {
    /// The host the FE reports for itself: 127.0.0.1, where it listens, unless the
    /// cluster advertises private names (`--advertise-domain`).
    pub host: String,
    pub query_port: u16,
    pub rpc_port: u16,
    pub http_port: u16,
    /// Not served (the simulator has no BDBJE); reported in SHOW FRONTENDS like Doris does.
    pub edit_log_port: u16,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendAddr {
    pub id: i64,
    /// The host the BE is reported under (as for [`FrontendAddr::host`]).
    pub host: String,
    pub be_port: u16,
    pub http_port: u16,
    /// Not served; reported in SHOW BACKENDS and getBackendMeta like Doris does.
    pub brpc_port: u16,
    /// Not served; reported in SHOW BACKENDS.
    pub heartbeat_port: u16,
}

/// What `doris_sim` prints as its one JSON line once it accepts connections.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterTopology {
    pub fe: FrontendAddr,
    pub backends: Vec<BackendAddr>,
}

#[cfg(test)]
impl ClusterTopology {
    /// One FE and one BE at made-up ports, for unit tests that never dial them.
    pub(crate) fn for_unit_tests() -> Self {
        ClusterTopology {
            fe: FrontendAddr {
                host: "127.0.0.1".into(),
                query_port: 1,
                rpc_port: 2,
                http_port: 3,
                edit_log_port: 4,
            },
            backends: vec![BackendAddr {
                id: 10001,
                host: "127.0.0.1".into(),
                be_port: 5,
                http_port: 6,
                brpc_port: 7,
                heartbeat_port: 8,
            }],
        }
    }
}
