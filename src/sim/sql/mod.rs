//! The FE SQL engine: lexer, parser and executor over the catalog.

pub(crate) mod ast;
mod ddl;
mod dml;
mod engine;
pub(crate) mod lexer;
pub(crate) mod parser;
mod query;
mod render;
mod show;
mod vars;

pub use engine::{FeSession, FeSqlEngine};
pub use vars::{DORIS_VERSION, MYSQL_SERVER_VERSION};
