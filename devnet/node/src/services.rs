//! The gRPC services of the nodes besides the gateway: the peers' Endorser
//! and Deliver, and the orderer's AtomicBroadcast (Broadcast and Deliver).

use crate::deliver::{self, DeliverSource, Item};
use crate::events::filtered_block;
use crate::orderer::Orderer;
use crate::peer::Peer;
use fabric_proto::common::{Envelope, Status as DeliverStatus};
use fabric_proto::orderer::atomic_broadcast_server::AtomicBroadcast;
use fabric_proto::orderer::{self, BroadcastResponse};
use fabric_proto::protos::deliver_server::Deliver;
use fabric_proto::protos::endorser_server::Endorser as EndorserRpc;
use fabric_proto::protos::{self, BlockAndPrivateData, ProposalResponse, SignedProposal};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

/// `protos.Endorser` of one peer.
pub(crate) struct EndorserService {
    pub peer: Arc<Peer>,
}

#[tonic::async_trait]
impl EndorserRpc for EndorserService {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        self.peer
            .endorser
            .process_proposal(request.get_ref())
            .await
            .map(Response::new)
            .map_err(Status::from)
    }
}

/// `protos.Deliver` of one peer.
/// Fabric's ACL resource names of the peer's deliver streams.
const EVENT_BLOCK: &str = "event/Block";
const EVENT_FILTERED_BLOCK: &str = "event/FilteredBlock";

pub(crate) struct PeerDeliverService {
    pub source: DeliverSource,
}

type PeerStream = ReceiverStream<Result<protos::DeliverResponse, Status>>;

fn peer_response(item: protos::deliver_response::Type) -> protos::DeliverResponse {
    protos::DeliverResponse { r#type: Some(item) }
}

fn peer_status(status: DeliverStatus) -> protos::DeliverResponse {
    peer_response(protos::deliver_response::Type::Status(status as i32))
}

impl PeerDeliverService {
    /// Serves a deliver stream, turning each block into `content` (full, filtered or with private data).
    /// `resource` is the ACL the channel config guards the stream with.
    fn serve(
        &self,
        request: Request<Streaming<Envelope>>,
        resource: &'static str,
        content: fn(fabric_proto::common::Block) -> protos::deliver_response::Type,
    ) -> Response<PeerStream> {
        let mut source = self.source.clone();
        source.acl = Some(resource);
        Response::new(deliver::serve(
            source,
            request.into_inner(),
            move |item| match item {
                Item::Status(s) => peer_status(s),
                Item::Block(b) => peer_response(content(b)),
            },
        ))
    }
}

#[tonic::async_trait]
impl Deliver for PeerDeliverService {
    type DeliverStream = PeerStream;
    type DeliverFilteredStream = PeerStream;
    type DeliverWithPrivateDataStream = PeerStream;

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<PeerStream>, Status> {
        Ok(self.serve(request, EVENT_BLOCK, protos::deliver_response::Type::Block))
    }

    async fn deliver_filtered(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<PeerStream>, Status> {
        Ok(self.serve(request, EVENT_FILTERED_BLOCK, |b| {
            protos::deliver_response::Type::FilteredBlock(filtered_block(&b))
        }))
    }

    /// The devnet has no private data: blocks come with an empty private data map.
    async fn deliver_with_private_data(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<PeerStream>, Status> {
        // Fabric guards this stream with the block ACL too.
        Ok(self.serve(request, EVENT_BLOCK, |b| {
            protos::deliver_response::Type::BlockAndPrivateData(BlockAndPrivateData {
                block: Some(b),
            })
        }))
    }
}

/// `orderer.AtomicBroadcast` of the orderer.
pub(crate) struct BroadcastService {
    pub orderer: Arc<Orderer>,
    pub source: DeliverSource,
}

#[tonic::async_trait]
impl AtomicBroadcast for BroadcastService {
    type BroadcastStream = ReceiverStream<Result<BroadcastResponse, Status>>;
    type DeliverStream = ReceiverStream<Result<orderer::DeliverResponse, Status>>;

    /// One response per message; a non-SUCCESS response ends the stream, as in Fabric.
    async fn broadcast(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::BroadcastStream>, Status> {
        let mut messages = request.into_inner();
        let orderer = self.orderer.clone();
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let env = match messages.message().await {
                    Ok(Some(env)) => env,
                    Ok(None) => return,
                    Err(status) => {
                        let _ = tx
                            .send(Err(crate::recv::request_stream_error(status)))
                            .await;
                        return;
                    }
                };
                let response = orderer.broadcast(&env).await;
                let success = response.status == DeliverStatus::Success as i32;
                if tx.send(Ok(response)).await.is_err() || !success {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn deliver(
        &self,
        request: Request<Streaming<Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        let stream = deliver::serve(self.source.clone(), request.into_inner(), |item| {
            orderer::DeliverResponse {
                r#type: Some(match item {
                    Item::Status(s) => orderer::deliver_response::Type::Status(s as i32),
                    Item::Block(b) => orderer::deliver_response::Type::Block(b),
                }),
            }
        });
        Ok(Response::new(stream))
    }
}
