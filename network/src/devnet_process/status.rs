//! What `healthblock network status` shows: the process and each node.
//!
//! Owns: the serialisable [`Status`] (for `--json`) and probing each node.
//! A node is `up` when its listener accepts TCP. Block heights come from the
//! peers over gRPC once the Fabric client's `block_height()` is wired in; until
//! then `height` is `None`.

use super::{endpoints, pid};
use crate::consortium::{Backend, Consortium};
use crate::layout::Layout;
use serde::Serialize;
use std::time::Duration;

const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// Peer or orderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Peer,
    Orderer,
}

/// One node's state.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStatus {
    pub kind: NodeKind,
    /// MSP id of the node's organisation.
    pub org: String,
    pub name: String,
    pub address: String,
    pub up: bool,
    /// Ledger height of the channel on this node, when known.
    pub height: Option<u64>,
    /// Raft orderers (fabric backend): whether this one leads the channel's cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader: Option<bool>,
    /// The node's own process (fabric backend: one process per node), when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// The network's state.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub backend: Backend,
    pub channel: String,
    /// Pid of the devnet process, when the pid file names a running one.
    pub pid: Option<u32>,
    pub nodes: Vec<NodeStatus>,
}

impl Status {
    /// Every node answers.
    pub fn all_up(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.iter().all(|n| n.up)
    }
}

/// Probes the devnet's process and nodes.
pub async fn status(c: &Consortium, layout: &Layout) -> Status {
    let pid = pid::read(&layout.devnet_pid_file())
        .ok()
        .flatten()
        .filter(|p| pid::is_running(*p, &layout.devnet_config_file()));
    let probes = endpoints(c).into_iter().map(|ep| async move {
        let up = probe(&ep.address).await;
        NodeStatus {
            kind: ep.kind,
            org: ep.mspid,
            name: ep.name,
            address: ep.address,
            up,
            height: None,
            leader: None,
            pid: None,
        }
    });
    Status {
        backend: c.backend,
        channel: c.channel.clone(),
        pid,
        nodes: futures::future::join_all(probes).await,
    }
}

async fn probe(address: &str) -> bool {
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(address)).await,
        Ok(Ok(_))
    )
}
