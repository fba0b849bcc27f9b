//! `ChaincodeStub` over the peer stream: every ledger primitive is one shim
//! request (plus QUERY_STATE_NEXT / QUERY_STATE_CLOSE for iterators).

use std::collections::HashMap;

use async_trait::async_trait;
use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::{
    ChaincodeEvent, DelState, GetHistoryForKey, GetQueryResult, GetState, GetStateByRange,
    GetStateMetadata, PutState, PutStateMetadata, QueryMetadata, QueryResponse,
    QueryResponseMetadata, QueryStateClose, QueryStateNext, StateMetadata, StateMetadataResult,
};
use fabric_proto::queryresult;
use prost::Message;

use super::link::TxLink;
use crate::context::TxContext;
use crate::error::{Result, ShimError};
use crate::stub::{ChaincodeStub, KeyModification, KeyValue, Pagination, QueryPage};

/// The stub a contract gets for a transaction the peer sent.
pub(crate) struct PeerStub {
    context: TxContext,
    link: TxLink,
    event: Option<ChaincodeEvent>,
}

impl PeerStub {
    pub(super) fn new(context: TxContext, link: TxLink) -> Self {
        PeerStub {
            context,
            link,
            event: None,
        }
    }

    /// The event the contract set, for the COMPLETED message.
    pub(super) fn take_event(&mut self) -> Option<ChaincodeEvent> {
        self.event.take()
    }

    async fn call<M: Message>(&self, kind: Type, request: M) -> Result<Vec<u8>> {
        self.link.request(kind, request.encode_to_vec()).await
    }

    async fn call_query<M: Message>(&self, kind: Type, request: M) -> Result<QueryResponse> {
        let payload = self.call(kind, request).await?;
        QueryResponse::decode(payload.as_slice())
            .map_err(|e| ShimError::decode("protos.QueryResponse", e))
    }

    /// Reads an iterator to its end, then closes it on the peer.
    async fn drain(
        &self,
        first: QueryResponse,
    ) -> Result<(Vec<Vec<u8>>, Option<QueryResponseMetadata>)> {
        let id = first.id.clone();
        let mut metadata = None;
        let mut items = Vec::new();
        let mut response = first;
        loop {
            if !response.metadata.is_empty() {
                metadata = Some(
                    QueryResponseMetadata::decode(response.metadata.as_slice())
                        .map_err(|e| ShimError::decode("protos.QueryResponseMetadata", e))?,
                );
            }
            let batch_len = response.results.len();
            items.extend(response.results.into_iter().map(|r| r.result_bytes));
            if !response.has_more {
                break;
            }
            if batch_len == 0 {
                // A peer that promises more but sends nothing would loop us forever.
                return Err(ShimError::Protocol(
                    "query response has more results but carried none".into(),
                ));
            }
            response = self
                .call_query(Type::QueryStateNext, QueryStateNext { id: id.clone() })
                .await?;
        }
        self.call(Type::QueryStateClose, QueryStateClose { id })
            .await?;
        Ok((items, metadata))
    }

    async fn run_query(&self, kind: Type, request: impl Message) -> Result<QueryPage> {
        let first = self.call_query(kind, request).await?;
        let (items, metadata) = self.drain(first).await?;
        let results = items
            .iter()
            .map(|bytes| {
                queryresult::Kv::decode(bytes.as_slice())
                    .map(|kv| KeyValue {
                        key: kv.key,
                        value: kv.value,
                    })
                    .map_err(|e| ShimError::decode("queryresult.KV", e))
            })
            .collect::<Result<Vec<_>>>()?;
        let metadata = metadata.unwrap_or_default();
        Ok(QueryPage {
            results,
            bookmark: metadata.bookmark,
            fetched_records_count: metadata.fetched_records_count,
        })
    }
}

fn query_metadata(pagination: Option<Pagination>) -> Vec<u8> {
    pagination
        .map(|p| {
            QueryMetadata {
                page_size: p.page_size,
                bookmark: p.bookmark,
            }
            .encode_to_vec()
        })
        .unwrap_or_default()
}

fn non_empty(bytes: Vec<u8>) -> Option<Vec<u8>> {
    (!bytes.is_empty()).then_some(bytes)
}

#[async_trait]
impl ChaincodeStub for PeerStub {
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
            event_name: name.to_owned(),
            payload,
            ..Default::default()
        });
        Ok(())
    }

    async fn read_state(&mut self, collection: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let request = GetState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        };
        Ok(non_empty(self.call(Type::GetState, request).await?))
    }

    async fn write_state(&mut self, collection: &str, key: &str, value: Vec<u8>) -> Result<()> {
        let request = PutState {
            key: key.to_owned(),
            value,
            collection: collection.to_owned(),
        };
        self.call(Type::PutState, request).await.map(drop)
    }

    async fn delete_state(&mut self, collection: &str, key: &str) -> Result<()> {
        let request = DelState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        };
        self.call(Type::DelState, request).await.map(drop)
    }

    async fn read_private_data_hash(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        let request = GetState {
            key: key.to_owned(),
            collection: collection.to_owned(),
        };
        Ok(non_empty(
            self.call(Type::GetPrivateDataHash, request).await?,
        ))
    }

    async fn query_range(
        &mut self,
        collection: &str,
        start: &str,
        end: &str,
        pagination: Option<Pagination>,
    ) -> Result<QueryPage> {
        let request = GetStateByRange {
            start_key: start.to_owned(),
            end_key: end.to_owned(),
            collection: collection.to_owned(),
            metadata: query_metadata(pagination),
        };
        self.run_query(Type::GetStateByRange, request).await
    }

    async fn query_rich(
        &mut self,
        collection: &str,
        query: &str,
        pagination: Option<Pagination>,
    ) -> Result<QueryPage> {
        let request = GetQueryResult {
            query: query.to_owned(),
            collection: collection.to_owned(),
            metadata: query_metadata(pagination),
        };
        self.run_query(Type::GetQueryResult, request).await
    }

    async fn query_history(&mut self, key: &str) -> Result<Vec<KeyModification>> {
        let request = GetHistoryForKey {
            key: key.to_owned(),
        };
        let first = self.call_query(Type::GetHistoryForKey, request).await?;
        let (items, _) = self.drain(first).await?;
        items
            .iter()
            .map(|bytes| {
                queryresult::KeyModification::decode(bytes.as_slice())
                    .map(|m| KeyModification {
                        tx_id: m.tx_id,
                        value: m.value,
                        timestamp: m.timestamp,
                        is_delete: m.is_delete,
                    })
                    .map_err(|e| ShimError::decode("queryresult.KeyModification", e))
            })
            .collect()
    }

    async fn read_metadata(
        &mut self,
        collection: &str,
        key: &str,
    ) -> Result<HashMap<String, Vec<u8>>> {
        let request = GetStateMetadata {
            key: key.to_owned(),
            collection: collection.to_owned(),
        };
        let payload = self.call(Type::GetStateMetadata, request).await?;
        let result = StateMetadataResult::decode(payload.as_slice())
            .map_err(|e| ShimError::decode("protos.StateMetadataResult", e))?;
        Ok(result
            .entries
            .into_iter()
            .map(|entry| (entry.metakey, entry.value))
            .collect())
    }

    async fn write_metadata(
        &mut self,
        collection: &str,
        key: &str,
        metakey: &str,
        value: Vec<u8>,
    ) -> Result<()> {
        let request = PutStateMetadata {
            key: key.to_owned(),
            collection: collection.to_owned(),
            metadata: Some(StateMetadata {
                metakey: metakey.to_owned(),
                value,
            }),
        };
        self.call(Type::PutStateMetadata, request).await.map(drop)
    }
}
