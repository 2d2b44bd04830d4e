//! Serialised, SigV4-signed `POST /` requests (awsJson 1.1 with `X-Amz-Target`, or awsQuery
//! form bodies), signed with the official `aws-sigv4` signer, optionally with a session token.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::Result;

pub const REGION: &str = "us-east-1";
pub const SERVICE: &str = "organizations";
pub const DESCRIBE_ORGANIZATION: &str = "AWSOrganizationsV20161128.DescribeOrganization";
pub const CREATE_ORGANIZATION: &str = "AWSOrganizationsV20161128.CreateOrganization";
/// Content type of awsJson 1.1 requests.
pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Content type of awsQuery requests.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Credentials to sign with; `session_token` for temporary (STS) credentials, sent as
/// `X-Amz-Security-Token`.
#[derive(Debug, Clone)]
pub struct Creds {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Creds {
    pub fn long_term(access_key_id: &str, secret_access_key: &str) -> Self {
        Self {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: None,
        }
    }
}

/// What a request is: the signing service, its content type and (awsJson) its target.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub service: &'static str,
    pub content_type: &'static str,
    /// `X-Amz-Target`; `None` for awsQuery.
    pub target: Option<String>,
}

impl Endpoint {
    /// An Organizations (awsJson 1.1) operation, by name (`ListAccounts`).
    pub fn organizations(operation: &str) -> Self {
        Self {
            service: SERVICE,
            content_type: JSON_CONTENT_TYPE,
            target: Some(format!("AWSOrganizationsV20161128.{operation}")),
        }
    }

    /// An awsQuery service (`iam`, `sts`): the action is in the form body.
    pub fn query(service: &'static str) -> Self {
        Self {
            service,
            content_type: FORM_CONTENT_TYPE,
            target: None,
        }
    }
}

/// How often requests are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignMode {
    /// Sign every request.
    PerRequest,
    /// Sign once per wall-clock second and reuse the bytes within that second. A SigV4
    /// signature depends only on the request and the time truncated to the second, so the
    /// bytes on the wire are exactly what signing each request would produce.
    PerSecond,
}

impl SignMode {
    pub fn label(self) -> &'static str {
        match self {
            Self::PerRequest => "per-request",
            Self::PerSecond => "per-second",
        }
    }
}

/// Builds the bytes of one signed `POST /` for a fixed operation, body and host.
#[derive(Clone)]
pub struct Signer {
    identity: Identity,
    host: String,
    endpoint: Endpoint,
    body: Vec<u8>,
    mode: SignMode,
    cached: Option<(u64, Vec<u8>)>,
}

impl Signer {
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        host: String,
        target: &str,
        body: &[u8],
        mode: SignMode,
    ) -> Self {
        Self::for_endpoint(
            &Creds::long_term(access_key_id, secret_access_key),
            host,
            Endpoint {
                service: SERVICE,
                content_type: JSON_CONTENT_TYPE,
                target: Some(target.to_owned()),
            },
            body,
            mode,
        )
    }

    /// A signer for any endpoint, with long-term or temporary credentials.
    pub fn for_endpoint(
        creds: &Creds,
        host: String,
        endpoint: Endpoint,
        body: &[u8],
        mode: SignMode,
    ) -> Self {
        let identity: Identity = Credentials::new(
            creds.access_key_id.as_str(),
            creds.secret_access_key.as_str(),
            creds.session_token.clone(),
            None,
            "cairn-bench",
        )
        .into();
        Self {
            identity,
            host,
            endpoint,
            body: body.to_vec(),
            mode,
            cached: None,
        }
    }

    /// The serialised request to send at `now`.
    pub fn request(&mut self, now: SystemTime) -> Result<&[u8]> {
        let secs = now.duration_since(UNIX_EPOCH)?.as_secs();
        let fresh = match (&self.cached, self.mode) {
            (Some((at, _)), SignMode::PerSecond) => *at != secs,
            _ => true,
        };
        if fresh {
            let bytes = self.build(UNIX_EPOCH + Duration::from_secs(secs))?;
            self.cached = Some((secs, bytes));
        }
        match &self.cached {
            Some((_, bytes)) => Ok(bytes),
            None => Err("no signed request".into()),
        }
    }

    fn build(&self, time: SystemTime) -> Result<Vec<u8>> {
        let length = self.body.len().to_string();
        let mut headers = vec![
            ("host", self.host.as_str()),
            ("content-type", self.endpoint.content_type),
        ];
        if let Some(target) = &self.endpoint.target {
            headers.push(("x-amz-target", target.as_str()));
        }
        headers.push(("content-length", length.as_str()));
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(REGION)
            .name(self.endpoint.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signable = SignableRequest::new(
            "POST",
            format!("http://{}/", self.host),
            headers.iter().copied(),
            SignableBody::Bytes(&self.body),
        )?;
        let (instructions, _signature) = sign(signable, &params)?.into_parts();
        let mut out = Vec::with_capacity(640 + self.body.len());
        out.extend_from_slice(b"POST / HTTP/1.1\r\n");
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        Ok(out)
    }
}

/// Mean cost of one signature in microseconds, over `n` signatures (bounded: at most 2 s).
pub fn signing_cost_us(n: u32) -> Result<f64> {
    let mut signer = Signer::new(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        String::from("127.0.0.1:4566"),
        DESCRIBE_ORGANIZATION,
        b"{}",
        SignMode::PerRequest,
    );
    // Warm up allocations and caches.
    for _ in 0..50 {
        signer.request(SystemTime::now())?;
    }
    let start = Instant::now();
    let mut done = 0u32;
    while done < n && start.elapsed() < Duration::from_secs(2) {
        signer.request(SystemTime::now())?;
        done += 1;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(done.max(1)))
}

#[cfg(test)]
mod tests {

    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn signed_request_shape() {
        let mut s = Signer::new(
            "AKIDEXAMPLE",
            "secret",
            String::from("127.0.0.1:9"),
            DESCRIBE_ORGANIZATION,
            b"{}",
            SignMode::PerRequest,
        );
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let req = text(s.request(t).unwrap());
        assert!(req.starts_with("POST / HTTP/1.1\r\nhost: 127.0.0.1:9\r\n"));
        assert!(req.contains("x-amz-target: AWSOrganizationsV20161128.DescribeOrganization\r\n"));
        assert!(req.contains("content-length: 2\r\n"));
        assert!(req.contains("x-amz-date: 20231114T221320Z\r\n"));
        assert!(req.contains(
            "authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/organizations/aws4_request"
        ));
        assert!(req.ends_with("\r\n\r\n{}"));
    }

    #[test]
    fn query_requests_with_a_session_token() {
        let creds = Creds {
            access_key_id: String::from("ASIAEXAMPLE"),
            secret_access_key: String::from("secret"),
            session_token: Some(String::from("token/with+chars=")),
        };
        let mut s = Signer::for_endpoint(
            &creds,
            String::from("127.0.0.1:9"),
            Endpoint::query("sts"),
            b"Action=GetCallerIdentity&Version=2011-06-15",
            SignMode::PerRequest,
        );
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let req = text(s.request(t).unwrap());
        assert!(req.contains("content-type: application/x-www-form-urlencoded; charset=utf-8\r\n"));
        assert!(!req.contains("x-amz-target"));
        assert!(req.contains("x-amz-security-token: token/with+chars=\r\n"));
        assert!(req.contains("/20231114/us-east-1/sts/aws4_request"));
        assert!(req.contains(
            "SignedHeaders=content-length;content-type;host;x-amz-date;x-amz-security-token"
        ));
        assert!(req.ends_with("\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15"));
    }

    #[test]
    fn per_second_reuses_within_the_second_only() {
        let mut s = Signer::new(
            "AKIDEXAMPLE",
            "secret",
            String::from("127.0.0.1:9"),
            DESCRIBE_ORGANIZATION,
            b"{}",
            SignMode::PerSecond,
        );
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_100);
        let a = text(s.request(t).unwrap());
        let b = text(s.request(t + Duration::from_millis(800)).unwrap());
        let c = text(s.request(t + Duration::from_millis(1000)).unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Per-request signing at the same second gives the same bytes: reuse is exact.
        let mut p = Signer::new(
            "AKIDEXAMPLE",
            "secret",
            String::from("127.0.0.1:9"),
            DESCRIBE_ORGANIZATION,
            b"{}",
            SignMode::PerRequest,
        );
        assert_eq!(text(p.request(t + Duration::from_millis(500)).unwrap()), a);
    }
}
