//! The devnet's control socket: how `healthblock network stop|start --node`
//! reaches a running devnet process. A Unix socket in the devnet's data
//! directory (only its owner can connect); one request line, one answer line.
//!
//! Owns: the requests and answers, written and parsed on both sides.

/// What the CLI asks the devnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlRequest {
    StopPeer(String),
    StartPeer(String),
}

impl ControlRequest {
    /// The request as one line (without the newline).
    pub fn to_line(&self) -> String {
        match self {
            ControlRequest::StopPeer(name) => format!("stop-peer {name}"),
            ControlRequest::StartPeer(name) => format!("start-peer {name}"),
        }
    }

    pub fn parse(line: &str) -> Result<Self, String> {
        let line = line.trim_end_matches(['\r', '\n']);
        match line.split_once(' ') {
            Some(("stop-peer", name)) if !name.is_empty() => Ok(Self::StopPeer(name.into())),
            Some(("start-peer", name)) if !name.is_empty() => Ok(Self::StartPeer(name.into())),
            _ => Err(format!("unknown control request {line:?}")),
        }
    }
}

/// The answer line for an outcome.
pub fn answer_line(outcome: &Result<(), String>) -> String {
    match outcome {
        Ok(()) => "ok".into(),
        Err(e) => format!("error: {}", e.replace('\n', " ")),
    }
}

/// The outcome an answer line reports.
pub fn parse_answer(line: &str) -> Result<(), String> {
    let line = line.trim_end_matches(['\r', '\n']);
    match line {
        "ok" => Ok(()),
        _ => Err(line
            .strip_prefix("error: ")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("unreadable answer {line:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip() {
        for r in [
            ControlRequest::StopPeer("peer0.hospital1.healthblock.test".into()),
            ControlRequest::StartPeer("peer1".into()),
        ] {
            assert_eq!(ControlRequest::parse(&r.to_line()).unwrap(), r);
        }
        assert!(ControlRequest::parse("stop-peer").is_err());
        assert!(ControlRequest::parse("reboot everything").is_err());
        assert_eq!(parse_answer(&answer_line(&Ok(()))), Ok(()));
        assert_eq!(
            parse_answer(&answer_line(&Err("no peer named x\nin this devnet".into()))),
            Err("no peer named x in this devnet".into())
        );
    }
}
