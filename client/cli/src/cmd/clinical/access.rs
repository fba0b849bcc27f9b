//! `healthblock access request`: the audited access request (the contract's
//! answer, as JSON); with `--out`, also fetch, verify and decrypt the
//! granted version into a file.

use anyhow::Result;
use healthblock_sdk::types::model::RecordId;
use healthblock_sdk::Sink;
use serde_json::json;

use super::{connect, Actor};
use crate::context::Context;
use crate::output;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum AccessCmd {
    /// Ask for access to a record version; the request is audited either way.
    Request {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        record: String,
        /// Version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
        /// When granted, decrypt the version into this file.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

pub(crate) async fn run(ctx: &Context, cmd: AccessCmd) -> Result<()> {
    let AccessCmd::Request {
        actor,
        record,
        version,
        out,
    } = cmd;
    let rid = RecordId::parse(&record)?;
    let client = connect(ctx, &actor).await?;
    let a = client.request_access(&rid, version).await?.value;
    // The answer is printed whatever happens next, so a script always learns
    // the audited transaction id.
    let decrypted = match (&out, a.granted) {
        (Some(path), true) => Some(client.open_granted(&a, Sink::File(path)).await),
        _ => None,
    };
    let decrypt_error = match &decrypted {
        Some(Err(e)) => Some(output::with_causes(e)),
        _ => None,
    };
    let grant = a.grant.as_ref();
    output::json(&json!({
        "granted": a.granted,
        "reason": a.reason,
        "tx_id": a.tx_id,
        "record_id": a.record_id,
        "version": a.version,
        "break_glass": grant.is_some_and(|g| g.break_glass),
        "home_msp": grant.map(|g| &g.home_msp),
        "recipient": grant.map(|g| &g.recipient),
        "decrypted_bytes": decrypted.as_ref().and_then(|d| d.as_ref().ok()),
        "decrypt_error": decrypt_error,
        "out": out.as_ref().filter(|_| decrypted.is_some()).map(|p| p.display().to_string()),
    }))?;
    if !a.granted {
        anyhow::bail!("access denied: {}", a.reason);
    }
    if let Some(Err(e)) = decrypted {
        return Err(e.into());
    }
    Ok(())
}
