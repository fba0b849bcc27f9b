//! Owns: what an SDK call can fail with, one variant per stage (signing,
//! calling the contract, the contract's refusal, decoding its answer, the
//! object store, key material, encryption, local files), each keeping its
//! cause as a `#[source]`. Whether a contract call failed because something
//! does not exist is read from the contract's failure code
//! ([`ErrorCode`]), never from message text.

use std::path::PathBuf;

use healthblock_ehr_types::code::ErrorCode;
use healthblock_ehr_types::model::RecordId;
use healthblock_ehr_types::TypeError;
use healthblock_store::StoreError;
use wbcb::WbcbError;

use crate::keys::KeyError;
use crate::signer::SignError;

/// Which step of a contract call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStage {
    /// Evaluating a query on the gateway peer.
    Evaluate,
    /// Collecting endorsements.
    Endorse,
    /// Handing the signed transaction to the orderer.
    Submit,
    /// Waiting for, or reading, the commit status.
    Commit,
}

impl std::fmt::Display for CallStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CallStage::Evaluate => "evaluate",
            CallStage::Endorse => "endorse",
            CallStage::Submit => "submit",
            CallStage::Commit => "commit",
        })
    }
}

/// A failed SDK call.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The signer could not sign a proposal, transaction or request.
    #[error("signing {what} failed")]
    Sign {
        /// What was being signed.
        what: &'static str,
        /// Why.
        #[source]
        source: SignError,
    },
    /// A contract call failed at `stage`. `code` is the contract's failure
    /// code when the contract itself refused (for example
    /// [`ErrorCode::NotFound`]); `None` for network or ledger failures.
    #[error("{function}: {stage} failed")]
    Call {
        /// The contract function.
        function: &'static str,
        /// The step that failed.
        stage: CallStage,
        /// The contract's failure code, when it refused.
        code: Option<ErrorCode>,
        /// The client's error (stage, gRPC status, per-peer details),
        /// boxed: it is large and errors travel in every `Result`.
        #[source]
        source: Box<fabric_client::Error>,
    },
    /// An argument for the contract could not be encoded.
    #[error("{function}: cannot encode the arguments")]
    Encode {
        /// The contract function.
        function: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// The contract answered something that is not its documented JSON.
    #[error("{function}: unexpected answer")]
    Decode {
        /// The contract function.
        function: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A value given to the SDK is not one the contract accepts.
    #[error(transparent)]
    Invalid(#[from] TypeError),
    /// The contract denied access (the denial is committed and audited).
    #[error("access denied: {reason} ({record_id} v{version}; audited in tx {tx_id})")]
    AccessDenied {
        /// Record.
        record_id: RecordId,
        /// Version.
        version: u64,
        /// The contract's reason.
        reason: String,
        /// The audited transaction.
        tx_id: String,
    },
    /// Access was granted but none of the caller's keys has a wrap of the
    /// version's data key: it was never shared with them, or their share was
    /// revoked (the wrap deleted), or a break-glass delivery is pending.
    #[error(
        "access granted ({basis}), but version {version} of {record_id} holds no key wrap for \
         you or your hospital: its data key was never shared with you, or your share was \
         revoked, or after a break-glass the home hospital's custodian has not delivered it yet"
    )]
    NoWrap {
        /// Record.
        record_id: RecordId,
        /// Version.
        version: u64,
        /// The basis of the grant.
        basis: String,
    },
    /// A stored blob does not match the hash on the ledger.
    #[error("TAMPERED: blob of {record_id} v{version} does not match the ledger hash {expected}")]
    Tampered {
        /// Record.
        record_id: RecordId,
        /// Version.
        version: u64,
        /// The ledger's hash.
        expected: String,
    },
    /// A record version's ciphertext names another record than the ledger.
    #[error("the blob of {record_id} v{version} is {found}")]
    ContextMismatch {
        /// Record.
        record_id: RecordId,
        /// Version.
        version: u64,
        /// What the blob's header names.
        found: String,
    },
    /// An existing record belongs to another patient.
    #[error("record {0} belongs to another patient")]
    ForeignRecord(RecordId),
    /// No consent matched a revocation request.
    #[error("no active consent of patient {0} matches")]
    NoMatchingConsent(String),
    /// The object store failed.
    #[error("object store: {what}")]
    Store {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// Key material could not be read, created or found.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// Encryption, decryption or a key wrap failed.
    #[error("{what}")]
    Crypto {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: WbcbError,
    },
    /// A local file could not be read or written.
    #[error("{}: {what}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A blocking task (encryption, decryption) did not finish.
    #[error("the {0} task failed")]
    Task(&'static str),
    /// The party has published no encryption key: nothing is sealed to them.
    #[error("{0} has published no encryption key (they run `healthblock keydir publish`)")]
    KeyNotPublished(String),
    /// The party revoked its published key.
    #[error("the published encryption key of {0} is revoked")]
    KeyRevoked(String),
    /// A published key does not hash to the fingerprint the contract recorded.
    #[error("the published encryption key of {0} does not match its recorded fingerprint")]
    KeyMismatch(String),
    /// No key custodian is configured for the record's home hospital.
    #[error("no key custodian is configured for {0}: the client cannot ask for the data key")]
    NoCustodian(String),
    /// The home hospital's custodian could not be asked, or answered
    /// something that is not a release.
    #[error("key custodian at {custodian}: {reason}")]
    KeyRelease {
        /// Its address.
        custodian: String,
        /// What went wrong.
        reason: String,
    },
    /// The home hospital's custodian refused to release the key.
    #[error("key custodian at {custodian} refused: {refusal}")]
    ReleaseRefused {
        /// Its address.
        custodian: String,
        /// Its answer.
        #[source]
        refusal: crate::key_release::Refusal,
    },
    /// A block could not be read from the ledger.
    #[error("reading block {block} from the ledger failed")]
    Block {
        /// The block number.
        block: u64,
        /// Why.
        #[source]
        source: Box<fabric_client::Error>,
    },
}

impl SdkError {
    /// The contract's failure code, when the contract refused the call.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            SdkError::Call { code, .. } => *code,
            _ => None,
        }
    }

    /// True when the contract said the patient, record, consent or
    /// break-glass does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(ErrorCode::NotFound)
    }

    pub(crate) fn crypto(what: impl Into<String>, source: WbcbError) -> Self {
        SdkError::Crypto {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn store(what: impl Into<String>, source: StoreError) -> Self {
        SdkError::Store {
            what: what.into(),
            source,
        }
    }
}

/// Result of an SDK call.
pub type Result<T, E = SdkError> = std::result::Result<T, E>;
