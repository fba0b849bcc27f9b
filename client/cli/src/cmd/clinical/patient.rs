//! `healthblock patient register|show`: a patient enters the ledger under a
//! pseudonym; the name never leaves this machine.

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use super::{connect, pseudonym, Actor};
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
        PatientCmd::Register { actor, name } => {
            let client = connect(ctx, &actor).await?;
            let pid = client.pseudonym(&name)?;
            let registered = client.register_patient(&pid).await?;
            if actor.json {
                return output::json(&json!({
                    "pseudonym": pid,
                    "txid": registered.txid,
                    "block": registered.block,
                    "patient": registered.value,
                }));
            }
            output::step(format!(
                "registered patient at {} (tx {} in block {})",
                client.mspid(),
                registered.txid,
                registered.block
            ));
            println!("{pid}");
            Ok(())
        }
        PatientCmd::Show { actor, patient } => {
            let client = connect(ctx, &actor).await?;
            output::json(&client.get_patient(&pseudonym(&patient)?).await?)
        }
    }
}
