//! WBCB against conventional schemes: encryption and decryption time and
//! throughput per record size, and key-wrap cost per recipient count.
//!
//! Schemes (each encrypts one record of the given size):
//! - `wbcb-aes-256-gcm`, `wbcb-chacha20-poly1305`: fresh data key, chunked
//!   STREAM AEAD, plus one HPKE wrap (decrypt: one unwrap) — the real
//!   per-record cost.
//! - `aes-256-cbc-hmac-sha256`: encrypt-then-MAC with pre-shared keys
//!   (symmetric only, no key transport).
//! - `rsa-3072-oaep-hybrid`: fresh data key wrapped with RSA-3072-OAEP
//!   (SHA-256), payload in one-shot AES-256-GCM.
//!
//! Buffers, the same for every scheme: each operation allocates its output
//! once, at its final size, and nothing is reused across iterations (so no
//! scheme is measured on warm pages another is not). Encryption of the
//! baselines copies the plaintext into that buffer and seals it in place, as
//! WBCB copies each chunk into its output while sealing it.
//! Results are read by bench/wbcb/run.sh from Criterion's output directory.

use std::time::Duration;

use aes_gcm::aead::{Aead, AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use wbcb::{
    decrypt_stream, encrypt_stream, Algorithm, DataKey, EncryptOptions, EncryptionSecretKey,
    KeyWrap, RecordContext,
};

const SIZES: [(usize, &str); 5] = [
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
    (16 << 20, "16MiB"),
    (256 << 20, "256MiB"),
];

fn ctx() -> RecordContext {
    RecordContext::new("bench-record", 1, "bench-patient").expect("context")
}

fn data(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    OsRng.fill_bytes(&mut v);
    v
}

/// Sample counts shrink with size so the 256 MiB class stays short.
fn tune(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, len: usize) {
    if len >= 16 << 20 {
        // Flat sampling: 10 samples of equal iteration counts, not 1..=10.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(if len >= 256 << 20 { 8 } else { 3 }));
    } else {
        group.sampling_mode(SamplingMode::Auto);
        group.sample_size(30);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(2));
    }
}

struct Keys {
    recipient: EncryptionSecretKey,
    rsa_private: RsaPrivateKey,
    rsa_public: RsaPublicKey,
    enc_key: [u8; 32],
    mac_key: [u8; 32],
}

impl Keys {
    fn new() -> Self {
        let rsa_private = RsaPrivateKey::new(&mut OsRng, 3072).expect("rsa keygen");
        let rsa_public = RsaPublicKey::from(&rsa_private);
        let mut enc_key = [0u8; 32];
        let mut mac_key = [0u8; 32];
        OsRng.fill_bytes(&mut enc_key);
        OsRng.fill_bytes(&mut mac_key);
        Self {
            recipient: EncryptionSecretKey::generate().expect("key"),
            rsa_private,
            rsa_public,
            enc_key,
            mac_key,
        }
    }
}

/// Room for WBCB's header and per-chunk tags: generous, so the output never
/// reallocates (one allocation per operation, as for every scheme).
fn sealed_capacity(len: usize) -> usize {
    len + len / 1024 + 4096
}

/// WBCB encryption of `plain` into a fresh buffer allocated once; returns (ciphertext, wrap).
fn wbcb_encrypt(keys: &Keys, algorithm: Algorithm, plain: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut out = Vec::with_capacity(sealed_capacity(plain.len()));
    let key = DataKey::generate();
    let opts = EncryptOptions {
        algorithm,
        ..EncryptOptions::default()
    };
    encrypt_stream(&key, &ctx(), opts, plain, &mut out).expect("encrypt");
    let wrap = KeyWrap::seal(&key, &ctx(), keys.recipient.public_key())
        .expect("wrap")
        .to_bytes();
    (out, wrap)
}

/// WBCB decryption into a fresh buffer allocated once at the plaintext's size.
fn wbcb_decrypt(keys: &Keys, sealed: &(Vec<u8>, Vec<u8>), plain_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(plain_len);
    let key = KeyWrap::from_bytes(&sealed.1)
        .expect("parse")
        .open(&keys.recipient, &ctx())
        .expect("unwrap");
    decrypt_stream(&key, sealed.0.as_slice(), &mut out, Some(&ctx())).expect("decrypt");
    out
}

type HmacSha256 = Hmac<Sha256>;

/// IV || CBC ciphertext || HMAC, in one buffer allocated once: the plaintext
/// is copied in and encrypted in place.
fn cbc_hmac_encrypt(keys: &Keys, plain: &[u8]) -> Vec<u8> {
    let mut iv = [0u8; 16];
    OsRng.fill_bytes(&mut iv);
    let padded = (plain.len() / 16 + 1) * 16;
    let mut out = Vec::with_capacity(16 + padded + 32);
    out.extend_from_slice(&iv);
    out.extend_from_slice(plain);
    out.resize(16 + padded, 0);
    let ct_len = cbc::Encryptor::<aes::Aes256>::new(&keys.enc_key.into(), &iv.into())
        .encrypt_padded_mut::<Pkcs7>(&mut out[16..], plain.len())
        .expect("padding room")
        .len();
    out.truncate(16 + ct_len);
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&keys.mac_key).expect("hmac key");
    mac.update(&out);
    let tag = mac.finalize().into_bytes();
    out.extend_from_slice(&tag);
    out
}

fn cbc_hmac_decrypt(keys: &Keys, sealed: &[u8]) -> Vec<u8> {
    let (body, tag) = sealed.split_at(sealed.len() - 32);
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&keys.mac_key).expect("hmac key");
    mac.update(body);
    mac.verify_slice(tag).expect("mac");
    let (iv, ct) = body.split_at(16);
    let iv: [u8; 16] = iv.try_into().expect("iv");
    cbc::Decryptor::<aes::Aes256>::new(&keys.enc_key.into(), &iv.into())
        .decrypt_padded_vec_mut::<Pkcs7>(ct)
        .expect("padding")
}

fn rsa_hybrid_encrypt(keys: &Keys, plain: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut data_key = [0u8; 32];
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut data_key);
    OsRng.fill_bytes(&mut nonce);
    let wrapped = keys
        .rsa_public
        .encrypt(&mut OsRng, Oaep::new::<Sha256>(), &data_key)
        .expect("rsa");
    // nonce || ciphertext || tag in one buffer allocated once, sealed in place.
    let mut out = Vec::with_capacity(12 + plain.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = Aes256Gcm::new(&data_key.into())
        .encrypt_in_place_detached(&Nonce::from(nonce), b"", &mut out[12..])
        .expect("gcm");
    out.extend_from_slice(&tag);
    (out, wrapped)
}

fn rsa_hybrid_decrypt(keys: &Keys, sealed: &(Vec<u8>, Vec<u8>)) -> Vec<u8> {
    let data_key = keys
        .rsa_private
        .decrypt(Oaep::new::<Sha256>(), &sealed.1)
        .expect("rsa");
    let key: [u8; 32] = data_key.as_slice().try_into().expect("key len");
    let (nonce, ct) = sealed.0.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().expect("nonce");
    Aes256Gcm::new(&key.into())
        .decrypt(&Nonce::from(nonce), ct)
        .expect("gcm")
}

fn bench_records(c: &mut Criterion) {
    let keys = Keys::new();
    for (len, label) in SIZES {
        let plain = data(len);
        let mut enc = c.benchmark_group("encrypt");
        tune(&mut enc, len);
        enc.throughput(Throughput::Bytes(len as u64));
        enc.bench_function(BenchmarkId::new("wbcb-aes-256-gcm", label), |b| {
            b.iter(|| wbcb_encrypt(&keys, Algorithm::Aes256Gcm, &plain))
        });
        enc.bench_function(BenchmarkId::new("wbcb-chacha20-poly1305", label), |b| {
            b.iter(|| wbcb_encrypt(&keys, Algorithm::ChaCha20Poly1305, &plain))
        });
        enc.bench_function(BenchmarkId::new("aes-256-cbc-hmac-sha256", label), |b| {
            b.iter(|| cbc_hmac_encrypt(&keys, &plain))
        });
        enc.bench_function(BenchmarkId::new("rsa-3072-oaep-hybrid", label), |b| {
            b.iter(|| rsa_hybrid_encrypt(&keys, &plain))
        });
        enc.finish();

        let sealed_gcm = wbcb_encrypt(&keys, Algorithm::Aes256Gcm, &plain);
        let sealed_chacha = wbcb_encrypt(&keys, Algorithm::ChaCha20Poly1305, &plain);
        let sealed_cbc = cbc_hmac_encrypt(&keys, &plain);
        let sealed_rsa = rsa_hybrid_encrypt(&keys, &plain);
        let mut dec = c.benchmark_group("decrypt");
        tune(&mut dec, len);
        dec.throughput(Throughput::Bytes(len as u64));
        dec.bench_function(BenchmarkId::new("wbcb-aes-256-gcm", label), |b| {
            b.iter(|| wbcb_decrypt(&keys, &sealed_gcm, len))
        });
        dec.bench_function(BenchmarkId::new("wbcb-chacha20-poly1305", label), |b| {
            b.iter(|| wbcb_decrypt(&keys, &sealed_chacha, len))
        });
        dec.bench_function(BenchmarkId::new("aes-256-cbc-hmac-sha256", label), |b| {
            b.iter(|| cbc_hmac_decrypt(&keys, &sealed_cbc))
        });
        dec.bench_function(BenchmarkId::new("rsa-3072-oaep-hybrid", label), |b| {
            b.iter(|| rsa_hybrid_decrypt(&keys, &sealed_rsa))
        });
        dec.finish();
    }
}

fn bench_wraps(c: &mut Criterion) {
    let keys = Keys::new();
    let key = DataKey::generate();
    let mut group = c.benchmark_group("keywrap");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    for n in [1usize, 10, 100] {
        let recipients: Vec<EncryptionSecretKey> = (0..n)
            .map(|_| EncryptionSecretKey::generate().expect("key"))
            .collect();
        group.bench_function(BenchmarkId::new("hpke-wrap", n), |b| {
            b.iter(|| {
                recipients
                    .iter()
                    .map(|r| {
                        KeyWrap::seal(&key, &ctx(), r.public_key())
                            .expect("wrap")
                            .to_bytes()
                    })
                    .collect::<Vec<_>>()
            })
        });
        let wraps: Vec<Vec<u8>> = recipients
            .iter()
            .map(|r| {
                KeyWrap::seal(&key, &ctx(), r.public_key())
                    .expect("wrap")
                    .to_bytes()
            })
            .collect();
        group.bench_function(BenchmarkId::new("hpke-unwrap", n), |b| {
            b.iter(|| {
                for (r, w) in recipients.iter().zip(&wraps) {
                    KeyWrap::from_bytes(w)
                        .expect("parse")
                        .open(r, &ctx())
                        .expect("open");
                }
            })
        });
        group.bench_function(BenchmarkId::new("rsa-oaep-wrap", n), |b| {
            b.iter(|| {
                (0..n)
                    .map(|_| {
                        keys.rsa_public
                            .encrypt(&mut OsRng, Oaep::new::<Sha256>(), key.as_bytes())
                            .expect("rsa")
                    })
                    .collect::<Vec<_>>()
            })
        });
        let rsa_wrap = keys
            .rsa_public
            .encrypt(&mut OsRng, Oaep::new::<Sha256>(), key.as_bytes())
            .expect("rsa");
        group.bench_function(BenchmarkId::new("rsa-oaep-unwrap", n), |b| {
            b.iter(|| {
                for _ in 0..n {
                    keys.rsa_private
                        .decrypt(Oaep::new::<Sha256>(), &rsa_wrap)
                        .expect("rsa");
                }
            })
        });
    }
    group.finish();
}

/// The AEADs alone, sealing one hot 16 KiB buffer in place: the same method
/// as `openssl speed -evp aes-256-gcm` at 16 KiB blocks, so the report can
/// separate library speed from the cost of streaming a whole record.
fn bench_aead_only(c: &mut Criterion) {
    const BLOCK: usize = 16 * 1024;
    let mut group = c.benchmark_group("aead-only");
    group.throughput(Throughput::Bytes(BLOCK as u64));
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
    let key = [5u8; 32];
    let ring_key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &key).expect("ring key"),
    );
    let mut buf = vec![0u8; BLOCK];
    group.bench_function(BenchmarkId::new("ring-aes-256-gcm", "16KiB"), |b| {
        b.iter(|| {
            let nonce = ring::aead::Nonce::assume_unique_for_key([1u8; 12]);
            ring_key
                .seal_in_place_separate_tag(nonce, ring::aead::Aad::empty(), &mut buf)
                .expect("seal")
        })
    });
    let rc = Aes256Gcm::new(&key.into());
    group.bench_function(BenchmarkId::new("rustcrypto-aes-256-gcm", "16KiB"), |b| {
        b.iter(|| {
            rc.encrypt_in_place_detached(&Nonce::from([1u8; 12]), b"", &mut buf)
                .expect("seal")
        })
    });
    group.finish();
}

criterion_group!(benches, bench_aead_only, bench_wraps, bench_records);
criterion_main!(benches);
