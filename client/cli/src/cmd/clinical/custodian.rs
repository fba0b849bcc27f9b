//! The home hospital's break-glass custodian pass (`healthblock breakglass
//! fulfil --as Admin@Hospital1`). Every record version of a hospital's
//! patients is wrapped for the hospital's key at `record put`, so the
//! hospital can always open a data key; the pass uses that to
//!
//! 1. deliver: for each break-glass of its patients in force, seal every
//!    version's data key for the doctor's public key (found where the CLI
//!    finds every grantee's key, the wallet), store the wraps beside the
//!    blobs and record them on the ledger (`fulfil_break_glass`, audited and
//!    flagged), in chunks of [`CHUNK`] versions per transaction; a later pass
//!    also covers versions written since;
//! 2. withdraw: for each break-glass that expired or was reviewed, close it
//!    on the ledger (`close_break_glass`), then delete the wraps the
//!    contract withdrew (it keeps those an active consent to the doctor
//!    still covers).
//!
//! Run it on a timer (cron) or by hand; each pass is idempotent.

use std::collections::BTreeSet;

use anyhow::{anyhow, Result};
use healthblock_store::{ObjectStore, WrapName};
use serde::Deserialize;
use serde_json::json;
use wbcb::{KeyWrap, RecordContext};

use super::record::{my_keys, open_data_key, version_of, Metadata};
use super::{all_pages, blob_hash, keys, open_store, Actor, Page, Session};
use crate::context::Context;
use crate::output;

/// Versions per `fulfil_break_glass` transaction (the contract takes 500).
pub const CHUNK: usize = 200;

/// One version, as the contract names it.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct VersionRef {
    record_id: String,
    version: u64,
}

#[derive(Deserialize, Debug)]
struct Principal {
    user: String,
}

#[derive(Deserialize, Debug)]
struct Event {
    break_glass_id: String,
    patient_id: String,
    opened_by: Principal,
}

#[derive(Deserialize, Debug)]
struct Grant {
    versions: Vec<VersionRef>,
}

/// An entry of `list_open_break_glass`.
#[derive(Deserialize, Debug)]
struct OpenBreakGlass {
    event: Event,
    status: String,
    grant: Option<Grant>,
}

#[derive(Deserialize, Debug)]
struct Closure {
    key_fingerprint: Option<String>,
    removed: Vec<VersionRef>,
    kept: Vec<VersionRef>,
}

/// What one pass did to one break-glass.
#[derive(serde::Serialize, Debug)]
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

/// Runs one custodian pass as `actor` (an administrator of the home hospital).
pub async fn run(ctx: &Context, actor: &Actor) -> Result<()> {
    let session = Session::open(ctx, actor).await?;
    let open = open_list(&session).await?;
    let mut done = Vec::new();
    // One event's failure (say, a doctor without a published key) must not
    // hold up the others: report it and go on.
    let mut failures = Vec::new();
    for item in open {
        let outcome = match item.status.as_str() {
            "active" => deliver(&session, &item).await,
            _ => withdraw(&session, &item).await,
        };
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                let msg = format!("break-glass {}: {e:#}", item.event.break_glass_id);
                output::step(format!("error: {msg}"));
                failures.push(msg);
                continue;
            }
        };
        if !actor.json {
            output::step(format!(
                "break-glass {} of {} ({}): {} {} version(s){}",
                outcome.break_glass_id,
                outcome.doctor,
                item.status,
                outcome.action,
                outcome.versions,
                match outcome.skipped {
                    0 => String::new(),
                    n => format!("; {n} version(s) without this hospital's wrap skipped"),
                }
            ));
        }
        done.push(outcome);
    }
    if actor.json {
        output::json(&done)?;
    } else {
        output::step(format!(
            "custodian pass done: {} break-glass event(s) handled",
            done.len()
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

async fn open_list(session: &Session<'_>) -> Result<Vec<OpenBreakGlass>> {
    let mut items = Vec::new();
    let mut bookmark = String::new();
    loop {
        let page: Page<OpenBreakGlass> = session
            .evaluate_json("list_open_break_glass", &[super::PAGE.into(), bookmark])
            .await?;
        let last = page.items.is_empty() || page.bookmark.is_empty();
        items.extend(page.items);
        if last {
            return Ok(items);
        }
        bookmark = page.bookmark;
    }
}

/// Every version of every record of the patient (the custodian is home staff).
async fn all_versions(session: &Session<'_>, pid: &str) -> Result<Vec<Metadata>> {
    let heads: Vec<Metadata> = all_pages(session, "list_records_by_patient", pid).await?;
    let mut versions = Vec::new();
    for head in heads {
        for v in 1..=head.version {
            versions.push(if v == head.version {
                head.clone()
            } else {
                version_of(session, &head.record_id, v).await?
            });
        }
    }
    Ok(versions)
}

/// Seals the data keys of the versions not yet delivered for the doctor.
async fn deliver(session: &Session<'_>, item: &OpenBreakGlass) -> Result<Done> {
    let ctx = session.ctx;
    let event = &item.event;
    let pid = event.patient_id.as_str();
    let doctor = keys::who_of_principal(ctx, &event.opened_by.user)?;
    let doctor_key = keys::user_public(ctx, &doctor)?;
    let name: WrapName = doctor_key.fingerprint().to_hex().parse()?;
    let delivered: BTreeSet<VersionRef> = item
        .grant
        .as_ref()
        .map(|g| g.versions.iter().cloned().collect())
        .unwrap_or_default();
    let mine = my_keys(session).await?;
    let store = open_store(ctx).await?;
    let mut wrapped = Vec::new();
    let mut skipped = 0;
    for meta in all_versions(session, pid).await? {
        let at = VersionRef {
            record_id: meta.record_id.clone(),
            version: meta.version,
        };
        if delivered.contains(&at) {
            continue;
        }
        let hash = blob_hash(&meta.ciphertext_sha256)?;
        let context = RecordContext::new(meta.record_id.clone(), meta.version, pid.to_owned())?;
        // A version without the hospital's wrap (written by another client)
        // cannot be delivered; the others still are.
        let Some(key) = open_data_key(&store, &hash, &context, &mine)
            .await
            .ok()
            .flatten()
        else {
            skipped += 1;
            continue;
        };
        let wrap = KeyWrap::seal(&key, &context, &doctor_key)?;
        store.put_wrap(&hash, &name, &wrap.to_bytes()).await?;
        wrapped.push(json!({"record_id": at.record_id, "version": at.version}));
    }
    let mut txids = Vec::new();
    for chunk in wrapped.chunks(CHUNK) {
        let args = json!({
            "patient_id": pid,
            "break_glass_id": event.break_glass_id,
            "key_fingerprint": name.as_str(),
            "versions": chunk,
        });
        let committed = session
            .submit("fulfil_break_glass", &[args.to_string()])
            .await?;
        txids.push(committed.txid);
    }
    Ok(Done {
        break_glass_id: event.break_glass_id.clone(),
        patient_id: pid.to_owned(),
        doctor,
        action: "delivered keys of",
        versions: wrapped.len(),
        kept: 0,
        skipped,
        txids,
    })
}

/// Closes an expired or reviewed break-glass and deletes the withdrawn wraps.
async fn withdraw(session: &Session<'_>, item: &OpenBreakGlass) -> Result<Done> {
    let ctx = session.ctx;
    let event = &item.event;
    let pid = event.patient_id.as_str();
    let (closure, committed): (Closure, _) = session
        .submit_json(
            "close_break_glass",
            &[pid.to_owned(), event.break_glass_id.clone()],
        )
        .await?;
    if let Some(fingerprint) = &closure.key_fingerprint {
        let name: WrapName = fingerprint.parse()?;
        let store = open_store(ctx).await?;
        for at in &closure.removed {
            let meta = version_of(session, &at.record_id, at.version).await?;
            let hash = blob_hash(&meta.ciphertext_sha256)?;
            // Already gone is fine: the pass may be re-run after a failure.
            if store.get_wrap(&hash, &name).await.is_ok() {
                store
                    .delete_wrap(&hash, &name)
                    .await
                    .map_err(|e| anyhow!("cannot delete wrap of {}: {e}", at.record_id))?;
            }
        }
    }
    Ok(Done {
        break_glass_id: event.break_glass_id.clone(),
        patient_id: pid.to_owned(),
        doctor: keys::who_of_principal(ctx, &event.opened_by.user)
            .unwrap_or_else(|_| event.opened_by.user.clone()),
        action: "closed; withdrew wraps of",
        versions: closure.removed.len(),
        kept: closure.kept.len(),
        skipped: 0,
        txids: vec![committed.txid],
    })
}
