//! The clinical commands: patients, encrypted records, consent, audited
//! access, break-glass and the audit trail, over the Fabric Gateway with the
//! EHR contract (`chaincode/src/ehr`), WBCB encryption and the object store.
//!
//! This module owns what every clinical command shares: who acts (`--as`),
//! the connection to the contract, and the local object store. Keys and
//! consortium secrets live in [`keys`].

pub mod access;
pub mod audit;
pub mod breakglass;
pub mod consent;
pub mod custodian;
pub mod keys;
pub mod load;
pub mod patient;
pub mod record;

use anyhow::{anyhow, bail, Context as _, Result};
use fabric_client::gateway::Gateway;
use healthblock_store::{BlobHash, FsStore};
use serde::de::DeserializeOwned;

use crate::cmd::tx;
use crate::context::Context;

/// Options every clinical command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Actor {
    /// Acting user as USER@ORG, from the wallet (`healthblock user enroll`).
    #[arg(long = "as")]
    pub who: String,
    /// Gateway peer of the user's org (default: its first peer).
    #[arg(long)]
    pub peer: Option<String>,
    /// Name of the EHR chaincode.
    #[arg(long, default_value = "ehr")]
    pub chaincode: String,
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A user's connection to the EHR contract.
pub struct Session<'a> {
    pub ctx: &'a Context,
    pub actor: Actor,
    pub gateway: Gateway,
    /// MSP id of the acting user's organisation.
    pub mspid: String,
}

/// A committed transaction's result and where it landed.
pub struct Committed {
    pub payload: Vec<u8>,
    pub txid: String,
    pub block: u64,
}

impl<'a> Session<'a> {
    /// Connects the `--as` user to a peer of its own organisation.
    pub async fn open(ctx: &'a Context, actor: &Actor) -> Result<Session<'a>> {
        let identity = ctx.identity(&actor.who)?;
        let mspid = identity.mspid().to_owned();
        let gateway = tx::connect(ctx, &actor.who, actor.peer.as_deref())
            .await
            .with_context(|| format!("cannot reach a peer of {mspid} as {}", actor.who))?;
        Ok(Session {
            ctx,
            actor: actor.clone(),
            gateway,
            mspid,
        })
    }

    fn contract(&self) -> fabric_client::contract::Contract {
        self.gateway
            .network(&self.ctx.consortium.channel)
            .contract(&self.actor.chaincode)
    }

    /// Endorses, orders and commits `function(args)`; fails unless VALID.
    pub async fn submit(&self, function: &str, args: &[String]) -> Result<Committed> {
        let submitted = self
            .contract()
            .transaction(function)
            .args(args)
            .submit_async()
            .await
            .map_err(|e| anyhow!("{function} failed: {e}"))?;
        let status = submitted
            .status()
            .await
            .map_err(|e| anyhow!("{function}: no commit status: {e}"))?
            .ensure_valid()
            .map_err(|e| anyhow!("{function} was not committed: {e}"))?;
        Ok(Committed {
            payload: submitted.result.clone(),
            txid: status.txid,
            block: status.block_number,
        })
    }

    /// [`Session::submit`] and parse the JSON result.
    pub async fn submit_json<T: DeserializeOwned>(
        &self,
        function: &str,
        args: &[String],
    ) -> Result<(T, Committed)> {
        let committed = self.submit(function, args).await?;
        let value = serde_json::from_slice(&committed.payload)
            .with_context(|| format!("{function} returned unexpected JSON"))?;
        Ok((value, committed))
    }

    /// Runs a query on the gateway peer and parses its JSON result.
    pub async fn evaluate_json<T: DeserializeOwned>(
        &self,
        function: &str,
        args: &[String],
    ) -> Result<T> {
        let bytes = self
            .contract()
            .evaluate(function, args)
            .await
            .map_err(|e| anyhow!("{function} failed: {e}"))?;
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{function} returned unexpected JSON"))
    }
}

/// Splits `USER@ORG`.
pub fn split_who(who: &str) -> Result<(&str, &str)> {
    who.split_once('@')
        .filter(|(u, o)| !u.is_empty() && !o.is_empty())
        .ok_or_else(|| anyhow!("user {who:?} must look like USER@ORG, e.g. alice@Hospital1"))
}

/// The consortium's object store for ciphertext blobs and wraps:
/// `$HEALTHBLOCK_HOME/store` (filesystem backend).
pub async fn open_store(ctx: &Context) -> Result<FsStore> {
    let dir = ctx.layout.home().join("store");
    FsStore::open(&dir)
        .await
        .with_context(|| format!("cannot open the object store at {}", dir.display()))
}

/// The blob address of a ledger hash.
pub fn blob_hash(hex: &str) -> Result<BlobHash> {
    hex.parse()
        .map_err(|e| anyhow!("ledger hash {hex:?} is not a blob address: {e}"))
}

/// A page of results as the contract returns it.
#[derive(serde::Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub bookmark: String,
}

/// Page size used when a command reads every item of a list.
pub const PAGE: &str = "500";

/// Reads every page of a paged list function for `subject`.
pub async fn all_pages<T: DeserializeOwned>(
    session: &Session<'_>,
    function: &str,
    subject: &str,
) -> Result<Vec<T>> {
    let mut items = Vec::new();
    let mut bookmark = String::new();
    loop {
        let page: Page<T> = session
            .evaluate_json(function, &[subject.to_owned(), PAGE.into(), bookmark])
            .await?;
        let done = page.items.is_empty() || page.bookmark.is_empty();
        items.extend(page.items);
        if done {
            return Ok(items);
        }
        bookmark = page.bookmark;
    }
}

/// Fails with a clear message unless `s` is a 64-hex-digit pseudonym.
pub fn check_pseudonym(s: &str) -> Result<String> {
    let s = s.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("patient {s:?} is not a pseudonym (64 hex digits, as `patient register` prints)");
    }
    Ok(s.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(check_pseudonym(&p).unwrap(), "ab".repeat(32));
        assert!(check_pseudonym("Jane Doe").is_err());
        assert!(check_pseudonym(&"g".repeat(64)).is_err());
    }
}
