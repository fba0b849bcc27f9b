//! The key-value stand-in contract.
//!
//! It mirrors the chaincode that produced the Fabric v3.1.5 test vectors
//! (`put`, `putsbe`, `putevent`, `readwrite`, `countrange`, `setpolicy`,
//! `get`, `noop`, with the same payloads and read/write sets) and adds `del`,
//! `range`, `history` and `fail` for devnet and client tests.
//!
//! | function | effect | payload |
//! |---|---|---|
//! | `put(k, v)` / `putsbe(k, v)` | writes k | empty |
//! | `get(k)` | reads k | value (empty if missing) |
//! | `del(k)` | deletes k | empty |
//! | `putevent(k, v)` | writes k, event `kv_put` = `k=v` | k |
//! | `readwrite(k, v)` | reads k, writes v | previous value |
//! | `countrange(start, end, out)` | counts `[start, end)`, writes the count to out | count |
//! | `range(start, end[, pageSize, bookmark])` | range read | JSON [`RangeOutput`] |
//! | `history(k)` | history of k | JSON list of [`HistoryEntry`] |
//! | `setpolicy(k, mspid \| policyHex)` | key-level policy; writes `sbe-init` first if k is missing | empty |
//! | `fail(msg)` | nothing | status 500 with msg |
//! | `noop()` | nothing | empty |

use async_trait::async_trait;
use fabric_shim::{error, success, Chaincode, ChaincodeStub, Response, ShimError};
use serde::Serialize;
use thiserror::Error;

use crate::sbe;

/// Event name emitted by `putevent`.
pub const PUT_EVENT: &str = "kv_put";
/// Value `setpolicy` writes to a key that does not exist yet.
pub const SBE_INIT_VALUE: &[u8] = b"sbe-init";

/// The key-value contract.
#[derive(Debug, Default, Clone, Copy)]
pub struct KvContract;

/// Why a call failed; becomes a status-500 response.
#[derive(Debug, Error)]
enum KvError {
    #[error("{function} expects {expected} arguments, got {got}")]
    Arity {
        function: String,
        expected: String,
        got: usize,
    },
    #[error("invalid argument: {0}")]
    Argument(String),
    #[error(transparent)]
    Ledger(#[from] ShimError),
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Application(String),
}

type CallResult = Result<Vec<u8>, KvError>;

/// One entry of a `range` result.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RangeEntry {
    /// Key.
    pub key: String,
    /// Value as UTF-8 (lossy).
    pub value: String,
}

/// `range` output.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct RangeOutput {
    /// Entries in key order.
    pub results: Vec<RangeEntry>,
    /// Bookmark of the next page (paginated calls; empty when done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bookmark: Option<String>,
    /// Records fetched (paginated calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched_records_count: Option<i32>,
}

/// One entry of a `history` result.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Transaction that changed the key.
    pub tx_id: String,
    /// Value written, UTF-8 (lossy); empty for deletes.
    pub value: String,
    /// True for a delete.
    pub is_delete: bool,
    /// Seconds since the epoch of that transaction, if known.
    pub timestamp: Option<i64>,
}

#[async_trait]
impl Chaincode for KvContract {
    async fn invoke(&self, stub: &mut dyn ChaincodeStub) -> Response {
        let (function, params) = stub.function_and_parameters();
        match dispatch(stub, &function, &params).await {
            Ok(payload) => success(payload),
            Err(e) => error(e.to_string()),
        }
    }
}

async fn dispatch(stub: &mut dyn ChaincodeStub, function: &str, p: &[String]) -> CallResult {
    match function {
        "put" | "putsbe" => {
            let [k, v] = args(function, p)?;
            put(stub, k, v).await
        }
        "get" => {
            let [k] = args(function, p)?;
            Ok(stub.get_state(k).await?.unwrap_or_default())
        }
        "del" => {
            let [k] = args(function, p)?;
            stub.del_state(k).await?;
            Ok(Vec::new())
        }
        "putevent" => {
            let [k, v] = args(function, p)?;
            put_event(stub, k, v).await
        }
        "readwrite" => {
            let [k, v] = args(function, p)?;
            read_write(stub, k, v).await
        }
        "countrange" => {
            let [start, end, out] = args(function, p)?;
            count_range(stub, start, end, out).await
        }
        "range" => range(stub, p).await,
        "history" => {
            let [k] = args(function, p)?;
            history(stub, k).await
        }
        "setpolicy" => {
            let [k, policy] = args(function, p)?;
            set_policy(stub, k, policy).await
        }
        "fail" => {
            let [message] = args(function, p)?;
            Err(KvError::Application(message.clone()))
        }
        "noop" => Ok(Vec::new()),
        other => Err(KvError::Argument(format!("unknown function {other:?}"))),
    }
}

/// Exactly `N` parameters.
fn args<'a, const N: usize>(
    function: &str,
    params: &'a [String],
) -> Result<[&'a String; N], KvError> {
    let refs: Vec<&String> = params.iter().collect();
    refs.try_into().map_err(|_| KvError::Arity {
        function: function.to_owned(),
        expected: N.to_string(),
        got: params.len(),
    })
}

async fn put(stub: &mut dyn ChaincodeStub, key: &str, value: &str) -> CallResult {
    stub.put_state(key, value.as_bytes().to_vec()).await?;
    Ok(Vec::new())
}

async fn put_event(stub: &mut dyn ChaincodeStub, key: &str, value: &str) -> CallResult {
    stub.put_state(key, value.as_bytes().to_vec()).await?;
    stub.set_event(PUT_EVENT, format!("{key}={value}").into_bytes())?;
    Ok(key.as_bytes().to_vec())
}

async fn read_write(stub: &mut dyn ChaincodeStub, key: &str, value: &str) -> CallResult {
    let previous = stub.get_state(key).await?.unwrap_or_default();
    stub.put_state(key, value.as_bytes().to_vec()).await?;
    Ok(previous)
}

async fn count_range(
    stub: &mut dyn ChaincodeStub,
    start: &str,
    end: &str,
    out: &str,
) -> CallResult {
    let count = stub.get_state_by_range(start, end).await?.len().to_string();
    stub.put_state(out, count.clone().into_bytes()).await?;
    Ok(count.into_bytes())
}

async fn range(stub: &mut dyn ChaincodeStub, p: &[String]) -> CallResult {
    let output = match p {
        [start, end] => RangeOutput {
            results: entries(stub.get_state_by_range(start, end).await?),
            bookmark: None,
            fetched_records_count: None,
        },
        [start, end, page_size] | [start, end, page_size, _] => {
            let page_size: i32 = page_size.parse().map_err(|_| {
                KvError::Argument(format!("page size {page_size:?} is not a number"))
            })?;
            let bookmark = p.get(3).map(String::as_str).unwrap_or("");
            let page = stub
                .get_state_by_range_with_pagination(start, end, page_size, bookmark)
                .await?;
            RangeOutput {
                results: entries(page.results),
                bookmark: Some(page.bookmark),
                fetched_records_count: Some(page.fetched_records_count),
            }
        }
        _ => {
            return Err(KvError::Arity {
                function: "range".to_owned(),
                expected: "2 to 4".to_owned(),
                got: p.len(),
            })
        }
    };
    Ok(serde_json::to_vec(&output)?)
}

fn entries(results: Vec<fabric_shim::KeyValue>) -> Vec<RangeEntry> {
    results
        .into_iter()
        .map(|kv| RangeEntry {
            key: kv.key,
            value: String::from_utf8_lossy(&kv.value).into_owned(),
        })
        .collect()
}

async fn history(stub: &mut dyn ChaincodeStub, key: &str) -> CallResult {
    let entries: Vec<HistoryEntry> = stub
        .get_history_for_key(key)
        .await?
        .into_iter()
        .map(|m| HistoryEntry {
            tx_id: m.tx_id,
            value: String::from_utf8_lossy(&m.value).into_owned(),
            is_delete: m.is_delete,
            timestamp: m.timestamp.map(|t| t.seconds),
        })
        .collect();
    Ok(serde_json::to_vec(&entries)?)
}

/// `policy` is either hex of a serialized SignaturePolicyEnvelope or an MSP
/// id (then the policy is `OR('<mspid>.peer')`).
async fn set_policy(stub: &mut dyn ChaincodeStub, key: &str, policy: &str) -> CallResult {
    let policy_bytes = match hex::decode(policy) {
        Ok(bytes) if sbe::is_signature_policy(&bytes) => bytes,
        _ if policy.is_empty() => return Err(KvError::Argument("empty policy".into())),
        _ => sbe::member_peer_policy(policy),
    };
    // Fabric drops metadata of a key that does not exist, so create it first.
    if stub.get_state(key).await?.is_none() {
        stub.put_state(key, SBE_INIT_VALUE.to_vec()).await?;
    }
    stub.set_state_validation_parameter(key, policy_bytes)
        .await?;
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use fabric_shim::{MemoryLedger, VALIDATION_PARAMETER};

    fn text(response: &Response) -> String {
        String::from_utf8(response.payload.clone()).unwrap()
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn put_get_del() {
        block_on(async {
            let ledger = MemoryLedger::new();
            let put = ledger
                .submit(&KvContract, ["put", "valid-key", "hello-fabric"])
                .await;
            assert_eq!((put.status, put.payload.len()), (200, 0));
            let got = ledger.evaluate(&KvContract, ["get", "valid-key"]).await;
            assert_eq!(text(&got), "hello-fabric");
            assert_eq!(
                ledger
                    .submit(&KvContract, ["del", "valid-key"])
                    .await
                    .status,
                200
            );
            assert_eq!(ledger.get("valid-key"), None);
            assert_eq!(
                text(&ledger.evaluate(&KvContract, ["get", "valid-key"]).await),
                ""
            );
        });
    }

    #[test]
    fn readwrite_returns_previous_value() {
        block_on(async {
            let ledger = MemoryLedger::new();
            ledger.submit(&KvContract, ["put", "mvcc-key", "v0"]).await;
            let response = ledger
                .submit(&KvContract, ["readwrite", "mvcc-key", "A1"])
                .await;
            assert_eq!(text(&response), "v0");
            assert_eq!(ledger.get("mvcc-key"), Some(b"A1".to_vec()));
        });
    }

    #[test]
    fn countrange_counts_half_open_range() {
        block_on(async {
            let ledger = MemoryLedger::new();
            for key in ["range-b", "range-d", "range-z", "other"] {
                ledger.submit(&KvContract, ["put", key, "1"]).await;
            }
            let response = ledger
                .submit(
                    &KvContract,
                    ["countrange", "range-a", "range-z", "count-out"],
                )
                .await;
            assert_eq!(text(&response), "2");
            assert_eq!(ledger.get("count-out"), Some(b"2".to_vec()));
        });
    }

    #[test]
    fn putevent_emits_kv_put() {
        block_on(async {
            let ledger = MemoryLedger::new();
            let stub = ledger.stub(["putevent", "event-key", "event-value"]);
            let (response, stub) = ledger.submit_stub(&KvContract, stub).await;
            assert_eq!(text(&response), "event-key");
            let event = stub.event().expect("event");
            assert_eq!(event.event_name, PUT_EVENT);
            assert_eq!(event.payload, b"event-key=event-value");
            assert_eq!(ledger.get("event-key"), Some(b"event-value".to_vec()));
        });
    }

    #[test]
    fn setpolicy_by_mspid_initialises_missing_key() {
        block_on(async {
            let ledger = MemoryLedger::new();
            let response = ledger
                .submit(&KvContract, ["setpolicy", "sbe-key", "Org2MSP"])
                .await;
            assert_eq!(response.status, 200, "{response:?}");
            assert_eq!(ledger.get("sbe-key"), Some(SBE_INIT_VALUE.to_vec()));
            assert_eq!(
                hex::encode(&ledger.metadata("sbe-key")[VALIDATION_PARAMETER]),
                "120812060801120208001a0d120b0a074f7267324d53501003"
            );
            // An existing key keeps its value.
            ledger
                .submit(&KvContract, ["putsbe", "sbe-key", "by-org1-org2"])
                .await;
            ledger
                .submit(&KvContract, ["setpolicy", "sbe-key", "Org1MSP"])
                .await;
            assert_eq!(ledger.get("sbe-key"), Some(b"by-org1-org2".to_vec()));
            assert_eq!(
                ledger.metadata("sbe-key")[VALIDATION_PARAMETER],
                sbe::member_peer_policy("Org1MSP")
            );
        });
    }

    #[test]
    fn setpolicy_accepts_policy_hex() {
        block_on(async {
            let ledger = MemoryLedger::new();
            ledger.seed("k", "v");
            let policy = sbe::member_peer_policy("Org3MSP");
            let response = ledger
                .submit(&KvContract, ["setpolicy", "k", &hex::encode(&policy)])
                .await;
            assert_eq!(response.status, 200);
            assert_eq!(ledger.metadata("k")[VALIDATION_PARAMETER], policy);
        });
    }

    #[test]
    fn range_json_plain_and_paginated() {
        block_on(async {
            let ledger = MemoryLedger::new();
            for key in ["a", "b", "c"] {
                ledger
                    .submit(&KvContract, ["put", key, &key.to_uppercase()])
                    .await;
            }
            let all = ledger.evaluate(&KvContract, ["range", "", ""]).await;
            let json: serde_json::Value = serde_json::from_slice(&all.payload).unwrap();
            assert_eq!(json["results"][2]["key"], "c");
            assert_eq!(json["results"][2]["value"], "C");
            assert!(json.get("bookmark").is_none());

            let page = ledger.evaluate(&KvContract, ["range", "a", "z", "2"]).await;
            let json: serde_json::Value = serde_json::from_slice(&page.payload).unwrap();
            assert_eq!(json["results"].as_array().unwrap().len(), 2);
            assert_eq!(json["bookmark"], "c");
            assert_eq!(json["fetched_records_count"], 2);
            let rest = ledger
                .evaluate(&KvContract, ["range", "a", "z", "2", "c"])
                .await;
            let json: serde_json::Value = serde_json::from_slice(&rest.payload).unwrap();
            assert_eq!(json["results"][0]["key"], "c");
            assert_eq!(json["bookmark"], "");
            assert_eq!(
                ledger
                    .evaluate(&KvContract, ["range", "a", "z", "x"])
                    .await
                    .status,
                500
            );
        });
    }

    #[test]
    fn history_json_newest_first() {
        block_on(async {
            let ledger = MemoryLedger::new();
            ledger.submit(&KvContract, ["put", "h", "1"]).await;
            ledger.submit(&KvContract, ["put", "h", "2"]).await;
            ledger.submit(&KvContract, ["del", "h"]).await;
            let response = ledger.evaluate(&KvContract, ["history", "h"]).await;
            let json: serde_json::Value = serde_json::from_slice(&response.payload).unwrap();
            let entries = json.as_array().unwrap();
            assert_eq!(entries.len(), 3);
            assert_eq!(entries[0]["is_delete"], true);
            assert_eq!(entries[1]["value"], "2");
            assert_eq!(entries[2]["value"], "1");
            assert!(entries[2]["timestamp"].as_i64().is_some());
        });
    }

    #[test]
    fn fail_noop_and_bad_calls() {
        block_on(async {
            let ledger = MemoryLedger::new();
            let failed = ledger.submit(&KvContract, ["fail", "deliberate"]).await;
            assert_eq!(
                (failed.status, failed.message.as_str()),
                (500, "deliberate")
            );
            let noop = ledger.submit(&KvContract, ["noop"]).await;
            assert_eq!((noop.status, noop.payload.len()), (200, 0));
            let arity = ledger.submit(&KvContract, ["put", "only-key"]).await;
            assert_eq!(arity.status, 500);
            assert!(
                arity.message.contains("put expects 2 arguments"),
                "{}",
                arity.message
            );
            assert_eq!(ledger.submit(&KvContract, ["nosuch"]).await.status, 500);
            assert_eq!(
                ledger
                    .submit(&KvContract, ["put", "\u{0}bad", "v"])
                    .await
                    .status,
                500
            );
            assert!(ledger.keys().is_empty());
        });
    }
}
