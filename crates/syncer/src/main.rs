//! `ccr_syncer`: the replication service. Parses flags, sets up logging, opens the metadata
//! store, starts the job manager and serves the API; everything else lives in the library
//! crates (`ccr_api`, `ccr_core`).

mod config;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ccr_api::{ApiAuth, AppState};
use ccr_core::job::host_mapping::SyncerHostMapping;
use ccr_core::job::{JobManager, JobSettings};
use ccr_core::metrics::Metrics;
use ccr_core::secrets::SecretKeys;
use ccr_core::store::{self, StoreConfig};
use ccr_wire::secret::Secret;
use tracing_subscriber::fmt::time::ChronoLocal;
use tracing_subscriber::EnvFilter;

use crate::config::{DbType, LogFormat, SyncerArgs, VERSION};

fn main() -> ExitCode {
    let args = match SyncerArgs::try_parse_go_style(std::env::args()) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    if args.version {
        println!("{VERSION}");
        return ExitCode::SUCCESS;
    }
    if let Err(message) = args.validate() {
        eprintln!("ccr_syncer: {message}");
        return ExitCode::FAILURE;
    }
    // Read before anything starts, so a bad key, token or mapping file stops the start at
    // once.
    let startup = args
        .api_token()
        .and_then(|token| Ok((token, args.secret_keys()?, args.host_mapping()?)));
    let (api_token, secret_keys, host_mapping) = match startup {
        Ok(read) => read,
        Err(message) => {
            eprintln!("ccr_syncer: {message}");
            return ExitCode::FAILURE;
        }
    };
    let _log_guard = match init_logging(&args) {
        Ok(guard) => guard,
        Err(message) => {
            eprintln!("ccr_syncer: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ccr_syncer: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args, api_token, secret_keys, host_mapping)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("ccr_syncer: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging to stdout or a file; the guard flushes the file on exit.
fn init_logging(
    args: &SyncerArgs,
) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>, String> {
    let filter = EnvFilter::try_from_env("CCR_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{},sqlx=warn,hyper=info",
            args.log_level.as_filter()
        ))
    });
    let json = args.log_format == LogFormat::Json;
    // Log shippers want an unambiguous instant; people reading text want it short.
    let timer = ChronoLocal::new(if json {
        "%Y-%m-%dT%H:%M:%S%.3f%:z".to_owned()
    } else {
        "%Y-%m-%d %H:%M:%S%.3f".to_owned()
    });
    let file = match (&args.log_filename, &args.log_dir) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(dir)) => Some(dir.join(format!("{}_{}.log", args.host, args.port))),
        (None, None) => None,
    };
    use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};
    // Stdout keeps colours for a terminal; a file gets plain text and a flushing guard.
    let (writer, ansi, guard) = match file {
        None => (BoxMakeWriter::new(std::io::stdout), true, None),
        Some(path) => {
            let dir = path
                .parent()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create log directory {}: {e}", dir.display()))?;
            let opened = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
            let (writer, guard) = tracing_appender::non_blocking(opened);
            let writer = if args.log_also_to_stderr {
                BoxMakeWriter::new(writer.and(std::io::stderr))
            } else {
                BoxMakeWriter::new(writer)
            };
            (writer, false, Some(guard))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(timer)
        .with_ansi(ansi)
        .with_writer(writer);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .init();
    } else {
        builder.init();
    }
    Ok(guard)
}

async fn serve(
    args: SyncerArgs,
    api_token: Option<Secret>,
    secret_keys: SecretKeys,
    host_mapping: SyncerHostMapping,
) -> Result<(), String> {
    let identity = args.identity();
    tracing::info!(
        version = VERSION,
        %identity,
        api_token = api_token.is_some(),
        metrics_require_token = args.metrics_require_token,
        secret_key_id = secret_keys.current_id().unwrap_or("none: passwords are stored plain"),
        "ccr_syncer starting"
    );
    if api_token.is_none() && args.metrics_require_token {
        tracing::warn!("--metrics_require_token has no effect without an API token");
    }
    if args.pprof {
        tracing::warn!(
            "--pprof is accepted for compatibility but has no effect in this implementation"
        );
    }
    // Bind first so a port conflict fails at once, before anything else starts.
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| format!("cannot listen on {identity}: {e}"))?;

    let store_config = match args.db_type {
        DbType::Sqlite3 => StoreConfig::Sqlite {
            path: args.db_dir.clone(),
        },
        DbType::Mysql => StoreConfig::Mysql {
            host: args.db_host.clone(),
            port: args.db_port,
            user: args.db_user.clone(),
            password: args.db_password.0.clone(),
            database: args.db_name.clone(),
        },
    };
    let store = store::open(&store_config)
        .await
        .map_err(|e| format!("cannot open the metadata store ({store_config:?}): {e}"))?;

    let metrics = Arc::new(Metrics::default());
    let settings = JobSettings {
        identity: identity.clone(),
        connect_timeout: args.connect_timeout,
        rpc_timeout: args.rpc_timeout,
        commit_txn_timeout: args.commit_txn_timeout,
        idle_poll_interval: args.idle_poll_interval,
        operator_after_failures: args.operator_after_failures,
        target_max_disk_used_percent: args.target_max_disk_used_percent,
        target_disk_check_interval: args.target_disk_check_interval,
        report_interval: args.report_interval,
        max_ingest_concurrency_per_backend: args.max_ingest_concurrency_per_backend,
        txn_pipeline_depth: usize::from(args.txn_pipeline_depth),
        features: args.features.clone(),
        heartbeat_interval: args.heartbeat_interval,
        dead_after: args.dead_after,
        cluster_watch_interval: args.cluster_watch_interval,
        host_mapping,
        secret_keys,
        verify_interval: std::time::Duration::from_secs(args.verify_interval),
    };
    let jobs = JobManager::new(store, settings, metrics.clone());
    jobs.start()
        .await
        .map_err(|e| format!("cannot load jobs: {e}"))?;

    let state = Arc::new(AppState {
        jobs: jobs.clone(),
        metrics,
        features: args.features.clone(),
        version: VERSION.to_owned(),
        auth: api_token.map(|token| ApiAuth::new(token, args.metrics_require_token)),
    });
    tracing::info!(%identity, jobs = jobs.running_jobs().len(), "ccr_syncer listening");
    axum::serve(listener, ccr_api::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("HTTP server failed: {e}"))?;
    tracing::info!("HTTP server stopped; stopping jobs");
    jobs.shutdown().await;
    tracing::info!("ccr_syncer stopped");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch SIGTERM; only SIGINT stops the service");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => tracing::info!("SIGINT received; shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received; shutting down"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
