//! `healthblock breakglass`: a doctor's emergency opening of a patient's
//! records (time-limited, audited, flagged for review by the contract); the
//! home hospital's custodian pass that delivers (and later withdraws) the
//! data keys (`breakglass fulfil`, see [`custodian`](super::custodian)); the
//! reviewers' work list (`breakglass unreviewed`); and the after-the-fact
//! review (`breakglass review`), which closes it early.
//!
//! A refused attempt (not a doctor, no usable reason) is committed and
//! audited by the contract, which answers `granted: false`; the command then
//! prints the refusal and exits non-zero, as `access request` does.

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
    /// List break-glass events not yet reviewed, oldest first per hospital
    /// (auditors: every hospital or one; administrators: their own).
    Unreviewed {
        #[command(flatten)]
        actor: Actor,
        /// Only this home hospital (name or MSP id); an administrator's
        /// default and only choice is their own.
        #[arg(long)]
        hospital: Option<String>,
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
        Some(BreakglassAction::Unreviewed { actor, hospital }) => {
            return unreviewed(ctx, &actor, hospital.as_deref()).await
        }
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
    // An empty reason goes to the contract too: it refuses the attempt and
    // records it in the patient's audit trail.
    let reason = a.reason.unwrap_or_default();
    let (opened, committed): (Value, _) =
        session.submit_json("break_glass", &[pid, reason]).await?;
    if actor.json {
        output::json(
            &json!({"txid": committed.txid, "block": committed.block, "break_glass": opened}),
        )?;
    }
    if opened["granted"] != true {
        anyhow::bail!(
            "break-glass refused: {} (the attempt is recorded in the patient's audit trail, tx {} in block {})",
            opened["reason"].as_str().unwrap_or("no reason given"),
            committed.txid,
            committed.block
        );
    }
    if actor.json {
        return Ok(());
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

async fn unreviewed(ctx: &Context, actor: &Actor, hospital: Option<&str>) -> Result<()> {
    let mspid = match hospital {
        Some(h) => ctx.org(h)?.mspid.clone(),
        None => String::new(),
    };
    let session = Session::open(ctx, actor).await?;
    let items: Vec<Value> =
        super::all_pages(&session, "list_unreviewed_break_glass", &mspid).await?;
    if actor.json {
        return output::json(&items);
    }
    output::step(format!(
        "{} break-glass event(s) await review{}",
        items.len(),
        if mspid.is_empty() {
            String::new()
        } else {
            format!(" at {mspid}")
        }
    ));
    for item in &items {
        println!("{}", describe_unreviewed(item));
    }
    Ok(())
}

/// One line of the work list: id, hospital, patient, who, when, status, reason.
fn describe_unreviewed(item: &Value) -> String {
    let event = &item["event"];
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    format!(
        "{}  {}  patient {}  opened by {} at {} ({})  reason: {}",
        text(&event["break_glass_id"]),
        text(&item["home_msp"]),
        text(&event["patient_id"]),
        text(&event["opened_by"]["user"]),
        text(&event["opened_at"]["rfc3339"]),
        text(&item["status"]),
        text(&event["reason"]),
    )
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

    #[test]
    fn the_work_list_is_a_subcommand_with_an_optional_hospital() {
        let all = parse(&["unreviewed", "--as", "auditor@Hospital1", "--json"]).unwrap();
        let Some(BreakglassAction::Unreviewed { actor, hospital }) = all.action else {
            panic!("not the work list: {all:?}");
        };
        assert!(actor.json && hospital.is_none());
        let one = parse(&["unreviewed", "--as", "a@H1", "--hospital", "Hospital2"]).unwrap();
        assert!(matches!(
            one.action,
            Some(BreakglassAction::Unreviewed { hospital: Some(ref h), .. }) if h == "Hospital2"
        ));
        assert!(parse(&["unreviewed", "--as", "a@H1", "--patient", "p"]).is_err());
    }

    #[test]
    fn a_work_list_line_names_the_event() {
        let item = json!({
            "home_msp": "Hospital1MSP",
            "status": "expired",
            "event": {
                "break_glass_id": "abc",
                "patient_id": "p1",
                "opened_by": {"user": "dr@Hospital3MSP"},
                "opened_at": {"unix": 1, "rfc3339": "1970-01-01T00:00:01Z"},
                "reason": "ER",
            },
        });
        assert_eq!(
            describe_unreviewed(&item),
            "abc  Hospital1MSP  patient p1  opened by dr@Hospital3MSP at 1970-01-01T00:00:01Z (expired)  reason: ER"
        );
    }
}
