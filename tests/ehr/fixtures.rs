//! Ledger fixtures: the suite's patients and records, written by the home
//! hospital's doctor through the client SDK, exactly as the clinical CLI
//! does: real plaintext encrypted into a real blob, its real hash on the
//! ledger, and real key wraps (home hospital, patient) beside it.

use crate::users::pseudonym;
use crate::Ehr;
use anyhow::{ensure, Context, Result};
use healthblock_sdk::types::model::{PatientId, RecordId, ResourceType};
use healthblock_sdk::{NewVersion, Plaintext, SdkError};
use serde_json::Value;

/// A second patient of Hospital1 with no CA identity: `patient1` must not manage their consent.
pub(crate) fn other_patient() -> String {
    pseudonym("patient two")
}

/// Registers `patient1` and the other patient at Hospital1 (by its doctor).
pub(crate) async fn register_patients(ehr: &Ehr) -> Result<()> {
    let doctor = ehr.sdk(&ehr.users.doctor1).await?;
    for pid in [ehr.users.patient1_pid.clone(), other_patient()] {
        let registered = doctor
            .register_patient(&PatientId::parse(&pid)?)
            .await
            .with_context(|| format!("register_patient {pid}"))?;
        let patient = serde_json::to_value(&registered.value)?;
        ensure!(
            patient["patient_id"] == pid.as_str() && patient["home_msp"] == "Hospital1MSP",
            "register_patient answered {patient}"
        );
    }
    Ok(())
}

/// A record id unique to this run.
pub(crate) fn record_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The plaintext of a suite record: a FHIR Observation naming its record.
pub(crate) fn observation(rid: &str) -> Vec<u8> {
    format!(
        "{{\"resourceType\":\"Observation\",\"id\":\"{rid}\",\"status\":\"final\",\
         \"valueQuantity\":{{\"value\":72,\"unit\":\"beats/minute\"}}}}"
    )
    .into_bytes()
}

/// Hospital1's doctor stores version 1 of a new Observation of `patient1`
/// ([`observation`]) through the SDK; returns its id and the stored version
/// (wraps included) as the contract answered.
pub(crate) async fn put_record(ehr: &Ehr, prefix: &str) -> Result<(String, Value)> {
    let rid = record_id(prefix);
    let doctor = ehr.sdk(&ehr.users.doctor1).await?;
    let stored = doctor
        .put_record(NewVersion {
            patient: PatientId::parse(&ehr.users.patient1_pid)?,
            resource_type: ResourceType::parse("Observation")?,
            record_id: Some(RecordId::parse(&rid)?),
            plaintext: Plaintext::Bytes(observation(&rid)),
        })
        .await
        .with_context(|| format!("put_record {rid}"))?;
    let version = serde_json::to_value(&stored.record.value)?;
    ensure!(
        version["record_id"] == rid.as_str() && version["version"] == 1,
        "put_record answered {version}"
    );
    // Only the home hospital (its custodian) and the patient hold a wrap:
    // the author, like every other reader, goes through the custodian.
    ensure!(
        stored.wraps == 2 && version["wraps"].as_array().map(Vec::len) == Some(2),
        "put_record wrapped for {} recipients: {version}",
        stored.wraps
    );
    ehr.net.settle().await?;
    Ok((rid, version))
}

/// `get_record(rid)` as Hospital1's doctor: the record's metadata.
pub(crate) async fn get_record(ehr: &Ehr, rid: &str) -> Result<Value> {
    let doctor = ehr.sdk(&ehr.users.doctor1).await?;
    let meta = doctor.get_record(&RecordId::parse(rid)?, None).await?;
    Ok(serde_json::to_value(meta)?)
}

/// The full text of an SDK error (message and causes), for assertions on
/// the contract's reason.
pub(crate) fn error_text(e: SdkError) -> String {
    format!("{:#}", anyhow::Error::from(e))
}

/// Names of the wraps (key fingerprints) beside blob `hash` in the
/// network's object store, sorted.
pub(crate) fn wraps_at(ehr: &Ehr, hash: &str) -> Result<Vec<String>> {
    let dir = ehr
        .net
        .home()
        .join("store/blobs")
        .join(format!("{hash}.wraps"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

/// Names of the wraps beside the blob of `rid`'s latest version.
pub(crate) async fn wraps_of(ehr: &Ehr, rid: &str) -> Result<Vec<String>> {
    let meta = get_record(ehr, rid).await?;
    let hash = meta["ciphertext_sha256"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no ciphertext hash in {meta}"))?;
    wraps_at(ehr, hash)
}

/// `healthblock custodian release` as `who` (USER@ORG) of the custodian of
/// hospital `of`: the release (JSON), or the CLI's error text.
pub(crate) fn custodian_release(
    ehr: &Ehr,
    who: &str,
    tx: &str,
    of: &str,
) -> Result<std::result::Result<Value, String>> {
    let out = ehr
        .net
        .cli(&["custodian", "release", "--as", who, "--tx", tx, "--of", of])?;
    if out.status.success() {
        let release = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "custodian release printed no JSON: {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })?;
        Ok(Ok(release))
    } else {
        Ok(Err(String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

/// A custodian's refusal whose text holds `needle`.
pub(crate) fn expect_refusal(
    answer: std::result::Result<Value, String>,
    needle: &str,
    what: &str,
) -> Result<()> {
    match answer {
        Ok(release) => Err(anyhow::anyhow!("{what}: the custodian released {release}")),
        Err(text) => {
            ensure!(
                text.contains(needle),
                "{what}: refused, but not with {needle:?}: {text}"
            );
            Ok(())
        }
    }
}
