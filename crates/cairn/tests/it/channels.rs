//! Channels and `PutAuditEvents` (cloudtrail-data, restJson1): another system writes its own
//! audit events into Cairn's record, and `LookupEvents` finds them.

use crate::common::{Raw, attr, err_info, lookup_all, ok};
use crate::fixture::Fixture;
use aws_sdk_cloudtrail::types::{Destination, DestinationType, LookupAttributeKey};
use serde_json::{Value, json};

const ACCOUNT: &str = "246813579135";

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn put(f: &Fixture, channel: &str, events: &Value) -> (u16, Value) {
    let raw = Raw::new(
        "POST",
        &format!("/PutAuditEvents?channelArn={}", percent(channel)),
        json!({ "auditEvents": events }).to_string().as_bytes(),
    )
    .header("content-type", "application/json");
    let resp = f.server.send_signed(raw, "cloudtrail-data");
    (
        resp.status,
        serde_json::from_str(&resp.text()).unwrap_or(Value::Null),
    )
}

fn event_data(uid: &str) -> String {
    json!({
        "version": "1.0",
        "userIdentity": {"type": "CustomUser", "principalId": "alice@example.com"},
        "eventSource": "hr.example.com",
        "eventName": "PromoteEmployee",
        "eventTime": "2026-12-03T10:00:00Z",
        "UID": uid,
        "recipientAccountId": ACCOUNT,
    })
    .to_string()
}

async fn channel(f: &Fixture) -> String {
    let out = ok(
        "CreateChannel",
        f.server
            .cloudtrail()
            .create_channel()
            .name("hr-audit")
            .source("Custom")
            .destinations(
                Destination::builder()
                    .r#type(DestinationType::EventDataStore)
                    .location("arn:aws:cloudtrail:us-east-1:246813579135:eventdatastore/x")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    out.channel_arn().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_created_listed_renamed_and_deleted() {
    let f = Fixture::new("channels-crud", ACCOUNT);
    let ct = f.server.cloudtrail();
    let arn = channel(&f).await;
    assert!(
        arn.starts_with(&format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:channel/")),
        "{arn}"
    );
    let e = err_info(
        ct.create_channel()
            .name("hr-audit")
            .source("Custom")
            .destinations(
                Destination::builder()
                    .r#type(DestinationType::AwsService)
                    .location("arn:aws:events:us-east-1:246813579135:event-bus/default")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "ChannelAlreadyExistsException", "{e:?}");
    let listed = ok("ListChannels", ct.list_channels().send().await);
    assert_eq!(listed.channels().len(), 1);
    let got = ok("GetChannel", ct.get_channel().channel(&arn).send().await);
    assert_eq!(got.name(), Some("hr-audit"));
    assert_eq!(got.source(), Some("Custom"));
    let renamed = ok(
        "UpdateChannel",
        ct.update_channel()
            .channel(&arn)
            .name("people-audit")
            .send()
            .await,
    );
    assert_eq!(renamed.name(), Some("people-audit"));
    ok(
        "DeleteChannel",
        ct.delete_channel().channel(&arn).send().await,
    );
    let e = err_info(ct.get_channel().channel(&arn).send().await);
    assert_eq!(e.code, "ChannelNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_audit_events_records_them_and_refuses_what_does_not_fit() {
    let f = Fixture::new("channels-put", ACCOUNT);
    let arn = channel(&f).await;
    let good = event_data("u-1");
    let checksum = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(good.as_bytes()))
    };
    let (status, out) = put(
        &f,
        &arn,
        &json!([
            {"id": "one", "eventData": good, "eventDataChecksum": checksum},
            {"id": "two", "eventData": event_data("u-2"), "eventDataChecksum": "bm90LXRoZS1zdW0="},
            {"id": "three", "eventData": "{\"version\":\"1.0\"}"},
        ]),
    );
    assert_eq!(status, 200, "{out}");
    let ok_ids: Vec<&str> = out["successful"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ok_ids, ["one"], "{out}");
    let failed: Vec<(&str, &str)> = out["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["errorCode"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [
            ("two", "InvalidChecksum"),
            ("three", "ChannelUnsupportedSchema")
        ],
        "{out}"
    );
    let event_id = out["successful"][0]["eventID"].as_str().unwrap().to_owned();
    // In Cairn's record, by its event name.
    let found = lookup_all(
        &f.server.cloudtrail(),
        Some(attr(LookupAttributeKey::EventName, "PromoteEmployee")),
    )
    .await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].event_id(), Some(event_id.as_str()));
    let record: Value = serde_json::from_str(found[0].cloud_trail_event().unwrap()).unwrap();
    assert_eq!(record["eventCategory"], "ActivityAuditLog");
    assert_eq!(record["channelArn"], arn);
    assert_eq!(record["eventData"]["UID"], "u-1");
    // Refusals of the whole call.
    let (status, out) = put(
        &f,
        &arn,
        &json!([{"id": "a", "eventData": good}, {"id": "a", "eventData": good}]),
    );
    assert_eq!(
        (
            status,
            out["__type"].as_str().unwrap_or("").rsplit('#').next()
        ),
        (400, Some("DuplicatedAuditEventId")),
        "{out}"
    );
    let missing = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:channel/nope");
    let (status, out) = put(&f, &missing, &json!([{"id": "a", "eventData": good}]));
    assert_eq!(status, 400, "{out}");
    assert!(
        out["__type"]
            .as_str()
            .unwrap_or("")
            .ends_with("ChannelNotFound"),
        "{out}"
    );
}

/// A channel's resource policy lets another account put events into it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_policy_lets_another_account_put_events() {
    let f = Fixture::new("channels-policy", ACCOUNT);
    let arn = channel(&f).await;
    let ct = f.server.cloudtrail();
    let e = err_info(ct.get_resource_policy().resource_arn(&arn).send().await);
    assert_eq!(e.code, "ResourcePolicyNotFoundException", "{e:?}");
    let e = err_info(
        ct.put_resource_policy()
            .resource_arn(&arn)
            .resource_policy("{\"Version\":\"2012-10-17\"}")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourcePolicyNotValidException", "{e:?}");
    // Another account, made with signup, with its own root key.
    let (other_account, other) = crate::common::signup(&f.dir, "partner@example.com", "Partner");
    let put_as_other = |body: &Value| {
        let raw = Raw::new(
            "POST",
            &format!("/PutAuditEvents?channelArn={}", percent(&arn)),
            json!({ "auditEvents": body }).to_string().as_bytes(),
        )
        .header("content-type", "application/json");
        let signed = raw.signed(
            f.server.port,
            &crate::common::Sig::new(&other, "cloudtrail-data"),
        );
        let resp = f.server.send(&signed);
        (resp.status, resp.text())
    };
    let events = json!([{"id": "p-1", "eventData": event_data("p-1")}]);
    let (status, text) = put_as_other(&events);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("ChannelInsufficientPermission"), "{text}");
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "partner",
            "Effect": "Allow",
            "Principal": {"AWS": [format!("arn:aws:iam::{other_account}:root")]},
            "Action": "cloudtrail-data:PutAuditEvents",
            "Resource": arn,
        }]
    })
    .to_string();
    let put_out = ok(
        "PutResourcePolicy",
        ct.put_resource_policy()
            .resource_arn(&arn)
            .resource_policy(&policy)
            .send()
            .await,
    );
    assert_eq!(put_out.resource_arn(), Some(arn.as_str()));
    let got = ok(
        "GetResourcePolicy",
        ct.get_resource_policy().resource_arn(&arn).send().await,
    );
    assert_eq!(got.resource_policy(), Some(policy.as_str()));
    let (status, text) = put_as_other(&events);
    assert_eq!(status, 200, "{text}");
    ok(
        "DeleteResourcePolicy",
        ct.delete_resource_policy().resource_arn(&arn).send().await,
    );
    let (status, _) = put_as_other(&events);
    assert_eq!(status, 400);
}
