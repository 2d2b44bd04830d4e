//! Typed readings of condition values: decimal numbers, dates, booleans, IP ranges.
//! None of these allocate; they run during evaluation on the request's values.

use std::net::IpAddr;

/// A decimal number, exact to 18 fractional digits: the value times 10^18.
pub(crate) type Decimal = i128;

const SCALE_DIGITS: u32 = 18;

/// Reads `[+-]digits[.digits]` (or `.digits`, `digits.`). Fraction digits beyond the 18th are
/// ignored. `None` for anything else (exponents, spaces, empty) or out of range (|x| ≳ 1.7e20).
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value: i128 = 0;
    for b in int_part.bytes() {
        let d = digit(b)?;
        value = value.checked_mul(10)?.checked_add(d)?;
    }
    let mut frac: i128 = 0;
    let mut used = 0u32;
    for b in frac_part.bytes() {
        let d = digit(b)?;
        if used < SCALE_DIGITS {
            frac = frac * 10 + d;
            used += 1;
        }
    }
    let frac = frac * 10i128.pow(SCALE_DIGITS - used);
    let scaled = value
        .checked_mul(10i128.pow(SCALE_DIGITS))?
        .checked_add(frac)?;
    Some(if negative { -scaled } else { scaled })
}

fn digit(b: u8) -> Option<i128> {
    if b.is_ascii_digit() {
        Some(i128::from(b - b'0'))
    } else {
        None
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) type Instant = i128;

const NANOS: i128 = 1_000_000_000;

/// Reads a date as the `Date…` operators do: epoch seconds (`1577836800`, optionally with a
/// fraction) or W3C ISO 8601 — `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.s…]]`
/// with `Z`, `±hh:mm`, `±hhmm` or no zone (UTC).
pub(crate) fn parse_date(text: &str) -> Option<Instant> {
    let b = text.as_bytes();
    if b.is_empty() {
        return None;
    }
    let looks_epoch = !text.contains(['-', ':', 'T', 't', 'Z', 'z']) || text.starts_with('-');
    if looks_epoch && !(b.len() == 4 && b.iter().all(u8::is_ascii_digit)) {
        let d = parse_decimal(text)?;
        // Decimal is scaled by 1e18; nanoseconds need 1e9.
        return Some(d / 1_000_000_000);
    }
    parse_iso8601(text)
}

fn parse_iso8601(text: &str) -> Option<Instant> {
    let mut cur = Cursor {
        s: text.as_bytes(),
        at: 0,
    };
    let year = cur.digits(4)?;
    let mut month = 1;
    let mut day = 1;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0i128);
    let mut offset_secs: i64 = 0;
    if cur.eat(b'-') {
        month = cur.digits(2)?;
        if cur.eat(b'-') {
            day = cur.digits(2)?;
            if cur.eat(b'T') || cur.eat(b't') {
                hour = cur.digits(2)?;
                if !cur.eat(b':') {
                    return None;
                }
                minute = cur.digits(2)?;
                if cur.eat(b':') {
                    second = cur.digits(2)?;
                    if cur.eat(b'.') {
                        let mut n: i128 = 0;
                        let mut used = 0u32;
                        let mut any = false;
                        while let Some(d) = cur.peek_digit() {
                            any = true;
                            cur.at += 1;
                            if used < 9 {
                                n = n * 10 + i128::from(d);
                                used += 1;
                            }
                        }
                        if !any {
                            return None;
                        }
                        nanos = n * 10i128.pow(9 - used);
                    }
                }
                if cur.eat(b'Z') || cur.eat(b'z') {
                } else if let Some(sign) = cur.sign() {
                    let oh = cur.digits(2)?;
                    cur.eat(b':');
                    let om = cur.digits(2)?;
                    if oh > 23 || om > 59 {
                        return None;
                    }
                    offset_secs = sign * (i64::from(oh) * 3600 + i64::from(om) * 60);
                }
            }
        }
    }
    if cur.at != cur.s.len() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?)
            .ok()?;
    // Julian day 2440588 is 1970-01-01.
    let days = i64::from(date.to_julian_day()) - 2_440_588;
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
        - offset_secs;
    Some(i128::from(secs) * NANOS + nanos)
}

struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.at) == Some(&b) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn sign(&mut self) -> Option<i64> {
        if self.eat(b'+') {
            Some(1)
        } else if self.eat(b'-') {
            Some(-1)
        } else {
            None
        }
    }

    fn peek_digit(&self) -> Option<u8> {
        self.s
            .get(self.at)
            .filter(|b| b.is_ascii_digit())
            .map(|b| b - b'0')
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = self.peek_digit()?;
            self.at += 1;
            v = v * 10 + u32::from(d);
        }
        Some(v)
    }
}

/// `true`/`false`, any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IPv4 or IPv6 range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cidr {
    V4 { net: u32, mask: u32 },
    V6 { net: u128, mask: u128 },
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128). Host bits in the
    /// address are ignored, as AWS does.
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: Option<u32> = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse().ok()?)
            }
            Some(_) => return None,
            None => None,
        };
        match addr {
            IpAddr::V4(a) => {
                let bits = prefix.unwrap_or(32);
                if bits > 32 {
                    return None;
                }
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                Some(Cidr::V4 {
                    net: u32::from(a) & mask,
                    mask,
                })
            }
            IpAddr::V6(a) => {
                let bits = prefix.unwrap_or(128);
                if bits > 128 {
                    return None;
                }
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                Some(Cidr::V6 {
                    net: u128::from(a) & mask,
                    mask,
                })
            }
        }
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (self, ip) {
            (Cidr::V4 { net, mask }, IpAddr::V4(a)) => u32::from(a) & mask == *net,
            (Cidr::V6 { net, mask }, IpAddr::V6(a)) => u128::from(a) & mask == *net,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    const E18: i128 = 1_000_000_000_000_000_000;

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("10"), Some(10 * E18));
        assert_eq!(parse_decimal("-1.5"), Some(-15 * E18 / 10));
        assert_eq!(parse_decimal("+.25"), Some(E18 / 4));
        assert_eq!(parse_decimal("3."), Some(3 * E18));
        assert_eq!(parse_decimal("1.0"), parse_decimal("1"));
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("."), None);
        assert_eq!(parse_decimal("1e3"), None);
        assert_eq!(parse_decimal(" 1"), None);
        assert_eq!(parse_decimal("-"), None);
        assert_eq!(parse_decimal("999999999999999999999999"), None);
        assert!(parse_decimal("0.1000000000000000001") == parse_decimal("0.1"));
    }

    #[test]
    fn dates() {
        let t = parse_date("2020-01-01T00:00:00Z").unwrap();
        assert_eq!(t, 1_577_836_800 * NANOS);
        assert_eq!(parse_date("1577836800"), Some(t));
        assert_eq!(parse_date("2020-01-01"), Some(t));
        assert_eq!(parse_date("2020-01"), Some(t));
        assert_eq!(parse_date("2020"), Some(t));
        assert_eq!(parse_date("2020-01-01T01:00:00+01:00"), Some(t));
        assert_eq!(parse_date("2019-12-31T19:00-05:00"), Some(t));
        assert_eq!(parse_date("2019-12-31T19:00:00-0500"), Some(t));
        assert_eq!(parse_date("2020-01-01T00:00:00"), Some(t));
        assert_eq!(parse_date("2020-01-01T00:00:00.5Z"), Some(t + NANOS / 2));
        assert_eq!(parse_date("1577836800.5"), Some(t + NANOS / 2));
        assert_eq!(parse_date("2020-02-30"), None);
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("2020-01-01T25:00Z"), None);
        assert_eq!(parse_date("2020-01-01T00Z"), None);
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
        assert_eq!(parse_date("1969-12-31T23:59:59Z"), Some(-NANOS));
    }

    #[test]
    fn bools() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("false"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn cidrs() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains(ip("203.0.113.77")));
        assert!(!c.contains(ip("203.0.114.1")));
        assert!(c.contains(ip("::ffff:203.0.113.9")));
        assert!(!c.contains(ip("2001:db8::1")));
        let c = Cidr::parse("10.1.2.3").unwrap();
        assert!(c.contains(ip("10.1.2.3")));
        assert!(!c.contains(ip("10.1.2.4")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        let c = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c.contains(ip("2001:db8:ffff::1")));
        assert!(!c.contains(ip("2001:db9::1")));
        assert!(!c.contains(ip("10.0.0.1")));
        assert!(Cidr::parse("::/0").unwrap().contains(ip("::1")));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("10.0.0.0/"), None);
        assert_eq!(Cidr::parse("10.0.0/8"), None);
        assert_eq!(Cidr::parse("host"), None);
        // Host bits are masked off.
        assert!(Cidr::parse("10.9.9.9/8").unwrap().contains(ip("10.0.0.1")));
    }
}
