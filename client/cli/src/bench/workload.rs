//! Owns: the open-loop workloads (the ones the Caliper benchmark runs), the
//! state each needs on the ledger before it is measured, and one call of
//! each.
//!
//! - `noop`: the kv chaincode's `noop` (endorsed, ordered and committed; an
//!   empty write set).
//! - `kv-put`: `put(key, value)` of a fresh key, `--value-size` bytes.
//! - `kv-get`: `get(key)` of a key written during setup, *evaluated* (a
//!   query: no ordering, no commit; latency is to the answer).
//! - `ehr-put-record`: the EHR contract's `put_record` of a new record of
//!   one of the setup's patients, with the synthetic metadata of
//!   `healthblock record bench-load` (real blind-index tokens; no blob).
//! - `ehr-request-access`: the audited read: `request_access` of a record
//!   written during setup, submitted and committed (it writes an audit entry);
//!   a denial counts as a failure.
//! - `ehr-list-by-patient`: `list_records_by_patient` of a setup patient,
//!   evaluated.
//!
//! EHR workloads act as `--as`, which must be a hospital user with a role
//! (e.g. a doctor enrolled with `healthblock user enroll`); the patients are
//! registered with that user's hospital as their home, so its doctors are
//! granted access by the contract's home-hospital rule.

use crate::cmd::clinical::key_store;
use crate::cmd::clinical::load::synthetic_patient_id;
use anyhow::{anyhow, bail, Result};
use fabric_client::contract::Contract;
use healthblock_sdk::code_of;
use healthblock_sdk::keys::index_key;
use healthblock_sdk::types::args::PutArgs;
use healthblock_sdk::types::code::ErrorCode;
use healthblock_sdk::types::functions as f;
use healthblock_sdk::types::model::{
    IndexToken, PatientId, RecordId, ResourceType, Sha256Hex, StoragePointer,
};
use healthblock_sdk::types::results::AccessResponse;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use wbcb::SearchField;

use crate::context::Context;

/// The workloads of `healthblock bench --open-loop`.
#[derive(clap::ValueEnum, Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Workload {
    Noop,
    KvPut,
    KvGet,
    EhrPutRecord,
    EhrRequestAccess,
    EhrListByPatient,
}

impl Workload {
    /// The chaincode it calls unless `--chaincode` names another.
    pub(crate) fn default_chaincode(self) -> &'static str {
        match self {
            Workload::Noop | Workload::KvPut | Workload::KvGet => "kv",
            _ => "ehr",
        }
    }

    /// Whether a call is a submitted transaction (latency to its VALID commit)
    /// or an evaluated query (latency to the answer).
    pub(crate) fn submits(self) -> bool {
        !matches!(self, Workload::KvGet | Workload::EhrListByPatient)
    }

    fn is_ehr(self) -> bool {
        self.default_chaincode() == "ehr"
    }
}

/// Sizes of the setup.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SetupSizes {
    /// Patients registered for the EHR workloads.
    pub(crate) patients: u64,
    /// Records (EHR) or keys (kv-get) written for the read workloads.
    pub(crate) records: u64,
    /// Transactions in flight during setup.
    pub(crate) concurrency: usize,
}

/// What the EHR workloads need: patients, their index tokens, records to read.
struct Ehr {
    pids: Vec<PatientId>,
    patient_tokens: Vec<IndexToken>,
    type_token: IndexToken,
    month_token: IndexToken,
    resource_type: ResourceType,
    records: Vec<RecordId>,
    fingerprint: String,
}

/// `connections` gateway connections as `who`, each with `chaincode`'s contract on
/// the channel, and the channel as `who`'s org admin sees it (for block statistics).
pub(crate) async fn connect(
    ctx: &Context,
    who: &str,
    chaincode: &str,
    connections: usize,
) -> Result<(Vec<Contract>, fabric_client::network::Network)> {
    let mut contracts = Vec::new();
    for _ in 0..connections.max(1) {
        let gw = crate::cmd::tx::connect(ctx, who, None).await?;
        contracts.push(gw.network(&ctx.consortium.channel).contract(chaincode));
    }
    // The blocks are read as the org's admin on the same peer: the channel's
    // ACLs give block delivery to peers and admins, not to clients.
    let (_, org) = who
        .split_once('@')
        .ok_or_else(|| anyhow!("--as {who:?} must look like USER@ORG"))?;
    let admin = crate::cmd::tx::connect(ctx, &format!("Admin@{org}"), None).await?;
    Ok((contracts, admin.network(&ctx.consortium.channel)))
}

/// One workload ready to run: the connections and whatever the setup wrote.
pub(crate) struct Driver {
    workload: Workload,
    contracts: Vec<Contract>,
    /// Distinguishes this run's keys and record ids from earlier runs'.
    run_id: String,
    value: String,
    kv_keys: u64,
    ehr: Option<Ehr>,
}

fn first_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or("");
    line.chars().take(200).collect()
}

impl Driver {
    /// Prepares `workload`: for EHR workloads registers the patients, and for
    /// the read workloads writes what they read.
    pub(crate) async fn prepare(
        ctx: &Context,
        workload: Workload,
        contracts: Vec<Contract>,
        value_size: usize,
        sizes: SetupSizes,
    ) -> Result<Driver> {
        if contracts.is_empty() {
            bail!("no connection to the gateway");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let run_id = format!("ol{}-{now}", std::process::id());
        let mut driver = Driver {
            workload,
            contracts,
            run_id,
            value: "x".repeat(value_size),
            kv_keys: 0,
            ehr: None,
        };
        match workload {
            Workload::Noop | Workload::KvPut => {}
            Workload::KvGet => {
                let n = sizes.records.max(1);
                let (run, value) = (driver.run_id.clone(), driver.value.clone());
                setup_all(&driver.contracts, n, sizes.concurrency, move |i| {
                    Ok(("put", vec![format!("{run}-get-{i}"), value.clone()]))
                })
                .await
                .map_err(|e| anyhow!("writing the keys kv-get reads: {e}"))?;
                driver.kv_keys = n;
            }
            _ => {
                driver.ehr = Some(prepare_ehr(ctx, &driver, sizes).await?);
            }
        }
        Ok(driver)
    }

    pub(crate) fn workload(&self) -> Workload {
        self.workload
    }

    /// Runs call `seq` of step `step` to its end: `Err` holds the failure reason.
    pub(crate) async fn call(&self, step: usize, seq: u64) -> Result<(), String> {
        let contract = &self.contracts[(seq % self.contracts.len() as u64) as usize];
        match self.workload {
            Workload::Noop => submit(contract, "noop", &[]).await.map(drop),
            Workload::KvPut => {
                let key = format!("{}-{step}-{seq}", self.run_id);
                submit(contract, "put", &[key, self.value.clone()])
                    .await
                    .map(drop)
            }
            Workload::KvGet => {
                let key = format!("{}-get-{}", self.run_id, seq % self.kv_keys.max(1));
                contract
                    .evaluate("get", [key])
                    .await
                    .map(drop)
                    .map_err(|e| first_line(&e))
            }
            Workload::EhrPutRecord => {
                let ehr = self.ehr()?;
                let rid = format!("{}-s{step}-r{seq}", self.run_id);
                let p = (seq % ehr.pids.len() as u64) as usize;
                let args = put_args(ehr, &rid, p).map_err(|e| format!("{e:#}"))?;
                submit(contract, f::PUT_RECORD, &[args]).await.map(drop)
            }
            Workload::EhrRequestAccess => {
                let ehr = self.ehr()?;
                let rid = &ehr.records[(seq % ehr.records.len() as u64) as usize];
                let result = submit(
                    contract,
                    f::REQUEST_ACCESS,
                    &[rid.to_string(), String::new(), ehr.fingerprint.clone()],
                )
                .await?;
                let answer: AccessResponse = serde_json::from_slice(&result)
                    .map_err(|e| format!("request_access answered no AccessResponse: {e}"))?;
                if answer.granted {
                    Ok(())
                } else {
                    Err(format!("denied: {}", answer.reason))
                }
            }
            Workload::EhrListByPatient => {
                let ehr = self.ehr()?;
                let pid = &ehr.pids[(seq % ehr.pids.len() as u64) as usize];
                contract
                    .evaluate(f::LIST_RECORDS_BY_PATIENT, [pid.to_string()])
                    .await
                    .map(drop)
                    .map_err(|e| first_line(&e))
            }
        }
    }

    fn ehr(&self) -> Result<&Ehr, String> {
        self.ehr
            .as_ref()
            .ok_or_else(|| "the EHR setup did not run".to_owned())
    }
}

/// Submits and waits for the commit; the chaincode's result when VALID.
async fn submit(contract: &Contract, function: &str, args: &[String]) -> Result<Vec<u8>, String> {
    let submitted = contract
        .submit_async(function, args)
        .await
        .map_err(|e| first_line(&e))?;
    let status = submitted.status().await.map_err(|e| first_line(&e))?;
    if status.is_valid() {
        Ok(submitted.result)
    } else {
        Err(format!("committed {}", status.code.name()))
    }
}

/// The `put_record` argument of synthetic record `rid` of patient `p`
/// (the metadata scheme of `healthblock record bench-load`).
fn put_args(ehr: &Ehr, rid: &str, p: usize) -> Result<String> {
    let args = PutArgs {
        record_id: RecordId::parse(rid)?,
        patient_id: ehr.pids[p].clone(),
        version: 1,
        resource_type: ehr.resource_type.clone(),
        ciphertext_sha256: Sha256Hex::parse(&hex::encode(Sha256::digest(rid.as_bytes())))?,
        size: 1u64 << 20,
        storage_pointer: StoragePointer::parse(&format!("synthetic:{rid}"))?,
        blind_index: vec![
            ehr.patient_tokens[p].clone(),
            ehr.type_token.clone(),
            ehr.month_token.clone(),
        ],
        wraps: Vec::new(),
    };
    Ok(serde_json::to_string(&args)?)
}

/// The fingerprint of the acting user's published encryption key, which
/// `request_access` must name. A user without one publishes their own (the
/// pair from this machine's key store, as `keydir publish` does).
async fn published_fingerprint(
    contract: &Contract,
    keys: &healthblock_sdk::FsKeyStore,
) -> Result<String> {
    use healthblock_sdk::types::keydir::PublishedKey;
    use healthblock_sdk::types::results::WhoAmI;
    use healthblock_sdk::KeyStore as _;
    let me: WhoAmI = serde_json::from_slice(&contract.evaluate(f::WHOAMI, [""; 0]).await?)?;
    let published = match contract.evaluate(f::GET_KEY, [me.user.as_str()]).await {
        Ok(bytes) => serde_json::from_slice::<PublishedKey>(&bytes)?,
        Err(e) if code_of(&e) == Some(ErrorCode::NotFound) => {
            let key = keys.public_key(healthblock_sdk::KeyOwner::User(&me.user))?;
            let pem = key.to_pem()?;
            serde_json::from_slice(&contract.submit(f::PUBLISH_KEY, [pem.as_str()]).await?)?
        }
        Err(e) => return Err(e.into()),
    };
    if published.revoked_at.is_some() {
        bail!(
            "the published encryption key of {} is revoked: publish a new one (`healthblock keydir rotate`)",
            me.user
        );
    }
    Ok(published.fingerprint)
}

async fn prepare_ehr(ctx: &Context, driver: &Driver, sizes: SetupSizes) -> Result<Ehr> {
    debug_assert!(driver.workload.is_ehr());
    let keys = key_store(ctx);
    let patients = sizes.patients.max(1);
    let pids: Vec<PatientId> = (0..patients)
        .map(|n| synthetic_patient_id(&format!("{} patient {n}", driver.run_id)))
        .collect();
    let index = index_key(&keys)?;
    let token = |field, term: &str| -> Result<IndexToken> {
        Ok(IndexToken::parse(&index.token(field, term)?)?)
    };
    let resource_type = ResourceType::parse("Observation")?;
    let mut ehr = Ehr {
        patient_tokens: pids
            .iter()
            .map(|p| token(SearchField::PatientPseudonym, p.as_str()))
            .collect::<Result<Vec<_>>>()?,
        type_token: token(SearchField::RecordType, resource_type.as_str())?,
        month_token: token(SearchField::DateMonth, "2026-01")?,
        resource_type,
        pids,
        records: Vec::new(),
        fingerprint: String::new(),
    };
    if driver.workload == Workload::EhrRequestAccess {
        ehr.fingerprint = published_fingerprint(&driver.contracts[0], &keys).await?;
    }
    let register = {
        let pids = ehr.pids.clone();
        setup_all(&driver.contracts, patients, sizes.concurrency, move |n| {
            Ok((f::REGISTER_PATIENT, vec![pids[n as usize].to_string()]))
        })
    };
    register
        .await
        .map_err(|e| anyhow!("registering the benchmark's patients: {e}"))?;
    if matches!(
        driver.workload,
        Workload::EhrRequestAccess | Workload::EhrListByPatient
    ) {
        let n = sizes.records.max(1);
        let ids: Vec<String> = (0..n)
            .map(|i| format!("{}-setup-r{i}", driver.run_id))
            .collect();
        let args = ids
            .iter()
            .enumerate()
            .map(|(i, rid)| put_args(&ehr, rid, i % patients as usize))
            .collect::<Result<Vec<String>>>()?;
        let args = Arc::new(args);
        setup_all(&driver.contracts, n, sizes.concurrency, move |i| {
            Ok((f::PUT_RECORD, vec![args[i as usize].clone()]))
        })
        .await
        .map_err(|e| anyhow!("writing the records the workload reads: {e}"))?;
        ehr.records = ids
            .iter()
            .map(|r| RecordId::parse(r))
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(ehr)
}

/// Submits `total` transactions `make(i)` over `concurrency` workers, each
/// waiting for its VALID commit; fails with the first failure.
async fn setup_all<F>(contracts: &[Contract], total: u64, concurrency: usize, make: F) -> Result<()>
where
    F: Fn(u64) -> Result<(&'static str, Vec<String>)> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let mut tasks = Vec::new();
    for w in 0..concurrency.max(1) {
        let contract = contracts[w % contracts.len()].clone();
        let (make, next, first_error) = (make.clone(), next.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return;
                }
                let outcome = match make(i) {
                    Ok((function, args)) => async {
                        contract
                            .submit_async(function, &args)
                            .await?
                            .status()
                            .await?
                            .ensure_valid()?;
                        Ok(())
                    }
                    .await
                    .map_err(|e: fabric_client::Error| (first_line(&e), code_of(&e))),
                    Err(e) => Err((format!("{e:#}"), None)),
                };
                if let Err((text, code)) = outcome {
                    if code != Some(ErrorCode::Conflict) {
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert(text);
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| anyhow!("a setup worker failed: {e}"))?;
    }
    match first_error.lock().ok().and_then(|e| e.clone()) {
        Some(e) => bail!("{e}"),
        None => Ok(()),
    }
}
