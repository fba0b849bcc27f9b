//! The EHR contract's vocabulary, shared by the contract
//! (`healthblock-chaincode`) and its clients (`healthblock-sdk`).
//!
//! Owns: the contract's function names ([`functions`]), the JSON arguments
//! of its structured functions ([`args`]), its answers ([`results`]), the
//! documents it stores ([`model`]), the consent rules both sides apply
//! ([`consent`]), the break-glass rules ([`breakglass`]), its failure codes ([`code`]) and instant formats
//! ([`time`]). Both sides (de)serialize these types, so no JSON is built by
//! hand and a field renamed on one side cannot silently drift on the other.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod args;
pub mod breakglass;
pub mod code;
pub mod consent;
pub mod error;
pub mod functions;
pub mod keydir;
pub mod model;
pub mod results;
pub mod time;

pub use error::TypeError;
