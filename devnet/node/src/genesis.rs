//! The channel's genesis block: one CONFIG envelope holding the channel
//! configuration as configtxgen would write it for this consortium (channel,
//! Application and Orderer groups, org MSPs with NodeOUs, batch settings and
//! the standard policies). Unsigned, with an empty creator, like Fabric's.

use crate::config::{DevnetConfig, OrgConfig};
use anyhow::Context;
use fabric_configtx::org::{
    application_org_group, msp_config, policy, roles_policy, signature_policy, value,
    ApplicationOrg, ADMINS,
};
use fabric_proto::common::{
    self, Block, Capabilities, Capability, ConfigGroup, ConfigPolicy, ConfigValue,
    ImplicitMetaPolicy,
};
use fabric_proto::msp::msp_role::MspRoleType;
use fabric_proto::{orderer, protos};
use healthblock_consortium::consortium::OPERATORS_POLICY;
use prost::Message;
use std::collections::HashMap;

/// Builds block 0 for `config` (orderer copy: TRANSACTIONS_FILTER `[0]`, no orderer signature).
pub(crate) fn genesis_block(
    config: &DevnetConfig,
    orderer_address: &str,
    peer_addresses: &[(String, String)],
) -> anyhow::Result<Block> {
    let channel_group = channel_group(config, orderer_address, peer_addresses)?;
    Ok(fabric_configtx::genesis::genesis_block(
        &config.channel,
        channel_group,
        crate::auth::unix_now(),
    ))
}

fn channel_group(
    config: &DevnetConfig,
    orderer_address: &str,
    peer_addresses: &[(String, String)],
) -> anyhow::Result<ConfigGroup> {
    let mut group = ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    };
    group.values.insert(
        "HashingAlgorithm".into(),
        value(common::HashingAlgorithm {
            name: "SHA256".into(),
        }),
    );
    group.values.insert(
        "BlockDataHashingStructure".into(),
        value(common::BlockDataHashingStructure { width: u32::MAX }),
    );
    group
        .values
        .insert("Capabilities".into(), value(capabilities("V3_0")));
    insert_meta_policies(&mut group);
    group.groups.insert(
        "Application".into(),
        application_group(config, peer_addresses)?,
    );
    group
        .groups
        .insert("Orderer".into(), orderer_group(config, orderer_address)?);
    Ok(group)
}

/// The Admins (MAJORITY), Readers (ANY) and Writers (ANY) implicit-meta policies
/// every group above the orgs carries.
fn insert_meta_policies(group: &mut ConfigGroup) {
    for (name, rule) in [(ADMINS, "MAJORITY"), ("Readers", "ANY"), ("Writers", "ANY")] {
        group
            .policies
            .insert(name.into(), implicit_meta(rule, name));
    }
}

fn application_group(
    config: &DevnetConfig,
    peer_addresses: &[(String, String)],
) -> anyhow::Result<ConfigGroup> {
    let mut group = ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    };
    group
        .values
        .insert("Capabilities".into(), value(capabilities("V2_5")));
    insert_meta_policies(&mut group);
    group.policies.insert(
        "Endorsement".into(),
        channel_policy(&config.endorsement_policy)?,
    );
    group.policies.insert(
        "LifecycleEndorsement".into(),
        channel_policy(&config.lifecycle_policy)?,
    );
    // The ACLs come with the policy they point at: each org's peers and
    // admins (without ACLs the config is exactly configtxgen's default).
    if !config.acls.is_empty() {
        group.policies.insert(
            OPERATORS_POLICY.into(),
            implicit_meta("ANY", OPERATORS_POLICY),
        );
        let acls = protos::AcLs {
            acls: config
                .acls
                .iter()
                .map(|(resource, policy)| {
                    let api = protos::ApiResource {
                        policy_ref: policy.clone(),
                    };
                    (resource.clone(), api)
                })
                .collect(),
        };
        group.values.insert("ACLs".into(), value(acls));
    }
    for org in &config.orgs {
        let anchor = config
            .peers
            .iter()
            .find(|p| p.mspid == org.mspid)
            .and_then(|p| peer_addresses.iter().find(|(name, _)| *name == p.name))
            .map(|(_, addr)| addr.as_str());
        group.groups.insert(
            org.mspid.clone(),
            application_org(org, anchor, !config.acls.is_empty())?,
        );
    }
    Ok(group)
}

fn application_org(
    org: &OrgConfig,
    anchor: Option<&str>,
    operators: bool,
) -> anyhow::Result<ConfigGroup> {
    let anchor_peers: Vec<(String, u16)> = anchor
        .and_then(|a| a.rsplit_once(':'))
        .map(|(host, port)| (host.to_owned(), port.parse().unwrap_or(0)))
        .into_iter()
        .collect();
    application_org_group(&ApplicationOrg {
        mspid: &org.mspid,
        msp_dir: &org.msp_dir,
        anchor_peers: &anchor_peers,
        operators_policy: operators.then_some(OPERATORS_POLICY),
        endorsement_policy: &org.endorsement_policy,
    })
    .with_context(|| format!("organisation {}", org.mspid))
}

fn orderer_group(config: &DevnetConfig, orderer_address: &str) -> anyhow::Result<ConfigGroup> {
    let mut group = ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    };
    let batch = &config.batch;
    group.values.insert(
        "BatchSize".into(),
        value(orderer::BatchSize {
            max_message_count: batch.max_message_count,
            absolute_max_bytes: batch.absolute_max_bytes,
            preferred_max_bytes: batch.preferred_max_bytes,
        }),
    );
    group.values.insert(
        "BatchTimeout".into(),
        value(orderer::BatchTimeout {
            timeout: go_duration(batch.timeout),
        }),
    );
    group
        .values
        .insert("Capabilities".into(), value(capabilities("V2_0")));
    group.values.insert(
        "ConsensusType".into(),
        value(orderer::ConsensusType {
            r#type: "solo".into(),
            metadata: Vec::new(),
            state: orderer::consensus_type::State::Normal as i32,
        }),
    );
    group.values.insert(
        "ChannelRestrictions".into(),
        ConfigValue {
            mod_policy: ADMINS.into(),
            ..Default::default()
        },
    );
    group
        .policies
        .insert(ADMINS.into(), implicit_meta("MAJORITY", "Admins"));
    group
        .policies
        .insert("BlockValidation".into(), implicit_meta("ANY", "Writers"));
    group
        .policies
        .insert("Readers".into(), implicit_meta("ANY", "Readers"));
    group
        .policies
        .insert("Writers".into(), implicit_meta("ANY", "Writers"));

    let o = &config.orderer;
    let mut org = ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    };
    org.values.insert(
        "Endpoints".into(),
        value(common::OrdererAddresses {
            addresses: vec![orderer_address.to_owned()],
        }),
    );
    org.values
        .insert("MSP".into(), value(msp_config(&o.mspid, &o.org_msp_dir)?));
    org.policies
        .insert(ADMINS.into(), roles_policy(&o.mspid, &[MspRoleType::Admin]));
    org.policies.insert(
        "Readers".into(),
        roles_policy(&o.mspid, &[MspRoleType::Member]),
    );
    org.policies.insert(
        "Writers".into(),
        roles_policy(&o.mspid, &[MspRoleType::Member]),
    );
    group.groups.insert(o.mspid.clone(), org);
    Ok(group)
}

/// A Go duration string as Fabric's BatchTimeout holds it (`2s`, `250ms`).
fn go_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn capabilities(name: &str) -> Capabilities {
    Capabilities {
        capabilities: HashMap::from([(name.to_owned(), Capability {})]),
    }
}

fn implicit_meta(rule: &str, sub_policy: &str) -> ConfigPolicy {
    let rule = match rule {
        "ANY" => common::implicit_meta_policy::Rule::Any,
        "ALL" => common::implicit_meta_policy::Rule::All,
        _ => common::implicit_meta_policy::Rule::Majority,
    };
    policy(
        common::policy::PolicyType::ImplicitMeta,
        ImplicitMetaPolicy {
            sub_policy: sub_policy.to_owned(),
            rule: rule as i32,
        }
        .encode_to_vec(),
    )
}

/// A channel-level policy string: `MAJORITY Endorsement` style, or a signature policy.
fn channel_policy(text: &str) -> anyhow::Result<ConfigPolicy> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if let [rule @ ("ANY" | "ALL" | "MAJORITY"), sub] = words.as_slice() {
        return Ok(implicit_meta(rule, sub));
    }
    let envelope = fabric_policy::parse(text).with_context(|| format!("channel policy {text}"))?;
    Ok(signature_policy(envelope))
}
