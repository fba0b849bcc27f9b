//! One peer stream, from our REGISTER to its end: the handshake state
//! machine and the dispatch of every message the peer sends.
//!
//! Malformed or out-of-order messages never end the session: they are
//! answered with ERROR (or logged, for replies nobody waits for) and the
//! session carries on. Only the end of the stream, or the peer refusing our
//! registration, ends it.

use std::sync::Arc;

use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::{ChaincodeId, ChaincodeMessage};
use futures::{Stream, StreamExt};
use prost::Message;

use super::link::Outbound;
use super::registry::{TxKey, TxRegistry, Undeliverable};
use super::transaction::{self, error_reply, Entry};
use crate::chaincode::Chaincode;
use crate::error::ShimError;

/// Handshake progress, as in Fabric's shims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// REGISTER sent, waiting for REGISTERED.
    Created,
    /// REGISTERED received, waiting for READY.
    Established,
    /// Serving transactions.
    Ready,
}

/// What to do after handling one message.
enum Next {
    Continue,
    Stop,
}

/// State of one stream.
pub(crate) struct Session {
    chaincode: Arc<dyn Chaincode>,
    package_id: String,
    outbound: Outbound,
    registry: Arc<TxRegistry>,
    phase: Phase,
}

impl Session {
    pub(crate) fn new(
        chaincode: Arc<dyn Chaincode>,
        package_id: String,
        outbound: Outbound,
    ) -> Self {
        Session {
            chaincode,
            package_id,
            outbound,
            registry: Arc::new(TxRegistry::default()),
            phase: Phase::Created,
        }
    }

    /// Registers, then serves the peer's messages until the stream ends.
    pub(crate) async fn run<S, E>(mut self, mut inbound: S)
    where
        S: Stream<Item = Result<ChaincodeMessage, E>> + Unpin,
        E: std::fmt::Display,
    {
        if self.register().await.is_err() {
            tracing::warn!("peer stream closed before REGISTER could be sent");
            return;
        }
        while let Some(item) = inbound.next().await {
            let message = match item {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!(error = %e, "peer stream failed");
                    break;
                }
            };
            if let Next::Stop = self.handle(message).await {
                break;
            }
        }
        self.registry.close();
        tracing::info!("peer stream ended");
    }

    async fn register(&self) -> Result<(), ShimError> {
        let id = ChaincodeId {
            name: self.package_id.clone(),
            ..Default::default()
        };
        let message = ChaincodeMessage {
            r#type: Type::Register as i32,
            payload: id.encode_to_vec(),
            ..Default::default()
        };
        self.outbound.send(message).await
    }

    async fn handle(&mut self, message: ChaincodeMessage) -> Next {
        let kind = Type::try_from(message.r#type).ok();
        if kind == Some(Type::Keepalive) {
            return self.reply(message).await;
        }
        match (self.phase, kind) {
            (Phase::Created, Some(Type::Registered)) => {
                self.phase = Phase::Established;
                Next::Continue
            }
            (Phase::Created, Some(Type::Error)) => {
                let reason = String::from_utf8_lossy(&message.payload);
                tracing::error!(%reason, "the peer refused our registration");
                Next::Stop
            }
            (Phase::Established, Some(Type::Ready)) => {
                // READY may carry ChaincodeAdditionalParams (write batching);
                // this shim sends every write on its own, so it ignores them.
                self.phase = Phase::Ready;
                tracing::info!("registered with the peer, ready");
                Next::Continue
            }
            (Phase::Ready, Some(Type::Response | Type::Error)) => {
                self.deliver(message);
                Next::Continue
            }
            (Phase::Ready, Some(Type::Transaction)) => self.start(Entry::Invoke, message).await,
            (Phase::Ready, Some(Type::Init)) => self.start(Entry::Init, message).await,
            _ => self.refuse(&message).await,
        }
    }

    fn deliver(&self, reply: ChaincodeMessage) {
        let txid = reply.txid.clone();
        match self.registry.deliver(reply) {
            Ok(()) => {}
            Err(Undeliverable::UnknownTx) => {
                tracing::warn!(%txid, "reply for a transaction that is not running; ignored");
            }
            Err(Undeliverable::NoRequest) => {
                tracing::warn!(%txid, "reply while the transaction has no request in flight; ignored");
            }
        }
    }

    async fn start(&self, entry: Entry, message: ChaincodeMessage) -> Next {
        let key = TxKey::of(&message);
        if !self.registry.begin(&key) {
            tracing::warn!(txid = %key.tx_id, "transaction is already running; refused");
            let text = format!("transaction {} is already running", key.tx_id);
            return self.reply(error_reply(&key, &text)).await;
        }
        tokio::spawn(transaction::run(
            self.chaincode.clone(),
            entry,
            message,
            self.registry.clone(),
            self.outbound.clone(),
        ));
        Next::Continue
    }

    /// Answers a message that makes no sense in the current phase.
    async fn refuse(&self, message: &ChaincodeMessage) -> Next {
        let text = format!(
            "cannot handle message type {} in state {:?}",
            message.r#type, self.phase
        );
        tracing::warn!(txid = %message.txid, "{text}");
        self.reply(error_reply(&TxKey::of(message), &text)).await
    }

    async fn reply(&self, message: ChaincodeMessage) -> Next {
        match self.outbound.send(message).await {
            Ok(()) => Next::Continue,
            Err(ShimError::StreamClosed) => Next::Stop,
            Err(e) => {
                tracing::warn!(error = %e, "reply to the peer not sent");
                Next::Continue
            }
        }
    }
}
