//! Telemetry of the real binary: `/metrics` is valid Prometheus text with live histograms,
//! the Grafana dashboard and the alert rules in docs/ query only series it exposes, and
//! `--log_format json` writes one JSON object per line.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use ccr_core::metrics as names;
use serde_json::Value;
use support::{free_port, wait_synced, Replication, Syncer};

/// Label names and values, in the order written.
type Labels = Vec<(String, String)>;

/// A sample line of the exposition.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

/// `/metrics` as parsed by [`parse_exposition`].
#[derive(Debug, Default)]
struct Exposition {
    /// Family name → its `# TYPE`.
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn samples<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The value of the one sample of `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<&Sample> = self
            .samples(name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
            })
            .collect();
        assert_eq!(matching.len(), 1, "{name}{labels:?}: {matching:?}");
        matching[0].value
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit()
}

fn valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(is_name_start) && name.chars().all(is_name_char)
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => text
            .parse::<f64>()
            .map_err(|e| format!("bad value {text:?}: {e}")),
    }
}

/// `{a="x",b="y"}` at the start of `text`: the labels and the rest of the line.
fn parse_labels(text: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = text.strip_prefix('{').expect("called at a brace");
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) || name.starts_with("__") {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err(format!("label {name} value is not quoted"));
        }
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    other => return Err(format!("bad escape in label {name}: {other:?}")),
                },
                Some((i, '"')) => break eq + 1 + i + 1,
                Some((_, c)) => value.push(c),
                None => return Err(format!("label {name} value not closed")),
            }
        };
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} twice"));
        }
        labels.push((name.to_owned(), value));
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

/// The family a sample name belongs to, given the declared types.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
    })
}

/// Parses and checks the text exposition format 0.0.4: line syntax, one HELP and TYPE per
/// family before its samples, each family's samples in one group, no duplicate series,
/// counters named `_total`, and every histogram series complete (`le` buckets rising to
/// `+Inf`, cumulative counts, `_count` equal to the `+Inf` bucket, a `_sum`).
fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut helps = BTreeSet::new();
    let mut finished_families = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen_series = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", number + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let mut words = comment.trim_start().splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("HELP"), Some(name), _) if !helps.insert(name.to_owned()) => {
                    return Err(at(format!("second HELP of {name}")));
                }
                (Some("TYPE"), Some(name), Some(kind)) => {
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(at(format!("unknown type {kind}")));
                    }
                    if kind == "counter" && !name.ends_with("_total") {
                        return Err(at(format!("counter {name} is not named _total")));
                    }
                    if out.types.insert(name.to_owned(), kind.to_owned()).is_some() {
                        return Err(at(format!("second TYPE of {name}")));
                    }
                    if out
                        .samples
                        .iter()
                        .any(|s| family_of(&s.name, &out.types) == Some(name))
                    {
                        return Err(at(format!("TYPE of {name} after its samples")));
                    }
                }
                _ => {}
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(at(format!("bad metric name {name:?}")));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(at)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let mut fields = rest.split_whitespace();
        let value = parse_value(fields.next().ok_or_else(|| at("no value".into()))?).map_err(at)?;
        if let Some(timestamp) = fields.next() {
            timestamp
                .parse::<i64>()
                .map_err(|e| at(format!("bad timestamp: {e}")))?;
        }
        if fields.next().is_some() {
            return Err(at("trailing text".into()));
        }
        let family = family_of(name, &out.types)
            .ok_or_else(|| at(format!("{name} has no TYPE")))?
            .to_owned();
        if current.as_deref() != Some(family.as_str()) {
            if !finished_families.insert(family.clone()) {
                return Err(at(format!("samples of {family} are not in one group")));
            }
            current = Some(family);
        }
        let mut key = labels.clone();
        key.sort();
        if !seen_series.insert((name.to_owned(), key)) {
            return Err(at("the same series twice".into()));
        }
        out.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    for (family, kind) in &out.types {
        if kind == "histogram" {
            check_histogram(&out, family)?;
        }
    }
    Ok(out)
}

fn check_histogram(exposition: &Exposition, family: &str) -> Result<(), String> {
    let without_le = |labels: &[(String, String)]| {
        let mut rest: Labels = labels.iter().filter(|(n, _)| n != "le").cloned().collect();
        rest.sort();
        rest
    };
    let mut buckets: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for sample in exposition.samples(&format!("{family}_bucket")) {
        let le = sample
            .labels
            .iter()
            .find(|(n, _)| n == "le")
            .ok_or_else(|| format!("{family}_bucket without le"))?;
        buckets
            .entry(without_le(&sample.labels))
            .or_default()
            .push((parse_value(&le.1)?, sample.value));
    }
    let series = |suffix: &str| -> BTreeMap<Labels, f64> {
        exposition
            .samples(&format!("{family}{suffix}"))
            .map(|s| (without_le(&s.labels), s.value))
            .collect()
    };
    let (sums, counts) = (series("_sum"), series("_count"));
    let label_sets: BTreeSet<_> = buckets
        .keys()
        .chain(sums.keys())
        .chain(counts.keys())
        .collect();
    for labels in label_sets {
        let bounds = buckets
            .get(labels)
            .ok_or_else(|| format!("{family}{labels:?} has no buckets"))?;
        if !bounds
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1)
        {
            return Err(format!(
                "{family}{labels:?}: buckets not rising: {bounds:?}"
            ));
        }
        let (last_le, last_count) = *bounds.last().expect("at least one bucket");
        if last_le != f64::INFINITY {
            return Err(format!("{family}{labels:?}: no +Inf bucket"));
        }
        if counts.get(labels) != Some(&last_count) {
            return Err(format!("{family}{labels:?}: _count is not the +Inf bucket"));
        }
        if !sums.contains_key(labels) {
            return Err(format!("{family}{labels:?}: no _sum"));
        }
    }
    Ok(())
}

/// Series that Prometheus makes itself for every scrape target.
const SERIES_OF_PROMETHEUS: [&str; 1] = ["up"];

/// PromQL words that are not metric names (aggregations are followed by `by`/`without`
/// as often as by a parenthesis).
const PROMQL_WORDS: [&str; 21] = [
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "inf",
    "nan",
    "limitk",
];

/// Clauses followed by a parenthesised list of label names.
const LABEL_LIST_CLAUSES: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The index just past the bracket closing the one at `open`, skipping string literals.
fn skip_group(chars: &[char], open: usize, close: char) -> usize {
    let mut i = open + 1;
    while i < chars.len() && chars[i] != close {
        i = if matches!(chars[i], '"' | '\'' | '`') {
            skip_string(chars, i)
        } else {
            i + 1
        };
    }
    i + 1
}

fn skip_string(chars: &[char], open: usize) -> usize {
    let quote = chars[open];
    let mut i = open + 1;
    while i < chars.len() && chars[i] != quote {
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    i + 1
}

/// The metric names an expression selects: identifiers outside label matchers, ranges and
/// strings that are neither functions nor PromQL words. Grafana's `label_values(m, label)`
/// selects `m`.
fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    if let Some(args) = expr.trim().strip_prefix("label_values(") {
        let selector = args.rsplit_once(',').map_or(args, |(first, _)| first);
        return promql_metric_names(selector);
    }
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            i = skip_string(&chars, i);
        } else if c == '{' {
            i = skip_group(&chars, i, '}');
        } else if c == '[' {
            i = skip_group(&chars, i, ']');
        } else if c.is_ascii_digit() || c == '.' {
            // Numbers and durations (0.99, 5m, 1e3).
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_name_start(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let called = chars.get(next) == Some(&'(');
            if LABEL_LIST_CLAUSES.contains(&word.as_str()) {
                if called {
                    i = skip_group(&chars, next, ')');
                }
            } else if !called && !PROMQL_WORDS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

fn docs_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every PromQL expression of the dashboard: panel targets (rows nest panels) and the
/// queries of its template variables.
fn dashboard_exprs() -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("expr", Value::String(expr)) => out.push(expr.clone()),
                        _ => walk(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dashboard: Value =
        serde_json::from_str(&docs_file("grafana-dashboard.json")).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    walk(&dashboard["panels"], &mut exprs);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
    {
        let query = &variable["query"];
        let query = query["query"].as_str().or(query.as_str());
        exprs.push(query.expect("a variable's query").to_owned());
    }
    exprs
}

fn alert_exprs() -> Vec<String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(&docs_file("alerts.yaml"))
        .expect("alerts.yaml is YAML");
    let mut exprs = Vec::new();
    for group in docs[0]["groups"].as_vec().expect("groups") {
        for rule in group["rules"].as_vec().expect("rules") {
            assert!(rule["alert"].as_str().is_some(), "a rule without a name");
            exprs.push(rule["expr"].as_str().expect("a rule's expr").to_owned());
        }
    }
    exprs
}

/// A syncer (logging JSON) running table job `t`, caught up after replaying a few loads.
fn replicating_job() -> (Replication, Exposition) {
    let replication = Replication::start_with(
        "CREATE TABLE src_db.t (id INT, v INT) DUPLICATE KEY(id) DISTRIBUTED BY HASH(id) BUCKETS 2
           PROPERTIES (\"replication_num\" = \"1\", \"binlog.enable\" = \"true\");
         INSERT INTO src_db.t VALUES (1, 1);",
        &["--log_format", "json"],
    );
    replication.create_job("t", "t", "t");
    let tables = [("src_db.t", "dest_db.t")];
    wait_synced(
        &replication.syncer,
        "t",
        &replication.src,
        &replication.dest,
        &tables,
    );
    replication
        .src
        .sql("INSERT INTO src_db.t VALUES (2, 2); INSERT INTO src_db.t VALUES (3, 3);");
    wait_synced(
        &replication.syncer,
        "t",
        &replication.src,
        &replication.dest,
        &tables,
    );
    let text = replication.syncer.metrics();
    let exposition =
        parse_exposition(&text).unwrap_or_else(|e| panic!("invalid exposition: {e}\n{text}"));
    (replication, exposition)
}

#[test]
fn metrics_are_valid_prometheus_text_with_live_histograms_and_gauges() {
    let (replication, metrics) = replicating_job();
    let job = [("job", "t")];
    assert_eq!(metrics.types[names::JOB_STEP_DURATION_SECONDS], "histogram");
    for histogram in [
        names::JOB_STEP_DURATION_SECONDS,
        names::INGEST_BINLOG_DURATION_SECONDS,
        names::COMMIT_TXN_DURATION_SECONDS,
        names::BINLOG_BATCH_SIZE,
    ] {
        assert_eq!(metrics.types[histogram], "histogram", "{histogram}");
    }
    let steps = metrics.value(&format!("{}_count", names::JOB_STEP_DURATION_SECONDS), &job);
    assert!(steps >= 3.0, "snapshot and replay steps observed: {steps}");
    // The two loads after the snapshot, each one transaction of one ingest and one commit.
    let ingests = metrics.value(
        &format!("{}_count", names::INGEST_BINLOG_DURATION_SECONDS),
        &[],
    );
    let commits = metrics.value(
        &format!("{}_count", names::COMMIT_TXN_DURATION_SECONDS),
        &[],
    );
    assert_eq!((ingests, commits), (2.0, 2.0));
    let fetched = metrics.value(&format!("{}_sum", names::BINLOG_BATCH_SIZE), &[]);
    assert!(fetched >= 2.0, "the loads' binlogs were fetched: {fetched}");
    assert!(metrics.value(&format!("{}_sum", names::COMMIT_TXN_DURATION_SECONDS), &[]) > 0.0);

    assert_eq!(metrics.value(names::JOB_BINLOGS_HANDLED_TOTAL, &job), 2.0);
    assert_eq!(metrics.value(names::BINLOGS_HANDLED_TOTAL, &[]), 2.0);
    assert_eq!(metrics.value(names::JOB_LAG_BINLOGS, &job), 0.0);
    assert_eq!(metrics.value(names::JOB_LAG_SECONDS, &job), 0.0);
    assert_eq!(metrics.value(names::JOB_NEEDS_OPERATOR, &job), 0.0);
    assert_eq!(metrics.value(names::JOBS, &[]), 1.0);
    assert_eq!(metrics.value(names::JOB_TAKEOVERS_TOTAL, &[]), 0.0);
    let heartbeat = metrics.value(names::LAST_HEARTBEAT_TIMESTAMP_SECONDS, &[]);
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 60.0..=now + 1.0).contains(&heartbeat),
        "last heartbeat {heartbeat}, now {now}"
    );

    // The job's own log lines name it.
    let log: Vec<String> = replication.syncer.log().lines().map(String::from).collect();
    let events = assert_json_lines(&log);
    assert!(
        events
            .iter()
            .any(|e| e["span"]["name"] == "job" && e["span"]["job"] == "t"),
        "no line of job t in the log"
    );
}

#[test]
fn the_dashboard_and_the_alert_rules_query_only_exposed_series() {
    let (_replication, metrics) = replicating_job();
    let select = |exprs: Vec<String>| -> BTreeSet<String> {
        assert!(!exprs.is_empty());
        exprs.iter().flat_map(|e| promql_metric_names(e)).collect()
    };
    let dashboard = select(dashboard_exprs());
    let alerts = select(alert_exprs());

    for name in dashboard.iter().chain(&alerts) {
        if SERIES_OF_PROMETHEUS.contains(&name.as_str()) {
            continue;
        }
        assert!(
            family_of(name, &metrics.types).is_some(),
            "{name} is not a metric of /metrics"
        );
        assert!(
            metrics.samples(name).next().is_some(),
            "{name} has no series in /metrics"
        );
    }
    // What each file is for, so a broken extraction cannot pass with nothing to check.
    let bucket = |name: &str| format!("{name}_bucket");
    for name in [
        names::JOB_LAG_BINLOGS.to_owned(),
        names::JOB_LAG_SECONDS.to_owned(),
        names::JOB_BINLOGS_HANDLED_TOTAL.to_owned(),
        names::JOB_ERRORS_TOTAL.to_owned(),
        names::JOBS_NEEDING_OPERATOR.to_owned(),
        names::JOB_NEEDS_OPERATOR.to_owned(),
        names::JOB_TAKEOVERS_TOTAL.to_owned(),
        bucket(names::JOB_STEP_DURATION_SECONDS),
        bucket(names::INGEST_BINLOG_DURATION_SECONDS),
        bucket(names::COMMIT_TXN_DURATION_SECONDS),
        bucket(names::BINLOG_BATCH_SIZE),
    ] {
        assert!(dashboard.contains(&name), "the dashboard shows {name}");
    }
    for name in [
        names::JOB_LAG_SECONDS,
        names::JOB_NEEDS_OPERATOR,
        names::JOB_ERRORS_TOTAL,
        names::LAST_HEARTBEAT_TIMESTAMP_SECONDS,
        "up",
    ] {
        assert!(alerts.contains(name), "an alert watches {name}");
    }
}

#[test]
fn promql_names_skip_functions_labels_ranges_and_clauses() {
    let names = promql_metric_names(
        r#"histogram_quantile(0.99, sum by (job, le) (rate(a_bucket{job=~"$job",x="b_c"}[$__rate_interval]))) / on (instance) group_left(job) b_total offset 5m > bool 1e3 and time() - c"#,
    );
    assert_eq!(names, ["a_bucket", "b_total", "c"].map(String::from).into());
    assert_eq!(
        promql_metric_names(r#"label_values(m{instance=~"$instance"}, job)"#),
        ["m".to_owned()].into()
    );
    // The checker itself: a histogram missing its +Inf bucket is refused.
    let broken = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n";
    assert!(parse_exposition(broken).is_err());
    assert!(
        parse_exposition("# TYPE c counter\nc 1\n").is_err(),
        "counter without _total"
    );
}

/// Every line a JSON object with a level, a message and a timestamp.
fn assert_json_lines(lines: &[String]) -> Vec<Value> {
    assert!(!lines.is_empty(), "no log lines");
    lines
        .iter()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            let level = event["level"].as_str().unwrap_or_default();
            assert!(
                ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level),
                "{line}"
            );
            assert!(event["message"].is_string(), "{line}");
            assert!(event["timestamp"].is_string(), "{line}");
            event
        })
        .collect()
}

#[test]
fn json_logs_are_one_object_per_line_in_the_log_file_and_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ccr.db");
    let syncer = Syncer::start(
        dir.path(),
        &["--db_dir", db.to_str().unwrap(), "--log_format", "json"],
    );
    // A request that fails logs too.
    let (status, _) = syncer.post_raw("/job_status", r#"{"name":"nobody"}"#);
    assert_eq!(status, 200);
    let log: Vec<String> = syncer.log().lines().map(String::from).collect();
    let events = assert_json_lines(&log);
    let listening = events
        .iter()
        .find(|e| e["message"] == "ccr_syncer listening")
        .expect("the start-up line");
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["identity"], format!("127.0.0.1:{}", syncer.port));

    // Without a log directory the lines go to stdout.
    let stdout_dir = tempfile::tempdir().unwrap();
    let db = stdout_dir.path().join("ccr.db");
    let mut child = Command::new(ccr_tests::binary("ccr_syncer"))
        .args(["--host", "127.0.0.1", "--port", &free_port().to_string()])
        .args(["--db_dir", db.to_str().unwrap(), "--log_format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ccr_syncer");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    // Until it listens (then it is stopped) or exits (a port taken meanwhile: it logs
    // that as JSON too).
    while reader.read_line(&mut line).expect("read stdout") > 0 {
        let listening = line.contains("ccr_syncer listening");
        lines.push(std::mem::take(&mut line).trim_end().to_owned());
        if listening {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }
    child.wait().expect("the syncer exits");
    let events = assert_json_lines(&lines);
    assert!(
        events.iter().any(|e| e["message"] == "ccr_syncer starting"),
        "{lines:?}"
    );
}
