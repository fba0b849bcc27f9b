//! Owns: a doctor's emergency opening of a patient's records (time-limited,
//! audited, flagged for review by the contract), the after-the-fact review,
//! and the listings of openings and of those awaiting review.

use healthblock_ehr_types::breakglass::BreakGlassLimit;
use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{BreakGlass, BreakGlassReview, PatientId};
use healthblock_ehr_types::results::{BreakGlassAnswer, UnreviewedBreakGlass};

use crate::client::Client;
use crate::contract::Committed;
use crate::error::Result;

impl Client {
    /// Breaks the glass for a patient with a coded reason, `CODE: text`
    /// (build it with
    /// [`BreakGlassReason`](healthblock_ehr_types::breakglass::BreakGlassReason)).
    /// A refused attempt (not a doctor, no usable reason, over the rate
    /// limit) is an answer with `granted: false`, committed and audited, not
    /// an error.
    pub async fn break_glass(
        &self,
        pid: &PatientId,
        reason: &str,
    ) -> Result<Committed<BreakGlassAnswer>> {
        self.contract
            .submit(f::BREAK_GLASS, &[pid.to_string(), reason.to_owned()])
            .await
    }

    /// Reviews a break-glass (auditors, home administrators); a break-glass
    /// still in force closes with its review.
    pub async fn review_break_glass(
        &self,
        pid: &PatientId,
        break_glass_id: &str,
        note: &str,
    ) -> Result<Committed<BreakGlassReview>> {
        self.contract
            .submit(
                f::REVIEW_BREAK_GLASS,
                &[pid.to_string(), break_glass_id.to_owned(), note.to_owned()],
            )
            .await
    }

    /// Sets the per-doctor break-glass limit, 1 to
    /// [`MAX_LIMIT`](healthblock_ehr_types::breakglass::MAX_LIMIT) openings
    /// per 24 h (administrators).
    pub async fn set_break_glass_limit(
        &self,
        per_doctor: u32,
    ) -> Result<Committed<BreakGlassLimit>> {
        self.contract
            .submit(f::SET_BREAK_GLASS_LIMIT, &[per_doctor.to_string()])
            .await
    }

    /// The per-doctor break-glass limit in force.
    pub async fn break_glass_limit(&self) -> Result<BreakGlassLimit> {
        self.contract.evaluate(f::GET_BREAK_GLASS_LIMIT, &[]).await
    }

    /// Every break-glass opening of a patient.
    pub async fn list_break_glass(&self, pid: &PatientId) -> Result<Vec<BreakGlass>> {
        self.contract
            .all_pages(f::LIST_BREAK_GLASS, &[pid.to_string()])
            .await
    }

    /// Break-glass openings not yet reviewed, oldest first per hospital:
    /// one home hospital's (by MSP id) or, for auditors, every hospital's.
    pub async fn unreviewed_break_glass(
        &self,
        home_msp: Option<&str>,
    ) -> Result<Vec<UnreviewedBreakGlass>> {
        self.contract
            .all_pages(
                f::LIST_UNREVIEWED_BREAK_GLASS,
                &[home_msp.unwrap_or_default().to_owned()],
            )
            .await
    }
}
