//! HealthBlock's Fabric client.
//!
//! Owns: talking to Fabric (real Fabric or the devnet, same wire) as a client:
//! the Gateway flow (evaluate, endorse, submit, commit status), chaincode
//! events, block delivery and chain height, and the admin calls
//! ([`admin`]: chaincode packages, `_lifecycle`, channel join, orderer
//! channel participation).
//!
//! Structure follows the concepts of Fabric's gateway client, one module each:
//! [`gateway`] → [`network`] → [`contract`]; [`proposal`], [`transaction`],
//! [`commit`], [`signing`], [`chaincode_events`], [`block_events`].
//!
//! ```no_run
//! # async fn demo(id: fabric_msp::SigningIdentity, ca: &[u8]) -> Result<(), fabric_client::Error> {
//! let gateway = fabric_client::Gateway::connect("127.0.0.1:7051", ca, None, id).await?;
//! let network = gateway.network("ehr");
//! let contract = network.contract("records");
//! contract.submit("put", ["key", "value"]).await?;
//! let value = contract.evaluate("get", ["key"]).await?;
//! let height = network.block_height().await?;
//! # let _ = (value, height); Ok(()) }
//! ```

pub mod admin;
pub mod block_events;
pub mod chaincode_events;
pub mod commit;
pub mod connection;
pub mod contract;
pub mod error;
pub mod gateway;
pub mod network;
pub mod proposal;
pub mod signing;
pub mod transaction;

#[cfg(test)]
mod test_vectors;

pub use block_events::EventStream;
pub use chaincode_events::ChaincodeEvent;
pub use commit::{CommitStatus, SubmittedTransaction, TxValidationCode};
pub use connection::{ClientTls, Endpoint, MAX_MESSAGE_BYTES};
pub use contract::{Contract, PreparedTransaction, TransactionRequest};
pub use error::{Error, ErrorDetail, Result, RpcError, Stage};
pub use gateway::{Gateway, Timeouts};
pub use network::Network;
pub use proposal::{Proposal, ProposalBuilder};
pub use signing::TransactionContext;

pub use fabric_proto::common::Block;
pub use fabric_proto::protos::FilteredBlock;
