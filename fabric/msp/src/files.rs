//! Reading MSP directory files with errors that name the path.

use crate::MspError;
use std::path::{Path, PathBuf};

/// The contents of a file, with the path in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, MspError> {
    std::fs::read(path).map_err(|source| MspError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The files directly inside `dir`, sorted by name.
pub(crate) fn files_in(dir: &Path) -> Result<Vec<PathBuf>, MspError> {
    let io = |source| MspError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
