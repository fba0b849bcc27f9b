//! Asking a running Fabric node how it is.
//!
//! Owns: the operations endpoint (plain HTTP: `/healthz` answers 200 when the
//! node's checks pass, `/metrics` is Prometheus text), reading single metric
//! values out of it (Raft leadership, gossip membership), and TCP probes of
//! the gRPC listeners. `/healthz` answers before gRPC accepts, so readiness
//! needs both.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(2);
/// Metrics pages are a few hundred KiB at most; anything larger is not an operations endpoint.
const MAX_BODY: u64 = 8 << 20;

/// Whether something accepts TCP connections at `address`.
pub async fn accepts_tcp(address: &str) -> bool {
    matches!(
        tokio::time::timeout(TIMEOUT, TcpStream::connect(address)).await,
        Ok(Ok(_))
    )
}

/// `GET path` over HTTP/1.0; the status code and body, or `None` if the node does not answer.
async fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    let call = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.take(MAX_BODY).read_to_end(&mut raw).await.ok()?;
        parse_response(&raw)
    };
    tokio::time::timeout(TIMEOUT, call).await.ok().flatten()
}

fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// `/healthz` answers 200.
pub async fn healthy(operations: &str) -> bool {
    matches!(http_get(operations, "/healthz").await, Some((200, _)))
}

/// The Prometheus text of `/metrics`.
pub async fn metrics(operations: &str) -> Option<String> {
    match http_get(operations, "/metrics").await {
        Some((200, body)) => Some(body),
        _ => None,
    }
}

/// The value of `name{label="value"}` in Prometheus text, e.g.
/// `metric_value(text, "consensus_etcdraft_is_leader", "channel", "ehr")`.
pub fn metric_value(text: &str, name: &str, label: &str, value: &str) -> Option<f64> {
    let wanted = format!("{label}=\"{value}\"");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (labels, number) = match rest.strip_prefix('{') {
                Some(r) => r.split_once('}')?,
                None => ("", rest),
            };
            let matches = labels.split(',').any(|kv| kv.trim() == wanted);
            matches.then(|| number.trim().parse().ok()).flatten()
        })
        .next()
}

/// Whether the orderer leads the channel's Raft cluster.
pub async fn is_raft_leader(operations: &str, channel: &str) -> Option<bool> {
    let text = metrics(operations).await?;
    metric_value(&text, "consensus_etcdraft_is_leader", "channel", channel).map(|v| v == 1.0)
}

/// How many other peers of the channel the peer knows through gossip.
pub async fn gossip_peers_known(operations: &str, channel: &str) -> Option<u64> {
    let text = metrics(operations).await?;
    metric_value(
        &text,
        "gossip_membership_total_peers_known",
        "channel",
        channel,
    )
    .map(|v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP consensus_etcdraft_is_leader Whether this node is the leader.\n\
        # TYPE consensus_etcdraft_is_leader gauge\n\
        consensus_etcdraft_is_leader{channel=\"other\"} 0\n\
        consensus_etcdraft_is_leader{channel=\"ehr\"} 1\n\
        consensus_etcdraft_is_leader_x{channel=\"ehr\"} 7\n\
        gossip_membership_total_peers_known{channel=\"ehr\"} 3\n\
        go_goroutines 42\n";

    #[test]
    fn metric_values_by_label() {
        assert_eq!(
            metric_value(TEXT, "consensus_etcdraft_is_leader", "channel", "ehr"),
            Some(1.0)
        );
        assert_eq!(
            metric_value(TEXT, "consensus_etcdraft_is_leader", "channel", "other"),
            Some(0.0)
        );
        assert_eq!(
            metric_value(
                TEXT,
                "gossip_membership_total_peers_known",
                "channel",
                "ehr"
            ),
            Some(3.0)
        );
        assert_eq!(
            metric_value(TEXT, "consensus_etcdraft_is_leader", "channel", "none"),
            None
        );
        assert_eq!(metric_value(TEXT, "go_goroutines", "channel", "ehr"), None);
    }

    #[test]
    fn responses_parse() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nOK"),
            Some((200, "OK".into()))
        );
        assert_eq!(
            parse_response(b"HTTP/1.0 503 Service Unavailable\r\n\r\n{}"),
            Some((503, "{}".into()))
        );
        assert_eq!(parse_response(b"garbage"), None);
    }

    #[tokio::test]
    async fn healthz_over_a_real_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await.unwrap();
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\n{\"status\":\"OK\"}")
                .await
                .unwrap();
        });
        assert!(healthy(&address).await);
        assert!(!healthy("127.0.0.1:1").await);
    }
}
