//! JSON state access and paginated listings on top of the stub, and the one
//! place where a key-level endorsement policy is attached to a key: the
//! seal on append-only evidence.
//!
//! Who may write what is decided by endorsement, checked by every peer:
//! - Patient data that legitimately changes (patients, record heads and
//!   versions, indices, consents, work lists, key deliveries) carries no
//!   key-level policy, so the contract's chaincode-level policy judges every
//!   write, creations included. The contract is deployed with a policy that
//!   needs a peer of every hospital (`--policy every-org`), so the patient's
//!   home hospital endorses everything written about its patients and no
//!   coalition of other hospitals, nor the home hospital alone, can write.
//!   (A home-only key-level policy, the earlier design, let the home hospital
//!   alone rewrite history and did not protect keys that did not exist yet.)
//! - Evidence (audit entries, break-glass events and their reviews) is
//!   sealed at creation ([`put_sealed_json`]): its key-level policy is
//!   one that no set of signatures satisfies, so no transaction, however it
//!   is endorsed and whatever chaincode definition is in force later, can
//!   change or delete it.

use fabric_shim::ChaincodeStub;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{invalid, EhrError, EhrResult};
use crate::sbe;

/// Page size when the caller gives none.
pub const DEFAULT_PAGE_SIZE: i32 = 50;
pub use healthblock_ehr_types::functions::MAX_PAGE_SIZE;
pub use healthblock_ehr_types::results::Page;

/// Reads and decodes a JSON value; `None` when the key is absent.
pub async fn get_json<T: DeserializeOwned>(
    stub: &mut dyn ChaincodeStub,
    key: &str,
) -> EhrResult<Option<T>> {
    match stub.get_state(key).await? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

/// Writes a JSON value under the chaincode-level endorsement policy.
pub async fn put_json<T: Serialize>(
    stub: &mut dyn ChaincodeStub,
    key: &str,
    value: &T,
) -> EhrResult<()> {
    stub.put_state(key, serde_json::to_vec(value)?).await?;
    Ok(())
}

/// Writes raw bytes under the chaincode-level endorsement policy.
pub async fn put_bytes(stub: &mut dyn ChaincodeStub, key: &str, value: Vec<u8>) -> EhrResult<()> {
    stub.put_state(key, value).await?;
    Ok(())
}

/// Writes an append-only JSON value and seals its key: the key-level policy
/// [`sbe::sealed_policy`] is never satisfied, so every later write or delete
/// of the key is invalidated by every peer (an overwrite by this contract
/// included: evidence keys name their transaction, so it never tries).
pub async fn put_sealed_json<T: Serialize>(
    stub: &mut dyn ChaincodeStub,
    key: &str,
    value: &T,
) -> EhrResult<()> {
    stub.put_state(key, serde_json::to_vec(value)?).await?;
    stub.set_state_validation_parameter(key, sbe::sealed_policy())
        .await?;
    Ok(())
}

/// A page request: size and bookmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Page size (1 to [`MAX_PAGE_SIZE`]).
    pub size: i32,
    /// Resume point; empty for the first page.
    pub bookmark: String,
}

impl PageRequest {
    /// Parses optional size and bookmark arguments (empty = default / start).
    pub fn parse(size: Option<&str>, bookmark: Option<&str>) -> EhrResult<Self> {
        let size = match size.map(str::trim).filter(|s| !s.is_empty()) {
            None => DEFAULT_PAGE_SIZE,
            Some(s) => s
                .parse::<i32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| {
                    invalid(format!("page size must be 1 to {MAX_PAGE_SIZE}, got {s:?}"))
                })?,
        };
        Ok(PageRequest {
            size,
            bookmark: bookmark.unwrap_or_default().to_owned(),
        })
    }
}

/// One page of the raw values under a partial composite key.
pub async fn page_of(
    stub: &mut dyn ChaincodeStub,
    object_type: &str,
    attributes: &[&str],
    page: &PageRequest,
) -> EhrResult<(Vec<Vec<u8>>, String)> {
    let result = stub
        .get_state_by_partial_composite_key_with_pagination(
            object_type,
            attributes,
            page.size,
            &page.bookmark,
        )
        .await?;
    let values = result.results.into_iter().map(|kv| kv.value).collect();
    Ok((values, result.bookmark))
}

/// One page of JSON documents under a partial composite key.
pub async fn json_page<T: DeserializeOwned>(
    stub: &mut dyn ChaincodeStub,
    object_type: &str,
    attributes: &[&str],
    page: &PageRequest,
) -> EhrResult<Page<T>> {
    let (values, bookmark) = page_of(stub, object_type, attributes, page).await?;
    let items = values
        .iter()
        .map(|v| serde_json::from_slice(v).map_err(EhrError::from))
        .collect::<EhrResult<Vec<T>>>()?;
    Ok(Page { items, bookmark })
}

/// Every JSON document under a partial composite key (for small, per-patient
/// sets such as consents and break-glass events).
pub async fn json_all<T: DeserializeOwned>(
    stub: &mut dyn ChaincodeStub,
    object_type: &str,
    attributes: &[&str],
) -> EhrResult<Vec<T>> {
    stub.get_state_by_partial_composite_key(object_type, attributes)
        .await?
        .iter()
        .map(|kv| serde_json::from_slice(&kv.value).map_err(EhrError::from))
        .collect()
}
