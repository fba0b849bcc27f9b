//! `healthblock access request`: the audited access request alone, without
//! fetching the blob (the contract's answer, as JSON).

use anyhow::Result;
use serde_json::json;

use super::record::request_access;
use super::{Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(clap::Subcommand, Debug)]
pub enum AccessCmd {
    /// Ask for access to a record version; the request is audited either way.
    Request {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        record: String,
        /// Version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
    },
}

pub async fn run(ctx: &Context, cmd: AccessCmd) -> Result<()> {
    let AccessCmd::Request {
        actor,
        record,
        version,
    } = cmd;
    let session = Session::open(ctx, &actor).await?;
    let a = request_access(&session, &record, version).await?;
    output::json(&json!({
        "granted": a.granted,
        "reason": a.reason,
        "tx_id": a.tx_id,
        "record_id": a.record_id,
        "version": a.version,
        "break_glass": a.break_glass,
        "wrap": a.wrap,
    }))?;
    if !a.granted {
        anyhow::bail!("access denied: {}", a.reason);
    }
    Ok(())
}
