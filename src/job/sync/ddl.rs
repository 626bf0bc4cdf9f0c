//! DDL replay by SQL on the target.
//!
//! Every statement names the target database and table explicitly, with every identifier
//! quoted. A replay may run twice (a crash between the statement and the progress write),
//! so the "already done" answers of Doris are taken as success.

use crate::binlog::{
    AddPartitionRecord, BinlogRecord, CommentType, DistributionType, ModifyCommentOperationLog,
};
use crate::doris::sql::{quote_ident, quote_str};
use crate::doris::DorisError;
use crate::job::error::JobError;
use crate::job::runner::JobTask;

/// Error texts meaning the statement's effect is already there.
const ALREADY_DONE: [&str; 6] = [
    "Duplicate partition name",
    "already exist",
    "does not exist",
    "not exist",
    "Duplicate column name",
    "Unknown column",
];

/// Replays a table-scoped DDL record on the job's target table. Returns whether a
/// statement ran.
pub(crate) async fn replay_table_ddl(
    task: &JobTask,
    record: &BinlogRecord,
) -> Result<bool, JobError> {
    let dest = &task.info.dest;
    let target = format!(
        "{}.{}",
        quote_ident(&dest.database),
        quote_ident(&dest.table)
    );
    let statements: Vec<String> = match record {
        BinlogRecord::AddPartition(r) => {
            if r.is_temp_partition {
                // Temporary partitions cannot travel through backup/restore; skipped.
                return Ok(false);
            }
            vec![format!("ALTER TABLE {target} {}", add_partition_clause(r))]
        }
        BinlogRecord::DropPartition(r) => {
            if r.is_temp_partition {
                return Ok(false);
            }
            let force = if r.force_drop { " FORCE" } else { "" };
            vec![format!(
                "ALTER TABLE {target} DROP PARTITION {}{force}",
                quote_ident(&r.partition_name)
            )]
        }
        BinlogRecord::TruncateTable(r) => {
            vec![format!("TRUNCATE TABLE {target} {}", r.raw_sql.trim())]
        }
        BinlogRecord::ModifyTableAddOrDropColumns(r) => {
            let rewritten = retarget_alter(&r.raw_sql, &target).ok_or_else(|| {
                JobError::CheckFailed(format!(
                    "cannot replay column change, unexpected SQL: {}",
                    r.raw_sql
                ))
            })?;
            vec![rewritten]
        }
        BinlogRecord::RenameColumn(r) => vec![format!(
            "ALTER TABLE {target} RENAME COLUMN {} {}",
            quote_ident(&r.column_name),
            quote_ident(&r.new_column_name)
        )],
        BinlogRecord::ModifyComment(r) => comment_statements(&target, r),
        _ => return Ok(false),
    };
    for statement in &statements {
        run_tolerant(task, statement).await?;
    }
    Ok(!statements.is_empty())
}

/// Runs a replayed statement; "already done" failures count as success.
async fn run_tolerant(task: &JobTask, statement: &str) -> Result<(), JobError> {
    match task.dest.sql().exec(statement).await {
        Ok(_) => {
            tracing::info!(%statement, "replayed DDL");
            Ok(())
        }
        Err(DorisError::Sql { message, .. })
            if ALREADY_DONE.iter().any(|t| message.contains(t)) =>
        {
            tracing::info!(%statement, %message, "DDL already applied on the target");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// `ADD PARTITION ...` from the record's clause, completed with the distribution Doris
/// leaves out of it.
fn add_partition_clause(record: &AddPartitionRecord) -> String {
    let mut clause = record.sql.trim().trim_end_matches(';').trim().to_owned();
    if clause.contains("DISTRIBUTED BY") {
        return clause;
    }
    let Some(distribution) = record.distribution() else {
        return clause;
    };
    if distribution.distribution_type == DistributionType::Random {
        clause.push_str(" DISTRIBUTED BY RANDOM");
    } else {
        if distribution.column_names.is_empty() {
            return clause;
        }
        let columns: Vec<String> = distribution
            .column_names
            .iter()
            .map(|c| quote_ident(c))
            .collect();
        clause.push_str(&format!(" DISTRIBUTED BY HASH({})", columns.join(", ")));
    }
    if distribution.bucket_num > 0 {
        clause.push_str(&format!(" BUCKETS {}", distribution.bucket_num));
    }
    clause
}

fn comment_statements(target: &str, record: &ModifyCommentOperationLog) -> Vec<String> {
    match record.comment_type {
        CommentType::Column => record
            .column_comments
            .iter()
            .flatten()
            .map(|(column, comment)| {
                format!(
                    "ALTER TABLE {target} MODIFY COLUMN {} COMMENT {}",
                    quote_ident(column),
                    quote_str(comment)
                )
            })
            .collect(),
        _ => vec![format!(
            "ALTER TABLE {target} MODIFY COMMENT {}",
            quote_str(record.table_comment.as_deref().unwrap_or_default())
        )],
    }
}

/// Replaces the table named by `ALTER TABLE <name> ...` with `target`. The source name may
/// be `t`, `` `t` ``, `` `db`.`t` `` or `` `default_cluster:db`.`t` ``.
pub(crate) fn retarget_alter(sql: &str, target: &str) -> Option<String> {
    let trimmed = sql.trim().trim_end_matches(';');
    let keyword_end = {
        let upper = trimmed.get(..11)?.to_ascii_uppercase();
        (upper == "ALTER TABLE").then_some(11)?
    };
    let rest = &trimmed[keyword_end..];
    let name_start = rest.len() - rest.trim_start().len();
    let mut position = name_start;
    let bytes = rest.as_bytes();
    loop {
        position = skip_identifier(rest, position)?;
        if bytes.get(position) == Some(&b'.') {
            position += 1;
            continue;
        }
        break;
    }
    Some(format!("ALTER TABLE {target}{}", &rest[position..]))
}

/// Skips one identifier (backquoted with doubled backquotes, or bare) starting at `start`.
fn skip_identifier(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(start) == Some(&b'`') {
        let mut i = start + 1;
        while i < bytes.len() {
            if bytes[i] == b'`' {
                if bytes.get(i + 1) == Some(&b'`') {
                    i += 2;
                    continue;
                }
                return Some(i + 1);
            }
            i += 1;
        }
        None
    } else {
        let end = text[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == ':' || c == '-'))
            .map_or(text.len(), |offset| start + offset);
        (end > start).then_some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_statements_are_pointed_at_the_target() {
        let target = "`dest`.`t2`";
        assert_eq!(
            retarget_alter(
                "ALTER TABLE `db`.`t` ADD COLUMN `c` int NULL COMMENT \"\"",
                target
            )
            .unwrap(),
            "ALTER TABLE `dest`.`t2` ADD COLUMN `c` int NULL COMMENT \"\""
        );
        assert_eq!(
            retarget_alter(
                "ALTER TABLE `default_cluster:db`.`t` DROP COLUMN `c`;",
                target
            )
            .unwrap(),
            "ALTER TABLE `dest`.`t2` DROP COLUMN `c`"
        );
        assert_eq!(
            retarget_alter("alter table t add column x int", target).unwrap(),
            "ALTER TABLE `dest`.`t2` add column x int"
        );
        assert_eq!(
            retarget_alter("ALTER TABLE `we``ird`.`x` MODIFY COLUMN v bigint", target).unwrap(),
            "ALTER TABLE `dest`.`t2` MODIFY COLUMN v bigint"
        );
        assert!(retarget_alter("DROP TABLE t", target).is_none());
        assert!(retarget_alter("ALTER TABLE `unterminated", target).is_none());
    }
}
