//! A fresh key pair and the certificate signing request sent to enroll.
//!
//! Owns: generating the user's P-256 key from the OS's RNG and the PKCS#10
//! request Fabric CA signs. The request carries only `CN=<enrollment id>`
//! (Fabric CA requires it to equal the id); the CA adds the OUs (identity
//! type, affiliation) and the attribute extension itself.

use crate::error::{IdentityError, Result};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rand_core::OsRng;

/// A new private key (PKCS#8 PEM) and a CSR (PEM) for `common_name`.
pub struct KeyAndCsr {
    pub key_pem: String,
    pub csr_pem: String,
}

impl std::fmt::Debug for KeyAndCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyAndCsr")
            .field("csr_pem", &self.csr_pem)
            .finish_non_exhaustive()
    }
}

pub fn new_key_and_csr(common_name: &str) -> Result<KeyAndCsr> {
    let crypto =
        |what: &str, e: &dyn std::fmt::Display| IdentityError::Crypto(format!("{what}: {e}"));
    let secret = p256::SecretKey::random(&mut OsRng);
    let key_pem = secret
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| crypto("encoding the new key", &e))?;
    let key_pair =
        rcgen::KeyPair::from_pem(&key_pem).map_err(|e| crypto("loading the new key", &e))?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(&key_pair)
        .map_err(|e| crypto("building the CSR", &e))?;
    let csr_pem = csr.pem().map_err(|e| crypto("encoding the CSR", &e))?;
    Ok(KeyAndCsr {
        key_pem: key_pem.to_string(),
        csr_pem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csr_names_the_enrollment_id_and_keys_differ() {
        let a = new_key_and_csr("alice").unwrap();
        let b = new_key_and_csr("alice").unwrap();
        assert!(a.csr_pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        assert!(a.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(a.key_pem, b.key_pem);
        assert!(!format!("{a:?}").contains("PRIVATE KEY"));
        let params = rcgen::CertificateSigningRequestParams::from_pem(&a.csr_pem).unwrap();
        let cn = params
            .params
            .distinguished_name
            .get(&rcgen::DnType::CommonName)
            .cloned();
        assert_eq!(cn, Some(rcgen::DnValue::Utf8String("alice".into())));
    }
}
