//! Canonicalisation helpers: URI encoding, path normalisation, query and header canonical forms.

use std::fmt::Write as _;

/// RFC 3986 unreserved characters, which SigV4 never encodes.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `bytes` URI-encoded the SigV4 way: unreserved bytes literal, `/` literal when
/// `keep_slash`, everything else `%XX` with upper-case hex.
pub(crate) fn uri_encode_into(out: &mut String, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `%XX` escapes. A `%` not followed by two hex digits is kept literally (as the AWS SDK
/// signers do); `+` is kept literally too (RFC 3986, not form encoding).
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Removes dot segments (RFC 3986 §5.2.4) and merges repeated slashes, the way AWS SDKs
/// normalise the path before signing for every service except S3.
pub(crate) fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let trailing_slash = path.ends_with('/') || path.ends_with("/.") || path.ends_with("/..");
    let mut out = String::with_capacity(path.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if segments.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// The canonical URI.
///
/// * `double_encode` (every AWS service except S3): the path *as sent on the wire* is URI-encoded
///   once more, so an escape `%3A` becomes `%253A`. Raw bytes that should have been escaped on the
///   wire (a space, UTF-8) are encoded as well.
/// * single encoding (S3): escapes are decoded and the result re-encoded, which yields the path as a
///   correct client sent it, with upper-case hex.
pub(crate) fn canonical_uri(path: &str, normalize: bool, double_encode: bool) -> String {
    let normalized;
    let path = if normalize {
        normalized = normalize_path(path);
        normalized.as_str()
    } else if path.is_empty() {
        "/"
    } else {
        path
    };
    let mut out = String::with_capacity(path.len() + 16);
    if double_encode {
        uri_encode_into(&mut out, path.as_bytes(), true);
    } else {
        uri_encode_into(&mut out, &percent_decode(path), true);
    }
    out
}

/// Splits a raw query string into raw `(key, value)` pairs; empty pieces are skipped and a piece
/// without `=` has an empty value.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
}

/// The canonical query string: every parameter decoded and re-encoded, sorted by encoded key
/// then encoded value. With `exclude_signature`, `X-Amz-Signature` is left out (presigned form).
pub(crate) fn canonical_query(query: &str, exclude_signature: bool) -> String {
    let mut params: Vec<(String, String)> = Vec::new();
    for (key, value) in query_pairs(query) {
        let key = percent_decode(key);
        if exclude_signature && key == b"X-Amz-Signature" {
            continue;
        }
        let mut k = String::with_capacity(key.len());
        uri_encode_into(&mut k, &key, false);
        let mut v = String::with_capacity(value.len());
        uri_encode_into(&mut v, &percent_decode(value), false);
        params.push((k, v));
    }
    params.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

fn is_header_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Appends one header value in canonical form: leading and trailing whitespace removed, inner
/// runs of whitespace (including obs-fold line breaks) collapsed to one space.
pub(crate) fn push_trimmed_value(out: &mut Vec<u8>, value: &[u8]) {
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if is_header_space(b) {
            pending_space = started;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
            started = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation() {
        for (input, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/a/../../b", "/b"),
            ("/a/.b/..c", "/a/.b/..c"),
        ] {
            assert_eq!(normalize_path(input), expected, "{input:?}");
        }
    }

    #[test]
    fn uri_double_and_single() {
        assert_eq!(canonical_uri("/a b/ሴ", true, true), "/a%20b/%E1%88%B4");
        assert_eq!(canonical_uri("/my%3Afn/x", true, true), "/my%253Afn/x");
        assert_eq!(canonical_uri("/my%3afn/%7E", false, false), "/my%3Afn/~");
        assert_eq!(canonical_uri("", false, true), "/");
    }

    #[test]
    fn query() {
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("b=2&a=1&a=0", false), "a=0&a=1&b=2");
        assert_eq!(canonical_query("a&b=", false), "a=&b=");
        assert_eq!(canonical_query("k=a+b%20c%2x", false), "k=a%2Bb%20c%252x");
        assert_eq!(canonical_query("X-Amz-Signature=1&x=2", true), "x=2");
        assert_eq!(
            canonical_query("X-Amz-Signature=1&x=2", false),
            "X-Amz-Signature=1&x=2"
        );
    }

    #[test]
    fn header_values() {
        let mut out = Vec::new();
        push_trimmed_value(&mut out, b"  a \t  b\n   c  ");
        assert_eq!(out, b"a b c");
        out.clear();
        push_trimmed_value(&mut out, b"   ");
        assert_eq!(out, b"");
    }
}
