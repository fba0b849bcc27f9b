//! What the devnet runs: produced by the `network` crate from the consortium
//! description, readable from JSON so `healthblock network up` can hand it to a
//! background process. Paths point at Fabric-layout MSP and TLS directories.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
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
    pub ccaas_builder_config: devnet_endorser::ccaas_template::BuilderConfig,
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
    pub orgs: Vec<OrgConfig>,
    pub peers: Vec<PeerConfig>,
    pub orderer: OrdererConfig,
}

impl DevnetConfig {
    pub fn from_json_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read devnet config {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("bad devnet config {}: {e}", path.display()))
    }
}
