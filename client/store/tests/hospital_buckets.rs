//! Object-store authorisation on the real MinIO (issue 13, finding 7: "one
//! object-store credential for every hospital: any hospital can delete or
//! overwrite another hospital's blobs and wraps").
//!
//! scripts/s3-server.sh starts MinIO with one bucket and one user per
//! hospital; each user may write and delete only in its own hospital's
//! bucket and read the others'. These tests use those credentials
//! (`.cache/s3/env.<MSPID>`): Hospital2 tries, through the store and with raw
//! S3 requests, to delete and overwrite Hospital1's blobs and wraps; MinIO
//! refuses every attempt and the objects are unchanged afterwards.

use std::path::PathBuf;
use std::sync::Arc;

use healthblock_store::{BlobHash, ObjectStore, S3Config, StoreError, Stores, WrapName};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore as RawStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

const HOSPITAL1: &str = "Hospital1MSP";
const HOSPITAL2: &str = "Hospital2MSP";

/// Random content, so tests sharing a bucket never collide.
fn content(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut data);
    data
}

fn wrap_name(byte: u8) -> WrapName {
    hex::encode([byte; 32]).parse().expect("wrap name")
}

/// The directory of the env files scripts/s3-server.sh writes (beside
/// `HEALTHBLOCK_S3_ENV_FILE` when that is set).
fn env_dir() -> PathBuf {
    std::env::var_os("HEALTHBLOCK_S3_ENV_FILE")
        .map(PathBuf::from)
        .and_then(|f| f.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/s3"))
}

/// A hospital's own object-store configuration (its MinIO user).
fn config_of(mspid: &str) -> S3Config {
    let file = env_dir().join(format!("env.{mspid}"));
    S3Config::from_env_file(&file).unwrap_or_else(|e| {
        panic!(
            "the per-hospital S3 tests need a running MinIO with per-hospital users ({e}).\n\
             Start one with: scripts/s3-server.sh start (from the repository root)"
        )
    })
}

/// What `mspid`'s client sees: its credential, one bucket per home.
fn stores_of(mspid: &str) -> Stores {
    Stores::s3(&config_of(mspid)).expect("per-home stores")
}

/// Raw S3 access to `home`'s bucket with `caller`'s credential: what a
/// hospital can do by hand, outside the SDK.
fn raw(caller: &str, home: &str) -> Arc<dyn RawStore> {
    let config = config_of(caller);
    let bucket = config.buckets.for_home(home).expect("bucket");
    let store = AmazonS3Builder::new()
        .with_endpoint(&config.endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_access_key_id(&config.access_key)
        .with_secret_access_key(&config.secret_key)
        .with_region(&config.region)
        .with_virtual_hosted_style_request(false)
        .build()
        .expect("raw s3");
    Arc::new(store)
}

async fn read_all(store: &dyn ObjectStore, hash: &BlobHash) -> Result<Vec<u8>, StoreError> {
    let mut reader = store.get_blob(hash).await?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await?;
    Ok(out)
}

fn assert_denied<T: std::fmt::Debug>(what: &str, result: Result<T, StoreError>) {
    match result {
        Err(StoreError::AccessDenied(msg)) => {
            assert!(
                msg.contains("Access Denied") || msg.contains("AccessDenied"),
                "{what}: {msg}"
            )
        }
        other => panic!("{what}: expected MinIO's AccessDenied, got {other:?}"),
    }
}

/// A raw request's refusal: HTTP 403, or the `AccessDenied` code of a key
/// in a `DeleteObjects` answer.
fn assert_raw_denied<T: std::fmt::Debug>(what: &str, result: object_store::Result<T>) {
    assert_denied(what, result.map_err(StoreError::from))
}

/// A Hospital1 blob with two wraps (the hospital's and the patient's),
/// stored with Hospital1's own credential.
struct Stored {
    hash: BlobHash,
    data: Vec<u8>,
    wraps: Vec<(WrapName, Vec<u8>)>,
}

async fn store_hospital1_blob(home: &dyn ObjectStore) -> Stored {
    let data = content(64 * 1024 + 7);
    let info = home.put_blob(&mut data.as_slice()).await.expect("put blob");
    assert_eq!(info.hash, BlobHash(Sha256::digest(&data).into()));
    let wraps = vec![
        (wrap_name(0xa1), content(200)),
        (wrap_name(0xb2), content(200)),
    ];
    for (name, bytes) in &wraps {
        home.put_wrap(&info.hash, name, bytes)
            .await
            .expect("put wrap");
    }
    Stored {
        hash: info.hash,
        data,
        wraps,
    }
}

/// The blob and its wraps are exactly as stored.
async fn assert_unchanged(home: &dyn ObjectStore, stored: &Stored) {
    assert_eq!(
        read_all(home, &stored.hash)
            .await
            .expect("blob still there"),
        stored.data,
        "the blob changed"
    );
    let mut names: Vec<_> = stored.wraps.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(home.list_wraps(&stored.hash).await.expect("list"), names);
    for (name, bytes) in &stored.wraps {
        assert_eq!(
            &home.get_wrap(&stored.hash, name).await.expect("wrap"),
            bytes,
            "wrap {name} changed"
        );
    }
}

/// Finding 7: Hospital2 cannot delete or overwrite Hospital1's blobs and
/// wraps (no crypto-shredding of another hospital's records), neither
/// through the store nor with raw S3 requests; MinIO answers AccessDenied
/// and nothing changes. Hospital2 can still read them (a grantee fetches
/// the ciphertext; the key comes from Hospital1's custodian).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_hospital_cannot_delete_or_overwrite_our_blobs() {
    let home = stores_of(HOSPITAL1).for_home(HOSPITAL1).expect("h1");
    let stored = store_hospital1_blob(home.as_ref()).await;
    let other = stores_of(HOSPITAL2).for_home(HOSPITAL1).expect("h2 on h1");
    let (hospital_wrap, patient_wrap) = (&stored.wraps[0].0, &stored.wraps[1].0);

    // Through the store.
    assert_denied(
        "Hospital2 deletes a Hospital1 blob",
        other.delete_blob(&stored.hash).await,
    );
    assert_denied(
        "Hospital2 deletes Hospital1's wrap",
        other.delete_wrap(&stored.hash, hospital_wrap).await,
    );
    assert_denied(
        "Hospital2 deletes the patient's wrap",
        other.delete_wrap(&stored.hash, patient_wrap).await,
    );
    assert_denied(
        "Hospital2 overwrites Hospital1's wrap",
        other
            .put_wrap(&stored.hash, hospital_wrap, b"garbage")
            .await,
    );
    assert_denied(
        "Hospital2 adds a wrap beside a Hospital1 blob",
        other
            .put_wrap(&stored.hash, &wrap_name(0xc3), b"mine")
            .await,
    );
    assert_denied(
        "Hospital2 re-uploads a Hospital1 blob",
        other.put_blob(&mut stored.data.as_slice()).await,
    );

    // By hand: raw S3 requests with Hospital2's credential.
    let raw2 = raw(HOSPITAL2, HOSPITAL1);
    let blob_key = Path::from(format!("blobs/{}", stored.hash));
    let wrap_key = Path::from(format!("blobs/{}.wraps/{hospital_wrap}", stored.hash));
    assert_raw_denied("raw delete of the blob", raw2.delete(&blob_key).await);
    assert_raw_denied("raw delete of a wrap", raw2.delete(&wrap_key).await);
    assert_raw_denied(
        "raw overwrite of the blob",
        raw2.put(&blob_key, PutPayload::from(content(16))).await,
    );
    assert_raw_denied(
        "raw overwrite of a wrap",
        raw2.put(&wrap_key, PutPayload::from(content(16))).await,
    );
    assert_raw_denied(
        "raw copy over the blob",
        raw2.copy(&wrap_key, &blob_key).await,
    );

    // Nothing changed; Hospital2 may still read.
    assert_unchanged(home.as_ref(), &stored).await;
    assert_unchanged(other.as_ref(), &stored).await;
    assert!(other.has_blob(&stored.hash).await.expect("has"));
}

/// A hospital cannot put new objects into another hospital's bucket either
/// (no blobs planted under another home), and what it tried leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_hospital_cannot_write_into_our_bucket() {
    let home = stores_of(HOSPITAL1).for_home(HOSPITAL1).expect("h1");
    let other = stores_of(HOSPITAL2).for_home(HOSPITAL1).expect("h2 on h1");
    // 20 MiB: the multipart path as well as the single put.
    for len in [100usize, 20 << 20] {
        let data = content(len);
        let hash = BlobHash(Sha256::digest(&data).into());
        assert_denied(
            "Hospital2 stores a blob in Hospital1's bucket",
            other.put_blob(&mut data.as_slice()).await,
        );
        assert!(!home.has_blob(&hash).await.expect("has"), "len {len}");
    }
    assert_raw_denied(
        "raw put of a new object",
        raw(HOSPITAL2, HOSPITAL1)
            .put(&Path::from("blobs/planted"), PutPayload::from(content(16)))
            .await,
    );
}

/// The home hospital's own credential writes, replaces and deletes its
/// blobs and wraps; each hospital writes into its own bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_hospital_writes_and_deletes_its_own_blobs() {
    for mspid in [HOSPITAL1, HOSPITAL2] {
        let home = stores_of(mspid).for_home(mspid).expect("own store");
        let stored = store_hospital1_blob(home.as_ref()).await;
        assert_unchanged(home.as_ref(), &stored).await;
        let (name, _) = &stored.wraps[0];
        home.put_wrap(&stored.hash, name, b"rewrapped")
            .await
            .expect("replace own wrap");
        assert_eq!(
            home.get_wrap(&stored.hash, name).await.expect("wrap"),
            b"rewrapped"
        );
        home.delete_wrap(&stored.hash, name)
            .await
            .expect("delete own wrap");
        home.delete_blob(&stored.hash)
            .await
            .expect("delete own blob");
        assert!(!home.has_blob(&stored.hash).await.expect("has"));
        assert!(home
            .list_wraps(&stored.hash)
            .await
            .expect("list")
            .is_empty());
    }
}

/// Each hospital's blobs live in its own bucket: what Hospital1 stores is
/// not in Hospital2's bucket, and Hospital2 reads it from Hospital1's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_live_in_their_home_hospitals_bucket() {
    let h1 = stores_of(HOSPITAL1);
    let stored = store_hospital1_blob(h1.for_home(HOSPITAL1).expect("h1").as_ref()).await;
    let h2 = stores_of(HOSPITAL2);
    assert!(!h2
        .for_home(HOSPITAL2)
        .expect("h2")
        .has_blob(&stored.hash)
        .await
        .expect("has"));
    assert_eq!(
        read_all(h2.for_home(HOSPITAL1).expect("h1").as_ref(), &stored.hash)
            .await
            .expect("read"),
        stored.data
    );
}

/// Reading with another hospital's credential yields ciphertext and wraps
/// sealed to others, no data key: Hospital2 and Hospital3 read everything
/// Hospital1 stored for a record (the blob and the wraps of Hospital1's
/// custodian and of the patient) and cannot open any wrap with their own
/// keys, nor find the plaintext in the blob. Keys come only from Hospital1's
/// custodian, for a committed, audited decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_hospitals_credential_reads_only_ciphertext_and_sealed_wraps() {
    use wbcb::{
        encrypt_bytes, DataKey, EncryptOptions, EncryptionSecretKey, KeyWrap, RecordContext,
    };
    const SECRET: &[u8] = b"diagnosis: confidential, seen only after an audited decision";
    let ctx = RecordContext::new("rec-finding-7", 1, "pseudo-7").expect("context");
    let hospital1 = EncryptionSecretKey::generate().expect("key");
    let patient = EncryptionSecretKey::generate().expect("key");
    let fp = |k: &EncryptionSecretKey| -> WrapName {
        k.public_key().fingerprint().to_hex().parse().expect("name")
    };
    let home = stores_of(HOSPITAL1).for_home(HOSPITAL1).expect("h1");
    let hash = {
        let key = DataKey::generate();
        let blob = encrypt_bytes(&key, &ctx, EncryptOptions::default(), SECRET).expect("enc");
        let info = home.put_blob(&mut blob.as_slice()).await.expect("put");
        for who in [&hospital1, &patient] {
            let wrap = KeyWrap::seal(&key, &ctx, who.public_key())
                .expect("wrap")
                .to_bytes();
            home.put_wrap(&info.hash, &fp(who), &wrap)
                .await
                .expect("put wrap");
        }
        info.hash
    };
    for reader in [HOSPITAL2, "Hospital3MSP"] {
        let theirs = EncryptionSecretKey::generate().expect("their hospital key");
        let store = stores_of(reader).for_home(HOSPITAL1).expect("reader on h1");
        let blob = read_all(store.as_ref(), &hash).await.expect("read blob");
        assert!(
            !blob.windows(SECRET.len()).any(|w| w == SECRET),
            "{reader} found plaintext in the blob"
        );
        let names = store.list_wraps(&hash).await.expect("list");
        assert_eq!(names.len(), 2, "{reader}");
        for name in names {
            let bytes = store.get_wrap(&hash, &name).await.expect("read wrap");
            let wrap = KeyWrap::from_bytes(&bytes).expect("a wrap");
            assert!(
                wrap.open(&theirs, &ctx).is_err(),
                "{reader} opened the wrap {name} with its own key"
            );
        }
    }
    // The home hospital's own key opens its wrap (the custodian's path).
    let bytes = home.get_wrap(&hash, &fp(&hospital1)).await.expect("wrap");
    assert!(KeyWrap::from_bytes(&bytes)
        .expect("wrap")
        .open(&hospital1, &ctx)
        .is_ok());
}
