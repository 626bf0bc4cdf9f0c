//! FE and BE Thrift clients for one Doris cluster.
//!
//! * [`FeClient`]: the FrontendService calls, always sent to the master FE (follows
//!   NOT_MASTER redirects, fails over to other known FEs on connection errors).
//! * [`BeClient`] / [`BackendPool`]: the BackendService calls, one cached client per BE.
//!
//! Both speak what Doris servers speak by default: unframed binary protocol with the strict
//! message header, not multiplexed, over persistent pooled connections. thrift-rs is
//! blocking, so every call runs on tokio's blocking pool and the async API never blocks the
//! runtime. Results are returned as the generated result structs; interpreting their
//! `TStatus` is the caller's business. Credentials travel inside the request structs and are
//! never logged here (only method names and addresses are).

mod backend;
mod connection;
mod error;
mod frontend;

#[cfg(test)]
mod test_support;

use std::fmt;
use std::time::Duration;

pub use backend::{BackendPool, BeClient, DEFAULT_MAX_INGEST_IN_FLIGHT_PER_BACKEND};
pub use error::RpcError;
pub use frontend::{FeClient, MAX_MASTER_REDIRECTS};

use ccr_wire::types::TNetworkAddress;

/// Connect timeout, the reference syncer's `--connect_timeout` default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-call timeout, the reference syncer's `--rpc_timeout` default.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// commitTxn timeout, the reference syncer's `--commit_txn_timeout` default: a bit longer
/// than the call timeout because the FE may wait for publish before answering.
pub const DEFAULT_COMMIT_TXN_TIMEOUT: Duration = Duration::from_secs(33);

/// Timeouts for Thrift calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcTimeouts {
    /// Establishing a TCP connection.
    pub connect: Duration,
    /// One call (request written and reply read), every method but commitTxn.
    pub call: Duration,
    /// One commitTxn call.
    pub commit_txn: Duration,
}

impl Default for RpcTimeouts {
    fn default() -> Self {
        Self {
            connect: DEFAULT_CONNECT_TIMEOUT,
            call: DEFAULT_CALL_TIMEOUT,
            commit_txn: DEFAULT_COMMIT_TXN_TIMEOUT,
        }
    }
}

/// A Thrift endpoint: an FE's rpc_port or a BE's be_port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RpcAddress {
    pub host: String,
    pub port: u16,
}

impl RpcAddress {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The address in a reply's `master_address`, if its port is a valid TCP port.
    pub fn from_network_address(address: &TNetworkAddress) -> Option<Self> {
        let port = u16::try_from(address.port).ok().filter(|port| *port != 0)?;
        if address.hostname.is_empty() {
            return None;
        }
        Some(Self::new(address.hostname.clone(), port))
    }
}

impl fmt::Display for RpcAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_display_and_conversion() {
        assert_eq!(RpcAddress::new("fe1", 9020).to_string(), "fe1:9020");
        assert_eq!(RpcAddress::new("::1", 9020).to_string(), "[::1]:9020");
        let valid = TNetworkAddress::new("10.0.0.2".to_owned(), 9020);
        assert_eq!(
            RpcAddress::from_network_address(&valid),
            Some(RpcAddress::new("10.0.0.2", 9020))
        );
        for (host, port) in [("h", 0), ("h", -1), ("h", 70000), ("", 9020)] {
            let invalid = TNetworkAddress::new(host.to_owned(), port);
            assert_eq!(RpcAddress::from_network_address(&invalid), None);
        }
    }

    #[test]
    fn default_timeouts_match_the_reference_flags() {
        let timeouts = RpcTimeouts::default();
        assert_eq!(timeouts.connect, Duration::from_secs(10));
        assert_eq!(timeouts.call, Duration::from_secs(30));
        assert_eq!(timeouts.commit_txn, Duration::from_secs(33));
    }
}
