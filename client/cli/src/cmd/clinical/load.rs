//! `healthblock record bench-load`: the EHR benchmark's ledger loader. It
//! registers synthetic patients and submits `put_record` transactions for
//! synthetic record versions at high concurrency through the Gateway, so a
//! benchmark can measure listings against a ledger holding many records of
//! many patients.
//!
//! The metadata is synthetic and says so: no blob is encrypted or stored,
//! the ciphertext hash is the SHA-256 of the record id and the storage
//! pointer is `synthetic:<record id>`. The blind-index tokens are real (the
//! consortium index key), so `record list --patient` finds the records
//! exactly as it finds real ones. Patients are labelled `<prefix> patient <n>`
//! and their ids derived from the label ([`synthetic_patient_id`]), so a run
//! can resume; real patients get random ids.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Result};
use fabric_client::contract::Contract;
use healthblock_sdk::keys::index_key;
use healthblock_sdk::types::args::PutArgs;
use healthblock_sdk::types::code::ErrorCode;
use healthblock_sdk::types::functions as f;
use healthblock_sdk::types::model::{
    IndexToken, PatientId, RecordId, ResourceType, Sha256Hex, StoragePointer,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sha2::{Digest, Sha256};
use wbcb::SearchField;

use super::{key_store, Actor};
use crate::cmd::tx;
use crate::context::Context;
use crate::output;

/// Options of the loader.
#[derive(clap::Args, Debug)]
pub(crate) struct LoadArgs {
    /// A doctor, nurse or admin of the hospital that becomes the patients' home.
    #[command(flatten)]
    actor: Actor,
    /// Record versions to submit.
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Patients to spread them over (record n belongs to patient n mod this).
    #[arg(long, default_value_t = 1_000)]
    patients: u64,
    /// Transactions in flight.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// gRPC connections to the gateway peer, shared by the workers.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Names patients `<prefix> patient <n>` and records `<prefix>-r<n>`.
    #[arg(long, default_value = "bench")]
    prefix: String,
}

/// The loader's summary.
#[derive(Serialize, Debug)]
struct Summary {
    synthetic_metadata: bool,
    patients: u64,
    records: u64,
    committed: u64,
    failed: u64,
    seconds: f64,
    committed_per_second: f64,
    first_error: Option<String>,
    /// Patient 0: its name, id and how many records it got.
    sample_patient: SamplePatient,
}

#[derive(Serialize, Debug)]
struct SamplePatient {
    name: String,
    pseudonym: String,
    records: u64,
}

/// Shared state of the workers.
struct Work {
    next: AtomicU64,
    committed: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<(String, Option<ErrorCode>)>>,
    bar: ProgressBar,
}

impl Work {
    fn new(total: u64, what: &str) -> Arc<Work> {
        let bar = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {pos}/{len} {per_sec} eta {eta} ({elapsed})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        Arc::new(Work {
            next: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            bar,
        })
    }

    /// Counts one transaction; a failure keeps its text and the contract's code.
    fn record(&self, outcome: Result<(), (String, Option<ErrorCode>)>) {
        match outcome {
            Ok(()) => {
                self.committed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert(e);
                }
            }
        }
        self.bar.inc(1);
    }
}

pub(crate) async fn run(ctx: &Context, a: LoadArgs) -> Result<()> {
    if a.patients == 0 || a.records == 0 {
        bail!("--patients and --records must be at least 1");
    }
    let mut contracts = Vec::new();
    for _ in 0..a.connections.max(1) {
        let gw = tx::connect(ctx, &a.actor.who, a.actor.peer.as_deref()).await?;
        contracts.push(
            gw.network(&ctx.consortium.channel)
                .contract(&a.actor.chaincode),
        );
    }
    let names: Vec<String> = (0..a.patients)
        .map(|n| format!("{} patient {n}", a.prefix))
        .collect();
    let keys = key_store(ctx);
    let pids: Vec<PatientId> = names
        .iter()
        .map(|name| synthetic_patient_id(name))
        .collect();
    let index = index_key(&keys)?;
    let token = |field, term: &str| -> Result<IndexToken> {
        Ok(IndexToken::parse(&index.token(field, term)?)?)
    };
    let month = token(SearchField::DateMonth, "2026-01")?;
    let rtype = ResourceType::parse("Observation")?;
    let type_token = token(SearchField::RecordType, rtype.as_str())?;
    let patient_tokens = pids
        .iter()
        .map(|p| token(SearchField::PatientPseudonym, p.as_str()))
        .collect::<Result<Vec<_>>>()?;

    // Patients first (an existing one is fine: the loader may resume).
    let pids = Arc::new(pids);
    let register = Work::new(a.patients, "patients");
    let started = Instant::now();
    spawn_workers(&contracts, a.concurrency, a.patients, &register, {
        let pids = pids.clone();
        move |n| Ok((f::REGISTER_PATIENT, pids[n as usize].to_string()))
    })
    .await;
    register.bar.finish();
    if register.committed.load(Ordering::Relaxed) == 0 {
        if let Ok(first) = register.first_error.lock() {
            // Patients registered by an earlier run are a conflict, which is fine.
            if let Some((e, _)) = first
                .as_ref()
                .filter(|(_, code)| *code != Some(ErrorCode::Conflict))
            {
                bail!("no patient could be registered: {e}");
            }
        }
    }

    let load = Work::new(a.records, "records");
    let prefix = a.prefix.clone();
    let tokens = Arc::new(patient_tokens);
    spawn_workers(&contracts, a.concurrency, a.records, &load, {
        let (pids, patients) = (pids.clone(), a.patients);
        move |n| {
            let p = (n % patients) as usize;
            let rid = format!("{prefix}-r{n}");
            let args = PutArgs {
                record_id: RecordId::parse(&rid)?,
                patient_id: pids[p].clone(),
                version: 1,
                resource_type: rtype.clone(),
                ciphertext_sha256: Sha256Hex::parse(&hex::encode(Sha256::digest(rid.as_bytes())))?,
                size: 1u64 << 20,
                storage_pointer: StoragePointer::parse(&format!("synthetic:{rid}"))?,
                blind_index: vec![tokens[p].clone(), type_token.clone(), month.clone()],
                wraps: Vec::new(),
            };
            Ok((f::PUT_RECORD, serde_json::to_string(&args)?))
        }
    })
    .await;
    load.bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    let committed = load.committed.load(Ordering::Relaxed);
    let summary = Summary {
        synthetic_metadata: true,
        patients: a.patients,
        records: a.records,
        committed,
        failed: load.failed.load(Ordering::Relaxed),
        seconds,
        committed_per_second: committed as f64 / seconds,
        first_error: load
            .first_error
            .lock()
            .ok()
            .and_then(|e| e.as_ref().map(|(text, _)| text.clone())),
        sample_patient: SamplePatient {
            name: names[0].clone(),
            pseudonym: pids[0].to_string(),
            records: a.records.div_ceil(a.patients),
        },
    };
    output::json(&summary)?;
    if summary.failed > 0 {
        bail!(
            "{} of {} put_record transactions failed (first: {})",
            summary.failed,
            a.records,
            summary.first_error.as_deref().unwrap_or("?")
        );
    }
    Ok(())
}

/// Runs `total` transactions `make(n)` = (function, argument) over
/// `concurrency` workers sharing `contracts`; each waits for its commit.
async fn spawn_workers<F>(
    contracts: &[Contract],
    concurrency: usize,
    total: u64,
    work: &Arc<Work>,
    make: F,
) where
    F: Fn(u64) -> Result<(&'static str, String)> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let mut tasks = Vec::new();
    for w in 0..concurrency.max(1) {
        let contract = contracts[w % contracts.len()].clone();
        let (work, make) = (work.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let n = work.next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return;
                }
                let outcome = match make(n) {
                    Ok((function, arg)) => async {
                        let submitted = contract.submit_async(function, [arg.as_str()]).await?;
                        submitted.status().await?.ensure_valid()?;
                        Ok(())
                    }
                    .await
                    .map_err(|e: fabric_client::Error| {
                        (e.to_string(), healthblock_sdk::code_of(&e))
                    }),
                    Err(e) => Err((format!("{e:#}"), None)),
                };
                work.record(outcome);
            }
        }));
    }
    for t in tasks {
        // A panicked worker leaves its remaining items uncounted; the
        // summary's counts show it.
        let _ = t.await;
    }
}

/// The id of a synthetic benchmark patient: SHA-256 of its label, so a
/// loader run can resume with the same patients. Real patients get random
/// ids ([`healthblock_sdk::mpi::new_patient_id`]); these labels are no names.
pub(crate) fn synthetic_patient_id(label: &str) -> PatientId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"healthblock/synthetic-patient/v1\0")
        .chain_update(label.as_bytes())
        .finalize();
    PatientId::parse(&hex::encode(digest)).expect("a SHA-256 in hex is a patient id")
}
