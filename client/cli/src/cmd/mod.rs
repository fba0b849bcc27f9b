//! One module per command group.

pub(crate) mod bench;
pub(crate) mod caliper;
pub(crate) mod chaincode;
pub(crate) mod channel;
pub(crate) mod clinical;
pub(crate) mod config_update;
pub(crate) mod custodian;
pub(crate) mod ledger;
pub(crate) mod lifecycle;
pub(crate) mod network;
pub(crate) mod org;
pub(crate) mod tune;
pub(crate) mod tx;
