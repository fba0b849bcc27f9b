//! `healthblock patient register`: a patient enters the ledger under a
//! pseudonym; the name never leaves this machine.

use anyhow::Result;
use clap::Subcommand;
use serde_json::Value;

use super::{keys, Actor, Session};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub enum PatientCmd {
    /// Register a patient at the caller's hospital (their home hospital).
    /// Prints the pseudonym: HMAC-SHA256 of the normalised name under the
    /// consortium pseudonym key ($HEALTHBLOCK_HOME/secrets/pseudonym.key).
    Register {
        #[command(flatten)]
        actor: Actor,
        /// The patient's name (only its keyed hash is sent).
        #[arg(long)]
        name: String,
    },
    /// Show a registered patient.
    Show {
        #[command(flatten)]
        actor: Actor,
        /// Pseudonym.
        #[arg(long)]
        patient: String,
    },
}

pub async fn run(ctx: &Context, cmd: PatientCmd) -> Result<()> {
    match cmd {
        PatientCmd::Register { actor, name } => register(ctx, &actor, &name).await,
        PatientCmd::Show { actor, patient } => {
            let session = Session::open(ctx, &actor).await?;
            let pid = super::check_pseudonym(&patient)?;
            let value: Value = session.evaluate_json("get_patient", &[pid]).await?;
            output::json(&value)
        }
    }
}

async fn register(ctx: &Context, actor: &Actor, name: &str) -> Result<()> {
    let pid = keys::pseudonym(ctx, name)?;
    let session = Session::open(ctx, actor).await?;
    let (patient, committed): (Value, _) = session
        .submit_json("register_patient", std::slice::from_ref(&pid))
        .await?;
    // The patient's own key pair (see keys.rs on how keys are distributed).
    keys::patient_key(ctx, &pid)?;
    if actor.json {
        return output::json(&serde_json::json!({
            "pseudonym": pid,
            "txid": committed.txid,
            "block": committed.block,
            "patient": patient,
        }));
    }
    output::step(format!(
        "registered patient at {} (tx {} in block {})",
        session.mspid, committed.txid, committed.block
    ));
    println!("{pid}");
    Ok(())
}
