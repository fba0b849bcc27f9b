//! Owns: who signs the client's proposals and transactions. fabric-client's
//! Gateway signs with the `SigningIdentity` it was connected with and has no
//! signing abstraction of its own, so the SDK defines one, in the manner of
//! fabric-gateway's `WithSign`: the identity (creator) and the signing
//! function are separate, so a key in an HSM, a remote signing service or an
//! offline signer can stand behind it. A `SigningIdentity` (a key on disk)
//! is one [`Signer`].

use fabric_msp::SigningIdentity;

/// Why a signature could not be produced.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct SignError {
    /// What went wrong (the device, the service, the key).
    pub reason: String,
    /// The underlying failure, when there is one.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Signs on behalf of one Fabric identity.
///
/// The signature must be what Fabric verifies for the creator's public key:
/// ECDSA over SHA-256 of `message`, DER-encoded, low-S.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// MSP id of the identity.
    fn mspid(&self) -> &str;
    /// The certificate's subject common name (the user id the contract
    /// records as `CN@MSPID`).
    fn common_name(&self) -> &str;
    /// `msp.SerializedIdentity` bytes: the creator named in every proposal.
    fn creator(&self) -> Vec<u8>;
    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;
}

impl Signer for SigningIdentity {
    fn mspid(&self) -> &str {
        SigningIdentity::mspid(self)
    }

    fn common_name(&self) -> &str {
        &self.identity.subject_cn
    }

    fn creator(&self) -> Vec<u8> {
        self.serialize()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        Ok(SigningIdentity::sign(self, message))
    }
}
