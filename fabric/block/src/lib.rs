//! Blocks and transactions in Fabric's format.
//!
//! Owns: the block header hash (SHA-256 of the ASN.1 DER of number,
//! previous hash, data hash), the data hash, the orderer's metadata
//! signature, txid derivation, decoding an endorser transaction envelope
//! into its parts, and verifying a chain from block 0.

use fabric_msp::{MspManager, SigningIdentity};
use fabric_proto::common::{Block, Envelope};

/// Decoding or verification failure.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("malformed {what}: {msg}")]
    Malformed { what: &'static str, msg: String },
    #[error("block {number}: {msg}")]
    Broken { number: u64, msg: String },
}

/// ASN.1 DER of SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }.
pub fn header_der(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Vec<u8> {
    let _ = (number, previous_hash, data_hash);
    todo!()
}

/// SHA-256 of `header_der`.
pub fn header_hash(header: &fabric_proto::common::BlockHeader) -> [u8; 32] {
    let _ = header;
    todo!()
}

/// SHA-256 of the concatenated envelope bytes.
pub fn data_hash(data: &[Vec<u8>]) -> [u8; 32] {
    let _ = data;
    todo!()
}

/// hex(SHA-256(nonce || creator)).
pub fn compute_txid(nonce: &[u8], creator: &[u8]) -> String {
    let _ = (nonce, creator);
    todo!()
}

/// Builds a block (header, data, metadata slots 0..=4 empty) on top of `previous_hash`.
pub fn new_block(number: u64, previous_hash: &[u8], envelopes: Vec<Vec<u8>>) -> Block {
    let _ = (number, previous_hash, envelopes);
    todo!()
}

/// Signs the block header as the orderer: fills metadata slot SIGNATURES with
/// `Metadata{value: OrdererBlockMetadata{last_config}, signatures:[..]}`.
pub fn sign_block(block: &mut Block, orderer: &SigningIdentity, last_config: u64) {
    let _ = (block, orderer, last_config);
    todo!()
}

/// Verifies slot-0 orderer signatures against `msps` (the signer must be a valid orderer-org identity).
pub fn verify_block_signature(block: &Block, msps: &MspManager) -> Result<(), BlockError> {
    let _ = (block, msps);
    todo!()
}

/// Result of walking a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub height: u64,
    pub tip_hash: [u8; 32],
    /// First block whose header hash link, data hash or orderer signature fails, with the reason.
    pub first_broken: Option<(u64, String)>,
}

/// Walks blocks from 0: checks data hashes, previous-hash links and orderer signatures (block 0 may be unsigned).
pub fn verify_chain<'a>(blocks: impl IntoIterator<Item = &'a Block>, msps: &MspManager) -> ChainReport {
    let _ = (blocks, msps);
    todo!()
}

/// An endorser transaction decoded into what validators and clients need.
#[derive(Debug, Clone)]
pub struct DecodedTx {
    pub header_type: i32,
    pub channel_id: String,
    pub txid: String,
    pub timestamp: Option<prost_types::Timestamp>,
    /// Serialized creator identity and nonce from the signature header.
    pub creator: Vec<u8>,
    pub nonce: Vec<u8>,
    /// Bytes signed by the creator (Envelope.payload) and the signature.
    pub payload_bytes: Vec<u8>,
    pub signature: Vec<u8>,
    /// For endorser transactions: the first action's details.
    pub action: Option<DecodedAction>,
}

/// The chaincode action of an endorser transaction.
#[derive(Debug, Clone)]
pub struct DecodedAction {
    pub chaincode_name: String,
    pub chaincode_version: String,
    pub proposal_response_payload: Vec<u8>,
    pub endorsements: Vec<fabric_proto::protos::Endorsement>,
    pub response: Option<fabric_proto::protos::Response>,
    pub rwset: fabric_proto::rwset::TxReadWriteSet,
    /// Decoded per-namespace KV sets, in order.
    pub ns_rwsets: Vec<(String, fabric_proto::kvrwset::KvrwSet)>,
    pub event: Option<fabric_proto::protos::ChaincodeEvent>,
    /// Invocation args (from the chaincode proposal payload).
    pub args: Vec<Vec<u8>>,
}

/// Decodes an envelope. Never panics on malformed input.
pub fn decode_envelope(env_bytes: &[u8]) -> Result<DecodedTx, BlockError> {
    let _ = env_bytes;
    todo!()
}

/// Decodes an already-parsed envelope.
pub fn decode(env: &Envelope) -> Result<DecodedTx, BlockError> {
    let _ = env;
    todo!()
}
