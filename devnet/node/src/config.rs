//! What the devnet runs.
//!
//! Owns: nothing of its own; the configuration types are
//! `healthblock_consortium::devnet_config`'s, shared with the process runner
//! that writes them, so neither needs the other's code.

pub use healthblock_consortium::devnet_config::{
    AdminListener, BatchSettings, DevnetConfig, DevnetConfigError, OrdererConfig, OrgConfig,
    PeerConfig, TlsFiles,
};
