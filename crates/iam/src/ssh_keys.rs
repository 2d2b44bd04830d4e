//! IAM users' SSH public keys (for CodeCommit and the like): `ssh-rsa` keys in OpenSSH or
//! PEM form, at least 2,048 bits, at most five per user (IAM User Guide, "IAM object quotas";
//! API reference, UploadSSHPublicKey: "The SSH public key must be … ssh-rsa (OpenSSH)
//! format or PEM format. The minimum bit-length of the public key is 2048 bits").
//!
//! The fingerprint is the MD5 of the OpenSSH key blob in colon-separated hex, as
//! `ssh-keygen -E md5 -l` shows it and AWS answers it.
//!
//! | space     | key                                | value       |
//! |-----------|------------------------------------|-------------|
//! | `iam.ssh` | `<account>/<lower user>/<key id>`  | [`SshKeyRec`] |

use crate::common::{Ctx, fail, paginate, ts};
use crate::keys::status;
use crate::records::{self, FORMAT};
use crate::users::{caller_user_name, require_user};
use base64::Engine;
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const SSH: &str = "iam.ssh";
const KEYS_PER_USER: u64 = 5;
const MIN_BITS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SshKeyRec {
    pub v: u32,
    pub user: String,
    pub id: String,
    /// `ssh-rsa <base64 blob>`.
    pub body: String,
    pub fingerprint: String,
    pub active: bool,
    pub uploaded_ms: i64,
}

fn user_prefix(account: &str, user: &str) -> String {
    format!("{account}/{}/", user.to_lowercase())
}

/// Whether the user has SSH public keys (`DeleteUser` refuses while it does).
pub(crate) fn has_keys(tx: &mut dyn Tx, account: &str, user: &str) -> Result<bool, StoreError> {
    Ok(tx.count(SSH, user_prefix(account, user).as_bytes())? > 0)
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// An SSH wire string / mpint: a big-endian `u32` length, then the bytes.
fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn take<'a>(blob: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::try_from(u32::from_be_bytes(blob.get(..4)?.try_into().ok()?)).ok()?;
    let field = blob.get(4..4 + len)?;
    *blob = blob.get(4 + len..)?;
    Some(field)
}

fn mpint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    match trimmed.first() {
        Some(b) if b & 0x80 != 0 => [&[0u8][..], &trimmed].concat(),
        _ => trimmed,
    }
}

fn bits_of(n: &[u8]) -> usize {
    let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    n.first()
        .map_or(0, |b| (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize))
}

fn unrecognized() -> Failure {
    // [M]: the text.
    fail(
        Error::UnrecognizedPublicKeyEncodingException,
        "The public key encoding is not recognized. Use an SSH-RSA public key in OpenSSH or PEM format.",
    )
}

/// The OpenSSH blob (`ssh-rsa`, e, n) of a key given in OpenSSH or PEM form.
fn parse_key(body: &str) -> Result<Vec<u8>, Failure> {
    let body = body.trim();
    let (e, n) = if body.starts_with("-----BEGIN PUBLIC KEY-----") {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::PublicKey::from_public_key_pem(body).map_err(|_| unrecognized())?;
        (
            key.e().to_be_bytes().to_vec(),
            key.n().to_be_bytes().to_vec(),
        )
    } else {
        let mut parts = body.split_whitespace();
        if parts.next() != Some("ssh-rsa") {
            return Err(unrecognized());
        }
        let blob = parts
            .next()
            .and_then(|b| b64().decode(b).ok())
            .ok_or_else(unrecognized)?;
        let mut rest = blob.as_slice();
        let (kind, e, n) = (take(&mut rest), take(&mut rest), take(&mut rest));
        match (kind, e, n) {
            (Some(b"ssh-rsa"), Some(e), Some(n)) if rest.is_empty() => (e.to_vec(), n.to_vec()),
            _ => return Err(unrecognized()),
        }
    };
    if bits_of(&n) < MIN_BITS {
        // [M]: the text.
        return Err(fail(
            Error::InvalidPublicKeyException,
            format!("The public key must be at least {MIN_BITS} bits."),
        ));
    }
    let mut blob = Vec::new();
    put(&mut blob, b"ssh-rsa");
    put(&mut blob, &mpint(&e));
    put(&mut blob, &mpint(&n));
    Ok(blob)
}

fn fingerprint(blob: &[u8]) -> String {
    use md5::Digest;
    md5::Md5::digest(blob)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn no_key(id: &str) -> Failure {
    // [M]: the text.
    fail(
        Error::NoSuchEntityException,
        format!("The Public Key with id {id} cannot be found."),
    )
}

fn require(tx: &mut dyn Tx, account: &str, user: &str, id: &str) -> Result<SshKeyRec, Failure> {
    records::load(tx, SSH, &format!("{}{id}", user_prefix(account, user)))?
        .ok_or_else(|| no_key(id))
}

fn save(tx: &mut dyn Tx, account: &str, r: &SshKeyRec) -> Result<(), StoreError> {
    records::save(
        tx,
        SSH,
        &format!("{}{}", user_prefix(account, &r.user), r.id),
        r,
    )
}

fn api(r: &SshKeyRec, body: String) -> types::SSHPublicKey {
    types::SSHPublicKey {
        fingerprint: r.fingerprint.clone(),
        ssh_public_key_body: body,
        ssh_public_key_id: r.id.clone(),
        status: status(r.active),
        upload_date: Some(ts(r.uploaded_ms)),
        user_name: r.user.clone(),
    }
}

pub(crate) fn upload_ssh_public_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UploadSSHPublicKeyRequest,
) -> Result<types::UploadSSHPublicKeyResponse, Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let blob = parse_key(&input.ssh_public_key_body)?;
    let print = fingerprint(&blob);
    let prefix = user_prefix(&c.account, &user.name);
    let existing: Vec<(String, SshKeyRec)> = records::load_all(tx, SSH, &prefix)?;
    if existing.iter().any(|(_, k)| k.fingerprint == print) {
        // [M]: the text.
        return Err(fail(
            Error::DuplicateSSHPublicKeyException,
            "The public key is already associated with the user.",
        ));
    }
    if existing.len() as u64 >= KEYS_PER_USER {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for KeysPerUser: {KEYS_PER_USER}"),
        ));
    }
    let rec = SshKeyRec {
        v: FORMAT,
        user: user.name.clone(),
        id: format!("APKA{}", c.ids.upper_alnum(16)),
        body: format!("ssh-rsa {}", b64().encode(&blob)),
        fingerprint: print,
        active: true,
        uploaded_ms: c.now_ms,
    };
    save(tx, &c.account, &rec)?;
    Ok(types::UploadSSHPublicKeyResponse {
        ssh_public_key: Some(api(&rec, rec.body.clone())),
    })
}

/// The key's body in the encoding asked for.
fn encoded(r: &SshKeyRec, encoding: types::EncodingType) -> Result<String, Failure> {
    if encoding != types::EncodingType::Pem {
        return Ok(r.body.clone());
    }
    use rsa::pkcs8::EncodePublicKey;
    let blob = r
        .body
        .split_whitespace()
        .nth(1)
        .and_then(|b| b64().decode(b).ok())
        .ok_or_else(|| Failure(cairn_wire::ApiError::internal()))?;
    let mut rest = blob.as_slice();
    let (_, e, n) = (take(&mut rest), take(&mut rest), take(&mut rest));
    let (Some(e), Some(n)) = (e, n) else {
        return Err(Failure(cairn_wire::ApiError::internal()));
    };
    let bits = |b: &[u8]| u32::try_from(b.len() * 8).unwrap_or(u32::MAX).max(32);
    let key = rsa::BoxedUint::from_be_slice(n, bits(n))
        .ok()
        .zip(rsa::BoxedUint::from_be_slice(e, bits(e)).ok())
        .and_then(|(n, e)| rsa::PublicKey::new(n, e).ok())
        .ok_or_else(|| Failure(cairn_wire::ApiError::internal()))?;
    key.to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .map_err(|_| Failure(cairn_wire::ApiError::internal()))
}

pub(crate) fn get_ssh_public_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetSSHPublicKeyRequest,
) -> Result<types::GetSSHPublicKeyResponse, Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let r = require(tx, &c.account, &user.name, &input.ssh_public_key_id)?;
    let body = encoded(&r, input.encoding)?;
    Ok(types::GetSSHPublicKeyResponse {
        ssh_public_key: Some(api(&r, body)),
    })
}

pub(crate) fn list_ssh_public_keys(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListSSHPublicKeysRequest,
) -> Result<types::ListSSHPublicKeysResponse, Failure> {
    let name = match &input.user_name {
        Some(n) => Some(n.clone()),
        None => caller_user_name(&c.principal)?,
    };
    let items = match name {
        Some(n) => {
            let user = require_user(tx, &c.account, &n)?;
            records::load_all::<SshKeyRec>(tx, SSH, &user_prefix(&c.account, &user.name))?
                .into_iter()
                .map(|(k, r)| {
                    let meta = types::SSHPublicKeyMetadata {
                        ssh_public_key_id: r.id.clone(),
                        status: status(r.active),
                        upload_date: ts(r.uploaded_ms),
                        user_name: r.user.clone(),
                    };
                    (k, meta)
                })
                .collect()
        }
        None => Vec::new(),
    };
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListSSHPublicKeysResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        ssh_public_keys: Some(page.items),
    })
}

pub(crate) fn update_ssh_public_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateSSHPublicKeyRequest,
) -> Result<(), Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let mut r = require(tx, &c.account, &user.name, &input.ssh_public_key_id)?;
    r.active = input.status == types::StatusType::Active;
    save(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn delete_ssh_public_key(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteSSHPublicKeyRequest,
) -> Result<(), Failure> {
    let user = require_user(tx, &c.account, &input.user_name)?;
    let r = require(tx, &c.account, &user.name, &input.ssh_public_key_id)?;
    tx.delete(
        SSH,
        format!("{}{}", user_prefix(&c.account, &user.name), r.id).as_bytes(),
    )?;
    Ok(())
}
