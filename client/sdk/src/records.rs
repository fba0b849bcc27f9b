//! Owns: encrypted record versions end to end. `put_record` encrypts with
//! a fresh data key per version, stores the ciphertext and one wrap each
//! for the home hospital (its key custodian) and the patient, and writes
//! only metadata to the ledger; reading commits an access request
//! (audited), obtains the key from the home hospital's custodian for that
//! committed decision, then fetches, checks and decrypts. Also metadata reads, blind-index search, history and the
//! ledger-versus-store verification.

use std::collections::BTreeSet;

use fabric_client::CommitStatus;
use healthblock_ehr_types::args::PutArgs;
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{
    IndexToken, PatientId, RecordId, RecordMetadata, RecordVersion, ResourceType, StoragePointer,
};
use healthblock_ehr_types::results::{AccessResponse, Grant, HistoryEntry, Verification};
use healthblock_store::StoreError;
use wbcb::{
    DataKey, EncryptionPublicKey, EncryptionSecretKey, KeyWrap, RecordContext, SearchField,
};

use crate::blobs::{self, Plaintext, Sink, VersionLabel};
use crate::client::Client;
use crate::contract::{json_arg, Committed};
use crate::error::{Result, SdkError};
use crate::key_release;
use crate::keys::{index_key, KeyOwner};
use crate::provenance::written_in;
pub use crate::provenance::Written;

/// A new record, or the next version of one.
#[derive(Debug, Clone)]
pub struct NewVersion {
    /// The patient.
    pub patient: PatientId,
    /// FHIR resource type of the plaintext.
    pub resource_type: ResourceType,
    /// An existing record id gets its next version; `None` makes a new record.
    pub record_id: Option<RecordId>,
    /// The plaintext.
    pub plaintext: Plaintext,
}

/// What `put_record` stored.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    /// The version as the contract stored it (wraps included).
    pub record: Committed<RecordVersion>,
    /// Number of recipients the data key was wrapped for.
    pub wraps: usize,
}

/// What verifying a version found.
#[derive(Debug)]
pub struct VerifyReport {
    /// The ledger's record of the version.
    pub verification: Verification,
    /// Where and how its writing transaction committed.
    pub commit: CommitStatus,
    /// SHA-256 of the stored blob, or why it could not be read intact.
    pub stored: std::result::Result<String, StoreError>,
    /// The hash in the writing transaction's own write set (its block).
    pub written: Written,
}

impl VerifyReport {
    /// True when the writing transaction committed VALID, its write set
    /// holds the hash the state holds, and the stored blob hashes to it.
    pub fn intact(&self) -> bool {
        let ledger = self.verification.ciphertext_sha256.as_str();
        self.commit.is_valid()
            && self.written.hash() == Some(ledger)
            && self.stored.as_deref().ok() == Some(ledger)
    }
}

/// A granted, decrypted read.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// The audited access decision.
    pub access: Committed<AccessResponse>,
    /// Plaintext bytes written to the sink.
    pub bytes: u64,
}

fn new_record_id() -> Result<RecordId> {
    let mut bytes = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    Ok(RecordId::parse(&format!("rec-{}", hex::encode(bytes)))?)
}

fn current_month() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}", now.year(), u8::from(now.month()))
}

fn token(result: wbcb::Result<String>) -> Result<IndexToken> {
    let hex = result.map_err(|e| SdkError::crypto("computing a blind-index token", e))?;
    Ok(IndexToken::parse(&hex)?)
}

impl Client {
    /// A record's latest version, or `None` when no such record exists.
    pub async fn find_record(&self, rid: &RecordId) -> Result<Option<RecordMetadata>> {
        match self.get_record(rid, None).await {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A record version's metadata (the latest when `version` is `None`).
    pub async fn get_record(&self, rid: &RecordId, version: Option<u64>) -> Result<RecordMetadata> {
        let mut args = vec![rid.to_string()];
        args.extend(version.map(|v| v.to_string()));
        self.contract.evaluate(f::GET_RECORD, &args).await
    }

    /// The heads of a patient's records the caller may read.
    pub async fn records_of_patient(&self, pid: &PatientId) -> Result<Vec<RecordMetadata>> {
        self.contract
            .all_pages(f::LIST_RECORDS_BY_PATIENT, &[pid.to_string()])
            .await
    }

    /// Every version of every record of a patient the caller may read.
    pub async fn versions_of_patient(&self, pid: &PatientId) -> Result<Vec<RecordMetadata>> {
        let mut versions = Vec::new();
        for head in self.records_of_patient(pid).await? {
            for v in 1..head.version {
                versions.push(self.get_record(&head.record_id, Some(v)).await?);
            }
            versions.push(head);
        }
        Ok(versions)
    }

    /// Records found through the blind index, by patient and/or type (the
    /// token is the patient's when both are given; the type then filters).
    pub async fn search_records(
        &self,
        patient: Option<&PatientId>,
        resource_type: Option<&ResourceType>,
    ) -> Result<Vec<RecordMetadata>> {
        let index = index_key(self.keys.as_ref())?;
        let term = match (patient, resource_type) {
            (Some(p), _) => index.token(SearchField::PatientPseudonym, p.as_str()),
            (None, Some(t)) => index.token(SearchField::RecordType, t.as_str()),
            (None, None) => return Ok(Vec::new()),
        };
        let mut records: Vec<RecordMetadata> = self
            .contract
            .all_pages(f::LIST_RECORDS_BY_TOKEN, &[token(term)?.to_string()])
            .await?;
        if let (Some(_), Some(t)) = (patient, resource_type) {
            records.retain(|r| r.resource_type == *t);
        }
        Ok(records)
    }

    /// Every committed change of a record's head, newest first.
    pub async fn record_history(&self, rid: &RecordId) -> Result<Vec<HistoryEntry>> {
        self.contract
            .evaluate(f::RECORD_HISTORY, &[rid.to_string()])
            .await
    }

    /// Who a new version is wrapped to at rest: the home hospital (its
    /// key custodian) and, once they published a key, the patient. Nobody
    /// else: every other reader, the author included, gets the data key
    /// from the custodian per committed access decision. Only published
    /// keys: never a key made here for someone else.
    async fn recipients(&self, pid: &PatientId) -> Result<Vec<EncryptionPublicKey>> {
        let mut recipients = vec![self.published_key(KeyOwner::Hospital(self.mspid())).await?];
        match self.published_key(KeyOwner::Patient(pid)).await {
            Ok(key) => recipients.push(key),
            // No usable key yet (or revoked): the patient reads through the
            // custodian like everyone else.
            Err(SdkError::KeyNotPublished(_) | SdkError::KeyRevoked(_)) => {}
            Err(e) => return Err(e),
        }
        let mut seen = BTreeSet::new();
        recipients.retain(|k| seen.insert(k.fingerprint().to_hex()));
        Ok(recipients)
    }

    /// Encrypts and stores a new record or the next version of one.
    pub async fn put_record(&self, new: NewVersion) -> Result<StoredVersion> {
        let NewVersion {
            patient: pid,
            resource_type,
            record_id,
            plaintext,
        } = new;
        let rid = match record_id {
            Some(r) => r,
            None => new_record_id()?,
        };
        let previous = self.find_record(&rid).await?;
        if previous.as_ref().is_some_and(|p| p.patient_id != pid) {
            return Err(SdkError::ForeignRecord(rid));
        }
        let version = previous.as_ref().map_or(1, |p| p.version + 1);
        let context = RecordContext::new(rid.to_string(), version, pid.to_string())
            .map_err(|e| SdkError::crypto(format!("record {rid} v{version}"), e))?;
        // Only the home hospital writes its patients' records (the contract
        // checks it): into its own store.
        let own = self.store_of(self.mspid())?;
        let store = own.as_ref();
        // Who gets a wrap is a ledger query; encryption does not depend on it.
        let (recipients, (info, key)) = tokio::try_join!(
            self.recipients(&pid),
            blobs::encrypt_and_store(store, plaintext, &context, &self.options.scratch_dir),
        )?;
        let wraps = blobs::store_wraps(store, &info.hash, &key, &context, &recipients).await?;
        let index = index_key(self.keys.as_ref())?;
        let blind_index = vec![
            token(index.token(SearchField::PatientPseudonym, pid.as_str()))?,
            token(index.token(SearchField::RecordType, resource_type.as_str()))?,
            token(index.token(SearchField::DateMonth, &current_month()))?,
        ];
        let args = PutArgs {
            record_id: rid,
            patient_id: pid,
            version,
            resource_type,
            ciphertext_sha256: healthblock_ehr_types::model::Sha256Hex::parse(&info.hash.to_hex())?,
            size: info.size,
            storage_pointer: StoragePointer::parse(&format!("hbstore:blobs/{}", info.hash))?,
            blind_index,
            wraps,
        };
        let record = self
            .contract
            .submit(f::PUT_RECORD, &[json_arg(f::PUT_RECORD, &args)?])
            .await?;
        Ok(StoredVersion {
            record,
            wraps: recipients.len(),
        })
    }

    /// Submits the audited access request for the caller's own key. A
    /// denial is an answer (`granted: false`), not an error: it is
    /// committed and audited like a grant.
    pub async fn request_access(
        &self,
        rid: &RecordId,
        version: Option<u64>,
    ) -> Result<Committed<AccessResponse>> {
        let fingerprint = blobs::fingerprint_of(&self.my_public_key()?)?;
        let args = [
            rid.to_string(),
            version.map(|v| v.to_string()).unwrap_or_default(),
            fingerprint.to_string(),
        ];
        self.contract.submit(f::REQUEST_ACCESS, &args).await
    }

    /// After a granted access request: obtains the data key, fetches the
    /// blob, checks its hash against the grant and decrypts into `sink`.
    /// Returns the plaintext length.
    ///
    /// The key comes from the home hospital's custodian, which releases it
    /// only for this committed decision ([`crate::key_release`]). A patient
    /// reading their own record opens their own wrap instead (patient
    /// self-access does not need the custodian; the decision is still
    /// committed and audited first).
    pub async fn open_granted(&self, access: &AccessResponse, sink: Sink<'_>) -> Result<u64> {
        let label = VersionLabel {
            record_id: &access.record_id,
            version: access.version,
        };
        let Some(grant) = access.grant.as_ref().filter(|_| access.granted) else {
            return Err(SdkError::AccessDenied {
                record_id: access.record_id.clone(),
                version: access.version,
                reason: access.reason.clone(),
                tx_id: access.tx_id.clone(),
            });
        };
        let hash = blobs::blob_hash(&grant.ciphertext_sha256)?;
        let context = RecordContext::new(
            access.record_id.to_string(),
            access.version,
            grant.patient_id.to_string(),
        )
        .map_err(|e| SdkError::crypto(format!("record {}", access.record_id), e))?;
        let home = self.store_of(&grant.home_msp)?;
        let store = home.as_ref();
        let key = async {
            let mine = self.my_keys().await?;
            let own = match self.whoami().await?.pseudonym {
                Some(me) if me == grant.patient_id => {
                    blobs::open_data_key(store, &hash, &context, &mine).await?
                }
                _ => None,
            };
            match own {
                Some(key) => Ok(key),
                None => self.released_key(access, grant, &context, &mine).await,
            }
        };
        // The ciphertext is no secret (the key is): fetch it while the key
        // is being released, so the read costs the longer of the two.
        let blob = blobs::download(store, &hash, &label, &self.options.scratch_dir);
        let (key, blob) = tokio::try_join!(key, blob)?;
        blobs::decrypt_file(&key, blob.path(), &context, &label, sink)
    }

    /// Asks the home hospital's custodian for the data key of `access`
    /// and opens the wrap it releases with the caller's key.
    async fn released_key(
        &self,
        access: &AccessResponse,
        grant: &Grant,
        context: &RecordContext,
        mine: &[EncryptionSecretKey],
    ) -> Result<DataKey> {
        let endpoint = self
            .custodians
            .get(&grant.home_msp)
            .ok_or_else(|| SdkError::NoCustodian(grant.home_msp.clone()))?;
        let release =
            key_release::request_release(endpoint, self.signer.clone(), &access.tx_id).await?;
        let bad = |reason: String| SdkError::KeyRelease {
            custodian: endpoint.address.clone(),
            reason,
        };
        let bytes = release
            .wrap_bytes()
            .map_err(|e| bad(format!("the released wrap is not base64: {e}")))?;
        let wrap = KeyWrap::from_bytes(&bytes)
            .map_err(|e| SdkError::crypto(format!("reading the released wrap of {context}"), e))?;
        let secret = mine
            .iter()
            .find(|k| k.public_key().fingerprint() == wrap.recipient)
            .ok_or_else(|| SdkError::NoWrap {
                record_id: access.record_id.clone(),
                version: access.version,
                basis: format!(
                    "the custodian sealed the key to {}, which is none of the caller's keys",
                    wrap.recipient.to_hex()
                ),
            })?;
        wrap.open(secret, context)
            .map_err(|e| SdkError::crypto(format!("opening the released wrap of {context}"), e))
    }

    /// Requests access (audited) and, when granted, decrypts the version
    /// into `sink`. A denial is [`SdkError::AccessDenied`].
    pub async fn read_record(
        &self,
        rid: &RecordId,
        version: Option<u64>,
        sink: Sink<'_>,
    ) -> Result<ReadRecord> {
        // The caller's keys are looked up while the request commits.
        let (access, _) = tokio::try_join!(self.request_access(rid, version), self.my_keys())?;
        let bytes = self.open_granted(&access.value, sink).await?;
        Ok(ReadRecord { access, bytes })
    }

    /// Checks a stored blob against the ledger: the hash the ledger holds,
    /// the transaction that wrote the version (its block, validation code
    /// and, from the block itself, the hash that transaction wrote), and the
    /// SHA-256 of what the store holds.
    pub async fn verify_record(
        &self,
        rid: &RecordId,
        version: Option<u64>,
    ) -> Result<VerifyReport> {
        // The version's metadata names its home hospital, whose store holds
        // the blob.
        let meta = self.get_record(rid, version).await?;
        let version = meta.version;
        let verification: Verification = self
            .contract
            .evaluate(f::VERIFY_RECORD, &[rid.to_string(), version.to_string()])
            .await?;
        let commit = self
            .contract
            .commit_status(f::VERIFY_RECORD, &verification.tx_id)
            .await?;
        let block = self
            .gateway
            .network(&self.options.channel)
            .block(commit.block_number)
            .await
            .map_err(|e| SdkError::Block {
                block: commit.block_number,
                source: Box::new(e),
            })?;
        let written = written_in(&block, &self.options.chaincode, &commit.txid, rid, version);
        let hash = blobs::blob_hash(&verification.ciphertext_sha256)?;
        let stored = match self.stores.for_home(&meta.home_msp) {
            Ok(store) => blobs::hash_stored(store.as_ref(), &hash).await,
            Err(e) => Err(e),
        };
        Ok(VerifyReport {
            verification,
            commit,
            stored,
            written,
        })
    }
}
