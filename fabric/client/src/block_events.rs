//! Blocks from a peer's Deliver service.
//!
//! Owns: the signed `DELIVER_SEEK_INFO` envelope (`SeekInfo{start, stop,
//! BLOCK_UNTIL_READY}` in a payload signed by the client), streams of full
//! blocks (`protos.Deliver/Deliver`) and filtered blocks (`DeliverFiltered`),
//! single-block fetches and the chain height.
//!
//! The request stream is kept open after the seek envelope: Fabric's deliver
//! handler serves one seek at a time and a half-closed stream gains nothing.
//! Streams run in a spawned task so the request reaches the peer right away
//! (Fabric sends response headers only with the first block); the task stops
//! when the consumer drops the stream.

use crate::connection::deliver_client;
use crate::error::{Error, Result, RpcError};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{Block, Envelope, HeaderType, Status};
use fabric_proto::orderer::{
    seek_info, seek_position, SeekInfo, SeekNewest, SeekNextCommit, SeekPosition, SeekSpecified,
};
use fabric_proto::protos::{deliver_response, DeliverResponse, FilteredBlock};
use futures::{Stream, StreamExt};
use prost::Message;
use std::pin::Pin;
use tokio::sync::mpsc;
use tonic::transport::Channel;

/// A stream of events; an error item ends it.
pub type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T>> + Send>>;

/// Where a stream starts: a block number, or (None) the next block to be committed.
pub fn start_position(start: Option<u64>) -> SeekPosition {
    match start {
        Some(number) => specified(number),
        None => SeekPosition {
            r#type: Some(seek_position::Type::NextCommit(SeekNextCommit {})),
        },
    }
}

pub fn specified(number: u64) -> SeekPosition {
    SeekPosition {
        r#type: Some(seek_position::Type::Specified(SeekSpecified { number })),
    }
}

pub fn newest() -> SeekPosition {
    SeekPosition {
        r#type: Some(seek_position::Type::Newest(SeekNewest {})),
    }
}

/// "Never stop": the largest block number, as Fabric's clients use for open-ended streams.
pub fn unbounded() -> SeekPosition {
    specified(u64::MAX)
}

/// The signed envelope asking for blocks `start..=stop` on `channel`.
pub fn seek_envelope(
    identity: &SigningIdentity,
    channel: &str,
    start: SeekPosition,
    stop: SeekPosition,
    tls_cert_hash: Option<Vec<u8>>,
) -> Envelope {
    let seek = SeekInfo {
        start: Some(start),
        stop: Some(stop),
        behavior: seek_info::SeekBehavior::BlockUntilReady as i32,
        ..Default::default()
    };
    crate::signing::signed_envelope(
        identity,
        HeaderType::DeliverSeekInfo,
        channel,
        seek.encode_to_vec(),
        tls_cert_hash,
    )
}

/// One seek envelope followed by a request stream that stays open.
pub(crate) fn request_stream(envelope: Envelope) -> impl Stream<Item = Envelope> + Send + 'static {
    futures::stream::once(async move { envelope }).chain(futures::stream::pending())
}

/// Which deliver RPC to call.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    Blocks,
    Filtered,
}

async fn open(
    endpoint: &str,
    channel: Channel,
    envelope: Envelope,
    flavor: Flavor,
) -> Result<tonic::Streaming<DeliverResponse>> {
    let mut client = deliver_client(channel);
    let requests = request_stream(envelope);
    let response = match flavor {
        Flavor::Blocks => client.deliver(requests).await,
        Flavor::Filtered => client.deliver_filtered(requests).await,
    };
    response
        .map(tonic::Response::into_inner)
        .map_err(|s| Error::Deliver {
            endpoint: endpoint.to_owned(),
            rpc: RpcError::from_status(&s),
        })
}

/// What one deliver response means for the consumer.
enum Step<T> {
    Item(T),
    /// The seek finished (SUCCESS status after the stop block).
    Done,
}

fn interpret<T>(
    endpoint: &str,
    response: DeliverResponse,
    extract: fn(deliver_response::Type) -> Option<T>,
) -> Result<Step<T>> {
    match response.r#type {
        Some(deliver_response::Type::Status(code)) => {
            if code == Status::Success as i32 {
                Ok(Step::Done)
            } else {
                Err(Error::DeliverStatus {
                    endpoint: endpoint.to_owned(),
                    status: status_name(code),
                })
            }
        }
        Some(other) => extract(other).map(Step::Item).ok_or_else(|| {
            Error::malformed(
                "deliver response",
                "a message of the wrong kind for this stream",
            )
        }),
        None => Err(Error::malformed("deliver response", "empty response")),
    }
}

fn status_name(code: i32) -> String {
    let name = Status::try_from(code)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN");
    format!("{name} ({code})")
}

fn block_of(t: deliver_response::Type) -> Option<Block> {
    match t {
        deliver_response::Type::Block(b) => Some(b),
        _ => None,
    }
}

fn filtered_of(t: deliver_response::Type) -> Option<FilteredBlock> {
    match t {
        deliver_response::Type::FilteredBlock(b) => Some(b),
        _ => None,
    }
}

/// Runs `producer` in a task feeding a bounded channel; stops it when the consumer goes away.
pub(crate) fn spawn_stream<T, F>(
    producer: impl FnOnce(mpsc::Sender<Result<T>>) -> F,
) -> EventStream<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    let watcher = tx.clone();
    let work = producer(tx);
    tokio::spawn(async move {
        tokio::select! {
            () = work => {}
            () = watcher.closed() => {}
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn spawn_deliver<T: Send + 'static>(
    endpoint: String,
    channel: Channel,
    envelope: Envelope,
    flavor: Flavor,
    extract: fn(deliver_response::Type) -> Option<T>,
) -> EventStream<T> {
    spawn_stream(move |tx| async move {
        let mut stream = match open(&endpoint, channel, envelope, flavor).await {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        loop {
            let item = match stream.message().await {
                Ok(Some(response)) => interpret(&endpoint, response, extract),
                Ok(None) => return,
                Err(s) => Err(Error::Deliver {
                    endpoint: endpoint.clone(),
                    rpc: RpcError::from_status(&s),
                }),
            };
            match item {
                Ok(Step::Item(value)) => {
                    if tx.send(Ok(value)).await.is_err() {
                        return;
                    }
                }
                Ok(Step::Done) => return,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
        }
    })
}

/// Full blocks from `protos.Deliver/Deliver` for the given seek envelope.
pub fn deliver_blocks(endpoint: &str, channel: Channel, envelope: Envelope) -> EventStream<Block> {
    spawn_deliver(
        endpoint.to_owned(),
        channel,
        envelope,
        Flavor::Blocks,
        block_of,
    )
}

/// Filtered blocks (txids, validation codes, chaincode event names) from `DeliverFiltered`.
pub fn deliver_filtered(
    endpoint: &str,
    channel: Channel,
    envelope: Envelope,
) -> EventStream<FilteredBlock> {
    spawn_deliver(
        endpoint.to_owned(),
        channel,
        envelope,
        Flavor::Filtered,
        filtered_of,
    )
}

/// Fetches the first block the seek envelope selects (used with start = stop).
pub async fn fetch_block(endpoint: &str, channel: Channel, envelope: Envelope) -> Result<Block> {
    let mut stream = open(endpoint, channel, envelope, Flavor::Blocks).await?;
    let response = stream
        .message()
        .await
        .map_err(|s| Error::Deliver {
            endpoint: endpoint.to_owned(),
            rpc: RpcError::from_status(&s),
        })?
        .ok_or_else(|| Error::malformed("deliver stream", "closed before a block arrived"))?;
    match interpret(endpoint, response, block_of)? {
        Step::Item(block) => Ok(block),
        Step::Done => Err(Error::malformed(
            "deliver stream",
            "finished without a block",
        )),
    }
}

/// Number of the newest block + 1, via a seek for Newest..=Newest.
pub async fn block_height(
    endpoint: &str,
    channel: Channel,
    identity: &SigningIdentity,
    channel_name: &str,
    tls_cert_hash: Option<Vec<u8>>,
) -> Result<u64> {
    let envelope = seek_envelope(identity, channel_name, newest(), newest(), tls_cert_hash);
    let block = fetch_block(endpoint, channel, envelope).await?;
    let number = block
        .header
        .ok_or_else(|| Error::malformed("block", "no header"))?
        .number;
    Ok(number + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::tests::test_identity;
    use fabric_proto::common::{ChannelHeader, Payload};

    #[test]
    fn seek_envelope_is_signed_deliver_seek_info() {
        let id = test_identity("Org1MSP");
        let env = seek_envelope(&id, "ehr", newest(), unbounded(), Some(vec![7; 32]));
        id.identity.verify(&env.payload, &env.signature).unwrap();
        let payload = Payload::decode(env.payload.as_slice()).unwrap();
        let header = payload.header.unwrap();
        let ch = ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(ch.r#type, HeaderType::DeliverSeekInfo as i32);
        assert_eq!(ch.channel_id, "ehr");
        assert_eq!(ch.tls_cert_hash, vec![7; 32]);
        let seek = SeekInfo::decode(payload.data.as_slice()).unwrap();
        assert_eq!(seek.start, Some(newest()));
        assert_eq!(seek.stop, Some(specified(u64::MAX)));
        assert_eq!(
            seek.behavior,
            seek_info::SeekBehavior::BlockUntilReady as i32
        );
    }

    #[test]
    fn default_start_is_next_commit() {
        assert!(matches!(
            start_position(None).r#type,
            Some(seek_position::Type::NextCommit(_))
        ));
        assert_eq!(start_position(Some(5)), specified(5));
    }

    #[test]
    fn deliver_statuses_end_or_fail_the_stream() {
        let done = DeliverResponse {
            r#type: Some(deliver_response::Type::Status(Status::Success as i32)),
        };
        assert!(matches!(interpret("p", done, block_of), Ok(Step::Done)));
        let forbidden = DeliverResponse {
            r#type: Some(deliver_response::Type::Status(Status::Forbidden as i32)),
        };
        let err = interpret("p", forbidden, block_of).err().unwrap();
        assert!(err.to_string().contains("FORBIDDEN (403)"), "{err}");
        let block = DeliverResponse {
            r#type: Some(deliver_response::Type::Block(Block::default())),
        };
        assert!(matches!(
            interpret("p", block.clone(), block_of),
            Ok(Step::Item(_))
        ));
        // A full block on a filtered stream is a protocol error, not silently dropped.
        assert!(interpret("p", block, filtered_of).is_err());
    }
}
