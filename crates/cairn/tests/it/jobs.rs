//! The one job runner, end to end: a job killed between its steps finishes after the restart
//! exactly once in effect, and mail — a job too — reaches an SMTP server that refuses the
//! first attempts.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_organizations::types::{
    CreateAccountState, HandshakeParty, HandshakePartyType, OrganizationFeatureSet,
};

use crate::common::{Server, TempDir, ok, signup};

const MGMT: &str = "111111111111";

/// The `.eml` files in the data directory's outbox.
fn outbox(dir: &TempDir) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir.path().join("data").join("outbox")) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

/// SIGKILL (an abort at a crash point) after CreateAccount's first step committed — the
/// account exists, the request is still `IN_PROGRESS` — then a restart: the second step runs
/// and the request ends `SUCCEEDED` with one account, one `CreateAccountResult` event and one
/// verification email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_killed_between_its_steps_finishes_once_after_restart() {
    let dir = TempDir::new("jobs-steps");
    let mut server = Server::start_with_env(
        &dir,
        &["--account-id", MGMT],
        &[("CAIRN_FAULTS", "job:org.create_account:between-steps")],
    );
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let car_id = crate::fixture::start_member(&orgs, "Steps", "steps@example.com").await;
    let status = server.await_exit(Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| !s.success()),
        "the crash point did not end the process: {status:?}"
    );
    assert!(outbox(&dir).is_empty(), "no email before the second step");
    let server = Server::start(&dir, &["--account-id", MGMT]);
    let orgs = server.orgs();
    let deadline = Instant::now() + Duration::from_secs(15);
    let state = loop {
        let st = ok(
            "DescribeCreateAccountStatus",
            orgs.describe_create_account_status()
                .create_account_request_id(&car_id)
                .send()
                .await,
        )
        .create_account_status()
        .unwrap()
        .clone();
        if st.state() != Some(&CreateAccountState::InProgress) {
            break st;
        }
        assert!(Instant::now() < deadline, "still IN_PROGRESS after restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(state.state(), Some(&CreateAccountState::Succeeded));
    let accounts = ok("ListAccounts", orgs.list_accounts().send().await);
    let made: Vec<_> = accounts
        .accounts()
        .iter()
        .filter(|a| a.email() == Some("steps@example.com"))
        .collect();
    assert_eq!(made.len(), 1, "{:?}", accounts.accounts());
    assert_eq!(made[0].id(), state.account_id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while outbox(&dir).is_empty() {
        assert!(Instant::now() < deadline, "no verification email");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mails = outbox(&dir);
    assert_eq!(mails.len(), 1, "exactly one email");
    assert!(mails[0].contains("To: steps@example.com"), "{}", mails[0]);
    let events = crate::common::lookup_all(
        &server.cloudtrail(),
        Some(crate::common::attr(
            aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
            "CreateAccountResult",
        )),
    )
    .await;
    assert_eq!(events.len(), 1, "one CreateAccountResult event");
}

/// A minimal SMTP server: the first `refuse` connections get `421` and are closed; the
/// others are served and their messages kept.
type Shared<T> = Arc<Mutex<T>>;

fn smtp_server(refuse: usize) -> (u16, Shared<Vec<String>>, Shared<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let messages = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(Mutex::new(0usize));
    let (m, c) = (Arc::clone(&messages), Arc::clone(&connections));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = {
                let mut c = c.lock().unwrap();
                *c += 1;
                *c
            };
            if n <= refuse {
                let _ = stream.write_all(b"421 4.3.2 try again later\r\n");
                continue;
            }
            let _ = stream.write_all(b"220 test ESMTP\r\n");
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut data = String::new();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        m.lock().unwrap().push(std::mem::take(&mut data));
                        let _ = stream.write_all(b"250 2.0.0 queued\r\n");
                    } else {
                        data.push_str(&line);
                    }
                    continue;
                }
                let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                let reply: &[u8] = match verb.as_str() {
                    "EHLO" | "HELO" => b"250 test\r\n",
                    "DATA" => {
                        in_data = true;
                        b"354 go ahead\r\n"
                    }
                    "QUIT" => {
                        let _ = stream.write_all(b"221 bye\r\n");
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                let _ = stream.write_all(reply);
            }
        }
    });
    (port, messages, connections)
}

/// The mail server refuses the first two deliveries; the invitation still arrives, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_that_refuses_at_first_still_gets_the_invitation() {
    let (port, messages, connections) = smtp_server(2);
    let dir = TempDir::new("jobs-smtp");
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server =
        Server::start_with_env(&dir, &["--account-id", MGMT], &[("CAIRN_SMTP_URL", &smtp)]);
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let (invitee, _) = signup(&dir, "invitee@example.com", "Invitee");
    let target = HandshakeParty::builder()
        .r#type(HandshakePartyType::Account)
        .id(&invitee)
        .build()
        .unwrap();
    let hs = ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(target)
            .notes("welcome aboard")
            .send()
            .await,
    );
    let hs_id = hs.handshake().and_then(|h| h.id()).unwrap().to_owned();
    // Backoff 1 s, then 2 s: delivered on the third attempt.
    let deadline = Instant::now() + Duration::from_secs(20);
    while messages.lock().unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no message after {} connections",
            connections.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = messages.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains("invitee@example.com"), "{}", got[0]);
    assert!(
        got[0].contains(&hs_id) && got[0].contains("welcome aboard"),
        "{}",
        got[0]
    );
    assert!(*connections.lock().unwrap() >= 3);
    // Nothing more is sent afterwards.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(messages.lock().unwrap().len(), 1);
    // The runner's metrics tell the story: two retries, one success, nothing queued.
    let metrics = crate::common::send(
        server.port,
        &crate::common::Raw::new("GET", "/metrics", b""),
    )
    .text();
    for line in [
        "cairn_jobs_retried_total{kind=\"mail.send\"} 2",
        "cairn_jobs_succeeded_total{kind=\"mail.send\"} 1",
        "cairn_jobs_failed_total{kind=\"mail.send\"} 0",
        "cairn_jobs_queued{kind=\"mail.send\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}
