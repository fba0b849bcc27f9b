//! What the state and txid tables store, and how one write changes a key.
//!
//! Values are small protobuf messages (prost) so that decoding a corrupted
//! record yields an error, never a panic.

use crate::{Version, VersionedValue, WriteOp};
use std::collections::BTreeMap;

/// A world-state entry as stored in the state table.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredValue {
    #[prost(bytes = "vec", tag = "1")]
    pub value: Vec<u8>,
    #[prost(uint64, tag = "2")]
    pub block: u64,
    #[prost(uint64, tag = "3")]
    pub tx: u64,
    #[prost(btree_map = "string, bytes", tag = "4")]
    pub metadata: BTreeMap<String, Vec<u8>>,
}

impl From<&VersionedValue> for StoredValue {
    fn from(v: &VersionedValue) -> Self {
        Self {
            value: v.value.clone(),
            block: v.version.0,
            tx: v.version.1,
            metadata: v.metadata.clone(),
        }
    }
}

impl From<StoredValue> for VersionedValue {
    fn from(s: StoredValue) -> Self {
        Self {
            value: s.value,
            version: (s.block, s.tx),
            metadata: s.metadata,
        }
    }
}

/// Where a transaction sits and how it was judged (txid index value).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TxLocation {
    #[prost(uint64, tag = "1")]
    pub block: u64,
    #[prost(uint64, tag = "2")]
    pub tx: u64,
    #[prost(int32, tag = "3")]
    pub code: i32,
}

/// The state of a key after `op`, written at `version`, given its state before
/// (`None` = absent). This is Fabric's per-key rule (kvledger txops):
/// - a value write keeps the key's existing metadata;
/// - a delete removes value and metadata;
/// - a metadata write replaces the metadata and bumps the version, but only if
///   the key exists: metadata on a missing key is dropped.
///
/// A transaction's value writes are applied before its metadata writes, so
/// "write value + set metadata" on a new key keeps both, and "delete + set
/// metadata" ends with the key deleted, as in Fabric.
pub fn apply_write(
    prev: Option<&VersionedValue>,
    op: &WriteOp,
    version: Version,
) -> Option<VersionedValue> {
    match op {
        WriteOp::Put(value) => Some(VersionedValue {
            value: value.clone(),
            version,
            metadata: prev.map(|p| p.metadata.clone()).unwrap_or_default(),
        }),
        WriteOp::Delete => None,
        WriteOp::Metadata(metadata) => prev.map(|p| VersionedValue {
            value: p.value.clone(),
            version,
            metadata: metadata.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vv(value: &str, version: Version, md: &[(&str, &str)]) -> VersionedValue {
        VersionedValue {
            value: value.as_bytes().to_vec(),
            version,
            metadata: md
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn put_keeps_metadata_and_bumps_version() {
        let prev = vv("a", (1, 0), &[("VALIDATION_PARAMETER", "p")]);
        let next = apply_write(Some(&prev), &WriteOp::Put(b"b".to_vec()), (2, 3)).unwrap();
        assert_eq!(next, vv("b", (2, 3), &[("VALIDATION_PARAMETER", "p")]));
    }

    #[test]
    fn metadata_on_missing_key_is_dropped() {
        let md = BTreeMap::from([("x".to_string(), b"y".to_vec())]);
        assert_eq!(apply_write(None, &WriteOp::Metadata(md), (2, 0)), None);
    }

    #[test]
    fn metadata_replaces_and_bumps_version() {
        let prev = vv("a", (1, 0), &[("old", "1")]);
        let md = BTreeMap::from([("new".to_string(), b"2".to_vec())]);
        let next = apply_write(Some(&prev), &WriteOp::Metadata(md), (3, 1)).unwrap();
        assert_eq!(next, vv("a", (3, 1), &[("new", "2")]));
    }

    #[test]
    fn delete_removes() {
        let prev = vv("a", (1, 0), &[]);
        assert_eq!(apply_write(Some(&prev), &WriteOp::Delete, (2, 0)), None);
    }

    #[test]
    fn stored_value_roundtrip() {
        use prost::Message;
        let v = vv("val", (7, 2), &[("VALIDATION_PARAMETER", "pol")]);
        let bytes = StoredValue::from(&v).encode_to_vec();
        let back: VersionedValue = StoredValue::decode(bytes.as_slice()).unwrap().into();
        assert_eq!(back, v);
    }
}
