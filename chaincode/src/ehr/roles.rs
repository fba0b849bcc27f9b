//! Who is calling: the caller's organisation (MSP id), user id and role,
//! read from the creator certificate.
//!
//! Roles come from the Fabric CA attribute extension (OID
//! `1.2.3.4.5.6.7.8.1`, read by `fabric_msp::fabric_ca_attributes`):
//! `{"attrs":{"hb.role":"doctor","hb.pseudonym":"<64 hex>",...}}`.
//! MSP membership alone is not a role: an identity without `hb.role` is
//! refused, except an organisation administrator (NodeOU `OU=admin` in the
//! subject), which acts as role `admin`.
//!
//! The peer has already checked the certificate against the channel's MSPs
//! before the chaincode runs, so the contract trusts what it reads here.

use std::collections::BTreeMap;

use fabric_shim::ChaincodeStub;
use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;
use x509_parser::pem::parse_x509_pem;

use super::error::{denied, EhrError, EhrResult};
use super::model::{PatientId, Principal, Role};

/// OID of Fabric CA's attribute extension.
pub use fabric_msp::FABRIC_CA_ATTRIBUTES_OID as ATTRIBUTE_OID;
/// Attribute naming a patient's pseudonym.
pub use healthblock_roles::PSEUDONYM_ATTR as PSEUDONYM_ATTRIBUTE;
/// Attribute naming the caller's role.
pub use healthblock_roles::ROLE_ATTR as ROLE_ATTRIBUTE;
/// NodeOU of organisation administrators.
const ADMIN_OU: &str = "admin";

/// The caller of the current transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// MSP id of the caller's organisation.
    pub mspid: String,
    /// Role.
    pub role: Role,
    /// User id: `CN@MSP` (or `sha256:<cert>@MSP` without a CN); for a
    /// patient `patient:<pseudonym>`.
    pub user: String,
    /// The pseudonym of a patient caller.
    pub pseudonym: Option<PatientId>,
}

impl Caller {
    /// Reads the caller of this transaction.
    pub fn from_stub(stub: &dyn ChaincodeStub) -> EhrResult<Caller> {
        let identity = stub
            .creator_identity()
            .map_err(|e| EhrError::Identity(e.to_string()))?;
        Caller::from_certificate(&identity.mspid, identity.cert_pem.as_bytes())
    }

    /// Reads a caller from its MSP id and PEM certificate.
    pub fn from_certificate(mspid: &str, cert_pem: &[u8]) -> EhrResult<Caller> {
        let (_, pem) = parse_x509_pem(cert_pem)
            .map_err(|_| EhrError::Identity("creator certificate is not PEM".into()))?;
        let cert = pem.parse_x509().map_err(|_| {
            EhrError::Identity("creator certificate is not a valid X.509 certificate".into())
        })?;
        let attrs = fabric_msp::fabric_ca_attributes(&cert).map_err(|_| {
            EhrError::Identity("the Fabric CA attribute extension is not the expected JSON".into())
        })?;
        let role = match attrs.get(ROLE_ATTRIBUTE) {
            Some(value) => Role::parse(value).ok_or_else(|| {
                EhrError::Identity(format!(
                    "unknown role {value:?} (expected doctor, nurse, patient, auditor or admin)"
                ))
            })?,
            None if has_admin_ou(&cert) => Role::Admin,
            None => return Err(EhrError::Identity("no role attribute".into())),
        };
        let pseudonym = match role {
            Role::Patient => Some(patient_pseudonym(&attrs)?),
            _ => None,
        };
        let user = match &pseudonym {
            Some(p) => format!("patient:{p}"),
            None => format!("{}@{mspid}", common_name_or_hash(&cert, &pem.contents)),
        };
        Ok(Caller {
            mspid: mspid.to_owned(),
            role,
            user,
            pseudonym,
        })
    }

    /// The caller as the ledger records it.
    pub fn principal(&self) -> Principal {
        Principal {
            mspid: self.mspid.clone(),
            user: self.user.clone(),
            role: self.role,
        }
    }

    /// True when the caller is the patient `patient` of home hospital
    /// `home_msp`. The pseudonym attribute alone is not enough: any
    /// hospital's registrar can put any value in it, so a patient identity
    /// counts only when its hospital's CA (its MSP) is the patient's home.
    pub fn is_patient(&self, patient: &PatientId, home_msp: &str) -> bool {
        self.role == Role::Patient
            && self.mspid == home_msp
            && self.pseudonym.as_ref() == Some(patient)
    }

    /// True when the caller belongs to `mspid` with one of `roles`.
    pub fn is_member(&self, mspid: &str, roles: &[Role]) -> bool {
        self.mspid == mspid && roles.contains(&self.role)
    }

    /// Fails unless the caller holds one of `roles`.
    pub fn require_role(&self, roles: &[Role], action: &str) -> EhrResult<()> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(denied(format!(
            "role {} may not {action} (allowed: {})",
            self.role,
            allowed.join(", ")
        )))
    }
}

fn patient_pseudonym(attrs: &BTreeMap<String, String>) -> EhrResult<PatientId> {
    let value = attrs.get(PSEUDONYM_ATTRIBUTE).ok_or_else(|| {
        EhrError::Identity("a patient identity needs the hb.pseudonym attribute".into())
    })?;
    PatientId::parse(value)
        .map_err(|_| EhrError::Identity("hb.pseudonym must be 64 hex digits".into()))
}

fn has_admin_ou(cert: &X509Certificate<'_>) -> bool {
    cert.subject()
        .iter_organizational_unit()
        .any(|ou| ou.as_str().is_ok_and(|s| s.eq_ignore_ascii_case(ADMIN_OU)))
}

/// The subject CN, or the SHA-256 of the certificate DER when it has none.
fn common_name_or_hash(cert: &X509Certificate<'_>, der: &[u8]) -> String {
    cert.subject()
        .iter_common_name()
        .find_map(|cn| cn.as_str().ok())
        .filter(|cn| !cn.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(der))))
}
