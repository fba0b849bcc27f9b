//! Fabric channel configuration transactions.
//!
//! Owns: the channel's access control lists ([`acl`]), an organisation's
//! anchor peers ([`anchor_peers`]) and its whole group ([`org`]); reading the configuration out of a config block ([`block`]); the
//! flattened view of a config tree Fabric's configtx works on (`[Group]  /Channel/...`
//! keys, [`map`]); computing a `ConfigUpdate` from an original and an updated
//! config with the semantics of `configtxlator compute_update` ([`compute`]);
//! config signatures and the CONFIG_UPDATE / CONFIG envelopes ([`sign`]);
//! validating an update against the current config (read set, versions,
//! mod_policy evaluation with implicit-meta and signature policies) into the next
//! config ([`validate`], [`policy`]); the channel's MSPs as the config defines them
//! ([`msps`]); the orderer's batch parameters in a config ([`batch`]); and a
//! readable JSON view of a config ([`describe`]).
//!
//! Knows nothing of networks or of what the channel is used for.

pub mod acl;
pub mod anchor_peers;
pub mod batch;
pub mod block;
pub mod compute;
pub mod describe;
pub mod genesis;
pub mod map;
pub mod msps;
pub mod org;
pub mod policy;
pub mod sign;
pub mod validate;

pub use batch::{BatchParams, BatchUpdate};
pub use block::{
    config_block_in_force, config_envelope_from_block, config_from_block, last_config_index,
};
pub use compute::compute_update;
pub use msps::msp_manager;
pub use sign::{config_tx, config_update_tx, sign_config_update};
pub use validate::{propose_update, AuthorizeError, ConfigTxError};

/// The name of the root group in Fabric's configtx paths.
pub const ROOT_GROUP: &str = "Channel";

/// A config tree that cannot be read for what was asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("config block: {0}")]
    Block(String),
    #[error("config has no {0}")]
    Missing(String),
    #[error("malformed {what}: {msg}")]
    Malformed { what: String, msg: String },
    #[error("invalid batch parameters: {0}")]
    Batch(String),
}
