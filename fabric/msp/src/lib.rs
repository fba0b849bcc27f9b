//! Fabric identities and the membership service provider (MSP).
//!
//! Owns: loading an MSP directory in Fabric's layout, signing with a P-256
//! key (always low-S, as Fabric requires), verifying signatures (high-S is
//! rejected), validating certificates against an org's root/intermediate CAs
//! and expiry, and classifying an identity's NodeOU role.
//!
//! Knows nothing of transactions, blocks or policies.

mod cert;
pub mod error;
mod fast_verify;
mod files;
pub mod identity;
pub mod msp;
pub mod node_ous;
pub mod signer;
mod validated;
mod verified;

pub use cert::{fabric_ca_attributes, FABRIC_CA_ATTRIBUTES_OID};
pub use error::MspError;
pub use identity::{Identity, Role};
pub use msp::{Msp, MspManager, NodeOus};
pub use signer::{sha256, verify_signature, SigningIdentity};
