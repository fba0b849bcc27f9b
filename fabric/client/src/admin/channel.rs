//! Joining a peer to a channel: the `cscc` JoinChain call `peer channel join` makes.
//!
//! Facts from Fabric's CLI: a proposal of header type CONFIG on the empty
//! channel to system chaincode `cscc` (spec type GOLANG) with args
//! `["JoinChain", <genesis block bytes>]`, signed by an admin of the peer's
//! org and sent to the peer's Endorser. Status 200 (or 0) means joined.

use super::peer::{check_status, Peer};
use crate::error::Result;
use crate::proposal::{Proposal, ProposalBuilder};
use fabric_msp::SigningIdentity;
use fabric_proto::common::HeaderType;
use fabric_proto::protos::chaincode_spec;

/// The unsigned JoinChain proposal.
pub fn join_proposal(admin: &SigningIdentity, genesis_block: &[u8]) -> Proposal {
    ProposalBuilder::new("", "cscc", "JoinChain")
        .arg(genesis_block)
        .header_type(HeaderType::Config)
        .chaincode_type(chaincode_spec::Type::Golang)
        .build(admin.serialize())
}

/// Joins `peer` to the channel whose genesis (config) block is `genesis_block` (serialized `common.Block`).
pub async fn join_channel(
    peer: &Peer,
    admin: &SigningIdentity,
    genesis_block: &[u8],
) -> Result<()> {
    let proposal = join_proposal(admin, genesis_block);
    let response = peer
        .process_proposal(&proposal.txid, proposal.sign(admin))
        .await?;
    // The CLI accepts status 0 as well as 200.
    check_status(peer.address(), &proposal.txid, &response, &[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;
    use fabric_proto::common::{ChannelHeader, Header};
    use fabric_proto::protos::{ChaincodeInvocationSpec, ChaincodeProposalPayload};
    use prost::Message;

    #[test]
    fn join_proposal_layout() {
        let admin = test_identity("Org1MSP");
        let block = b"\x0a\x02genesis".to_vec();
        let p = join_proposal(&admin, &block);
        let header = Header::decode(p.message.header.as_slice()).unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(ch.r#type, HeaderType::Config as i32);
        assert_eq!(ch.channel_id, "");
        let cpp = ChaincodeProposalPayload::decode(p.message.payload.as_slice()).unwrap();
        let spec = ChaincodeInvocationSpec::decode(cpp.input.as_slice())
            .unwrap()
            .chaincode_spec
            .unwrap();
        assert_eq!(spec.r#type, chaincode_spec::Type::Golang as i32);
        assert_eq!(spec.chaincode_id.unwrap().name, "cscc");
        assert_eq!(spec.input.unwrap().args, vec![b"JoinChain".to_vec(), block]);
        admin
            .identity
            .verify(&p.bytes, &p.sign(&admin).signature)
            .unwrap();
    }
}
