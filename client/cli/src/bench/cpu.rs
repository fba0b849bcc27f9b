//! Owns: which processes make up the running network (from the pid files the
//! network records) and how much CPU time each used over a window
//! (utime + stime from `/proc/<pid>/stat`).
//!
//! The processes are the ones the network writes pid files for under
//! `$HEALTHBLOCK_HOME/run/` (the devnet, or every native Fabric peer and
//! orderer; the hospital CAs), and each chaincode server under
//! `$HEALTHBLOCK_HOME/chaincode/<name>/server.pid`. The load generator
//! itself is listed as `client (this process)`, since on a small machine it
//! competes with the network for the same cores.

use healthblock_network::layout::Layout;
use std::collections::BTreeMap;
use std::path::Path;

/// The name the generator's own process is reported under.
pub(crate) const CLIENT: &str = "client (this process)";

/// A network process: a name for the report and its pid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Process {
    pub(crate) name: String,
    pub(crate) pid: u32,
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path)
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|p| *p > 0)
}

/// The processes of the network under `layout`, plus this process.
pub(crate) fn network_processes(layout: &Layout) -> Vec<Process> {
    let mut out = Vec::new();
    // Everything in run/ (the devnet or the Fabric nodes, the CAs) by its file name.
    if let Ok(entries) = std::fs::read_dir(layout.run_dir()) {
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for path in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if let (Some(name), Some(pid)) = (
                name.and_then(|n| n.strip_suffix(".pid").map(str::to_owned)),
                read_pid(&path),
            ) {
                out.push(Process { name, pid });
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(layout.chaincode_dir()) {
        let mut dirs: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for dir in dirs {
            if let Some(pid) = read_pid(&dir.join("server.pid")) {
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push(Process {
                    name: format!("chaincode {name}"),
                    pid,
                });
            }
        }
    }
    out.push(Process {
        name: CLIENT.to_owned(),
        pid: std::process::id(),
    });
    out
}

/// utime + stime (clock ticks) from the text of `/proc/<pid>/stat`.
pub(crate) fn ticks_of_stat(stat: &str) -> Option<u64> {
    // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
    // count fields after the last ')': state is field 3, utime 14, stime 15.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// CPU clock ticks used so far by each process that is still running.
pub(crate) fn snapshot(processes: &[Process]) -> BTreeMap<String, u64> {
    processes
        .iter()
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", p.pid)).ok()?;
            Some((p.name.clone(), ticks_of_stat(&stat)?))
        })
        .collect()
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of `/proc/<pid>/stat`.
pub(crate) fn ticks_per_second() -> Result<u64, String> {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .map_err(|e| format!("cannot run getconf CLK_TCK: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| "getconf CLK_TCK did not print a positive number".to_owned())
}

/// CPU seconds each process used between two snapshots (processes in both).
pub(crate) fn seconds_between(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    ticks_per_second: u64,
) -> BTreeMap<String, f64> {
    before
        .iter()
        .filter_map(|(name, b)| {
            let a = after.get(name)?;
            Some((
                name.clone(),
                a.saturating_sub(*b) as f64 / ticks_per_second as f64,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_after_the_command_name() {
        // A command name with a space and a ')' inside, as the kernel allows.
        let stat =
            "4242 (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0 100 0 0";
        assert_eq!(ticks_of_stat(stat), Some(1234 + 567));
        assert_eq!(ticks_of_stat("garbage"), None);
        assert_eq!(ticks_of_stat("1 (x) S 1 2"), None);
    }

    #[test]
    fn seconds_between_snapshots() {
        let before = BTreeMap::from([("devnet".to_owned(), 100u64), ("gone".to_owned(), 5)]);
        let after = BTreeMap::from([("devnet".to_owned(), 350u64)]);
        let s = seconds_between(&before, &after, 100);
        assert_eq!(s.get("devnet"), Some(&2.5));
        assert!(!s.contains_key("gone"));
    }

    #[test]
    fn this_process_has_a_readable_stat() {
        let me = Process {
            name: CLIENT.into(),
            pid: std::process::id(),
        };
        assert!(snapshot(&[me]).contains_key(CLIENT));
    }
}
