//! FE and BE Thrift clients (in progress).
