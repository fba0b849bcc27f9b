//! HealthBlock's client SDK: the clinical operations of the EHR contract as
//! a typed async API over a Fabric Gateway connection.
//!
//! Owns: everything a clinical application does around the contract:
//! patients ([`Client::register_patient`]), encrypted records
//! ([`Client::put_record`], [`Client::read_record`], listings, history,
//! [`Client::verify_record`]), consent with its key custody
//! ([`Client::grant_consent`], [`Client::revoke_consents`]), audited access
//! ([`Client::request_access`]), break-glass ([`Client::break_glass`], its
//! review and work lists), the home hospital's side of audited key
//! release ([`Client::release_key`], [`key_release`]) and the audit trail. The plaintext never
//! leaves the client: it is encrypted with a fresh data key per version
//! (WBCB), stored in an [`ObjectStore`] with one key wrap per recipient, and
//! only metadata reaches the ledger.
//!
//! The application chooses the pieces:
//! - the connection: a fabric-client [`Gateway`];
//! - who signs ([`Signer`]): the gateway's identity by default, or any
//!   signer ([`Client::with_signer`]), as fabric-gateway's `WithSign` allows;
//! - where ciphertext lives ([`ObjectStore`]): [`healthblock_store::FsStore`]
//!   or [`healthblock_store::S3Store`], or any other implementation, shared
//!   by every home hospital, or [`Stores`] with one S3 bucket per home
//!   hospital (the caller's own hospital's credential writes only its own
//!   bucket; records are read from their home's);
//! - where keys live ([`KeyStore`]): [`FsKeyStore`] or another.
//!
//! Contract arguments and answers are the shared types of
//! [`healthblock_ehr_types`] (re-exported as [`types`]): nothing is built as
//! JSON by hand. Errors are [`SdkError`]: one variant per stage, causes kept,
//! and the contract's refusals carry its [`ErrorCode`](types::code::ErrorCode).
//!
//! ```no_run
//! use std::sync::Arc;
//! use healthblock_sdk::{Client, Options, NewVersion, Plaintext, Sink};
//! use healthblock_sdk::types::model::ResourceType;
//!
//! # async fn demo(
//! #     gateway: fabric_client::Gateway,
//! #     keys: healthblock_sdk::FsKeyStore,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let store = healthblock_store::FsStore::open("/var/lib/healthblock/store").await?;
//! let client = Client::new(gateway, Options::new("ehr", "ehr"), Arc::new(store), Arc::new(keys));
//!
//! // Register a patient under a fresh random id (the hospital keeps the
//! // name in its own master patient index, never on the ledger).
//! let pid = healthblock_sdk::mpi::new_patient_id();
//! client.register_patient(&pid).await?;
//!
//! // Store an encrypted record version, then read it back (audited).
//! let stored = client
//!     .put_record(NewVersion {
//!         patient: pid.clone(),
//!         resource_type: ResourceType::parse("Observation")?,
//!         record_id: None,
//!         plaintext: Plaintext::Bytes(b"{\"resourceType\":\"Observation\"}".to_vec()),
//!     })
//!     .await?;
//! let mut plaintext = Vec::new();
//! let read = client
//!     .read_record(&stored.record.value.meta.record_id, None, Sink::Writer(&mut plaintext))
//!     .await?;
//! assert_eq!(read.bytes as usize, plaintext.len());
//!
//! // A record that does not exist is a code, not a message to parse.
//! let missing = healthblock_sdk::types::model::RecordId::parse("no-such-record")?;
//! assert!(client.find_record(&missing).await?.is_none());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod blobs;
mod breakglass;
mod client;
mod consent;
mod contract;
mod custodian;
mod error;
pub mod key_release;
pub mod keydir;
pub mod keys;
pub mod mpi;
mod provenance;
mod records;
mod signer;

pub use blobs::{Plaintext, Sink};
pub use client::{Client, Options};
pub use consent::{ConsentGrant, ConsentRevocation, RevokeFilter, WRAP_CHUNK};
pub use contract::{code_of, Committed};
pub use error::{CallStage, Result, SdkError};
pub use fabric_client::Gateway;
pub use healthblock_ehr_types as types;
pub use healthblock_store::{ObjectStore, Stores};
pub use key_release::{CustodianEndpoint, Custodians, Refusal, RefusalCode, Release};
pub use keys::{FsKeyStore, KeyError, KeyOwner, KeyStore};
pub use records::{NewVersion, ReadRecord, StoredVersion, VerifyReport, Written};
pub use signer::{SignError, Signer};
