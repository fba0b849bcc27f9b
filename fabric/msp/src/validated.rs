//! A bounded, thread-safe memo of serialized identities that validated.
//!
//! Why: every transaction carries its creator and endorsers as serialized
//! certificates, and a channel sees the same few identities over and over.
//! Parsing X.509 and checking the chain each time dominated validation cost.
//!
//! What is remembered is the parsed identity and the window in which its
//! whole chain (leaf, intermediates, root) is valid. Only successes are kept,
//! and a hit still requires the asked time to lie inside that window, so the
//! answer is the one a full validation would give; outside the window the
//! caller validates in full (which also produces the precise error).

use crate::Identity;
use std::collections::HashMap;
use std::sync::RwLock;

/// Beyond this many distinct identities the memo starts over (bounded memory:
/// an entry is a few KiB, the certificate PEM and DER included).
const MAX_ENTRIES: usize = 4096;

/// A validated identity and the time window (unix seconds, inclusive) in which it stays valid.
#[derive(Debug, Clone)]
struct Entry {
    identity: Identity,
    not_before: i64,
    not_after: i64,
}

/// Validated identities by their serialized bytes.
#[derive(Default)]
pub(crate) struct ValidatedIdentities {
    entries: RwLock<HashMap<Vec<u8>, Entry>>,
}

impl std::fmt::Debug for ValidatedIdentities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatedIdentities")
            .field("entries", &self.len())
            .finish()
    }
}

impl ValidatedIdentities {
    /// The identity serialized as `bytes`, if it validated before and is still valid at `at`.
    pub(crate) fn get(&self, bytes: &[u8], at: i64) -> Option<Identity> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still sound.
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(bytes)?;
        (entry.not_before <= at && at <= entry.not_after).then(|| entry.identity.clone())
    }

    /// Remembers that `bytes` validated as `identity`, valid in `[not_before, not_after]`.
    pub(crate) fn insert(&self, bytes: &[u8], identity: &Identity, window: (i64, i64)) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(bytes) {
            entries.clear();
        }
        entries.insert(
            bytes.to_vec(),
            Entry {
                identity: identity.clone(),
                not_before: window.0,
                not_after: window.1,
            },
        );
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}
