//! A peer's channels: joining one (the `cscc` JoinChain call `peer channel
//! join` makes), listing them (`cscc` GetChannels, `peer channel list`) and a
//! channel's chain info as the peer has it (`qscc` GetChainInfo, `peer channel
//! getinfo`). All three are channel-less proposals; the channel is an argument.
//!
//! Facts from Fabric's CLI: a proposal of header type CONFIG on the empty
//! channel to system chaincode `cscc` (spec type GOLANG) with args
//! `["JoinChain", <genesis block bytes>]`, signed by an admin of the peer's
//! org and sent to the peer's Endorser. Status 200 (or 0) means joined.

use super::channel_config::ChainInfo;
use super::peer::{check_status, Peer};
use crate::error::{Error, Result};
use crate::proposal::{Proposal, ProposalBuilder};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{BlockchainInfo, HeaderType};
use fabric_proto::protos::{chaincode_spec, ChannelQueryResponse};
use prost::Message;

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

/// A channel-less system chaincode query on `peer`; the payload of its answer.
async fn query(
    peer: &Peer,
    signer: &SigningIdentity,
    chaincode: &str,
    function: &str,
    args: &[&[u8]],
) -> Result<Vec<u8>> {
    let mut builder = ProposalBuilder::new("", chaincode, function);
    for arg in args {
        builder = builder.arg(arg);
    }
    let proposal = builder.build(signer.serialize());
    let response = peer
        .process_proposal(&proposal.txid, proposal.sign(signer))
        .await?;
    check_status(peer.address(), &proposal.txid, &response, &[])?;
    Ok(response.response.map(|r| r.payload).unwrap_or_default())
}

/// The channels `peer` has joined (`signer` must be a member of the peer's own org).
pub async fn list_channels(peer: &Peer, signer: &SigningIdentity) -> Result<Vec<String>> {
    let payload = query(peer, signer, "cscc", "GetChannels", &[]).await?;
    let answer = ChannelQueryResponse::decode(payload.as_slice())
        .map_err(Error::decode("ChannelQueryResponse"))?;
    Ok(answer.channels.into_iter().map(|c| c.channel_id).collect())
}

/// `channel`'s height and tip hashes on `peer` (`reader` must pass the channel's qscc ACL).
pub async fn peer_chain_info(
    peer: &Peer,
    reader: &SigningIdentity,
    channel: &str,
) -> Result<ChainInfo> {
    let payload = query(peer, reader, "qscc", "GetChainInfo", &[channel.as_bytes()]).await?;
    let info =
        BlockchainInfo::decode(payload.as_slice()).map_err(Error::decode("BlockchainInfo"))?;
    Ok(ChainInfo {
        height: info.height,
        current_block_hash: info.current_block_hash,
        previous_block_hash: info.previous_block_hash,
    })
}

/// A committed transaction as a peer holds it (`qscc` GetTransactionByID).
#[derive(Debug, Clone)]
pub struct ProcessedTx {
    /// The transaction's envelope, as ordered.
    pub envelope: fabric_proto::common::Envelope,
    /// The peer's validation code (`TxValidationCode`; 0 is VALID).
    pub validation_code: i32,
}

impl ProcessedTx {
    /// Whether the peer validated the transaction (VALID).
    pub fn is_valid(&self) -> bool {
        self.validation_code == fabric_proto::protos::TxValidationCode::Valid as i32
    }
}

/// Transaction `txid` of `channel` as `peer` committed it (`reader` must
/// pass the channel's `qscc/GetTransactionByID` ACL). A transaction the peer
/// does not hold is an error from the peer.
pub async fn transaction_by_id(
    peer: &Peer,
    reader: &SigningIdentity,
    channel: &str,
    txid: &str,
) -> Result<ProcessedTx> {
    let payload = query(
        peer,
        reader,
        "qscc",
        "GetTransactionByID",
        &[channel.as_bytes(), txid.as_bytes()],
    )
    .await?;
    let processed = fabric_proto::protos::ProcessedTransaction::decode(payload.as_slice())
        .map_err(Error::decode("ProcessedTransaction"))?;
    let envelope = processed.transaction_envelope.ok_or_else(|| {
        Error::malformed("ProcessedTransaction", "it holds no transaction envelope")
    })?;
    Ok(ProcessedTx {
        envelope,
        validation_code: processed.validation_code,
    })
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
