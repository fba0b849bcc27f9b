//! A CA server process: liveness, stop.
//!
//! Owns: telling our server from a stale pid (the command line must name the
//! server's home) and the wording of spawn failures as [`CaError`]s. Starting
//! it detached with pid file and log is [`crate::process`]'s; pid files,
//! signals and the SIGTERM-then-SIGKILL shutdown are [`crate::pid`]'s.

use super::CaError;
use crate::pid;
use crate::process::SpawnError;
use std::path::Path;
use std::time::Duration;

/// Spawning is [`crate::process`]'s; its failures in the CA's words.
impl From<SpawnError> for CaError {
    fn from(e: SpawnError) -> Self {
        match e {
            SpawnError::Io(e) | SpawnError::Log(e) => CaError::Io(e),
            SpawnError::Start { binary, source } => CaError::Spawn { binary, source },
        }
    }
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
