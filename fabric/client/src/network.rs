//! A channel, as reached through a gateway peer.
//!
//! Owns: handing out contracts for the channel's chaincodes, and the
//! channel-wide reads: chaincode events, block and filtered-block streams,
//! single blocks and the chain height (all from the gateway peer).

use crate::block_events::{self, seek_envelope, specified, start_position, unbounded, EventStream};
use crate::chaincode_events::{chaincode_events, chaincode_events_request, ChaincodeEvent};
use crate::connection::with_deadline;
use crate::contract::Contract;
use crate::error::{Result, Stage};
use crate::gateway::Gateway;
use fabric_proto::common::{Block, Envelope};
use fabric_proto::orderer::SeekPosition;
use fabric_proto::protos::FilteredBlock;

/// One channel of the network.
#[derive(Debug, Clone)]
pub struct Network {
    gateway: Gateway,
    name: String,
}

impl Network {
    pub(crate) fn new(gateway: Gateway, name: &str) -> Self {
        Self {
            gateway,
            name: name.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// A chaincode deployed on this channel.
    pub fn contract(&self, chaincode: &str) -> Contract {
        Contract::new(self.gateway.clone(), &self.name, chaincode)
    }

    /// Events of `chaincode` from block `start` on, or (None) from the next commit.
    pub async fn chaincode_events(
        &self,
        chaincode: &str,
        start: Option<u64>,
    ) -> Result<EventStream<ChaincodeEvent>> {
        let request =
            chaincode_events_request(self.gateway.identity(), &self.name, chaincode, start);
        Ok(chaincode_events(self.gateway.grpc_channel(), request))
    }

    fn seek(&self, start: SeekPosition, stop: SeekPosition) -> Envelope {
        seek_envelope(
            self.gateway.identity(),
            &self.name,
            start,
            stop,
            self.gateway.tls_cert_hash(),
        )
    }

    /// Full blocks from block `start` on, or (None) from the next commit; never ends by itself.
    pub async fn block_events(&self, start: Option<u64>) -> Result<EventStream<Block>> {
        let envelope = self.seek(start_position(start), unbounded());
        Ok(block_events::deliver_blocks(
            self.gateway.endpoint(),
            self.gateway.grpc_channel(),
            envelope,
        ))
    }

    /// Filtered blocks (txids, validation codes, event names) from `start` or the next commit.
    pub async fn filtered_block_events(
        &self,
        start: Option<u64>,
    ) -> Result<EventStream<FilteredBlock>> {
        let envelope = self.seek(start_position(start), unbounded());
        Ok(block_events::deliver_filtered(
            self.gateway.endpoint(),
            self.gateway.grpc_channel(),
            envelope,
        ))
    }

    /// Block `number`, waiting for it if it is not yet committed.
    pub async fn block(&self, number: u64) -> Result<Block> {
        let envelope = self.seek(specified(number), specified(number));
        block_events::fetch_block(
            self.gateway.endpoint(),
            self.gateway.grpc_channel(),
            envelope,
        )
        .await
    }

    /// Number of the newest block + 1, as the gateway peer sees the chain.
    pub async fn block_height(&self) -> Result<u64> {
        let call = block_events::block_height(
            self.gateway.endpoint(),
            self.gateway.grpc_channel(),
            self.gateway.identity(),
            &self.name,
            self.gateway.tls_cert_hash(),
        );
        with_deadline(Stage::Deliver, self.gateway.timeouts().evaluate, call).await
    }
}
