//! `doris_sim`: one simulated Doris cluster (an FE and N BEs) on 127.0.0.1.
//!
//! Prints one JSON line describing the cluster (its ports and BEs) on stdout once it
//! accepts connections, then runs until SIGTERM or SIGINT and exits 0. Logs go to stderr.

use std::io::Write;
use std::process::ExitCode;

use ccr_wire::secret::Secret;
use clap::{Parser, ValueEnum};
use doris_sim::binlog_journal::BinlogFlavor;
use doris_sim::cluster::SimClusterOptions;
use doris_sim::launch::{launch, SimConfig};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// The FE generation whose binlog behaviour the cluster imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FlavorArg {
    /// The newest FE (3.0 and later): batched getBinlog, lockBinlog, every binlog type native.
    Newest,
    /// A Doris 2.1 FE: one binlog per getBinlog, no lockBinlog, some DDL wrapped in BARRIER.
    #[value(name = "doris-2.1")]
    Doris21,
}

impl From<FlavorArg> for BinlogFlavor {
    fn from(flavor: FlavorArg) -> Self {
        match flavor {
            FlavorArg::Newest => BinlogFlavor::Newest,
            FlavorArg::Doris21 => BinlogFlavor::Doris21,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "doris_sim",
    about = "A simulated Apache Doris cluster for trying and testing ccr_syncer",
    long_about = "A simulated Apache Doris cluster (one FE, N BEs) on 127.0.0.1 for trying and \
testing ccr_syncer. Once every port accepts connections it prints one JSON line on stdout \
describing the cluster (FE query/rpc/http ports, each BE's id and ports), then runs until \
SIGTERM or SIGINT. Logs go to stderr. See docs/doris_sim.md."
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
    /// Which FE generation the binlog imitates: batching of getBinlog, lockBinlog, BARRIER
    /// wrapping of some DDL.
    #[arg(long = "binlog-flavor", value_enum, default_value_t = FlavorArg::Newest)]
    binlog_flavor: FlavorArg,
    /// Report the FE and BEs as `fe.DOMAIN` and `be-<index>.DOMAIN` (private names a
    /// client must map, e.g. `private.invalid`) instead of 127.0.0.1; they still listen on
    /// 127.0.0.1.
    #[arg(long = "advertise-domain", value_name = "DOMAIN")]
    advertise_domain: Option<String>,
    /// Log filter for stderr: a level (error, warn, info, debug, trace) or tracing
    /// directives such as `doris_sim=debug`.
    #[arg(long = "log-level", default_value = "info")]
    log_level: String,
}

fn main() -> ExitCode {
    let args = SimArgs::parse();
    let filter = match tracing_subscriber::EnvFilter::try_new(&args.log_level) {
        Ok(filter) => filter,
        Err(error) => {
            eprintln!(
                "doris_sim: invalid --log-level {:?}: {error}",
                args.log_level
            );
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
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
            advertise_domain: args.advertise_domain,
        },
        fe_binlog_enabled: args.fe_binlog,
        binlog_flavor: args.binlog_flavor.into(),
    };
    // Installed before the ready line: a SIGTERM sent the moment a caller reads it must
    // stop the cluster cleanly, not kill the process by the signal's default action.
    let signals = [SignalKind::terminate(), SignalKind::interrupt()].map(signal);
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
    wait_for_signal(signals).await;
    cluster.stop().await;
    ExitCode::SUCCESS
}

/// Returns at the first SIGTERM or SIGINT (a signal whose handler could not be installed
/// keeps its default action).
async fn wait_for_signal(signals: [std::io::Result<Signal>; 2]) {
    let [terminate, interrupt] = signals;
    let next = |signal: std::io::Result<Signal>| async move {
        match signal {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = next(terminate) => {}
        _ = next(interrupt) => {}
    }
}
