//! The pieces of CREATE TABLE processing other catalog features reuse (restore builds
//! tables from snapshot meta with them).

use super::ast::{CreateTable, PartitionDef, Statement};
use super::ddl;
use super::lexer::{split_statements, tokenize};
use super::parser::parse_statement;
use crate::catalog::table::{PartitionItem, PartitionKind, Properties};
use crate::catalog::types::ColumnType;
use crate::session::SqlError;

pub(crate) use super::ddl::TableDefinition;

/// Columns, keys model, partition scheme and distribution of a CREATE TABLE, validated.
pub(crate) fn table_definition(ct: &CreateTable) -> Result<TableDefinition, SqlError> {
    ddl::build_table_definition(ct)
}

/// Table properties as CREATE TABLE stores them (boolean values lower-cased).
pub(crate) fn properties(list: Vec<(String, String)>) -> Properties {
    ddl::props_from(ddl::normalize_props(list))
}

/// The schema hash a new index with this id gets.
pub(crate) fn schema_hash(index_id: i64) -> i32 {
    ddl::schema_hash(index_id)
}

/// The item of one partition definition (no overlap check against other partitions).
pub(crate) fn partition_item(
    kind: PartitionKind,
    types: &[ColumnType],
    def: &PartitionDef,
) -> Result<PartitionItem, SqlError> {
    ddl::partition_item(kind, types, def, &[])
}

/// Parses one statement.
pub(crate) fn parse_one(sql: &str) -> Result<Statement, String> {
    let tokens = tokenize(sql).map_err(|e| e.to_string())?;
    let range = split_statements(&tokens)
        .into_iter()
        .next()
        .ok_or_else(|| "empty statement".to_owned())?;
    parse_statement(sql, &tokens[range]).map_err(|e| e.0)
}
