//! Server-side AWS Signature Version 4 (`AWS4-HMAC-SHA256`) verification.
//!
//! Verification is split in two steps because the server must look a secret up — asynchronously,
//! in its store — between them:
//!
//! 1. [`parse`] reads the authentication data from the `Authorization` header or from the
//!    presigned-URL query parameters (`X-Amz-Algorithm`, …) and checks everything that needs
//!    neither a secret nor the clock: algorithm, required components, date format, credential
//!    shape, scope terminator, scope date = date of `X-Amz-Date`, `host` signed. Its [`Parsed`]
//!    result names the access key, the scope (used to route the request) and the session token.
//! 2. [`verify`] (or [`verify_with_signing_key`] with a key from a [`SigningKeyCache`]) checks the
//!    clock — `now` is passed in, nothing here reads the time or does I/O — then rebuilds the
//!    canonical request and string-to-sign and compares the HMAC in constant time.
//!
//! In between, the server should call [`check_scope`] with the region and service that will
//! handle the request, so that a signature made for one service is not accepted by another.
//!
//! The intermediate strings are public ([`canonical_request`], [`string_to_sign`],
//! [`signing_key`]) so tests can compare them with AWS's published vectors byte for byte.
//!
//! Canonicalisation follows AWS's rules for every service but S3 by default: the wire path is
//! normalised (dot segments, repeated slashes) and URI-encoded once more ("double encoding");
//! S3-style services set [`VerifyOptions::normalize_path`] and
//! [`VerifyOptions::double_encode_path`] to `false`. The canonical request is handled as bytes
//! because header values may legally carry non-UTF-8 octets.
//!
//! Not supported: SigV4a (ECDSA), streaming (`aws-chunked`) payloads, SigV2.

mod cache;
mod canonical;
mod error;
mod time;

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use cache::SigningKeyCache;
pub use error::{SigError, SigErrorKind};
pub use time::{format_amz_date, parse_amz_date};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm verified here.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every SigV4 credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";
/// The largest `X-Amz-Expires` AWS accepts (7 days).
pub const MAX_PRESIGNED_EXPIRES: u64 = 604_800;
/// `x-amz-content-sha256` value for a body that is not covered by the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// A request as received, borrowed from the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as sent on the wire (still percent-encoded), without the query.
    pub path: &'a str,
    /// The raw query string without `?`, possibly empty.
    pub query: &'a str,
    /// Headers in arrival order, names in any case; a repeated header appears repeatedly. Over
    /// HTTP/2 the caller must supply `host` (from `:authority`).
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The complete body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    fn headers_named(&self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        let headers = self.headers;
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    fn header(&self, name: &'a str) -> Option<&'a [u8]> {
        self.headers_named(name).next()
    }
}

/// Where the signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    Header,
    /// A presigned URL (`X-Amz-Algorithm`, `X-Amz-Credential`, … query parameters).
    Query,
}

/// The authentication data of a request, as found by [`parse`].
#[derive(Clone, PartialEq, Eq)]
pub struct Parsed {
    /// Where the signature was found.
    pub location: Location,
    /// The access key id from the credential.
    pub access_key_id: String,
    /// The scope date, `YYYYMMDD` (checked equal to the date part of the request time).
    pub date: String,
    /// The scope region.
    pub region: String,
    /// The scope service (signing name), e.g. `organizations`.
    pub service: String,
    /// The signed header names, lower-cased and sorted; always contains `host`.
    pub signed_headers: Vec<String>,
    /// The signature as sent (normally 64 lower-case hex digits).
    pub signature: String,
    /// The request time (`X-Amz-Date`, or the `Date` header), in Unix seconds.
    pub amz_date: i64,
    /// The request time as it enters the string-to-sign, e.g. `20150830T123600Z`.
    pub amz_date_iso: String,
    /// `X-Amz-Security-Token` (header or query), for temporary credentials. The server must check
    /// that it belongs to the access key.
    pub security_token: Option<String>,
    /// `X-Amz-Expires` of a presigned URL, in seconds (1..=604800).
    pub expires: Option<u64>,
}

impl Parsed {
    /// The credential scope, `<date>/<region>/<service>/aws4_request`.
    #[must_use]
    pub fn scope(&self) -> String {
        let mut out = String::with_capacity(
            self.date.len() + self.region.len() + self.service.len() + SCOPE_TERMINATOR.len() + 3,
        );
        self.push_scope(&mut out);
        out
    }

    fn push_scope(&self, out: &mut String) {
        for part in [&self.date, &self.region, &self.service] {
            out.push_str(part);
            out.push('/');
        }
        out.push_str(SCOPE_TERMINATOR);
    }
}

impl fmt::Debug for Parsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parsed")
            .field("location", &self.location)
            .field("access_key_id", &self.access_key_id)
            .field("date", &self.date)
            .field("region", &self.region)
            .field("service", &self.service)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .field("amz_date_iso", &self.amz_date_iso)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

/// Per-service canonicalisation and policy settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Remove dot segments and merge repeated slashes in the path before encoding (every AWS
    /// service except S3).
    pub normalize_path: bool,
    /// URI-encode the wire path once more (every AWS service except S3); when `false`, escapes
    /// are decoded and re-encoded instead.
    pub double_encode_path: bool,
    /// Allowed distance between the request time and `now`, in seconds, for header
    /// authentication and for the start of a presigned URL's validity. AWS: 900.
    pub max_skew_secs: i64,
    /// Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body is then not covered by the
    /// signature). AWS accepts it.
    pub allow_unsigned_payload: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            normalize_path: true,
            double_encode_path: true,
            max_skew_secs: 900,
            allow_unsigned_payload: true,
        }
    }
}

/// Finds and checks the request's authentication data: the `Authorization` header or the
/// presigned-URL query parameters.
///
/// # Errors
/// [`SigErrorKind::MissingAuthenticationToken`] when there is neither; otherwise
/// [`SigErrorKind::IncompleteSignature`] or [`SigErrorKind::SignatureDoesNotMatch`] with AWS's
/// message for the first problem found.
pub fn parse(req: &Request<'_>) -> Result<Parsed, SigError> {
    let auth = req.header("authorization");
    let presigned = canonical::query_pairs(req.query)
        .any(|(k, _)| canonical::percent_decode(k) == b"X-Amz-Algorithm");
    match (auth, presigned) {
        (Some(_), true) => Err(SigError::incomplete(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the \
             Authorization header should be specified",
        )),
        (Some(value), false) => parse_header_auth(req, value),
        (None, true) => parse_query_auth(req),
        (None, false) => Err(SigError::missing_token()),
    }
}

fn non_empty(v: Option<&str>) -> Option<&str> {
    v.filter(|v| !v.is_empty())
}

fn parse_header_auth(req: &Request<'_>, value: &[u8]) -> Result<Parsed, SigError> {
    // `from_utf8` first: the lossy decoder's chunk iterator is several times slower on the
    // (normal) all-ASCII header.
    let value = match std::str::from_utf8(value) {
        Ok(v) => std::borrow::Cow::Borrowed(v),
        Err(_) => String::from_utf8_lossy(value),
    };
    let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if value.is_empty() {
        return Err(SigError::missing_token());
    }
    let (algorithm, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(SigError::incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'."
        )));
    }
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((key, val)) = part.split_once('=') else {
            return Err(SigError::incomplete(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{value}'"
            )));
        };
        let slot = match key.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(val.trim());
        }
    }
    let (credential, signed_headers, signature) = (
        non_empty(credential),
        non_empty(signed_headers),
        non_empty(signature),
    );
    let amz_date = req.header("x-amz-date");
    let date = amz_date.or_else(|| req.header("date"));

    let mut missing = String::new();
    for (present, name) in [
        (credential.is_some(), "Credential"),
        (signature.is_some(), "Signature"),
        (signed_headers.is_some(), "SignedHeaders"),
    ] {
        if !present {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed_headers), Some(signature), Some(date)) =
        (credential, signed_headers, signature, date)
    else {
        return Err(SigError::incomplete(format!(
            "{missing}Authorization={algorithm}"
        )));
    };

    let signed_headers = parse_signed_headers(signed_headers)?;
    let date = String::from_utf8_lossy(date);
    let date = date.trim();
    let timestamp = if amz_date.is_some() {
        parse_amz_date(date)
    } else {
        time::parse_http_date(date)
    };
    let Some(timestamp) = timestamp else {
        return Err(bad_date(date));
    };
    let amz_date_iso = if amz_date.is_some() {
        date.to_owned()
    } else {
        format_amz_date(timestamp)
    };
    let security_token = req
        .header("x-amz-security-token")
        .map(|t| String::from_utf8_lossy(t).trim().to_owned());
    finish(
        Location::Header,
        credential,
        signed_headers,
        signature,
        timestamp,
        amz_date_iso,
        security_token,
        None,
    )
}

fn parse_query_auth(req: &Request<'_>) -> Result<Parsed, SigError> {
    let mut found: [Option<String>; 7] = Default::default();
    const NAMES: [&str; 7] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
    ];
    for (key, value) in canonical::query_pairs(req.query) {
        let key = canonical::percent_decode(key);
        if let Some(slot) = NAMES
            .iter()
            .position(|n| n.as_bytes() == key.as_slice())
            .and_then(|i| found.get_mut(i))
            && slot.is_none()
        {
            *slot = Some(String::from_utf8_lossy(&canonical::percent_decode(value)).into_owned());
        }
    }
    let [
        algorithm,
        credential,
        signature,
        signed_headers,
        date,
        expires,
        token,
    ] = found;

    let mut missing = String::new();
    for (value, name) in [
        (&algorithm, NAMES[0]),
        (&credential, NAMES[1]),
        (&signature, NAMES[2]),
        (&signed_headers, NAMES[3]),
        (&date, NAMES[4]),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "AWS query-string parameters must include '{name}'. "
            ));
        }
    }
    // `missing` also lists parameters present with an empty value.
    let (Some(algorithm), Some(credential), Some(signature), Some(signed_headers), Some(date)) =
        (algorithm, credential, signature, signed_headers, date)
    else {
        return Err(SigError::incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    };
    if !missing.is_empty() {
        return Err(SigError::incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    }
    if algorithm != ALGORITHM {
        return Err(SigError::incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'."
        )));
    }
    let signed_headers = parse_signed_headers(&signed_headers)?;
    let Some(timestamp) = parse_amz_date(&date) else {
        return Err(bad_date(&date));
    };
    let expires = match expires {
        None => None,
        Some(e) => {
            let Ok(secs) = e.parse::<u64>() else {
                return Err(SigError::incomplete(format!(
                    "X-Amz-Expires should be a number, got '{e}'."
                )));
            };
            if secs == 0 {
                return Err(SigError::incomplete("X-Amz-Expires must be positive."));
            }
            if secs > MAX_PRESIGNED_EXPIRES {
                return Err(SigError::incomplete(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is \
                     {MAX_PRESIGNED_EXPIRES}."
                )));
            }
            Some(secs)
        }
    };
    finish(
        Location::Query,
        &credential,
        signed_headers,
        &signature,
        timestamp,
        date,
        token,
        expires,
    )
}

fn bad_date(date: &str) -> SigError {
    SigError::incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{date}'. See \
         http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// Lower-cases, sorts and de-duplicates the signed header list; requires `host`.
fn parse_signed_headers(list: &str) -> Result<Vec<String>, SigError> {
    let mut names = Vec::new();
    for name in list.split(';') {
        let name = name.trim();
        if name.is_empty() {
            return Err(SigError::incomplete(format!(
                "SignedHeaders must be a ';'-separated list of header names, got '{list}'."
            )));
        }
        names.push(name.to_ascii_lowercase());
    }
    names.sort_unstable();
    names.dedup();
    if !names.iter().any(|n| n == "host") {
        return Err(SigError::does_not_match(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(names)
}

#[allow(
    clippy::too_many_arguments,
    reason = "each argument is one already-parsed piece of the signature"
)]
fn finish(
    location: Location,
    credential: &str,
    signed_headers: Vec<String>,
    signature: &str,
    amz_date: i64,
    amz_date_iso: String,
    security_token: Option<String>,
    expires: Option<u64>,
) -> Result<Parsed, SigError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts.as_slice() else {
        return Err(malformed_credential(credential));
    };
    if access_key_id.is_empty() {
        return Err(malformed_credential(credential));
    }
    let mut problems = String::new();
    if *terminator != SCOPE_TERMINATOR {
        problems.push_str(&format!(
            "Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not \
             '{terminator}'. "
        ));
    }
    let request_date = amz_date_iso.get(..8).unwrap_or_default();
    if *date != request_date {
        problems.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '{date}' != '{request_date}', from '{amz_date_iso}'. "
        ));
    }
    if !problems.is_empty() {
        return Err(SigError::does_not_match(problems.trim_end()));
    }
    Ok(Parsed {
        location,
        access_key_id: (*access_key_id).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
        signed_headers,
        signature: signature.to_owned(),
        amz_date,
        amz_date_iso,
        security_token,
        expires,
    })
}

fn malformed_credential(credential: &str) -> SigError {
    SigError::incomplete(format!(
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got '{credential}'"
    ))
}

/// Checks that the credential scope names the region and service that handle the request.
///
/// # Errors
/// [`SigErrorKind::SignatureDoesNotMatch`] with AWS's "Credential should be scoped to …" text.
pub fn check_scope(parsed: &Parsed, region: &str, service: &str) -> Result<(), SigError> {
    let mut problems = String::new();
    if parsed.region != region {
        problems.push_str(&format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            parsed.region
        ));
    }
    if parsed.service != service {
        problems.push_str(&format!(
            "Credential should be scoped to correct service: '{service}'. "
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SigError::does_not_match(problems.trim_end()))
    }
}

fn skew_text(secs: i64) -> String {
    if secs % 60 == 0 {
        format!("{} min.", secs / 60)
    } else {
        format!("{secs} sec.")
    }
}

/// Checks the request time against `now_unix`: within `max_skew_secs` either way for header
/// authentication; for a presigned URL, not before `X-Amz-Date - max_skew_secs` and not after
/// `X-Amz-Date + X-Amz-Expires` (without `X-Amz-Expires`, the header rule applies).
///
/// # Errors
/// [`SigErrorKind::RequestExpired`] with AWS's message.
pub fn check_time(parsed: &Parsed, now_unix: i64, opts: &VerifyOptions) -> Result<(), SigError> {
    let skew = opts.max_skew_secs.max(0);
    let t = parsed.amz_date;
    if t.saturating_sub(skew) > now_unix {
        return Err(SigError::new(
            SigErrorKind::RequestExpired,
            format!(
                "Signature not yet current: {} is still later than {} ({} + {})",
                parsed.amz_date_iso,
                format_amz_date(now_unix.saturating_add(skew)),
                format_amz_date(now_unix),
                skew_text(skew)
            ),
        ));
    }
    match (parsed.location, parsed.expires) {
        (Location::Query, Some(expires)) => {
            let expires = i64::try_from(expires).unwrap_or(i64::MAX);
            if now_unix > t.saturating_add(expires) {
                return Err(SigError::new(
                    SigErrorKind::RequestExpired,
                    "Request has expired",
                ));
            }
        }
        _ => {
            if t.saturating_add(skew) < now_unix {
                return Err(SigError::new(
                    SigErrorKind::RequestExpired,
                    format!(
                        "Signature expired: {} is now earlier than {} ({} - {})",
                        parsed.amz_date_iso,
                        format_amz_date(now_unix.saturating_sub(skew)),
                        format_amz_date(now_unix),
                        skew_text(skew)
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn sha256_hex(data: &[u8]) -> String {
    let mut hex = [0u8; 64];
    hex_sha256(data, &mut hex).to_owned()
}

/// The lower-case hex SHA-256 of `data`, written into `buf`.
fn hex_sha256<'b>(data: &[u8], buf: &'b mut [u8; 64]) -> &'b str {
    let digest = Sha256::digest(data);
    // 32 bytes always fit 64 hex digits, and hex digits are ASCII.
    if hex::encode_to_slice(digest, buf).is_err() {
        return "";
    }
    std::str::from_utf8(buf).unwrap_or_default()
}

/// The payload line of the canonical request: the `x-amz-content-sha256` header when present
/// (checked against the body), else the hex SHA-256 of the body.
fn payload_hash(req: &Request<'_>, opts: &VerifyOptions) -> Result<String, SigError> {
    let Some(declared) = req.header("x-amz-content-sha256") else {
        return Ok(sha256_hex(req.body));
    };
    let declared = String::from_utf8_lossy(declared);
    let declared = declared.trim();
    if declared == UNSIGNED_PAYLOAD {
        if opts.allow_unsigned_payload {
            return Ok(declared.to_owned());
        }
        return Err(SigError::new(
            SigErrorKind::InvalidArgument,
            "x-amz-content-sha256 must be a valid sha256 value; UNSIGNED-PAYLOAD is not accepted.",
        ));
    }
    if declared.len() != 64 || !declared.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SigError::new(
            SigErrorKind::InvalidArgument,
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.",
        ));
    }
    let actual = sha256_hex(req.body);
    if !declared.eq_ignore_ascii_case(&actual) {
        return Err(SigError::new(
            SigErrorKind::XAmzContentSha256Mismatch,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    Ok(declared.to_owned())
}

/// Builds the canonical request:
/// `method \n canonical URI \n canonical query \n canonical headers \n signed headers \n payload`.
///
/// # Errors
/// [`SigErrorKind::InvalidArgument`] / [`SigErrorKind::XAmzContentSha256Mismatch`] for an
/// unacceptable `x-amz-content-sha256` header.
pub fn canonical_request(
    req: &Request<'_>,
    parsed: &Parsed,
    opts: &VerifyOptions,
) -> Result<Vec<u8>, SigError> {
    let payload = payload_hash(req, opts)?;
    let uri = canonical::canonical_uri(req.path, opts.normalize_path, opts.double_encode_path);
    let query = canonical::canonical_query(req.query, parsed.location == Location::Query);

    let mut out = Vec::with_capacity(256 + uri.len() + query.len() + req.headers.len() * 48);
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(query.as_bytes());
    out.push(b'\n');
    for name in &parsed.signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, value) in req.headers_named(name).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            canonical::push_trimmed_value(&mut out, value);
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(parsed.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload.as_bytes());
    Ok(out)
}

/// Builds the string-to-sign: algorithm, request time, scope, hex SHA-256 of the canonical request.
#[must_use]
pub fn string_to_sign(parsed: &Parsed, canonical_request: &[u8]) -> String {
    // Pushed piece by piece: this runs on every signed request, and `format!` was a
    // measurable share of verification.
    let mut hex = [0u8; 64];
    let digest = hex_sha256(canonical_request, &mut hex);
    let mut out = String::with_capacity(
        ALGORITHM.len()
            + parsed.amz_date_iso.len()
            + parsed.date.len()
            + parsed.region.len()
            + parsed.service.len()
            + SCOPE_TERMINATOR.len()
            + digest.len()
            + 6,
    );
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(&parsed.amz_date_iso);
    out.push('\n');
    parsed.push_scope(&mut out);
    out.push('\n');
    out.push_str(digest);
    out
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never fails.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // Only reachable if HMAC ever rejected a key length; fall back to a fixed empty key, which
    // can only make verification fail, never succeed spuriously.
    <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default())
}

/// Derives the signing key:
/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
#[must_use]
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret_access_key.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret_access_key.as_bytes());
    let k_date = hmac(&k_secret, date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, SCOPE_TERMINATOR.as_bytes())
}

/// Verifies the request's signature with the secret of `parsed.access_key_id`.
///
/// # Errors
/// [`SigErrorKind::RequestExpired`] for a request outside its time window,
/// [`SigErrorKind::SignatureDoesNotMatch`] for a wrong signature, and the payload errors of
/// [`canonical_request`].
pub fn verify(
    req: &Request<'_>,
    parsed: &Parsed,
    secret_access_key: &str,
    now_unix: i64,
    opts: &VerifyOptions,
) -> Result<(), SigError> {
    check_time(parsed, now_unix, opts)?;
    let key = signing_key(
        secret_access_key,
        &parsed.date,
        &parsed.region,
        &parsed.service,
    );
    verify_signature(req, parsed, &key, opts)
}

/// Like [`verify`], with a signing key already derived (see [`SigningKeyCache`]).
///
/// # Errors
/// As [`verify`].
pub fn verify_with_signing_key(
    req: &Request<'_>,
    parsed: &Parsed,
    signing_key: &[u8; 32],
    now_unix: i64,
    opts: &VerifyOptions,
) -> Result<(), SigError> {
    check_time(parsed, now_unix, opts)?;
    verify_signature(req, parsed, signing_key, opts)
}

fn verify_signature(
    req: &Request<'_>,
    parsed: &Parsed,
    signing_key: &[u8; 32],
    opts: &VerifyOptions,
) -> Result<(), SigError> {
    let creq = canonical_request(req, parsed, opts)?;
    let sts = string_to_sign(parsed, &creq);
    let mut provided = [0u8; 32];
    let decoded = hex::decode_to_slice(&parsed.signature, &mut provided).is_ok();
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(signing_key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(sts.as_bytes());
    // `verify_slice` compares in constant time.
    if decoded && mac.verify_slice(&provided).is_ok() {
        Ok(())
    } else {
        Err(SigError::mismatch(creq, sts))
    }
}

/// Computes the hex signature of a string-to-sign (used by tests and by clients of Cairn itself).
#[must_use]
pub fn sign(signing_key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(signing_key, string_to_sign.as_bytes()))
}

/// Signs a request as a client (Cairn's own S3 client): answers the `Authorization` header
/// value for `method`, the wire `path` and `query`, the `headers` to sign (names lower-case,
/// `host`, `x-amz-date` and `x-amz-content-sha256` — the body's hex SHA-256 — among them)
/// and the `body`. `amz_date` is the `x-amz-date` value
/// (`YYYYMMDDTHHMMSSZ`). S3's canonicalisation: the path is neither normalised nor encoded
/// twice.
#[must_use]
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of a signature, each distinct"
)]
pub fn client_authorization(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
    access_key_id: &str,
    secret_access_key: &str,
    region: &str,
    service: &str,
    amz_date: &str,
) -> String {
    let mut signed: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    signed.sort();
    signed.dedup();
    let date = amz_date.get(..8).unwrap_or_default().to_owned();
    let parsed = Parsed {
        location: Location::Header,
        access_key_id: access_key_id.to_owned(),
        date: date.clone(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed.clone(),
        signature: String::new(),
        amz_date: time::parse_amz_date(amz_date).unwrap_or_default(),
        amz_date_iso: amz_date.to_owned(),
        security_token: None,
        expires: None,
    };
    let req = Request {
        method,
        path,
        query,
        headers,
        body,
    };
    let opts = VerifyOptions {
        normalize_path: false,
        double_encode_path: false,
        ..VerifyOptions::default()
    };
    let creq = canonical_request(&req, &parsed, &opts).unwrap_or_default();
    let sts = string_to_sign(&parsed, &creq);
    let key = signing_key(secret_access_key, &date, region, service);
    format!(
        "{ALGORITHM} Credential={access_key_id}/{}, SignedHeaders={}, Signature={}",
        parsed.scope(),
        signed.join(";"),
        sign(&key, &sts)
    )
}

#[cfg(test)]
mod client_tests {
    use super::*;

    /// A request signed by [`client_authorization`] verifies.
    #[test]
    fn client_signatures_verify() {
        let body = b"hello";
        let sha = sha256_hex(body);
        let headers: Vec<(&str, &[u8])> = vec![
            ("host", b"127.0.0.1:9000"),
            ("x-amz-content-sha256", sha.as_bytes()),
            ("x-amz-date", b"20260101T000000Z"),
            ("x-amz-meta-signature", b"abc"),
        ];
        let auth = client_authorization(
            "PUT",
            "/bucket/a/b%20c.json.gz",
            "",
            &headers,
            body,
            "AKIDEXAMPLE",
            "secret",
            "us-east-1",
            "s3",
            "20260101T000000Z",
        );
        let mut all = headers.clone();
        all.push(("authorization", auth.as_bytes()));
        let req = Request {
            method: "PUT",
            path: "/bucket/a/b%20c.json.gz",
            query: "",
            headers: &all,
            body,
        };
        let parsed = parse(&req).unwrap();
        let opts = VerifyOptions {
            normalize_path: false,
            double_encode_path: false,
            ..VerifyOptions::default()
        };
        verify(&req, &parsed, "secret", parsed.amz_date, &opts).unwrap();
    }
}
