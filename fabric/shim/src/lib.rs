//! The chaincode side of Hyperledger Fabric's chaincode-as-a-service (CCaaS)
//! protocol.
//!
//! A contract implements [`Chaincode`] and talks to the ledger through a
//! [`ChaincodeStub`]. [`serve`] runs the gRPC server the peer dials
//! (service `protos.Chaincode`, rpc `Connect`); [`MemoryLedger`] runs the same
//! contract against an in-memory ledger for unit tests.
//!
//! ```no_run
//! use fabric_shim::{async_trait, error, success, Chaincode, ChaincodeStub, Response, ServerConfig};
//!
//! struct Hello;
//!
//! #[async_trait]
//! impl Chaincode for Hello {
//!     async fn invoke(&self, stub: &mut dyn ChaincodeStub) -> Response {
//!         match stub.put_state("hello", b"world".to_vec()).await {
//!             Ok(()) => success(Vec::new()),
//!             Err(e) => error(e.to_string()),
//!         }
//!     }
//! }
//!
//! # async fn run() -> Result<(), fabric_shim::ShimError> {
//! fabric_shim::serve(Hello, ServerConfig::from_env()?).await
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chaincode;
pub mod config;
mod context;
mod error;
pub mod keys;
pub mod memory;
mod peer;
pub mod response;
mod server;
mod stub;

pub use async_trait::async_trait;
pub use chaincode::Chaincode;
pub use config::{ServerConfig, TlsConfig, MAX_MESSAGE_SIZE};
pub use context::{CreatorIdentity, TxContext};
pub use error::{Result, ShimError};
pub use keys::{create_composite_key, split_composite_key};
pub use memory::{MemoryLedger, MemoryStub};
pub use response::{error, success, Response};
pub use server::{serve, serve_with_listener, ShimService};
pub use stub::{
    ChaincodeStub, KeyModification, KeyValue, Pagination, QueryPage, VALIDATION_PARAMETER,
};
