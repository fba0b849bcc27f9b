//! Blind index: keyed search tokens that let authorised users find records by
//! patient, type or date without the store or the ledger learning the terms.
//!
//! token = HMAC-SHA256(index key, label || field tag || 0x00 || normalised term)
//!
//! The index key is a consortium secret (see docs/wbcb-format.md): whoever
//! holds it can test guesses, so it is never given to the storage provider.

use std::fmt;

use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Result, WbcbError};

const TOKEN_LABEL: &[u8] = b"healthblock/wbcb/v1 blind index";

/// Which kind of term a token indexes; the field is bound into the token so a
/// pseudonym and a record type never collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchField {
    PatientPseudonym,
    RecordType,
    /// A date, bucketed to its month (`YYYY-MM`).
    DateMonth,
}

impl SearchField {
    fn tag(self) -> &'static [u8] {
        match self {
            SearchField::PatientPseudonym => b"patient",
            SearchField::RecordType => b"type",
            SearchField::DateMonth => b"month",
        }
    }
}

/// The consortium's blind-index key (256 bits).
#[derive(Clone)]
pub struct IndexKey(Zeroizing<[u8; 32]>);

impl IndexKey {
    /// A fresh key from the OS random source (generated once, by the admin).
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(key.as_mut());
        IndexKey(key)
    }

    /// Parses the key from its hex form (64 hex digits).
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), key.as_mut())
            .map_err(|_| WbcbError::InvalidKey("an index key is 64 hex digits".into()))?;
        Ok(IndexKey(key))
    }

    /// Hex form, for the admin to distribute.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// The search token for a term; the term is normalised first.
    pub fn token(&self, field: SearchField, term: &str) -> Result<String> {
        let normal = normalise(field, term)?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_ref())
            .map_err(|_| WbcbError::InvalidKey("index key rejected by HMAC".into()))?;
        mac.update(TOKEN_LABEL);
        mac.update(field.tag());
        mac.update(&[0]);
        mac.update(normal.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for IndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IndexKey(<redacted>)")
    }
}

/// Canonical form of a term, so equal terms always give equal tokens.
pub fn normalise(field: SearchField, term: &str) -> Result<String> {
    let collapsed = term
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if collapsed.is_empty() {
        return Err(WbcbError::InvalidSearchTerm("search term is empty".into()));
    }
    match field {
        SearchField::PatientPseudonym | SearchField::RecordType => Ok(collapsed),
        SearchField::DateMonth => month_bucket(&collapsed),
    }
}

/// `YYYY-MM-DD` or `YYYY-MM` (optionally with a time after `T`) -> `YYYY-MM`.
fn month_bucket(date: &str) -> Result<String> {
    let day_part = date.split(['t', ' ']).next().unwrap_or_default();
    let parts: Vec<&str> = day_part.split('-').collect();
    let bad =
        || WbcbError::InvalidSearchTerm(format!("{date:?} is not a date (YYYY-MM-DD or YYYY-MM)"));
    if !(2..=3).contains(&parts.len()) {
        return Err(bad());
    }
    let year: u16 = parts[0].parse().map_err(|_| bad())?;
    let month: u8 = parts[1].parse().map_err(|_| bad())?;
    if parts[0].len() != 4 || !(1..=12).contains(&month) {
        return Err(bad());
    }
    if let Some(day) = parts.get(2) {
        let day: u8 = day.parse().map_err(|_| bad())?;
        if !(1..=31).contains(&day) {
            return Err(bad());
        }
    }
    Ok(format!("{year:04}-{month:02}"))
}
