//! Ledger fixtures: the suite's patients and records, written by the home
//! hospital's doctor through the Gateway as the clinical CLI would.

use crate::users::pseudonym;
use crate::Ehr;
use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

/// A second patient of Hospital1 with no CA identity: `patient1` must not manage their consent.
pub fn other_patient() -> String {
    pseudonym("patient two")
}

/// Registers `patient1` and the other patient at Hospital1 (by its doctor).
pub async fn register_patients(ehr: &Ehr) -> Result<()> {
    let contract = ehr.contract(&ehr.users.doctor1).await?;
    for pid in [ehr.users.patient1_pid.clone(), other_patient()] {
        let out = contract
            .submit("register_patient", [pid.as_str()])
            .await
            .with_context(|| format!("register_patient {pid}"))?;
        let patient: Value = serde_json::from_slice(&out)?;
        ensure!(
            patient["patient_id"] == pid.as_str() && patient["home_msp"] == "Hospital1MSP",
            "register_patient answered {patient}"
        );
    }
    Ok(())
}

/// A record id unique to this run.
pub fn record_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fake key fingerprint derived from a label (64 hex digits).
pub fn fingerprint(label: &str) -> String {
    pseudonym(&format!("fingerprint {label}"))
}

/// `put_record` arguments of version 1 of `rid` for `pid`, wrapped to `wraps`.
pub fn put_args(rid: &str, pid: &str, wraps: &[String]) -> Value {
    json!({
        "record_id": rid,
        "patient_id": pid,
        "version": 1,
        "resource_type": "Observation",
        "ciphertext_sha256": pseudonym(&format!("ciphertext {rid}")),
        "size": 1234,
        "storage_pointer": format!("s3://healthblock/{rid}"),
        "blind_index": [pseudonym(&format!("token {rid}"))[..32].to_owned()],
        "wraps": wraps,
    })
}

/// Hospital1's doctor stores version 1 of a new record of `patient1`;
/// returns its id and the stored version (wraps included) as the contract answered.
pub async fn put_record(ehr: &Ehr, prefix: &str, wraps: &[String]) -> Result<(String, Value)> {
    let rid = record_id(prefix);
    let contract = ehr.contract(&ehr.users.doctor1).await?;
    let args = put_args(&rid, &ehr.users.patient1_pid, wraps).to_string();
    let out = contract
        .submit("put_record", [args.as_str()])
        .await
        .with_context(|| format!("put_record {rid}"))?;
    let version: Value = serde_json::from_slice(&out)?;
    ensure!(
        version["record_id"] == rid.as_str() && version["version"] == 1,
        "put_record answered {version}"
    );
    ehr.net.settle().await?;
    Ok((rid, version))
}

/// `get_record(rid)` as Hospital1's doctor: the record's metadata.
pub async fn get_record(ehr: &Ehr, rid: &str) -> Result<Value> {
    let contract = ehr.contract(&ehr.users.doctor1).await?;
    let out = contract.evaluate("get_record", [rid]).await?;
    Ok(serde_json::from_slice(&out)?)
}

/// The JSON answer of a submitted transaction.
pub async fn submit_json(
    contract: &fabric_client::contract::Contract,
    function: &str,
    args: &[&str],
) -> Result<Value> {
    let out = contract
        .submit(function, args.iter().copied())
        .await
        .with_context(|| format!("{function} {args:?}"))?;
    serde_json::from_slice(&out).with_context(|| format!("{function} answered non-JSON"))
}

/// The error text of a call that must fail.
pub async fn submit_err(
    contract: &fabric_client::contract::Contract,
    function: &str,
    args: &[&str],
) -> Result<String> {
    match contract.submit(function, args.iter().copied()).await {
        Ok(out) => anyhow::bail!(
            "{function} {args:?} succeeded ({}) but must be refused",
            String::from_utf8_lossy(&out)
        ),
        Err(e) => Ok(format!("{e:#}")),
    }
}
