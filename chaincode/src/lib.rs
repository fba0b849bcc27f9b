//! HealthBlock's chaincode contracts, served over chaincode-as-a-service with
//! `fabric-shim`.
//!
//! - [`kv`]: the key-value stand-in contract (`healthblock-kvcc`), mirroring
//!   the functions of the chaincode that produced the Fabric test vectors.
//! - [`sbe`]: key-level (state-based) endorsement policies.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ehr;
pub mod kv;
pub mod sbe;
