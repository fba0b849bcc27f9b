//! Starting and stopping the whole network: identities, ledgers, the genesis
//! block, the orderer, every peer with its commit pipeline, and one TLS
//! listener per node.

use crate::auth::IdentityCache;
use crate::bundle::Bundles;
use crate::chain::ChainView;
use crate::channel_config::ChannelConfig;
use crate::config::{DevnetConfig, PeerConfig};
use crate::deliver::DeliverSource;
use crate::error::StartError;
use crate::network::Network;
use crate::orderer::Orderer;
use crate::participation;
use crate::peer::{Peer, PeerParts};
use crate::peer_server::{NodeControlError, PeerServers};
use crate::server::{self, Listener, MAX_MESSAGE_BYTES};
use crate::services::BroadcastService;
use devnet_endorser::{Endorser, PeerContext, SharedResources};
use devnet_ledger::{Ledger, StateUpdates};
use fabric_msp::SigningIdentity;
use fabric_proto::orderer::atomic_broadcast_server::AtomicBroadcastServer;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long `stop` waits for tasks to finish before abandoning them.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running devnet.
pub struct Devnet {
    peers: Vec<(String, SocketAddr)>,
    orderer: SocketAddr,
    /// The orderer's channel participation API, if configured.
    orderer_admin: Option<SocketAddr>,
    servers: Arc<PeerServers>,
    stop: watch::Sender<bool>,
    tasks: Vec<(String, JoinHandle<()>)>,
    failures: mpsc::UnboundedReceiver<String>,
}

/// Runs a devnet until `shutdown` resolves (or a component fails).
pub async fn run(config: DevnetConfig, shutdown: impl Future) -> anyhow::Result<()> {
    let mut devnet = Devnet::start(config).await?;
    let failure = tokio::select! {
        _ = shutdown => None,
        f = devnet.failures.recv() => f,
    };
    devnet.stop().await?;
    match failure {
        Some(f) => Err(anyhow::anyhow!(f)),
        None => Ok(()),
    }
}

impl Devnet {
    /// Loads identities, opens ledgers, writes the genesis block if needed and starts serving.
    /// Returns once every listener is bound and serving.
    pub async fn start(config: DevnetConfig) -> Result<Self, StartError> {
        let bundles = Arc::new(Bundles::default());
        let (stop, stop_rx) = watch::channel(false);
        let (fail_tx, failures) = mpsc::unbounded_channel();
        let mut starter = Starter {
            stop_rx,
            fail_tx,
            tasks: Vec::new(),
        };

        let orderer_listener = server::bind(&config.orderer.listen).await?;
        let admin_listener = match &config.orderer.admin {
            Some(admin) => Some(server::bind(&admin.listen).await?),
            None => None,
        };
        let mut peer_listeners = Vec::new();
        for p in &config.peers {
            peer_listeners.push(server::bind(&p.listen).await?);
        }
        let peer_addresses: Vec<(String, String)> = config
            .peers
            .iter()
            .zip(&peer_listeners)
            .map(|(p, l)| (p.name.clone(), l.address.clone()))
            .collect();

        let (orderer, ids) = start_orderer(
            &config,
            &orderer_listener,
            &peer_addresses,
            &bundles,
            &mut starter,
        )?;
        let mut peers = Vec::new();
        for (p, l) in config.peers.iter().zip(&peer_listeners) {
            peers.push(start_peer(&config, p, l, &bundles, &orderer, &mut starter)?);
        }
        let net = Arc::new(Network {
            channel: config.channel.clone(),
            ids: ids.clone(),
            orderer: orderer.clone(),
            peers: peers.clone(),
            shutdown: starter.stop_rx.clone(),
        });

        starter.serve_orderer(&config, orderer_listener, &orderer, &ids)?;
        let orderer_admin = match (&config.orderer.admin, admin_listener) {
            (Some(admin), Some(listener)) => {
                let address = parse_addr(&listener.address)?;
                starter.serve_participation(&config, admin, listener, &orderer)?;
                Some(address)
            }
            _ => None,
        };
        let servers = Arc::new(PeerServers::new(
            net.clone(),
            starter.stop_rx.clone(),
            starter.fail_tx.clone(),
        ));
        for ((p, l), peer) in config.peers.iter().zip(peer_listeners).zip(&peers) {
            servers.add(p, peer.clone(), l).await?;
        }
        let peers = config
            .peers
            .iter()
            .zip(&net.peers)
            .map(|(p, peer)| Ok((p.name.clone(), parse_addr(&peer.address)?)))
            .collect::<Result<Vec<_>, StartError>>()?;
        tracing::info!(channel = %config.channel, orderer = %orderer.address, peers = peers.len(), "devnet started");
        Ok(Self {
            peers,
            orderer: parse_addr(&orderer.address)?,
            orderer_admin,
            servers,
            stop,
            tasks: starter.tasks,
            failures,
        })
    }

    /// Every peer's name and address.
    pub fn peer_addresses(&self) -> &[(String, SocketAddr)] {
        &self.peers
    }

    /// The address of the named peer.
    pub fn peer_address(&self, name: &str) -> Option<SocketAddr> {
        self.peers.iter().find(|(n, _)| n == name).map(|(_, a)| *a)
    }

    pub fn orderer_address(&self) -> SocketAddr {
        self.orderer
    }

    /// The orderer's channel participation API (`osnadmin`), if configured.
    pub fn orderer_admin_address(&self) -> Option<SocketAddr> {
        self.orderer_admin
    }

    /// Stops one peer: its listener closes, gateways leave it out of their plans and
    /// it commits nothing until [`Devnet::start_peer`]; everything else keeps serving.
    pub async fn stop_peer(&self, name: &str) -> Result<(), NodeControlError> {
        self.servers.stop_peer(name).await
    }

    /// Starts a stopped peer again on its address; it catches up from the orderer.
    pub async fn start_peer(&self, name: &str) -> Result<(), NodeControlError> {
        self.servers.start_peer(name).await
    }

    /// A handle that stops and starts peers while the devnet runs (for a control socket).
    pub fn peer_control(&self) -> PeerControl {
        PeerControl {
            servers: self.servers.clone(),
        }
    }

    /// Stops every listener and task; waits a short grace period for them.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.stop.send_replace(true);
        self.servers.close_all().await;
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        for (name, mut task) in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!("{name} did not stop in time; abandoning it");
                task.abort();
            }
        }
        Ok(())
    }
}

/// Stops and starts the devnet's peers from another task.
#[derive(Clone)]
pub struct PeerControl {
    servers: Arc<PeerServers>,
}

impl PeerControl {
    pub async fn stop_peer(&self, name: &str) -> Result<(), NodeControlError> {
        self.servers.stop_peer(name).await
    }

    pub async fn start_peer(&self, name: &str) -> Result<(), NodeControlError> {
        self.servers.start_peer(name).await
    }
}

fn parse_addr(address: &str) -> Result<SocketAddr, StartError> {
    address.parse().map_err(|source| StartError::Address {
        address: address.to_owned(),
        source,
    })
}

/// Spawns tasks and reports their failures.
struct Starter {
    stop_rx: watch::Receiver<bool>,
    fail_tx: mpsc::UnboundedSender<String>,
    tasks: Vec<(String, JoinHandle<()>)>,
}

impl Starter {
    fn spawn(
        &mut self,
        name: String,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) {
        let fail_tx = self.fail_tx.clone();
        let label = name.clone();
        let handle = tokio::spawn(async move {
            if let Err(e) = task.await {
                tracing::error!("{label} failed: {e:#}");
                let _ = fail_tx.send(format!("{label} failed: {e:#}"));
            }
        });
        self.tasks.push((name, handle));
    }

    fn shutdown_signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop_rx.clone();
        async move {
            crate::chain::stopped(&mut rx).await;
        }
    }

    fn serve_orderer(
        &mut self,
        config: &DevnetConfig,
        listener: Listener,
        orderer: &Arc<Orderer>,
        ids: &Arc<IdentityCache>,
    ) -> Result<(), StartError> {
        let source = DeliverSource {
            channel: config.channel.clone(),
            ids: ids.clone(),
            chain: orderer.chain(),
            strip_filter: true,
            excluded_mspid: None,
            acl: None,
            shutdown: self.stop_rx.clone(),
        };
        let service = AtomicBroadcastServer::new(BroadcastService {
            orderer: orderer.clone(),
            source,
        })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let router = server::builder(&config.orderer.tls)?.add_service(service);
        let shutdown = self.shutdown_signal();
        self.spawn(
            format!("orderer {} listener", config.orderer.name),
            server::serve(router, listener.listener, shutdown),
        );
        Ok(())
    }

    fn serve_participation(
        &mut self,
        config: &DevnetConfig,
        admin: &crate::config::AdminListener,
        listener: Listener,
        orderer: &Arc<Orderer>,
    ) -> Result<(), StartError> {
        let acceptor = participation::acceptor(&config.orderer.tls, admin)?;
        let state = participation::ParticipationState {
            channel: config.channel.clone(),
            chain: orderer.chain(),
        };
        let shutdown = self.shutdown_signal();
        self.spawn(
            format!("orderer {} admin listener", config.orderer.name),
            participation::serve(listener.listener, acceptor, state, shutdown),
        );
        Ok(())
    }
}

fn open_ledger(path: &Path) -> Result<Arc<Ledger>, StartError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| StartError::CreateDir(dir.to_owned(), e))?;
    }
    let ledger = Ledger::open(path).map_err(|source| StartError::OpenLedger {
        path: path.to_owned(),
        source,
    })?;
    Ok(Arc::new(ledger))
}

/// Opens the orderer's chain (writing the genesis block on first start) and
/// starts block cutting. Returns the orderer and the identity cache that
/// authenticates requests with the MSPs of the config in force.
fn start_orderer(
    config: &DevnetConfig,
    listener: &Listener,
    peer_addresses: &[(String, String)],
    bundles: &Arc<Bundles>,
    starter: &mut Starter,
) -> Result<(Arc<Orderer>, Arc<IdentityCache>), StartError> {
    let chain = open_ledger(&config.data_dir.join("orderer").join("chain.redb"))?;
    if chain.try_height().map_err(StartError::ReadChain)? == 0 {
        let genesis = crate::genesis::genesis_block(config, &listener.address, peer_addresses)
            .map_err(|e| StartError::Genesis(e.into()))?;
        chain
            .commit(&genesis, &StateUpdates::default())
            .map_err(StartError::WriteGenesis)?;
        tracing::info!(channel = %config.channel, "wrote the genesis block");
    }
    let o = &config.orderer;
    let signer = SigningIdentity::from_msp_dir(&o.mspid, &o.msp_dir).map_err(|source| {
        StartError::Identity {
            node: format!("orderer {}", o.name),
            dir: o.msp_dir.clone(),
            source,
        }
    })?;
    // The config in force (batch settings, MSPs) is the newest config block's (the
    // description only seeds the genesis block), so config updates survive a restart.
    let in_force = ChannelConfig::load(&chain).map_err(|e| StartError::ChannelConfig(e.into()))?;
    let resources = bundles
        .resources(&in_force)
        .map_err(|e| StartError::ChannelConfig(e.into()))?;
    let ids = Arc::new(IdentityCache::new(resources.msps.clone()));
    let (orderer, cutter) = Orderer::new(
        config.channel.clone(),
        listener.address.clone(),
        chain,
        signer,
        ids.clone(),
        bundles.clone(),
    )
    .map_err(|e| StartError::ChannelConfig(e.into()))?;
    let stop = starter.stop_rx.clone();
    starter.spawn("orderer block cutter".into(), cutter.run(stop));
    Ok((orderer, ids))
}

/// Opens a peer's ledger, builds its endorser and starts its commit pipeline.
fn start_peer(
    config: &DevnetConfig,
    p: &PeerConfig,
    listener: &Listener,
    bundles: &Arc<Bundles>,
    orderer: &Arc<Orderer>,
    starter: &mut Starter,
) -> Result<Arc<Peer>, StartError> {
    let dir = config.data_dir.join(&p.name);
    let ledger = open_ledger(&dir.join("ledger.redb"))?;
    let orderer_chain: ChainView = orderer.chain();
    // The config in force on this peer: its newest config block's, or the
    // genesis block's before it has committed one.
    let in_force = if ledger.try_height().map_err(StartError::ReadChain)? > 0 {
        ChannelConfig::load(&ledger)
    } else {
        ChannelConfig::of_block(&orderer_chain.ledger, 0)
    }
    .map_err(|e| StartError::ChannelConfig(e.into()))?;
    let resources = SharedResources::new(
        bundles
            .resources(&in_force)
            .map_err(|e| StartError::ChannelConfig(e.into()))?,
    );
    let identity = SigningIdentity::from_msp_dir(&p.mspid, &p.msp_dir).map_err(|source| {
        StartError::Identity {
            node: p.name.clone(),
            dir: p.msp_dir.clone(),
            source,
        }
    })?;
    let public = identity.identity.clone();
    let endorser = Endorser::new(PeerContext {
        name: p.name.clone(),
        mspid: p.mspid.clone(),
        identity,
        ledger: ledger.clone(),
        resources: resources.clone(),
        channel: config.channel.clone(),
        data_dir: dir,
        ccaas_builder_config: p.ccaas_builder_config.clone(),
    });
    let (peer, commits) = Peer::new(PeerParts {
        name: p.name.clone(),
        address: listener.address.clone(),
        identity: public,
        endorser,
        ledger,
        channel: config.channel.clone(),
        resources,
        bundles: bundles.clone(),
        orderer_chain,
    });
    let stop = starter.stop_rx.clone();
    starter.spawn(
        format!("peer {} commit pipeline", p.name),
        commits.run(stop),
    );
    Ok(peer)
}
