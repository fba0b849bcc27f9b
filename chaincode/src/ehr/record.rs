//! Records: versions of encrypted documents, described on the ledger by the
//! hash, size and location of their ciphertext.
//!
//! A record's head key holds its latest version, so the head's key history
//! is the record's history; each version is also kept under its own key for
//! `verify`. Two indexes (patient -> records, blind-index token -> records)
//! make listings range reads over one prefix, paginated. Every key written
//! here is judged by the contract's every-hospital chaincode policy, so the
//! home hospital endorses each one and cannot write one alone.

use std::collections::{BTreeSet, HashMap};

use fabric_shim::ChaincodeStub;

use super::clock;
use super::error::{denied, invalid, EhrError, EhrResult};
use super::keydir;
use super::keys;
use super::model::{
    IndexToken, PatientId, PreviousVersion, RecordId, RecordMetadata, RecordVersion, Role,
    Timestamp,
};
use super::patient;
use super::policy::PatientAccess;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};

pub use healthblock_ehr_types::args::PutArgs;
pub use healthblock_ehr_types::functions::{MAX_TOKENS, MAX_WRAPS};
pub use healthblock_ehr_types::results::{HistoryEntry, Verification};

/// Roles that write records (at the home hospital only).
pub(super) const WRITERS: [Role; 3] = [Role::Doctor, Role::Nurse, Role::Admin];

fn dedup<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    items
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// `put_record(json)`: doctors, nurses and admins of the home hospital.
pub async fn put(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    json: &str,
) -> EhrResult<RecordVersion> {
    let args: PutArgs =
        serde_json::from_str(json).map_err(|e| invalid(format!("put_record arguments: {e}")))?;
    caller.require_role(&WRITERS, "write records")?;
    let patient = patient::load(stub, &args.patient_id).await?;
    if caller.mspid != patient.home_msp {
        return Err(denied(format!(
            "only the home hospital ({}) may write this patient's records",
            patient.home_msp
        )));
    }
    let blind_index = dedup(&args.blind_index);
    let wraps = dedup(&args.wraps);
    if blind_index.len() > MAX_TOKENS || wraps.len() > MAX_WRAPS {
        return Err(invalid(format!(
            "at most {MAX_TOKENS} blind-index tokens and {MAX_WRAPS} wraps per version"
        )));
    }
    keydir::check_wraps(stub, &patient.home_msp, &patient.patient_id, &wraps).await?;
    let head_key = keys::record(&args.record_id)?;
    let previous: Option<RecordVersion> = store::get_json(stub, &head_key).await?;
    check_succession(previous.as_ref(), &args)?;
    let meta = RecordMetadata {
        record_id: args.record_id,
        version: args.version,
        patient_id: patient.patient_id.clone(),
        home_msp: patient.home_msp.clone(),
        resource_type: args.resource_type,
        ciphertext_sha256: args.ciphertext_sha256,
        size: args.size,
        author: caller.principal(),
        tx_time: clock::tx_time(stub)?,
        tx_id: stub.tx_id().to_owned(),
        blind_index,
        previous: previous.as_ref().map(|p| PreviousVersion {
            version: p.meta.version,
            ciphertext_sha256: p.meta.ciphertext_sha256.clone(),
            tx_id: p.meta.tx_id.clone(),
        }),
    };
    let record = RecordVersion {
        meta,
        storage_pointer: args.storage_pointer,
        wraps,
    };
    write_version(stub, &record, true).await?;
    if previous.is_none() {
        let index = keys::record_by_patient(&record.meta.patient_id, &record.meta.record_id)?;
        let value = record.meta.record_id.as_str().as_bytes().to_vec();
        store::put_bytes(stub, &index, value).await?;
    }
    let old_tokens = previous.map(|p| p.meta.blind_index).unwrap_or_default();
    update_token_index(stub, &record, &old_tokens).await?;
    Ok(record)
}

/// A new version must follow the latest one, for the same patient and type.
fn check_succession(previous: Option<&RecordVersion>, args: &PutArgs) -> EhrResult<()> {
    let Some(previous) = previous else {
        if args.version != 1 {
            return Err(EhrError::Conflict(format!(
                "record {} does not exist; its first version is 1, not {}",
                args.record_id, args.version
            )));
        }
        return Ok(());
    };
    if previous.meta.patient_id != args.patient_id {
        return Err(EhrError::Conflict(format!(
            "record {} belongs to another patient",
            args.record_id
        )));
    }
    if previous.meta.resource_type != args.resource_type {
        return Err(EhrError::Conflict(format!(
            "record {} holds {}; a new version cannot change its type to {}",
            args.record_id, previous.meta.resource_type, args.resource_type
        )));
    }
    if Some(args.version) != previous.meta.version.checked_add(1) {
        return Err(EhrError::Conflict(format!(
            "record {} is at version {}; the next version is {}, not {}",
            args.record_id,
            previous.meta.version,
            previous.meta.version.saturating_add(1),
            args.version
        )));
    }
    Ok(())
}

/// Writes a version key and, when it is the latest, the head key.
pub(super) async fn write_version(
    stub: &mut dyn ChaincodeStub,
    record: &RecordVersion,
    is_latest: bool,
) -> EhrResult<()> {
    let version_key = keys::record_version(&record.meta.record_id, record.meta.version)?;
    store::put_json(stub, &version_key, record).await?;
    if is_latest {
        let head_key = keys::record(&record.meta.record_id)?;
        store::put_json(stub, &head_key, record).await?;
    }
    Ok(())
}

/// Adds index entries for new tokens and removes those of tokens dropped.
async fn update_token_index(
    stub: &mut dyn ChaincodeStub,
    record: &RecordVersion,
    old_tokens: &[IndexToken],
) -> EhrResult<()> {
    let value = record.meta.record_id.as_str().as_bytes().to_vec();
    for token in record
        .meta
        .blind_index
        .iter()
        .filter(|t| !old_tokens.contains(t))
    {
        let key = keys::record_by_token(token, &record.meta.record_id)?;
        store::put_bytes(stub, &key, value.clone()).await?;
    }
    for token in old_tokens
        .iter()
        .filter(|t| !record.meta.blind_index.contains(t))
    {
        stub.del_state(&keys::record_by_token(token, &record.meta.record_id)?)
            .await?;
    }
    Ok(())
}

/// Loads a record's latest version, or one version.
pub async fn load(
    stub: &mut dyn ChaincodeStub,
    record_id: &RecordId,
    version: Option<u64>,
) -> EhrResult<RecordVersion> {
    let key = match version {
        None => keys::record(record_id)?,
        Some(v) => keys::record_version(record_id, v)?,
    };
    store::get_json(stub, &key)
        .await?
        .ok_or_else(|| match version {
            None => EhrError::NotFound(format!("record {record_id}")),
            Some(v) => EhrError::NotFound(format!("record {record_id} version {v}")),
        })
}

/// Parses an optional version argument (empty = latest).
pub fn parse_version(arg: Option<&str>) -> EhrResult<Option<u64>> {
    match arg.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|v| *v >= 1)
            .map(Some)
            .ok_or_else(|| invalid(format!("version {s:?} is not a positive integer"))),
    }
}

/// Loads a record version the caller may read (metadata only).
async fn load_readable(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    record_id: &RecordId,
    version: Option<u64>,
) -> EhrResult<RecordVersion> {
    let record = load(stub, record_id, version).await?;
    if caller.role == Role::Auditor {
        return Ok(record);
    }
    let patient = patient::load(stub, &record.meta.patient_id).await?;
    let access = PatientAccess::load(stub, caller, patient).await?;
    let now = clock::tx_time(stub)?;
    access.decide(caller, &record, now).map_err(denied)?;
    Ok(record)
}

/// `get_record(rid[, version])`: metadata, without wraps.
pub async fn get(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    rid: &str,
    version: Option<&str>,
) -> EhrResult<RecordMetadata> {
    let record_id = RecordId::parse(rid)?;
    let record = load_readable(stub, caller, &record_id, parse_version(version)?).await?;
    Ok(record.into())
}

/// Resolves index values (record ids) to the heads the caller may read.
/// Consents are loaded once per patient.
async fn readable_heads(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    record_ids: Vec<Vec<u8>>,
) -> EhrResult<Vec<RecordMetadata>> {
    let now = clock::tx_time(stub)?;
    let mut access: HashMap<PatientId, PatientAccess> = HashMap::new();
    let mut out = Vec::with_capacity(record_ids.len());
    for value in record_ids {
        let record = load(stub, &keys::indexed_record(&value)?, None).await?;
        if !access.contains_key(&record.meta.patient_id) {
            let patient = patient::load(stub, &record.meta.patient_id).await?;
            let loaded = PatientAccess::load(stub, caller, patient).await?;
            access.insert(record.meta.patient_id.clone(), loaded);
        }
        let readable = access
            .get(&record.meta.patient_id)
            .is_some_and(|a| a.may_read_metadata(caller, &record, now));
        if readable {
            out.push(record.into());
        }
    }
    Ok(out)
}

/// `list_records_by_patient(pid[, page size, bookmark])`: a range over the
/// patient's index prefix; records the caller may not read are left out.
pub async fn list_by_patient(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    page: &PageRequest,
) -> EhrResult<Page<RecordMetadata>> {
    let patient_id = PatientId::parse(pid)?;
    patient::load(stub, &patient_id).await?;
    let (ids, bookmark) =
        store::page_of(stub, keys::RECORD_BY_PATIENT, &[patient_id.as_str()], page).await?;
    let items = readable_heads(stub, caller, ids).await?;
    Ok(Page { items, bookmark })
}

/// `list_records_by_token(token[, page size, bookmark])`: a range over the
/// token's index prefix; records the caller may not read are left out.
pub async fn list_by_token(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    token: &str,
    page: &PageRequest,
) -> EhrResult<Page<RecordMetadata>> {
    let token = IndexToken::parse(token)?;
    let (ids, bookmark) =
        store::page_of(stub, keys::RECORD_BY_TOKEN, &[token.as_str()], page).await?;
    let items = readable_heads(stub, caller, ids).await?;
    Ok(Page { items, bookmark })
}

/// `record_history(rid)`: every committed change of the head key, newest
/// first, from the ledger's history database.
pub async fn history(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    rid: &str,
) -> EhrResult<Vec<HistoryEntry>> {
    let record_id = RecordId::parse(rid)?;
    load_readable(stub, caller, &record_id, None).await?;
    let changes = stub.get_history_for_key(&keys::record(&record_id)?).await?;
    changes
        .into_iter()
        .map(|change| {
            let record = if change.is_delete {
                None
            } else {
                let version: RecordVersion = serde_json::from_slice(&change.value)?;
                Some(version.into())
            };
            Ok(HistoryEntry {
                tx_id: change.tx_id,
                timestamp: change.timestamp.map(|t| Timestamp(t.seconds)),
                is_delete: change.is_delete,
                record,
            })
        })
        .collect()
}

/// `verify_record(rid, version)`: the stored hash and the writing txid. The
/// block number and validation code are not visible to chaincode; the client
/// looks the txid up on the ledger (qscc `GetTransactionByID` / the block)
/// to show them.
pub async fn verify(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    rid: &str,
    version: &str,
) -> EhrResult<Verification> {
    let record_id = RecordId::parse(rid)?;
    let version =
        parse_version(Some(version))?.ok_or_else(|| invalid("verify_record needs a version"))?;
    let record = load_readable(stub, caller, &record_id, Some(version)).await?;
    Ok(Verification {
        record_id: record.meta.record_id,
        version: record.meta.version,
        ciphertext_sha256: record.meta.ciphertext_sha256,
        size: record.meta.size,
        tx_id: record.meta.tx_id,
        tx_time: record.meta.tx_time,
    })
}
