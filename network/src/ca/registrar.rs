//! The CA server's bootstrap admin: the registrar of the hospital's users.
//!
//! Owns: creating its credentials once, before the server's first start (a
//! random secret from the OS, never a well-known default). Reading them back
//! is `healthblock_consortium::ca`'s, for whoever registers users. Fabric CA
//! stores the identity in its own database on the first start; the file here
//! is the only other copy (0600).

use super::files;
use super::CaError;
use healthblock_consortium::ca::{CaPaths, Registrar, REGISTRAR_NAME};
use rand_core::{OsRng, RngCore};

/// Random bytes in a generated secret (hex-encoded in the file).
const SECRET_BYTES: usize = 18;

/// The registrar, created with a fresh secret when the CA has never run.
pub(crate) fn load_or_create(paths: &CaPaths) -> Result<Registrar, CaError> {
    if paths.registrar_file.exists() {
        return Ok(Registrar::load(paths)?);
    }
    if paths.server_config().exists() {
        // The server's database already holds a bootstrap admin whose secret we do not know.
        return Err(CaError::Corrupt {
            path: paths.server_home.clone(),
            message: format!(
                "the CA was initialised but {} is missing; remove {} to start the CA afresh",
                paths.registrar_file.display(),
                paths.server_home.display()
            ),
        });
    }
    let mut bytes = [0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let registrar = Registrar {
        name: REGISTRAR_NAME.to_owned(),
        secret: bytes.iter().map(|b| format!("{b:02x}")).collect(),
    };
    let json = serde_json::to_vec_pretty(&registrar).map_err(|e| CaError::Corrupt {
        path: paths.registrar_file.clone(),
        message: e.to_string(),
    })?;
    files::ensure_private_dir(&paths.server_home)?;
    files::replace_file(&paths.registrar_file, &json, 0o600)?;
    Ok(registrar)
}
