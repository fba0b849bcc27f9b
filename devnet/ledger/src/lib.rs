//! The devnet's ledger: what one peer stores and how it decides validity.
//!
//! Owns: the block store, world state (with versions and key metadata) and
//! key history of one peer on redb, committed atomically per block; the
//! validator that assigns Fabric's TxValidationCodes to a block; and the
//! orderer's block cutter (batch rules). Domain-free: no health records here.
//!
//! A peer's commit path: `Validator::try_validate(&ledger, &block, &ctx)` gives
//! the codes and the updates; write the codes into the block's
//! TRANSACTIONS_FILTER and `ledger.commit(&block, &updates)`. Validate and commit
//! one block at a time: validation reads the state the previous block left.

pub mod cutter;
pub mod store;
pub mod validator;

pub use cutter::{message_size, BatchConfig, BlockCutter, TooLarge};
pub use store::{
    apply_write, transactions_filter, Ledger, LedgerError, StateUpdates, TxStatus, VersionedValue,
    WriteOp,
};
pub use validator::{ChaincodeRegistry, ValidationContext, Validator};

/// (block number, tx number) of the last valid write of a key.
pub type Version = (u64, u64);
