//! The channel's `configtx.yaml` and its genesis block.
//!
//! Owns: rendering configtxgen's input from the consortium description (one
//! profile for the application channel: every hospital with signature
//! policies like Fabric's test network and its first peer as anchor peer, the
//! orderer org with its endpoints, etcdraft over all orderers, the batch
//! settings and the channel's endorsement policies), and running
//! `configtxgen -outputBlock` once.

use super::install::FabricInstall;
use super::FabricError;
use crate::consortium::{Consortium, OrdererOrg, PeerOrg, OPERATORS_POLICY};
use crate::fsutil::{self, IoError};
use crate::layout::Layout;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The profile name in the generated file.
pub const PROFILE: &str = "HealthBlockChannel";

/// One policy as configtxgen reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    #[serde(rename = "Type")]
    pub kind: String,
    pub rule: String,
}

type Policies = BTreeMap<String, Policy>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AnchorPeer {
    pub host: String,
    pub port: u16,
}

/// An organisation section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Organization {
    pub name: String,
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "MSPDir")]
    pub msp_dir: PathBuf,
    pub policies: Policies,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anchor_peers: Vec<AnchorPeer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orderer_endpoints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consenter {
    pub host: String,
    pub port: u16,
    #[serde(rename = "ClientTLSCert")]
    pub client_tls_cert: PathBuf,
    #[serde(rename = "ServerTLSCert")]
    pub server_tls_cert: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EtcdRaft {
    pub consenters: Vec<Consenter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchSize {
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrdererSection {
    pub orderer_type: String,
    /// configtxgen's duration syntax, e.g. `250ms`.
    pub batch_timeout: String,
    pub batch_size: BatchSize,
    pub etcd_raft: EtcdRaft,
    pub organizations: Vec<Organization>,
    pub policies: Policies,
    pub capabilities: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationSection {
    pub organizations: Vec<Organization>,
    pub policies: Policies,
    pub capabilities: BTreeMap<String, bool>,
    /// Resource to policy path (`/Channel/Application/ACLs`).
    #[serde(rename = "ACLs", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub acls: BTreeMap<String, String>,
}

/// The channel profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Profile {
    pub policies: Policies,
    pub capabilities: BTreeMap<String, bool>,
    pub orderer: OrdererSection,
    pub application: ApplicationSection,
}

/// The whole file: configtxgen needs only `Profiles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigTx {
    pub profiles: BTreeMap<String, Profile>,
}

fn policy(kind: &str, rule: impl Into<String>) -> Policy {
    Policy {
        kind: kind.to_owned(),
        rule: rule.into(),
    }
}

fn signature(rule: String) -> Policy {
    policy("Signature", rule)
}

fn implicit_meta(rule: &str) -> Policy {
    policy("ImplicitMeta", rule)
}

/// A policy written in the description: `MAJORITY Endorsement`-style rules are implicit
/// meta policies, anything else (`OR('A.peer', ...)`, `OutOf(...)`) a signature policy.
pub fn description_policy(rule: &str) -> Policy {
    let rule = rule.trim();
    let meta = ["ANY ", "ALL ", "MAJORITY "]
        .iter()
        .any(|p| rule.starts_with(p));
    if meta {
        implicit_meta(rule)
    } else {
        signature(rule.to_owned())
    }
}

fn policies(entries: impl IntoIterator<Item = (&'static str, Policy)>) -> Policies {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn capability(name: &str) -> BTreeMap<String, bool> {
    BTreeMap::from([(name.to_owned(), true)])
}

/// A hospital: members read, admins and clients write, admins administer, peers endorse.
fn application_org(c: &Consortium, layout: &Layout, org: &PeerOrg) -> Organization {
    let mut organization = application_org_base(c, layout, org);
    // The ACLs come with the policy they point at: the org's peers and admins.
    if !c.policies.acls.is_empty() {
        let id = &org.mspid;
        organization.policies.insert(
            OPERATORS_POLICY.into(),
            signature(format!("OR('{id}.admin', '{id}.peer')")),
        );
    }
    organization
}

fn application_org_base(c: &Consortium, layout: &Layout, org: &PeerOrg) -> Organization {
    let id = &org.mspid;
    let anchor = org.peers.first().map(|p| AnchorPeer {
        host: c.host.clone(),
        port: p.ports.listen,
    });
    Organization {
        name: id.clone(),
        id: id.clone(),
        msp_dir: layout.org_msp_dir(org),
        policies: policies([
            (
                "Readers",
                signature(format!("OR('{id}.admin', '{id}.peer', '{id}.client')")),
            ),
            (
                "Writers",
                signature(format!("OR('{id}.admin', '{id}.client')")),
            ),
            ("Admins", signature(format!("OR('{id}.admin')"))),
            ("Endorsement", signature(format!("OR('{id}.peer')"))),
        ]),
        anchor_peers: anchor.into_iter().collect(),
        orderer_endpoints: Vec::new(),
    }
}

fn orderer_org(c: &Consortium, layout: &Layout, org: &OrdererOrg) -> Organization {
    let id = &org.mspid;
    Organization {
        name: id.clone(),
        id: id.clone(),
        msp_dir: layout.orderer_org_msp_dir(org),
        policies: policies([
            ("Readers", signature(format!("OR('{id}.member')"))),
            ("Writers", signature(format!("OR('{id}.member')"))),
            ("Admins", signature(format!("OR('{id}.admin')"))),
        ]),
        anchor_peers: Vec::new(),
        orderer_endpoints: org
            .orderers
            .iter()
            .map(|o| c.address(o.ports.listen))
            .collect(),
    }
}

fn standard_policies() -> Policies {
    policies([
        ("Readers", implicit_meta("ANY Readers")),
        ("Writers", implicit_meta("ANY Writers")),
        ("Admins", implicit_meta("MAJORITY Admins")),
    ])
}

/// configtxgen's duration syntax (Go's `time.ParseDuration`).
fn go_duration(d: std::time::Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

/// The configtx.yaml content for the consortium's channel.
pub fn render(c: &Consortium, layout: &Layout) -> ConfigTx {
    let oo = &c.orderer_org;
    let consenters = oo
        .orderers
        .iter()
        .map(|o| {
            let cert = layout.orderer_tls_dir(oo, o).join("server.crt");
            Consenter {
                host: c.host.clone(),
                port: o.ports.listen,
                client_tls_cert: cert.clone(),
                server_tls_cert: cert,
            }
        })
        .collect();
    let mut orderer_policies = standard_policies();
    orderer_policies.insert("BlockValidation".into(), implicit_meta("ANY Writers"));
    let mut app_policies = standard_policies();
    app_policies.insert(
        "Endorsement".into(),
        description_policy(&c.policies.endorsement),
    );
    app_policies.insert(
        "LifecycleEndorsement".into(),
        description_policy(&c.policies.lifecycle_endorsement),
    );
    if !c.policies.acls.is_empty() {
        app_policies.insert(
            OPERATORS_POLICY.into(),
            implicit_meta(&format!("ANY {OPERATORS_POLICY}")),
        );
    }
    let profile = Profile {
        policies: standard_policies(),
        capabilities: capability("V3_0"),
        orderer: OrdererSection {
            orderer_type: "etcdraft".into(),
            batch_timeout: go_duration(c.batch.timeout),
            batch_size: BatchSize {
                max_message_count: c.batch.max_message_count,
                absolute_max_bytes: c.batch.absolute_max_bytes,
                preferred_max_bytes: c.batch.preferred_max_bytes,
            },
            etcd_raft: EtcdRaft { consenters },
            organizations: vec![orderer_org(c, layout, oo)],
            policies: orderer_policies,
            capabilities: capability("V2_0"),
        },
        application: ApplicationSection {
            organizations: c
                .orgs
                .iter()
                .map(|o| application_org(c, layout, o))
                .collect(),
            policies: app_policies,
            capabilities: capability("V2_5"),
            acls: c.policies.acls.clone(),
        },
    };
    ConfigTx {
        profiles: BTreeMap::from([(PROFILE.to_owned(), profile)]),
    }
}

/// Writes `configtx.yaml` and, unless the genesis block exists already (a restart keeps the
/// channel it joined), runs configtxgen. Returns the genesis block's path.
pub fn ensure_genesis_block(
    c: &Consortium,
    layout: &Layout,
    install: &FabricInstall,
) -> Result<PathBuf, FabricError> {
    let block = layout.fabric_genesis_block(&c.channel);
    if block.exists() {
        return Ok(block);
    }
    let dir = layout.fabric_configtx_dir();
    fsutil::create_dir(&dir)?;
    let yaml = serde_yaml::to_string(&render(c, layout))
        .map_err(|e| FabricError::Config(format!("configtx.yaml: {e}")))?;
    let file = dir.join("configtx.yaml");
    std::fs::write(&file, yaml).map_err(|e| IoError::new(&file, e))?;
    if let Some(parent) = block.parent() {
        fsutil::create_dir(parent)?;
    }
    run_configtxgen(install, &dir, &c.channel, &block)?;
    Ok(block)
}

fn run_configtxgen(
    install: &FabricInstall,
    config_dir: &Path,
    channel: &str,
    block: &Path,
) -> Result<(), FabricError> {
    let binary = install.binary("configtxgen");
    let output = Command::new(&binary)
        .arg("-configPath")
        .arg(config_dir)
        .args(["-profile", PROFILE, "-channelID", channel, "-outputBlock"])
        .arg(block)
        .output()
        .map_err(|source| FabricError::Spawn {
            binary: binary.clone(),
            source,
        })?;
    if output.status.success() && block.exists() {
        return Ok(());
    }
    let _ = std::fs::remove_file(block);
    Err(FabricError::Configtxgen {
        status: output.status.to_string(),
        output: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consortium() -> Consortium {
        crate::test_support::description()
    }

    #[test]
    fn rendering_parses_back_with_every_section() {
        let c = consortium();
        let layout = Layout::new("/h");
        let yaml = serde_yaml::to_string(&render(&c, &layout)).unwrap();
        let back: ConfigTx = serde_yaml::from_str(&yaml).unwrap();
        let p = &back.profiles[PROFILE];
        assert_eq!(p.capabilities, capability("V3_0"));
        assert_eq!(p.orderer.capabilities, capability("V2_0"));
        assert_eq!(p.application.capabilities, capability("V2_5"));

        let o = &p.orderer;
        assert_eq!(o.orderer_type, "etcdraft");
        assert_eq!(o.batch_timeout, "250ms");
        assert_eq!(o.batch_size.max_message_count, 100);
        assert_eq!(o.batch_size.preferred_max_bytes, 524288);
        assert_eq!(o.etcd_raft.consenters.len(), 3);
        let first = &o.etcd_raft.consenters[0];
        assert_eq!((first.host.as_str(), first.port), ("127.0.0.1", 7050));
        assert_eq!(
            first.server_tls_cert,
            Path::new("/h/crypto/ordererOrganizations/orderer.healthblock.test/orderers/orderer0.orderer.healthblock.test/tls/server.crt")
        );
        assert_eq!(first.client_tls_cert, first.server_tls_cert);
        let oorg = &o.organizations[0];
        assert_eq!(oorg.id, "OrdererMSP");
        assert_eq!(
            oorg.orderer_endpoints,
            ["127.0.0.1:7050", "127.0.0.1:7055", "127.0.0.1:7060"]
        );
        assert_eq!(o.policies["BlockValidation"], implicit_meta("ANY Writers"));

        let app = &p.application;
        assert_eq!(app.organizations.len(), 3);
        let h1 = &app.organizations[0];
        assert!(h1.msp_dir.is_absolute());
        assert_eq!(
            h1.anchor_peers,
            [AnchorPeer {
                host: "127.0.0.1".into(),
                port: 7011
            }]
        );
        assert_eq!(
            h1.policies["Endorsement"],
            signature("OR('Hospital1MSP.peer')".into())
        );
        assert_eq!(
            h1.policies["Readers"].rule,
            "OR('Hospital1MSP.admin', 'Hospital1MSP.peer', 'Hospital1MSP.client')"
        );
        assert_eq!(
            app.policies["Endorsement"],
            implicit_meta("MAJORITY Endorsement")
        );
        assert_eq!(
            app.policies["LifecycleEndorsement"],
            implicit_meta("ALL Endorsement")
        );
    }

    #[test]
    fn yaml_uses_configtxgen_key_names() {
        let yaml = serde_yaml::to_string(&render(&consortium(), &Layout::new("/h"))).unwrap();
        for key in [
            "Profiles:",
            "MSPDir:",
            "ID: Hospital1MSP",
            "AnchorPeers:",
            "OrdererEndpoints:",
            "EtcdRaft:",
            "ClientTLSCert:",
            "ServerTLSCert:",
            "BatchTimeout: 250ms",
            "MaxMessageCount: 100",
            "LifecycleEndorsement:",
            "Type: ImplicitMeta",
        ] {
            assert!(yaml.contains(key), "{key} missing in\n{yaml}");
        }
    }

    #[test]
    fn policies_and_durations() {
        assert_eq!(
            description_policy("OR('A.peer', 'B.peer')"),
            signature("OR('A.peer', 'B.peer')".into())
        );
        assert_eq!(
            description_policy(" ANY Endorsement"),
            implicit_meta("ANY Endorsement")
        );
        assert_eq!(go_duration(std::time::Duration::from_secs(2)), "2s");
        assert_eq!(
            go_duration(std::time::Duration::from_millis(1500)),
            "1500ms"
        );
    }
}
