//! Ledger store behaviour: ordering rules, state/range/history reads, the txid
//! index and persistence across reopen.

use devnet_ledger::{Ledger, LedgerError, StateUpdates, WriteOp};
use fabric_proto::common::{Block, ChannelHeader, Envelope, Header, Payload};
use prost::Message;
use std::collections::BTreeMap;

fn envelope(txid: &str) -> Vec<u8> {
    let chdr = ChannelHeader {
        r#type: 3,
        tx_id: txid.into(),
        ..Default::default()
    };
    Envelope {
        payload: Payload {
            header: Some(Header {
                channel_header: chdr.encode_to_vec(),
                signature_header: Vec::new(),
            }),
            data: Vec::new(),
        }
        .encode_to_vec(),
        signature: Vec::new(),
    }
    .encode_to_vec()
}

/// The next block of `ledger` with the given txids and filter.
fn next_block(ledger: &Ledger, txids: &[&str], filter: &[u8]) -> Block {
    let envs = txids.iter().map(|t| envelope(t)).collect();
    let mut block = fabric_block::new_block(ledger.height(), &ledger.tip_hash(), envs);
    block.metadata.as_mut().unwrap().metadata[2] = filter.to_vec();
    block
}

fn put(
    ns: &str,
    key: &str,
    value: &str,
    tx: u64,
    txid: &str,
) -> (
    String,
    String,
    WriteOp,
    u64,
    String,
    Option<prost_types::Timestamp>,
) {
    (
        ns.into(),
        key.into(),
        WriteOp::Put(value.into()),
        tx,
        txid.into(),
        None,
    )
}

fn updates(
    writes: Vec<(
        String,
        String,
        WriteOp,
        u64,
        String,
        Option<prost_types::Timestamp>,
    )>,
) -> StateUpdates {
    StateUpdates { writes }
}

fn open() -> (tempfile::TempDir, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.redb")).unwrap();
    (dir, ledger)
}

#[test]
fn empty_ledger() {
    let (_d, l) = open();
    assert_eq!(l.height(), 0);
    assert!(l.tip_hash().is_empty());
    assert!(l.block(0).is_none());
    assert!(l.get_state("ns", "k").is_none());
    assert!(l.range("ns", "", "").is_empty());
    assert!(l.history("ns", "k").is_empty());
    assert!(l.recent_txids(5).unwrap().is_empty());
}

#[test]
fn commit_requires_the_next_number_and_the_tip_hash() {
    let (_d, l) = open();
    let b0 = next_block(&l, &["t0"], &[0]);
    l.commit(&b0, &StateUpdates::default()).unwrap();
    assert!(matches!(
        l.commit(&b0, &StateUpdates::default()),
        Err(LedgerError::OutOfOrder { got: 0, height: 1 })
    ));
    let wrong_parent = fabric_block::new_block(1, b"not the tip", vec![envelope("t1")]);
    let mut wrong_parent = wrong_parent;
    wrong_parent.metadata.as_mut().unwrap().metadata[2] = vec![0];
    assert!(matches!(
        l.commit(&wrong_parent, &StateUpdates::default()),
        Err(LedgerError::InvalidBlock(_))
    ));
    let missing_filter = next_block(&l, &["t1", "t2"], &[0]);
    assert!(matches!(
        l.commit(&missing_filter, &StateUpdates::default()),
        Err(LedgerError::InvalidBlock(_))
    ));
    assert_eq!(l.height(), 1, "failed commits change nothing");
    assert_eq!(
        l.tip_hash(),
        fabric_block::header_hash(b0.header.as_ref().unwrap()).to_vec()
    );
}

#[test]
fn state_versions_and_metadata() {
    let (_d, l) = open();
    let b0 = next_block(&l, &["t0", "t1"], &[0, 0]);
    let md = BTreeMap::from([("VALIDATION_PARAMETER".to_string(), b"pol".to_vec())]);
    l.commit(
        &b0,
        &updates(vec![
            put("cc", "a", "1", 0, "t0"),
            put("cc", "a", "2", 1, "t1"),
            (
                "cc".into(),
                "a".into(),
                WriteOp::Metadata(md.clone()),
                1,
                "t1".into(),
                None,
            ),
            (
                "cc".into(),
                "ghost".into(),
                WriteOp::Metadata(md.clone()),
                1,
                "t1".into(),
                None,
            ),
        ]),
    )
    .unwrap();
    let a = l.get_state("cc", "a").unwrap();
    assert_eq!(
        (a.value.as_slice(), a.version, &a.metadata),
        (b"2".as_slice(), (0, 1), &md)
    );
    assert!(
        l.get_state("cc", "ghost").is_none(),
        "metadata on a missing key is dropped"
    );
    assert!(
        l.get_state("other", "a").is_none(),
        "namespaces are separate"
    );

    let b1 = next_block(&l, &["t2"], &[0]);
    l.commit(&b1, &updates(vec![put("cc", "a", "3", 0, "t2")]))
        .unwrap();
    let a = l.get_state("cc", "a").unwrap();
    assert_eq!(
        (a.version, a.metadata),
        ((1, 0), md),
        "a value write keeps the metadata"
    );
}

#[test]
fn range_is_ordered_bounded_and_namespace_local_with_composite_keys() {
    let (_d, l) = open();
    let keys = [
        "\u{0}rec\u{0}p1\u{0}",
        "\u{0}rec\u{0}p2\u{0}",
        "\u{0}rec\u{0}p10\u{0}",
        "\u{0}res\u{0}x\u{0}",
        "a",
        "b",
        "c",
    ];
    let mut writes: Vec<_> = keys.iter().map(|k| put("cc", k, "v", 0, "t0")).collect();
    writes.push(put("cc2", "b", "other-ns", 0, "t0"));
    writes.push(put("c", "c\u{0}b", "prefix-ns", 0, "t0"));
    let b0 = next_block(&l, &["t0"], &[0]);
    l.commit(&b0, &updates(writes)).unwrap();

    let names = |r: Vec<(String, devnet_ledger::VersionedValue)>| {
        r.into_iter().map(|(k, _)| k).collect::<Vec<_>>()
    };
    assert_eq!(names(l.range("cc", "a", "c")), vec!["a", "b"]);
    assert_eq!(names(l.range("cc", "b", "")), vec!["b", "c"]);
    // A partial composite key range: "\0rec\0" .. "\0rec\0" + U+10FFFF.
    let partial = names(l.range("cc", "\u{0}rec\u{0}", "\u{0}rec\u{0}\u{10FFFF}"));
    assert_eq!(
        partial,
        vec![
            "\u{0}rec\u{0}p1\u{0}",
            "\u{0}rec\u{0}p10\u{0}",
            "\u{0}rec\u{0}p2\u{0}"
        ]
    );
    assert_eq!(names(l.range("cc", "", "")).len(), keys.len());
    assert!(l.range("cc", "c", "a").is_empty(), "inverted range");
    assert_eq!(names(l.range("c", "", "")), vec!["c\u{0}b"]);
}

#[test]
fn history_is_newest_first_with_deletes() {
    let (_d, l) = open();
    for (i, op) in [
        WriteOp::Put(b"1".to_vec()),
        WriteOp::Delete,
        WriteOp::Put(b"3".to_vec()),
    ]
    .into_iter()
    .enumerate()
    {
        let txid = format!("t{i}");
        let b = next_block(&l, &[&txid], &[0]);
        let ts = prost_types::Timestamp {
            seconds: 100 + i as i64,
            nanos: 0,
        };
        l.commit(
            &b,
            &updates(vec![(
                "cc".into(),
                "k".into(),
                op,
                0,
                txid.clone(),
                Some(ts),
            )]),
        )
        .unwrap();
    }
    let other = next_block(&l, &["t9"], &[0]);
    l.commit(&other, &updates(vec![put("cc", "k2", "x", 0, "t9")]))
        .unwrap();
    let h = l.history("cc", "k");
    let summary: Vec<(&str, &[u8], bool, i64)> = h
        .iter()
        .map(|m| {
            (
                m.tx_id.as_str(),
                m.value.as_slice(),
                m.is_delete,
                m.timestamp.unwrap().seconds,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("t2", b"3".as_slice(), false, 102),
            ("t1", b"".as_slice(), true, 101),
            ("t0", b"1".as_slice(), false, 100)
        ]
    );
}

#[test]
fn txid_index_and_recent_txids() {
    let (_d, l) = open();
    l.commit(
        &next_block(&l, &["a", "b"], &[0, 11]),
        &StateUpdates::default(),
    )
    .unwrap();
    l.commit(
        &next_block(&l, &["a", "c"], &[9, 0]),
        &StateUpdates::default(),
    )
    .unwrap();
    assert_eq!(
        l.tx_status("a"),
        Some((0, 0)),
        "the first occurrence keeps the index entry"
    );
    assert_eq!(l.tx_status("b"), Some((0, 11)));
    let c = l.tx_location("c").unwrap();
    assert_eq!((c.block, c.tx_index, c.code), (1, 1, 0));
    assert_eq!(l.tx_status("zzz"), None);
    assert_eq!(l.recent_txids(3).unwrap(), vec!["c", "a", "b"]);
}

#[test]
fn everything_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let (tip, block) = {
        let l = Ledger::open(&path).unwrap();
        let b = next_block(&l, &["t0"], &[0]);
        l.commit(&b, &updates(vec![put("cc", "k", "v", 0, "t0")]))
            .unwrap();
        (l.tip_hash(), b)
    };
    let l = Ledger::open(&path).unwrap();
    assert_eq!(l.height(), 1);
    assert_eq!(l.tip_hash(), tip);
    assert_eq!(l.block(0).unwrap(), block);
    assert_eq!(l.blocks_from(0, 10).unwrap(), vec![block]);
    assert_eq!(l.get_state("cc", "k").unwrap().value, b"v");
    assert_eq!(l.tx_status("t0"), Some((0, 0)));
}

#[test]
fn system_namespace_reads_follow_every_commit() {
    // `_lifecycle` reads are remembered between blocks; each commit that writes the
    // namespace must be seen by the next read, absent keys included.
    let (_dir, ledger) = open();
    let ns = "_lifecycle";
    let key = "namespaces/fields/kv/Sequence";
    assert_eq!(ledger.get_state(ns, key), None);
    assert_eq!(ledger.get_state(ns, key), None);
    let b0 = next_block(&ledger, &["t0"], &[0]);
    ledger
        .commit(&b0, &updates(vec![put(ns, key, "1", 0, "t0")]))
        .unwrap();
    let v = ledger.get_state(ns, key).unwrap();
    assert_eq!((v.value.as_slice(), v.version), (b"1".as_slice(), (0, 0)));
    // A block writing elsewhere leaves the remembered value as it is.
    let b1 = next_block(&ledger, &["t1"], &[0]);
    ledger
        .commit(&b1, &updates(vec![put("kv", "k", "x", 0, "t1")]))
        .unwrap();
    assert_eq!(ledger.get_state(ns, key).unwrap().version, (0, 0));
    let b2 = next_block(&ledger, &["t2"], &[0]);
    ledger
        .commit(&b2, &updates(vec![put(ns, key, "2", 0, "t2")]))
        .unwrap();
    let v = ledger.get_state(ns, key).unwrap();
    assert_eq!((v.value.as_slice(), v.version), (b"2".as_slice(), (2, 0)));
    let b3 = next_block(&ledger, &["t3"], &[0]);
    let delete = (ns.into(), key.into(), WriteOp::Delete, 0, "t3".into(), None);
    ledger.commit(&b3, &updates(vec![delete])).unwrap();
    assert_eq!(ledger.get_state(ns, key), None);
}
