//! TLS gRPC listeners: each node binds its own address first (so ports are
//! known, including ephemeral ones) and then serves its services on it.

use crate::config::TlsFiles;
use crate::error::StartError;
use anyhow::Context;
use std::future::Future;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tonic::transport::server::Router;
use tonic::transport::{Identity, Server, ServerTlsConfig};

/// Fabric peers accept messages up to 100 MiB; so do all devnet services.
pub const MAX_MESSAGE_BYTES: usize = 100 * 1024 * 1024;

/// A bound listener and the address clients should use.
pub struct Listener {
    pub listener: TcpListener,
    /// `host:port` with the configured host and the actual port.
    pub address: String,
}

/// Binds `listen` (`host:port`; port 0 picks a free port).
pub async fn bind(listen: &str) -> Result<Listener, StartError> {
    let failed = |source| StartError::Listen {
        address: listen.to_owned(),
        source,
    };
    let listener = TcpListener::bind(listen).await.map_err(failed)?;
    let local = listener.local_addr().map_err(failed)?;
    let host = listen.rsplit_once(':').map(|(h, _)| h).unwrap_or(listen);
    let host = if host.is_empty() || host == "0.0.0.0" {
        "127.0.0.1"
    } else {
        host
    };
    Ok(Listener {
        listener,
        address: format!("{host}:{}", local.port()),
    })
}

/// A server builder with the node's TLS certificate (no client authentication, as Fabric's default).
pub fn builder(tls: &TlsFiles) -> Result<Server, StartError> {
    let read = |what, path: &std::path::PathBuf| {
        std::fs::read(path).map_err(|source| StartError::TlsFile {
            what,
            path: path.clone(),
            source,
        })
    };
    let cert = read("certificate", &tls.cert)?;
    let key = read("key", &tls.key)?;
    let config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    Ok(Server::builder()
        .tls_config(config)
        .map_err(StartError::Tls)?
        .tcp_nodelay(true))
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // The builder's `tcp_nodelay` only applies to sockets tonic accepts itself,
    // not to a caller's stream: without it, small responses sit in Nagle's
    // buffer until the client's delayed ACK (~40 ms per round trip).
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        accepted.and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    });
    router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .context("gRPC server failed")
}
