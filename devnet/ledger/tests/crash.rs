//! Crash safety: a child process commits blocks in a loop and is killed with
//! SIGKILL at random moments, several times. After each kill the ledger must
//! reopen with a consistent height, the exact blocks committed so far, and a
//! world state, history and txid index equal to replaying those blocks: no
//! half-applied block.
//!
//! This test has its own `main` (harness = false): run with `CRASH_CHILD_LEDGER`
//! set, the same binary becomes the committing child.

use devnet_ledger::{Ledger, StateUpdates, WriteOp};
use fabric_proto::common::{Block, ChannelHeader, Envelope, Header, Payload};
use prost::Message;
use rand_core::{OsRng, RngCore};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "CRASH_CHILD_LEDGER";
const NS: &str = "crash";
const TXS_PER_BLOCK: u64 = 4;
const WRITES_PER_TX: u64 = 10;
const ROUNDS: usize = 6;

/// The deterministic content of block `n`: per tx, a list of (key, op).
fn block_ops(n: u64) -> Vec<Vec<(String, WriteOp)>> {
    (0..TXS_PER_BLOCK)
        .map(|t| {
            (0..WRITES_PER_TX)
                .map(|j| {
                    let i = t * WRITES_PER_TX + j;
                    let key = format!("k\u{0}{:03}", (n * 7 + i * 13) % 150);
                    let op = if (n + i).is_multiple_of(5) {
                        WriteOp::Delete
                    } else {
                        WriteOp::Put(format!("v{n}-{i}-").repeat(30).into_bytes())
                    };
                    (key, op)
                })
                .collect()
        })
        .collect()
}

fn txid(n: u64, t: u64) -> String {
    format!("tx-{n}-{t}")
}

fn envelope(txid: String) -> Vec<u8> {
    let chdr = ChannelHeader {
        r#type: 3,
        channel_id: "ch".into(),
        tx_id: txid,
        ..Default::default()
    };
    let payload = Payload {
        header: Some(Header {
            channel_header: chdr.encode_to_vec(),
            signature_header: Vec::new(),
        }),
        data: Vec::new(),
    };
    Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
    .encode_to_vec()
}

fn make_block(n: u64, previous_hash: &[u8]) -> (Block, StateUpdates) {
    let envelopes = (0..TXS_PER_BLOCK).map(|t| envelope(txid(n, t))).collect();
    let mut block = fabric_block::new_block(n, previous_hash, envelopes);
    block.metadata.as_mut().unwrap().metadata[2] = vec![0; TXS_PER_BLOCK as usize];
    let mut updates = StateUpdates::default();
    for (t, ops) in block_ops(n).into_iter().enumerate() {
        for (key, op) in ops {
            updates
                .writes
                .push((NS.into(), key, op, t as u64, txid(n, t as u64), None));
        }
    }
    (block, updates)
}

/// The child: commit the next block forever.
fn child(path: &Path) -> ! {
    let ledger = Ledger::open(path).expect("child opens ledger");
    loop {
        let (block, updates) = make_block(ledger.height(), &ledger.tip_hash());
        ledger.commit(&block, &updates).expect("child commit");
    }
}

/// Everything the first `height` blocks must leave behind.
struct Expected {
    blocks: Vec<Block>,
    tip: Vec<u8>,
    state: BTreeMap<String, (Vec<u8>, (u64, u64))>,
    history_len: BTreeMap<String, usize>,
}

fn replay(height: u64) -> Expected {
    let mut e = Expected {
        blocks: Vec::new(),
        tip: Vec::new(),
        state: BTreeMap::new(),
        history_len: BTreeMap::new(),
    };
    for n in 0..height {
        let (block, updates) = make_block(n, &e.tip);
        e.tip = fabric_block::header_hash(block.header.as_ref().unwrap()).to_vec();
        e.blocks.push(block);
        for (_, key, op, t, _, _) in updates.writes {
            *e.history_len.entry(key.clone()).or_default() += 1;
            match op {
                WriteOp::Put(v) => {
                    e.state.insert(key, (v, (n, t)));
                }
                _ => {
                    e.state.remove(&key);
                }
            }
        }
    }
    e
}

fn check_consistent(path: &Path, min_height: u64) -> u64 {
    let ledger = Ledger::open(path).expect("ledger reopens after kill -9");
    let height = ledger.try_height().unwrap();
    assert!(
        height >= min_height,
        "height went back from {min_height} to {height}"
    );
    let expected = replay(height);

    let stored = ledger.blocks_from(0, usize::MAX).unwrap();
    assert_eq!(stored, expected.blocks, "stored blocks at height {height}");
    assert!(ledger.block(height).is_none());
    assert_eq!(ledger.tip_hash(), expected.tip);

    let state: BTreeMap<String, (Vec<u8>, (u64, u64))> = ledger
        .try_range(NS, "", "")
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, (v.value, v.version)))
        .collect();
    assert_eq!(state, expected.state, "world state at height {height}");
    for (key, len) in &expected.history_len {
        assert_eq!(
            ledger.try_history(NS, key).unwrap().len(),
            *len,
            "history of {key:?}"
        );
    }
    if height > 0 {
        assert_eq!(
            ledger.tx_status(&txid(height - 1, TXS_PER_BLOCK - 1)),
            Some((height - 1, 0))
        );
    }
    assert_eq!(ledger.tx_status(&txid(height, 0)), None);
    height
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let exe = std::env::current_exe().unwrap();
    let mut height = 0;
    let mut heights = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let wait_ms = 300 + u64::from(OsRng.next_u32() % 900);
        std::thread::sleep(Duration::from_millis(wait_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: child exited early"
        );
        child.kill().expect("SIGKILL child"); // std's kill is SIGKILL on Unix
        child.wait().unwrap();
        height = check_consistent(&path, height);
        heights.push(height);
    }
    assert!(
        height > ROUNDS as u64,
        "the child made too little progress: heights {heights:?}"
    );
    println!("crash test: heights after each kill -9: {heights:?}");
    println!("test result: ok. crash safety held over {ROUNDS} kills");
}

fn main() {
    match std::env::var_os(CHILD_ENV) {
        Some(path) => child(Path::new(&path)),
        None => parent(),
    }
}
