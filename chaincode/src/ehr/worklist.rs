//! The reviewers' work list: break-glass events not yet reviewed.
//!
//! Every opening is flagged for review, and this index is how reviewers find
//! the ones still waiting. `break_glass` adds an event under
//! `breakglass~unreviewed(home MSP, opened at, pid, id)` and
//! `review_break_glass` removes it (both in
//! [`breakglass`], which writes the index); closing a break-glass (taking it
//! off the custodian's open list) does not, so an expired event stays here until
//! someone reviews it. `list_unreviewed_break_glass` reads one hospital's
//! range (oldest first) or, for an auditor, the whole index: a range over
//! this one object type, never a scan of all keys. Events opened by the
//! caller's own hospital are left out: an opener's hospital never reviews
//! its own break-glass (so a page may hold fewer items than its size).
//!
//! The index carries no key-level policy: the every-hospital chaincode
//! policy judges it, so the home hospital alone cannot drop an event from
//! the list without a review.
//!
//! Events opened before this index existed are not on it; auditors find
//! them with `list_break_glass` per patient.

use fabric_shim::ChaincodeStub;
use healthblock_ehr_types::results::BreakGlassStatus;
pub use healthblock_ehr_types::results::UnreviewedBreakGlass;

use super::breakglass;
use super::clock;
use super::error::{denied, EhrResult};
use super::keys;
use super::model::{BreakGlass, OpenEntry, Role, Timestamp};
use super::roles::Caller;
use super::store::{Page, PageRequest};

/// Which hospital's range the caller reads: an auditor any one (or all,
/// `None`); an administrator only their own.
fn scope<'a>(caller: &'a Caller, hospital: Option<&'a str>) -> EhrResult<Option<&'a str>> {
    let hospital = hospital.map(str::trim).filter(|h| !h.is_empty());
    match caller.role {
        Role::Auditor => Ok(hospital),
        Role::Admin => match hospital {
            None => Ok(Some(caller.mspid.as_str())),
            Some(h) if h == caller.mspid => Ok(Some(h)),
            Some(h) => Err(denied(format!(
                "administrators of {} list only their own hospital's unreviewed break-glass events, not those of {h}",
                caller.mspid
            ))),
        },
        _ => caller
            .require_role(
                &[Role::Auditor, Role::Admin],
                "list unreviewed break-glass events",
            )
            .map(|()| None),
    }
}

fn status_at(event: &BreakGlass, now: Timestamp) -> BreakGlassStatus {
    if now < event.expires_at {
        BreakGlassStatus::Active
    } else {
        BreakGlassStatus::Expired
    }
}

/// `list_unreviewed_break_glass([home MSP, page size, bookmark])`: auditors
/// (one hospital, or all when the MSP is empty) and administrators (their
/// own hospital).
pub async fn list(
    stub: &mut dyn ChaincodeStub,
    caller: &Caller,
    hospital: Option<&str>,
    page: &PageRequest,
) -> EhrResult<Page<UnreviewedBreakGlass>> {
    let hospital = scope(caller, hospital)?;
    let now = clock::tx_time(stub)?;
    let attributes: Vec<&str> = hospital.into_iter().collect();
    let result = stub
        .get_state_by_partial_composite_key_with_pagination(
            keys::BREAK_GLASS_UNREVIEWED,
            &attributes,
            page.size,
            &page.bookmark,
        )
        .await?;
    let mut items = Vec::with_capacity(result.results.len());
    for kv in result.results {
        let (_, attrs) = stub.split_composite_key(&kv.key)?;
        let home_msp = attrs.into_iter().next().unwrap_or_default();
        let entry: OpenEntry = serde_json::from_slice(&kv.value)?;
        let event = breakglass::load(stub, &entry.patient_id, &entry.break_glass_id).await?;
        // Never the opener's own hospital: its reviewers may not review it
        // (see `breakglass`), so it is not on their list.
        if event.opened_by.mspid == caller.mspid {
            continue;
        }
        items.push(UnreviewedBreakGlass {
            home_msp,
            status: status_at(&event, now),
            event,
        });
    }
    Ok(Page {
        items,
        bookmark: result.bookmark,
    })
}
