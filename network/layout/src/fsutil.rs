//! Small file-system helpers with the permissions secrets need.
//!
//! Owns: writing private files (0600) and private directories (0700), and
//! attaching the path to every I/O error.

use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An I/O error with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct IoError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl IoError {
    pub fn new(path: &Path, source: std::io::Error) -> Self {
        Self {
            path: path.to_owned(),
            source,
        }
    }
}

/// Creates a directory and its parents (0755 as the umask allows).
pub fn create_dir(path: &Path) -> Result<(), IoError> {
    std::fs::create_dir_all(path).map_err(|e| IoError::new(path, e))
}

/// Creates a directory (parents 0755) readable only by its owner.
pub fn create_private_dir(path: &Path) -> Result<(), IoError> {
    if let Some(parent) = path.parent() {
        create_dir(parent)?;
    }
    DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| IoError::new(path, e))
}

/// Writes a new public file (certificates, config); fails if it exists.
pub fn write_new(path: &Path, contents: &[u8]) -> Result<(), IoError> {
    write_with_mode(path, contents, 0o644)
}

/// Writes a new file only its owner can read (private keys); fails if it exists.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), IoError> {
    write_with_mode(path, contents, 0o600)
}

fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> Result<(), IoError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| IoError::new(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| IoError::new(path, e))
}

/// Reads a UTF-8 file.
pub fn read_text(path: &Path) -> Result<String, IoError> {
    std::fs::read_to_string(path).map_err(|e| IoError::new(path, e))
}

/// Removes a directory tree if it exists.
pub fn remove_dir_if_exists(path: &Path) -> Result<(), IoError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(IoError::new(path, e)),
        _ => Ok(()),
    }
}

/// Renames `from` to `to` (same file system), creating `to`'s parent first.
pub fn rename_into_place(from: &Path, to: &Path) -> Result<(), IoError> {
    if let Some(parent) = to.parent() {
        create_dir(parent)?;
    }
    std::fs::rename(from, to).map_err(|e| IoError::new(to, e))
}
