//! A transaction simulator over one peer's committed state, as Fabric's
//! `txSimulator`: reads come from committed state only (a transaction does
//! not see its own writes) and are recorded with their versions; writes are
//! buffered in the read/write set.
//!
//! Owns: state reads and writes for simulation, range iterators and the
//! range-query infos they leave behind, Fabric's write preconditions
//! (no writes after a paginated query), and the key-level policies of written
//! keys that go into the ChaincodeInterest.

use crate::error::{EndorserError, Result};
use crate::range::RangeRecord;
use crate::rwset::{kv_read, RwSetBuilder};
use devnet_ledger::{Ledger, VersionedValue};
use fabric_proto::common::SignaturePolicyEnvelope;
use fabric_proto::protos::{ChaincodeCall, ChaincodeInterest};
use fabric_proto::rwset::TxReadWriteSet;
use prost::Message;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// The state-metadata name of a key-level endorsement policy.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

/// Namespaces of system chaincodes (and the devnet's org-approval namespaces):
/// never part of a ChaincodeInterest.
pub fn is_system_namespace(ns: &str) -> bool {
    matches!(
        ns,
        "_lifecycle" | "lscc" | "cscc" | "qscc" | "escc" | "vscc"
    ) || ns.starts_with("_implicit_org_")
}

/// An open range query: the results still to hand out and its record in the simulation.
#[derive(Debug)]
pub struct RangeIter {
    namespace: String,
    items: VecDeque<(String, VersionedValue)>,
    record: usize,
    /// Paginated queries stop after this many results without reaching the end.
    page_limit: Option<usize>,
    returned: usize,
}

impl RangeIter {
    /// The key a paginated query would continue from ("" when there is none).
    pub fn bookmark(&self) -> String {
        self.items
            .front()
            .map(|(k, _)| k.clone())
            .unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

/// Written keys' committed metadata, for the ChaincodeInterest.
#[derive(Debug, Default)]
struct WrittenKeys {
    /// namespace -> key -> key-level policy bytes (None = the key has no key-level policy).
    by_namespace: BTreeMap<String, BTreeMap<String, Option<Vec<u8>>>>,
}

/// Simulates one transaction.
pub struct TxSimulator {
    ledger: Arc<Ledger>,
    txid: String,
    rwset: RwSetBuilder,
    /// Range queries in the order they were opened, with their namespace.
    ranges: Vec<(String, RangeRecord)>,
    written: WrittenKeys,
    write_performed: bool,
    paginated_query_performed: bool,
}

impl TxSimulator {
    pub fn new(ledger: Arc<Ledger>, txid: &str) -> Self {
        Self {
            ledger,
            txid: txid.to_string(),
            rwset: RwSetBuilder::new(),
            ranges: Vec::new(),
            written: WrittenKeys::default(),
            write_performed: false,
            paginated_query_performed: false,
        }
    }

    fn committed(&self, ns: &str, key: &str) -> Result<Option<VersionedValue>> {
        self.ledger
            .try_get_state(ns, key)
            .map_err(|source| EndorserError::Ledger {
                context: format!("could not read state of {ns}/{key}"),
                source,
            })
    }

    /// The committed value of a key; records the read (without version if the key is missing).
    pub fn get_state(&mut self, ns: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_versioned(ns, key)?.map(|v| v.value))
    }

    /// Like [`Self::get_state`], with the version and metadata.
    pub fn get_versioned(&mut self, ns: &str, key: &str) -> Result<Option<VersionedValue>> {
        let value = self.committed(ns, key)?;
        self.rwset
            .add_read(ns, key, value.as_ref().map(|v| v.version));
        Ok(value)
    }

    /// The committed metadata of a key; records a read of the key, as Fabric does.
    pub fn get_state_metadata(&mut self, ns: &str, key: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        Ok(self
            .get_versioned(ns, key)?
            .map(|v| v.metadata)
            .unwrap_or_default())
    }

    fn check_write(&mut self, key: &str) -> Result<()> {
        if self.paginated_query_performed {
            return Err(EndorserError::refused(format!(
                "txid [{}]: unsuppored transaction. Transaction has already performed a paginated query. Writes are not allowed",
                self.txid
            )));
        }
        if key.is_empty() {
            return Err(EndorserError::refused("key must not be an empty string"));
        }
        self.write_performed = true;
        Ok(())
    }

    /// Notes the committed key-level policy (if any) of a written key.
    fn note_written(&mut self, ns: &str, key: &str) -> Result<()> {
        let policy = self
            .committed(ns, key)?
            .and_then(|v| v.metadata.get(VALIDATION_PARAMETER).cloned());
        self.written
            .by_namespace
            .entry(ns.to_string())
            .or_default()
            .insert(key.to_string(), policy);
        Ok(())
    }

    /// Writes a value; an empty value deletes the key (Fabric's rule).
    pub fn set_state(&mut self, ns: &str, key: &str, value: Vec<u8>) -> Result<()> {
        self.check_write(key)?;
        self.rwset.add_write(ns, key, value);
        self.note_written(ns, key)
    }

    /// Replaces a key's metadata (Fabric writes the whole metadata map of the key).
    pub fn set_state_metadata(
        &mut self,
        ns: &str,
        key: &str,
        metadata: BTreeMap<String, Vec<u8>>,
    ) -> Result<()> {
        self.check_write(key)?;
        self.rwset.add_metadata_write(ns, key, &metadata);
        self.note_written(ns, key)
    }

    /// A private write whose hashes go into `namespace`'s rwset (no public value is written).
    pub fn add_private_write(
        &mut self,
        ns: &str,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<()> {
        self.check_write(key)?;
        self.rwset.add_private_write(ns, collection, key, value);
        Ok(())
    }

    /// Opens a range query over `[start, end)` (empty end = to the end of the namespace).
    /// A `page_size` > 0 makes it a paginated query, allowed only in read-only transactions.
    pub fn open_range(
        &mut self,
        ns: &str,
        start: &str,
        end: &str,
        page_size: i32,
    ) -> Result<RangeIter> {
        let page_limit = if page_size > 0 {
            if self.write_performed {
                return Err(EndorserError::refused(format!(
                    "txid [{}]: unsuppored transaction. Paginated queries are supported only in a read-only transaction",
                    self.txid
                )));
            }
            self.paginated_query_performed = true;
            Some(page_size as usize)
        } else {
            None
        };
        let items =
            self.ledger
                .try_range(ns, start, end)
                .map_err(|source| EndorserError::Ledger {
                    context: format!("range query on {ns} failed"),
                    source,
                })?;
        self.ranges
            .push((ns.to_string(), RangeRecord::new(start, end)));
        Ok(RangeIter {
            namespace: ns.to_string(),
            items: items.into(),
            record: self.ranges.len() - 1,
            page_limit,
            returned: 0,
        })
    }

    /// The next result of a range query; recording it (or the iterator's end) in the read set.
    pub fn next(&mut self, it: &mut RangeIter) -> Option<(String, Vec<u8>)> {
        if it.page_limit.is_some_and(|limit| it.returned >= limit) {
            return None;
        }
        let record = &mut self.ranges[it.record].1;
        match it.items.pop_front() {
            Some((key, value)) => {
                record.read(kv_read(&key, Some(value.version)));
                it.returned += 1;
                Some((key, value.value))
            }
            None => {
                record.exhausted = true;
                None
            }
        }
    }

    /// The read/write set; range-query infos are added in the order the queries were opened.
    pub fn results(&self) -> TxReadWriteSet {
        let mut rwset = self.rwset.clone();
        for (ns, record) in &self.ranges {
            rwset.add_range_query(ns, record.clone().into_info());
        }
        rwset.build()
    }

    /// Fabric's ChaincodeInterest for this simulation (`buildChaincodeInterest`).
    pub fn interest(&self) -> Result<ChaincodeInterest> {
        let mut chaincodes = Vec::new();
        let mut namespaces = self.rwset.namespaces();
        namespaces.extend(self.ranges.iter().map(|(ns, _)| ns.clone()));
        namespaces.sort();
        namespaces.dedup();
        for ns in namespaces {
            if is_system_namespace(&ns) {
                continue;
            }
            let (key_policies, required) = match self.written.by_namespace.get(&ns) {
                Some(keys) => {
                    let mut policies = Vec::new();
                    let mut required = false;
                    for (key, policy) in keys {
                        match policy {
                            Some(bytes) => policies.push(
                                SignaturePolicyEnvelope::decode(bytes.as_slice()).map_err(|source| {
                                    EndorserError::Decode {
                                        context: format!("key-level endorsement policy of {ns}/{key} is not a SignaturePolicyEnvelope"),
                                        source,
                                    }
                                })?,
                            ),
                            None => required = true,
                        }
                    }
                    (policies, required)
                }
                None => (Vec::new(), true),
            };
            if key_policies.is_empty() && !required {
                continue;
            }
            chaincodes.push(ChaincodeCall {
                name: ns,
                disregard_namespace_policy: !key_policies.is_empty() && !required,
                key_policies,
                ..Default::default()
            });
        }
        Ok(ChaincodeInterest { chaincodes })
    }
}
