//! Key material the clinical commands use, all on local disk, private parts
//! written 0600 from the start:
//!
//! - Consortium secrets under `$HEALTHBLOCK_HOME/secrets/`: `pseudonym.key`
//!   (HMAC key turning a patient's name into a pseudonym) and
//!   `blind-index.key` (the WBCB index key). 32 bytes from the OS random
//!   source, hex, created on first use. In production the consortium admin
//!   creates them once and distributes them to the hospitals' clients only.
//! - Per-user encryption key pairs in the wallet, beside the user's Fabric
//!   identity: `<wallet>/<user>@<Org>/encryption.{key,pub}.pem`.
//! - Per-hospital key pairs (`<wallet>/hospitals/<Org>/...`), used by every
//!   member of that hospital on this machine, so a grant to a hospital or a
//!   record's home hospital is one wrap.
//! - Per-patient key pairs (`<wallet>/patients/<pseudonym>/...`), the key of
//!   the enrolled user whose certificate carries that pseudonym.
//!
//! Pairs are generated on first use. The CLI reads other parties' public keys
//! from this wallet (one machine in the demo); in production each party
//! generates its own pair and publishes only the public key (for example on
//! the ledger), and nobody else ever holds the private key.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use healthblock_wbcb_cli::write_private;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use wbcb::{EncryptionPublicKey, EncryptionSecretKey, IndexKey};
use zeroize::Zeroizing;

use super::split_who;
use crate::context::Context;

const SECRET_KEY_FILE: &str = "encryption.key.pem";
const PUBLIC_KEY_FILE: &str = "encryption.pub.pem";

/// A 32-byte consortium secret from `$HEALTHBLOCK_HOME/secrets/<name>.key`,
/// created from the OS random source on first use.
fn consortium_secret(ctx: &Context, name: &str) -> Result<Zeroizing<[u8; 32]>> {
    let path = ctx
        .layout
        .home()
        .join("secrets")
        .join(format!("{name}.key"));
    if !path.exists() {
        let mut fresh = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(fresh.as_mut());
        let text = Zeroizing::new(hex::encode(fresh.as_ref()));
        // Another process may have created it meanwhile: then read theirs.
        if let Err(e) = write_private(&path, text.as_bytes()) {
            if !path.exists() {
                return Err(e);
            }
        }
    }
    let text = Zeroizing::new(
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), key.as_mut())
        .with_context(|| format!("{} must hold 64 hex digits", path.display()))?;
    Ok(key)
}

/// The patient pseudonym of a name: HMAC-SHA256(consortium pseudonym key,
/// normalised name), hex. Normalising (trim, single spaces, lower case)
/// makes "Jane  Doe" and "jane doe" the same patient.
pub fn pseudonym(ctx: &Context, name: &str) -> Result<String> {
    keyed_pseudonym(&*consortium_secret(ctx, "pseudonym")?, name)
}

fn keyed_pseudonym(key: &[u8; 32], name: &str) -> Result<String> {
    let normal = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let normal = normal.to_lowercase();
    if normal.is_empty() {
        bail!("the patient's name is empty");
    }
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).context("pseudonym key rejected by HMAC")?;
    mac.update(b"healthblock/patient-pseudonym/v1\0");
    mac.update(normal.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// The consortium's blind-index key.
pub fn index_key(ctx: &Context) -> Result<IndexKey> {
    let key = consortium_secret(ctx, "blind-index")?;
    Ok(IndexKey::from_hex(&hex::encode(key.as_ref()))?)
}

/// A key pair in a directory, generated on first use.
fn load_or_create(dir: &Path) -> Result<EncryptionSecretKey> {
    let secret_path = dir.join(SECRET_KEY_FILE);
    if secret_path.exists() {
        let text = Zeroizing::new(
            fs::read_to_string(&secret_path)
                .with_context(|| format!("cannot read {}", secret_path.display()))?,
        );
        return EncryptionSecretKey::from_pem(&text)
            .with_context(|| format!("in {}", secret_path.display()));
    }
    let secret = EncryptionSecretKey::generate()?;
    write_private(&secret_path, secret.to_pem()?.as_bytes())?;
    let public_path = dir.join(PUBLIC_KEY_FILE);
    fs::write(&public_path, secret.public_key().to_pem()?)
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    Ok(secret)
}

fn user_dir(ctx: &Context, who: &str) -> Result<PathBuf> {
    let (user, org) = split_who(who)?;
    let org = ctx.org(org)?;
    let wallet = healthblock_identity::Wallet::new(ctx.layout.wallet_dir());
    Ok(wallet.entry_dir(user, &org.name)?)
}

/// The key pair of `USER@ORG`, generated on first use beside its identity.
pub fn user_key(ctx: &Context, who: &str) -> Result<EncryptionSecretKey> {
    load_or_create(&user_dir(ctx, who)?)
}

/// The public key of `USER@ORG` (see the module docs on distribution).
pub fn user_public(ctx: &Context, who: &str) -> Result<EncryptionPublicKey> {
    Ok(user_key(ctx, who)?.public_key().clone())
}

/// The key pair of a hospital (org name or MSP id).
pub fn hospital_key(ctx: &Context, org: &str) -> Result<EncryptionSecretKey> {
    let org = ctx.org(org)?;
    load_or_create(&ctx.layout.wallet_dir().join("hospitals").join(&org.name))
}

/// The key pair of a patient, by pseudonym.
pub fn patient_key(ctx: &Context, pseudonym: &str) -> Result<EncryptionSecretKey> {
    let pid = super::check_pseudonym(pseudonym)?;
    load_or_create(&ctx.layout.wallet_dir().join("patients").join(pid))
}

/// Resolves a principal as the contract names it (`CN@MSPID`) to `CN@OrgName`.
pub fn who_of_principal(ctx: &Context, user: &str) -> Result<String> {
    let (cn, msp) = split_who(user)?;
    Ok(format!("{cn}@{}", ctx.org(msp)?.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_ignore_case_and_spacing_but_not_the_key() {
        let key = [7u8; 32];
        let a = keyed_pseudonym(&key, "Jane Doe").unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(a, keyed_pseudonym(&key, "  jane   DOE ").unwrap());
        assert_ne!(a, keyed_pseudonym(&key, "John Doe").unwrap());
        assert_ne!(a, keyed_pseudonym(&[8u8; 32], "Jane Doe").unwrap());
        assert!(keyed_pseudonym(&key, "   ").is_err());
    }

    #[test]
    fn private_files_are_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/secret.key");
        write_private(&path, b"one").unwrap();
        assert!(write_private(&path, b"two").is_err());
        assert_eq!(fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
