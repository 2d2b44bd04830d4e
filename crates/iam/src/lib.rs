//! Accounts and credentials — the part of IAM every other service stands on — and the STS
//! slice (`GetCallerIdentity`).
//!
//! Secret access keys must be kept in a recoverable form (SigV4 verification needs the
//! secret itself), so they are sealed with ChaCha20-Poly1305 under a master key the binary
//! keeps in the data directory (mode 0600): a copy of the database alone does not leak them.

pub mod accounts;
pub mod seal;
pub mod sts;

pub use accounts::{AccessKey, Account, Credentials, KeyOwner};
pub use seal::Sealer;
pub use sts::StsService;
