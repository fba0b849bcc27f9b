//! Block and transaction identifiers: header DER and hash, data hash, txid.
//!
//! Fabric hashes a block header not as protobuf but as the ASN.1 DER of
//! `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }`.
//! The encoder is written by hand: it is three fields, and every byte of it
//! must match Go's `encoding/asn1` output.

use fabric_msp::sha256;
use fabric_proto::common::BlockHeader;

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;

/// Appends a DER length: short form below 128, else 0x80|n followed by n big-endian bytes.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let significant = &bytes[first..];
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    push_len(out, value.len());
    out.extend_from_slice(value);
}

/// Minimal two's-complement content of a non-negative INTEGER: leading zero
/// bytes dropped, one 0x00 kept in front when the top bit is set (else it would read as negative).
fn uint_content(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let first = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut content = Vec::with_capacity(9);
    if bytes[first] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[first..]);
    content
}

/// ASN.1 DER of SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }.
pub fn header_der(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(16 + previous_hash.len() + data_hash.len());
    push_tlv(&mut body, TAG_INTEGER, &uint_content(number));
    push_tlv(&mut body, TAG_OCTET_STRING, previous_hash);
    push_tlv(&mut body, TAG_OCTET_STRING, data_hash);
    let mut out = Vec::with_capacity(body.len() + 6);
    push_tlv(&mut out, TAG_SEQUENCE, &body);
    out
}

/// SHA-256 of `header_der`.
pub fn header_hash(header: &BlockHeader) -> [u8; 32] {
    sha256(&header_der(
        header.number,
        &header.previous_hash,
        &header.data_hash,
    ))
}

/// SHA-256 of the concatenated envelope bytes.
pub fn data_hash(data: &[Vec<u8>]) -> [u8; 32] {
    sha256(&data.concat())
}

/// hex(SHA-256(nonce || creator)).
pub fn compute_txid(nonce: &[u8], creator: &[u8]) -> String {
    hex::encode(sha256(&[nonce, creator].concat()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_zero_with_empty_previous_hash() {
        let data_hash = [0xab; 32];
        let der = header_der(0, &[], &data_hash);
        // 30 LL | 02 01 00 | 04 00 | 04 20 <32 bytes>; LL = 3 + 2 + 34 = 39 = 0x27.
        let mut want = vec![0x30, 0x27, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x20];
        want.extend_from_slice(&data_hash);
        assert_eq!(der, want);
    }

    #[test]
    fn integers_are_minimal_and_non_negative() {
        assert_eq!(uint_content(0), [0x00]);
        assert_eq!(uint_content(1), [0x01]);
        assert_eq!(uint_content(127), [0x7f]);
        assert_eq!(uint_content(128), [0x00, 0x80]);
        assert_eq!(uint_content(255), [0x00, 0xff]);
        assert_eq!(uint_content(256), [0x01, 0x00]);
        assert_eq!(uint_content(0x7fff), [0x7f, 0xff]);
        assert_eq!(
            uint_content(u64::MAX),
            [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        let der = header_der(128, &[1; 32], &[2; 32]);
        // Length 4 + 34 + 34 = 72 = 0x48.
        assert_eq!(&der[..6], &[0x30, 0x48, 0x02, 0x02, 0x00, 0x80]);
        assert_eq!(&der[6..8], &[0x04, 0x20]);
    }

    #[test]
    fn long_form_lengths() {
        let mut out = Vec::new();
        push_len(&mut out, 0x7f);
        push_len(&mut out, 0x80);
        push_len(&mut out, 0x1234);
        assert_eq!(out, [0x7f, 0x81, 0x80, 0x82, 0x12, 0x34]);
        // A sequence longer than 127 bytes switches to long form.
        let der = header_der(5, &[7; 100], &[9; 100]);
        assert_eq!(&der[..3], &[0x30, 0x81, 3 + 2 + 100 + 2 + 100]);
        assert_eq!(&der[3..6], &[0x02, 0x01, 0x05]);
        assert_eq!(&der[6..8], &[0x04, 100]);
    }

    #[test]
    fn txid_and_data_hash() {
        // SHA-256("abc"), split across nonce and creator.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(compute_txid(b"ab", b"c"), abc);
        assert_eq!(
            hex::encode(data_hash(&[b"a".to_vec(), b"bc".to_vec()])),
            abc
        );
    }
}
