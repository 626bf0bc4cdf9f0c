//! The API's written contract: the JSON bodies of requests and answers, and the OpenAPI 3
//! document built from them and from the route annotations in [`super::routes`]
//! (served at `/openapi.json`).
//!
//! Every answer is an object with `success`; on failure `error_msg` says why and the route's
//! own keys hold their defaults or are absent, so those keys are optional here.

use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use ccr_core::job::spec::{ClusterSpec, Frontend};
use ccr_core::job::status::LastVerification;
use ccr_core::job::status::{JobStatus, NeedsOperator};
use ccr_core::job::validate::Check;
use ccr_core::job::verify::{Outcome, PartitionCheck, TableCheck, VerifySummary};
use ccr_core::job::{CreateJobRequest, DatabaseLag, JobLag, JobOwner, SyncerInfo};

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

/// The body of `/verify`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRequest {
    #[serde(default)]
    #[schema(example = "orders_dr")]
    pub name: String,
    /// Source tables to verify (database jobs); absent or empty: every replicated table.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Report each partition's outcome and row counts.
    #[serde(default)]
    pub partitions: bool,
    /// How long to wait for the job to catch up before a table is `unstable` (default 60).
    #[serde(default)]
    pub catch_up_timeout_secs: Option<u64>,
}

/// `/verify`: each table's outcome and the count of tables by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyAnswer {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_msg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<Vec<TableCheck>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<VerifySummary>,
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
    /// A whole-cluster job: each database job's lag (`lag` is their sum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub databases: Option<Vec<DatabaseLag>>,
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

/// `/view?format=`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ViewFormatName {
    Html,
    Text,
    Tsv,
    Json,
}

/// `/view?type=`: the reference syncer's names (`table` is our `text`, `raw` our `tsv`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ViewTypeName {
    Html,
    Table,
    Raw,
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
        super::routes::verify,
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
    modifiers(&CommonAnswers),
    components(schemas(
        ErrorAnswer,
        ViewFormatName,
        ViewTypeName,
        CreateJobRequest,
        ClusterSpec,
        Frontend,
        JobStatus,
        NeedsOperator,
        LastVerification,
        VerifySummary,
        TableCheck,
        PartitionCheck,
        Outcome,
        JobLag,
        JobOwner,
        SyncerInfo,
    ))
)]
pub struct ApiDoc;

/// What routes answer besides their own 200, added here once rather than on every route:
/// 413 for an oversized body (every POST); for routes acting on one job (tag `job`), 303
/// to the job's owner and 502 when forwarding to it failed; and, for the optional API
/// token (`--api_token_file`), a bearer scheme and 401 on every route but `/version`
/// (`/metrics` needs it only with `--metrics_require_token`).
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::security::{
            HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
        };
        use utoipa::openapi::{ContentBuilder, Ref, Response, ResponseBuilder};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Only when the syncer runs with --api_token_file or CCR_API_TOKEN",
                    ))
                    .build(),
            ),
        );
        let envelope = |description: &str| -> Response {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorAnswer")))
                        .build(),
                )
                .build()
        };
        let unauthorized = envelope("An API token is configured and the call did not present it");
        let too_large = envelope("The body is larger than 1 MiB");
        let forward_failed = envelope("Forwarding to the job's owner failed (?forward=1)");
        let see_other = ResponseBuilder::new()
            .description("Another syncer owns the job: its URL is in Location")
            .header("Location", HeaderBuilder::new().build())
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let posts = item.post.iter_mut().map(|op| (op, true));
            let gets = item.get.iter_mut().map(|op| (op, false));
            for (operation, is_post) in posts.chain(gets) {
                let answers = &mut operation.responses.responses;
                if is_post {
                    answers.insert("413".into(), too_large.clone().into());
                }
                let one_job = operation
                    .tags
                    .as_ref()
                    .is_some_and(|tags| tags.iter().any(|t| t == "job"));
                if one_job {
                    answers.insert("303".into(), see_other.clone().into());
                    answers.insert("502".into(), forward_failed.clone().into());
                }
                if path == "/version" {
                    continue;
                }
                answers.insert("401".into(), unauthorized.clone().into());
                // Without a token every route is open: the empty requirement says so.
                operation.security = Some(vec![
                    SecurityRequirement::new(BEARER_SCHEME, Vec::<String>::new()),
                    SecurityRequirement::default(),
                ]);
            }
        }
    }
}

const BEARER_SCHEME: &str = "bearer_token";

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
