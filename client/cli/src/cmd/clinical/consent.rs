//! `healthblock consent grant|revoke|list`. A grant is recorded on the ledger
//! and then made usable: the granter opens each covered record version's data
//! key with its own wrap and adds a wrap for the grantee. A revocation is
//! recorded, then the grantee's wraps are deleted from the store and from the
//! ledger's wrap lists; the next `record put` re-keys without the grantee.

use anyhow::{anyhow, bail, Result};
use clap::Subcommand;
use healthblock_store::{ObjectStore, WrapName};
use serde::Deserialize;
use serde_json::{json, Value};
use wbcb::{EncryptionPublicKey, KeyWrap, RecordContext};

use super::record::{my_keys, open_data_key, version_of, Metadata};
use super::{all_pages, blob_hash, check_pseudonym, keys, open_store, Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub enum ConsentCmd {
    /// Grant a hospital or a user access to a patient's records.
    Grant(GrantArgs),
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
pub struct GrantArgs {
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

/// A consent as `list_consents` returns it.
#[derive(Deserialize, Debug, Clone)]
pub struct ConsentView {
    pub consent_id: String,
    pub grantee: Value,
    pub scope: Value,
    /// Absent in `grant_consent`'s answer (the stored consent).
    #[serde(default)]
    pub status: String,
}

impl ConsentView {
    /// True when the consent covers a record of this id and type.
    pub fn covers(&self, record_id: &str, rtype: &str) -> bool {
        match self.scope["kind"].as_str() {
            Some("all") => true,
            Some("type") => self.scope["resource_type"] == rtype,
            Some("record") => self.scope["record_id"] == record_id,
            _ => false,
        }
    }

    /// The public key a wrap for the grantee is sealed to.
    pub fn grantee_key(&self, ctx: &Context) -> Result<EncryptionPublicKey> {
        match (
            self.grantee["kind"].as_str(),
            self.grantee["mspid"].as_str(),
            self.grantee["user"].as_str(),
        ) {
            (Some("org"), Some(msp), _) => Ok(keys::hospital_key(ctx, msp)?.public_key().clone()),
            (Some("user"), _, Some(user)) => {
                keys::user_public(ctx, &keys::who_of_principal(ctx, user)?)
            }
            _ => bail!("consent {} has an unknown grantee", self.consent_id),
        }
    }
}

/// The consents of a patient that are in force.
pub async fn active_consents(session: &Session<'_>, pid: &str) -> Result<Vec<ConsentView>> {
    let all: Vec<ConsentView> = all_pages(session, "list_consents", pid).await?;
    Ok(all.into_iter().filter(|c| c.status == "active").collect())
}

pub async fn run(ctx: &Context, cmd: ConsentCmd) -> Result<()> {
    match cmd {
        ConsentCmd::Grant(a) => grant(ctx, a).await,
        ConsentCmd::Revoke {
            actor,
            patient,
            consent,
            to_org,
            to_user,
        } => {
            let grantee = match (to_org, to_user) {
                (Some(o), _) => Some(org_grantee(ctx, &o)?),
                (None, Some(u)) => Some(user_grantee(ctx, &u)?),
                (None, None) => None,
            };
            if consent.is_none() && grantee.is_none() {
                bail!("give --consent ID, --to-org ORG or --to-user USER@ORG");
            }
            revoke(ctx, &actor, &patient, consent.as_deref(), grantee.as_ref()).await
        }
        ConsentCmd::List { actor, patient } => {
            let session = Session::open(ctx, &actor).await?;
            let pid = check_pseudonym(&patient)?;
            let all: Vec<Value> = all_pages(&session, "list_consents", &pid).await?;
            if actor.json {
                return output::json(&all);
            }
            for c in &all {
                println!(
                    "{}  {:<8} to {:<28} scope {:<30} expires {}",
                    c["consent_id"].as_str().unwrap_or("?"),
                    c["status"].as_str().unwrap_or("?"),
                    c["grantee"]["mspid"]
                        .as_str()
                        .or(c["grantee"]["user"].as_str())
                        .unwrap_or("?"),
                    c["scope"].to_string(),
                    c["expires_at"]["rfc3339"].as_str().unwrap_or("never"),
                );
            }
            output::step(format!("{} consent(s)", all.len()));
            Ok(())
        }
    }
}

fn org_grantee(ctx: &Context, org: &str) -> Result<Value> {
    Ok(json!({"kind": "org", "mspid": ctx.org(org)?.mspid}))
}

fn user_grantee(ctx: &Context, who: &str) -> Result<Value> {
    let (user, org) = super::split_who(who)?;
    Ok(json!({"kind": "user", "user": format!("{user}@{}", ctx.org(org)?.mspid)}))
}

/// Every version of every record of the patient that `covers` selects.
async fn covered_versions(
    session: &Session<'_>,
    pid: &str,
    consent: &ConsentView,
) -> Result<Vec<Metadata>> {
    let records: Vec<Metadata> = all_pages(session, "list_records_by_patient", pid).await?;
    let mut versions = Vec::new();
    for head in records {
        if !consent.covers(&head.record_id, &head.resource_type) {
            continue;
        }
        for v in 1..=head.version {
            versions.push(version_of(session, &head.record_id, v).await?);
        }
    }
    Ok(versions)
}

async fn grant(ctx: &Context, a: GrantArgs) -> Result<()> {
    let pid = check_pseudonym(&a.patient)?;
    let grantee = match (&a.to_org, &a.to_user) {
        (Some(o), _) => org_grantee(ctx, o)?,
        (None, Some(u)) => user_grantee(ctx, u)?,
        (None, None) => bail!("give --to-org or --to-user"),
    };
    let scope = match (&a.r#type, &a.record) {
        (Some(t), _) => json!({"kind": "type", "resource_type": t}),
        (None, Some(r)) => json!({"kind": "record", "record_id": r}),
        (None, None) => json!({"kind": "all"}),
    };
    let mut args = json!({"patient_id": pid, "grantee": grantee, "scope": scope});
    if let Some(e) = &a.expires {
        args["expires_at"] = json!(e);
    }
    let session = Session::open(ctx, &a.actor).await?;
    let (consent, committed): (ConsentView, _) = session
        .submit_json("grant_consent", &[args.to_string()])
        .await?;
    let shared = share_with(&session, &pid, &consent).await?;
    if a.actor.json {
        return output::json(&json!({
            "consent_id": consent.consent_id,
            "txid": committed.txid,
            "block": committed.block,
            "wrapped_versions": shared,
        }));
    }
    output::step(format!(
        "consent {} granted (block {}); data keys of {shared} record version(s) wrapped for the grantee",
        consent.consent_id, committed.block
    ));
    println!("{}", consent.consent_id);
    Ok(())
}

/// Adds a wrap for the grantee to every covered version the granter can open.
async fn share_with(session: &Session<'_>, pid: &str, consent: &ConsentView) -> Result<usize> {
    let ctx = session.ctx;
    let grantee = consent.grantee_key(ctx)?;
    let name: WrapName = grantee.fingerprint().to_hex().parse()?;
    let mine = my_keys(session).await?;
    let store = open_store(ctx).await?;
    let mut shared = 0;
    for meta in covered_versions(session, pid, consent).await? {
        let hash = blob_hash(&meta.ciphertext_sha256)?;
        let context = RecordContext::new(meta.record_id.clone(), meta.version, pid.to_owned())?;
        let Some(key) = open_data_key(&store, &hash, &context, &mine).await? else {
            output::step(format!(
                "warning: cannot share {} v{}: you hold no wrap for it",
                meta.record_id, meta.version
            ));
            continue;
        };
        let wrap = KeyWrap::seal(&key, &context, &grantee)?;
        store.put_wrap(&hash, &name, &wrap.to_bytes()).await?;
        update_wraps(session, &meta, "add", name.as_str()).await?;
        shared += 1;
    }
    Ok(shared)
}

async fn update_wraps(session: &Session<'_>, meta: &Metadata, op: &str, fp: &str) -> Result<()> {
    let args = json!({"record_id": meta.record_id, "version": meta.version, op: [fp]});
    session.submit("update_wraps", &[args.to_string()]).await?;
    Ok(())
}

async fn revoke(
    ctx: &Context,
    actor: &Actor,
    patient: &str,
    consent_id: Option<&str>,
    grantee: Option<&Value>,
) -> Result<()> {
    let pid = check_pseudonym(patient)?;
    let session = Session::open(ctx, actor).await?;
    let targets: Vec<ConsentView> = active_consents(&session, &pid)
        .await?
        .into_iter()
        .filter(|c| consent_id.is_none_or(|id| c.consent_id == id))
        .filter(|c| grantee.is_none_or(|g| c.grantee == *g))
        .collect();
    if targets.is_empty() {
        bail!("no active consent of patient {pid} matches");
    }
    let store = open_store(ctx).await?;
    let mut report = Vec::new();
    for consent in &targets {
        let (_, committed): (Value, _) = session
            .submit_json("revoke_consent", &[pid.clone(), consent.consent_id.clone()])
            .await?;
        let removed = unshare(&session, &store, &pid, consent).await?;
        output::step(format!(
            "consent {} revoked (block {}); {removed} wrap(s) deleted",
            consent.consent_id, committed.block
        ));
        report.push(
            json!({"consent_id": consent.consent_id, "txid": committed.txid,
            "block": committed.block, "wraps_deleted": removed}),
        );
    }
    if actor.json {
        output::json(&report)?;
    }
    Ok(())
}

/// Deletes the grantee's wraps of every covered version, in the store and on
/// the ledger.
async fn unshare(
    session: &Session<'_>,
    store: &dyn ObjectStore,
    pid: &str,
    consent: &ConsentView,
) -> Result<usize> {
    let grantee = consent.grantee_key(session.ctx)?;
    let name: WrapName = grantee.fingerprint().to_hex().parse()?;
    let mut removed = 0;
    for meta in covered_versions(session, pid, consent).await? {
        let hash = blob_hash(&meta.ciphertext_sha256)?;
        if store.get_wrap(&hash, &name).await.is_err() {
            continue;
        }
        store
            .delete_wrap(&hash, &name)
            .await
            .map_err(|e| anyhow!("cannot delete wrap of {}: {e}", meta.record_id))?;
        update_wraps(session, &meta, "remove", name.as_str()).await?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(scope: Value) -> ConsentView {
        ConsentView {
            consent_id: "c1".into(),
            grantee: json!({"kind": "org", "mspid": "Hospital2MSP"}),
            scope,
            status: "active".into(),
        }
    }

    #[test]
    fn scopes_cover_the_right_records() {
        assert!(consent(json!({"kind": "all"})).covers("r1", "Observation"));
        let by_type = consent(json!({"kind": "type", "resource_type": "Observation"}));
        assert!(by_type.covers("r1", "Observation"));
        assert!(!by_type.covers("r1", "ImagingStudy"));
        let by_record = consent(json!({"kind": "record", "record_id": "r1"}));
        assert!(by_record.covers("r1", "ImagingStudy"));
        assert!(!by_record.covers("r2", "ImagingStudy"));
        assert!(!consent(json!({"kind": "bogus"})).covers("r1", "Observation"));
    }
}
