//! Starting a whole simulated cluster: catalog, SQL engine and every server. The
//! `doris_sim` binary and in-process tests both start clusters through here.

use std::sync::Arc;

use super::catalog::Catalog;
use super::cluster::{SimCluster, SimClusterOptions, SimError};
use super::session::SqlEngine;
use super::sql::FeSqlEngine;
use super::topology::ClusterTopology;

/// Everything that decides how a simulated cluster starts.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub cluster: SimClusterOptions,
    /// `enable_feature_binlog` in the FE's configuration. Doris ships it off; the simulator
    /// starts as a cluster already prepared for CCR, so it defaults to on.
    pub fe_binlog_enabled: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            cluster: SimClusterOptions::default(),
            fe_binlog_enabled: true,
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
    let root_password = config.cluster.root_password.expose().to_owned();
    let mut catalog_slot = None;
    let cluster = SimCluster::start(config.cluster, |topology| {
        let catalog = Catalog::new(topology.clone(), &root_password);
        if config.fe_binlog_enabled {
            catalog
                .set_config("enable_feature_binlog", "true")
                .expect("enable_feature_binlog is a known config");
        }
        catalog_slot = Some(Arc::clone(&catalog));
        let engine: Arc<dyn SqlEngine> = Arc::new(FeSqlEngine::new(catalog));
        engine
    })
    .await?;
    let catalog = catalog_slot.expect("the engine factory ran");
    Ok(SimDoris { cluster, catalog })
}
