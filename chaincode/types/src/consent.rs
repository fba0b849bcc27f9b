//! Owns: the consent rules both sides apply: a consent's status at an
//! instant, whether a scope covers a record, and which key wraps a consent
//! justifies. The contract decides access with them (and the home
//! hospital's custodian releases data keys by the same decision). Grantees
//! get no wrap at rest any more (only the home hospital and the patient
//! do); [`still_needed`] and [`revocation_candidates`] judge which grantee
//! wraps recorded before that rule a revocation may delete.

use serde::{Deserialize, Serialize};

use crate::model::{Consent, Grantee, RecordId, ResourceType, Scope, Timestamp};
use crate::results::ConsentView;

/// Whether a consent currently allows anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentStatus {
    /// In force.
    Active,
    /// Past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// Status of `consent` at `now`; a revocation wins over an expiry.
pub fn status(consent: &Consent, now: Timestamp) -> ConsentStatus {
    if consent.revoked.is_some() {
        ConsentStatus::Revoked
    } else if consent.expires_at.is_some_and(|t| now >= t) {
        ConsentStatus::Expired
    } else {
        ConsentStatus::Active
    }
}

impl Scope {
    /// True when the scope covers a record of this id and type.
    pub fn covers(&self, record_id: &RecordId, resource_type: &ResourceType) -> bool {
        match self {
            Scope::All => true,
            Scope::Type { resource_type: t } => t == resource_type,
            Scope::Record { record_id: r } => r == record_id,
        }
    }
}

impl Grantee {
    /// The MSP id of a user grantee (`CN@MSPID`); `None` for a hospital.
    pub fn user_msp(&self) -> Option<&str> {
        match self {
            Grantee::User { user } => user.rsplit_once('@').map(|(_, msp)| msp),
            Grantee::Org { .. } => None,
        }
    }
}

/// True when an active consent still needs `grantee`'s wrap on a record of
/// this id and type: one to the same grantee, or, for a user, one to the
/// user's hospital (whose members share the hospital's wrap, but whose
/// users' own wraps it also justifies).
pub fn still_needed(
    grantee: &Grantee,
    record_id: &RecordId,
    resource_type: &ResourceType,
    active: &[ConsentView],
) -> bool {
    active.iter().any(|c| {
        c.status == ConsentStatus::Active
            && c.consent.scope.covers(record_id, resource_type)
            && (c.consent.grantee == *grantee
                || matches!(&c.consent.grantee, Grantee::Org { mspid }
                    if grantee.user_msp() == Some(mspid.as_str())))
    })
}

/// The grantees whose wraps a revocation may delete: the revoked consents'
/// grantees and, for a hospital, that hospital's users named in any of the
/// patient's consents (their wraps may have been kept only because the
/// hospital-wide consent covered them).
pub fn revocation_candidates(revoked: &[ConsentView], all: &[ConsentView]) -> Vec<Grantee> {
    let mut out: Vec<Grantee> = Vec::new();
    let mut add = |g: &Grantee| {
        if !out.contains(g) {
            out.push(g.clone());
        }
    };
    for c in revoked {
        add(&c.consent.grantee);
        if let Grantee::Org { mspid } = &c.consent.grantee {
            for other in all {
                if other.consent.grantee.user_msp() == Some(mspid.as_str()) {
                    add(&other.consent.grantee);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PatientId, Principal, Revocation, Role};

    fn rid(s: &str) -> RecordId {
        RecordId::parse(s).unwrap()
    }

    fn rtype(s: &str) -> ResourceType {
        ResourceType::parse(s).unwrap()
    }

    fn org(msp: &str) -> Grantee {
        Grantee::Org { mspid: msp.into() }
    }

    fn user(u: &str) -> Grantee {
        Grantee::User { user: u.into() }
    }

    fn principal() -> Principal {
        Principal {
            mspid: "Hospital1MSP".into(),
            user: "admin@Hospital1MSP".into(),
            role: Role::Admin,
        }
    }

    fn consent(grantee: Grantee, scope: Scope) -> Consent {
        Consent {
            consent_id: "c".into(),
            patient_id: PatientId::parse(&"a".repeat(64)).unwrap(),
            grantee,
            scope,
            expires_at: None,
            granted_by: principal(),
            granted_at: Timestamp(10),
            revoked: None,
        }
    }

    fn view(grantee: Grantee, scope: Scope) -> ConsentView {
        ConsentView::new(consent(grantee, scope), Timestamp(20))
    }

    #[test]
    fn status_prefers_revocation_over_expiry() {
        let mut c = consent(org("H2"), Scope::All);
        assert_eq!(status(&c, Timestamp(20)), ConsentStatus::Active);
        c.expires_at = Some(Timestamp(20));
        assert_eq!(status(&c, Timestamp(19)), ConsentStatus::Active);
        assert_eq!(status(&c, Timestamp(20)), ConsentStatus::Expired);
        c.revoked = Some(Revocation {
            by: principal(),
            at: Timestamp(15),
            tx_id: "t".into(),
        });
        assert_eq!(status(&c, Timestamp(20)), ConsentStatus::Revoked);
    }

    #[test]
    fn scopes_cover_the_right_records() {
        let obs = rtype("Observation");
        let img = rtype("ImagingStudy");
        assert!(Scope::All.covers(&rid("r1"), &obs));
        let by_type = Scope::Type {
            resource_type: obs.clone(),
        };
        assert!(by_type.covers(&rid("r1"), &obs));
        assert!(!by_type.covers(&rid("r1"), &img));
        let by_record = Scope::Record {
            record_id: rid("r1"),
        };
        assert!(by_record.covers(&rid("r1"), &img));
        assert!(!by_record.covers(&rid("r2"), &img));
    }

    #[test]
    fn an_overlapping_consent_keeps_the_wrap() {
        let h2 = org("Hospital2MSP");
        let bob = user("bob@Hospital2MSP");
        let eve = user("eve@Hospital3MSP");
        let (obs, img) = (rtype("Observation"), rtype("ImagingStudy"));
        let hospital_all = view(h2.clone(), Scope::All);
        let hospital_obs = view(
            h2.clone(),
            Scope::Type {
                resource_type: obs.clone(),
            },
        );
        let active = [hospital_all];
        assert!(still_needed(&h2, &rid("r1"), &obs, &active));
        assert!(still_needed(&h2, &rid("r2"), &img, &active));
        // A user of the hospital is covered by the hospital's consent...
        assert!(still_needed(&bob, &rid("r1"), &obs, &active));
        // ...a user of another hospital is not.
        assert!(!still_needed(&eve, &rid("r1"), &obs, &active));
        let active = [hospital_obs];
        assert!(still_needed(&h2, &rid("r1"), &obs, &active));
        assert!(!still_needed(&h2, &rid("r2"), &img, &active));
        assert!(!still_needed(&h2, &rid("r1"), &obs, &[]));
        // A consent that is no longer active keeps nothing.
        let mut revoked = view(h2.clone(), Scope::All);
        revoked.status = ConsentStatus::Revoked;
        assert!(!still_needed(&h2, &rid("r1"), &obs, &[revoked]));
    }

    #[test]
    fn revoking_a_hospital_considers_its_users_wraps() {
        let h2 = org("Hospital2MSP");
        let bob = user("bob@Hospital2MSP");
        let eve = user("eve@Hospital3MSP");
        let all = [
            view(h2.clone(), Scope::All),
            view(bob.clone(), Scope::All),
            view(eve, Scope::All),
        ];
        assert_eq!(
            revocation_candidates(&all[..1], &all),
            vec![h2, bob.clone()]
        );
        assert_eq!(revocation_candidates(&all[1..2], &all), vec![bob]);
    }
}
