//! The simulated cluster's network front seen by real clients: the `mariadb` CLI and sqlx on
//! the FE query port, reqwest on the BE HTTP port. The SQL engine here is a tiny test double;
//! the real engine lives in `sim::sql`.

use std::sync::Arc;

use ccr_wire::secret::Secret;
use doris_sim::cluster::{SimCluster, SimClusterOptions};
use doris_sim::session::{
    ColumnType, ResultColumn, SqlEngine, SqlError, SqlSession, StatementResult,
};
use sqlx::mysql::{MySqlConnectOptions, MySqlDatabaseError};
use sqlx::{Connection, Executor, MySqlConnection, Row};

use crate::support::{self, mariadb, stderr, stdout};

/// A value just over one MySQL frame, so the row travels as two frames.
const BIG_VALUE_LEN: usize = 0xFF_FFFF + 10;
const ROOT_PASSWORD: &str = "";
const ALICE_PASSWORD: &str = "secret";

const PREPARE_REFUSED: &str =
    "errCode = 2, detailMessage = Failed to prepare statementtry to set enable_server_side_prepared_statement = true";

// ---- test-only engine ----------------------------------------------------------------------

struct TestEngine {
    root_password: String,
}

const DATABASES: [&str; 2] = ["db1", "information_schema"];

fn unknown_database(name: &str) -> SqlError {
    SqlError {
        code: 1049,
        sql_state: "42000".into(),
        message: format!("errCode = 2, detailMessage = Unknown database '{name}'"),
    }
}

impl SqlEngine for TestEngine {
    fn user_password(&self, user: &str) -> Option<String> {
        match user {
            "root" => Some(self.root_password.clone()),
            "alice" => Some(ALICE_PASSWORD.to_owned()),
            _ => None,
        }
    }

    fn open_session(
        &self,
        _user: &str,
        database: Option<&str>,
    ) -> Result<Box<dyn SqlSession>, SqlError> {
        if let Some(name) = database {
            if !DATABASES.contains(&name) {
                return Err(unknown_database(name));
            }
        }
        Ok(Box::new(TestSession {
            database: database.map(str::to_owned),
        }))
    }
}

struct TestSession {
    database: Option<String>,
}

fn rows(columns: Vec<ResultColumn>, rows: Vec<Vec<Option<&str>>>) -> StatementResult {
    StatementResult::Rows {
        columns,
        rows: rows
            .into_iter()
            .map(|row| row.into_iter().map(|v| v.map(str::to_owned)).collect())
            .collect(),
    }
}

impl TestSession {
    fn run(&mut self, statement: &str) -> Result<StatementResult, SqlError> {
        let lower = statement.to_ascii_lowercase();
        match lower.as_str() {
            "select 1" => Ok(rows(
                vec![ResultColumn {
                    name: "1".into(),
                    column_type: ColumnType::Int,
                }],
                vec![vec![Some("1")]],
            )),
            "select database()" => Ok(rows(
                vec![ResultColumn::varchar("database()")],
                vec![vec![self.database.as_deref()]],
            )),
            "show things" => Ok(rows(
                vec![
                    ResultColumn::varchar("Name"),
                    ResultColumn::varchar("Value"),
                    ResultColumn::varchar("Comment"),
                ],
                vec![
                    vec![Some("a"), Some("1"), None],
                    vec![Some("b"), None, Some("x y")],
                ],
            )),
            "insert three" => Ok(StatementResult::Ok {
                affected_rows: 3,
                info: None,
            }),
            "select big" => Ok(StatementResult::Rows {
                columns: vec![ResultColumn {
                    name: "big".into(),
                    column_type: ColumnType::String,
                }],
                rows: vec![vec![Some("x".repeat(BIG_VALUE_LEN))]],
            }),
            _ if lower.starts_with("set ") => Ok(StatementResult::Ok {
                affected_rows: 0,
                info: None,
            }),
            _ if lower.starts_with("use ") => {
                let name = statement[4..].trim().trim_matches('`');
                self.use_database(name)?;
                Ok(StatementResult::Ok {
                    affected_rows: 0,
                    info: None,
                })
            }
            _ => Err(SqlError::analysis(format!(
                "Syntax error near '{statement}'"
            ))),
        }
    }
}

impl SqlSession for TestSession {
    fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult, SqlError>> {
        support::execute_each(sql, |statement| self.run(statement))
    }

    fn use_database(&mut self, database: &str) -> Result<(), SqlError> {
        if DATABASES.contains(&database) {
            self.database = Some(database.to_owned());
            Ok(())
        } else {
            Err(unknown_database(database))
        }
    }
}

async fn start_cluster(be_binlog_enabled: bool) -> SimCluster {
    let options = SimClusterOptions {
        backends: 2,
        root_password: Secret::new(ROOT_PASSWORD),
        be_binlog_enabled,
        ..SimClusterOptions::default()
    };
    let root_password = options.root_password.expose().to_owned();
    SimCluster::start(options, move |_topology| {
        Arc::new(TestEngine { root_password }) as Arc<dyn SqlEngine>
    })
    .await
    .expect("cluster starts")
}

// ---- mariadb CLI ---------------------------------------------------------------------------

#[tokio::test]
async fn mariadb_cli_queries_authenticates_and_reports_errors() {
    let cluster = start_cluster(true).await;
    let port = cluster.topology().fe.query_port;

    let select = mariadb(port, &["-uroot", "-e", "select 1"]).await;
    assert!(select.status.success(), "{}", stderr(&select));
    assert_eq!(stdout(&select), "1\n1\n");

    // Several statements, NULLs, a value with a space.
    let several = mariadb(port, &["-uroot", "-e", "select 1; show things"]).await;
    assert!(several.status.success(), "{}", stderr(&several));
    assert_eq!(
        stdout(&several),
        "1\n1\nName\tValue\tComment\na\t1\tNULL\nb\tNULL\tx y\n"
    );

    let with_password = mariadb(
        port,
        &[
            "-ualice",
            &format!("--password={ALICE_PASSWORD}"),
            "-e",
            "select 1",
        ],
    )
    .await;
    assert!(with_password.status.success(), "{}", stderr(&with_password));

    // A client defaulting to caching_sha2_password is switched to mysql_native_password.
    let switched = mariadb(
        port,
        &[
            "-ualice",
            &format!("--password={ALICE_PASSWORD}"),
            "--default-auth=caching_sha2_password",
            "-e",
            "select 1",
        ],
    )
    .await;
    assert!(switched.status.success(), "{}", stderr(&switched));
    assert_eq!(stdout(&switched), "1\n1\n");

    let wrong_password = mariadb(port, &["-ualice", "--password=nope", "-e", "select 1"]).await;
    assert!(!wrong_password.status.success());
    assert!(
        stderr(&wrong_password).contains(
            "ERROR 1045 (28000): Access denied for user 'alice@127.0.0.1' (using password: YES)"
        ),
        "{}",
        stderr(&wrong_password)
    );

    let no_password = mariadb(port, &["-ualice", "-e", "select 1"]).await;
    assert!(!no_password.status.success());
    assert!(
        stderr(&no_password).contains("(using password: NO)"),
        "{}",
        stderr(&no_password)
    );

    let with_db = mariadb(port, &["-uroot", "-D", "db1", "-e", "select database()"]).await;
    assert!(with_db.status.success(), "{}", stderr(&with_db));
    assert_eq!(stdout(&with_db), "database()\ndb1\n");

    let unknown_db = mariadb(port, &["-uroot", "-D", "nope", "-e", "select 1"]).await;
    assert!(!unknown_db.status.success());
    assert!(
        stderr(&unknown_db).contains("ERROR 1049 (42000)"),
        "{}",
        stderr(&unknown_db)
    );

    // The CLI sends `use` as COM_INIT_DB.
    let use_db = mariadb(port, &["-uroot", "-e", "use db1; select database()"]).await;
    assert!(use_db.status.success(), "{}", stderr(&use_db));
    assert_eq!(stdout(&use_db), "database()\ndb1\n");

    let failing = mariadb(port, &["-uroot", "-e", "select nope"]).await;
    assert!(!failing.status.success());
    assert!(
        stderr(&failing).contains("ERROR 1105 (HY000) at line 1: errCode = 2, detailMessage = Syntax error near 'select nope'"),
        "{}",
        stderr(&failing)
    );

    cluster.stop().await;
}

// ---- sqlx ----------------------------------------------------------------------------------

fn connect_options(port: u16, user: &str) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host("127.0.0.1")
        .port(port)
        .username(user)
}

fn mysql_error(error: &sqlx::Error) -> &MySqlDatabaseError {
    error
        .as_database_error()
        .unwrap_or_else(|| panic!("not a database error: {error}"))
        .downcast_ref::<MySqlDatabaseError>()
}

#[tokio::test]
async fn sqlx_text_protocol_works_and_prepare_gets_the_doris_error() {
    let cluster = start_cluster(true).await;
    let port = cluster.topology().fe.query_port;

    // Connecting runs sqlx's session SET through COM_QUERY.
    let mut conn = MySqlConnection::connect_with(&connect_options(port, "root"))
        .await
        .expect("connect");

    let one = conn.fetch_all("select 1").await.expect("select 1");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].get::<i32, _>(0), 1);

    let things = conn.fetch_all("show things").await.expect("show things");
    assert_eq!(things.len(), 2);
    assert_eq!(things[0].get::<String, _>("Name"), "a");
    assert_eq!(things[0].get::<Option<String>, _>("Comment"), None);
    assert_eq!(things[1].get::<Option<String>, _>("Value"), None);
    assert_eq!(
        things[1].get::<Option<String>, _>("Comment").as_deref(),
        Some("x y")
    );

    let inserted = conn.execute("insert three").await.expect("insert");
    assert_eq!(inserted.rows_affected(), 3);

    // sqlx::query always prepares: Doris 2.1 (and the simulator) refuse.
    let refused = sqlx::query("select 1")
        .fetch_all(&mut conn)
        .await
        .expect_err("prepare must fail");
    let refused = mysql_error(&refused);
    assert_eq!(refused.number(), 1105);
    assert_eq!(refused.code(), Some("HY000"));
    assert_eq!(refused.message(), PREPARE_REFUSED);

    // The connection survives the refusal and statement errors.
    conn.ping().await.expect("ping");
    let failed = conn
        .fetch_all("select nope")
        .await
        .expect_err("bad statement");
    assert_eq!(mysql_error(&failed).number(), 1105);
    assert_eq!(
        conn.fetch_all("select 1")
            .await
            .expect("still usable")
            .len(),
        1
    );

    // sqlx keeps only the capabilities the server offers, so it does not declare
    // CLIENT_MULTI_RESULTS; like Doris, the server then runs every statement and answers
    // with the last one's outcome.
    let last_only = conn
        .fetch_all("select 1; show things")
        .await
        .expect("multi statement");
    assert_eq!(last_only.len(), 2);
    assert_eq!(last_only[0].get::<String, _>("Name"), "a");
    let stopped = conn
        .fetch_all("select 1; select nope; show things")
        .await
        .expect_err("stops at the error");
    assert!(mysql_error(&stopped).message().contains("select nope"));

    // A row bigger than one frame arrives whole.
    let big = conn.fetch_one("select big").await.expect("big row");
    let value: String = big.get("big");
    assert_eq!(value.len(), BIG_VALUE_LEN);
    assert!(value.bytes().all(|b| b == b'x'));

    conn.close().await.expect("COM_QUIT");
    cluster.stop().await;
}

#[tokio::test]
async fn sqlx_default_database_and_authentication() {
    let cluster = start_cluster(true).await;
    let port = cluster.topology().fe.query_port;

    let mut in_db = MySqlConnection::connect_with(&connect_options(port, "root").database("db1"))
        .await
        .expect("connect");
    let current = in_db
        .fetch_one("select database()")
        .await
        .expect("select database()");
    assert_eq!(current.get::<Option<String>, _>(0).as_deref(), Some("db1"));
    in_db.close().await.expect("close");

    let unknown = MySqlConnection::connect_with(&connect_options(port, "root").database("nope"))
        .await
        .expect_err("unknown database");
    assert_eq!(mysql_error(&unknown).number(), 1049);
    assert_eq!(
        mysql_error(&unknown).message(),
        "errCode = 2, detailMessage = Unknown database 'nope'"
    );

    let mut alice =
        MySqlConnection::connect_with(&connect_options(port, "alice").password(ALICE_PASSWORD))
            .await
            .expect("alice connects");
    alice.ping().await.expect("ping");
    alice.close().await.expect("close");

    let denied = MySqlConnection::connect_with(&connect_options(port, "alice").password("wrong"))
        .await
        .expect_err("wrong password");
    assert_eq!(mysql_error(&denied).number(), 1045);
    assert_eq!(mysql_error(&denied).code(), Some("28000"));
    assert_eq!(
        mysql_error(&denied).message(),
        "Access denied for user 'alice@127.0.0.1' (using password: YES)"
    );

    let stranger = MySqlConnection::connect_with(&connect_options(port, "mallory"))
        .await
        .expect_err("unknown user");
    assert_eq!(mysql_error(&stranger).number(), 1045);

    cluster.stop().await;
}

// ---- BE HTTP -------------------------------------------------------------------------------

async fn binlog_config(client: &reqwest::Client, http_port: u16) -> Vec<Vec<String>> {
    let url =
        format!("http://127.0.0.1:{http_port}/api/show_config?conf_item=enable_feature_binlog");
    let response = client.get(url).send().await.expect("show_config answers");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    serde_json::from_str(&response.text().await.expect("body")).expect("JSON array of arrays")
}

#[tokio::test]
async fn be_show_config_reports_the_binlog_switch() {
    let client = reqwest::Client::new();

    let enabled = start_cluster(true).await;
    for backend in &enabled.topology().backends {
        let rows = binlog_config(&client, backend.http_port).await;
        assert_eq!(
            rows,
            vec![vec!["enable_feature_binlog", "bool", "1", "false"]]
        );
    }
    let backend = &enabled.topology().backends[0];
    let all: Vec<Vec<String>> = client
        .get(format!(
            "http://127.0.0.1:{}/api/show_config",
            backend.http_port
        ))
        .send()
        .await
        .expect("show_config")
        .json()
        .await
        .expect("JSON");
    let webserver_port = all
        .iter()
        .find(|row| row[0] == "webserver_port")
        .expect("webserver_port listed");
    assert_eq!(webserver_port[2], backend.http_port.to_string());

    let health = client
        .get(format!("http://127.0.0.1:{}/api/health", backend.http_port))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), reqwest::StatusCode::OK);
    assert_eq!(
        health.text().await.expect("body"),
        r#"{"status": "OK","msg": "To Be Added"}"#
    );

    let missing = client
        .get(format!(
            "http://127.0.0.1:{}/api/nothing",
            backend.http_port
        ))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    enabled.stop().await;

    let disabled = start_cluster(false).await;
    for backend in &disabled.topology().backends {
        let rows = binlog_config(&client, backend.http_port).await;
        assert_eq!(rows[0][2], "0");
    }
    disabled.stop().await;
}
