//! Property: whatever bytes a client puts in any parameter, the answer is a well-formed
//! response of the request's protocol — XML 1.0 that parses for awsQuery (IAM, STS), JSON
//! that parses for awsJson and restJson1 — never a malformed body that SDKs cannot read
//! (boto3's `ResponseParserError` on a raw `\x00` in an XML `<Message>`, issue 9).
//!
//! The requests go through the whole pipeline (`cairn_server::router`) in `--dev` mode, so
//! validation, handlers and serialization all see the hostile values. Cases come from a
//! seeded generator: every run tries the same inputs, and a failure names its seed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use axum::body::Body;
use axum::http::Request;
use cairn_core::{Env, ManualClock, SeededIds};
use cairn_server::services::{SERVICES, Services};
use cairn_server::{App, Config};
use cairn_wire::model::Protocol;
use http_body_util::BodyExt as _;
use std::sync::Arc;
use tower::ServiceExt as _;

const ACCOUNT: &str = "111122223333";

/// xorshift64*: small, seeded, good enough to spread bytes.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    /// Hostile bytes: controls, quotes and markup, invalid UTF-8, non-characters,
    /// and plain text, mixed.
    fn bytes(&mut self) -> Vec<u8> {
        const PIECES: &[&[u8]] = &[
            b"\x00",
            b"\x01",
            b"\x08",
            b"\x0b",
            b"\x0c",
            b"\x1f",
            b"\x7f",
            b"\t",
            b"\r",
            b"\n",
            b"<",
            b">",
            b"&",
            b"\"",
            b"'",
            b"]]>",
            b"<!--",
            b"&#0;",
            b"\\",
            b"\\u0000",
            b"\xff",
            b"\xc3",
            b"\xed\xa0\x80",
            b"\xef\xbf\xbe",
            b"\xef\xbf\xbf",
            b"\xf4\x90\x80\x80",
            "é".as_bytes(),
            "😀".as_bytes(),
            b"{",
            b"}",
            b"[",
            b"%",
            b"+",
            b"=",
            b"abc",
            b"alice",
            b"arn:aws:iam::111122223333:user/",
            b"/",
            b"*",
        ];
        let n = self.below(12);
        let mut out = Vec::new();
        for _ in 0..n {
            out.extend_from_slice(PIECES[self.below(PIECES.len())]);
        }
        out
    }
}

fn percent(bytes: &[u8]) -> String {
    let mut s = String::new();
    for b in bytes {
        if b.is_ascii_alphanumeric() {
            s.push(char::from(*b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

async fn app() -> Arc<App> {
    let store = cairn_store::Store::open_sqlite_memory().unwrap();
    let sealer = cairn_iam::Sealer::new(&[9u8; 32]);
    let ids = SeededIds::new(7);
    {
        let sealer = sealer.clone();
        store
            .write(move |tx| {
                cairn_iam::accounts::create_account(
                    tx,
                    &ids,
                    &sealer,
                    1_780_000_000_000,
                    "root@example.com",
                    "Management",
                    Some(ACCOUNT),
                )
                .map(|_| ())
            })
            .await
            .unwrap();
    }
    let recorder = cairn_trail::Recorder::new(store.clone());
    let env = Arc::new(Env {
        store,
        clock: Arc::new(ManualClock::new(1_780_000_000_000)),
        ids: Arc::new(SeededIds::new(8)),
        audit: recorder,
        node: String::from("test-node"),
        faults: cairn_core::Faults::default(),
        jobs: Default::default(),
        generations: Default::default(),
    });
    let config = Config {
        dev: true,
        bootstrap_account_id: String::from(ACCOUNT),
        ..Config::default()
    };
    let services = Services {
        sts: cairn_iam::StsService::new(sealer.clone()),
        iam: cairn_iam::IamService::with_sealer(sealer.clone()),
        ..Services::default()
    };
    App::new(env, sealer, config, services)
}

/// A SigV4 header that `--dev` accepts (well-formed; the signature is not checked).
fn auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260601/us-east-1/{service}/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature={}",
        "0".repeat(64)
    )
}

async fn send(app: &Arc<App>, req: Request<Body>) -> (u16, String, Vec<u8>) {
    let resp = cairn_server::router(Arc::clone(app))
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

fn assert_xml(seed: u64, what: &str, body: &[u8]) {
    let text = std::str::from_utf8(body)
        .unwrap_or_else(|e| panic!("seed {seed} {what}: response is not UTF-8: {e}"));
    if let Err(e) = roxmltree::Document::parse(text) {
        panic!("seed {seed} {what}: response is not well-formed XML ({e}):\n{text:?}");
    }
}

fn assert_json(seed: u64, what: &str, body: &[u8]) {
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(body) {
        panic!(
            "seed {seed} {what}: response is not JSON ({e}):\n{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_responses_stay_well_formed_xml() {
    let app = app().await;
    let query_models: Vec<_> = SERVICES
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| m.protocol == Protocol::Query)
        .collect();
    for seed in 1..=1500u64 {
        let mut g = Gen(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let model = query_models[g.below(query_models.len())];
        // Mostly real operations and members, sometimes hostile names.
        let action = if g.below(8) == 0 {
            percent(&g.bytes())
        } else {
            model.operations[g.below(model.operations.len())]
                .name
                .to_owned()
        };
        let mut form = format!("Action={action}&Version={}", model.api_version);
        let members = [
            "UserName",
            "RoleName",
            "GroupName",
            "PolicyArn",
            "PolicyDocument",
            "Path",
            "Marker",
            "MaxItems",
            "Tags.member.1.Key",
            "Tags.member.1.Value",
            "RoleSessionName",
            "DurationSeconds",
            "AssumeRolePolicyDocument",
            "NewPath",
        ];
        for _ in 0..=g.below(4) {
            let name = if g.below(6) == 0 {
                percent(&g.bytes())
            } else {
                members[g.below(members.len())].to_owned()
            };
            form.push_str(&format!("&{name}={}", percent(&g.bytes())));
        }
        let in_query = g.below(4) == 0;
        let (uri, body) = if in_query {
            (format!("/?{form}"), String::new())
        } else {
            (String::from("/"), form.clone())
        };
        let mut req = Request::builder()
            .method(if in_query { "GET" } else { "POST" })
            .uri(uri)
            .header("host", "127.0.0.1")
            .header("x-amz-date", "20260601T000000Z")
            .header("authorization", auth(model.signing_name));
        if !in_query && g.below(5) != 0 {
            req = req.header(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            );
        }
        let (status, content_type, resp) = send(&app, req.body(Body::from(body)).unwrap()).await;
        assert_eq!(
            content_type,
            "text/xml",
            "seed {seed}: {form} answered {status} with {content_type}: {:?}",
            String::from_utf8_lossy(&resp)
        );
        assert_xml(seed, &form, &resp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_responses_stay_well_formed_json() {
    let app = app().await;
    let json_models: Vec<_> = SERVICES
        .iter()
        .map(|(m, _)| *m)
        .filter(|m| m.protocol == Protocol::Json)
        .collect();
    for seed in 1..=1500u64 {
        let mut g = Gen(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let model = json_models[g.below(json_models.len())];
        let op = model.operations[g.below(model.operations.len())].name;
        let body: Vec<u8> = match g.below(3) {
            // Raw bytes as the body.
            0 => g.bytes(),
            // An object of the operation's likely members with hostile string values.
            _ => {
                let members = [
                    "Name",
                    "Id",
                    "AccountId",
                    "ParentId",
                    "PolicyId",
                    "Content",
                    "Description",
                    "NextToken",
                    "TargetId",
                    "Email",
                    "AccountName",
                    "LookupAttributes",
                    "InstanceArn",
                    "Tags",
                ];
                let mut doc = serde_json::Map::new();
                for _ in 0..=g.below(4) {
                    let name = members[g.below(members.len())];
                    let value = String::from_utf8_lossy(&g.bytes()).into_owned();
                    doc.insert(name.to_owned(), serde_json::Value::String(value));
                }
                serde_json::to_vec(&doc).unwrap()
            }
        };
        let req = Request::builder()
            .method("POST")
            .uri("/")
            .header("host", "127.0.0.1")
            .header("x-amz-date", "20260601T000000Z")
            .header("authorization", auth(model.signing_name))
            .header("x-amz-target", format!("{}.{op}", model.target_prefix))
            .header("content-type", "application/x-amz-json-1.1")
            .body(Body::from(body.clone()))
            .unwrap();
        let (_, _, resp) = send(&app, req).await;
        assert_json(
            seed,
            &format!("{op} {:?}", String::from_utf8_lossy(&body)),
            &resp,
        );
    }
}
