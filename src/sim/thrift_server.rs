//! Serving a Thrift processor on a TCP listener (in progress).
