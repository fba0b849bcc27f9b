//! What a range query leaves in a read set, for phantom-read detection.
//!
//! Owns: Fabric's range-query results helper (rwsetutil's
//! `RangeQueryResultsHelper`), used alike by the endorser that records a
//! range query and by the validator that re-runs it. Up to `max_degree`
//! results are kept as raw `KVRead`s; beyond that they are folded into a
//! Merkle summary: every `max_degree + 1` results are serialized as
//! `QueryReads` and hashed (SHA-256) into a level-1 node, every
//! `max_degree + 1` nodes of a level are concatenated and hashed into the
//! next level, and at the end the partial levels are folded up to the
//! highest one.

use fabric_proto::kvrwset::range_query_info::ReadsInfo;
use fabric_proto::kvrwset::{KvRead, QueryReads, QueryReadsMerkleSummary};
use prost::Message;

/// Fabric's `maxDegreeQueryReadsHashing`: the degree every peer endorses with.
pub const RANGE_MAX_DEGREE: u32 = 50;

fn combined_hash(hashes: &[Vec<u8>]) -> Vec<u8> {
    fabric_msp::sha256(&hashes.concat()).to_vec()
}

/// Accumulates a range query's results as they are read.
#[derive(Debug, Clone)]
pub struct RangeResults {
    max_degree: usize,
    pending: Vec<KvRead>,
    /// Hashes per level; index 0 holds level 1 (hashes of raw-read batches).
    levels: Vec<Vec<Vec<u8>>>,
}

impl Default for RangeResults {
    /// The helper with Fabric's degree, as an endorser uses it.
    fn default() -> Self {
        Self::new(RANGE_MAX_DEGREE)
    }
}

impl RangeResults {
    /// A helper folding with `max_degree` (at least 1; a summary recorded with
    /// another degree is re-checked with that degree).
    pub fn new(max_degree: u32) -> Self {
        Self {
            max_degree: max_degree.max(1) as usize,
            pending: Vec::new(),
            levels: vec![Vec::new()],
        }
    }

    /// Adds the next result.
    pub fn add(&mut self, read: KvRead) {
        self.pending.push(read);
        if self.pending.len() > self.max_degree {
            self.fold_pending();
        }
    }

    fn fold_pending(&mut self) {
        let batch = QueryReads {
            kv_reads: std::mem::take(&mut self.pending),
        };
        self.push_leaf(fabric_msp::sha256(&batch.encode_to_vec()).to_vec());
    }

    fn push_leaf(&mut self, leaf: Vec<u8>) {
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

    fn tree_is_empty(&self) -> bool {
        self.levels.len() == 1 && self.levels[0].is_empty()
    }

    /// The reads info for the read set: none at all when nothing was read, the
    /// raw reads while there are at most `max_degree`, else the Merkle summary.
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
        let top = self.levels.len() - 1;
        for level in 0..top {
            let hashes = std::mem::take(&mut self.levels[level]);
            let folded = match hashes.len() {
                0 => continue,
                1 => hashes.into_iter().next().unwrap_or_default(),
                _ => combined_hash(&hashes),
            };
            self.levels[level + 1].push(folded);
        }
        let mut max_level = self.levels.len();
        let mut top_hashes = std::mem::take(&mut self.levels[top]);
        if top_hashes.len() > self.max_degree {
            top_hashes = vec![combined_hash(&top_hashes)];
            max_level += 1;
        }
        Some(ReadsInfo::ReadsMerkleHashes(QueryReadsMerkleSummary {
            max_degree: self.max_degree as u32,
            max_level: max_level as u32,
            max_level_hashes: top_hashes,
        }))
    }
}

/// The Merkle summary of `results` folded with `max_degree`, as a validator
/// recomputes it; None when the results are too few to have been hashed or
/// the degree is one Fabric cannot have used (below 2).
pub fn merkle_summary(results: &[KvRead], max_degree: u32) -> Option<QueryReadsMerkleSummary> {
    if max_degree < 2 {
        return None;
    }
    let mut helper = RangeResults::new(max_degree);
    for read in results {
        helper.add(read.clone());
    }
    match helper.finish() {
        Some(ReadsInfo::ReadsMerkleHashes(summary)) => Some(summary),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_proto::kvrwset::Version;

    const MAX: usize = RANGE_MAX_DEGREE as usize;

    fn reads(n: usize) -> Vec<KvRead> {
        (0..n)
            .map(|i| KvRead {
                key: format!("k{i:04}"),
                version: Some(Version {
                    block_num: 1,
                    tx_num: i as u64,
                }),
            })
            .collect()
    }

    fn leaf(reads: &[KvRead]) -> Vec<u8> {
        fabric_msp::sha256(
            &QueryReads {
                kv_reads: reads.to_vec(),
            }
            .encode_to_vec(),
        )
        .to_vec()
    }

    fn summarise(all: &[KvRead]) -> Option<ReadsInfo> {
        let mut r = RangeResults::default();
        for read in all {
            r.add(read.clone());
        }
        r.finish()
    }

    #[test]
    fn nothing_read_records_no_reads_info() {
        assert!(RangeResults::default().finish().is_none());
        assert!(merkle_summary(&[], RANGE_MAX_DEGREE).is_none());
    }

    #[test]
    fn few_results_stay_raw() {
        match summarise(&reads(MAX)) {
            Some(ReadsInfo::RawReads(q)) => assert_eq!(q.kv_reads.len(), MAX),
            other => panic!("expected raw reads, got {other:?}"),
        }
        assert!(merkle_summary(&reads(MAX), RANGE_MAX_DEGREE).is_none());
    }

    #[test]
    fn many_results_become_a_merkle_summary() {
        let all = reads(MAX + 2);
        // 51 reads make the first leaf, the last read a second leaf; two
        // level-1 hashes stay at level 1 (2 <= max degree).
        let want = QueryReadsMerkleSummary {
            max_degree: 50,
            max_level: 1,
            max_level_hashes: vec![leaf(&all[..=MAX]), leaf(&all[MAX + 1..])],
        };
        assert_eq!(
            summarise(&all),
            Some(ReadsInfo::ReadsMerkleHashes(want.clone()))
        );
        assert_eq!(merkle_summary(&all, RANGE_MAX_DEGREE), Some(want));
    }

    #[test]
    fn a_full_level_is_combined_into_the_next() {
        // 52 leaves of 51 reads: level 1 overflows (52 > 50) into one level-2
        // hash; finishing leaves that single hash at level 2.
        let all = reads((MAX + 1) * (MAX + 2));
        let leaves: Vec<Vec<u8>> = all.chunks(MAX + 1).map(leaf).collect();
        let level2 = combined_hash(&leaves[..=MAX]);
        // The partial level 1 (one leaf) moves up as is.
        assert_eq!(leaves[MAX + 1..].len(), 1);
        let got = merkle_summary(&all, RANGE_MAX_DEGREE).unwrap();
        assert_eq!(got.max_level, 2);
        assert_eq!(got.max_level_hashes, vec![level2, leaves[MAX + 1].clone()]);
    }

    #[test]
    fn degrees_fabric_cannot_use_are_refused() {
        assert!(merkle_summary(&reads(10), 1).is_none());
        assert!(merkle_summary(&reads(10), 0).is_none());
    }
}
