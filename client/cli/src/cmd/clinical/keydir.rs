//! `healthblock keydir publish|show|rotate|revoke`: the key directory on the
//! ledger. Each user publishes their own encryption public key (a patient
//! their patient key; an administrator, with `--hospital`, their hospital's)
//! in a transaction they sign; wraps are sealed only to published keys.

use anyhow::{bail, Result};
use clap::Subcommand;
use healthblock_sdk::keydir::directory_owner;
use healthblock_sdk::keys::KeyOwner;
use healthblock_sdk::types::keydir::PublishedKey;
use healthblock_sdk::types::time::rfc3339;

use super::{connect, principal, pseudonym, Actor};
use crate::context::Context;
use crate::output;

#[derive(Subcommand, Debug)]
pub(crate) enum KeydirCmd {
    /// Publish your own encryption public key (made on this machine on first
    /// use, private key 0600), or with --hospital (administrators) your
    /// hospital's. Publishing again replaces the published key.
    Publish {
        #[command(flatten)]
        actor: Actor,
        /// Publish the hospital's key instead of your own.
        #[arg(long)]
        hospital: bool,
    },
    /// Show a published key: a user's (--user USER@ORG), a hospital's
    /// (--hospital ORG) or a patient's (--patient ID).
    Show {
        #[command(flatten)]
        actor: Actor,
        #[arg(long, conflicts_with_all = ["hospital", "patient"])]
        user: Option<String>,
        #[arg(long, conflicts_with = "patient")]
        hospital: Option<String>,
        #[arg(long)]
        patient: Option<String>,
    },
    /// Rotate your key (or with --hospital your hospital's): a new pair is
    /// made on this machine and published; the old private key is kept under
    /// `retired/`, so what was wrapped to it still opens.
    Rotate {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        hospital: bool,
    },
    /// Revoke your published key (or with --hospital your hospital's): no new
    /// wrap is sealed to it.
    Revoke {
        #[command(flatten)]
        actor: Actor,
        #[arg(long)]
        hospital: bool,
    },
}

fn print(key: &PublishedKey, json: bool) -> Result<()> {
    if json {
        return output::json(key);
    }
    println!("owner:        {}", key.owner);
    println!("fingerprint:  {}", key.fingerprint);
    println!(
        "published by: {} at {}",
        key.published_by.user,
        rfc3339(key.published_at.0)
    );
    println!("transaction:  {}", key.tx_id);
    match key.revoked_at {
        Some(t) => println!("revoked at:   {}", rfc3339(t.0)),
        None => println!("status:       in force"),
    }
    Ok(())
}

pub(crate) async fn run(ctx: &Context, cmd: KeydirCmd) -> Result<()> {
    match cmd {
        KeydirCmd::Publish { actor, hospital } => {
            let client = connect(ctx, &actor).await?;
            let published = if hospital {
                client.publish_hospital_key().await?
            } else {
                client.publish_my_key().await?
            };
            if !actor.json {
                output::step(format!(
                    "published the key of {} (tx {} in block {})",
                    published.value.owner, published.txid, published.block
                ));
            }
            print(&published.value, actor.json)
        }
        KeydirCmd::Show {
            actor,
            user,
            hospital,
            patient,
        } => {
            let client = connect(ctx, &actor).await?;
            let owner = match (user, hospital, patient) {
                (Some(u), None, None) => principal(ctx, &u)?,
                (None, Some(h), None) => directory_owner(KeyOwner::Hospital(&ctx.org(&h)?.mspid)),
                (None, None, Some(p)) => directory_owner(KeyOwner::Patient(&pseudonym(&p)?)),
                _ => bail!("name one owner: --user USER@ORG, --hospital ORG or --patient ID"),
            };
            print(&client.published(&owner).await?, actor.json)
        }
        KeydirCmd::Rotate { actor, hospital } => {
            let client = connect(ctx, &actor).await?;
            let rotated = client.rotate_my_key(hospital).await?;
            if !actor.json {
                output::step(format!(
                    "rotated the key of {}: the new one is published (tx {}), the old one kept to open older wraps",
                    rotated.value.owner, rotated.txid
                ));
            }
            print(&rotated.value, actor.json)
        }
        KeydirCmd::Revoke { actor, hospital } => {
            let client = connect(ctx, &actor).await?;
            let revoked = client.revoke_published_key(hospital).await?;
            if !actor.json {
                output::step(format!("revoked the key of {}", revoked.value.owner));
            }
            print(&revoked.value, actor.json)
        }
    }
}
