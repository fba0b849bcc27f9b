//! Why a devnet could not start.
//!
//! Owns: the typed start-up failures of [`crate::Devnet::start`], each naming
//! the file, address or policy at fault and keeping its cause (`source()`),
//! so a caller can tell a taken port from a missing MSP without reading text.

use std::path::PathBuf;

/// A start-up failure of the devnet.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("loading MSP {mspid} from {dir}")]
    Msp {
        mspid: String,
        dir: PathBuf,
        #[source]
        source: fabric_msp::MspError,
    },
    #[error("loading the identity of {node} from {dir}")]
    Identity {
        node: String,
        dir: PathBuf,
        #[source]
        source: fabric_msp::MspError,
    },
    #[error("{what} {policy}")]
    Policy {
        what: String,
        policy: String,
        #[source]
        source: fabric_policy::PolicyError,
    },
    #[error("creating {0}")]
    CreateDir(PathBuf, #[source] std::io::Error),
    #[error("opening ledger {path}")]
    OpenLedger {
        path: PathBuf,
        #[source]
        source: devnet_ledger::LedgerError,
    },
    #[error("reading the orderer's chain")]
    ReadChain(#[source] devnet_ledger::LedgerError),
    #[error("building the genesis block")]
    Genesis(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("writing the genesis block")]
    WriteGenesis(#[source] devnet_ledger::LedgerError),
    #[error("reading the channel config from the orderer's chain")]
    ChannelConfig(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot listen on {address}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bad listen address {address}")]
    Address {
        address: String,
        #[source]
        source: std::net::AddrParseError,
    },
    #[error("reading TLS {what} {path}")]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid TLS configuration")]
    Tls(#[source] tonic::transport::Error),
    #[error("invalid TLS configuration of the orderer's admin listener: {0}")]
    AdminTls(String),
}
