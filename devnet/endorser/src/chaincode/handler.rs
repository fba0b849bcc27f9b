//! Answering a chaincode's ledger calls during one transaction (the peer
//! side of GET_STATE, PUT_STATE, range and history queries, ...).
//!
//! Owns: decoding each request, running it against the transaction's
//! simulator, the open query iterators of the transaction, and Fabric's
//! batching of query results (100 per response, at most 10 000 per query).

use crate::error::{EndorserError, Result};
use crate::simulator::{RangeIter, TxSimulator};
use devnet_ledger::Ledger;
use fabric_proto::protos::chaincode_message::Type as MsgType;
use fabric_proto::protos::{
    ChaincodeMessage, DelState, GetHistoryForKey, GetState, GetStateByRange, GetStateMetadata,
    PutState, PutStateMetadata, QueryMetadata, QueryResponse, QueryResponseMetadata,
    QueryResultBytes, QueryStateClose, QueryStateNext, StateMetadata, StateMetadataResult,
};
use fabric_proto::queryresult::{KeyModification, Kv};
use prost::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Results per QueryResponse when the chaincode does not paginate (Fabric's MaxResultLimit).
pub const MAX_RESULTS_PER_RESPONSE: usize = 100;
/// Fabric's default `ledger.state.totalQueryLimit`.
pub const TOTAL_QUERY_LIMIT: usize = 10_000;

pub const PRIVATE_DATA_UNSUPPORTED: &str = "private data is not supported on the devnet";
pub const RICH_QUERY_UNSUPPORTED: &str =
    "rich queries are not supported on the devnet (no CouchDB)";
/// Fabric's words for a query id the transaction does not hold.
const QUERY_NOT_FOUND: &str = "query iterator not found";

enum Source {
    Range(RangeIter),
    History(VecDeque<KeyModification>),
}

struct OpenQuery {
    source: Source,
    paginated: bool,
    limit: usize,
    pending: Vec<QueryResultBytes>,
    returned: usize,
}

/// One transaction's side of the conversation with the chaincode.
pub struct TxContext<'a> {
    pub sim: &'a mut TxSimulator,
    /// The chaincode's namespace.
    pub namespace: String,
    ledger: Arc<Ledger>,
    queries: HashMap<String, OpenQuery>,
    next_query: u64,
}

fn decode<M: Message + Default>(payload: &[u8]) -> Result<M> {
    M::decode(payload).map_err(|source| EndorserError::Decode {
        context: "unmarshal failed".into(),
        source,
    })
}

fn no_private_data(collection: &str) -> Result<()> {
    if collection.is_empty() {
        Ok(())
    } else {
        Err(EndorserError::refused(PRIVATE_DATA_UNSUPPORTED))
    }
}

impl<'a> TxContext<'a> {
    pub fn new(sim: &'a mut TxSimulator, namespace: &str, ledger: Arc<Ledger>) -> Self {
        Self {
            sim,
            namespace: namespace.to_string(),
            ledger,
            queries: HashMap::new(),
            next_query: 0,
        }
    }

    /// Answers one request from the chaincode: RESPONSE, or ERROR with Fabric's message shape.
    pub fn handle(&mut self, msg: &ChaincodeMessage) -> ChaincodeMessage {
        let kind = MsgType::try_from(msg.r#type).unwrap_or(MsgType::Undefined);
        let (r#type, payload) = match self.dispatch(kind, &msg.payload) {
            Ok(payload) => (MsgType::Response, payload),
            Err(e) => (
                MsgType::Error,
                format!(
                    "{} failed: transaction ID: {}: {e}",
                    kind.as_str_name(),
                    msg.txid
                )
                .into_bytes(),
            ),
        };
        ChaincodeMessage {
            r#type: r#type as i32,
            payload,
            txid: msg.txid.clone(),
            channel_id: msg.channel_id.clone(),
            ..Default::default()
        }
    }

    fn dispatch(&mut self, kind: MsgType, payload: &[u8]) -> Result<Vec<u8>> {
        let ns = self.namespace.clone();
        match kind {
            MsgType::GetState => {
                let req: GetState = decode(payload)?;
                no_private_data(&req.collection)?;
                Ok(self.sim.get_state(&ns, &req.key)?.unwrap_or_default())
            }
            MsgType::PutState => {
                let req: PutState = decode(payload)?;
                no_private_data(&req.collection)?;
                self.sim.set_state(&ns, &req.key, req.value)?;
                Ok(Vec::new())
            }
            MsgType::DelState => {
                let req: DelState = decode(payload)?;
                no_private_data(&req.collection)?;
                self.sim.set_state(&ns, &req.key, Vec::new())?;
                Ok(Vec::new())
            }
            MsgType::GetStateMetadata => {
                let req: GetStateMetadata = decode(payload)?;
                no_private_data(&req.collection)?;
                let entries = self
                    .sim
                    .get_state_metadata(&ns, &req.key)?
                    .into_iter()
                    .map(|(metakey, value)| StateMetadata { metakey, value })
                    .collect();
                Ok(StateMetadataResult { entries }.encode_to_vec())
            }
            MsgType::PutStateMetadata => {
                let req: PutStateMetadata = decode(payload)?;
                no_private_data(&req.collection)?;
                let md = req.metadata.ok_or_else(|| {
                    EndorserError::refused("PutStateMetadata carries no metadata")
                })?;
                self.sim.set_state_metadata(
                    &ns,
                    &req.key,
                    [(md.metakey, md.value)].into_iter().collect(),
                )?;
                Ok(Vec::new())
            }
            MsgType::GetStateByRange => self.open_range(&ns, decode(payload)?),
            MsgType::GetHistoryForKey => {
                let req: GetHistoryForKey = decode(payload)?;
                let items = self.ledger.try_history(&ns, &req.key).map_err(|source| {
                    EndorserError::Ledger {
                        context: "history query failed".into(),
                        source,
                    }
                })?;
                let id = self.open(Source::History(items.into()), false, TOTAL_QUERY_LIMIT);
                self.respond(&id)
            }
            MsgType::QueryStateNext => {
                let req: QueryStateNext = decode(payload)?;
                if !self.queries.contains_key(&req.id) {
                    return Err(EndorserError::refused(QUERY_NOT_FOUND));
                }
                self.respond(&req.id)
            }
            MsgType::QueryStateClose => {
                let req: QueryStateClose = decode(payload)?;
                self.close_query(&req.id);
                Ok(QueryResponse {
                    has_more: false,
                    id: req.id,
                    ..Default::default()
                }
                .encode_to_vec())
            }
            MsgType::GetQueryResult => Err(EndorserError::refused(RICH_QUERY_UNSUPPORTED)),
            MsgType::GetPrivateDataHash | MsgType::PurgePrivateData => {
                Err(EndorserError::refused(PRIVATE_DATA_UNSUPPORTED))
            }
            MsgType::InvokeChaincode => Err(EndorserError::refused(
                "chaincode-to-chaincode invocation is not supported on the devnet",
            )),
            other => Err(EndorserError::refused(format!(
                "Fabric side handler cannot handle message ({}) while in ready state",
                other.as_str_name()
            ))),
        }
    }

    fn open(&mut self, source: Source, paginated: bool, limit: usize) -> String {
        self.next_query += 1;
        let id = format!("itr-{}", self.next_query);
        self.queries.insert(
            id.clone(),
            OpenQuery {
                source,
                paginated,
                limit,
                pending: Vec::new(),
                returned: 0,
            },
        );
        id
    }

    fn open_range(&mut self, ns: &str, req: GetStateByRange) -> Result<Vec<u8>> {
        no_private_data(&req.collection)?;
        let metadata = if req.metadata.is_empty() {
            None
        } else {
            Some(decode::<QueryMetadata>(&req.metadata)?)
        };
        let paginated = metadata
            .as_ref()
            .is_some_and(|m| m.page_size != 0 || !m.bookmark.is_empty());
        let mut limit = TOTAL_QUERY_LIMIT;
        let mut start = req.start_key.clone();
        let mut page_size = 0;
        if let Some(m) = metadata.as_ref() {
            if m.page_size > 0 && (m.page_size as usize) < limit {
                limit = m.page_size as usize;
            }
            if paginated {
                page_size = m.page_size;
                if !m.bookmark.is_empty() {
                    start = m.bookmark.clone();
                }
            }
        }
        let it = self.sim.open_range(ns, &start, &req.end_key, page_size)?;
        let id = self.open(Source::Range(it), paginated, limit);
        self.respond(&id)
    }

    fn close_query(&mut self, id: &str) {
        self.queries.remove(id);
    }

    /// The next result of an open query, recorded in the read set where Fabric records it.
    fn next_result(&mut self, id: &str) -> Option<QueryResultBytes> {
        let query = self.queries.get_mut(id)?;
        let result_bytes = match &mut query.source {
            Source::Range(it) => {
                let namespace = it.namespace().to_string();
                let (key, value) = self.sim.next(it)?;
                Kv {
                    namespace,
                    key,
                    value,
                }
                .encode_to_vec()
            }
            Source::History(items) => items.pop_front()?.encode_to_vec(),
        };
        Some(QueryResultBytes { result_bytes })
    }

    /// Fabric's `BuildQueryResponse`: batches of 100, `has_more` while results remain,
    /// the iterator is dropped once it is finished.
    fn respond(&mut self, id: &str) -> Result<Vec<u8>> {
        loop {
            let not_found = || EndorserError::refused(QUERY_NOT_FOUND);
            let query = self.queries.get(id).ok_or_else(not_found)?;
            if query.returned >= query.limit {
                return Ok(self.finish(id));
            }
            let Some(result) = self.next_result(id) else {
                return Ok(self.finish(id));
            };
            let query = self.queries.get_mut(id).ok_or_else(not_found)?;
            query.returned += 1;
            if !query.paginated && query.pending.len() == MAX_RESULTS_PER_RESPONSE {
                let batch = std::mem::replace(&mut query.pending, vec![result]);
                return Ok(QueryResponse {
                    results: batch,
                    has_more: true,
                    id: id.to_string(),
                    metadata: Vec::new(),
                }
                .encode_to_vec());
            }
            query.pending.push(result);
        }
    }

    fn finish(&mut self, id: &str) -> Vec<u8> {
        let Some(query) = self.queries.remove(id) else {
            return Vec::new();
        };
        let metadata = if query.paginated {
            let bookmark = match &query.source {
                Source::Range(it) => it.bookmark(),
                Source::History(_) => String::new(),
            };
            QueryResponseMetadata {
                fetched_records_count: query.returned as i32,
                bookmark,
            }
            .encode_to_vec()
        } else {
            Vec::new()
        };
        QueryResponse {
            results: query.pending,
            has_more: false,
            id: id.to_string(),
            metadata,
        }
        .encode_to_vec()
    }
}
