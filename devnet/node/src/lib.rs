//! The devnet: every peer of a consortium plus a solo orderer in one process,
//! each serving Fabric's own gRPC services over its own TLS listener, so
//! Fabric's SDKs and tools cannot tell it from Fabric.
//!
//! Start it with [`Devnet::start`] (or [`run`] until a shutdown future
//! resolves); the `healthblock-devnet` binary runs it from a JSON
//! [`DevnetConfig`].

mod auth;
mod bundle;
mod chain;
mod channel_config;
pub mod config;
pub mod control;
mod deliver;
mod devnet;
mod envelope;
mod error;
mod events;
mod gateway;
mod genesis;
mod network;
mod orderer;
mod participation;
mod peer;
mod peer_server;
mod recv;
pub mod rpc_error;
mod server;
mod services;
mod waiters;

pub use config::{
    AdminListener, BatchSettings, DevnetConfig, OrdererConfig, OrgConfig, PeerConfig, TlsFiles,
};
pub use devnet::{run, Devnet, PeerControl};
pub use error::StartError;
pub use peer_server::NodeControlError;
pub use server::MAX_MESSAGE_BYTES;
