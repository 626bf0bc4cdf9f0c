//! High availability: two syncers share one MariaDB metadata database; when the owner of a
//! job dies, the other adopts the job and replication goes on from the stored progress.

use crate::support;

use std::time::Duration;

use serde_json::json;
use support::{mysql_syncer, wait_until, MariaDbDatabase, TestCluster};

#[test]
fn a_dead_syncers_job_is_taken_over_and_keeps_replicating() {
    let src = TestCluster::start();
    src.sql(
        "CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");
         CREATE TABLE src_db.t (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
           PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
         INSERT INTO src_db.t VALUES (1, 1);",
    );
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let mut a = mysql_syncer(&dir_a, &database.0);
    let b = mysql_syncer(&dir_b, &database.0);
    let body =
        json!({"name": "ha", "src": src.spec("src_db", "t"), "dest": dest.spec("dest_db", "t")});
    a.create_ccr(&body);
    let dest = &dest;
    let synced = |want: &'static str| {
        move || {
            let (ok, got) = dest.try_sql("SELECT * FROM dest_db.t ORDER BY id");
            if ok && got == want {
                Ok(())
            } else {
                Err(got)
            }
        }
    };
    wait_until(
        "the first row on the target",
        Duration::from_secs(60),
        synced("1\t1\n"),
    );

    // The owner dies without a word; its heartbeat stops.
    a.kill();
    src.sql("INSERT INTO src_db.t VALUES (2, 2)");
    // Dead after 12 s without a heartbeat, noticed within the next 5 s check.
    wait_until(
        "the job to move to the surviving syncer",
        Duration::from_secs(60),
        || {
            // Until then b redirects (303) to the dead owner.
            let (code, body) = b.post_raw("/job_status", r#"{"name":"ha"}"#);
            if code == 200 && body.contains(r#""success":true"#) {
                Ok(())
            } else {
                Err(format!("{code} {body}"))
            }
        },
    );
    wait_until(
        "replication to go on",
        Duration::from_secs(60),
        synced("1\t1\n2\t2\n"),
    );

    // The old owner comes back: the job stays where it is, and calls to the old owner are
    // redirected to the new one.
    a.restart();
    src.sql("INSERT INTO src_db.t VALUES (3, 3)");
    wait_until(
        "replication after the restart",
        Duration::from_secs(60),
        synced("1\t1\n2\t2\n3\t3\n"),
    );
    assert_eq!(
        support::curl_redirect(&a.url("/job_status"), r#"{"name":"ha"}"#),
        format!("303 http://127.0.0.1:{}/job_status", b.port)
    );
}
