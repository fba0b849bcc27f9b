//! `healthblock breakglass`: a doctor's emergency opening of a patient's
//! records (time-limited, audited, flagged for review by the contract).

use anyhow::Result;
use serde_json::{json, Value};

use super::{check_pseudonym, Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(clap::Args, Debug)]
pub struct BreakglassArgs {
    #[command(flatten)]
    actor: Actor,
    #[arg(long)]
    patient: String,
    /// Why (required; recorded for the review).
    #[arg(long)]
    reason: String,
    /// List the patient's break-glass events instead of opening one.
    #[arg(long)]
    list: bool,
}

pub async fn run(ctx: &Context, a: BreakglassArgs) -> Result<()> {
    let pid = check_pseudonym(&a.patient)?;
    let session = Session::open(ctx, &a.actor).await?;
    if a.list {
        let events: Vec<Value> = super::all_pages(&session, "list_break_glass", &pid).await?;
        return output::json(&events);
    }
    if a.reason.trim().is_empty() {
        anyhow::bail!("--reason must say why the glass is broken");
    }
    let (opened, committed): (Value, _) = session
        .submit_json("break_glass", &[pid, a.reason.clone()])
        .await?;
    if a.actor.json {
        return output::json(
            &json!({"txid": committed.txid, "block": committed.block, "break_glass": opened}),
        );
    }
    output::step(format!(
        "glass broken by {} until {} (tx {} in block {}), flagged for review",
        a.actor.who,
        opened["expires_at"]["rfc3339"].as_str().unwrap_or("?"),
        committed.txid,
        committed.block
    ));
    Ok(())
}
