//! Owns: the home hospital's break-glass custodian duties. Every version of
//! a hospital's patients' records is wrapped for the hospital's key at
//! `put_record`, so its administrator can always open the data key; a
//! custodian pass uses that to
//!
//! 1. deliver: for each break-glass in force, seal every version's data key
//!    for the doctor's public key, record the delivery (`fulfil_break_glass`,
//!    audited and flagged) in chunks of [`CHUNK`] versions and, only once a
//!    chunk's record has committed, store its wraps beside the blobs; a later
//!    pass also covers versions written since. Keys are released only while
//!    the event is active: the contract refuses to record a delivery for an
//!    expired or reviewed break-glass, and a refused (or failed) record
//!    stores nothing, so no wrap reaches the store without a committed,
//!    audited delivery made while the break-glass was in force;
//! 2. withdraw: for each break-glass that expired or was reviewed, close it
//!    on the ledger (`close_break_glass`), then delete the wraps the
//!    contract withdrew (it keeps those an active consent to the doctor
//!    still covers).
//!
//! Each pass is idempotent; run it on a timer or by hand.

use std::collections::BTreeSet;

use healthblock_ehr_types::args::FulfilArgs;
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{BreakGlassGrant, KeyFingerprint, PatientId, VersionRef};
use healthblock_ehr_types::results::{BreakGlassStatus, Closure, OpenBreakGlass};
use healthblock_store::StoreError;
use wbcb::{KeyWrap, RecordContext};

use crate::blobs;
use crate::client::Client;
use crate::contract::{json_arg, Committed};
use crate::error::{Result, SdkError};
use crate::keys::KeyOwner;

/// Versions per `fulfil_break_glass` transaction (the contract takes 500).
pub const CHUNK: usize = 200;

/// What a custodian did for one break-glass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustodianAction {
    /// Wraps delivered to the doctor of a break-glass in force.
    Delivered {
        /// Versions newly wrapped for the doctor.
        versions: Vec<VersionRef>,
        /// Versions the hospital holds no wrap of (cannot be delivered).
        skipped: Vec<VersionRef>,
        /// The `fulfil_break_glass` transactions (none when nothing was new).
        txids: Vec<String>,
    },
    /// An expired or reviewed break-glass closed and its wraps withdrawn.
    Withdrawn {
        /// The contract's closure (versions withdrawn and kept).
        closure: Closure,
        /// The `close_break_glass` transaction.
        txid: String,
    },
}

/// One break-glass handled by a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The break-glass.
    pub break_glass_id: String,
    /// Whose records.
    pub patient_id: PatientId,
    /// The doctor who opened it (`CN@MSPID`).
    pub doctor: String,
    /// Its status when the pass found it.
    pub status: BreakGlassStatus,
    /// What the pass did.
    pub action: CustodianAction,
}

/// One break-glass a pass could not handle; the others still were.
#[derive(Debug)]
pub struct Unhandled {
    /// The break-glass.
    pub break_glass_id: String,
    /// Why.
    pub error: SdkError,
}

/// What one custodian pass did.
#[derive(Debug, Default)]
pub struct CustodianPass {
    /// Break-glass events handled.
    pub handled: Vec<Handled>,
    /// Break-glass events that failed (say, a doctor without a published key).
    pub failures: Vec<Unhandled>,
}

impl Client {
    /// The caller's hospital's break-glass events not yet closed
    /// (administrators only).
    pub async fn open_break_glass(&self) -> Result<Vec<OpenBreakGlass>> {
        self.contract.all_pages(f::LIST_OPEN_BREAK_GLASS, &[]).await
    }

    /// One custodian pass as the caller (an administrator of the home
    /// hospital): delivers keys for every break-glass in force and
    /// withdraws them for every one expired or reviewed. One event's
    /// failure does not hold up the others.
    pub async fn custodian_pass(&self) -> Result<CustodianPass> {
        let mut pass = CustodianPass::default();
        for item in self.open_break_glass().await? {
            let outcome = match item.status {
                BreakGlassStatus::Active => self.deliver_break_glass_keys(&item).await,
                BreakGlassStatus::Expired | BreakGlassStatus::Reviewed => {
                    self.withdraw_break_glass_keys(&item).await
                }
            };
            match outcome {
                Ok(action) => pass.handled.push(Handled {
                    break_glass_id: item.event.break_glass_id.clone(),
                    patient_id: item.event.patient_id.clone(),
                    doctor: item.event.opened_by.user.clone(),
                    status: item.status,
                    action,
                }),
                Err(error) => pass.failures.push(Unhandled {
                    break_glass_id: item.event.break_glass_id.clone(),
                    error,
                }),
            }
        }
        Ok(pass)
    }

    /// Seals the data keys of the versions not yet delivered for the doctor
    /// of a break-glass in force, and records them.
    pub async fn deliver_break_glass_keys(&self, item: &OpenBreakGlass) -> Result<CustodianAction> {
        let event = &item.event;
        let pid = &event.patient_id;
        let doctor_key = self
            .published_key(KeyOwner::User(&event.opened_by.user))
            .await?;
        let fingerprint: KeyFingerprint = blobs::fingerprint_of(&doctor_key)?;
        let name = blobs::wrap_name(&fingerprint)?;
        let delivered: BTreeSet<&VersionRef> = item
            .grant
            .iter()
            .flat_map(|g: &BreakGlassGrant| g.versions.iter())
            .collect();
        let mine = self.my_keys().await?;
        let store = self.store.as_ref();
        // Sealed in memory first; stored only after the ledger recorded them.
        let mut sealed = Vec::new();
        let mut skipped = Vec::new();
        for meta in self.versions_of_patient(pid).await? {
            let at = VersionRef {
                record_id: meta.record_id.clone(),
                version: meta.version,
            };
            if delivered.contains(&at) {
                continue;
            }
            let hash = blobs::blob_hash(&meta.ciphertext_sha256)?;
            let context =
                RecordContext::new(meta.record_id.to_string(), meta.version, pid.to_string())
                    .map_err(|e| SdkError::crypto(format!("record {}", meta.record_id), e))?;
            // A version without the hospital's wrap (written by another
            // client) cannot be delivered; the others still are.
            let Some(key) = blobs::open_data_key(store, &hash, &context, &mine).await? else {
                skipped.push(at);
                continue;
            };
            let wrap = KeyWrap::seal(&key, &context, &doctor_key)
                .map_err(|e| SdkError::crypto(format!("sealing the data key of {context}"), e))?;
            sealed.push((at, hash, context, wrap.to_bytes()));
        }
        let mut versions = Vec::new();
        let mut txids = Vec::new();
        for chunk in sealed.chunks(CHUNK) {
            let args = FulfilArgs {
                patient_id: pid.clone(),
                break_glass_id: event.break_glass_id.clone(),
                key_fingerprint: fingerprint.clone(),
                versions: chunk.iter().map(|(at, ..)| at.clone()).collect(),
            };
            // The contract records a delivery only while the break-glass is
            // in force; a refusal (expired or reviewed since the listing)
            // ends the delivery before any wrap of this chunk is stored.
            let committed: Committed<BreakGlassGrant> = self
                .contract
                .submit(
                    f::FULFIL_BREAK_GLASS,
                    &[json_arg(f::FULFIL_BREAK_GLASS, &args)?],
                )
                .await?;
            for (at, hash, context, wrap) in chunk {
                store
                    .put_wrap(hash, &name, wrap)
                    .await
                    .map_err(|e| SdkError::store(format!("storing a wrap of {context}"), e))?;
                versions.push(at.clone());
            }
            txids.push(committed.txid);
        }
        Ok(CustodianAction::Delivered {
            versions,
            skipped,
            txids,
        })
    }

    /// Closes an expired or reviewed break-glass and deletes the wraps the
    /// contract withdrew.
    pub async fn withdraw_break_glass_keys(
        &self,
        item: &OpenBreakGlass,
    ) -> Result<CustodianAction> {
        let event = &item.event;
        let closed: Committed<Closure> = self
            .contract
            .submit(
                f::CLOSE_BREAK_GLASS,
                &[event.patient_id.to_string(), event.break_glass_id.clone()],
            )
            .await?;
        if let Some(fingerprint) = &closed.value.key_fingerprint {
            let name = blobs::wrap_name(fingerprint)?;
            for at in &closed.value.removed {
                let meta = self.get_record(&at.record_id, Some(at.version)).await?;
                let hash = blobs::blob_hash(&meta.ciphertext_sha256)?;
                match self.store.delete_wrap(&hash, &name).await {
                    // Already gone is fine: the pass may be re-run after a failure.
                    Ok(()) | Err(StoreError::WrapNotFound { .. }) => {}
                    Err(e) => {
                        return Err(SdkError::store(
                            format!("deleting a wrap of {} v{}", at.record_id, at.version),
                            e,
                        ))
                    }
                }
            }
        }
        Ok(CustodianAction::Withdrawn {
            closure: closed.value,
            txid: closed.txid,
        })
    }
}
