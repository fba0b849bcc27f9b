//! Chunked streaming AEAD (a STREAM construction) over generic readers and
//! writers, in constant memory: one chunk buffer, whatever the record size.
//!
//! Chunk `i` is sealed with nonce `prefix || i || last` and the header bytes
//! as associated data, so position, order and the end of the stream are all
//! authenticated. The final chunk is the only one with `last = 1`; it may hold
//! 0 to `chunk_size` plaintext bytes (an empty record is one empty final chunk).
//!
//! The decryptor releases each chunk only after its tag verifies, but the end
//! of the stream is only known at the last chunk: callers must treat output as
//! unusable until [`decrypt_stream`] (or [`Decryptor::next_chunk`] returning
//! `None`) reports success.

use std::io::{self, Read, Write};

use crate::context::RecordContext;
use crate::error::{Result, WbcbError};
use crate::format::{check_chunk_size, Algorithm, Header, DEFAULT_CHUNK_SIZE, TAG_LEN};
use crate::key::{chunk_nonce, random_nonce_prefix, DataKey, PayloadCipher};

/// Choices made when encrypting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptOptions {
    pub algorithm: Algorithm,
    /// Plaintext bytes per chunk.
    pub chunk_size: u32,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::Aes256Gcm,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

/// A `Write` adapter that encrypts everything written to it. Call
/// [`Encryptor::finish`] to seal the final chunk; dropping it without
/// finishing leaves a truncated (and therefore rejected) record.
pub struct Encryptor<W: Write> {
    inner: W,
    cipher: PayloadCipher,
    header: Header,
    header_bytes: Vec<u8>,
    buf: Vec<u8>,
    counter: u32,
    written: u64,
}

impl<W: Write> Encryptor<W> {
    /// Writes the header to `inner` and returns the encryptor.
    pub fn new(
        key: &DataKey,
        context: &RecordContext,
        options: EncryptOptions,
        mut inner: W,
    ) -> Result<Self> {
        let chunk_size = check_chunk_size(options.chunk_size.into())?;
        let header = Header {
            algorithm: options.algorithm,
            chunk_size,
            nonce_prefix: random_nonce_prefix(),
            context: context.clone(),
        };
        let header_bytes = header.to_bytes()?;
        inner.write_all(&header_bytes)?;
        Ok(Self {
            cipher: PayloadCipher::new(key, header.algorithm, &header.nonce_prefix)
                .map_err(|_| WbcbError::ChunkSeal)?,
            buf: Vec::with_capacity(chunk_size as usize + TAG_LEN),
            written: header_bytes.len() as u64,
            inner,
            header,
            header_bytes,
            counter: 0,
        })
    }

    /// The header written at the front of the record.
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn seal_buffered(&mut self, last: bool) -> Result<()> {
        let nonce = chunk_nonce(&self.header.nonce_prefix, self.counter, last);
        self.cipher
            .seal(&nonce, &self.header_bytes, &mut self.buf)
            .map_err(|_| WbcbError::ChunkSeal)?;
        self.inner.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        if !last {
            self.counter = self
                .counter
                .checked_add(1)
                .ok_or(WbcbError::TooManyChunks)?;
        }
        Ok(())
    }

    fn absorb(&mut self, mut data: &[u8]) -> Result<()> {
        let chunk = self.header.chunk_size as usize;
        while !data.is_empty() {
            // A full buffer is sealed only once more data arrives, so the
            // final chunk is always known when `finish` runs.
            if self.buf.len() == chunk {
                self.seal_buffered(false)?;
            }
            let take = (chunk - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    /// Reads `input` to its end straight into the chunk buffer (no staging
    /// copy). Like `absorb`, a full chunk is sealed only once a following
    /// byte shows it is not the last.
    fn absorb_reader<R: Read>(&mut self, input: &mut R) -> Result<()> {
        let chunk = self.header.chunk_size as usize;
        loop {
            if self.buf.len() == chunk {
                let mut next = [0u8; 1];
                if !read_some(input, &mut next)? {
                    return Ok(());
                }
                self.seal_buffered(false)?;
                self.buf.push(next[0]);
            }
            let want = chunk - self.buf.len();
            let got = input
                .by_ref()
                .take(want as u64)
                .read_to_end(&mut self.buf)?;
            if got < want {
                return Ok(());
            }
        }
    }

    /// Seals the final chunk, flushes, and returns the inner writer and the
    /// total ciphertext length.
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.seal_buffered(true)?;
        self.inner.flush()?;
        Ok((self.inner, self.written))
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.absorb(data).map_err(into_io)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn into_io(err: WbcbError) -> io::Error {
    match err {
        WbcbError::Io(e) => e,
        other => io::Error::other(other),
    }
}

/// Pulls and verifies one chunk at a time from a WBCB record.
pub struct Decryptor<R: Read> {
    reader: R,
    cipher: PayloadCipher,
    header: Header,
    header_bytes: Vec<u8>,
    /// `[plaintext area: chunk_size | sealed chunk]`: a chunk opens from the
    /// back half into the front half, so its ciphertext outlives a failed
    /// open (see [`Decryptor::diagnose`]).
    buf: Vec<u8>,
    /// Length of the plaintext area, where the sealed chunk starts.
    sealed_at: usize,
    lookahead: Option<u8>,
    counter: u64,
    done: bool,
}

impl<R: Read> Decryptor<R> {
    /// Reads the header. If `expected` is given, the header's record context
    /// must equal it (checked before any chunk is opened).
    pub fn new(key: &DataKey, mut reader: R, expected: Option<&RecordContext>) -> Result<Self> {
        let (header, header_bytes) = Header::read_from(&mut reader)?;
        if let Some(want) = expected {
            if *want != header.context {
                return Err(WbcbError::ContextMismatch {
                    found: header.context.to_string(),
                    expected: want.to_string(),
                });
            }
        }
        let sealed_at = header.chunk_size as usize;
        let mut buf = Vec::with_capacity(2 * sealed_at + TAG_LEN + 1);
        buf.resize(sealed_at, 0);
        Ok(Self {
            cipher: PayloadCipher::new(key, header.algorithm, &header.nonce_prefix)
                .map_err(|_| WbcbError::ChunkSeal)?,
            buf,
            sealed_at,
            reader,
            header,
            header_bytes,
            lookahead: None,
            counter: 0,
            done: false,
        })
    }

    /// The record's (parsed, not yet authenticated) header. It is
    /// authenticated together with the first chunk.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next verified plaintext chunk, or `None` after the final chunk.
    pub fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        if self.done {
            return Ok(None);
        }
        let last = self.fill_chunk()?;
        if self.buf.len() - self.sealed_at < TAG_LEN {
            return Err(WbcbError::Truncated);
        }
        let index = self.counter;
        let counter = u32::try_from(index).map_err(|_| WbcbError::TooManyChunks)?;
        let nonce = chunk_nonce(&self.header.nonce_prefix, counter, last);
        let plain_len =
            match self
                .cipher
                .open_within(&nonce, &self.header_bytes, &mut self.buf, self.sealed_at)
            {
                Ok(n) => n,
                Err(_) => return Err(self.diagnose(counter, last)),
            };
        self.counter += 1;
        self.done = last;
        Ok(Some(&self.buf[..plain_len]))
    }

    /// Reads one sealed chunk into the back of `buf`; returns whether it is
    /// the last.
    fn fill_chunk(&mut self) -> Result<bool> {
        let enc_len = self.header.chunk_size as usize + TAG_LEN;
        self.buf.truncate(self.sealed_at);
        self.buf.extend(self.lookahead.take());
        let missing = enc_len - (self.buf.len() - self.sealed_at);
        (&mut self.reader)
            .take(missing as u64)
            .read_to_end(&mut self.buf)?;
        if self.buf.len() - self.sealed_at < enc_len {
            return Ok(true);
        }
        let mut next = [0u8; 1];
        let more = read_some(&mut self.reader, &mut next)?;
        if more {
            self.lookahead = Some(next[0]);
        }
        Ok(!more)
    }

    /// Explains a failed chunk: if it opens with the opposite last-flag the
    /// stream was cut short or extended; otherwise it was altered. A failed
    /// open writes only the plaintext area, so the sealed chunk is intact.
    fn diagnose(&mut self, counter: u32, last: bool) -> WbcbError {
        let nonce = chunk_nonce(&self.header.nonce_prefix, counter, !last);
        if self
            .cipher
            .open_within(&nonce, &self.header_bytes, &mut self.buf, self.sealed_at)
            .is_ok()
        {
            if last {
                WbcbError::Truncated
            } else {
                WbcbError::TrailingData
            }
        } else {
            WbcbError::ChunkAuthentication {
                index: counter.into(),
            }
        }
    }
}

/// Reads at least one byte if any remain, retrying on interrupts.
fn read_some<R: Read>(reader: &mut R, buf: &mut [u8; 1]) -> Result<bool> {
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Encrypts all of `input` into `output`; returns the header used and the
/// ciphertext length.
pub fn encrypt_stream<R: Read, W: Write>(
    key: &DataKey,
    context: &RecordContext,
    options: EncryptOptions,
    mut input: R,
    output: W,
) -> Result<(Header, u64)> {
    let mut enc = Encryptor::new(key, context, options, output)?;
    enc.absorb_reader(&mut input)?;
    let header = enc.header().clone();
    let (_, written) = enc.finish()?;
    Ok((header, written))
}

/// Decrypts a whole record from `input` into `output`; returns the header and
/// the plaintext length. On error, whatever was written is not trustworthy.
pub fn decrypt_stream<R: Read, W: Write>(
    key: &DataKey,
    input: R,
    mut output: W,
    expected: Option<&RecordContext>,
) -> Result<(Header, u64)> {
    let mut dec = Decryptor::new(key, input, expected)?;
    let mut total = 0u64;
    while let Some(chunk) = dec.next_chunk()? {
        output.write_all(chunk)?;
        total += chunk.len() as u64;
    }
    output.flush()?;
    Ok((dec.header, total))
}

/// Convenience: encrypts a byte slice.
pub fn encrypt_bytes(
    key: &DataKey,
    context: &RecordContext,
    options: EncryptOptions,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plaintext.len() + plaintext.len() / 1024 + 1024);
    encrypt_stream(key, context, options, plaintext, &mut out)?;
    Ok(out)
}

/// Convenience: decrypts a byte slice.
pub fn decrypt_bytes(
    key: &DataKey,
    ciphertext: &[u8],
    expected: Option<&RecordContext>,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(ciphertext.len());
    decrypt_stream(key, ciphertext, &mut out, expected)?;
    Ok(out)
}
