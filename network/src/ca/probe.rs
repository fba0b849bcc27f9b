//! Asking a CA server whether it serves: `GET /api/v1/cainfo` over TLS.
//!
//! Owns: the HTTPS client that trusts only the org's TLS root and the
//! decoding of the `cainfo` answer (CA name and server version).

use serde::Deserialize;
use std::time::Duration;

/// How long one probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What `cainfo` tells about a running CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaInfo {
    pub ca_name: String,
    pub version: String,
}

/// Fabric CA's response envelope (`cfssl` style).
#[derive(Deserialize)]
struct Envelope {
    success: bool,
    result: Option<InfoResult>,
    #[serde(default)]
    errors: Vec<ServerMessage>,
}

#[derive(Deserialize)]
struct InfoResult {
    #[serde(rename = "CAName", default)]
    ca_name: String,
    #[serde(rename = "Version", default)]
    version: String,
}

#[derive(Deserialize)]
struct ServerMessage {
    message: String,
}

/// An HTTPS client trusting only `tls_root_pem`.
pub(crate) fn client(tls_root_pem: &[u8]) -> Result<reqwest::Client, String> {
    let root = reqwest::Certificate::from_pem(tls_root_pem)
        .map_err(|e| format!("TLS root certificate: {e}"))?;
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .https_only(true)
        .connect_timeout(PROBE_TIMEOUT)
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("HTTPS client: {e}"))
}

/// `GET <url>/api/v1/cainfo`; the error says why the CA did not answer.
pub(crate) async fn cainfo(http: &reqwest::Client, url: &str) -> Result<CaInfo, String> {
    let endpoint = format!("{url}/api/v1/cainfo");
    let response = http
        .get(&endpoint)
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {}", error_chain(&e)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("{endpoint}: reading the answer: {e}"))?;
    let envelope: Envelope = serde_json::from_slice(&body)
        .map_err(|e| format!("{endpoint}: HTTP {status}, not a Fabric CA answer: {e}"))?;
    match envelope.result {
        Some(info) if envelope.success => Ok(CaInfo {
            ca_name: info.ca_name,
            version: info.version,
        }),
        _ => {
            let why: Vec<String> = envelope.errors.into_iter().map(|m| m.message).collect();
            Err(format!("{endpoint}: HTTP {status}: {}", why.join("; ")))
        }
    }
}

/// The error with its causes (reqwest hides the interesting part in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
