//! The devnet process's control socket (protocol in
//! `healthblock_consortium::devnet_control`): stops and starts single peers
//! for `healthblock network stop|start --node`. The socket file is created
//! 0600 in the devnet's data directory, so only its owner can connect.

use crate::devnet::PeerControl;
use healthblock_consortium::devnet_control::{answer_line, ControlRequest};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

/// Longest request line read; anything longer is refused.
const MAX_LINE: usize = 1024;

/// Binds `path` (replacing a stale socket file) with mode 0600.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Answers requests on `listener` until the task is dropped.
pub async fn serve(listener: UnixListener, control: PeerControl) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("control socket: accept failed: {e}");
                continue;
            }
        };
        let control = control.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(MAX_LINE as u64));
            let outcome = match reader.read_line(&mut line).await {
                Ok(_) => match ControlRequest::parse(&line) {
                    Ok(request) => act(&control, request).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(format!("reading the request: {e}")),
            };
            let mut answer = answer_line(&outcome);
            answer.push('\n');
            let _ = write.write_all(answer.as_bytes()).await;
        });
    }
}

async fn act(control: &PeerControl, request: ControlRequest) -> Result<(), String> {
    let outcome = match &request {
        ControlRequest::StopPeer(name) => control.stop_peer(name).await,
        ControlRequest::StartPeer(name) => control.start_peer(name).await,
    };
    outcome.map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    })
}
