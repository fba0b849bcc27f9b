//! Genesis blocks: a channel's block 0, as configtxgen writes it, and the
//! genesis block of a new channel derived from an existing channel's config.
//!
//! Facts from Fabric: block 0 holds one CONFIG envelope with an empty creator
//! and no signature (txid = hex(SHA-256(nonce))), a config of sequence 0, and
//! `OrdererBlockMetadata{last_config: 0}` in the SIGNATURES metadata slot with
//! no signatures; a new channel's orderers and peers join from it (the
//! channel participation API and cscc JoinChain).

use crate::ConfigError;
use fabric_proto::common::{
    self, BlockMetadataIndex, ConfigEnvelope, ConfigGroup, Envelope, Header, OrdererBlockMetadata,
    Payload,
};
use fabric_proto::common::{Block, Config};
use prost::Message;

/// Block 0 of `channel`, holding `channel_group` as its config (sequence 0).
pub fn genesis_block(channel: &str, channel_group: ConfigGroup, unix_time: i64) -> Block {
    let envelope = genesis_envelope(channel, channel_group, unix_time);
    let mut block = fabric_block::new_block(0, &[], vec![envelope.encode_to_vec()]);
    let metadata = block.metadata.get_or_insert_with(Default::default);
    metadata.metadata.resize(5, Vec::new());
    let signatures = common::Metadata {
        value: OrdererBlockMetadata {
            last_config: Some(common::LastConfig { index: 0 }),
            consenter_metadata: Vec::new(),
        }
        .encode_to_vec(),
        signatures: Vec::new(),
    };
    metadata.metadata[BlockMetadataIndex::Signatures as usize] = signatures.encode_to_vec();
    metadata.metadata[BlockMetadataIndex::TransactionsFilter as usize] = vec![0];
    block
}

/// The CONFIG envelope of a genesis block: empty creator, random nonce, no signature.
fn genesis_envelope(channel: &str, channel_group: ConfigGroup, unix_time: i64) -> Envelope {
    let mut nonce = [0u8; 24];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let channel_header = common::ChannelHeader {
        r#type: common::HeaderType::Config as i32,
        version: 1,
        timestamp: Some(prost_types::Timestamp {
            seconds: unix_time,
            nanos: 0,
        }),
        channel_id: channel.to_owned(),
        tx_id: fabric_block::compute_txid(&nonce, &[]),
        ..Default::default()
    };
    let signature_header = common::SignatureHeader {
        creator: Vec::new(),
        nonce: nonce.to_vec(),
    };
    let data = ConfigEnvelope {
        config: Some(Config {
            sequence: 0,
            channel_group: Some(channel_group),
        }),
        last_update: None,
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data: data.encode_to_vec(),
    };
    Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
}

/// The genesis block of a new channel `channel` for the application orgs
/// whose MSP ids are `mspids`: the current config of an existing channel
/// (orderer section, policies, ACLs, capabilities) with every other
/// application org left out and every version reset to 0, as a fresh
/// configtxgen profile would write it.
pub fn new_channel_genesis(
    current: &Config,
    channel: &str,
    mspids: &[&str],
    unix_time: i64,
) -> Result<Block, ConfigError> {
    let mut root = current
        .channel_group
        .clone()
        .ok_or_else(|| ConfigError::Missing("channel group".into()))?;
    let application = root
        .groups
        .get_mut("Application")
        .ok_or_else(|| ConfigError::Missing("Application group".into()))?;
    let mut known: Vec<String> = application
        .groups
        .values()
        .filter_map(crate::org::org_mspid)
        .collect();
    known.sort();
    if let Some(missing) = mspids.iter().find(|m| !known.iter().any(|k| k == *m)) {
        return Err(ConfigError::Missing(format!(
            "application org {missing} (the channel's orgs: {})",
            known.join(", ")
        )));
    }
    application.groups.retain(|_, group| {
        crate::org::org_mspid(group).is_some_and(|m| mspids.contains(&m.as_str()))
    });
    reset_versions(&mut root);
    Ok(genesis_block(channel, root, unix_time))
}

fn reset_versions(group: &mut ConfigGroup) {
    group.version = 0;
    for value in group.values.values_mut() {
        value.version = 0;
    }
    for policy in group.policies.values_mut() {
        policy.version = 0;
    }
    for child in group.groups.values_mut() {
        reset_versions(child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(version: u64) -> ConfigGroup {
        ConfigGroup {
            version,
            mod_policy: "Admins".into(),
            ..Default::default()
        }
    }

    /// An org group with an MSP value naming `mspid`.
    fn msp_org(mspid: &str) -> ConfigGroup {
        let fabric = fabric_proto::msp::FabricMspConfig {
            name: mspid.into(),
            ..Default::default()
        };
        let msp = fabric_proto::msp::MspConfig {
            r#type: 0,
            config: fabric.encode_to_vec(),
        };
        let mut group = org(2);
        group.values.insert(
            "MSP".into(),
            common::ConfigValue {
                version: 1,
                value: msp.encode_to_vec(),
                mod_policy: "Admins".into(),
            },
        );
        group
    }

    fn config() -> Config {
        let mut application = org(3);
        for name in ["Hospital1", "Hospital2", "Hospital3"] {
            application
                .groups
                .insert(name.into(), msp_org(&format!("{name}MSP")));
        }
        let mut root = org(7);
        root.groups.insert("Application".into(), application);
        root.groups.insert("Orderer".into(), org(1));
        Config {
            sequence: 9,
            channel_group: Some(root),
        }
    }

    #[test]
    fn a_new_channel_keeps_the_named_orgs_at_version_zero() {
        let block = new_channel_genesis(&config(), "second", &["Hospital1MSP", "Hospital2MSP"], 0)
            .expect("genesis");
        let envelope = crate::config_envelope_from_block(&block).expect("config block");
        let config = envelope.config.expect("config");
        assert_eq!(config.sequence, 0);
        let root = config.channel_group.expect("root");
        assert_eq!(root.version, 0);
        let mut orgs: Vec<_> = root.groups["Application"].groups.keys().cloned().collect();
        orgs.sort();
        assert_eq!(orgs, ["Hospital1", "Hospital2"]);
        assert!(root.groups["Application"]
            .groups
            .values()
            .all(|g| g.version == 0 && g.values["MSP"].version == 0));
        assert_eq!(crate::last_config_index(&block).expect("index"), 0);
        assert_eq!(block.header.expect("header").number, 0);
    }

    #[test]
    fn an_unknown_org_is_named_with_the_known_ones() {
        let err = new_channel_genesis(&config(), "second", &["Hospital9MSP"], 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config has no application org Hospital9MSP (the channel's orgs: Hospital1MSP, Hospital2MSP, Hospital3MSP)"
        );
    }
}
