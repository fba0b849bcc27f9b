//! Owns: the key directory from the client's side. The caller publishes
//! its own encryption public key (an administrator may also publish its
//! hospital's) in a transaction it signs; every wrap for someone else is
//! sealed to the key they published, checked against the fingerprint the
//! contract computed. The SDK never creates a key pair for anyone but the
//! caller (and, for staff, the caller's own hospital).

use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::keydir::{hospital_owner, patient_owner, PublishedKey, HOSPITAL_SCOPE};
use healthblock_ehr_types::model::Role;
use wbcb::EncryptionPublicKey;

use crate::client::Client;
use crate::contract::Committed;
use crate::error::{Result, SdkError};
use crate::keys::KeyOwner;

/// The directory's name for a key owner.
pub fn directory_owner(owner: KeyOwner<'_>) -> String {
    match owner {
        KeyOwner::User(user) => user.to_owned(),
        KeyOwner::Patient(pid) => patient_owner(pid),
        KeyOwner::Hospital(mspid) => hospital_owner(mspid),
    }
}

impl Client {
    /// Publishes the caller's own key (a patient's patient key), creating
    /// the pair in the caller's key store on first use.
    pub async fn publish_my_key(&self) -> Result<Committed<PublishedKey>> {
        let me = self.whoami().await?;
        let public = match (me.role, &me.pseudonym) {
            (Role::Patient, Some(pid)) => self.keys.public_key(KeyOwner::Patient(pid))?,
            _ => self.keys.public_key(KeyOwner::User(&self.user()))?,
        };
        let pem = public
            .to_pem()
            .map_err(|e| SdkError::crypto("encode the public key", e))?;
        self.contract.submit(f::PUBLISH_KEY, &[pem]).await
    }

    /// Publishes the caller's hospital key (administrators only).
    pub async fn publish_hospital_key(&self) -> Result<Committed<PublishedKey>> {
        let public = self.keys.public_key(KeyOwner::Hospital(self.mspid()))?;
        let pem = public
            .to_pem()
            .map_err(|e| SdkError::crypto("encode the public key", e))?;
        self.contract
            .submit(f::PUBLISH_KEY, &[pem, HOSPITAL_SCOPE.to_owned()])
            .await
    }

    /// Rotates the caller's own key (or with `hospital` its hospital's): the
    /// current pair is retired locally (its wraps still open) and the new
    /// public key is published.
    pub async fn rotate_my_key(&self, hospital: bool) -> Result<Committed<PublishedKey>> {
        if hospital {
            self.keys.rotate(KeyOwner::Hospital(self.mspid()))?;
            return self.publish_hospital_key().await;
        }
        let me = self.whoami().await?;
        match (me.role, &me.pseudonym) {
            (Role::Patient, Some(pid)) => self.keys.rotate(KeyOwner::Patient(pid))?,
            _ => self.keys.rotate(KeyOwner::User(&self.user()))?,
        };
        self.publish_my_key().await
    }

    /// Revokes the caller's published key, or with `hospital` its hospital's.
    pub async fn revoke_published_key(&self, hospital: bool) -> Result<Committed<PublishedKey>> {
        let args = if hospital {
            vec![HOSPITAL_SCOPE.to_owned()]
        } else {
            Vec::new()
        };
        self.contract.submit(f::REVOKE_KEY, &args).await
    }

    /// The directory entry of `owner` (`CN@MSP`, `patient:<id>`, `hospital:<MSP>`).
    pub async fn published(&self, owner: &str) -> Result<PublishedKey> {
        self.contract
            .evaluate(f::GET_KEY, &[owner.to_owned()])
            .await
            .map_err(|e| {
                if e.is_not_found() {
                    SdkError::KeyNotPublished(owner.to_owned())
                } else {
                    e
                }
            })
    }

    /// The key a wrap for `owner` is sealed to: published, not revoked, and
    /// hashing to the fingerprint the contract recorded.
    pub async fn published_key(&self, owner: KeyOwner<'_>) -> Result<EncryptionPublicKey> {
        let name = directory_owner(owner);
        let entry = self.published(&name).await?;
        if entry.revoked_at.is_some() {
            return Err(SdkError::KeyRevoked(name));
        }
        let key = EncryptionPublicKey::from_pem(&entry.public_key_pem)
            .map_err(|e| SdkError::crypto(format!("the published key of {name}"), e))?;
        if key.fingerprint().to_hex() != entry.fingerprint {
            return Err(SdkError::KeyMismatch(name));
        }
        Ok(key)
    }
}
