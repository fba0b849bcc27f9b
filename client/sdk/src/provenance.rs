//! Owns: reading a record version back from the transaction that wrote it.
//!
//! The contract's `verify_record` answer comes from the current state, and a
//! stored value names its own writer: whoever could rewrite the state could
//! rewrite that claim too. The block is what every peer validated, so the
//! verification finds the writing transaction in its block and takes the
//! version's hash from that transaction's own write set.

use fabric_proto::common::Block;
use healthblock_ehr_types::model::{RecordId, RecordVersion};

/// What the writing transaction's write set says about a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// The transaction wrote this version with this ciphertext hash.
    Hash(String),
    /// The version is not where the ledger says it was written: why.
    NotFound(String),
}

impl Written {
    /// The hash, when the version was found.
    pub fn hash(&self) -> Option<&str> {
        match self {
            Written::Hash(h) => Some(h),
            Written::NotFound(_) => None,
        }
    }
}

/// Finds version `version` of `rid` among the writes of transaction `tx_id`
/// to namespace `chaincode` in `block`.
pub(crate) fn written_in(
    block: &Block,
    chaincode: &str,
    tx_id: &str,
    rid: &RecordId,
    version: u64,
) -> Written {
    let number = block.header.as_ref().map_or(0, |h| h.number);
    let Some(data) = &block.data else {
        return Written::NotFound(format!("block {number} has no data"));
    };
    let Some(tx) = data
        .data
        .iter()
        .filter_map(|env| fabric_block::decode_envelope(env).ok())
        .find(|tx| tx.txid == tx_id)
    else {
        return Written::NotFound(format!("block {number} holds no transaction {tx_id}"));
    };
    let Some(action) = tx.action else {
        return Written::NotFound(format!(
            "transaction {tx_id} is not a chaincode transaction"
        ));
    };
    let hash = action
        .ns_rwsets
        .iter()
        .filter(|(namespace, _)| namespace == chaincode)
        .flat_map(|(_, kv)| kv.writes.iter())
        .filter(|w| !w.is_delete)
        .filter_map(|w| serde_json::from_slice::<RecordVersion>(&w.value).ok())
        .find(|v| v.meta.record_id == *rid && v.meta.version == version)
        .map(|v| v.meta.ciphertext_sha256.as_str().to_owned());
    match hash {
        Some(h) => Written::Hash(h),
        None => Written::NotFound(format!(
            "transaction {tx_id} (block {number}) wrote no version {version} of {rid}"
        )),
    }
}
