//! JSON state access and paginated listings on top of the stub, and the one
//! place where home-hospital ownership (a key-level endorsement policy) is
//! attached to a key.

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

/// Writes a JSON value without a key-level policy.
pub async fn put_json<T: Serialize>(
    stub: &mut dyn ChaincodeStub,
    key: &str,
    value: &T,
) -> EhrResult<()> {
    stub.put_state(key, serde_json::to_vec(value)?).await?;
    Ok(())
}

/// Writes a value owned by a home hospital: the key's state-based
/// endorsement policy requires a peer of `home_msp`, so only that hospital
/// can change it again, whatever chaincode another organisation runs.
pub async fn put_owned(
    stub: &mut dyn ChaincodeStub,
    key: &str,
    value: Vec<u8>,
    home_msp: &str,
) -> EhrResult<()> {
    stub.put_state(key, value).await?;
    stub.set_state_validation_parameter(key, sbe::member_peer_policy(home_msp))
        .await?;
    Ok(())
}

/// [`put_owned`] for a JSON value.
pub async fn put_owned_json<T: Serialize>(
    stub: &mut dyn ChaincodeStub,
    key: &str,
    value: &T,
    home_msp: &str,
) -> EhrResult<()> {
    put_owned(stub, key, serde_json::to_vec(value)?, home_msp).await
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
