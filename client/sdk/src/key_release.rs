//! Owns: audited key release, the reader's side and the protocol both sides
//! speak. A data key is wrapped at rest only for the patient's home
//! hospital and the patient; every other reader first commits a
//! `request_access` transaction and then asks the home hospital's key
//! custodian for the key with that transaction's id. The custodian checks
//! the committed transaction on its own peer and answers a wrap sealed to
//! the caller's published key, or a [`Refusal`].
//!
//! The protocol is one JSON POST over TLS ([`RELEASE_PATH`]). The client
//! authenticates with its Fabric identity: the TLS client certificate is the
//! enrollment certificate that signed the transaction, and the handshake is
//! signed through the SDK's [`Signer`], so a key in an HSM works here too.
//! The custodian compares that certificate with the transaction's creator.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use fabric_proto::msp::SerializedIdentity;
use healthblock_ehr_types::model::{KeyFingerprint, RecordId};
use prost::Message as _;
use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{SignatureAlgorithm, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};

use crate::error::{Result, SdkError};
use crate::signer::Signer;

/// The custodian's only endpoint.
pub const RELEASE_PATH: &str = "/v1/release";
/// How long a reader waits for a custodian's answer.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a reader sends: the id of its committed `request_access`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The `request_access` transaction.
    pub tx_id: String,
}

/// A released key: a wrap sealed to the caller's published key, bound to
/// the record version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The redeemed transaction.
    pub tx_id: String,
    /// The record.
    pub record_id: RecordId,
    /// The version.
    pub version: u64,
    /// The key the wrap is sealed to.
    pub recipient: KeyFingerprint,
    /// The WBCB key wrap, base64.
    pub wrap: String,
}

impl Release {
    /// The wrap's bytes.
    pub fn wrap_bytes(&self) -> std::result::Result<Vec<u8>, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD.decode(&self.wrap)
    }
}

/// Why a custodian released nothing. Every refusal fails closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The request is not a transaction id.
    Malformed,
    /// The custodian's peer holds no such transaction (not committed, or
    /// never submitted).
    NotCommitted,
    /// The transaction committed, but not VALID.
    Invalid,
    /// The transaction is not a granted `request_access` of the contract.
    NotAGrant,
    /// The caller is not the transaction's creator.
    ForeignCaller,
    /// The decision is older than the custodian accepts (or from the future).
    Stale,
    /// The transaction was redeemed before.
    Redeemed,
    /// The record's home hospital is another one.
    NotHome,
    /// The key the decision names is no longer the caller's published key.
    KeyMismatch,
    /// The custodian cannot confirm anything right now (its peer, its store).
    Unavailable,
}

impl RefusalCode {
    /// The HTTP status the custodian answers with.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalCode::Malformed => 400,
            RefusalCode::Unavailable => 503,
            _ => 403,
        }
    }
}

/// A custodian's refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({code:?})")]
pub struct Refusal {
    /// Why, for programs.
    pub code: RefusalCode,
    /// Why, for people.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code` and `message`.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// Where one hospital's custodian listens and how to recognise it.
#[derive(Debug, Clone)]
pub struct CustodianEndpoint {
    /// `host:port`.
    pub address: String,
    /// The name its TLS certificate carries (`custodian.<domain>`).
    pub server_name: String,
    /// The hospital's TLS CA certificate (PEM).
    pub tls_ca_pem: Vec<u8>,
}

/// Every hospital's custodian, by MSP id.
#[derive(Debug, Clone, Default)]
pub struct Custodians {
    by_mspid: BTreeMap<String, CustodianEndpoint>,
}

impl Custodians {
    /// No custodians yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the custodian of `mspid`.
    pub fn with(mut self, mspid: impl Into<String>, endpoint: CustodianEndpoint) -> Self {
        self.by_mspid.insert(mspid.into(), endpoint);
        self
    }

    /// The custodian of `mspid`.
    pub fn get(&self, mspid: &str) -> Option<&CustodianEndpoint> {
        self.by_mspid.get(mspid)
    }
}

/// Asks the custodian at `endpoint` to release the key of committed access
/// decision `tx_id`, authenticating as `signer`.
pub async fn request_release(
    endpoint: &CustodianEndpoint,
    signer: Arc<dyn Signer>,
    tx_id: &str,
) -> Result<Release> {
    let fail = |why: String| SdkError::KeyRelease {
        custodian: endpoint.address.clone(),
        reason: why,
    };
    let tls = client_tls(endpoint, signer).map_err(|e| fail(e.to_string()))?;
    let addr: SocketAddr = tokio::net::lookup_host(&endpoint.address)
        .await
        .map_err(|e| fail(format!("cannot resolve: {e}")))?
        .next()
        .ok_or_else(|| fail("the address resolves to nothing".into()))?;
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve(&endpoint.server_name, addr)
        .timeout(RELEASE_TIMEOUT)
        .build()
        .map_err(|e| fail(format!("cannot build the HTTPS client: {e}")))?;
    let url = format!(
        "https://{}:{}{RELEASE_PATH}",
        endpoint.server_name,
        addr.port()
    );
    let body = serde_json::to_vec(&ReleaseRequest {
        tx_id: tx_id.to_owned(),
    })
    .map_err(|e| fail(format!("encoding the request: {e}")))?;
    let answer = http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| fail(format!("{e:#}")))?;
    let status = answer.status();
    let body = answer
        .bytes()
        .await
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    if status.is_success() {
        return serde_json::from_slice(&body)
            .map_err(|e| fail(format!("the answer is not a release: {e}")));
    }
    match serde_json::from_slice::<Refusal>(&body) {
        Ok(refusal) => Err(SdkError::ReleaseRefused {
            custodian: endpoint.address.clone(),
            refusal,
        }),
        Err(_) => Err(fail(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        ))),
    }
}

/// A TLS client configuration that trusts only the hospital's TLS CA and
/// presents the signer's enrollment certificate.
fn client_tls(
    endpoint: &CustodianEndpoint,
    signer: Arc<dyn Signer>,
) -> std::result::Result<rustls::ClientConfig, rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&endpoint.tls_ca_pem) {
        let cert = cert.map_err(|e| rustls::Error::General(format!("TLS CA: {e}")))?;
        roots.add(cert)?;
    }
    let creator = SerializedIdentity::decode(signer.creator().as_slice())
        .map_err(|e| rustls::Error::General(format!("the signer's identity: {e}")))?;
    let cert = CertificateDer::from_pem_slice(&creator.id_bytes)
        .map_err(|e| rustls::Error::General(format!("the signer's certificate: {e}")))?;
    let key = Arc::new(CertifiedKey::new(vec![cert], Arc::new(SignerKey(signer))));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(SignerCert(key))))
}

/// Presents the signer's certificate to any server that asks.
#[derive(Debug)]
struct SignerCert(Arc<CertifiedKey>);

impl ResolvesClientCert for SignerCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        sigschemes
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The handshake signature, made by the SDK's signer (ECDSA P-256 over
/// SHA-256, DER: what Fabric signs with, and TLS's ecdsa_secp256r1_sha256).
#[derive(Debug)]
struct SignerKey(Arc<dyn Signer>);

impl rustls::sign::SigningKey for SignerKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| Box::new(HandshakeSigner(self.0.clone())) as Box<dyn rustls::sign::Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

#[derive(Debug)]
struct HandshakeSigner(Arc<dyn Signer>);

impl rustls::sign::Signer for HandshakeSigner {
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, rustls::Error> {
        self.0
            .sign(message)
            .map_err(|e| rustls::Error::General(format!("signing the TLS handshake: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_round_trip_as_json() {
        let r = Refusal::new(RefusalCode::NotCommitted, "no such transaction");
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(
            text,
            r#"{"code":"not_committed","message":"no such transaction"}"#
        );
        assert_eq!(serde_json::from_str::<Refusal>(&text).unwrap(), r);
        assert_eq!(RefusalCode::Malformed.http_status(), 400);
        assert_eq!(RefusalCode::Redeemed.http_status(), 403);
        assert_eq!(RefusalCode::Unavailable.http_status(), 503);
    }

    #[test]
    fn a_request_is_only_a_transaction_id() {
        let bad = serde_json::from_str::<ReleaseRequest>(r#"{"tx_id":"ab","key":"x"}"#);
        assert!(bad.is_err());
    }
}
