//! `healthblock tx`: submit or evaluate any chaincode function through the gateway.

use crate::context::Context;
use crate::output;
use anyhow::Result;
use fabric_client::gateway::Gateway;
use serde::Serialize;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum TxCmd {
    /// Endorse, order and commit a transaction; prints its result, txid and block.
    Submit(TxArgs),
    /// Run a query on the gateway peer without ordering it; prints its result.
    Evaluate(TxArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct TxArgs {
    /// Identity as USER@ORG (e.g. User1@Hospital1, Admin@Hospital2).
    #[arg(long = "as", default_value = "User1@Hospital1")]
    pub who: String,
    /// Gateway peer of the identity's org (default: its first peer).
    #[arg(long)]
    pub peer: Option<String>,
    /// Endorse only on these orgs' peers (MSP ids, comma-separated), like the SDK option.
    #[arg(long, value_delimiter = ',')]
    pub endorsing_orgs: Vec<String>,
    /// Print a JSON object instead of the bare result.
    #[arg(long)]
    pub json: bool,
    /// Chaincode name.
    pub chaincode: String,
    /// Function name.
    pub function: String,
    /// Arguments (strings).
    pub args: Vec<String>,
}

#[derive(Serialize)]
struct TxOutput {
    txid: Option<String>,
    block: Option<u64>,
    status: Option<String>,
    result: String,
}

pub(crate) async fn run(ctx: &Context, cmd: TxCmd) -> Result<()> {
    match cmd {
        TxCmd::Submit(a) => submit(ctx, a).await,
        TxCmd::Evaluate(a) => evaluate(ctx, a).await,
    }
}

/// Connects `who` to the gateway of a peer of its own org.
pub(crate) async fn connect(ctx: &Context, who: &str, peer: Option<&str>) -> Result<Gateway> {
    let identity = ctx.identity(who)?;
    let org = ctx.org(identity.mspid())?;
    let node = ctx.peer(org, peer)?;
    let endpoint = ctx.peer_endpoint(org, node)?;
    Ok(Gateway::connect_endpoint(&endpoint, identity).await?)
}

async fn submit(ctx: &Context, a: TxArgs) -> Result<()> {
    let gateway = connect(ctx, &a.who, a.peer.as_deref()).await?;
    let contract = gateway
        .network(&ctx.consortium.channel)
        .contract(&a.chaincode);
    let mut request = contract.transaction(&a.function).args(&a.args);
    if !a.endorsing_orgs.is_empty() {
        request = request.endorsing_organizations(a.endorsing_orgs.clone());
    }
    let submitted = request.submit_async().await?;
    let status = submitted.status().await?.ensure_valid()?;
    let result = String::from_utf8_lossy(&submitted.result).into_owned();
    if a.json {
        output::json(&TxOutput {
            txid: Some(status.txid.clone()),
            block: Some(status.block_number),
            status: Some(status.code.name().to_owned()),
            result,
        })
    } else {
        output::step(format!(
            "committed {} in block {} ({})",
            status.txid,
            status.block_number,
            status.code.name()
        ));
        println!("{result}");
        Ok(())
    }
}

async fn evaluate(ctx: &Context, a: TxArgs) -> Result<()> {
    let gateway = connect(ctx, &a.who, a.peer.as_deref()).await?;
    let contract = gateway
        .network(&ctx.consortium.channel)
        .contract(&a.chaincode);
    let result = contract.evaluate(&a.function, &a.args).await?;
    let result = String::from_utf8_lossy(&result).into_owned();
    if a.json {
        output::json(&TxOutput {
            txid: None,
            block: None,
            status: None,
            result,
        })
    } else {
        println!("{result}");
        Ok(())
    }
}
