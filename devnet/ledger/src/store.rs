//! One peer's ledger on redb: blocks, world state, key history, txid index.
//! Every block commits in one redb write transaction, so kill -9 at any
//! moment leaves either the whole block or none of it.

use crate::Version;
use fabric_proto::common::Block;
use fabric_proto::queryresult::KeyModification;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger storage: {0}")]
    Storage(String),
    #[error("block {got} does not follow height {height}")]
    OutOfOrder { got: u64, height: u64 },
}

/// A key's current value, version and metadata (e.g. `VALIDATION_PARAMETER`).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedValue {
    pub value: Vec<u8>,
    pub version: Version,
    pub metadata: BTreeMap<String, Vec<u8>>,
}

/// One state change produced by a valid transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    Put(Vec<u8>),
    Delete,
    /// Replace the key's metadata entries (the value is unchanged).
    Metadata(BTreeMap<String, Vec<u8>>),
}

/// The state updates of a block: (namespace, key) -> ops with the writing (tx number, txid, timestamp).
#[derive(Debug, Clone, Default)]
pub struct StateUpdates {
    pub writes: Vec<(String, String, WriteOp, u64, String, Option<prost_types::Timestamp>)>,
}

/// A peer's ledger.
pub struct Ledger {
    _db: redb::Database,
}

impl Ledger {
    /// Opens or creates the ledger at `path` (a file).
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        let _ = path;
        todo!()
    }

    /// Number of committed blocks.
    pub fn height(&self) -> u64 {
        todo!()
    }

    /// A committed block, with its TRANSACTIONS_FILTER filled in.
    pub fn block(&self, number: u64) -> Option<Block> {
        let _ = number;
        todo!()
    }

    /// Header hash of the last block (empty at height 0).
    pub fn tip_hash(&self) -> Vec<u8> {
        todo!()
    }

    pub fn get_state(&self, namespace: &str, key: &str) -> Option<VersionedValue> {
        let _ = (namespace, key);
        todo!()
    }

    /// Keys in `[start, end)` of a namespace in key order (empty `end` = to the end of the namespace).
    pub fn range(&self, namespace: &str, start: &str, end: &str) -> Vec<(String, VersionedValue)> {
        let _ = (namespace, start, end);
        todo!()
    }

    /// All modifications of a key, newest first.
    pub fn history(&self, namespace: &str, key: &str) -> Vec<KeyModification> {
        let _ = (namespace, key);
        todo!()
    }

    /// Block number and validation code of a committed txid.
    pub fn tx_status(&self, txid: &str) -> Option<(u64, i32)> {
        let _ = txid;
        todo!()
    }

    /// Appends `block` (whose TRANSACTIONS_FILTER is already set) and applies `updates`, atomically.
    pub fn commit(&self, block: &Block, updates: &StateUpdates) -> Result<(), LedgerError> {
        let _ = (block, updates);
        todo!()
    }
}
