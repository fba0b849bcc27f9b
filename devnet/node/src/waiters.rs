//! Requests waiting for a transaction to commit on a peer (the gateway's
//! CommitStatus). The committer resolves them by txid right after each block
//! is durably committed; a waiter that goes away unregisters itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Where a transaction committed: (block number, TxValidationCode).
pub(crate) type Committed = (u64, i32);

type Senders = Vec<(u64, oneshot::Sender<Committed>)>;

/// Waiters by txid.
#[derive(Default)]
pub(crate) struct CommitWaiters {
    next_id: AtomicU64,
    waiting: Mutex<HashMap<String, Senders>>,
}

/// A registered wait; dropping it unregisters.
pub(crate) struct Waiter {
    owner: Arc<CommitWaiters>,
    txid: String,
    id: u64,
    rx: oneshot::Receiver<Committed>,
}

impl CommitWaiters {
    /// Registers interest in `txid` (register before checking the ledger, so no commit is missed).
    pub(crate) fn register(self: &Arc<Self>, txid: &str) -> Waiter {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock()
            .entry(txid.to_owned())
            .or_default()
            .push((id, tx));
        Waiter {
            owner: self.clone(),
            txid: txid.to_owned(),
            id,
            rx,
        }
    }

    /// Resolves every waiter of the block's transactions (first occurrence of a txid wins).
    pub(crate) fn notify<'a>(&self, block: u64, txs: impl IntoIterator<Item = (&'a str, i32)>) {
        let mut waiting = self.lock();
        if waiting.is_empty() {
            return;
        }
        for (txid, code) in txs {
            if let Some(senders) = waiting.remove(txid) {
                for (_, tx) in senders {
                    let _ = tx.send((block, code));
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Senders>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Waiter {
    /// Waits for the commit; None if the committer went away.
    pub(crate) async fn wait(mut self) -> Option<Committed> {
        (&mut self.rx).await.ok()
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut waiting = self.owner.lock();
        if let Some(senders) = waiting.get_mut(&self.txid) {
            senders.retain(|(id, _)| *id != self.id);
            if senders.is_empty() {
                waiting.remove(&self.txid);
            }
        }
    }
}
