//! Each peer's gRPC listener (Gateway, Endorser, Deliver), which can be closed
//! and opened again while the rest of the devnet keeps serving: what stopping
//! and starting one peer means on the devnet.
//!
//! Owns: building a peer's services on a listener, its own shutdown signal
//! (closed by the devnet's stop or by `stop_peer`), and the peer's running state
//! that the gateways' plans and its commit pipeline follow.

use crate::config::PeerConfig;
use crate::deliver::DeliverSource;
use crate::gateway::GatewayService;
use crate::network::Network;
use crate::peer::Peer;
use crate::server::{self, Listener, MAX_MESSAGE_BYTES};
use crate::services::{EndorserService, PeerDeliverService};
use crate::StartError;
use fabric_proto::gateway::gateway_server::GatewayServer;
use fabric_proto::protos::deliver_server::DeliverServer;
use fabric_proto::protos::endorser_server::EndorserServer;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::task::JoinHandle;

/// How long a closing listener may take to finish its open calls before they are cut.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why a peer could not be stopped or started.
#[derive(Debug, thiserror::Error)]
pub enum NodeControlError {
    #[error("no peer named {0} in this devnet")]
    UnknownPeer(String),
    #[error("peer {0} is already stopped")]
    AlreadyStopped(String),
    #[error("peer {0} is already running")]
    AlreadyRunning(String),
    #[error("starting peer {name}")]
    Start {
        name: String,
        #[source]
        source: StartError,
    },
}

struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

struct PeerServer {
    config: PeerConfig,
    peer: Arc<Peer>,
    running: Option<Running>,
}

/// Every peer's listener.
pub(crate) struct PeerServers {
    net: Arc<Network>,
    /// The devnet's own stop signal.
    global: watch::Receiver<bool>,
    failures: mpsc::UnboundedSender<String>,
    servers: Mutex<Vec<PeerServer>>,
}

impl PeerServers {
    pub(crate) fn new(
        net: Arc<Network>,
        global: watch::Receiver<bool>,
        failures: mpsc::UnboundedSender<String>,
    ) -> Self {
        Self {
            net,
            global,
            failures,
            servers: Mutex::new(Vec::new()),
        }
    }

    /// Serves `peer` on `listener` (at start-up).
    pub(crate) async fn add(
        &self,
        config: &PeerConfig,
        peer: Arc<Peer>,
        listener: Listener,
    ) -> Result<(), StartError> {
        let running = self.open(config, &peer, listener)?;
        self.servers.lock().await.push(PeerServer {
            config: config.clone(),
            peer,
            running: Some(running),
        });
        Ok(())
    }

    fn open(
        &self,
        config: &PeerConfig,
        peer: &Arc<Peer>,
        listener: Listener,
    ) -> Result<Running, StartError> {
        // This listener's own signal, also raised when the whole devnet stops.
        let (stop, local) = watch::channel(false);
        let mut global = self.global.clone();
        let forward = stop.clone();
        tokio::spawn(async move {
            crate::chain::stopped(&mut global).await;
            forward.send_replace(true);
        });
        let net = &self.net;
        let source = DeliverSource {
            channel: net.channel.clone(),
            ids: net.ids.clone(),
            chain: peer.chain(),
            strip_filter: false,
            excluded_mspid: Some(net.orderer.mspid.clone()),
            acl: None,
            shutdown: local.clone(),
        };
        let router = server::builder(&config.tls)?
            .add_service(
                GatewayServer::new(GatewayService::new(net.clone(), peer.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                EndorserServer::new(EndorserService { peer: peer.clone() })
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                DeliverServer::new(PeerDeliverService { source })
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            );
        let mut signal = local;
        let shutdown = async move { crate::chain::stopped(&mut signal).await };
        let failures = self.failures.clone();
        let label = format!("peer {} listener", config.name);
        let task = tokio::spawn(async move {
            if let Err(e) = server::serve(router, listener.listener, shutdown).await {
                tracing::error!("{label} failed: {e:#}");
                let _ = failures.send(format!("{label} failed: {e:#}"));
            }
        });
        peer.set_up(true);
        Ok(Running { stop, task })
    }

    /// Closes a peer's listener and marks it stopped; the rest keeps serving.
    pub(crate) async fn stop_peer(&self, name: &str) -> Result<(), NodeControlError> {
        let mut servers = self.servers.lock().await;
        let server = servers
            .iter_mut()
            .find(|s| s.config.name == name)
            .ok_or_else(|| NodeControlError::UnknownPeer(name.to_owned()))?;
        let running = server
            .running
            .take()
            .ok_or_else(|| NodeControlError::AlreadyStopped(name.to_owned()))?;
        server.peer.set_up(false);
        close(running).await;
        tracing::info!(peer = %name, "peer stopped");
        Ok(())
    }

    /// Opens a stopped peer's listener again on its address; it catches up from the orderer.
    pub(crate) async fn start_peer(&self, name: &str) -> Result<(), NodeControlError> {
        let mut servers = self.servers.lock().await;
        let server = servers
            .iter_mut()
            .find(|s| s.config.name == name)
            .ok_or_else(|| NodeControlError::UnknownPeer(name.to_owned()))?;
        if server.running.is_some() {
            return Err(NodeControlError::AlreadyRunning(name.to_owned()));
        }
        let start = |source| NodeControlError::Start {
            name: name.to_owned(),
            source,
        };
        let listener = server::bind(&server.peer.address).await.map_err(start)?;
        let running = self
            .open(&server.config, &server.peer, listener)
            .map_err(start)?;
        server.running = Some(running);
        tracing::info!(peer = %name, "peer started");
        Ok(())
    }

    /// Closes every listener (the devnet is stopping).
    pub(crate) async fn close_all(&self) {
        let mut servers = self.servers.lock().await;
        for server in servers.iter_mut() {
            if let Some(running) = server.running.take() {
                close(running).await;
            }
        }
    }
}

/// Signals the listener to close and waits briefly; open calls past the grace are cut.
async fn close(running: Running) {
    running.stop.send_replace(true);
    let mut task = running.task;
    if tokio::time::timeout(CLOSE_GRACE, &mut task).await.is_err() {
        task.abort();
        let _ = task.await;
    }
}
