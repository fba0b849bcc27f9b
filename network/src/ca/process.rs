//! A CA server process: start detached, liveness, stop.
//!
//! Owns: spawning `fabric-ca-server start` in its own process group with
//! output appended to its log, and telling our server from a stale pid (the
//! command line must name the server's home). Pid files, signals and the
//! SIGTERM-then-SIGKILL shutdown are [`crate::pid`]'s.

use super::CaError;
use crate::fsutil::{self, IoError};
use crate::pid;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// What to run: the binary, its arguments and environment, where it logs.
pub(crate) struct Launch {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    /// Passed through the environment rather than argv, so `ps` does not show them.
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
}

/// Starts the process detached and records its pid.
pub(crate) fn spawn(launch: &Launch, pid_file: &Path) -> Result<Child, CaError> {
    if let Some(dir) = launch.log.parent() {
        fsutil::create_dir(dir)?;
    }
    let io = |e| CaError::Io(IoError::new(&launch.log, e));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(io)?;
    let child = Command::new(&launch.binary)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        // Its own process group: a Ctrl-C in the terminal that started it does not reach it.
        .process_group(0)
        .spawn()
        .map_err(|source| CaError::Spawn {
            binary: launch.binary.clone(),
            source,
        })?;
    pid::write(pid_file, child.id())?;
    Ok(child)
}

/// Whether `pid` is our CA server: running, with `home` on its command line.
pub(crate) fn is_running(pid: u32, home: &Path) -> bool {
    pid::is_running(pid, home)
}

/// SIGTERM, wait up to `grace`, then SIGKILL. Returns whether SIGKILL was needed.
pub(crate) fn stop(pid: u32, home: &Path, grace: Duration) -> Result<bool, CaError> {
    pid::stop(pid, grace, |p| pid::is_running(p, home)).map_err(|e| CaError::Signal {
        pid,
        message: e.desc().to_owned(),
    })
}
