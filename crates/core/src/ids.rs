//! Randomness as a parameter: every identifier and secret Cairn mints comes from an [`Ids`].

use rand::{Rng, SeedableRng};
use std::sync::Mutex;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const DIGITS: &[u8] = b"0123456789";
const SECRET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

pub trait Ids: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    fn pick(&self, alphabet: &[u8], len: usize) -> String {
        let mut raw = vec![0u8; len];
        self.fill(&mut raw);
        raw.iter()
            .filter_map(|b| {
                alphabet
                    .get(usize::from(*b) % alphabet.len().max(1))
                    .map(|c| char::from(*c))
            })
            .collect()
    }

    /// `len` characters of `[a-z0-9]`, as in `o-…`, `r-…`, `ou-…`.
    fn lower_alnum(&self, len: usize) -> String {
        self.pick(LOWER_ALNUM, len)
    }

    /// `len` characters of AWS's access-key alphabet (`[A-Z2-7]`).
    fn upper_alnum(&self, len: usize) -> String {
        self.pick(UPPER_ALNUM, len)
    }

    fn digits(&self, len: usize) -> String {
        self.pick(DIGITS, len)
    }

    fn hex(&self, len: usize) -> String {
        self.pick(HEX, len)
    }

    /// A 40-character secret access key.
    fn secret(&self) -> String {
        self.pick(SECRET, 40)
    }

    /// A random (version 4) UUID, lower-case.
    fn uuid(&self) -> String {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        format_uuid(&b)
    }

    /// A time-ordered (version 7) UUID for the instant `millis`: the first 48 bits are the
    /// Unix time in milliseconds, the rest random. CloudTrail event IDs use it, so an event
    /// is found from its ID without a separate index (see `cairn-trail`).
    fn uuid_v7(&self, millis: i64) -> String {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        let ms = u64::try_from(millis).unwrap_or(0).to_be_bytes();
        b[..6].copy_from_slice(&ms[2..]);
        b[6] = (b[6] & 0x0f) | 0x70;
        b[8] = (b[8] & 0x3f) | 0x80;
        format_uuid(&b)
    }
}

/// An access key ID, `<prefix>` + 16 base32 characters, that carries `account` as AWS's
/// do: base32-decoded, bits 7–46 of its first six bytes are the account ID, the other bits
/// random. That is how `sts:GetAccessKeyInfo` answers for any key, long-term or temporary,
/// without a lookup (the layout is public research on AWS's key IDs — Aidan Steele and Tal
/// Be'ery, 2020–2023 — confirmed by AWS's answers for its own keys; not documented by AWS).
pub fn access_key_id(ids: &dyn Ids, prefix: &str, account: &str) -> String {
    let mut b = [0u8; 10];
    ids.fill(&mut b);
    let account: u64 = account.parse().unwrap_or(0) & 0xff_ffff_ffff;
    let mut head = [0u8; 8];
    head[2..].copy_from_slice(&b[..6]);
    let z = (u64::from_be_bytes(head) & 0x8000_0000_007f) | (account << 7);
    b[..6].copy_from_slice(&z.to_be_bytes()[2..]);
    format!("{prefix}{}", crate::base32::encode(&b))
}

/// The account an access key ID minted as [`access_key_id`] mints them (and as AWS does)
/// belongs to, as 12 digits; `None` for a key ID of another shape.
pub fn account_of_access_key(access_key_id: &str) -> Option<String> {
    let body = access_key_id.get(4..)?;
    let bytes = crate::base32::decode(body.get(..16)?)?;
    let mut head = [0u8; 8];
    head[2..].copy_from_slice(bytes.get(..6)?);
    let account = (u64::from_be_bytes(head) & 0x7fff_ffff_ff80) >> 7;
    (account <= 999_999_999_999).then(|| format!("{account:012}"))
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower-case.
pub fn format_uuid(b: &[u8; 16]) -> String {
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        for nibble in [byte >> 4, byte & 0x0f] {
            out.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

/// The millisecond timestamp of a version-7 UUID; `None` for any other string.
pub fn uuid_v7_millis(id: &str) -> Option<i64> {
    let bytes = id.as_bytes();
    if bytes.len() != 36 || bytes.get(14) != Some(&b'7') {
        return None;
    }
    let hex: String = id
        .get(0..8)?
        .chars()
        .chain(id.get(9..13)?.chars())
        .collect();
    i64::from_str_radix(&hex, 16).ok()
}

/// Operating-system randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl Ids for RandomIds {
    #[allow(
        clippy::disallowed_methods,
        reason = "the one source of randomness every ID and secret comes from"
    )]
    fn fill(&self, buf: &mut [u8]) {
        rand::rng().fill(buf);
    }
}

/// A seeded generator for deterministic tests.
#[derive(Debug)]
pub struct SeededIds(Mutex<rand::rngs::StdRng>);

impl SeededIds {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)))
    }
}

impl Ids for SeededIds {
    fn fill(&self, buf: &mut [u8]) {
        match self.0.lock() {
            Ok(mut rng) => rng.fill(buf),
            Err(poisoned) => poisoned.into_inner().fill(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]
    use super::*;

    #[test]
    fn access_key_ids_carry_their_account() {
        // An AWS key ID from the published research: ASIAY34FZKBOKMUTVV7A → 609629065308.
        assert_eq!(
            account_of_access_key("ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        let ids = SeededIds::new(3);
        for account in [
            "123456789012",
            "000000000000",
            "999999999999",
            "000000000042",
        ] {
            let id = access_key_id(&ids, "AKIA", account);
            assert_eq!(id.len(), 20, "{id}");
            assert!(id.starts_with("AKIA"));
            assert!(
                id[4..].chars().all(|c| UPPER_ALNUM.contains(&(c as u8))),
                "{id}"
            );
            assert_eq!(account_of_access_key(&id).as_deref(), Some(account), "{id}");
        }
        assert_ne!(
            access_key_id(&ids, "ASIA", "123456789012"),
            access_key_id(&ids, "ASIA", "123456789012")
        );
        assert_eq!(account_of_access_key("AKIA0000"), None);
    }

    #[test]
    fn uuids_are_well_formed() {
        let ids = SeededIds::new(7);
        let v4 = ids.uuid();
        assert_eq!(v4.len(), 36);
        assert_eq!(v4.as_bytes()[14], b'4');
        assert!(uuid_v7_millis(&v4).is_none());
        let v7 = ids.uuid_v7(1_732_760_000_123);
        assert_eq!(v7.as_bytes()[14], b'7');
        assert!(matches!(v7.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_eq!(uuid_v7_millis(&v7), Some(1_732_760_000_123));
        assert!(uuid_v7_millis("not-a-uuid").is_none());
    }
}
