//! An organisation's certificate authorities (signing CA and TLS CA) and the
//! certificates they issue, shaped like cryptogen's.
//!
//! Owns: key generation (ECDSA P-256 from the OS RNG via ring), the X.509
//! profile of roots, identity and TLS certificates (subject, key usages,
//! SANs, key identifiers, 10-year validity), and loading an existing CA back
//! from its folder so nodes can be added later.
//!
//! Like cryptogen, every certificate signature is low-S: Fabric normalises
//! signatures to low-S, so a high-S certificate signature would be a second
//! encoding of the same certificate.

use super::spec::Subject;
use super::CryptogenError;
use rand_core::{OsRng, RngCore};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// How long every certificate is valid (cryptogen: 3650 days).
const VALIDITY_DAYS: i64 = 3650;
/// Start validity a little in the past so clocks that lag slightly accept new certificates.
const BACKDATE_MINUTES: i64 = 5;
/// Each signature has a fair chance of being high-S; this many tries make failure negligible.
const MAX_SIGNING_TRIES: usize = 64;
/// X.520 streetAddress and postalCode, which rcgen has no named type for.
const OID_STREET_ADDRESS: [u64; 4] = [2, 5, 4, 9];
const OID_POSTAL_CODE: [u64; 4] = [2, 5, 4, 17];

/// A PEM certificate with its PEM PKCS#8 private key.
pub(super) struct Issued {
    pub cert_pem: String,
    /// Never log this.
    pub key_pem: String,
}

/// What an issued leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Usage {
    /// MSP signing identity (`signcerts/`): digital signature only.
    Identity,
    /// TLS certificate: server and client authentication.
    Tls,
}

/// A leaf certificate to issue.
pub(super) struct LeafRequest<'a> {
    pub common_name: &'a str,
    /// NodeOU role (`peer`, `orderer`, `client`, `admin`), when NodeOUs are on.
    pub node_ou: Option<&'a str>,
    pub sans: &'a [String],
    pub usage: Usage,
}

/// A certificate authority able to issue leaves.
pub(super) struct CertAuthority {
    pub common_name: String,
    pub cert_pem: String,
    subject: Subject,
    issuer: Issuer<'static, KeyPair>,
}

impl CertAuthority {
    /// A new self-signed root: `CN=<common_name>, O=<org_domain>`, CA:true, keyCertSign.
    pub(super) fn create(
        common_name: &str,
        org_domain: &str,
        subject: &Subject,
    ) -> Result<(Self, String), CryptogenError> {
        let key = new_key()?;
        let mut params = base_params()?;
        params.distinguished_name =
            distinguished_name(subject, Some(org_domain), None, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::ServerAuth,
        ];
        let cert_pem = sign_low_s(|| params.self_signed(&key))?;
        let key_pem = key.serialize_pem();
        let ca = Self {
            common_name: common_name.to_owned(),
            cert_pem,
            subject: subject.clone(),
            issuer: Issuer::new(params, key),
        };
        Ok((ca, key_pem))
    }

    /// Loads a CA written earlier (its PEM certificate and PKCS#8 key).
    pub(super) fn load(
        common_name: &str,
        subject: &Subject,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<Self, CryptogenError> {
        let key = KeyPair::from_pem(key_pem)
            .map_err(|e| CryptogenError::Crypto(format!("CA key of {common_name}: {e}")))?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(|e| CryptogenError::Crypto(format!("CA certificate {common_name}: {e}")))?;
        Ok(Self {
            common_name: common_name.to_owned(),
            cert_pem: cert_pem.to_owned(),
            subject: subject.clone(),
            issuer,
        })
    }

    /// Issues a leaf certificate for a fresh key.
    pub(super) fn issue(&self, req: &LeafRequest<'_>) -> Result<Issued, CryptogenError> {
        let key = new_key()?;
        let mut params = base_params()?;
        params.distinguished_name =
            distinguished_name(&self.subject, None, req.node_ou, req.common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        params.subject_alt_names = req.sans.iter().map(|s| san(s)).collect::<Result<_, _>>()?;
        match req.usage {
            Usage::Identity => params.key_usages = vec![KeyUsagePurpose::DigitalSignature],
            Usage::Tls => {
                params.key_usages = vec![
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ];
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
            }
        }
        let cert_pem = sign_low_s(|| params.signed_by(&key, &self.issuer))?;
        Ok(Issued {
            cert_pem,
            key_pem: key.serialize_pem(),
        })
    }
}

fn new_key() -> Result<KeyPair, CryptogenError> {
    // ring draws the key from the operating system's RNG.
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|e| CryptogenError::Crypto(format!("key generation failed: {e}")))
}

/// Validity window and a random positive 126-bit serial number.
fn base_params() -> Result<CertificateParams, CryptogenError> {
    let mut params = CertificateParams::default();
    let now = OffsetDateTime::now_utc()
        .replace_second(0)
        .and_then(|t| t.replace_nanosecond(0))
        .map_err(|e| CryptogenError::Crypto(format!("clock: {e}")))?;
    params.not_before = now - Duration::minutes(BACKDATE_MINUTES);
    params.not_after = params.not_before + Duration::days(VALIDITY_DAYS);
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    // Positive and minimally encoded: top bit clear, first byte non-zero.
    serial[0] = (serial[0] & 0x3f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

/// Subject in the order Go's pkix.Name writes it: C, O, OU, L, ST, street, postal code, CN.
fn distinguished_name(
    subject: &Subject,
    organization: Option<&str>,
    node_ou: Option<&str>,
    common_name: &str,
) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, subject.country.as_str());
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    if let Some(ou) = node_ou.or(subject.organizational_unit.as_deref()) {
        dn.push(DnType::OrganizationalUnitName, ou);
    }
    dn.push(DnType::LocalityName, subject.locality.as_str());
    dn.push(DnType::StateOrProvinceName, subject.province.as_str());
    if let Some(street) = &subject.street_address {
        dn.push(
            DnType::CustomDnType(OID_STREET_ADDRESS.to_vec()),
            street.as_str(),
        );
    }
    if let Some(postal) = &subject.postal_code {
        dn.push(
            DnType::CustomDnType(OID_POSTAL_CODE.to_vec()),
            postal.as_str(),
        );
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// An IP address SAN when the text parses as one, a DNS name otherwise (as cryptogen does).
fn san(text: &str) -> Result<SanType, CryptogenError> {
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let name = text
        .try_into()
        .map_err(|_| CryptogenError::Crypto(format!("SAN {text:?} is not an ASCII DNS name")))?;
    Ok(SanType::DnsName(name))
}

/// Signs (through `sign`) until the certificate's ECDSA signature is low-S; returns its PEM.
fn sign_low_s(
    mut sign: impl FnMut() -> Result<rcgen::Certificate, rcgen::Error>,
) -> Result<String, CryptogenError> {
    for _ in 0..MAX_SIGNING_TRIES {
        let cert = sign().map_err(|e| CryptogenError::Crypto(format!("signing failed: {e}")))?;
        if signature_is_low_s(cert.der())? {
            return Ok(cert.pem());
        }
    }
    Err(CryptogenError::Crypto(
        "could not produce a low-S certificate signature".into(),
    ))
}

fn signature_is_low_s(der: &[u8]) -> Result<bool, CryptogenError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| CryptogenError::Crypto(format!("generated certificate unparsable: {e}")))?;
    let sig = p256::ecdsa::Signature::from_der(&cert.signature_value.data)
        .map_err(|e| CryptogenError::Crypto(format!("generated signature unparsable: {e}")))?;
    Ok(sig.normalize_s().is_none())
}
