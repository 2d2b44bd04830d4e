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
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            h.get(0..8).unwrap_or_default(),
            h.get(8..12).unwrap_or_default(),
            h.get(12..16).unwrap_or_default(),
            h.get(16..20).unwrap_or_default(),
            h.get(20..32).unwrap_or_default()
        )
    }
}

/// Operating-system randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl Ids for RandomIds {
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
