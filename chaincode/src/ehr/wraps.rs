//! The wrap lists of record versions: which keys a version's data key is
//! wrapped to at rest (the wraps themselves live beside the blob, in the
//! object store). Wraps at rest are only the home hospital's and the
//! patient's ([`keydir::check_wraps`]): every other reader gets the data key
//! from the home hospital's custodian service, per committed
//! `request_access`. `update_wraps` records wraps added (to those two keys
//! only, e.g. after a key rotation) or deleted there, one version or a batch
//! of versions per transaction; closing a break-glass
//! ([`custodian`](super::custodian)) uses the same `apply` to delete wraps
//! an earlier delivery left for the doctor.
//!
//! A batch is one transaction, so a re-wrap of many versions costs one
//! commit instead of one per version. Like single updates, a batch is
//! judged by the every-hospital chaincode policy.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fabric_shim::ChaincodeStub;

use super::error::{denied, invalid, EhrResult};
use super::keydir;
use super::model::{KeyFingerprint, RecordId, RecordVersion, VersionRef};
use super::record::{self, WRITERS};
use super::roles::Caller;

pub use healthblock_ehr_types::args::WrapArgs;
pub use healthblock_ehr_types::functions::{MAX_WRAPS, MAX_WRAP_UPDATES};
pub use healthblock_ehr_types::results::BatchResult;

/// `update_wraps(json)`: the home hospital's writers or the patient record
/// the wraps they added (to the home hospital's or the patient's published
/// key only) or deleted beside versions' blobs. A single object answers the
/// version's new list; an array answers [`BatchResult`].
pub async fn update(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    json: &str,
) -> EhrResult<serde_json::Value> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| invalid(format!("update_wraps arguments: {e}")))?;
    let batch = value.is_array();
    let changes: Vec<WrapArgs> = if batch {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|one| vec![one])
    }
    .map_err(|e| invalid(format!("update_wraps arguments: {e}")))?;
    if changes.is_empty() {
        return Err(invalid("update_wraps needs at least one version"));
    }
    let may_change = |record: &RecordVersion| {
        let allowed = caller.is_patient(&record.meta.patient_id, &record.meta.home_msp)
            || caller.is_member(&record.meta.home_msp, &WRITERS);
        if allowed {
            Ok(())
        } else {
            Err(denied(format!(
                "only the patient or the home hospital ({}) may change a record's wraps",
                record.meta.home_msp
            )))
        }
    };
    let written = apply(stub, changes, may_change).await?;
    if batch {
        Ok(serde_json::to_value(BatchResult {
            updated: written.len(),
        })?)
    } else {
        let wraps = written
            .into_iter()
            .next()
            .map(|r| r.wraps)
            .unwrap_or_default();
        Ok(serde_json::to_value(wraps)?)
    }
}

/// Adds and removes wraps of several versions in one transaction. Changes to
/// the same version are merged first (a transaction does not read its own
/// writes); adds apply before removes, and only keys a version may be
/// wrapped to at rest are added. `may_change` vets each version.
/// Returns the versions as written.
pub(super) async fn apply<F>(
    stub: &mut dyn ChaincodeStub,
    changes: Vec<WrapArgs>,
    may_change: F,
) -> EhrResult<Vec<RecordVersion>>
where
    F: Fn(&RecordVersion) -> EhrResult<()>,
{
    if changes.len() > MAX_WRAP_UPDATES {
        return Err(invalid(format!(
            "at most {MAX_WRAP_UPDATES} versions per transaction, got {}",
            changes.len()
        )));
    }
    type Sets = (BTreeSet<KeyFingerprint>, BTreeSet<KeyFingerprint>);
    let mut merged: BTreeMap<VersionRef, Sets> = BTreeMap::new();
    for change in changes {
        let at = VersionRef {
            record_id: change.record_id,
            version: change.version,
        };
        let (add, remove) = merged.entry(at).or_default();
        add.extend(change.add);
        remove.extend(change.remove);
    }
    let mut heads: HashMap<RecordId, u64> = HashMap::new();
    let mut written = Vec::with_capacity(merged.len());
    for (at, (add, remove)) in merged {
        let mut version = record::load(stub, &at.record_id, Some(at.version)).await?;
        may_change(&version)?;
        let mut wraps: BTreeSet<KeyFingerprint> = version.wraps.iter().cloned().collect();
        let new: Vec<&KeyFingerprint> = add.iter().filter(|w| !wraps.contains(*w)).collect();
        keydir::check_wraps(stub, &version.meta.home_msp, &version.meta.patient_id, new).await?;
        wraps.extend(add);
        wraps.retain(|w| !remove.contains(w));
        if wraps.len() > MAX_WRAPS {
            return Err(invalid(format!("at most {MAX_WRAPS} wraps per version")));
        }
        version.wraps = wraps.into_iter().collect();
        let latest = match heads.get(&at.record_id) {
            Some(v) => *v,
            None => {
                let head = record::load(stub, &at.record_id, None).await?;
                heads.insert(at.record_id.clone(), head.meta.version);
                head.meta.version
            }
        };
        record::write_version(stub, &version, latest == version.meta.version).await?;
        written.push(version);
    }
    Ok(written)
}
