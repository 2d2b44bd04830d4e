//! The request context: condition keys and their values.

use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

use crate::pattern::{ArnSplit, same_bytes};
use crate::scalar::{self, Decimal, Instant};

/// The condition keys of one request (`aws:username`, `aws:SourceIp`, `aws:PrincipalTag/team`,
/// `aws:TagKeys`, service keys …) with their values.
///
/// Key names are case-insensitive, as in IAM: they are stored ASCII-lowercased with a 64-bit
/// hash, and the parser lowercases and hashes the keys a policy names once, so a lookup during
/// evaluation scans a compact array of hashes and compares one key — no allocation, no
/// lowercasing per lookup.
///
/// Every value is a string, as IAM sees it; the typed operators (`Numeric…`, `Date…`, `Bool`,
/// `IpAddress`, `Arn…`) read the string when they compare, and the number, date and IP
/// readings are cached per value, so a key compared by many policies is read once.
/// A key is single-valued ([`insert`](Self::insert)) or multivalued
/// ([`insert_multi`](Self::insert_multi), for `aws:TagKeys`, `aws:PrincipalOrgPaths`,
/// `aws:CalledVia` …). A multivalued key with no values counts as absent. `BinaryEquals`
/// compares the value's bytes with the policy's decoded bytes (or the value's text with the
/// policy's canonical base64 text).
#[derive(Clone, Default)]
pub struct Context {
    /// `hashes[i]` is the hash of `entries[i].key`.
    hashes: Vec<u64>,
    entries: Vec<Entry>,
    /// Open-addressing index over `entries`: slot `hash & (len - 1)` onwards holds entry
    /// positions, `EMPTY` ends a probe. At most half full; its length is a power of two.
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

#[derive(Clone, PartialEq, Eq)]
struct Entry {
    key: Box<str>,
    multi: bool,
    values: Vec<Value>,
}

/// One value of a condition key, with its typed readings computed on first use.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Value {
    text: String,
    number: OnceLock<Option<Decimal>>,
    date: OnceLock<Option<Instant>>,
    ip: OnceLock<Option<IpAddr>>,
    arn: OnceLock<ArnSplit>,
}

impl Value {
    fn new(text: String) -> Value {
        Value {
            text,
            number: OnceLock::new(),
            date: OnceLock::new(),
            ip: OnceLock::new(),
            arn: OnceLock::new(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn number(&self) -> Option<Decimal> {
        *self
            .number
            .get_or_init(|| scalar::parse_decimal(&self.text))
    }

    pub(crate) fn date(&self) -> Option<Instant> {
        *self.date.get_or_init(|| scalar::parse_date(&self.text))
    }

    pub(crate) fn ip(&self) -> Option<IpAddr> {
        *self.ip.get_or_init(|| self.text.parse().ok())
    }

    pub(crate) fn arn_split(&self) -> ArnSplit {
        *self.arn.get_or_init(|| ArnSplit::new(&self.text))
    }
}

/// The hash used for condition keys and policy variables: 64-bit FNV-1a over the
/// ASCII-lowercased bytes. Stable across processes, so parsed policies can carry it.
pub(crate) fn key_hash(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A condition key or variable name, lowercased and hashed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) lower: Box<str>,
    pub(crate) hash: u64,
}

impl Key {
    pub(crate) fn new(name: &str) -> Key {
        Key {
            lower: name.to_ascii_lowercase().into_boxed_str(),
            hash: key_hash(name),
        }
    }
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// Sets a single-valued key (replacing any earlier value of that key).
    pub fn insert(&mut self, key: &str, value: impl Into<String>) {
        self.put(key, false, vec![Value::new(value.into())]);
    }

    /// Sets a multivalued key (replacing any earlier value of that key).
    pub fn insert_multi<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.put(
            key,
            true,
            values.into_iter().map(|v| Value::new(v.into())).collect(),
        );
    }

    /// Builder form of [`insert`](Self::insert).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Builder form of [`insert_multi`](Self::insert_multi).
    #[must_use]
    pub fn with_multi<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.insert_multi(key, values);
        self
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.position(&Key::new(key)) {
            self.hashes.remove(i);
            self.entries.remove(i);
            self.reindex(self.slots.len());
        }
    }

    /// The values of a key (case-insensitive name); `None` if absent or an empty multivalued
    /// key.
    pub fn get(&self, key: &str) -> Option<impl ExactSizeIterator<Item = &str> + '_> {
        self.lookup(&Key::new(key))
            .map(|values| values.iter().map(Value::text))
    }

    /// Whether the key is present (an empty multivalued key is absent).
    pub fn contains(&self, key: &str) -> bool {
        self.lookup(&Key::new(key)).is_some()
    }

    /// Every key with its values, in insertion order (a key as it was first written; `true`
    /// for a multivalued key) — for showing or comparing whole contexts.
    pub fn entries(&self) -> impl Iterator<Item = (&str, bool, Vec<&str>)> + '_ {
        self.entries
            .iter()
            .map(|e| (&*e.key, e.multi, e.values.iter().map(Value::text).collect()))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The values of a pre-hashed key; an empty multivalued key counts as absent.
    pub(crate) fn lookup(&self, key: &Key) -> Option<&[Value]> {
        let entry = self.entries.get(self.position(key)?)?;
        if entry.values.is_empty() {
            None
        } else {
            Some(&entry.values)
        }
    }

    /// The value of a pre-hashed key used as a policy variable: only a single-valued key can
    /// be substituted.
    pub(crate) fn lookup_single(&self, key: &Key) -> Option<&str> {
        let entry = self.entries.get(self.position(key)?)?;
        match (entry.multi, entry.values.as_slice()) {
            (false, [one]) => Some(one.text()),
            _ => None,
        }
    }

    fn position(&self, key: &Key) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        // Truncation keeps the low bits, which pick the slot.
        let mut slot = (key.hash as usize) & mask;
        loop {
            let i = *self.slots.get(slot)?;
            if i == EMPTY {
                return None;
            }
            let i = i as usize;
            if self.hashes.get(i) == Some(&key.hash)
                && self
                    .entries
                    .get(i)
                    .is_some_and(|e| same_bytes(e.key.as_bytes(), key.lower.as_bytes()))
            {
                return Some(i);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Rebuilds the index with at least `min_slots` slots (and at most half of them used).
    fn reindex(&mut self, min_slots: usize) {
        let mut size = min_slots.max(8).next_power_of_two();
        while size < self.entries.len() * 2 {
            size *= 2;
        }
        self.slots.clear();
        self.slots.resize(size, EMPTY);
        for i in 0..self.hashes.len() {
            if let Some(&h) = self.hashes.get(i) {
                self.place(i, h);
            }
        }
    }

    /// Puts entry `i` into the first free slot of its probe sequence.
    fn place(&mut self, i: usize, hash: u64) {
        let Some(mask) = self.slots.len().checked_sub(1) else {
            return;
        };
        let mut slot = (hash as usize) & mask;
        while self.slots.get(slot).is_some_and(|s| *s != EMPTY) {
            slot = (slot + 1) & mask;
        }
        if let (Some(s), Ok(i)) = (self.slots.get_mut(slot), u32::try_from(i)) {
            *s = i;
        }
    }

    fn put(&mut self, key: &str, multi: bool, values: Vec<Value>) {
        let k = Key::new(key);
        match self.position(&k).and_then(|i| self.entries.get_mut(i)) {
            Some(e) => {
                e.multi = multi;
                e.values = values;
            }
            None => {
                self.hashes.push(k.hash);
                self.entries.push(Entry {
                    key: k.lower,
                    multi,
                    values,
                });
                if self.entries.len() * 2 > self.slots.len() {
                    self.reindex(self.slots.len() * 2);
                } else {
                    self.place(self.entries.len() - 1, k.hash);
                }
            }
        }
    }
}

/// Equal when both hold the same keys with the same values, whatever the insertion order.
impl PartialEq for Context {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self.entries.iter().zip(&self.hashes).all(|(e, h)| {
                let key = Key {
                    lower: e.key.clone(),
                    hash: *h,
                };
                other.position(&key).and_then(|i| other.entries.get(i)) == Some(e)
            })
    }
}

impl Eq for Context {}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut entries: Vec<&Entry> = self.entries.iter().collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        let mut m = f.debug_map();
        for e in entries {
            let texts: Vec<&str> = e.values.iter().map(Value::text).collect();
            match (e.multi, texts.as_slice()) {
                (false, [one]) => m.entry(&e.key, one),
                _ => m.entry(&e.key, &texts),
            };
        }
        m.finish()
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn values(ctx: &Context, key: &str) -> Option<Vec<String>> {
        ctx.get(key).map(|v| v.map(str::to_owned).collect())
    }

    #[test]
    fn keys_are_case_insensitive() {
        let ctx = Context::new()
            .with("aws:UserName", "alice")
            .with_multi("aws:TagKeys", ["a", "b"]);
        assert_eq!(values(&ctx, "AWS:USERNAME"), Some(vec!["alice".to_owned()]));
        assert_eq!(ctx.get("aws:tagkeys").map(|v| v.len()), Some(2));
        assert!(ctx.get("aws:nothing").is_none());
        assert!(ctx.contains("aws:username"));
        assert_eq!(ctx.len(), 2);
        assert_eq!(
            format!("{ctx:?}"),
            r#"{"aws:tagkeys": ["a", "b"], "aws:username": "alice"}"#
        );
    }

    #[test]
    fn insert_replaces_and_remove_removes() {
        let mut ctx = Context::new();
        ctx.insert("k:a", "1");
        ctx.insert("K:A", "2");
        assert_eq!(values(&ctx, "k:a"), Some(vec!["2".to_owned()]));
        ctx.remove("k:A");
        assert!(ctx.is_empty());
    }

    #[test]
    fn empty_multivalued_key_is_absent() {
        let ctx = Context::new().with_multi("aws:TagKeys", Vec::<String>::new());
        assert!(ctx.get("aws:TagKeys").is_none());
        assert!(!ctx.contains("aws:TagKeys"));
        assert_eq!(ctx.len(), 1);
    }

    #[test]
    fn variables_need_a_single_value() {
        let ctx = Context::new()
            .with("a:one", "x")
            .with_multi("a:many", ["x", "y"])
            .with_multi("a:m1", ["z"]);
        assert_eq!(ctx.lookup_single(&Key::new("a:one")), Some("x"));
        assert_eq!(ctx.lookup_single(&Key::new("a:many")), None);
        assert_eq!(ctx.lookup_single(&Key::new("a:m1")), None);
    }

    #[test]
    fn many_keys_and_equality_ignore_order() {
        let mut a = Context::new();
        let mut b = Context::new();
        for i in 0..100 {
            a.insert(&format!("k:{i}"), i.to_string());
        }
        for i in (0..100).rev() {
            b.insert(&format!("K:{i}"), i.to_string());
        }
        for i in 0..100 {
            assert_eq!(values(&a, &format!("k:{i}")), Some(vec![i.to_string()]));
        }
        assert!(a.get("k:100").is_none());
        assert_eq!(a, b);
        b.remove("k:7");
        assert_ne!(a, b);
        assert!(b.get("k:7").is_none());
        assert_eq!(values(&b, "k:8"), Some(vec!["8".to_owned()]));
        b.insert("k:7", "x");
        assert_ne!(a, b);
        b.insert("k:7", "7");
        assert_eq!(a, b);
    }

    #[test]
    fn typed_readings_are_cached() {
        let ctx = Context::new()
            .with("aws:EpochTime", "1700000000")
            .with("aws:SourceIp", "10.0.0.1");
        let v = &ctx.lookup(&Key::new("aws:EpochTime")).unwrap()[0];
        assert_eq!(v.number(), scalar::parse_decimal("1700000000"));
        assert_eq!(v.date(), Some(1_700_000_000 * 1_000_000_000));
        assert_eq!(v.ip(), None);
        let v = &ctx.lookup(&Key::new("aws:SourceIp")).unwrap()[0];
        assert_eq!(v.ip(), "10.0.0.1".parse().ok());
    }
}
