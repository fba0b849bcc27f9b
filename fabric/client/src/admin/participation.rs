//! The orderer's channel participation API (what `osnadmin channel` calls).
//!
//! Facts from Fabric: HTTPS on the orderer's admin port with mutual TLS;
//! `POST /participation/v1/channels` with a multipart form whose file field
//! `config-block` holds the channel's config (genesis) block → 201 and a
//! ChannelInfo; `GET /participation/v1/channels` → ChannelList;
//! `GET /participation/v1/channels/{name}` → ChannelInfo;
//! `DELETE /participation/v1/channels/{name}` → 204. Errors carry `{"error": "..."}`.
//!
//! Owns: building those requests (the multipart body is written here, with
//! a random boundary, so it can be checked byte for byte) and decoding the
//! answers.

use crate::error::{Error, Result};
use rand_core::{OsRng, RngCore};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use std::net::ToSocketAddrs;
use std::time::Duration;

const CHANNELS_PATH: &str = "/participation/v1/channels";

/// How to reach an orderer's admin endpoint.
#[derive(Clone)]
pub struct ParticipationEndpoint {
    /// `host:port` of the admin listener.
    pub address: String,
    /// PEM of the TLS CA that signed the admin server's certificate.
    pub tls_ca_pem: Vec<u8>,
    /// Client certificate and key for mutual TLS (an orderer admin's TLS identity).
    pub client_cert_pem: Vec<u8>,
    pub client_key_pem: Vec<u8>,
    /// The name to check the server certificate against, if not the host of `address`.
    pub server_name_override: Option<String>,
}

impl std::fmt::Debug for ParticipationEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParticipationEndpoint")
            .field("address", &self.address)
            .field("server_name_override", &self.server_name_override)
            .finish_non_exhaustive()
    }
}

/// One channel, short form.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChannelInfoShort {
    pub name: String,
    #[serde(default)]
    pub url: String,
}

/// `GET /participation/v1/channels`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChannelList {
    #[serde(rename = "systemChannel", default)]
    pub system_channel: Option<ChannelInfoShort>,
    #[serde(default)]
    pub channels: Option<Vec<ChannelInfoShort>>,
}

/// One channel as the orderer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ChannelInfo {
    pub name: String,
    #[serde(default)]
    pub url: String,
    /// "consenter", "follower", "config-tracker" or "other".
    #[serde(rename = "consensusRelation", default)]
    pub consensus_relation: String,
    /// "active", "onboarding", "inactive" or "failed".
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub height: u64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// A multipart/form-data body with one file field.
#[derive(Debug, Clone)]
pub struct MultipartBody {
    pub boundary: String,
    pub bytes: Vec<u8>,
}

impl MultipartBody {
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// A random boundary (hex of 16 OS-random bytes), redrawn in the absurd case it occurs in the data.
fn boundary_for(data: &[u8]) -> String {
    loop {
        let mut raw = [0u8; 16];
        OsRng.fill_bytes(&mut raw);
        let boundary = hex::encode(raw);
        if !contains(data, boundary.as_bytes()) {
            return boundary;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The join body: field `config-block`, file name `config.block`, as osnadmin sends it.
pub fn join_body(config_block: &[u8]) -> MultipartBody {
    join_body_with_boundary(config_block, boundary_for(config_block))
}

fn join_body_with_boundary(config_block: &[u8], boundary: String) -> MultipartBody {
    let mut bytes = Vec::with_capacity(config_block.len() + 256);
    bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    bytes.extend_from_slice(
        b"Content-Disposition: form-data; name=\"config-block\"; filename=\"config.block\"\r\n",
    );
    bytes.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    bytes.extend_from_slice(config_block);
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    MultipartBody { boundary, bytes }
}

/// Fabric channel names: lowercase letters, digits, '.' and '-', starting with a letter, under 250 characters.
pub fn validate_channel_name(name: &str) -> Result<()> {
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if first_ok && rest_ok && name.len() < 250 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "invalid channel name {name:?}"
        )))
    }
}

/// A client of one orderer's channel participation API.
#[derive(Debug, Clone)]
pub struct ParticipationClient {
    base_url: String,
    http: reqwest::Client,
}

impl ParticipationClient {
    pub fn new(endpoint: &ParticipationEndpoint) -> Result<Self> {
        let bad = |what: &str, source: reqwest::Error| Error::HttpSetup {
            what: what.to_owned(),
            source,
        };
        let ca =
            reqwest::Certificate::from_pem(&endpoint.tls_ca_pem).map_err(|e| bad("TLS CA", e))?;
        let mut identity_pem = endpoint.client_key_pem.clone();
        identity_pem.push(b'\n');
        identity_pem.extend_from_slice(&endpoint.client_cert_pem);
        let identity =
            reqwest::Identity::from_pem(&identity_pem).map_err(|e| bad("client certificate", e))?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .identity(identity)
            .https_only(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120));
        let host = match &endpoint.server_name_override {
            Some(name) => {
                // Connect to the real address but speak (SNI, certificate check) the override name.
                let addr = endpoint
                    .address
                    .to_socket_addrs()
                    .map_err(|e| Error::Resolve {
                        address: endpoint.address.clone(),
                        source: Some(e),
                    })?
                    .next()
                    .ok_or_else(|| Error::Resolve {
                        address: endpoint.address.clone(),
                        source: None,
                    })?;
                builder = builder.resolve(name, addr);
                format!("{name}:{}", addr.port())
            }
            None => endpoint.address.clone(),
        };
        let http = builder.build().map_err(|e| bad("build", e))?;
        Ok(Self {
            base_url: format!("https://{host}"),
            http,
        })
    }

    fn url(&self, channel: Option<&str>) -> Result<String> {
        match channel {
            Some(name) => {
                validate_channel_name(name)?;
                Ok(format!("{}{CHANNELS_PATH}/{name}", self.base_url))
            }
            None => Ok(format!("{}{CHANNELS_PATH}", self.base_url)),
        }
    }

    /// The join request, built but not sent.
    pub fn join_request(&self, config_block: &[u8]) -> Result<reqwest::Request> {
        let body = join_body(config_block);
        self.http
            .request(Method::POST, self.url(None)?)
            .header(reqwest::header::CONTENT_TYPE, body.content_type())
            .body(body.bytes)
            .build()
            .map_err(|source| Error::HttpSetup {
                what: "join request".into(),
                source,
            })
    }

    /// Joins the orderer to the channel of `config_block` (a serialized config `common.Block`).
    pub async fn join(&self, config_block: &[u8]) -> Result<ChannelInfo> {
        let request = self.join_request(config_block)?;
        let body = self.send("join", request, StatusCode::CREATED).await?;
        decode("join", &body)
    }

    /// All channels the orderer is part of.
    pub async fn list(&self) -> Result<ChannelList> {
        let request = self.build("list", Method::GET, None)?;
        let body = self.send("list", request, StatusCode::OK).await?;
        decode("list", &body)
    }

    /// One channel's status and height.
    pub async fn channel_info(&self, channel: &str) -> Result<ChannelInfo> {
        let request = self.build("info", Method::GET, Some(channel))?;
        let body = self.send("info", request, StatusCode::OK).await?;
        decode("info", &body)
    }

    /// Removes the orderer from `channel`.
    pub async fn remove(&self, channel: &str) -> Result<()> {
        let request = self.build("remove", Method::DELETE, Some(channel))?;
        self.send("remove", request, StatusCode::NO_CONTENT).await?;
        Ok(())
    }

    fn build(
        &self,
        operation: &'static str,
        method: Method,
        channel: Option<&str>,
    ) -> Result<reqwest::Request> {
        self.http
            .request(method, self.url(channel)?)
            .build()
            .map_err(|source| Error::HttpSetup {
                what: format!("{operation} request"),
                source,
            })
    }

    async fn send(
        &self,
        operation: &'static str,
        request: reqwest::Request,
        expected: StatusCode,
    ) -> Result<Vec<u8>> {
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| Error::Participation {
                operation,
                status: 0,
                message: crate::connection::error_chain(&e),
            })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| Error::Participation {
            operation,
            status: status.as_u16(),
            message: format!("reading the response: {e}"),
        })?;
        if status == expected {
            Ok(body.to_vec())
        } else {
            Err(Error::Participation {
                operation,
                status: status.as_u16(),
                message: error_message(&body),
            })
        }
    }
}

/// The `error` of a JSON error body, else the body as text.
fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => e.error,
        Err(_) => String::from_utf8_lossy(body).trim().to_owned(),
    }
}

fn decode<T: serde::de::DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::Participation {
        operation,
        status: 0,
        message: format!("unexpected answer ({e}): {}", String::from_utf8_lossy(body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_endpoint(override_name: Option<&str>) -> ParticipationEndpoint {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(vec!["tlsca".into()]).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["admin".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        ParticipationEndpoint {
            address: "127.0.0.1:9443".into(),
            tls_ca_pem: ca.pem().into_bytes(),
            client_cert_pem: cert.pem().into_bytes(),
            client_key_pem: key.serialize_pem().into_bytes(),
            server_name_override: override_name.map(str::to_owned),
        }
    }

    #[test]
    fn join_body_is_a_multipart_form_with_the_config_block() {
        let block = b"\x0a\x00\x12\x03abc\xff\r\n--".to_vec();
        let body = join_body_with_boundary(&block, "BOUNDARY".into());
        let mut expected = b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"config-block\"; filename=\"config.block\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        expected.extend_from_slice(&block);
        expected.extend_from_slice(b"\r\n--BOUNDARY--\r\n");
        assert_eq!(body.bytes, expected);
        assert_eq!(
            body.content_type(),
            "multipart/form-data; boundary=BOUNDARY"
        );

        let random = join_body(&block);
        assert_eq!(random.boundary.len(), 32);
        assert!(!contains(&block, random.boundary.as_bytes()));
    }

    #[test]
    fn join_request_posts_to_the_channels_path() {
        let client = ParticipationClient::new(&test_endpoint(None)).unwrap();
        let request = client.join_request(b"block-bytes").unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(
            request.url().as_str(),
            "https://127.0.0.1:9443/participation/v1/channels"
        );
        let content_type = request.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let body = request.body().unwrap().as_bytes().unwrap();
        assert!(body.starts_with(format!("--{boundary}\r\n").as_bytes()));
        assert!(contains(body, b"name=\"config-block\""));
        assert!(contains(body, b"\r\n\r\nblock-bytes\r\n"));
        assert!(body.ends_with(format!("--{boundary}--\r\n").as_bytes()));
    }

    #[test]
    fn channel_urls_and_name_override() {
        let client =
            ParticipationClient::new(&test_endpoint(Some("orderer0.example.com"))).unwrap();
        assert_eq!(
            client.url(Some("ehr")).unwrap(),
            "https://orderer0.example.com:9443/participation/v1/channels/ehr"
        );
        let remove = client.build("remove", Method::DELETE, Some("ehr")).unwrap();
        assert_eq!(remove.method(), Method::DELETE);
        assert!(client.url(Some("../x")).is_err());
        assert!(client.url(Some("EHR")).is_err());
    }

    #[test]
    fn answers_and_errors_decode() {
        let info: ChannelInfo = decode(
            "join",
            br#"{"name":"ehr","url":"/participation/v1/channels/ehr","consensusRelation":"consenter","status":"active","height":1}"#,
        )
        .unwrap();
        assert_eq!(info.consensus_relation, "consenter");
        assert_eq!(info.height, 1);
        let list: ChannelList = decode(
            "list",
            br#"{"systemChannel":null,"channels":[{"name":"ehr","url":"/participation/v1/channels/ehr"}]}"#,
        )
        .unwrap();
        assert_eq!(list.channels.unwrap()[0].name, "ehr");
        assert_eq!(
            error_message(br#"{"error":"cannot join: channel already exists"}"#),
            "cannot join: channel already exists"
        );
        assert_eq!(error_message(b"404 page not found\n"), "404 page not found");
    }
}
