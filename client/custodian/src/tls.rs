//! Owns: the custodian's TLS: its server certificate (issued by the
//! hospital's TLS CA) and client authentication by the consortium's Fabric
//! identities. A client certificate is accepted when one of the
//! consortium's MSPs validates it as Fabric would (chain to the MSP's root,
//! validity, NodeOUs), and the handshake signature proves the client holds
//! its key. Which identity may have which key is decided per request, by
//! comparing this certificate with the decision's creator.

use std::sync::Arc;

use fabric_msp::{Identity, Msp};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::pem::PemObject;

/// The TLS material could not be used.
#[derive(Debug, thiserror::Error)]
#[error("custodian TLS: {0}")]
pub struct TlsError(String);

fn tls_error(e: impl std::fmt::Display) -> TlsError {
    TlsError(e.to_string())
}

/// The server configuration: `cert_pem`/`key_pem` as its identity, client
/// certificates required and checked against `msps`.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
    msps: Vec<Msp>,
) -> Result<rustls::ServerConfig, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(tls_error)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(tls_error)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(MspClientVerifier {
        msps,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(tls_error)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The consortium's MSPs judge client certificates.
#[derive(Debug)]
struct MspClientVerifier {
    msps: Vec<Msp>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl MspClientVerifier {
    /// The MSP that validates `der` now, if any.
    fn validating_msp(&self, der: &[u8], now: i64) -> Option<&Msp> {
        self.msps.iter().find(|msp| {
            Identity::from_der(&msp.mspid, der).is_ok_and(|id| msp.validate(&id, now).is_ok())
        })
    }
}

impl ClientCertVerifier for MspClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        match self.validating_msp(end_entity.as_ref(), now) {
            Some(_) => Ok(ClientCertVerified::assertion()),
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
