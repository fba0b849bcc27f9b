//! A readable (JSON) view of a channel config: every group with its version and
//! mod_policy, every value decoded by its well-known name (BatchSize,
//! BatchTimeout, ConsensusType, Capabilities, Endpoints, AnchorPeers, MSP, ...),
//! every policy as its rule (`MAJORITY Admins`, `OR('Org1MSP.admin')`).
//! Values it does not know are shown by size only.

use fabric_proto::common::{
    implicit_meta_policy::Rule, policy::PolicyType, BlockDataHashingStructure, Capabilities,
    Config, ConfigGroup, ConfigPolicy, ConfigValue, HashingAlgorithm, ImplicitMetaPolicy,
    OrdererAddresses, SignaturePolicyEnvelope,
};
use fabric_proto::msp::{FabricMspConfig, MspConfig};
use fabric_proto::orderer::{consensus_type, BatchSize, BatchTimeout, ConsensusType};
use fabric_proto::protos::AnchorPeers;
use prost::Message;
use serde_json::{json, Map, Value};

/// The whole config as JSON: `{sequence, channel_group: {...}}`.
pub fn describe(config: &Config) -> Value {
    json!({
        "sequence": config.sequence,
        "channel_group": config.channel_group.as_ref().map(group).unwrap_or(Value::Null),
    })
}

fn group(g: &ConfigGroup) -> Value {
    let mut groups = Map::new();
    for name in sorted(g.groups.keys()) {
        groups.insert(name.clone(), group(&g.groups[name]));
    }
    let mut values = Map::new();
    for name in sorted(g.values.keys()) {
        values.insert(name.clone(), config_value(name, &g.values[name]));
    }
    let mut policies = Map::new();
    for name in sorted(g.policies.keys()) {
        policies.insert(name.clone(), config_policy(&g.policies[name]));
    }
    json!({
        "version": g.version,
        "mod_policy": g.mod_policy,
        "groups": groups,
        "values": values,
        "policies": policies,
    })
}

fn sorted<'a>(keys: impl Iterator<Item = &'a String>) -> Vec<&'a String> {
    let mut k: Vec<_> = keys.collect();
    k.sort();
    k
}

fn config_value(name: &str, v: &ConfigValue) -> Value {
    json!({
        "version": v.version,
        "mod_policy": v.mod_policy,
        "value": decode_value(name, &v.value),
    })
}

fn decode_value(name: &str, bytes: &[u8]) -> Value {
    let decoded = match name {
        "BatchSize" => BatchSize::decode(bytes).map(|b| {
            json!({
                "max_message_count": b.max_message_count,
                "absolute_max_bytes": b.absolute_max_bytes,
                "preferred_max_bytes": b.preferred_max_bytes,
            })
        }),
        "BatchTimeout" => BatchTimeout::decode(bytes).map(|t| json!({ "timeout": t.timeout })),
        "ConsensusType" => ConsensusType::decode(bytes).map(|c| {
            let state = consensus_type::State::try_from(c.state)
                .map(|s| s.as_str_name().to_owned())
                .unwrap_or_else(|_| c.state.to_string());
            json!({ "type": c.r#type, "state": state, "metadata_bytes": c.metadata.len() })
        }),
        "Capabilities" => Capabilities::decode(bytes).map(|c| {
            let mut names: Vec<_> = c.capabilities.keys().cloned().collect();
            names.sort();
            json!({ "capabilities": names })
        }),
        "HashingAlgorithm" => HashingAlgorithm::decode(bytes).map(|h| json!({ "name": h.name })),
        "BlockDataHashingStructure" => {
            BlockDataHashingStructure::decode(bytes).map(|h| json!({ "width": h.width }))
        }
        "OrdererAddresses" | "Endpoints" => {
            OrdererAddresses::decode(bytes).map(|a| json!({ "addresses": a.addresses }))
        }
        "AnchorPeers" => AnchorPeers::decode(bytes).map(|a| {
            let peers: Vec<_> = a
                .anchor_peers
                .iter()
                .map(|p| json!({ "host": p.host, "port": p.port }))
                .collect();
            json!({ "anchor_peers": peers })
        }),
        "ACLs" => fabric_proto::protos::AcLs::decode(bytes).map(|a| {
            let acls: serde_json::Map<String, Value> = a
                .acls
                .into_iter()
                .map(|(resource, r)| (resource, json!({ "policy_ref": r.policy_ref })))
                .collect();
            json!({ "acls": acls })
        }),
        "MSP" => MspConfig::decode(bytes).and_then(|m| {
            FabricMspConfig::decode(m.config.as_slice()).map(|f| {
                json!({
                    "type": m.r#type,
                    "name": f.name,
                    "root_certs": f.root_certs.len(),
                    "intermediate_certs": f.intermediate_certs.len(),
                    "tls_root_certs": f.tls_root_certs.len(),
                    "node_ous": f.fabric_node_ous.as_ref().is_some_and(|n| n.enable),
                })
            })
        }),
        _ => return json!({ "bytes": bytes.len() }),
    };
    decoded.unwrap_or_else(|e| json!({ "undecodable": e.to_string(), "bytes": bytes.len() }))
}

fn config_policy(p: &ConfigPolicy) -> Value {
    json!({
        "version": p.version,
        "mod_policy": p.mod_policy,
        "policy": p.policy.as_ref().map(|p| policy_text(p.r#type, &p.value)),
    })
}

/// `IMPLICIT_META: MAJORITY Admins`, `SIGNATURE: OR('Org1MSP.admin')`.
pub fn policy_text(kind: i32, value: &[u8]) -> String {
    match PolicyType::try_from(kind) {
        Ok(PolicyType::ImplicitMeta) => match ImplicitMetaPolicy::decode(value) {
            Ok(m) => {
                let rule = Rule::try_from(m.rule)
                    .map(|r| r.as_str_name().to_owned())
                    .unwrap_or_else(|_| m.rule.to_string());
                format!("IMPLICIT_META: {rule} {}", m.sub_policy)
            }
            Err(e) => format!("IMPLICIT_META (undecodable: {e})"),
        },
        Ok(PolicyType::Signature) => match SignaturePolicyEnvelope::decode(value) {
            Ok(env) => format!("SIGNATURE: {}", fabric_policy::to_string(&env)),
            Err(e) => format!("SIGNATURE (undecodable: {e})"),
        },
        _ => format!("type {kind} ({} bytes)", value.len()),
    }
}
