//! `encrypt` and `decrypt`: files in, files out, around the WBCB core.
//!
//! Outputs are written to a temporary file beside the destination and renamed
//! only on success, so a failed or tampered decryption leaves no plaintext.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sha2_hash::HashingWriter;
use wbcb::{Algorithm, DataKey, EncryptOptions, Header, KeyWrap, RecordContext};

use crate::keys::{load_public, load_secret};
use crate::progress::bar;
use crate::{AlgorithmArg, DecryptArgs, EncryptArgs};

/// Where the wraps of a blob file live: `<blob>.wraps/`.
pub(crate) fn wraps_dir(blob: &Path) -> PathBuf {
    let mut name = blob.as_os_str().to_owned();
    name.push(".wraps");
    PathBuf::from(name)
}

fn temp_beside(dest: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".wbcb-partial-")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))
}

fn open_input(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((file, len))
}

pub(crate) fn encrypt(args: &EncryptArgs) -> Result<()> {
    let recipients = args
        .to
        .iter()
        .map(|p| load_public(p))
        .collect::<Result<Vec<_>>>()?;
    let context = RecordContext::new(args.record_id.clone(), args.version, args.patient.clone())?;
    let options = EncryptOptions {
        algorithm: match args.algorithm {
            AlgorithmArg::Aes256Gcm => Algorithm::Aes256Gcm,
            AlgorithmArg::ChaCha20Poly1305 => Algorithm::ChaCha20Poly1305,
        },
        chunk_size: args.chunk_size,
    };
    let out = args.out.clone().unwrap_or_else(|| {
        let mut name = args.file.as_os_str().to_owned();
        name.push(".wbcb");
        PathBuf::from(name)
    });
    let (input, len) = open_input(&args.file)?;
    let progress = bar("encrypt", len);
    let key = DataKey::generate();
    let temp = temp_beside(&out)?;
    let mut sink = HashingWriter::new(BufWriter::with_capacity(1 << 20, temp.as_file()));
    wbcb::encrypt_stream(
        &key,
        &context,
        options,
        progress.wrap_read(BufReader::new(input)),
        &mut sink,
    )
    .with_context(|| format!("encrypting {}", args.file.display()))?;
    let (mut writer, hash, size) = sink.finish();
    writer.flush()?;
    drop(writer);
    progress.finish_and_clear();
    temp.as_file().sync_all()?;
    temp.persist(&out)
        .with_context(|| format!("cannot write {}", out.display()))?;

    let dir = wraps_dir(&out);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for recipient in &recipients {
        let wrap = KeyWrap::seal(&key, &context, recipient)?;
        let path = dir.join(recipient.fingerprint().to_hex());
        fs::write(&path, wrap.to_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "blob:   {} ({size} bytes, {})",
        out.display(),
        options.algorithm.name()
    );
    println!("sha256: {hash}");
    println!(
        "wraps:  {} ({} recipient(s))",
        dir.display(),
        recipients.len()
    );
    Ok(())
}

fn read_header(blob: &Path) -> Result<Header> {
    let (file, _) = open_input(blob)?;
    let (header, _) = Header::read_from(&mut BufReader::new(file))
        .with_context(|| format!("reading {}", blob.display()))?;
    Ok(header)
}

fn check_expected(header: &Header, args: &DecryptArgs) -> Result<()> {
    let ctx = &header.context;
    if let Some(id) = &args.record_id {
        if *id != ctx.record_id {
            bail!("blob is {ctx}, not record {id:?}");
        }
    }
    if let Some(version) = args.version {
        if version != ctx.version {
            bail!("blob is {ctx}, not version {version}");
        }
    }
    Ok(())
}

pub(crate) fn decrypt(args: &DecryptArgs) -> Result<()> {
    let secret = load_secret(&args.key)?;
    let header = read_header(&args.blob)?;
    check_expected(&header, args)?;
    let fingerprint = secret.public_key().fingerprint();
    let wrap_path = args
        .wrap
        .clone()
        .unwrap_or_else(|| wraps_dir(&args.blob).join(fingerprint.to_hex()));
    let wrap_bytes = match fs::read(&wrap_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "no key wrap for your key {fingerprint} at {}: you are not a recipient of this record, or your access was revoked",
            wrap_path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", wrap_path.display())),
    };
    let wrap =
        KeyWrap::from_bytes(&wrap_bytes).with_context(|| format!("in {}", wrap_path.display()))?;
    let key = wrap.open(&secret, &header.context)?;

    let (input, len) = open_input(&args.blob)?;
    let progress = bar("decrypt", len);
    let temp = temp_beside(&args.out)?;
    let mut writer = BufWriter::with_capacity(1 << 20, temp.as_file());
    let (_, plain_len) = wbcb::decrypt_stream(
        &key,
        progress.wrap_read(BufReader::new(input)),
        &mut writer,
        Some(&header.context),
    )
    .with_context(|| format!("decrypting {}", args.blob.display()))?;
    writer.flush()?;
    drop(writer);
    progress.finish_and_clear();
    temp.persist(&args.out)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "{} ({plain_len} bytes, {})",
        args.out.display(),
        header.context
    );
    Ok(())
}

/// SHA-256 of what is written, computed on the way through.
mod sha2_hash {
    use std::io::{self, Write};

    use sha2::{Digest, Sha256};

    pub(super) struct HashingWriter<W> {
        inner: W,
        hasher: Sha256,
        size: u64,
    }

    impl<W: Write> HashingWriter<W> {
        pub(super) fn new(inner: W) -> Self {
            Self {
                inner,
                hasher: Sha256::new(),
                size: 0,
            }
        }

        /// The inner writer, the hex digest and the byte count.
        pub(super) fn finish(self) -> (W, String, u64) {
            (self.inner, hex::encode(self.hasher.finalize()), self.size)
        }
    }

    impl<W: Write> Write for HashingWriter<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.hasher.update(&buf[..n]);
            self.size += n as u64;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }
}
