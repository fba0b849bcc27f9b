//! The devnet's run configuration: what the devnet runs, derived from the
//! consortium and the layout, written as JSON for the `healthblock-devnet`
//! process and read back by it.
//!
//! Owns: the configuration types (plain data: names, addresses, Fabric-layout
//! MSP and TLS paths), reading them from JSON, and mapping orgs, peers and the
//! solo orderer (the consortium's first orderer) onto them. They live here,
//! not in the devnet, so that whoever only needs the layout (clients, the
//! process runner) does not pull in the devnet itself.

use crate::consortium::Consortium;
use crate::layout::Layout;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A node's TLS server material (PEM files).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The TLS CA that issued `cert` (what clients trust).
    pub ca: PathBuf,
}

/// One application organisation of the channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgConfig {
    pub mspid: String,
    /// The org's verifying MSP directory (cacerts/, tlscacerts/, config.yaml).
    pub msp_dir: PathBuf,
    /// The org's own `Endorsement` sub-policy, e.g. `OR('Hospital1MSP.peer')`.
    pub endorsement_policy: String,
}

/// One peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerConfig {
    /// e.g. `peer0.hospital1.example.com`
    pub name: String,
    pub mspid: String,
    /// host:port to listen on (serves Gateway, Deliver, Endorser).
    pub listen: String,
    /// The peer's own signing MSP directory (signcerts/, keystore/).
    pub msp_dir: PathBuf,
    pub tls: TlsFiles,
    /// The peer's CCaaS builder configuration (Fabric's
    /// `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`), rendered into packages'
    /// `connection.json` templates such as `{{.peername}}`.
    #[serde(default)]
    pub ccaas_builder_config: fabric_package::ccaas_template::BuilderConfig,
}

/// The solo orderer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrdererConfig {
    pub name: String,
    pub mspid: String,
    /// Verifying MSP of the orderer org.
    pub org_msp_dir: PathBuf,
    /// The orderer's own signing MSP directory.
    pub msp_dir: PathBuf,
    pub listen: String,
    pub tls: TlsFiles,
    /// The channel participation API (what `osnadmin` calls), if served.
    #[serde(default)]
    pub admin: Option<AdminListener>,
}

/// The orderer's admin listener: HTTPS with the orderer's TLS certificate that
/// accepts only clients whose TLS certificate the given CA issued (Fabric's
/// `Admin.TLS.ClientAuthRequired` with `ClientRootCAs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminListener {
    pub listen: String,
    /// PEM of the CA that issues admin clients' TLS certificates (the orderer org's TLS CA).
    pub client_ca: PathBuf,
}

/// Orderer batch settings of the channel.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BatchSettings {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_message_count: u32,
    pub absolute_max_bytes: u32,
    pub preferred_max_bytes: u32,
}

/// Everything the devnet needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetConfig {
    pub channel: String,
    /// Where each peer's ledger and installed packages live (one subdirectory per peer).
    pub data_dir: PathBuf,
    pub batch: BatchSettings,
    /// /Channel/Application/Endorsement, e.g. `MAJORITY Endorsement`.
    pub endorsement_policy: String,
    /// /Channel/Application/LifecycleEndorsement, e.g. `MAJORITY Endorsement`.
    pub lifecycle_policy: String,
    /// /Channel/Application/ACLs: resource to policy path.
    #[serde(default)]
    pub acls: std::collections::BTreeMap<String, String>,
    pub orgs: Vec<OrgConfig>,
    pub peers: Vec<PeerConfig>,
    pub orderer: OrdererConfig,
    /// The control socket `network stop|start --node` talks to (see `devnet_control`).
    #[serde(default)]
    pub control_socket: Option<PathBuf>,
}

/// A devnet configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DevnetConfigError {
    #[error("cannot read devnet config {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad devnet config {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl DevnetConfig {
    /// Reads a configuration written by [`devnet_config`] (as JSON).
    pub fn from_json_file(path: &Path) -> Result<Self, DevnetConfigError> {
        let bytes = std::fs::read(path).map_err(|source| DevnetConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| DevnetConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

/// What the devnet process runs for this consortium.
pub fn devnet_config(c: &Consortium, layout: &Layout) -> DevnetConfig {
    let orgs = (c.orgs.iter())
        .map(|org| OrgConfig {
            mspid: org.mspid.clone(),
            msp_dir: layout.org_msp_dir(org),
            endorsement_policy: format!("OR('{}.peer')", org.mspid),
        })
        .collect();
    let peers = (c.orgs.iter())
        .flat_map(|org| org.peers.iter().map(move |p| (org, p)))
        .map(|(org, p)| PeerConfig {
            name: org.fqdn(p),
            mspid: org.mspid.clone(),
            listen: c.address(p.ports.listen),
            msp_dir: layout.peer_msp_dir(org, p),
            tls: server_tls(&layout.peer_tls_dir(org, p)),
            ccaas_builder_config: org.ccaas_builder_config(p),
        })
        .collect();
    let oo = &c.orderer_org;
    let solo = oo.solo();
    DevnetConfig {
        channel: c.channel.clone(),
        data_dir: layout.devnet_data_dir(),
        batch: BatchSettings {
            timeout: c.batch.timeout,
            max_message_count: c.batch.max_message_count,
            absolute_max_bytes: c.batch.absolute_max_bytes,
            preferred_max_bytes: c.batch.preferred_max_bytes,
        },
        endorsement_policy: c.policies.endorsement.clone(),
        lifecycle_policy: c.policies.lifecycle_endorsement.clone(),
        acls: c.policies.acls.clone(),
        orgs,
        peers,
        orderer: OrdererConfig {
            name: oo.fqdn(solo),
            mspid: oo.mspid.clone(),
            org_msp_dir: layout.orderer_org_msp_dir(oo),
            msp_dir: layout.orderer_msp_dir(oo, solo),
            listen: c.address(solo.ports.listen),
            tls: server_tls(&layout.orderer_tls_dir(oo, solo)),
            admin: Some(AdminListener {
                listen: c.address(solo.ports.admin),
                client_ca: layout.orderer_admin_tls_dir(oo).join("ca.crt"),
            }),
        },
        control_socket: Some(layout.devnet_data_dir().join("control.sock")),
    }
}

fn server_tls(tls_dir: &Path) -> TlsFiles {
    TlsFiles {
        cert: tls_dir.join("server.crt"),
        key: tls_dir.join("server.key"),
        ca: tls_dir.join("ca.crt"),
    }
}
