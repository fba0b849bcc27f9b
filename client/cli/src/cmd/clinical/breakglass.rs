//! `healthblock breakglass`: a doctor's emergency opening of a patient's
//! records (time-limited, audited, flagged for review by the contract); the
//! home hospital's custodian pass that delivers (and later withdraws) the
//! data keys (`breakglass fulfil`, see [`custodian`](super::custodian)); and
//! the after-the-fact review (`breakglass review`), which closes it early.

use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};

use super::{check_pseudonym, custodian, Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BreakglassArgs {
    #[command(subcommand)]
    action: Option<BreakglassAction>,
    #[command(flatten)]
    actor: Option<Actor>,
    #[arg(long, required = true)]
    patient: Option<String>,
    /// Why (required; recorded for the review).
    #[arg(long, required_unless_present = "list")]
    reason: Option<String>,
    /// List the patient's break-glass events instead of opening one.
    #[arg(long)]
    list: bool,
}

#[derive(Subcommand, Debug)]
pub enum BreakglassAction {
    /// The home hospital's custodian pass (run as an administrator of the
    /// hospital): wraps the data keys of every version of the patient's
    /// records for each doctor whose break-glass is in force, and withdraws
    /// the wraps of break-glass events that expired or were reviewed.
    Fulfil {
        #[command(flatten)]
        actor: Actor,
    },
    /// Review a break-glass (auditors, home administrators); closes it if it
    /// is still in force.
    Review {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        patient: String,
        /// The break-glass id (`breakglass --list` shows them).
        #[arg(long)]
        id: String,
        /// The finding, recorded on the ledger.
        #[arg(long)]
        note: String,
    },
}

pub async fn run(ctx: &Context, a: BreakglassArgs) -> Result<()> {
    match a.action {
        Some(BreakglassAction::Fulfil { actor }) => return custodian::run(ctx, &actor).await,
        Some(BreakglassAction::Review {
            actor,
            patient,
            id,
            note,
        }) => return review(ctx, &actor, &patient, &id, &note).await,
        None => {}
    }
    let (Some(actor), Some(patient)) = (a.actor, a.patient) else {
        anyhow::bail!("give --as USER@ORG and --patient PSEUDONYM");
    };
    let pid = check_pseudonym(&patient)?;
    let session = Session::open(ctx, &actor).await?;
    if a.list {
        let events: Vec<Value> = super::all_pages(&session, "list_break_glass", &pid).await?;
        return output::json(&events);
    }
    let reason = a.reason.unwrap_or_default();
    if reason.trim().is_empty() {
        anyhow::bail!("--reason must say why the glass is broken");
    }
    let (opened, committed): (Value, _) =
        session.submit_json("break_glass", &[pid, reason]).await?;
    if actor.json {
        return output::json(
            &json!({"txid": committed.txid, "block": committed.block, "break_glass": opened}),
        );
    }
    output::step(format!(
        "glass broken by {} until {} (tx {} in block {}), flagged for review; \
         the home hospital's custodian delivers the keys (`breakglass fulfil`)",
        actor.who,
        opened["expires_at"]["rfc3339"].as_str().unwrap_or("?"),
        committed.txid,
        committed.block
    ));
    println!("{}", opened["break_glass_id"].as_str().unwrap_or("?"));
    Ok(())
}

async fn review(ctx: &Context, actor: &Actor, patient: &str, id: &str, note: &str) -> Result<()> {
    let pid = check_pseudonym(patient)?;
    let session = Session::open(ctx, actor).await?;
    let (review, committed): (Value, _) = session
        .submit_json("review_break_glass", &[pid, id.to_owned(), note.to_owned()])
        .await?;
    if actor.json {
        return output::json(
            &json!({"txid": committed.txid, "block": committed.block, "review": review}),
        );
    }
    output::step(format!(
        "break-glass {id} reviewed by {} (tx {} in block {}); it no longer grants access",
        actor.who, committed.txid, committed.block
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: BreakglassArgs,
    }

    fn parse(args: &[&str]) -> Result<BreakglassArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("breakglass").chain(args.iter().copied()))
            .map(|c| c.args)
    }

    #[test]
    fn opening_needs_a_patient_and_a_reason() {
        let open = parse(&["--as", "d@H3", "--patient", "p", "--reason", "ER"]).unwrap();
        assert!(open.action.is_none());
        assert_eq!(open.reason.as_deref(), Some("ER"));
        assert!(parse(&["--as", "d@H3", "--patient", "p"]).is_err());
        assert!(parse(&["--as", "d@H3", "--patient", "p", "--list"]).is_ok());
    }

    #[test]
    fn the_custodian_pass_and_the_review_are_subcommands() {
        let pass = parse(&["fulfil", "--as", "Admin@Hospital1"]).unwrap();
        assert!(matches!(pass.action, Some(BreakglassAction::Fulfil { .. })));
        let review = parse(&[
            "review",
            "--as",
            "a@H1",
            "--patient",
            "p",
            "--id",
            "x",
            "--note",
            "ok",
        ])
        .unwrap();
        assert!(matches!(
            review.action,
            Some(BreakglassAction::Review { .. })
        ));
        assert!(parse(&["review", "--as", "a@H1", "--patient", "p", "--id", "x"]).is_err());
    }
}
