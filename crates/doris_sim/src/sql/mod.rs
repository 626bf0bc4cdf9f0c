//! The FE SQL engine: lexer, parser and executor over the catalog.

pub(crate) mod ast;
mod backup;
mod ddl;
pub(crate) mod ddl_support;
mod dml;
mod engine;
mod hash;
pub(crate) mod lexer;
pub(crate) mod parser;
mod query;
pub(crate) mod render;
mod rollup;
mod show;
mod vars;

pub(crate) use ddl_support::parse_one;
pub use engine::{FeSession, FeSqlEngine};
pub use vars::{DORIS_VERSION, MYSQL_SERVER_VERSION};

/// MySQL `LIKE` on a job label (labels compare case-insensitively in Doris).
pub(crate) fn label_like(pattern: &str, label: &str) -> bool {
    query::like_match(pattern, label, true)
}
