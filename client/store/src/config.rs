//! Owns: choosing a backend by configuration. One syntax names a store
//! everywhere (`--store`, `HEALTHBLOCK_STORE`): `s3` (configured by
//! `HEALTHBLOCK_S3_*`, from the environment or an env file), `file:DIR`, or
//! a bare directory path.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{FsStore, ObjectStore, Result, S3Config, S3Store, StoreError, Stores};

/// A store named by configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A local directory.
    Dir(PathBuf),
    /// The S3-compatible service of `HEALTHBLOCK_S3_*`.
    S3,
}

impl StoreSpec {
    /// Parses `s3`, `file:DIR` or a directory path.
    pub fn parse(spec: &str) -> Result<Self> {
        if spec == "s3" {
            return Ok(StoreSpec::S3);
        }
        let dir = spec.strip_prefix("file:").unwrap_or(spec);
        if dir.is_empty() || dir.contains("://") {
            return Err(StoreError::Config(format!(
                "--store must be `file:DIR`, a directory, or `s3` (as must HEALTHBLOCK_STORE; got {spec:?})"
            )));
        }
        Ok(StoreSpec::Dir(PathBuf::from(dir)))
    }

    /// Opens the store; for S3 the configuration comes from `s3_env_file`
    /// when given, else from the process environment.
    pub async fn open(&self, s3_env_file: Option<&Path>) -> Result<Arc<dyn ObjectStore>> {
        match self {
            StoreSpec::S3 => {
                let config = match s3_env_file {
                    Some(path) => S3Config::from_env_file(path)?,
                    None => S3Config::from_env()?,
                };
                Ok(Arc::new(S3Store::new(&config)?))
            }
            StoreSpec::Dir(dir) => Ok(Arc::new(FsStore::open(dir).await?)),
        }
    }

    /// Opens the stores of every home hospital: for S3 one bucket per home
    /// when `HEALTHBLOCK_S3_BUCKET_PREFIX` is set, else the shared bucket; a
    /// directory is shared by every home.
    pub async fn open_stores(&self, s3_env_file: Option<&Path>) -> Result<Stores> {
        match self {
            StoreSpec::S3 => Stores::s3(&match s3_env_file {
                Some(path) => S3Config::from_env_file(path)?,
                None => S3Config::from_env()?,
            }),
            StoreSpec::Dir(_) => Ok(Stores::shared(self.open(s3_env_file).await?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_directory_or_s3() {
        assert_eq!(StoreSpec::parse("s3").unwrap(), StoreSpec::S3);
        assert_eq!(
            StoreSpec::parse("file:/var/hb").unwrap(),
            StoreSpec::Dir(PathBuf::from("/var/hb"))
        );
        assert_eq!(
            StoreSpec::parse("store").unwrap(),
            StoreSpec::Dir(PathBuf::from("store"))
        );
        assert!(StoreSpec::parse("").is_err());
        assert!(StoreSpec::parse("file:").is_err());
        assert!(StoreSpec::parse("http://minio:9000").is_err());
    }
}
