//! Checking orderer signatures and walking a chain of blocks.
//!
//! Signatures are checked as Raft orderers produce them: each
//! `MetadataSignature` names its signer in `signature_header.creator` (BFT's
//! `identifier_header` form is not supported). The signer must be a valid
//! identity of its MSP at the block's time, with the orderer NodeOU role when
//! that MSP classifies roles.

use crate::build::orderer_signed_bytes;
use crate::hash::{data_hash, header_hash};
use crate::BlockError;
use fabric_msp::{MspManager, Role};
use fabric_proto::common::{
    Block, BlockHeader, BlockMetadataIndex, ChannelHeader, Envelope, Metadata, Payload,
    SignatureHeader,
};
use prost::Message;

/// Verifies slot-0 orderer signatures against `msps` (the signer must be a valid orderer-org identity).
///
/// Certificates are checked at the block's time: the latest channel-header
/// timestamp among its transactions (the current time if none has one).
pub fn verify_block_signature(block: &Block, msps: &MspManager) -> Result<(), BlockError> {
    verify_block_signature_at(block, msps, block_time(block))
}

/// Like [`verify_block_signature`], checking certificate validity at unix time `at`.
pub fn verify_block_signature_at(
    block: &Block,
    msps: &MspManager,
    at: i64,
) -> Result<(), BlockError> {
    let header = block.header.as_ref().ok_or_else(|| BlockError::Malformed {
        what: "block",
        msg: "no header".into(),
    })?;
    let broken = |msg: String| BlockError::Broken {
        number: header.number,
        msg,
    };
    let metadata = signatures_metadata(block).map_err(broken)?;
    if metadata.signatures.is_empty() {
        return Err(broken("no orderer signature".into()));
    }
    for (i, ms) in metadata.signatures.iter().enumerate() {
        let sh = SignatureHeader::decode(ms.signature_header.as_slice())
            .map_err(|e| broken(format!("signature {i}: bad signature header: {e}")))?;
        let id = msps
            .validate_serialized(&sh.creator, at)
            .map_err(|e| broken(format!("signature {i}: signer: {e}")))?;
        let msp = msps
            .get(&id.mspid)
            .ok_or_else(|| broken(format!("signature {i}: unknown MSP {}", id.mspid)))?;
        if msp.node_ous.enabled && msp.role_of(&id) != Role::Orderer {
            return Err(broken(format!(
                "signature {i}: {} is not an orderer",
                id.subject_cn
            )));
        }
        let msg = orderer_signed_bytes(&metadata.value, &ms.signature_header, header);
        id.verify(&msg, &ms.signature)
            .map_err(|e| broken(format!("signature {i} by {}: {e}", id.subject_cn)))?;
    }
    Ok(())
}

/// The `Metadata` in slot SIGNATURES (an absent slot reads as empty metadata).
fn signatures_metadata(block: &Block) -> Result<Metadata, String> {
    let slot = block
        .metadata
        .as_ref()
        .and_then(|m| m.metadata.get(BlockMetadataIndex::Signatures as usize));
    match slot {
        None => Ok(Metadata::default()),
        Some(bytes) => {
            Metadata::decode(bytes.as_slice()).map_err(|e| format!("bad SIGNATURES metadata: {e}"))
        }
    }
}

/// The latest transaction timestamp of the block, or now.
fn block_time(block: &Block) -> i64 {
    let envelopes = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    envelopes
        .iter()
        .filter_map(|bytes| {
            let env = Envelope::decode(bytes.as_slice()).ok()?;
            let payload = Payload::decode(env.payload.as_slice()).ok()?;
            let ch = ChannelHeader::decode(payload.header?.channel_header.as_slice()).ok()?;
            Some(ch.timestamp?.seconds)
        })
        .max()
        .unwrap_or_else(now)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Result of walking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Number of blocks verified from 0 (the verified prefix stops at the first broken block).
    pub height: u64,
    /// Header hash of the last verified block (all zeros if none).
    pub tip_hash: [u8; 32],
    /// First block whose header hash link, data hash or orderer signature fails, with the reason.
    pub first_broken: Option<(u64, String)>,
}

/// Walks blocks from 0: checks data hashes, previous-hash links and orderer signatures (block 0 may be unsigned).
pub fn verify_chain<'a>(
    blocks: impl IntoIterator<Item = &'a Block>,
    msps: &MspManager,
) -> ChainReport {
    let mut report = ChainReport {
        height: 0,
        tip_hash: [0; 32],
        first_broken: None,
    };
    for (expected, block) in (0u64..).zip(blocks) {
        let previous = (expected > 0).then_some(report.tip_hash);
        match check_block(expected, block, previous, msps) {
            Ok(hash) => {
                report.height = expected + 1;
                report.tip_hash = hash;
            }
            Err(msg) => {
                report.first_broken = Some((expected, msg));
                break;
            }
        }
    }
    report
}

/// Checks one block in position `expected`; returns its header hash.
fn check_block(
    expected: u64,
    block: &Block,
    previous: Option<[u8; 32]>,
    msps: &MspManager,
) -> Result<[u8; 32], String> {
    let header: &BlockHeader = block.header.as_ref().ok_or("no header")?;
    if header.number != expected {
        return Err(format!("header says number {}", header.number));
    }
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or_default();
    if data_hash(data).as_slice() != header.data_hash.as_slice() {
        return Err("data hash does not match the block data".into());
    }
    if let Some(previous) = previous {
        if previous.as_slice() != header.previous_hash.as_slice() {
            return Err("previous hash does not match the header hash of the block before".into());
        }
    }
    let unsigned_genesis = expected == 0 && signatures_metadata(block)?.signatures.is_empty();
    if !unsigned_genesis {
        verify_block_signature(block, msps).map_err(|e| match e {
            BlockError::Broken { msg, .. } => msg,
            other => other.to_string(),
        })?;
    }
    Ok(header_hash(header))
}
