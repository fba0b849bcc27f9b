//! `healthblock breakglass`: a doctor's emergency opening of a patient's
//! records (time-limited, audited, flagged for review by the contract; the
//! doctor then reads with `record get`, and the home hospital's key
//! custodian releases each key only while the event is in force); the
//! reviewers' work list (`breakglass unreviewed`); and the after-the-fact
//! review (`breakglass review`), which closes it early.
//!
//! Opening takes an emergency code (`--code`, one of the contract's closed
//! set, listed by `--help`) and a free text (`--reason`, at least 20
//! characters); the contract receives them as `CODE: text`. The per-doctor
//! rate limit is read and set with `breakglass limit`.
//!
//! A refused attempt (not a doctor, no usable reason, over the rate limit)
//! is committed and audited by the contract, which answers `granted: false`;
//! the command then prints the refusal and exits non-zero, as `access
//! request` does.

use anyhow::Result;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::Subcommand;
use healthblock_sdk::types::breakglass::{EmergencyCode, DEFAULT_LIMIT, MAX_LIMIT};
use healthblock_sdk::types::results::{BreakGlassOutcome, UnreviewedBreakGlass};
use healthblock_sdk::types::time::rfc3339;
use serde_json::json;

use super::{connect, pseudonym, Actor};
use crate::context::Context;
use crate::output;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct BreakglassArgs {
    #[command(subcommand)]
    action: Option<BreakglassAction>,
    #[command(flatten)]
    actor: Option<Actor>,
    #[arg(long, required = true)]
    patient: Option<String>,
    /// The emergency code (required to open; any case).
    #[arg(long, value_parser = code_parser(), ignore_case = true, required_unless_present = "list")]
    code: Option<EmergencyCode>,
    /// What happened, in free text of at least 20 characters (required to
    /// open; recorded for the review). State the emergency, not clinical
    /// details.
    #[arg(long, required_unless_present = "list")]
    reason: Option<String>,
    /// List the patient's break-glass events instead of opening one.
    #[arg(long)]
    list: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum BreakglassAction {
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
    /// Show the per-doctor break-glass rate limit, or set it (administrators
    /// of any hospital; the limit applies to the whole consortium).
    Limit {
        #[command(flatten)]
        actor: Actor,
        /// New limit: openings per doctor in any 24 hours (1 to 10; the
        /// default is 3).
        #[arg(long)]
        set: Option<u32>,
    },
    /// Review a break-glass (auditors of a hospital other than the opener's;
    /// administrators of the home hospital when the opener is from another
    /// hospital); closes it if it is still in force.
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

pub(crate) async fn run(ctx: &Context, a: BreakglassArgs) -> Result<()> {
    match a.action {
        Some(BreakglassAction::Review {
            actor,
            patient,
            id,
            note,
        }) => return review(ctx, &actor, &patient, &id, &note).await,
        Some(BreakglassAction::Unreviewed { actor, hospital }) => {
            return unreviewed(ctx, &actor, hospital.as_deref()).await
        }
        Some(BreakglassAction::Limit { actor, set }) => return limit(ctx, &actor, set).await,
        None => {}
    }
    let (Some(actor), Some(patient)) = (a.actor, a.patient) else {
        anyhow::bail!("give --as USER@ORG and --patient PSEUDONYM");
    };
    let pid = pseudonym(&patient)?;
    let client = connect(ctx, &actor).await?;
    if a.list {
        return output::json(&client.list_break_glass(&pid).await?);
    }
    // A short or empty text goes to the contract too: it refuses the attempt
    // (naming the codes and the minimum length) and records it in the
    // patient's audit trail.
    let code = a.code.unwrap_or(EmergencyCode::Other);
    let reason = format!("{code}: {}", a.reason.unwrap_or_default());
    let answer = client.break_glass(&pid, &reason).await?;
    if actor.json {
        output::json(&json!({
            "txid": answer.txid,
            "block": answer.block,
            "break_glass": answer.value,
        }))?;
    }
    let opened = match &answer.value.outcome {
        BreakGlassOutcome::Opened(event) if answer.value.granted => event,
        BreakGlassOutcome::Refused(refusal) => anyhow::bail!(
            "break-glass refused: {} (the attempt is recorded in the patient's audit trail, tx {} in block {})",
            refusal.reason,
            answer.txid,
            answer.block
        ),
        BreakGlassOutcome::Opened(_) => anyhow::bail!(
            "break-glass answered granted: false with an opened event (tx {})",
            answer.txid
        ),
    };
    if actor.json {
        return Ok(());
    }
    output::step(format!(
        "glass broken by {} until {} (tx {} in block {}), flagged for review; \
         read with `record get` (the home hospital's custodian releases each key)",
        actor.who,
        rfc3339(opened.expires_at.0),
        answer.txid,
        answer.block
    ));
    println!("{}", opened.break_glass_id);
    Ok(())
}

/// `--code`: the contract's codes, any case, each with its meaning in
/// `--help`.
fn code_parser() -> impl TypedValueParser<Value = EmergencyCode> {
    PossibleValuesParser::new(
        EmergencyCode::ALL.map(|c| PossibleValue::new(c.as_str()).help(c.description())),
    )
    .try_map(|s| s.to_ascii_uppercase().parse::<EmergencyCode>())
}

async fn limit(ctx: &Context, actor: &Actor, set: Option<u32>) -> Result<()> {
    let client = connect(ctx, actor).await?;
    let (limit, tx) = match set {
        Some(n) => {
            let c = client.set_break_glass_limit(n).await?;
            (c.value, Some((c.txid, c.block)))
        }
        None => (client.break_glass_limit().await?, None),
    };
    if actor.json {
        return output::json(&limit);
    }
    let by = match (&limit.set_by, limit.set_at) {
        (Some(by), Some(at)) => format!("set by {} at {}", by.user, rfc3339(at.0)),
        _ => format!("the default ({DEFAULT_LIMIT}; 1 to {MAX_LIMIT} may be set)"),
    };
    output::step(format!(
        "break-glass limit: {} opening(s) per doctor in any {} hours, {by}{}",
        limit.per_doctor,
        limit.window_seconds / 3600,
        tx.map(|(t, b)| format!(" (tx {t} in block {b})"))
            .unwrap_or_default()
    ));
    Ok(())
}

async fn unreviewed(ctx: &Context, actor: &Actor, hospital: Option<&str>) -> Result<()> {
    let mspid = hospital
        .map(|h| ctx.org(h).map(|o| o.mspid.clone()))
        .transpose()?;
    let client = connect(ctx, actor).await?;
    let items = client.unreviewed_break_glass(mspid.as_deref()).await?;
    if actor.json {
        return output::json(&items);
    }
    output::step(format!(
        "{} break-glass event(s) await review{}",
        items.len(),
        mspid.map(|m| format!(" at {m}")).unwrap_or_default()
    ));
    for item in &items {
        println!("{}", describe_unreviewed(item)?);
    }
    Ok(())
}

/// One line of the work list: id, hospital, patient, who, when, status, reason.
fn describe_unreviewed(item: &UnreviewedBreakGlass) -> Result<String> {
    let event = &item.event;
    Ok(format!(
        "{}  {}  patient {}  opened by {} at {} ({})  reason: {}",
        event.break_glass_id,
        item.home_msp,
        event.patient_id,
        event.opened_by.user,
        rfc3339(event.opened_at.0),
        serde_json::to_value(item.status)?.as_str().unwrap_or("?"),
        event.reason,
    ))
}

async fn review(ctx: &Context, actor: &Actor, patient: &str, id: &str, note: &str) -> Result<()> {
    let pid = pseudonym(patient)?;
    let client = connect(ctx, actor).await?;
    let review = client.review_break_glass(&pid, id, note).await?;
    if actor.json {
        return output::json(
            &json!({"txid": review.txid, "block": review.block, "review": review.value}),
        );
    }
    output::step(format!(
        "break-glass {id} reviewed by {} (tx {} in block {}); it no longer grants access",
        actor.who, review.txid, review.block
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
    fn opening_needs_a_patient_a_code_and_a_reason() {
        let open = parse(&[
            "--as",
            "d@H3",
            "--patient",
            "p",
            "--code",
            "life_threatening",
            "--reason",
            "ER",
        ])
        .unwrap();
        assert!(open.action.is_none());
        assert_eq!(open.code, Some(EmergencyCode::LifeThreatening));
        assert_eq!(open.reason.as_deref(), Some("ER"));
        assert!(parse(&["--as", "d@H3", "--patient", "p"]).is_err());
        assert!(parse(&["--as", "d@H3", "--patient", "p", "--reason", "ER"]).is_err());
        assert!(parse(&["--as", "d@H3", "--patient", "p", "--code", "OTHER"]).is_err());
        assert!(parse(&[
            "--as",
            "d@H3",
            "--patient",
            "p",
            "--code",
            "BORED",
            "--reason",
            "x"
        ])
        .is_err());
        assert!(parse(&["--as", "d@H3", "--patient", "p", "--list"]).is_ok());
    }

    #[test]
    fn help_lists_the_codes_and_the_minimum() {
        use clap::CommandFactory;
        use healthblock_sdk::types::breakglass::MIN_REASON_TEXT_CHARS;
        let help = Cli::command().render_long_help().to_string();
        for code in EmergencyCode::ALL {
            assert!(help.contains(code.as_str()), "{code} missing from {help}");
            assert!(
                help.contains(code.description()),
                "{code} unexplained in {help}"
            );
        }
        assert!(help.contains(&format!("at least {MIN_REASON_TEXT_CHARS} characters")));
    }

    #[test]
    fn the_limit_is_a_subcommand() {
        let show = parse(&["limit", "--as", "Admin@Hospital1"]).unwrap();
        assert!(matches!(
            show.action,
            Some(BreakglassAction::Limit { set: None, .. })
        ));
        let set = parse(&["limit", "--as", "Admin@Hospital1", "--set", "5"]).unwrap();
        assert!(matches!(
            set.action,
            Some(BreakglassAction::Limit { set: Some(5), .. })
        ));
    }

    #[test]
    fn the_review_is_a_subcommand() {
        assert!(parse(&["fulfil", "--as", "Admin@Hospital1"]).is_err());
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
        let item: UnreviewedBreakGlass = serde_json::from_value(json!({
            "home_msp": "Hospital1MSP",
            "status": "expired",
            "event": {
                "break_glass_id": "abc",
                "patient_id": "ab".repeat(32),
                "opened_by": {"mspid": "Hospital3MSP", "user": "dr@Hospital3MSP", "role": "doctor"},
                "reason": "ER",
                "opened_at": {"unix": 1, "rfc3339": "1970-01-01T00:00:01Z"},
                "expires_at": {"unix": 3601},
                "flagged_for_review": true,
            },
        }))
        .unwrap();
        assert_eq!(
            describe_unreviewed(&item).unwrap(),
            format!(
                "abc  Hospital1MSP  patient {}  opened by dr@Hospital3MSP at 1970-01-01T00:00:01Z (expired)  reason: ER",
                "ab".repeat(32)
            )
        );
    }
}
