//! One module per command group.

pub mod bench;
pub mod chaincode;
pub mod clinical;
pub mod ledger;
pub mod lifecycle;
pub mod network;
pub mod tx;
