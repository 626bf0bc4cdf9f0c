//! Clients for one Doris cluster: SQL over the MySQL protocol (`sql`), FE and BE Thrift
//! (`rpc`), and cached metadata.

pub mod rpc;
