//! The solo orderer: admits broadcast envelopes (Fabric's checks and status
//! codes), cuts them into blocks with Fabric's batch rules and BatchTimeout,
//! signs each block and persists it in its own chain before any peer sees it.

use crate::auth::{unix_now, IdentityCache};
use crate::chain::ChainView;
use crate::envelope;
use devnet_ledger::{BatchConfig, BlockCutter, Ledger, StateUpdates};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{self, BlockMetadataIndex, Envelope, HeaderType, Status};
use fabric_proto::orderer::BroadcastResponse;
use prost::Message;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How many admitted envelopes may wait for the block cutter.
const QUEUE_DEPTH: usize = 8192;

/// The ordering service of the devnet's one channel.
pub(crate) struct Orderer {
    pub channel: String,
    pub mspid: String,
    /// The address clients reach it at (for error details).
    pub address: String,
    chain: ChainView,
    queue: mpsc::Sender<Vec<u8>>,
    ids: Arc<IdentityCache>,
    absolute_max_bytes: u32,
}

/// What the block-cutting task owns.
pub(crate) struct CutterTask {
    queue: mpsc::Receiver<Vec<u8>>,
    cutter: BlockCutter,
    writer: BlockWriter,
}

/// Appends signed blocks to the orderer's chain and publishes the new height.
struct BlockWriter {
    chain: Arc<Ledger>,
    signer: SigningIdentity,
    height: watch::Sender<u64>,
}

impl Orderer {
    /// An orderer over `chain` (which must already hold the genesis block).
    pub(crate) fn new(
        channel: String,
        address: String,
        chain: Arc<Ledger>,
        signer: SigningIdentity,
        ids: Arc<IdentityCache>,
        batch: BatchConfig,
    ) -> (Arc<Self>, CutterTask) {
        let (height_tx, height_rx) = watch::channel(chain.height());
        let (queue_tx, queue_rx) = mpsc::channel(QUEUE_DEPTH);
        let orderer = Arc::new(Self {
            channel,
            mspid: signer.mspid().to_owned(),
            address,
            chain: ChainView::new(chain.clone(), height_rx),
            queue: queue_tx,
            ids,
            absolute_max_bytes: batch.absolute_max_bytes,
        });
        let task = CutterTask {
            queue: queue_rx,
            cutter: BlockCutter::new(batch),
            writer: BlockWriter {
                chain,
                signer,
                height: height_tx,
            },
        };
        (orderer, task)
    }

    /// The orderer's chain (for deliver and for peers catching up).
    pub(crate) fn chain(&self) -> ChainView {
        self.chain.clone()
    }

    /// Fabric's broadcast processing of one message: validate, then enqueue.
    pub(crate) async fn broadcast(&self, env: &Envelope) -> BroadcastResponse {
        match self.admit(env) {
            Ok(bytes) => match self.queue.send(bytes).await {
                Ok(()) => response(Status::Success, String::new()),
                Err(_) => response(
                    Status::ServiceUnavailable,
                    "the orderer is shutting down".into(),
                ),
            },
            Err((status, info)) => {
                tracing::debug!(status = ?status, %info, "broadcast rejected");
                response(status, info)
            }
        }
    }

    /// The checks of Fabric's standard channel message processor, in its order.
    fn admit(&self, env: &Envelope) -> Result<Vec<u8>, (Status, String)> {
        let bad = |info: String| (Status::BadRequest, info);
        let parsed = envelope::parse(env).map_err(bad)?;
        let chdr = &parsed.channel_header;
        if chdr.channel_id != self.channel {
            return Err((
                Status::NotFound,
                format!("channel {} does not exist", chdr.channel_id),
            ));
        }
        match HeaderType::try_from(chdr.r#type) {
            Ok(HeaderType::EndorserTransaction | HeaderType::Message) => {}
            Ok(HeaderType::ConfigUpdate) => {
                return Err(bad(
                    "config updates are not supported by the devnet's orderer".into(),
                ))
            }
            _ => {
                return Err(bad(format!(
                    "message of type {} is not accepted by broadcast",
                    chdr.r#type
                )))
            }
        }
        if env.payload.is_empty() {
            return Err(bad("message was empty".into()));
        }
        let bytes = env.encode_to_vec();
        if bytes.len() > self.absolute_max_bytes as usize {
            return Err(bad(format!(
                "message payload is {} bytes and exceeds maximum allowed {} bytes",
                bytes.len(),
                self.absolute_max_bytes
            )));
        }
        let creator = &parsed.signature_header.creator;
        let id = self
            .ids
            .verify(creator, &env.payload, &env.signature, unix_now())
            .map_err(|e| {
                (
                    Status::Forbidden,
                    format!("SigFilter evaluation failed: {e}: permission denied"),
                )
            })?;
        self.ids.check_writer(&id, &self.mspid).map_err(|e| {
            (
                Status::Forbidden,
                format!("SigFilter evaluation failed: {e}: permission denied"),
            )
        })?;
        Ok(bytes)
    }
}

fn response(status: Status, info: String) -> BroadcastResponse {
    BroadcastResponse {
        status: status as i32,
        info,
    }
}

impl CutterTask {
    /// Runs until the queue closes or `shutdown` turns true. Fabric's solo
    /// semantics: the BatchTimeout timer starts when a batch first has a pending
    /// message and stops when nothing is pending.
    pub(crate) async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let timeout = self.cutter.config.batch_timeout;
        let mut deadline: Option<Instant> = None;
        loop {
            tokio::select! {
                msg = self.queue.recv() => {
                    let Some(env) = msg else { break };
                    let (batches, pending) = self.cutter.ordered(env);
                    if batches.is_empty() && deadline.is_none() {
                        deadline = Some(Instant::now() + timeout);
                        continue;
                    }
                    for batch in batches {
                        self.writer.write(batch).await?;
                    }
                    match (deadline.is_some(), pending) {
                        (true, false) => deadline = None,
                        (false, true) => deadline = Some(Instant::now() + timeout),
                        _ => {}
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    deadline = None;
                    let batch = self.cutter.cut();
                    if !batch.is_empty() {
                        self.writer.write(batch).await?;
                    }
                }
                _ = crate::chain::stopped(&mut shutdown) => break,
            }
        }
        Ok(())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(d).await;
    }
}

impl BlockWriter {
    /// Builds, signs and durably appends the next block, then publishes it.
    async fn write(&self, batch: Vec<Vec<u8>>) -> anyhow::Result<()> {
        let chain = self.chain.clone();
        let signer = self.signer.clone();
        let height = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            let number = chain.try_height()?;
            let count = batch.len();
            let mut block = fabric_block::new_block(number, &chain.tip_hash(), batch);
            fabric_block::sign_block(&mut block, &signer, 0);
            // The ledger indexes transactions by filter entry; the orderer's copy
            // marks them NOT_VALIDATED and deliver strips the slot.
            set_metadata(
                &mut block,
                BlockMetadataIndex::TransactionsFilter,
                vec![254; count],
            );
            chain.commit(&block, &StateUpdates::default())?;
            tracing::debug!(number, txs = count, "orderer cut block");
            Ok(number + 1)
        })
        .await??;
        self.height.send_replace(height);
        Ok(())
    }
}

/// Sets one metadata slot, growing the slot array as needed.
pub(crate) fn set_metadata(block: &mut common::Block, slot: BlockMetadataIndex, value: Vec<u8>) {
    let metadata = block.metadata.get_or_insert_with(Default::default);
    let index = slot as usize;
    if metadata.metadata.len() <= index {
        metadata.metadata.resize(index + 1, Vec::new());
    }
    metadata.metadata[index] = value;
}
