//! BACKUP SNAPSHOT, SHOW BACKUP, SHOW [BRIEF] RESTORE, CANCEL BACKUP / RESTORE (sheet §1.4,
//! §2.2, §2.3). The jobs themselves live in [`crate::backup`].

use super::ast::{BackupRef, BinaryOp, Expr, Statement};
use super::engine::{ok, FeSession};
use crate::backup::backup_job::{
    drive, start_backup, BackupRequest, BackupRestoreError, BackupTableRef,
};
use crate::backup::{LabelFilter, SHOW_BACKUP_COLUMNS, SHOW_RESTORE_COLUMNS};
use crate::catalog::now_ms;
use crate::catalog::user::Privilege;
use crate::session::{ResultColumn, SqlError, StatementResult};

/// Doris's complaint about a SHOW BACKUP WHERE clause it cannot use.
const SHOW_BACKUP_WHERE_HINT: &str =
    "Where clause should like: SnapshotName = \"your_snapshot_name\",  or SnapshotName LIKE \"matcher\"";
/// Doris's complaint about a SHOW RESTORE WHERE clause it cannot use.
const SHOW_RESTORE_WHERE_HINT: &str =
    "Where clause should like: LABEL = \"your_label_name\",  or LABEL LIKE \"matcher\"";
/// Properties BACKUP accepts.
const BACKUP_PROPERTIES: [&str; 3] = ["type", "timeout", "content"];
/// SHOW RESTORE columns SHOW BRIEF RESTORE leaves out.
const NOT_IN_BRIEF_RESTORE: [&str; 3] = ["RestoreObjs", "Progress", "TaskErrMsg"];

impl From<BackupRestoreError> for SqlError {
    fn from(e: BackupRestoreError) -> Self {
        match e {
            BackupRestoreError::UnknownTable(_) => SqlError {
                code: 1051,
                sql_state: "42S02".into(),
                message: format!("errCode = 2, detailMessage = {e}"),
            },
            BackupRestoreError::Catalog(c) => c.into(),
            BackupRestoreError::Common(m) => SqlError::analysis(m),
        }
    }
}

/// `<column> = "x"` or `<column> LIKE "x"` on the label column, else Doris's hint.
fn label_filter(filter: Option<Expr>, column: &str, hint: &str) -> Result<LabelFilter, SqlError> {
    let is_column = |e: &Expr| matches!(e, Expr::Column(parts) if parts.last().is_some_and(|c| c.eq_ignore_ascii_case(column)));
    match filter {
        None => Ok(LabelFilter::All),
        Some(Expr::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        }) if is_column(&left) => match *right {
            Expr::Literal(value) => Ok(LabelFilter::Equals(value.to_text())),
            _ => Err(SqlError::analysis(hint)),
        },
        Some(Expr::Like {
            expr,
            pattern,
            negated: false,
        }) if is_column(&expr) => match *pattern {
            Expr::Literal(value) => Ok(LabelFilter::Like(value.to_text())),
            _ => Err(SqlError::analysis(hint)),
        },
        Some(_) => Err(SqlError::analysis(hint)),
    }
}

fn rows_result(columns: &[&str], rows: Vec<Vec<String>>) -> StatementResult {
    StatementResult::Rows {
        columns: columns.iter().map(|c| ResultColumn::varchar(*c)).collect(),
        rows: rows
            .into_iter()
            .map(|r| r.into_iter().map(Some).collect())
            .collect(),
    }
}

impl FeSession {
    pub(crate) fn execute_backup_restore(
        &mut self,
        stmt: Statement,
    ) -> Result<StatementResult, SqlError> {
        match stmt {
            Statement::Backup {
                name,
                repository,
                refs,
                exclude,
                properties,
            } => self.backup(name.db, name.name, repository, refs, exclude, properties),
            Statement::ShowBackup { db, filter } => {
                let db = self.resolve_db(db.as_deref())?;
                let filter = label_filter(filter, "SnapshotName", SHOW_BACKUP_WHERE_HINT)?;
                self.require_db(&db, Privilege::Load)?;
                let state = self.catalog.read();
                let db_id = state.db_or_err(&db)?.id;
                let rows = state
                    .backup_restore
                    .backups_of(db_id)
                    .filter(|job| filter.matches(&job.label))
                    .map(|job| job.show_row())
                    .collect();
                Ok(rows_result(&SHOW_BACKUP_COLUMNS, rows))
            }
            Statement::ShowRestore { db, filter, brief } => {
                let db = self.resolve_db(db.as_deref())?;
                let filter = label_filter(filter, "Label", SHOW_RESTORE_WHERE_HINT)?;
                self.require_db(&db, Privilege::Load)?;
                let state = self.catalog.read();
                let db_id = state.db_or_err(&db)?.id;
                let keep: Vec<bool> = SHOW_RESTORE_COLUMNS
                    .iter()
                    .map(|c| !brief || !NOT_IN_BRIEF_RESTORE.contains(c))
                    .collect();
                let columns: Vec<&str> = SHOW_RESTORE_COLUMNS
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(c, _)| *c)
                    .collect();
                let rows = state
                    .backup_restore
                    .restores_of(db_id)
                    .filter(|job| filter.matches(&job.label))
                    .map(|job| {
                        job.show_row()
                            .into_iter()
                            .zip(&keep)
                            .filter(|(_, k)| **k)
                            .map(|(v, _)| v)
                            .collect()
                    })
                    .collect();
                Ok(rows_result(&columns, rows))
            }
            Statement::CancelBackupRestore { db, restore } => {
                let db = self.resolve_db(db.as_deref())?;
                self.require_db(&db, Privilege::Load)?;
                let mut state = self.catalog.write();
                let db_id = state.db_or_err(&db)?.id;
                state
                    .backup_restore
                    .cancel(db_id, restore, now_ms())
                    .map_err(|m| SqlError::analysis(format!("Failed to cancel job: {m}")))?;
                state.journal_op();
                Ok(ok(0))
            }
            other => Err(SqlError::analysis(format!(
                "Unsupported statement: {other:?}"
            ))),
        }
    }

    fn backup(
        &mut self,
        db: Option<String>,
        label: String,
        repository: String,
        refs: Option<Vec<BackupRef>>,
        exclude: bool,
        properties: Vec<(String, String)>,
    ) -> Result<StatementResult, SqlError> {
        let db = self.resolve_db(db.as_deref())?;
        self.require_db(&db, Privilege::Load)?;
        let unknown: Vec<&str> = properties
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !BACKUP_PROPERTIES.contains(k))
            .collect();
        if !unknown.is_empty() {
            return Err(SqlError::analysis(format!(
                "Unknown backup job properties: [{}]",
                unknown.join(", ")
            )));
        }
        let mut timeout_ms = None;
        for (key, value) in &properties {
            match key.as_str() {
                "type" if !value.eq_ignore_ascii_case("full") => {
                    return Err(SqlError::analysis(format!(
                        "Invalid backup job type: {value}"
                    )))
                }
                "timeout" => {
                    let seconds: i64 = value.parse().map_err(|_| {
                        SqlError::analysis(format!("Invalid timeout format: {value}"))
                    })?;
                    timeout_ms = Some(seconds.saturating_mul(1000));
                }
                _ => {}
            }
        }
        let request = BackupRequest {
            db,
            label,
            repository,
            refs: refs.map(|refs| {
                refs.into_iter()
                    .map(|r| BackupTableRef {
                        table: r.table,
                        partitions: r.partitions,
                        temporary_partitions: r.temporary,
                    })
                    .collect()
            }),
            exclude,
            timeout_ms,
        };
        let job_id = start_backup(&mut self.catalog.write(), &request)?;
        drive(self.catalog.clone(), job_id);
        Ok(ok(0))
    }
}
