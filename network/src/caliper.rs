//! Hyperledger Caliper's view of a running network.
//!
//! Owns: generating, from the network that runs under a home directory (either
//! backend), Caliper's Fabric network configuration (format version "2.0.0")
//! and one common connection profile per hospital: every hospital, every one
//! of its peers (gateway address, TLS CA, `ssl-target-name-override`) and the
//! client identities Caliper signs with, named by role (`admin`, `doctor`).
//! Identities are referenced by the paths of their certificate and private
//! key: nothing here reads or copies a private key. Caliper's Peer Gateway
//! connector (`@hyperledger/fabric-gateway`) connects each identity to the
//! first peer of its organisation's profile; the other peers are listed for
//! completeness and for connectors that use them.

use crate::consortium::{Backend, Consortium, PeerOrg};
use crate::layout::{cert_file, Layout, KEY_FILE};
use crate::running::running_backend;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Errors while generating or writing Caliper's configuration.
#[derive(Debug, thiserror::Error)]
pub enum CaliperError {
    #[error("no network runs under {home}: start it with `healthblock network up` (or `make demo`) first")]
    NotRunning { home: PathBuf },
    #[error("{what} is missing at {path}")]
    Missing { what: String, path: PathBuf },
    #[error("{org} has no identity with the {role} role: {hint}")]
    NoIdentity {
        org: String,
        role: String,
        hint: String,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path}: {message}")]
    Encode { path: PathBuf, message: String },
}

/// A client identity Caliper signs with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaliperIdentity {
    /// The organisation's name, e.g. `Hospital1`.
    pub org: String,
    /// The name workloads invoke it by (`invokerIdentity`), e.g. `doctor`.
    pub name: String,
    /// Who it is, as the CLI's `--as` names it, e.g. `house-17@Hospital1`.
    pub user: String,
    /// PEM certificate.
    pub cert: PathBuf,
    /// PEM private key (referenced, never read here).
    pub key: PathBuf,
}

/// The hospital's cryptogen administrator (`Admin@<domain>`, `OU=admin`, so the
/// EHR contract sees the `admin` role), named `admin`.
pub fn admin_identity(layout: &Layout, org: &PeerOrg) -> CaliperIdentity {
    let msp = layout.admin_msp_dir(org);
    CaliperIdentity {
        org: org.name.clone(),
        name: "admin".to_owned(),
        user: format!("Admin@{}", org.name),
        cert: msp
            .join("signcerts")
            .join(cert_file(&format!("Admin@{}", org.domain))),
        key: msp.join("keystore").join(KEY_FILE),
    }
}

/// One hospital's part of the configuration.
#[derive(Debug, Clone, Serialize)]
pub struct OrgProfile {
    pub org: String,
    pub mspid: String,
    /// File name of its connection profile in the output directory.
    pub file: String,
    /// The connection profile (JSON).
    pub profile: Value,
}

/// Everything `write` puts in the output directory.
#[derive(Debug, Clone, Serialize)]
pub struct CaliperConfig {
    /// The backend whose processes run (read back from them, not from the description).
    pub backend: Backend,
    pub channel: String,
    pub contracts: Vec<String>,
    pub identities: Vec<CaliperIdentity>,
    pub profiles: Vec<OrgProfile>,
}

/// File names in the output directory.
pub const NETWORK_FILE: &str = "networkconfig.yaml";
/// What HealthBlock's workloads read: backend, channel, hospitals and identity names.
pub const META_FILE: &str = "healthblock.json";

/// The configuration for the network running under `layout`, with `identities`
/// (at least the roles in `required_roles` for every hospital, by name) and the
/// contracts `contracts` on the consortium's channel.
pub fn generate(
    consortium: &Consortium,
    layout: &Layout,
    identities: &[CaliperIdentity],
    required_roles: &[&str],
    contracts: &[String],
) -> Result<CaliperConfig, CaliperError> {
    let backend = running_backend(consortium, layout).ok_or_else(|| CaliperError::NotRunning {
        home: layout.home().to_path_buf(),
    })?;
    for id in identities {
        for (what, path) in [("certificate", &id.cert), ("private key", &id.key)] {
            if !path.is_file() {
                return Err(CaliperError::Missing {
                    what: format!("the {what} of {}", id.user),
                    path: path.clone(),
                });
            }
        }
    }
    let mut profiles = Vec::new();
    for org in &consortium.orgs {
        for role in required_roles {
            if !identities
                .iter()
                .any(|i| i.org == org.name && i.name == *role)
            {
                return Err(CaliperError::NoIdentity {
                    org: org.name.clone(),
                    role: (*role).to_owned(),
                    hint: format!(
                        "enroll one with `healthblock user register --org {0} --name NAME --role {role}` \
                         and `healthblock user enroll --org {0} --name NAME --secret S`",
                        org.name
                    ),
                });
            }
        }
        profiles.push(OrgProfile {
            org: org.name.clone(),
            mspid: org.mspid.clone(),
            file: format!("connection-{}.json", org.name.to_ascii_lowercase()),
            profile: connection_profile(consortium, layout, org)?,
        });
    }
    Ok(CaliperConfig {
        backend,
        channel: consortium.channel.clone(),
        contracts: contracts.to_vec(),
        identities: identities.to_vec(),
        profiles,
    })
}

/// A common connection profile of one hospital: its peers with their gateway
/// URLs, TLS CA and TLS server name, and their roles on the channel.
fn connection_profile(
    consortium: &Consortium,
    layout: &Layout,
    org: &PeerOrg,
) -> Result<Value, CaliperError> {
    let tls_ca = layout.org_tls_ca_cert(org);
    if !tls_ca.is_file() {
        return Err(CaliperError::Missing {
            what: format!("the TLS CA certificate of {}", org.name),
            path: tls_ca,
        });
    }
    let mut peers = serde_json::Map::new();
    let mut channel_peers = serde_json::Map::new();
    for peer in &org.peers {
        let name = org.fqdn(peer);
        peers.insert(
            name.clone(),
            json!({
                "url": format!("grpcs://{}", consortium.address(peer.ports.listen)),
                "tlsCACerts": { "path": tls_ca },
                "grpcOptions": { "ssl-target-name-override": name },
            }),
        );
        channel_peers.insert(
            name,
            json!({ "endorsingPeer": true, "chaincodeQuery": true, "ledgerQuery": true, "eventSource": true }),
        );
    }
    let names: Vec<&String> = peers.keys().collect();
    Ok(json!({
        "name": format!("{}-{}", consortium.name, org.name.to_ascii_lowercase()),
        "version": "1.0.0",
        "client": { "organization": org.name },
        "organizations": { org.name.clone(): { "mspid": org.mspid, "peers": names } },
        "peers": peers,
        "channels": { consortium.channel.clone(): { "peers": channel_peers } },
    }))
}

impl CaliperConfig {
    /// Caliper's network configuration, with the profiles expected in `dir`.
    pub fn network_config(&self, dir: &Path) -> Value {
        let organizations: Vec<Value> = self
            .profiles
            .iter()
            .map(|p| {
                let certificates: Vec<Value> = self
                    .identities
                    .iter()
                    .filter(|i| i.org == p.org)
                    .map(|i| {
                        json!({
                            "name": i.name,
                            "clientSignedCert": { "path": i.cert },
                            "clientPrivateKey": { "path": i.key },
                        })
                    })
                    .collect();
                json!({
                    "mspid": p.mspid,
                    "identities": { "certificates": certificates },
                    "connectionProfile": { "path": dir.join(&p.file), "discover": false },
                })
            })
            .collect();
        let contracts: Vec<Value> = self.contracts.iter().map(|c| json!({ "id": c })).collect();
        json!({
            "name": format!("healthblock-{}", self.backend),
            "version": "2.0.0",
            "caliper": { "blockchain": "fabric", "sutOptions": { "mutualTls": false } },
            "channels": [ { "channelName": self.channel, "contracts": contracts } ],
            "organizations": organizations,
        })
    }

    /// What the workloads read: the backend, the channel, the hospitals in
    /// order and which identity names each has.
    pub fn meta(&self) -> Value {
        let orgs: Vec<Value> = self
            .profiles
            .iter()
            .map(|p| {
                let ids: Vec<&str> = self
                    .identities
                    .iter()
                    .filter(|i| i.org == p.org)
                    .map(|i| i.name.as_str())
                    .collect();
                json!({ "org": p.org, "mspid": p.mspid, "identities": ids })
            })
            .collect();
        json!({
            "backend": self.backend,
            "channel": self.channel,
            "contracts": self.contracts,
            "orgs": orgs,
            "identities": self.identities,
        })
    }

    /// Writes the network configuration, the profiles and the metadata into
    /// `dir` (created if missing); returns the files written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, CaliperError> {
        std::fs::create_dir_all(dir).map_err(|source| CaliperError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut written = Vec::new();
        let network = dir.join(NETWORK_FILE);
        let yaml =
            serde_yaml::to_string(&self.network_config(dir)).map_err(|e| CaliperError::Encode {
                path: network.clone(),
                message: e.to_string(),
            })?;
        write_file(&network, yaml.as_bytes())?;
        written.push(network);
        for p in &self.profiles {
            let path = dir.join(&p.file);
            write_file(&path, &pretty(&path, &p.profile)?)?;
            written.push(path);
        }
        let meta = dir.join(META_FILE);
        write_file(&meta, &pretty(&meta, &self.meta())?)?;
        written.push(meta);
        Ok(written)
    }
}

fn pretty(path: &Path, value: &Value) -> Result<Vec<u8>, CaliperError> {
    serde_json::to_vec_pretty(value).map_err(|e| CaliperError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CaliperError> {
    std::fs::write(path, bytes).map_err(|source| CaliperError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consortium() -> Consortium {
        crate::test_support::description()
    }

    fn config(c: &Consortium, layout: &Layout) -> CaliperConfig {
        let identities: Vec<_> = c.orgs.iter().map(|o| admin_identity(layout, o)).collect();
        let profiles = c
            .orgs
            .iter()
            .map(|o| OrgProfile {
                org: o.name.clone(),
                mspid: o.mspid.clone(),
                file: format!("connection-{}.json", o.name.to_ascii_lowercase()),
                profile: connection_profile(c, layout, o).unwrap_or(Value::Null),
            })
            .collect();
        CaliperConfig {
            backend: Backend::Devnet,
            channel: c.channel.clone(),
            contracts: vec!["kv".into(), "ehr".into()],
            identities,
            profiles,
        }
    }

    #[test]
    fn nothing_running_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let c = consortium();
        let err =
            generate(&c, &layout, &[], &["admin"], &["kv".into()]).expect_err("no network runs");
        assert!(matches!(err, CaliperError::NotRunning { .. }), "{err}");
    }

    #[test]
    fn profiles_name_every_peer_with_its_tls_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let c = consortium();
        for org in &c.orgs {
            let ca = layout.org_tls_ca_cert(org);
            std::fs::create_dir_all(ca.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").expect("write");
        }
        let cfg = config(&c, &layout);
        for (org, p) in c.orgs.iter().zip(&cfg.profiles) {
            assert_eq!(p.profile["client"]["organization"], org.name.as_str());
            let listed = p.profile["organizations"][&org.name]["peers"]
                .as_array()
                .expect("a peer list");
            assert_eq!(listed.len(), org.peers.len());
            for peer in &org.peers {
                let entry = &p.profile["peers"][org.fqdn(peer)];
                assert_eq!(
                    entry["url"],
                    format!("grpcs://{}:{}", c.host, peer.ports.listen).as_str()
                );
                assert_eq!(
                    entry["grpcOptions"]["ssl-target-name-override"],
                    org.fqdn(peer).as_str()
                );
                assert_eq!(
                    entry["tlsCACerts"]["path"],
                    layout.org_tls_ca_cert(org).to_str().expect("utf-8")
                );
            }
        }
        let out = dir.path().join("caliper");
        let network = cfg.network_config(&out);
        assert_eq!(network["version"], "2.0.0");
        assert_eq!(network["caliper"]["blockchain"], "fabric");
        assert_eq!(network["channels"][0]["channelName"], c.channel.as_str());
        let orgs = network["organizations"].as_array().expect("orgs");
        assert_eq!(orgs.len(), c.orgs.len());
        let first = &orgs[0]["identities"]["certificates"][0];
        assert_eq!(first["name"], "admin");
        assert!(first["clientPrivateKey"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("keystore/priv_sk")));
        let written = cfg.write(&out).expect("writes");
        assert_eq!(written.len(), c.orgs.len() + 2);
        let text = std::fs::read_to_string(out.join(NETWORK_FILE)).expect("read");
        let back: Value = serde_yaml::from_str(&text).expect("valid YAML");
        assert_eq!(back, network);
    }
}
