//! Verification: proves, table by table, that the target holds what the source holds.
//!
//! Each cluster computes its own figures in SQL, so no row crosses the network: per
//! partition the row count and an order-independent checksum, the sum (as LARGEINT, so it
//! cannot overflow) of a 64-bit hash of every row. A row's hash is Doris's
//! `murmur_hash3_64` over one argument per column, `ifnull(concat('v', CAST(c AS STRING)),
//! 'n')`: a NULL becomes `n` and any value starts with `v`, so NULL and `''` (or `'n'`)
//! differ, and the arguments are hashed one after the other (each seeding the next), so no
//! separator can make two rows collide. Besides the data, the column lists (names, types,
//! order), the partitions (names, ranges) and the table comments are compared.
//!
//! Writes keep arriving while a table is read. The source's partition versions are read
//! before and after its figures; the target is read only once the job has applied every
//! source binlog that existed at the first read. Equal versions mean the source did not
//! change meanwhile, so both sides were read at the same point; moved versions mean the
//! table is read again, up to [`VERIFY_ATTEMPTS`] times, then reported `unstable`. No
//! query scans more than one partition of a table with several.
//!
//! Everything here only reads; it runs beside the job's steps, never inside them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use super::error::JobError;
use ccr_doris::sql::{quote_ident, ColumnRow, PartitionRow, SqlClient};
use ccr_doris::DorisError;

/// Reads of one table before it is reported `unstable` (writes kept arriving).
pub const VERIFY_ATTEMPTS: u32 = 3;
/// How long a verification waits by default for the job to apply what the source holds:
/// a healthy job catches up in seconds; longer means it lags and a comparison would
/// only report the lag.
pub const DEFAULT_CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);

/// Column types Doris cannot cast to a string: left out of the checksum (their tables are
/// still compared by row count, columns, partitions and comment).
const UNHASHABLE_TYPES: [&str; 4] = ["bitmap", "hll", "quantile_state", "agg_state"];

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Source table names to verify; empty: every table the job replicates.
    pub tables: Vec<String>,
    /// Report each partition's outcome.
    pub partitions: bool,
    /// How long to wait for the job to catch up before a table is `unstable`.
    pub catch_up_timeout: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            tables: Vec::new(),
            partitions: false,
            catch_up_timeout: DEFAULT_CATCH_UP_TIMEOUT,
        }
    }
}

/// The outcome of one table or partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Equal.
    Ok,
    /// Different: `differences` says how.
    Mismatch,
    /// The source kept changing (or the job did not catch up): nothing could be compared
    /// at one point in time.
    Unstable,
    /// A cluster could not be asked.
    Error,
}

/// One partition of a verified table (`"partitions": true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PartitionCheck {
    pub name: String,
    pub result: Outcome,
    /// Absent where the partition is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_rows: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_rows: Option<i64>,
}

/// One verified table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TableCheck {
    /// The source table.
    pub table: String,
    pub target_table: String,
    pub result: Outcome,
    /// What differs, for a person: `row count 10 vs 11` (source vs target), `partition p2
    /// missing on target`, `column v: int vs bigint`, `checksum differs in partition p1`.
    pub differences: Vec<String>,
    /// Times the table was read (more than one when writes arrived meanwhile).
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Vec<PartitionCheck>>,
}

/// Tables by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifySummary {
    pub tables: usize,
    pub ok: usize,
    pub mismatch: usize,
    pub unstable: usize,
    pub error: usize,
}

impl VerifySummary {
    pub fn of(tables: &[TableCheck]) -> Self {
        let count = |o: Outcome| tables.iter().filter(|t| t.result == o).count();
        VerifySummary {
            tables: tables.len(),
            ok: count(Outcome::Ok),
            mismatch: count(Outcome::Mismatch),
            unstable: count(Outcome::Unstable),
            error: count(Outcome::Error),
        }
    }
}

/// The answer of `/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub tables: Vec<TableCheck>,
    pub summary: VerifySummary,
}

impl VerifyReport {
    pub fn new(tables: Vec<TableCheck>) -> Self {
        let summary = VerifySummary::of(&tables);
        VerifyReport { tables, summary }
    }
}

/// A table to verify: where it lives on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePair {
    pub source_db: String,
    pub source: String,
    pub target_db: String,
    pub target: String,
}

/// Waits for the job to apply what the source holds now.
#[async_trait]
pub trait CatchUp: Send + Sync {
    /// `true` once the job has applied every source binlog committed before the call;
    /// `false` if that did not happen within `timeout`.
    async fn wait(&self, timeout: Duration) -> Result<bool, JobError>;
}

/// The `SELECT` that gives `row_count` and `checksum` of `db.table` (one partition of it
/// when `partition` is given) over `columns`.
pub fn checksum_sql(db: &str, table: &str, columns: &[&str], partition: Option<&str>) -> String {
    let hashed: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "ifnull(concat('v', CAST({} AS STRING)), 'n')",
                quote_ident(c)
            )
        })
        .collect();
    let from = match partition {
        Some(p) => format!(
            "{}.{} PARTITION ({})",
            quote_ident(db),
            quote_ident(table),
            quote_ident(p)
        ),
        None => format!("{}.{}", quote_ident(db), quote_ident(table)),
    };
    format!(
        "SELECT COUNT(*) AS `row_count`, SUM(CAST(murmur_hash3_64({}) AS LARGEINT)) AS `checksum` FROM {from}",
        hashed.join(", ")
    )
}

/// The columns the checksum covers: those both sides have, in source order, without the
/// types Doris cannot render as text.
fn hashed_columns(source: &[ColumnRow], target: &[ColumnRow]) -> Vec<String> {
    source
        .iter()
        .filter(|c| target.iter().any(|t| t.name == c.name))
        .filter(|c| {
            let ty = c.column_type.to_ascii_lowercase();
            !UNHASHABLE_TYPES.iter().any(|u| ty.starts_with(u))
        })
        .map(|c| c.name.clone())
        .collect()
}

/// Row count and checksum of one partition (or table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowSum {
    rows: i64,
    checksum: i128,
}

/// What one side says of a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TableFacts {
    columns: Vec<ColumnRow>,
    comment: String,
    partitions: Vec<PartitionRow>,
    /// By partition name.
    sums: BTreeMap<String, RowSum>,
}

async fn structure(sql: &SqlClient, db: &str, table: &str) -> Result<TableFacts, DorisError> {
    Ok(TableFacts {
        columns: sql.columns(db, table).await?,
        comment: sql.table_comment(db, table).await?,
        partitions: sql.partitions(db, table).await?,
        sums: BTreeMap::new(),
    })
}

async fn row_sum(
    sql: &SqlClient,
    db: &str,
    table: &str,
    columns: &[&str],
    partition: Option<&str>,
) -> Result<RowSum, DorisError> {
    let rows = sql
        .query(&checksum_sql(db, table, columns, partition))
        .await?;
    let row = rows.first().ok_or_else(|| {
        DorisError::UnexpectedResult(format!("the checksum of {db}.{table} returned no row"))
    })?;
    let checksum = match row.get("checksum")? {
        // SUM over no rows.
        None => 0,
        Some(text) => text.trim().parse().map_err(|_| {
            DorisError::UnexpectedResult(format!("checksum is not an integer: {text:?}"))
        })?,
    };
    Ok(RowSum {
        rows: row.int("row_count")?,
        checksum,
    })
}

/// Fills `facts.sums`: one query per partition when the table has several (so none scans
/// more than a partition), one for the whole table otherwise.
async fn fill_sums(
    sql: &SqlClient,
    db: &str,
    table: &str,
    columns: &[&str],
    per_partition: bool,
    facts: &mut TableFacts,
) -> Result<(), DorisError> {
    let names: Vec<String> = facts.partitions.iter().map(|p| p.name.clone()).collect();
    if per_partition {
        for name in names {
            let sum = row_sum(sql, db, table, columns, Some(&name)).await?;
            facts.sums.insert(name, sum);
        }
    } else {
        let sum = row_sum(sql, db, table, columns, None).await?;
        let name = names.into_iter().next().unwrap_or_else(|| table.to_owned());
        facts.sums.insert(name, sum);
    }
    Ok(())
}

fn versions(partitions: &[PartitionRow]) -> Vec<(&str, i64)> {
    partitions
        .iter()
        .map(|p| (p.name.as_str(), p.visible_version))
        .collect()
}

/// What differs between the source's and the target's facts, and each partition's
/// outcome.
fn compare(source: &TableFacts, target: &TableFacts) -> (Vec<String>, Vec<PartitionCheck>) {
    let mut differences = Vec::new();
    compare_columns(&source.columns, &target.columns, &mut differences);
    if source.comment != target.comment {
        differences.push(format!(
            "comment differs: {:?} vs {:?}",
            source.comment, target.comment
        ));
    }
    let rows = |facts: &TableFacts| facts.sums.values().map(|s| s.rows).sum::<i64>();
    let (source_rows, target_rows) = (rows(source), rows(target));
    if source_rows != target_rows {
        differences.push(format!("row count {source_rows} vs {target_rows}"));
    }
    let single = source.partitions.len() <= 1 && target.partitions.len() <= 1;
    let mut partitions = Vec::new();
    // In source order, then the target's own.
    let mut ordered: Vec<&str> = source.partitions.iter().map(|p| p.name.as_str()).collect();
    ordered.extend(
        target
            .partitions
            .iter()
            .map(|p| p.name.as_str())
            .filter(|n| !source.partitions.iter().any(|p| p.name == *n)),
    );
    for name in ordered {
        let src = source.partitions.iter().find(|p| p.name == name);
        let dst = target.partitions.iter().find(|p| p.name == name);
        let (src_sum, dst_sum) = (source.sums.get(name), target.sums.get(name));
        let mut same = true;
        match (src, dst) {
            (Some(_), None) => {
                differences.push(format!("partition {name} missing on target"));
                same = false;
            }
            (None, Some(_)) => {
                differences.push(format!("partition {name} only on target"));
                same = false;
            }
            (Some(s), Some(d)) => {
                if s.range != d.range {
                    differences.push(format!(
                        "partition {name} range differs: {} vs {}",
                        s.range, d.range
                    ));
                    same = false;
                }
                match (src_sum, dst_sum) {
                    (Some(a), Some(b)) if a.rows != b.rows => {
                        if !single {
                            differences.push(format!(
                                "row count differs in partition {name}: {} vs {}",
                                a.rows, b.rows
                            ));
                        }
                        same = false;
                    }
                    (Some(a), Some(b)) if a.checksum != b.checksum => {
                        differences.push(if single {
                            "checksum differs".to_owned()
                        } else {
                            format!("checksum differs in partition {name}")
                        });
                        same = false;
                    }
                    _ => {}
                }
            }
            (None, None) => {}
        }
        partitions.push(PartitionCheck {
            name: name.to_owned(),
            result: if same { Outcome::Ok } else { Outcome::Mismatch },
            source_rows: src_sum.map(|s| s.rows),
            target_rows: dst_sum.map(|s| s.rows),
        });
    }
    (differences, partitions)
}

fn compare_columns(source: &[ColumnRow], target: &[ColumnRow], differences: &mut Vec<String>) {
    for column in source {
        match target.iter().find(|t| t.name == column.name) {
            None => differences.push(format!("column {} missing on target", column.name)),
            Some(t) if !t.column_type.eq_ignore_ascii_case(&column.column_type) => differences
                .push(format!(
                    "column {}: {} vs {}",
                    column.name, column.column_type, t.column_type
                )),
            Some(_) => {}
        }
    }
    for column in target {
        if !source.iter().any(|s| s.name == column.name) {
            differences.push(format!("column {} only on target", column.name));
        }
    }
    let common = |of: &[ColumnRow], other: &[ColumnRow]| -> Vec<String> {
        of.iter()
            .filter(|c| other.iter().any(|o| o.name == c.name))
            .map(|c| c.name.clone())
            .collect()
    };
    let (in_source, in_target) = (common(source, target), common(target, source));
    if in_source != in_target {
        differences.push(format!(
            "column order differs: {} vs {}",
            in_source.join(","),
            in_target.join(",")
        ));
    }
}

/// Verifies one table pair (see the module documentation for the consistent point).
pub async fn verify_table(
    source: &SqlClient,
    target: &SqlClient,
    pair: &TablePair,
    options: &VerifyOptions,
    catch_up: &dyn CatchUp,
) -> TableCheck {
    let mut check = TableCheck {
        table: pair.source.clone(),
        target_table: pair.target.clone(),
        result: Outcome::Unstable,
        differences: Vec::new(),
        attempts: 0,
        partitions: None,
    };
    for attempt in 1..=VERIFY_ATTEMPTS {
        check.attempts = attempt;
        match read_once(source, target, pair, options, catch_up).await {
            Ok(Reading::Compared {
                differences,
                partitions,
            }) => {
                check.result = if differences.is_empty() {
                    Outcome::Ok
                } else {
                    Outcome::Mismatch
                };
                check.differences = differences;
                check.partitions = options.partitions.then_some(partitions);
                return check;
            }
            Ok(Reading::TargetMissing) => {
                check.result = Outcome::Mismatch;
                check.differences = vec![format!(
                    "table {}.{} missing on target",
                    pair.target_db, pair.target
                )];
                return check;
            }
            Ok(Reading::NotCaughtUp) => {
                check.result = Outcome::Unstable;
                check.differences = vec![format!(
                    "the job did not catch up with the source within {}s",
                    options.catch_up_timeout.as_secs()
                )];
                return check;
            }
            Ok(Reading::SourceMoved) => {
                tracing::debug!(table = %pair.source, attempt, "source changed while verifying; reading again");
                check.differences = vec![format!(
                    "the source table kept changing while it was read ({VERIFY_ATTEMPTS} attempts)"
                )];
            }
            Err(error) => {
                check.result = Outcome::Error;
                check.differences = vec![error.to_string()];
                return check;
            }
        }
    }
    check.result = Outcome::Unstable;
    check
}

enum Reading {
    Compared {
        differences: Vec<String>,
        partitions: Vec<PartitionCheck>,
    },
    TargetMissing,
    NotCaughtUp,
    SourceMoved,
}

async fn read_once(
    source: &SqlClient,
    target: &SqlClient,
    pair: &TablePair,
    options: &VerifyOptions,
    catch_up: &dyn CatchUp,
) -> Result<Reading, JobError> {
    let mut src = structure(source, &pair.source_db, &pair.source).await?;
    if !target.table_exists(&pair.target_db, &pair.target).await? {
        return Ok(Reading::TargetMissing);
    }
    if !catch_up.wait(options.catch_up_timeout).await? {
        return Ok(Reading::NotCaughtUp);
    }
    let mut dst = structure(target, &pair.target_db, &pair.target).await?;
    let columns = hashed_columns(&src.columns, &dst.columns);
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    let per_partition = src.partitions.len() > 1 || dst.partitions.len() > 1;
    fill_sums(
        source,
        &pair.source_db,
        &pair.source,
        &columns,
        per_partition,
        &mut src,
    )
    .await?;
    fill_sums(
        target,
        &pair.target_db,
        &pair.target,
        &columns,
        per_partition,
        &mut dst,
    )
    .await?;
    let after = source.partitions(&pair.source_db, &pair.source).await?;
    if versions(&after) != versions(&src.partitions) {
        return Ok(Reading::SourceMoved);
    }
    let (differences, partitions) = compare(&src, &dst);
    Ok(Reading::Compared {
        differences,
        partitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, ty: &str) -> ColumnRow {
        ColumnRow {
            name: name.into(),
            column_type: ty.into(),
        }
    }

    fn partition(name: &str, range: &str) -> PartitionRow {
        PartitionRow {
            name: name.into(),
            range: range.into(),
            visible_version: 1,
        }
    }

    fn facts(parts: &[(&str, i64, i128)]) -> TableFacts {
        TableFacts {
            columns: vec![column("id", "int"), column("v", "varchar(20)")],
            comment: "orders".into(),
            partitions: parts.iter().map(|(n, _, _)| partition(n, "r")).collect(),
            sums: parts
                .iter()
                .map(|(n, rows, checksum)| {
                    (
                        (*n).to_owned(),
                        RowSum {
                            rows: *rows,
                            checksum: *checksum,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn checksum_sql_quotes_identifiers_and_keyword_names() {
        assert_eq!(
            checksum_sql("shop", "order", &["select", "a`b"], None),
            "SELECT COUNT(*) AS `row_count`, SUM(CAST(murmur_hash3_64(\
             ifnull(concat('v', CAST(`select` AS STRING)), 'n'), \
             ifnull(concat('v', CAST(`a``b` AS STRING)), 'n')) AS LARGEINT)) AS `checksum` \
             FROM `shop`.`order`"
        );
        assert!(checksum_sql("d", "t", &["id"], Some("p`1"))
            .ends_with("FROM `d`.`t` PARTITION (`p``1`)"));
    }

    #[test]
    fn hashed_columns_are_the_common_castable_ones_in_source_order() {
        let source = [
            column("id", "int"),
            column("uv", "bitmap"),
            column("v", "varchar(10)"),
            column("gone", "int"),
        ];
        let target = [
            column("v", "varchar(10)"),
            column("id", "int"),
            column("uv", "BITMAP"),
        ];
        assert_eq!(hashed_columns(&source, &target), vec!["id", "v"]);
    }

    #[test]
    fn equal_facts_have_no_differences() {
        let (differences, partitions) = compare(
            &facts(&[("p1", 2, 5), ("p2", 1, 7)]),
            &facts(&[("p1", 2, 5), ("p2", 1, 7)]),
        );
        assert!(differences.is_empty(), "{differences:?}");
        assert!(partitions.iter().all(|p| p.result == Outcome::Ok));
        assert_eq!(partitions[1].source_rows, Some(1));
    }

    #[test]
    fn differences_name_rows_partitions_and_checksums() {
        let (differences, partitions) = compare(
            &facts(&[("p1", 2, 5), ("p2", 1, 7), ("p3", 1, 1)]),
            &facts(&[("p1", 2, 6), ("p2", 2, 9), ("p4", 0, 0)]),
        );
        assert_eq!(
            differences,
            // 4 rows on each side in all: no total row count difference.
            vec![
                "checksum differs in partition p1",
                "row count differs in partition p2: 1 vs 2",
                "partition p3 missing on target",
                "partition p4 only on target",
            ]
        );
        let outcome: Vec<(&str, Outcome)> = partitions
            .iter()
            .map(|p| (p.name.as_str(), p.result))
            .collect();
        assert_eq!(
            outcome,
            vec![
                ("p1", Outcome::Mismatch),
                ("p2", Outcome::Mismatch),
                ("p3", Outcome::Mismatch),
                ("p4", Outcome::Mismatch)
            ]
        );
    }

    #[test]
    fn an_unpartitioned_table_reports_totals() {
        let (differences, _) = compare(&facts(&[("t", 10, 5)]), &facts(&[("t", 11, 9)]));
        assert_eq!(differences, vec!["row count 10 vs 11"]);
        let (differences, _) = compare(&facts(&[("t", 10, 5)]), &facts(&[("t", 10, 9)]));
        assert_eq!(differences, vec!["checksum differs"]);
    }

    #[test]
    fn columns_and_comments_are_compared() {
        let source = facts(&[("t", 1, 1)]);
        let mut target = source.clone();
        target.columns = vec![
            column("v", "varchar(20)"),
            column("id", "bigint"),
            column("extra", "int"),
        ];
        target.comment = "other".into();
        let (differences, _) = compare(&source, &target);
        assert_eq!(
            differences,
            vec![
                "column id: int vs bigint",
                "column extra only on target",
                "column order differs: id,v vs v,id",
                "comment differs: \"orders\" vs \"other\"",
            ]
        );
    }

    #[test]
    fn the_summary_counts_outcomes() {
        let check = |result| TableCheck {
            table: "t".into(),
            target_table: "t".into(),
            result,
            differences: vec![],
            attempts: 1,
            partitions: None,
        };
        let report = VerifyReport::new(vec![
            check(Outcome::Ok),
            check(Outcome::Mismatch),
            check(Outcome::Ok),
            check(Outcome::Unstable),
        ]);
        assert_eq!(
            report.summary,
            VerifySummary {
                tables: 4,
                ok: 2,
                mismatch: 1,
                unstable: 1,
                error: 0
            }
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["tables"][1]["result"], "mismatch");
        assert!(json["tables"][0].get("partitions").is_none());
    }
}
