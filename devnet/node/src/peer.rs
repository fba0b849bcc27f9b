//! One peer: its ledger, its endorser and its commit pipeline. The pipeline
//! takes blocks from the orderer's chain in order, validates them with
//! Fabric's rules, writes TRANSACTIONS_FILTER and commits each block in one
//! durable ledger transaction; only then are height watchers and commit
//! waiters told. On start it simply continues from its own height, so a peer
//! behind the orderer (after a crash) catches up.

use crate::bundle::Bundles;
use crate::chain::ChainView;
use crate::channel_config::ChannelConfig;
use crate::events;
use crate::orderer::set_metadata;
use crate::waiters::{CommitWaiters, Committed};
use devnet_endorser::{Endorser, SharedResources};
use devnet_ledger::{ChaincodeRegistry, Ledger, StateUpdates, ValidationContext, Validator};
use fabric_msp::{Identity, MspManager};
use fabric_proto::common::{Block, BlockMetadataIndex};
use fabric_proto::protos::TxValidationCode;
use std::sync::Arc;
use tokio::sync::watch;

/// A running peer as the services see it.
pub(crate) struct Peer {
    pub name: String,
    pub mspid: String,
    /// host:port clients reach it at (also the address in gateway error details).
    pub address: String,
    /// The peer's public identity (what its endorsements are signed as).
    pub identity: Identity,
    pub endorser: Endorser,
    /// The channel's MSPs and policies as this peer's newest config block has
    /// them (shared with its endorser).
    pub resources: SharedResources,
    chain: ChainView,
    waiters: Arc<CommitWaiters>,
    /// Whether the peer runs. A stopped peer serves nothing, is left out of the
    /// gateways' endorsement and evaluation plans (as discovery leaves out a dead
    /// peer), and commits nothing until it is started again, then catches up.
    up: watch::Sender<bool>,
}

/// The task that commits blocks to one peer.
pub(crate) struct CommitTask {
    peer: Arc<Peer>,
    orderer_chain: ChainView,
    height: watch::Sender<u64>,
    channel: String,
    bundles: Arc<Bundles>,
    chaincodes: Arc<dyn ChaincodeRegistry>,
}

/// What a peer is made of.
pub(crate) struct PeerParts {
    pub name: String,
    pub address: String,
    pub identity: Identity,
    pub endorser: Endorser,
    pub ledger: Arc<Ledger>,
    pub channel: String,
    /// The endorser's resources, which the commit pipeline replaces on config blocks.
    pub resources: SharedResources,
    pub bundles: Arc<Bundles>,
    /// Where its blocks come from.
    pub orderer_chain: ChainView,
}

impl Peer {
    pub(crate) fn new(parts: PeerParts) -> (Arc<Self>, CommitTask) {
        let PeerParts {
            name,
            address,
            identity,
            endorser,
            ledger,
            channel,
            resources,
            bundles,
            orderer_chain,
        } = parts;
        let (height_tx, height_rx) = watch::channel(ledger.height());
        let chaincodes = endorser.registry();
        let peer = Arc::new(Self {
            name,
            mspid: identity.mspid.clone(),
            address,
            identity,
            endorser,
            resources,
            chain: ChainView::new(ledger, height_rx),
            waiters: Arc::new(CommitWaiters::default()),
            up: watch::channel(true).0,
        });
        let task = CommitTask {
            peer: peer.clone(),
            orderer_chain,
            height: height_tx,
            channel,
            bundles,
            chaincodes,
        };
        (peer, task)
    }

    pub(crate) fn chain(&self) -> ChainView {
        self.chain.clone()
    }

    pub(crate) fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Marks the peer running or stopped; returns whether that changed anything.
    pub(crate) fn set_up(&self, up: bool) -> bool {
        self.up
            .send_if_modified(|state| std::mem::replace(state, up) != up)
    }

    pub(crate) fn ledger(&self) -> &Arc<Ledger> {
        &self.chain.ledger
    }

    /// Waits until `txid` is committed on this peer; returns its block and validation code.
    /// None if the peer stops first.
    pub(crate) async fn commit_status(&self, txid: &str) -> Result<Option<Committed>, String> {
        let waiter = self.waiters.register(txid);
        let ledger = self.chain.ledger.clone();
        let id = txid.to_owned();
        let found = tokio::task::spawn_blocking(move || ledger.try_tx_location(&id))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if let Some(status) = found {
            return Ok(Some((status.block, status.code)));
        }
        Ok(waiter.wait().await)
    }
}

impl CommitTask {
    /// Commits every block the orderer has and then each new one, until shutdown.
    pub(crate) async fn run(self, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut orderer_chain = self.orderer_chain.clone();
        let mut up = self.peer.up.subscribe();
        loop {
            let next = *self.height.borrow();
            tokio::select! {
                h = orderer_chain.wait_for_block(next) => if h.is_none() { break },
                _ = crate::chain::stopped(&mut shutdown) => break,
            }
            // A stopped peer commits nothing; started again, it catches up.
            tokio::select! {
                r = up.wait_for(|running| *running) => if r.is_err() { break },
                _ = crate::chain::stopped(&mut shutdown) => break,
            }
            let block = orderer_chain
                .block(next)
                .await
                .map_err(|e| anyhow::anyhow!(e))?
                .ok_or_else(|| anyhow::anyhow!("orderer chain has no block {next}"))?;
            self.commit(block).await?;
        }
        Ok(())
    }

    /// Validates and durably commits one block, then tells watchers.
    async fn commit(&self, block: Block) -> anyhow::Result<()> {
        let ledger = self.peer.chain.ledger.clone();
        // A block is validated under the config in force before it.
        let resources = self.peer.resources.current();
        let chaincodes = self.chaincodes.clone();
        let channel = self.channel.clone();
        let block = tokio::task::spawn_blocking(move || -> anyhow::Result<Block> {
            validate_and_commit(
                &ledger,
                block,
                &channel,
                &resources.msps,
                chaincodes.as_ref(),
            )
        })
        .await??;
        let number = block.header.as_ref().map(|h| h.number).unwrap_or_default();
        self.apply_config(&block, number)?;
        self.height.send_replace(number + 1);
        let txs = events::summarize(&block);
        self.peer
            .waiters
            .notify(number, txs.iter().map(|t| (t.txid.as_str(), t.code)));
        tracing::trace!(peer = %self.peer.name, number, txs = txs.len(), "notified commit watchers");
        Ok(())
    }
}

impl CommitTask {
    /// A valid config block puts its config in force on this peer from the next
    /// block on: its orgs' MSPs and endorsement policies.
    fn apply_config(&self, block: &Block, number: u64) -> anyhow::Result<()> {
        if number == 0 || crate::channel_config::config_envelope(block).is_none() {
            return Ok(());
        }
        let valid = crate::events::summarize(block)
            .first()
            .is_some_and(|t| t.code == TxValidationCode::Valid as i32);
        if !valid {
            return Ok(());
        }
        let config = fabric_configtx::config_from_block(block)
            .and_then(|c| ChannelConfig::new(c, number))
            .map_err(|e| anyhow::anyhow!("config block {number}: {e}"))?;
        let resources = self
            .bundles
            .resources(&config)
            .map_err(|e| anyhow::anyhow!("config block {number}: {e}"))?;
        self.peer.resources.replace(resources);
        tracing::info!(peer = %self.peer.name, block = number, "channel config in force");
        Ok(())
    }
}

fn validate_and_commit(
    ledger: &Ledger,
    mut block: Block,
    channel: &str,
    msps: &MspManager,
    chaincodes: &dyn ChaincodeRegistry,
) -> anyhow::Result<Block> {
    let number = block.header.as_ref().map(|h| h.number).unwrap_or_default();
    let tx_count = block
        .data
        .as_ref()
        .map(|d| d.data.len())
        .unwrap_or_default();
    let t0 = std::time::Instant::now();
    let (codes, updates) = if number == 0 {
        // The genesis config transaction is valid by construction.
        (vec![0; tx_count], StateUpdates::default())
    } else {
        let ctx = ValidationContext {
            channel_id: channel,
            msps,
            chaincodes,
        };
        let (mut codes, updates) = Validator::validate(ledger, &block, &ctx);
        check_config_block(ledger, &block, channel, &mut codes)?;
        (codes, updates)
    };
    let t1 = t0.elapsed();
    set_metadata(&mut block, BlockMetadataIndex::TransactionsFilter, codes);
    ledger.commit(&block, &updates)?;
    tracing::debug!(number, txs = tx_count, validate = ?t1, commit = ?(t0.elapsed() - t1), "validated and committed");
    Ok(block)
}

/// A config block's transaction must be what its last update produces from the
/// peer's current config (Fabric's configtx `Validate`); otherwise it is
/// INVALID_CONFIG_TRANSACTION and the peer keeps its config.
fn check_config_block(
    ledger: &Ledger,
    block: &Block,
    channel: &str,
    codes: &mut [u8],
) -> anyhow::Result<()> {
    let Some(config_envelope) = crate::channel_config::config_envelope(block) else {
        return Ok(());
    };
    if codes.first() != Some(&(TxValidationCode::Valid as u8)) {
        return Ok(());
    }
    let current = crate::channel_config::ChannelConfig::load(ledger)?;
    if let Err(e) =
        crate::channel_config::check_config_tx(&current.config, channel, &config_envelope)
    {
        tracing::warn!(error = %e, "config transaction refused");
        codes[0] = TxValidationCode::InvalidConfigTransaction as u8;
    }
    Ok(())
}
