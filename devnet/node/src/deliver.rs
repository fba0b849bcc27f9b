//! Fabric's deliver protocol over a chain, shared by the orderer's
//! `AtomicBroadcast.Deliver` and the peers' `Deliver`/`DeliverFiltered`/
//! `DeliverWithPrivateData`: each request is a signed DELIVER_SEEK_INFO
//! envelope; blocks from start to stop are streamed, then a status. A
//! non-SUCCESS status ends the stream, as in Fabric.

use crate::auth::{unix_now, IdentityCache};
use crate::chain::ChainView;
use crate::channel_config::{self, ChannelConfig};
use crate::envelope;
use fabric_proto::common::{Block, BlockMetadataIndex, Envelope, Status};
use fabric_proto::orderer::{seek_info, seek_position, SeekInfo, SeekPosition};
use prost::Message;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

/// Fabric's default allowed skew between a request's timestamp and the server clock.
const TIME_WINDOW_SECS: i64 = 15 * 60;

/// Responses buffered per stream before the sender waits for the client.
const STREAM_BUFFER: usize = 16;

/// What one deliver stream serves.
#[derive(Clone)]
pub(crate) struct DeliverSource {
    pub channel: String,
    pub ids: Arc<IdentityCache>,
    pub chain: ChainView,
    /// The orderer's copies carry no TRANSACTIONS_FILTER: the slot is emptied on the way out.
    pub strip_filter: bool,
    /// Peers serve `/Channel/Application/Readers`: the orderer org's identities are refused.
    pub excluded_mspid: Option<String>,
    /// On peers, the ACL resource of the stream (`event/Block`, `event/FilteredBlock`):
    /// the policy the channel config's ACLs give it decides who may read.
    pub acl: Option<&'static str>,
    pub shutdown: watch::Receiver<bool>,
}

/// One item of a deliver stream before it is put in the service's response type.
pub(crate) enum Item {
    Status(Status),
    Block(Block),
}

/// Serves a deliver stream: reads seek requests from `requests`, answers through `wrap`.
pub(crate) fn serve<T, F>(
    source: DeliverSource,
    requests: tonic::Streaming<Envelope>,
    wrap: F,
) -> ReceiverStream<Result<T, tonic::Status>>
where
    T: Send + 'static,
    F: Fn(Item) -> T + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tokio::spawn(handle(source, requests, tx, wrap));
    ReceiverStream::new(rx)
}

async fn handle<T, F>(
    mut source: DeliverSource,
    mut requests: tonic::Streaming<Envelope>,
    tx: mpsc::Sender<Result<T, tonic::Status>>,
    wrap: F,
) where
    T: Send,
    F: Fn(Item) -> T + Sync,
{
    loop {
        let mut shutdown = source.shutdown.clone();
        let next = tokio::select! {
            m = requests.message() => m,
            _ = tx.closed() => return,
            _ = crate::chain::stopped(&mut shutdown) => return,
        };
        let env = match next {
            Ok(Some(env)) => env,
            Ok(None) => return,
            Err(status) => {
                // The client learns why its stream ended (Fabric: INTERNAL).
                let _ = tx
                    .send(Err(crate::recv::request_stream_error(status)))
                    .await;
                return;
            }
        };
        let Some(status) = deliver_blocks(&mut source, &env, &tx, &wrap).await else {
            return;
        };
        if tx.send(Ok(wrap(Item::Status(status)))).await.is_err() || status != Status::Success {
            return;
        }
    }
}

/// A request that passed the checks.
struct Seek {
    start: u64,
    stop: u64,
    fail_if_not_ready: bool,
    headers_only: bool,
}

/// Streams the requested blocks; the final status, or None when the client or server went away.
async fn deliver_blocks<T, F>(
    source: &mut DeliverSource,
    env: &Envelope,
    tx: &mpsc::Sender<Result<T, tonic::Status>>,
    wrap: &F,
) -> Option<Status>
where
    T: Send,
    F: Fn(Item) -> T + Sync,
{
    // A peer rebuilding its ledger from the orderer has no config (so no ACL) until
    // block 0 commits; a Fabric peer always has it from joining. Wait for it.
    if source.acl.is_some() && source.chain.height() == 0 {
        let mut shutdown = source.shutdown.clone();
        let mut chain = source.chain.clone();
        tokio::select! {
            h = chain.wait_for_block(0) => h?,
            _ = tx.closed() => return None,
            _ = crate::chain::stopped(&mut shutdown) => return None,
        };
    }
    let seek = match check_request(source, env) {
        Ok(seek) => seek,
        Err((status, why)) => {
            tracing::warn!(channel = %source.channel, "deliver request refused ({status:?}): {why}");
            return Some(status);
        }
    };
    let mut number = seek.start;
    loop {
        if seek.fail_if_not_ready && number >= source.chain.height() {
            return Some(Status::NotFound);
        }
        let mut shutdown = source.shutdown.clone();
        tokio::select! {
            h = source.chain.wait_for_block(number) => { h?; }
            _ = tx.closed() => return None,
            _ = crate::chain::stopped(&mut shutdown) => return None,
        }
        let block = match source.chain.block(number).await {
            Ok(Some(block)) => block,
            Ok(None) => return Some(Status::NotFound),
            Err(e) => {
                tracing::error!("deliver cannot read block {number}: {e}");
                return Some(Status::InternalServerError);
            }
        };
        let block = outgoing(block, source.strip_filter, seek.headers_only);
        tx.send(Ok(wrap(Item::Block(block)))).await.ok()?;
        if number == seek.stop {
            return Some(Status::Success);
        }
        number += 1;
    }
}

/// The copy sent to the client: filter slot emptied for orderer copies; data
/// dropped for HEADER_WITH_SIG requests except on the (config) genesis block.
fn outgoing(mut block: Block, strip_filter: bool, headers_only: bool) -> Block {
    if strip_filter {
        if let Some(slot) = block.metadata.as_mut().and_then(|m| {
            m.metadata
                .get_mut(BlockMetadataIndex::TransactionsFilter as usize)
        }) {
            slot.clear();
        }
    }
    let is_genesis = block.header.as_ref().is_some_and(|h| h.number == 0);
    if headers_only && !is_genesis {
        block.data = None;
    }
    block
}

/// Fabric's checks on a deliver request, with the status each failure gets.
fn check_request(source: &DeliverSource, env: &Envelope) -> Result<Seek, (Status, String)> {
    let bad = |why: String| (Status::BadRequest, why);
    let parsed = envelope::parse(env).map_err(bad)?;
    let chdr = &parsed.channel_header;
    let ts = chdr
        .timestamp
        .as_ref()
        .ok_or_else(|| bad("channel header in envelope must contain timestamp".into()))?;
    let now = unix_now();
    if (now - ts.seconds).abs() > TIME_WINDOW_SECS {
        return Err(bad(format!(
            "envelope timestamp {} is more than 15m apart from current server time",
            ts.seconds
        )));
    }
    if chdr.channel_id != source.channel {
        return Err((
            Status::NotFound,
            format!("channel {} not found", chdr.channel_id),
        ));
    }
    let info = SeekInfo::decode(parsed.payload.data.as_slice())
        .map_err(|e| bad(format!("malformed seekInfo payload: {e}")))?;
    let id = source
        .ids
        .verify(
            &parsed.signature_header.creator,
            &env.payload,
            &env.signature,
            now,
        )
        .map_err(|e| (Status::Forbidden, e.to_string()))?;
    match source.acl {
        Some(resource) => {
            let config = ChannelConfig::load(&source.chain.ledger)
                .map_err(|e| (Status::InternalServerError, e.to_string()))?;
            channel_config::check_acl(&config.config, resource, &id, &source.ids.msps()).map_err(
                |e| {
                    tracing::warn!(channel = %source.channel, %resource, subject = %id.subject_cn, mspid = %id.mspid, "deliver refused by the channel ACL: {e}");
                    (Status::Forbidden, e)
                },
            )?;
        }
        None => source
            .ids
            .check_reader(&id, source.excluded_mspid.as_deref())
            .map_err(|e| (Status::Forbidden, e.to_string()))?,
    }
    let (Some(start), Some(stop)) = (info.start.as_ref(), info.stop.as_ref()) else {
        return Err(bad("seekInfo with missing start or stop".into()));
    };
    let height = source.chain.height();
    let start_num = start_number(start, height);
    let stop_num = match &stop.r#type {
        Some(seek_position::Type::Oldest(_)) => start_num,
        Some(seek_position::Type::Newest(_)) if start == stop => start_num,
        Some(seek_position::Type::Newest(_)) => height.saturating_sub(1),
        Some(seek_position::Type::Specified(s)) => {
            if s.number < start_num {
                return Err(bad(format!(
                    "start number {start_num} greater than stop number {}",
                    s.number
                )));
            }
            s.number
        }
        _ => u64::MAX,
    };
    Ok(Seek {
        start: start_num,
        stop: stop_num,
        fail_if_not_ready: info.behavior == seek_info::SeekBehavior::FailIfNotReady as i32,
        headers_only: info.content_type == seek_info::SeekContentType::HeaderWithSig as i32,
    })
}

/// Where a seek position starts on a chain of `height` blocks.
pub(crate) fn start_number(position: &SeekPosition, height: u64) -> u64 {
    match &position.r#type {
        Some(seek_position::Type::Oldest(_)) => 0,
        Some(seek_position::Type::Newest(_)) => height.saturating_sub(1),
        Some(seek_position::Type::Specified(s)) => s.number,
        Some(seek_position::Type::NextCommit(_)) | None => height,
    }
}
