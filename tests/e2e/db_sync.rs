//! Database-level replication end to end: the real `ccr_syncer` binary between two
//! simulated clusters, driven with curl and the mariadb CLI as an operator would. Every
//! check compares the target with the source: the tables and views present, each one's
//! `SHOW CREATE TABLE` (modulo `is_being_synced`), its partitions and its rows.

use crate::support;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use serde_json::{json, Value};
use support::{
    comparable_create, wait_converged, wait_job_status, wait_until, Replication, TestCluster,
    CATCH_UP, DB_PROPS, TABLE_PROPS,
};

/// A [`Replication`] whose job "db" replicates `src_db` into `dest_db`.
struct Env(Replication);

impl Deref for Env {
    type Target = Replication;

    fn deref(&self) -> &Replication {
        &self.0
    }
}

impl DerefMut for Env {
    fn deref_mut(&mut self) -> &mut Replication {
        &mut self.0
    }
}

impl Env {
    fn new(setup: &str) -> Env {
        Env(Replication::start(setup))
    }

    /// Creates job "db", with the `extra` keys (include/exclude lists) in its body.
    fn create_db_job(&self, extra: Value) {
        let mut body = support::job_body("db", &self.src, "", &self.dest, "");
        for (key, value) in extra.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        self.syncer.create_ccr(&body);
    }

    fn status(&self) -> Value {
        self.syncer.job_status("db")
    }

    fn progress(&self) -> Value {
        self.syncer.job_progress("db")
    }

    /// Waits until the target database matches the source (`except` names source objects
    /// the job must not replicate) and the job is caught up without error.
    fn wait_synced(&self, except: &[&str]) {
        wait_databases_equal(self, "db", except);
    }
}

/// Waits until `job` is caught up and `dest_db` equals `src_db` but for `except`.
fn wait_databases_equal(env: &Env, job: &str, except: &[&str]) {
    wait_converged(&env.syncer, job, || {
        let want = snapshot(&env.src, "src_db", except);
        let got = snapshot(&env.dest, "dest_db", &[]);
        if want == got {
            Ok(())
        } else {
            Err(format!("\nsource: {want:#?}\ntarget: {got:#?}"))
        }
    });
}

/// Everything compared of one database: per object (sorted by name) its definition,
/// partitions and rows. Qualifiers naming the database itself are neutralised. A statement
/// that fails (an object vanished meanwhile) shows as its error text, so a caller waiting
/// for equality simply looks again.
fn snapshot(
    cluster: &TestCluster,
    db: &str,
    except: &[&str],
) -> Vec<(String, String, String, String)> {
    let run = |sql: &str| {
        let (ok, out) = cluster.try_sql(sql);
        if ok {
            out
        } else {
            // The error names the database; compare it without that.
            format!("<failed: {}>", out.replace(db, "<db>"))
        }
    };
    let tables = run(&format!("SHOW TABLES FROM `{db}`"));
    let mut names: Vec<&str> = tables
        .lines()
        .filter(|name| !except.contains(name))
        .collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|name| {
            let quoted = format!("`{db}`.`{}`", name.replace('`', "``"));
            let create = comparable_create(&run(&format!("SHOW CREATE TABLE {quoted}")), db);
            let is_view = create.contains("CREATE VIEW");
            let partitions = if is_view {
                String::new()
            } else {
                run(&format!("SHOW PARTITIONS FROM {quoted}"))
                    .lines()
                    .map(|l| l.split('\t').nth(1).unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let rows = run(&format!("SELECT * FROM {quoted} ORDER BY 1, 2"));
            (name.to_owned(), create, partitions, rows)
        })
        .collect()
}

fn table(name: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE src_db.{name} (id INT, v VARCHAR(20)) {extra} DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
    )
}

fn partitioned(name: &str) -> String {
    format!(
        "CREATE TABLE src_db.{name} (id INT, day INT, v VARCHAR(20)) DUPLICATE KEY(id)
         PARTITION BY RANGE(day) (PARTITION p1 VALUES LESS THAN (10), PARTITION p2 VALUES LESS THAN (20),
                                  PARTITION p3 VALUES LESS THAN (30))
         DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
    )
}

#[test]
fn full_sync_of_tables_and_views_then_incremental_data() {
    let env = Env::new(&format!(
        "{}; {}; {};
         INSERT INTO src_db.u VALUES (1, 'a'), (2, 'b');
         INSERT INTO src_db.d VALUES (1, 'x'), (1, 'x');
         INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b'), (3, 25, 'c');
         CREATE VIEW src_db.v AS SELECT id, v FROM src_db.u WHERE id > 1;",
        table("u", "UNIQUE KEY(id)"),
        table("d", "DUPLICATE KEY(id)"),
        partitioned("p"),
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    assert_eq!(env.dest.sql("SELECT * FROM dest_db.v ORDER BY 1"), "2\tb\n");
    src_inserts_then_synced(&env);
    let progress = env.progress();
    assert_eq!(progress["sync_state"], 3, "DBIncrementalSync: {progress}");
    assert_eq!(
        progress["table_mapping"].as_object().unwrap().len(),
        4,
        "three tables and the view are mapped: {progress}"
    );
    let status = env.status();
    assert_eq!(status["progress_state"], "DBIncrementalSync", "{status}");
    assert!(status.get("skipped_binlogs").is_none(), "{status}");
}

fn src_inserts_then_synced(env: &Env) {
    env.src.sql(
        "INSERT INTO src_db.u VALUES (1, 'a2'), (3, 'c');
         INSERT INTO src_db.d VALUES (1, 'x'), (2, 'y');
         INSERT INTO src_db.p VALUES (4, 6, 'd'), (5, 26, 'e');
         DELETE FROM src_db.u WHERE id = 2;",
    );
    env.wait_synced(&[]);
}

/// Starts a job over `setup` and waits for the full sync, then runs each step on the
/// source and waits for the target to match after each.
fn replicate_steps(setup: &str, steps: &[&str]) -> Env {
    let env = Env::new(setup);
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    for step in steps {
        env.src.sql(step);
        env.wait_synced(&[]);
    }
    env
}

#[test]
fn create_table_then_data() {
    let env = replicate_steps(
        &table("a", "UNIQUE KEY(id)"),
        &[
            &format!(
                "{}; INSERT INTO src_db.b VALUES (1, 5, 'x'), (2, 25, 'y');",
                partitioned("b")
            ),
            "INSERT INTO src_db.b VALUES (3, 15, 'z'); INSERT INTO src_db.a VALUES (1, 'a');",
        ],
    );
    assert_eq!(env.dest.sql("SELECT count(*) FROM dest_db.b"), "3\n");
}

#[test]
fn table_created_and_dropped_before_the_syncer_reads_it() {
    let env = Env::new(&table("a", "UNIQUE KEY(id)"));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    env.syncer.pause("db");
    env.src.sql(&format!(
        "{}; INSERT INTO src_db.gone VALUES (1, 'x'); INSERT INTO src_db.a VALUES (1, 'a');
         DROP TABLE src_db.gone;
         CREATE VIEW src_db.gone_view AS SELECT id FROM src_db.a; DROP VIEW src_db.gone_view;
         INSERT INTO src_db.a VALUES (2, 'b');",
        table("gone", "DUPLICATE KEY(id)")
    ));
    env.syncer.resume("db");
    env.wait_synced(&[]);
    let progress = env.progress();
    assert_eq!(
        progress["table_mapping"].as_object().unwrap().len(),
        1,
        "{progress}"
    );
}

#[test]
fn drop_table_and_view() {
    replicate_steps(
        &format!(
            "{}; {}; INSERT INTO src_db.a VALUES (1, 'a'); CREATE VIEW src_db.va AS SELECT id FROM src_db.a;",
            table("a", "UNIQUE KEY(id)"),
            table("b", "DUPLICATE KEY(id)")
        ),
        &[
            "DROP VIEW src_db.va",
            "DROP TABLE src_db.b",
            "INSERT INTO src_db.a VALUES (2, 'b')",
        ],
    );
}

#[test]
fn rename_table() {
    let env = replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.a VALUES (1, 'a');",
            table("a", "UNIQUE KEY(id)")
        ),
        &[
            "ALTER TABLE src_db.a RENAME a2; INSERT INTO src_db.a2 VALUES (2, 'b');",
            "ALTER TABLE src_db.a2 RENAME `a-3`; INSERT INTO src_db.`a-3` VALUES (3, 'c');",
        ],
    );
    assert_eq!(env.dest.sql("SHOW TABLES FROM dest_db"), "a-3\n");
}

#[test]
fn add_and_drop_partitions_with_temporary_ones_skipped() {
    let env = replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b');",
            partitioned("p")
        ),
        &[
            "ALTER TABLE src_db.p ADD PARTITION p4 VALUES LESS THAN (40);
             INSERT INTO src_db.p VALUES (3, 35, 'c');",
            "ALTER TABLE src_db.p ADD TEMPORARY PARTITION tp VALUES [(\"40\"), (\"50\"));
             ALTER TABLE src_db.p DROP PARTITION p1;
             ALTER TABLE src_db.p DROP TEMPORARY PARTITION tp;
             INSERT INTO src_db.p VALUES (4, 16, 'd');",
        ],
    );
    assert_eq!(env.dest.partition_names("dest_db.p"), "p2,p3,p4");
    assert_eq!(env.dest.sql("SHOW TEMPORARY PARTITIONS FROM dest_db.p"), "");
}

#[test]
fn replace_partitions_strict_and_not() {
    let env = replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b'), (3, 25, 'c');",
            partitioned("p")
        ),
        &[
            // Strict range: a partial sync of p2 alone.
            "ALTER TABLE src_db.p ADD TEMPORARY PARTITION tp2 VALUES [(\"10\"), (\"20\"));
             INSERT INTO src_db.p TEMPORARY PARTITION (tp2) VALUES (9, 19, 'z');
             ALTER TABLE src_db.p REPLACE PARTITION (p2) WITH TEMPORARY PARTITION (tp2);
             INSERT INTO src_db.p VALUES (4, 6, 'd');",
            // Not strict, keeping the temporary name: a partial sync of the whole table.
            "ALTER TABLE src_db.p ADD TEMPORARY PARTITION tp3 VALUES [(\"20\"), (\"30\"));
             ALTER TABLE src_db.p REPLACE PARTITION (p3) WITH TEMPORARY PARTITION (tp3)
               PROPERTIES (\"strict_range\" = \"false\", \"use_temp_partition_name\" = \"true\");
             INSERT INTO src_db.p VALUES (5, 22, 'e');",
        ],
    );
    assert_eq!(env.dest.partition_names("dest_db.p"), "p1,p2,tp3");
    assert_eq!(
        env.dest.sql("SHOW TABLES FROM dest_db"),
        "p\n",
        "no alias left"
    );
}

#[test]
fn truncate_table_and_partitions() {
    let env = replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b'), (3, 25, 'c');",
            partitioned("p")
        ),
        &[
            "TRUNCATE TABLE src_db.p PARTITION (p2); INSERT INTO src_db.p VALUES (4, 16, 'd');",
            "TRUNCATE TABLE src_db.p",
        ],
    );
    assert_eq!(env.dest.sql("SELECT count(*) FROM dest_db.p"), "0\n");
}

#[test]
fn insert_overwrite() {
    let env = replicate_steps(
        &format!(
            "{}; {}; INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b'); INSERT INTO src_db.u VALUES (1, 'a');",
            partitioned("p"),
            table("u", "UNIQUE KEY(id)")
        ),
        &[
            "INSERT OVERWRITE TABLE src_db.p PARTITION (p2) VALUES (7, 17, 'o')",
            "INSERT OVERWRITE TABLE src_db.u VALUES (5, 'e'); INSERT INTO src_db.p VALUES (8, 8, 'h');",
        ],
    );
    assert_eq!(env.dest.sql("SELECT * FROM dest_db.u"), "5\te\n");
}

#[test]
fn light_schema_change() {
    replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.u VALUES (1, 'a');",
            table("u", "UNIQUE KEY(id)")
        ),
        &[
            "ALTER TABLE src_db.u ADD COLUMN extra INT DEFAULT '7'; INSERT INTO src_db.u VALUES (2, 'b', 8);",
            "ALTER TABLE src_db.u MODIFY COLUMN v VARCHAR(40); INSERT INTO src_db.u VALUES (3, 'c', 9);",
            "ALTER TABLE src_db.u DROP COLUMN extra; INSERT INTO src_db.u VALUES (4, 'd');",
        ],
    );
}

#[test]
fn heavy_schema_change_is_a_partial_sync_of_the_table() {
    let env = replicate_steps(
        &format!(
            "{}; {}; INSERT INTO src_db.k VALUES (1, 5, 'a'); INSERT INTO src_db.other VALUES (1, 'o');",
            format_args!(
                "CREATE TABLE src_db.k (id INT, day INT, v VARCHAR(10)) UNIQUE KEY(id, day)
                 DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
            ),
            table("other", "DUPLICATE KEY(id)")
        ),
        &[
            "ALTER TABLE src_db.k MODIFY COLUMN day BIGINT KEY;
             INSERT INTO src_db.k VALUES (2, 6, 'b'); INSERT INTO src_db.other VALUES (2, 'p');",
        ],
    );
    let status = env.status();
    assert_eq!(status["progress_state"], "DBIncrementalSync", "{status}");
    assert_eq!(
        env.dest.sql("SHOW TABLES FROM dest_db"),
        "k\nother\n",
        "no alias left"
    );
}

#[test]
fn rename_column_and_modify_comments() {
    replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.u VALUES (1, 'a');",
            table("u", "UNIQUE KEY(id)")
        ),
        &[
            "ALTER TABLE src_db.u RENAME COLUMN v val; INSERT INTO src_db.u VALUES (2, 'b');",
            "ALTER TABLE src_db.u MODIFY COMMENT 'it''s a table';
             ALTER TABLE src_db.u MODIFY COLUMN val COMMENT 'the \"value\"';",
        ],
    );
}

#[test]
fn create_drop_and_recreate_views() {
    let env = replicate_steps(
        &format!(
            "{}; INSERT INTO src_db.u VALUES (1, 'a'), (2, 'b');",
            table("u", "UNIQUE KEY(id)")
        ),
        &[
            "CREATE VIEW src_db.v1 AS SELECT id FROM src_db.u WHERE id > 1",
            "DROP VIEW src_db.v1; CREATE VIEW src_db.v1 AS SELECT v FROM src_db.u",
            "ALTER VIEW src_db.v1 AS SELECT id, v FROM src_db.u WHERE id < 2",
            "CREATE OR REPLACE VIEW src_db.v1 AS SELECT id FROM src_db.u",
        ],
    );
    assert_eq!(
        env.dest.sql("SELECT * FROM dest_db.v1 ORDER BY 1"),
        "1\n2\n"
    );
}

#[test]
fn modify_table_property() {
    let env = replicate_steps(
        &table("u", "UNIQUE KEY(id)"),
        &["ALTER TABLE src_db.u SET (\"disable_auto_compaction\" = \"true\"); INSERT INTO src_db.u VALUES (1, 'a');"],
    );
    assert!(env
        .dest
        .sql("SHOW CREATE TABLE dest_db.u")
        .contains(r#""disable_auto_compaction" = "true""#));
}

#[test]
fn identifiers_with_keywords_dashes_and_backquotes() {
    let weird = "CREATE TABLE src_db.`select` (`from` INT, `a-b` VARCHAR(10), `c``d` INT)
                 DUPLICATE KEY(`from`)
                 PARTITION BY RANGE(`from`) (PARTITION `p_1` VALUES LESS THAN (10), PARTITION `order` VALUES LESS THAN (20))
                 DISTRIBUTED BY HASH(`from`) BUCKETS 2 ";
    let env = replicate_steps(
        &format!(
            "{weird}{TABLE_PROPS}; INSERT INTO src_db.`select` VALUES (1, 'x', 1), (11, 'y', 2);"
        ),
        &[
            &format!("{}{TABLE_PROPS}", weird.replace("`select`", "`we``ird-t`")),
            "INSERT INTO src_db.`we``ird-t` VALUES (2, 'z', 3); INSERT INTO src_db.`select` VALUES (3, 'w', 4);",
            "ALTER TABLE src_db.`select` ADD PARTITION `values` VALUES LESS THAN (30);
             ALTER TABLE src_db.`select` RENAME COLUMN `a-b` `e``f`;
             ALTER TABLE src_db.`select` ADD COLUMN `key` INT DEFAULT '1';
             INSERT INTO src_db.`select` VALUES (25, 'q', 5, 6);",
            "CREATE VIEW src_db.`v-iew` AS SELECT `from`, `key` FROM src_db.`select`",
            "ALTER TABLE src_db.`we``ird-t` RENAME `table`;
             TRUNCATE TABLE src_db.`select` PARTITION (`p_1`);
             ALTER TABLE src_db.`select` MODIFY COLUMN `e``f` COMMENT 'it''s';",
        ],
    );
    assert_eq!(
        env.dest.sql("SHOW TABLES FROM dest_db"),
        "select\ntable\nv-iew\n"
    );
}

#[test]
fn include_and_exclude_lists() {
    let env = Env::new(&format!(
        "{}; {}; {}; INSERT INTO src_db.a VALUES (1, 'a'); INSERT INTO src_db.b VALUES (1, 'b');
         INSERT INTO src_db.c VALUES (1, 'c');",
        table("a", "UNIQUE KEY(id)"),
        table("b", "UNIQUE KEY(id)"),
        table("c", "UNIQUE KEY(id)"),
    ));
    env.create_db_job(
        json!({"include_tables": ["a", "b", "n", "later"], "exclude_tables": ["b", "n2"]}),
    );
    let not_replicated = ["b", "c", "n2", "x"];
    env.wait_synced(&not_replicated);
    env.src.sql(&format!(
        "INSERT INTO src_db.a VALUES (2, 'a'); INSERT INTO src_db.b VALUES (2, 'b');
         {}; INSERT INTO src_db.n VALUES (1, 'n');
         {}; INSERT INTO src_db.n2 VALUES (1, 'n2');
         ALTER TABLE src_db.b ADD COLUMN z INT DEFAULT '0'; TRUNCATE TABLE src_db.c;
         DROP TABLE src_db.c;",
        table("n", "UNIQUE KEY(id)"),
        table("n2", "UNIQUE KEY(id)"),
    ));
    env.wait_synced(&not_replicated);
    // A table renamed into the replicated set comes over; one renamed out stays as it was.
    env.src.sql(&format!(
        "{}; INSERT INTO src_db.x VALUES (1, 'x'); ALTER TABLE src_db.x RENAME later;
         INSERT INTO src_db.later VALUES (2, 'y');",
        table("x", "UNIQUE KEY(id)")
    ));
    env.wait_synced(&not_replicated);
    env.src
        .sql("ALTER TABLE src_db.n RENAME x; INSERT INTO src_db.x VALUES (2, 'n');");
    wait_until("the renamed table to stop replicating", CATCH_UP, || {
        let lag = env.syncer.get_lag("db");
        let tables = env.dest.sql("SHOW TABLES FROM dest_db");
        if lag["lag"] == 0 && tables == "a\nlater\nx\n" {
            Ok(())
        } else {
            Err(format!("{lag} {tables}"))
        }
    });
    assert_eq!(env.dest.sql("SELECT * FROM dest_db.x"), "1\tn\n");
    let detail = env.syncer.job_detail("db");
    assert!(
        detail
            .to_string()
            .contains(r#""exclude_tables":["b","n2"]"#),
        "{detail}"
    );
}

#[test]
fn include_lists_are_refused_for_table_jobs() {
    let env = Env::new(&table("a", "UNIQUE KEY(id)"));
    let body = json!({"name": "t", "src": env.src.spec("src_db", "a"), "dest": env.dest.spec("dest_db", "a"), "include_tables": ["a"]});
    let answer = env.syncer.try_create_ccr(&body);
    assert!(
        answer.to_string().contains("database jobs only"),
        "{answer}"
    );
}

#[test]
fn pause_during_a_burst_of_ddl_then_resume() {
    let env = Env::new(&format!(
        "{}; {}; INSERT INTO src_db.p VALUES (1, 5, 'a'); INSERT INTO src_db.u VALUES (1, 'a');",
        partitioned("p"),
        table("u", "UNIQUE KEY(id)")
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    env.syncer.pause("db");
    env.src.sql(&format!(
        "ALTER TABLE src_db.p ADD PARTITION p4 VALUES LESS THAN (40);
         INSERT INTO src_db.p VALUES (2, 35, 'b');
         ALTER TABLE src_db.u ADD COLUMN c1 INT DEFAULT '1';
         {}; INSERT INTO src_db.n VALUES (1, 'n');
         ALTER TABLE src_db.n RENAME n2;
         ALTER TABLE src_db.p DROP PARTITION p1;
         CREATE VIEW src_db.v AS SELECT id FROM src_db.n2;
         ALTER TABLE src_db.u RENAME COLUMN c1 c2;
         INSERT INTO src_db.u VALUES (2, 'b', 3);
         TRUNCATE TABLE src_db.p PARTITION (p2);
         ALTER TABLE src_db.u MODIFY COMMENT 'burst';",
        table("n", "DUPLICATE KEY(id)")
    ));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(env.dest.sql("SHOW TABLES FROM dest_db"), "p\nu\n", "paused");
    env.syncer.resume("db");
    env.wait_synced(&[]);
}

#[test]
fn kill_during_a_partial_sync_then_restart() {
    let mut env = Env::new(&format!(
        "{}; {}; INSERT INTO src_db.k VALUES (1, 1, 'a'), (2, 2, 'b'); INSERT INTO src_db.d VALUES (1, 'x');",
        format_args!(
            "CREATE TABLE src_db.k (id INT, day INT, v VARCHAR(10)) UNIQUE KEY(id, day)
             DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS}"
        ),
        table("d", "DUPLICATE KEY(id)")
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    let rule = env
        .dest
        .add_fault(json!({"rpc": "restoreSnapshot", "action": "hang", "max_millis": 60000}));
    env.src.sql(
        "ALTER TABLE src_db.k MODIFY COLUMN day BIGINT KEY; INSERT INTO src_db.k VALUES (3, 3, 'c');
         INSERT INTO src_db.d VALUES (2, 'y');",
    );
    env.dest.wait_fault_held(rule, "the partial restore");
    assert_eq!(env.progress()["sync_state"], 4, "DBPartialSync");
    // The target table stays readable while its replacement is prepared.
    assert_eq!(env.dest.sql("SELECT count(*) FROM dest_db.k"), "2\n");
    env.syncer.kill();
    env.dest.release_fault(rule);
    env.dest.clear_faults();
    env.src
        .sql("INSERT INTO src_db.d VALUES (3, 'z'); INSERT INTO src_db.k VALUES (4, 4, 'd');");
    env.syncer.restart();
    env.wait_synced(&[]);
    assert_eq!(
        env.dest.sql("SHOW TABLES FROM dest_db"),
        "d\nk\n",
        "no alias left"
    );
    assert_eq!(
        env.dest.sql("SELECT count(*) FROM dest_db.d"),
        "3\n",
        "no binlog applied twice"
    );
}

#[test]
fn signature_mismatch_in_full_sync_is_replaced_through_an_alias() {
    let env = Env::new(&format!(
        "{}; {}; INSERT INTO src_db.a VALUES (1, 'a'); INSERT INTO src_db.b VALUES (1, 'b');
         CREATE VIEW src_db.v AS SELECT id FROM src_db.a;",
        table("a", "UNIQUE KEY(id)"),
        table("b", "DUPLICATE KEY(id)")
    ));
    // The target already has `a` with another schema, and a different view `v`.
    env.dest.sql(&format!(
        "CREATE DATABASE dest_db; CREATE TABLE dest_db.a (id INT, w BIGINT) UNIQUE KEY(id)
         DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         INSERT INTO dest_db.a VALUES (9, 9);
         CREATE VIEW dest_db.v AS SELECT w FROM dest_db.a;"
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    env.src.sql("INSERT INTO src_db.a VALUES (2, 'b')");
    env.wait_synced(&[]);
}

/// Commits ONE transaction on the source that writes `tables` of `src_db`, taking each
/// table's rows from the same-named table of `feeder_db` on `feeder` (its last load).
fn multi_table_source_txn(src: &TestCluster, feeder: &TestCluster, tables: &[&str]) {
    use ccr_doris::cluster::{BeginTxn, CommitOutcome};
    use ccr_doris::rpc::RpcAddress;
    use ccr_wire::backend_service::TIngestBinlogRequest;
    use ccr_wire::status::TStatusCode;
    use ccr_wire::types::{TTabletCommitInfo, TUniqueId};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _context = runtime.enter();
    let (src_client, feeder_client) = (src.client(), feeder.client());
    let ids = |cluster: &ccr_doris::cluster::DorisCluster, db: &str| {
        runtime.block_on(async {
            let sql = cluster.sql();
            let db_id = sql.database_id(db).await.unwrap().unwrap();
            let mut table_ids = Vec::new();
            for table in tables {
                table_ids.push(sql.table_id(db_id, table).await.unwrap().unwrap());
            }
            (db_id, table_ids)
        })
    };
    let (src_db_id, src_ids) = ids(&src_client, "src_db");
    let (feeder_db_id, feeder_ids) = ids(&feeder_client, "feeder_db");
    let src_meta = runtime
        .block_on(src_client.table_meta(src_db_id, &src_ids))
        .unwrap();
    let feeder_meta = runtime
        .block_on(feeder_client.table_meta(feeder_db_id, &feeder_ids))
        .unwrap();
    let backends = |c: &ccr_doris::cluster::DorisCluster| -> std::collections::BTreeMap<i64, _> {
        runtime
            .block_on(c.backends())
            .unwrap()
            .into_iter()
            .map(|be| (be.id, be))
            .collect()
    };
    let (src_bes, feeder_bes) = (backends(&src_client), backends(&feeder_client));
    let BeginTxn::Started { txn_id } = runtime
        .block_on(src_client.begin_txn("src_db", src_ids.clone(), "two_tables_at_once"))
        .unwrap()
    else {
        panic!("label taken")
    };
    let mut commit_infos = Vec::new();
    for (src_id, feeder_id) in src_ids.iter().zip(&feeder_ids) {
        let (src_table, feeder_table) = (&src_meta.tables[src_id], &feeder_meta.tables[feeder_id]);
        for feeder_partition in &feeder_table.partitions {
            let version = feeder_partition.visible_version;
            let src_partition = src_table
                .partition_by_range(&feeder_partition.range)
                .unwrap();
            let pairs = feeder_partition.indexes[0]
                .tablets_in_bucket_order()
                .into_iter()
                .zip(src_partition.indexes[0].tablets_in_bucket_order());
            for (from, to) in pairs {
                let source_be = &feeder_bes[&from.replicas[0].backend_id];
                for replica in &to.replicas {
                    let be = &src_bes[&replica.backend_id];
                    let result = runtime
                        .block_on(
                            src_client
                                .backend(&RpcAddress::new(be.host.clone(), be.be_port))
                                .ingest_binlog(TIngestBinlogRequest {
                                    txn_id: Some(txn_id),
                                    remote_tablet_id: Some(from.id),
                                    binlog_version: Some(version),
                                    remote_host: Some(source_be.host.clone()),
                                    remote_port: Some(source_be.http_port.to_string()),
                                    partition_id: Some(src_partition.id),
                                    local_tablet_id: Some(to.id),
                                    load_id: Some(TUniqueId { hi: -1, lo: -1 }),
                                }),
                        )
                        .unwrap();
                    assert_eq!(result.status.unwrap().status_code, TStatusCode::OK);
                    commit_infos.push(TTabletCommitInfo {
                        tablet_id: to.id,
                        backend_id: be.id,
                    });
                }
            }
        }
    }
    let outcome = runtime
        .block_on(src_client.commit_txn("src_db", txn_id, commit_infos))
        .unwrap();
    assert_eq!(outcome, CommitOutcome::Visible);
}

#[test]
fn upsert_spanning_two_tables_is_one_target_transaction() {
    let env = Env::new(&format!(
        "{}; {}; {}; INSERT INTO src_db.a VALUES (1, 'a');",
        table("a", "DUPLICATE KEY(id)"),
        table("b", "DUPLICATE KEY(id)"),
        table("c", "DUPLICATE KEY(id)"),
    ));
    env.create_db_job(json!({"exclude_tables": ["c"]}));
    env.wait_synced(&["c"]);
    let feeder = TestCluster::start();
    feeder.sql(&format!(
        "CREATE DATABASE feeder_db {DB_PROPS}; {}; {}; {};
         INSERT INTO feeder_db.a VALUES (2, 'x'), (3, 'y'); INSERT INTO feeder_db.b VALUES (7, 'z');
         INSERT INTO feeder_db.c VALUES (9, 'c');",
        table("a", "DUPLICATE KEY(id)").replace("src_db", "feeder_db"),
        table("b", "DUPLICATE KEY(id)").replace("src_db", "feeder_db"),
        table("c", "DUPLICATE KEY(id)").replace("src_db", "feeder_db"),
    ));
    multi_table_source_txn(&env.src, &feeder, &["a", "b", "c"]);
    assert_eq!(env.src.sql("SELECT count(*) FROM src_db.c"), "1\n");
    env.wait_synced(&["c"]);
    assert_eq!(
        env.dest.sql("SELECT * FROM dest_db.a ORDER BY 1"),
        "1\ta\n2\tx\n3\ty\n"
    );
    assert_eq!(env.dest.sql("SELECT * FROM dest_db.b"), "7\tz\n");
    // One target transaction, labelled after the binlog, covered both tables.
    let seq = env.progress()["prev_commit_seq"].as_i64().unwrap();
    let ids = |cluster: &TestCluster, db: &str| {
        cluster
            .sql("SHOW PROC '/dbs/'")
            .lines()
            .find(|l| l.split('\t').nth(1) == Some(db))
            .unwrap()
            .split('\t')
            .next()
            .unwrap()
            .to_owned()
    };
    let label = format!(
        "ccrj-db_sync:{}:{}:{seq}",
        ids(&env.src, "src_db"),
        ids(&env.dest, "dest_db")
    );
    let txn = env.dest.sql(&format!(
        "SHOW TRANSACTION FROM dest_db WHERE label = \"{label}\""
    ));
    assert!(txn.contains("VISIBLE"), "{label}: {txn}");
}

#[test]
fn table_job_replays_partition_renames_properties_and_partial_partition_syncs() {
    let env = Env::new(&format!(
        "{}; INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b');",
        partitioned("p")
    ));
    env.create_job("t", "p", "p");
    let synced = || wait_databases_equal(&env, "t", &[]);
    synced();
    for step in [
        "ALTER TABLE src_db.p RENAME PARTITION p3 p30; ALTER TABLE src_db.p SET (\"disable_auto_compaction\" = \"true\");",
        // Strict replace of p2, then data into p1: only p2's binlogs are in the snapshot.
        "ALTER TABLE src_db.p ADD TEMPORARY PARTITION tp2 VALUES [(\"10\"), (\"20\"));
         INSERT INTO src_db.p TEMPORARY PARTITION (tp2) VALUES (9, 19, 'z');
         ALTER TABLE src_db.p REPLACE PARTITION (p2) WITH TEMPORARY PARTITION (tp2);
         INSERT INTO src_db.p VALUES (4, 6, 'd'), (5, 16, 'e');",
    ] {
        env.src.sql(step);
        synced();
    }
}

#[test]
fn records_the_job_does_not_replicate_are_reported() {
    let env = replicate_steps(
        &table("u", "UNIQUE KEY(id)"),
        &["ALTER DATABASE src_db SET PROPERTIES (\"replication_allocation\" = \"tag.location.default: 1\"); INSERT INTO src_db.u VALUES (1, 'a');"],
    );
    let status = env.status();
    let skipped = status["skipped_binlogs"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(
        skipped
            .keys()
            .any(|k| k.contains("ALTER_DATABASE_PROPERTY")),
        "{status}"
    );
}

/// What a table's indexes look like on one cluster: `DESC t ALL` and, per index name, the
/// rows that index holds (read from the simulator's catalog: SELECT reads the base index
/// only).
fn index_state(cluster: &TestCluster, db: &str, table: &str) -> (String, Vec<(String, String)>) {
    let desc = cluster.sql(&format!("DESC `{db}`.`{table}` ALL"));
    let state = cluster.doris().catalog.read();
    let Some(olap) = state
        .db(db)
        .and_then(|d| d.table(table))
        .and_then(|t| t.olap())
    else {
        return (desc, Vec::new());
    };
    let mut names = vec![table.to_owned()];
    names.extend(olap.rollups.iter().map(|r| r.name.clone()));
    let indexes = names
        .into_iter()
        .map(|name| {
            let mut rows: Vec<String> = olap
                .scan_index(&name)
                .unwrap_or_default()
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|v| v.to_text())
                        .collect::<Vec<_>>()
                        .join("\t")
                })
                .collect();
            rows.sort();
            (name, rows.join("\n"))
        })
        .collect();
    (desc, indexes)
}

/// Waits until `table` has the same indexes, with the same rows in each, on both sides.
fn wait_indexes_equal(env: &Env, table: &str) -> (String, Vec<(String, String)>) {
    let mut last = (String::new(), Vec::new());
    wait_until(
        "the target's indexes to equal the source's",
        CATCH_UP,
        || {
            let want = index_state(&env.src, "src_db", table);
            let got = index_state(&env.dest, "dest_db", table);
            if want == got {
                last = got;
                Ok(())
            } else {
                Err(format!("\nsource: {want:#?}\ntarget: {got:#?}"))
            }
        },
    );
    last
}

fn index_names(state: &(String, Vec<(String, String)>)) -> Vec<&str> {
    state.1.iter().map(|(name, _)| name.as_str()).collect()
}

const SALES_TABLE: &str = "CREATE TABLE src_db.s (k INT, region VARCHAR(8), amount BIGINT)
     DUPLICATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2
     PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\")";

#[test]
fn rollups_and_materialized_views_replicate_in_a_database_job() {
    let env = replicate_steps(
        &format!(
            "{SALES_TABLE}; {}; INSERT INTO src_db.s VALUES (1, 'eu', 10), (2, 'us', 20), (1, 'eu', 5);
             INSERT INTO src_db.other VALUES (1, 'o');",
            table("other", "DUPLICATE KEY(id)")
        ),
        &[],
    );
    let steps: [(&str, &[&str]); 4] = [
        (
            // A finished rollup job: partial sync of the table, then loads into both indexes.
            "ALTER TABLE src_db.s ADD ROLLUP r_region (region, amount);
             INSERT INTO src_db.s VALUES (3, 'apac', 7); INSERT INTO src_db.other VALUES (2, 'p');",
            &["s", "r_region"],
        ),
        (
            "CREATE MATERIALIZED VIEW mv_k AS SELECT k, SUM(amount) FROM src_db.s GROUP BY k;
             INSERT INTO src_db.s VALUES (1, 'eu', 100), (4, 'us', 1);",
            &["s", "r_region", "mv_k"],
        ),
        (
            "ALTER TABLE src_db.s RENAME ROLLUP r_region r_area;
             INSERT INTO src_db.s VALUES (2, 'us', 2);",
            &["s", "r_area", "mv_k"],
        ),
        (
            "ALTER TABLE src_db.s DROP ROLLUP r_area; DROP MATERIALIZED VIEW mv_k ON src_db.s;
             INSERT INTO src_db.s VALUES (5, 'eu', 3);",
            &["s"],
        ),
    ];
    for (step, expected) in steps {
        env.src.sql(step);
        env.wait_synced(&[]);
        let state = wait_indexes_equal(&env, "s");
        assert_eq!(index_names(&state), expected, "after {step}");
    }
    let status = env.status();
    assert_eq!(status["progress_state"], "DBIncrementalSync", "{status}");
    assert_eq!(
        env.dest.sql("SHOW TABLES FROM dest_db"),
        "other\ns\n",
        "no alias left"
    );
    let log = env.syncer.log();
    assert_eq!(
        log.matches("starting a partial sync").count(),
        2,
        "one partial sync per finished rollup / MV job:\n{log}"
    );
    assert!(!log.contains("starting a full sync"), "{log}");
}

#[test]
fn table_job_full_syncs_when_its_table_gets_a_rollup() {
    let env = Env::new(&format!(
        "{SALES_TABLE}; INSERT INTO src_db.s VALUES (1, 'eu', 10), (2, 'us', 20);"
    ));
    env.create_job("t", "s", "s");
    let synced = || {
        wait_databases_equal(&env, "t", &[]);
        wait_indexes_equal(&env, "s")
    };
    synced();
    env.src.sql(
        "ALTER TABLE src_db.s ADD ROLLUP r_region (region, amount);
         INSERT INTO src_db.s VALUES (3, 'eu', 7);",
    );
    let state = synced();
    assert_eq!(index_names(&state), ["s", "r_region"]);
    env.src
        .sql("INSERT INTO src_db.s VALUES (4, 'us', 1), (5, 'apac', 2);");
    let state = synced();
    assert_eq!(index_names(&state), ["s", "r_region"]);
    let status = env.syncer.job_status("t");
    assert_eq!(status["progress_state"], "TableIncrementalSync", "{status}");
    assert!(
        env.syncer
            .log()
            .contains("a rollup or schema change finished on the source"),
        "the rollup job triggered a full sync"
    );
}

#[test]
fn replace_table_with_and_without_swap() {
    let env = replicate_steps(
        &format!(
            "{}; {}; {}; INSERT INTO src_db.a VALUES (1, 'a'); INSERT INTO src_db.b VALUES (2, 'b');
             INSERT INTO src_db.c VALUES (3, 'c');",
            table("a", "UNIQUE KEY(id)"),
            table("b", "UNIQUE KEY(id)"),
            table("c", "UNIQUE KEY(id)")
        ),
        &[
            // swap: a and b exchange their contents (and ids); both stay replicated.
            "ALTER TABLE src_db.a REPLACE WITH TABLE b PROPERTIES (\"swap\" = \"true\");
             INSERT INTO src_db.a VALUES (4, 'd'); INSERT INTO src_db.b VALUES (5, 'e');",
            // no swap: c replaces a, and c's name goes away.
            "ALTER TABLE src_db.a REPLACE WITH TABLE c PROPERTIES (\"swap\" = \"false\");
             INSERT INTO src_db.a VALUES (6, 'f');",
        ],
    );
    assert_eq!(env.dest.sql("SHOW TABLES FROM dest_db"), "a\nb\n");
}

/// Runs `statements` on the source while the job is paused, so the syncer meets them all
/// at once, as it does when an application sends them back to back; then resumes and
/// waits for the target to equal the source.
fn back_to_back(env: &Env, statements: &str) {
    support::back_to_back(&env.syncer, "db", &env.src, statements);
    env.wait_synced(&[]);
}

#[test]
fn replaced_partition_then_dropped_or_renamed() {
    // Class C: the partial sync of a replaced partition must not back up a partition
    // that is gone or has another name by the time it runs.
    let env = Env::new(&format!(
        "{}; INSERT INTO src_db.p VALUES (1, 5, 'a'), (2, 15, 'b'), (3, 25, 'c');",
        partitioned("p")
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    back_to_back(
        &env,
        "INSERT OVERWRITE TABLE src_db.p PARTITION (p1) VALUES (7, 7, 'o');
         ALTER TABLE src_db.p DROP PARTITION p1;",
    );
    back_to_back(
        &env,
        "INSERT OVERWRITE TABLE src_db.p PARTITION (p2) VALUES (8, 18, 'r');
         ALTER TABLE src_db.p RENAME PARTITION p2 px;
         INSERT INTO src_db.p VALUES (9, 19, 'n');",
    );
    back_to_back(
        &env,
        "ALTER TABLE src_db.p ADD TEMPORARY PARTITION tp3 VALUES [(\"20\"), (\"30\"));
         INSERT INTO src_db.p TEMPORARY PARTITION (tp3) VALUES (4, 24, 't');
         ALTER TABLE src_db.p REPLACE PARTITION (p3) WITH TEMPORARY PARTITION (tp3)
           PROPERTIES (\"use_temp_partition_name\" = \"true\");
         ALTER TABLE src_db.p DROP PARTITION tp3;",
    );
    assert_eq!(env.dest.partition_names("dest_db.p"), "px");
    let status = env.status();
    assert!(status.get("needs_operator").is_none(), "{status}");
}

#[test]
fn load_then_heavy_schema_change_is_covered_by_its_partial_sync() {
    // Class D: the load's index is replaced by the schema change before it is replayed;
    // the table's partial sync covers it, with no full sync of the database.
    let env = Env::new(&format!(
        "CREATE TABLE src_db.e (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         INSERT INTO src_db.e VALUES (0, 0);"
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    back_to_back(
        &env,
        &format!(
            "CREATE TABLE src_db.t1 (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
             INSERT INTO src_db.e VALUES (1, 1);
             ALTER TABLE src_db.t1 RENAME t2;
             ALTER TABLE src_db.e MODIFY COLUMN v BIGINT;"
        ),
    );
    assert_eq!(env.dest.sql("SHOW TABLES FROM dest_db"), "e\nt2\n");
    let progress = env.progress();
    assert!(
        progress["full_sync_start_at"] == progress["created_at"],
        "no second full sync: {progress}"
    );
}

#[test]
fn full_sync_drops_what_the_job_put_there_and_nothing_else() {
    // Class D, second fault: a new full sync leaves the target's tables and views equal
    // to the source's, and never touches objects outside the job's scope.
    let env = Env::new(&format!(
        "{}; {}; CREATE VIEW src_db.v AS SELECT id FROM src_db.a;
         INSERT INTO src_db.a VALUES (1, 'a');",
        table("a", "UNIQUE KEY(id)"),
        table("b", "DUPLICATE KEY(id)"),
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    env.dest.sql(&format!(
        "CREATE TABLE dest_db.mine (id INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 1 {TABLE_PROPS}"
    ));
    env.syncer.pause("db");
    wait_job_status(&env.syncer, "db", "the job to pause", |s| {
        s["state"] == "paused"
    });
    env.src.sql(
        "ALTER TABLE src_db.a RENAME a2; DROP TABLE src_db.b; DROP VIEW src_db.v;
         INSERT INTO src_db.a2 VALUES (2, 'b');",
    );
    env.syncer.force_fullsync("db");
    env.syncer.resume("db");
    wait_until("the full sync to replace the target", CATCH_UP, || {
        let tables = env.dest.sql("SHOW TABLES FROM dest_db");
        let status = env.status();
        if tables == "a2\nmine\n" && status["progress_state"] != "DBFullSync" {
            Ok(())
        } else {
            Err(format!("{tables} {status}"))
        }
    });
    assert_eq!(
        env.dest.sql("SELECT * FROM dest_db.a2 ORDER BY 1"),
        "1\ta\n2\tb\n"
    );
}

#[test]
fn view_created_on_a_column_that_a_partial_sync_already_dropped() {
    // Class E: the partial sync brings the table's later schema; the view's CREATE (and
    // ALTER) cannot be replayed against it, so the view comes by snapshot too.
    let env = Env::new(&format!(
        "CREATE TABLE src_db.t (id INT, v INT, w INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         INSERT INTO src_db.t VALUES (1, 1, 1);
         CREATE VIEW src_db.old AS SELECT id, v FROM src_db.t;"
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    back_to_back(
        &env,
        "INSERT OVERWRITE TABLE src_db.t VALUES (2, 2, 2);
         CREATE VIEW src_db.v AS SELECT id, w FROM src_db.t;
         ALTER VIEW src_db.old AS SELECT id, w FROM src_db.t;
         ALTER TABLE src_db.t DROP COLUMN w;",
    );
    let status = env.status();
    assert!(status.get("needs_operator").is_none(), "{status}");
}

#[test]
fn rename_covered_by_a_partial_snapshot_still_renames_the_target() {
    // Found by the random workload (database seeds 102, 105-107): the partial snapshot
    // covers the RENAME but is restored under the target's old name.
    let env = Env::new(&format!(
        "{}; INSERT INTO src_db.a VALUES (1, 'a');",
        table("a", "UNIQUE KEY(id)")
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    back_to_back(
        &env,
        "INSERT OVERWRITE TABLE src_db.a VALUES (2, 'b');
         ALTER TABLE src_db.a RENAME `select`;
         INSERT INTO src_db.`select` VALUES (3, 'c');",
    );
    assert_eq!(env.dest.sql("SHOW TABLES FROM dest_db"), "select\n");
}

#[test]
fn a_partial_sync_whose_table_moves_before_its_backup_resolves_it_again() {
    // Found by the random workload (database seeds 5030, 5031): the table was renamed
    // between the partial sync resolving its name and the BACKUP, which then failed with
    // `Unknown table` on every retry. Holding the BACKUP plays that race exactly.
    let env = Env::new(&format!(
        "{}; INSERT INTO src_db.t VALUES (1, 'a');",
        table("t", "UNIQUE KEY(id)")
    ));
    env.create_db_job(json!({}));
    env.wait_synced(&[]);
    let hold = env
        .src
        .add_fault(json!({"sql": "backup snapshot", "action": "hang", "times": 1}));
    env.src
        .sql("INSERT OVERWRITE TABLE src_db.t VALUES (2, 'b')");
    env.src.wait_fault_held(hold, "the partial sync's backup");
    env.src
        .sql("ALTER TABLE src_db.t RENAME t2; INSERT INTO src_db.t2 VALUES (3, 'c');");
    env.src.release_fault(hold);
    env.wait_synced(&[]);
    assert_eq!(env.dest.sql("SHOW TABLES FROM dest_db"), "t2\n");
    let status = env.status();
    assert!(status.get("needs_operator").is_none(), "{status}");
}
