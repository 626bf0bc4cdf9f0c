//! Starting a whole simulated cluster: catalog, SQL engine and every server (MySQL,
//! FrontendService and BackendService Thrift, BE HTTP with the binlog download API). The
//! `doris_sim` binary and in-process tests both start clusters through here.

use std::sync::Arc;

use super::backup::files::{snapshot_download_routes, SnapshotDownloads};
use super::be_http::{binlog_download_routes, BinlogDownloads};
use super::be_service::SimBackendService;
use super::binlog_journal::BinlogFlavor;
use super::call_counts::call_count_routes;
use super::catalog::Catalog;
use super::cluster::{SimCluster, SimClusterOptions, SimError};
use super::fe_service::SimFrontendService;
use super::session::SqlEngine;
use super::sql::FeSqlEngine;
use super::thrift_server::{listener_service, SharedProcessor};
use super::topology::ClusterTopology;
use ccr_wire::backend_service::BackendServiceSyncProcessor;
use ccr_wire::frontend_service::FrontendServiceSyncProcessor;

/// Everything that decides how a simulated cluster starts.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub cluster: SimClusterOptions,
    /// `enable_feature_binlog` in the FE's configuration. Doris ships it off; the simulator
    /// starts as a cluster already prepared for CCR, so it defaults to on.
    pub fe_binlog_enabled: bool,
    /// Which FE generation the binlog behaves like (getBinlog batching, BARRIER wrapping,
    /// lockBinlog); the newest FE unless asked for Doris 2.1.
    pub binlog_flavor: BinlogFlavor,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            cluster: SimClusterOptions::default(),
            fe_binlog_enabled: true,
            binlog_flavor: BinlogFlavor::default(),
        }
    }
}

/// A running simulated cluster and its catalog.
pub struct SimDoris {
    pub cluster: SimCluster,
    pub catalog: Arc<Catalog>,
}

impl SimDoris {
    pub fn topology(&self) -> &ClusterTopology {
        self.cluster.topology()
    }

    /// Stops every server; the ports are free when this returns.
    pub async fn stop(self) {
        self.cluster.stop().await;
    }
}

/// Starts a cluster with all its servers.
pub async fn launch(config: SimConfig) -> Result<SimDoris, SimError> {
    let builder = SimCluster::bind(config.cluster.clone()).await?;
    let catalog = Catalog::new(
        builder.topology().clone(),
        config.cluster.root_password.expose(),
    );
    if config.fe_binlog_enabled {
        catalog
            .set_config("enable_feature_binlog", "true")
            .expect("enable_feature_binlog is a known config");
    }
    catalog.write().binlog.set_flavor(config.binlog_flavor);
    catalog.attach_faults(builder.faults().clone());
    let runtime = tokio::runtime::Handle::current();
    let mut backend_services = Vec::new();
    for backend in &builder.topology().backends {
        let service = SimBackendService::new(
            backend.id,
            Arc::clone(&catalog),
            config.cluster.be_binlog_enabled,
            runtime.clone(),
            builder.faults().clone(),
        )
        .map_err(|e| SimError::Setup(format!("BE {} HTTP client: {e}", backend.id)))?;
        backend_services.push((backend.id, service));
    }
    let fe_processor: SharedProcessor = Arc::new(FrontendServiceSyncProcessor::new(
        SimFrontendService::new(Arc::clone(&catalog), builder.faults().clone()),
    ));
    let engine: Arc<dyn SqlEngine> = Arc::new(FeSqlEngine::new(Arc::clone(&catalog)));
    let download_catalog = Arc::clone(&catalog);
    let cluster = builder
        .serve_fe_rpc(listener_service(fe_processor))
        .serve_be_rpc(|backend| {
            let service = backend_services
                .iter()
                .find(|(id, _)| *id == backend.id)
                .map(|(_, service)| service.clone())
                .expect("one service per backend");
            listener_service(Arc::new(BackendServiceSyncProcessor::new(service)))
        })
        .serve_be_http_routes(|backend| {
            binlog_download_routes(BinlogDownloads {
                catalog: Arc::clone(&download_catalog),
                backend_id: backend.id,
            })
            .merge(snapshot_download_routes(SnapshotDownloads {
                catalog: Arc::clone(&download_catalog),
                backend_id: backend.id,
            }))
        })
        .serve_fe_http_routes(call_count_routes(Arc::clone(&catalog)))
        .start(engine);
    Ok(SimDoris { cluster, catalog })
}
