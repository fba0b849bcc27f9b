//! Where a network's files live under its home directory.
//!
//! Owns: the one place that names paths under `HEALTHBLOCK_HOME` (default
//! `<cwd>/.healthblock`): identity material (cryptogen layout), the devnet's
//! data, config and log, pid files, chaincode packages and the wallet.
//!
//! ```text
//! <home>/crypto/{peer,orderer}Organizations/...   identity material
//! <home>/devnet/config.json, <home>/devnet/data/   devnet config and ledgers
//! <home>/fabric/{configtx,channel,builders}/       native Fabric: configtx.yaml, genesis block, CCaaS builder
//! <home>/fabric/{orderers,peers}/<fqdn>/            native Fabric: each node's ledgers
//! <home>/logs/devnet.log                            process logs
//! <home>/run/devnet.pid                             pid files
//! <home>/chaincode/                                 chaincode packages
//! <home>/wallet/                                    client identities
//! ```

use crate::consortium::{OrdererNode, OrdererOrg, PeerNode, PeerOrg};
use std::path::{Path, PathBuf};

/// The environment variable naming the home directory.
pub const HOME_ENV: &str = "HEALTHBLOCK_HOME";
/// The home directory's name under the current directory when [`HOME_ENV`] is unset.
pub const DEFAULT_HOME_DIR: &str = ".healthblock";

/// File name of a private key in a keystore or CA folder (cryptogen's name).
pub const KEY_FILE: &str = "priv_sk";

/// cryptogen's certificate file name: `<name>-cert.pem`.
pub fn cert_file(name: &str) -> String {
    format!("{name}-cert.pem")
}

/// Paths of one network's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    home: PathBuf,
}

impl Layout {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self { home: home.into() }
    }

    /// `$HEALTHBLOCK_HOME`, or `<cwd>/.healthblock` when it is unset or empty.
    pub fn from_env() -> std::io::Result<Self> {
        match std::env::var_os(HOME_ENV) {
            Some(home) if !home.is_empty() => Ok(Self::new(home)),
            _ => Ok(Self::new(std::env::current_dir()?.join(DEFAULT_HOME_DIR))),
        }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Root of the identity material (cryptogen's output directory).
    pub fn crypto_dir(&self) -> PathBuf {
        self.home.join("crypto")
    }

    /// `crypto/peerOrganizations/<domain>`.
    pub fn org_dir(&self, org: &PeerOrg) -> PathBuf {
        self.crypto_dir()
            .join("peerOrganizations")
            .join(&org.domain)
    }

    /// The org's verifying MSP (`cacerts/`, `tlscacerts/`, `config.yaml`).
    pub fn org_msp_dir(&self, org: &PeerOrg) -> PathBuf {
        self.org_dir(org).join("msp")
    }

    /// The org's TLS CA certificate (what clients of its peers trust).
    pub fn org_tls_ca_cert(&self, org: &PeerOrg) -> PathBuf {
        let name = format!("tlsca.{}-cert.pem", org.domain);
        self.org_msp_dir(org).join("tlscacerts").join(name)
    }

    pub fn peer_dir(&self, org: &PeerOrg, peer: &PeerNode) -> PathBuf {
        self.org_dir(org).join("peers").join(org.fqdn(peer))
    }

    pub fn peer_msp_dir(&self, org: &PeerOrg, peer: &PeerNode) -> PathBuf {
        self.peer_dir(org, peer).join("msp")
    }

    pub fn peer_tls_dir(&self, org: &PeerOrg, peer: &PeerNode) -> PathBuf {
        self.peer_dir(org, peer).join("tls")
    }

    /// `users/<user>@<domain>` of an application org, e.g. user `Admin` or `User1`.
    pub fn user_dir(&self, org: &PeerOrg, user: &str) -> PathBuf {
        let name = format!("{user}@{}", org.domain);
        self.org_dir(org).join("users").join(name)
    }

    pub fn admin_msp_dir(&self, org: &PeerOrg) -> PathBuf {
        self.user_dir(org, "Admin").join("msp")
    }

    pub fn user_msp_dir(&self, org: &PeerOrg, user: &str) -> PathBuf {
        self.user_dir(org, user).join("msp")
    }

    pub fn user_tls_dir(&self, org: &PeerOrg, user: &str) -> PathBuf {
        self.user_dir(org, user).join("tls")
    }

    /// `crypto/ordererOrganizations/<domain>`.
    pub fn orderer_org_dir(&self, org: &OrdererOrg) -> PathBuf {
        self.crypto_dir()
            .join("ordererOrganizations")
            .join(&org.domain)
    }

    pub fn orderer_org_msp_dir(&self, org: &OrdererOrg) -> PathBuf {
        self.orderer_org_dir(org).join("msp")
    }

    pub fn orderer_dir(&self, org: &OrdererOrg, node: &OrdererNode) -> PathBuf {
        self.orderer_org_dir(org)
            .join("orderers")
            .join(org.fqdn(node))
    }

    pub fn orderer_msp_dir(&self, org: &OrdererOrg, node: &OrdererNode) -> PathBuf {
        self.orderer_dir(org, node).join("msp")
    }

    pub fn orderer_tls_dir(&self, org: &OrdererOrg, node: &OrdererNode) -> PathBuf {
        self.orderer_dir(org, node).join("tls")
    }

    pub fn orderer_admin_msp_dir(&self, org: &OrdererOrg) -> PathBuf {
        let name = format!("Admin@{}", org.domain);
        self.orderer_org_dir(org)
            .join("users")
            .join(name)
            .join("msp")
    }

    pub fn devnet_dir(&self) -> PathBuf {
        self.home.join("devnet")
    }

    /// Ledgers and installed packages of the devnet's peers.
    pub fn devnet_data_dir(&self) -> PathBuf {
        self.devnet_dir().join("data")
    }

    /// The JSON config handed to the devnet process.
    pub fn devnet_config_file(&self) -> PathBuf {
        self.devnet_dir().join("config.json")
    }

    /// The admin of the orderer org's TLS material (its client certificate authenticates
    /// to the orderers' channel participation API).
    pub fn orderer_admin_tls_dir(&self, org: &OrdererOrg) -> PathBuf {
        let name = format!("Admin@{}", org.domain);
        self.orderer_org_dir(org)
            .join("users")
            .join(name)
            .join("tls")
    }

    /// State of the native Fabric backend.
    pub fn fabric_dir(&self) -> PathBuf {
        self.home.join("fabric")
    }

    /// Where the generated `configtx.yaml` lives (configtxgen's `-configPath`).
    pub fn fabric_configtx_dir(&self) -> PathBuf {
        self.fabric_dir().join("configtx")
    }

    /// The channel's genesis (config) block, made once by configtxgen.
    pub fn fabric_genesis_block(&self, channel: &str) -> PathBuf {
        self.fabric_dir()
            .join("channel")
            .join(format!("{channel}.block"))
    }

    /// The chaincode-as-a-service external builder (`bin/{detect,build,release}`).
    pub fn fabric_builder_dir(&self) -> PathBuf {
        self.fabric_dir().join("builders").join("ccaas")
    }

    /// Ledger, Raft WAL and snapshots of one orderer.
    pub fn fabric_orderer_data_dir(&self, org: &OrdererOrg, node: &OrdererNode) -> PathBuf {
        self.fabric_dir().join("orderers").join(org.fqdn(node))
    }

    /// File system path (ledgers, installed packages) of one peer.
    pub fn fabric_peer_data_dir(&self, org: &PeerOrg, peer: &PeerNode) -> PathBuf {
        self.fabric_dir().join("peers").join(org.fqdn(peer))
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    pub fn devnet_log(&self) -> PathBuf {
        self.logs_dir().join("devnet.log")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.home.join("run")
    }

    /// Pid file of a background process, e.g. `pid_file("devnet")`.
    pub fn pid_file(&self, process: &str) -> PathBuf {
        self.run_dir().join(format!("{process}.pid"))
    }

    pub fn devnet_pid_file(&self) -> PathBuf {
        self.pid_file("devnet")
    }

    /// Chaincode packages (`.tgz`) built for installation.
    pub fn chaincode_dir(&self) -> PathBuf {
        self.home.join("chaincode")
    }

    /// Client identities of the CLI.
    pub fn wallet_dir(&self) -> PathBuf {
        self.home.join("wallet")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consortium::PeerPorts;

    fn org() -> PeerOrg {
        PeerOrg {
            name: "Hospital1".into(),
            mspid: "Hospital1MSP".into(),
            domain: "hospital1.healthblock.test".into(),
            ca_port: 7010,
            custodian_port: 7018,
            peers: vec![PeerNode {
                name: "peer0".into(),
                ports: PeerPorts {
                    listen: 7011,
                    chaincode: 7012,
                    operations: 7013,
                },
            }],
        }
    }

    #[test]
    fn paths_follow_cryptogen_layout() {
        let l = Layout::new("/h");
        let org = org();
        let peer = &org.peers[0];
        assert_eq!(
            l.peer_msp_dir(&org, peer),
            Path::new("/h/crypto/peerOrganizations/hospital1.healthblock.test/peers/peer0.hospital1.healthblock.test/msp")
        );
        assert_eq!(
            l.admin_msp_dir(&org),
            Path::new("/h/crypto/peerOrganizations/hospital1.healthblock.test/users/Admin@hospital1.healthblock.test/msp")
        );
        assert_eq!(
            l.org_tls_ca_cert(&org),
            Path::new("/h/crypto/peerOrganizations/hospital1.healthblock.test/msp/tlscacerts/tlsca.hospital1.healthblock.test-cert.pem")
        );
        assert_eq!(l.devnet_pid_file(), Path::new("/h/run/devnet.pid"));
        assert_eq!(l.devnet_log(), Path::new("/h/logs/devnet.log"));
        assert_eq!(l.devnet_data_dir(), Path::new("/h/devnet/data"));
        assert_eq!(
            l.fabric_peer_data_dir(&org, peer),
            Path::new("/h/fabric/peers/peer0.hospital1.healthblock.test")
        );
        assert_eq!(
            l.fabric_genesis_block("ehr"),
            Path::new("/h/fabric/channel/ehr.block")
        );
    }
}
