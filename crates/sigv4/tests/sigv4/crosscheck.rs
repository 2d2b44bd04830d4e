//! Requests signed by the official `aws-sigv4` signer (smithy-rs, as used by every Rust AWS SDK)
//! must verify; tampered ones must not.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use cairn_sigv4::{
    Location, SigErrorKind, SigningKeyCache, VerifyOptions, check_scope, parse,
    verify_with_signing_key,
};

use crate::{Owned, check};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE//token+with/odd=chars";
/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000;

fn now() -> i64 {
    i64::try_from(T0).unwrap()
}

struct Signing<'a> {
    region: &'a str,
    service: &'a str,
    token: Option<&'a str>,
    settings: SigningSettings,
    body: SignableBody<'a>,
}

impl<'a> Signing<'a> {
    fn new(region: &'a str, service: &'a str) -> Self {
        Self {
            region,
            service,
            token: None,
            settings: SigningSettings::default(),
            body: SignableBody::Bytes(&[]),
        }
    }
}

/// Signs `method https://host<target>` with `aws-sigv4` and returns the request as the server
/// would see it.
fn aws_signed(
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    s: Signing<'_>,
) -> Owned {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://{host}{target}"))
        .header("host", host);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    let mut request = builder.body(body.to_vec()).unwrap();

    let identity: Identity =
        Credentials::new(AKID, SECRET, s.token.map(str::to_owned), None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(s.region)
        .name(s.service)
        .time(UNIX_EPOCH + Duration::from_secs(T0))
        .settings(s.settings)
        .build()
        .unwrap()
        .into();
    let instructions = {
        let header_pairs: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            request.uri().to_string(),
            header_pairs.into_iter(),
            match &s.body {
                SignableBody::Bytes(_) => SignableBody::Bytes(request.body()),
                other => other.clone(),
            },
        )
        .unwrap();
        let (instructions, _signature) = sign(signable, &params).unwrap().into_parts();
        instructions
    };
    instructions.apply_to_request_http1x(&mut request);

    let uri = request.uri();
    let mut owned = Owned::new(
        request.method().as_str(),
        uri.path_and_query().unwrap().as_str(),
        &[],
        request.body(),
    );
    owned.headers = request
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    owned
}

fn assert_rejected(req: &Owned, opts: &VerifyOptions, kind: SigErrorKind, what: &str) {
    let err = check(req, SECRET, now() + 1, opts).expect_err(what);
    assert_eq!(err.kind(), kind, "{what}: {err}");
}

#[test]
fn organizations_json_post() {
    let body = br#"{"MaxResults":10}"#;
    let headers = [
        ("content-type", "application/x-amz-json-1.1"),
        ("x-amz-target", "AWSOrganizationsV20161128.ListAccounts"),
    ];
    let req = aws_signed(
        "POST",
        "organizations.us-east-1.amazonaws.com",
        "/",
        &headers,
        body,
        Signing::new("us-east-1", "organizations"),
    );
    let opts = VerifyOptions::default();
    let parsed = check(&req, SECRET, now() + 30, &opts).unwrap();
    assert_eq!(parsed.location, Location::Header);
    assert_eq!(parsed.access_key_id, AKID);
    assert_eq!(
        parsed.scope(),
        "20231114/us-east-1/organizations/aws4_request"
    );
    assert!(parsed.signed_headers.iter().any(|h| h == "x-amz-target"));
    assert_eq!(parsed.security_token, None);
    check_scope(&parsed, "us-east-1", "organizations").unwrap();
    let err = check_scope(&parsed, "eu-west-1", "sso").unwrap_err();
    assert_eq!(err.kind(), SigErrorKind::SignatureDoesNotMatch);
    assert_eq!(
        err.message(),
        "Credential should be scoped to a valid region, not 'us-east-1'. Credential should be \
         scoped to correct service: 'sso'."
    );

    // Through the cache as the server would.
    let cache = SigningKeyCache::new(16);
    let key = cache.signing_key_for(&parsed, SECRET);
    req.with(|r| verify_with_signing_key(r, &parsed, &key, now(), &opts))
        .unwrap();

    let mut tampered = req.clone();
    tampered.body = br#"{"MaxResults":99}"#.to_vec();
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "body",
    );
    let mut tampered = req.clone();
    tampered.set_header(
        "x-amz-target",
        "AWSOrganizationsV20161128.DeleteOrganization",
    );
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "target",
    );
    assert_eq!(
        check(&req, "wrong-secret", now(), &opts)
            .unwrap_err()
            .kind(),
        SigErrorKind::SignatureDoesNotMatch
    );
}

#[test]
fn get_with_query_encoded_path_and_dot_segments() {
    // The wire path is already percent-encoded once; non-S3 services sign it encoded again.
    let req = aws_signed(
        "GET",
        "lambda.eu-west-1.amazonaws.com",
        "/2015-03-31/functions/my%3Afunc/./x/../invocations?b=2&a=hello%20world&c=%E1%88%B4&d=%2B&e=",
        &[],
        b"",
        Signing::new("eu-west-1", "lambda"),
    );
    let opts = VerifyOptions::default();
    let parsed = check(&req, SECRET, now(), &opts).unwrap();
    assert_eq!(parsed.service, "lambda");
    req.with(|r| {
        let creq = cairn_sigv4::canonical_request(r, &parsed, &opts).unwrap();
        let creq = String::from_utf8(creq).unwrap();
        assert!(
            creq.starts_with(
                "GET\n/2015-03-31/functions/my%253Afunc/invocations\n\
                 a=hello%20world&b=2&c=%E1%88%B4&d=%2B&e=\n"
            ),
            "{creq}"
        );
    });

    let mut tampered = req.clone();
    tampered.query = tampered.query.replace("b=2", "b=3");
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "query",
    );
    let mut tampered = req.clone();
    tampered.path = tampered.path.replace("my%3Afunc", "my%3Afunk");
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "path",
    );
}

#[test]
fn session_token() {
    let mut s = Signing::new("us-east-1", "organizations");
    s.token = Some(TOKEN);
    let req = aws_signed(
        "POST",
        "organizations.us-east-1.amazonaws.com",
        "/",
        &[],
        b"{}",
        s,
    );
    let opts = VerifyOptions::default();
    let parsed = check(&req, SECRET, now(), &opts).unwrap();
    assert_eq!(parsed.security_token.as_deref(), Some(TOKEN));
    assert!(
        parsed
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token")
    );

    let mut tampered = req.clone();
    tampered.set_header("x-amz-security-token", "another-token");
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "token",
    );

    // A token attached after signing (SessionTokenMode::Exclude) is harmless in a header…
    let mut s = Signing::new("us-east-1", "organizations");
    s.token = Some(TOKEN);
    s.settings.session_token_mode = SessionTokenMode::Exclude;
    let req = aws_signed(
        "POST",
        "organizations.us-east-1.amazonaws.com",
        "/",
        &[],
        b"{}",
        s,
    );
    let parsed = check(&req, SECRET, now(), &opts).unwrap();
    assert_eq!(parsed.security_token.as_deref(), Some(TOKEN));
    assert!(
        !parsed
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token")
    );
}

#[test]
fn presigned_url() {
    let mut s = Signing::new("us-east-1", "sts");
    s.settings.signature_location = SignatureLocation::QueryParams;
    s.settings.expires_in = Some(Duration::from_secs(900));
    let req = aws_signed(
        "GET",
        "sts.us-east-1.amazonaws.com",
        "/?Action=GetCallerIdentity&Version=2011-06-15",
        &[],
        b"",
        s,
    );
    assert!(req.headers.iter().all(|(n, _)| n != "authorization"));
    let opts = VerifyOptions::default();
    let parsed = check(&req, SECRET, now() + 900, &opts).unwrap();
    assert_eq!(parsed.location, Location::Query);
    assert_eq!(parsed.expires, Some(900));
    let err = check(&req, SECRET, now() + 901, &opts).unwrap_err();
    assert_eq!(err.kind(), SigErrorKind::RequestExpired);
    assert_eq!(err.message(), "Request has expired");

    let mut tampered = req.clone();
    tampered.query = tampered
        .query
        .replace("GetCallerIdentity", "GetSessionToken");
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "action",
    );
    let mut tampered = req.clone();
    tampered.query = tampered
        .query
        .replace("X-Amz-Expires=900", "X-Amz-Expires=3600");
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "expires",
    );

    // With a session token, signed into the canonical query.
    let mut s = Signing::new("us-east-1", "sts");
    s.settings.signature_location = SignatureLocation::QueryParams;
    s.settings.expires_in = Some(Duration::from_secs(60));
    s.token = Some(TOKEN);
    let req = aws_signed(
        "GET",
        "sts.us-east-1.amazonaws.com",
        "/?Action=GetCallerIdentity",
        &[],
        b"",
        s,
    );
    let parsed = check(&req, SECRET, now(), &opts).unwrap();
    assert_eq!(parsed.security_token.as_deref(), Some(TOKEN));

    // Token appended after signing: rejected, like the `post-sts-header-after` vector.
    let mut s = Signing::new("us-east-1", "sts");
    s.settings.signature_location = SignatureLocation::QueryParams;
    s.settings.expires_in = Some(Duration::from_secs(60));
    s.settings.session_token_mode = SessionTokenMode::Exclude;
    s.token = Some(TOKEN);
    let req = aws_signed(
        "GET",
        "sts.us-east-1.amazonaws.com",
        "/?Action=GetCallerIdentity",
        &[],
        b"",
        s,
    );
    assert_rejected(
        &req,
        &opts,
        SigErrorKind::SignatureDoesNotMatch,
        "late token",
    );
}

#[test]
fn s3_style_single_encoding_and_content_sha256() {
    let mut s = Signing::new("us-east-1", "s3");
    s.settings.percent_encoding_mode = PercentEncodingMode::Single;
    s.settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let req = aws_signed(
        "PUT",
        "bucket.s3.us-east-1.amazonaws.com",
        "/dir//a%20b/./c~d%2Bx",
        &[("content-type", "text/plain")],
        b"hello",
        s,
    );
    let opts = VerifyOptions {
        normalize_path: false,
        double_encode_path: false,
        ..VerifyOptions::default()
    };
    let parsed = check(&req, SECRET, now(), &opts).unwrap();
    assert!(
        parsed
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-content-sha256")
    );
    // The default (non-S3) canonicalisation does not match.
    assert_rejected(
        &req,
        &VerifyOptions::default(),
        SigErrorKind::SignatureDoesNotMatch,
        "double encoding",
    );
    let mut tampered = req.clone();
    tampered.body = b"hellO".to_vec();
    assert_rejected(
        &tampered,
        &opts,
        SigErrorKind::XAmzContentSha256Mismatch,
        "body",
    );

    // UNSIGNED-PAYLOAD: accepted only when allowed.
    let mut s = Signing::new("us-east-1", "s3");
    s.settings.percent_encoding_mode = PercentEncodingMode::Single;
    s.settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    s.body = SignableBody::UnsignedPayload;
    let req = aws_signed(
        "PUT",
        "bucket.s3.us-east-1.amazonaws.com",
        "/key",
        &[],
        b"anything",
        s,
    );
    check(&req, SECRET, now(), &opts).unwrap();
    let strict = VerifyOptions {
        allow_unsigned_payload: false,
        ..opts
    };
    assert_rejected(
        &req,
        &strict,
        SigErrorKind::InvalidArgument,
        "unsigned payload",
    );
}

#[test]
fn clock_is_injected() {
    let req = aws_signed(
        "POST",
        "organizations.us-east-1.amazonaws.com",
        "/",
        &[],
        b"{}",
        Signing::new("us-east-1", "organizations"),
    );
    let opts = VerifyOptions::default();
    check(&req, SECRET, now() + 900, &opts).unwrap();
    check(&req, SECRET, now() - 900, &opts).unwrap();
    for late in [now() + 901, now() - 901] {
        assert_eq!(
            check(&req, SECRET, late, &opts).unwrap_err().kind(),
            SigErrorKind::RequestExpired
        );
    }
    // Sanity: the signer used the injected time, not the wall clock.
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(wall > T0);
    let parsed = req.with(parse).unwrap();
    assert_eq!(parsed.amz_date, now());
}
