//! Owns: reading the audit trail, of a patient or of a record, oldest
//! first, every page.

use healthblock_ehr_types::functions as f;
use healthblock_ehr_types::model::{AuditEntry, PatientId, RecordId};

use crate::client::Client;
use crate::error::Result;

impl Client {
    /// Every audit entry of a patient.
    pub async fn audit_by_patient(&self, pid: &PatientId) -> Result<Vec<AuditEntry>> {
        self.contract
            .all_pages(f::AUDIT_BY_PATIENT, &[pid.to_string()])
            .await
    }

    /// Every audit entry of a record.
    pub async fn audit_by_record(&self, rid: &RecordId) -> Result<Vec<AuditEntry>> {
        self.contract
            .all_pages(f::AUDIT_BY_RECORD, &[rid.to_string()])
            .await
    }
}
