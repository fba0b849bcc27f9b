//! Running the consortium on native Hyperledger Fabric processes.
//!
//! Owns: `up` (check the operator's Fabric install, make the channel's
//! genesis block, start 3 Raft orderers and the peers as detached processes,
//! join them to the channel, wait until gossip lets the orgs endorse
//! together), `down` (peers, then orderers: SIGTERM, then SIGKILL) and
//! `status`. Idempotent: running nodes are kept, stopped ones restarted on
//! their data, and nodes already on the channel are not joined again.
//!
//! Submodules: [`install`] (FABRIC_BIN / FABRIC_CFG_PATH), [`configtx`]
//! (configtx.yaml, configtxgen), [`nodes`] (each process and its
//! environment), [`process`] (spawn, pid files, stop), [`probe`] (healthz,
//! metrics, ports), [`join`] (channel participation, cscc, gossip),
//! [`status`], and [`ccaas_builder`] (the external builder the peers run).

pub mod ccaas_builder;
pub mod configtx;
pub mod install;
pub mod join;
pub mod nodes;
pub mod probe;
pub mod process;
mod status;

pub use install::{FabricInstall, InstallError};
pub use nodes::{nodes, FabricNode};
pub use status::status;

use crate::consortium::Consortium;
use crate::devnet_process::NodeKind;
use crate::fsutil::IoError;
use crate::layout::Layout;
use serde::Serialize;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Lines of a node's log quoted in an error.
const LOG_TAIL_LINES: usize = 15;
const POLL: Duration = Duration::from_millis(200);

/// Errors of the fabric backend.
#[derive(Debug, thiserror::Error)]
pub enum FabricError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("identity material missing: {0} (run `healthblock network up`, which generates it)")]
    MissingMaterial(PathBuf),
    #[error("port {address} ({user}) is already in use by another process")]
    PortInUse { address: String, user: String },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("configtxgen failed ({status}): {output}")]
    Configtxgen { status: String, output: String },
    #[error("{name} exited during start-up; see {log}\n{tail}")]
    Exited {
        name: String,
        log: PathBuf,
        tail: String,
    },
    #[error("the Fabric network did not become ready within {timeout:?}: still waiting for {waiting_for}")]
    Timeout {
        timeout: Duration,
        waiting_for: String,
    },
    #[error("not ready: {waiting_for}")]
    NotReady { waiting_for: String },
    #[error("joining {node} to the channel: {message}")]
    Join { node: String, message: String },
    #[error("cannot signal {name} (pid {pid}): {message}")]
    Signal {
        name: String,
        pid: u32,
        message: String,
    },
    #[error("no node named {0} (see `healthblock network status`)")]
    UnknownNode(String),
    #[error("{0}")]
    Config(String),
    #[error("CCaaS builder: {0}")]
    Builder(#[from] ccaas_builder::BuilderError),
}

/// Tunables of [`up`].
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Bound on the whole start: processes, channel joins, Raft leader, gossip.
    pub ready_timeout: Duration,
    /// The `healthblock-ccaas-builder` executable the peers' builder links point at.
    pub builder_executable: PathBuf,
}

/// One node after [`up`].
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    pub kind: NodeKind,
    pub name: String,
    pub pid: u32,
    /// Started by this call (false: it was running already).
    pub started: bool,
    pub log_file: PathBuf,
}

/// What [`up`] did.
#[derive(Debug, Clone, Serialize)]
pub struct UpReport {
    /// Every node was running already; nothing was started or joined.
    pub already_up: bool,
    pub nodes: Vec<NodeReport>,
    /// Orderers and peers joined to the channel by this call (0 on a restart).
    pub orderers_joined: usize,
    pub peers_joined: usize,
    /// The orderer leading the channel's Raft cluster.
    pub leader: String,
    pub genesis_block: PathBuf,
    /// Time from the call until every node served /healthz and gRPC.
    pub processes_ready_after: Duration,
    /// ... until every node was on the channel and Raft had a leader.
    pub channel_ready_after: Duration,
    /// Time from the call to readiness (gossip lets the orgs endorse together).
    pub elapsed: Duration,
}

/// Starts whatever is not running, joins the channel where needed and waits until the
/// orgs can endorse together. On failure, the processes this call started are stopped.
pub async fn up(
    c: &Consortium,
    layout: &Layout,
    install: &FabricInstall,
    opts: &UpOptions,
) -> Result<UpReport, FabricError> {
    let started_at = Instant::now();
    let deadline = started_at + opts.ready_timeout;
    let all = nodes(c, layout);
    check_material(c, layout)?;
    let genesis_block = configtx::ensure_genesis_block(c, layout, install)?;
    let genesis = std::fs::read(&genesis_block).map_err(|e| IoError::new(&genesis_block, e))?;
    ccaas_builder::install(&layout.fabric_builder_dir(), &opts.builder_executable)?;
    let mut reports = Vec::new();
    let mut to_start = Vec::new();
    for node in &all {
        match process::running_pid(layout, node)? {
            Some(pid) => reports.push(report(layout, node, pid, false)),
            None => to_start.push(node),
        }
    }
    check_ports_free(c, &to_start)?;
    let mut spawned: Vec<(&FabricNode, u32)> = Vec::new();
    let result = async {
        for node in &to_start {
            let pid = process::spawn(layout, install, node)?;
            spawned.push((*node, pid));
            reports.push(report(layout, node, pid, true));
        }
        let pids: Vec<(&FabricNode, u32)> = all
            .iter()
            .filter_map(|n| {
                reports
                    .iter()
                    .find(|r| r.name == n.name)
                    .map(|r| (n, r.pid))
            })
            .collect();
        wait_ready(layout, &pids, deadline, opts.ready_timeout).await?;
        let processes_ready = started_at.elapsed();
        let orderers_joined = join::join_orderers(c, layout, &genesis).await?;
        let orderers: Vec<&FabricNode> = of_kind(&all, NodeKind::Orderer);
        let leader = join::wait_for_leader(c, &orderers, deadline).await?;
        let peers_joined = join::join_peers(c, layout, &genesis).await?;
        let channel_ready = started_at.elapsed();
        join::wait_for_gossip(c, &of_kind(&all, NodeKind::Peer), deadline).await?;
        Ok::<_, FabricError>(Joined {
            orderers_joined,
            peers_joined,
            leader,
            processes_ready,
            channel_ready,
        })
    }
    .await;
    match result {
        Ok(Joined {
            orderers_joined,
            peers_joined,
            leader,
            processes_ready,
            channel_ready,
        }) => Ok(UpReport {
            already_up: to_start.is_empty() && orderers_joined == 0 && peers_joined == 0,
            nodes: reports,
            orderers_joined,
            peers_joined,
            leader,
            genesis_block,
            processes_ready_after: processes_ready,
            channel_ready_after: channel_ready,
            elapsed: started_at.elapsed(),
        }),
        Err(e) => {
            // Do not leave a half-started network behind.
            for (node, pid) in spawned.iter().rev() {
                let _ = process::stop_pid(layout, node, *pid, Duration::from_secs(5));
            }
            Err(match e {
                FabricError::NotReady { waiting_for } => FabricError::Timeout {
                    timeout: opts.ready_timeout,
                    waiting_for,
                },
                other => other,
            })
        }
    }
}

/// What the start sequence found and did, for the report.
struct Joined {
    orderers_joined: usize,
    peers_joined: usize,
    leader: String,
    processes_ready: Duration,
    channel_ready: Duration,
}

fn of_kind(all: &[FabricNode], kind: NodeKind) -> Vec<&FabricNode> {
    all.iter().filter(|n| n.kind == kind).collect()
}

fn report(layout: &Layout, node: &FabricNode, pid: u32, started: bool) -> NodeReport {
    NodeReport {
        kind: node.kind,
        name: node.name.clone(),
        pid,
        started,
        log_file: process::log_file(layout, node),
    }
}

/// The MSP and TLS files every node and admin needs.
fn check_material(c: &Consortium, layout: &Layout) -> Result<(), FabricError> {
    let oo = &c.orderer_org;
    let mut required = vec![
        layout.orderer_org_msp_dir(oo),
        layout.orderer_admin_tls_dir(oo).join("client.key"),
    ];
    for o in &oo.orderers {
        required.push(layout.orderer_msp_dir(oo, o));
        required.push(layout.orderer_tls_dir(oo, o).join("server.key"));
    }
    for org in &c.orgs {
        required.push(layout.org_msp_dir(org));
        required.push(layout.admin_msp_dir(org));
        for p in &org.peers {
            required.push(layout.peer_msp_dir(org, p));
            required.push(layout.peer_tls_dir(org, p).join("server.key"));
        }
    }
    match required.into_iter().find(|p| !p.exists()) {
        Some(missing) => Err(FabricError::MissingMaterial(missing)),
        None => Ok(()),
    }
}

/// Every port of the nodes about to start, with what uses it.
fn ports_of(c: &Consortium, node: &FabricNode) -> Vec<(String, String)> {
    let mut out = vec![
        (node.address.clone(), format!("{} listen", node.name)),
        (node.operations.clone(), format!("{} operations", node.name)),
    ];
    if let Some(admin) = &node.admin {
        out.push((admin.clone(), format!("{} admin", node.name)));
    }
    let chaincode = c
        .orgs
        .iter()
        .flat_map(|o| o.peers.iter().map(move |p| (o.fqdn(p), p.ports.chaincode)))
        .find(|(name, _)| *name == node.name);
    if let Some((_, port)) = chaincode {
        out.push((c.address(port), format!("{} chaincode", node.name)));
    }
    out
}

/// Fails before anything starts when another process holds one of the ports.
fn check_ports_free(c: &Consortium, to_start: &[&FabricNode]) -> Result<(), FabricError> {
    for node in to_start {
        for (address, user) in ports_of(c, node) {
            if matches!(TcpListener::bind(&address), Err(e) if e.kind() == std::io::ErrorKind::AddrInUse)
            {
                return Err(FabricError::PortInUse { address, user });
            }
        }
    }
    Ok(())
}

/// Waits until every node's /healthz answers 200 and its gRPC (and admin) ports accept;
/// fails at once, quoting its log, if a node's process (`pid`) has exited.
async fn wait_ready(
    layout: &Layout,
    all: &[(&FabricNode, u32)],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), FabricError> {
    loop {
        let mut waiting = Vec::new();
        for &(node, pid) in all {
            if !crate::pid::is_alive(pid) {
                let log = process::log_file(layout, node);
                return Err(FabricError::Exited {
                    name: node.name.clone(),
                    tail: crate::fsutil::log_tail(&log, LOG_TAIL_LINES),
                    log,
                });
            }
            if !node_ready(node).await {
                waiting.push(node.name.clone());
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(FabricError::Timeout {
                timeout,
                waiting_for: format!("/healthz and gRPC of {}", waiting.join(", ")),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn node_ready(node: &FabricNode) -> bool {
    let admin_ok = match &node.admin {
        Some(a) => probe::accepts_tcp(a).await,
        None => true,
    };
    admin_ok && probe::healthy(&node.operations).await && probe::accepts_tcp(&node.address).await
}

/// What [`down`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownReport {
    /// Nodes stopped, with their pids.
    pub stopped: Vec<(String, u32)>,
    /// Nodes that needed SIGKILL after the grace period.
    pub killed: Vec<String>,
}

/// Stops the peers, then the orderers (SIGTERM, SIGKILL after `grace`). Data stays.
pub fn down(c: &Consortium, layout: &Layout, grace: Duration) -> Result<DownReport, FabricError> {
    let all = nodes(c, layout);
    let order = of_kind(&all, NodeKind::Peer)
        .into_iter()
        .chain(of_kind(&all, NodeKind::Orderer));
    let mut report = DownReport::default();
    for node in order {
        if let Some((pid, killed)) = process::stop(layout, node, grace)? {
            report.stopped.push((node.name.clone(), pid));
            if killed {
                report.killed.push(node.name.clone());
            }
        }
    }
    Ok(report)
}

/// Resident memory of a process in KiB (from /proc), for reports.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn node_named(c: &Consortium, layout: &Layout, name: &str) -> Result<FabricNode, FabricError> {
    nodes(c, layout)
        .into_iter()
        .find(|n| n.name == name)
        .ok_or_else(|| FabricError::UnknownNode(name.to_owned()))
}

/// Stops one node (SIGTERM, SIGKILL after `grace`); the others keep running.
/// Returns the pid it had, or None if it was not running.
pub fn stop_node(
    c: &Consortium,
    layout: &Layout,
    name: &str,
    grace: Duration,
) -> Result<Option<u32>, FabricError> {
    let node = node_named(c, layout, name)?;
    Ok(process::stop(layout, &node, grace)?.map(|(pid, _)| pid))
}

/// Starts one stopped node again with its recorded configuration and waits until
/// it accepts connections. Returns its pid (the running one if it was not stopped).
pub async fn start_node(
    c: &Consortium,
    layout: &Layout,
    install: &FabricInstall,
    name: &str,
) -> Result<u32, FabricError> {
    let node = node_named(c, layout, name)?;
    if let Some(pid) = process::running_pid(layout, &node)? {
        return Ok(pid);
    }
    let pid = process::spawn(layout, install, &node)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !probe::accepts_tcp(&node.address).await {
        if Instant::now() > deadline {
            return Err(FabricError::NotReady {
                waiting_for: format!("{name} to accept connections on {}", node.address),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(pid)
}
