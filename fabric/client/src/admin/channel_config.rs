//! A channel's configuration, read and changed as Fabric's tools do.
//!
//! Owns: the chain info of a channel (height, current and previous block hash:
//! the values qscc's GetChainInfo reports, read from the orderer's newest
//! block); fetching the config in force (newest block → its LAST_CONFIG → that
//! config block, as `peer channel fetch config`); and changing the batch
//! parameters through a config update: compute the update from the current
//! config (`configtxlator compute_update` semantics), collect the signatures
//! the mod_policy needs, submit the CONFIG_UPDATE envelope to the orderer's
//! Broadcast, and wait until the orderer has cut the config block.

use super::Orderer;
use crate::block_events::{newest, specified};
use crate::error::{Error, Result};
pub use fabric_configtx::acl::with_acl;
pub use fabric_configtx::anchor_peers::{anchor_peers, with_anchor_peers};
pub use fabric_configtx::batch::{batch_params, with_batch_params};
pub use fabric_configtx::compute_update;
pub use fabric_configtx::org::{
    application_org_group, with_application_org, without_application_org, ApplicationOrg,
};
use fabric_configtx::sign::signed_update;
pub use fabric_configtx::{BatchParams, BatchUpdate};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{Block, Config, ConfigUpdate, Envelope};
use std::time::Duration;

pub use fabric_configtx::batch::{go_duration, parse_go_duration};
pub use fabric_configtx::describe::describe;

/// How long [`update_batch`] waits for the config block after the orderer accepted the update.
const CONFIG_BLOCK_WAIT: Duration = Duration::from_secs(60);

/// The chain info of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainInfo {
    pub height: u64,
    pub current_block_hash: Vec<u8>,
    pub previous_block_hash: Vec<u8>,
}

/// The config in force and the block that carried it.
#[derive(Debug, Clone)]
pub struct CurrentConfig {
    pub block: u64,
    pub config: Config,
}

/// What a batch update did.
#[derive(Debug, Clone)]
pub struct BatchUpdated {
    pub before: BatchParams,
    pub after: BatchParams,
    /// The config block the orderer cut for the update.
    pub config_block: u64,
    /// The config sequence after the update.
    pub sequence: u64,
    /// False when the parameters already had the asked values (nothing was submitted).
    pub changed: bool,
}

fn number(block: &Block) -> Result<u64> {
    block
        .header
        .as_ref()
        .map(|h| h.number)
        .ok_or_else(|| Error::malformed("block", "no header"))
}

/// Height and the hashes of the newest block, from the orderer.
pub async fn chain_info(
    orderer: &Orderer,
    reader: &SigningIdentity,
    channel: &str,
) -> Result<ChainInfo> {
    let tip = orderer.fetch_block(reader, channel, newest()).await?;
    let header = tip
        .header
        .as_ref()
        .ok_or_else(|| Error::malformed("block", "no header"))?;
    Ok(ChainInfo {
        height: header.number + 1,
        current_block_hash: fabric_block::header_hash(header).to_vec(),
        previous_block_hash: header.previous_hash.clone(),
    })
}

/// The config in force: the newest block's LAST_CONFIG block, decoded.
pub async fn current_config(
    orderer: &Orderer,
    reader: &SigningIdentity,
    channel: &str,
) -> Result<CurrentConfig> {
    let tip = orderer.fetch_block(reader, channel, newest()).await?;
    let index = fabric_configtx::last_config_index(&tip)?;
    let block = if number(&tip)? == index {
        tip
    } else {
        orderer
            .fetch_block(reader, channel, specified(index))
            .await?
    };
    Ok(CurrentConfig {
        block: index,
        config: fabric_configtx::config_from_block(&block)?,
    })
}

/// The update that sets the batch parameters of `config` to `params`.
pub fn batch_config_update(config: &Config, params: &BatchParams) -> Result<ConfigUpdate> {
    params.check()?;
    let updated = with_batch_params(config, params)?;
    Ok(fabric_configtx::compute_update(config, &updated)?)
}

/// The CONFIG_UPDATE envelope for `update`, signed by each of `signers` and submitted by `submitter`.
pub fn config_update_envelope(
    channel: &str,
    update: ConfigUpdate,
    signers: &[&SigningIdentity],
    submitter: &SigningIdentity,
) -> Envelope {
    let signed = signed_update(channel, update, signers);
    fabric_configtx::config_update_tx(submitter, channel, &signed)
}

/// Changes the channel's batch parameters: reads the config in force, computes the
/// update, has `signers` sign it, submits it as `signers[0]` and waits for the config block.
/// Parameters that already have the asked values are left alone (no update is sent).
pub async fn update_batch(
    orderer: &Orderer,
    channel: &str,
    signers: &[&SigningIdentity],
    change: &BatchUpdate,
) -> Result<BatchUpdated> {
    let submitter = *signers
        .first()
        .ok_or_else(|| Error::InvalidArgument("a config update needs a signer".into()))?;
    let current = current_config(orderer, submitter, channel).await?;
    let before = batch_params(&current.config)?;
    let after = before.with(change);
    if after == before {
        return Ok(BatchUpdated {
            before,
            after,
            config_block: current.block,
            sequence: current.config.sequence,
            changed: false,
        });
    }
    let update = batch_config_update(&current.config, &after)?;
    let envelope = config_update_envelope(channel, update, signers, submitter);
    orderer.broadcast("config update", envelope).await?;
    let config_block = wait_for_config_after(orderer, submitter, channel, current.block).await?;
    let now = current_config(orderer, submitter, channel).await?;
    Ok(BatchUpdated {
        before,
        after: batch_params(&now.config)?,
        config_block,
        sequence: now.config.sequence,
        changed: true,
    })
}

/// Waits until the orderer's newest block names a config block after `previous`.
pub async fn wait_for_config_after(
    orderer: &Orderer,
    reader: &SigningIdentity,
    channel: &str,
    previous: u64,
) -> Result<u64> {
    let deadline = tokio::time::Instant::now() + CONFIG_BLOCK_WAIT;
    loop {
        let tip = orderer.fetch_block(reader, channel, newest()).await?;
        let index = fabric_configtx::last_config_index(&tip)?;
        if index > previous {
            return Ok(index);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Timeout {
                stage: crate::error::Stage::Deliver,
                after: CONFIG_BLOCK_WAIT,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
