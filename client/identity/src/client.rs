//! A client of one Fabric CA server's REST API (v1.5), in Rust.
//!
//! Owns: the HTTPS connection (trusting only the hospital's TLS root), the
//! `cfssl`-style response envelope, and the three calls HealthBlock needs:
//! `cainfo`, `enroll` (basic auth with the enrollment secret, a CSR, attribute
//! requests) and `register` (token auth by a registrar, attributes with
//! `ecert: true`). Errors name the hospital and carry the server's message.

use crate::error::{IdentityError, Result};
use crate::token::auth_token;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fabric_msp::SigningIdentity;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

const API: &str = "/api/v1";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One hospital's CA: where it is and how to trust it.
#[derive(Debug, Clone)]
pub struct CaEndpoint {
    /// Organisation name, for messages.
    pub org: String,
    /// `https://host:port`.
    pub url: String,
    /// The CA's name (`--ca.name`); empty for the server's default CA.
    pub ca_name: String,
    /// PEM of the root that signed the server's TLS certificate.
    pub tls_root_pem: Vec<u8>,
}

/// An attribute to register: `ecert` puts it into enrollment certificates by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub name: String,
    pub value: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ecert: bool,
}

/// An attribute the enrollment certificate must (or, if optional, may) carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeRequest {
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// `POST /register` body (Fabric CA's `api.RegistrationRequest`).
#[derive(Debug, Clone, Serialize)]
pub struct Registration {
    #[serde(rename = "id")]
    pub name: String,
    /// Fabric CA identity type; becomes the certificate's NodeOU (`client`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Empty: the CA generates one and returns it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// `.` is the root affiliation: no affiliation OUs besides the type.
    pub affiliation: String,
    #[serde(rename = "attrs")]
    pub attributes: Vec<Attribute>,
    #[serde(rename = "caname", skip_serializing_if = "String::is_empty")]
    pub ca_name: String,
}

/// `POST /enroll` body (`api.EnrollmentRequestNet`: cfssl's sign request + attribute requests).
#[derive(Serialize)]
struct EnrollRequest<'a> {
    certificate_request: &'a str,
    #[serde(rename = "CAName", skip_serializing_if = "str::is_empty")]
    ca_name: &'a str,
    attr_reqs: &'a [AttributeRequest],
}

/// On failure Fabric CA sends `"result": ""`, so the result is decoded only after success.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    success: bool,
    #[serde(default)]
    result: serde_json::Value,
    #[serde(default)]
    errors: Vec<ServerMessage>,
}

#[derive(Deserialize)]
struct ServerMessage {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct RegisterResult {
    secret: String,
}

#[derive(Deserialize)]
struct EnrollResult {
    #[serde(rename = "Cert")]
    cert: String,
    #[serde(rename = "ServerInfo")]
    server_info: InfoResult,
}

/// `GET /cainfo` result.
#[derive(Debug, Clone, Deserialize)]
pub struct InfoResult {
    #[serde(rename = "CAName", default)]
    pub ca_name: String,
    /// Base64 of the PEM chain up to the root.
    #[serde(rename = "CAChain", default)]
    pub ca_chain: String,
    #[serde(rename = "Version", default)]
    pub version: String,
}

/// What an enrollment returns: the certificate and the CA chain (PEM).
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub cert_pem: Vec<u8>,
    pub ca_chain_pem: Vec<u8>,
}

/// A connection to one CA server.
#[derive(Debug, Clone)]
pub struct CaClient {
    endpoint: CaEndpoint,
    http: reqwest::Client,
}

impl CaClient {
    pub fn new(endpoint: CaEndpoint) -> Result<Self> {
        let root = reqwest::Certificate::from_pem(&endpoint.tls_root_pem).map_err(|e| {
            IdentityError::Crypto(format!("TLS root of the {} CA: {e}", endpoint.org))
        })?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            .https_only(true)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| IdentityError::Crypto(format!("HTTPS client: {e}")))?;
        Ok(Self { endpoint, http })
    }

    pub fn endpoint(&self) -> &CaEndpoint {
        &self.endpoint
    }

    /// The CA's name, chain and version.
    pub async fn info(&self) -> Result<InfoResult> {
        let request = self.http.get(self.url("cainfo"));
        self.send("cainfo", request).await
    }

    /// Enrolls `name` with its `secret`: a fresh CSR for a key the caller made.
    pub async fn enroll(
        &self,
        name: &str,
        secret: &str,
        csr_pem: &str,
        attr_reqs: &[AttributeRequest],
    ) -> Result<Enrolled> {
        let body = serde_json::to_vec(&EnrollRequest {
            certificate_request: csr_pem,
            ca_name: &self.endpoint.ca_name,
            attr_reqs,
        })
        .map_err(|e| IdentityError::Crypto(format!("encoding the enroll request: {e}")))?;
        let request = self
            .http
            .post(self.url("enroll"))
            .basic_auth(name, Some(secret))
            .body(body);
        let result: EnrollResult = self.send("enroll", request).await?;
        let cert_pem = self.decode_b64("enroll", "Cert", &result.cert)?;
        let ca_chain_pem = self.decode_b64("enroll", "CAChain", &result.server_info.ca_chain)?;
        Ok(Enrolled {
            cert_pem,
            ca_chain_pem,
        })
    }

    /// Registers an identity as `registrar`; returns its enrollment secret.
    pub async fn register(
        &self,
        registrar: &SigningIdentity,
        reg: &Registration,
    ) -> Result<String> {
        let body = serde_json::to_vec(reg)
            .map_err(|e| IdentityError::Crypto(format!("encoding the register request: {e}")))?;
        let token = auth_token(registrar, "POST", &format!("{API}/register"), &body);
        let request = self
            .http
            .post(self.url("register"))
            .header(reqwest::header::AUTHORIZATION, token)
            .body(body);
        let result: RegisterResult = self.send("register", request).await?;
        Ok(result.secret)
    }

    fn url(&self, endpoint: &str) -> String {
        format!(
            "{}{API}/{endpoint}",
            self.endpoint.url.trim_end_matches('/')
        )
    }

    /// Sends a request and unwraps Fabric CA's envelope into `T` or a clear error.
    async fn send<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Result<T> {
        let response = request
            .send()
            .await
            .map_err(|e| IdentityError::Unreachable {
                org: self.endpoint.org.clone(),
                url: self.endpoint.url.clone(),
                reason: error_chain(&e),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| IdentityError::Unreachable {
                org: self.endpoint.org.clone(),
                url: self.endpoint.url.clone(),
                reason: format!("reading the answer: {}", error_chain(&e)),
            })?;
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
            self.bad(
                operation,
                format!("HTTP {status}, not a Fabric CA answer: {e}"),
            )
        })?;
        if !status.is_success() || !envelope.success || !envelope.errors.is_empty() {
            let messages: Vec<String> = envelope
                .errors
                .iter()
                .map(|m| format!("{} (code {})", m.message, m.code))
                .collect();
            return Err(IdentityError::Refused {
                org: self.endpoint.org.clone(),
                operation,
                status: status.as_u16(),
                message: if messages.is_empty() {
                    "no reason given".into()
                } else {
                    messages.join("; ")
                },
            });
        }
        serde_json::from_value(envelope.result)
            .map_err(|e| self.bad(operation, format!("unexpected result: {e}")))
    }

    fn decode_b64(&self, operation: &'static str, field: &str, text: &str) -> Result<Vec<u8>> {
        STANDARD
            .decode(text)
            .map_err(|e| self.bad(operation, format!("{field} is not base64: {e}")))
    }

    fn bad(&self, operation: &'static str, message: String) -> IdentityError {
        IdentityError::BadResponse {
            org: self.endpoint.org.clone(),
            operation,
            message,
        }
    }
}

/// The error with its causes (reqwest keeps the useful part in `source()`).
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
