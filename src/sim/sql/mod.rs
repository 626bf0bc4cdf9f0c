//! The FE SQL engine: lexer, parser and executor over the catalog.

pub mod ast;
pub mod lexer;
pub mod parser;
