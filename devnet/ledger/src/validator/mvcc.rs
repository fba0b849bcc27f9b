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
//!   Merkle summary (hashed reads).

use super::envelope::NsRwSet;
use crate::store::apply_write;
use crate::{Ledger, LedgerError, Version, VersionedValue, WriteOp};
use fabric_proto::kvrwset::range_query_info::ReadsInfo;
use fabric_proto::kvrwset::{KvRead, QueryReads, QueryReadsMerkleSummary, RangeQueryInfo};
use fabric_proto::protos::TxValidationCode as Code;
use prost::Message;
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

/// Fabric's Merkle summary of range results (rwsetutil RangeQueryResultsHelper):
/// results are hashed in chunks of `max_degree + 1` serialized `QueryReads`, and
/// hashes are combined level by level whenever a level exceeds `max_degree`.
/// None when the results are too few to have been hashed, or the degree is invalid.
pub fn merkle_summary(results: &[KvRead], max_degree: u32) -> Option<QueryReadsMerkleSummary> {
    if max_degree < 2 {
        return None;
    }
    let chunk = max_degree as usize + 1;
    if results.len() < chunk {
        return None;
    }
    let mut tree = MerkleTree::new(max_degree as usize);
    let mut chunks = results.chunks(chunk);
    for c in chunks.by_ref() {
        tree.update(hash_reads(c));
    }
    Some(tree.done())
}

fn hash_reads(reads: &[KvRead]) -> Vec<u8> {
    fabric_msp::sha256(
        &QueryReads {
            kv_reads: reads.to_vec(),
        }
        .encode_to_vec(),
    )
    .to_vec()
}

fn combined_hash(hashes: &[Vec<u8>]) -> Vec<u8> {
    fabric_msp::sha256(&hashes.concat()).to_vec()
}

/// Levels of hashes, level 1 = leaves (index 0 here).
struct MerkleTree {
    levels: Vec<Vec<Vec<u8>>>,
    max_degree: usize,
}

impl MerkleTree {
    fn new(max_degree: usize) -> Self {
        Self {
            levels: vec![Vec::new()],
            max_degree,
        }
    }

    fn update(&mut self, leaf: Vec<u8>) {
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len() > self.max_degree {
            let combined = combined_hash(&std::mem::take(&mut self.levels[level]));
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(combined);
            level += 1;
        }
    }

    fn done(mut self) -> QueryReadsMerkleSummary {
        let top = self.levels.len() - 1;
        for level in 0..top {
            let hashes = std::mem::take(&mut self.levels[level]);
            let h = match hashes.len() {
                0 => continue,
                1 => hashes.into_iter().next().unwrap_or_default(),
                _ => combined_hash(&hashes),
            };
            self.levels[level + 1].push(h);
        }
        let mut max_level = self.levels.len();
        let mut top_hashes = std::mem::take(&mut self.levels[top]);
        if top_hashes.len() > self.max_degree {
            top_hashes = vec![combined_hash(&top_hashes)];
            max_level += 1;
        }
        QueryReadsMerkleSummary {
            max_degree: self.max_degree as u32,
            max_level: max_level as u32,
            max_level_hashes: top_hashes,
        }
    }
}
