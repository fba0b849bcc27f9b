//! What `healthblock network status` shows on the fabric backend.
//!
//! Owns: probing each native node into the devnet's [`Status`] shape (one
//! JSON shape for both backends): up = its process runs and its gRPC port
//! accepts; orderers also report their channel height (channel participation
//! API) and whether they lead the channel's Raft cluster (operations
//! metrics). Peer heights are filled by the caller through Deliver, as on the
//! devnet.

use super::join::participation_client;
use super::nodes::{nodes, FabricNode};
use super::{probe, process};
use crate::consortium::Consortium;
use crate::devnet_process::{NodeKind, NodeStatus, Status};
use crate::layout::Layout;

/// Probes every orderer and peer of the native network.
pub async fn status(c: &Consortium, layout: &Layout) -> Status {
    let probes = nodes(c, layout)
        .into_iter()
        .map(|node| async move { node_status(c, layout, &node).await });
    Status {
        backend: c.backend,
        channel: c.channel.clone(),
        pid: None,
        nodes: futures::future::join_all(probes).await,
    }
}

async fn node_status(c: &Consortium, layout: &Layout, node: &FabricNode) -> NodeStatus {
    let pid = process::running_pid(layout, node).ok().flatten();
    let up = pid.is_some() && probe::accepts_tcp(&node.address).await;
    let mut status = NodeStatus {
        kind: node.kind,
        org: node.org.clone(),
        name: node.name.clone(),
        address: node.address.clone(),
        up,
        height: None,
        leader: None,
        pid,
    };
    if up && node.kind == NodeKind::Orderer {
        status.height = orderer_height(c, layout, node).await;
        status.leader = Some(
            probe::is_raft_leader(&node.operations, &c.channel)
                .await
                .unwrap_or(false),
        );
    }
    status
}

/// The orderer's height of the channel, from its channel participation API.
async fn orderer_height(c: &Consortium, layout: &Layout, node: &FabricNode) -> Option<u64> {
    let oo = &c.orderer_org;
    let o = oo.orderers.iter().find(|o| oo.fqdn(o) == node.name)?;
    let client = participation_client(c, layout, oo, o.ports.admin).ok()?;
    client
        .channel_info(&c.channel)
        .await
        .ok()
        .map(|info| info.height)
}
