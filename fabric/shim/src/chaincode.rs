//! The `Chaincode` trait a contract implements.

use async_trait::async_trait;

use crate::response::{success, Response};
use crate::stub::ChaincodeStub;

/// A smart contract. The shim calls `init` for INIT messages (chaincode
/// definitions with `--init-required`) and `invoke` for every transaction.
///
/// Return `success(..)` or `error(..)`; an application failure is a normal
/// response with status 500, which the endorser refuses to endorse.
/// Transactions run concurrently, so implementations must be `Sync`.
#[async_trait]
pub trait Chaincode: Send + Sync + 'static {
    /// Initialises the contract; by default does nothing and succeeds.
    async fn init(&self, stub: &mut dyn ChaincodeStub) -> Response {
        let _ = stub;
        success(Vec::new())
    }

    /// Runs one transaction.
    async fn invoke(&self, stub: &mut dyn ChaincodeStub) -> Response;
}
