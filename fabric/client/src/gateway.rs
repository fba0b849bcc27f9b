//! The connection to a peer's Fabric Gateway service.
//!
//! Owns: the gRPC channel and the client identity, per-call deadlines, and
//! the four unary Gateway calls (Evaluate, Endorse, Submit, CommitStatus)
//! with their errors mapped to the stage that failed. Higher-level flows
//! live in [`crate::Contract`]; channels are reached through [`Gateway::network`].

use crate::commit::{commit_status_request, CommitStatus, TxValidationCode};
use crate::connection::{gateway_client, with_deadline, Endpoint};
use crate::error::{Error, Result, RpcError, Stage};
use crate::network::Network;
use fabric_msp::SigningIdentity;
use fabric_proto::common::Envelope;
use fabric_proto::gateway::{
    EndorseRequest, EvaluateRequest, SignedCommitStatusRequest, SubmitRequest,
};
use fabric_proto::protos::SignedProposal;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::Channel;

/// Client-side deadlines per call.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub evaluate: Duration,
    pub endorse: Duration,
    pub submit: Duration,
    /// Waiting for a commit spans at least one block cut (the orderer's BatchTimeout).
    pub commit_status: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            evaluate: Duration::from_secs(30),
            endorse: Duration::from_secs(60),
            submit: Duration::from_secs(30),
            commit_status: Duration::from_secs(120),
        }
    }
}

/// A connected Fabric Gateway client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway {
    endpoint: String,
    channel: Channel,
    identity: Arc<SigningIdentity>,
    timeouts: Timeouts,
    tls_cert_hash: Option<Vec<u8>>,
}

impl Gateway {
    /// Connects to the gateway at `endpoint` ("host:port") over TLS, trusting only `tls_ca_pem`.
    pub async fn connect(
        endpoint: &str,
        tls_ca_pem: &[u8],
        server_name_override: Option<&str>,
        identity: SigningIdentity,
    ) -> Result<Self> {
        let mut ep = Endpoint::new(endpoint, tls_ca_pem);
        ep.server_name_override = server_name_override.map(str::to_owned);
        Self::connect_endpoint(&ep, identity).await
    }

    /// Connects with full endpoint options (e.g. a client TLS certificate for mutual TLS).
    pub async fn connect_endpoint(endpoint: &Endpoint, identity: SigningIdentity) -> Result<Self> {
        let channel = endpoint.connect().await?;
        Ok(Self {
            endpoint: endpoint.address.clone(),
            channel,
            identity: Arc::new(identity),
            timeouts: Timeouts::default(),
            tls_cert_hash: endpoint.tls_cert_hash()?,
        })
    }

    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// A channel of the network, as seen through this gateway.
    pub fn network(&self, channel: &str) -> Network {
        Network::new(self.clone(), channel)
    }

    pub fn identity(&self) -> &SigningIdentity {
        &self.identity
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The underlying gRPC channel (shared by the Gateway and Deliver services of the peer).
    pub fn grpc_channel(&self) -> Channel {
        self.channel.clone()
    }

    pub(crate) fn tls_cert_hash(&self) -> Option<Vec<u8>> {
        self.tls_cert_hash.clone()
    }

    /// Gateway.Evaluate: runs the proposal on one peer without ordering it; returns the result payload.
    pub async fn evaluate(
        &self,
        channel: &str,
        txid: &str,
        proposal: SignedProposal,
        target_organizations: Vec<String>,
    ) -> Result<Vec<u8>> {
        let request = EvaluateRequest {
            transaction_id: txid.to_owned(),
            channel_id: channel.to_owned(),
            proposed_transaction: Some(proposal),
            target_organizations,
        };
        let call = async {
            let response = gateway_client(self.grpc_channel())
                .evaluate(request)
                .await
                .map_err(|s| Error::Evaluate {
                    txid: txid.to_owned(),
                    rpc: RpcError::from_status(&s),
                })?;
            Ok(response
                .into_inner()
                .result
                .map(|r| r.payload)
                .unwrap_or_default())
        };
        with_deadline(Stage::Evaluate, self.timeouts.evaluate, call).await
    }

    /// Gateway.Endorse: collects endorsements; returns the prepared (unsigned) transaction envelope.
    pub async fn endorse(
        &self,
        channel: &str,
        txid: &str,
        proposal: SignedProposal,
        endorsing_organizations: Vec<String>,
    ) -> Result<Envelope> {
        let request = EndorseRequest {
            transaction_id: txid.to_owned(),
            channel_id: channel.to_owned(),
            proposed_transaction: Some(proposal),
            endorsing_organizations,
        };
        let call = async {
            let response = gateway_client(self.grpc_channel())
                .endorse(request)
                .await
                .map_err(|s| Error::Endorse {
                    txid: txid.to_owned(),
                    rpc: RpcError::from_status(&s),
                })?;
            response
                .into_inner()
                .prepared_transaction
                .ok_or_else(|| Error::malformed("endorse response", "no prepared transaction"))
        };
        with_deadline(Stage::Endorse, self.timeouts.endorse, call).await
    }

    /// Gateway.Submit: hands a signed transaction envelope to the orderer through the gateway.
    pub async fn submit(&self, channel: &str, txid: &str, envelope: Envelope) -> Result<()> {
        let request = SubmitRequest {
            transaction_id: txid.to_owned(),
            channel_id: channel.to_owned(),
            prepared_transaction: Some(envelope),
        };
        let call = async {
            gateway_client(self.grpc_channel())
                .submit(request)
                .await
                .map_err(|s| Error::Submit {
                    txid: txid.to_owned(),
                    rpc: RpcError::from_status(&s),
                })?;
            Ok(())
        };
        with_deadline(Stage::Submit, self.timeouts.submit, call).await
    }

    /// Gateway.CommitStatus: waits for the transaction's commit and returns its validation code and block.
    pub async fn commit_status(&self, channel: &str, txid: &str) -> Result<CommitStatus> {
        let request = commit_status_request(&self.identity, channel, txid);
        self.commit_status_signed(txid, request).await
    }

    /// Gateway.CommitStatus with a request signed elsewhere (a signer other
    /// than the connection's identity: an HSM, a remote or offline signer).
    /// The request names the channel and transaction; `txid` labels errors.
    pub async fn commit_status_signed(
        &self,
        txid: &str,
        request: SignedCommitStatusRequest,
    ) -> Result<CommitStatus> {
        let call = async {
            let response = gateway_client(self.grpc_channel())
                .commit_status(request)
                .await
                .map_err(|s| Error::CommitStatus {
                    txid: txid.to_owned(),
                    rpc: RpcError::from_status(&s),
                })?
                .into_inner();
            Ok(CommitStatus {
                txid: txid.to_owned(),
                code: TxValidationCode(response.result),
                block_number: response.block_number,
            })
        };
        with_deadline(Stage::CommitStatus, self.timeouts.commit_status, call).await
    }
}
