//! Chaincode proposals: what a client asks endorsers to simulate.
//!
//! Owns: building `protos.Proposal` bytes exactly as Fabric's clients do and
//! signing them into a `protos.SignedProposal`.
//!
//! Layout (field facts from Fabric):
//! `Proposal{header = Header{channel_header, signature_header}, payload = ChaincodeProposalPayload}`
//! where `ChannelHeader{type, timestamp, channel_id, tx_id, epoch 0, extension =
//! ChaincodeHeaderExtension{chaincode_id{name}}}`, `SignatureHeader{creator, nonce}` and
//! `ChaincodeProposalPayload{input = ChaincodeInvocationSpec{chaincode_spec{type,
//! chaincode_id{name}, input{args = [function, args...]}}}, TransientMap}`.
//! The Go gateway client leaves the chaincode spec type UNDEFINED; so do we by default.

use crate::signing::{now, TransactionContext};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{ChannelHeader, Header, HeaderType};
use fabric_proto::protos::{
    chaincode_spec, ChaincodeHeaderExtension, ChaincodeId, ChaincodeInput, ChaincodeInvocationSpec,
    ChaincodeProposalPayload, ChaincodeSpec, Proposal as ProposalMsg, SignedProposal,
};
use prost::Message;
use std::collections::HashMap;

/// Assembles a chaincode proposal; every part can be set for tests that build transactions by hand.
#[derive(Debug, Clone)]
pub struct ProposalBuilder {
    channel: String,
    chaincode: String,
    args: Vec<Vec<u8>>,
    transient: HashMap<String, Vec<u8>>,
    header_type: HeaderType,
    spec_type: chaincode_spec::Type,
    nonce: Option<Vec<u8>>,
    timestamp: Option<prost_types::Timestamp>,
}

impl ProposalBuilder {
    /// A proposal to call `function` of `chaincode` on `channel` (an empty channel addresses the peer itself, e.g. install).
    pub fn new(channel: &str, chaincode: &str, function: impl AsRef<[u8]>) -> Self {
        Self {
            channel: channel.to_owned(),
            chaincode: chaincode.to_owned(),
            args: vec![function.as_ref().to_vec()],
            transient: HashMap::new(),
            header_type: HeaderType::EndorserTransaction,
            spec_type: chaincode_spec::Type::Undefined,
            nonce: None,
            timestamp: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Self {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_vec()));
        self
    }

    /// Private input for the chaincode: sent to endorsers, never written to the ledger.
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.transient.insert(key.into(), value.into());
        self
    }

    pub fn transient_map(mut self, map: HashMap<String, Vec<u8>>) -> Self {
        self.transient.extend(map);
        self
    }

    /// ENDORSER_TRANSACTION by default; `cscc` JoinChain uses CONFIG.
    pub fn header_type(mut self, header_type: HeaderType) -> Self {
        self.header_type = header_type;
        self
    }

    pub fn chaincode_type(mut self, spec_type: chaincode_spec::Type) -> Self {
        self.spec_type = spec_type;
        self
    }

    /// Fixes the nonce instead of drawing 24 random bytes (tests, replays).
    pub fn nonce(mut self, nonce: Vec<u8>) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Fixes the channel header timestamp instead of "now".
    pub fn timestamp(mut self, timestamp: prost_types::Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Builds the unsigned proposal for `creator` (a serialized `msp.SerializedIdentity`).
    pub fn build(self, creator: Vec<u8>) -> Proposal {
        let context = match self.nonce {
            Some(nonce) => TransactionContext::with_nonce(creator, nonce),
            None => TransactionContext::new(creator),
        };
        let chaincode_id = ChaincodeId {
            name: self.chaincode.clone(),
            ..Default::default()
        };
        let channel_header = ChannelHeader {
            r#type: self.header_type as i32,
            version: 0,
            timestamp: Some(self.timestamp.unwrap_or_else(now)),
            channel_id: self.channel.clone(),
            tx_id: context.txid.clone(),
            epoch: 0,
            extension: ChaincodeHeaderExtension {
                chaincode_id: Some(chaincode_id.clone()),
            }
            .encode_to_vec(),
            tls_cert_hash: Vec::new(),
        }
        .encode_to_vec();
        let signature_header = context.signature_header().encode_to_vec();
        let invocation = ChaincodeInvocationSpec {
            chaincode_spec: Some(ChaincodeSpec {
                r#type: self.spec_type as i32,
                chaincode_id: Some(chaincode_id),
                input: Some(ChaincodeInput {
                    args: self.args,
                    ..Default::default()
                }),
                timeout: 0,
            }),
        }
        .encode_to_vec();
        // What the ledger keeps (and the proposal hash covers): the input without the transient map.
        let ledger_payload = ChaincodeProposalPayload {
            input: invocation.clone(),
            transient_map: HashMap::new(),
        }
        .encode_to_vec();
        let payload = ChaincodeProposalPayload {
            input: invocation,
            transient_map: self.transient,
        }
        .encode_to_vec();
        let header = Header {
            channel_header: channel_header.clone(),
            signature_header: signature_header.clone(),
        }
        .encode_to_vec();
        let message = ProposalMsg {
            header,
            payload,
            extension: Vec::new(),
        };
        Proposal {
            txid: context.txid.clone(),
            channel: self.channel,
            chaincode: self.chaincode,
            context,
            channel_header,
            signature_header,
            ledger_payload,
            bytes: message.encode_to_vec(),
            message,
        }
    }
}

/// An unsigned proposal with its parts kept as the exact bytes that were encoded.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub txid: String,
    pub channel: String,
    pub chaincode: String,
    pub context: TransactionContext,
    /// Serialized `common.ChannelHeader`.
    pub channel_header: Vec<u8>,
    /// Serialized `common.SignatureHeader`.
    pub signature_header: Vec<u8>,
    /// Serialized `ChaincodeProposalPayload` without the transient map, as written to the ledger.
    pub ledger_payload: Vec<u8>,
    /// The proposal message (`header` and `payload` are serialized bytes).
    pub message: ProposalMsg,
    /// Serialized `protos.Proposal`: what gets signed.
    pub bytes: Vec<u8>,
}

impl Proposal {
    /// Signs the proposal bytes: `SignedProposal{proposal_bytes, signature}`.
    pub fn sign(&self, identity: &SigningIdentity) -> SignedProposal {
        SignedProposal {
            proposal_bytes: self.bytes.clone(),
            signature: identity.sign(&self.bytes),
        }
    }

    /// The proposal hash endorsers put in their responses:
    /// SHA-256(channel_header || signature_header || ChaincodeProposalPayload without its transient map).
    pub fn hash(&self) -> [u8; 32] {
        let mut data = self.channel_header.clone();
        data.extend_from_slice(&self.signature_header);
        data.extend_from_slice(&self.ledger_payload);
        fabric_msp::sha256(&data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;
    use fabric_proto::common::SignatureHeader;

    #[test]
    fn proposal_layout_matches_fabric() {
        let id = test_identity("Org1MSP");
        let p = ProposalBuilder::new("ehr", "records", "put")
            .args(["k", "v"])
            .transient("secret", b"s3".to_vec())
            .build(id.serialize());

        let msg = ProposalMsg::decode(p.bytes.as_slice()).unwrap();
        let header = Header::decode(msg.header.as_slice()).unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(ch.r#type, HeaderType::EndorserTransaction as i32);
        assert_eq!(ch.channel_id, "ehr");
        assert_eq!(ch.tx_id, p.txid);
        assert_eq!(ch.epoch, 0);
        assert!(ch.timestamp.is_some());
        let ext = ChaincodeHeaderExtension::decode(ch.extension.as_slice()).unwrap();
        assert_eq!(ext.chaincode_id.unwrap().name, "records");

        let sh = SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
        assert_eq!(sh.creator, id.serialize());
        assert_eq!(sh.nonce.len(), 24);
        assert_eq!(
            p.txid,
            hex::encode(fabric_msp::sha256(
                &[sh.nonce.clone(), sh.creator.clone()].concat()
            ))
        );

        let cpp = ChaincodeProposalPayload::decode(msg.payload.as_slice()).unwrap();
        assert_eq!(cpp.transient_map.get("secret").unwrap(), b"s3");
        let cis = ChaincodeInvocationSpec::decode(cpp.input.as_slice()).unwrap();
        let spec = cis.chaincode_spec.unwrap();
        assert_eq!(spec.r#type, chaincode_spec::Type::Undefined as i32);
        assert_eq!(spec.chaincode_id.unwrap().name, "records");
        assert_eq!(
            spec.input.unwrap().args,
            vec![b"put".to_vec(), b"k".to_vec(), b"v".to_vec()]
        );
    }

    #[test]
    fn signature_covers_proposal_bytes_and_is_low_s() {
        let id = test_identity("Org1MSP");
        // Many signatures: about half of raw ECDSA signatures are high-S, so a
        // missing normalisation would show up here with near certainty.
        for i in 0..32 {
            let p = ProposalBuilder::new("ehr", "cc", "f")
                .arg(format!("{i}"))
                .build(id.serialize());
            let sp = p.sign(&id);
            assert_eq!(sp.proposal_bytes, p.bytes);
            // verify_signature rejects high-S, so this checks low-S too.
            id.identity
                .verify(&sp.proposal_bytes, &sp.signature)
                .unwrap();
        }
    }

    #[test]
    fn two_proposals_get_different_txids() {
        let id = test_identity("Org1MSP");
        let a = ProposalBuilder::new("ehr", "cc", "f").build(id.serialize());
        let b = ProposalBuilder::new("ehr", "cc", "f").build(id.serialize());
        assert_ne!(a.txid, b.txid);
    }
}
