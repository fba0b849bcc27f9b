//! A readable, growing chain: a ledger plus a watch of its height. The
//! orderer's block store and every peer's ledger are seen through this by
//! deliver streams, the commit pipeline and the gateway.

use devnet_ledger::Ledger;
use fabric_proto::common::Block;
use std::sync::Arc;
use tokio::sync::watch;

/// A chain and a way to wait for it to grow. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ChainView {
    pub ledger: Arc<Ledger>,
    height: watch::Receiver<u64>,
}

impl ChainView {
    pub(crate) fn new(ledger: Arc<Ledger>, height: watch::Receiver<u64>) -> Self {
        Self { ledger, height }
    }

    /// Committed height as last published (never ahead of the ledger).
    pub(crate) fn height(&self) -> u64 {
        *self.height.borrow()
    }

    /// Waits until the height exceeds `number`; None if the chain's writer is gone.
    pub(crate) async fn wait_for_block(&mut self, number: u64) -> Option<u64> {
        self.height.wait_for(|h| *h > number).await.ok().map(|h| *h)
    }

    /// Reads a committed block on a blocking thread (redb reads do I/O).
    pub(crate) async fn block(&self, number: u64) -> Result<Option<Block>, String> {
        let ledger = self.ledger.clone();
        tokio::task::spawn_blocking(move || ledger.try_block(number))
            .await
            .map_err(|e| format!("block reader failed: {e}"))?
            .map_err(|e| e.to_string())
    }
}

/// Resolves once `shutdown` turns true (or its sender is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}
