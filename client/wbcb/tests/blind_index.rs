//! Blind-index tokens: deterministic per key, normalised, field-separated.

use wbcb::blind_index::normalise;
use wbcb::{IndexKey, SearchField};

#[test]
fn tokens_are_deterministic_and_normalised() {
    let key = IndexKey::generate();
    let a = key
        .token(SearchField::RecordType, "Lab  Result")
        .expect("token");
    let b = key
        .token(SearchField::RecordType, "  lab result ")
        .expect("token");
    assert_eq!(a, b);
    assert_eq!(a.len(), 64);
    assert_ne!(
        a,
        key.token(SearchField::RecordType, "imaging")
            .expect("token")
    );
}

#[test]
fn fields_and_keys_separate_tokens() {
    let key = IndexKey::generate();
    let as_type = key.token(SearchField::RecordType, "abc").expect("token");
    let as_patient = key
        .token(SearchField::PatientPseudonym, "abc")
        .expect("token");
    assert_ne!(as_type, as_patient);
    let other = IndexKey::generate();
    assert_ne!(
        as_type,
        other.token(SearchField::RecordType, "abc").expect("token")
    );
}

#[test]
fn dates_bucket_to_month() {
    assert_eq!(
        normalise(SearchField::DateMonth, "2024-03-17").expect("date"),
        "2024-03"
    );
    assert_eq!(
        normalise(SearchField::DateMonth, "2024-03-17T10:00:00Z").expect("date"),
        "2024-03"
    );
    assert_eq!(
        normalise(SearchField::DateMonth, "2024-03").expect("date"),
        "2024-03"
    );
    let key = IndexKey::generate();
    assert_eq!(
        key.token(SearchField::DateMonth, "2024-03-01").expect("t"),
        key.token(SearchField::DateMonth, "2024-03-31").expect("t")
    );
    for bad in ["", "2024", "2024-13-01", "24-03-01", "2024-03-32", "march"] {
        assert!(normalise(SearchField::DateMonth, bad).is_err(), "{bad:?}");
    }
}

#[test]
fn key_hex_round_trip_and_redaction() {
    let key = IndexKey::generate();
    let hex = key.to_hex();
    let back = IndexKey::from_hex(&hex).expect("hex");
    assert_eq!(
        key.token(SearchField::PatientPseudonym, "p1").expect("t"),
        back.token(SearchField::PatientPseudonym, "p1").expect("t")
    );
    assert!(!format!("{key:?}").contains(hex.as_str()));
    assert!(IndexKey::from_hex("zz").is_err());
}
