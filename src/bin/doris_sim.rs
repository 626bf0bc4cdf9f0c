//! `doris_sim`: one simulated Doris cluster (an FE and N BEs) on 127.0.0.1.
//!
//! Prints one JSON line describing the cluster once it accepts connections, then runs until
//! SIGTERM or SIGINT.

use std::io::Write;
use std::process::ExitCode;

use ccr_syncer::secret::Secret;
use ccr_syncer::sim::cluster::SimClusterOptions;
use ccr_syncer::sim::launch::{launch, SimConfig};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "doris_sim",
    about = "A simulated Apache Doris cluster for trying and testing ccr_syncer"
)]
struct SimArgs {
    /// FE MySQL port (0 picks a free port).
    #[arg(long = "query-port", default_value_t = 9030)]
    query_port: u16,
    /// FE Thrift port (0 picks a free port).
    #[arg(long = "rpc-port", default_value_t = 9020)]
    rpc_port: u16,
    /// FE HTTP port (0 picks a free port).
    #[arg(long = "http-port", default_value_t = 8030)]
    http_port: u16,
    /// Number of BEs.
    #[arg(long, default_value_t = 3)]
    backends: usize,
    /// Password of `root` (empty, like a fresh Doris).
    #[arg(long = "root-password", default_value = "", hide_default_value = true)]
    root_password: String,
    /// Whether the FE has enable_feature_binlog on (Doris ships it off; a cluster prepared
    /// for CCR has it on).
    #[arg(long = "fe-binlog", default_value_t = true, action = clap::ArgAction::Set)]
    fe_binlog: bool,
    /// Whether the BEs report enable_feature_binlog on.
    #[arg(long = "be-binlog", default_value_t = true, action = clap::ArgAction::Set)]
    be_binlog: bool,
    #[arg(long = "log-level", default_value = "info")]
    log_level: String,
}

fn main() -> ExitCode {
    let args = SimArgs::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&args.log_level))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("doris_sim: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: SimArgs) -> ExitCode {
    let config = SimConfig {
        cluster: SimClusterOptions {
            backends: args.backends,
            query_port: args.query_port,
            rpc_port: args.rpc_port,
            http_port: args.http_port,
            root_password: Secret::new(args.root_password),
            be_binlog_enabled: args.be_binlog,
        },
        fe_binlog_enabled: args.fe_binlog,
    };
    let cluster = match launch(config).await {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("doris_sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", cluster.topology().to_json_line());
    let _ = stdout.flush();
    wait_for_signal().await;
    cluster.stop().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = interrupt => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = interrupt.await;
        }
    }
}
