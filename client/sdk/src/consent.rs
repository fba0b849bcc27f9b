//! Owns: consent with its key custody. A grant is recorded on the ledger and
//! then made usable: the granter opens each covered version's data key with
//! one of its wraps and adds a wrap for the grantee. A revocation is
//! recorded, then the grantee's wraps are deleted from the store and from
//! the ledger's wrap lists, except those another active consent still
//! justifies (the rules of `healthblock_ehr_types::consent`); the next
//! `put_record` re-keys without the grantee. Wrap lists change in one
//! `update_wraps` transaction per [`WRAP_CHUNK`] versions.

use healthblock_ehr_types::args::{GrantArgs, WrapArgs};
use healthblock_ehr_types::consent::{revocation_candidates, still_needed, ConsentStatus};
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{
    Consent, Grantee, KeyFingerprint, PatientId, RecordMetadata, VersionRef,
};
use healthblock_ehr_types::results::{BatchResult, ConsentView};
use healthblock_store::StoreError;
use wbcb::{EncryptionPublicKey, KeyWrap, RecordContext};

use crate::blobs;
use crate::client::Client;
use crate::contract::{json_arg, Committed};
use crate::error::{Result, SdkError};
use crate::keydir::directory_owner;
use crate::keys::KeyOwner;

/// Versions per `update_wraps` transaction (the contract takes up to 500).
pub const WRAP_CHUNK: usize = 200;

/// What granting a consent did.
#[derive(Debug, Clone)]
pub struct ConsentGrant {
    /// The consent as stored.
    pub consent: Committed<Consent>,
    /// Versions whose data key was wrapped for the grantee.
    pub wrapped: Vec<VersionRef>,
    /// Covered versions the granter holds no wrap of (not shared).
    pub unshareable: Vec<VersionRef>,
    /// `update_wraps` transactions that recorded the new wraps.
    pub wrap_transactions: usize,
}

/// Which active consents a revocation ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevokeFilter {
    /// Only this consent.
    pub consent_id: Option<String>,
    /// Only consents to this grantee.
    pub grantee: Option<Grantee>,
}

/// What revoking did.
#[derive(Debug, Clone)]
pub struct ConsentRevocation {
    /// The revoked consents as stored.
    pub revoked: Vec<Committed<Consent>>,
    /// Wraps deleted from the store and the ledger's wrap lists.
    pub wraps_deleted: usize,
    /// `update_wraps` transactions that recorded the deletions.
    pub wrap_transactions: usize,
}

fn version_ref(meta: &RecordMetadata) -> VersionRef {
    VersionRef {
        record_id: meta.record_id.clone(),
        version: meta.version,
    }
}

impl Client {
    /// The public key a wrap for a consent's grantee is sealed to.
    /// (the key the grantee published in the key directory).
    pub async fn grantee_key(&self, grantee: &Grantee) -> Result<EncryptionPublicKey> {
        let owner = match grantee {
            Grantee::Org { mspid } => KeyOwner::Hospital(mspid),
            Grantee::User { user } => KeyOwner::User(user),
        };
        self.published_key(owner).await
    }

    /// Every consent of a patient, with its status now.
    pub async fn list_consents(&self, pid: &PatientId) -> Result<Vec<ConsentView>> {
        self.contract
            .all_pages(f::LIST_CONSENTS, &[pid.to_string()])
            .await
    }

    /// The consents of a patient that are in force.
    pub async fn active_consents(&self, pid: &PatientId) -> Result<Vec<ConsentView>> {
        let all = self.list_consents(pid).await?;
        Ok(all
            .into_iter()
            .filter(|c| c.status == ConsentStatus::Active)
            .collect())
    }

    /// Records wrap changes on the ledger, [`WRAP_CHUNK`] versions per
    /// `update_wraps` transaction. Returns the transactions.
    pub async fn update_wraps(&self, changes: &[WrapArgs]) -> Result<usize> {
        let mut transactions = 0;
        for chunk in changes.chunks(WRAP_CHUNK) {
            let _: Committed<BatchResult> = self
                .contract
                .submit(f::UPDATE_WRAPS, &[json_arg(f::UPDATE_WRAPS, &chunk)?])
                .await?;
            transactions += 1;
        }
        Ok(transactions)
    }

    /// Every version of the patient's records one of `consents` covers.
    async fn covered_versions(
        &self,
        pid: &PatientId,
        consents: &[&Consent],
    ) -> Result<Vec<RecordMetadata>> {
        let mut versions = Vec::new();
        for head in self.records_of_patient(pid).await? {
            let covered = consents
                .iter()
                .any(|c| c.scope.covers(&head.record_id, &head.resource_type));
            if !covered {
                continue;
            }
            for v in 1..head.version {
                versions.push(self.get_record(&head.record_id, Some(v)).await?);
            }
            versions.push(head);
        }
        Ok(versions)
    }

    /// Grants a consent, then wraps every covered version the caller can
    /// open for the grantee and records the wraps on the ledger.
    pub async fn grant_consent(&self, args: GrantArgs) -> Result<ConsentGrant> {
        let pid = args.patient_id.clone();
        // The grantee's published key first: a grantee without one would
        // hold a consent no wrap can serve, so nothing is recorded then.
        let grantee = self.grantee_key(&args.grantee).await?;
        let consent: Committed<Consent> = self
            .contract
            .submit(f::GRANT_CONSENT, &[json_arg(f::GRANT_CONSENT, &args)?])
            .await?;
        let fingerprint = blobs::fingerprint_of(&grantee)?;
        let name = blobs::wrap_name(&fingerprint)?;
        let mine = self.my_keys().await?;
        let store = self.store.as_ref();
        let mut wrapped = Vec::new();
        let mut unshareable = Vec::new();
        for meta in self.covered_versions(&pid, &[&consent.value]).await? {
            let hash = blobs::blob_hash(&meta.ciphertext_sha256)?;
            let context =
                RecordContext::new(meta.record_id.to_string(), meta.version, pid.to_string())
                    .map_err(|e| SdkError::crypto(format!("record {}", meta.record_id), e))?;
            let Some(key) = blobs::open_data_key(store, &hash, &context, &mine).await? else {
                unshareable.push(version_ref(&meta));
                continue;
            };
            let wrap = KeyWrap::seal(&key, &context, &grantee)
                .map_err(|e| SdkError::crypto(format!("sealing the data key of {context}"), e))?;
            store
                .put_wrap(&hash, &name, &wrap.to_bytes())
                .await
                .map_err(|e| SdkError::store(format!("storing a wrap of {context}"), e))?;
            wrapped.push(version_ref(&meta));
        }
        let changes: Vec<WrapArgs> = wrapped
            .iter()
            .map(|v| WrapArgs {
                record_id: v.record_id.clone(),
                version: v.version,
                add: vec![fingerprint.clone()],
                remove: Vec::new(),
            })
            .collect();
        let wrap_transactions = self.update_wraps(&changes).await?;
        Ok(ConsentGrant {
            consent,
            wrapped,
            unshareable,
            wrap_transactions,
        })
    }

    /// Revokes the patient's active consents matching `filter`, then
    /// deletes the wraps they no longer justify, in the store and on the
    /// ledger. Fails with [`SdkError::NoMatchingConsent`] when none matches.
    pub async fn revoke_consents(
        &self,
        pid: &PatientId,
        filter: &RevokeFilter,
    ) -> Result<ConsentRevocation> {
        let targets: Vec<ConsentView> = self
            .active_consents(pid)
            .await?
            .into_iter()
            .filter(|c| {
                filter
                    .consent_id
                    .as_ref()
                    .is_none_or(|id| c.consent.consent_id == *id)
            })
            .filter(|c| {
                filter
                    .grantee
                    .as_ref()
                    .is_none_or(|g| c.consent.grantee == *g)
            })
            .collect();
        if targets.is_empty() {
            return Err(SdkError::NoMatchingConsent(pid.to_string()));
        }
        let mut revoked = Vec::with_capacity(targets.len());
        for view in &targets {
            revoked.push(
                self.contract
                    .submit(
                        f::REVOKE_CONSENT,
                        &[pid.to_string(), view.consent.consent_id.clone()],
                    )
                    .await?,
            );
        }
        let (wraps_deleted, wrap_transactions) = self.unshare(pid, &targets).await?;
        Ok(ConsentRevocation {
            revoked,
            wraps_deleted,
            wrap_transactions,
        })
    }

    /// Deletes the wraps the revoked consents no longer justify, in the
    /// store and then on the ledger (batched); a wrap another active consent
    /// still justifies stays. Returns the wraps deleted and the ledger
    /// transactions.
    async fn unshare(&self, pid: &PatientId, revoked: &[ConsentView]) -> Result<(usize, usize)> {
        let all = self.list_consents(pid).await?;
        let active: Vec<ConsentView> = all
            .iter()
            .filter(|c| c.status == ConsentStatus::Active)
            .cloned()
            .collect();
        let mut candidates = Vec::new();
        for grantee in revocation_candidates(revoked, &all) {
            // The fingerprint the grantee's wraps were named for: the
            // directory's record, revoked or not.
            let owner = match &grantee {
                Grantee::Org { mspid } => KeyOwner::Hospital(mspid),
                Grantee::User { user } => KeyOwner::User(user),
            };
            let published = self.published(&directory_owner(owner)).await?;
            let fingerprint = KeyFingerprint::parse(&published.fingerprint)?;
            candidates.push((grantee, fingerprint));
        }
        let revoked_consents: Vec<&Consent> = revoked.iter().map(|v| &v.consent).collect();
        let store = self.store.as_ref();
        let mut changes = Vec::new();
        let mut removed = 0;
        for meta in self.covered_versions(pid, &revoked_consents).await? {
            let hash = blobs::blob_hash(&meta.ciphertext_sha256)?;
            let mut names = Vec::new();
            for (grantee, fingerprint) in &candidates {
                if still_needed(grantee, &meta.record_id, &meta.resource_type, &active) {
                    continue;
                }
                match store
                    .delete_wrap(&hash, &blobs::wrap_name(fingerprint)?)
                    .await
                {
                    Ok(()) => names.push(fingerprint.clone()),
                    // Never shared, or deleted by an earlier, interrupted run.
                    Err(StoreError::WrapNotFound { .. }) => {}
                    Err(e) => {
                        return Err(SdkError::store(
                            format!("deleting a wrap of {} v{}", meta.record_id, meta.version),
                            e,
                        ))
                    }
                }
            }
            if !names.is_empty() {
                removed += names.len();
                changes.push(WrapArgs {
                    record_id: meta.record_id.clone(),
                    version: meta.version,
                    add: Vec::new(),
                    remove: names,
                });
            }
        }
        let transactions = self.update_wraps(&changes).await?;
        Ok((removed, transactions))
    }
}
