//! An organisation's part of a channel config, as configtxgen writes it: its
//! verifying MSP (from an MSP directory: `cacerts/`, `tlscacerts/`, NodeOUs in
//! `config.yaml`), the standard role policies (Readers, Writers, Admins,
//! Endorsement, and optionally an Operators policy), anchor peers; and adding
//! such a group to the Application group of a config, or removing one.
//!
//! The building blocks (a value, a signature policy, a 1-of-roles policy) are
//! here too, so the genesis block and a config update build orgs one way.

use crate::{ConfigError, ROOT_GROUP};
use fabric_proto::common::{
    self, Config, ConfigGroup, ConfigPolicy, ConfigValue, SignaturePolicyEnvelope,
};
use fabric_proto::msp::{
    msp_role::MspRoleType, FabricCryptoConfig, FabricMspConfig, FabricNodeOUs, FabricOuIdentifier,
    MspConfig,
};
use fabric_proto::protos::{AnchorPeer, AnchorPeers};
use prost::Message;
use std::path::{Path, PathBuf};

/// The mod_policy configtxgen gives an org's values, policies and group.
pub const ADMINS: &str = "Admins";
const APPLICATION: &str = "Application";

/// Why an org's config could not be built or placed.
#[derive(Debug, thiserror::Error)]
pub enum OrgError {
    #[error("reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: cacerts/ holds no certificate")]
    NoCaCerts(PathBuf),
    #[error("NodeOUs in {path}: {message}")]
    NodeOus { path: PathBuf, message: String },
    #[error("endorsement policy {policy}: {message}")]
    Policy { policy: String, message: String },
    #[error("the channel already has an organisation {0}")]
    Exists(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A config value with configtxgen's mod_policy.
pub fn value(msg: impl Message) -> ConfigValue {
    ConfigValue {
        version: 0,
        value: msg.encode_to_vec(),
        mod_policy: ADMINS.into(),
    }
}

/// A config policy of `kind` with configtxgen's mod_policy.
pub fn policy(kind: common::policy::PolicyType, value: Vec<u8>) -> ConfigPolicy {
    ConfigPolicy {
        version: 0,
        policy: Some(common::Policy {
            r#type: kind as i32,
            value,
        }),
        mod_policy: ADMINS.into(),
    }
}

pub fn signature_policy(envelope: SignaturePolicyEnvelope) -> ConfigPolicy {
    policy(
        common::policy::PolicyType::Signature,
        envelope.encode_to_vec(),
    )
}

/// `OR` over the given roles of one MSP (1-of), as configtxgen writes org policies.
pub fn roles_policy(mspid: &str, roles: &[MspRoleType]) -> ConfigPolicy {
    let identities = roles
        .iter()
        .map(|role| fabric_proto::msp::MspPrincipal {
            principal_classification: fabric_proto::msp::msp_principal::Classification::Role as i32,
            principal: fabric_proto::msp::MspRole {
                msp_identifier: mspid.to_owned(),
                role: *role as i32,
            }
            .encode_to_vec(),
        })
        .collect();
    let rules = (0..roles.len() as i32)
        .map(|i| common::SignaturePolicy {
            r#type: Some(common::signature_policy::Type::SignedBy(i)),
        })
        .collect();
    signature_policy(SignaturePolicyEnvelope {
        version: 0,
        rule: Some(common::SignaturePolicy {
            r#type: Some(common::signature_policy::Type::NOutOf(
                common::signature_policy::NOutOf { n: 1, rules },
            )),
        }),
        identities,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, OrgError> {
    std::fs::read(path).map_err(|source| OrgError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The contents of every file in `dir` (sorted by name); none if the directory is absent.
fn pem_files(dir: &Path) -> Result<Vec<Vec<u8>>, OrgError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| OrgError::Io {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

fn load_node_ous(dir: &Path) -> Result<fabric_msp::NodeOus, OrgError> {
    let path = dir.join("config.yaml");
    if !path.is_file() {
        return Ok(fabric_msp::NodeOus::default());
    }
    let text = String::from_utf8_lossy(&read(&path)?).into_owned();
    fabric_msp::NodeOus::from_config_yaml(&text).map_err(|e| OrgError::NodeOus {
        path,
        message: e.to_string(),
    })
}

/// The verifying MSP config of an org, from its MSP directory (PEM files as configtxgen embeds them).
pub fn msp_config(mspid: &str, dir: &Path) -> Result<MspConfig, OrgError> {
    let root_certs = pem_files(&dir.join("cacerts"))?;
    if root_certs.is_empty() {
        return Err(OrgError::NoCaCerts(dir.to_owned()));
    }
    let node_ous = load_node_ous(dir)?;
    let ou = |name: &str| FabricOuIdentifier {
        certificate: root_certs[0].clone(),
        organizational_unit_identifier: name.to_owned(),
    };
    let fabric_node_ous = node_ous.enabled.then(|| FabricNodeOUs {
        enable: true,
        client_ou_identifier: Some(ou(&node_ous.client_ou)),
        peer_ou_identifier: Some(ou(&node_ous.peer_ou)),
        admin_ou_identifier: Some(ou(&node_ous.admin_ou)),
        orderer_ou_identifier: Some(ou(&node_ous.orderer_ou)),
    });
    let config = FabricMspConfig {
        name: mspid.to_owned(),
        root_certs: root_certs.clone(),
        intermediate_certs: pem_files(&dir.join("intermediatecerts"))?,
        tls_root_certs: pem_files(&dir.join("tlscacerts"))?,
        tls_intermediate_certs: pem_files(&dir.join("tlsintermediatecerts"))?,
        crypto_config: Some(FabricCryptoConfig {
            signature_hash_family: "SHA2".into(),
            identity_identifier_hash_function: "SHA256".into(),
        }),
        fabric_node_ous,
        ..Default::default()
    };
    Ok(MspConfig {
        r#type: 0,
        config: config.encode_to_vec(),
    })
}

/// What an application organisation's group is made of.
#[derive(Debug, Clone)]
pub struct ApplicationOrg<'a> {
    pub mspid: &'a str,
    /// Its verifying MSP directory (public certificates only).
    pub msp_dir: &'a Path,
    pub anchor_peers: &'a [(String, u16)],
    /// The name of an extra `OR(admin, peer)` policy (the channel ACLs' Operators), if any.
    pub operators_policy: Option<&'a str>,
    /// Its Endorsement sub-policy, e.g. `OR('Org1MSP.peer')`.
    pub endorsement_policy: &'a str,
}

/// The org's group, as configtxgen writes an Application organisation.
pub fn application_org_group(org: &ApplicationOrg<'_>) -> Result<ConfigGroup, OrgError> {
    let mut group = ConfigGroup {
        mod_policy: ADMINS.into(),
        ..Default::default()
    };
    group
        .values
        .insert("MSP".into(), value(msp_config(org.mspid, org.msp_dir)?));
    if !org.anchor_peers.is_empty() {
        let anchor_peers = AnchorPeers {
            anchor_peers: org
                .anchor_peers
                .iter()
                .map(|(host, port)| AnchorPeer {
                    host: host.clone(),
                    port: i32::from(*port),
                })
                .collect(),
        };
        group
            .values
            .insert("AnchorPeers".into(), value(anchor_peers));
    }
    let id = org.mspid;
    group
        .policies
        .insert(ADMINS.into(), roles_policy(id, &[MspRoleType::Admin]));
    group.policies.insert(
        "Readers".into(),
        roles_policy(
            id,
            &[MspRoleType::Admin, MspRoleType::Peer, MspRoleType::Client],
        ),
    );
    group.policies.insert(
        "Writers".into(),
        roles_policy(id, &[MspRoleType::Admin, MspRoleType::Client]),
    );
    if let Some(name) = org.operators_policy {
        group.policies.insert(
            name.into(),
            roles_policy(id, &[MspRoleType::Admin, MspRoleType::Peer]),
        );
    }
    let endorsement =
        fabric_policy::parse(org.endorsement_policy).map_err(|e| OrgError::Policy {
            policy: org.endorsement_policy.to_owned(),
            message: e.to_string(),
        })?;
    group
        .policies
        .insert("Endorsement".into(), signature_policy(endorsement));
    Ok(group)
}

fn application_mut(config: &mut Config) -> Result<&mut ConfigGroup, ConfigError> {
    config
        .channel_group
        .as_mut()
        .and_then(|g| g.groups.get_mut(APPLICATION))
        .ok_or_else(|| ConfigError::Missing(format!("/{ROOT_GROUP}/{APPLICATION}")))
}

/// `config` with `group` added as the Application organisation `name`.
pub fn with_application_org(
    config: &Config,
    name: &str,
    group: ConfigGroup,
) -> Result<Config, OrgError> {
    let mut out = config.clone();
    let application = application_mut(&mut out)?;
    if application.groups.contains_key(name) {
        return Err(OrgError::Exists(name.to_owned()));
    }
    application.groups.insert(name.to_owned(), group);
    Ok(out)
}

/// `config` without the Application organisation `name`.
pub fn without_application_org(config: &Config, name: &str) -> Result<Config, ConfigError> {
    let mut out = config.clone();
    application_mut(&mut out)?
        .groups
        .remove(name)
        .ok_or_else(|| ConfigError::Missing(format!("/{ROOT_GROUP}/{APPLICATION}/{name}")))?;
    Ok(out)
}

/// The MSP id an org group's `MSP` value names (the group's own name may differ).
pub fn org_mspid(group: &ConfigGroup) -> Option<String> {
    let value = group.values.get("MSP")?;
    let config = MspConfig::decode(value.value.as_slice()).ok()?;
    let fabric = fabric_proto::msp::FabricMspConfig::decode(config.config.as_slice()).ok()?;
    Some(fabric.name)
}
