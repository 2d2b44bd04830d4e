//! Issue 9's findings, each as the request that exposed it: control characters echoed into
//! awsQuery XML, awsQuery requests answered in JSON, malformed HTTP framing answered with an
//! empty body, and a world-readable data directory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{Raw, Resp, Server, Sig, TempDir};

const ACCOUNT: &str = "111122223333";

/// Writes `bytes` to a fresh connection and reads until the server closes it.
fn send_bytes(port: u16, bytes: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer (and close) before it has read everything: ignore write errors.
    let _ = stream.write_all(bytes);
    let _ = stream.flush();
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response: {text:?}"));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Resp {
        status,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// A well-formed XML document (the check botocore's parser makes, strictly).
fn assert_well_formed_xml(resp: &Resp) {
    let text = resp.text();
    assert!(
        !text
            .chars()
            .any(|c| c < ' ' && !matches!(c, '\t' | '\n' | '\r')),
        "raw control characters in XML: {text:?}"
    );
    assert!(text.starts_with("<?xml"), "not XML: {text:?}");
}

#[test]
fn echoed_control_characters_keep_query_errors_well_formed() {
    let dir = TempDir::new("hard-xml");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let sig = Sig::new(&server.root(), "iam");
    for form in [
        "Action=%00&Version=2010-05-08",
        "Action=GetUser&Version=2010-05-08&UserName=%00",
        "Action=CreateUser&Version=2010-05-08&UserName=a%01b%1Fc",
    ] {
        let resp = send_raw_signed(&server, Raw::query(form), &sig);
        assert!(resp.status >= 400, "{form}: {}", resp.status);
        assert_eq!(resp.header("content-type"), Some("text/xml"), "{form}");
        assert_well_formed_xml(&resp);
        assert!(resp.error_code().is_some(), "{form}: {}", resp.text());
    }
}

fn send_raw_signed(server: &Server, raw: Raw, sig: &Sig) -> Resp {
    crate::common::send(server.port, &raw.signed(server.port, sig))
}

#[test]
fn query_requests_get_xml_errors_whatever_their_content_type() {
    let dir = TempDir::new("hard-query");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let sig = Sig::new(&server.root(), "iam");
    // A form body with no Content-Type, or a wrong one, is still an awsQuery request.
    for content_type in [None, Some("text/plain"), Some("application/octet-stream")] {
        let mut raw = Raw::new("POST", "/", b"Action=ListUsers&Version=2010-05-08");
        if let Some(ct) = content_type {
            raw = raw.header("content-type", ct);
        }
        let resp = send_raw_signed(&server, raw, &sig);
        assert_eq!(resp.status, 200, "{content_type:?}: {}", resp.text());
        assert!(
            resp.text().contains("<ListUsersResponse"),
            "{}",
            resp.text()
        );
        let mut raw = Raw::new("POST", "/", b"Action=NoSuchThing&Version=2010-05-08");
        if let Some(ct) = content_type {
            raw = raw.header("content-type", ct);
        }
        let resp = send_raw_signed(&server, raw, &sig);
        assert_eq!(resp.status, 400, "{content_type:?}: {}", resp.text());
        assert_eq!(resp.header("content-type"), Some("text/xml"));
        assert_eq!(resp.error_code().as_deref(), Some("InvalidAction"));
    }
    // A body over the size limit (8 MiB): answered in XML (413), not JSON — with the
    // protocol told from the content type, or from the body alone.
    let big = "a".repeat(9 * 1024 * 1024);
    let form = format!("Action=CreatePolicy&Version=2010-05-08&PolicyDocument={big}");
    for head in [
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n",
        "POST / HTTP/1.1\r\nhost: x\r\n",
    ] {
        let request = format!("{head}content-length: {}\r\n\r\n{form}", form.len());
        let resp = send_bytes(server.port, request.as_bytes());
        assert_eq!(resp.status, 413, "{head:?}: {}", resp.text());
        assert_eq!(resp.header("content-type"), Some("text/xml"), "{head:?}");
        assert_well_formed_xml(&resp);
    }
    // An awsJson request over the limit is answered in JSON.
    let body = format!("{{\"Name\":\"{big}\"}}");
    let request = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSOrganizationsV20161128.CreateOrganizationalUnit\r\n\
         content-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = send_bytes(server.port, request.as_bytes());
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert_eq!(resp.error_code().as_deref(), Some("SerializationException"));
}

#[test]
fn malformed_http_framing_gets_an_error_body() {
    let dir = TempDir::new("hard-framing");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let port = server.port;
    let json_head = "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: AWSOrganizationsV20161128.ListRoots\r\ncontent-type: application/x-amz-json-1.1\r\n";
    let query_head = "POST /?Action=ListUsers&Version=2010-05-08 HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n";
    let plain_head = "POST / HTTP/1.1\r\nhost: x\r\n";
    let many_headers: String = (0..300).map(|i| format!("x-h{i}: v\r\n")).collect();
    let long_uri = format!(
        "GET /?Action=ListUsers&x={} HTTP/1.1\r\nhost: x\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "negative Content-Length",
            format!("{json_head}content-length: -1\r\n\r\n{{}}"),
            400,
            "json",
        ),
        (
            "non-numeric Content-Length",
            format!("{query_head}content-length: ten\r\n\r\n"),
            400,
            "xml",
        ),
        (
            "duplicate Content-Length",
            format!("{json_head}content-length: 2\r\ncontent-length: 3\r\n\r\n{{}}"),
            400,
            "json",
        ),
        (
            "unsupported Transfer-Encoding",
            format!("{query_head}transfer-encoding: gzip\r\n\r\n"),
            400,
            "xml",
        ),
        (
            "control byte in a header value",
            format!("{plain_head}x-evil: a\x01b\r\ncontent-length: 0\r\n\r\n"),
            400,
            "text",
        ),
        (
            "hundreds of headers",
            format!("{json_head}{many_headers}content-length: 2\r\n\r\n{{}}"),
            431,
            "json",
        ),
        ("a 100 KB URI", long_uri, 414, "xml"),
    ];
    for (name, bytes, status, kind) in cases {
        let resp = send_bytes(port, bytes.as_bytes());
        assert_eq!(resp.status, status, "{name}: {}", resp.text());
        assert!(!resp.body.is_empty(), "{name}: empty body");
        assert!(resp.request_id().is_some(), "{name}: no request ID");
        let content_type = resp.header("content-type").unwrap_or("");
        match kind {
            "json" => {
                assert_eq!(content_type, "application/x-amz-json-1.1", "{name}");
                assert!(resp.error_code().is_some(), "{name}: {}", resp.text());
            }
            "xml" => {
                assert_eq!(content_type, "text/xml", "{name}");
                assert_well_formed_xml(&resp);
                assert!(resp.error_code().is_some(), "{name}: {}", resp.text());
            }
            _ => assert!(
                content_type.starts_with("text/plain"),
                "{name}: {content_type}"
            ),
        }
    }
    // The server still serves well-formed requests afterwards.
    let resp = crate::common::send(port, &Raw::new("GET", "/healthz", b""));
    assert_eq!(resp.status, 200);
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("hard-perms");
    let mut server = Server::start(&dir, &["--account-id", ACCOUNT]);
    // Some writes, so the WAL and shared-memory files exist.
    let resp = send_raw_signed(
        &server,
        Raw::query("Action=CreateUser&Version=2010-05-08&UserName=perm"),
        &Sig::new(&server.root(), "iam"),
    );
    assert_eq!(resp.status, 200, "{}", resp.text());
    let data = dir.path().join("data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data directory");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let want = if entry.file_type().unwrap().is_dir() {
            0o700
        } else {
            0o600
        };
        assert_eq!(mode(&path), want, "{}", path.display());
        seen.push(entry.file_name().to_string_lossy().into_owned());
    }
    for name in [
        "cairn.db",
        "cairn.db-wal",
        "cairn.db-shm",
        "master.key",
        "root-credentials.json",
    ] {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} missing from {seen:?}"
        );
    }
    // A data directory an older version left readable is tightened at the next start.
    server.kill();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("cairn.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let _server = Server::start(&dir, &["--account-id", ACCOUNT]);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("cairn.db")), 0o600);
}

/// Total size of the files in the data directory.
fn data_bytes(dir: &TempDir) -> u64 {
    std::fs::read_dir(dir.path().join("data"))
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// A refused request is recorded, but within CloudTrail's bounds: a 7 MB `Name` adds no
/// more than a bounded record to the store, its `requestParameters` are `{"omitted": true}`,
/// and `LookupEvents` answers a handful of such events in kilobytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_requests_leave_bounded_records() {
    use aws_sdk_cloudtrail::types::LookupAttributeKey;
    let dir = TempDir::new("hard-bound");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    crate::common::ok(
        "CreateOrganization",
        server.orgs().create_organization().send().await,
    );
    let before = data_bytes(&dir);
    let name = "n".repeat(7 * 1024 * 1024);
    let mut request_ids = Vec::new();
    for _ in 0..5 {
        let body = format!("{{\"ParentId\":\"r-ab12\",\"Name\":\"{name}\"}}");
        let resp = crate::common::send(
            server.port,
            &Raw::orgs("CreateOrganizationalUnit", &body)
                .signed(server.port, &Sig::new(&server.root(), "organizations")),
        );
        assert_eq!(
            resp.status,
            400,
            "{}",
            &resp.text()[..200.min(resp.text().len())]
        );
        assert_eq!(resp.error_code().as_deref(), Some("InvalidInputException"));
        request_ids.push(resp.request_id().unwrap().to_owned());
    }
    let ids: Vec<&str> = request_ids.iter().map(String::as_str).collect();
    let records = crate::common::await_records(
        &server.cloudtrail(),
        Some(crate::common::attr(
            LookupAttributeKey::EventName,
            "CreateOrganizationalUnit",
        )),
        &ids,
    )
    .await;
    for id in &ids {
        let r = &records[*id];
        assert_eq!(
            r["requestParameters"],
            serde_json::json!({"omitted": true}),
            "{r}"
        );
        assert_eq!(r["errorCode"], "InvalidInputException");
        assert!(r.to_string().len() <= 256 * 1024);
    }
    // Five 7 MB requests: the store grew by kilobytes (35 MB of names, and twice that with
    // the echo, before the bound).
    let grown = data_bytes(&dir).saturating_sub(before);
    assert!(grown < 4 * 1024 * 1024, "the store grew by {grown} bytes");
    // LookupEvents answers them compactly.
    let resp = crate::common::send(
        server.port,
        &Raw::json(
            "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
            r#"{"MaxResults":5}"#,
        )
        .signed(server.port, &Sig::new(&server.root(), "cloudtrail")),
    );
    assert_eq!(resp.status, 200);
    assert!(
        resp.body.len() < 64 * 1024,
        "LookupEvents answered {} bytes",
        resp.body.len()
    );
}

/// `GetSessionToken` and `AssumeRole` are recorded with the credentials they issued — key ID,
/// session token, expiration — and never the secret (AWS's STS records have no
/// `secretAccessKey`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_records_carry_the_issued_credentials_without_the_secret() {
    use crate::common::{Who, attr, await_records, ok};
    use aws_sdk_cloudtrail::types::LookupAttributeKey;
    use aws_sdk_organizations::operation::RequestId;
    let dir = TempDir::new("hard-sts");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let iam = server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("caller").send().await,
    );
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("caller")
            .policy_name("assume")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
            )
            .send()
            .await,
    );
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("target")
            .assume_role_policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ))
            .send()
            .await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("caller").send().await,
    );
    let key = key.access_key().unwrap();
    let caller = Who::new(key.access_key_id(), key.secret_access_key());
    let sts = server.sts_as(&caller);
    let session = ok("GetSessionToken", sts.get_session_token().send().await);
    let assumed = ok(
        "AssumeRole",
        sts.assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/target"))
            .role_session_name("s1")
            .send()
            .await,
    );
    for (name, request_id, creds) in [
        (
            "GetSessionToken",
            session.request_id().unwrap(),
            session.credentials().unwrap(),
        ),
        (
            "AssumeRole",
            assumed.request_id().unwrap(),
            assumed.credentials().unwrap(),
        ),
    ] {
        let records = await_records(
            &server.cloudtrail(),
            Some(attr(LookupAttributeKey::EventName, name)),
            &[request_id],
        )
        .await;
        let r = &records[request_id];
        let c = &r["responseElements"]["credentials"];
        assert_eq!(c["accessKeyId"], creds.access_key_id(), "{name}: {r}");
        assert_eq!(c["sessionToken"], creds.session_token(), "{name}: {r}");
        assert!(c.get("expiration").is_some(), "{name}: {r}");
        assert!(c.get("secretAccessKey").is_none(), "{name}: {r}");
        assert!(
            !r.to_string().contains(creds.secret_access_key()),
            "{name}: the secret is in the record"
        );
    }
}
