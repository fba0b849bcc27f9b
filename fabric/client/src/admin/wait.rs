//! Waiting for a transaction's commit without a Gateway.
//!
//! Owns: watching a peer's filtered blocks for a txid, as `peer lifecycle`
//! does. The watch starts at the peer's current height, taken before the
//! transaction is broadcast, so the block holding it cannot be missed.

use super::peer::Peer;
use crate::block_events::{specified, EventStream};
use crate::commit::{CommitStatus, TxValidationCode};
use crate::error::{Error, Result, Stage};
use fabric_msp::SigningIdentity;
use fabric_proto::protos::FilteredBlock;
use futures::StreamExt;
use std::time::Duration;

/// A watch for one txid on one peer; create it before broadcasting.
pub struct CommitWaiter {
    txid: String,
    peer: String,
    blocks: EventStream<FilteredBlock>,
}

impl CommitWaiter {
    pub async fn start(
        peer: &Peer,
        identity: &SigningIdentity,
        channel: &str,
        txid: &str,
    ) -> Result<Self> {
        let height = peer.block_height(identity, channel).await?;
        Ok(Self {
            txid: txid.to_owned(),
            peer: peer.address().to_owned(),
            blocks: peer.filtered_blocks(identity, channel, specified(height)),
        })
    }

    /// The commit status of the txid once a block holding it arrives.
    pub async fn wait(mut self, timeout: Duration) -> Result<CommitStatus> {
        let txid = self.txid.clone();
        let scan = async {
            while let Some(block) = self.blocks.next().await {
                if let Some(status) = find_tx(&block?, &txid) {
                    return Ok(status);
                }
            }
            Err(Error::malformed(
                "deliver stream",
                format!("{} closed before transaction {txid} committed", self.peer),
            ))
        };
        match tokio::time::timeout(timeout, scan).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                stage: Stage::Commit,
                after: timeout,
            }),
        }
    }
}

/// The status of `txid` if the filtered block holds it.
pub fn find_tx(block: &FilteredBlock, txid: &str) -> Option<CommitStatus> {
    block
        .filtered_transactions
        .iter()
        .find(|tx| tx.txid == txid)
        .map(|tx| CommitStatus {
            txid: txid.to_owned(),
            code: TxValidationCode(tx.tx_validation_code),
            block_number: block.number,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_proto::protos::FilteredTransaction;

    #[test]
    fn finds_the_txid_and_its_code() {
        let block = FilteredBlock {
            channel_id: "ehr".into(),
            number: 9,
            filtered_transactions: vec![
                FilteredTransaction {
                    txid: "a".into(),
                    tx_validation_code: 0,
                    ..Default::default()
                },
                FilteredTransaction {
                    txid: "b".into(),
                    tx_validation_code: 11,
                    ..Default::default()
                },
            ],
        };
        let status = find_tx(&block, "b").unwrap();
        assert_eq!(status.code, TxValidationCode(11));
        assert_eq!(status.block_number, 9);
        assert!(find_tx(&block, "c").is_none());
    }
}
