//! Read-set validation (MVCC and phantom reads) against committed state plus the
//! writes of earlier valid transactions of the same block, as Fabric's kvledger
//! validator does:
//!
//! - a read whose key was written (or deleted) by an earlier valid transaction of
//!   the block is a conflict, whatever version it recorded;
//! - otherwise the recorded version must equal the committed one (a read of a
//!   missing key records no version);
//! - a range query is re-run over committed state merged with the block's earlier
//!   writes, over `[start, end)` plus `end` itself when the iterator was not
//!   exhausted, and must give the same keys and versions (raw reads) or the same
//!   Merkle summary (hashed reads), recomputed with `fabric_block::merkle_summary`.

use super::envelope::NsRwSet;
use crate::store::apply_write;
use crate::{Ledger, LedgerError, Version, VersionedValue, WriteOp};
use fabric_block::merkle_summary;
use fabric_proto::kvrwset::range_query_info::ReadsInfo;
use fabric_proto::kvrwset::{KvRead, RangeQueryInfo};
use fabric_proto::protos::TxValidationCode as Code;
use std::collections::BTreeMap;

/// The state written by the block's valid transactions so far; `None` = deleted.
#[derive(Default)]
pub(crate) struct BlockOverlay {
    entries: BTreeMap<(String, String), Option<VersionedValue>>,
}

impl BlockOverlay {
    fn get(&self, namespace: &str, key: &str) -> Option<&Option<VersionedValue>> {
        self.entries.get(&(namespace.to_string(), key.to_string()))
    }

    /// Applies one write of a valid transaction. Returns false when the write has no
    /// effect (metadata on a missing key), which Fabric does not count as an update.
    pub fn apply(
        &mut self,
        ledger: &Ledger,
        namespace: &str,
        key: &str,
        op: &WriteOp,
        version: Version,
    ) -> Result<bool, LedgerError> {
        let prev = match self.get(namespace, key) {
            Some(v) => v.clone(),
            None => ledger.try_get_state(namespace, key)?,
        };
        if prev.is_none() && matches!(op, WriteOp::Metadata(_)) {
            return Ok(false);
        }
        let next = apply_write(prev.as_ref(), op, version);
        self.entries
            .insert((namespace.to_string(), key.to_string()), next);
        Ok(true)
    }

    /// Versions of the block's writes in `[start, end)` of a namespace (empty end = no bound).
    fn range(&self, namespace: &str, start: &str, end: &str) -> Vec<(String, Option<Version>)> {
        let from = (namespace.to_string(), start.to_string());
        self.entries
            .range(from..)
            .take_while(|((ns, key), _)| ns == namespace && (end.is_empty() || key.as_str() < end))
            .map(|((_, key), v)| (key.clone(), v.as_ref().map(|v| v.version)))
            .collect()
    }
}

/// MVCC and phantom checks of a transaction's read sets, namespace by namespace.
pub(crate) fn check(
    ledger: &Ledger,
    overlay: &BlockOverlay,
    ns_rwsets: &[NsRwSet],
) -> Result<Option<Code>, LedgerError> {
    for ns in ns_rwsets {
        for read in &ns.kv.reads {
            if !read_is_current(ledger, overlay, &ns.namespace, read)? {
                return Ok(Some(Code::MvccReadConflict));
            }
        }
        for query in &ns.kv.range_queries_info {
            if !range_is_current(ledger, overlay, &ns.namespace, query)? {
                return Ok(Some(Code::PhantomReadConflict));
            }
        }
    }
    Ok(None)
}

fn read_is_current(
    ledger: &Ledger,
    overlay: &BlockOverlay,
    namespace: &str,
    read: &KvRead,
) -> Result<bool, LedgerError> {
    if overlay.get(namespace, &read.key).is_some() {
        return Ok(false);
    }
    let committed = ledger
        .try_get_state(namespace, &read.key)?
        .map(|v| v.version);
    let recorded = read.version.map(|v| (v.block_num, v.tx_num));
    Ok(committed == recorded)
}

fn range_is_current(
    ledger: &Ledger,
    overlay: &BlockOverlay,
    namespace: &str,
    query: &RangeQueryInfo,
) -> Result<bool, LedgerError> {
    let results = rerun_range(ledger, overlay, namespace, query)?;
    Ok(match &query.reads_info {
        Some(ReadsInfo::ReadsMerkleHashes(expected)) => {
            merkle_summary(&results, expected.max_degree).is_some_and(|got| got == *expected)
        }
        Some(ReadsInfo::RawReads(raw)) => same_reads(&raw.kv_reads, &results),
        None => results.is_empty(),
    })
}

fn same_reads(recorded: &[KvRead], results: &[KvRead]) -> bool {
    recorded.len() == results.len()
        && recorded.iter().zip(results).all(|(r, now)| {
            // A recorded range result without a version can never match (Fabric would crash on it).
            r.key == now.key && r.version.is_some() && r.version == now.version
        })
}

/// The range query's results now: committed state merged with the block's writes.
fn rerun_range(
    ledger: &Ledger,
    overlay: &BlockOverlay,
    namespace: &str,
    query: &RangeQueryInfo,
) -> Result<Vec<KvRead>, LedgerError> {
    let (start, end) = (query.start_key.as_str(), query.end_key.as_str());
    let mut merged: BTreeMap<String, Option<Version>> = ledger
        .try_range(namespace, start, end)?
        .into_iter()
        .map(|(k, v)| (k, Some(v.version)))
        .collect();
    merged.extend(overlay.range(namespace, start, end));
    let mut results: Vec<KvRead> = merged
        .into_iter()
        .filter_map(|(key, version)| Some(kv_read(key, version?)))
        .collect();
    // A query that stopped early (not exhausted) recorded its end key too, if present.
    if !query.itr_exhausted {
        let end_version = match overlay.get(namespace, end) {
            Some(v) => v.as_ref().map(|v| v.version),
            None => ledger.try_get_state(namespace, end)?.map(|v| v.version),
        };
        if let Some(version) = end_version {
            results.push(kv_read(end.to_string(), version));
        }
    }
    Ok(results)
}

fn kv_read(key: String, (block_num, tx_num): Version) -> KvRead {
    KvRead {
        key,
        version: Some(fabric_proto::kvrwset::Version { block_num, tx_num }),
    }
}
