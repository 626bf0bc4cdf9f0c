//! Errors of FE/BE Thrift calls, classified the way the job layer needs them.

use std::time::Duration;

use thrift::{ApplicationErrorKind, ProtocolErrorKind, TransportErrorKind};

use super::RpcAddress;

/// A failed Thrift call. Statuses inside a reply (`TStatus`) are not errors at this layer.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The TCP connection could not be established (refused, unreachable, DNS, connect
    /// timeout). Retryable, on another FE for FE calls.
    #[error("cannot connect to {address} for {method}: {source}")]
    Connect {
        address: RpcAddress,
        method: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// An established connection broke during the call (reset, closed by the peer).
    /// Retryable, on another FE for FE calls.
    #[error("connection to {address} broke during {method}: {message}")]
    Connection {
        address: RpcAddress,
        method: &'static str,
        message: String,
    },

    /// The peer did not answer in time. Not retried on another FE (the call may still take
    /// effect on this one), like the reference syncer.
    #[error("{method} to {address} timed out after {timeout:?}")]
    Timeout {
        address: RpcAddress,
        method: &'static str,
        timeout: Duration,
    },

    /// The reply could not be decoded, or the peer broke the Thrift protocol.
    #[error("protocol error in {method} with {address}: {message}")]
    Protocol {
        address: RpcAddress,
        method: &'static str,
        message: String,
    },

    /// The peer does not implement the method (TApplicationException UNKNOWN_METHOD), e.g.
    /// lockBinlog on an FE older than the method. Callers may fall back.
    #[error("{address} does not implement {method}: {message}")]
    UnknownMethod {
        address: RpcAddress,
        method: &'static str,
        message: String,
    },

    /// Any other TApplicationException (e.g. PROTOCOL_ERROR for a request missing a
    /// required field).
    #[error("{address} answered {method} with application exception {kind:?}: {message}")]
    Application {
        address: RpcAddress,
        method: &'static str,
        kind: ApplicationErrorKind,
        message: String,
    },

    /// An FE answered NOT_MASTER without naming the master. Counts as a connection-class
    /// failure (the next FE is tried).
    #[error("FE {address} is not master and does not know the master ({method})")]
    NotMaster {
        address: RpcAddress,
        method: &'static str,
    },

    /// NOT_MASTER redirects kept going (FEs disagree about the master, e.g. mid-election).
    #[error("{method}: gave up after {redirects} NOT_MASTER redirects, last to {last_address}")]
    TooManyRedirects {
        method: &'static str,
        redirects: usize,
        last_address: RpcAddress,
    },

    /// Every known FE failed with a connection-class error.
    #[error(
        "{method}: no FE reachable (tried {}){}",
        format_addresses(tried),
        format_last(last_error)
    )]
    NoFrontendReachable {
        method: &'static str,
        tried: Vec<RpcAddress>,
        last_error: Option<Box<RpcError>>,
    },

    /// The call could not be run (its worker panicked or the runtime is shutting down).
    #[error("{method} to {address} did not run: {message}")]
    Internal {
        address: RpcAddress,
        method: &'static str,
        message: String,
    },
}

fn format_addresses(addresses: &[RpcAddress]) -> String {
    if addresses.is_empty() {
        return "none configured".to_owned();
    }
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_last(last_error: &Option<Box<RpcError>>) -> String {
    last_error
        .as_ref()
        .map(|error| format!("; last error: {error}"))
        .unwrap_or_default()
}

impl RpcError {
    /// A failure of the connection or of this particular FE rather than of the call: the
    /// reference syncer then tries the next FE.
    pub fn is_connection_class(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Connection { .. } | Self::NotMaster { .. }
        )
    }

    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    pub fn is_unknown_method(&self) -> bool {
        matches!(self, Self::UnknownMethod { .. })
    }

    /// Classifies an error raised by thrift-rs while running `method` on `address`.
    pub(crate) fn from_thrift(
        error: thrift::Error,
        address: &RpcAddress,
        method: &'static str,
        timeout: Duration,
    ) -> Self {
        let address = address.clone();
        match error {
            thrift::Error::Transport(transport) => match transport.kind {
                TransportErrorKind::TimedOut => Self::Timeout {
                    address,
                    method,
                    timeout,
                },
                TransportErrorKind::NegativeSize | TransportErrorKind::SizeLimit => {
                    Self::Protocol {
                        address,
                        method,
                        message: transport.message,
                    }
                }
                // NotOpen (reset/refused), EndOfFile (closed by peer) and Unknown (any other
                // socket error, e.g. broken pipe).
                _ => Self::Connection {
                    address,
                    method,
                    message: transport.message,
                },
            },
            thrift::Error::Protocol(protocol) => Self::Protocol {
                address,
                method,
                message: match protocol.kind {
                    ProtocolErrorKind::Unknown => protocol.message,
                    kind => format!("{kind:?}: {}", protocol.message),
                },
            },
            thrift::Error::Application(application)
                if application.kind == ApplicationErrorKind::UnknownMethod =>
            {
                Self::UnknownMethod {
                    address,
                    method,
                    message: application.message,
                }
            }
            thrift::Error::Application(application) => Self::Application {
                address,
                method,
                kind: application.kind,
                message: application.message,
            },
            thrift::Error::User(user) => Self::Protocol {
                address,
                method,
                message: user.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(error: thrift::Error) -> RpcError {
        RpcError::from_thrift(
            error,
            &RpcAddress::new("fe", 9020),
            "getBinlog",
            Duration::from_secs(3),
        )
    }

    #[test]
    fn thrift_errors_are_classified() {
        let timeout = classify(thrift::Error::Transport(thrift::TransportError::new(
            TransportErrorKind::TimedOut,
            "timed out",
        )));
        assert!(timeout.is_timeout() && !timeout.is_connection_class());

        for kind in [
            TransportErrorKind::NotOpen,
            TransportErrorKind::EndOfFile,
            TransportErrorKind::Unknown,
        ] {
            let error = classify(thrift::Error::Transport(thrift::TransportError::new(
                kind, "gone",
            )));
            assert!(error.is_connection_class(), "{error}");
        }

        let unknown = classify(thrift::Error::Application(thrift::ApplicationError::new(
            ApplicationErrorKind::UnknownMethod,
            "Invalid method name: 'getBinlog'",
        )));
        assert!(unknown.is_unknown_method());
        assert!(!unknown.is_connection_class());

        let protocol = classify(thrift::Error::Application(thrift::ApplicationError::new(
            ApplicationErrorKind::ProtocolError,
            "Required field 'hi' was not present!",
        )));
        assert!(matches!(
            protocol,
            RpcError::Application {
                kind: ApplicationErrorKind::ProtocolError,
                ..
            }
        ));
    }

    #[test]
    fn no_frontend_message_lists_what_was_tried() {
        let error = RpcError::NoFrontendReachable {
            method: "beginTxn",
            tried: vec![RpcAddress::new("a", 1), RpcAddress::new("b", 2)],
            last_error: Some(Box::new(RpcError::NotMaster {
                address: RpcAddress::new("b", 2),
                method: "beginTxn",
            })),
        };
        let text = error.to_string();
        assert!(text.contains("tried a:1, b:2"), "{text}");
        assert!(text.contains("last error: FE b:2 is not master"), "{text}");
    }
}
