//! Chaos: three syncers share one MariaDB metadata database (through a proxy the test can
//! cut), table jobs replicate between two simulated clusters under a continuous workload, and
//! a seeded schedule kills (-9), freezes, thaws and restarts syncers and cuts the store off
//! once. At the end every job must hold exactly the source's rows (DUPLICATE KEY tables: a
//! load applied twice or lost shows), and each takeover after a kill is timed.
//!
//! CI runs one fixed seed (`chaos_with_a_fixed_seed`); `scripts/ha_chaos.sh` runs the ignored
//! `chaos_soak` with `CHAOS_SEED`, `CHAOS_RUNS`, `CHAOS_JOBS` and `CHAOS_ROUNDS`.

use crate::support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use support::{proxied_mysql_syncer, wait_until, MariaDbDatabase, Syncer, TcpProxy, TestCluster};

/// Heartbeat every second, dead after four.
const HA_FLAGS: [&str; 4] = ["--heartbeat_interval", "1s", "--dead_after", "4s"];
const SYNCERS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Running,
    Frozen,
    Killed,
}

/// What one run saw.
#[derive(Debug, Default)]
pub struct ChaosReport {
    pub takeover_secs: Vec<f64>,
    pub events: Vec<String>,
    pub rows_compared: usize,
}

struct Fleet {
    syncers: Vec<Syncer>,
    life: Vec<Life>,
}

impl Fleet {
    fn host(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.syncers[i].port)
    }

    fn running(&self) -> Vec<usize> {
        (0..self.syncers.len())
            .filter(|i| self.life[*i] == Life::Running)
            .collect()
    }

    /// Job name → owner, as a running syncer reads the store.
    fn owners(&self) -> Vec<(String, String)> {
        let i = self.running()[0];
        let (_, body) = self.syncers[i].post_raw("/list_jobs", r#"{"detail": true}"#);
        let listed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        listed["jobs"]
            .as_array()
            .map(|jobs| {
                jobs.iter()
                    .map(|j| {
                        (
                            j["name"].as_str().unwrap_or_default().to_owned(),
                            j["owner"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn table_ddl(name: &str) -> String {
    format!(
        "CREATE TABLE src_db.{name} (id BIGINT, v BIGINT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
           PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");"
    )
}

pub fn run(seed: u64, jobs: usize, rounds: usize) -> ChaosReport {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = ChaosReport::default();
    let tables: Vec<String> = (0..jobs).map(|j| format!("t{j}")).collect();
    let src = TestCluster::start();
    let mut setup =
        String::from("CREATE DATABASE src_db PROPERTIES (\"binlog.enable\" = \"true\");");
    for t in &tables {
        setup.push_str(&table_ddl(t));
        setup.push_str(&format!("INSERT INTO src_db.{t} VALUES (0, 0);"));
    }
    src.sql(&setup);
    let dest = TestCluster::start();
    let database = MariaDbDatabase::new();
    let proxy = TcpProxy::start("127.0.0.1:3306");
    let dirs: Vec<tempfile::TempDir> = (0..SYNCERS).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut fleet = Fleet {
        syncers: dirs
            .iter()
            .map(|d| proxied_mysql_syncer(d, &database.0, &proxy, &HA_FLAGS))
            .collect(),
        life: vec![Life::Running; SYNCERS],
    };
    for t in &tables {
        fleet.syncers[0].create_ccr(
            &json!({"name": t, "src": src.spec("src_db", t), "dest": dest.spec("dest_db", t)}),
        );
    }

    // A continuous workload: one row at a time into a random table, ids never reused.
    let stop = AtomicBool::new(false);
    let next_id = AtomicU64::new(1);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
            while !stop.load(Ordering::SeqCst) {
                let table = &tables[rng.gen_range(0..tables.len())];
                let id = next_id.fetch_add(1, Ordering::SeqCst);
                src.sql(&format!("INSERT INTO src_db.{table} VALUES ({id}, {id})"));
            }
        });

        let mut store_cut_done = false;
        for round in 0..rounds {
            let running = fleet.running();
            let pick = rng.gen_range(0..100);
            if !store_cut_done && round == rounds / 2 {
                store_cut_done = true;
                report.events.push(format!("round {round}: store cut off"));
                proxy.cut();
                std::thread::sleep(Duration::from_secs(rng.gen_range(2..7)));
                proxy.restore();
            } else if pick < 35 && running.len() >= 2 {
                let victim = running[rng.gen_range(0..running.len())];
                let host = fleet.host(victim);
                let theirs: Vec<String> = fleet
                    .owners()
                    .into_iter()
                    .filter(|(_, owner)| *owner == host)
                    .map(|(job, _)| job)
                    .collect();
                report.events.push(format!(
                    "round {round}: kill -9 {host} ({} jobs)",
                    theirs.len()
                ));
                let killed = Instant::now();
                fleet.syncers[victim].kill();
                fleet.life[victim] = Life::Killed;
                if !theirs.is_empty() {
                    wait_until(
                        "the dead syncer's jobs to move",
                        Duration::from_secs(90),
                        || {
                            let still: Vec<String> = fleet
                                .owners()
                                .into_iter()
                                .filter(|(job, owner)| *owner == host && theirs.contains(job))
                                .map(|(job, _)| job)
                                .collect();
                            if still.is_empty() {
                                Ok(())
                            } else {
                                Err(format!("{still:?}"))
                            }
                        },
                    );
                    report.takeover_secs.push(killed.elapsed().as_secs_f64());
                }
            } else if pick < 55 && running.len() >= 2 && !fleet.life.contains(&Life::Frozen) {
                let victim = running[rng.gen_range(0..running.len())];
                report
                    .events
                    .push(format!("round {round}: freeze {}", fleet.host(victim)));
                fleet.syncers[victim].freeze();
                fleet.life[victim] = Life::Frozen;
            } else if let Some(frozen) = fleet.life.iter().position(|l| *l == Life::Frozen) {
                report
                    .events
                    .push(format!("round {round}: thaw {}", fleet.host(frozen)));
                fleet.syncers[frozen].thaw();
                fleet.life[frozen] = Life::Running;
            } else if let Some(dead) = fleet.life.iter().position(|l| *l == Life::Killed) {
                report
                    .events
                    .push(format!("round {round}: restart {}", fleet.host(dead)));
                fleet.syncers[dead].restart();
                fleet.life[dead] = Life::Running;
            }
            std::thread::sleep(Duration::from_millis(rng.gen_range(500..3000)));
        }
        stop.store(true, Ordering::SeqCst);
    });

    // Everybody back, then every job must converge where it now runs.
    for i in 0..SYNCERS {
        match fleet.life[i] {
            Life::Frozen => fleet.syncers[i].thaw(),
            Life::Killed => fleet.syncers[i].restart(),
            Life::Running => {}
        }
        fleet.life[i] = Life::Running;
    }
    for t in &tables {
        let pair = (format!("src_db.{t}"), format!("dest_db.{t}"));
        // Jobs may still move (a takeover, or a share handed to a restarted syncer), so
        // each check asks whoever owns the job at that moment, through `?forward=1`.
        wait_until(
            &format!("job {t} to catch up with the target equal to the source"),
            Duration::from_secs(120),
            || {
                let syncer = &fleet.syncers[fleet.running()[0]];
                let body = format!(r#"{{"name":"{t}"}}"#);
                let (_, status) = syncer.post_raw("/job_status?forward=1", &body);
                let (_, lag) = syncer.post_raw("/get_lag?forward=1", &body);
                let status: Value = serde_json::from_str(&status).unwrap_or(Value::Null);
                let lag: Value = serde_json::from_str(&lag).unwrap_or(Value::Null);
                let failing = status["status"].get("last_error").is_some();
                if lag["lag"] != 0 || status["success"] != true || failing {
                    return Err(format!("status {status}, lag {lag}"));
                }
                let (want, got) = (src.try_rows(&pair.0), dest.try_rows(&pair.1));
                if want == got {
                    Ok(())
                } else {
                    Err(format!("rows differ:\n{want}\n---\n{got}"))
                }
            },
        );
        let rows = dest.sql(&format!("SELECT COUNT(*) FROM {}", pair.1));
        report.rows_compared += rows.trim().parse::<usize>().unwrap_or(0);
    }
    report
}

fn summary(report: &ChaosReport) -> String {
    let mut times = report.takeover_secs.clone();
    times.sort_by(f64::total_cmp);
    let p50 = times.get(times.len() / 2).copied().unwrap_or(0.0);
    let max = times.last().copied().unwrap_or(0.0);
    format!(
        "takeovers {} (p50 {p50:.1} s, max {max:.1} s), rows compared {}, events: {}",
        times.len(),
        report.rows_compared,
        report.events.join("; ")
    )
}

#[test]
fn chaos_with_a_fixed_seed() {
    let report = run(7, 6, 10);
    eprintln!("chaos seed 7: {}", summary(&report));
    assert!(report.rows_compared > 6, "{}", summary(&report));
}

#[test]
#[ignore = "long; run by scripts/ha_chaos.sh"]
fn chaos_soak() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (seed, runs) = (env("CHAOS_SEED", 1), env("CHAOS_RUNS", 3));
    let (jobs, rounds) = (
        env("CHAOS_JOBS", 20) as usize,
        env("CHAOS_ROUNDS", 30) as usize,
    );
    let mut all = ChaosReport::default();
    for run_index in 0..runs {
        let report = run(seed + run_index, jobs, rounds);
        println!(
            "run {} (seed {}): {}",
            run_index + 1,
            seed + run_index,
            summary(&report)
        );
        all.takeover_secs.extend(report.takeover_secs);
        all.rows_compared += report.rows_compared;
    }
    all.events.clear();
    println!("all {runs} runs: {}", summary(&all));
}
