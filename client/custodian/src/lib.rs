//! A hospital's key custodian: audited key release.
//!
//! A version's data key is wrapped at rest only for its patient's home
//! hospital and the patient. Any other reader, the hospital's own staff
//! included, commits a `request_access` transaction and then asks the home
//! hospital's custodian with its id. The custodian
//!
//! 1. authenticates the caller by TLS with their Fabric enrollment
//!    certificate, validated by the consortium's MSPs ([`tls`]);
//! 2. reads the transaction on its own hospital's peer (qscc
//!    GetTransactionByID) and checks it ([`decision`]): committed VALID,
//!    created by the caller, the contract's `request_access` answering a
//!    grant, for a patient of this hospital, at most
//!    [`service::DEFAULT_MAX_AGE`] old;
//! 3. checks the key the decision names is still the caller's published
//!    key, redeems the decision once ([`redeemed`]), and
//! 4. only then opens the hospital's wrap and seals the key to the caller
//!    ([`service`]); the endpoint is [`server`].
//!
//! No ledger confirmation, no key: every failure is a refusal.

pub mod decision;
pub mod redeemed;
pub mod server;
pub mod service;
pub mod tls;

pub use redeemed::Redeemed;
pub use service::{Custodian, DEFAULT_MAX_AGE};
