//! `healthblock patient register|find|show`: a patient enters the ledger
//! under a random id; the name, date of birth and MRN stay in the
//! registering hospital's own master patient index (encrypted, on this
//! side), and the patient takes the id away on a card.

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use healthblock_sdk::mpi::{new_patient_id, MasterPatientIndex, MpiEntry};
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use serde_json::json;

use super::{connect, pseudonym, split_who, Actor};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub(crate) enum PatientCmd {
    /// Register a patient at the caller's hospital (their home hospital)
    /// under a fresh random id (OS random source). The name, date of birth
    /// and MRN go only into that hospital's master patient index
    /// ($HEALTHBLOCK_HOME/mpi/<Hospital>.mpi, AES-256-GCM under a 0600 key
    /// of its own). Prints the id on stdout and the patient's card (the id
    /// and a QR code) on stderr.
    Register {
        #[command(flatten)]
        actor: Actor,
        /// The patient's name (never sent anywhere).
        #[arg(long)]
        name: String,
        /// Date of birth, e.g. 1980-02-29 (kept in the index only).
        #[arg(long)]
        birth_date: Option<String>,
        /// The hospital's medical record number (kept in the index only).
        #[arg(long)]
        mrn: Option<String>,
    },
    /// Look a patient up by name (and date of birth) in the caller's
    /// hospital's master patient index. Other hospitals' patients are not
    /// there: ask the patient for their card, or read the consent.
    Find {
        #[command(flatten)]
        actor: Actor,
        /// The name (case and spacing ignored).
        #[arg(long)]
        name: String,
        /// Date of birth, to tell namesakes apart.
        #[arg(long)]
        birth_date: Option<String>,
    },
    /// Show a registered patient.
    Show {
        #[command(flatten)]
        actor: Actor,
        /// Patient id (64 hex digits).
        #[arg(long)]
        patient: String,
    },
}

/// The master patient index of the `--as` user's hospital.
fn index_of(ctx: &Context, actor: &Actor) -> Result<MasterPatientIndex> {
    let (_, org) = split_who(&actor.who)?;
    let org = ctx.org(org)?;
    let dir = ctx.layout.home().join("mpi");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(MasterPatientIndex::open(&dir, &org.name)?)
}

/// The patient's card: the id and a QR code of it, for the patient to show
/// at another hospital.
fn card(id: &str, hospital: &str) -> Result<String> {
    let qr = QrCode::new(id.as_bytes())
        .context("encoding the patient id as a QR code")?
        .render::<Dense1x2>()
        .quiet_zone(true)
        .build();
    Ok(format!(
        "patient card ({hospital}): show it at another hospital instead of your name\n{qr}\n{id}"
    ))
}

pub(crate) async fn run(ctx: &Context, cmd: PatientCmd) -> Result<()> {
    match cmd {
        PatientCmd::Register {
            actor,
            name,
            birth_date,
            mrn,
        } => {
            if name.trim().is_empty() {
                bail!("--name is empty");
            }
            let index = index_of(ctx, &actor)?;
            let client = connect(ctx, &actor).await?;
            let pid = new_patient_id();
            let registered = client.register_patient(&pid).await?;
            index.add(MpiEntry {
                patient_id: pid.clone(),
                name,
                birth_date,
                mrn,
            })?;
            if actor.json {
                return output::json(&json!({
                    "patient_id": pid,
                    "txid": registered.txid,
                    "block": registered.block,
                    "patient": registered.value,
                }));
            }
            output::step(format!(
                "registered patient at {} (tx {} in block {}); the name is in its master patient index only",
                client.mspid(),
                registered.txid,
                registered.block
            ));
            eprintln!("{}", card(pid.as_str(), &registered.value.home_msp)?);
            println!("{pid}");
            Ok(())
        }
        PatientCmd::Find {
            actor,
            name,
            birth_date,
        } => {
            let found = index_of(ctx, &actor)?.find(&name, birth_date.as_deref())?;
            if actor.json {
                return output::json(&found);
            }
            if found.is_empty() {
                bail!(
                    "no patient named {name:?} in {}'s master patient index (a patient of another hospital is known by the id on their card)",
                    split_who(&actor.who)?.1
                );
            }
            for e in &found {
                println!(
                    "{}  {}  born {}  MRN {}",
                    e.patient_id,
                    e.name,
                    e.birth_date.as_deref().unwrap_or("-"),
                    e.mrn.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        PatientCmd::Show { actor, patient } => {
            let client = connect(ctx, &actor).await?;
            output::json(&client.get_patient(&pseudonym(&patient)?).await?)
        }
    }
}
