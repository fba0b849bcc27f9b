//! What a range query leaves in the read set, for phantom-read detection.
//!
//! Owns: Fabric's range-query results helper. Up to `MAX_DEGREE` (50) results
//! are kept as raw `KVRead`s; beyond that they are folded into a Merkle
//! summary: every `MAX_DEGREE + 1` results are serialized as `QueryReads` and
//! hashed (SHA-256) into a level-1 node, every `MAX_DEGREE + 1` nodes of a
//! level are concatenated and hashed into the next level, and at the end the
//! partial levels are folded up to the highest one.

use fabric_proto::kvrwset::{
    range_query_info::ReadsInfo, KvRead, QueryReads, QueryReadsMerkleSummary, RangeQueryInfo,
};
use prost::Message;
use std::collections::BTreeMap;

/// Fabric's `maxDegreeQueryReadsHashing`.
pub const MAX_DEGREE: usize = 50;

fn sha256(bytes: &[u8]) -> Vec<u8> {
    fabric_msp::sha256(bytes).to_vec()
}

fn combined_hash(hashes: &[Vec<u8>]) -> Vec<u8> {
    sha256(&hashes.concat())
}

/// Accumulates a range query's results as they are read.
#[derive(Debug, Clone)]
pub struct RangeResults {
    pending: Vec<KvRead>,
    /// level -> hashes at that level (level 1 = hashes of raw-read batches).
    tree: BTreeMap<u32, Vec<Vec<u8>>>,
    max_level: u32,
}

impl Default for RangeResults {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
            tree: BTreeMap::new(),
            max_level: 1,
        }
    }
}

impl RangeResults {
    pub fn add(&mut self, read: KvRead) {
        self.pending.push(read);
        if self.pending.len() > MAX_DEGREE {
            self.fold_pending();
        }
    }

    fn fold_pending(&mut self) {
        let batch = QueryReads {
            kv_reads: std::mem::take(&mut self.pending),
        };
        self.push_leaf(sha256(&batch.encode_to_vec()));
    }

    fn push_leaf(&mut self, hash: Vec<u8>) {
        self.tree.entry(1).or_default().push(hash);
        let mut level = 1;
        loop {
            let hashes = self.tree.get(&level).cloned().unwrap_or_default();
            if hashes.len() <= MAX_DEGREE {
                return;
            }
            self.tree.remove(&level);
            let next = level + 1;
            self.tree
                .entry(next)
                .or_default()
                .push(combined_hash(&hashes));
            self.max_level = self.max_level.max(next);
            level = next;
        }
    }

    fn tree_is_empty(&self) -> bool {
        self.max_level == 1 && self.tree.get(&1).is_none_or(Vec::is_empty)
    }

    /// The reads info for the rwset: raw reads (none at all when nothing was read)
    /// or the Merkle summary once more than `MAX_DEGREE` results were read.
    pub fn finish(mut self) -> Option<ReadsInfo> {
        if self.tree_is_empty() {
            if self.pending.is_empty() {
                return None;
            }
            return Some(ReadsInfo::RawReads(QueryReads {
                kv_reads: self.pending,
            }));
        }
        if !self.pending.is_empty() {
            self.fold_pending();
        }
        let mut level = 1;
        while level < self.max_level {
            let hashes = self.tree.remove(&level).unwrap_or_default();
            let folded = match hashes.len() {
                0 => None,
                1 => hashes.into_iter().next(),
                _ => Some(combined_hash(&hashes)),
            };
            level += 1;
            if let Some(h) = folded {
                self.tree.entry(level).or_default().push(h);
            }
        }
        let top = self.tree.remove(&self.max_level).unwrap_or_default();
        let (max_level, hashes) = if top.len() > MAX_DEGREE {
            (self.max_level + 1, vec![combined_hash(&top)])
        } else {
            (self.max_level, top)
        };
        Some(ReadsInfo::ReadsMerkleHashes(QueryReadsMerkleSummary {
            max_degree: MAX_DEGREE as u32,
            max_level,
            max_level_hashes: hashes,
        }))
    }
}

/// A range query as the simulation saw it: its bounds, what it read, and whether it ran to the end.
#[derive(Debug, Clone, Default)]
pub struct RangeRecord {
    pub start_key: String,
    /// The requested end key (empty = unbounded).
    pub requested_end: String,
    /// The last key read so far.
    pub last_key: String,
    pub exhausted: bool,
    pub results: RangeResults,
}

impl RangeRecord {
    pub fn new(start_key: &str, requested_end: &str) -> Self {
        Self {
            start_key: start_key.to_string(),
            requested_end: requested_end.to_string(),
            ..Self::default()
        }
    }

    pub fn read(&mut self, read: KvRead) {
        self.last_key = read.key.clone();
        self.results.add(read);
    }

    /// Fabric's RangeQueryInfo: the end key is the requested one once the
    /// iterator is exhausted, otherwise the last key read.
    pub fn into_info(self) -> RangeQueryInfo {
        RangeQueryInfo {
            start_key: self.start_key,
            end_key: if self.exhausted {
                self.requested_end
            } else {
                self.last_key
            },
            itr_exhausted: self.exhausted,
            reads_info: self.results.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rwset::kv_read;

    fn reads(n: usize) -> Vec<KvRead> {
        (0..n)
            .map(|i| kv_read(&format!("k{i:04}"), Some((1, i as u64))))
            .collect()
    }

    #[test]
    fn few_results_stay_raw() {
        let mut r = RangeResults::default();
        for read in reads(MAX_DEGREE) {
            r.add(read);
        }
        match r.finish() {
            Some(ReadsInfo::RawReads(q)) => assert_eq!(q.kv_reads.len(), MAX_DEGREE),
            other => panic!("expected raw reads, got {other:?}"),
        }
    }

    #[test]
    fn nothing_read_records_no_reads_info() {
        assert!(RangeResults::default().finish().is_none());
    }

    #[test]
    fn many_results_become_a_merkle_summary() {
        let all = reads(MAX_DEGREE + 2);
        let mut r = RangeResults::default();
        for read in all.clone() {
            r.add(read);
        }
        // 51 reads make the first leaf, the last read a second leaf; two
        // level-1 hashes stay at level 1 (2 <= MAX_DEGREE).
        let first = sha256(
            &QueryReads {
                kv_reads: all[..=MAX_DEGREE].to_vec(),
            }
            .encode_to_vec(),
        );
        let second = sha256(
            &QueryReads {
                kv_reads: all[MAX_DEGREE + 1..].to_vec(),
            }
            .encode_to_vec(),
        );
        match r.finish() {
            Some(ReadsInfo::ReadsMerkleHashes(s)) => {
                assert_eq!(s.max_degree, 50);
                assert_eq!(s.max_level, 1);
                assert_eq!(s.max_level_hashes, vec![first, second]);
            }
            other => panic!("expected a merkle summary, got {other:?}"),
        }
    }

    /// The validator recomputes the summary from the reads it sees; both sides must agree.
    #[test]
    fn summary_matches_the_validators() {
        for n in [MAX_DEGREE + 1, 120, 2601, 3000] {
            let all = reads(n);
            let mut r = RangeResults::default();
            for read in all.clone() {
                r.add(read);
            }
            let Some(ReadsInfo::ReadsMerkleHashes(ours)) = r.finish() else {
                panic!("{n} reads must be summarised")
            };
            let theirs = devnet_ledger::validator::merkle_summary(&all, MAX_DEGREE as u32);
            assert_eq!(Some(ours), theirs, "{n} reads");
        }
    }

    #[test]
    fn end_key_is_last_read_until_exhausted() {
        let mut rec = RangeRecord::new("a", "z");
        rec.read(kv_read("b", Some((1, 0))));
        assert_eq!(rec.clone().into_info().end_key, "b");
        rec.exhausted = true;
        let info = rec.into_info();
        assert_eq!(info.end_key, "z");
        assert!(info.itr_exhausted);
    }
}
