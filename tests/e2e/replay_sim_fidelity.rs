//! Regression tests for simulator fidelity bugs that made replication diverge: the real
//! `ccr_syncer` binary between two simulated clusters, with a table job and a database
//! job. Statements that used to break replay are sent back to back in one `mariadb -e`
//! call (after the full sync finished, or before the job exists where the full sync is the
//! subject); the test then waits until the job is caught up and healthy and compares each
//! table's rows, `SHOW CREATE TABLE` and `information_schema.tables` comment on both sides.
//!
//! - A load followed by RENAME COLUMN before the syncer replays the load (rowsets must name
//!   columns by unique id, not by name), on DUPLICATE and AGGREGATE tables.
//! - A DELETE followed by RENAME COLUMN of its condition column (delete predicates by
//!   unique id).
//! - A DELETE on a column dropped before the full sync (the restore must keep the delete
//!   and the dropped column's stored values, by unique id).
//! - Table comments: an empty comment reads as `OLAP`; a restore carries the real comment.

use crate::support;

use support::{
    caught_up, comparable_create, wait_until, Replication, TestCluster, CATCH_UP, TABLE_PROPS,
};

/// What a test replicates: the whole `src_db`, or the named tables with one table job
/// each (job name = table name).
enum Jobs<'a> {
    Database,
    Tables(&'a [&'a str]),
}

/// A [`Replication`] and its jobs.
struct Env {
    replication: Replication,
    /// Job name → the tables it must keep equal.
    jobs: Vec<(String, Vec<String>)>,
}

impl Env {
    /// Sets up the source with `setup` (one `mariadb -e` call), starts a syncer and creates
    /// the jobs.
    fn new(setup: &str, tables: &[&str], jobs: Jobs<'_>) -> Env {
        let replication = Replication::start(setup);
        let jobs: Vec<(String, Vec<String>)> = match jobs {
            Jobs::Database => vec![(
                "db".to_owned(),
                tables.iter().map(|t| (*t).to_owned()).collect(),
            )],
            Jobs::Tables(names) => names
                .iter()
                .map(|t| ((*t).to_owned(), vec![(*t).to_owned()]))
                .collect(),
        };
        for (name, covered) in &jobs {
            let table = if name == "db" {
                ""
            } else {
                covered[0].as_str()
            };
            replication.create_job(name, table, table);
        }
        Env { replication, jobs }
    }

    fn src(&self) -> &TestCluster {
        &self.replication.src
    }

    fn dest(&self) -> &TestCluster {
        &self.replication.dest
    }

    /// Waits until every job is caught up (lag 0, no error, incremental) and every table
    /// it covers looks the same on both sides.
    fn wait_synced(&self) {
        let syncer = &self.replication.syncer;
        wait_until("the target to equal the source", CATCH_UP, || {
            for (job, tables) in &self.jobs {
                caught_up(syncer, job)?;
                let status = syncer.job_status(job);
                let incremental = status["progress_state"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("IncrementalSync"));
                if !incremental {
                    return Err(format!("job {job}: status {status}"));
                }
                for table in tables {
                    let want = object(self.src(), "src_db", table);
                    let got = object(self.dest(), "dest_db", table);
                    if want != got {
                        return Err(format!(
                            "job {job}, table {table}:\nsource: {want:#?}\ntarget: {got:#?}\nstatus: {status}"
                        ));
                    }
                }
            }
            Ok(())
        });
    }
}

/// One table as compared: `SHOW CREATE TABLE` (see [`comparable_create`]), its
/// `information_schema.tables` comment and its rows. A failing statement shows as its
/// error text, so a caller waiting for equality simply looks again.
fn object(cluster: &TestCluster, db: &str, table: &str) -> (String, String, String) {
    let run = |sql: &str| cluster.sql_or_error(sql);
    let create = comparable_create(&run(&format!("SHOW CREATE TABLE `{db}`.`{table}`")), db);
    let comment = run(&format!(
        "SELECT table_comment FROM information_schema.tables \
         WHERE table_schema = '{db}' AND table_name = '{table}'"
    ));
    let rows = cluster.try_rows(&format!("`{db}`.`{table}`"));
    (create, comment, rows)
}

fn renames_setup() -> String {
    format!(
        "CREATE TABLE src_db.t (id INT, city VARCHAR(8) DEFAULT \"none\", amount INT)
           DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         CREATE TABLE src_db.a (k INT, total BIGINT SUM DEFAULT \"0\")
           AGGREGATE KEY(k) DISTRIBUTED BY HASH(k) BUCKETS 2 {TABLE_PROPS};
         INSERT INTO src_db.t VALUES (1, 'a', 10), (3, 'c', 30);
         INSERT INTO src_db.a VALUES (1, 1), (2, 2);"
    )
}

/// The back-to-back batch: loads and a delete, each followed by a rename of a column
/// they wrote or tested, before the syncer has replayed them.
const RENAMES: &str = "INSERT INTO src_db.t VALUES (2, 'b', 20);
     ALTER TABLE src_db.t RENAME COLUMN city town;
     DELETE FROM src_db.t WHERE amount = 30;
     ALTER TABLE src_db.t RENAME COLUMN amount amt;
     INSERT INTO src_db.a VALUES (1, 5), (2, 3);
     INSERT INTO src_db.a VALUES (1, 7);
     ALTER TABLE src_db.a RENAME COLUMN total amount;";

fn check_renames(env: &Env) {
    env.wait_synced();
    env.src().sql(RENAMES);
    env.wait_synced();
    assert_eq!(
        env.dest().rows("dest_db.t"),
        "1\ta\t10\n2\tb\t20\n",
        "the renamed column keeps the replayed load's value; the delete applied"
    );
    assert_eq!(
        env.dest().rows("dest_db.a"),
        "1\t13\n2\t5\n",
        "SUMs include the loads replayed after the rename"
    );
    let ddl = env.dest().sql("SHOW CREATE TABLE dest_db.t");
    assert!(ddl.contains("`town`") && ddl.contains("`amt`"), "{ddl}");
}

#[test]
fn table_jobs_replay_loads_and_deletes_across_column_renames() {
    let env = Env::new(&renames_setup(), &["t", "a"], Jobs::Tables(&["t", "a"]));
    check_renames(&env);
}

#[test]
fn db_job_replays_loads_and_deletes_across_column_renames() {
    let env = Env::new(&renames_setup(), &["t", "a"], Jobs::Database);
    check_renames(&env);
}

/// Before any job: a delete on a column that is then dropped, and tables with and
/// without a comment.
fn dropped_and_comments_setup() -> String {
    format!(
        "CREATE TABLE src_db.f (id INT, qty INT, note VARCHAR(8))
           DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2 {TABLE_PROPS};
         CREATE TABLE src_db.plain (id INT) DUPLICATE KEY(id)
           DISTRIBUTED BY HASH(id) BUCKETS 1 {TABLE_PROPS};
         CREATE TABLE src_db.noted (id INT) DUPLICATE KEY(id) COMMENT 'orders of the day'
           DISTRIBUTED BY HASH(id) BUCKETS 1 {TABLE_PROPS};
         INSERT INTO src_db.f VALUES (1, 1, 'a'), (2, 2, 'b'), (3, 1, 'c');
         INSERT INTO src_db.plain VALUES (1);
         INSERT INTO src_db.noted VALUES (1);
         DELETE FROM src_db.f WHERE qty = 1;
         ALTER TABLE src_db.f DROP COLUMN qty;"
    )
}

fn check_dropped_and_comments(env: &Env) {
    env.wait_synced();
    assert_eq!(env.dest().rows("dest_db.f"), "2\tb\n");
    // Incremental replay into the restored table still works.
    env.src().sql(
        "INSERT INTO src_db.f VALUES (4, 'd');
         ALTER TABLE src_db.f ADD COLUMN qty INT NULL DEFAULT \"1\";
         INSERT INTO src_db.f VALUES (5, 'e', 9);",
    );
    env.wait_synced();
    assert_eq!(env.dest().rows("dest_db.f"), "2\tb\t1\n4\td\t1\n5\te\t9\n");
}

#[test]
fn db_full_sync_keeps_deletes_on_dropped_columns_and_table_comments() {
    let env = Env::new(
        &dropped_and_comments_setup(),
        &["f", "plain", "noted"],
        Jobs::Database,
    );
    check_dropped_and_comments(&env);
    assert_eq!(
        object(env.dest(), "dest_db", "plain").1,
        "OLAP\n",
        "an empty comment reads as the engine name"
    );
}

#[test]
fn table_full_sync_keeps_deletes_on_dropped_columns_and_table_comments() {
    let env = Env::new(
        &dropped_and_comments_setup(),
        &["f", "plain", "noted"],
        Jobs::Tables(&["f", "plain", "noted"]),
    );
    check_dropped_and_comments(&env);
}
