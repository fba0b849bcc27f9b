//! One test suite, run against both backends: the local filesystem store and
//! a real S3-compatible server (MinIO, started by scripts/s3-server.sh).

use std::path::PathBuf;
use std::sync::Arc;

use healthblock_store::{BlobHash, FsStore, ObjectStore, S3Config, S3Store, StoreError, WrapName};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// Distinct pseudo-random content for each call, so parallel tests sharing a
/// bucket never collide.
fn content(len: usize) -> Vec<u8> {
    let mut seed = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let mut state = u64::from_le_bytes(seed) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn sha(data: &[u8]) -> BlobHash {
    BlobHash(Sha256::digest(data).into())
}

fn name(byte: u8) -> WrapName {
    hex::encode([byte; 32]).parse().expect("wrap name")
}

async fn read_all(store: &dyn ObjectStore, hash: &BlobHash) -> Result<Vec<u8>, StoreError> {
    let mut reader = store.get_blob(hash).await?;
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await?;
    Ok(out)
}

mod suite {
    use super::*;

    pub(crate) async fn round_trip_sizes(store: Arc<dyn ObjectStore>) {
        // 20 MiB crosses the S3 backend's 8 MiB multipart part size.
        for len in [0usize, 1, (1 << 20) + 3, 20 << 20] {
            let data = content(len);
            let info = store.put_blob(&mut data.as_slice()).await.expect("put");
            assert_eq!(info.hash, sha(&data));
            assert_eq!(info.size, len as u64);
            assert!(store.has_blob(&info.hash).await.expect("has"));
            assert_eq!(
                read_all(store.as_ref(), &info.hash).await.expect("get"),
                data,
                "len {len}"
            );
        }
    }

    pub(crate) async fn same_content_same_address(store: Arc<dyn ObjectStore>) {
        let data = content(5000);
        let a = store.put_blob(&mut data.as_slice()).await.expect("put");
        let b = store
            .put_blob(&mut data.as_slice())
            .await
            .expect("put again");
        assert_eq!(a, b);
        assert_eq!(read_all(store.as_ref(), &a.hash).await.expect("get"), data);
    }

    pub(crate) async fn missing_objects_give_clear_errors(store: Arc<dyn ObjectStore>) {
        let absent = sha(&content(10));
        let err = read_all(store.as_ref(), &absent).await.unwrap_err();
        assert!(matches!(err, StoreError::BlobNotFound(_)), "{err}");
        assert!(!store.has_blob(&absent).await.expect("has"));
        assert!(matches!(
            store.delete_blob(&absent).await,
            Err(StoreError::BlobNotFound(_))
        ));
        let err = store.put_wrap(&absent, &name(1), b"w").await.unwrap_err();
        assert!(matches!(err, StoreError::BlobNotFound(_)), "{err}");
        let err = store.get_wrap(&absent, &name(1)).await.unwrap_err();
        assert!(matches!(err, StoreError::WrapNotFound { .. }), "{err}");
        assert!(store.list_wraps(&absent).await.expect("list").is_empty());
    }

    pub(crate) async fn wraps_beside_blob(store: Arc<dyn ObjectStore>) {
        let data = content(300);
        let info = store.put_blob(&mut data.as_slice()).await.expect("put");
        store
            .put_wrap(&info.hash, &name(0xaa), b"wrap-a")
            .await
            .expect("wrap a");
        store
            .put_wrap(&info.hash, &name(0xbb), b"wrap-b")
            .await
            .expect("wrap b");
        assert_eq!(
            store.list_wraps(&info.hash).await.expect("list"),
            vec![name(0xaa), name(0xbb)]
        );
        assert_eq!(
            store.get_wrap(&info.hash, &name(0xbb)).await.expect("get"),
            b"wrap-b"
        );
        // Replacing a wrap keeps one object.
        store
            .put_wrap(&info.hash, &name(0xbb), b"wrap-b2")
            .await
            .expect("replace");
        assert_eq!(
            store.get_wrap(&info.hash, &name(0xbb)).await.expect("get"),
            b"wrap-b2"
        );
        // Deleting one wrap leaves the blob and the other wrap.
        store
            .delete_wrap(&info.hash, &name(0xaa))
            .await
            .expect("delete wrap");
        assert!(matches!(
            store.get_wrap(&info.hash, &name(0xaa)).await,
            Err(StoreError::WrapNotFound { .. })
        ));
        assert!(matches!(
            store.delete_wrap(&info.hash, &name(0xaa)).await,
            Err(StoreError::WrapNotFound { .. })
        ));
        assert_eq!(
            store.list_wraps(&info.hash).await.expect("list"),
            vec![name(0xbb)]
        );
        assert_eq!(
            read_all(store.as_ref(), &info.hash).await.expect("get"),
            data
        );
    }

    pub(crate) async fn delete_blob_removes_wraps(store: Arc<dyn ObjectStore>) {
        let data = content(1000);
        let info = store.put_blob(&mut data.as_slice()).await.expect("put");
        store
            .put_wrap(&info.hash, &name(1), b"w1")
            .await
            .expect("wrap");
        store
            .put_wrap(&info.hash, &name(2), b"w2")
            .await
            .expect("wrap");
        store.delete_blob(&info.hash).await.expect("delete");
        assert!(!store.has_blob(&info.hash).await.expect("has"));
        assert!(store.list_wraps(&info.hash).await.expect("list").is_empty());
        assert!(matches!(
            store.get_wrap(&info.hash, &name(1)).await,
            Err(StoreError::WrapNotFound { .. })
        ));
        assert!(matches!(
            read_all(store.as_ref(), &info.hash).await,
            Err(StoreError::BlobNotFound(_))
        ));
    }

    pub(crate) async fn concurrent_writers(store: Arc<dyn ObjectStore>) {
        let shared = Arc::new(content(200_000));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let store = Arc::clone(&store);
            let shared = Arc::clone(&shared);
            tasks.push(tokio::spawn(async move {
                // Half write the same content, half their own.
                let data = if i % 2 == 0 {
                    shared.as_ref().clone()
                } else {
                    content(50_000 + i)
                };
                let info = store.put_blob(&mut data.as_slice()).await.expect("put");
                (info, data)
            }));
        }
        for task in tasks {
            let (info, data) = task.await.expect("task");
            assert_eq!(info.hash, sha(&data));
            assert_eq!(
                read_all(store.as_ref(), &info.hash).await.expect("get"),
                data
            );
        }
    }

    /// Crypto-shredding: once blob and wraps are deleted, nothing in the store
    /// can bring the record back; a deleted wrap alone fails cleanly too.
    pub(crate) async fn erasure_makes_record_unrecoverable(store: Arc<dyn ObjectStore>) {
        use wbcb::{
            decrypt_bytes, encrypt_bytes, DataKey, EncryptOptions, EncryptionSecretKey, KeyWrap,
            RecordContext,
        };
        let ctx = RecordContext::new("rec-erase", 1, "pseudo-e").expect("context");
        let doctor = EncryptionSecretKey::generate().expect("key");
        let nurse = EncryptionSecretKey::generate().expect("key");
        let fp = |k: &EncryptionSecretKey| -> WrapName {
            k.public_key().fingerprint().to_hex().parse().expect("name")
        };

        // The writer's data key exists only in this scope, as in the CLI.
        let info = {
            let key = DataKey::generate();
            let blob = encrypt_bytes(
                &key,
                &ctx,
                EncryptOptions::default(),
                b"diagnosis: confidential",
            )
            .expect("enc");
            let info = store.put_blob(&mut blob.as_slice()).await.expect("put");
            for who in [&doctor, &nurse] {
                let wrap = KeyWrap::seal(&key, &ctx, who.public_key())
                    .expect("wrap")
                    .to_bytes();
                store
                    .put_wrap(&info.hash, &fp(who), &wrap)
                    .await
                    .expect("put wrap");
            }
            info
        };

        // Before erasure: the doctor can read the record from the store alone.
        let fetched = read_all(store.as_ref(), &info.hash).await.expect("get");
        let wrap = store
            .get_wrap(&info.hash, &fp(&doctor))
            .await
            .expect("wrap");
        let key = KeyWrap::from_bytes(&wrap)
            .expect("parse")
            .open(&doctor, &ctx)
            .expect("open");
        assert_eq!(
            decrypt_bytes(&key, &fetched, Some(&ctx)).expect("decrypt"),
            b"diagnosis: confidential"
        );

        // Revoke the nurse: her wrap is gone, with a clear error.
        store
            .delete_wrap(&info.hash, &fp(&nurse))
            .await
            .expect("revoke");
        let err = store.get_wrap(&info.hash, &fp(&nurse)).await.unwrap_err();
        assert!(err.to_string().contains("no wrap for key"), "{err}");

        // Erase: blob and all wraps gone; the store holds nothing to open it.
        store.delete_blob(&info.hash).await.expect("erase");
        assert!(matches!(
            read_all(store.as_ref(), &info.hash).await,
            Err(StoreError::BlobNotFound(_))
        ));
        assert!(store.list_wraps(&info.hash).await.expect("list").is_empty());
        let err = store.get_wrap(&info.hash, &fp(&doctor)).await.unwrap_err();
        assert!(matches!(err, StoreError::WrapNotFound { .. }), "{err}");
    }
}

macro_rules! store_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn round_trip_sizes() {
                suite::round_trip_sizes($make.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn same_content_same_address() {
                suite::same_content_same_address($make.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn missing_objects_give_clear_errors() {
                suite::missing_objects_give_clear_errors($make.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn wraps_beside_blob() {
                suite::wraps_beside_blob($make.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delete_blob_removes_wraps() {
                suite::delete_blob_removes_wraps($make.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_writers() {
                suite::concurrent_writers($make.await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn erasure_makes_record_unrecoverable() {
                suite::erasure_makes_record_unrecoverable($make.await).await
            }
        }
    };
}

async fn fs_store() -> Arc<dyn ObjectStore> {
    // Leaked on purpose: the directory must outlive the store in the test.
    let dir = tempfile::tempdir().expect("tempdir").keep();
    Arc::new(FsStore::open(dir).await.expect("fs store"))
}

/// The env file scripts/s3-server.sh writes, relative to the repo root.
fn s3_env_file() -> PathBuf {
    std::env::var_os("HEALTHBLOCK_S3_ENV_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/s3/env"))
}

async fn s3_store() -> Arc<dyn ObjectStore> {
    let config = S3Config::from_env().or_else(|_| S3Config::from_env_file(&s3_env_file()));
    let config = config.unwrap_or_else(|e| {
        panic!(
            "S3 store tests need a running S3-compatible server ({e}).\n\
             Start one with: scripts/s3-server.sh start (from the repository root)"
        )
    });
    Arc::new(S3Store::new(&config).expect("s3 store"))
}

store_suite!(fs, fs_store());
store_suite!(s3, s3_store());

#[tokio::test]
async fn fs_detects_corruption_on_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsStore::open(dir.path()).await.expect("store");
    let data = content(4096);
    let info = store.put_blob(&mut data.as_slice()).await.expect("put");
    let path = dir.path().join("blobs").join(info.hash.to_hex());
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[100] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let err = read_all(&store, &info.hash).await.unwrap_err();
    assert!(err.to_string().contains("does not match its hash"), "{err}");
}

#[tokio::test]
async fn fs_leaves_no_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsStore::open(dir.path()).await.expect("store");
    for len in [0, 10, 70_000] {
        store
            .put_blob(&mut content(len).as_slice())
            .await
            .expect("put");
    }
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp"))
            .expect("tmp")
            .count(),
        0
    );
}

#[test]
fn invalid_names_are_rejected() {
    assert!("../etc/passwd".parse::<WrapName>().is_err());
    assert!("abc".parse::<BlobHash>().is_err());
    let upper = "AB".repeat(32);
    assert_eq!(
        upper.parse::<WrapName>().expect("hex").as_str(),
        "ab".repeat(32)
    );
}
