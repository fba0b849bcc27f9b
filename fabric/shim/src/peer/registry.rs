//! Which transactions are running on one stream, and where the peer's reply
//! to each one's outstanding ledger request must go.
//!
//! Replies are correlated by (channel id, txid). Each transaction has at most
//! one request in flight, so one reply slot per transaction suffices.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use fabric_proto::protos::ChaincodeMessage;
use tokio::sync::oneshot;

use crate::error::{Result, ShimError};

/// Identifies a transaction on a stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TxKey {
    pub channel_id: String,
    pub tx_id: String,
}

impl TxKey {
    pub(super) fn of(message: &ChaincodeMessage) -> Self {
        TxKey {
            channel_id: message.channel_id.clone(),
            tx_id: message.txid.clone(),
        }
    }
}

type ReplySlot = Option<oneshot::Sender<ChaincodeMessage>>;

#[derive(Default)]
struct State {
    closed: bool,
    active: HashMap<TxKey, ReplySlot>,
}

/// Running transactions and their reply slots.
#[derive(Default)]
pub(crate) struct TxRegistry {
    state: Mutex<State>,
}

/// Why a reply could not be delivered.
pub(crate) enum Undeliverable {
    /// No such transaction runs on this stream.
    UnknownTx,
    /// The transaction has no request waiting for a reply.
    NoRequest,
}

impl TxRegistry {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update of a
        // plain map; the map itself is still consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers a new transaction; false if it is already running or the
    /// stream is closed.
    pub(super) fn begin(&self, key: &TxKey) -> bool {
        let mut state = self.lock();
        if state.closed || state.active.contains_key(key) {
            return false;
        }
        state.active.insert(key.clone(), None);
        true
    }

    /// Forgets a finished transaction.
    pub(super) fn end(&self, key: &TxKey) {
        self.lock().active.remove(key);
    }

    /// Opens the reply slot for a request the transaction is about to send.
    pub(super) fn arm(&self, key: &TxKey) -> Result<oneshot::Receiver<ChaincodeMessage>> {
        let mut state = self.lock();
        if state.closed {
            return Err(ShimError::StreamClosed);
        }
        let slot = state.active.get_mut(key).ok_or_else(|| {
            ShimError::Protocol(format!("transaction {} is not running", key.tx_id))
        })?;
        // A sender whose receiver is gone belongs to an abandoned request.
        if slot.as_ref().is_some_and(|sender| !sender.is_closed()) {
            return Err(ShimError::Protocol(format!(
                "transaction {} already has a request in flight",
                key.tx_id
            )));
        }
        let (sender, receiver) = oneshot::channel();
        *slot = Some(sender);
        Ok(receiver)
    }

    /// Closes the reply slot without a reply (the request was never sent).
    pub(super) fn disarm(&self, key: &TxKey) {
        if let Some(slot) = self.lock().active.get_mut(key) {
            *slot = None;
        }
    }

    /// Hands a RESPONSE/ERROR from the peer to the waiting request.
    pub(super) fn deliver(
        &self,
        reply: ChaincodeMessage,
    ) -> std::result::Result<(), Undeliverable> {
        let key = TxKey::of(&reply);
        let sender = {
            let mut state = self.lock();
            let slot = state.active.get_mut(&key).ok_or(Undeliverable::UnknownTx)?;
            slot.take().ok_or(Undeliverable::NoRequest)?
        };
        sender.send(reply).map_err(|_| Undeliverable::NoRequest)
    }

    /// Marks the stream closed: waiting requests fail, no new ones start.
    pub(super) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        for slot in state.active.values_mut() {
            // Dropping the sender wakes the waiter with an error.
            slot.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(tx: &str) -> ChaincodeMessage {
        ChaincodeMessage {
            channel_id: "ch".into(),
            txid: tx.into(),
            ..Default::default()
        }
    }

    fn key(tx: &str) -> TxKey {
        TxKey::of(&reply(tx))
    }

    #[test]
    fn replies_reach_their_own_transaction() {
        let registry = TxRegistry::default();
        assert!(registry.begin(&key("a")));
        assert!(registry.begin(&key("b")));
        assert!(!registry.begin(&key("a")));
        let mut rx_a = registry.arm(&key("a")).unwrap();
        let mut rx_b = registry.arm(&key("b")).unwrap();
        assert!(registry.arm(&key("a")).is_err(), "one request per tx");
        assert!(registry.deliver(reply("b")).is_ok());
        assert_eq!(rx_b.try_recv().unwrap().txid, "b");
        assert!(rx_a.try_recv().is_err());
        assert!(matches!(
            registry.deliver(reply("b")),
            Err(Undeliverable::NoRequest)
        ));
        assert!(matches!(
            registry.deliver(reply("zz")),
            Err(Undeliverable::UnknownTx)
        ));
    }

    #[test]
    fn close_fails_waiters_and_new_requests() {
        let registry = TxRegistry::default();
        registry.begin(&key("a"));
        let mut rx = registry.arm(&key("a")).unwrap();
        registry.close();
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        assert!(matches!(
            registry.arm(&key("a")),
            Err(ShimError::StreamClosed)
        ));
        assert!(!registry.begin(&key("b")));
    }
}
