//! Assigns Fabric's TxValidationCodes to every transaction of a block and
//! computes the state updates of the valid ones, as every committing peer does.

use crate::{Ledger, StateUpdates};
use fabric_msp::MspManager;
use fabric_policy::EndorsementPolicy;
use fabric_proto::common::Block;

/// Where the validator finds a chaincode's endorsement policy.
pub trait ChaincodeRegistry: Send + Sync {
    /// The committed endorsement policy of chaincode `name`, or None if it is not defined.
    fn endorsement_policy(&self, name: &str) -> Option<EndorsementPolicy>;
}

/// What validation needs besides the block and the ledger.
pub struct ValidationContext<'a> {
    pub channel_id: &'a str,
    pub msps: &'a MspManager,
    pub chaincodes: &'a dyn ChaincodeRegistry,
}

/// Fabric's validation rules for endorser transactions.
pub struct Validator;

impl Validator {
    /// Returns one TxValidationCode per transaction and the updates of the valid ones.
    pub fn validate(ledger: &Ledger, block: &Block, ctx: &ValidationContext<'_>) -> (Vec<u8>, StateUpdates) {
        let _ = (ledger, block, ctx);
        todo!()
    }
}
