//! The CCaaS gRPC server: service `protos.Chaincode`, rpc `Connect`. The peer
//! dials us and opens one bidi stream per peer; each stream is a
//! [`Session`](crate::peer::Session) of its own.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use fabric_proto::protos::chaincode_server::{Chaincode as ChaincodeRpc, ChaincodeServer};
use fabric_proto::protos::ChaincodeMessage;
use futures::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use crate::chaincode::Chaincode;
use crate::config::{ServerConfig, TlsConfig};
use crate::error::{Result, ShimError};
use crate::peer::{Outbound, Session};

/// Messages queued for one peer before a sender waits.
const OUTBOUND_QUEUE: usize = 256;
/// HTTP/2 keepalive, as Fabric's Go chaincode server sets it.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// The `protos.Chaincode` service for one contract.
pub struct ShimService {
    chaincode: Arc<dyn Chaincode>,
    package_id: String,
    max_message_size: usize,
}

impl ShimService {
    /// Serves `chaincode`, registering as `package_id`.
    pub fn new(
        chaincode: Arc<dyn Chaincode>,
        package_id: impl Into<String>,
        max_message_size: usize,
    ) -> Self {
        ShimService {
            chaincode,
            package_id: package_id.into(),
            max_message_size,
        }
    }

    /// The tonic server wrapper with Fabric's message size limits.
    pub fn into_server(self) -> ChaincodeServer<ShimService> {
        let limit = self.max_message_size;
        ChaincodeServer::new(self)
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit)
    }
}

type MessageStream = Pin<Box<dyn Stream<Item = Result<ChaincodeMessage, Status>> + Send>>;

#[tonic::async_trait]
impl ChaincodeRpc for ShimService {
    type ConnectStream = MessageStream;

    async fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> Result<Response<Self::ConnectStream>, Status> {
        tracing::info!(remote = ?request.remote_addr(), "peer connected");
        let (sender, receiver) = mpsc::channel(OUTBOUND_QUEUE);
        let outbound = Outbound::new(sender, self.max_message_size);
        let session = Session::new(self.chaincode.clone(), self.package_id.clone(), outbound);
        tokio::spawn(session.run(request.into_inner()));
        Ok(Response::new(Box::pin(
            ReceiverStream::new(receiver).map(Ok),
        )))
    }
}

/// Binds `config.address` and serves `chaincode` until the process ends.
pub async fn serve<C: Chaincode>(chaincode: C, config: ServerConfig) -> Result<()> {
    let listener = TcpListener::bind(&config.address)
        .await
        .map_err(|e| ShimError::Config(format!("cannot listen on {}: {e}", config.address)))?;
    tracing::info!(address = %config.address, package_id = %config.package_id, tls = config.tls.is_some(), "chaincode server listening");
    serve_with_listener(chaincode, config, listener, std::future::pending()).await
}

/// Serves `chaincode` on an already bound listener until `shutdown` resolves.
pub async fn serve_with_listener<C, F>(
    chaincode: C,
    config: ServerConfig,
    listener: TcpListener,
    shutdown: F,
) -> Result<()>
where
    C: Chaincode,
    F: Future<Output = ()> + Send,
{
    let service = ShimService::new(
        Arc::new(chaincode),
        config.package_id,
        config.max_message_size,
    );
    // tonic's tcp_nodelay applies only to sockets it accepts itself: set it on ours,
    // or small replies wait for the peer's delayed ACK (~40 ms per round trip).
    let incoming = TcpListenerStream::new(listener).map(|accepted| {
        accepted.and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    });
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .tcp_nodelay(true);
    if let Some(tls) = &config.tls {
        builder = builder.tls_config(server_tls(tls))?;
    }
    builder
        .add_service(service.into_server())
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

fn server_tls(tls: &TlsConfig) -> ServerTlsConfig {
    let mut config =
        ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
    if let Some(ca) = &tls.client_ca_pem {
        config = config.client_ca_root(Certificate::from_pem(ca));
    }
    config
}
