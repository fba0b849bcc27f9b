//! Owns: the [`Client`]: one caller's handle on the EHR contract, holding
//! the Gateway connection, the signer, the object stores, the key store and
//! the hospitals' key custodians chosen by the application, and what it learns once about the caller
//! (`whoami`) and their keys.

use std::path::PathBuf;
use std::sync::Arc;

use fabric_client::Gateway;
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{Patient, PatientId, Role};
use healthblock_ehr_types::results::WhoAmI;
use healthblock_store::{ObjectStore, Stores};
use tokio::sync::OnceCell;
use wbcb::{EncryptionPublicKey, EncryptionSecretKey};

use crate::contract::{Committed, EhrContract};
use crate::error::{Result, SdkError};
use crate::key_release::Custodians;
use crate::keys::{KeyOwner, KeyStore};
use crate::signer::Signer;

/// Where the contract is and where the SDK may put temporary files.
#[derive(Debug, Clone)]
pub struct Options {
    /// The channel the contract runs on.
    pub channel: String,
    /// The contract's chaincode name (`ehr` in the consortium's deployment).
    pub chaincode: String,
    /// Directory for temporary ciphertext and plaintext files (large
    /// records are streamed through it). Defaults to the system's.
    pub scratch_dir: PathBuf,
}

impl Options {
    /// The contract `chaincode` on `channel`, temporary files in the
    /// system's temporary directory.
    pub fn new(channel: impl Into<String>, chaincode: impl Into<String>) -> Self {
        Options {
            channel: channel.into(),
            chaincode: chaincode.into(),
            scratch_dir: std::env::temp_dir(),
        }
    }
}

/// One caller's handle on the EHR contract and the consortium's object
/// stores. Cheap to clone; calls may run concurrently.
///
/// Blobs and wraps are written to the store of the caller's own hospital
/// (only the home hospital writes patient data) and read from the store of
/// the record's home hospital ([`Stores::for_home`]).
#[derive(Clone)]
pub struct Client {
    pub(crate) contract: EhrContract,
    pub(crate) gateway: Gateway,
    pub(crate) options: Options,
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) stores: Stores,
    pub(crate) keys: Arc<dyn KeyStore>,
    pub(crate) custodians: Arc<Custodians>,
    me: Arc<OnceCell<WhoAmI>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("gateway", &self.gateway.endpoint())
            .field("options", &self.options)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client over `gateway`, signing with the gateway's own identity.
    /// `stores` is one store for every home hospital (an `Arc` of any
    /// [`ObjectStore`]) or [`Stores`] with one bucket per home.
    pub fn new(
        gateway: Gateway,
        options: Options,
        stores: impl Into<Stores>,
        keys: Arc<dyn KeyStore>,
    ) -> Self {
        let signer: Arc<dyn Signer> = Arc::new(gateway.identity().clone());
        Client {
            contract: EhrContract::new(
                &gateway,
                &options.channel,
                &options.chaincode,
                signer.clone(),
            ),
            gateway,
            options,
            signer,
            stores: stores.into(),
            keys,
            custodians: Arc::new(Custodians::new()),
            me: Arc::new(OnceCell::new()),
        }
    }

    /// The same client, asking these hospitals' key custodians for data
    /// keys (audited key release; see [`crate::key_release`]).
    pub fn with_custodians(self, custodians: Custodians) -> Self {
        Client {
            custodians: Arc::new(custodians),
            ..self
        }
    }

    /// The same client, signing proposals, transactions and commit-status
    /// requests with `signer` (an HSM, a remote or offline signer) instead
    /// of the gateway's identity.
    pub fn with_signer(self, signer: Arc<dyn Signer>) -> Self {
        Client {
            contract: EhrContract::new(
                &self.gateway,
                &self.options.channel,
                &self.options.chaincode,
                signer.clone(),
            ),
            signer,
            me: Arc::new(OnceCell::new()),
            ..self
        }
    }

    /// Where the contract is.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The Gateway connection.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The object stores of every home hospital.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The store of `home_msp`'s blobs and wraps.
    pub fn store_of(&self, home_msp: &str) -> Result<Arc<dyn ObjectStore>> {
        self.stores
            .for_home(home_msp)
            .map_err(|e| SdkError::store(format!("the object store of {home_msp}"), e))
    }

    /// The key store.
    pub fn keys(&self) -> &dyn KeyStore {
        self.keys.as_ref()
    }

    /// MSP id of the caller's organisation.
    pub fn mspid(&self) -> &str {
        self.signer.mspid()
    }

    /// The caller as the key store names users: `CN@MSPID`.
    pub fn user(&self) -> String {
        format!("{}@{}", self.signer.common_name(), self.signer.mspid())
    }

    /// Who the contract says the caller is (asked once, then remembered).
    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.me
            .get_or_try_init(|| self.contract.evaluate(f::WHOAMI, &[]))
            .await
            .cloned()
    }

    /// The caller's own public key (the one `request_access` names).
    pub fn my_public_key(&self) -> Result<EncryptionPublicKey> {
        Ok(self.keys.public_key(KeyOwner::User(&self.user()))?)
    }

    /// The keys the caller may open wraps with: their own (released
    /// wraps are sealed to it) and their patient key if they are a patient.
    /// Never the hospital's key: staff get data keys from its custodian,
    /// per audited decision, like everyone else.
    pub async fn my_keys(&self) -> Result<Vec<EncryptionSecretKey>> {
        let me = self.whoami().await?;
        let user = self.user();
        let mut owners = vec![KeyOwner::User(&user)];
        if let (Role::Patient, Some(pid)) = (me.role, &me.pseudonym) {
            owners.push(KeyOwner::Patient(pid));
        }
        // Current pairs first, then retired ones: wraps sealed before a
        // rotation still open.
        let mut keys = Vec::new();
        for owner in &owners {
            keys.push(self.keys.secret_key(*owner)?);
        }
        for owner in &owners {
            keys.extend(self.keys.retired_secret_keys(*owner)?);
        }
        Ok(keys)
    }

    /// Registers a patient at the caller's hospital (their home hospital)
    /// under `pid`. The patient makes and publishes their own key pair
    /// ([`Client::publish_my_key`]); nothing here makes one for them.
    pub async fn register_patient(&self, pid: &PatientId) -> Result<Committed<Patient>> {
        self.contract
            .submit(f::REGISTER_PATIENT, &[pid.to_string()])
            .await
    }

    /// A registered patient.
    pub async fn get_patient(&self, pid: &PatientId) -> Result<Patient> {
        self.contract
            .evaluate(f::GET_PATIENT, &[pid.to_string()])
            .await
    }
}
