//! A background load of `put` submissions that records the txid of every
//! transaction whose VALID commit the client saw, and counts the ones that
//! failed (so a test can show an outage happened).

use anyhow::{anyhow, Result};
use healthblock_tests::{TestNet, KV};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a submitter waits for one commit status.
const STATUS_WAIT: Duration = Duration::from_secs(10);
/// How long a stopped worker may take to notice: one submission plus its status wait.
const STOP_WAIT: Duration = Duration::from_secs(60);

pub struct Load {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    failed: Arc<AtomicUsize>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `workers` submitters, each with its own gateway on Hospital1's first peer.
    pub async fn start(net: &TestNet, workers: usize) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let failed = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for w in 0..workers {
            let gw = net.gateway("User1@Hospital1").await?;
            let contract = gw.network(&net.consortium.channel).contract(KV);
            let (stop, seen, failed) = (stop.clone(), seen.clone(), failed.clone());
            handles.push(tokio::spawn(async move {
                let _gw = gw;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let (k, v) = (format!("load-{w}-{i}"), format!("v{i}"));
                    i += 1;
                    let Ok(sub) = contract.submit_async("put", [k.as_str(), v.as_str()]).await
                    else {
                        // The orderer it went to may be the one just killed.
                        failed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    // A transaction the killed orderer took but never replicated
                    // never commits: count it as failed rather than wait forever.
                    match tokio::time::timeout(STATUS_WAIT, sub.status()).await {
                        Ok(Ok(status)) if status.is_valid() => {
                            if let Ok(mut s) = seen.lock() {
                                s.push(status.txid.clone());
                            }
                        }
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        Ok(Self {
            stop,
            seen,
            failed,
            workers: handles,
        })
    }

    /// Commits seen so far.
    pub fn seen(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Submissions (or commit-status waits) that failed so far.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::Relaxed)
    }

    /// Stops the submitters and returns the txids of the commits seen; fails
    /// if a worker panicked or did not stop within STOP_WAIT.
    pub async fn stop(self) -> Result<Vec<String>> {
        self.stop.store(true, Ordering::Relaxed);
        for (w, worker) in self.workers.into_iter().enumerate() {
            tokio::time::timeout(STOP_WAIT, worker)
                .await
                .map_err(|_| anyhow!("load worker {w} did not stop within {STOP_WAIT:?}"))?
                .map_err(|e| anyhow!("load worker {w} panicked: {e}"))?;
        }
        Ok(self.seen.lock().map(|s| s.clone()).unwrap_or_default())
    }
}
