//! The `main` of every chaincode binary: logging, configuration from the
//! environment (see `fabric_shim::config`), serving until Ctrl-C or SIGTERM.

use anyhow::Context;
use fabric_shim::{Chaincode, ServerConfig};
use tracing_subscriber::EnvFilter;

/// Serves `contract` as a chaincode-as-a-service server configured by
/// `CHAINCODE_SERVER_ADDRESS`, `CHAINCODE_ID`, `CHAINCODE_TLS_DISABLED`,
/// `CHAINCODE_TLS_KEY`, `CHAINCODE_TLS_CERT`, `CHAINCODE_CLIENT_CA_CERT`.
/// Logging follows `RUST_LOG` (default `info`).
pub async fn run<C: Chaincode + 'static>(contract: C) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = ServerConfig::from_env().context("chaincode server configuration")?;
    tokio::select! {
        served = fabric_shim::serve(contract, config) => served.context("chaincode server failed"),
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            Ok(())
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
