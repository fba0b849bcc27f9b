//! Who signed a request: creator identities validated against the channel's
//! MSPs, with a cache so the hot path (every broadcast, every deliver and
//! gateway request) does not re-parse and re-chain the same certificate.
//!
//! The cache keeps only identities that validated; each hit still checks the
//! certificate's validity window, so an identity that expires is rejected.

use fabric_msp::{Identity, MspManager, Role};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Beyond this many distinct identities the cache starts over (bounded memory).
const MAX_CACHED: usize = 4096;

/// Why a signed request was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("the creator identity is not valid: {0}")]
    BadIdentity(String),
    #[error("the signature of {0} is not valid: {1}")]
    BadSignature(String, String),
    #[error("identity {subject} of {mspid} is not allowed to {action}")]
    NotAllowed {
        subject: String,
        mspid: String,
        action: &'static str,
    },
}

/// Validated identities of one channel, by serialized bytes.
pub(crate) struct IdentityCache {
    /// The MSPs of the config in force on the orderer; replaced by config blocks.
    msps: RwLock<Arc<MspManager>>,
    known: RwLock<HashMap<Vec<u8>, Arc<Identity>>>,
}

impl IdentityCache {
    pub(crate) fn new(msps: Arc<MspManager>) -> Self {
        Self {
            msps: RwLock::new(msps),
            known: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn msps(&self) -> Arc<MspManager> {
        self.msps.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Puts a new config's MSPs in force: identities of an org that left are
    /// refused from now on, those of an org that joined are accepted.
    pub(crate) fn set_msps(&self, msps: Arc<MspManager>) {
        *self.msps.write().unwrap_or_else(|p| p.into_inner()) = msps;
        self.known
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Parses and validates serialized identity bytes at unix time `now`.
    pub(crate) fn identity(&self, serialized: &[u8], now: i64) -> Result<Arc<Identity>, AuthError> {
        if let Some(id) = self.cached(serialized) {
            return if id.is_valid_at(now) {
                Ok(id)
            } else {
                Err(AuthError::BadIdentity(format!(
                    "certificate of {} has expired",
                    id.subject_cn
                )))
            };
        }
        let msps = self.msps();
        let id = msps
            .validate_serialized(serialized, now)
            .map_err(|e| AuthError::BadIdentity(e.to_string()))?;
        let id = Arc::new(id);
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_CACHED {
            known.clear();
        }
        // Validated under a config that was replaced meanwhile: answer, but do not remember.
        if Arc::ptr_eq(&msps, &self.msps()) {
            known.insert(serialized.to_vec(), id.clone());
        }
        Ok(id)
    }

    /// The notAfter of the certificate in serialized identity bytes; None if they do
    /// not parse. Exactly `Identity::from_serialized(serialized)`'s `not_after`, but an
    /// identity seen before is not parsed again (X.509 parsing on every broadcast
    /// was ~2% of the devnet's CPU under load).
    pub(crate) fn not_after(&self, serialized: &[u8]) -> Option<i64> {
        match self.cached(serialized) {
            Some(id) => Some(id.not_after),
            None => Identity::from_serialized(serialized)
                .ok()
                .map(|id| id.not_after),
        }
    }

    fn cached(&self, serialized: &[u8]) -> Option<Arc<Identity>> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        known.get(serialized).cloned()
    }

    /// Validates the creator and checks its signature over `data`.
    pub(crate) fn verify(
        &self,
        creator: &[u8],
        data: &[u8],
        signature: &[u8],
        now: i64,
    ) -> Result<Arc<Identity>, AuthError> {
        let id = self.identity(creator, now)?;
        self.msps()
            .verify(&id, data, signature)
            .map_err(|e| AuthError::BadSignature(id.subject_cn.clone(), e.to_string()))?;
        Ok(id)
    }

    /// The identity's NodeOU role in its own MSP.
    pub(crate) fn role(&self, id: &Identity) -> Role {
        self.msps()
            .get(&id.mspid)
            .map(|m| m.role_of(id))
            .unwrap_or(Role::Member)
    }

    /// `/Channel/Application/Readers` (any member of an application org) when
    /// `orderer_mspid` is given and excluded; `/Channel/Readers` (any member) otherwise.
    pub(crate) fn check_reader(
        &self,
        id: &Identity,
        excluded_mspid: Option<&str>,
    ) -> Result<(), AuthError> {
        if excluded_mspid.is_some_and(|m| m == id.mspid) {
            return Err(AuthError::NotAllowed {
                subject: id.subject_cn.clone(),
                mspid: id.mspid.clone(),
                action: "read the channel (Application Readers)",
            });
        }
        Ok(())
    }

    /// Channel `Writers`: an admin or client of an application org, or any member
    /// of the orderer org (the policies the devnet's genesis block writes).
    pub(crate) fn check_writer(&self, id: &Identity, orderer_mspid: &str) -> Result<(), AuthError> {
        let allowed =
            id.mspid == orderer_mspid || matches!(self.role(id), Role::Admin | Role::Client);
        if allowed {
            Ok(())
        } else {
            Err(AuthError::NotAllowed {
                subject: id.subject_cn.clone(),
                mspid: id.mspid.clone(),
                action: "write to the channel (Writers: admin or client)",
            })
        }
    }
}

/// Seconds since the Unix epoch, now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
