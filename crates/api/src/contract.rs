//! The API's written contract: the JSON bodies of requests and answers, and the OpenAPI 3
//! document built from them and from the route annotations in [`super::routes`]
//! (served at `/openapi.json`).
//!
//! Every answer is an object with `success`; on failure `error_msg` says why and the route's
//! own keys hold their defaults or are absent, so those keys are optional here.

use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use ccr_core::job::spec::{ClusterSpec, Frontend};
use ccr_core::job::status::{JobStatus, NeedsOperator};
use ccr_core::job::validate::Check;
use ccr_core::job::{CreateJobRequest, JobLag, JobOwner, SyncerInfo};

/// `{"name": ...}`: the body of every route that acts on one job.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NameRequest {
    #[serde(default)]
    #[schema(example = "orders_dr")]
    pub name: String,
}

/// The body of `/update_job`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateJobRequest {
    #[serde(default)]
    pub name: String,
    /// Skip binlogs that fail to replay (recorded in `skipped_binlogs`).
    #[serde(default)]
    pub skip_error: bool,
}

/// The body of `/update_host_mapping`: advertised host → host the syncer and the target
/// BEs dial instead; an empty value deletes the entry.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateHostMappingRequest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub src_host_mapping: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub dest_host_mapping: std::collections::BTreeMap<String, String>,
}

/// The body of `/list_jobs` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ListJobsRequest {
    /// Answer each job with its owner and ownership epoch instead of its name only.
    #[serde(default)]
    pub detail: bool,
}

/// The body of `/job_skip_binlog`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SkipBinlogRequest {
    #[serde(default)]
    pub name: String,
    /// `silence` (skip the binlog at `skip_commit_seq`, the one the job is stuck on),
    /// `fullsync`, or `partialsync` (of `table`, database jobs). Case-insensitive.
    #[serde(default)]
    #[schema(example = "silence")]
    pub skip_by: String,
    #[serde(default)]
    pub skip_commit_seq: i64,
    /// The source table of a `partialsync`; the reference spells it `skip_table`.
    #[serde(default, alias = "skip_table")]
    pub table: String,
}

/// The answer of routes that only succeed or fail.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ack {
    pub success: bool,
    /// Why the call failed (absent on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
}

/// The answer of a call that failed before a route handled it (unknown route, body too
/// large, forwarding failure, internal error).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorAnswer {
    /// Always false.
    pub success: bool,
    pub error_msg: String,
}

/// `/validate`: every check with its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// Whether every check passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<Check>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionAnswer {
    #[schema(example = "0.1.0 (abc1234)")]
    pub version: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
}

/// `/job_detail`: the job record as a JSON document in a string, passwords redacted.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetailAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// Empty on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_detail: Option<String>,
}

/// `/job_progress`: the persisted progress as a JSON document in a string.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    /// Empty on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_progress: Option<String>,
    /// Ours: one line for people, e.g. `table job, incremental sync, 1 table synced, lag 0
    /// binlogs (0 s), last full sync 2026-12-03 09:00:00 (the job was created)`. Absent on
    /// failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// `/get_lag`: the fields of [`JobLag`] beside `success` (only `lag`, 0, on failure).
#[derive(Debug, Serialize, ToSchema)]
pub struct LagAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    pub lag: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_commit_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_commit_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_commit_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_binlog_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_binlog_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_interval_secs: Option<i64>,
}

/// One entry of `/list_jobs`: a name, or with `detail` the job and its owner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ListedJob {
    Name(String),
    Owned(JobOwner),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListJobsAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<ListedJob>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncersAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    pub syncers: Vec<SyncerInfo>,
}

/// One feature flag and its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureFlag {
    pub feature: String,
    pub value: bool,
    /// The default, as text (the reference's shape).
    pub default: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeaturesAnswer {
    pub success: bool,
    pub flags: Vec<FeatureFlag>,
}

/// One job of `/view?format=json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewLine {
    pub name: String,
    /// `table` or `db`; empty for a job another syncer runs.
    #[serde(rename = "type")]
    pub kind: String,
    /// `running`, `paused`, or `elsewhere` (another syncer runs it).
    pub state: String,
    /// `<progress_state>/<sub_state>`.
    pub phase: String,
    pub lag: Option<i64>,
    pub lag_seconds: Option<i64>,
    pub last_error: String,
    pub last_full_sync_time: String,
    pub last_full_sync_reason: String,
    pub host_mapping: bool,
    pub owner: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewAnswer {
    pub success: bool,
    pub jobs: Vec<ViewLine>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ccr_syncer",
        description = "Cross-cluster replication for Apache Doris. Every route accepts any \
                       method (as the reference syncer does); POST with a JSON body is the \
                       documented form. Application errors answer HTTP 200 with \
                       `{\"success\": false, \"error_msg\": ...}`, except where a route says \
                       otherwise. A job another syncer owns answers 303 See Other to that \
                       syncer (follow with `curl -L --post303`), or is forwarded with \
                       `?forward=1`."
    ),
    paths(
        super::routes::version,
        super::routes::create_ccr,
        super::routes::validate,
        super::routes::get_lag,
        super::routes::pause,
        super::routes::resume,
        super::routes::delete,
        super::routes::job_status,
        super::routes::desync,
        super::routes::update_job,
        super::routes::list_jobs,
        super::routes::job_detail,
        super::routes::job_progress,
        super::routes::force_fullsync,
        super::routes::job_skip_binlog,
        super::routes::update_host_mapping,
        super::routes::features,
        super::routes::metrics,
        super::routes::syncers,
        super::routes::view,
        super::routes::openapi_json,
    ),
    components(schemas(
        CreateJobRequest,
        ClusterSpec,
        Frontend,
        JobStatus,
        NeedsOperator,
        JobLag,
        JobOwner,
        SyncerInfo,
    ))
)]
pub struct ApiDoc;

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
