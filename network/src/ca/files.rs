//! File helpers of the CA servers' state.
//!
//! Owns: private directories that may already exist (0700) and files that are
//! replaced atomically with a given mode (a key is never readable by others,
//! not even for a moment).

use crate::fsutil::IoError;
use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and its parents) if needed and makes it owner-only.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), IoError> {
    let err = |e| IoError::new(dir, e);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    std::fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(err)
}

/// Writes `contents` to `path` with `mode`, through a temporary file renamed into place.
pub(crate) fn replace_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), IoError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let _ = std::fs::remove_file(tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(tmp)
        .map_err(|e| IoError::new(tmp, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| IoError::new(tmp, e))?;
    std::fs::rename(tmp, path).map_err(|e| IoError::new(path, e))
}
