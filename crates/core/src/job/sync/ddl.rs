//! DDL replay by SQL on the target, shared by table and database jobs.
//!
//! Every statement names the target database and table explicitly, with every identifier
//! quoted. A replay may run twice (a crash between the statement and the progress write),
//! so the "already done" answers of Doris are taken as success.

use crate::job::cluster::TargetCluster;
use crate::job::error::JobError;
use ccr_binlog::{
    AddPartitionRecord, BinlogRecord, CommentType, DistributionType, ModifyCommentOperationLog,
    ModifyTablePropertyOperationLog,
};
use ccr_doris::sql::{quote_ident, quote_str};
use ccr_doris::DorisErrorKind;

/// Table properties that describe the cluster a table lives on rather than the table:
/// replaying them could break the target (other BEs, resources, its own binlog settings).
/// A MODIFY_TABLE_PROPERTY carrying one of them is not replayed for that key.
const CLUSTER_LOCAL_PROPERTIES: [&str; 9] = [
    "binlog.",
    "is_being_synced",
    "replication_num",
    "replication_allocation",
    "default.replication_",
    "storage_policy",
    "storage_medium",
    "storage_cooldown_time",
    "colocate_with",
];

/// The target table a replayed statement applies to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TargetTable<'a> {
    pub db: &'a str,
    pub table: &'a str,
}

impl TargetTable<'_> {
    fn qualified(&self) -> String {
        format!("{}.{}", quote_ident(self.db), quote_ident(self.table))
    }
}

/// Whether `key` is a cluster-local table property (see [`CLUSTER_LOCAL_PROPERTIES`]).
pub(crate) fn is_cluster_local_property(key: &str) -> bool {
    CLUSTER_LOCAL_PROPERTIES
        .iter()
        .any(|local| key == *local || (local.ends_with(['.', '_']) && key.starts_with(local)))
}

/// Replays a table-scoped DDL record on `target`. Returns whether a statement ran.
pub(crate) async fn replay_table_ddl(
    sql: &dyn TargetCluster,
    target: TargetTable<'_>,
    record: &BinlogRecord,
) -> Result<bool, JobError> {
    let statements = table_ddl_statements(target, record)?;
    for statement in &statements {
        run_tolerant(sql, statement).await?;
    }
    Ok(!statements.is_empty())
}

/// The statements that replay `record` on `target` (empty: nothing to do on the target).
pub(crate) fn table_ddl_statements(
    target: TargetTable<'_>,
    record: &BinlogRecord,
) -> Result<Vec<String>, JobError> {
    let name = target.qualified();
    Ok(match record {
        BinlogRecord::AddPartition(r) => {
            if r.is_temp_partition {
                // Temporary partitions cannot travel through backup/restore; skipped.
                return Ok(Vec::new());
            }
            vec![format!("ALTER TABLE {name} {}", add_partition_clause(r))]
        }
        BinlogRecord::DropPartition(r) => {
            if r.is_temp_partition {
                return Ok(Vec::new());
            }
            let force = if r.force_drop { " FORCE" } else { "" };
            vec![format!(
                "ALTER TABLE {name} DROP PARTITION {}{force}",
                quote_ident(&r.partition_name)
            )]
        }
        BinlogRecord::TruncateTable(r) => {
            vec![format!("TRUNCATE TABLE {name} {}", r.raw_sql.trim())]
        }
        BinlogRecord::ModifyTableAddOrDropColumns(r) => {
            let rewritten = retarget_alter(&r.raw_sql, &name).ok_or_else(|| {
                JobError::CheckFailed(format!(
                    "cannot replay column change, unexpected SQL: {}",
                    r.raw_sql
                ))
            })?;
            vec![rewritten]
        }
        BinlogRecord::RenameColumn(r) => vec![format!(
            "ALTER TABLE {name} RENAME COLUMN {} {}",
            quote_ident(&r.column_name),
            quote_ident(&r.new_column_name)
        )],
        BinlogRecord::ModifyComment(r) => comment_statements(&name, r),
        BinlogRecord::RenamePartition(r) => match (r.old_partition(), r.new_partition()) {
            (Some(old), Some(new)) => vec![format!(
                "ALTER TABLE {name} RENAME PARTITION {} {}",
                quote_ident(old),
                quote_ident(new)
            )],
            _ => {
                return Err(JobError::CheckFailed(
                    "RENAME_PARTITION without the old and new names cannot be replayed".into(),
                ))
            }
        },
        BinlogRecord::RenameRollup(r) => match (r.old_rollup(), r.new_rollup()) {
            (Some(old), Some(new)) => vec![format!(
                "ALTER TABLE {name} RENAME ROLLUP {} {}",
                quote_ident(old),
                quote_ident(new)
            )],
            _ => {
                return Err(JobError::CheckFailed(
                    "RENAME_ROLLUP without the old and new names cannot be replayed".into(),
                ))
            }
        },
        BinlogRecord::DropRollup(r) => vec![format!(
            "ALTER TABLE {name} DROP ROLLUP {}",
            quote_ident(&r.index_name)
        )],
        BinlogRecord::ModifyTableProperty(r) => property_statements(&name, r),
        _ => Vec::new(),
    })
}

/// One `ALTER TABLE t SET ("k" = "v")` per replayable property, in key order. The
/// record's own `sql` leaves keys and values unquoted, so it is rebuilt from the map.
fn property_statements(name: &str, record: &ModifyTablePropertyOperationLog) -> Vec<String> {
    record
        .properties
        .iter()
        .filter(|(key, _)| {
            let local = is_cluster_local_property(key);
            if local {
                tracing::warn!(
                    property = %key,
                    "table property is specific to the source cluster; not replayed"
                );
            }
            !local
        })
        .map(|(key, value)| {
            format!(
                "ALTER TABLE {name} SET ({} = {})",
                quote_str(key),
                quote_str(value)
            )
        })
        .collect()
}

/// Runs a replayed statement; "already done" failures count as success.
pub(crate) async fn run_tolerant(sql: &dyn TargetCluster, statement: &str) -> Result<(), JobError> {
    match sql.exec(statement).await {
        Ok(_) => {
            tracing::info!(%statement, "replayed DDL");
            Ok(())
        }
        // Created already, or what it drops or renames is gone already: an earlier
        // attempt (or a snapshot) did it.
        Err(error)
            if matches!(
                error.kind(),
                DorisErrorKind::AlreadyDone | DorisErrorKind::ObjectMissing
            ) =>
        {
            tracing::info!(%statement, %error, "DDL already applied on the target");
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

/// Rewrites `CREATE TABLE|VIEW [IF NOT EXISTS] <name> ...` so that it creates `target`
/// (a qualified, quoted name) instead. `None` if the text is not such a statement.
pub(crate) fn retarget_create(sql: &str, target: &str) -> Option<String> {
    let trimmed = sql.trim().trim_end_matches(';').trim_end();
    let mut position = expect_keyword(trimmed, 0, "CREATE")?;
    let kind_end = expect_keyword(trimmed, position, "TABLE")
        .or_else(|| expect_keyword(trimmed, position, "VIEW"))?;
    let head_end = kind_end;
    position = kind_end;
    let if_not_exists = expect_keyword(trimmed, position, "IF")
        .and_then(|p| expect_keyword(trimmed, p, "NOT"))
        .and_then(|p| expect_keyword(trimmed, p, "EXISTS"));
    if let Some(end) = if_not_exists {
        position = end;
    }
    let bytes = trimmed.as_bytes();
    while bytes.get(position).is_some_and(u8::is_ascii_whitespace) {
        position += 1;
    }
    loop {
        position = skip_identifier(trimmed, position)?;
        if bytes.get(position) == Some(&b'.') {
            position += 1;
            continue;
        }
        break;
    }
    let middle = if let Some(end) = if_not_exists {
        trimmed[head_end..end].to_owned()
    } else {
        String::new()
    };
    Some(format!(
        "{}{middle} {target}{}",
        &trimmed[..head_end],
        &trimmed[position..]
    ))
}

/// After optional whitespace at `start`, the keyword `word` (any case) followed by a
/// non-identifier character: returns the position after it.
fn expect_keyword(text: &str, start: usize, word: &str) -> Option<usize> {
    let rest = text.get(start..)?;
    let skipped = rest.len() - rest.trim_start().len();
    let begin = start + skipped;
    let end = begin + word.len();
    let candidate = text.get(begin..end)?;
    if !candidate.eq_ignore_ascii_case(word) {
        return None;
    }
    match text[end..].chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => None,
        _ => Some(end),
    }
}

/// Points the database qualifiers of a view definition (`` `internal`.`src`. `` and the
/// 2.0 form `` `default_cluster:src`. ``) at the target database.
pub(crate) fn retarget_view_sql(sql: &str, src_db: &str, dest_db: &str) -> String {
    let to = format!("`internal`.{}.", quote_ident(dest_db));
    sql.replace(&format!("`internal`.{}.", quote_ident(src_db)), &to)
        .replace(
            &format!("{}.", quote_ident(&format!("default_cluster:{src_db}"))),
            &to,
        )
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
    fn views_follow_the_target_database() {
        let sql =
            "CREATE VIEW `v` AS SELECT `internal`.`s-db`.`t`.`k` AS `k` FROM `internal`.`s-db`.`t`";
        assert_eq!(
            retarget_view_sql(sql, "s-db", "d"),
            "CREATE VIEW `v` AS SELECT `internal`.`d`.`t`.`k` AS `k` FROM `internal`.`d`.`t`"
        );
        assert_eq!(
            retarget_view_sql("SELECT * FROM `default_cluster:s`.`t`", "s", "d"),
            "SELECT * FROM `internal`.`d`.`t`"
        );
    }

    #[test]
    fn cluster_local_properties_are_recognised() {
        for key in [
            "binlog.enable",
            "replication_num",
            "default.replication_num",
            "storage_policy",
        ] {
            assert!(is_cluster_local_property(key), "{key}");
        }
        for key in [
            "dynamic_partition.enable",
            "compaction_policy",
            "replication",
        ] {
            assert!(!is_cluster_local_property(key), "{key}");
        }
    }

    #[test]
    fn table_ddl_is_addressed_to_the_given_target() {
        let target = TargetTable {
            db: "d`b",
            table: "select",
        };
        let record = BinlogRecord::RenameColumn(ccr_binlog::TableRenameColumnInfo {
            column_name: "a-b".into(),
            new_column_name: "c".into(),
            ..Default::default()
        });
        assert_eq!(
            table_ddl_statements(target, &record).unwrap(),
            vec!["ALTER TABLE `d``b`.`select` RENAME COLUMN `a-b` `c`"]
        );
        let mut props = ModifyTablePropertyOperationLog::default();
        props
            .properties
            .insert("binlog.enable".into(), "true".into());
        props
            .properties
            .insert("dynamic_partition.enable".into(), "false".into());
        assert_eq!(
            table_ddl_statements(target, &BinlogRecord::ModifyTableProperty(props)).unwrap(),
            vec!["ALTER TABLE `d``b`.`select` SET ('dynamic_partition.enable' = 'false')"]
        );
    }

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
        assert_eq!(
            retarget_create("CREATE TABLE `t` (\n  `k` int\n) ENGINE=OLAP;", target).unwrap(),
            "CREATE TABLE `dest`.`t2` (\n  `k` int\n) ENGINE=OLAP"
        );
        assert_eq!(
            retarget_create("create view if not exists `a``b`.`v` AS SELECT 1", target).unwrap(),
            "create view if not exists `dest`.`t2` AS SELECT 1"
        );
        assert!(retarget_create("CREATE TABLEX t (k int)", target).is_none());
        assert!(retarget_create("DROP VIEW v", target).is_none());
        assert!(retarget_alter("ALTER TABLE `unterminated", target).is_none());
    }
}
