//! What the client signs, and the per-transaction identity context.
//!
//! Owns: the nonce/creator/txid triple of a transaction (nonce 24 bytes from
//! the OS, txid = hex(SHA-256(nonce || creator))), the current timestamp,
//! and signed `common.Envelope`s for non-transaction requests such as deliver
//! seeks. Signing itself is [`SigningIdentity::sign`]: ECDSA P-256 over
//! SHA-256 of the bytes, DER, always low-S.

use fabric_msp::SigningIdentity;
use fabric_proto::common::{ChannelHeader, Envelope, Header, HeaderType, Payload, SignatureHeader};
use prost::Message;
use rand_core::{OsRng, RngCore};

/// Length of a transaction nonce, as Fabric's clients use.
pub const NONCE_LEN: usize = 24;

/// The identity half of a transaction header: who creates it, with which nonce, and the txid these give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionContext {
    pub creator: Vec<u8>,
    pub nonce: Vec<u8>,
    pub txid: String,
}

impl TransactionContext {
    /// A fresh context for `creator` (serialized identity) with a random nonce.
    pub fn new(creator: Vec<u8>) -> Self {
        Self::with_nonce(creator, new_nonce())
    }

    /// A context with a given nonce (replays, tests, tampering).
    pub fn with_nonce(creator: Vec<u8>, nonce: Vec<u8>) -> Self {
        let txid = fabric_block::compute_txid(&nonce, &creator);
        Self {
            creator,
            nonce,
            txid,
        }
    }

    /// `common.SignatureHeader{creator, nonce}`.
    pub fn signature_header(&self) -> SignatureHeader {
        SignatureHeader {
            creator: self.creator.clone(),
            nonce: self.nonce.clone(),
        }
    }
}

/// 24 random bytes from the operating system.
pub fn new_nonce() -> Vec<u8> {
    let mut nonce = vec![0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

/// The current time as a protobuf timestamp.
pub fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

/// An envelope of `header_type` carrying `data` on `channel`, signed by `identity` over its payload bytes.
pub fn signed_envelope(
    identity: &SigningIdentity,
    header_type: HeaderType,
    channel: &str,
    data: Vec<u8>,
    tls_cert_hash: Option<Vec<u8>>,
) -> Envelope {
    let context = TransactionContext::new(identity.serialize());
    let channel_header = ChannelHeader {
        r#type: header_type as i32,
        timestamp: Some(now()),
        channel_id: channel.to_owned(),
        tls_cert_hash: tls_cert_hash.unwrap_or_default(),
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: context.signature_header().encode_to_vec(),
        }),
        data,
    }
    .encode_to_vec();
    let signature = identity.sign(&payload);
    Envelope { payload, signature }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A throwaway signing identity with a self-signed certificate.
    pub(crate) fn test_identity(mspid: &str) -> SigningIdentity {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = rcgen::CertificateParams::new(vec!["user1".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        SigningIdentity::from_pem(mspid, cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .unwrap()
    }

    #[test]
    fn nonce_is_24_random_bytes() {
        let a = new_nonce();
        let b = new_nonce();
        assert_eq!(a.len(), NONCE_LEN);
        assert_ne!(a, b);
    }

    #[test]
    fn txid_is_hex_sha256_of_nonce_then_creator() {
        let ctx = TransactionContext::with_nonce(b"creator".to_vec(), b"nonce".to_vec());
        assert_eq!(ctx.txid, hex::encode(fabric_msp::sha256(b"noncecreator")));
        let fresh = TransactionContext::new(b"creator".to_vec());
        assert_eq!(fresh.txid.len(), 64);
        assert_ne!(fresh.txid, ctx.txid);
    }

    #[test]
    fn envelope_signature_covers_the_payload_bytes() {
        let id = test_identity("Org1MSP");
        let env = signed_envelope(&id, HeaderType::DeliverSeekInfo, "ehr", vec![1, 2], None);
        id.identity.verify(&env.payload, &env.signature).unwrap();
        let payload = Payload::decode(env.payload.as_slice()).unwrap();
        let header = payload.header.unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(ch.r#type, HeaderType::DeliverSeekInfo as i32);
        assert_eq!(ch.channel_id, "ehr");
        let sh = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
        assert_eq!(sh.creator, id.serialize());
        assert_eq!(payload.data, vec![1, 2]);
    }
}
