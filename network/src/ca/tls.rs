//! The CA server's TLS certificate.
//!
//! Owns: issuing the server certificate of a hospital's CA from that
//! hospital's TLS root (`tlsca/`), as cryptogen does for its peers, so a
//! client that trusts the org's TLS CA (`msp/tlscacerts/`) trusts its CA
//! server too. The certificate names the address clients dial (the
//! consortium's host), `localhost` and `ca.<domain>`.

use super::files;
use super::CaError;
use super::OrgCaFiles;
use crate::fsutil;
use rand_core::{OsRng, RngCore};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// Validity of the TLS certificate; it is issued afresh on every start.
const VALIDITY_DAYS: i64 = 365;

/// Issues a TLS server certificate for `names` under `tls_ca` and writes it
/// (and its key, 0600) to `cert_path` / `key_path`, replacing older ones.
pub(crate) fn write_server_cert(
    tls_ca: &OrgCaFiles,
    common_name: &str,
    names: &[String],
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), CaError> {
    let issuer = load_issuer(tls_ca)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CaError::Tls(format!("key generation failed: {e}")))?;
    let params = server_params(common_name, names)?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| CaError::Tls(format!("signing the server certificate failed: {e}")))?;
    if let Some(dir) = cert_path.parent() {
        files::ensure_private_dir(dir)?;
    }
    files::replace_file(cert_path, cert.pem().as_bytes(), 0o644)?;
    files::replace_file(key_path, key.serialize_pem().as_bytes(), 0o600)?;
    Ok(())
}

fn load_issuer(tls_ca: &OrgCaFiles) -> Result<Issuer<'static, KeyPair>, CaError> {
    let cert_pem = fsutil::read_text(&tls_ca.cert)?;
    let key_pem = fsutil::read_text(&tls_ca.key)?;
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| CaError::Tls(format!("{}: {e}", tls_ca.key.display())))?;
    Issuer::from_ca_cert_pem(&cert_pem, key)
        .map_err(|e| CaError::Tls(format!("{}: {e}", tls_ca.cert.display())))
}

fn server_params(common_name: &str, names: &[String]) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_, _>>()?;
    // Back-dated a little so a peer with a slightly slow clock accepts it at once.
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(VALIDITY_DAYS);
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x3f) | 0x40; // positive, minimally encoded
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

/// An IP SAN when the text is an address, a DNS SAN otherwise.
fn san(name: &str) -> Result<SanType, CaError> {
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let dns = name
        .try_into()
        .map_err(|_| CaError::Tls(format!("{name:?} is not an ASCII DNS name")))?;
    Ok(SanType::DnsName(dns))
}
