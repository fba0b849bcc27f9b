//! HealthBlock's chaincode contracts, served over chaincode-as-a-service with
//! `fabric-shim`.
//!
//! - [`kv`]: the key-value stand-in contract (`healthblock-kvcc`), mirroring
//!   the functions of the chaincode that produced the Fabric test vectors.
//! - [`ehr`]: the EHR contract (`healthblock-ehrcc`).
//! - [`sbe`]: key-level (state-based) endorsement policies.
//! - [`server_main`]: the shared `main` of the chaincode binaries.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ehr;
pub mod kv;
pub mod sbe;
pub mod server_main;
