//! `healthblock audit`: the audit trail of a patient or a record.

use anyhow::{bail, Result};
use healthblock_sdk::types::model::{AuditEntry, RecordId};

use super::{connect, pseudonym, Actor};
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
    let client = connect(ctx, &a.actor).await?;
    let entries = match (&a.patient, &a.record) {
        (Some(p), _) => client.audit_by_patient(&pseudonym(p)?).await?,
        (None, Some(r)) => client.audit_by_record(&RecordId::parse(r)?).await?,
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
        println!("{}", line(e)?);
    }
    output::step(format!("{} audit entr(ies)", entries.len()));
    Ok(())
}

/// One line of the trail; break-glass steps are flagged for review.
fn line(e: &AuditEntry) -> Result<String> {
    let record = match (&e.record_id, e.version) {
        (Some(r), Some(v)) => format!("{r} v{v}"),
        (Some(r), None) => r.to_string(),
        _ => "-".to_owned(),
    };
    let flag = if e.break_glass {
        " [BREAK-GLASS, review]"
    } else {
        ""
    };
    let action = serde_json::to_value(e.action)?;
    Ok(format!(
        "{:<20} {:<13} {:<26} {:<8} {:<22} {}{flag}",
        healthblock_sdk::types::time::rfc3339(e.time.0),
        action.as_str().unwrap_or("?"),
        e.actor.user,
        if e.granted { "granted" } else { "DENIED" },
        record,
        e.reason,
    ))
}
