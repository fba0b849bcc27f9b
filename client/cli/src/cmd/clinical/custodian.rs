//! `healthblock breakglass fulfil --as Admin@Hospital1`: one pass of the
//! home hospital's break-glass custodian (the SDK's `custodian_pass`:
//! deliver keys for break-glass events in force, withdraw them for those
//! expired or reviewed), printed per event.

use anyhow::Result;
use healthblock_sdk::types::results::BreakGlassStatus;
use healthblock_sdk::{CustodianAction, Handled};
use serde::Serialize;

use super::{connect, who_of_principal, Actor};
use crate::context::Context;
use crate::output;

/// What one pass did to one break-glass (the `--json` shape).
#[derive(Serialize, Debug)]
struct Done {
    break_glass_id: String,
    patient_id: String,
    doctor: String,
    action: &'static str,
    versions: usize,
    /// Versions whose wrap stays because an active consent covers them.
    kept: usize,
    /// Versions the hospital holds no wrap of (cannot be delivered).
    skipped: usize,
    txids: Vec<String>,
}

fn done(ctx: &Context, h: &Handled) -> Done {
    let (action, versions, kept, skipped, txids) = match &h.action {
        CustodianAction::Delivered {
            versions,
            skipped,
            txids,
        } => (
            "delivered keys of",
            versions.len(),
            0,
            skipped.len(),
            txids.clone(),
        ),
        CustodianAction::Withdrawn { closure, txid } => (
            "closed; withdrew wraps of",
            closure.removed.len(),
            closure.kept.len(),
            0,
            vec![txid.clone()],
        ),
    };
    Done {
        break_glass_id: h.break_glass_id.clone(),
        patient_id: h.patient_id.to_string(),
        // The wallet's name of the doctor when the consortium knows it.
        doctor: who_of_principal(ctx, &h.doctor).unwrap_or_else(|_| h.doctor.clone()),
        action,
        versions,
        kept,
        skipped,
        txids,
    }
}

fn status(s: BreakGlassStatus) -> &'static str {
    match s {
        BreakGlassStatus::Active => "active",
        BreakGlassStatus::Expired => "expired",
        BreakGlassStatus::Reviewed => "reviewed",
    }
}

/// Runs one custodian pass as `actor` (an administrator of the home hospital).
pub async fn run(ctx: &Context, actor: &Actor) -> Result<()> {
    let client = connect(ctx, actor).await?;
    let pass = client.custodian_pass().await?;
    let mut report = Vec::with_capacity(pass.handled.len());
    for h in &pass.handled {
        let d = done(ctx, h);
        if !actor.json {
            output::step(format!(
                "break-glass {} of {} ({}): {} {} version(s){}",
                d.break_glass_id,
                d.doctor,
                status(h.status),
                d.action,
                d.versions,
                match d.skipped {
                    0 => String::new(),
                    n => format!("; {n} version(s) without this hospital's wrap skipped"),
                }
            ));
        }
        report.push(d);
    }
    let failures: Vec<String> = pass
        .failures
        .iter()
        .map(|f| {
            let msg = format!(
                "break-glass {}: {}",
                f.break_glass_id,
                output::with_causes(&f.error)
            );
            output::step(format!("error: {msg}"));
            msg
        })
        .collect();
    if actor.json {
        output::json(&report)?;
    } else {
        output::step(format!(
            "custodian pass done: {} break-glass event(s) handled",
            report.len()
        ));
    }
    if !failures.is_empty() {
        anyhow::bail!(
            "{} break-glass event(s) not handled: {}",
            failures.len(),
            failures.join("; ")
        );
    }
    Ok(())
}
