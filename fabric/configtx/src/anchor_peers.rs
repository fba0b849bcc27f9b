//! An application organisation's anchor peers: the `AnchorPeers` value of
//! `/Channel/Application/<org>` (gossip's cross-organisation entry points),
//! read and replaced. Its mod_policy is the organisation's `Admins`, so one
//! admin of that organisation signs the change.

use crate::{ConfigError, ROOT_GROUP};
use fabric_proto::common::{Config, ConfigGroup, ConfigValue};
use fabric_proto::protos::{AnchorPeer, AnchorPeers};
use prost::Message;

pub const ANCHOR_PEERS: &str = "AnchorPeers";
const APPLICATION: &str = "Application";
const ADMINS: &str = "Admins";

fn org_group<'a>(config: &'a mut Config, org: &str) -> Result<&'a mut ConfigGroup, ConfigError> {
    config
        .channel_group
        .as_mut()
        .and_then(|g| g.groups.get_mut(APPLICATION))
        .and_then(|a| a.groups.get_mut(org))
        .ok_or_else(|| ConfigError::Missing(format!("/{ROOT_GROUP}/{APPLICATION}/{org}")))
}

/// The anchor peers `org` (its group name, the MSP id) has in `config`, as `(host, port)`.
pub fn anchor_peers(config: &Config, org: &str) -> Result<Vec<(String, u16)>, ConfigError> {
    let mut copy = config.clone();
    let group = org_group(&mut copy, org)?;
    let Some(value) = group.values.get(ANCHOR_PEERS) else {
        return Ok(Vec::new());
    };
    let peers =
        AnchorPeers::decode(value.value.as_slice()).map_err(|e| ConfigError::Malformed {
            what: ANCHOR_PEERS.into(),
            msg: e.to_string(),
        })?;
    peers
        .anchor_peers
        .into_iter()
        .map(|p| {
            let port = u16::try_from(p.port).map_err(|_| ConfigError::Malformed {
                what: ANCHOR_PEERS.into(),
                msg: format!("port {} of {}", p.port, p.host),
            })?;
            Ok((p.host, port))
        })
        .collect()
}

/// `config` with `org`'s anchor peers set to `peers` (a new value gets mod_policy
/// `Admins`; an unchanged list keeps its exact bytes, so the update leaves it out).
pub fn with_anchor_peers(
    config: &Config,
    org: &str,
    peers: &[(String, u16)],
) -> Result<Config, ConfigError> {
    if anchor_peers(config, org)? == peers {
        return Ok(config.clone());
    }
    let mut out = config.clone();
    let group = org_group(&mut out, org)?;
    let bytes = AnchorPeers {
        anchor_peers: peers
            .iter()
            .map(|(host, port)| AnchorPeer {
                host: host.clone(),
                port: i32::from(*port),
            })
            .collect(),
    }
    .encode_to_vec();
    match group.values.get_mut(ANCHOR_PEERS) {
        Some(v) => v.value = bytes,
        None => {
            group.values.insert(
                ANCHOR_PEERS.into(),
                ConfigValue {
                    version: 0,
                    value: bytes,
                    mod_policy: ADMINS.into(),
                },
            );
        }
    }
    Ok(out)
}
