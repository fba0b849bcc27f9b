//! `healthblock record put|get|list|history|verify`: encrypted record
//! versions. The plaintext never leaves this machine: `put` encrypts with a
//! fresh data key per version (WBCB), stores the ciphertext and one wrap per
//! recipient in the object store, and writes only metadata to the ledger;
//! `get` asks the contract for access (audited), then fetches, checks and
//! decrypts.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use clap::Subcommand;
use healthblock_store::{BlobHash, FsStore, ObjectStore, WrapName};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use wbcb::{
    DataKey, EncryptOptions, EncryptionPublicKey, EncryptionSecretKey, Header, KeyWrap,
    RecordContext, SearchField,
};

use super::consent::active_consents;
use super::{all_pages, blob_hash, check_pseudonym, keys, open_store, Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub enum RecordCmd {
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
pub struct PutArgs {
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

/// Record metadata as the contract returns it (the fields used here).
#[derive(Deserialize, Debug, Clone)]
pub struct Metadata {
    pub record_id: String,
    pub version: u64,
    pub patient_id: String,
    pub resource_type: String,
    pub ciphertext_sha256: String,
    pub size: u64,
}

/// The answer to `request_access`.
#[derive(Deserialize, Debug)]
pub struct AccessAnswer {
    pub granted: bool,
    pub reason: String,
    pub tx_id: String,
    pub record_id: String,
    pub version: u64,
    #[serde(default)]
    pub ciphertext_sha256: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub patient_id: Option<String>,
    #[serde(default)]
    pub wrap: Option<String>,
    #[serde(default)]
    pub break_glass: bool,
}

pub async fn run(ctx: &Context, cmd: RecordCmd) -> Result<()> {
    match cmd {
        RecordCmd::Put(a) => put(ctx, a).await,
        RecordCmd::Get {
            actor,
            record,
            version,
            out,
        } => get(ctx, &actor, &record, version, out.as_deref()).await,
        RecordCmd::List {
            actor,
            patient,
            r#type,
        } => list(ctx, &actor, patient.as_deref(), r#type.as_deref()).await,
        RecordCmd::History { actor, record } => {
            let session = Session::open(ctx, &actor).await?;
            let history: Value = session.evaluate_json("record_history", &[record]).await?;
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

fn bar(what: &str, total: u64) -> ProgressBar {
    // Small files and non-terminals get no bar.
    if total < 8 << 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// The latest version of a record, or `None` when the id is new.
pub async fn latest(session: &Session<'_>, record_id: &str) -> Result<Option<Metadata>> {
    match session
        .evaluate_json::<Metadata>("get_record", &[record_id.to_owned()])
        .await
    {
        Ok(m) => Ok(Some(m)),
        Err(e) if format!("{e:#}").contains("not found") => Ok(None),
        Err(e) => Err(e),
    }
}

/// One version's metadata.
pub async fn version_of(session: &Session<'_>, record_id: &str, version: u64) -> Result<Metadata> {
    session
        .evaluate_json("get_record", &[record_id.to_owned(), version.to_string()])
        .await
}

/// Who a new version is wrapped to: the author, the patient, the home
/// hospital, and every active consent grantee covering the record. Revoked
/// or expired consents are left out, which is what re-keys after a revocation.
async fn recipients(
    session: &Session<'_>,
    pid: &str,
    record_id: &str,
    rtype: &str,
) -> Result<Vec<EncryptionPublicKey>> {
    let ctx = session.ctx;
    let mut keys = vec![
        keys::user_public(ctx, &session.actor.who)?,
        keys::patient_key(ctx, pid)?.public_key().clone(),
        keys::hospital_key(ctx, &session.mspid)?
            .public_key()
            .clone(),
    ];
    for consent in active_consents(session, pid).await? {
        if consent.covers(record_id, rtype) {
            keys.push(consent.grantee_key(ctx)?);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|k| seen.insert(k.fingerprint().to_hex()));
    Ok(keys)
}

fn current_month() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}", now.year(), u8::from(now.month()))
}

/// Encrypts `file` into a temporary file; returns it with the data key.
fn encrypt_to_temp(
    file: &Path,
    context: &RecordContext,
    dir: &Path,
) -> Result<(tempfile::NamedTempFile, DataKey)> {
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let len = input.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = bar("encrypt", len);
    let key = DataKey::generate();
    let temp = tempfile::Builder::new()
        .prefix(".hb-encrypt-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
    wbcb::encrypt_stream(
        &key,
        context,
        EncryptOptions::default(),
        progress.wrap_read(BufReader::new(input)),
        &mut writer,
    )
    .with_context(|| format!("encrypting {}", file.display()))?;
    writer.flush()?;
    drop(writer);
    progress.finish_and_clear();
    Ok((temp, key))
}

async fn upload(store: &dyn ObjectStore, path: &Path) -> Result<healthblock_store::BlobInfo> {
    let file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let progress = bar("store", len);
    let mut reader = progress.wrap_async_read(tokio::io::BufReader::new(file));
    let info = store.put_blob(&mut reader).await?;
    progress.finish_and_clear();
    Ok(info)
}

/// Files up to this size are encrypted in memory (no temporary file); larger
/// ones stream through a temporary file in constant memory.
const IN_MEMORY_LIMIT: u64 = 8 << 20;

/// Encrypts `file` for `context` and stores the ciphertext; returns the
/// blob's address and size, and the data key.
async fn encrypt_and_store(
    store: &FsStore,
    file: &Path,
    context: &RecordContext,
) -> Result<(healthblock_store::BlobInfo, DataKey)> {
    let len = std::fs::metadata(file)
        .with_context(|| format!("cannot open {}", file.display()))?
        .len();
    let (file, context, dir) = (
        file.to_path_buf(),
        context.clone(),
        store.root().to_path_buf(),
    );
    if len <= IN_MEMORY_LIMIT {
        let (ciphertext, key) =
            tokio::task::spawn_blocking(move || encrypt_to_memory(&file, &context, len))
                .await
                .context("the encryption task failed")??;
        let info = store.put_blob(&mut ciphertext.as_slice()).await?;
        return Ok((info, key));
    }
    let (temp, key) = tokio::task::spawn_blocking(move || encrypt_to_temp(&file, &context, &dir))
        .await
        .context("the encryption task failed")??;
    let info = upload(store, temp.path()).await?;
    drop(temp);
    Ok((info, key))
}

/// Encrypts a small file into memory.
fn encrypt_to_memory(file: &Path, context: &RecordContext, len: u64) -> Result<(Vec<u8>, DataKey)> {
    let input = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let key = DataKey::generate();
    // Ciphertext = header + plaintext + a tag per chunk: a little over len.
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0) + (64 << 10));
    wbcb::encrypt_stream(
        &key,
        context,
        EncryptOptions::default(),
        BufReader::new(input),
        &mut out,
    )
    .with_context(|| format!("encrypting {}", file.display()))?;
    Ok((out, key))
}

/// Seals the data key for every recipient and stores the wraps beside the
/// blob (concurrently: each is its own durable write). Returns their names.
async fn store_wraps(
    store: &FsStore,
    blob: &BlobHash,
    key: &DataKey,
    context: &RecordContext,
    recipients: &[EncryptionPublicKey],
) -> Result<Vec<String>> {
    let mut sealed = Vec::with_capacity(recipients.len());
    for recipient in recipients {
        let wrap = KeyWrap::seal(key, context, recipient)?;
        let name: WrapName = recipient.fingerprint().to_hex().parse()?;
        sealed.push((name, wrap.to_bytes()));
    }
    futures::future::try_join_all(
        sealed
            .iter()
            .map(|(name, bytes)| store.put_wrap(blob, name, bytes)),
    )
    .await?;
    Ok(sealed
        .into_iter()
        .map(|(n, _)| n.as_str().to_owned())
        .collect())
}

async fn put(ctx: &Context, a: PutArgs) -> Result<()> {
    let pid = check_pseudonym(&a.patient)?;
    let session = Session::open(ctx, &a.actor).await?;
    let record_id = a.record_id.clone().unwrap_or_else(new_record_id);
    let previous = latest(&session, &record_id).await?;
    if let Some(p) = &previous {
        if p.patient_id != pid {
            bail!("record {record_id} belongs to another patient");
        }
    }
    let version = previous.as_ref().map_or(1, |p| p.version + 1);
    let context = RecordContext::new(record_id.clone(), version, pid.clone())?;
    let store = open_store(ctx).await?;
    // Who gets a wrap is a ledger query; encryption does not depend on it.
    let (recipients, (info, key)) = tokio::try_join!(
        recipients(&session, &pid, &record_id, &a.r#type),
        encrypt_and_store(&store, &a.file, &context),
    )?;
    let fingerprints = store_wraps(&store, &info.hash, &key, &context, &recipients).await?;
    let index = keys::index_key(ctx)?;
    let tokens = vec![
        index.token(SearchField::PatientPseudonym, &pid)?,
        index.token(SearchField::RecordType, &a.r#type)?,
        index.token(SearchField::DateMonth, &current_month())?,
    ];
    let args = json!({
        "record_id": record_id,
        "patient_id": pid,
        "version": version,
        "resource_type": a.r#type,
        "ciphertext_sha256": info.hash.to_hex(),
        "size": info.size,
        "storage_pointer": format!("hbstore:blobs/{}", info.hash),
        "blind_index": tokens,
        "wraps": fingerprints,
    });
    let (stored, committed): (Value, _) = session
        .submit_json("put_record", &[args.to_string()])
        .await?;
    if a.actor.json {
        return output::json(&json!({
            "record_id": record_id,
            "version": version,
            "txid": committed.txid,
            "block": committed.block,
            "wraps": recipients.len(),
            "record": stored,
        }));
    }
    output::step(format!(
        "stored {record_id} version {version}: {} bytes of ciphertext, {} wrap(s), tx {} in block {}",
        info.size,
        recipients.len(),
        committed.txid,
        committed.block
    ));
    println!("{record_id}");
    Ok(())
}

fn new_record_id() -> String {
    let mut bytes = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
    format!("rec-{}", hex::encode(bytes))
}

/// The keys the acting user may open wraps with: their own, their
/// patient key if they are a patient, their hospital's key if they are staff.
pub async fn my_keys(session: &Session<'_>) -> Result<Vec<EncryptionSecretKey>> {
    #[derive(Deserialize)]
    struct WhoAmI {
        role: String,
        #[serde(default)]
        pseudonym: Option<String>,
    }
    let ctx = session.ctx;
    let me: WhoAmI = session.evaluate_json("whoami", &[]).await?;
    let mut keys = vec![keys::user_key(ctx, &session.actor.who)?];
    if let Some(p) = me.pseudonym.filter(|_| me.role == "patient") {
        keys.push(keys::patient_key(ctx, &p)?);
    }
    if matches!(me.role.as_str(), "doctor" | "nurse" | "admin") {
        keys.push(keys::hospital_key(ctx, &session.mspid)?);
    }
    Ok(keys)
}

/// Opens the data key of a blob with the first of `mine` that has a wrap.
pub async fn open_data_key(
    store: &dyn ObjectStore,
    hash: &BlobHash,
    context: &RecordContext,
    mine: &[EncryptionSecretKey],
) -> Result<Option<DataKey>> {
    for secret in mine {
        let name: WrapName = secret.public_key().fingerprint().to_hex().parse()?;
        let Ok(bytes) = store.get_wrap(hash, &name).await else {
            continue;
        };
        let wrap = KeyWrap::from_bytes(&bytes)?;
        return Ok(Some(wrap.open(secret, context)?));
    }
    Ok(None)
}

/// Submits the audited access request for the user's own key.
pub async fn request_access(
    session: &Session<'_>,
    record: &str,
    version: Option<u64>,
) -> Result<AccessAnswer> {
    let fingerprint = keys::user_public(session.ctx, &session.actor.who)?
        .fingerprint()
        .to_hex();
    let args = [
        record.to_owned(),
        version.map(|v| v.to_string()).unwrap_or_default(),
        fingerprint,
    ];
    let (answer, _) = session.submit_json("request_access", &args).await?;
    Ok(answer)
}

/// Downloads a blob to a temporary file, checking its SHA-256.
async fn download(
    store: &dyn ObjectStore,
    hash: &BlobHash,
    size: u64,
    dir: &Path,
) -> Result<tempfile::NamedTempFile> {
    let mut reader = store.get_blob(hash).await?;
    let temp = tempfile::Builder::new()
        .prefix(".hb-fetch-")
        .tempfile_in(dir)?;
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::from_std(temp.reopen()?));
    let progress = bar("fetch", size);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader
            .read(&mut buf)
            .await
            .with_context(|| format!("reading blob {hash}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tokio::io::AsyncWriteExt::write_all(&mut file, &buf[..n]).await?;
        progress.inc(n as u64);
    }
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    progress.finish_and_clear();
    let digest: [u8; 32] = hasher.finalize().into();
    if digest != hash.0 {
        bail!("TAMPERED: blob {hash} does not match the hash on the ledger");
    }
    Ok(temp)
}

async fn get(
    ctx: &Context,
    actor: &Actor,
    record: &str,
    version: Option<u64>,
    out: Option<&Path>,
) -> Result<()> {
    let session = Session::open(ctx, actor).await?;
    // The caller's keys are looked up while the request commits.
    let (answer, mine) =
        tokio::try_join!(request_access(&session, record, version), my_keys(&session))?;
    if !answer.granted {
        bail!(
            "access denied: {} (audited in tx {})",
            answer.reason,
            answer.tx_id
        );
    }
    let plain_len = open_granted(&session, &answer, &mine, out).await?;
    if actor.json {
        return output::json(&json!({
            "record_id": answer.record_id,
            "version": answer.version,
            "access_tx": answer.tx_id,
            "reason": answer.reason,
            "break_glass": answer.break_glass,
            "bytes": plain_len,
            "out": out.map(|p| p.display().to_string()),
        }));
    }
    output::step(format!(
        "{} v{}: access granted ({}), {plain_len} bytes decrypted, hash verified",
        answer.record_id, answer.version, answer.reason
    ));
    Ok(())
}

/// After a granted access request: fetches the blob, checks its hash against
/// the grant, opens the data key with one of the caller's wraps and decrypts
/// into `out` (or stdout). `mine` are the caller's keys ([`my_keys`]).
/// Returns the plaintext length.
pub async fn open_granted(
    session: &Session<'_>,
    answer: &AccessAnswer,
    mine: &[EncryptionSecretKey],
    out: Option<&Path>,
) -> Result<u64> {
    let hex = answer
        .ciphertext_sha256
        .as_deref()
        .ok_or_else(|| anyhow!("the access grant carries no blob hash"))?;
    let hash = blob_hash(hex)?;
    let store = open_store(session.ctx).await?;
    // Grants name the patient and size; an older contract's do not.
    let (patient_id, size) = match (&answer.patient_id, answer.size) {
        (Some(p), Some(size)) => (p.clone(), size),
        _ => {
            let meta = version_of(session, &answer.record_id, answer.version).await?;
            (meta.patient_id, meta.size)
        }
    };
    let context = RecordContext::new(answer.record_id.clone(), answer.version, patient_id)?;
    let key = open_data_key(&store, &hash, &context, mine)
        .await?
        .ok_or_else(|| {
            anyhow!(
                "access granted ({}), but version {} of {} holds no key wrap for you or your hospital: \
                 its data key was never shared with you (or your share was revoked; after a \
                 break-glass, the home hospital's custodian delivers it: `breakglass fulfil`)",
                answer.reason,
                answer.version,
                answer.record_id
            )
        })?;
    let blob = download(&store, &hash, size, store.root()).await?;
    decrypt_file(&key, blob.path(), &context, out)
}

/// Decrypts a blob file into `out` (atomically) or stdout.
fn decrypt_file(
    key: &DataKey,
    blob: &Path,
    context: &RecordContext,
    out: Option<&Path>,
) -> Result<u64> {
    let open = || -> Result<(BufReader<File>, u64)> {
        let f = File::open(blob)?;
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok((BufReader::new(f), len))
    };
    let (mut input, _) = open()?;
    let (header, _) = Header::read_from(&mut input)?;
    if header.context != *context {
        bail!("the blob is {}, not {context}", header.context);
    }
    let (input, len) = open()?;
    let progress = bar("decrypt", len);
    let Some(out) = out else {
        let stdout = std::io::stdout();
        let mut w = BufWriter::new(stdout.lock());
        let (_, n) = wbcb::decrypt_stream(key, progress.wrap_read(input), &mut w, Some(context))?;
        w.flush()?;
        return Ok(n);
    };
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = tempfile::Builder::new()
        .prefix(".hb-plain-")
        .tempfile_in(&dir)?;
    let mut w = BufWriter::with_capacity(1 << 20, temp.as_file());
    let (_, n) = wbcb::decrypt_stream(key, progress.wrap_read(input), &mut w, Some(context))
        .context("decryption failed")?;
    w.flush()?;
    drop(w);
    progress.finish_and_clear();
    temp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(n)
}

async fn list(
    ctx: &Context,
    actor: &Actor,
    patient: Option<&str>,
    rtype: Option<&str>,
) -> Result<()> {
    let session = Session::open(ctx, actor).await?;
    let index = keys::index_key(ctx)?;
    let token = match (patient, rtype) {
        (Some(p), _) => index.token(SearchField::PatientPseudonym, &check_pseudonym(p)?)?,
        (None, Some(t)) => index.token(SearchField::RecordType, t)?,
        (None, None) => bail!("give --patient or --type"),
    };
    let mut records: Vec<Value> = all_pages(&session, "list_records_by_token", &token).await?;
    if let (Some(_), Some(t)) = (patient, rtype) {
        records.retain(|r| r["resource_type"] == t);
    }
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
            r["record_id"].as_str().unwrap_or("?"),
            r["version"],
            r["resource_type"].as_str().unwrap_or("?"),
            r["size"],
            r["author"]["user"].as_str().unwrap_or("?"),
            r["tx_time"]["rfc3339"].as_str().unwrap_or("?"),
        );
    }
    output::step(format!("{} record(s)", records.len()));
    Ok(())
}

/// SHA-256 of a stored blob, or why it cannot be read intact.
async fn hash_stored(store: &dyn ObjectStore, hash: &BlobHash) -> Result<String, String> {
    let mut reader = store.get_blob(hash).await.map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) => return Ok(hex::encode(hasher.finalize())),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) => return Err(e.to_string()),
        }
    }
}

async fn verify(ctx: &Context, actor: &Actor, record: &str, version: Option<u64>) -> Result<()> {
    let session = Session::open(ctx, actor).await?;
    let version = match version {
        Some(v) => v,
        None => {
            latest(&session, record)
                .await?
                .ok_or_else(|| anyhow!("record {record} not found"))?
                .version
        }
    };
    #[derive(Deserialize)]
    struct Verification {
        ciphertext_sha256: String,
        size: u64,
        tx_id: String,
    }
    let v: Verification = session
        .evaluate_json("verify_record", &[record.to_owned(), version.to_string()])
        .await?;
    let status = session
        .gateway
        .commit_status(&session.ctx.consortium.channel, &v.tx_id)
        .await
        .map_err(|e| anyhow!("cannot find transaction {} on the ledger: {e}", v.tx_id))?;
    let store = open_store(ctx).await?;
    let stored = hash_stored(&store, &blob_hash(&v.ciphertext_sha256)?).await;
    let intact = stored.as_deref() == Ok(v.ciphertext_sha256.as_str());
    let verdict = if intact { "OK" } else { "TAMPERED" };
    let detail = match &stored {
        Ok(h) => h.clone(),
        Err(e) => e.clone(),
    };
    if actor.json {
        output::json(&json!({
            "record_id": record,
            "version": version,
            "verdict": verdict,
            "ledger_sha256": v.ciphertext_sha256,
            "stored_sha256_or_error": detail,
            "size": v.size,
            "txid": status.txid,
            "block": status.block_number,
            "validation_code": status.code.name(),
        }))?;
    } else {
        println!("record:          {record} version {version}");
        println!("ledger sha256:   {}", v.ciphertext_sha256);
        println!("stored blob:     {detail}");
        println!("written by tx:   {}", status.txid);
        println!("block:           {}", status.block_number);
        println!("validation code: {}", status.code.name());
        println!("verdict:         {verdict}");
    }
    if !intact {
        bail!("TAMPERED: the stored blob of {record} v{version} does not match the ledger");
    }
    Ok(())
}
