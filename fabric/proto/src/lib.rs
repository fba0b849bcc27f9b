//! Fabric's wire schema as Rust types.
//!
//! The `.proto` files in `proto/` are HealthBlock's own subset of Fabric's
//! messages: field numbers and types are wire facts taken from Fabric, the
//! files and comments are ours. Each protobuf package becomes a module with
//! the same name, so generated cross-references (`super::common::...`) resolve.
//! [`rpc_status`] adds gRPC's own `google.rpc.Status`, which carries the
//! Gateway's error details.

#![allow(clippy::all, missing_docs)]

pub mod common {
    include!(concat!(env!("OUT_DIR"), "/common.rs"));
}
pub mod msp {
    include!(concat!(env!("OUT_DIR"), "/msp.rs"));
}
pub mod rwset {
    include!(concat!(env!("OUT_DIR"), "/rwset.rs"));
}
pub mod kvrwset {
    include!(concat!(env!("OUT_DIR"), "/kvrwset.rs"));
}
pub mod queryresult {
    include!(concat!(env!("OUT_DIR"), "/queryresult.rs"));
}
pub mod protos {
    include!(concat!(env!("OUT_DIR"), "/protos.rs"));
}
pub mod orderer {
    include!(concat!(env!("OUT_DIR"), "/orderer.rs"));
}
pub mod gateway {
    include!(concat!(env!("OUT_DIR"), "/gateway.rs"));
}

pub mod lifecycle {
    include!(concat!(env!("OUT_DIR"), "/lifecycle.rs"));
}

pub mod rpc_status;

pub use prost;
pub use prost_types;
pub use tonic;
