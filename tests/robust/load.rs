//! A background load of `put` submissions that records the txid of every
//! transaction whose VALID commit the client saw.

use anyhow::Result;
use healthblock_tests::{TestNet, KV};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a submitter waits for one commit status.
const STATUS_WAIT: Duration = Duration::from_secs(10);

pub struct Load {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<String>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts `workers` submitters, each with its own gateway on Hospital1's first peer.
    pub async fn start(net: &TestNet, workers: usize) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut handles = Vec::new();
        for w in 0..workers {
            let gw = net.gateway("User1@Hospital1").await?;
            let contract = gw.network(&net.consortium.channel).contract(KV);
            let (stop, seen) = (stop.clone(), seen.clone());
            handles.push(tokio::spawn(async move {
                let _gw = gw;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let (k, v) = (format!("load-{w}-{i}"), format!("v{i}"));
                    i += 1;
                    let Ok(sub) = contract.submit_async("put", [k.as_str(), v.as_str()]).await
                    else {
                        // The orderer it went to may be the one just killed.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    };
                    // A transaction the killed orderer took but never replicated
                    // never commits: give up on it rather than wait forever.
                    if let Ok(Ok(status)) = tokio::time::timeout(STATUS_WAIT, sub.status()).await {
                        if status.is_valid() {
                            seen.lock().map(|mut s| s.push(status.txid.clone())).ok();
                        }
                    }
                }
            }));
        }
        Ok(Self {
            stop,
            seen,
            workers: handles,
        })
    }

    /// Commits seen so far.
    pub fn seen(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Stops the submitters (bounded wait) and returns the txids of the commits seen.
    pub async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            let _ = tokio::time::timeout(Duration::from_secs(30), w).await;
        }
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
