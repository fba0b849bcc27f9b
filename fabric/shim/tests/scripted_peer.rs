//! The shim against a scripted peer over a real loopback gRPC connection.

mod common;

use std::time::Duration;

use common::*;
use fabric_proto::protos::chaincode_message::Type;
use fabric_proto::protos::{
    ChaincodeMessage, GetState, GetStateByRange, PutState, PutStateMetadata, QueryMetadata,
    QueryResponse, QueryResponseMetadata, QueryResultBytes, QueryStateClose, QueryStateNext,
    StateMetadata, StateMetadataResult,
};
use fabric_proto::queryresult::{KeyModification, Kv};
use prost::Message;

fn kv_bytes(key: &str) -> QueryResultBytes {
    QueryResultBytes {
        result_bytes: Kv {
            namespace: "testcc".into(),
            key: key.into(),
            value: key.as_bytes().to_vec(),
        }
        .encode_to_vec(),
    }
}

async fn ready_peer(max_message_size: Option<usize>) -> ScriptedPeer {
    let addr = start_server(max_message_size).await;
    let mut peer = ScriptedPeer::connect(addr).await;
    peer.handshake().await;
    peer
}

#[tokio::test]
async fn handshake_then_transaction_with_creator_transient_and_timestamp() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-who", &["whoami"]))
        .await;
    let done = peer.expect(Type::Completed).await;
    assert_eq!(
        (done.txid.as_str(), done.channel_id.as_str()),
        ("tx-who", CHANNEL)
    );
    let response = completed_response(&done);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        String::from_utf8(response.payload).unwrap(),
        "Org1MSP|transient-value|1790000000|tx-who"
    );
}

#[tokio::test]
async fn keepalive_is_echoed_in_every_state() {
    let addr = start_server(None).await;
    let mut peer = ScriptedPeer::connect(addr).await;
    peer.expect(Type::Register).await;
    let keepalive = ChaincodeMessage {
        r#type: Type::Keepalive as i32,
        txid: "ka-1".into(),
        ..Default::default()
    };
    peer.send(keepalive.clone()).await;
    assert_eq!(peer.expect(Type::Keepalive).await.txid, "ka-1");
    peer.send(plain(Type::Registered)).await;
    peer.send(plain(Type::Ready)).await;
    peer.send(keepalive).await;
    assert_eq!(peer.expect(Type::Keepalive).await.txid, "ka-1");
}

#[tokio::test]
async fn concurrent_transactions_are_correlated_by_txid() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-a", &["getput", "ka"]))
        .await;
    peer.send(transaction(Type::Transaction, "tx-b", &["getput", "kb"]))
        .await;

    // Both transactions ask for their key before either gets an answer.
    let first = peer.expect(Type::GetState).await;
    let second = peer.expect(Type::GetState).await;
    let (get_a, get_b) = if first.txid == "tx-a" {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(
        GetState::decode(get_a.payload.as_slice()).unwrap().key,
        "ka"
    );
    assert_eq!(
        GetState::decode(get_b.payload.as_slice()).unwrap().key,
        "kb"
    );

    // Answer in the opposite order; each value must land in its own transaction.
    peer.respond(&get_b, b"value-b".to_vec()).await;
    let put_b = peer.expect(Type::PutState).await;
    assert_eq!(put_b.txid, "tx-b");
    peer.respond(&get_a, b"value-a".to_vec()).await;
    let put_a = peer.expect(Type::PutState).await;
    assert_eq!(put_a.txid, "tx-a");
    let put_a_body = PutState::decode(put_a.payload.as_slice()).unwrap();
    let put_b_body = PutState::decode(put_b.payload.as_slice()).unwrap();
    assert_eq!(
        (put_a_body.key.as_str(), put_a_body.value.as_slice()),
        ("ka", &b"value-a!"[..])
    );
    assert_eq!(
        (put_b_body.key.as_str(), put_b_body.value.as_slice()),
        ("kb", &b"value-b!"[..])
    );

    peer.respond(&put_a, Vec::new()).await;
    let done_a = peer.expect(Type::Completed).await;
    peer.respond(&put_b, Vec::new()).await;
    let done_b = peer.expect(Type::Completed).await;
    assert_eq!(done_a.txid, "tx-a");
    assert_eq!(completed_response(&done_a).payload, b"value-a!");
    assert_eq!(done_b.txid, "tx-b");
    assert_eq!(completed_response(&done_b).payload, b"value-b!");
}

#[tokio::test]
async fn same_txid_on_two_channels_are_distinct_transactions() {
    let mut peer = ready_peer(None).await;
    let mut other = transaction(Type::Transaction, "tx-same", &["get", "k"]);
    other.channel_id = "other".into();
    peer.send(transaction(Type::Transaction, "tx-same", &["get", "k"]))
        .await;
    peer.send(other).await;
    let r1 = peer.expect(Type::GetState).await;
    let r2 = peer.expect(Type::GetState).await;
    let (on_ehr, on_other) = if r1.channel_id == CHANNEL {
        (r1, r2)
    } else {
        (r2, r1)
    };
    peer.respond(&on_other, b"from-other".to_vec()).await;
    peer.respond(&on_ehr, b"from-ehr".to_vec()).await;
    let mut outcomes = [
        peer.expect(Type::Completed).await,
        peer.expect(Type::Completed).await,
    ];
    outcomes.sort_by(|a, b| a.channel_id.cmp(&b.channel_id));
    assert_eq!(outcomes[0].channel_id, CHANNEL);
    assert_eq!(completed_response(&outcomes[0]).payload, b"from-ehr");
    assert_eq!(completed_response(&outcomes[1]).payload, b"from-other");
}

#[tokio::test]
async fn range_query_follows_query_state_next_and_close() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-r", &["range", "", "z"]))
        .await;
    let request = peer.expect(Type::GetStateByRange).await;
    let body = GetStateByRange::decode(request.payload.as_slice()).unwrap();
    assert_eq!(
        body.start_key, "\u{1}",
        "empty start is replaced as Fabric does"
    );
    assert_eq!(body.end_key, "z");
    assert!(
        body.metadata.is_empty(),
        "unpaginated query carries no metadata"
    );
    let first = QueryResponse {
        results: vec![kv_bytes("a"), kv_bytes("b")],
        has_more: true,
        id: "iter-1".into(),
        metadata: Vec::new(),
    };
    peer.respond(&request, first.encode_to_vec()).await;

    let next = peer.expect(Type::QueryStateNext).await;
    assert_eq!(
        QueryStateNext::decode(next.payload.as_slice()).unwrap().id,
        "iter-1"
    );
    let last = QueryResponse {
        results: vec![kv_bytes("c")],
        has_more: false,
        id: "iter-1".into(),
        metadata: Vec::new(),
    };
    peer.respond(&next, last.encode_to_vec()).await;

    let close = peer.expect(Type::QueryStateClose).await;
    assert_eq!(
        QueryStateClose::decode(close.payload.as_slice())
            .unwrap()
            .id,
        "iter-1"
    );
    peer.respond(&close, QueryResponse::default().encode_to_vec())
        .await;

    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.payload, b"a,b,c");
}

#[tokio::test]
async fn paginated_range_sends_query_metadata_and_returns_bookmark() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(
        Type::Transaction,
        "tx-p",
        &["page", "a", "z", "2", "b"],
    ))
    .await;
    let request = peer.expect(Type::GetStateByRange).await;
    let body = GetStateByRange::decode(request.payload.as_slice()).unwrap();
    let metadata = QueryMetadata::decode(body.metadata.as_slice()).unwrap();
    assert_eq!((metadata.page_size, metadata.bookmark.as_str()), (2, "b"));
    let page = QueryResponse {
        results: vec![kv_bytes("b"), kv_bytes("c")],
        has_more: false,
        id: "iter-p".into(),
        metadata: QueryResponseMetadata {
            fetched_records_count: 2,
            bookmark: "d".into(),
        }
        .encode_to_vec(),
    };
    peer.respond(&request, page.encode_to_vec()).await;
    let close = peer.expect(Type::QueryStateClose).await;
    peer.respond(&close, Vec::new()).await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(String::from_utf8(response.payload).unwrap(), "b,c;d;2");
}

#[tokio::test]
async fn history_results_are_decoded() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-h", &["history", "k"]))
        .await;
    let request = peer.expect(Type::GetHistoryForKey).await;
    let modification = |tx: &str, is_delete: bool| QueryResultBytes {
        result_bytes: KeyModification {
            tx_id: tx.into(),
            value: Vec::new(),
            timestamp: None,
            is_delete,
        }
        .encode_to_vec(),
    };
    let history = QueryResponse {
        results: vec![modification("t2", true), modification("t1", false)],
        has_more: false,
        id: "h".into(),
        metadata: Vec::new(),
    };
    peer.respond(&request, history.encode_to_vec()).await;
    let close = peer.expect(Type::QueryStateClose).await;
    peer.respond(&close, Vec::new()).await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.payload, b"t2:true,t1:false");
}

#[tokio::test]
async fn validation_parameter_uses_state_metadata() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-sbe", &["sbe", "k"]))
        .await;
    let put = peer.expect(Type::PutStateMetadata).await;
    let body = PutStateMetadata::decode(put.payload.as_slice()).unwrap();
    let metadata = body.metadata.unwrap();
    assert_eq!(
        (body.key.as_str(), metadata.metakey.as_str()),
        ("k", "VALIDATION_PARAMETER")
    );
    peer.respond(&put, Vec::new()).await;
    let get = peer.expect(Type::GetStateMetadata).await;
    let result = StateMetadataResult {
        entries: vec![StateMetadata {
            metakey: "VALIDATION_PARAMETER".into(),
            value: b"stored-policy".to_vec(),
        }],
    };
    peer.respond(&get, result.encode_to_vec()).await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.payload, b"stored-policy");
}

#[tokio::test]
async fn peer_errors_become_500_responses() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-e", &["get", "k"]))
        .await;
    let request = peer.expect(Type::GetState).await;
    peer.respond_error(&request, "ledger is on fire").await;
    let done = peer.expect(Type::Completed).await;
    let response = completed_response(&done);
    assert_eq!(response.status, 500);
    assert!(
        response.message.contains("ledger is on fire"),
        "{response:?}"
    );

    // Private data goes to the peer, which refuses it on the devnet.
    peer.send(transaction(Type::Transaction, "tx-pd", &["private", "k"]))
        .await;
    let request = peer.expect(Type::GetState).await;
    assert_eq!(
        GetState::decode(request.payload.as_slice())
            .unwrap()
            .collection,
        "coll"
    );
    peer.respond_error(&request, "private data is not supported")
        .await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.status, 500);
    assert!(response.message.contains("not supported"));
}

#[tokio::test]
async fn application_failure_event_and_init() {
    let mut peer = ready_peer(None).await;
    peer.send(transaction(Type::Transaction, "tx-f", &["fail", "nope"]))
        .await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!((response.status, response.message.as_str()), (500, "nope"));

    peer.send(transaction(
        Type::Transaction,
        "tx-ev",
        &["event", "kv_put", "k=v"],
    ))
    .await;
    let done = peer.expect(Type::Completed).await;
    let event = done.chaincode_event.clone().expect("event on COMPLETED");
    assert_eq!(
        (event.event_name.as_str(), event.payload.as_slice()),
        ("kv_put", &b"k=v"[..])
    );

    peer.send(transaction(Type::Init, "tx-init", &["init"]))
        .await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.payload, b"inited");
    peer.send(transaction(Type::Init, "tx-init-bad", &["bad"]))
        .await;
    let error = peer.expect(Type::Error).await;
    assert_eq!(error.payload, b"init refused");
}

#[tokio::test]
async fn garbage_and_out_of_order_messages_do_not_stop_the_server() {
    let addr = start_server(None).await;
    let mut peer = ScriptedPeer::connect(addr).await;
    peer.expect(Type::Register).await;

    // A transaction before the handshake is refused.
    peer.send(transaction(Type::Transaction, "tx-early", &["echo", "x"]))
        .await;
    let refused = peer.expect(Type::Error).await;
    assert_eq!(refused.txid, "tx-early");
    peer.send(plain(Type::Registered)).await;
    peer.send(plain(Type::Ready)).await;

    // An unknown message type.
    peer.send(ChaincodeMessage {
        r#type: 99,
        txid: "weird".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(peer.expect(Type::Error).await.txid, "weird");

    // A second READY / REGISTERED once ready.
    peer.send(plain(Type::Registered)).await;
    peer.expect(Type::Error).await;

    // A RESPONSE for a transaction that does not exist is only logged.
    peer.send(ChaincodeMessage {
        r#type: Type::Response as i32,
        txid: "ghost".into(),
        channel_id: CHANNEL.into(),
        payload: b"boo".to_vec(),
        ..Default::default()
    })
    .await;
    peer.expect_silence(Duration::from_millis(200)).await;

    // A transaction whose payload is not a ChaincodeInput.
    let mut bad_input = transaction(Type::Transaction, "tx-bad-input", &[]);
    bad_input.payload = vec![0xff, 0xff, 0xff, 0xff];
    peer.send(bad_input).await;
    let error = peer.expect(Type::Error).await;
    assert_eq!(error.txid, "tx-bad-input");
    assert!(String::from_utf8_lossy(&error.payload).contains("ChaincodeInput"));

    // A transaction whose proposal does not decode.
    let mut bad_proposal = transaction(Type::Transaction, "tx-bad-proposal", &["echo"]);
    bad_proposal.proposal.as_mut().unwrap().proposal_bytes = vec![0x0a, 0xff];
    peer.send(bad_proposal).await;
    assert_eq!(peer.expect(Type::Error).await.txid, "tx-bad-proposal");

    // A reply of garbage bytes to a range query fails only that transaction.
    peer.send(transaction(
        Type::Transaction,
        "tx-bad-reply",
        &["range", "a", "b"],
    ))
    .await;
    let request = peer.expect(Type::GetStateByRange).await;
    peer.respond(&request, vec![0xff, 0xff]).await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.status, 500);

    // A panicking contract fails only its transaction.
    peer.send(transaction(Type::Transaction, "tx-panic", &["panic"]))
        .await;
    assert_eq!(peer.expect(Type::Error).await.txid, "tx-panic");

    // A duplicate of a running transaction is refused, the original carries on.
    peer.send(transaction(Type::Transaction, "tx-dup", &["get", "k"]))
        .await;
    let request = peer.expect(Type::GetState).await;
    peer.send(transaction(Type::Transaction, "tx-dup", &["get", "k"]))
        .await;
    assert_eq!(peer.expect(Type::Error).await.txid, "tx-dup");
    peer.respond(&request, b"v".to_vec()).await;
    assert_eq!(
        completed_response(&peer.expect(Type::Completed).await).payload,
        b"v"
    );

    // And the server still serves.
    peer.send(transaction(
        Type::Transaction,
        "tx-after",
        &["echo", "still", "here"],
    ))
    .await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.payload, b"still,here");

    // A second peer stream on the same server works too.
    let mut second = ScriptedPeer::connect(addr).await;
    second.handshake().await;
    second
        .send(transaction(Type::Transaction, "tx-2nd", &["echo", "ok"]))
        .await;
    assert_eq!(
        completed_response(&second.expect(Type::Completed).await).payload,
        b"ok"
    );
}

#[tokio::test]
async fn oversized_messages_fail_the_transaction_not_the_stream() {
    let limit = 64 * 1024;
    let mut peer = ready_peer(Some(limit)).await;
    let over = (limit + 1).to_string();
    peer.send(transaction(
        Type::Transaction,
        "tx-big-put",
        &["putbig", &over],
    ))
    .await;
    let response = completed_response(&peer.expect(Type::Completed).await);
    assert_eq!(response.status, 500);
    assert!(response.message.contains("exceeds"), "{response:?}");

    // A response payload too large for the stream becomes an ERROR.
    peer.send(transaction(
        Type::Transaction,
        "tx-big-echo",
        &["big", &over],
    ))
    .await;
    let error = peer.expect(Type::Error).await;
    assert_eq!(error.txid, "tx-big-echo");
    assert!(String::from_utf8_lossy(&error.payload).contains("exceeds"));

    peer.send(transaction(
        Type::Transaction,
        "tx-small",
        &["echo", "fine"],
    ))
    .await;
    assert_eq!(
        completed_response(&peer.expect(Type::Completed).await).payload,
        b"fine"
    );
}

#[tokio::test]
async fn stream_end_fails_waiting_transactions_cleanly() {
    let addr = start_server(None).await;
    let mut peer = ScriptedPeer::connect(addr).await;
    peer.handshake().await;
    peer.send(transaction(Type::Transaction, "tx-orphan", &["get", "k"]))
        .await;
    peer.expect(Type::GetState).await;
    drop(peer);
    // The server keeps accepting new peers.
    let mut again = ScriptedPeer::connect(addr).await;
    again.handshake().await;
    again
        .send(transaction(Type::Transaction, "tx-new", &["echo", "alive"]))
        .await;
    assert_eq!(
        completed_response(&again.expect(Type::Completed).await).payload,
        b"alive"
    );
}

#[tokio::test]
async fn oversized_message_from_the_peer_ends_only_that_stream() {
    let limit = 64 * 1024;
    let addr = start_server(Some(limit)).await;
    let mut peer = ScriptedPeer::connect(addr).await;
    peer.handshake().await;
    let huge = "z".repeat(limit + 1);
    peer.send(transaction(Type::Transaction, "tx-huge", &["echo", &huge]))
        .await;
    assert!(peer.recv_or_end().await.is_none(), "the stream ends");

    let mut next = ScriptedPeer::connect(addr).await;
    next.handshake().await;
    next.send(transaction(Type::Transaction, "tx-next", &["echo", "ok"]))
        .await;
    assert_eq!(
        completed_response(&next.expect(Type::Completed).await).payload,
        b"ok"
    );
}
