//! Error kinds and AWS-style messages.

use cairn_sigv4::{
    Location, SigError, SigErrorKind, VerifyOptions, canonical_request, parse, parse_amz_date,
    sign, signing_key, string_to_sign,
};

use crate::{Owned, check};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AUTH_VANILLA: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/\
aws4_request, SignedHeaders=host;x-amz-date, \
Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
const PRESIGNED_VANILLA: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F\
20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=\
host&X-Amz-Expires=3600&X-Amz-Signature=\
e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d";

fn t(amz: &str) -> i64 {
    parse_amz_date(amz).unwrap()
}

/// The `get-vanilla` vector, header variant.
fn vanilla() -> Owned {
    Owned::new(
        "GET",
        "/",
        &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", AUTH_VANILLA),
        ],
        b"",
    )
}

/// The `get-vanilla` vector, presigned variant.
fn vanilla_presigned() -> Owned {
    Owned::new(
        "GET",
        &format!("/?{PRESIGNED_VANILLA}"),
        &[("Host", "example.amazonaws.com")],
        b"",
    )
}

fn with_auth(auth: &str) -> Owned {
    let mut r = vanilla();
    r.set_header("authorization", auth);
    r
}

fn parse_err(req: &Owned) -> SigError {
    req.with(parse).unwrap_err()
}

fn assert_err(err: &SigError, kind: SigErrorKind, message: &str) {
    assert_eq!(err.kind(), kind, "{err}");
    assert_eq!(err.message(), message);
}

#[test]
fn vanilla_verifies() {
    let opts = VerifyOptions::default();
    check(&vanilla(), SECRET, t("20150830T123600Z"), &opts).unwrap();
    let p = check(&vanilla_presigned(), SECRET, t("20150830T123600Z"), &opts).unwrap();
    assert_eq!(p.location, Location::Query);
}

#[test]
fn missing_authentication_token() {
    let mut r = vanilla();
    r.remove_header("authorization");
    let err = parse_err(&r);
    assert_err(
        &err,
        SigErrorKind::MissingAuthenticationToken,
        "Missing Authentication Token",
    );
    assert_eq!(err.kind().code(), "MissingAuthenticationToken");
    // X-Amz-* parameters without X-Amz-Algorithm do not make a presigned request either.
    r.query = "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request".into();
    assert_eq!(
        parse_err(&r).kind(),
        SigErrorKind::MissingAuthenticationToken
    );
}

#[test]
fn incomplete_authorization_header() {
    let mut r = with_auth("AWS4-HMAC-SHA256");
    r.remove_header("x-amz-date");
    assert_err(
        &parse_err(&r),
        SigErrorKind::IncompleteSignature,
        "Authorization header requires 'Credential' parameter. Authorization header requires \
         'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. \
         Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=AWS4-HMAC-SHA256",
    );
    assert_err(
        &parse_err(&with_auth(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
        )),
        SigErrorKind::IncompleteSignature,
        "Authorization header requires 'Signature' parameter. Authorization header requires \
         'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
    );
    assert_err(
        &parse_err(&with_auth(
            "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00",
        )),
        SigErrorKind::IncompleteSignature,
        "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256",
    );
    let mut r = vanilla();
    r.remove_header("x-amz-date");
    assert_err(
        &parse_err(&r),
        SigErrorKind::IncompleteSignature,
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=AWS4-HMAC-SHA256",
    );
    assert_err(
        &parse_err(&with_auth("AWS4-HMAC-SHA256 FooBar, BazBurp")),
        SigErrorKind::IncompleteSignature,
        "'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: \
         'AWS4-HMAC-SHA256 FooBar, BazBurp'",
    );
}

#[test]
fn unsupported_algorithm() {
    for alg in [
        "AWS4-HMAC-SHA512",
        "AWS4-ECDSA-P256-SHA256",
        "aws4-hmac-sha256",
        "Bearer",
    ] {
        let auth = AUTH_VANILLA.replacen("AWS4-HMAC-SHA256", alg, 1);
        assert_err(
            &parse_err(&with_auth(&auth)),
            SigErrorKind::IncompleteSignature,
            &format!("Unsupported AWS 'algorithm': '{alg}'."),
        );
    }
    let mut r = vanilla_presigned();
    r.query = r.query.replace(
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Algorithm=AWS4-HMAC-SHA1",
    );
    assert_err(
        &parse_err(&r),
        SigErrorKind::IncompleteSignature,
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'.",
    );
}

#[test]
fn malformed_credential_and_scope() {
    let auth = |cred: &str| {
        AUTH_VANILLA.replace("AKIDEXAMPLE/20150830/us-east-1/service/aws4_request", cred)
    };
    assert_err(
        &parse_err(&with_auth(&auth("AKIDEXAMPLE"))),
        SigErrorKind::IncompleteSignature,
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got 'AKIDEXAMPLE'",
    );
    assert_eq!(
        parse_err(&with_auth(&auth(
            "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/x"
        )))
        .kind(),
        SigErrorKind::IncompleteSignature
    );
    assert_err(
        &parse_err(&with_auth(&auth(
            "AKIDEXAMPLE/20150830/us-east-1/service/aws5_request",
        ))),
        SigErrorKind::SignatureDoesNotMatch,
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
    );
    assert_err(
        &parse_err(&with_auth(&auth(
            "AKIDEXAMPLE/20150831/us-east-1/service/aws4_request",
        ))),
        SigErrorKind::SignatureDoesNotMatch,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '20150831' != '20150830', from '20150830T123600Z'.",
    );
    // Scope date vs X-Amz-Date, presigned form.
    let mut r = vanilla_presigned();
    r.query = r
        .query
        .replace("X-Amz-Date=20150830T123600Z", "X-Amz-Date=20150829T123600Z");
    assert_eq!(parse_err(&r).kind(), SigErrorKind::SignatureDoesNotMatch);
    // Region and service are checked against the routing decision.
    let parsed = vanilla().with(parse).unwrap();
    cairn_sigv4::check_scope(&parsed, "us-east-1", "service").unwrap();
    assert_err(
        &cairn_sigv4::check_scope(&parsed, "eu-west-1", "service").unwrap_err(),
        SigErrorKind::SignatureDoesNotMatch,
        "Credential should be scoped to a valid region, not 'us-east-1'.",
    );
    assert_err(
        &cairn_sigv4::check_scope(&parsed, "us-east-1", "organizations").unwrap_err(),
        SigErrorKind::SignatureDoesNotMatch,
        "Credential should be scoped to correct service: 'organizations'.",
    );
}

#[test]
fn host_must_be_signed_and_date_well_formed() {
    let auth = AUTH_VANILLA.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date");
    assert_err(
        &parse_err(&with_auth(&auth)),
        SigErrorKind::SignatureDoesNotMatch,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
    let mut r = vanilla();
    r.set_header("x-amz-date", "2015-08-30T12:36:00Z");
    assert_err(
        &parse_err(&r),
        SigErrorKind::IncompleteSignature,
        "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See \
         http://en.wikipedia.org/wiki/ISO_8601",
    );
}

#[test]
fn stale_and_future_timestamps() {
    let opts = VerifyOptions::default();
    let r = vanilla();
    assert_err(
        &check(&r, SECRET, t("20150830T125600Z"), &opts).unwrap_err(),
        SigErrorKind::RequestExpired,
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z \
         (20150830T125600Z - 15 min.)",
    );
    assert_err(
        &check(&r, SECRET, t("20150830T122000Z"), &opts).unwrap_err(),
        SigErrorKind::RequestExpired,
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z \
         (20150830T122000Z + 15 min.)",
    );
    // Boundaries: exactly 15 minutes either way is accepted.
    check(&r, SECRET, t("20150830T125100Z"), &opts).unwrap();
    check(&r, SECRET, t("20150830T122100Z"), &opts).unwrap();
    assert!(check(&r, SECRET, t("20150830T125101Z"), &opts).is_err());
    assert!(check(&r, SECRET, t("20150830T122059Z"), &opts).is_err());
    // The clock is checked before the signature (a stale request with a wrong secret).
    assert_eq!(
        check(&r, "wrong", t("20150830T135600Z"), &opts)
            .unwrap_err()
            .kind(),
        SigErrorKind::RequestExpired
    );
    // A custom window.
    let tight = VerifyOptions {
        max_skew_secs: 90,
        ..opts
    };
    assert_err(
        &check(&r, SECRET, t("20150830T124000Z"), &tight).unwrap_err(),
        SigErrorKind::RequestExpired,
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123830Z \
         (20150830T124000Z - 90 sec.)",
    );
}

#[test]
fn presigned_expiry_and_parameters() {
    let opts = VerifyOptions::default();
    let r = vanilla_presigned();
    check(&r, SECRET, t("20150830T133600Z"), &opts).unwrap();
    assert_err(
        &check(&r, SECRET, t("20150830T133601Z"), &opts).unwrap_err(),
        SigErrorKind::RequestExpired,
        "Request has expired",
    );
    // A presigned URL is not valid before its date (beyond the clock skew).
    assert_eq!(
        check(&r, SECRET, t("20150830T122000Z"), &opts)
            .unwrap_err()
            .kind(),
        SigErrorKind::RequestExpired
    );
    for (expires, message) in [
        (
            "604801",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800.",
        ),
        ("0", "X-Amz-Expires must be positive."),
        ("-1", "X-Amz-Expires should be a number, got '-1'."),
        ("soon", "X-Amz-Expires should be a number, got 'soon'."),
    ] {
        let mut m = r.clone();
        m.query = m
            .query
            .replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={expires}"));
        assert_err(&parse_err(&m), SigErrorKind::IncompleteSignature, message);
    }
    let mut m = r.clone();
    m.query = m
        .query
        .replace("X-Amz-Expires=3600", "X-Amz-Expires=604800");
    assert_eq!(m.with(parse).unwrap().expires, Some(604_800));

    let mut m = r.clone();
    m.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z".into();
    assert_err(
        &parse_err(&m),
        SigErrorKind::IncompleteSignature,
        "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string \
         parameters must include 'X-Amz-Signature'. AWS query-string parameters must include \
         'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
    );
    // Both mechanisms at once.
    let mut m = r.clone();
    m.set_header("authorization", AUTH_VANILLA);
    assert_eq!(parse_err(&m).kind(), SigErrorKind::IncompleteSignature);
}

#[test]
fn wrong_secret_and_bad_signature() {
    let opts = VerifyOptions::default();
    let now = t("20150830T123600Z");
    let err = check(&vanilla(), "not-the-secret", now, &opts).unwrap_err();
    assert_err(
        &err,
        SigErrorKind::SignatureDoesNotMatch,
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details.",
    );
    assert_eq!(
        err.computed_canonical_request().unwrap(),
        b"GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
          e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(
        err.computed_string_to_sign()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256\n")
    );
    assert_eq!(
        err.to_string(),
        format!("SignatureDoesNotMatch: {}", err.message())
    );
    for sig in [
        "",
        "zz",
        "5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D763FBF3",
        "5fa0",
    ] {
        let auth = AUTH_VANILLA.replace(
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            sig,
        );
        let err = check(&with_auth(&auth), SECRET, now, &opts).unwrap_err();
        let want = if sig.is_empty() {
            SigErrorKind::IncompleteSignature
        } else {
            SigErrorKind::SignatureDoesNotMatch
        };
        assert_eq!(err.kind(), want, "{sig:?}");
    }
}

/// Signs `req` with this crate's own helpers (for shapes `aws-sigv4` cannot produce).
fn self_sign(req: &mut Owned, signed_headers: &str, amz_date: &str, opts: &VerifyOptions) {
    req.set_header(
        "authorization",
        &format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/service/aws4_request, \
             SignedHeaders={signed_headers}, Signature={}",
            &amz_date[..8],
            "0".repeat(64)
        ),
    );
    let sig = req.with(|r| {
        let parsed = parse(r).unwrap();
        let creq = canonical_request(r, &parsed, opts).unwrap();
        let key = signing_key(SECRET, &parsed.date, &parsed.region, &parsed.service);
        sign(&key, &string_to_sign(&parsed, &creq))
    });
    let auth = String::from_utf8(req.header_mut("authorization").unwrap().clone()).unwrap();
    req.set_header("authorization", &auth.replace(&"0".repeat(64), &sig));
}

#[test]
fn date_header_instead_of_x_amz_date() {
    let opts = VerifyOptions::default();
    let mut r = Owned::new(
        "GET",
        "/",
        &[
            ("Host", "example.amazonaws.com"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ],
        b"",
    );
    self_sign(&mut r, "date;host", "20150830T123600Z", &opts);
    let parsed = check(&r, SECRET, t("20150830T123600Z"), &opts).unwrap();
    assert_eq!(parsed.amz_date_iso, "20150830T123600Z");
    let mut m = r.clone();
    m.set_header("date", "Sun, 30 Aug 2015 12:36:01 GMT");
    assert_eq!(
        check(&m, SECRET, t("20150830T123600Z"), &opts)
            .unwrap_err()
            .kind(),
        SigErrorKind::SignatureDoesNotMatch
    );
    m.set_header("date", "yesterday");
    assert_eq!(parse_err(&m).kind(), SigErrorKind::IncompleteSignature);
}

#[test]
fn content_sha256_header() {
    let opts = VerifyOptions::default();
    let now = t("20150830T123600Z");
    let body = b"Param1=value1";
    let hash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    let mut r = Owned::new(
        "POST",
        "/",
        &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("x-amz-content-sha256", hash),
        ],
        body,
    );
    self_sign(
        &mut r,
        "host;x-amz-content-sha256;x-amz-date",
        "20150830T123600Z",
        &opts,
    );
    check(&r, SECRET, now, &opts).unwrap();
    let mut m = r.clone();
    m.body = b"Param1=value2".to_vec();
    assert_err(
        &check(&m, SECRET, now, &opts).unwrap_err(),
        SigErrorKind::XAmzContentSha256Mismatch,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
    assert_eq!(
        SigErrorKind::XAmzContentSha256Mismatch.code(),
        "XAmzContentSHA256Mismatch"
    );
    for bad in ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "abc", &hash[1..]] {
        let mut m = r.clone();
        m.set_header("x-amz-content-sha256", bad);
        assert_eq!(
            check(&m, SECRET, now, &opts).unwrap_err().kind(),
            SigErrorKind::InvalidArgument,
            "{bad}"
        );
    }
}

#[test]
fn obs_fold_and_whitespace_in_header_values() {
    let opts = VerifyOptions::default();
    let now = t("20150830T123600Z");
    let mut r = Owned::new(
        "GET",
        "/",
        &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("My-Header", "  a\r\n \t b   c  "),
            ("my-header", "d"),
        ],
        b"",
    );
    self_sign(
        &mut r,
        "host;my-header;x-amz-date",
        "20150830T123600Z",
        &opts,
    );
    let parsed = check(&r, SECRET, now, &opts).unwrap();
    let creq = r
        .with(|req| canonical_request(req, &parsed, &opts))
        .unwrap();
    assert!(
        String::from_utf8(creq)
            .unwrap()
            .contains("\nmy-header:a b c,d\n"),
        "repeated headers joined with ',', whitespace collapsed"
    );
    // Non-UTF-8 (obs-text) header values are signed as bytes.
    let mut r = Owned::new(
        "GET",
        "/",
        &[
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ],
        b"",
    );
    r.headers.push(("x-latin1".into(), vec![b'c', 0xE9, b'!']));
    self_sign(
        &mut r,
        "host;x-amz-date;x-latin1",
        "20150830T123600Z",
        &opts,
    );
    check(&r, SECRET, now, &opts).unwrap();
}

#[test]
fn debug_output_redacts_the_session_token() {
    let mut r = vanilla();
    r.set_header("x-amz-security-token", "very-secret-token");
    let parsed = r.with(parse).unwrap();
    assert_eq!(parsed.security_token.as_deref(), Some("very-secret-token"));
    let debug = format!("{parsed:?}");
    assert!(!debug.contains("very-secret-token"), "{debug}");
    assert!(debug.contains("<redacted>"));
}
