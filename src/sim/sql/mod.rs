//! The FE SQL engine: lexer, parser and executor over the catalog.

pub mod ast;
pub mod lexer;
pub mod parser;
mod ddl;
mod dml;
mod engine;
mod query;
mod render;
mod show;
mod vars;

pub use engine::{FeSession, FeSqlEngine};
pub use vars::{DORIS_VERSION, MYSQL_SERVER_VERSION};
