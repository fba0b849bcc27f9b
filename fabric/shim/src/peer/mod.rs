//! The chaincode side of the shim protocol over one peer stream.
//!
//! [`session`] runs the handshake and dispatches the peer's messages;
//! [`transaction`] runs each TRANSACTION/INIT in its own task; [`stub`] turns
//! a contract's ledger calls into requests; [`registry`] correlates the peer's
//! replies by (channel id, txid); [`link`] is the single outbound queue.

mod link;
mod registry;
mod session;
mod stub;
mod transaction;

pub(crate) use link::Outbound;
pub(crate) use session::Session;
