//! Blocks and transactions in Fabric's format.
//!
//! Owns: the block header hash (SHA-256 of the ASN.1 DER of number,
//! previous hash, data hash), the data hash, the orderer's metadata
//! signature, txid derivation, the range-query Merkle summary of read sets,
//! decoding an endorser transaction envelope into its parts, and verifying a
//! chain from block 0.

mod build;
mod decode;
mod hash;
mod range;
mod verify;

pub use build::{new_block, orderer_signed_bytes, sign_block, METADATA_SLOTS};
pub use decode::{decode, decode_envelope, DecodedAction, DecodedTx};
pub use hash::{compute_txid, data_hash, header_der, header_hash};
pub use range::{merkle_summary, RangeResults, RANGE_MAX_DEGREE};
pub use verify::{verify_block_signature, verify_block_signature_at, verify_chain, ChainReport};

/// Decoding or verification failure.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("malformed {what}: {msg}")]
    Malformed { what: &'static str, msg: String },
    #[error("block {number}: {msg}")]
    Broken { number: u64, msg: String },
}
