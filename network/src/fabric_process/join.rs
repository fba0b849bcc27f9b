//! Putting the nodes on the channel.
//!
//! Owns: joining each orderer through its channel participation API (mutual
//! TLS with the orderer org admin's TLS client certificate, which the admin
//! endpoint checks against `ORDERER_ADMIN_TLS_CLIENTROOTCAS`), waiting for a
//! Raft leader, and joining each peer through `cscc` JoinChain signed by its
//! org's admin. Nodes already on the channel (a restart) are left alone.

use super::nodes::FabricNode;
use super::{probe, FabricError};
use crate::consortium::{Consortium, OrdererNode, OrdererOrg, PeerNode, PeerOrg};
use crate::layout::Layout;
use fabric_client::admin::participation::{ParticipationClient, ParticipationEndpoint};
use fabric_client::admin::{channel, Peer};
use fabric_client::Endpoint;
use fabric_msp::SigningIdentity;
use std::path::Path;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(250);

fn read(path: &Path) -> Result<Vec<u8>, FabricError> {
    std::fs::read(path).map_err(|e| FabricError::Io(crate::fsutil::IoError::new(path, e)))
}

/// A participation client for one orderer's admin endpoint.
pub fn participation_client(
    c: &Consortium,
    layout: &Layout,
    org: &OrdererOrg,
    admin_port: u16,
) -> Result<ParticipationClient, FabricError> {
    let admin_tls = layout.orderer_admin_tls_dir(org);
    let endpoint = ParticipationEndpoint {
        address: c.address(admin_port),
        tls_ca_pem: read(&admin_tls.join("ca.crt"))?,
        client_cert_pem: read(&admin_tls.join("client.crt"))?,
        client_key_pem: read(&admin_tls.join("client.key"))?,
        server_name_override: None,
    };
    ParticipationClient::new(&endpoint).map_err(|e| FabricError::Join {
        node: endpoint.address.clone(),
        message: e.to_string(),
    })
}

/// Joins every orderer that is not on the channel yet; returns how many joined now.
pub async fn join_orderers(
    c: &Consortium,
    layout: &Layout,
    genesis: &[u8],
) -> Result<usize, FabricError> {
    let org = &c.orderer_org;
    let mut joined = 0;
    for node in &org.orderers {
        let client = participation_client(c, layout, org, node.ports.admin)?;
        let fail = |e: fabric_client::error::Error| FabricError::Join {
            node: org.fqdn(node),
            message: e.to_string(),
        };
        let list = client.list().await.map_err(fail)?;
        let on_channel = list
            .channels
            .unwrap_or_default()
            .iter()
            .any(|ch| ch.name == c.channel);
        if !on_channel {
            client.join(genesis).await.map_err(fail)?;
            joined += 1;
        }
    }
    Ok(joined)
}

/// Waits until one orderer reports Raft leadership of the channel; returns its name.
pub async fn wait_for_leader(
    c: &Consortium,
    orderers: &[&FabricNode],
    deadline: Instant,
) -> Result<String, FabricError> {
    loop {
        for node in orderers {
            if probe::is_raft_leader(&node.operations, &c.channel).await == Some(true) {
                return Ok(node.name.clone());
            }
        }
        if Instant::now() >= deadline {
            return Err(FabricError::NotReady {
                waiting_for: format!("a Raft leader of channel {}", c.channel),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The admin of an application org, from the generated material.
pub fn org_admin(layout: &Layout, org: &PeerOrg) -> Result<SigningIdentity, FabricError> {
    let dir = layout.admin_msp_dir(org);
    SigningIdentity::from_msp_dir(&org.mspid, &dir).map_err(|e| FabricError::Join {
        node: org.name.clone(),
        message: format!("cannot load the admin identity from {}: {e}", dir.display()),
    })
}

/// A direct (Endorser/Deliver) connection to a peer, trusting its org's TLS CA.
pub async fn connect_peer(
    c: &Consortium,
    layout: &Layout,
    org: &PeerOrg,
    peer: &PeerNode,
) -> Result<Peer, FabricError> {
    let ca = read(&layout.org_tls_ca_cert(org))?;
    let endpoint = Endpoint::new(c.address(peer.ports.listen), ca).with_server_name(org.fqdn(peer));
    Peer::connect(&endpoint)
        .await
        .map_err(|e| FabricError::Join {
            node: org.fqdn(peer),
            message: e.to_string(),
        })
}

/// An orderer's Broadcast/Deliver endpoint, trusting the orderer org's TLS CA.
pub fn orderer_endpoint(
    c: &Consortium,
    layout: &Layout,
    node: &OrdererNode,
) -> Result<Endpoint, FabricError> {
    let oo = &c.orderer_org;
    let ca = read(&layout.orderer_tls_dir(oo, node).join("ca.crt"))?;
    Ok(Endpoint::new(c.address(node.ports.listen), ca).with_server_name(oo.fqdn(node)))
}

/// Joins every peer that has no ledger of the channel yet; returns how many joined now.
///
/// All peers join at once: a peer that gossips to another org's peer before that peer has
/// the channel's config is rejected (unknown MSP, untrusted TLS CA) and retries only after
/// the gossip reconnect interval, so staggered joins delay convergence.
pub async fn join_peers(
    c: &Consortium,
    layout: &Layout,
    genesis: &[u8],
) -> Result<usize, FabricError> {
    let joins = c
        .orgs
        .iter()
        .flat_map(|org| org.peers.iter().map(move |p| (org, p)))
        .map(|(org, p)| join_peer(c, layout, org, p, genesis));
    let mut joined = 0;
    for result in futures::future::join_all(joins).await {
        joined += usize::from(result?);
    }
    Ok(joined)
}

/// Joins one peer unless it is on the channel already; returns whether it joined now.
async fn join_peer(
    c: &Consortium,
    layout: &Layout,
    org: &PeerOrg,
    p: &PeerNode,
    genesis: &[u8],
) -> Result<bool, FabricError> {
    let admin = org_admin(layout, org)?;
    let peer = connect_peer(c, layout, org, p).await?;
    // A peer on the channel serves its height through Deliver; one that is not refuses.
    if peer.block_height(&admin, &c.channel).await.is_ok() {
        return Ok(false);
    }
    match channel::join_channel(&peer, &admin, genesis).await {
        Ok(()) => Ok(true),
        // Raced with an earlier, interrupted `up`: the ledger is there.
        Err(e) if e.to_string().contains("already exists") => Ok(false),
        Err(e) => Err(FabricError::Join {
            node: org.fqdn(p),
            message: e.to_string(),
        }),
    }
}

/// Waits until every peer knows every other peer of the channel through gossip: before that,
/// the gateway cannot plan an endorsement across orgs ("no combination of peers can be derived").
pub async fn wait_for_gossip(
    c: &Consortium,
    peers: &[&FabricNode],
    deadline: Instant,
) -> Result<(), FabricError> {
    let others = peers.len().saturating_sub(1) as u64;
    loop {
        let mut lagging = Vec::new();
        for node in peers {
            let known = probe::gossip_peers_known(&node.operations, &c.channel).await;
            if known.unwrap_or(0) < others {
                lagging.push(format!("{} knows {}", node.name, known.unwrap_or(0)));
            }
        }
        if lagging.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(FabricError::NotReady {
                waiting_for: format!(
                    "gossip membership of channel {} ({others} other peers each; {})",
                    c.channel,
                    lagging.join(", ")
                ),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}
