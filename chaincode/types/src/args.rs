//! Owns: the JSON arguments of the contract's structured functions
//! (`put_record`, `update_wraps`, `grant_consent`).
//! The contract parses them with these types and clients build them with
//! the same ones, so neither side writes JSON by hand.

use serde::{Deserialize, Serialize};

use crate::model::{
    Grantee, IndexToken, KeyFingerprint, PatientId, RecordId, ResourceType, Scope, Sha256Hex,
    StoragePointer, Timestamp,
};

/// Arguments of `put_record` (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutArgs {
    /// Record id (client-chosen).
    pub record_id: RecordId,
    /// Owner.
    pub patient_id: PatientId,
    /// The version being written: 1 for a new record, else latest + 1. The
    /// client binds it into the encryption, so it names it explicitly.
    pub version: u64,
    /// FHIR resource type.
    pub resource_type: ResourceType,
    /// SHA-256 of the ciphertext.
    pub ciphertext_sha256: Sha256Hex,
    /// Ciphertext size.
    pub size: u64,
    /// Where the ciphertext lives.
    pub storage_pointer: StoragePointer,
    /// Blind-index tokens.
    #[serde(default)]
    pub blind_index: Vec<IndexToken>,
    /// Fingerprints of the keys the data key is wrapped to: the home
    /// hospital's and the patient's published keys only.
    #[serde(default)]
    pub wraps: Vec<KeyFingerprint>,
}

/// One version's wrap change (JSON); `update_wraps` takes one or an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrapArgs {
    /// Record.
    pub record_id: RecordId,
    /// Version whose wraps change.
    pub version: u64,
    /// Fingerprints of wraps added beside the blob (the home hospital's or
    /// the patient's published key only).
    #[serde(default)]
    pub add: Vec<KeyFingerprint>,
    /// Fingerprints of wraps deleted (e.g. after a revocation).
    #[serde(default)]
    pub remove: Vec<KeyFingerprint>,
}

/// Arguments of `grant_consent` (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantArgs {
    /// Whose records.
    pub patient_id: PatientId,
    /// To whom.
    pub grantee: Grantee,
    /// Which records.
    pub scope: Scope,
    /// Optional expiry: RFC 3339 text or unix seconds (number or text). Kept
    /// as raw JSON so the contract, not the parser, names what is wrong with
    /// a fractional or boolean value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<serde_json::Value>,
}

impl GrantArgs {
    /// A grant with an expiry given as an instant (sent as unix seconds).
    pub fn expiring(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(serde_json::Value::from(at.0));
        self
    }
}
