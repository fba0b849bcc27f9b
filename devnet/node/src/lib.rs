//! The devnet: every peer of a consortium plus a solo orderer in one process,
//! each serving Fabric's own gRPC services over its own TLS listener.

pub mod config;

pub use config::{BatchSettings, DevnetConfig, OrdererConfig, OrgConfig, PeerConfig, TlsFiles};
