//! The solo orderer: admits broadcast envelopes (Fabric's checks and status
//! codes), cuts them into blocks with Fabric's batch rules and BatchTimeout,
//! signs each block and persists it in its own chain before any peer sees it.
//!
//! Config updates (CONFIG_UPDATE envelopes) are validated against the channel's
//! current config when they arrive (Fabric's refusals and texts), wrapped into a
//! CONFIG envelope signed by the orderer, and ordered like Fabric's solo chain
//! does: the pending batch is cut first, the config transaction goes alone into a
//! config block, and the new config (its batch parameters in the block cutter
//! included) is in force from the next block on. Every block's LAST_CONFIG names
//! the newest config block. An update that was validated against a config that
//! changed before it was ordered is validated again, and dropped if it no longer holds.

use crate::auth::{unix_now, IdentityCache};
use crate::bundle::Bundles;
use crate::chain::ChainView;
use crate::channel_config::{self, ChannelConfig, LoadError};
use crate::envelope;
use devnet_ledger::{BlockCutter, Ledger, StateUpdates};
use fabric_configtx::policy::Policies;
use fabric_configtx::ROOT_GROUP;
use fabric_msp::{Identity, SigningIdentity};
use fabric_proto::common::{self, BlockMetadataIndex, Config, Envelope, HeaderType, Status};
use fabric_proto::orderer::BroadcastResponse;
use prost::Message;
use std::sync::{Arc, RwLock};
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
    queue: mpsc::Sender<Ordered>,
    ids: Arc<IdentityCache>,
    signer: SigningIdentity,
    config: Arc<RwLock<ChannelConfig>>,
}

/// An admitted message on its way to the block cutter.
pub(crate) enum Ordered {
    /// A normal transaction (serialized envelope).
    Normal(Vec<u8>),
    /// A CONFIG transaction made from an accepted update, with the config
    /// sequence it was validated against.
    Config {
        envelope: Envelope,
        next: Box<Config>,
        sequence: u64,
    },
}

/// What the block-cutting task owns.
pub(crate) struct CutterTask {
    queue: mpsc::Receiver<Ordered>,
    cutter: BlockCutter,
    writer: BlockWriter,
    channel: String,
    config: Arc<RwLock<ChannelConfig>>,
    /// Broadcast and Deliver authenticate with the MSPs of the config in force.
    ids: Arc<IdentityCache>,
    bundles: Arc<Bundles>,
}

/// Appends signed blocks to the orderer's chain and publishes the new height.
struct BlockWriter {
    chain: Arc<Ledger>,
    signer: SigningIdentity,
    height: watch::Sender<u64>,
    /// The newest config block (every block's LAST_CONFIG).
    last_config: u64,
}

impl Orderer {
    /// An orderer over `chain` (which must already hold the genesis block); the
    /// channel config in force (batch parameters included) is read from the chain.
    pub(crate) fn new(
        channel: String,
        address: String,
        chain: Arc<Ledger>,
        signer: SigningIdentity,
        ids: Arc<IdentityCache>,
        bundles: Arc<Bundles>,
    ) -> Result<(Arc<Self>, CutterTask), LoadError> {
        let current = ChannelConfig::load(&chain)?;
        let (height_tx, height_rx) = watch::channel(chain.height());
        let (queue_tx, queue_rx) = mpsc::channel(QUEUE_DEPTH);
        let batch = current.batch;
        let last_config = current.block;
        let config = Arc::new(RwLock::new(current));
        let orderer = Arc::new(Self {
            channel: channel.clone(),
            mspid: signer.mspid().to_owned(),
            address,
            chain: ChainView::new(chain.clone(), height_rx),
            queue: queue_tx,
            ids: ids.clone(),
            signer: signer.clone(),
            config: config.clone(),
        });
        let task = CutterTask {
            queue: queue_rx,
            cutter: BlockCutter::new(batch),
            writer: BlockWriter {
                chain,
                signer,
                height: height_tx,
                last_config,
            },
            channel,
            config,
            ids,
            bundles,
        };
        Ok((orderer, task))
    }

    /// The channel config in force.
    fn current(&self) -> ChannelConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The orderer's chain (for deliver and for peers catching up).
    pub(crate) fn chain(&self) -> ChainView {
        self.chain.clone()
    }

    /// Fabric's broadcast processing of one message: validate, then enqueue.
    pub(crate) async fn broadcast(&self, env: &Envelope) -> BroadcastResponse {
        match self.admit(env) {
            Ok(ordered) => match self.queue.send(ordered).await {
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

    /// The checks of Fabric's broadcast handler and standard channel message
    /// processor, in their order and words (`orderer/common/multichannel`
    /// `BroadcastChannelSupport`, `msgprocessor`): the channel header, the
    /// channel, the message's class, then the filters.
    fn admit(&self, env: &Envelope) -> Result<Ordered, (Status, String)> {
        let bad = |info: String| (Status::BadRequest, info);
        let chdr = envelope::channel_header(env)
            .map_err(|e| bad(format!("could not determine channel ID: {e}")))?;
        if chdr.channel_id != self.channel {
            return Err(bad("channel does not exist".into()));
        }
        let config_update = match HeaderType::try_from(chdr.r#type) {
            Ok(HeaderType::ConfigUpdate) => true,
            Ok(HeaderType::Config) => {
                return Err(bad(
                    "message is of type that cannot be processed directly".into()
                ))
            }
            Ok(HeaderType::OrdererTransaction) => {
                return Err(bad("message is of type that is no longer supported".into()))
            }
            // Every other type is a normal message: the filters judge it, and
            // peers mark what they cannot validate.
            _ => false,
        };
        let parsed = envelope::parse(env).map_err(bad)?;
        // Fabric prefixes the filters' refusals of a config update.
        let initial = |(status, info): (Status, String)| {
            if config_update {
                (
                    status,
                    format!(
                        "config update for existing channel did not pass initial checks: {info}"
                    ),
                )
            } else {
                (status, info)
            }
        };
        let absolute_max_bytes = self
            .config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .batch
            .absolute_max_bytes;
        let bytes = self
            .filters(env, &parsed, absolute_max_bytes)
            .map_err(initial)?;
        if !config_update {
            return Ok(Ordered::Normal(bytes));
        }
        let current = self.current();
        let config_envelope = channel_config::propose(&current.config, &self.channel, env)?;
        let next = config_envelope.config.clone().unwrap_or_default();
        let envelope = fabric_configtx::config_tx(&self.signer, &self.channel, &config_envelope);
        let size = channel_config::size(&envelope);
        if size > current.batch.absolute_max_bytes as usize {
            return Err(bad(format!(
                "config update for existing channel did not pass final checks: message payload is {size} bytes and exceeds maximum allowed {} bytes",
                current.batch.absolute_max_bytes
            )));
        }
        Ok(Ordered::Config {
            envelope,
            next: Box::new(next),
            sequence: current.sequence(),
        })
    }

    /// Fabric's standard filters, in order: not empty, not over AbsoluteMaxBytes,
    /// creator not expired, signed by a channel writer.
    fn filters(
        &self,
        env: &Envelope,
        parsed: &envelope::ParsedEnvelope,
        absolute_max_bytes: u32,
    ) -> Result<Vec<u8>, (Status, String)> {
        let bad = |info: String| (Status::BadRequest, info);
        if env.payload.is_empty() {
            return Err(bad("message was empty".into()));
        }
        let bytes = env.encode_to_vec();
        if bytes.len() > absolute_max_bytes as usize {
            return Err(bad(format!(
                "message payload is {} bytes and exceeds maximum allowed {} bytes",
                bytes.len(),
                absolute_max_bytes
            )));
        }
        let creator = &parsed.signature_header.creator;
        // Fabric's ExpirationRejectRule, before the SigFilter: a creator whose
        // certificate cannot be read has no expiry here (the SigFilter refuses it).
        if self
            .ids
            .not_after(creator)
            .is_some_and(|not_after| unix_now() > not_after)
        {
            return Err(bad("broadcast client identity expired".into()));
        }
        let id = self
            .ids
            .verify(creator, &env.payload, &env.signature, unix_now())
            .map_err(|e| self.sig_filter_refusal(None, &e.to_string()))?;
        self.ids
            .check_writer(&id, &self.mspid)
            .map_err(|e| self.sig_filter_refusal(Some(&id), &e.to_string()))?;
        Ok(bytes)
    }

    /// Fabric's SigFilter refusal (FORBIDDEN): the failure of the channel's
    /// `/Channel/Writers` policy over the envelope's valid signer, if any, in
    /// the policy's own words, then ": permission denied". The devnet's own
    /// reason goes to the log, as Fabric logs its details.
    fn sig_filter_refusal(&self, signer: Option<&Identity>, reason: &str) -> (Status, String) {
        tracing::warn!(%reason, "SigFilter evaluation failed");
        let signers: Vec<Identity> = signer.cloned().into_iter().collect();
        let current = self.current();
        let policy_failure = current.config.channel_group.as_ref().and_then(|root| {
            Policies::new(root)
                .evaluate(
                    &[ROOT_GROUP.to_owned()],
                    WRITERS,
                    &signers,
                    &self.ids.msps(),
                )
                .err()
        });
        // Only if the channel's policy would pass where the devnet's check
        // failed (it never should) is the devnet's reason the answer.
        let text =
            policy_failure.unwrap_or_else(|| format!("SigFilter evaluation failed: {reason}"));
        (Status::Forbidden, format!("{text}: permission denied"))
    }
}

/// The policy Fabric's SigFilter evaluates for a normal message or config update.
const WRITERS: &str = "/Channel/Writers";

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
        let mut deadline: Option<Instant> = None;
        loop {
            tokio::select! {
                msg = self.queue.recv() => {
                    let Some(msg) = msg else { break };
                    let env = match msg {
                        Ordered::Normal(env) => env,
                        Ordered::Config { envelope, next, sequence } => {
                            deadline = None;
                            self.order_config(envelope, *next, sequence).await?;
                            continue;
                        }
                    };
                    let timeout = self.cutter.config.batch_timeout;
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

    /// Orders a config transaction as Fabric's solo chain does: cut what is
    /// pending, write the config block alone, put the new config in force.
    async fn order_config(
        &mut self,
        mut envelope: Envelope,
        mut next: Config,
        sequence: u64,
    ) -> anyhow::Result<()> {
        let pending = self.cutter.cut();
        if !pending.is_empty() {
            self.writer.write(pending).await?;
        }
        let current = self
            .config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if current.sequence() != sequence {
            // The config changed after this update was validated: validate it again.
            let Some(update) = config_update_of_config_tx(&envelope) else {
                tracing::warn!("discarding a config message without its update");
                return Ok(());
            };
            match channel_config::propose(&current.config, &self.channel, &update) {
                Ok(config_envelope) => {
                    next = config_envelope.config.clone().unwrap_or_default();
                    envelope = fabric_configtx::config_tx(
                        &self.writer.signer,
                        &self.channel,
                        &config_envelope,
                    );
                }
                Err((_, info)) => {
                    tracing::warn!(%info, "discarding bad config message");
                    return Ok(());
                }
            }
        }
        let number = self.writer.chain.try_height()?;
        let applied = ChannelConfig::new(next, number)
            .map_err(|e| anyhow::anyhow!("the accepted config cannot be applied: {e}"))?;
        let resources = self
            .bundles
            .resources(&applied)
            .map_err(|e| anyhow::anyhow!("the accepted config's MSPs or policies: {e}"))?;
        self.writer.last_config = number;
        self.writer.write(vec![envelope.encode_to_vec()]).await?;
        self.cutter.config = applied.batch;
        tracing::info!(block = number, sequence = applied.sequence(), batch = ?applied.batch, "channel config updated");
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = applied;
        self.ids.set_msps(resources.msps.clone());
        Ok(())
    }
}

/// The CONFIG_UPDATE envelope inside a CONFIG envelope (its `last_update`).
fn config_update_of_config_tx(env: &Envelope) -> Option<Envelope> {
    let payload = common::Payload::decode(env.payload.as_slice()).ok()?;
    common::ConfigEnvelope::decode(payload.data.as_slice())
        .ok()?
        .last_update
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
        let last_config = self.last_config;
        let height = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
            let number = chain.try_height()?;
            let count = batch.len();
            let mut block = fabric_block::new_block(number, &chain.tip_hash(), batch);
            fabric_block::sign_block(&mut block, &signer, last_config);
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
