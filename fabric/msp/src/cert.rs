//! X.509 certificate facts the MSP needs, extracted with `x509-parser`.
//!
//! Owns: PEM → DER, the fields of a certificate Fabric cares about (subject
//! CN and OUs, validity, P-256 public key, Fabric CA attributes, CA flag,
//! raw subject/issuer names) and checking that one certificate was signed by
//! another (ECDSA P-256 / SHA-256, the only scheme Fabric's default MSP uses
//! with our key type).

use crate::MspError;
use p256::ecdsa::signature::Verifier;
use std::collections::BTreeMap;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;

/// OID of the extension in which Fabric CA stores enrollment attributes.
pub const FABRIC_CA_ATTRIBUTES_OID: &str = "1.2.3.4.5.6.7.8.1";
/// ecdsa-with-SHA256.
const ECDSA_SHA256_OID: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];

/// The parts of a certificate the MSP uses.
#[derive(Debug, Clone)]
pub(crate) struct CertInfo {
    pub subject_cn: String,
    pub ous: Vec<String>,
    pub not_before: i64,
    pub not_after: i64,
    /// SEC1 public key bytes (as found in the SubjectPublicKeyInfo bit string).
    pub public_key: Vec<u8>,
    pub attrs: BTreeMap<String, String>,
    pub is_ca: bool,
}

/// Decodes every `CERTIFICATE` block of a PEM text to DER.
pub(crate) fn pem_certs_to_der(pem_text: &[u8]) -> Result<Vec<Vec<u8>>, MspError> {
    let blocks = pem::parse_many(pem_text)
        .map_err(|e| MspError::BadCertificate(format!("invalid PEM: {e}")))?;
    let certs: Vec<Vec<u8>> = blocks
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(MspError::BadCertificate(
            "no CERTIFICATE block in PEM".into(),
        ));
    }
    Ok(certs)
}

/// Decodes exactly one certificate from PEM.
pub(crate) fn pem_cert_to_der(pem_text: &[u8]) -> Result<Vec<u8>, MspError> {
    let mut certs = pem_certs_to_der(pem_text)?;
    if certs.len() != 1 {
        return Err(MspError::BadCertificate(format!(
            "expected one certificate, found {}",
            certs.len()
        )));
    }
    Ok(certs.remove(0))
}

fn parse_x509(der: &[u8]) -> Result<X509Certificate<'_>, MspError> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| MspError::BadCertificate(format!("invalid X.509 DER: {e}")))?;
    if !rest.is_empty() {
        return Err(MspError::BadCertificate(
            "trailing bytes after certificate".into(),
        ));
    }
    Ok(cert)
}

/// Extracts the MSP-relevant fields of a DER certificate.
pub(crate) fn parse(der: &[u8]) -> Result<CertInfo, MspError> {
    let cert = parse_x509(der)?;
    let subject = cert.subject();
    let subject_cn = subject
        .iter_common_name()
        .next()
        .map(|cn| attr_string(cn.as_str(), "CN"))
        .transpose()?
        .unwrap_or_default();
    let ous = subject
        .iter_organizational_unit()
        .map(|ou| attr_string(ou.as_str(), "OU"))
        .collect::<Result<Vec<_>, _>>()?;
    let validity = cert.validity();
    Ok(CertInfo {
        subject_cn,
        ous,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        public_key: cert.public_key().subject_public_key.data.to_vec(),
        attrs: fabric_ca_attributes(&cert)?,
        is_ca: cert.is_ca(),
    })
}

fn attr_string(
    value: Result<&str, x509_parser::error::X509Error>,
    what: &str,
) -> Result<String, MspError> {
    value
        .map(str::to_owned)
        .map_err(|e| MspError::BadCertificate(format!("subject {what} is not a string: {e}")))
}

/// The attributes Fabric CA wrote into a certificate (empty when it has none).
/// Fabric CA stores them as raw JSON `{"attrs":{"name":"value",..}}` directly
/// in the extension value (not DER-wrapped).
pub fn fabric_ca_attributes(
    cert: &X509Certificate<'_>,
) -> Result<BTreeMap<String, String>, MspError> {
    #[derive(serde::Deserialize)]
    struct Attrs {
        #[serde(default)]
        attrs: BTreeMap<String, String>,
    }
    let Some(ext) = cert
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == FABRIC_CA_ATTRIBUTES_OID)
    else {
        return Ok(BTreeMap::new());
    };
    let parsed: Attrs = serde_json::from_slice(ext.value)
        .map_err(|e| MspError::BadCertificate(format!("bad Fabric CA attributes: {e}")))?;
    Ok(parsed.attrs)
}

/// True if `child_der` carries a valid ECDSA-SHA256 signature by the key of `issuer_der`.
///
/// Certificate signatures are not required to be low-S: Fabric's low-S rule
/// applies to transaction signatures, while CA signatures are checked by the
/// standard X.509 verifier.
pub(crate) fn is_signed_by(child_der: &[u8], issuer_der: &[u8]) -> bool {
    let (Ok(child), Ok(issuer)) = (parse_x509(child_der), parse_x509(issuer_der)) else {
        return false;
    };
    if !oid_is(&child.signature_algorithm.algorithm, ECDSA_SHA256_OID) {
        return false;
    }
    if child.issuer().as_raw() != issuer.subject().as_raw() {
        return false;
    }
    let issuer_key = &issuer.public_key().subject_public_key.data;
    let tbs = child.tbs_certificate.as_ref();
    let signature = &child.signature_value.data;
    // ring may only accept (see `fast_verify`); a refusal is re-checked by p256.
    if crate::fast_verify::ring_accepts(issuer_key, tbs, signature) {
        return true;
    }
    let Ok(key) = p256::ecdsa::VerifyingKey::from_sec1_bytes(issuer_key) else {
        return false;
    };
    let Ok(sig) = p256::ecdsa::Signature::from_der(signature) else {
        return false;
    };
    key.verify(tbs, &sig).is_ok()
}

/// True if `oid` has exactly the arcs `arcs`.
fn oid_is(oid: &Oid<'_>, arcs: &[u64]) -> bool {
    oid.iter().is_some_and(|it| it.eq(arcs.iter().copied()))
}
