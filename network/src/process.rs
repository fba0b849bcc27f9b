//! Detached service processes started by `network up`.
//!
//! Owns: spawning a service (a hospital's CA server, a hospital's key
//! custodian) in its own process group with stdin closed and its output
//! appended to its log, and recording its pid in its pid file. Reading pid
//! files, telling ours from a stale pid, signals and the SIGTERM-then-SIGKILL
//! shutdown are [`crate::pid`]'s; waiting until the service answers is its
//! caller's (each service answers differently).

use crate::fsutil::{self, IoError};
use crate::pid;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What to run: the binary, its arguments and environment, where it logs.
pub(crate) struct Launch {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    /// Passed through the environment rather than argv, so `ps` does not show them.
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// Why [`spawn`] failed; each service's error type words it for its users.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpawnError {
    /// Creating the log's directory or writing the pid file.
    #[error(transparent)]
    Io(IoError),
    /// Opening the log (path and cause).
    #[error("cannot open {}", .0.path.display())]
    Log(IoError),
    /// The binary could not be started.
    #[error("cannot start {}", binary.display())]
    Start {
        binary: PathBuf,
        source: std::io::Error,
    },
}

/// Starts the process detached and records its pid in `pid_file`. The child is
/// not waited for here: it outlives its caller, which stops it by pid.
pub(crate) fn spawn(launch: &Launch, pid_file: &Path) -> Result<Child, SpawnError> {
    if let Some(dir) = launch.log.parent() {
        fsutil::create_dir(dir).map_err(SpawnError::Io)?;
    }
    let log_error = |e| SpawnError::Log(IoError::new(&launch.log, e));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(log_error)?;
    let child = Command::new(&launch.binary)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(log_error)?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal that started it does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|source| SpawnError::Start {
            binary: launch.binary.clone(),
            source,
        })?;
    pid::write(pid_file, child.id()).map_err(SpawnError::Io)?;
    Ok(child)
}
