//! Signing with an identity's private key, and signature verification.

use crate::{Identity, MspError};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let _ = data;
    todo!()
}

/// Verifies a DER ECDSA P-256/SHA-256 signature; rejects high-S signatures as Fabric does.
pub fn verify_signature(public_key_sec1: &[u8], msg: &[u8], signature_der: &[u8]) -> Result<(), MspError> {
    let _ = (public_key_sec1, msg, signature_der);
    todo!()
}

/// An identity with its private key: what clients, peers and orderers sign with.
#[derive(Clone)]
pub struct SigningIdentity {
    pub identity: Identity,
    key: p256::ecdsa::SigningKey,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("mspid", &self.identity.mspid)
            .field("subject", &self.identity.subject_cn)
            .finish_non_exhaustive()
    }
}

impl SigningIdentity {
    /// From a PEM certificate and a PEM private key (PKCS#8 or SEC1).
    pub fn from_pem(mspid: &str, cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, MspError> {
        let _ = (mspid, cert_pem, key_pem);
        let _ = &Self::key;
        todo!()
    }

    /// From an MSP directory: `signcerts/*.pem` and the single key in `keystore/`.
    pub fn from_msp_dir(mspid: &str, dir: &std::path::Path) -> Result<Self, MspError> {
        let _ = (mspid, dir);
        todo!()
    }

    /// `msp.SerializedIdentity` bytes of the public identity (the "creator").
    pub fn serialize(&self) -> Vec<u8> {
        self.identity.serialize()
    }

    pub fn mspid(&self) -> &str {
        &self.identity.mspid
    }

    /// DER ECDSA signature over SHA-256(msg), normalised to low-S.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let _ = msg;
        todo!()
    }

    fn key(&self) -> &p256::ecdsa::SigningKey {
        &self.key
    }
}
