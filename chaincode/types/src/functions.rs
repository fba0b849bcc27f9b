//! Owns: the names of the contract's functions, the one list the contract
//! dispatches on and clients call by.

/// `whoami()`.
pub const WHOAMI: &str = "whoami";
/// `register_patient(pid)`.
pub const REGISTER_PATIENT: &str = "register_patient";
/// `get_patient(pid)`.
pub const GET_PATIENT: &str = "get_patient";
/// `put_record(json PutArgs)`.
pub const PUT_RECORD: &str = "put_record";
/// `update_wraps(json WrapArgs or [WrapArgs])`.
pub const UPDATE_WRAPS: &str = "update_wraps";
/// `get_record(rid[, version])`.
pub const GET_RECORD: &str = "get_record";
/// `list_records_by_patient(pid[, page size, bookmark])`.
pub const LIST_RECORDS_BY_PATIENT: &str = "list_records_by_patient";
/// `list_records_by_token(token[, page size, bookmark])`.
pub const LIST_RECORDS_BY_TOKEN: &str = "list_records_by_token";
/// `record_history(rid)`.
pub const RECORD_HISTORY: &str = "record_history";
/// `verify_record(rid, version)`.
pub const VERIFY_RECORD: &str = "verify_record";
/// `grant_consent(json GrantArgs)`.
pub const GRANT_CONSENT: &str = "grant_consent";
/// `revoke_consent(pid, consent id)`.
pub const REVOKE_CONSENT: &str = "revoke_consent";
/// `list_consents(pid[, page size, bookmark])`.
pub const LIST_CONSENTS: &str = "list_consents";
/// `request_access(rid, version or "", key fingerprint)`.
pub const REQUEST_ACCESS: &str = "request_access";
/// `break_glass(pid, reason)`.
pub const BREAK_GLASS: &str = "break_glass";
/// `set_break_glass_limit(n)`.
pub const SET_BREAK_GLASS_LIMIT: &str = "set_break_glass_limit";
/// `get_break_glass_limit()`.
pub const GET_BREAK_GLASS_LIMIT: &str = "get_break_glass_limit";
/// `review_break_glass(pid, id, note)`.
pub const REVIEW_BREAK_GLASS: &str = "review_break_glass";
/// `list_unreviewed_break_glass([home MSP, page size, bookmark])`.
pub const LIST_UNREVIEWED_BREAK_GLASS: &str = "list_unreviewed_break_glass";
/// `list_open_break_glass([page size, bookmark])`.
pub const LIST_OPEN_BREAK_GLASS: &str = "list_open_break_glass";
/// `close_break_glass(pid, id)`.
pub const CLOSE_BREAK_GLASS: &str = "close_break_glass";
/// `list_break_glass(pid[, page size, bookmark])`.
pub const LIST_BREAK_GLASS: &str = "list_break_glass";
/// `audit_by_patient(pid[, page size, bookmark])`.
pub const AUDIT_BY_PATIENT: &str = "audit_by_patient";
/// `publish_key(pem[, "hospital"])`: publish the caller's (or their hospital's) encryption public key.
pub const PUBLISH_KEY: &str = "publish_key";
/// `revoke_key(["hospital"])`: revoke the caller's (or their hospital's) published key.
pub const REVOKE_KEY: &str = "revoke_key";
/// `get_key(owner)`: a published key (anyone may read public keys).
pub const GET_KEY: &str = "get_key";
/// `audit_by_record(rid[, page size, bookmark])`.
pub const AUDIT_BY_RECORD: &str = "audit_by_record";

/// Name of the chaincode event every access decision emits.
pub const ACCESS_EVENT: &str = "access";
/// Name of the chaincode event emitted when the glass is broken.
pub const BREAK_GLASS_EVENT: &str = "breakglass";

/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: i32 = 500;
/// Most versions one `update_wraps` transaction may change.
pub const MAX_WRAP_UPDATES: usize = 500;
/// Most wraps per version.
pub const MAX_WRAPS: usize = 256;
/// Most blind-index tokens per version.
pub const MAX_TOKENS: usize = 64;
