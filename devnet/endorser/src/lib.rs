//! A devnet peer's endorsement path.
//!
//! Owns: checking a signed proposal, the peer side of the chaincode shim
//! (dialling chaincode-as-a-service servers), simulation that records
//! Fabric read/write sets, signing proposal responses, the ChaincodeInterest,
//! and the `_lifecycle` system chaincode that installs, approves and commits
//! chaincode definitions (kept in the `_lifecycle` namespace of world state).
