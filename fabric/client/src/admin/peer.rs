//! A direct connection to one peer's Endorser and Deliver services (no Gateway).
//!
//! Owns: ProcessProposal with the peer's answer checked (gRPC failure and
//! proposal responses with status >= 400 are errors naming the peer), and the
//! peer's chain height and filtered blocks for commit waiting.

use crate::block_events::{self, seek_envelope, EventStream};
use crate::connection::{endorser_client, with_deadline, Endpoint};
use crate::error::{Error, Result, RpcError, Stage};
use fabric_msp::SigningIdentity;
use fabric_proto::orderer::SeekPosition;
use fabric_proto::protos::{FilteredBlock, ProposalResponse, SignedProposal};
use std::time::Duration;
use tonic::transport::Channel;

/// Deadline of one ProcessProposal (an install of a large package takes a while).
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(300);

/// A connected peer.
#[derive(Debug, Clone)]
pub struct Peer {
    address: String,
    channel: Channel,
    tls_cert_hash: Option<Vec<u8>>,
}

impl Peer {
    pub async fn connect(endpoint: &Endpoint) -> Result<Self> {
        Ok(Self {
            address: endpoint.address.clone(),
            channel: endpoint.connect().await?,
            tls_cert_hash: endpoint.tls_cert_hash()?,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn grpc_channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn tls_cert_hash(&self) -> Option<Vec<u8>> {
        self.tls_cert_hash.clone()
    }

    /// Endorser.ProcessProposal; returns the peer's response whatever its status.
    pub async fn process_proposal(
        &self,
        txid: &str,
        proposal: SignedProposal,
    ) -> Result<ProposalResponse> {
        let call = async {
            let response = endorser_client(self.grpc_channel())
                .process_proposal(proposal)
                .await
                .map_err(|s| Error::ProcessProposal {
                    endpoint: self.address.clone(),
                    txid: txid.to_owned(),
                    rpc: RpcError::from_status(&s),
                })?;
            Ok(response.into_inner())
        };
        with_deadline(Stage::ProcessProposal, PROPOSAL_TIMEOUT, call).await
    }

    /// ProcessProposal that fails unless the response status is a success (200..400).
    pub async fn endorse(&self, txid: &str, proposal: SignedProposal) -> Result<ProposalResponse> {
        let response = self.process_proposal(txid, proposal).await?;
        check_status(&self.address, txid, &response, &[])?;
        Ok(response)
    }

    /// Number of the newest block + 1 on `channel`, as this peer has it.
    pub async fn block_height(&self, identity: &SigningIdentity, channel: &str) -> Result<u64> {
        let call = block_events::block_height(
            &self.address,
            self.grpc_channel(),
            identity,
            channel,
            self.tls_cert_hash(),
        );
        with_deadline(Stage::Deliver, Duration::from_secs(60), call).await
    }

    /// Filtered blocks of `channel` from `start` on.
    pub fn filtered_blocks(
        &self,
        identity: &SigningIdentity,
        channel: &str,
        start: SeekPosition,
    ) -> EventStream<FilteredBlock> {
        let envelope = seek_envelope(
            identity,
            channel,
            start,
            block_events::unbounded(),
            self.tls_cert_hash(),
        );
        block_events::deliver_filtered(&self.address, self.grpc_channel(), envelope)
    }
}

/// Fails with [`Error::ProposalRejected`] unless the response status is in 200..400 or in `also_ok`.
pub(crate) fn check_status(
    endpoint: &str,
    txid: &str,
    response: &ProposalResponse,
    also_ok: &[i32],
) -> Result<()> {
    let (status, message) = response
        .response
        .as_ref()
        .map(|r| (r.status, r.message.clone()))
        .unwrap_or((0, "no response in the proposal response".into()));
    let ok =
        response.response.is_some() && ((200..400).contains(&status) || also_ok.contains(&status));
    if ok {
        Ok(())
    } else {
        Err(Error::ProposalRejected {
            endpoint: endpoint.to_owned(),
            txid: txid.to_owned(),
            status,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_proto::protos::Response;

    fn with_status(status: i32) -> ProposalResponse {
        ProposalResponse {
            response: Some(Response {
                status,
                message: "why".into(),
                payload: vec![],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_successful_statuses_pass() {
        assert!(check_status("p", "t", &with_status(200), &[]).is_ok());
        let err = check_status("p", "t", &with_status(500), &[]).unwrap_err();
        assert!(err.to_string().contains("status 500: why"), "{err}");
        assert!(check_status("p", "t", &with_status(0), &[]).is_err());
        assert!(check_status("p", "t", &with_status(0), &[0]).is_ok());
        assert!(check_status("p", "t", &ProposalResponse::default(), &[0]).is_err());
    }
}
