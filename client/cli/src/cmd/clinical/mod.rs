//! The clinical commands: patients, encrypted records, consent, audited
//! access, break-glass and the audit trail. Each command parses its
//! arguments, calls the client SDK (`healthblock-sdk`) and prints the
//! result; the clinical logic lives in the SDK.
//!
//! This module owns what every clinical command shares: who acts (`--as`),
//! which object store holds the ciphertext (`--store` or
//! `HEALTHBLOCK_STORE`, the same syntax as `healthblock wbcb store`), and building the SDK client from the CLI's context (the
//! wallet's key material, the consortium's organisations).

pub(crate) mod access;
pub(crate) mod audit;
pub(crate) mod breakglass;
pub(crate) mod consent;
pub(crate) mod keydir;
pub(crate) mod load;
pub(crate) mod patient;
pub(crate) mod record;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use healthblock_sdk::types::model::PatientId;
use healthblock_sdk::{Client, FsKeyStore, Options, Stores};
use healthblock_store::StoreSpec;

use crate::cmd::tx;
use crate::context::Context;

/// Options every clinical command takes.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct Actor {
    /// Acting user as USER@ORG, from the wallet (`healthblock user enroll`).
    #[arg(long = "as")]
    pub who: String,
    /// Gateway peer of the user's org (default: its first peer).
    #[arg(long)]
    pub peer: Option<String>,
    /// Name of the EHR chaincode.
    #[arg(long, default_value = "ehr")]
    pub chaincode: String,
    /// Object store of the ciphertext and key wraps: `s3` (configured by
    /// HEALTHBLOCK_S3_*, or by the file `env.<MSPID>` of the user's
    /// hospital in HEALTHBLOCK_S3_ENV_DIR; with HEALTHBLOCK_S3_BUCKET_PREFIX
    /// one bucket per home hospital, written only with the home's own
    /// credential), `file:DIR` or a directory (default: $HEALTHBLOCK_STORE,
    /// else $HEALTHBLOCK_HOME/store).
    // HEALTHBLOCK_STORE is read in `connect`, not bound by clap: an argument
    // filled from the environment makes an optional flattened `Actor` (as
    // beside `breakglass review`) count as given.
    #[arg(long)]
    pub store: Option<String>,
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The `--as` user's SDK client, connected to a peer of their own
/// organisation, with this machine's keys and the configured object store.
pub(crate) async fn connect(ctx: &Context, actor: &Actor) -> Result<Client> {
    let mspid = ctx.identity(&actor.who)?.mspid().to_owned();
    let gateway = tx::connect(ctx, &actor.who, actor.peer.as_deref())
        .await
        .with_context(|| format!("cannot reach a peer of {mspid} as {}", actor.who))?;
    let options = Options::new(ctx.consortium.channel.clone(), actor.chaincode.clone());
    let spec = actor.store.clone().or_else(|| {
        std::env::var("HEALTHBLOCK_STORE")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let stores = open_store(ctx, spec.as_deref(), &mspid).await?;
    Ok(
        Client::new(gateway, options, stores, Arc::new(key_store(ctx)))
            .with_custodians(crate::cmd::custodian::endpoints(ctx)?),
    )
}

/// The key material of this machine: consortium secrets under
/// `$HEALTHBLOCK_HOME/secrets/`, key pairs in the wallet (see
/// `healthblock_sdk::keys`).
pub(crate) fn key_store(ctx: &Context) -> FsKeyStore {
    let orgs: BTreeMap<String, String> = ctx
        .consortium
        .orgs
        .iter()
        .map(|o| (o.mspid.clone(), o.name.clone()))
        .collect();
    let wallet = healthblock_identity::Wallet::new(ctx.layout.wallet_dir());
    FsKeyStore::new(
        ctx.layout.home().join("secrets"),
        ctx.layout.wallet_dir(),
        orgs,
        Arc::new(move |cn: &str, org: &str| wallet.entry_dir(cn, org).ok()),
    )
}

/// The consortium's object stores as a member of `mspid` reaches them,
/// as configured (`--store`), by default the directory
/// `$HEALTHBLOCK_HOME/store` for every home hospital. For `s3`, the
/// hospital's own credential comes from `$HEALTHBLOCK_S3_ENV_DIR/env.<MSPID>`
/// when that variable is set (scripts/s3-server.sh writes one such file per
/// hospital), else from HEALTHBLOCK_S3_*.
pub(crate) async fn open_store(ctx: &Context, spec: Option<&str>, mspid: &str) -> Result<Stores> {
    let spec = match spec {
        Some(s) => StoreSpec::parse(s)?,
        None => StoreSpec::Dir(ctx.layout.home().join("store")),
    };
    let env_file = std::env::var_os("HEALTHBLOCK_S3_ENV_DIR")
        .filter(|dir| !dir.is_empty())
        .map(|dir| std::path::PathBuf::from(dir).join(format!("env.{mspid}")));
    spec.open_stores(env_file.as_deref())
        .await
        .with_context(|| format!("cannot open the object store {spec:?}"))
}

/// Splits `USER@ORG`.
pub(crate) fn split_who(who: &str) -> Result<(&str, &str)> {
    who.split_once('@')
        .filter(|(u, o)| !u.is_empty() && !o.is_empty())
        .ok_or_else(|| anyhow!("user {who:?} must look like USER@ORG, e.g. alice@Hospital1"))
}

/// `USER@ORG` as the contract names users: `USER@MSPID`.
pub(crate) fn principal(ctx: &Context, who: &str) -> Result<String> {
    let (user, org) = split_who(who)?;
    Ok(format!("{user}@{}", ctx.org(org)?.mspid))
}

/// Parses a patient pseudonym with a hint on where it comes from.
pub(crate) fn pseudonym(s: &str) -> Result<PatientId> {
    PatientId::parse(s).map_err(|_| {
        anyhow!("patient {s:?} is not a pseudonym (64 hex digits, as `patient register` prints)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_actor_argument_comes_from_the_environment() {
        // `breakglass` flattens an optional Actor beside its subcommands: an
        // argument clap filled from the environment (HEALTHBLOCK_STORE) made
        // that Actor count as given, and `breakglass review` then failed
        // for want of the parent's `--as`.
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            actor: Actor,
        }
        for arg in Cli::command().get_arguments() {
            assert!(
                arg.get_env().is_none(),
                "{} is read from the environment",
                arg.get_id()
            );
        }
    }

    #[test]
    fn users_must_name_their_org() {
        assert_eq!(
            split_who("alice@Hospital1").unwrap(),
            ("alice", "Hospital1")
        );
        assert!(split_who("alice").is_err());
        assert!(split_who("@Hospital1").is_err());
        assert!(split_who("alice@").is_err());
    }

    #[test]
    fn pseudonyms_are_64_hex_digits() {
        let p = "AB".repeat(32);
        assert_eq!(pseudonym(&p).unwrap().as_str(), "ab".repeat(32));
        assert!(pseudonym("Jane Doe").is_err());
        assert!(pseudonym(&"g".repeat(64)).is_err());
    }
}
