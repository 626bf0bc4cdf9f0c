//! `FeSqlEngine`: the [`SqlEngine`] behind one simulated FE, and its per-connection
//! session (current database, session and user variables).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::ast::{Expr, SetAssignment, Statement};
use super::lexer::{split_statements, tokenize, TokenKind};
use super::parser::parse_statement;
use super::vars::{self, SESSION_VARIABLES};
use crate::catalog::types::Value;
use crate::catalog::user::{Privilege, User};
use crate::catalog::{Catalog, CatalogError};
use crate::session::{SqlEngine, SqlError, SqlSession, StatementResult};

/// The SQL engine of one simulated FE.
#[derive(Debug, Clone)]
pub struct FeSqlEngine {
    catalog: Arc<Catalog>,
}

impl FeSqlEngine {
    pub fn new(catalog: Arc<Catalog>) -> FeSqlEngine {
        FeSqlEngine { catalog }
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Opens a session without the trait object (tests, in-process callers).
    pub fn session(&self, user: &str, database: Option<&str>) -> Result<FeSession, SqlError> {
        let mut session = FeSession {
            catalog: self.catalog.clone(),
            user: user.to_owned(),
            current_db: None,
            variables: BTreeMap::new(),
            user_variables: HashMap::new(),
        };
        if self.catalog.read().user(user).is_none() {
            return Err(SqlError {
                code: 1045,
                sql_state: "28000".into(),
                message: format!("Access denied for user '{user}'"),
            });
        }
        if let Some(db) = database.filter(|d| !d.is_empty()) {
            session.use_database(db)?;
        }
        Ok(session)
    }
}

impl SqlEngine for FeSqlEngine {
    fn user_password(&self, user: &str) -> Option<String> {
        self.catalog
            .read()
            .user(user)
            .map(|u| u.password.expose().to_owned())
    }

    fn open_session(
        &self,
        user: &str,
        database: Option<&str>,
    ) -> Result<Box<dyn SqlSession>, SqlError> {
        Ok(Box::new(self.session(user, database)?))
    }
}

/// One connection's state.
pub struct FeSession {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) user: String,
    pub(crate) current_db: Option<String>,
    /// Session variables changed from their defaults (lower-case names).
    pub(crate) variables: BTreeMap<String, String>,
    pub(crate) user_variables: HashMap<String, Value>,
}

impl std::fmt::Debug for FeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeSession")
            .field("user", &self.user)
            .field("current_db", &self.current_db)
            .finish_non_exhaustive()
    }
}

impl SqlSession for FeSession {
    fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult, SqlError>> {
        let tokens = match tokenize(sql) {
            Ok(tokens) => tokens,
            Err(e) => return vec![Err(SqlError::analysis(format!("\nSyntax error: {e}")))],
        };
        let ranges = split_statements(&tokens);
        if ranges.is_empty() {
            return vec![Err(SqlError {
                code: 1065,
                sql_state: "42000".into(),
                message: "Query was empty".into(),
            })];
        }
        let mut results = Vec::new();
        for range in ranges {
            let first_word = match &tokens[range.start].kind {
                TokenKind::Word(word) => word.as_str(),
                _ => "",
            };
            self.catalog.calls().count_sql(first_word);
            let result = parse_statement(sql, &tokens[range])
                .map_err(|e| SqlError::analysis(e.0))
                .and_then(|stmt| self.execute_statement(stmt));
            let failed = result.is_err();
            results.push(result);
            if failed {
                break;
            }
        }
        results
    }

    fn use_database(&mut self, database: &str) -> Result<(), SqlError> {
        {
            let state = self.catalog.read();
            state.db_or_err(database)?;
            let user = state
                .user(&self.user)
                .ok_or_else(|| unknown_user(&self.user))?;
            if !user.can_see_db(database) && database != crate::catalog::INFORMATION_SCHEMA {
                return Err(db_access_denied(user, database));
            }
        }
        self.current_db = Some(database.to_owned());
        Ok(())
    }
}

impl FeSession {
    fn execute_statement(&mut self, stmt: Statement) -> Result<StatementResult, SqlError> {
        match stmt {
            Statement::Select(select) => self.execute_select(&select),
            Statement::Set(assignments) => self.set_variables(assignments),
            Statement::Use(db) => {
                self.use_database(&db)?;
                Ok(ok(0))
            }
            Statement::NoOp => Ok(ok(0)),
            Statement::ShowWarnings => Ok(StatementResult::Rows {
                columns: ["Level", "Code", "Message"]
                    .iter()
                    .map(|c| crate::session::ResultColumn::varchar(*c))
                    .collect(),
                rows: Vec::new(),
            }),
            Statement::ShowVariables(filter) => self.show_variables(&filter),
            stmt @ (Statement::ShowDatabases(_)
            | Statement::ShowTables { .. }
            | Statement::ShowCreateDatabase(_)
            | Statement::ShowCreateTable { .. }
            | Statement::ShowFrontends
            | Statement::ShowBackends
            | Statement::ShowFrontendConfig(_)
            | Statement::SetFrontendConfig(_)
            | Statement::ShowProc(_)
            | Statement::ShowPartitions { .. }
            | Statement::ShowTableById(_)
            | Statement::ShowGrants { .. }
            | Statement::ShowTransaction { .. }
            | Statement::ShowColumns { .. }
            | Statement::ShowAlterTableRollup { .. }) => self.execute_show(stmt),
            stmt @ (Statement::Backup { .. }
            | Statement::ShowBackup { .. }
            | Statement::ShowRestore { .. }
            | Statement::CancelBackupRestore { .. }) => self.execute_backup_restore(stmt),
            stmt @ (Statement::Insert(_)
            | Statement::Delete { .. }
            | Statement::Update { .. }
            | Statement::Truncate { .. }) => self.execute_dml(stmt),
            other => self.execute_ddl(other),
        }
    }

    /// The session's user record (cloned: privileges are checked outside the lock).
    pub(crate) fn current_user(&self) -> Result<User, SqlError> {
        self.catalog
            .read()
            .user(&self.user)
            .cloned()
            .ok_or_else(|| unknown_user(&self.user))
    }

    /// The database a possibly unqualified name refers to.
    pub(crate) fn resolve_db(&self, db: Option<&str>) -> Result<String, SqlError> {
        match db {
            Some(db) => Ok(db.to_owned()),
            None => self
                .current_db
                .clone()
                .ok_or_else(|| CatalogError::NoDatabaseSelected.into()),
        }
    }

    pub(crate) fn require_global(
        &self,
        privilege_text: &str,
        allowed: impl Fn(&User) -> bool,
    ) -> Result<User, SqlError> {
        let user = self.current_user()?;
        if allowed(&user) {
            Ok(user)
        } else {
            Err(SqlError {
                code: 1227,
                sql_state: "42000".into(),
                message: format!(
                    "errCode = 2, detailMessage = Access denied; you need (at least one of) the {privilege_text} privilege(s) for this operation"
                ),
            })
        }
    }

    pub(crate) fn require_db(&self, db: &str, privilege: Privilege) -> Result<(), SqlError> {
        let user = self.current_user()?;
        if user.has_db_privilege(db, privilege) {
            Ok(())
        } else {
            Err(db_access_denied(&user, db))
        }
    }

    pub(crate) fn require_table(
        &self,
        db: &str,
        table: &str,
        privilege: Privilege,
    ) -> Result<(), SqlError> {
        let user = self.current_user()?;
        if user.has_table_privilege(db, table, privilege) {
            Ok(())
        } else {
            Err(SqlError {
                code: 1142,
                sql_state: "42000".into(),
                message: format!(
                    "errCode = 2, detailMessage = {} command denied to user '{}'@'{}' for table '{db}.{table}'",
                    privilege.name(),
                    user.name,
                    user.host
                ),
            })
        }
    }

    /// Value of a session variable (`@@name`), `None` if unknown.
    pub(crate) fn variable(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        if let Some(v) = self.variables.get(&name) {
            return Some(v.clone());
        }
        SESSION_VARIABLES
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.default.to_owned())
    }

    fn set_variables(
        &mut self,
        assignments: Vec<SetAssignment>,
    ) -> Result<StatementResult, SqlError> {
        for assignment in assignments {
            if assignment.user_var {
                let value = self.eval_const(&assignment.value)?;
                self.user_variables
                    .insert(assignment.name.to_ascii_lowercase(), value);
                continue;
            }
            if assignment.name == "names" {
                let charset = self.eval_const(&assignment.value)?.to_text();
                for var in [
                    "character_set_client",
                    "character_set_connection",
                    "character_set_results",
                ] {
                    self.variables.insert(var.to_owned(), charset.clone());
                }
                continue;
            }
            let Some(spec) = SESSION_VARIABLES.iter().find(|v| v.name == assignment.name) else {
                return Err(SqlError {
                    code: 1193,
                    sql_state: "HY000".into(),
                    message: format!(
                        "errCode = 2, detailMessage = Unknown system variable '{}',the similar variables are {{{}}}",
                        assignment.name,
                        vars::similar_names(&assignment.name).join(", ")
                    ),
                });
            };
            if spec.read_only {
                return Err(SqlError {
                    code: 1238,
                    sql_state: "HY000".into(),
                    message: format!(
                        "errCode = 2, detailMessage = Variable '{}' is a read only variable",
                        spec.name
                    ),
                });
            }
            let value = match &assignment.value {
                Expr::Column(parts)
                    if parts.len() == 1 && parts[0].eq_ignore_ascii_case("DEFAULT") =>
                {
                    spec.default.to_owned()
                }
                // Bare words (`SET autocommit = ON`, `SET sql_mode = ANSI`) are values, not columns.
                Expr::Column(parts) if parts.len() == 1 => parts[0].clone(),
                expr => self.eval_const(expr)?.to_text(),
            };
            let value = vars::validate(spec, &value).map_err(|m| SqlError {
                code: 1231,
                sql_state: "42000".into(),
                message: format!("errCode = 2, detailMessage = {m}"),
            })?;
            if !assignment.global {
                self.variables.insert(spec.name.to_owned(), value);
            }
        }
        Ok(ok(0))
    }
}

pub(crate) fn ok(affected_rows: u64) -> StatementResult {
    StatementResult::Ok {
        affected_rows,
        info: None,
    }
}

fn unknown_user(user: &str) -> SqlError {
    SqlError {
        code: 1045,
        sql_state: "28000".into(),
        message: format!("Access denied for user '{user}'"),
    }
}

pub(crate) fn db_access_denied(user: &User, db: &str) -> SqlError {
    SqlError {
        code: 1044,
        sql_state: "42000".into(),
        message: format!(
            "errCode = 2, detailMessage = Access denied for user '{}'@'{}' to database '{db}'",
            user.name, user.host
        ),
    }
}

impl From<CatalogError> for SqlError {
    fn from(e: CatalogError) -> Self {
        let (code, state) = e.mysql_code();
        SqlError {
            code,
            sql_state: state.into(),
            message: format!("errCode = 2, detailMessage = {e}"),
        }
    }
}
