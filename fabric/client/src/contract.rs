//! A chaincode on a channel: evaluate and submit transactions.
//!
//! Owns: the client-side transaction flow through the Gateway —
//! proposal → (sign) → Endorse → prepared envelope → sign its payload →
//! Submit → CommitStatus — plus the options builder (transient data,
//! endorsing organizations) and the individual steps, exposed so tests can
//! build and tamper with transactions by hand.

use crate::commit::SubmittedTransaction;
use crate::error::Result;
use crate::gateway::Gateway;
use crate::proposal::{Proposal, ProposalBuilder};
use crate::transaction::parse_prepared;
use fabric_msp::SigningIdentity;
use fabric_proto::common::Envelope;
use fabric_proto::protos::SignedProposal;

/// A chaincode on a channel, called through the gateway with the gateway's identity.
#[derive(Debug, Clone)]
pub struct Contract {
    gateway: Gateway,
    channel: String,
    chaincode: String,
}

/// An endorsed transaction, not yet signed by the client.
#[derive(Debug, Clone)]
pub struct PreparedTransaction {
    pub txid: String,
    /// The envelope the gateway prepared; its `signature` is empty.
    pub envelope: Envelope,
    /// The chaincode's result, as endorsed.
    pub result: Vec<u8>,
}

impl PreparedTransaction {
    /// The envelope signed by `identity` over its payload bytes.
    pub fn sign(&self, identity: &SigningIdentity) -> Envelope {
        Envelope {
            payload: self.envelope.payload.clone(),
            signature: identity.sign(&self.envelope.payload),
        }
    }
}

impl Contract {
    pub(crate) fn new(gateway: Gateway, channel: &str, chaincode: &str) -> Self {
        Self {
            gateway,
            channel: channel.to_owned(),
            chaincode: chaincode.to_owned(),
        }
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    pub fn chaincode(&self) -> &str {
        &self.chaincode
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Starts a transaction with options (arguments, transient data, endorsing organizations).
    pub fn transaction(&self, function: &str) -> TransactionRequest {
        TransactionRequest {
            contract: self.clone(),
            builder: self.proposal_builder(function),
            endorsing_organizations: Vec::new(),
        }
    }

    /// Runs `function(args)` on a peer without ordering it; returns the chaincode's result.
    pub async fn evaluate<I, A>(&self, function: &str, args: I) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.transaction(function).args(args).evaluate().await
    }

    /// Endorses, submits and waits for the commit of `function(args)`; fails unless it commits VALID.
    pub async fn submit<I, A>(&self, function: &str, args: I) -> Result<Vec<u8>>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.transaction(function).args(args).submit().await
    }

    /// Endorses and submits `function(args)`; returns before the commit.
    pub async fn submit_async<I, A>(&self, function: &str, args: I) -> Result<SubmittedTransaction>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.transaction(function).args(args).submit_async().await
    }

    // ---- the individual steps ----

    /// A proposal builder for this chaincode and channel.
    pub fn proposal_builder(&self, function: &str) -> ProposalBuilder {
        ProposalBuilder::new(&self.channel, &self.chaincode, function)
    }

    /// An unsigned proposal for `function(args)` created by the gateway's identity.
    pub fn new_proposal<I, A>(&self, function: &str, args: I) -> Proposal
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.proposal_builder(function)
            .args(args)
            .build(self.gateway.identity().serialize())
    }

    /// Signs `proposal` with the gateway's identity and has it endorsed.
    pub async fn endorse(
        &self,
        proposal: &Proposal,
        endorsing_organizations: &[String],
    ) -> Result<PreparedTransaction> {
        let signed = proposal.sign(self.gateway.identity());
        self.endorse_signed(&proposal.txid, signed, endorsing_organizations)
            .await
    }

    /// Has an already signed (possibly tampered) proposal endorsed.
    pub async fn endorse_signed(
        &self,
        txid: &str,
        signed: SignedProposal,
        endorsing_organizations: &[String],
    ) -> Result<PreparedTransaction> {
        let envelope = self
            .gateway
            .endorse(
                &self.channel,
                txid,
                signed,
                endorsing_organizations.to_vec(),
            )
            .await?;
        let result = parse_prepared(&envelope)?.result;
        Ok(PreparedTransaction {
            txid: txid.to_owned(),
            envelope,
            result,
        })
    }

    /// Submits a signed envelope as-is (it may have been built or altered by hand).
    /// The result is read from the envelope when it parses, else left empty.
    pub async fn submit_envelope(
        &self,
        txid: &str,
        envelope: Envelope,
    ) -> Result<SubmittedTransaction> {
        let result = parse_prepared(&envelope)
            .map(|p| p.result)
            .unwrap_or_default();
        self.gateway.submit(&self.channel, txid, envelope).await?;
        Ok(SubmittedTransaction {
            txid: txid.to_owned(),
            result,
            gateway: self.gateway.clone(),
            channel: self.channel.clone(),
        })
    }
}

/// A transaction being configured; finish with `evaluate`, `submit` or `submit_async`.
#[derive(Debug, Clone)]
pub struct TransactionRequest {
    contract: Contract,
    builder: ProposalBuilder,
    endorsing_organizations: Vec<String>,
}

impl TransactionRequest {
    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Self {
        self.builder = self.builder.arg(arg);
        self
    }

    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.builder = self.builder.args(args);
        self
    }

    /// Private data for the chaincode (never written to the ledger).
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.builder = self.builder.transient(key, value);
        self
    }

    /// Only these organizations (MSP ids) endorse; for evaluate, the organizations to ask.
    pub fn endorsing_organizations<I, S>(mut self, msp_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.endorsing_organizations = msp_ids.into_iter().map(Into::into).collect();
        self
    }

    /// The unsigned proposal this request would send.
    pub fn proposal(&self) -> Proposal {
        self.builder
            .clone()
            .build(self.contract.gateway.identity().serialize())
    }

    pub async fn evaluate(self) -> Result<Vec<u8>> {
        let proposal = self.proposal();
        let gateway = &self.contract.gateway;
        gateway
            .evaluate(
                &self.contract.channel,
                &proposal.txid,
                proposal.sign(gateway.identity()),
                self.endorsing_organizations,
            )
            .await
    }

    pub async fn submit_async(self) -> Result<SubmittedTransaction> {
        let proposal = self.proposal();
        let prepared = self
            .contract
            .endorse(&proposal, &self.endorsing_organizations)
            .await?;
        let envelope = prepared.sign(self.contract.gateway.identity());
        let mut submitted = self
            .contract
            .submit_envelope(&prepared.txid, envelope)
            .await?;
        submitted.result = prepared.result;
        Ok(submitted)
    }

    /// Submits and waits for the commit; fails with [`crate::Error::Commit`] unless VALID.
    pub async fn submit(self) -> Result<Vec<u8>> {
        let submitted = self.submit_async().await?;
        submitted.status().await?.ensure_valid()?;
        Ok(submitted.result)
    }
}
