//! Fault injection for the simulated cluster: rules that make a chosen RPC or SQL statement
//! fail, slow down, lose its connection or stop at a pause point, plus the "master moved"
//! switch the FE consults.
//!
//! One [`FaultInjector`] serves a whole cluster. It is consulted:
//! - by the FE MySQL server before every COM_QUERY ([`FaultInjector::check_sql`]);
//! - by the FE and BE Thrift handlers at the top of every method
//!   ([`FaultInjector::before_rpc`]), which also answers NOT_MASTER while the master has been
//!   moved ([`FaultInjector::set_master_redirect`]).
//!
//! Rules are checked in the order they were added; the first active rule whose target matches
//! fires and uses up one of its `times`. A rule that has fired `times` times stays listed
//! (with its hit count) but no longer fires. Operators drive it through the FE http port
//! (`sim::fe_http`); in-process tests call it directly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use serde::{Deserialize, Serialize};

use crate::session::SqlError;
use ccr_wire::status::{TStatus, TStatusCode};
use ccr_wire::types::TNetworkAddress;

/// Longest a pause point ([`FaultAction::Hang`]) holds a call: a forgotten `release` must not
/// wedge a test run or a demo cluster for good. After this the call proceeds normally.
pub const MAX_HANG: Duration = Duration::from_secs(300);
/// Longest accepted [`FaultAction::Delay`]; anything longer is surely a unit mistake
/// (seconds given as milliseconds), and would tie up a handler thread for no purpose.
pub const MAX_DELAY: Duration = Duration::from_secs(600);
/// SQL state sent with an injected SQL error unless the rule names one: the state Doris uses
/// for its generic 1105 errors.
const DEFAULT_SQL_STATE: &str = "HY000";

/// Errors of the fault control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    #[error("no fault rule with id {0}")]
    UnknownRule(u64),
    #[error("invalid fault rule: {0}")]
    InvalidRule(String),
}

/// Which calls a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultTarget {
    /// A Thrift method by its wire name (`getBinlog`, `commitTxn`, `ingest_binlog`, ...).
    /// `backend_id` restricts a BackendService rule to one BE; `None` matches every node.
    Rpc {
        method: String,
        backend_id: Option<i64>,
    },
    /// SQL statements whose text contains `pattern`, compared case-insensitively with runs of
    /// whitespace collapsed (so `BACKUP SNAPSHOT` matches `backup  snapshot db.s TO ...`).
    Sql { pattern: String },
}

/// What happens to a matching call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// RPC only: the handler answers with this status instead of doing the work.
    Fail {
        status_code: TStatusCode,
        message: String,
    },
    /// SQL only: the statement is answered with this MySQL error instead of running.
    SqlError {
        code: u16,
        sql_state: String,
        message: String,
    },
    /// Wait this long, then handle the call normally (provokes client timeouts).
    Delay { millis: u64 },
    /// Close the connection without answering.
    DropConnection,
    /// A pause point: hold the call until [`FaultInjector::release`] (then handle it
    /// normally), at most `max_millis` (≤ [`MAX_HANG`]). A restart of the node aborts it: the
    /// call is then dropped without running, as if the process had crashed there.
    Hang { max_millis: u64 },
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    pub target: FaultTarget,
    pub action: FaultAction,
    /// Fire for the next `times` matching calls; 0 = every matching call until removed.
    pub times: u64,
    /// Let this many matching calls through untouched before firing (e.g. fail only the
    /// third commitTxn).
    pub skip: u64,
}

impl FaultRule {
    /// A rule firing once for the RPC `method` on any node.
    pub fn rpc(method: impl Into<String>, action: FaultAction) -> Self {
        Self {
            target: FaultTarget::Rpc {
                method: method.into(),
                backend_id: None,
            },
            action,
            times: 1,
            skip: 0,
        }
    }

    /// A rule firing once for SQL statements containing `pattern`.
    pub fn sql(pattern: impl Into<String>, action: FaultAction) -> Self {
        Self {
            target: FaultTarget::Sql {
                pattern: pattern.into(),
            },
            action,
            times: 1,
            skip: 0,
        }
    }

    /// Restricts an RPC rule to calls served by BE `backend_id` (no effect on SQL rules).
    pub fn on_backend(mut self, backend_id: i64) -> Self {
        if let FaultTarget::Rpc {
            backend_id: target, ..
        } = &mut self.target
        {
            *target = Some(backend_id);
        }
        self
    }

    pub fn times(mut self, times: u64) -> Self {
        self.times = times;
        self
    }

    pub fn skip(mut self, skip: u64) -> Self {
        self.skip = skip;
        self
    }

    fn validate(&self) -> Result<(), FaultError> {
        let invalid = |why: &str| Err(FaultError::InvalidRule(why.to_owned()));
        match (&self.target, &self.action) {
            (FaultTarget::Rpc { method, .. }, _) if method.trim().is_empty() => {
                return invalid("the RPC method name is empty")
            }
            (FaultTarget::Sql { pattern }, _) if pattern.trim().is_empty() => {
                return invalid("the SQL pattern is empty")
            }
            (FaultTarget::Sql { .. }, FaultAction::Fail { .. }) => {
                return invalid(
                    "action `fail` (a Thrift status) applies to RPCs; use `sql_error` for SQL",
                )
            }
            (FaultTarget::Rpc { .. }, FaultAction::SqlError { .. }) => {
                return invalid("action `sql_error` applies to SQL; use `fail` for RPCs")
            }
            _ => {}
        }
        match &self.action {
            FaultAction::Delay { millis } if Duration::from_millis(*millis) > MAX_DELAY => {
                Err(FaultError::InvalidRule(format!(
                    "delay of {millis} ms exceeds the maximum of {} ms",
                    MAX_DELAY.as_millis()
                )))
            }
            FaultAction::Hang { max_millis } if Duration::from_millis(*max_millis) > MAX_HANG => {
                Err(FaultError::InvalidRule(format!(
                    "hang of {max_millis} ms exceeds the maximum of {} ms",
                    MAX_HANG.as_millis()
                )))
            }
            FaultAction::Fail { status_code, .. } if *status_code == TStatusCode::OK => {
                invalid("a `fail` status must not be OK (0)")
            }
            _ => Ok(()),
        }
    }
}

/// The node a call runs on; restarting a node aborts the calls paused on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultNode {
    Frontend,
    Backend(i64),
}

impl FaultNode {
    fn of_rpc(backend_id: Option<i64>) -> Self {
        backend_id.map_or(Self::Frontend, Self::Backend)
    }
}

/// A fault to apply to one SQL statement.
#[derive(Debug)]
pub enum SqlFault {
    /// Answer with this error packet instead of running the statement.
    Error(SqlError),
    /// Sleep this long, then run the statement.
    Delay(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Wait at the pause point, then act on its [`PauseOutcome`].
    Pause(PausePoint),
}

/// A fault to apply to one RPC (see [`FaultInjector::check_rpc`]; handlers normally use
/// [`FaultInjector::before_rpc`], which applies delays and pauses itself).
#[derive(Debug)]
pub enum RpcFault {
    Status {
        status_code: TStatusCode,
        message: String,
    },
    Delay(Duration),
    DropConnection,
    Pause(PausePoint),
}

/// Why a Thrift handler must not do its normal work; see [`FaultInjector::before_rpc`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InjectedFault {
    /// Answer with this status (the method's result struct, with `status` set).
    Status {
        status_code: TStatusCode,
        message: String,
    },
    /// This FE is no longer master: answer NOT_MASTER naming the master's address.
    NotMaster { host: String, rpc_port: u16 },
    /// Close the connection without a reply. [`FaultInjector::before_rpc`] already told the
    /// Thrift server; the handler just returns the error (`Err(fault.into())`).
    DropConnection,
}

/// What an FE handler puts into its result when a fault is injected.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultReply {
    pub status: TStatus,
    /// Set for NOT_MASTER (the FE result structs' `master_address` field).
    pub master_address: Option<TNetworkAddress>,
}

/// Message Doris's FE puts into NOT_MASTER statuses.
const NOT_MASTER_MESSAGE: &str = "FE is not master";

impl InjectedFault {
    /// The status (and master address) to answer with, or `Err` for a dropped connection:
    /// handlers write `let reply = fault.into_reply()?;` and build their result from it.
    pub fn into_reply(self) -> thrift::Result<FaultReply> {
        match self {
            Self::Status {
                status_code,
                message,
            } => Ok(FaultReply {
                status: TStatus::new(status_code, vec![message]),
                master_address: None,
            }),
            Self::NotMaster { host, rpc_port } => Ok(FaultReply {
                status: TStatus::new(TStatusCode::NOT_MASTER, vec![NOT_MASTER_MESSAGE.to_owned()]),
                master_address: Some(TNetworkAddress::new(host, i32::from(rpc_port))),
            }),
            Self::DropConnection => Err(self.into()),
        }
    }
}

impl From<InjectedFault> for thrift::Error {
    fn from(fault: InjectedFault) -> Self {
        // Only DropConnection is meant to travel as an error; the Thrift server discards
        // whatever the processor then tries to write, so the client sees EOF, not this text.
        thrift::Error::Application(thrift::ApplicationError::new(
            thrift::ApplicationErrorKind::InternalError,
            format!("fault injected: {fault:?}"),
        ))
    }
}

/// How a pause point ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseOutcome {
    /// `release` was called (or its rule removed): handle the call normally.
    Released,
    /// [`MAX_HANG`] (or the rule's own bound) passed: handle the call normally.
    TimedOut,
    /// The node was restarted or stopped: drop the call without running it.
    Aborted,
}

#[derive(Debug)]
struct Gate {
    outcome: Mutex<Option<PauseOutcome>>,
    opened: Condvar,
}

impl Gate {
    fn open(&self, outcome: PauseOutcome) {
        let mut current = self.outcome.lock();
        if current.is_none() {
            *current = Some(outcome);
            self.opened.notify_all();
        }
    }
}

/// A call held at a pause point. Waiting consumes it; dropping it without waiting lets the
/// call go (it unregisters itself either way).
#[derive(Debug)]
pub struct PausePoint {
    injector: FaultInjector,
    pause_id: u64,
    gate: Arc<Gate>,
    deadline: Instant,
}

impl PausePoint {
    /// Blocks the calling thread until released, aborted or timed out.
    pub fn wait(self) -> PauseOutcome {
        let mut outcome = self.gate.outcome.lock();
        while outcome.is_none() {
            if self
                .gate
                .opened
                .wait_until(&mut outcome, self.deadline)
                .timed_out()
            {
                break;
            }
        }
        outcome.unwrap_or(PauseOutcome::TimedOut)
    }

    /// [`PausePoint::wait`] for async callers: waits on the blocking pool.
    pub async fn wait_async(self) -> PauseOutcome {
        tokio::task::spawn_blocking(move || self.wait())
            .await
            // The wait itself cannot panic; a cancelled task means the runtime is going away.
            .unwrap_or(PauseOutcome::Aborted)
    }
}

impl Drop for PausePoint {
    fn drop(&mut self) {
        self.injector
            .inner
            .state
            .lock()
            .paused
            .retain(|paused| paused.pause_id != self.pause_id);
    }
}

/// One rule as the control API shows it: the rule, its id and what it has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FaultRuleStatus {
    pub id: u64,
    #[serde(flatten)]
    pub rule: FaultRuleSpec,
    /// Times the action fired.
    pub hits: u64,
    /// Firings left; `None` for a rule without limit.
    pub remaining: Option<u64>,
    /// Calls currently held at this rule's pause point.
    pub waiting: usize,
}

#[derive(Debug)]
struct RuleEntry {
    id: u64,
    rule: FaultRule,
    /// Normalized SQL pattern, for SQL rules.
    sql_pattern: Option<String>,
    matched: u64,
    hits: u64,
}

impl RuleEntry {
    fn exhausted(&self) -> bool {
        self.rule.times != 0 && self.hits >= self.rule.times
    }
}

#[derive(Debug)]
struct PausedCall {
    pause_id: u64,
    rule_id: u64,
    node: FaultNode,
    gate: Arc<Gate>,
}

#[derive(Debug, Default)]
struct InjectorState {
    next_rule_id: u64,
    next_pause_id: u64,
    rules: Vec<RuleEntry>,
    paused: Vec<PausedCall>,
    master_redirect: Option<(String, u16)>,
    /// Disk usage (percent) SHOW BACKENDS reports instead of the computed one: per BE, and
    /// for every BE not named.
    disk_used_pct: BTreeMap<i64, f64>,
    disk_used_pct_all: Option<f64>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<InjectorState>,
}

/// The fault rules and master switch of one simulated cluster. Cheap to clone (clones share
/// state); safe to use from Thrift handler threads and async tasks alike.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector {
    inner: Arc<Inner>,
}

/// Lowercases ASCII and collapses whitespace runs to one space, trimming the ends.
fn normalize_sql(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

enum Fired {
    Action(FaultAction),
    Pause(PausePoint),
}

impl FaultInjector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule (after the existing ones) and returns its id.
    pub fn add(&self, rule: FaultRule) -> Result<u64, FaultError> {
        rule.validate()?;
        let sql_pattern = match &rule.target {
            FaultTarget::Sql { pattern } => Some(normalize_sql(pattern)),
            FaultTarget::Rpc { .. } => None,
        };
        let mut state = self.inner.state.lock();
        state.next_rule_id += 1;
        let id = state.next_rule_id;
        tracing::info!(id, ?rule, "fault rule added");
        state.rules.push(RuleEntry {
            id,
            rule,
            sql_pattern,
            matched: 0,
            hits: 0,
        });
        Ok(id)
    }

    /// Removes every rule (releasing calls held at their pause points). Returns how many.
    pub fn clear(&self) -> usize {
        let mut state = self.inner.state.lock();
        let removed = state.rules.len();
        state.rules.clear();
        for paused in &state.paused {
            paused.gate.open(PauseOutcome::Released);
        }
        tracing::info!(removed, "fault rules cleared");
        removed
    }

    /// Removes one rule, releasing calls held at its pause point.
    pub fn remove(&self, id: u64) -> Result<(), FaultError> {
        let mut state = self.inner.state.lock();
        let before = state.rules.len();
        state.rules.retain(|entry| entry.id != id);
        if state.rules.len() == before {
            return Err(FaultError::UnknownRule(id));
        }
        open_gates(
            &state,
            |paused| paused.rule_id == id,
            PauseOutcome::Released,
        );
        tracing::info!(id, "fault rule removed");
        Ok(())
    }

    /// Lets the calls currently held at rule `id`'s pause point continue. Returns how many.
    /// Later matching calls still stop there while the rule has firings left.
    pub fn release(&self, id: u64) -> Result<usize, FaultError> {
        let state = self.inner.state.lock();
        if !state.rules.iter().any(|entry| entry.id == id) {
            return Err(FaultError::UnknownRule(id));
        }
        let released = open_gates(
            &state,
            |paused| paused.rule_id == id,
            PauseOutcome::Released,
        );
        tracing::info!(id, released, "pause point released");
        Ok(released)
    }

    /// Aborts the calls paused on `node` (or on every node): used when a node restarts or the
    /// cluster stops, so those calls are dropped as if the process had died there.
    pub fn abort_paused(&self, node: Option<FaultNode>) -> usize {
        let state = self.inner.state.lock();
        open_gates(
            &state,
            |paused| node.is_none_or(|node| paused.node == node),
            PauseOutcome::Aborted,
        )
    }

    /// Every rule with its hit count, in the order they are checked.
    pub fn list(&self) -> Vec<FaultRuleStatus> {
        let state = self.inner.state.lock();
        state
            .rules
            .iter()
            .map(|entry| FaultRuleStatus {
                id: entry.id,
                rule: FaultRuleSpec::from(&entry.rule),
                hits: entry.hits,
                remaining: (entry.rule.times != 0)
                    .then(|| entry.rule.times.saturating_sub(entry.hits)),
                waiting: state
                    .paused
                    .iter()
                    .filter(|paused| paused.rule_id == entry.id)
                    .count(),
            })
            .collect()
    }

    /// Makes the FE answer every FrontendService call with NOT_MASTER naming `master`
    /// (`host`, `rpc_port`), or answer normally again with `None`.
    pub fn set_master_redirect(&self, master: Option<(String, u16)>) {
        tracing::info!(?master, "FE master redirect changed");
        self.inner.state.lock().master_redirect = master;
    }

    /// Makes SHOW BACKENDS report `percent` as `UsedPct` and `MaxDiskUsedPct` of BE
    /// `backend_id` (every BE when `None`); `percent` `None` goes back to the usage the
    /// catalog computes.
    pub fn set_disk_used_pct(&self, backend_id: Option<i64>, percent: Option<f64>) {
        tracing::info!(?backend_id, ?percent, "reported BE disk usage changed");
        let mut state = self.inner.state.lock();
        match backend_id {
            Some(id) => match percent {
                Some(p) => {
                    state.disk_used_pct.insert(id, p);
                }
                None => {
                    state.disk_used_pct.remove(&id);
                }
            },
            None => {
                state.disk_used_pct.clear();
                state.disk_used_pct_all = percent;
            }
        }
    }

    /// The disk usage SHOW BACKENDS is told to report for BE `backend_id`, if any.
    pub fn disk_used_pct(&self, backend_id: i64) -> Option<f64> {
        let state = self.inner.state.lock();
        state
            .disk_used_pct
            .get(&backend_id)
            .copied()
            .or(state.disk_used_pct_all)
    }

    /// Where the FE currently claims the master is, if it has been told it is not master.
    pub fn not_master(&self) -> Option<(String, u16)> {
        self.inner.state.lock().master_redirect.clone()
    }

    /// The fault for one RPC (`backend_id` is `None` on the FE), consuming one firing of the
    /// rule. Does not consider the master redirect; see [`FaultInjector::before_rpc`].
    pub fn check_rpc(&self, method: &str, backend_id: Option<i64>) -> Option<RpcFault> {
        let fired = self.fire(FaultNode::of_rpc(backend_id), |entry| {
            matches!(&entry.rule.target, FaultTarget::Rpc { method: m, backend_id: b }
                if m == method && b.is_none_or(|b| Some(b) == backend_id))
        })?;
        Some(match fired {
            Fired::Pause(pause) => RpcFault::Pause(pause),
            Fired::Action(FaultAction::Fail {
                status_code,
                message,
            }) => RpcFault::Status {
                status_code,
                message,
            },
            Fired::Action(FaultAction::Delay { millis }) => {
                RpcFault::Delay(Duration::from_millis(millis))
            }
            // SqlError never targets an RPC (refused by `add`); dropping is the closest.
            Fired::Action(FaultAction::DropConnection | FaultAction::SqlError { .. }) => {
                RpcFault::DropConnection
            }
            // `fire` turns Hang into a pause point; it never comes back as an action.
            Fired::Action(FaultAction::Hang { .. }) => return None,
        })
    }

    /// The fault for one COM_QUERY text, consuming one firing of the rule.
    pub fn check_sql(&self, statement: &str) -> Option<SqlFault> {
        let normalized = normalize_sql(statement);
        let fired = self.fire(FaultNode::Frontend, |entry| {
            entry
                .sql_pattern
                .as_deref()
                .is_some_and(|pattern| normalized.contains(pattern))
        })?;
        Some(match fired {
            Fired::Pause(pause) => SqlFault::Pause(pause),
            Fired::Action(FaultAction::SqlError {
                code,
                sql_state,
                message,
            }) => SqlFault::Error(SqlError {
                code,
                sql_state,
                message,
            }),
            Fired::Action(FaultAction::Delay { millis }) => {
                SqlFault::Delay(Duration::from_millis(millis))
            }
            // Fail never targets SQL (refused by `add`); dropping is the closest.
            Fired::Action(FaultAction::DropConnection | FaultAction::Fail { .. }) => {
                SqlFault::DropConnection
            }
            // `fire` turns Hang into a pause point; it never comes back as an action.
            Fired::Action(FaultAction::Hang { .. }) => return None,
        })
    }

    /// What every simulated Thrift handler calls first. `backend_id` is `None` for
    /// FrontendService methods and the BE's id for BackendService methods.
    ///
    /// - On the FE while the master is moved: `Err(NotMaster)`.
    /// - `Fail` rule: `Err(Status)`; the handler answers with that status.
    /// - `Delay` rule: sleeps, then `Ok(())`.
    /// - `Hang` rule: blocks until released or timed out, then `Ok(())`; if the node restarts
    ///   meanwhile, behaves like `DropConnection`.
    /// - `DropConnection` rule: tells the Thrift server serving this thread to close the
    ///   connection without a reply, and returns `Err(DropConnection)`; the handler returns
    ///   it as its error.
    pub fn before_rpc(&self, method: &str, backend_id: Option<i64>) -> Result<(), InjectedFault> {
        if backend_id.is_none() {
            if let Some((host, rpc_port)) = self.not_master() {
                return Err(InjectedFault::NotMaster { host, rpc_port });
            }
        }
        match self.check_rpc(method, backend_id) {
            None => Ok(()),
            Some(RpcFault::Status {
                status_code,
                message,
            }) => Err(InjectedFault::Status {
                status_code,
                message,
            }),
            Some(RpcFault::Delay(delay)) => {
                std::thread::sleep(delay);
                Ok(())
            }
            Some(RpcFault::Pause(pause)) => match pause.wait() {
                PauseOutcome::Released | PauseOutcome::TimedOut => Ok(()),
                PauseOutcome::Aborted => Err(drop_connection(method)),
            },
            Some(RpcFault::DropConnection) => Err(drop_connection(method)),
        }
    }

    /// Finds the first active rule `matches` accepts, counts the call against it and, if it
    /// fires, returns its action (registering a pause point for `Hang`).
    fn fire(&self, node: FaultNode, matches: impl Fn(&RuleEntry) -> bool) -> Option<Fired> {
        let mut state = self.inner.state.lock();
        let entry = state
            .rules
            .iter_mut()
            .find(|entry| !entry.exhausted() && matches(entry))?;
        entry.matched += 1;
        if entry.matched <= entry.rule.skip {
            return None;
        }
        entry.hits += 1;
        let rule_id = entry.id;
        let action = entry.rule.action.clone();
        tracing::info!(rule_id, ?node, ?action, "fault injected");
        let FaultAction::Hang { max_millis } = action else {
            return Some(Fired::Action(action));
        };
        state.next_pause_id += 1;
        let pause_id = state.next_pause_id;
        let gate = Arc::new(Gate {
            outcome: Mutex::new(None),
            opened: Condvar::new(),
        });
        state.paused.push(PausedCall {
            pause_id,
            rule_id,
            node,
            gate: Arc::clone(&gate),
        });
        Some(Fired::Pause(PausePoint {
            injector: self.clone(),
            pause_id,
            gate,
            deadline: Instant::now() + Duration::from_millis(max_millis).min(MAX_HANG),
        }))
    }
}

fn open_gates(
    state: &InjectorState,
    select: impl Fn(&PausedCall) -> bool,
    outcome: PauseOutcome,
) -> usize {
    let mut opened = 0;
    for paused in state.paused.iter().filter(|paused| select(paused)) {
        paused.gate.open(outcome);
        opened += 1;
    }
    opened
}

fn drop_connection(method: &str) -> InjectedFault {
    if !crate::thrift_server::drop_current_connection() {
        tracing::warn!(
            method,
            "connection drop injected outside a Thrift server thread; nothing to drop"
        );
    }
    InjectedFault::DropConnection
}

// ---- JSON form (the FE http control API) ---------------------------------------------------

/// The action names of the JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultActionKind {
    Fail,
    SqlError,
    Delay,
    DropConnection,
    Hang,
}

/// A rule as JSON, flat so it is easy to type in curl. Exactly one of `rpc` / `sql`; the
/// other fields depend on `action`:
/// - `fail`: `status_code` (Thrift TStatusCode number), `message`;
/// - `sql_error`: `code` (MySQL error number, default 1105), `sql_state` (default HY000),
///   `message`;
/// - `delay`: `millis`;
/// - `hang`: `max_millis` (default and maximum [`MAX_HANG`]);
/// - `drop_connection`: nothing.
///
/// `times` defaults to 1 (0 = until removed), `skip` to 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    pub action: Option<FaultActionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub millis: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_millis: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<u64>,
}

/// Message of an injected failure whose rule gives none.
const DEFAULT_FAULT_MESSAGE: &str = "injected fault";
/// MySQL error number of an injected SQL error whose rule gives none (Doris's generic one).
const DEFAULT_SQL_ERROR_CODE: u16 = 1105;

impl TryFrom<FaultRuleSpec> for FaultRule {
    type Error = FaultError;

    fn try_from(spec: FaultRuleSpec) -> Result<Self, FaultError> {
        let invalid = |why: String| FaultError::InvalidRule(why);
        let target = match (spec.rpc, spec.sql) {
            (Some(method), None) => FaultTarget::Rpc {
                method,
                backend_id: spec.backend_id,
            },
            (None, Some(pattern)) if spec.backend_id.is_none() => FaultTarget::Sql { pattern },
            (None, Some(_)) => return Err(invalid("`backend_id` applies to `rpc` rules".into())),
            _ => return Err(invalid("give exactly one of `rpc` and `sql`".into())),
        };
        let kind = spec
            .action
            .ok_or_else(|| invalid("`action` is missing".into()))?;
        let action_name = serde_json::to_value(kind)
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default();
        let allowed: &[&str] = match kind {
            FaultActionKind::Fail => &["status_code", "message"],
            FaultActionKind::SqlError => &["code", "sql_state", "message"],
            FaultActionKind::Delay => &["millis"],
            FaultActionKind::DropConnection => &[],
            FaultActionKind::Hang => &["max_millis"],
        };
        let given = [
            ("status_code", spec.status_code.is_some()),
            ("code", spec.code.is_some()),
            ("sql_state", spec.sql_state.is_some()),
            ("message", spec.message.is_some()),
            ("millis", spec.millis.is_some()),
            ("max_millis", spec.max_millis.is_some()),
        ];
        if let Some((field, _)) = given
            .iter()
            .find(|(field, present)| *present && !allowed.contains(field))
        {
            return Err(invalid(format!(
                "`{field}` does not apply to action `{action_name}`"
            )));
        }
        let message = spec
            .message
            .unwrap_or_else(|| DEFAULT_FAULT_MESSAGE.to_owned());
        let action = match kind {
            FaultActionKind::Fail => FaultAction::Fail {
                status_code: TStatusCode(
                    spec.status_code
                        .ok_or_else(|| invalid("action `fail` needs `status_code`".into()))?,
                ),
                message,
            },
            FaultActionKind::SqlError => FaultAction::SqlError {
                code: spec.code.unwrap_or(DEFAULT_SQL_ERROR_CODE),
                sql_state: spec
                    .sql_state
                    .unwrap_or_else(|| DEFAULT_SQL_STATE.to_owned()),
                message,
            },
            FaultActionKind::Delay => FaultAction::Delay {
                millis: spec
                    .millis
                    .ok_or_else(|| invalid("action `delay` needs `millis`".into()))?,
            },
            FaultActionKind::DropConnection => FaultAction::DropConnection,
            FaultActionKind::Hang => FaultAction::Hang {
                max_millis: spec
                    .max_millis
                    .unwrap_or_else(|| MAX_HANG.as_millis() as u64),
            },
        };
        let rule = FaultRule {
            target,
            action,
            times: spec.times.unwrap_or(1),
            skip: spec.skip.unwrap_or(0),
        };
        rule.validate()?;
        Ok(rule)
    }
}

impl From<&FaultRule> for FaultRuleSpec {
    fn from(rule: &FaultRule) -> Self {
        let mut spec = FaultRuleSpec {
            times: Some(rule.times),
            skip: Some(rule.skip),
            ..Default::default()
        };
        match &rule.target {
            FaultTarget::Rpc { method, backend_id } => {
                spec.rpc = Some(method.clone());
                spec.backend_id = *backend_id;
            }
            FaultTarget::Sql { pattern } => spec.sql = Some(pattern.clone()),
        }
        let kind = match &rule.action {
            FaultAction::Fail {
                status_code,
                message,
            } => {
                spec.status_code = Some(status_code.0);
                spec.message = Some(message.clone());
                FaultActionKind::Fail
            }
            FaultAction::SqlError {
                code,
                sql_state,
                message,
            } => {
                spec.code = Some(*code);
                spec.sql_state = Some(sql_state.clone());
                spec.message = Some(message.clone());
                FaultActionKind::SqlError
            }
            FaultAction::Delay { millis } => {
                spec.millis = Some(*millis);
                FaultActionKind::Delay
            }
            FaultAction::DropConnection => FaultActionKind::DropConnection,
            FaultAction::Hang { max_millis } => {
                spec.max_millis = Some(*max_millis);
                FaultActionKind::Hang
            }
        };
        spec.action = Some(kind);
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(code: TStatusCode) -> FaultAction {
        FaultAction::Fail {
            status_code: code,
            message: "boom".into(),
        }
    }

    #[test]
    fn rules_fire_the_given_number_of_times_and_count_hits() {
        let faults = FaultInjector::new();
        let id = faults
            .add(FaultRule::rpc("getBinlog", fail(TStatusCode::INTERNAL_ERROR)).times(2))
            .unwrap();
        assert!(faults.check_rpc("commitTxn", None).is_none());
        for _ in 0..2 {
            match faults.check_rpc("getBinlog", None) {
                Some(RpcFault::Status {
                    status_code,
                    message,
                }) => {
                    assert_eq!(status_code, TStatusCode::INTERNAL_ERROR);
                    assert_eq!(message, "boom");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(faults.check_rpc("getBinlog", None).is_none());
        let listed = faults.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, id);
        assert_eq!(listed[0].hits, 2);
        assert_eq!(listed[0].remaining, Some(0));

        faults.remove(id).unwrap();
        assert_eq!(faults.remove(id), Err(FaultError::UnknownRule(id)));
        assert!(faults.list().is_empty());
    }

    #[test]
    fn skip_unlimited_and_rule_order() {
        let faults = FaultInjector::new();
        faults
            .add(
                FaultRule::rpc("commitTxn", fail(TStatusCode::TIMEOUT))
                    .skip(2)
                    .times(0),
            )
            .unwrap();
        faults
            .add(FaultRule::rpc("commitTxn", FaultAction::DropConnection))
            .unwrap();
        // The first rule claims every call; the first two pass untouched.
        assert!(faults.check_rpc("commitTxn", None).is_none());
        assert!(faults.check_rpc("commitTxn", None).is_none());
        for _ in 0..5 {
            assert!(matches!(
                faults.check_rpc("commitTxn", None),
                Some(RpcFault::Status { .. })
            ));
        }
        let listed = faults.list();
        assert_eq!(listed[0].hits, 5);
        assert_eq!(listed[0].remaining, None);
        assert_eq!(listed[1].hits, 0);
        assert_eq!(faults.clear(), 2);
        assert!(faults.check_rpc("commitTxn", None).is_none());
    }

    #[test]
    fn backend_restriction() {
        let faults = FaultInjector::new();
        faults
            .add(
                FaultRule::rpc("ingest_binlog", FaultAction::Delay { millis: 1 })
                    .on_backend(10002)
                    .times(0),
            )
            .unwrap();
        assert!(faults.check_rpc("ingest_binlog", Some(10001)).is_none());
        assert!(faults.check_rpc("ingest_binlog", None).is_none());
        assert!(matches!(
            faults.check_rpc("ingest_binlog", Some(10002)),
            Some(RpcFault::Delay(d)) if d == Duration::from_millis(1)
        ));
    }

    #[test]
    fn sql_patterns_ignore_case_and_spacing() {
        let faults = FaultInjector::new();
        faults
            .add(FaultRule::sql(
                "BACKUP  SNAPSHOT",
                FaultAction::SqlError {
                    code: 1105,
                    sql_state: "HY000".into(),
                    message: "no".into(),
                },
            ))
            .unwrap();
        assert!(faults.check_sql("SHOW BACKUP").is_none());
        match faults.check_sql("backup\n  snapshot db.s to repo") {
            Some(SqlFault::Error(error)) => assert_eq!(error.message, "no"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invalid_rules_are_refused() {
        let faults = FaultInjector::new();
        for rule in [
            FaultRule::sql("x", fail(TStatusCode::INTERNAL_ERROR)),
            FaultRule::rpc(
                "getBinlog",
                FaultAction::SqlError {
                    code: 1,
                    sql_state: "HY000".into(),
                    message: String::new(),
                },
            ),
            FaultRule::rpc("", FaultAction::DropConnection),
            FaultRule::sql(" ", FaultAction::DropConnection),
            FaultRule::rpc("getBinlog", fail(TStatusCode::OK)),
            FaultRule::rpc(
                "getBinlog",
                FaultAction::Hang {
                    max_millis: MAX_HANG.as_millis() as u64 + 1,
                },
            ),
            FaultRule::rpc(
                "getBinlog",
                FaultAction::Delay {
                    millis: MAX_DELAY.as_millis() as u64 + 1,
                },
            ),
        ] {
            assert!(
                matches!(faults.add(rule.clone()), Err(FaultError::InvalidRule(_))),
                "{rule:?}"
            );
        }
    }

    #[test]
    fn master_redirect_answers_not_master_on_the_fe_only() {
        let faults = FaultInjector::new();
        assert_eq!(faults.before_rpc("getBinlog", None), Ok(()));
        faults.set_master_redirect(Some(("10.0.0.2".into(), 9020)));
        let fault = faults.before_rpc("getBinlog", None).unwrap_err();
        let reply = fault.into_reply().unwrap();
        assert_eq!(reply.status.status_code, TStatusCode::NOT_MASTER);
        assert_eq!(
            reply.master_address,
            Some(TNetworkAddress::new("10.0.0.2".to_owned(), 9020))
        );
        assert_eq!(faults.before_rpc("ingest_binlog", Some(10001)), Ok(()));
        faults.set_master_redirect(None);
        assert_eq!(faults.before_rpc("getBinlog", None), Ok(()));
    }

    #[test]
    fn pause_points_release_abort_and_time_out() {
        let faults = FaultInjector::new();
        let id = faults
            .add(FaultRule::rpc("commitTxn", FaultAction::Hang { max_millis: 60_000 }).times(0))
            .unwrap();
        let waiter = {
            let faults = faults.clone();
            std::thread::spawn(move || faults.before_rpc("commitTxn", None))
        };
        wait_for_waiting(&faults, 1);
        assert_eq!(faults.release(id), Ok(1));
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert_eq!(faults.list()[0].waiting, 0);

        // A restart of the node aborts the paused call: it is dropped.
        let waiter = {
            let faults = faults.clone();
            std::thread::spawn(move || faults.before_rpc("commitTxn", None))
        };
        wait_for_waiting(&faults, 1);
        assert_eq!(faults.abort_paused(Some(FaultNode::Backend(10001))), 0);
        assert_eq!(faults.abort_paused(Some(FaultNode::Frontend)), 1);
        assert_eq!(waiter.join().unwrap(), Err(InjectedFault::DropConnection));

        // The bound ends a forgotten pause.
        faults.clear();
        faults
            .add(FaultRule::rpc(
                "commitTxn",
                FaultAction::Hang { max_millis: 1 },
            ))
            .unwrap();
        match faults.check_rpc("commitTxn", None) {
            Some(RpcFault::Pause(pause)) => assert_eq!(pause.wait(), PauseOutcome::TimedOut),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(faults.release(99), Err(FaultError::UnknownRule(99)));
    }

    fn wait_for_waiting(faults: &FaultInjector, expected: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while faults.list()[0].waiting != expected {
            assert!(
                Instant::now() < deadline,
                "call never reached the pause point"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn json_form_round_trips_and_reports_mistakes() {
        let spec: FaultRuleSpec = serde_json::from_str(
            r#"{"rpc":"commitTxn","action":"fail","status_code":6,"message":"x","times":3}"#,
        )
        .unwrap();
        let rule = FaultRule::try_from(spec).unwrap();
        assert_eq!(
            rule,
            FaultRule::rpc(
                "commitTxn",
                FaultAction::Fail {
                    status_code: TStatusCode::INTERNAL_ERROR,
                    message: "x".into(),
                }
            )
            .times(3)
        );
        let back = FaultRuleSpec::from(&rule);
        assert_eq!(FaultRule::try_from(back).unwrap(), rule);

        let sql: FaultRuleSpec =
            serde_json::from_str(r#"{"sql":"BACKUP SNAPSHOT","action":"sql_error","message":"m"}"#)
                .unwrap();
        assert_eq!(
            FaultRule::try_from(sql).unwrap().action,
            FaultAction::SqlError {
                code: 1105,
                sql_state: "HY000".into(),
                message: "m".into()
            }
        );
        let hang: FaultRuleSpec = serde_json::from_str(r#"{"sql":"x","action":"hang"}"#).unwrap();
        assert_eq!(
            FaultRule::try_from(hang).unwrap().action,
            FaultAction::Hang {
                max_millis: MAX_HANG.as_millis() as u64
            }
        );

        for bad in [
            r#"{"action":"drop_connection"}"#,
            r#"{"rpc":"a","sql":"b","action":"drop_connection"}"#,
            r#"{"rpc":"a"}"#,
            r#"{"rpc":"a","action":"fail"}"#,
            r#"{"rpc":"a","action":"delay"}"#,
            r#"{"rpc":"a","action":"delay","millis":1,"code":3}"#,
            r#"{"sql":"a","backend_id":1,"action":"drop_connection"}"#,
            r#"{"rpc":"a","action":"drop_connection","max_millis":1}"#,
        ] {
            let spec: FaultRuleSpec = serde_json::from_str(bad).unwrap();
            assert!(FaultRule::try_from(spec).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<FaultRuleSpec>(r#"{"rpc":"a","colour":1}"#).is_err());
    }
}
