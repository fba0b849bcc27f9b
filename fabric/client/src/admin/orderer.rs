//! A direct connection to an orderer's AtomicBroadcast service.
//!
//! Owns: Broadcast of one signed envelope and the orderer's verdict
//! (`BroadcastResponse.status` must be SUCCESS), and single-block fetches from
//! the orderer's Deliver (what `peer channel fetch` does).

use crate::block_events::{request_stream, seek_envelope};
use crate::connection::{broadcast_client, with_deadline, Endpoint};
use crate::error::{Error, Result, RpcError, Stage};
use fabric_msp::SigningIdentity;
use fabric_proto::common::{Block, Envelope, Status};
use fabric_proto::orderer::{deliver_response, SeekPosition};
use std::time::Duration;
use tonic::transport::Channel;

const BROADCAST_TIMEOUT: Duration = Duration::from_secs(60);

/// A connected orderer.
#[derive(Debug, Clone)]
pub struct Orderer {
    address: String,
    channel: Channel,
}

impl Orderer {
    pub async fn connect(endpoint: &Endpoint) -> Result<Self> {
        Ok(Self {
            address: endpoint.address.clone(),
            channel: endpoint.connect().await?,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Sends `envelope` for ordering and waits for the orderer's acceptance (not the commit).
    pub async fn broadcast(&self, txid: &str, envelope: Envelope) -> Result<()> {
        let rpc_err = |s: tonic::Status| Error::Broadcast {
            endpoint: self.address.clone(),
            txid: txid.to_owned(),
            rpc: RpcError::from_status(&s),
        };
        let call = async {
            let mut responses = broadcast_client(self.channel.clone())
                .broadcast(request_stream(envelope))
                .await
                .map_err(rpc_err)?
                .into_inner();
            let response =
                responses.message().await.map_err(rpc_err)?.ok_or_else(|| {
                    Error::malformed("broadcast stream", "closed without a response")
                })?;
            verdict(&self.address, txid, response.status, response.info)
        };
        with_deadline(Stage::Broadcast, BROADCAST_TIMEOUT, call).await
    }
}

impl Orderer {
    /// The block at `position` (e.g. [`crate::block_events::newest`]) of `channel`,
    /// read by `reader` (a member of the channel's Readers).
    pub async fn fetch_block(
        &self,
        reader: &SigningIdentity,
        channel: &str,
        position: SeekPosition,
    ) -> Result<Block> {
        let env = seek_envelope(reader, channel, position, position, None);
        let rpc_err = |s: tonic::Status| Error::Deliver {
            endpoint: self.address.clone(),
            rpc: RpcError::from_status(&s),
        };
        let call = async {
            let mut responses = broadcast_client(self.channel.clone())
                .deliver(request_stream(env))
                .await
                .map_err(rpc_err)?
                .into_inner();
            let response = responses.message().await.map_err(rpc_err)?.ok_or_else(|| {
                Error::malformed("deliver stream", "closed before a block arrived")
            })?;
            match response.r#type {
                Some(deliver_response::Type::Block(block)) => Ok(block),
                Some(deliver_response::Type::Status(status)) => Err(Error::DeliverStatus {
                    endpoint: self.address.clone(),
                    status: Status::try_from(status)
                        .map(|s| s.as_str_name().to_owned())
                        .unwrap_or_else(|_| status.to_string()),
                }),
                None => Err(Error::malformed("deliver response", "empty")),
            }
        };
        with_deadline(Stage::Deliver, BROADCAST_TIMEOUT, call).await
    }
}

fn verdict(endpoint: &str, txid: &str, status: i32, info: String) -> Result<()> {
    if status == Status::Success as i32 {
        return Ok(());
    }
    let name = Status::try_from(status)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN");
    Err(Error::BroadcastRejected {
        endpoint: endpoint.to_owned(),
        txid: txid.to_owned(),
        status: format!("{name} ({status})"),
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_success_is_accepted() {
        assert!(verdict("o", "t", 200, String::new()).is_ok());
        let err = verdict("o", "t", 400, "bad sig".into()).unwrap_err();
        assert!(
            err.to_string().contains("BAD_REQUEST (400): bad sig"),
            "{err}"
        );
    }
}
