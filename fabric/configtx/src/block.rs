//! The configuration held by a config block, and the LAST_CONFIG index every block carries.
//!
//! Facts from Fabric: a config block holds exactly one envelope whose channel header
//! type is CONFIG (1) and whose payload data is a `ConfigEnvelope`; the orderer
//! writes `OrdererBlockMetadata{last_config}` as the value of the SIGNATURES
//! metadata slot (index 0) of every block (the LAST_CONFIG slot itself is unused
//! since v2).

use crate::ConfigError;
use fabric_proto::common::{
    Block, BlockMetadataIndex, ChannelHeader, Config, ConfigEnvelope, Envelope, HeaderType,
    Metadata, OrdererBlockMetadata, Payload,
};
use prost::Message;

fn malformed(what: &str, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Malformed {
        what: what.to_owned(),
        msg: e.to_string(),
    }
}

/// The `ConfigEnvelope` of a config block (its one CONFIG transaction).
pub fn config_envelope_from_block(block: &Block) -> Result<ConfigEnvelope, ConfigError> {
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    let [env] = data else {
        return Err(ConfigError::Block(format!(
            "a config block holds one transaction, this one holds {}",
            data.len()
        )));
    };
    let env = Envelope::decode(env.as_slice()).map_err(|e| malformed("envelope", e))?;
    let payload = Payload::decode(env.payload.as_slice()).map_err(|e| malformed("payload", e))?;
    let header = payload
        .header
        .as_ref()
        .ok_or_else(|| ConfigError::Missing("payload header".into()))?;
    let chdr = ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| malformed("channel header", e))?;
    if chdr.r#type != HeaderType::Config as i32 {
        return Err(ConfigError::Block(format!(
            "the transaction is of header type {}, not CONFIG",
            chdr.r#type
        )));
    }
    ConfigEnvelope::decode(payload.data.as_slice()).map_err(|e| malformed("config envelope", e))
}

/// The channel configuration in a config block.
pub fn config_from_block(block: &Block) -> Result<Config, ConfigError> {
    config_envelope_from_block(block)?
        .config
        .ok_or_else(|| ConfigError::Missing("config in the config envelope".into()))
}

/// The LAST_CONFIG index of a block: the number of the newest config block at or before it.
pub fn last_config_index(block: &Block) -> Result<u64, ConfigError> {
    let slot = block
        .metadata
        .as_ref()
        .and_then(|m| m.metadata.get(BlockMetadataIndex::Signatures as usize))
        .ok_or_else(|| ConfigError::Missing("SIGNATURES metadata".into()))?;
    let metadata = Metadata::decode(slot.as_slice()).map_err(|e| malformed("metadata", e))?;
    let value = OrdererBlockMetadata::decode(metadata.value.as_slice())
        .map_err(|e| malformed("orderer block metadata", e))?;
    value
        .last_config
        .map(|l| l.index)
        .ok_or_else(|| ConfigError::Missing("LAST_CONFIG in the orderer block metadata".into()))
}

/// The config block in force at block `tip_number` of a chain: the tip itself or
/// the block its LAST_CONFIG names. `read` fetches a block; `bad_block` turns an
/// unreadable LAST_CONFIG into the caller's error, with the block's number.
pub fn config_block_in_force<E>(
    tip_number: u64,
    mut read: impl FnMut(u64) -> Result<Block, E>,
    bad_block: impl Fn(u64, ConfigError) -> E,
) -> Result<(u64, Block), E> {
    let tip = read(tip_number)?;
    let index = last_config_index(&tip).map_err(|e| bad_block(tip_number, e))?;
    if index == tip_number {
        Ok((index, tip))
    } else {
        Ok((index, read(index)?))
    }
}
