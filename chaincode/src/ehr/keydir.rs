//! The key directory: `publish_key`, `revoke_key`, `get_key`.
//!
//! The owner of a published key is derived from the signer, never taken
//! from an argument: a user publishes `CN@MSP`, a patient `patient:<id>`
//! (only at their home hospital: a patient identity minted by another
//! hospital's CA is refused, as everywhere in the contract), and an
//! administrator may publish their own hospital's key (`hospital:<MSP>`).
//! So no one can publish or replace a key for someone else, and clients seal
//! wraps only to keys found here. Publishing again rotates the key (the
//! key's history keeps the old ones); revoking marks it so no new wrap is
//! sealed to it. The key must be a P-256 public key in SPKI PEM form; its
//! fingerprint (SHA-256 of the SPKI DER) is computed here, so the wrap name
//! every client derives from it is the one the ledger shows.

use fabric_shim::ChaincodeStub;
use std::collections::BTreeSet;

use healthblock_ehr_types::keydir::{hospital_owner, patient_owner, PublishedKey, HOSPITAL_SCOPE};
use healthblock_ehr_types::model::{KeyFingerprint, PatientId};
use sha2::{Digest, Sha256};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

use super::clock;
use super::error::{denied, invalid, EhrError, EhrResult};
use super::keys;
use super::model::Role;
use super::patient;
use super::roles::Caller;
use super::store;

/// Longest PEM accepted (a P-256 SPKI PEM is under 200 bytes).
const MAX_PEM_LEN: usize = 1024;
/// id-ecPublicKey and the prime256v1 curve.
const EC_PUBLIC_KEY_OID: &str = "1.2.840.10045.2.1";
const P256_OID: &str = "1.2.840.10045.3.1.7";

/// The owner the caller publishes or revokes for: themself, or with
/// `scope == "hospital"` their hospital (administrators only).
async fn owner_of(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    scope: Option<&str>,
) -> EhrResult<String> {
    match scope.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            if let (Role::Patient, Some(pid)) = (caller.role, &caller.pseudonym) {
                let home = patient::load(stub, pid).await?.home_msp;
                if home != caller.mspid {
                    return Err(denied(format!(
                        "a patient publishes their key at their home hospital ({home})"
                    )));
                }
            }
            Ok(caller.user.clone())
        }
        Some(HOSPITAL_SCOPE) if caller.role == Role::Admin => Ok(hospital_owner(&caller.mspid)),
        Some(HOSPITAL_SCOPE) => Err(denied(format!(
            "only an administrator of {} publishes or revokes its hospital key",
            caller.mspid
        ))),
        Some(other) => Err(invalid(format!(
            "the key scope is {HOSPITAL_SCOPE:?} or nothing, not {other:?}"
        ))),
    }
}

/// The SPKI DER of a P-256 public key in PEM form, or why not.
fn p256_spki_der(pem: &str) -> EhrResult<Vec<u8>> {
    let bad = |why: &str| invalid(format!("the public key is not a P-256 SPKI PEM: {why}"));
    if pem.len() > MAX_PEM_LEN {
        return Err(bad("too long"));
    }
    let (_, parsed) =
        x509_parser::pem::parse_x509_pem(pem.trim().as_bytes()).map_err(|_| bad("no PEM block"))?;
    if parsed.label != "PUBLIC KEY" {
        return Err(bad("the PEM label is not PUBLIC KEY"));
    }
    let (rest, spki) =
        SubjectPublicKeyInfo::from_der(&parsed.contents).map_err(|_| bad("not an SPKI"))?;
    if !rest.is_empty() {
        return Err(bad("trailing bytes"));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let point = &spki.subject_public_key.data;
    let ok = spki.algorithm.algorithm.to_id_string() == EC_PUBLIC_KEY_OID
        && curve.as_deref() == Some(P256_OID)
        && point.len() == 65
        && point[0] == 0x04;
    if !ok {
        return Err(bad("not an uncompressed P-256 point"));
    }
    Ok(parsed.contents.clone())
}

/// `publish_key(pem[, "hospital"])`.
pub async fn publish(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pem: &str,
    scope: Option<&str>,
) -> EhrResult<PublishedKey> {
    let owner = owner_of(stub, caller, scope).await?;
    let der = p256_spki_der(pem)?;
    let key = PublishedKey {
        owner: owner.clone(),
        public_key_pem: pem.trim().to_owned(),
        fingerprint: hex::encode(Sha256::digest(&der)),
        published_by: caller.principal(),
        published_at: clock::tx_time(stub)?,
        tx_id: stub.tx_id().to_owned(),
        revoked_at: None,
    };
    store::put_json(stub, &keys::published_key(&owner)?, &key).await?;
    Ok(key)
}

/// `revoke_key(["hospital"])`.
pub async fn revoke(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    scope: Option<&str>,
) -> EhrResult<PublishedKey> {
    let owner = owner_of(stub, caller, scope).await?;
    let mut key = load(stub, &owner).await?;
    if key.revoked_at.is_some() {
        return Err(EhrError::Conflict(format!(
            "the key of {owner} is already revoked"
        )));
    }
    key.revoked_at = Some(clock::tx_time(stub)?);
    store::put_json(stub, &keys::published_key(&owner)?, &key).await?;
    Ok(key)
}

/// The keys a version's data key may be wrapped to at rest: the published,
/// unrevoked keys of the home hospital (its key custodian) and of the
/// patient. Everyone else gets the data key from the custodian, per
/// committed access decision, so no grantee holds a wrap to keep.
pub async fn wrap_keys(
    stub: &mut dyn ChaincodeStub,
    home_msp: &str,
    patient: &PatientId,
) -> EhrResult<BTreeSet<String>> {
    let mut allowed = BTreeSet::new();
    for owner in [hospital_owner(home_msp), patient_owner(patient)] {
        let found: Option<PublishedKey> =
            store::get_json(stub, &keys::published_key(&owner)?).await?;
        allowed.extend(
            found
                .filter(|k| k.revoked_at.is_none())
                .map(|k| k.fingerprint),
        );
    }
    Ok(allowed)
}

/// Refuses wraps to any key but the home hospital's and the patient's.
pub async fn check_wraps<'a>(
    stub: &mut dyn ChaincodeStub,
    home_msp: &str,
    patient: &PatientId,
    wraps: impl IntoIterator<Item = &'a KeyFingerprint>,
) -> EhrResult<()> {
    let allowed = wrap_keys(stub, home_msp, patient).await?;
    for wrap in wraps {
        if !allowed.contains(wrap.as_str()) {
            return Err(denied(format!(
                "a data key is wrapped at rest only to the published keys of the home hospital \
                 ({home_msp}) and the patient, not to {wrap}: other readers get it from the \
                 home hospital's key custodian after a committed request_access"
            )));
        }
    }
    Ok(())
}

/// `get_key(owner)`: public keys are public.
pub async fn load(stub: &mut dyn ChaincodeStub, owner: &str) -> EhrResult<PublishedKey> {
    store::get_json(stub, &keys::published_key(owner)?)
        .await?
        .ok_or_else(|| EhrError::NotFound(format!("{owner} has published no encryption key")))
}
