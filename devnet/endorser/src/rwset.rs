//! Recording a transaction's read/write set exactly as Fabric's rwset builder
//! lays it out.
//!
//! Owns: per-namespace reads (last read of a key wins), writes (last write
//! wins), metadata writes and range-query infos, and their final encoding:
//! namespaces, reads, writes and metadata writes sorted by key (byte order,
//! like Go's sorted map keys), metadata entries sorted by name, range queries
//! in the order they were first recorded and deduplicated by
//! (start, end, exhausted).

use devnet_ledger::Version;
use fabric_proto::kvrwset::{
    KvMetadataEntry, KvMetadataWrite, KvRead, KvWrite, KvrwSet, RangeQueryInfo,
    Version as KvVersion,
};
use fabric_proto::rwset::{
    tx_read_write_set::DataModel, CollectionHashedReadWriteSet, NsReadWriteSet, TxReadWriteSet,
};
use prost::Message;
use std::collections::BTreeMap;

/// `kvrwset.KVWriteHash`: a private write as the public rwset shows it.
#[derive(Clone, PartialEq, Message)]
pub struct KvWriteHash {
    #[prost(bytes = "vec", tag = "1")]
    pub key_hash: Vec<u8>,
    #[prost(bool, tag = "2")]
    pub is_delete: bool,
    #[prost(bytes = "vec", tag = "3")]
    pub value_hash: Vec<u8>,
    #[prost(bool, tag = "4")]
    pub is_purge: bool,
}

/// `kvrwset.HashedRWSet` (hashed reads, field 1, are not recorded by the devnet).
#[derive(Clone, PartialEq, Message)]
pub struct HashedRwSet {
    #[prost(message, repeated, tag = "2")]
    pub hashed_writes: Vec<KvWriteHash>,
}

/// A `KVRead`: a missing key has no version.
pub fn kv_read(key: &str, version: Option<Version>) -> KvRead {
    KvRead {
        key: key.to_string(),
        version: version.map(|(block_num, tx_num)| KvVersion { block_num, tx_num }),
    }
}

#[derive(Debug, Default, Clone)]
struct NamespaceBuilder {
    reads: BTreeMap<String, KvRead>,
    writes: BTreeMap<String, KvWrite>,
    metadata_writes: BTreeMap<String, KvMetadataWrite>,
    range_queries: Vec<RangeQueryInfo>,
    /// collection -> key -> value of private writes (only their hashes go into the rwset).
    private_writes: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// Collects what a simulation read and wrote, per namespace.
#[derive(Debug, Default, Clone)]
pub struct RwSetBuilder {
    namespaces: BTreeMap<String, NamespaceBuilder>,
}

impl RwSetBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    fn ns(&mut self, namespace: &str) -> &mut NamespaceBuilder {
        self.namespaces.entry(namespace.to_string()).or_default()
    }

    pub fn add_read(&mut self, namespace: &str, key: &str, version: Option<Version>) {
        self.ns(namespace)
            .reads
            .insert(key.to_string(), kv_read(key, version));
    }

    /// A value write. As in Fabric, an empty value is a delete.
    pub fn add_write(&mut self, namespace: &str, key: &str, value: Vec<u8>) {
        let write = KvWrite {
            key: key.to_string(),
            is_delete: value.is_empty(),
            value,
        };
        self.ns(namespace).writes.insert(key.to_string(), write);
    }

    /// Replaces the key's metadata in the write set (Fabric keeps one metadata write per key).
    pub fn add_metadata_write(
        &mut self,
        namespace: &str,
        key: &str,
        metadata: &BTreeMap<String, Vec<u8>>,
    ) {
        let write = KvMetadataWrite {
            key: key.to_string(),
            entries: metadata
                .iter()
                .map(|(name, value)| KvMetadataEntry {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        };
        self.ns(namespace)
            .metadata_writes
            .insert(key.to_string(), write);
    }

    /// Records a range query's info; an identical (start, end, exhausted) one is kept only once.
    pub fn add_range_query(&mut self, namespace: &str, info: RangeQueryInfo) {
        let ns = self.ns(namespace);
        let same = |q: &RangeQueryInfo| {
            q.start_key == info.start_key
                && q.end_key == info.end_key
                && q.itr_exhausted == info.itr_exhausted
        };
        if !ns.range_queries.iter().any(same) {
            ns.range_queries.push(info);
        }
    }

    /// A write to a private data collection: only its hashes are recorded, in the
    /// namespace's `collection_hashed_rwset` (used for `_lifecycle`'s implicit org collections).
    pub fn add_private_write(
        &mut self,
        namespace: &str,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) {
        self.ns(namespace)
            .private_writes
            .entry(collection.to_string())
            .or_default()
            .insert(key.to_string(), value);
    }

    /// Namespaces with anything recorded, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        self.namespaces.keys().cloned().collect()
    }

    /// The final `rwset.TxReadWriteSet`.
    pub fn build(&self) -> TxReadWriteSet {
        let ns_rwset = self
            .namespaces
            .iter()
            .map(|(name, ns)| NsReadWriteSet {
                namespace: name.clone(),
                rwset: KvrwSet {
                    reads: ns.reads.values().cloned().collect(),
                    range_queries_info: ns.range_queries.clone(),
                    writes: ns.writes.values().cloned().collect(),
                    metadata_writes: ns.metadata_writes.values().cloned().collect(),
                }
                .encode_to_vec(),
                collection_hashed_rwset: ns
                    .private_writes
                    .iter()
                    .map(|(collection, writes)| hashed_collection(collection, writes))
                    .collect(),
            })
            .collect();
        TxReadWriteSet {
            data_model: DataModel::Kv as i32,
            ns_rwset,
        }
    }
}

fn hashed_collection(
    collection: &str,
    writes: &BTreeMap<String, Vec<u8>>,
) -> CollectionHashedReadWriteSet {
    let hashed_writes = writes
        .iter()
        .map(|(key, value)| KvWriteHash {
            key_hash: fabric_msp::sha256(key.as_bytes()).to_vec(),
            is_delete: value.is_empty(),
            value_hash: if value.is_empty() {
                Vec::new()
            } else {
                fabric_msp::sha256(value).to_vec()
            },
            is_purge: false,
        })
        .collect();
    // The hash of the private rwset the collection's members would receive.
    let private = KvrwSet {
        writes: writes
            .iter()
            .map(|(key, value)| KvWrite {
                key: key.clone(),
                is_delete: value.is_empty(),
                value: value.clone(),
            })
            .collect(),
        ..Default::default()
    };
    CollectionHashedReadWriteSet {
        collection_name: collection.to_string(),
        hashed_rwset: HashedRwSet { hashed_writes }.encode_to_vec(),
        pvt_rwset_hash: fabric_msp::sha256(&private.encode_to_vec()).to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(ns: &NsReadWriteSet) -> KvrwSet {
        KvrwSet::decode(ns.rwset.as_slice()).unwrap()
    }

    #[test]
    fn sorts_namespaces_keys_and_keeps_last_write() {
        let mut b = RwSetBuilder::new();
        b.add_write("cc", "b", b"1".to_vec());
        b.add_write("cc", "a", b"2".to_vec());
        b.add_write("cc", "b", Vec::new());
        b.add_read("cc", "z", Some((3, 1)));
        b.add_read("cc", "m", None);
        b.add_read("_lifecycle", "namespaces/fields/cc/Sequence", Some((4, 0)));
        let set = b.build();
        let names: Vec<_> = set.ns_rwset.iter().map(|n| n.namespace.as_str()).collect();
        assert_eq!(names, ["_lifecycle", "cc"]);
        let cc = kv(&set.ns_rwset[1]);
        assert_eq!(
            cc.reads.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["m", "z"]
        );
        assert!(cc.reads[0].version.is_none());
        assert_eq!(
            cc.reads[1].version,
            Some(KvVersion {
                block_num: 3,
                tx_num: 1
            })
        );
        assert_eq!(cc.writes.len(), 2);
        assert_eq!(cc.writes[0].key, "a");
        assert!(cc.writes[1].is_delete && cc.writes[1].value.is_empty());
    }

    #[test]
    fn range_queries_dedup_in_first_seen_order() {
        let mut b = RwSetBuilder::new();
        let q = |s: &str, e: &str, x: bool| RangeQueryInfo {
            start_key: s.into(),
            end_key: e.into(),
            itr_exhausted: x,
            reads_info: None,
        };
        b.add_range_query("cc", q("k", "m", true));
        b.add_range_query("cc", q("a", "c", true));
        b.add_range_query("cc", q("k", "m", true));
        let cc = kv(&b.build().ns_rwset[0]);
        let starts: Vec<_> = cc
            .range_queries_info
            .iter()
            .map(|q| q.start_key.as_str())
            .collect();
        assert_eq!(starts, ["k", "a"]);
    }

    #[test]
    fn metadata_entries_sorted_by_name() {
        let mut b = RwSetBuilder::new();
        let md = BTreeMap::from([
            ("b".to_string(), vec![2]),
            ("VALIDATION_PARAMETER".to_string(), vec![1]),
        ]);
        b.add_metadata_write("cc", "k", &md);
        let cc = kv(&b.build().ns_rwset[0]);
        let names: Vec<_> = cc.metadata_writes[0]
            .entries
            .iter()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(names, ["VALIDATION_PARAMETER", "b"]);
    }
}
