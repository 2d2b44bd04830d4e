//! RFC 4648 base32 (`[A-Z2-7]`), no padding: MFA seeds, and the bits inside access key IDs.

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn char_of(v: u32) -> char {
    BASE32
        .get(usize::try_from(v & 31).unwrap_or(0))
        .map_or('A', |&c| char::from(c))
}

/// RFC 4648 base32, no padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = ((buf << 8) | u32::from(b)) & 0xffff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char_of(buf >> bits));
        }
    }
    if bits > 0 {
        out.push(char_of(buf << (5 - bits)));
    }
    out
}

/// RFC 4648 base32 (case-insensitive, padding ignored); `None` for another character.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for ch in text.trim_end_matches('=').chars() {
        let v = BASE32
            .iter()
            .position(|&c| char::from(c) == ch.to_ascii_uppercase())?;
        buf = ((buf << 5) | u32::try_from(v).ok()?) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(decode("0189").is_none());
        let seed = [7u8; 20];
        assert_eq!(decode(&encode(&seed)).unwrap(), seed);
    }
}
