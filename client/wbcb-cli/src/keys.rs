//! `keys gen` and `keys fingerprint`: encryption key pairs on disk. The
//! private key is created with mode 0600 from the start (never widened).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use healthblock_sdk::keys::write_private;
use wbcb::{EncryptionPublicKey, EncryptionSecretKey};

pub fn generate(dir: &Path, name: &str, force: bool) -> Result<()> {
    if name.is_empty() || name.contains(['/', '\\']) {
        bail!("key name {name:?} must be a plain file name");
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let key_path = dir.join(format!("{name}.key.pem"));
    let pub_path = dir.join(format!("{name}.pub.pem"));
    if !force && (key_path.exists() || pub_path.exists()) {
        bail!(
            "{} or {} already exists (use --force to replace)",
            key_path.display(),
            pub_path.display()
        );
    }
    if force {
        // Replacing is what --force asks for; write_private itself never
        // overwrites a private key.
        for path in [&key_path, &pub_path] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
            }
        }
    }
    let secret = EncryptionSecretKey::generate()?;
    write_private(&key_path, secret.to_pem()?.as_bytes())?;
    let public = secret.public_key();
    fs::write(&pub_path, public.to_pem()?)
        .with_context(|| format!("cannot write {}", pub_path.display()))?;
    println!("private key: {} (mode 0600)", key_path.display());
    println!("public key:  {}", pub_path.display());
    println!("fingerprint: {}", public.fingerprint());
    Ok(())
}

/// Loads a public key file (SPKI PEM).
pub fn load_public(path: &Path) -> Result<EncryptionPublicKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read public key {}", path.display()))?;
    EncryptionPublicKey::from_pem(&text).with_context(|| format!("in {}", path.display()))
}

/// Loads a private key file (PKCS#8 PEM).
pub fn load_secret(path: &Path) -> Result<EncryptionSecretKey> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read private key {}", path.display()))?;
    EncryptionSecretKey::from_pem(&text).with_context(|| format!("in {}", path.display()))
}

pub fn fingerprint(path: &Path) -> Result<()> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let public = if text.contains("PRIVATE KEY") {
        EncryptionSecretKey::from_pem(&text)?.public_key().clone()
    } else {
        EncryptionPublicKey::from_pem(&text)?
    };
    println!("{}", public.fingerprint());
    Ok(())
}
