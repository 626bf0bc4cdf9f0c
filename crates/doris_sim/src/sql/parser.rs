//! Recursive-descent parser for the statements the simulated FE accepts.

use super::ast::*;
use super::lexer::{Token, TokenKind};
use crate::catalog::table::{AggregationType, Buckets, DefaultValue, KeysModel, PartitionKind};
use crate::catalog::types::{ColumnType, Value};

/// A syntax error, worded like Doris' parser (`mismatched input ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

type PResult<T> = Result<T, ParseError>;

/// Parses the tokens of one statement (no trailing `;`). `src` is the full query text the
/// token offsets refer to.
pub fn parse_statement(src: &str, tokens: &[Token]) -> PResult<Statement> {
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
    };
    let stmt = p.statement()?;
    if p.pos < tokens.len() {
        return Err(p.unexpected("end of statement"));
    }
    Ok(stmt)
}

struct Parser<'a> {
    src: &'a str,
    tokens: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, offset: usize) -> Option<&'a Token> {
        self.tokens.get(self.pos + offset)
    }

    fn at_word(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.is_word(word))
    }

    fn at_words(&self, words: &[&str]) -> bool {
        words
            .iter()
            .enumerate()
            .all(|(i, w)| self.peek_at(i).is_some_and(|t| t.is_word(w)))
    }

    fn at_symbol(&self, symbol: &str) -> bool {
        self.peek().is_some_and(|t| t.is_symbol(symbol))
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if self.at_word(word) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat_words(&mut self, words: &[&str]) -> bool {
        if self.at_words(words) {
            self.pos += words.len();
            true
        } else {
            false
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        if self.at_symbol(symbol) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn unexpected(&self, expecting: &str) -> ParseError {
        match self.peek() {
            Some(t) => ParseError(format!(
                "\nmismatched input '{}' expecting {expecting}(line 1, pos {})",
                &self.src[t.start..t.end],
                t.start
            )),
            None => ParseError(format!("\nmismatched input '<EOF>' expecting {expecting}")),
        }
    }

    fn expect_word(&mut self, word: &str) -> PResult<()> {
        if self.eat_word(word) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{}'", word.to_ascii_uppercase())))
        }
    }

    fn expect_symbol(&mut self, symbol: &str) -> PResult<()> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{symbol}'")))
        }
    }

    /// An identifier: a bare word or a backquoted name.
    fn ident(&mut self) -> PResult<String> {
        match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Word(w)) => {
                self.pos += 1;
                Ok(w.clone())
            }
            Some(TokenKind::QuotedIdent(w)) => {
                self.pos += 1;
                Ok(w.clone())
            }
            _ => Err(self.unexpected("an identifier")),
        }
    }

    /// An identifier or a quoted string (user names, labels, some Doris names).
    fn ident_or_string(&mut self) -> PResult<String> {
        if let Some(TokenKind::Str(s)) = self.peek().map(|t| &t.kind) {
            self.pos += 1;
            return Ok(s.clone());
        }
        self.ident()
    }

    fn string(&mut self) -> PResult<String> {
        match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Str(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            _ => Err(self.unexpected("a string literal")),
        }
    }

    fn integer(&mut self) -> PResult<i64> {
        match self.peek().map(|t| &t.kind) {
            Some(TokenKind::Number(n)) => {
                let value = n.parse().map_err(|_| self.unexpected("an integer"))?;
                self.pos += 1;
                Ok(value)
            }
            _ => Err(self.unexpected("an integer")),
        }
    }

    fn text_between(&self, from: usize, to: usize) -> String {
        if from >= to {
            return String::new();
        }
        self.src[self.tokens[from].start..self.tokens[to - 1].end].to_owned()
    }

    /// `[catalog.][db.]name`.
    fn object_name(&mut self) -> PResult<ObjectName> {
        let mut parts = vec![self.ident()?];
        while self.at_symbol(".") {
            self.pos += 1;
            parts.push(self.ident()?);
        }
        if parts.len() == 3 && parts[0].eq_ignore_ascii_case("internal") {
            parts.remove(0);
        }
        match parts.len() {
            1 => Ok(ObjectName {
                db: None,
                name: parts.remove(0),
            }),
            2 => {
                let name = parts.pop().expect("two parts");
                Ok(ObjectName {
                    db: parts.pop(),
                    name,
                })
            }
            _ => Err(ParseError(format!(
                "Invalid object name: {}",
                parts.join(".")
            ))),
        }
    }

    fn ident_list(&mut self) -> PResult<Vec<String>> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        if self.eat_symbol(")") {
            return Ok(out);
        }
        loop {
            out.push(self.ident()?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        Ok(out)
    }

    /// `("k" = "v", ...)`.
    fn property_list(&mut self) -> PResult<Vec<(String, String)>> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        if self.eat_symbol(")") {
            return Ok(out);
        }
        loop {
            let key = self.ident_or_string()?;
            self.expect_symbol("=")?;
            let value = match self.peek().map(|t| &t.kind) {
                Some(TokenKind::Number(n)) => {
                    self.pos += 1;
                    n.clone()
                }
                _ => self.ident_or_string()?,
            };
            out.push((key, value));
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        Ok(out)
    }

    fn optional_properties(&mut self) -> PResult<Vec<(String, String)>> {
        if self.eat_word("PROPERTIES") {
            self.property_list()
        } else {
            Ok(Vec::new())
        }
    }

    fn statement(&mut self) -> PResult<Statement> {
        let Some(first) = self.peek() else {
            return Ok(Statement::NoOp);
        };
        if first.is_symbol("(") {
            return Ok(Statement::Select(Box::new(self.select()?)));
        }
        let TokenKind::Word(word) = &first.kind else {
            return Err(self.unexpected("a statement"));
        };
        match word.to_ascii_uppercase().as_str() {
            "SELECT" => Ok(Statement::Select(Box::new(self.select()?))),
            "SET" => self.set_statement(),
            "USE" => {
                self.pos += 1;
                let name = self.object_name()?;
                Ok(Statement::Use(name.name))
            }
            "SHOW" => self.show(),
            "DESC" | "DESCRIBE" => {
                self.pos += 1;
                let table = self.object_name()?;
                let all_indexes = self.eat_word("ALL");
                Ok(Statement::ShowColumns {
                    table,
                    full: false,
                    all_indexes,
                })
            }
            "ADMIN" => self.admin(),
            "CREATE" => self.create(),
            "DROP" => self.drop(),
            "ALTER" => self.alter(),
            "GRANT" => self.grant(),
            "TRUNCATE" => self.truncate(),
            "INSERT" => self.insert(),
            "DELETE" => self.delete(),
            "UPDATE" => self.update(),
            "BACKUP" => self.backup(),
            "CANCEL" => self.cancel_backup_restore(),
            "SYNC" | "BEGIN" | "COMMIT" | "ROLLBACK" => {
                self.pos = self.tokens.len();
                Ok(Statement::NoOp)
            }
            _ => Err(self.unexpected("a statement")),
        }
    }

    fn set_statement(&mut self) -> PResult<Statement> {
        self.expect_word("SET")?;
        let mut assignments = Vec::new();
        loop {
            let mut global = false;
            if self.eat_word("GLOBAL") {
                global = true;
            } else if !self.eat_word("SESSION") {
                self.eat_word("LOCAL");
            }
            if self.eat_word("NAMES") {
                let charset = if self.eat_word("DEFAULT") {
                    "utf8mb4".to_owned()
                } else {
                    self.ident_or_string()?
                };
                if self.eat_word("COLLATE") {
                    self.ident_or_string()?;
                }
                assignments.push(SetAssignment {
                    name: "names".into(),
                    user_var: false,
                    global,
                    value: Expr::Literal(Value::Text(charset)),
                });
            } else if self.at_words(&["CHARACTER", "SET"]) || self.at_word("CHARSET") {
                if !self.eat_word("CHARSET") {
                    self.pos += 2;
                }
                let charset = self.ident_or_string()?;
                assignments.push(SetAssignment {
                    name: "names".into(),
                    user_var: false,
                    global,
                    value: Expr::Literal(Value::Text(charset)),
                });
            } else {
                let (name, user_var) = match self.peek().map(|t| t.kind.clone()) {
                    Some(TokenKind::UserVar(v)) => {
                        self.pos += 1;
                        (v, true)
                    }
                    Some(TokenKind::SystemVar(v)) => {
                        self.pos += 1;
                        (v, false)
                    }
                    _ => {
                        let mut name = self.ident()?;
                        // `SET PASSWORD`, `SET PROPERTY` are not modelled; `a.b` forms are vars.
                        while self.eat_symbol(".") {
                            name = format!("{name}.{}", self.ident()?);
                        }
                        (name.to_ascii_lowercase(), false)
                    }
                };
                if !self.eat_symbol("=") {
                    self.expect_symbol(":=")?;
                }
                let value = if self.at_word("DEFAULT")
                    && self.peek_at(1).is_none_or(|t| t.is_symbol(","))
                {
                    self.pos += 1;
                    Expr::Column(vec!["DEFAULT".into()])
                } else if self.at_word("ON") || self.at_word("OFF") {
                    let v = self.ident()?;
                    Expr::Literal(Value::Text(v.to_ascii_uppercase()))
                } else {
                    self.expr()?
                };
                assignments.push(SetAssignment {
                    name,
                    user_var,
                    global,
                    value,
                });
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        Ok(Statement::Set(assignments))
    }

    fn show_filter(&mut self) -> PResult<ShowFilter> {
        let mut filter = ShowFilter::default();
        if self.eat_word("LIKE") {
            filter.like = Some(self.string()?);
        } else if self.eat_word("WHERE") {
            filter.filter = Some(self.expr()?);
        }
        Ok(filter)
    }

    fn show(&mut self) -> PResult<Statement> {
        self.expect_word("SHOW")?;
        if self.eat_word("DATABASES") || self.eat_word("SCHEMAS") {
            return Ok(Statement::ShowDatabases(self.show_filter()?));
        }
        if self.eat_word("GRANTS") {
            let user = if self.eat_word("FOR") {
                Some(self.user_identity()?)
            } else {
                None
            };
            return Ok(Statement::ShowGrants { all: false, user });
        }
        if self.eat_words(&["ALL", "GRANTS"]) {
            return Ok(Statement::ShowGrants {
                all: true,
                user: None,
            });
        }
        let full = self.eat_word("FULL");
        if self.eat_word("TABLES") {
            let db = if self.eat_word("FROM") || self.eat_word("IN") {
                Some(self.object_name()?.name)
            } else {
                None
            };
            return Ok(Statement::ShowTables {
                full,
                db,
                filter: self.show_filter()?,
            });
        }
        if self.eat_word("COLUMNS") || self.eat_word("FIELDS") {
            if !self.eat_word("FROM") {
                self.expect_word("IN")?;
            }
            let mut table = self.object_name()?;
            if self.eat_word("FROM") || self.eat_word("IN") {
                table.db = Some(self.ident()?);
            }
            return Ok(Statement::ShowColumns {
                table,
                full,
                all_indexes: false,
            });
        }
        if full {
            return Err(self.unexpected("TABLES or COLUMNS"));
        }
        if self.eat_word("CREATE") {
            if self.eat_word("DATABASE") || self.eat_word("SCHEMA") {
                return Ok(Statement::ShowCreateDatabase(self.object_name()?.name));
            }
            let view_expected = self.eat_word("VIEW");
            if !view_expected {
                self.expect_word("TABLE")?;
            }
            return Ok(Statement::ShowCreateTable {
                name: self.object_name()?,
                view_expected,
            });
        }
        if self.eat_word("FRONTENDS") {
            return Ok(Statement::ShowFrontends);
        }
        if self.eat_word("BACKENDS") {
            return Ok(Statement::ShowBackends);
        }
        if self.eat_words(&["FRONTEND", "CONFIG"]) {
            return Ok(Statement::ShowFrontendConfig(self.show_filter()?));
        }
        if self.eat_word("GLOBAL") || self.eat_word("SESSION") || self.at_word("VARIABLES") {
            self.expect_word("VARIABLES")?;
            return Ok(Statement::ShowVariables(self.show_filter()?));
        }
        if self.eat_word("PROC") {
            return Ok(Statement::ShowProc(self.string()?));
        }
        if self.eat_word("WARNINGS") || self.eat_word("ERRORS") {
            if self.eat_word("LIMIT") {
                self.integer()?;
            }
            return Ok(Statement::ShowWarnings);
        }
        let temporary = self.eat_word("TEMPORARY");
        if self.eat_word("PARTITIONS") {
            self.expect_word("FROM")?;
            let table = self.object_name()?;
            let filter = self.show_filter()?;
            let order_by = if self.eat_words(&["ORDER", "BY"]) {
                self.order_items()?
            } else {
                Vec::new()
            };
            let limit = if self.eat_word("LIMIT") {
                Some(self.integer()? as u64)
            } else {
                None
            };
            return Ok(Statement::ShowPartitions {
                table,
                temporary,
                filter,
                order_by,
                limit,
            });
        }
        if temporary {
            return Err(self.unexpected("PARTITIONS"));
        }
        if self.eat_word("TABLE") {
            return Ok(Statement::ShowTableById(self.integer()?));
        }
        if self.eat_words(&["ALTER", "TABLE"]) {
            self.expect_word("ROLLUP")?;
            let db = if self.eat_word("FROM") || self.eat_word("IN") {
                Some(self.ident()?)
            } else {
                None
            };
            return Ok(Statement::ShowAlterTableRollup {
                db,
                filter: self.show_filter()?,
            });
        }
        if self.eat_word("BACKUP") {
            let (db, filter) = self.job_db_and_filter()?;
            return Ok(Statement::ShowBackup { db, filter });
        }
        let brief = self.eat_word("BRIEF");
        if brief || self.at_word("RESTORE") {
            self.expect_word("RESTORE")?;
            let (db, filter) = self.job_db_and_filter()?;
            return Ok(Statement::ShowRestore { db, filter, brief });
        }
        if self.eat_word("TRANSACTION") {
            let db = if self.eat_word("FROM") || self.eat_word("IN") {
                Some(self.ident()?)
            } else {
                None
            };
            let filter = if self.eat_word("WHERE") {
                Some(self.expr()?)
            } else {
                None
            };
            return Ok(Statement::ShowTransaction { db, filter });
        }
        Err(self.unexpected("a SHOW target"))
    }

    /// `[FROM | IN db] [WHERE expr]` of SHOW BACKUP / SHOW RESTORE.
    fn job_db_and_filter(&mut self) -> PResult<(Option<String>, Option<Expr>)> {
        let db = if self.eat_word("FROM") || self.eat_word("IN") {
            Some(self.ident()?)
        } else {
            None
        };
        let filter = if self.eat_word("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok((db, filter))
    }

    fn backup(&mut self) -> PResult<Statement> {
        self.expect_word("BACKUP")?;
        self.expect_word("SNAPSHOT")?;
        let name = self.object_name()?;
        self.expect_word("TO")?;
        let repository = self.ident()?;
        let exclude = self.at_word("EXCLUDE");
        let refs = if self.eat_word("ON") || self.eat_word("EXCLUDE") {
            self.expect_symbol("(")?;
            let mut refs = Vec::new();
            loop {
                let table = self.ident()?;
                let temporary = self.eat_word("TEMPORARY");
                let partitions = if self.eat_word("PARTITION") || self.eat_word("PARTITIONS") {
                    self.ident_list()?
                } else if temporary {
                    return Err(self.unexpected("PARTITION"));
                } else {
                    Vec::new()
                };
                refs.push(BackupRef {
                    table,
                    partitions,
                    temporary,
                });
                if !self.eat_symbol(",") {
                    break;
                }
            }
            self.expect_symbol(")")?;
            Some(refs)
        } else {
            None
        };
        let properties = self.optional_properties()?;
        Ok(Statement::Backup {
            name,
            repository,
            refs,
            exclude,
            properties,
        })
    }

    fn cancel_backup_restore(&mut self) -> PResult<Statement> {
        self.expect_word("CANCEL")?;
        let restore = if self.eat_word("BACKUP") {
            false
        } else {
            self.expect_word("RESTORE")?;
            true
        };
        let db = if self.eat_word("FROM") || self.eat_word("IN") {
            Some(self.ident()?)
        } else {
            None
        };
        Ok(Statement::CancelBackupRestore { db, restore })
    }

    fn admin(&mut self) -> PResult<Statement> {
        self.expect_word("ADMIN")?;
        if self.eat_words(&["SHOW", "FRONTEND", "CONFIG"]) {
            return Ok(Statement::ShowFrontendConfig(self.show_filter()?));
        }
        if self.eat_words(&["SET", "FRONTEND", "CONFIG"]) {
            let props = self.property_list()?;
            return Ok(Statement::SetFrontendConfig(props));
        }
        Err(self.unexpected("SHOW FRONTEND CONFIG or SET FRONTEND CONFIG"))
    }

    fn if_not_exists(&mut self) -> bool {
        self.eat_words(&["IF", "NOT", "EXISTS"])
    }

    fn if_exists(&mut self) -> bool {
        self.eat_words(&["IF", "EXISTS"])
    }

    fn create(&mut self) -> PResult<Statement> {
        self.expect_word("CREATE")?;
        if self.eat_word("DATABASE") || self.eat_word("SCHEMA") {
            let if_not_exists = self.if_not_exists();
            let name = self.object_name()?.name;
            let properties = self.optional_properties()?;
            return Ok(Statement::CreateDatabase {
                if_not_exists,
                name,
                properties,
            });
        }
        if self.eat_word("USER") {
            let if_not_exists = self.if_not_exists();
            let user = self.user_identity()?;
            let mut password = None;
            if self.eat_word("IDENTIFIED") {
                self.expect_word("BY")?;
                if self.eat_word("PASSWORD") {
                    return Err(ParseError(
                        "Hashed passwords are not supported by the simulator".into(),
                    ));
                }
                password = Some(self.string()?);
            }
            // `DEFAULT ROLE 'r'` and password policies are accepted and ignored.
            self.pos = self.tokens.len();
            return Ok(Statement::CreateUser {
                if_not_exists,
                user,
                password,
            });
        }
        if self.eat_words(&["MATERIALIZED", "VIEW"]) {
            let if_not_exists = self.if_not_exists();
            let name = self.ident()?;
            self.expect_word("AS")?;
            let query = Box::new(self.select()?);
            // `PROPERTIES (...)` after the query is accepted and ignored.
            self.optional_properties()?;
            return Ok(Statement::CreateMaterializedView {
                if_not_exists,
                name,
                query,
            });
        }
        let or_replace = self.eat_words(&["OR", "REPLACE"]);
        if self.eat_word("VIEW") {
            let if_not_exists = self.if_not_exists();
            let name = self.object_name()?;
            let columns = if self.at_symbol("(") {
                self.view_columns()?
            } else {
                Vec::new()
            };
            let comment = if self.eat_word("COMMENT") {
                Some(self.string()?)
            } else {
                None
            };
            self.expect_word("AS")?;
            let query = Box::new(self.select()?);
            return Ok(Statement::CreateView {
                if_not_exists,
                or_replace,
                name,
                columns,
                comment,
                query,
            });
        }
        self.eat_word("EXTERNAL");
        self.expect_word("TABLE")?;
        Ok(Statement::CreateTable(Box::new(self.create_table_body()?)))
    }

    fn view_columns(&mut self) -> PResult<Vec<String>> {
        self.expect_symbol("(")?;
        let mut out = Vec::new();
        loop {
            out.push(self.ident()?);
            if self.eat_word("COMMENT") {
                self.string()?;
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        Ok(out)
    }

    fn user_identity(&mut self) -> PResult<UserIdentity> {
        let name = self.ident_or_string()?;
        let host = match self.peek().map(|t| &t.kind) {
            // `'u'@'%'`: the lexer reads `@'%'` as a user variable named `%`.
            Some(TokenKind::UserVar(h)) => {
                let h = h.clone();
                self.pos += 1;
                h
            }
            _ => "%".to_owned(),
        };
        Ok(UserIdentity { name, host })
    }

    fn create_table_body(&mut self) -> PResult<CreateTable> {
        let if_not_exists = self.if_not_exists();
        let name = self.object_name()?;
        let mut columns = Vec::new();
        let mut indexes = Vec::new();
        self.expect_symbol("(")?;
        loop {
            if self.at_symbol(")") {
                break; // trailing comma accepted
            }
            if self.at_word("INDEX") {
                indexes.push(self.index_def()?);
            } else {
                columns.push(self.column_def()?);
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        let mut table = CreateTable {
            if_not_exists,
            name,
            columns,
            indexes,
            keys: None,
            comment: None,
            partition: None,
            distribution: None,
            properties: Vec::new(),
        };
        loop {
            if self.eat_word("ENGINE") {
                self.expect_symbol("=")?;
                let engine = self.ident()?;
                if !engine.eq_ignore_ascii_case("olap") {
                    return Err(ParseError(format!("Unsupported engine: {engine}")));
                }
            } else if let Some(model) = [
                ("DUPLICATE", KeysModel::Duplicate),
                ("UNIQUE", KeysModel::Unique),
                ("AGGREGATE", KeysModel::Aggregate),
            ]
            .iter()
            .find(|(w, _)| self.at_words(&[w, "KEY"]))
            .map(|(_, m)| *m)
            {
                self.pos += 2;
                table.keys = Some((model, self.ident_list()?));
            } else if self.eat_word("COMMENT") {
                table.comment = Some(self.string()?);
            } else if self.at_words(&["AUTO", "PARTITION"]) || self.at_words(&["PARTITION", "BY"]) {
                table.partition = Some(self.partition_clause()?);
            } else if self.at_word("DISTRIBUTED") {
                table.distribution = Some(self.distribution()?);
            } else if self.eat_word("ROLLUP") {
                return Err(ParseError(
                    "ROLLUP in CREATE TABLE is not supported by the simulator".into(),
                ));
            } else if self.eat_word("PROPERTIES") {
                table.properties = self.property_list()?;
            } else {
                break;
            }
        }
        Ok(table)
    }

    fn index_def(&mut self) -> PResult<String> {
        let start = self.pos;
        self.expect_word("INDEX")?;
        self.if_not_exists();
        let name = self.ident()?;
        let cols = self.ident_list()?;
        let mut text = format!(
            "INDEX {name} ({})",
            cols.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(",")
        );
        if self.eat_word("USING") {
            text.push_str(&format!(" USING {}", self.ident()?.to_ascii_uppercase()));
        }
        if self.eat_word("PROPERTIES") {
            let props = self.property_list()?;
            let rendered: Vec<String> = props
                .iter()
                .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
                .collect();
            text.push_str(&format!(" PROPERTIES({})", rendered.join(", ")));
        }
        let comment = if self.eat_word("COMMENT") {
            self.string()?
        } else {
            String::new()
        };
        text.push_str(&format!(" COMMENT '{comment}'"));
        debug_assert!(self.pos > start);
        Ok(text)
    }

    fn column_type(&mut self) -> PResult<ColumnType> {
        let start = self.pos;
        let name = self.ident()?;
        let upper = name.to_ascii_uppercase();
        if matches!(upper.as_str(), "ARRAY" | "MAP" | "STRUCT") {
            // Keep the declaration text of complex types.
            self.expect_symbol("<")?;
            let mut depth = 1;
            while depth > 0 {
                let t = self.peek().ok_or_else(|| self.unexpected("'>'"))?;
                if t.is_symbol("<") {
                    depth += 1;
                } else if t.is_symbol(">") {
                    depth -= 1;
                }
                self.pos += 1;
            }
            let text = self
                .text_between(start, self.pos)
                .to_ascii_lowercase()
                .replace(' ', "");
            return Ok(ColumnType::Other(text));
        }
        let mut params = Vec::new();
        if self.eat_symbol("(") {
            loop {
                params.push(self.integer()? as u32);
                if !self.eat_symbol(",") {
                    break;
                }
            }
            self.expect_symbol(")")?;
        }
        // `INT(11)` display widths are accepted and dropped like Doris 2.1 does.
        let params: &[u32] = if matches!(
            upper.as_str(),
            "TINYINT" | "SMALLINT" | "INT" | "INTEGER" | "BIGINT" | "LARGEINT"
        ) {
            &[]
        } else {
            &params
        };
        ColumnType::from_name(&name, params)
            .ok_or_else(|| ParseError(format!("Unknown type: {name}")))
    }

    fn column_def(&mut self) -> PResult<ColumnDef> {
        let name = self.ident()?;
        let column_type = self.column_type()?;
        let mut def = ColumnDef {
            name,
            column_type,
            is_key: false,
            aggregation: None,
            nullable: None,
            auto_increment: false,
            default: None,
            comment: None,
        };
        loop {
            if self.eat_word("KEY") {
                def.is_key = true;
            } else if let Some(agg) = self.peek().and_then(|t| match &t.kind {
                TokenKind::Word(w) => AggregationType::from_name(w),
                _ => None,
            }) {
                self.pos += 1;
                def.aggregation = Some(agg);
            } else if self.eat_words(&["NOT", "NULL"]) {
                def.nullable = Some(false);
            } else if self.eat_word("NULL") {
                def.nullable = Some(true);
            } else if self.eat_word("AUTO_INCREMENT") {
                def.auto_increment = true;
                if self.eat_symbol("(") {
                    self.integer()?;
                    self.expect_symbol(")")?;
                }
            } else if self.eat_word("DEFAULT") {
                def.default = Some(self.default_value()?);
            } else if self.eat_words(&["ON", "UPDATE"]) {
                self.expect_word("CURRENT_TIMESTAMP")?;
                if self.eat_symbol("(") {
                    self.integer()?;
                    self.expect_symbol(")")?;
                }
            } else if self.eat_word("COMMENT") {
                def.comment = Some(self.string()?);
            } else {
                break;
            }
        }
        Ok(def)
    }

    fn default_value(&mut self) -> PResult<DefaultValue> {
        if self.eat_word("NULL") {
            return Ok(DefaultValue::Null);
        }
        if self.eat_word("CURRENT_TIMESTAMP") || self.eat_word("NOW") {
            if self.eat_symbol("(") {
                if !self.at_symbol(")") {
                    self.integer()?;
                }
                self.expect_symbol(")")?;
            }
            return Ok(DefaultValue::CurrentTimestamp);
        }
        if self.eat_word("BITMAP_EMPTY") {
            return Ok(DefaultValue::BitmapEmpty);
        }
        let negative = self.eat_symbol("-");
        match self.peek().map(|t| t.kind.clone()) {
            Some(TokenKind::Str(s)) => {
                self.pos += 1;
                if s == "BITMAP_EMPTY_DEFAULT_VALUE" {
                    return Ok(DefaultValue::BitmapEmpty);
                }
                if s == "CURRENT_TIMESTAMP" {
                    return Ok(DefaultValue::CurrentTimestamp);
                }
                Ok(DefaultValue::Literal(s))
            }
            Some(TokenKind::Number(n)) => {
                self.pos += 1;
                Ok(DefaultValue::Literal(if negative {
                    format!("-{n}")
                } else {
                    n
                }))
            }
            _ => Err(self.unexpected("a default value")),
        }
    }

    fn partition_clause(&mut self) -> PResult<PartitionClause> {
        let auto = self.eat_word("AUTO");
        self.expect_words_seq(&["PARTITION", "BY"])?;
        let kind = if self.eat_word("RANGE") {
            PartitionKind::Range
        } else if self.eat_word("LIST") {
            PartitionKind::List
        } else {
            return Err(self.unexpected("RANGE or LIST"));
        };
        self.expect_symbol("(")?;
        let mut columns = Vec::new();
        let mut auto_expr = None;
        loop {
            if self.peek_at(1).is_some_and(|t| t.is_symbol("(")) {
                // date_trunc(`col`, 'unit') style partition expression.
                let start = self.pos;
                let func = self.ident()?;
                self.expect_symbol("(")?;
                let col = self.ident()?;
                let mut rest = Vec::new();
                while self.eat_symbol(",") {
                    rest.push(self.string()?);
                }
                self.expect_symbol(")")?;
                let args: Vec<String> = std::iter::once(format!("`{col}`"))
                    .chain(rest.iter().map(|r| format!("'{r}'")))
                    .collect();
                auto_expr = Some(format!(
                    "{}({})",
                    func.to_ascii_lowercase(),
                    args.join(", ")
                ));
                debug_assert!(self.pos > start);
                columns.push(col);
            } else {
                columns.push(self.ident()?);
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        if auto && auto_expr.is_none() {
            auto_expr = Some(String::new());
        }
        self.expect_symbol("(")?;
        let mut partitions = Vec::new();
        while !self.at_symbol(")") {
            if self.at_word("FROM") {
                return Err(ParseError("Batch partition creation (FROM ... TO ... INTERVAL) is not supported by the simulator".into()));
            }
            partitions.push(self.partition_def(kind)?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        Ok(PartitionClause {
            kind,
            columns,
            auto_expr,
            partitions,
        })
    }

    fn expect_words_seq(&mut self, words: &[&str]) -> PResult<()> {
        for w in words {
            self.expect_word(w)?;
        }
        Ok(())
    }

    /// `PARTITION [IF NOT EXISTS] p VALUES ...` (the kind only disambiguates error text).
    fn partition_def(&mut self, _kind: PartitionKind) -> PResult<PartitionDef> {
        self.expect_word("PARTITION")?;
        let if_not_exists = self.if_not_exists();
        let name = self.ident()?;
        let values = if self.eat_word("VALUES") {
            if self.eat_words(&["LESS", "THAN"]) {
                if self.eat_word("MAXVALUE") {
                    PartitionValues::LessThan(vec![None])
                } else {
                    PartitionValues::LessThan(self.bound_tuple()?)
                }
            } else if self.eat_word("IN") {
                self.expect_symbol("(")?;
                let mut tuples = Vec::new();
                loop {
                    if self.at_symbol("(") {
                        tuples.push(self.bound_tuple()?);
                    } else {
                        tuples.push(vec![Some(self.bound_literal()?)]);
                    }
                    if !self.eat_symbol(",") {
                        break;
                    }
                }
                self.expect_symbol(")")?;
                PartitionValues::In(tuples)
            } else if self.eat_symbol("[") {
                let lower = self.bound_tuple()?;
                self.expect_symbol(",")?;
                let upper = self.bound_tuple()?;
                self.expect_symbol(")")?;
                PartitionValues::Fixed { lower, upper }
            } else {
                return Err(self.unexpected("LESS THAN, IN or '['"));
            }
        } else if self.at_symbol("(") || self.peek().is_none() || self.at_word("DISTRIBUTED") {
            PartitionValues::None
        } else {
            PartitionValues::Default
        };
        let properties = if self.at_symbol("(") {
            self.property_list()?
        } else {
            Vec::new()
        };
        Ok(PartitionDef {
            name,
            if_not_exists,
            values,
            properties,
        })
    }

    fn bound_tuple(&mut self) -> PResult<Vec<BoundValue>> {
        self.expect_symbol("(")?;
        let mut values = Vec::new();
        if self.eat_symbol(")") {
            return Ok(values);
        }
        loop {
            if self.eat_word("MAXVALUE") {
                values.push(None);
            } else {
                values.push(Some(self.bound_literal()?));
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")")?;
        Ok(values)
    }

    fn bound_literal(&mut self) -> PResult<Value> {
        let negative = self.eat_symbol("-");
        match self.peek().map(|t| t.kind.clone()) {
            Some(TokenKind::Str(s)) => {
                self.pos += 1;
                Ok(Value::Text(s))
            }
            Some(TokenKind::Number(n)) => {
                self.pos += 1;
                Ok(Value::Text(if negative { format!("-{n}") } else { n }))
            }
            Some(TokenKind::Word(w)) if w.eq_ignore_ascii_case("NULL") => {
                self.pos += 1;
                Ok(Value::Null)
            }
            _ => Err(self.unexpected("a partition value")),
        }
    }

    fn distribution(&mut self) -> PResult<DistributionDef> {
        self.expect_words_seq(&["DISTRIBUTED", "BY"])?;
        let hash_columns = if self.eat_word("HASH") {
            Some(self.ident_list()?)
        } else if self.eat_word("RANDOM") {
            None
        } else {
            return Err(self.unexpected("HASH or RANDOM"));
        };
        let buckets = if self.eat_word("BUCKETS") {
            if self.eat_word("AUTO") {
                Some(Buckets::Auto)
            } else {
                let n = self.integer()?;
                if n <= 0 {
                    return Err(ParseError(
                        "Number of hash distribution should be greater than zero.".into(),
                    ));
                }
                Some(Buckets::Fixed(n as u32))
            }
        } else {
            None
        };
        Ok(DistributionDef {
            hash_columns,
            buckets,
        })
    }

    fn drop(&mut self) -> PResult<Statement> {
        self.expect_word("DROP")?;
        if self.eat_word("DATABASE") || self.eat_word("SCHEMA") {
            let if_exists = self.if_exists();
            let name = self.object_name()?.name;
            let force = self.eat_word("FORCE");
            return Ok(Statement::DropDatabase {
                if_exists,
                name,
                force,
            });
        }
        if self.eat_words(&["MATERIALIZED", "VIEW"]) {
            let if_exists = self.if_exists();
            let name = self.ident()?;
            self.expect_word("ON")?;
            let table = self.object_name()?;
            return Ok(Statement::DropMaterializedView {
                if_exists,
                name,
                table,
            });
        }
        let view = self.eat_word("VIEW");
        if !view {
            self.expect_word("TABLE")?;
        }
        let if_exists = self.if_exists();
        let name = self.object_name()?;
        let force = self.eat_word("FORCE");
        Ok(Statement::DropTable {
            if_exists,
            name,
            force,
            view,
        })
    }

    fn alter(&mut self) -> PResult<Statement> {
        self.expect_word("ALTER")?;
        if self.eat_word("DATABASE") || self.eat_word("SCHEMA") {
            let name = self.object_name()?.name;
            self.expect_word("SET")?;
            self.expect_word("PROPERTIES")?;
            let properties = self.property_list()?;
            return Ok(Statement::AlterDatabaseProperties { name, properties });
        }
        if self.eat_word("VIEW") {
            let name = self.object_name()?;
            let columns = if self.at_symbol("(") {
                self.view_columns()?
            } else {
                Vec::new()
            };
            self.expect_word("AS")?;
            let query = Box::new(self.select()?);
            return Ok(Statement::AlterView {
                name,
                columns,
                query,
            });
        }
        self.expect_word("TABLE")?;
        let name = self.object_name()?;
        let mut ops = Vec::new();
        loop {
            ops.push(self.alter_table_op()?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        Ok(Statement::AlterTable { name, ops })
    }

    fn column_position(&mut self) -> PResult<Option<ColumnPosition>> {
        if self.eat_word("FIRST") {
            Ok(Some(ColumnPosition::First))
        } else if self.eat_word("AFTER") {
            Ok(Some(ColumnPosition::After(self.ident()?)))
        } else {
            Ok(None)
        }
    }

    fn alter_table_op(&mut self) -> PResult<AlterTableOp> {
        if self.eat_word("SET") {
            return Ok(AlterTableOp::SetProperties(self.property_list()?));
        }
        if self.eat_word("ADD") {
            let temporary = self.eat_word("TEMPORARY");
            if self.at_word("PARTITION") {
                let partition = self.partition_def(PartitionKind::Range)?;
                let distribution = if self.at_word("DISTRIBUTED") {
                    Some(self.distribution()?)
                } else {
                    None
                };
                return Ok(AlterTableOp::AddPartition {
                    temporary,
                    partition,
                    distribution,
                });
            }
            if self.eat_word("ROLLUP") {
                let name = self.ident()?;
                let columns = self.ident_list()?;
                let duplicate_keys = if self.eat_words(&["DUPLICATE", "KEY"]) {
                    self.ident_list()?
                } else {
                    Vec::new()
                };
                if self.eat_word("FROM") {
                    // The base index is the only index a rollup can be built from here.
                    self.ident()?;
                }
                self.optional_properties()?;
                return Ok(AlterTableOp::AddRollup {
                    name,
                    columns,
                    duplicate_keys,
                });
            }
            self.expect_word("COLUMN")?;
            if self.at_symbol("(") {
                self.pos += 1;
                let mut columns = Vec::new();
                loop {
                    columns.push(self.column_def()?);
                    if !self.eat_symbol(",") {
                        break;
                    }
                }
                self.expect_symbol(")")?;
                self.skip_rollup_target()?;
                return Ok(AlterTableOp::AddColumns {
                    columns,
                    position: None,
                });
            }
            let column = self.column_def()?;
            let position = self.column_position()?;
            self.skip_rollup_target()?;
            return Ok(AlterTableOp::AddColumns {
                columns: vec![column],
                position,
            });
        }
        if self.eat_word("DROP") {
            let mut temporary = self.eat_word("TEMPORARY");
            if self.eat_word("PARTITION") {
                let if_exists = self.if_exists();
                // Doris' binlog text writes `DROP PARTITION TEMPORARY p`.
                if !temporary && self.at_word("TEMPORARY") && self.peek_at(1).is_some() {
                    self.pos += 1;
                    temporary = true;
                }
                let name = self.ident()?;
                let force = self.eat_word("FORCE");
                return Ok(AlterTableOp::DropPartition {
                    temporary,
                    if_exists,
                    name,
                    force,
                });
            }
            if self.eat_word("ROLLUP") {
                return Ok(AlterTableOp::DropRollup {
                    name: self.ident()?,
                });
            }
            self.expect_word("COLUMN")?;
            let name = self.ident()?;
            if self.eat_word("FROM") {
                self.ident()?;
            }
            return Ok(AlterTableOp::DropColumn { name });
        }
        if self.eat_word("MODIFY") {
            if self.eat_word("COMMENT") {
                return Ok(AlterTableOp::ModifyComment(self.string()?));
            }
            self.expect_word("COLUMN")?;
            if self.peek_at(1).is_some_and(|t| t.is_word("COMMENT")) {
                let name = self.ident()?;
                self.pos += 1;
                return Ok(AlterTableOp::ModifyColumnComment {
                    name,
                    comment: self.string()?,
                });
            }
            let column = self.column_def()?;
            let position = self.column_position()?;
            return Ok(AlterTableOp::ModifyColumn { column, position });
        }
        if self.eat_word("RENAME") {
            if self.eat_word("COLUMN") {
                let old = self.ident()?;
                self.eat_word("TO");
                return Ok(AlterTableOp::RenameColumn {
                    old,
                    new: self.ident()?,
                });
            }
            if self.eat_word("PARTITION") {
                let old = self.ident()?;
                self.eat_word("TO");
                return Ok(AlterTableOp::RenamePartition {
                    old,
                    new: self.ident()?,
                });
            }
            if self.eat_word("ROLLUP") {
                let old = self.ident()?;
                self.eat_word("TO");
                return Ok(AlterTableOp::RenameRollup {
                    old,
                    new: self.ident()?,
                });
            }
            self.eat_word("TO");
            return Ok(AlterTableOp::Rename { new: self.ident()? });
        }
        if self.eat_word("REPLACE") {
            if self.eat_words(&["WITH", "TABLE"]) {
                let other = self.ident()?;
                let props = self.optional_properties()?;
                let swap = match props.iter().find(|(k, _)| k.eq_ignore_ascii_case("swap")) {
                    None => true,
                    Some((_, v)) => match v.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(ParseError(format!("Invalid swap property value: {v}"))),
                    },
                };
                return Ok(AlterTableOp::ReplaceWithTable { other, swap });
            }
            self.expect_word("PARTITION")?;
            let partitions = self.ident_list()?;
            self.expect_words_seq(&["WITH", "TEMPORARY", "PARTITION"])?;
            let temp_partitions = self.ident_list()?;
            let properties = self.optional_properties()?;
            return Ok(AlterTableOp::ReplacePartition {
                partitions,
                temp_partitions,
                properties,
            });
        }
        Err(self.unexpected("an ALTER TABLE clause"))
    }

    fn skip_rollup_target(&mut self) -> PResult<()> {
        if self.eat_word("TO") || self.eat_word("IN") {
            self.ident()?;
        }
        if self.at_word("PROPERTIES") {
            self.optional_properties()?;
        }
        Ok(())
    }

    fn grant(&mut self) -> PResult<Statement> {
        self.expect_word("GRANT")?;
        let mut privileges = Vec::new();
        loop {
            let p = self.ident()?;
            if p.eq_ignore_ascii_case("ALL") {
                self.eat_word("PRIVILEGES");
            }
            privileges.push(p);
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_word("ON")?;
        let mut parts = Vec::new();
        loop {
            if self.eat_symbol("*") {
                parts.push("*".to_owned());
            } else {
                parts.push(self.ident()?);
            }
            if !self.eat_symbol(".") {
                break;
            }
        }
        if parts.len() == 3 {
            parts.remove(0); // catalog
        }
        let object = match parts.as_slice() {
            [a] if a == "*" => GrantObject::Global,
            [a, b] if a == "*" && b == "*" => GrantObject::Global,
            [db, t] if t == "*" => GrantObject::Database(db.clone()),
            [db, t] => GrantObject::Table(db.clone(), t.clone()),
            _ => return Err(ParseError("Invalid grant object".into())),
        };
        self.expect_word("TO")?;
        if self.at_word("ROLE") {
            return Err(ParseError(
                "Roles are not supported by the simulator".into(),
            ));
        }
        let user = self.user_identity()?;
        Ok(Statement::Grant {
            privileges,
            object,
            user,
        })
    }

    fn partition_names(&mut self) -> PResult<Vec<String>> {
        if self.at_symbol("(") {
            self.ident_list()
        } else {
            Ok(vec![self.ident()?])
        }
    }

    fn truncate(&mut self) -> PResult<Statement> {
        self.expect_word("TRUNCATE")?;
        self.expect_word("TABLE")?;
        let name = self.object_name()?;
        let partitions = if self.eat_word("PARTITION") || self.eat_word("PARTITIONS") {
            Some(self.partition_names()?)
        } else {
            None
        };
        self.eat_word("FORCE");
        Ok(Statement::Truncate { name, partitions })
    }

    fn insert(&mut self) -> PResult<Statement> {
        self.expect_word("INSERT")?;
        let overwrite = if self.eat_word("OVERWRITE") {
            self.expect_word("TABLE")?;
            true
        } else {
            self.expect_word("INTO")?;
            false
        };
        let table = self.object_name()?;
        let mut partitions = None;
        let temporary = self.eat_word("TEMPORARY");
        if self.eat_word("PARTITION") || self.eat_word("PARTITIONS") {
            if self.eat_symbol("(") {
                let mut names = Vec::new();
                if self.eat_symbol("*") {
                    names.push("*".to_owned());
                } else {
                    loop {
                        names.push(self.ident()?);
                        if !self.eat_symbol(",") {
                            break;
                        }
                    }
                }
                self.expect_symbol(")")?;
                partitions = Some((temporary, names));
            } else {
                partitions = Some((temporary, vec![self.ident()?]));
            }
        } else if temporary {
            return Err(self.unexpected("PARTITION"));
        }
        let label = if self.eat_words(&["WITH", "LABEL"]) {
            Some(self.ident()?)
        } else {
            None
        };
        let columns =
            if self.at_symbol("(") && !self.peek_at(1).is_some_and(|t| t.is_word("SELECT")) {
                Some(self.ident_list()?)
            } else {
                None
            };
        let source = if self.eat_word("VALUES") || self.eat_word("VALUE") {
            let mut rows = Vec::new();
            loop {
                self.expect_symbol("(")?;
                let mut row = Vec::new();
                if !self.at_symbol(")") {
                    loop {
                        row.push(self.expr()?);
                        if !self.eat_symbol(",") {
                            break;
                        }
                    }
                }
                self.expect_symbol(")")?;
                rows.push(row);
                if !self.eat_symbol(",") {
                    break;
                }
            }
            InsertSource::Values(rows)
        } else {
            InsertSource::Select(Box::new(self.select()?))
        };
        Ok(Statement::Insert(Box::new(Insert {
            overwrite,
            table,
            partitions,
            columns,
            label,
            source,
        })))
    }

    fn update(&mut self) -> PResult<Statement> {
        self.expect_word("UPDATE")?;
        let table = self.object_name()?;
        self.expect_word("SET")?;
        let mut assignments = Vec::new();
        loop {
            let column = self.ident()?;
            self.expect_symbol("=")?;
            assignments.push((column, self.expr()?));
            if !self.eat_symbol(",") {
                break;
            }
        }
        let filter = if self.eat_word("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Statement::Update {
            table,
            assignments,
            filter,
        })
    }

    fn delete(&mut self) -> PResult<Statement> {
        self.expect_word("DELETE")?;
        self.expect_word("FROM")?;
        let table = self.object_name()?;
        let partitions = if self.eat_word("PARTITION") || self.eat_word("PARTITIONS") {
            Some(self.partition_names()?)
        } else {
            None
        };
        let filter = if self.eat_word("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(Statement::Delete {
            table,
            partitions,
            filter,
        })
    }

    // ---- SELECT ----

    fn select(&mut self) -> PResult<Select> {
        if self.eat_symbol("(") {
            let inner = self.select()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        self.expect_word("SELECT")?;
        self.eat_word("ALL");
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        let from = if self.eat_word("FROM") {
            Some(self.table_reference()?)
        } else {
            None
        };
        let filter = if self.eat_word("WHERE") {
            Some(self.expr()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_words(&["GROUP", "BY"]) {
            loop {
                group_by.push(self.expr()?);
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        let having = if self.eat_word("HAVING") {
            Some(self.expr()?)
        } else {
            None
        };
        let order_by = if self.eat_words(&["ORDER", "BY"]) {
            self.order_items()?
        } else {
            Vec::new()
        };
        let (mut limit, mut offset) = (None, None);
        if self.eat_word("LIMIT") {
            let first = self.integer()? as u64;
            if self.eat_symbol(",") {
                offset = Some(first);
                limit = Some(self.integer()? as u64);
            } else {
                limit = Some(first);
                if self.eat_word("OFFSET") {
                    offset = Some(self.integer()? as u64);
                }
            }
        }
        Ok(Select {
            items,
            from,
            filter,
            group_by,
            having,
            order_by,
            limit,
            offset,
        })
    }

    fn order_items(&mut self) -> PResult<Vec<OrderItem>> {
        let mut out = Vec::new();
        loop {
            let expr = self.expr()?;
            let descending = if self.eat_word("DESC") {
                true
            } else {
                self.eat_word("ASC");
                false
            };
            out.push(OrderItem { expr, descending });
            if !self.eat_symbol(",") {
                break;
            }
        }
        Ok(out)
    }

    fn select_item(&mut self) -> PResult<SelectItem> {
        if self.eat_symbol("*") {
            return Ok(SelectItem::Wildcard);
        }
        // `t.*`
        if matches!(
            self.peek().map(|t| &t.kind),
            Some(TokenKind::Word(_) | TokenKind::QuotedIdent(_))
        ) && self.peek_at(1).is_some_and(|t| t.is_symbol("."))
            && self.peek_at(2).is_some_and(|t| t.is_symbol("*"))
        {
            self.pos += 3;
            return Ok(SelectItem::Wildcard);
        }
        let start = self.pos;
        let expr = self.expr()?;
        let label = match &expr {
            Expr::Column(parts) => parts.last().cloned().unwrap_or_default(),
            _ => self.text_between(start, self.pos),
        };
        let explicit = self.eat_word("AS");
        let alias = if explicit
            || matches!(
                self.peek().map(|t| &t.kind),
                Some(TokenKind::QuotedIdent(_) | TokenKind::Str(_))
            )
            || self
                .peek()
                .is_some_and(|t| matches!(&t.kind, TokenKind::Word(w) if !is_clause_word(w)))
        {
            Some(self.ident_or_string()?)
        } else {
            None
        };
        Ok(SelectItem::Expr { expr, alias, label })
    }

    fn table_reference(&mut self) -> PResult<FromClause> {
        let source = if matches!(self.peek().map(|t| &t.kind), Some(TokenKind::Word(_)))
            && self.peek_at(1).is_some_and(|t| t.is_symbol("("))
        {
            let name = self.ident()?.to_ascii_lowercase();
            self.expect_symbol("(")?;
            while !self.at_symbol(")") {
                self.pos += 1;
                if self.peek().is_none() {
                    return Err(self.unexpected("')'"));
                }
            }
            self.expect_symbol(")")?;
            TableSource::Function { name }
        } else {
            TableSource::Table(self.object_name()?)
        };
        let mut partitions = None;
        let temporary = self.eat_word("TEMPORARY");
        if self.eat_word("PARTITION") || self.eat_word("PARTITIONS") {
            partitions = Some((temporary, self.partition_names()?));
        }
        let explicit = self.eat_word("AS");
        let alias = if explicit
            || self.peek().is_some_and(|t| {
                matches!(&t.kind, TokenKind::QuotedIdent(_))
                    || matches!(&t.kind, TokenKind::Word(w) if !is_clause_word(w))
            }) {
            Some(self.ident()?)
        } else {
            None
        };
        Ok(FromClause {
            source,
            alias,
            partitions,
        })
    }

    // ---- expressions (precedence climbing) ----

    fn expr(&mut self) -> PResult<Expr> {
        self.or_expr()
    }

    fn or_expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        while self.eat_word("OR") {
            let right = self.and_expr()?;
            left = Expr::Binary {
                op: BinaryOp::Or,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut left = self.not_expr()?;
        while self.eat_word("AND") || self.eat_symbol("&&") {
            let right = self.not_expr()?;
            left = Expr::Binary {
                op: BinaryOp::And,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Expr> {
        if self.eat_word("NOT") {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let left = self.additive()?;
        let ops = [
            ("=", BinaryOp::Eq),
            ("<=>", BinaryOp::NullSafeEq),
            ("!=", BinaryOp::Ne),
            ("<>", BinaryOp::Ne),
            ("<=", BinaryOp::Le),
            (">=", BinaryOp::Ge),
            ("<", BinaryOp::Lt),
            (">", BinaryOp::Gt),
        ];
        if let Some((_, op)) = ops.iter().find(|(s, _)| self.at_symbol(s)) {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Binary {
                op: *op,
                left: Box::new(left),
                right: Box::new(right),
            });
        }
        if self.eat_word("IS") {
            let negated = self.eat_word("NOT");
            self.expect_word("NULL")?;
            return Ok(Expr::IsNull {
                expr: Box::new(left),
                negated,
            });
        }
        let negated = self.eat_word("NOT");
        if self.eat_word("IN") {
            self.expect_symbol("(")?;
            let mut list = Vec::new();
            loop {
                list.push(self.expr()?);
                if !self.eat_symbol(",") {
                    break;
                }
            }
            self.expect_symbol(")")?;
            return Ok(Expr::InList {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        if self.eat_word("LIKE") {
            let pattern = self.additive()?;
            return Ok(Expr::Like {
                expr: Box::new(left),
                pattern: Box::new(pattern),
                negated,
            });
        }
        if self.eat_word("BETWEEN") {
            let low = self.additive()?;
            self.expect_word("AND")?;
            let high = self.additive()?;
            return Ok(Expr::Between {
                expr: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if negated {
            return Err(self.unexpected("IN, LIKE or BETWEEN"));
        }
        Ok(left)
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut left = self.multiplicative()?;
        loop {
            let op = if self.eat_symbol("+") {
                BinaryOp::Add
            } else if self.eat_symbol("-") {
                BinaryOp::Sub
            } else if self.eat_symbol("||") {
                BinaryOp::Concat
            } else {
                break;
            };
            let right = self.multiplicative()?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_symbol("*") {
                BinaryOp::Mul
            } else if self.eat_symbol("/") {
                BinaryOp::Div
            } else if self.eat_symbol("%") {
                BinaryOp::Mod
            } else {
                break;
            };
            let right = self.unary()?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        if self.eat_symbol("-") {
            return Ok(match self.unary()? {
                Expr::Literal(v) => Expr::Literal(v.negate()),
                other => Expr::Negate(Box::new(other)),
            });
        }
        if self.eat_symbol("+") {
            return self.unary();
        }
        if self.eat_symbol("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> PResult<Expr> {
        let Some(token) = self.peek() else {
            return Err(self.unexpected("an expression"));
        };
        match &token.kind {
            TokenKind::Number(n) => {
                self.pos += 1;
                Ok(Expr::Literal(number_literal(n)))
            }
            TokenKind::Str(s) => {
                self.pos += 1;
                Ok(Expr::Literal(Value::Text(s.clone())))
            }
            TokenKind::SystemVar(v) => {
                self.pos += 1;
                Ok(Expr::SystemVar(v.clone()))
            }
            TokenKind::UserVar(v) => {
                self.pos += 1;
                Ok(Expr::UserVar(v.clone()))
            }
            TokenKind::Symbol("(") => {
                if self.peek_at(1).is_some_and(|t| t.is_word("SELECT")) {
                    self.pos += 1;
                    let sub = self.select()?;
                    self.expect_symbol(")")?;
                    return Ok(Expr::Subquery(Box::new(sub)));
                }
                self.pos += 1;
                let inner = self.expr()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            TokenKind::Word(w) => {
                let upper = w.to_ascii_uppercase();
                let next_is_paren = self.peek_at(1).is_some_and(|t| t.is_symbol("("));
                match upper.as_str() {
                    "NULL" => {
                        self.pos += 1;
                        return Ok(Expr::Literal(Value::Null));
                    }
                    "TRUE" | "FALSE" => {
                        self.pos += 1;
                        return Ok(Expr::Literal(Value::Bool(upper == "TRUE")));
                    }
                    "CURRENT_TIMESTAMP" | "CURRENT_DATE" | "CURRENT_USER" | "CURRENT_TIME"
                    | "LOCALTIME" | "LOCALTIMESTAMP"
                        if !next_is_paren =>
                    {
                        self.pos += 1;
                        return Ok(Expr::Function {
                            name: upper.to_ascii_lowercase(),
                            args: Vec::new(),
                            star: false,
                            distinct: false,
                        });
                    }
                    "CAST" if next_is_paren => {
                        self.pos += 2;
                        let expr = self.expr()?;
                        self.expect_word("AS")?;
                        let start = self.pos;
                        self.column_type()?;
                        let type_name = self.text_between(start, self.pos);
                        self.expect_symbol(")")?;
                        return Ok(Expr::Cast {
                            expr: Box::new(expr),
                            type_name,
                        });
                    }
                    "DATE" | "TIMESTAMP" | "DATETIME"
                        if matches!(self.peek_at(1).map(|t| &t.kind), Some(TokenKind::Str(_))) =>
                    {
                        self.pos += 1;
                        return self.primary();
                    }
                    _ => {}
                }
                if next_is_paren {
                    self.pos += 2;
                    let name = upper.to_ascii_lowercase();
                    let mut args = Vec::new();
                    let mut star = false;
                    let distinct = self.eat_word("DISTINCT");
                    if self.eat_symbol("*") {
                        star = true;
                    } else if !self.at_symbol(")") {
                        loop {
                            args.push(self.expr()?);
                            if !self.eat_symbol(",") {
                                break;
                            }
                        }
                    }
                    self.expect_symbol(")")?;
                    return Ok(Expr::Function {
                        name,
                        args,
                        star,
                        distinct,
                    });
                }
                self.column_ref()
            }
            TokenKind::QuotedIdent(_) => self.column_ref(),
            _ => Err(self.unexpected("an expression")),
        }
    }

    fn column_ref(&mut self) -> PResult<Expr> {
        let mut parts = vec![self.ident()?];
        while self.at_symbol(".") && !self.peek_at(1).is_some_and(|t| t.is_symbol("*")) {
            self.pos += 1;
            parts.push(self.ident()?);
        }
        Ok(Expr::Column(parts))
    }
}

/// Words that end a select item / table reference, so they are not taken as aliases.
fn is_clause_word(word: &str) -> bool {
    matches!(
        word.to_ascii_uppercase().as_str(),
        "FROM"
            | "WHERE"
            | "GROUP"
            | "HAVING"
            | "ORDER"
            | "LIMIT"
            | "UNION"
            | "JOIN"
            | "LEFT"
            | "RIGHT"
            | "INNER"
            | "ON"
            | "AND"
            | "OR"
            | "PARTITION"
            | "PARTITIONS"
            | "TEMPORARY"
            | "OFFSET"
            | "INTO"
            | "DESC"
            | "ASC"
            | "CROSS"
            | "FULL"
            | "OUTER"
            | "USING"
            | "WITH"
    )
}

/// `12` → integer, `1.50` → decimal with scale 2, `1e3` → double.
fn number_literal(text: &str) -> Value {
    if text.contains(['e', 'E']) {
        return Value::Float(text.parse().unwrap_or(0.0));
    }
    if let Some((_, frac)) = text.split_once('.') {
        return Value::parse_decimal(text, frac.len() as u8)
            .unwrap_or(Value::Float(text.parse().unwrap_or(0.0)));
    }
    text.parse::<i128>()
        .map(Value::Int)
        .unwrap_or_else(|_| Value::Float(text.parse().unwrap_or(0.0)))
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn parse(sql: &str) -> Statement {
        let tokens = tokenize(sql).unwrap();
        parse_statement(sql, &tokens).unwrap()
    }

    #[test]
    fn select_labels_follow_source_spelling() {
        let Statement::Select(s) = parse("select Host, QueryPort AS qp, count(*) from frontends()")
        else {
            panic!()
        };
        let labels: Vec<String> = s
            .items
            .iter()
            .map(|i| match i {
                SelectItem::Expr { alias, label, .. } => alias.clone().unwrap_or(label.clone()),
                SelectItem::Wildcard => "*".into(),
            })
            .collect();
        assert_eq!(labels, ["Host", "qp", "count(*)"]);
        assert_eq!(
            s.from.unwrap().source,
            TableSource::Function {
                name: "frontends".into()
            }
        );
    }

    #[test]
    fn sqlx_connect_set_parses() {
        let Statement::Set(a) = parse("SET sql_mode=(SELECT CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION')),time_zone='+00:00',NAMES utf8mb4 COLLATE utf8mb4_unicode_ci") else { panic!() };
        assert_eq!(
            a.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["sql_mode", "time_zone", "names"]
        );
        assert!(matches!(a[0].value, Expr::Subquery(_)));
    }

    #[test]
    fn keyword_and_dashed_names_as_identifiers() {
        let Statement::DropTable { name, force, .. } = parse("DROP TABLE `my-db`.`select` FORCE")
        else {
            panic!()
        };
        assert_eq!(
            name,
            ObjectName {
                db: Some("my-db".into()),
                name: "select".into()
            }
        );
        assert!(force);
        let Statement::ShowCreateTable { name, .. } = parse("show create table internal.db.`a``b`")
        else {
            panic!()
        };
        assert_eq!(name.name, "a`b");
    }

    #[test]
    fn create_table_with_range_partitions() {
        let Statement::CreateTable(ct) = parse(
            "CREATE TABLE IF NOT EXISTS t (`id` INT(11) NOT NULL COMMENT 'k', v BIGINT SUM DEFAULT \"0\",) ENGINE=OLAP AGGREGATE KEY(`id`) \
             PARTITION BY RANGE(`id`) (PARTITION p1 VALUES LESS THAN (\"10\"), PARTITION p2 VALUES [(\"10\"), (MAXVALUE))) \
             DISTRIBUTED BY HASH(`id`) BUCKETS 3 PROPERTIES (\"replication_num\" = \"1\")",
        ) else {
            panic!()
        };
        assert!(ct.if_not_exists);
        assert_eq!(ct.columns[0].column_type, ColumnType::Int);
        assert_eq!(ct.columns[1].aggregation, Some(AggregationType::Sum));
        let part = ct.partition.unwrap();
        assert_eq!(
            part.partitions[1].values,
            PartitionValues::Fixed {
                lower: vec![Some(Value::Text("10".into()))],
                upper: vec![None]
            }
        );
        assert_eq!(ct.distribution.unwrap().buckets, Some(Buckets::Fixed(3)));
    }

    #[test]
    fn alter_table_clause_forms() {
        let Statement::AlterTable { ops, .. } =
            parse("ALTER TABLE `t` MODIFY COLUMN `c1` COMMENT 'x', MODIFY COLUMN `c2` COMMENT 'y'")
        else {
            panic!()
        };
        assert_eq!(ops.len(), 2);
        let Statement::AlterTable { ops, .. } =
            parse("ALTER TABLE t DROP PARTITION TEMPORARY `p` FORCE")
        else {
            panic!()
        };
        assert_eq!(
            ops[0],
            AlterTableOp::DropPartition {
                temporary: true,
                if_exists: false,
                name: "p".into(),
                force: true
            }
        );
        let Statement::AlterTable { ops, .. } =
            parse("ALTER TABLE `t` REPLACE WITH TABLE `a` PROPERTIES(\"swap\"=\"false\")")
        else {
            panic!()
        };
        assert_eq!(
            ops[0],
            AlterTableOp::ReplaceWithTable {
                other: "a".into(),
                swap: false
            }
        );
    }

    #[test]
    fn grant_and_create_user() {
        let Statement::CreateUser { user, password, .. } =
            parse("CREATE USER 'u'@'%' IDENTIFIED BY 'p'")
        else {
            panic!()
        };
        assert_eq!(
            (user.name.as_str(), user.host.as_str(), password.as_deref()),
            ("u", "%", Some("p"))
        );
        let Statement::Grant {
            object, privileges, ..
        } = parse("GRANT SELECT_PRIV, LOAD_PRIV ON db.* TO 'u'@'%'")
        else {
            panic!()
        };
        assert_eq!(object, GrantObject::Database("db".into()));
        assert_eq!(privileges.len(), 2);
        let Statement::Grant { object, .. } = parse("GRANT ADMIN_PRIV ON *.*.* TO u") else {
            panic!()
        };
        assert_eq!(object, GrantObject::Global);
    }

    #[test]
    fn syntax_errors_name_the_token() {
        let tokens = tokenize("selec 1").unwrap();
        let err = parse_statement("selec 1", &tokens).unwrap_err();
        assert!(err.0.contains("mismatched input 'selec'"), "{}", err.0);
    }
}
