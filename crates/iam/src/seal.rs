//! Sealing secrets at rest.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// Encrypts and decrypts secrets with the master key.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn new(master_key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(master_key)),
        }
    }

    /// `base64(nonce ‖ ciphertext)`; `nonce` must be fresh random bytes.
    pub fn seal(&self, plaintext: &str, nonce: [u8; 12]) -> Option<String> {
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Some(base64::engine::general_purpose::STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, ct) = raw.split_at(12);
        let pt = self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(pt).ok()
    }
}

impl cairn_core::Seal for Sealer {
    fn seal(&self, plaintext: &str, nonce: [u8; 12]) -> Option<String> {
        Sealer::seal(self, plaintext, nonce)
    }

    fn open(&self, sealed: &str) -> Option<String> {
        Sealer::open(self, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = Sealer::new(&[7u8; 32]);
        let sealed = s
            .seal("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", [1u8; 12])
            .unwrap();
        assert_eq!(
            s.open(&sealed).unwrap(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        );
        let other = Sealer::new(&[8u8; 32]);
        assert!(other.open(&sealed).is_none());
    }
}
