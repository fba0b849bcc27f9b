//! Owns: calling the EHR contract with typed arguments and answers over a
//! fabric-client [`Gateway`], every proposal, transaction and commit-status
//! request signed by the SDK's [`Signer`]; reading every page of a listing;
//! and turning a failed call into an [`SdkError::Call`] that carries the
//! contract's failure code.

use std::sync::Arc;

use fabric_client::{Contract, Gateway};
use fabric_proto::common::Envelope;
use fabric_proto::gateway::{CommitStatusRequest, SignedCommitStatusRequest};
use fabric_proto::protos::SignedProposal;
use healthblock_ehr_types::code::ErrorCode;
use healthblock_ehr_types::functions::MAX_PAGE_SIZE;
use healthblock_ehr_types::results::Page;
use prost::Message;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{CallStage, Result, SdkError};
use crate::signer::Signer;

/// A committed transaction's answer and where it landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed<T> {
    /// The contract's answer.
    pub value: T,
    /// The transaction id.
    pub txid: String,
    /// The block it was committed in.
    pub block: u64,
}

/// The EHR contract on one channel, called as one signer.
#[derive(Debug, Clone)]
pub(crate) struct EhrContract {
    contract: Contract,
    signer: Arc<dyn Signer>,
}

/// The contract's failure code in a fabric-client error: the gateway
/// carries the contract's message in its status message and per-peer
/// details. For callers that drive the contract through fabric-client
/// directly (the benchmark loader).
pub fn code_of(error: &fabric_client::Error) -> Option<ErrorCode> {
    let rpc = error.rpc()?;
    std::iter::once(rpc.message.as_str())
        .chain(rpc.details.iter().map(|d| d.message.as_str()))
        .find_map(ErrorCode::find)
}

fn call_error(function: &'static str, stage: CallStage, source: fabric_client::Error) -> SdkError {
    SdkError::Call {
        function,
        stage,
        code: code_of(&source),
        source: Box::new(source),
    }
}

/// A JSON argument of a structured contract function.
pub(crate) fn json_arg<T: Serialize>(function: &'static str, value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|source| SdkError::Encode { function, source })
}

fn decode<T: DeserializeOwned>(function: &'static str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| SdkError::Decode { function, source })
}

impl EhrContract {
    pub(crate) fn new(
        gateway: &Gateway,
        channel: &str,
        chaincode: &str,
        signer: Arc<dyn Signer>,
    ) -> Self {
        EhrContract {
            contract: gateway.network(channel).contract(chaincode),
            signer,
        }
    }

    pub(crate) fn gateway(&self) -> &Gateway {
        self.contract.gateway()
    }

    pub(crate) fn channel(&self) -> &str {
        self.contract.channel()
    }

    fn sign(&self, what: &'static str, message: &[u8]) -> Result<Vec<u8>> {
        self.signer
            .sign(message)
            .map_err(|source| SdkError::Sign { what, source })
    }

    fn proposal(
        &self,
        function: &'static str,
        args: &[String],
    ) -> Result<(fabric_client::Proposal, SignedProposal)> {
        let proposal = self
            .contract
            .proposal_builder(function)
            .args(args)
            .build(self.signer.creator());
        let signature = self.sign("a proposal", &proposal.bytes)?;
        let signed = SignedProposal {
            proposal_bytes: proposal.bytes.clone(),
            signature,
        };
        Ok((proposal, signed))
    }

    /// Runs a query on the gateway peer and decodes its JSON answer.
    pub(crate) async fn evaluate<T: DeserializeOwned>(
        &self,
        function: &'static str,
        args: &[String],
    ) -> Result<T> {
        let (proposal, signed) = self.proposal(function, args)?;
        let bytes = self
            .gateway()
            .evaluate(self.channel(), &proposal.txid, signed, Vec::new())
            .await
            .map_err(|e| call_error(function, CallStage::Evaluate, e))?;
        decode(function, &bytes)
    }

    /// Endorses, orders and commits a transaction; fails unless it commits
    /// VALID. Decodes the endorsed JSON answer.
    pub(crate) async fn submit<T: DeserializeOwned>(
        &self,
        function: &'static str,
        args: &[String],
    ) -> Result<Committed<T>> {
        let (proposal, signed) = self.proposal(function, args)?;
        let prepared = self
            .contract
            .endorse_signed(&proposal.txid, signed, &[])
            .await
            .map_err(|e| call_error(function, CallStage::Endorse, e))?;
        let envelope = Envelope {
            signature: self.sign("a transaction", &prepared.envelope.payload)?,
            payload: prepared.envelope.payload,
        };
        self.contract
            .submit_envelope(&prepared.txid, envelope)
            .await
            .map_err(|e| call_error(function, CallStage::Submit, e))?;
        let status = self
            .commit_status(function, &prepared.txid)
            .await?
            .ensure_valid()
            .map_err(|e| call_error(function, CallStage::Commit, e))?;
        Ok(Committed {
            value: decode(function, &prepared.result)?,
            txid: status.txid,
            block: status.block_number,
        })
    }

    /// Waits for a transaction's commit status, asking with a request the
    /// signer signs.
    pub(crate) async fn commit_status(
        &self,
        function: &'static str,
        txid: &str,
    ) -> Result<fabric_client::CommitStatus> {
        let request = CommitStatusRequest {
            transaction_id: txid.to_owned(),
            channel_id: self.channel().to_owned(),
            identity: self.signer.creator(),
        }
        .encode_to_vec();
        let signature = self.sign("a commit-status request", &request)?;
        self.gateway()
            .commit_status_signed(txid, SignedCommitStatusRequest { request, signature })
            .await
            .map_err(|e| call_error(function, CallStage::Commit, e))
    }

    /// Every item of a paged listing: `function(subject..., page size,
    /// bookmark)`, page after page.
    pub(crate) async fn all_pages<T: DeserializeOwned>(
        &self,
        function: &'static str,
        leading: &[String],
    ) -> Result<Vec<T>> {
        let mut items = Vec::new();
        let mut bookmark = String::new();
        loop {
            let mut args = leading.to_vec();
            args.push(MAX_PAGE_SIZE.to_string());
            args.push(bookmark);
            let page: Page<T> = self.evaluate(function, &args).await?;
            let done = page.items.is_empty() || page.bookmark.is_empty();
            items.extend(page.items);
            if done {
                return Ok(items);
            }
            bookmark = page.bookmark;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_client::{ErrorDetail, RpcError};

    fn endorse_error(message: &str, detail: &str) -> fabric_client::Error {
        fabric_client::Error::Endorse {
            txid: "t".into(),
            rpc: RpcError {
                code: tonic_code(),
                message: message.into(),
                details: vec![ErrorDetail {
                    address: "peer0:7051".into(),
                    msp_id: "Hospital1MSP".into(),
                    message: detail.into(),
                }],
            },
        }
    }

    fn tonic_code() -> tonic::Code {
        tonic::Code::Aborted
    }

    #[test]
    fn the_contract_code_is_read_from_the_peer_details() {
        let e = endorse_error(
            "failed to endorse transaction",
            "chaincode response 500, not found: record r1",
        );
        assert_eq!(code_of(&e), Some(ErrorCode::NotFound));
        let e = endorse_error("failed to endorse transaction", "connection refused");
        assert_eq!(code_of(&e), None);
        let timeout = fabric_client::Error::Timeout {
            stage: fabric_client::Stage::Endorse,
            after: std::time::Duration::from_secs(1),
        };
        assert_eq!(code_of(&timeout), None);
    }
}
