//! Assembling blocks and signing them as the orderer.
//!
//! The orderer's signature lives in metadata slot SIGNATURES as a
//! `common.Metadata`: `value` is an `OrdererBlockMetadata` (last config
//! index), and each `MetadataSignature` signs
//! `value || signature_header || header_der`, binding the metadata to the
//! header without being part of the header hash.

use crate::hash::{data_hash, header_der};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{
    Block, BlockData, BlockHeader, BlockMetadata, BlockMetadataIndex, LastConfig, Metadata,
    MetadataSignature, OrdererBlockMetadata, SignatureHeader,
};
use prost::Message;
use rand_core::{OsRng, RngCore};

/// Number of metadata slots Fabric blocks carry (SIGNATURES .. COMMIT_HASH).
pub const METADATA_SLOTS: usize = 5;

/// Length of the random nonce in the orderer's signature header, as Fabric uses.
const NONCE_LEN: usize = 24;

/// Builds a block (header, data, metadata slots 0..=4 empty) on top of `previous_hash`.
pub fn new_block(number: u64, previous_hash: &[u8], envelopes: Vec<Vec<u8>>) -> Block {
    let header = BlockHeader {
        number,
        previous_hash: previous_hash.to_vec(),
        data_hash: data_hash(&envelopes).to_vec(),
    };
    Block {
        header: Some(header),
        data: Some(BlockData { data: envelopes }),
        metadata: Some(BlockMetadata {
            metadata: vec![Vec::new(); METADATA_SLOTS],
        }),
    }
}

/// The bytes an orderer signs for `header`: `value || signature_header || header_der`.
pub fn orderer_signed_bytes(
    value: &[u8],
    signature_header: &[u8],
    header: &BlockHeader,
) -> Vec<u8> {
    let der = header_der(header.number, &header.previous_hash, &header.data_hash);
    [value, signature_header, der.as_slice()].concat()
}

/// Signs the block header as the orderer: fills metadata slot SIGNATURES with
/// `Metadata{value: OrdererBlockMetadata{last_config}, signatures:[..]}`.
pub fn sign_block(block: &mut Block, orderer: &SigningIdentity, last_config: u64) {
    let header = block.header.clone().unwrap_or_default();
    let value = OrdererBlockMetadata {
        last_config: Some(LastConfig { index: last_config }),
        consenter_metadata: Vec::new(),
    }
    .encode_to_vec();
    let mut nonce = vec![0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let signature_header = SignatureHeader {
        creator: orderer.serialize(),
        nonce,
    }
    .encode_to_vec();
    let signature = orderer.sign(&orderer_signed_bytes(&value, &signature_header, &header));
    let metadata = Metadata {
        value,
        signatures: vec![MetadataSignature {
            signature_header,
            signature,
            identifier_header: Vec::new(),
        }],
    };
    let slots = &mut block.metadata.get_or_insert_with(Default::default).metadata;
    if slots.len() < METADATA_SLOTS {
        slots.resize(METADATA_SLOTS, Vec::new());
    }
    slots[BlockMetadataIndex::Signatures as usize] = metadata.encode_to_vec();
}
