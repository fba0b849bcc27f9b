//! Fabric's key rules: simple keys, composite keys and the key ranges built
//! from them.
//!
//! A composite key is `"\x00" + objectType + "\x00" + attr1 + "\x00" + ...`,
//! so every composite key sorts before every simple key (which may not start
//! with `\x00`). Components are UTF-8 (guaranteed here by `&str`) and may hold
//! neither U+0000 (the separator) nor U+10FFFF (the upper bound of
//! partial-key ranges).

use crate::error::{Result, ShimError};

/// Separator and namespace marker of composite keys.
pub const COMPOSITE_KEY_NAMESPACE: char = '\u{0}';
/// Largest code point; closes the range of a partial composite key.
pub const MAX_UNICODE_RUNE: char = '\u{10FFFF}';
/// Fabric replaces an empty range start with this key, so the range skips
/// the composite-key namespace.
pub const EMPTY_KEY_SUBSTITUTE: &str = "\u{1}";

/// Builds a composite key from an object type and attributes.
pub fn create_composite_key<S: AsRef<str>>(object_type: &str, attributes: &[S]) -> Result<String> {
    validate_component(object_type)?;
    let mut key = String::with_capacity(
        2 + object_type.len()
            + attributes
                .iter()
                .map(|a| a.as_ref().len() + 1)
                .sum::<usize>(),
    );
    key.push(COMPOSITE_KEY_NAMESPACE);
    key.push_str(object_type);
    key.push(COMPOSITE_KEY_NAMESPACE);
    for attribute in attributes {
        let attribute = attribute.as_ref();
        validate_component(attribute)?;
        key.push_str(attribute);
        key.push(COMPOSITE_KEY_NAMESPACE);
    }
    Ok(key)
}

/// Splits a composite key into its object type and attributes.
pub fn split_composite_key(key: &str) -> Result<(String, Vec<String>)> {
    let body = key
        .strip_prefix(COMPOSITE_KEY_NAMESPACE)
        .ok_or_else(|| ShimError::InvalidKey("a composite key starts with U+0000".into()))?;
    let body = body
        .strip_suffix(COMPOSITE_KEY_NAMESPACE)
        .ok_or_else(|| ShimError::InvalidKey("a composite key ends with U+0000".into()))?;
    let mut parts = body.split(COMPOSITE_KEY_NAMESPACE).map(str::to_owned);
    // `split` always yields at least one item, possibly the empty object type.
    let object_type = parts.next().unwrap_or_default();
    Ok((object_type, parts.collect()))
}

/// Rejects a simple key that would fall into the composite-key namespace.
pub fn validate_simple_key(key: &str) -> Result<()> {
    if key.starts_with(COMPOSITE_KEY_NAMESPACE) {
        return Err(ShimError::InvalidKey(format!(
            "simple key {:?} starts with U+0000, which is reserved for composite keys",
            key
        )));
    }
    Ok(())
}

/// Checks a key about to be written: non-empty, and either a simple key or a
/// well-formed composite key.
pub fn validate_write_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(ShimError::InvalidKey("key must not be empty".into()));
    }
    if key.starts_with(COMPOSITE_KEY_NAMESPACE) {
        let (object_type, attributes) = split_composite_key(key)?;
        validate_component(&object_type)?;
        for attribute in &attributes {
            validate_component(attribute)?;
        }
    }
    Ok(())
}

/// The `[start, end)` bounds Fabric uses for a simple-key range query.
pub fn simple_range(start: &str, end: &str) -> Result<(String, String)> {
    let start = if start.is_empty() {
        EMPTY_KEY_SUBSTITUTE
    } else {
        start
    };
    validate_simple_key(start)?;
    validate_simple_key(end)?;
    Ok((start.to_owned(), end.to_owned()))
}

/// The `[prefix, prefix + U+10FFFF)` bounds of a partial composite key query.
pub fn partial_composite_range<S: AsRef<str>>(
    object_type: &str,
    attributes: &[S],
) -> Result<(String, String)> {
    let start = create_composite_key(object_type, attributes)?;
    let mut end = start.clone();
    end.push(MAX_UNICODE_RUNE);
    Ok((start, end))
}

fn validate_component(component: &str) -> Result<()> {
    for (index, c) in component.char_indices() {
        if c == COMPOSITE_KEY_NAMESPACE || c == MAX_UNICODE_RUNE {
            return Err(ShimError::InvalidKey(format!(
                "composite key component contains U+{:04X} at byte {index}; U+0000 and U+10FFFF are not allowed",
                c as u32
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_key_has_fabric_layout() {
        let key = create_composite_key("record", &["p1", "v2"]).unwrap();
        assert_eq!(key, "\u{0}record\u{0}p1\u{0}v2\u{0}");
        assert_eq!(
            create_composite_key::<&str>("t", &[]).unwrap(),
            "\u{0}t\u{0}"
        );
    }

    #[test]
    fn split_inverts_create() {
        let key = create_composite_key("record", &["p1", "", "ü"]).unwrap();
        let (object_type, attrs) = split_composite_key(&key).unwrap();
        assert_eq!(object_type, "record");
        assert_eq!(attrs, vec!["p1", "", "ü"]);
    }

    #[test]
    fn split_rejects_non_composite_keys() {
        assert!(split_composite_key("plain").is_err());
        assert!(split_composite_key("\u{0}unterminated").is_err());
        assert!(split_composite_key("").is_err());
        assert!(split_composite_key("\u{0}").is_err());
    }

    #[test]
    fn components_reject_separator_and_max_rune() {
        assert!(create_composite_key("a\u{0}b", &["x"]).is_err());
        assert!(create_composite_key("a", &["x\u{10FFFF}"]).is_err());
        assert!(create_composite_key("a", &["ok", "bad\u{0}"]).is_err());
    }

    #[test]
    fn write_keys_must_be_simple_or_well_formed_composite() {
        assert!(validate_write_key("k").is_ok());
        assert!(validate_write_key("").is_err());
        assert!(validate_write_key("\u{0}junk").is_err());
        assert!(validate_write_key(&create_composite_key("t", &["a"]).unwrap()).is_ok());
        assert!(validate_write_key("\u{0}t\u{10FFFF}\u{0}").is_err());
    }

    #[test]
    fn simple_range_substitutes_empty_start_and_rejects_composite_bounds() {
        assert_eq!(
            simple_range("", "").unwrap(),
            ("\u{1}".to_owned(), String::new())
        );
        assert!(simple_range("\u{0}a", "b").is_err());
        assert!(simple_range("a", "\u{0}b").is_err());
    }

    #[test]
    fn partial_range_covers_exactly_the_prefix() {
        let (start, end) = partial_composite_range("rec", &["p1"]).unwrap();
        assert_eq!(start, "\u{0}rec\u{0}p1\u{0}");
        assert_eq!(end, "\u{0}rec\u{0}p1\u{0}\u{10FFFF}");
        let inside = create_composite_key("rec", &["p1", "zzz"]).unwrap();
        let outside = create_composite_key("rec", &["p2"]).unwrap();
        assert!(start <= inside && inside < end);
        assert!(!(start <= outside && outside < end));
    }
}
