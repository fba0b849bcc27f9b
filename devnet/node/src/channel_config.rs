//! The channel configuration as the devnet's orderer and peers hold it: loaded
//! from the newest config block of a chain (so a restart keeps every update),
//! config updates proposed against it with Fabric's configtx rules and texts,
//! and the config transactions of later blocks checked on the peers.
//!
//! Owns: turning a CONFIG_UPDATE envelope into the next config (or Fabric's
//! refusal: status and message), the batch settings a config puts in force,
//! and checking that a CONFIG transaction is the result of its own last update.

use crate::auth::unix_now;
use devnet_ledger::{BatchConfig, Ledger};
use fabric_configtx::batch::batch_params;
use fabric_configtx::sign::config_update_of;
use fabric_proto::common::{Block, Config, ConfigEnvelope, Envelope, Status};
use prost::Message;

/// The config in force and the number of the block that carried it.
#[derive(Debug, Clone)]
pub(crate) struct ChannelConfig {
    pub config: Config,
    pub block: u64,
    pub batch: BatchConfig,
}

/// Why a config could not be loaded from a chain.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("reading the chain: {0}")]
    Ledger(#[from] devnet_ledger::LedgerError),
    #[error("the chain has no block {0}")]
    MissingBlock(u64),
    #[error("block {block}: {source}")]
    Config {
        block: u64,
        #[source]
        source: fabric_configtx::ConfigError,
    },
}

impl ChannelConfig {
    /// The config of the newest config block of `chain` (the LAST_CONFIG of its tip).
    pub(crate) fn load(chain: &Ledger) -> Result<Self, LoadError> {
        let height = chain.try_height()?;
        let tip_number = height.checked_sub(1).ok_or(LoadError::MissingBlock(0))?;
        let (index, block) = fabric_configtx::config_block_in_force(
            tip_number,
            |n| read(chain, n),
            |block, source| LoadError::Config { block, source },
        )?;
        let config =
            fabric_configtx::config_from_block(&block).map_err(|source| LoadError::Config {
                block: index,
                source,
            })?;
        Self::new(config, index).map_err(|source| LoadError::Config {
            block: index,
            source,
        })
    }

    /// The config carried by block `number` of `chain` (a config block).
    pub(crate) fn of_block(chain: &Ledger, number: u64) -> Result<Self, LoadError> {
        let block = read(chain, number)?;
        let config = |source| LoadError::Config {
            block: number,
            source,
        };
        Self::new(
            fabric_configtx::config_from_block(&block).map_err(config)?,
            number,
        )
        .map_err(config)
    }

    pub(crate) fn new(config: Config, block: u64) -> Result<Self, fabric_configtx::ConfigError> {
        let p = batch_params(&config)?;
        Ok(Self {
            config,
            block,
            batch: BatchConfig {
                max_message_count: p.max_message_count,
                absolute_max_bytes: p.absolute_max_bytes,
                preferred_max_bytes: p.preferred_max_bytes,
                batch_timeout: p.timeout,
            },
        })
    }

    pub(crate) fn sequence(&self) -> u64 {
        self.config.sequence
    }
}

pub(crate) use fabric_configtx::acl::check_acl;

fn read(chain: &Ledger, number: u64) -> Result<Block, LoadError> {
    chain
        .try_block(number)?
        .ok_or(LoadError::MissingBlock(number))
}

/// Fabric's `ProposeConfigUpdate` on an existing channel: the next config, or the
/// orderer's answer (status and message, Fabric's words) to the broadcast.
pub(crate) fn propose(
    current: &Config,
    channel: &str,
    update: &Envelope,
) -> Result<ConfigEnvelope, (Status, String)> {
    let applying = |e: String| {
        (
            Status::BadRequest,
            format!("error applying config update to existing channel '{channel}': {e}"),
        )
    };
    let (_, update_env) = config_update_of(update)
        .map_err(|e| applying(format!("error converting envelope to config update: {e}")))?;
    let msps = fabric_configtx::msp_manager(current).map_err(|e| applying(e.to_string()))?;
    let next = fabric_configtx::propose_update(current, channel, &update_env, &msps, unix_now())
        .map_err(|e| applying(e.to_string()))?;
    check_bundle(&next).map_err(applying)?;
    Ok(ConfigEnvelope {
        config: Some(next),
        last_update: Some(update.clone()),
    })
}

/// What Fabric checks when it builds the new config's bundle, as far as the devnet
/// uses the config: the batch parameters must be readable and consistent.
fn check_bundle(config: &Config) -> Result<(), String> {
    let group = |e: String| {
        format!("initializing channelconfig failed: could not create channel Orderer sub-group config: {e}")
    };
    let params = batch_params(config).map_err(|e| group(e.to_string()))?;
    params.check().map_err(|e| match e {
        fabric_configtx::ConfigError::Batch(m) => group(m),
        other => group(other.to_string()),
    })
}

/// Fabric's `Validate` of a CONFIG transaction on a committing peer: the config is
/// at the next sequence and is exactly what its last update produces from `current`.
pub(crate) fn check_config_tx(
    current: &Config,
    channel: &str,
    config_envelope: &ConfigEnvelope,
) -> Result<Config, String> {
    let config = config_envelope
        .config
        .as_ref()
        .ok_or("config envelope has nil config")?;
    if config.sequence != current.sequence + 1 {
        return Err(format!(
            "config currently at sequence {}, cannot validate config at sequence {}",
            current.sequence, config.sequence
        ));
    }
    let update = config_envelope
        .last_update
        .as_ref()
        .ok_or("config envelope has no last update")?;
    let produced = propose(current, channel, update).map_err(|(_, m)| m)?;
    let produced = produced.config.unwrap_or_default();
    // Compare decoded trees: map order in the encoding is not canonical.
    if produced.channel_group != config.channel_group {
        return Err("ConfigEnvelope LastUpdate did not produce the supplied config result".into());
    }
    Ok(config.clone())
}

/// The CONFIG envelope of `block` if it is a config block.
pub(crate) fn config_envelope(block: &Block) -> Option<ConfigEnvelope> {
    fabric_configtx::config_envelope_from_block(block).ok()
}

/// The serialized size Fabric's size filter compares.
pub(crate) fn size(env: &Envelope) -> usize {
    env.encoded_len()
}
