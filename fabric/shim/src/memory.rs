//! An in-memory ledger behind the same [`ChaincodeStub`] trait, for contract
//! unit tests: no peer, no network.
//!
//! A [`MemoryLedger`] holds committed state, key metadata and history, and can
//! be shared by many [`MemoryStub`]s (one per transaction). Like Fabric, a
//! transaction reads committed state only and its writes take effect when it
//! is committed; an empty value is a delete; a key's metadata survives value
//! updates, disappears with the key, and a metadata write on a key that does
//! not exist after the transaction is dropped. Private data and rich queries
//! are refused, as on the devnet.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use fabric_proto::protos::ChaincodeEvent;
use prost_types::Timestamp;

use crate::chaincode::Chaincode;
use crate::context::{CreatorIdentity, TxContext};
use crate::error::{Result, ShimError};
use crate::response::{is_success, Response};
use crate::stub::{ChaincodeStub, KeyModification, KeyValue, Pagination, QueryPage};

/// Channel id given to in-memory transactions.
pub const MEMORY_CHANNEL: &str = "memory";

#[derive(Debug, Clone, Default)]
struct Entry {
    value: Vec<u8>,
    metadata: BTreeMap<String, Vec<u8>>,
}

#[derive(Debug, Default)]
struct LedgerState {
    state: BTreeMap<String, Entry>,
    /// Oldest first.
    history: HashMap<String, Vec<KeyModification>>,
    tx_counter: u64,
}

/// Committed state shared by in-memory transactions. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    inner: Arc<Mutex<LedgerState>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        // The state is only mutated in `commit`, which cannot panic halfway.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new transaction with these arguments (function name first).
    pub fn stub<I, A>(&self, args: I) -> MemoryStub
    where
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let tx_number = {
            let mut state = self.lock();
            state.tx_counter += 1;
            state.tx_counter
        };
        let args = args.into_iter().map(|a| a.as_ref().to_vec()).collect();
        let mut context = TxContext::new(MEMORY_CHANNEL, format!("{tx_number:064x}"), args);
        context.set_timestamp(now());
        MemoryStub {
            ledger: self.clone(),
            context,
            writes: BTreeMap::new(),
            metadata_writes: BTreeMap::new(),
            event: None,
        }
    }

    /// Runs `invoke` on a fresh transaction and commits it when it succeeds
    /// (status below 400), as endorsement plus a valid commit would.
    pub async fn submit<C, I, A>(&self, chaincode: &C, args: I) -> Response
    where
        C: Chaincode + ?Sized,
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        self.submit_stub(chaincode, self.stub(args)).await.0
    }

    /// Like [`MemoryLedger::submit`] with a prepared stub (creator, transient
    /// data); returns the stub too, e.g. to look at its event.
    pub async fn submit_stub<C>(
        &self,
        chaincode: &C,
        mut stub: MemoryStub,
    ) -> (Response, MemoryStub)
    where
        C: Chaincode + ?Sized,
    {
        let response = chaincode.invoke(&mut stub).await;
        if is_success(&response) {
            self.commit(&stub);
        }
        (response, stub)
    }

    /// Runs `invoke` without committing (a query / evaluate).
    pub async fn evaluate<C, I, A>(&self, chaincode: &C, args: I) -> Response
    where
        C: Chaincode + ?Sized,
        I: IntoIterator<Item = A>,
        A: AsRef<[u8]>,
    {
        let mut stub = self.stub(args);
        chaincode.invoke(&mut stub).await
    }

    /// Applies a transaction's writes, metadata writes and history.
    pub fn commit(&self, stub: &MemoryStub) {
        let mut state = self.lock();
        let tx_id = stub.context.tx_id().to_owned();
        let timestamp = stub.context.timestamp();
        for (key, value) in &stub.writes {
            let is_delete = value.is_none();
            match value {
                Some(value) => {
                    state.state.entry(key.clone()).or_default().value = value.clone();
                }
                None => {
                    state.state.remove(key);
                }
            }
            state
                .history
                .entry(key.clone())
                .or_default()
                .push(KeyModification {
                    tx_id: tx_id.clone(),
                    value: value.clone().unwrap_or_default(),
                    timestamp,
                    is_delete,
                });
        }
        for (key, (metakey, value)) in &stub.metadata_writes {
            if let Some(entry) = state.state.get_mut(key) {
                // Fabric's peer replaces the key's metadata with the one entry written.
                entry.metadata = BTreeMap::new();
                if !value.is_empty() {
                    entry.metadata.insert(metakey.clone(), value.clone());
                }
            }
        }
    }

    /// Writes a key directly, as a committed transaction of its own.
    pub fn seed(&self, key: &str, value: impl Into<Vec<u8>>) {
        let mut stub = self.stub(["seed"]);
        stub.stage_write(key, value.into());
        self.commit(&stub);
    }

    /// Committed value of a key.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().state.get(key).map(|e| e.value.clone())
    }

    /// Committed metadata of a key.
    pub fn metadata(&self, key: &str) -> BTreeMap<String, Vec<u8>> {
        self.lock()
            .state
            .get(key)
            .map(|e| e.metadata.clone())
            .unwrap_or_default()
    }

    /// Committed changes of a key, newest first (as Fabric returns them).
    pub fn history(&self, key: &str) -> Vec<KeyModification> {
        let mut history = self.lock().history.get(key).cloned().unwrap_or_default();
        history.reverse();
        history
    }

    /// All committed keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().state.keys().cloned().collect()
    }

    fn range(&self, start: &str, end: &str, pagination: Option<&Pagination>) -> QueryPage {
        let state = self.lock();
        let start = match pagination {
            Some(p) if p.bookmark.as_str() > start => p.bookmark.as_str(),
            _ => start,
        };
        if !end.is_empty() && start >= end {
            return QueryPage::default();
        }
        let upper = if end.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Excluded(end)
        };
        let mut entries = state
            .state
            .range::<str, _>((Bound::Included(start), upper))
            .map(|(key, entry)| KeyValue {
                key: key.clone(),
                value: entry.value.clone(),
            });
        let Some(pagination) = pagination else {
            let results: Vec<KeyValue> = entries.collect();
            return QueryPage {
                fetched_records_count: count(&results),
                results,
                bookmark: String::new(),
            };
        };
        let page_size = usize::try_from(pagination.page_size).unwrap_or(0);
        let results: Vec<KeyValue> = entries.by_ref().take(page_size).collect();
        QueryPage {
            fetched_records_count: count(&results),
            bookmark: entries.next().map(|kv| kv.key).unwrap_or_default(),
            results,
        }
    }
}

fn count(results: &[KeyValue]) -> i32 {
    i32::try_from(results.len()).unwrap_or(i32::MAX)
}

fn now() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(since_epoch.subsec_nanos()).unwrap_or(0),
    }
}

/// One in-memory transaction: its context, pending writes and event.
#[derive(Debug)]
pub struct MemoryStub {
    ledger: MemoryLedger,
    context: TxContext,
    /// `None` = delete.
    writes: BTreeMap<String, Option<Vec<u8>>>,
    metadata_writes: BTreeMap<String, (String, Vec<u8>)>,
    event: Option<ChaincodeEvent>,
}

impl MemoryStub {
    /// Sets the submitter.
    pub fn with_creator(mut self, mspid: &str, cert_pem: &str) -> Self {
        let identity = CreatorIdentity {
            mspid: mspid.to_owned(),
            cert_pem: cert_pem.to_owned(),
        };
        self.context.set_creator(identity.to_serialized());
        self
    }

    /// Adds a transient-map entry.
    pub fn with_transient(mut self, key: &str, value: impl Into<Vec<u8>>) -> Self {
        self.context.insert_transient(key, value.into());
        self
    }

    /// Overrides the transaction timestamp.
    pub fn with_timestamp(mut self, timestamp: Timestamp) -> Self {
        self.context.set_timestamp(timestamp);
        self
    }

    /// The event the contract set, if any.
    pub fn event(&self) -> Option<&ChaincodeEvent> {
        self.event.as_ref()
    }

    /// Pending writes (`None` = delete), in key order.
    pub fn writes(&self) -> &BTreeMap<String, Option<Vec<u8>>> {
        &self.writes
    }

    /// Commits this transaction's writes to its ledger.
    pub fn commit(&self) {
        self.ledger.commit(self);
    }

    fn stage_write(&mut self, key: &str, value: Vec<u8>) {
        let value = (!value.is_empty()).then_some(value);
        self.writes.insert(key.to_owned(), value);
    }
}

fn no_private_data() -> ShimError {
    ShimError::Unsupported(
        "private data collections are not supported by the in-memory ledger".into(),
    )
}

#[async_trait]
impl ChaincodeStub for MemoryStub {
    fn tx(&self) -> &TxContext {
        &self.context
    }

    fn set_event(&mut self, name: &str, payload: Vec<u8>) -> Result<()> {
        if name.is_empty() {
            return Err(ShimError::InvalidArgument(
                "event name must not be empty".into(),
            ));
        }
        self.event = Some(ChaincodeEvent {
            chaincode_id: String::new(),
            tx_id: self.context.tx_id().to_owned(),
            event_name: name.to_owned(),
            payload,
        });
        Ok(())
    }

    async fn read_state(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        if !collection.is_empty() {
            return Err(no_private_data());
        }
        Ok(self.ledger.get(key))
    }

    async fn write_state(&mut self, collection: &str, key: &str, value: Vec<u8>) -> Result<()> {
        if !collection.is_empty() {
            return Err(no_private_data());
        }
        self.stage_write(key, value);
        Ok(())
    }

    async fn delete_state(&mut self, collection: &str, key: &str) -> Result<()> {
        if !collection.is_empty() {
            return Err(no_private_data());
        }
        self.writes.insert(key.to_owned(), None);
        Ok(())
    }

    async fn read_private_data_hash(
        &mut self,
        _collection: &str,
        _key: &str,
    ) -> Result<Option<Vec<u8>>> {
        Err(no_private_data())
    }

    async fn query_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
        pagination: Option<Pagination>,
    ) -> Result<QueryPage> {
        if !collection.is_empty() {
            return Err(no_private_data());
        }
        Ok(self.ledger.range(start, end, pagination.as_ref()))
    }

    async fn query_rich(
        &mut self,
        _collection: &str,
        _query: &str,
        _pagination: Option<Pagination>,
    ) -> Result<QueryPage> {
        Err(ShimError::Unsupported(
            "rich queries need a CouchDB state database".into(),
        ))
    }

    async fn query_history(&mut self, key: &str) -> Result<Vec<KeyModification>> {
        Ok(self.ledger.history(key))
    }

    async fn read_metadata(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>> {
        if !collection.is_empty() {
            return Err(no_private_data());
        }
        Ok(self.ledger.metadata(key).into_iter().collect())
    }

    async fn write_metadata(
        &mut self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: Vec<u8>,
    ) -> Result<()> {
        if !collection.is_empty() {
            return Err(no_private_data());
        }
        self.metadata_writes
            .insert(key.to_owned(), (metakey.to_owned(), value));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::create_composite_key;
    use crate::response::{error, success};
    use crate::VALIDATION_PARAMETER;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn reads_see_committed_state_only() {
        block_on(async {
            let ledger = MemoryLedger::new();
            let mut stub = ledger.stub(["t"]);
            stub.put_state("k", b"v1".to_vec()).await.unwrap();
            assert_eq!(
                stub.get_state("k").await.unwrap(),
                None,
                "no read-your-writes"
            );
            stub.commit();
            let mut next = ledger.stub(["t"]);
            assert_eq!(next.get_state("k").await.unwrap(), Some(b"v1".to_vec()));
        });
    }

    #[test]
    fn empty_value_and_delete_remove_the_key_and_history_records_them() {
        block_on(async {
            let ledger = MemoryLedger::new();
            ledger.seed("a", "1");
            ledger.seed("b", "1");
            let mut stub = ledger.stub(["t"]);
            stub.put_state("a", Vec::new()).await.unwrap();
            stub.del_state("b").await.unwrap();
            stub.commit();
            assert_eq!(ledger.keys(), Vec::<String>::new());
            let history = ledger.history("b");
            assert_eq!(history.len(), 2);
            assert!(history[0].is_delete, "newest first");
            assert_eq!(history[1].value, b"1");
            assert_eq!(history[0].tx_id, stub.tx_id());
        });
    }

    #[test]
    fn ranges_exclude_composite_keys_and_paginate_with_bookmarks() {
        block_on(async {
            let ledger = MemoryLedger::new();
            for key in ["a", "b", "c", "d"] {
                ledger.seed(key, key);
            }
            ledger.seed(&create_composite_key("obj", &["x"]).unwrap(), "c1");
            let mut stub = ledger.stub(["t"]);
            let all = stub.get_state_by_range("", "").await.unwrap();
            let keys: Vec<_> = all.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(keys, ["a", "b", "c", "d"]);
            let page1 = stub
                .get_state_by_range_with_pagination("a", "z", 3, "")
                .await
                .unwrap();
            assert_eq!(page1.results.len(), 3);
            assert_eq!(page1.bookmark, "d");
            let page2 = stub
                .get_state_by_range_with_pagination("a", "z", 3, &page1.bookmark)
                .await
                .unwrap();
            assert_eq!(
                page2
                    .results
                    .iter()
                    .map(|kv| kv.key.as_str())
                    .collect::<Vec<_>>(),
                ["d"]
            );
            assert_eq!(page2.bookmark, "");
            assert!(stub.get_state_by_range("z", "a").await.unwrap().is_empty());
            let composite = stub
                .get_state_by_partial_composite_key("obj", &[])
                .await
                .unwrap();
            assert_eq!(composite.len(), 1);
            assert!(stub
                .get_state_by_range_with_pagination("a", "z", 0, "")
                .await
                .is_err());
        });
    }

    #[test]
    fn metadata_follows_fabric_rules() {
        block_on(async {
            let ledger = MemoryLedger::new();
            ledger.seed("k", "v");
            let mut stub = ledger.stub(["t"]);
            stub.set_state_validation_parameter("k", b"policy".to_vec())
                .await
                .unwrap();
            stub.set_state_validation_parameter("missing", b"p".to_vec())
                .await
                .unwrap();
            stub.commit();
            assert_eq!(ledger.metadata("k")[VALIDATION_PARAMETER], b"policy");
            assert!(
                ledger.metadata("missing").is_empty(),
                "metadata of a missing key is dropped"
            );
            ledger.seed("k", "v2");
            let mut reader = ledger.stub(["t"]);
            assert_eq!(
                reader.get_state_validation_parameter("k").await.unwrap(),
                Some(b"policy".to_vec()),
                "metadata survives value updates"
            );
            let mut deleter = ledger.stub(["t"]);
            deleter.del_state("k").await.unwrap();
            deleter.commit();
            ledger.seed("k", "v3");
            assert!(
                ledger.metadata("k").is_empty(),
                "metadata goes with the key"
            );
        });
    }

    #[test]
    fn invalid_keys_private_data_and_rich_queries_are_refused() {
        block_on(async {
            let ledger = MemoryLedger::new();
            let mut stub = ledger.stub(["t"]);
            assert!(stub.put_state("", b"v".to_vec()).await.is_err());
            assert!(stub.put_state("\u{0}bad", b"v".to_vec()).await.is_err());
            assert!(stub.get_state_by_range("\u{0}a", "").await.is_err());
            assert!(matches!(
                stub.get_private_data("coll", "k").await,
                Err(ShimError::Unsupported(_))
            ));
            assert!(stub.get_private_data("", "k").await.is_err());
            assert!(stub.get_query_result("{}").await.is_err());
            assert!(stub.set_event("", Vec::new()).is_err());
        });
    }

    struct Counter;

    #[async_trait]
    impl Chaincode for Counter {
        async fn invoke(&self, stub: &mut dyn ChaincodeStub) -> Response {
            let (function, _) = stub.function_and_parameters();
            if function == "fail" {
                let _ = stub.put_state("n", b"999".to_vec()).await;
                return error("refused");
            }
            let current = match stub.get_state("n").await {
                Ok(v) => v.unwrap_or_default(),
                Err(e) => return error(e.to_string()),
            };
            let n: u64 = String::from_utf8_lossy(&current).parse().unwrap_or(0) + 1;
            if let Err(e) = stub.put_state("n", n.to_string().into_bytes()).await {
                return error(e.to_string());
            }
            let _ = stub.set_event("counted", n.to_string().into_bytes());
            success(n.to_string())
        }
    }

    #[test]
    fn submit_commits_only_successful_transactions() {
        block_on(async {
            let ledger = MemoryLedger::new();
            assert_eq!(ledger.submit(&Counter, ["inc"]).await.payload, b"1");
            assert_eq!(ledger.submit(&Counter, ["inc"]).await.payload, b"2");
            assert_eq!(ledger.submit(&Counter, ["fail"]).await.status, 500);
            assert_eq!(ledger.get("n"), Some(b"2".to_vec()));
            assert_eq!(ledger.evaluate(&Counter, ["inc"]).await.payload, b"3");
            assert_eq!(
                ledger.get("n"),
                Some(b"2".to_vec()),
                "evaluate does not commit"
            );
            let stub = ledger
                .stub(["inc"])
                .with_creator("Org1MSP", "PEM")
                .with_transient("t", "x");
            let (response, stub) = ledger.submit_stub(&Counter, stub).await;
            assert_eq!(response.status, 200);
            assert_eq!(stub.event().unwrap().event_name, "counted");
            assert_eq!(stub.creator_identity().unwrap().mspid, "Org1MSP");
            assert_eq!(stub.transient()["t"], b"x");
            assert!(stub.tx_timestamp().is_some());
        });
    }
}
