//! What a transaction knows about itself: arguments, ids, the creator and the
//! transient map, decoded from the SignedProposal the peer forwards.
//!
//! Decoding path (Fabric): `SignedProposal.proposal_bytes` -> `Proposal`;
//! `Proposal.header` -> `Header` -> `ChannelHeader` (type, timestamp) and
//! `SignatureHeader.creator` (a serialized `msp.SerializedIdentity`);
//! `Proposal.payload` -> `ChaincodeProposalPayload.TransientMap`.

use std::collections::HashMap;

use fabric_proto::common::{ChannelHeader, Header, HeaderType, SignatureHeader};
use fabric_proto::msp::SerializedIdentity;
use fabric_proto::protos::{ChaincodeProposalPayload, Proposal, SignedProposal};
use prost::Message;
use prost_types::Timestamp;

use crate::error::{Result, ShimError};

/// The submitter of a transaction, as its MSP serialized it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatorIdentity {
    /// MSP id of the creator's organisation.
    pub mspid: String,
    /// The creator's X.509 certificate, PEM.
    pub cert_pem: String,
}

impl CreatorIdentity {
    /// Decodes a serialized `msp.SerializedIdentity`.
    pub fn from_serialized(bytes: &[u8]) -> Result<Self> {
        let identity = SerializedIdentity::decode(bytes)
            .map_err(|e| ShimError::decode("msp.SerializedIdentity", e))?;
        let cert_pem = String::from_utf8(identity.id_bytes)
            .map_err(|_| ShimError::Creator("certificate is not UTF-8 PEM".into()))?;
        Ok(CreatorIdentity {
            mspid: identity.mspid,
            cert_pem,
        })
    }

    /// Encodes as a `msp.SerializedIdentity`.
    pub fn to_serialized(&self) -> Vec<u8> {
        SerializedIdentity {
            mspid: self.mspid.clone(),
            id_bytes: self.cert_pem.clone().into_bytes(),
        }
        .encode_to_vec()
    }
}

/// Everything about the current transaction except ledger access.
#[derive(Debug, Clone, Default)]
pub struct TxContext {
    channel_id: String,
    tx_id: String,
    args: Vec<Vec<u8>>,
    creator: Vec<u8>,
    identity: Option<CreatorIdentity>,
    transient: HashMap<String, Vec<u8>>,
    timestamp: Option<Timestamp>,
    signed_proposal: Option<SignedProposal>,
}

impl TxContext {
    /// A context with ids and arguments only (no proposal), e.g. for tests.
    pub fn new(
        channel_id: impl Into<String>,
        tx_id: impl Into<String>,
        args: Vec<Vec<u8>>,
    ) -> Self {
        TxContext {
            channel_id: channel_id.into(),
            tx_id: tx_id.into(),
            args,
            ..TxContext::default()
        }
    }

    /// Builds the context of a TRANSACTION/INIT message. A missing proposal is
    /// accepted (no creator then); a proposal that does not decode is an error.
    pub fn from_proposal(
        channel_id: impl Into<String>,
        tx_id: impl Into<String>,
        args: Vec<Vec<u8>>,
        signed_proposal: Option<SignedProposal>,
    ) -> Result<Self> {
        let mut context = TxContext::new(channel_id, tx_id, args);
        if let Some(signed) = signed_proposal {
            context.apply_proposal(&signed)?;
            context.signed_proposal = Some(signed);
        }
        Ok(context)
    }

    fn apply_proposal(&mut self, signed: &SignedProposal) -> Result<()> {
        let proposal = Proposal::decode(signed.proposal_bytes.as_slice())
            .map_err(|e| ShimError::decode("protos.Proposal", e))?;
        if proposal.header.is_empty() {
            return Err(ShimError::Protocol("proposal header is empty".into()));
        }
        let header = Header::decode(proposal.header.as_slice())
            .map_err(|e| ShimError::decode("common.Header", e))?;
        let channel_header = ChannelHeader::decode(header.channel_header.as_slice())
            .map_err(|e| ShimError::decode("common.ChannelHeader", e))?;
        let accepted = [
            HeaderType::EndorserTransaction as i32,
            HeaderType::Config as i32,
        ];
        if !accepted.contains(&channel_header.r#type) {
            return Err(ShimError::Protocol(format!(
                "channel header type {} is neither ENDORSER_TRANSACTION nor CONFIG",
                channel_header.r#type
            )));
        }
        let signature_header = SignatureHeader::decode(header.signature_header.as_slice())
            .map_err(|e| ShimError::decode("common.SignatureHeader", e))?;
        let payload = ChaincodeProposalPayload::decode(proposal.payload.as_slice())
            .map_err(|e| ShimError::decode("protos.ChaincodeProposalPayload", e))?;

        // An undecodable creator does not fail the transaction: only contracts
        // that ask for the identity see the error.
        self.identity = CreatorIdentity::from_serialized(&signature_header.creator).ok();
        self.creator = signature_header.creator;
        self.transient = payload.transient_map;
        self.timestamp = channel_header.timestamp;
        Ok(())
    }

    /// Sets the creator from its serialized identity (used by test stubs).
    pub fn set_creator(&mut self, serialized: Vec<u8>) {
        self.identity = CreatorIdentity::from_serialized(&serialized).ok();
        self.creator = serialized;
    }

    /// Sets one transient-map entry (used by test stubs).
    pub fn insert_transient(&mut self, key: impl Into<String>, value: Vec<u8>) {
        self.transient.insert(key.into(), value);
    }

    /// Sets the transaction timestamp (used by test stubs).
    pub fn set_timestamp(&mut self, timestamp: Timestamp) {
        self.timestamp = Some(timestamp);
    }

    /// Channel the transaction runs on.
    pub fn channel_id(&self) -> &str {
        &self.channel_id
    }

    /// Transaction id.
    pub fn tx_id(&self) -> &str {
        &self.tx_id
    }

    /// Raw arguments, function name first.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// Serialized `msp.SerializedIdentity` of the submitter (empty without a proposal).
    pub fn creator(&self) -> &[u8] {
        &self.creator
    }

    /// The decoded creator, or why it is unavailable.
    pub fn creator_identity(&self) -> Result<&CreatorIdentity> {
        match &self.identity {
            Some(identity) => Ok(identity),
            None if self.creator.is_empty() => Err(ShimError::Creator(
                "the transaction carries no creator".into(),
            )),
            None => Err(ShimError::Creator(
                "the creator is not a valid SerializedIdentity with a PEM certificate".into(),
            )),
        }
    }

    /// The proposal's transient map (never written to the ledger).
    pub fn transient(&self) -> &HashMap<String, Vec<u8>> {
        &self.transient
    }

    /// Timestamp the client put in the proposal's channel header.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// The signed proposal as the peer forwarded it.
    pub fn signed_proposal(&self) -> Option<&SignedProposal> {
        self.signed_proposal.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_proto::protos::Proposal;

    fn proposal(header_type: HeaderType, creator: Vec<u8>) -> SignedProposal {
        let channel_header = ChannelHeader {
            r#type: header_type as i32,
            timestamp: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 5,
            }),
            channel_id: "ehr".into(),
            tx_id: "t1".into(),
            ..Default::default()
        };
        let header = Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: SignatureHeader {
                creator,
                nonce: vec![1; 24],
            }
            .encode_to_vec(),
        };
        let payload = ChaincodeProposalPayload {
            input: Vec::new(),
            transient_map: [("secret".to_owned(), b"s3".to_vec())].into(),
        };
        SignedProposal {
            proposal_bytes: Proposal {
                header: header.encode_to_vec(),
                payload: payload.encode_to_vec(),
                extension: Vec::new(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        }
    }

    #[test]
    fn decodes_creator_transient_and_timestamp() {
        let identity = CreatorIdentity {
            mspid: "Org1MSP".into(),
            cert_pem: "-----BEGIN CERTIFICATE-----\n".into(),
        };
        let signed = proposal(HeaderType::EndorserTransaction, identity.to_serialized());
        let ctx = TxContext::from_proposal("ehr", "t1", vec![b"f".to_vec()], Some(signed)).unwrap();
        assert_eq!(ctx.creator_identity().unwrap(), &identity);
        assert_eq!(ctx.creator(), identity.to_serialized().as_slice());
        assert_eq!(ctx.transient()["secret"], b"s3");
        assert_eq!(ctx.timestamp().unwrap().seconds, 1_700_000_000);
    }

    #[test]
    fn rejects_wrong_header_type_and_garbage() {
        let signed = proposal(HeaderType::Message, Vec::new());
        assert!(TxContext::from_proposal("c", "t", vec![], Some(signed)).is_err());
        let garbage = SignedProposal {
            proposal_bytes: vec![0xff, 0xff, 0xff],
            signature: Vec::new(),
        };
        assert!(TxContext::from_proposal("c", "t", vec![], Some(garbage)).is_err());
    }

    #[test]
    fn bad_creator_is_reported_only_when_asked() {
        let signed = proposal(HeaderType::EndorserTransaction, vec![0xff, 0x01]);
        let ctx = TxContext::from_proposal("c", "t", vec![], Some(signed)).unwrap();
        assert!(ctx.creator_identity().is_err());
        let none = TxContext::new("c", "t", vec![]);
        assert!(none.creator_identity().is_err());
    }
}
