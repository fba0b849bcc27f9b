//! Consent: a patient (or their home hospital's administrator) lets a
//! hospital or one user read all of the patient's records, the records of
//! one FHIR type, or one record, optionally until an expiry; and revokes it.
//!
//! Consents are never deleted: revoking marks them, so the ledger keeps who
//! was allowed what and when. Like the records they govern, they are judged
//! by the every-hospital chaincode policy: only the patient or the home
//! hospital's administrator asks, and the home hospital always endorses.

use fabric_shim::ChaincodeStub;

use super::audit;
use super::clock;
use super::error::{denied, invalid, EhrError, EhrResult};
use super::keys;
use super::model::{
    AuditAction, Consent, Grantee, Patient, PatientId, RecordId, ResourceType, Revocation, Role,
    Timestamp,
};
use super::patient;
use super::roles::Caller;
use super::store::{self, Page, PageRequest};

/// Longest MSP id or user id accepted in a grantee.
const MAX_GRANTEE_LEN: usize = 256;

pub use healthblock_ehr_types::args::GrantArgs;
pub use healthblock_ehr_types::consent::{status, ConsentStatus};
pub use healthblock_ehr_types::results::ConsentView;

/// Only the patient themself or their home hospital's administrator
/// manages consent.
fn require_manager(caller: &Caller, patient: &Patient) -> EhrResult<()> {
    if caller.is_patient(&patient.patient_id, &patient.home_msp)
        || caller.is_member(&patient.home_msp, &[Role::Admin])
    {
        return Ok(());
    }
    if caller.role == Role::Patient {
        return Err(denied(
            "a patient may grant or revoke consent only for their own records",
        ));
    }
    Err(denied(format!(
        "only the patient or an administrator of the home hospital ({}) may grant or revoke consent",
        patient.home_msp
    )))
}

fn validate_grantee(grantee: &Grantee) -> EhrResult<()> {
    let (value, what) = match grantee {
        Grantee::Org { mspid } => (mspid, "grantee MSP id"),
        Grantee::User { user } => (user, "grantee user"),
    };
    let printable = value.bytes().all(|b| (0x20..0x7f).contains(&b));
    if value.is_empty() || value.len() > MAX_GRANTEE_LEN || !printable {
        return Err(invalid(format!(
            "{what} must be 1 to {MAX_GRANTEE_LEN} printable ASCII characters"
        )));
    }
    if matches!(grantee, Grantee::User { user } if !user.contains('@')) {
        return Err(invalid("a grantee user is written CN@MSPID"));
    }
    Ok(())
}

fn parse_expiry(value: &serde_json::Value) -> EhrResult<Timestamp> {
    match value {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Timestamp)
            .ok_or_else(|| invalid("expires_at must be whole unix seconds")),
        serde_json::Value::String(s) => Ok(clock::parse_instant(s)?),
        _ => Err(invalid("expires_at must be RFC 3339 text or unix seconds")),
    }
}

/// `grant_consent(json)`: the patient or the home hospital's admin.
pub async fn grant(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    json: &str,
) -> EhrResult<Consent> {
    let args: GrantArgs =
        serde_json::from_str(json).map_err(|e| invalid(format!("grant_consent arguments: {e}")))?;
    let patient = patient::load(stub, &args.patient_id).await?;
    require_manager(caller, &patient)?;
    validate_grantee(&args.grantee)?;
    let now = clock::tx_time(stub)?;
    let expires_at = args.expires_at.as_ref().map(parse_expiry).transpose()?;
    if expires_at.is_some_and(|t| t <= now) {
        return Err(invalid("expires_at is not in the future"));
    }
    let consent = Consent {
        consent_id: stub.tx_id().to_owned(),
        patient_id: patient.patient_id.clone(),
        grantee: args.grantee,
        scope: args.scope,
        expires_at,
        granted_by: caller.principal(),
        granted_at: now,
        revoked: None,
    };
    let key = keys::consent(&patient.patient_id, &consent.consent_id)?;
    store::put_json(stub, &key, &consent).await?;
    let reason = format!("consent {} granted", consent.consent_id);
    audit::log_patient_event(stub, caller, &patient, AuditAction::ConsentGrant, &reason).await?;
    Ok(consent)
}

/// `revoke_consent(pid, consent id)`: the patient or the home hospital's admin.
pub async fn revoke(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    consent_id: &str,
) -> EhrResult<Consent> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    require_manager(caller, &patient)?;
    let key = keys::consent(&patient.patient_id, consent_id)?;
    let mut consent: Consent = store::get_json(stub, &key).await?.ok_or_else(|| {
        EhrError::NotFound(format!(
            "consent {consent_id} of patient {}",
            patient.patient_id
        ))
    })?;
    if consent.revoked.is_some() {
        return Err(EhrError::Conflict(format!(
            "consent {consent_id} is already revoked"
        )));
    }
    consent.revoked = Some(Revocation {
        by: caller.principal(),
        at: clock::tx_time(stub)?,
        tx_id: stub.tx_id().to_owned(),
    });
    store::put_json(stub, &key, &consent).await?;
    let reason = format!("consent {consent_id} revoked");
    audit::log_patient_event(stub, caller, &patient, AuditAction::ConsentRevoke, &reason).await?;
    Ok(consent)
}

/// `list_consents(pid[, page size, bookmark])`: the patient, the home
/// hospital's staff, auditors.
pub async fn list(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    pid: &str,
    page: &PageRequest,
) -> EhrResult<Page<ConsentView>> {
    let patient = patient::load(stub, &PatientId::parse(pid)?).await?;
    let home_staff = [Role::Admin, Role::Doctor, Role::Nurse];
    let allowed = caller.is_patient(&patient.patient_id, &patient.home_msp)
        || caller.is_member(&patient.home_msp, &home_staff)
        || caller.role == Role::Auditor;
    if !allowed {
        return Err(denied(
            "consents are listed for the patient, the home hospital and auditors",
        ));
    }
    let now = clock::tx_time(stub)?;
    let page: Page<Consent> =
        store::json_page(stub, keys::CONSENT, &[patient.patient_id.as_str()], page).await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|c| ConsentView::new(c, now))
            .collect(),
        bookmark: page.bookmark,
    })
}

/// True when the consent is addressed to this caller. Consent lets
/// clinicians read; auditors, patients and administrators of other hospitals
/// never gain access through it.
pub fn addresses(grantee: &Grantee, caller: &Caller) -> bool {
    if !caller.role.is_clinician() {
        return false;
    }
    match grantee {
        Grantee::Org { mspid } => caller.mspid == *mspid,
        Grantee::User { user } => caller.user == *user,
    }
}

/// What the caller's consents say about one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentCheck {
    /// An active consent allows it.
    Allowed {
        /// The consent.
        consent_id: String,
    },
    /// No active consent; why.
    Refused(String),
}

/// Checks the patient's consents for the caller and one record.
pub fn check(
    consents: &[Consent],
    caller: &Caller,
    record_id: &RecordId,
    resource_type: &ResourceType,
    now: Timestamp,
) -> ConsentCheck {
    let relevant: Vec<&Consent> = consents
        .iter()
        .filter(|c| addresses(&c.grantee, caller) && c.scope.covers(record_id, resource_type))
        .collect();
    if let Some(active) = relevant
        .iter()
        .find(|c| status(c, now) == ConsentStatus::Active)
    {
        return ConsentCheck::Allowed {
            consent_id: active.consent_id.clone(),
        };
    }
    // Name the most recent consent that no longer applies, so the caller
    // learns why (revoked or expired) rather than a bare "no consent".
    let latest = relevant.iter().max_by_key(|c| c.granted_at);
    let reason = match latest {
        Some(c) if c.revoked.is_some() => format!("consent {} was revoked", c.consent_id),
        Some(c) => format!(
            "consent {} expired at {}",
            c.consent_id,
            c.expires_at
                .map(|t| clock::rfc3339(t.0))
                .unwrap_or_default()
        ),
        None => format!(
            "no consent covers record {record_id} for {} ({} at {})",
            caller.user, caller.role, caller.mspid
        ),
    };
    ConsentCheck::Refused(reason)
}
