//! Owns: the home hospital's side of audited key release: opening a
//! version's data key with the hospital's own wrap and sealing it to one
//! reader's published key. Whether to do so (a committed, VALID, fresh,
//! unredeemed grant of that reader) is decided by the custodian service
//! (`healthblock-custodian`) before it calls [`Client::release_key`]; only
//! the custodian's client holds the hospital's key pair.

use healthblock_ehr_types::model::RecordId;
use healthblock_ehr_types::results::Grant;
use wbcb::{EncryptionPublicKey, EncryptionSecretKey, KeyWrap, RecordContext};

use crate::blobs;
use crate::client::Client;
use crate::error::{Result, SdkError};
use crate::keys::KeyOwner;

impl Client {
    /// The key pairs of the caller's own hospital, current first, then
    /// retired ones (wraps sealed before a rotation still open).
    pub fn hospital_keys(&self) -> Result<Vec<EncryptionSecretKey>> {
        let owner = KeyOwner::Hospital(self.mspid());
        let mut keys = vec![self.keys.secret_key(owner)?];
        keys.extend(self.keys.retired_secret_keys(owner)?);
        Ok(keys)
    }

    /// Opens the data key of granted version `record_id` v`version` with
    /// the hospital's wrap beside its blob and seals it to `recipient`,
    /// bound to that version. `None` when the hospital holds no wrap of it.
    pub async fn release_key(
        &self,
        record_id: &RecordId,
        version: u64,
        grant: &Grant,
        recipient: &EncryptionPublicKey,
    ) -> Result<Option<KeyWrap>> {
        let hash = blobs::blob_hash(&grant.ciphertext_sha256)?;
        let context =
            RecordContext::new(record_id.to_string(), version, grant.patient_id.to_string())
                .map_err(|e| SdkError::crypto(format!("record {record_id}"), e))?;
        let hospital = self.hospital_keys()?;
        // The custodian serves its own hospital's records: their wraps are in
        // its own store.
        let own = self.store_of(self.mspid())?;
        let Some(key) = blobs::open_data_key(own.as_ref(), &hash, &context, &hospital).await?
        else {
            return Ok(None);
        };
        let wrap = KeyWrap::seal(&key, &context, recipient)
            .map_err(|e| SdkError::crypto(format!("sealing the data key of {context}"), e))?;
        Ok(Some(wrap))
    }
}
