//! X.509 certificates and private keys, as much of them as IAM needs, written here: PEM
//! armour (RFC 7468), the DER walk (ITU-T X.690) through a `Certificate` (RFC 5280 §4.1) to
//! its issuer, subject, validity and `subjectPublicKeyInfo`, and the public half of a
//! private key — PKCS #1 `RSAPrivateKey` (RFC 8017 §A.1.2), PKCS #8 `PrivateKeyInfo`
//! (RFC 5208 §5) and SEC 1 `ECPrivateKey` (RFC 5915 §3) — so a key can be matched to a
//! certificate. SAML metadata keys (`xmldsig`) and IAM's certificate operations use it.

use base64::Engine;

/// An RSA public key: modulus and exponent, big-endian, without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RsaKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// A public key as a certificate carries it (or as derived from a private key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    Rsa(RsaKey),
    /// The named curve's OID (contents) and the uncompressed or compressed point.
    Ec {
        curve: Vec<u8>,
        point: Vec<u8>,
    },
    /// Another algorithm (its OID contents).
    Other(Vec<u8>),
}

/// The parts of a certificate IAM reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Certificate {
    /// The DER-encoded `Name`s, compared byte for byte to follow a chain.
    pub issuer: Vec<u8>,
    pub subject: Vec<u8>,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    pub key: PublicKey,
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// `rsaEncryption`, 1.2.840.113549.1.1.1 (RFC 8017 appendix C).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-ecPublicKey`, 1.2.840.10045.2.1 (RFC 5480 §2.1.1).
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// One TLV at the front of `der` as (tag, contents, rest). Definite lengths only (DER).
pub(crate) fn tlv(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)),
            rest,
        )
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

/// The TLV at the front of `der` with its header, as (whole encoding, rest).
fn raw_tlv(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, _, rest) = tlv(der)?;
    let used = der.len() - rest.len();
    Some((der.get(..used)?, rest))
}

/// The contents of a TLV with tag `want`, and what follows.
fn expect(der: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    match tlv(der)? {
        (tag, contents, rest) if tag == want => Some((contents, rest)),
        _ => None,
    }
}

fn unsigned(int: &[u8]) -> Vec<u8> {
    let start = int.iter().position(|b| *b != 0).unwrap_or(int.len());
    int.get(start..).unwrap_or_default().to_vec()
}

/// `UTCTime` (`YYMMDDHHMMSSZ`, years 1950–2049) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`),
/// as RFC 5280 §4.1.2.5 restricts them, in milliseconds since the epoch.
fn time_ms(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME if text.len() == 12 => {
            let yy: i32 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        GENERALIZED_TIME if text.len() == 14 => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| -> Option<u8> { rest.get(i..i + 2)?.parse().ok() };
    let month = time::Month::try_from(field(0)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, field(2)?).ok()?;
    let at = date.with_hms(field(4)?, field(6)?, field(8)?).ok()?;
    Some(at.assume_utc().unix_timestamp() * 1000)
}

/// `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
fn public_key_info(spki: &[u8]) -> Option<PublicKey> {
    let (algorithm, after) = expect(spki, SEQUENCE)?;
    let (oid, params) = expect(algorithm, OID)?;
    let (bits, _) = expect(after, BIT_STRING)?;
    let (&0, key) = bits.split_first()? else {
        return None;
    };
    if oid == RSA_ENCRYPTION {
        let (rsa_key, _) = expect(key, SEQUENCE)?;
        let (n, rest) = expect(rsa_key, INTEGER)?;
        let (e, _) = expect(rest, INTEGER)?;
        return Some(PublicKey::Rsa(RsaKey {
            n: unsigned(n),
            e: unsigned(e),
        }));
    }
    if oid == EC_PUBLIC_KEY {
        let (curve, _) = expect(params, OID)?;
        return Some(PublicKey::Ec {
            curve: curve.to_vec(),
            point: key.to_vec(),
        });
    }
    Some(PublicKey::Other(oid.to_vec()))
}

/// A DER certificate: `Certificate` → `tbsCertificate` (RFC 5280 §4.1). `None` when it is
/// not one.
pub(crate) fn parse_certificate(der: &[u8]) -> Option<Certificate> {
    let (cert, trailing) = expect(der, SEQUENCE)?;
    if !trailing.is_empty() {
        return None;
    }
    let (tbs, rest) = expect(cert, SEQUENCE)?;
    // signatureAlgorithm, signatureValue.
    let (_, rest) = expect(rest, SEQUENCE)?;
    expect(rest, BIT_STRING)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    let (_serial, after) = expect(rest, INTEGER)?;
    let (_signature, after) = expect(after, SEQUENCE)?;
    let (issuer, after) = raw_tlv(after)?;
    let (validity, after) = expect(after, SEQUENCE)?;
    let (subject, after) = raw_tlv(after)?;
    let (spki, _) = expect(after, SEQUENCE)?;
    let (t1, nb, rest) = tlv(validity)?;
    let (t2, na, _) = tlv(rest)?;
    Some(Certificate {
        issuer: issuer.to_vec(),
        subject: subject.to_vec(),
        not_before_ms: time_ms(t1, nb)?,
        not_after_ms: time_ms(t2, na)?,
        key: public_key_info(spki)?,
    })
}

/// The PEM blocks of `text` as (label, DER), in order (RFC 7468 §2; text between blocks
/// is ignored, as RFC 7468 allows). `None` when a block is unterminated or its base64 is
/// bad.
pub(crate) fn pem_blocks(text: &str) -> Option<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..)?;
        let label_end = after.find("-----")?;
        let label = after.get(..label_end)?.to_owned();
        let body = after.get(label_end + 5..)?;
        let end_marker = format!("-----END {label}-----");
        let end = body.find(&end_marker)?;
        let b64: String = body
            .get(..end)?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        out.push((label, der));
        rest = body.get(end + end_marker.len()..)?;
    }
    Some(out)
}

/// The certificates of a PEM text holding only `CERTIFICATE` blocks; `None` when there is
/// none, another block, or one that does not parse.
pub(crate) fn pem_certificates(text: &str) -> Option<Vec<Certificate>> {
    let blocks = pem_blocks(text)?;
    if blocks.is_empty() {
        return None;
    }
    blocks
        .iter()
        .map(|(label, der)| {
            (label == "CERTIFICATE")
                .then(|| parse_certificate(der))
                .flatten()
        })
        .collect()
}

/// The DER of each `CERTIFICATE` block (for comparing certificates as uploaded).
pub(crate) fn pem_certificate_ders(text: &str) -> Vec<Vec<u8>> {
    pem_blocks(text)
        .unwrap_or_default()
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect()
}

/// `RSAPrivateKey` (RFC 8017 §A.1.2): version, modulus, public exponent, …
fn rsa_private(der: &[u8]) -> Option<PublicKey> {
    let (seq, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(seq, INTEGER)?;
    let (n, rest) = expect(rest, INTEGER)?;
    let (e, rest) = expect(rest, INTEGER)?;
    // privateExponent: present, or this is not a private key.
    expect(rest, INTEGER)?;
    Some(PublicKey::Rsa(RsaKey {
        n: unsigned(n),
        e: unsigned(e),
    }))
}

/// `ECPrivateKey` (RFC 5915 §3): version 1, the private key, `[0]` parameters, `[1]` the
/// public key. Without `[1]` the public key is unknown here (`point` empty): deriving it
/// needs curve arithmetic.
fn ec_private(der: &[u8], curve: Option<&[u8]>) -> Option<PublicKey> {
    let (seq, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(seq, INTEGER)?;
    let (_key, mut rest) = expect(rest, OCTET_STRING)?;
    let mut curve = curve.map(<[u8]>::to_vec);
    let mut point = Vec::new();
    while let Some((tag, contents, after)) = tlv(rest) {
        match tag {
            0xa0 => curve = Some(expect(contents, OID)?.0.to_vec()),
            0xa1 => {
                let (bits, _) = expect(contents, BIT_STRING)?;
                point = bits.split_first()?.1.to_vec();
            }
            _ => {}
        }
        rest = after;
    }
    Some(PublicKey::Ec {
        curve: curve?,
        point,
    })
}

/// `PrivateKeyInfo` (RFC 5208 §5): version, algorithm, the key as an octet string.
fn pkcs8_private(der: &[u8]) -> Option<PublicKey> {
    let (seq, _) = expect(der, SEQUENCE)?;
    let (_version, rest) = expect(seq, INTEGER)?;
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (key, _) = expect(rest, OCTET_STRING)?;
    let (oid, params) = expect(algorithm, OID)?;
    if oid == RSA_ENCRYPTION {
        return rsa_private(key);
    }
    if oid == EC_PUBLIC_KEY {
        let curve = expect(params, OID).map(|(c, _)| c);
        return ec_private(key, curve);
    }
    None
}

/// Why a private key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// Not one PEM private key IAM reads.
    Malformed,
    /// `ENCRYPTED PRIVATE KEY`, or PKCS #1 with `Proc-Type: 4,ENCRYPTED` headers.
    Encrypted,
}

/// The public half of the one unencrypted PEM private key in `text`: `RSA PRIVATE KEY`,
/// `PRIVATE KEY` (RSA or EC) or `EC PRIVATE KEY`.
pub(crate) fn private_key_public_half(text: &str) -> Result<PublicKey, KeyError> {
    if text.contains("ENCRYPTED") {
        return Err(KeyError::Encrypted);
    }
    let blocks: Vec<(String, Vec<u8>)> = pem_blocks(text)
        .ok_or(KeyError::Malformed)?
        .into_iter()
        // OpenSSL writes `EC PARAMETERS` before an `EC PRIVATE KEY` by default.
        .filter(|(label, _)| label != "EC PARAMETERS")
        .collect();
    let [(label, der)] = blocks.as_slice() else {
        return Err(KeyError::Malformed);
    };
    match label.as_str() {
        "RSA PRIVATE KEY" => rsa_private(der),
        "PRIVATE KEY" => pkcs8_private(der),
        "EC PRIVATE KEY" => ec_private(der, None),
        _ => None,
    }
    .ok_or(KeyError::Malformed)
}

/// Whether a private key's public half is the certificate's key. An EC key without its
/// public point cannot be matched here and does not match.
pub(crate) fn key_matches(cert: &PublicKey, private: &PublicKey) -> bool {
    let unknown = matches!(private, PublicKey::Ec { point, .. } if point.is_empty());
    !unknown && cert == private
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_times_follow_rfc_5280() {
        assert_eq!(time_ms(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time_ms(UTC_TIME, b"491231235959Z"), Some(2_524_607_999_000));
        assert_eq!(
            time_ms(GENERALIZED_TIME, b"20500101000000Z"),
            Some(2_524_608_000_000)
        );
        assert_eq!(time_ms(UTC_TIME, b"700101000000"), None);
        assert_eq!(time_ms(UTC_TIME, b"701301000000Z"), None);
    }

    #[test]
    fn pem_blocks_need_their_end_line_and_good_base64() {
        let ok = "junk\n-----BEGIN X-----\nAAEC\n-----END X-----\n";
        assert_eq!(
            pem_blocks(ok),
            Some(vec![("X".to_owned(), vec![0u8, 1, 2])])
        );
        assert_eq!(pem_blocks("-----BEGIN X-----\nAAEC\n"), None);
        assert_eq!(pem_blocks("-----BEGIN X-----\n!!\n-----END X-----"), None);
        assert_eq!(pem_blocks("no pem here"), Some(Vec::new()));
        assert_eq!(pem_certificates("no pem here"), None);
    }

    #[test]
    fn hostile_der_is_refused() {
        assert!(parse_certificate(&[]).is_none());
        assert!(parse_certificate(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(parse_certificate(&[0x30, 0x00]).is_none());
        assert!(
            private_key_public_half("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----")
                .is_err()
        );
    }
}
