//! Owns: consent. A grant and a revocation are ledger transactions only:
//! no grantee holds a wrap at rest, so a revocation takes effect with its
//! commit (the home hospital's custodian releases keys only for fresh
//! decisions made under a consent in force), and every version has its own
//! data key, so a key released before the revocation opens nothing newer.
//! Also the wrap lists' own transaction (`update_wraps`, [`WRAP_CHUNK`]
//! versions each), which may add only the home hospital's or the patient's
//! key.

use healthblock_ehr_types::args::{GrantArgs, WrapArgs};
use healthblock_ehr_types::consent::ConsentStatus;
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{Consent, Grantee, PatientId};
use healthblock_ehr_types::results::{BatchResult, ConsentView};
use wbcb::EncryptionPublicKey;

use crate::client::Client;
use crate::contract::{json_arg, Committed};
use crate::error::{Result, SdkError};
use crate::keys::KeyOwner;

/// Versions per `update_wraps` transaction (the contract takes up to 500).
pub const WRAP_CHUNK: usize = 200;

/// What granting a consent did.
#[derive(Debug, Clone)]
pub struct ConsentGrant {
    /// The consent as stored.
    pub consent: Committed<Consent>,
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
}

impl Client {
    /// The key a consent's grantee published in the key directory.
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

    /// Grants a consent. Nothing is wrapped for the grantee: they get a
    /// version's key from the home hospital's custodian, per committed
    /// `request_access`, for as long as the consent is in force.
    pub async fn grant_consent(&self, args: GrantArgs) -> Result<ConsentGrant> {
        // The grantee's published key first: a grantee without one could
        // never be released a key, so nothing is recorded then.
        self.grantee_key(&args.grantee).await?;
        let consent: Committed<Consent> = self
            .contract
            .submit(f::GRANT_CONSENT, &[json_arg(f::GRANT_CONSENT, &args)?])
            .await?;
        Ok(ConsentGrant { consent })
    }

    /// Revokes the patient's active consents matching `filter`. Fails with [`SdkError::NoMatchingConsent`] when none matches.
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
        Ok(ConsentRevocation { revoked })
    }
}
