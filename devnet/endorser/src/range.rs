//! What a range query leaves in the read set, for phantom-read detection.
//!
//! Owns: the record of one range query during a simulation (its bounds, the
//! last key read, whether the iterator ran to the end) and Fabric's choice of
//! end key. The results themselves are folded by `fabric_block::RangeResults`,
//! the one home of Fabric's Merkle summary, which the validator uses too.

use fabric_block::RangeResults;
use fabric_proto::kvrwset::{KvRead, RangeQueryInfo};

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
    use fabric_proto::kvrwset::range_query_info::ReadsInfo;

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

    /// Past Fabric's degree the record carries the summary the validator recomputes.
    #[test]
    fn many_reads_are_recorded_as_the_validators_summary() {
        let all: Vec<KvRead> = (0..120)
            .map(|i| kv_read(&format!("k{i:04}"), Some((1, i))))
            .collect();
        let mut rec = RangeRecord::new("k", "l");
        for read in all.clone() {
            rec.read(read);
        }
        rec.exhausted = true;
        let Some(ReadsInfo::ReadsMerkleHashes(summary)) = rec.into_info().reads_info else {
            panic!("120 reads must be summarised")
        };
        assert_eq!(
            Some(summary),
            fabric_block::merkle_summary(&all, fabric_block::RANGE_MAX_DEGREE)
        );
    }
}
