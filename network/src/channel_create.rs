//! A new channel for a subset of the hospitals, on either backend, as an
//! administrator creates one on Fabric v3: a genesis block, the orderers
//! joining it through the channel participation API (as `osnadmin channel
//! join`), the chosen hospitals' peers through cscc JoinChain signed by their
//! admins (as `peer channel join`).
//!
//! Owns: deriving the genesis block from the running channel's config (the
//! same orderer section, policies and ACLs, only the chosen hospitals), the
//! joins, and waiting until every joined peer holds the genesis block. The
//! devnet serves one channel: its orderer refuses the join with its reason,
//! which this passes on.

use crate::consortium::{Consortium, PeerOrg};
use crate::fabric_process::join::{
    connect_peer, orderer_endpoint, org_admin, participation_client,
};
use crate::fabric_process::FabricError;
use crate::layout::Layout;
use fabric_proto::common::Config;
use prost::Message;
use serde::Serialize;
use std::time::{Duration, Instant};

/// How long the orderers get to serve the new channel, and each joined peer to hold its genesis block.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);

/// Why a channel was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("channel name {name:?}: {reason}")]
    Name { name: String, reason: String },
    #[error("the genesis block of {channel}")]
    Genesis {
        channel: String,
        #[source]
        source: fabric_configtx::ConfigError,
    },
    #[error("{node} did not join channel {channel}: {message}")]
    Join {
        node: String,
        channel: String,
        message: String,
    },
    #[error("{node} did not hold block 0 of channel {channel} within {}s", JOIN_TIMEOUT.as_secs())]
    NotJoined { node: String, channel: String },
    #[error(transparent)]
    Material(#[from] FabricError),
}

/// What `create` did.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub channel: String,
    /// The hospitals (MSP ids) of the new channel.
    pub orgs: Vec<String>,
    /// The orderers and peers that joined it.
    pub orderers: Vec<String>,
    pub peers: Vec<String>,
}

/// Creates `channel` for `orgs` from `current`, the config in force on the
/// network's channel, at unix time `now`.
pub async fn create(
    c: &Consortium,
    layout: &Layout,
    current: &Config,
    channel: &str,
    orgs: &[&PeerOrg],
    now: i64,
) -> Result<Created, CreateError> {
    fabric_client::admin::participation::validate_channel_name(channel).map_err(|e| {
        CreateError::Name {
            name: channel.to_owned(),
            reason: e.to_string(),
        }
    })?;
    if channel == c.channel {
        return Err(CreateError::Name {
            name: channel.to_owned(),
            reason: "the network's channel exists already".into(),
        });
    }
    let mspids: Vec<&str> = orgs.iter().map(|o| o.mspid.as_str()).collect();
    let genesis = fabric_configtx::genesis::new_channel_genesis(current, channel, &mspids, now)
        .map_err(|source| CreateError::Genesis {
            channel: channel.to_owned(),
            source,
        })?
        .encode_to_vec();
    let join_failed = |node: String, e: &dyn std::fmt::Display| CreateError::Join {
        node,
        channel: channel.to_owned(),
        message: e.to_string(),
    };

    let oo = &c.orderer_org;
    let mut orderers = Vec::new();
    for node in c.running_orderers() {
        let client = participation_client(c, layout, oo, node.ports.admin)?;
        client
            .join(&genesis)
            .await
            .map_err(|e| join_failed(oo.fqdn(node), &e))?;
        orderers.push(oo.fqdn(node));
    }

    // A new Raft channel answers Deliver once it has elected a leader.
    if let (Some(first), Some(org)) = (c.running_orderers().first(), orgs.first()) {
        let endpoint = orderer_endpoint(c, layout, first)?;
        let orderer = fabric_client::admin::Orderer::connect(&endpoint)
            .await
            .map_err(|e| join_failed(oo.fqdn(first), &e))?;
        let reader = org_admin(layout, org)?;
        let deadline = Instant::now() + JOIN_TIMEOUT;
        while let Err(e) =
            fabric_client::admin::channel_config::chain_info(&orderer, &reader, channel).await
        {
            if Instant::now() > deadline {
                return Err(join_failed(
                    oo.fqdn(first),
                    &format!("it does not serve the channel yet: {e}"),
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    let mut peers = Vec::new();
    for org in orgs {
        let admin = org_admin(layout, org)?;
        for node in &org.peers {
            let peer = connect_peer(c, layout, org, node).await?;
            fabric_client::admin::channel::join_channel(&peer, &admin, &genesis)
                .await
                .map_err(|e| join_failed(org.fqdn(node), &e))?;
            let deadline = Instant::now() + JOIN_TIMEOUT;
            while peer.block_height(&admin, channel).await.unwrap_or(0) < 1 {
                if Instant::now() > deadline {
                    return Err(CreateError::NotJoined {
                        node: org.fqdn(node),
                        channel: channel.to_owned(),
                    });
                }
                tokio::time::sleep(POLL).await;
            }
            peers.push(org.fqdn(node));
        }
    }
    Ok(Created {
        channel: channel.to_owned(),
        orgs: orgs.iter().map(|o| o.mspid.clone()).collect(),
        orderers,
        peers,
    })
}
