//! Owns: which object store holds a home hospital's blobs. With one bucket
//! (or a local directory) every home shares one store; with one bucket per
//! home hospital ([`crate::Buckets::PerHome`]) each home's blobs live in
//! its own bucket, reached with the caller's own hospital's credential:
//! MinIO lets it write and delete only in its own bucket and read the others
//! (a grantee fetches the ciphertext of another home's record; AEAD and the
//! ledger's hash protect it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::{Buckets, ObjectStore, Result, S3Config, S3Store};

/// The object stores of every home hospital, as one caller sees them.
/// Cheap to clone.
#[derive(Clone)]
pub struct Stores(Arc<Layout>);

enum Layout {
    /// The same store for every home.
    Shared(Arc<dyn ObjectStore>),
    /// One bucket per home, opened on first use with one credential.
    PerHome {
        config: S3Config,
        opened: Mutex<BTreeMap<String, Arc<dyn ObjectStore>>>,
    },
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_ref() {
            Layout::Shared(_) => f.write_str("Stores::Shared"),
            Layout::PerHome { config, .. } => {
                f.debug_tuple("Stores::PerHome").field(config).finish()
            }
        }
    }
}

impl From<Arc<dyn ObjectStore>> for Stores {
    fn from(store: Arc<dyn ObjectStore>) -> Self {
        Stores::shared(store)
    }
}

impl<S: ObjectStore + 'static> From<Arc<S>> for Stores {
    fn from(store: Arc<S>) -> Self {
        Stores::shared(store)
    }
}

impl Stores {
    /// One store for every home hospital (a local directory, one bucket).
    pub fn shared(store: Arc<dyn ObjectStore>) -> Self {
        Stores(Arc::new(Layout::Shared(store)))
    }

    /// The S3 service of `config`: its shared bucket, or one bucket per
    /// home hospital.
    pub fn s3(config: &S3Config) -> Result<Self> {
        Ok(match &config.buckets {
            Buckets::Shared(_) => Stores::shared(Arc::new(S3Store::new(config)?)),
            Buckets::PerHome { .. } => Stores(Arc::new(Layout::PerHome {
                config: config.clone(),
                opened: Mutex::new(BTreeMap::new()),
            })),
        })
    }

    /// Whether every home shares one store.
    pub fn is_shared(&self) -> bool {
        matches!(self.0.as_ref(), Layout::Shared(_))
    }

    /// The store of the blobs and wraps of `home_msp`'s patients. Writes
    /// there succeed only for `home_msp`'s own credential (per-home buckets).
    pub fn for_home(&self, home_msp: &str) -> Result<Arc<dyn ObjectStore>> {
        match self.0.as_ref() {
            Layout::Shared(store) => Ok(Arc::clone(store)),
            Layout::PerHome { config, opened } => {
                // A poisoned lock only means another caller panicked while
                // inserting; the map itself is always whole.
                let mut opened = opened.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(store) = opened.get(home_msp) {
                    return Ok(Arc::clone(store));
                }
                let store: Arc<dyn ObjectStore> = Arc::new(S3Store::for_home(config, home_msp)?);
                opened.insert(home_msp.to_owned(), Arc::clone(&store));
                Ok(store)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{home_bucket, FsStore};

    fn config(buckets: Buckets) -> S3Config {
        S3Config {
            endpoint: "http://127.0.0.1:1".into(),
            buckets,
            access_key: "k".into(),
            secret_key: "s".into(),
            region: "us-east-1".into(),
        }
    }

    #[tokio::test]
    async fn a_shared_store_serves_every_home() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs: Arc<dyn ObjectStore> = Arc::new(FsStore::open(dir.path()).await.expect("fs"));
        let stores = Stores::shared(Arc::clone(&fs));
        assert!(stores.is_shared());
        for home in ["Hospital1MSP", "Hospital2MSP", ""] {
            assert!(Arc::ptr_eq(&stores.for_home(home).expect("store"), &fs));
        }
    }

    #[test]
    fn per_home_buckets_are_named_for_the_home() {
        assert_eq!(
            home_bucket("healthblock", "Hospital1MSP").unwrap(),
            "healthblock-hospital1msp"
        );
        let per_home = Buckets::PerHome {
            prefix: "hb".into(),
        };
        assert_eq!(
            per_home.for_home("Hospital2MSP").unwrap(),
            "hb-hospital2msp"
        );
        assert_eq!(
            Buckets::Shared("one".into())
                .for_home("Hospital2MSP")
                .unwrap(),
            "one"
        );
        for bad in ["", "Hospital_1", "Hospital.1", "a/b", &"h".repeat(61)] {
            assert!(per_home.for_home(bad).is_err(), "{bad:?}");
        }
        assert!(home_bucket("Upper", "Hospital1MSP").is_err());
        assert!(home_bucket("-hb", "Hospital1MSP").is_err());
    }

    #[test]
    fn per_home_stores_are_opened_once_per_home() {
        let stores = Stores::s3(&config(Buckets::PerHome {
            prefix: "hb".into(),
        }))
        .expect("stores");
        assert!(!stores.is_shared());
        let a = stores.for_home("Hospital1MSP").expect("h1");
        assert!(Arc::ptr_eq(
            &a,
            &stores.for_home("Hospital1MSP").expect("h1")
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &stores.for_home("Hospital2MSP").expect("h2")
        ));
        assert!(stores.for_home("Hospital 3").is_err());
        assert!(S3Store::new(&config(Buckets::PerHome {
            prefix: "hb".into()
        }))
        .is_err());
    }

    #[test]
    fn configuration_picks_the_layout() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let base: &[(&str, &str)] = &[
            ("HEALTHBLOCK_S3_ENDPOINT", "http://127.0.0.1:1"),
            ("HEALTHBLOCK_S3_ACCESS_KEY", "k"),
            ("HEALTHBLOCK_S3_SECRET_KEY", "s"),
            ("HEALTHBLOCK_S3_BUCKET", "shared"),
        ];
        assert_eq!(
            S3Config::from_lookup(env(base)).unwrap().buckets,
            Buckets::Shared("shared".into())
        );
        let per_home: &[(&str, &str)] = &[
            ("HEALTHBLOCK_S3_ENDPOINT", "http://127.0.0.1:1"),
            ("HEALTHBLOCK_S3_ACCESS_KEY", "k"),
            ("HEALTHBLOCK_S3_SECRET_KEY", "s"),
            ("HEALTHBLOCK_S3_BUCKET_PREFIX", "hb"),
        ];
        assert_eq!(
            S3Config::from_lookup(env(per_home)).unwrap().buckets,
            Buckets::PerHome {
                prefix: "hb".into()
            }
        );
        assert!(S3Config::from_lookup(env(&base[..3])).is_err());
    }
}
