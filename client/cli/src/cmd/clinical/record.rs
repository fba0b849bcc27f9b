//! `healthblock record put|get|list|history|verify`: encrypted record
//! versions, through the client SDK (which encrypts before anything leaves
//! this machine, and decrypts after an audited access request).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use healthblock_sdk::types::model::{RecordId, ResourceType};
use healthblock_sdk::types::time::rfc3339;
use healthblock_sdk::{NewVersion, Plaintext, Sink, Written};
use serde_json::json;

use super::{connect, pseudonym, Actor};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub(crate) enum RecordCmd {
    /// Encrypt a file and store it as a new record, or the next version of one.
    Put(PutArgs),
    /// Request access (audited), fetch, verify and decrypt a record version.
    Get {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        record: String,
        /// Version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
        /// Write the plaintext here (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Find records through the blind index, by patient and/or type.
    List {
        #[command(flatten)]
        actor: Actor,
        #[arg(long, required_unless_present = "type")]
        patient: Option<String>,
        /// FHIR resource type, e.g. Observation.
        #[arg(long = "type")]
        r#type: Option<String>,
    },
    /// Every version of a record, from the ledger's history.
    History {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        record: String,
    },
    /// Benchmark loader: synthetic patients and record metadata submitted at
    /// high concurrency (no blobs; see `bench/ehr`).
    BenchLoad(super::load::LoadArgs),
    /// Check a stored blob against the ledger; prints the writing transaction,
    /// its block and validation code. A mismatch prints TAMPERED and fails.
    Verify {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        record: String,
        /// Version (default: the latest).
        #[arg(long)]
        version: Option<u64>,
    },
}

#[derive(clap::Args, Debug)]
pub(crate) struct PutArgs {
    #[command(flatten)]
    actor: Actor,
    /// The patient's pseudonym.
    #[arg(long)]
    patient: String,
    /// FHIR resource type of the file (Observation, ImagingStudy, Media, ...).
    #[arg(long = "type")]
    r#type: String,
    /// Record id; an existing id gets its next version (default: a new id).
    #[arg(long)]
    record_id: Option<String>,
    /// The plaintext file.
    file: PathBuf,
}

pub(crate) async fn run(ctx: &Context, cmd: RecordCmd) -> Result<()> {
    match cmd {
        RecordCmd::Put(a) => put(ctx, a).await,
        RecordCmd::Get {
            actor,
            record,
            version,
            out,
        } => get(ctx, &actor, &record, version, out).await,
        RecordCmd::List {
            actor,
            patient,
            r#type,
        } => list(ctx, &actor, patient.as_deref(), r#type.as_deref()).await,
        RecordCmd::History { actor, record } => {
            let client = connect(ctx, &actor).await?;
            let history = client.record_history(&RecordId::parse(&record)?).await?;
            output::json(&history)
        }
        RecordCmd::Verify {
            actor,
            record,
            version,
        } => verify(ctx, &actor, &record, version).await,
        RecordCmd::BenchLoad(a) => super::load::run(ctx, a).await,
    }
}

async fn put(ctx: &Context, a: PutArgs) -> Result<()> {
    let new = NewVersion {
        patient: pseudonym(&a.patient)?,
        resource_type: ResourceType::parse(&a.r#type)?,
        record_id: a.record_id.as_deref().map(RecordId::parse).transpose()?,
        plaintext: Plaintext::File(a.file.clone()),
    };
    let client = connect(ctx, &a.actor).await?;
    let stored = client.put_record(new).await?;
    let meta = &stored.record.value.meta;
    if a.actor.json {
        return output::json(&json!({
            "record_id": meta.record_id,
            "version": meta.version,
            "txid": stored.record.txid,
            "block": stored.record.block,
            "wraps": stored.wraps,
            "record": stored.record.value,
        }));
    }
    output::step(format!(
        "stored {} version {}: {} bytes of ciphertext, {} wrap(s), tx {} in block {}",
        meta.record_id,
        meta.version,
        meta.size,
        stored.wraps,
        stored.record.txid,
        stored.record.block
    ));
    println!("{}", meta.record_id);
    Ok(())
}

async fn get(
    ctx: &Context,
    actor: &Actor,
    record: &str,
    version: Option<u64>,
    out: Option<PathBuf>,
) -> Result<()> {
    let rid = RecordId::parse(record)?;
    let client = connect(ctx, actor).await?;
    let read = match &out {
        Some(path) => client.read_record(&rid, version, Sink::File(path)).await?,
        None => {
            let mut stdout = std::io::stdout();
            client
                .read_record(&rid, version, Sink::Writer(&mut stdout))
                .await?
        }
    };
    let access = &read.access.value;
    let break_glass = access.grant.as_ref().is_some_and(|g| g.break_glass);
    if actor.json {
        return output::json(&json!({
            "record_id": access.record_id,
            "version": access.version,
            "access_tx": access.tx_id,
            "reason": access.reason,
            "break_glass": break_glass,
            "bytes": read.bytes,
            "out": out.map(|p| p.display().to_string()),
        }));
    }
    output::step(format!(
        "{} v{}: access granted ({}), {} bytes decrypted, hash verified",
        access.record_id, access.version, access.reason, read.bytes
    ));
    Ok(())
}

async fn list(
    ctx: &Context,
    actor: &Actor,
    patient: Option<&str>,
    rtype: Option<&str>,
) -> Result<()> {
    let patient = patient.map(pseudonym).transpose()?;
    let rtype = rtype.map(ResourceType::parse).transpose()?;
    if patient.is_none() && rtype.is_none() {
        bail!("give --patient or --type");
    }
    let client = connect(ctx, actor).await?;
    let records = client
        .search_records(patient.as_ref(), rtype.as_ref())
        .await?;
    if actor.json {
        return output::json(&records);
    }
    println!(
        "{:<24} {:>3} {:<16} {:>12}  {:<28} TIME",
        "RECORD", "VER", "TYPE", "BYTES", "AUTHOR"
    );
    for r in &records {
        println!(
            "{:<24} {:>3} {:<16} {:>12}  {:<28} {}",
            r.record_id.as_str(),
            r.version,
            r.resource_type.as_str(),
            r.size,
            r.author.user,
            rfc3339(r.tx_time.0),
        );
    }
    output::step(format!("{} record(s)", records.len()));
    Ok(())
}

async fn verify(ctx: &Context, actor: &Actor, record: &str, version: Option<u64>) -> Result<()> {
    let rid = RecordId::parse(record)?;
    let client = connect(ctx, actor).await?;
    let report = client.verify_record(&rid, version).await.map_err(|e| {
        let hint = matches!(e, healthblock_sdk::SdkError::Block { .. }).then_some(
            "record verify reads the block of the transaction that wrote the version, and the \
             channel's ACLs give blocks to peers and admins only: run it as your hospital's \
             admin (--as Admin@ORG)",
        );
        let e = anyhow::Error::from(e);
        match hint {
            Some(h) => e.context(h),
            None => e,
        }
    })?;
    let v = &report.verification;
    let intact = report.intact();
    let verdict = if intact { "OK" } else { "TAMPERED" };
    let detail = match &report.stored {
        Ok(h) => h.clone(),
        Err(e) => e.to_string(),
    };
    let written = match &report.written {
        Written::Hash(h) => h.clone(),
        Written::NotFound(why) => why.clone(),
    };
    if actor.json {
        output::json(&json!({
            "record_id": v.record_id,
            "version": v.version,
            "verdict": verdict,
            "ledger_sha256": v.ciphertext_sha256,
            "write_set_sha256_or_error": written,
            "stored_sha256_or_error": detail,
            "size": v.size,
            "txid": report.commit.txid,
            "block": report.commit.block_number,
            "validation_code": report.commit.code.name(),
        }))?;
    } else {
        println!("record:          {} version {}", v.record_id, v.version);
        println!("ledger sha256:   {}", v.ciphertext_sha256);
        println!("written (block): {written}");
        println!("stored blob:     {detail}");
        println!("written by tx:   {}", report.commit.txid);
        println!("block:           {}", report.commit.block_number);
        println!("validation code: {}", report.commit.code.name());
        println!("verdict:         {verdict}");
    }
    if !intact {
        let (rid, n, ledger) = (&v.record_id, v.version, v.ciphertext_sha256.as_str());
        if !report.commit.is_valid() {
            bail!("TAMPERED: the transaction that wrote {rid} v{n} is not VALID");
        }
        if report.written.hash() != Some(ledger) {
            bail!("TAMPERED: the ledger's hash of {rid} v{n} is not the one its writing transaction wrote ({written})");
        }
        bail!("TAMPERED: the stored blob of {rid} v{n} does not match the ledger");
    }
    Ok(())
}
