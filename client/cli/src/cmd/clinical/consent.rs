//! `healthblock consent grant|revoke|list`. A grant is recorded on the ledger
//! and then made usable: the granter opens each covered record version's data
//! key with its own wrap and adds a wrap for the grantee. A revocation is
//! recorded, then the grantee's wraps are deleted from the store and from the
//! ledger's wrap lists, except those another active consent still covers
//! (the same grantee's, or for a user their hospital's); the next
//! `record put` re-keys without the grantee. The ledger's wrap lists change
//! in one `update_wraps` transaction per [`WRAP_CHUNK`] versions.

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

/// Versions per `update_wraps` transaction (the contract takes 500).
pub const WRAP_CHUNK: usize = 200;

/// Every version of every record of the patient that one of `consents` covers.
async fn covered_versions(
    session: &Session<'_>,
    pid: &str,
    consents: &[&ConsentView],
) -> Result<Vec<Metadata>> {
    let records: Vec<Metadata> = all_pages(session, "list_records_by_patient", pid).await?;
    let mut versions = Vec::new();
    for head in records {
        if !consents
            .iter()
            .any(|c| c.covers(&head.record_id, &head.resource_type))
        {
            continue;
        }
        for v in 1..head.version {
            versions.push(version_of(session, &head.record_id, v).await?);
        }
        versions.push(head);
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
    let (shared, wrap_transactions) = share_with(&session, &pid, &consent).await?;
    if a.actor.json {
        return output::json(&json!({
            "consent_id": consent.consent_id,
            "txid": committed.txid,
            "block": committed.block,
            "wrapped_versions": shared,
            "wrap_transactions": wrap_transactions,
        }));
    }
    output::step(format!(
        "consent {} granted (block {}); data keys of {shared} record version(s) wrapped for the grantee",
        consent.consent_id, committed.block
    ));
    println!("{}", consent.consent_id);
    Ok(())
}

/// Adds a wrap for the grantee to every covered version the granter can
/// open, then records them all on the ledger in one transaction per
/// [`WRAP_CHUNK`] versions. Returns the versions wrapped and the transactions.
async fn share_with(
    session: &Session<'_>,
    pid: &str,
    consent: &ConsentView,
) -> Result<(usize, usize)> {
    let ctx = session.ctx;
    let grantee = consent.grantee_key(ctx)?;
    let name: WrapName = grantee.fingerprint().to_hex().parse()?;
    let mine = my_keys(session).await?;
    let store = open_store(ctx).await?;
    let mut changes = Vec::new();
    for meta in covered_versions(session, pid, &[consent]).await? {
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
        changes.push(json!({"record_id": meta.record_id, "version": meta.version,
            "add": [name.as_str()]}));
    }
    let transactions = submit_wrap_changes(session, &changes).await?;
    Ok((changes.len(), transactions))
}

/// Records wrap changes on the ledger, [`WRAP_CHUNK`] versions per
/// `update_wraps` transaction. All versions are one patient's, so every
/// transaction needs the same home hospital's endorsement.
pub async fn submit_wrap_changes(session: &Session<'_>, changes: &[Value]) -> Result<usize> {
    let mut transactions = 0;
    for chunk in changes.chunks(WRAP_CHUNK) {
        session
            .submit("update_wraps", &[Value::from(chunk.to_vec()).to_string()])
            .await?;
        transactions += 1;
    }
    Ok(transactions)
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
    let mut report = Vec::new();
    for consent in &targets {
        let (_, committed): (Value, _) = session
            .submit_json("revoke_consent", &[pid.clone(), consent.consent_id.clone()])
            .await?;
        output::step(format!(
            "consent {} revoked (block {})",
            consent.consent_id, committed.block
        ));
        report.push(
            json!({"consent_id": consent.consent_id, "txid": committed.txid,
            "block": committed.block}),
        );
    }
    let store = open_store(ctx).await?;
    let (removed, wrap_transactions) = unshare(&session, &store, &pid, &targets).await?;
    output::step(format!(
        "{removed} wrap(s) deleted; wraps still covered by another active consent kept"
    ));
    if actor.json {
        output::json(&json!({"revoked": report, "wraps_deleted": removed,
            "wrap_transactions": wrap_transactions}))?;
    }
    Ok(())
}

/// The grantees whose wraps a revocation may delete: the revoked consents'
/// grantees and, for a hospital, that hospital's users named in any of the
/// patient's consents (their wraps may have been kept only because the
/// hospital-wide consent covered them).
fn revocation_candidates(revoked: &[ConsentView], all: &[ConsentView]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut add = |g: &Value| {
        if !out.contains(g) {
            out.push(g.clone());
        }
    };
    for c in revoked {
        add(&c.grantee);
        if let Some(msp) = c.grantee["mspid"].as_str() {
            for other in all {
                if user_msp(&other.grantee) == Some(msp) {
                    add(&other.grantee);
                }
            }
        }
    }
    out
}

/// The MSP id of a user grantee (`CN@MSPID`).
fn user_msp(grantee: &Value) -> Option<&str> {
    grantee["user"]
        .as_str()?
        .rsplit_once('@')
        .map(|(_, msp)| msp)
}

/// True when an active consent still needs `grantee`'s wrap on this record:
/// one to the same grantee, or, for a user, one to the user's hospital.
fn still_needed(grantee: &Value, record_id: &str, rtype: &str, active: &[ConsentView]) -> bool {
    active.iter().any(|c| {
        c.covers(record_id, rtype)
            && (c.grantee == *grantee
                || (c.grantee["kind"] == "org"
                    && user_msp(grantee).is_some_and(|m| c.grantee["mspid"] == m)))
    })
}

/// Deletes the wraps the revoked consents no longer justify, in the store and
/// then on the ledger (batched); a wrap another active consent still covers
/// stays. Returns the wraps deleted and the ledger transactions.
async fn unshare(
    session: &Session<'_>,
    store: &dyn ObjectStore,
    pid: &str,
    revoked: &[ConsentView],
) -> Result<(usize, usize)> {
    let ctx = session.ctx;
    let all: Vec<ConsentView> = all_pages(session, "list_consents", pid).await?;
    let active: Vec<ConsentView> = all
        .iter()
        .filter(|c| c.status == "active")
        .cloned()
        .collect();
    let mut candidates = Vec::new();
    for grantee in revocation_candidates(revoked, &all) {
        let probe = ConsentView {
            consent_id: String::new(),
            grantee: grantee.clone(),
            scope: json!({"kind": "all"}),
            status: String::new(),
        };
        let key = probe.grantee_key(ctx)?;
        let name: WrapName = key.fingerprint().to_hex().parse()?;
        candidates.push((grantee, name));
    }
    let revoked_refs: Vec<&ConsentView> = revoked.iter().collect();
    let mut changes = Vec::new();
    let mut removed = 0;
    for meta in covered_versions(session, pid, &revoked_refs).await? {
        let hash = blob_hash(&meta.ciphertext_sha256)?;
        let mut names = Vec::new();
        for (grantee, name) in &candidates {
            if still_needed(grantee, &meta.record_id, &meta.resource_type, &active)
                || store.get_wrap(&hash, name).await.is_err()
            {
                continue;
            }
            store
                .delete_wrap(&hash, name)
                .await
                .map_err(|e| anyhow!("cannot delete wrap of {}: {e}", meta.record_id))?;
            names.push(name.as_str().to_owned());
        }
        if !names.is_empty() {
            removed += names.len();
            changes.push(json!({"record_id": meta.record_id, "version": meta.version,
                "remove": names}));
        }
    }
    let transactions = submit_wrap_changes(session, &changes).await?;
    Ok((removed, transactions))
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

    fn view(grantee: Value, scope: Value) -> ConsentView {
        ConsentView {
            consent_id: "c".into(),
            grantee,
            scope,
            status: "active".into(),
        }
    }

    #[test]
    fn an_overlapping_consent_keeps_the_wrap() {
        let h2 = json!({"kind": "org", "mspid": "Hospital2MSP"});
        let bob = json!({"kind": "user", "user": "bob@Hospital2MSP"});
        let eve = json!({"kind": "user", "user": "eve@Hospital3MSP"});
        let hospital_all = view(h2.clone(), json!({"kind": "all"}));
        let hospital_obs = view(
            h2.clone(),
            json!({"kind": "type", "resource_type": "Observation"}),
        );
        // Revoking the type consent: the hospital-wide one still covers both.
        let active = [hospital_all.clone()];
        assert!(still_needed(&h2, "r1", "Observation", &active));
        assert!(still_needed(&h2, "r2", "ImagingStudy", &active));
        // A user of the hospital is covered by the hospital's consent...
        assert!(still_needed(&bob, "r1", "Observation", &active));
        // ...a user of another hospital is not.
        assert!(!still_needed(&eve, "r1", "Observation", &active));
        // Only the type consent left: imaging is no longer covered.
        let active = [hospital_obs.clone()];
        assert!(still_needed(&h2, "r1", "Observation", &active));
        assert!(!still_needed(&h2, "r2", "ImagingStudy", &active));
        assert!(!still_needed(&h2, "r1", "Observation", &[]));
    }

    #[test]
    fn revoking_a_hospital_considers_its_users_wraps() {
        let h2 = json!({"kind": "org", "mspid": "Hospital2MSP"});
        let bob = json!({"kind": "user", "user": "bob@Hospital2MSP"});
        let eve = json!({"kind": "user", "user": "eve@Hospital3MSP"});
        let all = [
            view(h2.clone(), json!({"kind": "all"})),
            view(bob.clone(), json!({"kind": "all"})),
            view(eve.clone(), json!({"kind": "all"})),
        ];
        let candidates = revocation_candidates(&all[..1], &all);
        assert_eq!(candidates, vec![h2, bob.clone()]);
        assert_eq!(revocation_candidates(&all[1..2], &all), vec![bob]);
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
