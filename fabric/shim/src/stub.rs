//! The `ChaincodeStub` trait: the contract's view of its transaction and of the
//! ledger, implemented over the peer stream ([`crate::peer`]) and in memory
//! ([`crate::memory`]).
//!
//! An implementation supplies a small set of ledger primitives (raw keys,
//! optional collection); every contract-facing method is provided on top of
//! them, so Fabric's key rules are enforced the same way by every backend.
//! Ledger calls take `&mut self`: one transaction has at most one request in
//! flight, as the peer requires.
//!
//! Fabric semantics worth knowing: reads see committed state only (a
//! transaction does not read its own writes), and writing an empty value is a
//! delete.

use std::collections::HashMap;

use async_trait::async_trait;
use prost_types::Timestamp;

use crate::context::{CreatorIdentity, TxContext};
use crate::error::{Result, ShimError};
use crate::keys;

/// State metadata key holding a key-level endorsement policy.
pub const VALIDATION_PARAMETER: &str = "VALIDATION_PARAMETER";

/// One entry of a range or rich query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The state key.
    pub key: String,
    /// Its value.
    pub value: Vec<u8>,
}

/// One committed change of a key, as history queries return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyModification {
    /// Transaction that made the change.
    pub tx_id: String,
    /// Value written (empty for a delete).
    pub value: Vec<u8>,
    /// Timestamp of that transaction.
    pub timestamp: Option<Timestamp>,
    /// True when the change deleted the key.
    pub is_delete: bool,
}

/// Page request for paginated queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pagination {
    /// Maximum number of results in the page.
    pub page_size: i32,
    /// Where to resume; empty for the first page.
    pub bookmark: String,
}

/// Result of a (possibly paginated) query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryPage {
    /// The results, in key order.
    pub results: Vec<KeyValue>,
    /// Bookmark for the next page; empty when nothing follows.
    pub bookmark: String,
    /// Number of records fetched, as the ledger reported it.
    pub fetched_records_count: i32,
}

/// The transaction's view of itself and of the ledger.
#[async_trait]
pub trait ChaincodeStub: Send {
    // ---- implementation primitives (contracts use the methods further down) ----

    /// The transaction's context.
    fn tx(&self) -> &TxContext;

    /// Sets the single chaincode event of this transaction (last call wins).
    fn set_event(&mut self, name: &str, payload: Vec<u8>) -> Result<()>;

    /// Reads a key of the public state (`collection` empty) or of a collection.
    async fn read_state(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>>;

    /// Writes a key; keys are already validated.
    async fn write_state(&mut self, collection: &str, key: &str, value: Vec<u8>) -> Result<()>;

    /// Deletes a key.
    async fn delete_state(&mut self, collection: &str, key: &str) -> Result<()>;

    /// Reads the hash of a private-data value.
    async fn read_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>>;

    /// Range query over raw bounds `[start, end)` (`end` empty = unbounded).
    async fn query_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
        pagination: Option<Pagination>,
    ) -> Result<QueryPage>;

    /// Rich (CouchDB) query.
    async fn query_rich(
        &mut self,
        collection: &str,
        query: &str,
        pagination: Option<Pagination>,
    ) -> Result<QueryPage>;

    /// All committed changes of a key.
    async fn query_history(&mut self, key: &str) -> Result<Vec<KeyModification>>;

    /// All metadata entries of a key.
    async fn read_metadata(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>>;

    /// Writes one metadata entry of a key.
    async fn write_metadata(
        &mut self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: Vec<u8>,
    ) -> Result<()>;

    // ---- transaction ----

    /// Raw arguments, function name first.
    fn args(&self) -> &[Vec<u8>] {
        self.tx().args()
    }

    /// Arguments as strings (invalid UTF-8 replaced by U+FFFD).
    fn string_args(&self) -> Vec<String> {
        self.args()
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// The first argument as function name and the rest as parameters.
    fn function_and_parameters(&self) -> (String, Vec<String>) {
        let mut args = self.string_args().into_iter();
        let function = args.next().unwrap_or_default();
        (function, args.collect())
    }

    /// Transaction id.
    fn tx_id(&self) -> &str {
        self.tx().tx_id()
    }

    /// Channel id.
    fn channel_id(&self) -> &str {
        self.tx().channel_id()
    }

    /// Serialized `msp.SerializedIdentity` of the submitter.
    fn creator(&self) -> &[u8] {
        self.tx().creator()
    }

    /// The submitter's MSP id and PEM certificate.
    fn creator_identity(&self) -> Result<&CreatorIdentity> {
        self.tx().creator_identity()
    }

    /// The proposal's transient map.
    fn transient(&self) -> &HashMap<String, Vec<u8>> {
        self.tx().transient()
    }

    /// Timestamp from the proposal's channel header.
    fn tx_timestamp(&self) -> Option<Timestamp> {
        self.tx().timestamp()
    }

    /// See [`keys::create_composite_key`].
    fn create_composite_key(&self, object_type: &str, attributes: &[&str]) -> Result<String> {
        keys::create_composite_key(object_type, attributes)
    }

    /// See [`keys::split_composite_key`].
    fn split_composite_key(&self, key: &str) -> Result<(String, Vec<String>)> {
        keys::split_composite_key(key)
    }

    // ---- public state ----

    /// Reads a key; `None` when it does not exist.
    async fn get_state(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read_state("", key).await
    }

    /// Writes a key (a simple key, or a composite key from `create_composite_key`).
    async fn put_state(&mut self, key: &str, value: Vec<u8>) -> Result<()> {
        keys::validate_write_key(key)?;
        self.write_state("", key, value).await
    }

    /// Deletes a key.
    async fn del_state(&mut self, key: &str) -> Result<()> {
        keys::validate_write_key(key)?;
        self.delete_state("", key).await
    }

    /// All simple keys in `[start, end)`; an empty `end` means no upper bound.
    async fn get_state_by_range(&mut self, start: &str, end: &str) -> Result<Vec<KeyValue>> {
        let (start, end) = keys::simple_range(start, end)?;
        Ok(self.query_range("", &start, &end, None).await?.results)
    }

    /// One page of simple keys in `[start, end)`.
    async fn get_state_by_range_with_pagination(
        &mut self,
        start: &str,
        end: &str,
        page_size: i32,
        bookmark: &str,
    ) -> Result<QueryPage> {
        let (start, end) = keys::simple_range(start, end)?;
        let page = pagination(page_size, bookmark)?;
        self.query_range("", &start, &end, Some(page)).await
    }

    /// All composite keys starting with `objectType` and `attributes`.
    async fn get_state_by_partial_composite_key(
        &mut self,
        object_type: &str,
        attributes: &[&str],
    ) -> Result<Vec<KeyValue>> {
        let (start, end) = keys::partial_composite_range(object_type, attributes)?;
        Ok(self.query_range("", &start, &end, None).await?.results)
    }

    /// One page of composite keys starting with `objectType` and `attributes`.
    async fn get_state_by_partial_composite_key_with_pagination(
        &mut self,
        object_type: &str,
        attributes: &[&str],
        page_size: i32,
        bookmark: &str,
    ) -> Result<QueryPage> {
        let (start, end) = keys::partial_composite_range(object_type, attributes)?;
        let page = pagination(page_size, bookmark)?;
        self.query_range("", &start, &end, Some(page)).await
    }

    /// Rich query (CouchDB peers only; LevelDB peers answer with an error).
    async fn get_query_result(&mut self, query: &str) -> Result<Vec<KeyValue>> {
        Ok(self.query_rich("", query, None).await?.results)
    }

    /// Every committed change of a key, newest first.
    async fn get_history_for_key(&mut self, key: &str) -> Result<Vec<KeyModification>> {
        self.query_history(key).await
    }

    /// All metadata entries of a key.
    async fn get_state_metadata(&mut self, key: &str) -> Result<HashMap<String, Vec<u8>>> {
        self.read_metadata("", key).await
    }

    /// The key-level endorsement policy (serialized SignaturePolicyEnvelope), if any.
    async fn get_state_validation_parameter(&mut self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut metadata = self.read_metadata("", key).await?;
        Ok(metadata.remove(VALIDATION_PARAMETER))
    }

    /// Sets the key-level endorsement policy (serialized SignaturePolicyEnvelope).
    async fn set_state_validation_parameter(&mut self, key: &str, policy: Vec<u8>) -> Result<()> {
        keys::validate_write_key(key)?;
        self.write_metadata("", key, VALIDATION_PARAMETER, policy)
            .await
    }

    // ---- private data (passed through; peers without collections refuse) ----

    /// Reads a private-data key.
    async fn get_private_data(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        require_collection(collection)?;
        self.read_state(collection, key).await
    }

    /// Reads the hash of a private-data value.
    async fn get_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        require_collection(collection)?;
        self.read_private_data_hash(collection, key).await
    }

    /// Writes a private-data key.
    async fn put_private_data(
        &mut self,
        collection: &str,
        key: &str,
        value: Vec<u8>,
    ) -> Result<()> {
        require_collection(collection)?;
        keys::validate_write_key(key)?;
        self.write_state(collection, key, value).await
    }

    /// Deletes a private-data key.
    async fn del_private_data(&mut self, collection: &str, key: &str) -> Result<()> {
        require_collection(collection)?;
        self.delete_state(collection, key).await
    }
}

fn pagination(page_size: i32, bookmark: &str) -> Result<Pagination> {
    if page_size <= 0 {
        return Err(ShimError::InvalidArgument(format!(
            "page size must be positive, got {page_size}"
        )));
    }
    Ok(Pagination {
        page_size,
        bookmark: bookmark.to_owned(),
    })
}

fn require_collection(collection: &str) -> Result<()> {
    if collection.is_empty() {
        return Err(ShimError::InvalidArgument(
            "collection must not be empty".into(),
        ));
    }
    Ok(())
}
