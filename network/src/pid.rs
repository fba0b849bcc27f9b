//! Pid files and the processes they name, for every process `network up`
//! leaves running (the devnet, the hospital CAs, native Fabric nodes).
//!
//! Owns: reading/writing pid files, telling a live process from a stale pid
//! (crashed process, reaped zombie, or a pid reused by another program),
//! signalling it, and stopping it (SIGTERM, then SIGKILL).

use crate::fsutil::{self, IoError};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(50);

/// Reads the pid file; `None` when it is absent or does not hold a positive pid.
pub fn read(path: &Path) -> Result<Option<u32>, IoError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().parse::<u32>().ok().filter(|p| *p > 0)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IoError::new(path, e)),
    }
}

/// Writes the pid file (replacing an old one).
pub fn write(path: &Path, pid: u32) -> Result<(), IoError> {
    if let Some(dir) = path.parent() {
        fsutil::create_dir(dir)?;
    }
    std::fs::write(path, format!("{pid}\n")).map_err(|e| IoError::new(path, e))
}

/// Removes the pid file if present.
pub fn remove(path: &Path) -> Result<(), IoError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(IoError::new(path, e)),
        _ => Ok(()),
    }
}

fn nix_pid(pid: u32) -> Option<Pid> {
    i32::try_from(pid)
        .ok()
        .filter(|p| *p > 0)
        .map(Pid::from_raw)
}

/// Whether `pid` is a running (non-zombie) process whose command line mentions `marker`
/// (the devnet config file), so a pid reused by another program is not taken for ours.
pub fn is_running(pid: u32, marker: &Path) -> bool {
    is_alive(pid) && command_line_mentions(pid, marker)
}

/// Whether `pid` exists and is not a zombie (a pid known to be ours, e.g. just spawned).
pub fn is_alive(pid: u32) -> bool {
    let Some(p) = nix_pid(pid) else {
        return false;
    };
    // If the process is our own child (tests, or a long-lived caller), reap it once it exited.
    let _ = waitpid(p, Some(WaitPidFlag::WNOHANG));
    match kill(p, None) {
        Ok(()) | Err(Errno::EPERM) => {}
        Err(_) => return false,
    }
    !is_zombie(pid)
}

/// Where /proc is readable, a zombie counts as dead.
fn is_zombie(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // Format: "pid (comm) S ..."; comm may hold spaces, so read after the last ')'.
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        .unwrap_or(false)
}

/// Where /proc is readable, checks the command line; elsewhere trusts the pid.
fn command_line_mentions(pid: u32, marker: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return true;
    };
    let marker = marker.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == marker)
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: u32, signal: Signal) -> Result<(), Errno> {
    let Some(p) = nix_pid(pid) else {
        return Ok(());
    };
    match kill(p, signal) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

/// SIGTERM, wait up to `grace` while `still_ours(pid)`, then SIGKILL (and wait
/// up to 5 s more). Returns whether SIGKILL was needed.
pub fn stop(pid: u32, grace: Duration, still_ours: impl Fn(u32) -> bool) -> Result<bool, Errno> {
    signal(pid, Signal::SIGTERM)?;
    if wait_gone(pid, grace, &still_ours) {
        return Ok(false);
    }
    signal(pid, Signal::SIGKILL)?;
    wait_gone(pid, Duration::from_secs(5), &still_ours);
    Ok(true)
}

fn wait_gone(pid: u32, within: Duration, still_ours: &impl Fn(u32) -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !still_ours(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}
