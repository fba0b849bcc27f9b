//! The WBCB subcommands of the `healthblock` CLI: encryption key pairs,
//! record encryption/decryption with HPKE wraps, and the object store.
//!
//! Mount [`WbcbCommand`] into a clap CLI and call [`run`] (from synchronous
//! code) or [`run_async`] (from inside a tokio runtime). Everything works
//! offline; only `store` with an S3 store talks to a network service.

mod crypt;
mod keys;
mod progress;
mod store;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

/// WBCB commands.
#[derive(Debug, Subcommand)]
pub enum WbcbCommand {
    /// Manage encryption key pairs (separate from signing keys).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Encrypt a file for one or more recipients.
    Encrypt(EncryptArgs),
    /// Decrypt a record with your private key and your wrap.
    Decrypt(DecryptArgs),
    /// Put, get or remove blobs and wraps in the object store.
    #[command(subcommand)]
    Store(StoreCommand),
}

/// `keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate an encryption key pair: NAME.key.pem (0600) and NAME.pub.pem.
    Gen {
        /// Directory to write the key files into.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
        /// Base name of the key files.
        #[arg(long, default_value = "encryption")]
        name: String,
        /// Replace existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Print the fingerprint (SHA-256 of the SPKI DER) of a public or private key file.
    Fingerprint {
        /// PEM file (public or private key).
        key: PathBuf,
    },
}

/// The chunk AEAD.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum AlgorithmArg {
    #[default]
    #[value(name = "aes-256-gcm")]
    Aes256Gcm,
    #[value(name = "chacha20-poly1305")]
    ChaCha20Poly1305,
}

/// `encrypt ...`
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// Recipient public key files (SPKI PEM); repeat for each recipient.
    #[arg(long = "to", required = true, num_args = 1..)]
    pub to: Vec<PathBuf>,
    /// Record id (as on the ledger).
    #[arg(long)]
    pub record_id: String,
    /// Record version.
    #[arg(long, default_value_t = 1)]
    pub version: u64,
    /// Patient pseudonym.
    #[arg(long)]
    pub patient: String,
    /// Chunk AEAD.
    #[arg(long, value_enum, default_value_t)]
    pub algorithm: AlgorithmArg,
    /// Plaintext bytes per chunk.
    #[arg(long, default_value_t = wbcb::format::DEFAULT_CHUNK_SIZE)]
    pub chunk_size: u32,
    /// Output blob (default: FILE.wbcb); wraps go to OUT.wraps/<fingerprint>.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Plaintext file.
    pub file: PathBuf,
}

/// `decrypt ...`
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Your private encryption key (PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// Your wrap (default: BLOB.wraps/<your fingerprint>).
    #[arg(long)]
    pub wrap: Option<PathBuf>,
    /// Require this record id (e.g. from the ledger).
    #[arg(long)]
    pub record_id: Option<String>,
    /// Require this record version.
    #[arg(long)]
    pub version: Option<u64>,
    /// Output file (written only if the whole record verifies).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Encrypted blob.
    pub blob: PathBuf,
}

/// Which object store: a directory, or `s3` (configured by HEALTHBLOCK_S3_*).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// `file:DIR`, a directory path, or `s3`.
    #[arg(long, env = "HEALTHBLOCK_STORE")]
    pub store: String,
    /// For `s3`: read HEALTHBLOCK_S3_* from this file instead of the environment.
    #[arg(long)]
    pub s3_env_file: Option<PathBuf>,
}

/// `store ...`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Upload a blob and the wraps beside it (BLOB.wraps/*); prints its hash.
    Put {
        #[command(flatten)]
        store: StoreArgs,
        /// Encrypted blob file.
        blob: PathBuf,
    },
    /// Download a blob (hash-checked) and its wraps into OUT and OUT.wraps/.
    Get {
        #[command(flatten)]
        store: StoreArgs,
        /// Blob hash (64 hex digits).
        hash: String,
        /// Output blob file.
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Delete a blob and all its wraps, or only one wrap with --wrap.
    Rm {
        #[command(flatten)]
        store: StoreArgs,
        /// Blob hash (64 hex digits).
        hash: String,
        /// Only delete the wrap for this key fingerprint.
        #[arg(long)]
        wrap: Option<String>,
    },
}

/// Runs a command from synchronous code (creates its own tokio runtime for
/// store commands). From async code, use [`run_async`].
pub fn run(cmd: WbcbCommand) -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        anyhow::bail!("healthblock_wbcb_cli::run called inside a tokio runtime; use run_async");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_async(cmd))
}

/// Runs a command inside an existing tokio runtime.
pub async fn run_async(cmd: WbcbCommand) -> Result<()> {
    match cmd {
        WbcbCommand::Keys(KeysCommand::Gen {
            out_dir,
            name,
            force,
        }) => keys::generate(&out_dir, &name, force),
        WbcbCommand::Keys(KeysCommand::Fingerprint { key }) => keys::fingerprint(&key),
        WbcbCommand::Encrypt(args) => crypt::encrypt(&args),
        WbcbCommand::Decrypt(args) => crypt::decrypt(&args),
        WbcbCommand::Store(cmd) => store::run(cmd).await,
    }
}
