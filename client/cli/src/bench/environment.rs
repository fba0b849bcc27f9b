//! Owns: where and how a benchmark ran, read from the machine and the
//! binary at run time so every report carries it: host name, CPUs, the
//! load average before and after, the UTC start time, and the build profile
//! of this binary (debug or release).

use serde::Serialize;

/// The machine and build a report was measured with.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Environment {
    pub(crate) host: String,
    /// CPUs this process may use.
    pub(crate) cpus: usize,
    /// `release` or `debug` (whether debug assertions are compiled in).
    pub(crate) build_profile: &'static str,
    /// RFC 3339, UTC, when the run started.
    pub(crate) started_at: String,
    /// 1-, 5- and 15-minute load averages when the run started.
    pub(crate) load_average_start: Option<[f64; 3]>,
    /// ... and when it ended.
    pub(crate) load_average_end: Option<[f64; 3]>,
}

/// The build profile of this binary.
pub(crate) fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The 1-, 5- and 15-minute load averages from `/proc/loadavg`.
pub(crate) fn load_average() -> Option<[f64; 3]> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

impl Environment {
    /// The environment now, at the start of a run.
    pub(crate) fn at_start() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        let started_at = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Self {
            host,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            build_profile: build_profile(),
            started_at,
            load_average_start: load_average(),
            load_average_end: None,
        }
    }

    /// Records the load average at the end of the run.
    pub(crate) fn finish(&mut self) {
        self.load_average_end = load_average();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_loadavg() {
        assert_eq!(
            parse_loadavg("1.42 1.63 1.75 3/412 11130\n"),
            Some([1.42, 1.63, 1.75])
        );
        assert_eq!(parse_loadavg("1.0 x"), None);
    }
}
