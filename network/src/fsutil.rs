//! File-system helpers of the process runner.
//!
//! Owns: quoting the tail of a process log in start-up errors. The helpers
//! with the permissions secrets need are `healthblock_consortium::fsutil`'s,
//! re-exported so the runner's modules name one module.

pub use healthblock_consortium::fsutil::*;
use std::path::Path;

/// The last `lines` lines of a process log, quoted in start-up errors.
pub(crate) fn log_tail(log: &Path, lines: usize) -> String {
    let Ok(bytes) = std::fs::read(log) else {
        return String::from("(log is empty or unreadable)");
    };
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
