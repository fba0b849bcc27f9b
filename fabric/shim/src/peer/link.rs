//! Sending to the peer: the single outbound queue of a stream (so writes are
//! serialised) and the request/reply exchange of one transaction.

use std::sync::Arc;

use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::ChaincodeMessage;
use prost::Message;
use tokio::sync::mpsc;

use super::registry::{TxKey, TxRegistry};
use crate::error::{Result, ShimError};

/// The write side of one peer stream. Every message to the peer goes through
/// this queue; tonic drains it into the gRPC stream in order.
#[derive(Clone)]
pub(crate) struct Outbound {
    sender: mpsc::Sender<ChaincodeMessage>,
    max_message_size: usize,
}

impl Outbound {
    pub(crate) fn new(sender: mpsc::Sender<ChaincodeMessage>, max_message_size: usize) -> Self {
        Outbound {
            sender,
            max_message_size,
        }
    }

    /// Rejects a message larger than the stream allows.
    pub(crate) fn check_size(&self, message: &ChaincodeMessage) -> Result<()> {
        let size = message.encoded_len();
        if size > self.max_message_size {
            return Err(ShimError::MessageTooLarge {
                size,
                limit: self.max_message_size,
            });
        }
        Ok(())
    }

    /// Queues a message for the peer.
    pub(crate) async fn send(&self, message: ChaincodeMessage) -> Result<()> {
        self.check_size(&message)?;
        self.sender
            .send(message)
            .await
            .map_err(|_| ShimError::StreamClosed)
    }
}

/// One transaction's channel to the peer.
pub(crate) struct TxLink {
    key: TxKey,
    registry: Arc<TxRegistry>,
    outbound: Outbound,
}

impl TxLink {
    pub(super) fn new(key: TxKey, registry: Arc<TxRegistry>, outbound: Outbound) -> Self {
        TxLink {
            key,
            registry,
            outbound,
        }
    }

    /// Sends one ledger request and waits for the peer's RESPONSE payload;
    /// an ERROR reply becomes [`ShimError::Peer`].
    pub(super) async fn request(&self, kind: Type, payload: Vec<u8>) -> Result<Vec<u8>> {
        let message = ChaincodeMessage {
            r#type: kind as i32,
            payload,
            txid: self.key.tx_id.clone(),
            channel_id: self.key.channel_id.clone(),
            ..Default::default()
        };
        // Arm before sending so that a fast reply cannot arrive unclaimed.
        let reply = self.registry.arm(&self.key)?;
        if let Err(e) = self.outbound.send(message).await {
            self.registry.disarm(&self.key);
            return Err(e);
        }
        let reply = reply.await.map_err(|_| ShimError::StreamClosed)?;
        match Type::try_from(reply.r#type) {
            Ok(Type::Response) => Ok(reply.payload),
            Ok(Type::Error) => Err(ShimError::Peer(
                String::from_utf8_lossy(&reply.payload).into_owned(),
            )),
            _ => Err(ShimError::Protocol(format!(
                "expected RESPONSE or ERROR to {}, got message type {}",
                kind.as_str_name(),
                reply.r#type
            ))),
        }
    }
}
