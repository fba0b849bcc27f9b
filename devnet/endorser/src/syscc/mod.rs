//! The system chaincodes a peer answers from its own ledger: `qscc` (ledger
//! queries) and `cscc` (the channels it has joined and their configuration).
//!
//! Owns: their function names, arguments, ACL resources and Fabric's messages.
//! As on Fabric they run with or without a channel in the proposal (`peer
//! channel list` and `peer channel getinfo` send none; a Gateway evaluate of
//! `qscc` sends one); the channel they act on is an argument.
//!
//! The devnet peer is joined to exactly one channel, the one it started with.

mod cscc;
mod qscc;

use crate::PeerContext;
use fabric_msp::Identity;
use fabric_proto::common::{Block, Config};
use fabric_proto::protos::Response;

pub(crate) const QSCC: &str = "qscc";
pub(crate) const CSCC: &str = "cscc";

/// Whether the endorser answers `name` here.
pub(crate) fn handles(name: &str) -> bool {
    name == QSCC || name == CSCC
}

/// One system chaincode call: who asks, and of which peer.
pub(crate) struct SysccCall<'a> {
    pub ctx: &'a PeerContext,
    pub creator: &'a Identity,
}

impl SysccCall<'_> {
    /// Runs `chaincode` (one [`handles`] accepts) with `args`; every outcome is a Response.
    pub(crate) fn invoke(&self, chaincode: &str, args: &[Vec<u8>]) -> Response {
        let result = if chaincode == QSCC {
            qscc::invoke(self, args)
        } else {
            cscc::invoke(self, args)
        };
        match result {
            Ok(payload) => Response {
                status: 200,
                message: String::new(),
                payload,
            },
            Err(message) => Response {
                status: crate::response::ERROR,
                message,
                payload: Vec::new(),
            },
        }
    }

    /// Fabric's resource provider: the channel's ACL for `resource`, else Readers.
    fn check_acl(&self, resource: &str) -> Result<(), String> {
        let (_, block) = self.config_block()?;
        let config = config_of(&block)?;
        fabric_configtx::acl::check_acl(
            &config,
            resource,
            self.creator,
            &self.ctx.resources.current().msps,
        )
    }

    /// Whether `channel` is one this peer has joined.
    fn joined(&self, channel: &str) -> bool {
        channel == self.ctx.channel
    }

    /// The config block in force on this peer's channel (number and block).
    fn config_block(&self) -> Result<(u64, Block), String> {
        let ledger = &self.ctx.ledger;
        let height = ledger.try_height().map_err(|e| e.to_string())?;
        let tip = height
            .checked_sub(1)
            .ok_or_else(|| "the channel has no blocks".to_owned())?;
        fabric_configtx::config_block_in_force(
            tip,
            |n| match ledger.try_block(n) {
                Ok(Some(block)) => Ok(block),
                Ok(None) => Err(format!("no such block number [{n}] in index")),
                Err(e) => Err(e.to_string()),
            },
            |n, e| format!("block {n}: {e}"),
        )
    }
}

fn config_of(block: &Block) -> Result<Config, String> {
    fabric_configtx::config_from_block(block).map_err(|e| e.to_string())
}

/// Fabric's answer when a function needs more arguments than it was given.
fn incorrect_arguments(args: &[Vec<u8>]) -> String {
    format!("Incorrect number of arguments, {}", args.len())
}

fn not_found(function: &str) -> String {
    format!("Requested function {function} not found.")
}
