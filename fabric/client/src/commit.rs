//! Commit status: how a submitted transaction ended up in the ledger.
//!
//! Owns: the validation code type, the signed `gateway.CommitStatusRequest`
//! (signed by the client over the serialized request), and the handle a
//! submitted transaction returns to ask for its status later.

use crate::error::{Error, Result};
use crate::gateway::Gateway;
use fabric_msp::SigningIdentity;
use fabric_proto::gateway::{CommitStatusRequest, SignedCommitStatusRequest};
use prost::Message;
use std::fmt;

/// A `protos.TxValidationCode` value, kept as the raw number so unknown codes survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxValidationCode(pub i32);

impl TxValidationCode {
    pub const VALID: Self = Self(0);
    pub const ENDORSEMENT_POLICY_FAILURE: Self =
        Self(fabric_proto::protos::TxValidationCode::EndorsementPolicyFailure as i32);

    /// Fabric's name for the code (`MVCC_READ_CONFLICT`), or `UNKNOWN` for numbers Fabric does not define.
    pub fn name(&self) -> &'static str {
        fabric_proto::protos::TxValidationCode::try_from(self.0)
            .map(|c| c.as_str_name())
            .unwrap_or("UNKNOWN")
    }

    pub fn is_valid(&self) -> bool {
        *self == Self::VALID
    }
}

impl fmt::Display for TxValidationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// Where and how a transaction was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitStatus {
    pub txid: String,
    pub code: TxValidationCode,
    pub block_number: u64,
}

impl CommitStatus {
    pub fn is_valid(&self) -> bool {
        self.code.is_valid()
    }

    /// `Ok(self)` if the transaction is valid, else [`Error::Commit`] naming the code.
    pub fn ensure_valid(self) -> Result<Self> {
        if self.is_valid() {
            Ok(self)
        } else {
            Err(Error::Commit {
                txid: self.txid,
                code: self.code,
                block_number: self.block_number,
            })
        }
    }
}

/// `SignedCommitStatusRequest{request = CommitStatusRequest{txid, channel, identity}, signature}`.
pub fn commit_status_request(
    identity: &SigningIdentity,
    channel: &str,
    txid: &str,
) -> SignedCommitStatusRequest {
    let request = CommitStatusRequest {
        transaction_id: txid.to_owned(),
        channel_id: channel.to_owned(),
        identity: identity.serialize(),
    }
    .encode_to_vec();
    let signature = identity.sign(&request);
    SignedCommitStatusRequest { request, signature }
}

/// A transaction the orderer has accepted; its commit status can be awaited.
#[derive(Debug, Clone)]
pub struct SubmittedTransaction {
    pub txid: String,
    /// The chaincode's result, as endorsed.
    pub result: Vec<u8>,
    pub(crate) gateway: Gateway,
    pub(crate) channel: String,
}

impl SubmittedTransaction {
    /// Waits until the transaction is committed (valid or not) and returns how.
    pub async fn status(&self) -> Result<CommitStatus> {
        self.gateway.commit_status(&self.channel, &self.txid).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;

    #[test]
    fn codes_have_fabric_names() {
        assert_eq!(TxValidationCode(0).to_string(), "VALID (0)");
        assert_eq!(TxValidationCode(11).name(), "MVCC_READ_CONFLICT");
        assert_eq!(TxValidationCode(12).name(), "PHANTOM_READ_CONFLICT");
        assert_eq!(TxValidationCode(10).name(), "ENDORSEMENT_POLICY_FAILURE");
        assert_eq!(TxValidationCode(255).name(), "INVALID_OTHER_REASON");
        assert_eq!(TxValidationCode(77).to_string(), "UNKNOWN (77)");
    }

    #[test]
    fn ensure_valid_reports_the_failure() {
        let ok = CommitStatus {
            txid: "t".into(),
            code: TxValidationCode::VALID,
            block_number: 3,
        };
        assert!(ok.clone().ensure_valid().is_ok());
        let bad = CommitStatus {
            code: TxValidationCode(12),
            ..ok
        };
        let err = bad.ensure_valid().unwrap_err();
        assert!(err
            .to_string()
            .contains("PHANTOM_READ_CONFLICT (12) in block 3"));
    }

    #[test]
    fn commit_status_request_is_signed_by_the_client() {
        let id = test_identity("Org1MSP");
        let signed = commit_status_request(&id, "ehr", "abc");
        id.identity
            .verify(&signed.request, &signed.signature)
            .unwrap();
        let req = CommitStatusRequest::decode(signed.request.as_slice()).unwrap();
        assert_eq!(req.transaction_id, "abc");
        assert_eq!(req.channel_id, "ehr");
        assert_eq!(req.identity, id.serialize());
    }
}
