//! `healthblock audit`: the audit trail of a patient or a record.

use anyhow::{bail, Result};
use serde_json::Value;

use super::{all_pages, check_pseudonym, Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    actor: Actor,
    #[arg(long, conflicts_with = "record")]
    patient: Option<String>,
    #[arg(long)]
    record: Option<String>,
}

pub async fn run(ctx: &Context, a: AuditArgs) -> Result<()> {
    let session = Session::open(ctx, &a.actor).await?;
    let entries: Vec<Value> = match (&a.patient, &a.record) {
        (Some(p), _) => all_pages(&session, "audit_by_patient", &check_pseudonym(p)?).await?,
        (None, Some(r)) => all_pages(&session, "audit_by_record", r).await?,
        (None, None) => bail!("give --patient or --record"),
    };
    if a.actor.json {
        return output::json(&entries);
    }
    println!(
        "{:<20} {:<13} {:<26} {:<8} {:<22} REASON",
        "TIME", "ACTION", "ACTOR", "RESULT", "RECORD"
    );
    for e in &entries {
        let record = match (e["record_id"].as_str(), e["version"].as_u64()) {
            (Some(r), Some(v)) => format!("{r} v{v}"),
            (Some(r), None) => r.to_owned(),
            _ => "-".to_owned(),
        };
        let flag = if e["break_glass"] == true {
            " [BREAK-GLASS, review]"
        } else {
            ""
        };
        println!(
            "{:<20} {:<13} {:<26} {:<8} {:<22} {}{flag}",
            e["time"]["rfc3339"].as_str().unwrap_or("?"),
            e["action"].as_str().unwrap_or("?"),
            e["actor"]["user"].as_str().unwrap_or("?"),
            if e["granted"] == true {
                "granted"
            } else {
                "DENIED"
            },
            record,
            e["reason"].as_str().unwrap_or(""),
        );
    }
    output::step(format!("{} audit entr(ies)", entries.len()));
    Ok(())
}
