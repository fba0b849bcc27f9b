//! The EHR contract's data: validated identifiers (newtypes), roles, FHIR
//! resource types, and the JSON documents stored on the ledger.
//!
//! Owns: the shape and validation of every identifier and stored document,
//! so the contract and its clients parse them the same way.
//!
//! Nothing here holds plaintext health data or key material: records are
//! described by the hash, size and location of their ciphertext, patients by
//! a pseudonym the client computes (a keyed hash), and wraps by the
//! fingerprint of the recipient's public key (the name of the wrap object
//! beside the blob).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{invalid, TypeError};
use crate::time::rfc3339;

type Parsed<T> = Result<T, TypeError>;

/// Longest record id, storage pointer component or user id accepted.
const MAX_ID_LEN: usize = 128;
/// Longest storage pointer accepted.
const MAX_POINTER_LEN: usize = 1024;
/// Longest blind-index token accepted (hex digits).
const MAX_TOKEN_LEN: usize = 128;

/// Checks `s` is exactly 64 hex digits and returns it in lower case.
fn hex64(s: &str, what: &str) -> Parsed<String> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(invalid(format!("{what} must be 64 hex digits")))
    }
}

/// A patient's pseudonymous id: a keyed hash (64 hex digits) computed by the
/// client, so the ledger never sees a name or a medical record number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PatientId(String);

impl PatientId {
    /// Validates a pseudonym.
    pub fn parse(s: &str) -> Parsed<Self> {
        hex64(s.trim(), "a patient id (pseudonym)").map(PatientId)
    }

    /// The id as stored (lower-case hex).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A record id chosen by the client: 1 to 128 characters from
/// `[A-Za-z0-9._:-]`, so it is safe in composite keys and object names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId(String);

impl RecordId {
    /// Validates a record id.
    pub fn parse(s: &str) -> Parsed<Self> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if s.is_empty() || s.len() > MAX_ID_LEN || !s.chars().all(ok_char) {
            return Err(invalid(
                "a record id is 1 to 128 characters from A-Z a-z 0-9 . _ : -",
            ));
        }
        Ok(RecordId(s.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of a ciphertext, 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Validates a hash.
    pub fn parse(s: &str) -> Parsed<Self> {
        hex64(s, "a ciphertext SHA-256").map(Sha256Hex)
    }

    /// The hash as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Fingerprint of a recipient's encryption public key (SHA-256 of its SPKI,
/// 64 hex digits); also the name of that recipient's wrap beside the blob.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyFingerprint(String);

impl KeyFingerprint {
    /// Validates a fingerprint.
    pub fn parse(s: &str) -> Parsed<Self> {
        hex64(s.trim(), "a key fingerprint").map(KeyFingerprint)
    }

    /// The fingerprint as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A blind-index search token (hex; an HMAC computed by the client).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndexToken(String);

impl IndexToken {
    /// Validates a token: 16 to 128 hex digits, even length.
    pub fn parse(s: &str) -> Parsed<Self> {
        let s = s.trim();
        // Decoding checks both the digits and the even length.
        let hex = hex::decode(s).is_ok();
        if !hex || s.len() < 16 || s.len() > MAX_TOKEN_LEN {
            return Err(invalid(
                "a blind-index token is 16 to 128 hex digits (an even number)",
            ));
        }
        Ok(IndexToken(s.to_ascii_lowercase()))
    }

    /// The token as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the ciphertext lives (an object-store URL or key). Printable ASCII,
/// at most 1024 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StoragePointer(String);

impl StoragePointer {
    /// Validates a pointer.
    pub fn parse(s: &str) -> Parsed<Self> {
        let printable = s.bytes().all(|b| (0x21..0x7f).contains(&b));
        if s.is_empty() || s.len() > MAX_POINTER_LEN || !printable {
            return Err(invalid(
                "a storage pointer is 1 to 1024 printable ASCII characters without spaces",
            ));
        }
        Ok(StoragePointer(s.to_owned()))
    }

    /// The pointer.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The HL7 FHIR resource types a record may hold. A fixed list: the contract
/// refuses anything else, so the type index stays meaningful.
pub const FHIR_RESOURCE_TYPES: &[&str] = &[
    "AllergyIntolerance",
    "Binary",
    "CarePlan",
    "ClinicalImpression",
    "Composition",
    "Condition",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "FamilyMemberHistory",
    "ImagingStudy",
    "Immunization",
    "Media",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "QuestionnaireResponse",
    "ServiceRequest",
    "Specimen",
];

/// A FHIR resource type from [`FHIR_RESOURCE_TYPES`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResourceType(String);

impl ResourceType {
    /// Validates a resource type (exact, case-sensitive FHIR name).
    pub fn parse(s: &str) -> Parsed<Self> {
        if FHIR_RESOURCE_TYPES.contains(&s) {
            Ok(ResourceType(s.to_owned()))
        } else {
            Err(invalid(format!(
                "resource type {s:?} is not one of the allowed FHIR types: {}",
                FHIR_RESOURCE_TYPES.join(", ")
            )))
        }
    }

    /// The type name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_conversions {
    ($($name:ident),*) => {$(
        impl TryFrom<String> for $name {
            type Error = TypeError;
            fn try_from(s: String) -> Parsed<Self> {
                $name::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

string_newtype_conversions!(
    PatientId,
    RecordId,
    Sha256Hex,
    KeyFingerprint,
    IndexToken,
    StoragePointer,
    ResourceType
);

/// A caller's role, from the `hb.role` attribute of its certificate (one
/// definition, shared with the clients that enroll users).
pub use healthblock_roles::Role;

/// Who did something, as the ledger records it: organisation, user id and
/// role. For a patient the user id is `patient:<pseudonym>`, never the
/// enrollment id (which might be a name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// MSP id of the caller's organisation.
    pub mspid: String,
    /// `CN@MSP`, `patient:<pseudonym>`, or `sha256:<cert hash>@MSP`.
    pub user: String,
    /// Role at the time of the call.
    pub role: Role,
}

/// A registered patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    /// Pseudonym.
    pub patient_id: PatientId,
    /// MSP id of the home hospital; its peer must endorse every write.
    pub home_msp: String,
    /// Who registered the patient.
    pub registered_by: Principal,
    /// Registration time (transaction timestamp).
    pub registered_at: Timestamp,
    /// Registering transaction.
    pub tx_id: String,
}

/// A point in time: unix seconds plus the same instant in RFC 3339.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "TimestampJson", try_from = "TimestampJson")]
pub struct Timestamp(pub i64);

#[derive(Serialize, Deserialize)]
struct TimestampJson {
    unix: i64,
    #[serde(default)]
    rfc3339: String,
}

impl From<Timestamp> for TimestampJson {
    fn from(t: Timestamp) -> Self {
        TimestampJson {
            unix: t.0,
            rfc3339: rfc3339(t.0),
        }
    }
}

impl From<TimestampJson> for Timestamp {
    fn from(t: TimestampJson) -> Self {
        Timestamp(t.unix)
    }
}

/// The version a record version replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousVersion {
    /// Its version number.
    pub version: u64,
    /// Its ciphertext hash.
    pub ciphertext_sha256: Sha256Hex,
    /// The transaction that wrote it.
    pub tx_id: String,
}

/// One version of a record, as stored (head key and version key): the
/// metadata readers see, plus what only an audited access decision hands
/// out: where the ciphertext lives, and the fingerprints of the keys its
/// data key is wrapped to at rest (the home hospital's and the patient's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordVersion {
    /// What unaudited reads return; flattened, so the stored JSON is one object.
    #[serde(flatten)]
    pub meta: RecordMetadata,
    /// Where the ciphertext lives: in a grant (`request_access`), never in
    /// an unaudited read.
    pub storage_pointer: StoragePointer,
    /// Fingerprints of the keys this version's data key is wrapped to.
    pub wraps: Vec<KeyFingerprint>,
}

/// Record metadata as unaudited reads (`get_record`, listings, history,
/// `verify_record`) return it: a stored version without its storage pointer
/// and wrap list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMetadata {
    /// Record id.
    pub record_id: RecordId,
    /// Version number.
    pub version: u64,
    /// Owner (pseudonym).
    pub patient_id: PatientId,
    /// Home hospital.
    pub home_msp: String,
    /// FHIR resource type.
    pub resource_type: ResourceType,
    /// SHA-256 of the ciphertext.
    pub ciphertext_sha256: Sha256Hex,
    /// Ciphertext size.
    pub size: u64,
    /// Author.
    pub author: Principal,
    /// Transaction time.
    pub tx_time: Timestamp,
    /// Writing transaction.
    pub tx_id: String,
    /// Blind-index tokens.
    pub blind_index: Vec<IndexToken>,
    /// Previous version link.
    pub previous: Option<PreviousVersion>,
}

impl From<RecordVersion> for RecordMetadata {
    fn from(r: RecordVersion) -> Self {
        r.meta
    }
}

/// Who a consent is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Grantee {
    /// Every doctor and nurse of a hospital.
    Org {
        /// The hospital's MSP id.
        mspid: String,
    },
    /// One user, as `CN@MSP` (see [`Principal::user`]).
    User {
        /// `CN@MSP`.
        user: String,
    },
}

/// Which of a patient's records a consent covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Scope {
    /// All of the patient's records.
    All,
    /// Records of one FHIR resource type.
    Type {
        /// The type.
        resource_type: ResourceType,
    },
    /// One record (every version).
    Record {
        /// The record.
        record_id: RecordId,
    },
}

/// A revocation of a consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Who revoked.
    pub by: Principal,
    /// When.
    pub at: Timestamp,
    /// Revoking transaction.
    pub tx_id: String,
}

/// A consent, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Id (the granting transaction's id).
    pub consent_id: String,
    /// Whose records.
    pub patient_id: PatientId,
    /// To whom.
    pub grantee: Grantee,
    /// Which records.
    pub scope: Scope,
    /// Expiry (exclusive), if any.
    pub expires_at: Option<Timestamp>,
    /// Who granted.
    pub granted_by: Principal,
    /// When.
    pub granted_at: Timestamp,
    /// Set once revoked.
    pub revoked: Option<Revocation>,
}

/// An emergency ("break-glass") opening of a patient's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlass {
    /// Id (the opening transaction's id).
    pub break_glass_id: String,
    /// Whose records.
    pub patient_id: PatientId,
    /// The doctor who opened it.
    pub opened_by: Principal,
    /// The stated reason.
    pub reason: String,
    /// When.
    pub opened_at: Timestamp,
    /// Access ends at this time (exclusive).
    pub expires_at: Timestamp,
    /// Always true: every break-glass is reviewed after the fact.
    pub flagged_for_review: bool,
}

/// One version of one record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VersionRef {
    /// Record.
    pub record_id: RecordId,
    /// Version.
    pub version: u64,
}

/// A delivery of data keys to a break-glass doctor recorded before key
/// release moved to per-request custody (the custodian now releases a data
/// key per committed `request_access` and records no wrap for the doctor):
/// which record versions got a wrap for the doctor's key, and when the wraps
/// were withdrawn again. Kept so `close_break_glass` still withdraws such
/// wraps. Judged by the contract's every-hospital chaincode policy; only the
/// home hospital's custodian reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassGrant {
    /// The break-glass this delivery serves.
    pub break_glass_id: String,
    /// Whose records.
    pub patient_id: PatientId,
    /// The doctor who broke the glass.
    pub doctor: Principal,
    /// Fingerprint of the doctor's encryption key (the wrap name).
    pub key_fingerprint: KeyFingerprint,
    /// Versions wrapped for the doctor.
    pub versions: Vec<VersionRef>,
    /// The custodian who delivered the (latest) wraps.
    pub fulfilled_by: Principal,
    /// When the first wraps were delivered.
    pub fulfilled_at: Timestamp,
    /// Transactions that delivered wraps, oldest first.
    pub tx_ids: Vec<String>,
    /// Set once the wraps are withdrawn (the break-glass expired or was reviewed).
    pub withdrawn: Option<Revocation>,
}

/// The after-the-fact review of a break-glass; it also closes the
/// break-glass if it is still in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlassReview {
    /// The break-glass reviewed.
    pub break_glass_id: String,
    /// Whose records.
    pub patient_id: PatientId,
    /// The reviewer (an auditor or a home administrator).
    pub reviewed_by: Principal,
    /// When.
    pub reviewed_at: Timestamp,
    /// Reviewing transaction.
    pub tx_id: String,
    /// The reviewer's finding.
    pub note: String,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// An access request (granted or denied).
    Access,
    /// A break-glass opening.
    BreakGlass,
    /// A consent granted.
    ConsentGrant,
    /// A consent revoked.
    ConsentRevoke,
    /// The home hospital's custodian wrapped data keys for a break-glass
    /// doctor. No longer written (keys are released per request); kept so
    /// trails holding such entries still read.
    BreakGlassFulfil,
    /// A break-glass was closed (expired or reviewed), and any wraps an
    /// earlier delivery left for the doctor withdrawn.
    BreakGlassClose,
    /// A break-glass was reviewed.
    BreakGlassReview,
}

impl AuditAction {
    /// True for break-glass steps (opening, key delivery, closing, review):
    /// their entries are flagged for review.
    pub fn is_break_glass(self) -> bool {
        matches!(
            self,
            AuditAction::BreakGlass
                | AuditAction::BreakGlassFulfil
                | AuditAction::BreakGlassClose
                | AuditAction::BreakGlassReview
        )
    }
}

/// One audit entry. Holds no key material: no wrap names, no fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Transaction that wrote the entry.
    pub tx_id: String,
    /// Transaction time.
    pub time: Timestamp,
    /// What happened.
    pub action: AuditAction,
    /// Patient concerned.
    pub patient_id: PatientId,
    /// Record concerned, if one.
    pub record_id: Option<RecordId>,
    /// Record version concerned, if one.
    pub version: Option<u64>,
    /// Who acted.
    pub actor: Principal,
    /// Whether it was allowed.
    pub granted: bool,
    /// Why (the basis of a grant, or the reason of a denial / break-glass).
    pub reason: String,
    /// True when break-glass was involved; such entries are flagged for review.
    pub break_glass: bool,
}

/// The work-list entry of an open break-glass: the value of its keys on the
/// custodian's open list and on the reviewers' unreviewed list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEntry {
    /// Whose records.
    pub patient_id: PatientId,
    /// The break-glass.
    pub break_glass_id: String,
}
