//! `healthblock consent grant|revoke|list`, through the client SDK (which
//! records the consent and then wraps, or deletes, the covered versions'
//! data keys for the grantee).

use anyhow::{bail, Result};
use clap::Subcommand;
use healthblock_sdk::types::args::GrantArgs;
use healthblock_sdk::types::model::{Grantee, RecordId, ResourceType, Scope};
use healthblock_sdk::types::time::rfc3339;
use healthblock_sdk::RevokeFilter;
use serde_json::json;

use super::{connect, principal, pseudonym, Actor};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub(crate) enum ConsentCmd {
    /// Grant a hospital or a user access to a patient's records.
    Grant(GrantCliArgs),
    /// Revoke consents: by id, or every active one to a hospital or user.
    Revoke {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        patient: String,
        /// The consent id (as `consent list` shows).
        #[arg(long, conflicts_with_all = ["to_org", "to_user"])]
        consent: Option<String>,
        /// Revoke every active consent to this hospital (name or MSP id).
        #[arg(long)]
        to_org: Option<String>,
        /// Revoke every active consent to this user (USER@ORG).
        #[arg(long)]
        to_user: Option<String>,
    },
    /// A patient's consents and their status.
    List {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        patient: String,
    },
}

#[derive(clap::Args, Debug)]
pub(crate) struct GrantCliArgs {
    #[command(flatten)]
    actor: Actor,
    #[arg(long)]
    patient: String,
    /// Grant every doctor and nurse of a hospital (name or MSP id).
    #[arg(long, required_unless_present = "to_user", conflicts_with = "to_user")]
    to_org: Option<String>,
    /// Grant one user (USER@ORG).
    #[arg(long)]
    to_user: Option<String>,
    /// Only records of this FHIR type.
    #[arg(long = "type", conflicts_with = "record")]
    r#type: Option<String>,
    /// Only this record.
    #[arg(long)]
    record: Option<String>,
    /// Expiry (RFC 3339, e.g. 2027-01-01T00:00:00Z).
    #[arg(long)]
    expires: Option<String>,
}

/// `--to-org` / `--to-user` as the contract names grantees.
fn grantee(ctx: &Context, org: Option<&str>, user: Option<&str>) -> Result<Option<Grantee>> {
    Ok(match (org, user) {
        (Some(o), _) => Some(Grantee::Org {
            mspid: ctx.org(o)?.mspid.clone(),
        }),
        (None, Some(u)) => Some(Grantee::User {
            user: principal(ctx, u)?,
        }),
        (None, None) => None,
    })
}

pub(crate) async fn run(ctx: &Context, cmd: ConsentCmd) -> Result<()> {
    match cmd {
        ConsentCmd::Grant(a) => grant(ctx, a).await,
        ConsentCmd::Revoke {
            actor,
            patient,
            consent,
            to_org,
            to_user,
        } => {
            let filter = RevokeFilter {
                consent_id: consent,
                grantee: grantee(ctx, to_org.as_deref(), to_user.as_deref())?,
            };
            if filter.consent_id.is_none() && filter.grantee.is_none() {
                bail!("give --consent ID, --to-org ORG or --to-user USER@ORG");
            }
            revoke(ctx, &actor, &patient, &filter).await
        }
        ConsentCmd::List { actor, patient } => {
            let pid = pseudonym(&patient)?;
            let client = connect(ctx, &actor).await?;
            let all = client.list_consents(&pid).await?;
            if actor.json {
                return output::json(&all);
            }
            for c in &all {
                let to = match &c.consent.grantee {
                    Grantee::Org { mspid } => mspid.as_str(),
                    Grantee::User { user } => user.as_str(),
                };
                println!(
                    "{}  {:<8} to {:<28} scope {:<30} expires {}",
                    c.consent.consent_id,
                    serde_json::to_value(c.status)?.as_str().unwrap_or("?"),
                    to,
                    serde_json::to_string(&c.consent.scope)?,
                    c.consent
                        .expires_at
                        .map_or_else(|| "never".to_owned(), |t| rfc3339(t.0)),
                );
            }
            output::step(format!("{} consent(s)", all.len()));
            Ok(())
        }
    }
}

async fn grant(ctx: &Context, a: GrantCliArgs) -> Result<()> {
    let Some(grantee) = grantee(ctx, a.to_org.as_deref(), a.to_user.as_deref())? else {
        bail!("give --to-org or --to-user");
    };
    let scope = match (&a.r#type, &a.record) {
        (Some(t), _) => Scope::Type {
            resource_type: ResourceType::parse(t)?,
        },
        (None, Some(r)) => Scope::Record {
            record_id: RecordId::parse(r)?,
        },
        (None, None) => Scope::All,
    };
    let args = GrantArgs {
        patient_id: pseudonym(&a.patient)?,
        grantee,
        scope,
        expires_at: a.expires.map(serde_json::Value::String),
    };
    let client = connect(ctx, &a.actor).await?;
    let granted = client.grant_consent(args).await?;
    let consent = &granted.consent;
    if a.actor.json {
        return output::json(&json!({
            "consent_id": consent.value.consent_id,
            "txid": consent.txid,
            "block": consent.block,
        }));
    }
    output::step(format!(
        "consent {} granted (block {}); the grantee reads through the home hospital's key custodian",
        consent.value.consent_id, consent.block
    ));
    println!("{}", consent.value.consent_id);
    Ok(())
}

async fn revoke(ctx: &Context, actor: &Actor, patient: &str, filter: &RevokeFilter) -> Result<()> {
    let pid = pseudonym(patient)?;
    let client = connect(ctx, actor).await?;
    let done = client.revoke_consents(&pid, filter).await?;
    let mut report = Vec::new();
    for c in &done.revoked {
        output::step(format!(
            "consent {} revoked (block {})",
            c.value.consent_id, c.block
        ));
        report.push(json!({"consent_id": c.value.consent_id, "txid": c.txid, "block": c.block}));
    }
    output::step(
        "in force from its commit: the custodian releases no key for a decision made after it",
    );
    if actor.json {
        output::json(&json!({ "revoked": report }))?;
    }
    Ok(())
}
