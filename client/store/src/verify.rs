//! Hashing while streaming: a reader that recomputes a blob's SHA-256 as it
//! is read and fails at the end if the content does not match its address.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

use crate::names::BlobHash;

/// Wraps a blob stream and checks its hash at end of stream.
pub(crate) struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    expected: BlobHash,
    checked: bool,
}

impl<R> VerifyingReader<R> {
    pub(crate) fn new(inner: R, expected: BlobHash) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            expected,
            checked: false,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for VerifyingReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = &buf.filled()[before..];
                if fresh.is_empty() && buf.remaining() > 0 && !this.checked {
                    this.checked = true;
                    let actual: [u8; 32] = std::mem::take(&mut this.hasher).finalize().into();
                    if actual != this.expected.0 {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("stored blob {} does not match its hash (corrupted or altered in storage)", this.expected),
                        )));
                    }
                } else {
                    this.hasher.update(fresh);
                }
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

/// Hashes and counts bytes as they stream into a backend.
pub(crate) struct Tally {
    hasher: Sha256,
    size: u64,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            size: 0,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.size += data.len() as u64;
    }

    pub(crate) fn finish(self) -> (BlobHash, u64) {
        (BlobHash(self.hasher.finalize().into()), self.size)
    }
}
