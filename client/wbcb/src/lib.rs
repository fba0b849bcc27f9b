//! WBCB: client-side encryption of health records.
//!
//! The pure core: no files, sockets or async runtime. It works over byte
//! slices and generic `Read`/`Write`, so it compiles to `wasm32`.
//!
//! - [`stream`]: chunked streaming AEAD (STREAM construction) of a record.
//! - [`format`]: the versioned, authenticated header (docs/wbcb-format.md).
//! - [`keys`] and [`wrap`]: recipients' encryption key pairs and HPKE wraps
//!   of the data key.
//! - [`blind_index`]: keyed search tokens.

pub mod blind_index;
pub mod context;
pub mod error;
pub mod format;
pub mod key;
pub mod keys;
pub mod stream;
pub mod wrap;

pub use blind_index::{IndexKey, SearchField};
pub use context::RecordContext;
pub use error::{Result, WbcbError};
pub use format::{Algorithm, Header};
pub use key::DataKey;
pub use keys::{EncryptionPublicKey, EncryptionSecretKey, Fingerprint};
pub use stream::{
    decrypt_bytes, decrypt_stream, encrypt_bytes, encrypt_stream, Decryptor, EncryptOptions,
    Encryptor,
};
pub use wrap::KeyWrap;
