//! A parsed X.509 identity and its NodeOU role.
//!
//! Owns: `msp.SerializedIdentity` encoding/decoding and the certificate
//! fields of an identity. Trust (chain, expiry, role) is the [`crate::Msp`]'s job.

use crate::{cert, MspError};
use fabric_proto::msp::SerializedIdentity;
use prost::Message;

/// The NodeOU / MSPRole classification of an identity (values match `msp.MSPRole.MSPRoleType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Role {
    Member = 0,
    Admin = 1,
    Client = 2,
    Peer = 3,
    Orderer = 4,
}

/// An identity as it travels on the wire (`msp.SerializedIdentity`), parsed.
#[derive(Debug, Clone)]
pub struct Identity {
    pub mspid: String,
    /// The PEM certificate exactly as serialized (`id_bytes`).
    pub cert_pem: Vec<u8>,
    /// DER of the certificate.
    pub cert_der: Vec<u8>,
    /// SEC1 uncompressed public key bytes.
    pub public_key: Vec<u8>,
    pub subject_cn: String,
    /// All OU values of the subject, in order.
    pub ous: Vec<String>,
    /// Fabric CA attributes (extension 1.2.3.4.5.6.7.8.1, JSON `{"attrs":{..}}`), if present.
    pub attrs: std::collections::BTreeMap<String, String>,
    /// Validity window, unix seconds.
    pub not_before: i64,
    pub not_after: i64,
}

impl Identity {
    /// Parses `msp.SerializedIdentity` bytes.
    pub fn from_serialized(bytes: &[u8]) -> Result<Self, MspError> {
        let sid = SerializedIdentity::decode(bytes)
            .map_err(|e| MspError::BadIdentity(format!("not a SerializedIdentity: {e}")))?;
        if sid.mspid.is_empty() {
            return Err(MspError::BadIdentity("empty MSP id".into()));
        }
        Self::from_pem(&sid.mspid, &sid.id_bytes)
    }

    /// Parses an MSP id and a PEM certificate.
    pub fn from_pem(mspid: &str, cert_pem: &[u8]) -> Result<Self, MspError> {
        let cert_der = cert::pem_cert_to_der(cert_pem)?;
        let info = cert::parse(&cert_der)?;
        Ok(Self {
            mspid: mspid.to_owned(),
            cert_pem: cert_pem.to_vec(),
            cert_der,
            public_key: info.public_key,
            subject_cn: info.subject_cn,
            ous: info.ous,
            attrs: info.attrs,
            not_before: info.not_before,
            not_after: info.not_after,
        })
    }

    /// Parses an MSP id and a DER certificate (as TLS presents it); its PEM
    /// form is the standard encoding.
    pub fn from_der(mspid: &str, cert_der: &[u8]) -> Result<Self, MspError> {
        let pem = pem::encode(&pem::Pem::new("CERTIFICATE", cert_der.to_vec()));
        Self::from_pem(mspid, pem.as_bytes())
    }

    /// `msp.SerializedIdentity` bytes (the exact `cert_pem` is kept so hashes match).
    pub fn serialize(&self) -> Vec<u8> {
        SerializedIdentity {
            mspid: self.mspid.clone(),
            id_bytes: self.cert_pem.clone(),
        }
        .encode_to_vec()
    }

    /// A Fabric CA attribute of the certificate (e.g. `role`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }

    /// True if `at` (unix seconds) lies in the certificate's validity window.
    pub fn is_valid_at(&self, at: i64) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Verifies a DER ECDSA P-256/SHA-256 signature over `msg` with this identity's key; high-S is rejected.
    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> Result<(), MspError> {
        crate::verify_signature(&self.public_key, msg, signature)
    }
}
