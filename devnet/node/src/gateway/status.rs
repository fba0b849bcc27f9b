//! Gateway CommitStatus and ChaincodeEvents: signed requests answered from
//! this peer's ledger, waiting for commits as needed.

use crate::auth::{unix_now, IdentityCache};
use crate::events;
use crate::network::Network;
use crate::peer::Peer;
use fabric_proto::gateway::{
    ChaincodeEventsRequest, ChaincodeEventsResponse, CommitStatusRequest, CommitStatusResponse,
    SignedChaincodeEventsRequest, SignedCommitStatusRequest,
};
use fabric_proto::orderer::seek_position;
use fabric_proto::protos::TxValidationCode;
use prost::Message;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

/// Checks a signed gateway request against `/Channel/Application/Readers`.
fn check_signed(
    ids: &IdentityCache,
    orderer_mspid: &str,
    identity: &[u8],
    data: &[u8],
    signature: &[u8],
) -> Result<(), Status> {
    let id = ids
        .verify(identity, data, signature, unix_now())
        .map_err(|e| Status::permission_denied(e.to_string()))?;
    ids.check_reader(&id, Some(orderer_mspid))
        .map_err(|e| Status::permission_denied(e.to_string()))
}

pub(super) async fn commit_status(
    net: &Network,
    local: &Peer,
    signed: SignedCommitStatusRequest,
) -> Result<CommitStatusResponse, Status> {
    if signed.request.is_empty() {
        return Err(Status::invalid_argument(
            "a commit status request is required",
        ));
    }
    let request = CommitStatusRequest::decode(signed.request.as_slice())
        .map_err(|e| Status::invalid_argument(format!("invalid status request: {e}")))?;
    if request.identity.is_empty() {
        return Err(Status::invalid_argument("no identity provided"));
    }
    if request.channel_id.is_empty() {
        return Err(Status::invalid_argument("no channel ID provided"));
    }
    if request.transaction_id.is_empty() {
        return Err(Status::invalid_argument(
            "transaction ID should not be empty",
        ));
    }
    check_signed(
        &net.ids,
        &net.orderer.mspid,
        &request.identity,
        &signed.request,
        &signed.signature,
    )?;
    if request.channel_id != net.channel {
        return Err(Status::failed_precondition(format!(
            "channel {} not found",
            request.channel_id
        )));
    }
    let committed = tokio::select! {
        r = local.commit_status(&request.transaction_id) => r.map_err(Status::aborted)?,
        _ = net.stopping() => None,
    };
    let (block_number, result) =
        committed.ok_or_else(|| Status::unavailable("the peer is shutting down"))?;
    Ok(CommitStatusResponse {
        result,
        block_number,
    })
}

/// The stream type of ChaincodeEvents.
pub(super) type EventsStream = ReceiverStream<Result<ChaincodeEventsResponse, Status>>;

pub(super) async fn chaincode_events(
    net: &Arc<Network>,
    local: &Arc<Peer>,
    signed: SignedChaincodeEventsRequest,
) -> Result<EventsStream, Status> {
    if signed.request.is_empty() {
        return Err(Status::invalid_argument(
            "a chaincode events request is required",
        ));
    }
    let request = ChaincodeEventsRequest::decode(signed.request.as_slice())
        .map_err(|e| Status::invalid_argument(format!("invalid chaincode events request: {e}")))?;
    check_signed(
        &net.ids,
        &net.orderer.mspid,
        &request.identity,
        &signed.request,
        &signed.signature,
    )?;
    if request.channel_id != net.channel {
        return Err(Status::not_found(format!(
            "channel {} not found",
            request.channel_id
        )));
    }
    let start = start_block(local, &request).await?;
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(stream_events(
        net.clone(),
        local.clone(),
        request,
        start,
        tx,
    ));
    Ok(ReceiverStream::new(rx))
}

/// Fabric's rule: the block of `after_transaction_id` when it is known, else the start position
/// (specified number, or the next commit; oldest/newest are refused).
async fn start_block(local: &Peer, request: &ChaincodeEventsRequest) -> Result<u64, Status> {
    if !request.after_transaction_id.is_empty() {
        let ledger = local.ledger().clone();
        let txid = request.after_transaction_id.clone();
        let found = tokio::task::spawn_blocking(move || ledger.tx_location(&txid))
            .await
            .map_err(|e| Status::aborted(e.to_string()))?;
        if let Some(status) = found {
            return Ok(status.block);
        }
    }
    let height = local.chain().height();
    match request
        .start_position
        .as_ref()
        .and_then(|p| p.r#type.as_ref())
    {
        None | Some(seek_position::Type::NextCommit(_)) => Ok(height),
        Some(seek_position::Type::Specified(s)) => Ok(s.number),
        Some(seek_position::Type::Oldest(_)) => Err(invalid_position("Oldest")),
        Some(seek_position::Type::Newest(_)) => Err(invalid_position("Newest")),
    }
}

fn invalid_position(kind: &str) -> Status {
    Status::invalid_argument(format!(
        "invalid start position type: *orderer.SeekPosition_{kind}"
    ))
}

/// Sends one response per block that holds matching events of valid transactions.
async fn stream_events(
    net: Arc<Network>,
    local: Arc<Peer>,
    request: ChaincodeEventsRequest,
    start: u64,
    tx: mpsc::Sender<Result<ChaincodeEventsResponse, Status>>,
) {
    let mut chain = local.chain();
    // Fabric skips everything up to and including the event of `after_transaction_id`.
    let mut passed_previous = request.after_transaction_id.is_empty();
    let mut number = start;
    loop {
        tokio::select! {
            h = chain.wait_for_block(number) => if h.is_none() { return },
            _ = tx.closed() => return,
            _ = net.stopping() => return,
        }
        let block = match chain.block(number).await {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Err(Status::aborted(e))).await;
                return;
            }
        };
        let mut matching = Vec::new();
        for t in events::summarize(&block) {
            if t.code != TxValidationCode::Valid as i32 {
                continue;
            }
            for event in t.events.into_iter().filter(events::is_complete) {
                if !passed_previous {
                    passed_previous = event.tx_id == request.after_transaction_id;
                    continue;
                }
                if event.chaincode_id == request.chaincode_id {
                    matching.push(event);
                }
            }
        }
        if !matching.is_empty() {
            let response = ChaincodeEventsResponse {
                events: matching,
                block_number: number,
            };
            if tx.send(Ok(response)).await.is_err() {
                return;
            }
        }
        number += 1;
    }
}
