//! Byte encodings of the composite table keys.
//!
//! redb orders `&[u8]` keys bytewise, so every encoding here is built so that
//! bytewise order of the encoded key equals the order we need: keys of one
//! namespace are contiguous and sorted like Fabric sorts them (bytewise, as Go
//! compares strings), even when keys contain 0x00 (composite keys do). That is
//! why the namespace is length-prefixed rather than 0x00-terminated.

/// Prefix shared by every state/history key of `namespace`: u32 big-endian length + bytes.
pub(crate) fn namespace_prefix(namespace: &str) -> Vec<u8> {
    let ns = namespace.as_bytes();
    let mut out = Vec::with_capacity(4 + ns.len());
    out.extend_from_slice(&(ns.len() as u32).to_be_bytes());
    out.extend_from_slice(ns);
    out
}

/// State table key: namespace prefix followed by the raw key bytes.
pub(crate) fn state_key(namespace: &str, key: &str) -> Vec<u8> {
    let mut out = namespace_prefix(namespace);
    out.extend_from_slice(key.as_bytes());
    out
}

/// Splits a state table key back into its key part, given the namespace prefix length.
pub(crate) fn state_key_suffix(encoded: &[u8], prefix_len: usize) -> Option<String> {
    let rest = encoded.get(prefix_len..)?;
    String::from_utf8(rest.to_vec()).ok()
}

/// The smallest byte string greater than every string starting with `prefix`
/// (None when no such bound exists, i.e. the prefix is all 0xFF).
pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xFF {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// History table prefix of one key: namespace prefix, u32 key length, key bytes.
/// The key length makes (ns, "a") and (ns, "ab") prefixes disjoint.
pub(crate) fn history_prefix(namespace: &str, key: &str) -> Vec<u8> {
    let mut out = namespace_prefix(namespace);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    out
}

/// History table key: key prefix, then block and tx number big-endian (chronological order).
pub(crate) fn history_key(namespace: &str, key: &str, block: u64, tx: u64) -> Vec<u8> {
    let mut out = history_prefix(namespace, key);
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(&tx.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_of_a_namespace_sort_like_go_strings_even_with_nul() {
        let mut keys = ["b", "\u{0}idx\u{0}a\u{0}", "a", "a\u{0}", "\u{0}", "ab", ""];
        let mut encoded: Vec<Vec<u8>> = keys.iter().map(|k| state_key("cc", k)).collect();
        keys.sort();
        encoded.sort();
        let decoded: Vec<String> = encoded
            .iter()
            .map(|e| state_key_suffix(e, namespace_prefix("cc").len()).unwrap())
            .collect();
        assert_eq!(
            decoded,
            keys.iter().map(|k| k.to_string()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn namespaces_do_not_interleave() {
        // "a" + key "b..." must not fall inside namespace "ab".
        let ab_lo = namespace_prefix("ab");
        let ab_hi = prefix_successor(&ab_lo).unwrap();
        let k = state_key("a", "b\u{0}zzz");
        assert!(!(k >= ab_lo && k < ab_hi));
        let inside = state_key("ab", "\u{10FFFF}");
        assert!(inside >= ab_lo && inside < ab_hi);
    }

    #[test]
    fn history_prefixes_are_disjoint_for_prefix_keys() {
        let a = history_key("ns", "a", 5, 0);
        let ab_prefix = history_prefix("ns", "ab");
        assert!(!a.starts_with(&ab_prefix));
        assert!(history_key("ns", "k", 1, 9) < history_key("ns", "k", 2, 0));
    }

    #[test]
    fn successor_carries() {
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
    }
}
