//! `healthblock ledger verify`: walk a peer's chain from block 0 and check
//! every header hash link, data hash and orderer signature.

use crate::context::Context;
use crate::output;
use anyhow::{anyhow, Result};
use fabric_msp::{Msp, MspManager};
use serde::Serialize;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum LedgerCmd {
    /// Verify the hash chain and orderer signatures of a peer's copy of the channel.
    Verify(VerifyArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// Identity that reads the blocks (a member of the peer's org).
    #[arg(long = "as", default_value = "Admin@Hospital1")]
    pub who: String,
    /// Peer to read from (default: the identity's org's first peer).
    #[arg(long)]
    pub peer: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    peer: String,
    height: u64,
    tip_hash: String,
    ok: bool,
    first_broken_block: Option<u64>,
    reason: Option<String>,
}

pub(crate) async fn run(ctx: &Context, cmd: LedgerCmd) -> Result<()> {
    match cmd {
        LedgerCmd::Verify(a) => verify(ctx, a).await,
    }
}

fn orderer_msps(ctx: &Context) -> Result<MspManager> {
    let org = &ctx.consortium.orderer_org;
    let msp = Msp::from_dir(&org.mspid, &ctx.layout.orderer_org_msp_dir(org))
        .map_err(|e| anyhow!("cannot load the orderer MSP: {e}"))?;
    Ok(MspManager::new([msp]))
}

async fn verify(ctx: &Context, a: VerifyArgs) -> Result<()> {
    let gateway = crate::cmd::tx::connect(ctx, &a.who, a.peer.as_deref()).await?;
    let network = gateway.network(&ctx.consortium.channel);
    let height = network.block_height().await?;
    let progress = indicatif::ProgressBar::new(height);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} blocks")
            .map_err(|e| anyhow!("{e}"))?,
    );
    progress.set_message("fetching");
    let mut blocks = Vec::with_capacity(height as usize);
    for n in 0..height {
        blocks.push(network.block(n).await?);
        progress.inc(1);
    }
    progress.finish_and_clear();
    let report = fabric_block::verify_chain(blocks.iter(), &orderer_msps(ctx)?);
    let out = Report {
        peer: gateway.endpoint().to_owned(),
        height: report.height,
        tip_hash: hex::encode(report.tip_hash),
        ok: report.first_broken.is_none(),
        first_broken_block: report.first_broken.as_ref().map(|b| b.0),
        reason: report.first_broken.as_ref().map(|b| b.1.clone()),
    };
    if a.json {
        output::json(&out)?;
    } else if out.ok {
        println!(
            "ledger OK: {} blocks, tip {} (peer {})",
            out.height, out.tip_hash, out.peer
        );
    } else {
        println!(
            "ledger BROKEN at block {}: {} (height {}, peer {})",
            out.first_broken_block.unwrap_or_default(),
            out.reason.clone().unwrap_or_default(),
            out.height,
            out.peer
        );
    }
    if out.ok {
        Ok(())
    } else {
        Err(anyhow!("the chain does not verify"))
    }
}
