//! Organizations accounts and handshakes, end to end: `CreateAccount` (the job, the role the
//! management account assumes, the verification email), the account reads, moving,
//! removing, closing and leaving, invitations by ID and by email to accounts made with
//! `cairn signup` (accepted with the invitee's own credentials, declined, canceled),
//! `EnableAllFeatures`, and the emails over a real SMTP sink.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{Server, TempDir, err_info, ok, raw_reason, signup};
use crate::fixture::{Fixture, Org, member_role};
use aws_sdk_organizations::types::{
    AccountJoinedMethod, AccountStatus, ActionType, CreateAccountFailureReason, CreateAccountState,
    CreateAccountStatus, Handshake, HandshakeFilter, HandshakeParty, HandshakePartyType,
    HandshakeState, OrganizationFeatureSet,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MGMT: &str = "111111111111";

async fn await_status(orgs: &aws_sdk_organizations::Client, car_id: &str) -> CreateAccountStatus {
    let start = Instant::now();
    loop {
        let out = ok(
            "DescribeCreateAccountStatus",
            orgs.describe_create_account_status()
                .create_account_request_id(car_id)
                .send()
                .await,
        );
        let st = out.create_account_status().unwrap().clone();
        if st.state() != Some(&CreateAccountState::InProgress) {
            return st;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "CreateAccount still IN_PROGRESS after 15 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn eml_files(data_dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(data_dir.join("outbox")) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn party(kind: HandshakePartyType, id: &str) -> HandshakeParty {
    HandshakeParty::builder()
        .r#type(kind)
        .id(id)
        .build()
        .unwrap()
}

/// Creates `n` member accounts "Workload <i>" (email `workload<i>@example.com`), waiting for
/// each, and answers their IDs.
async fn workloads(f: &Fixture, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let name = format!("Workload {i}");
        let email = format!("workload{i}@example.com");
        ids.push(f.member(&name, &email).await);
    }
    ids
}

/// Sends `CreateAccount` again for `workload0@example.com` (spelt `WORKLOAD0@…`) and answers
/// its final status.
async fn duplicate_workload0(orgs: &aws_sdk_organizations::Client) -> CreateAccountStatus {
    let dup = ok(
        "CreateAccount",
        orgs.create_account()
            .account_name("Again")
            .email("WORKLOAD0@example.com")
            .send()
            .await,
    );
    await_status(orgs, dup.create_account_status().unwrap().id().unwrap()).await
}

/// A server whose organization has three created accounts and one failed `CreateAccount`
/// (the email of the first, again).
async fn three_workloads_and_a_duplicate(tag: &str) -> (Fixture, Org, Vec<String>) {
    let (f, org) = Fixture::with_org(tag, MGMT).await;
    let ids = workloads(&f, 3).await;
    duplicate_workload0(&f.server.orgs()).await;
    (f, org, ids)
}

/// A created account moved from the root into a new OU "Workloads"; answers (account, OU).
async fn workload_in_ou(f: &Fixture, org: &Org) -> (String, String) {
    let orgs = f.server.orgs();
    let acct = f.member("Workload 0", "workload0@example.com").await;
    let ou = ok(
        "CreateOrganizationalUnit",
        orgs.create_organizational_unit()
            .parent_id(&org.root_id)
            .name("Workloads")
            .send()
            .await,
    );
    let ou_id = ou.organizational_unit().unwrap().id().unwrap().to_owned();
    ok(
        "MoveAccount",
        orgs.move_account()
            .account_id(&acct)
            .source_parent_id(&org.root_id)
            .destination_parent_id(&ou_id)
            .send()
            .await,
    );
    (acct, ou_id)
}

/// The management account's administrator "ops" in `member`'s
/// `OrganizationAccountAccessRole` (as an IAM user: root users cannot assume roles).
async fn ops_in(f: &Fixture, member: &str) -> crate::common::Who {
    let ops = f.admin("ops", None).await;
    member_role(&f.server, &ops, member).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_needs_an_organization() {
    let f = Fixture::new("orgs-acct-no-org", MGMT);
    let e = err_info(
        f.server
            .orgs()
            .create_account()
            .account_name("x")
            .email("x@example.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_answers_in_progress_and_the_job_finishes_it() {
    let (f, _org) = Fixture::with_org("orgs-acct-create", MGMT).await;
    let orgs = f.server.orgs();
    let out = ok(
        "CreateAccount",
        orgs.create_account()
            .account_name("Workload 0")
            .email("workload0@example.com")
            .tags(
                aws_sdk_organizations::types::Tag::builder()
                    .key("team")
                    .value("blue")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let st = out.create_account_status().unwrap();
    assert_eq!(st.state(), Some(&CreateAccountState::InProgress));
    assert!(st.account_id().is_none(), "{st:?}");
    let car = st.id().unwrap().to_owned();
    assert!(car.starts_with("car-"), "{car}");
    let done = await_status(&orgs, &car).await;
    assert_eq!(
        done.state(),
        Some(&CreateAccountState::Succeeded),
        "{done:?}"
    );
    assert!(done.completed_timestamp().is_some());
    let id = done.account_id().unwrap().to_owned();
    assert_eq!(id.len(), 12);
    // DescribeCreateAccountStatus keeps answering the account ID.
    assert!(
        ok(
            "DescribeCreateAccountStatus",
            orgs.describe_create_account_status()
                .create_account_request_id(&car)
                .send()
                .await
        )
        .create_account_status()
        .unwrap()
        .account_id()
            == Some(id.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_with_an_email_in_use_fails_asynchronously() {
    let (f, _org) = Fixture::with_org("orgs-acct-dup-email", MGMT).await;
    workloads(&f, 1).await;
    let failed = duplicate_workload0(&f.server.orgs()).await;
    assert_eq!(failed.state(), Some(&CreateAccountState::Failed));
    assert_eq!(
        failed.failure_reason(),
        Some(&CreateAccountFailureReason::EmailAlreadyExists)
    );
    assert!(failed.account_id().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_finished_create_account_is_a_cloudtrail_service_event() {
    let (f, _org, _ids) = three_workloads_and_a_duplicate("orgs-acct-trail").await;
    let results = crate::common::lookup_all(
        &f.server.cloudtrail(),
        Some(crate::common::attr(
            aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
            "CreateAccountResult",
        )),
    )
    .await;
    assert_eq!(results.len(), 4, "{results:?}");
    let r = crate::common::record(&results[0]);
    assert_eq!(r["eventType"], "AwsServiceEvent", "{r}");
    assert_eq!(r["recipientAccountId"], MGMT, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_create_account_status_filters_by_state_and_pages() {
    let (f, _org, _ids) = three_workloads_and_a_duplicate("orgs-acct-list-status").await;
    let orgs = f.server.orgs();
    let ok_only = ok(
        "ListCreateAccountStatus",
        orgs.list_create_account_status()
            .states(CreateAccountState::Succeeded)
            .send()
            .await,
    );
    assert_eq!(ok_only.create_account_statuses().len(), 3);
    let failed_only = ok(
        "ListCreateAccountStatus",
        orgs.list_create_account_status()
            .states(CreateAccountState::Failed)
            .send()
            .await,
    );
    assert_eq!(failed_only.create_account_statuses().len(), 1);
    let p1 = ok(
        "ListCreateAccountStatus",
        orgs.list_create_account_status()
            .max_results(3)
            .send()
            .await,
    );
    assert_eq!(p1.create_account_statuses().len(), 3);
    let p2 = ok(
        "ListCreateAccountStatus",
        orgs.list_create_account_status()
            .max_results(3)
            .next_token(p1.next_token().unwrap())
            .send()
            .await,
    );
    assert_eq!(p2.create_account_statuses().len(), 1);
    assert!(p2.next_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_create_account_status_of_an_unknown_request_is_not_found() {
    let (f, _org) = Fixture::with_org("orgs-acct-status-unknown", MGMT).await;
    let e = err_info(
        f.server
            .orgs()
            .describe_create_account_status()
            .create_account_request_id("car-0000000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "CreateAccountStatusNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_account_answers_a_created_accounts_details() {
    let (f, org) = Fixture::with_org("orgs-acct-describe", MGMT).await;
    let acct0 = workloads(&f, 1).await.remove(0);
    let a = ok(
        "DescribeAccount",
        f.server
            .orgs()
            .describe_account()
            .account_id(&acct0)
            .send()
            .await,
    );
    let a = a.account().unwrap();
    assert_eq!(a.joined_method(), Some(&AccountJoinedMethod::Created));
    assert_eq!(a.status(), Some(&AccountStatus::Active));
    assert_eq!(a.email(), Some("workload0@example.com"));
    assert_eq!(
        a.arn(),
        Some(format!("arn:aws:organizations::{MGMT}:account/{}/{acct0}", org.id).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_account_of_an_unknown_account_is_not_found() {
    let (f, _org) = Fixture::with_org("orgs-acct-describe-unknown", MGMT).await;
    let e = err_info(
        f.server
            .orgs()
            .describe_account()
            .account_id("999999999999")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_accounts_answers_every_account_and_pages() {
    let (f, _org) = Fixture::with_org("orgs-acct-list", MGMT).await;
    workloads(&f, 3).await;
    let orgs = f.server.orgs();
    let all = ok("ListAccounts", orgs.list_accounts().send().await);
    assert_eq!(all.accounts().len(), 4);
    let page = ok(
        "ListAccounts",
        orgs.list_accounts().max_results(3).send().await,
    );
    assert_eq!(page.accounts().len(), 3);
    let rest = ok(
        "ListAccounts",
        orgs.list_accounts()
            .max_results(3)
            .next_token(page.next_token().unwrap())
            .send()
            .await,
    );
    assert_eq!(rest.accounts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_accounts_for_parent_answers_the_roots_accounts_and_refuses_an_unknown_parent() {
    let (f, org) = Fixture::with_org("orgs-acct-list-parent", MGMT).await;
    workloads(&f, 3).await;
    let orgs = f.server.orgs();
    let under_root = ok(
        "ListAccountsForParent",
        orgs.list_accounts_for_parent()
            .parent_id(&org.root_id)
            .send()
            .await,
    );
    assert_eq!(under_root.accounts().len(), 4);
    let e = err_info(
        orgs.list_accounts_for_parent()
            .parent_id("ou-zzzz-zzzzzzzz")
            .send()
            .await,
    );
    assert_eq!(e.code, "ParentNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_account_assumes_a_created_accounts_access_role() {
    let (f, _org) = Fixture::with_org("orgs-acct-role", MGMT).await;
    let acct0 = workloads(&f, 1).await.remove(0);
    let inside = ops_in(&f, &acct0).await;
    let me = ok(
        "GetCallerIdentity",
        f.server.sts_as(&inside).get_caller_identity().send().await,
    );
    assert_eq!(me.account(), Some(acct0.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_account_is_not_the_management_account() {
    let (f, _org) = Fixture::with_org("orgs-acct-not-mgmt", MGMT).await;
    let acct0 = workloads(&f, 1).await.remove(0);
    let inside = ops_in(&f, &acct0).await;
    let e = err_info(f.server.orgs_as(&inside).list_accounts().send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_sends_a_verification_email_to_the_outbox() {
    let (f, _org) = Fixture::with_org("orgs-acct-email", MGMT).await;
    workloads(&f, 3).await;
    let data = f.dir.path().join("data");
    wait_for("verification emails", || {
        eml_files(&data)
            .iter()
            .filter(|m| m.contains("workload"))
            .count()
            >= 3
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_gov_cloud_account_is_refused_without_gov_cloud() {
    let (f, _org) = Fixture::with_org("orgs-acct-govcloud", MGMT).await;
    let (code, reason) = raw_reason(
        &f.server,
        "CreateGovCloudAccount",
        r#"{"AccountName":"g","Email":"g@example.com"}"#,
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "ConstraintViolationException",
            "MASTER_ACCOUNT_NOT_GOVCLOUD_ENABLED"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_account_moves_an_account_into_an_ou() {
    let (f, org) = Fixture::with_org("orgs-acct-move", MGMT).await;
    let (acct0, ou_id) = workload_in_ou(&f, &org).await;
    let in_ou = ok(
        "ListAccountsForParent",
        f.server
            .orgs()
            .list_accounts_for_parent()
            .parent_id(&ou_id)
            .send()
            .await,
    );
    assert_eq!(in_ou.accounts().len(), 1);
    assert_eq!(in_ou.accounts()[0].id(), Some(acct0.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_account_refuses_the_same_parent_and_unknown_parents_or_accounts() {
    let (f, org) = Fixture::with_org("orgs-acct-move-errors", MGMT).await;
    let (acct0, ou_id) = workload_in_ou(&f, &org).await;
    let root_id = &org.root_id;
    let orgs = f.server.orgs();
    let mv = |src: &str, dst: &str, acct: &str| {
        orgs.move_account()
            .account_id(acct)
            .source_parent_id(src)
            .destination_parent_id(dst)
            .send()
    };
    let e = err_info(mv(&ou_id, &ou_id, &acct0).await);
    assert_eq!(e.code, "DuplicateAccountException", "{e:?}");
    let e = err_info(mv("ou-zzzz-zzzzzzzz", root_id, &acct0).await);
    assert_eq!(e.code, "SourceParentNotFoundException", "{e:?}");
    let e = err_info(mv(&ou_id, "ou-zzzz-zzzzzzzz", &acct0).await);
    assert_eq!(e.code, "DestinationParentNotFoundException", "{e:?}");
    let e = err_info(mv(root_id, &ou_id, "999999999999").await);
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_account_cannot_be_removed_from_its_organization() {
    let (f, _org) = Fixture::with_org("orgs-acct-remove-mgmt", MGMT).await;
    let (code, reason) = raw_reason(
        &f.server,
        "RemoveAccountFromOrganization",
        &format!(r#"{{"AccountId":"{MGMT}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "ConstraintViolationException",
            "ACCOUNT_CANNOT_LEAVE_ORGANIZATION"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freshly_created_account_cannot_be_removed_during_its_wait_period() {
    let (f, _org) = Fixture::with_org("orgs-acct-remove-created", MGMT).await;
    let acct0 = workloads(&f, 1).await.remove(0);
    let (code, reason) = raw_reason(
        &f.server,
        "RemoveAccountFromOrganization",
        &format!(r#"{{"AccountId":"{acct0}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("ConstraintViolationException", "WAIT_PERIOD_ACTIVE")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_account_is_pending_closure_then_suspended_and_closes_once() {
    let (f, _org) = Fixture::with_org("orgs-acct-close", MGMT).await;
    let acct1 = workloads(&f, 2).await.remove(1);
    let orgs = f.server.orgs();
    ok(
        "CloseAccount",
        orgs.close_account().account_id(&acct1).send().await,
    );
    let st = ok(
        "DescribeAccount",
        orgs.describe_account().account_id(&acct1).send().await,
    );
    assert_eq!(
        st.account().unwrap().status(),
        Some(&AccountStatus::PendingClosure)
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let st = ok(
        "DescribeAccount",
        orgs.describe_account().account_id(&acct1).send().await,
    );
    assert_eq!(
        st.account().unwrap().status(),
        Some(&AccountStatus::Suspended)
    );
    let e = err_info(orgs.close_account().account_id(&acct1).send().await);
    assert_eq!(e.code, "AccountAlreadyClosedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_account_cannot_be_closed() {
    let (f, _org) = Fixture::with_org("orgs-acct-close-mgmt", MGMT).await;
    let (code, reason) = raw_reason(
        &f.server,
        "CloseAccount",
        &format!(r#"{{"AccountId":"{MGMT}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "ConstraintViolationException",
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_account_cannot_leave_its_organization() {
    let (f, _org) = Fixture::with_org("orgs-acct-mgmt-leave", MGMT).await;
    let e = err_info(f.server.orgs().leave_organization().send().await);
    assert_eq!(e.code, "MasterCannotLeaveOrganizationException", "{e:?}");
}

/// An account made with `cairn signup`, and an Organizations client with its credentials.
struct Invitee {
    id: String,
    orgs: aws_sdk_organizations::Client,
}

/// Signs up a standalone account for `email` on `f`'s data directory.
fn invitee(f: &Fixture, email: &str, name: &str) -> Invitee {
    let (id, who) = signup(&f.dir, email, name);
    let orgs = f.server.orgs_as(&who);
    Invitee { id, orgs }
}

/// A server whose management account has an organization with consolidated billing only.
async fn billing_org(tag: &str) -> Fixture {
    let f = Fixture::new(tag, MGMT);
    ok(
        "CreateOrganization",
        f.server
            .orgs()
            .create_organization()
            .feature_set(OrganizationFeatureSet::ConsolidatedBilling)
            .send()
            .await,
    );
    f
}

/// Invites `id` (an account ID or an email address, as `kind`) and answers the handshake.
async fn invite(
    orgs: &aws_sdk_organizations::Client,
    kind: HandshakePartyType,
    id: &str,
) -> Handshake {
    let inv = ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(party(kind, id))
            .send()
            .await,
    );
    inv.handshake().unwrap().clone()
}

/// Invites `who` by `kind` (`id` is its account ID or email address) and accepts as `who`;
/// answers the handshake ID.
async fn join(
    orgs: &aws_sdk_organizations::Client,
    who: &Invitee,
    kind: HandshakePartyType,
    id: &str,
) -> String {
    let h = invite(orgs, kind, id).await.id().unwrap().to_owned();
    ok(
        "AcceptHandshake",
        who.orgs.accept_handshake().handshake_id(&h).send().await,
    );
    h
}

/// A consolidated-billing organization that Alice (signed up) joined by invitation.
async fn alice_joined(tag: &str) -> (Fixture, Invitee) {
    let f = billing_org(tag).await;
    let a = invitee(&f, "alice@example.com", "Alice");
    join(&f.server.orgs(), &a, HandshakePartyType::Account, &a.id).await;
    (f, a)
}

/// Sends `EnableAllFeatures` and answers its handshake and the approval handshakes under it.
async fn request_all_features(orgs: &aws_sdk_organizations::Client) -> (Handshake, Vec<Handshake>) {
    let en = ok("EnableAllFeatures", orgs.enable_all_features().send().await);
    let parent = en.handshake().unwrap().clone();
    let kids = ok(
        "ListHandshakesForOrganization",
        orgs.list_handshakes_for_organization()
            .filter(
                HandshakeFilter::builder()
                    .parent_handshake_id(parent.id().unwrap())
                    .build(),
            )
            .send()
            .await,
    );
    (parent, kids.handshakes().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_by_account_id_is_an_open_handshake_for_fifteen_days() {
    let f = billing_org("orgs-inv-open").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    let inv = ok(
        "InviteAccountToOrganization",
        f.server
            .orgs()
            .invite_account_to_organization()
            .target(party(HandshakePartyType::Account, &a.id))
            .notes("Welcome aboard")
            .send()
            .await,
    );
    let h = inv.handshake().unwrap();
    assert_eq!(h.state(), Some(&HandshakeState::Open));
    assert_eq!(h.action(), Some(&ActionType::InviteAccountToOrganization));
    assert!(h.arn().unwrap().contains("/invite/"), "{:?}", h.arn());
    assert_eq!(h.parties().len(), 2);
    let exp = h.expiration_timestamp().unwrap().secs() - h.requested_timestamp().unwrap().secs();
    assert_eq!(exp, 15 * 24 * 3600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_an_account_again_while_invited_is_a_duplicate_handshake() {
    let f = billing_org("orgs-inv-duplicate").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    let orgs = f.server.orgs();
    invite(&orgs, HandshakePartyType::Account, &a.id).await;
    let e = err_info(
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Account, &a.id))
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateHandshakeException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invited_account_sees_its_invitation() {
    let f = billing_org("orgs-inv-seen").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    let h_a = invite(&f.server.orgs(), HandshakePartyType::Account, &a.id).await;
    let h_a = h_a.id().unwrap();
    let mine = ok(
        "ListHandshakesForAccount",
        a.orgs.list_handshakes_for_account().send().await,
    );
    assert_eq!(mine.handshakes().len(), 1);
    ok(
        "DescribeHandshake",
        a.orgs.describe_handshake().handshake_id(h_a).send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_invited_account_sees_or_accepts_an_invitation() {
    let f = billing_org("orgs-inv-others").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    let b = invitee(&f, "bob@example.com", "Bob");
    let orgs = f.server.orgs();
    let h_a = invite(&orgs, HandshakePartyType::Account, &a.id).await;
    let h_a = h_a.id().unwrap();
    // Bob cannot see it, nor answer it.
    let e = err_info(b.orgs.describe_handshake().handshake_id(h_a).send().await);
    assert_eq!(e.code, "HandshakeNotFoundException", "{e:?}");
    let e = err_info(b.orgs.accept_handshake().handshake_id(h_a).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    // The sender cannot accept it either.
    let e = err_info(orgs.accept_handshake().handshake_id(h_a).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_by_email_is_declined_once_and_then_closed() {
    let f = billing_org("orgs-inv-decline").await;
    let b = invitee(&f, "bob@example.com", "Bob");
    let h_b = invite(
        &f.server.orgs(),
        HandshakePartyType::Email,
        "BOB@example.com",
    )
    .await;
    let h_b = h_b.id().unwrap();
    let d = ok(
        "DeclineHandshake",
        b.orgs.decline_handshake().handshake_id(h_b).send().await,
    );
    assert_eq!(
        d.handshake().unwrap().state(),
        Some(&HandshakeState::Declined)
    );
    let e = err_info(b.orgs.accept_handshake().handshake_id(h_b).send().await);
    assert_eq!(e.code, "InvalidHandshakeTransitionException", "{e:?}");
    let e = err_info(b.orgs.decline_handshake().handshake_id(h_b).send().await);
    assert_eq!(e.code, "HandshakeAlreadyInStateException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_sender_cancels_an_invitation_and_it_is_then_closed() {
    let f = billing_org("orgs-inv-cancel").await;
    let c = invitee(&f, "carol@example.com", "Carol");
    let orgs = f.server.orgs();
    let h_c = invite(&orgs, HandshakePartyType::Account, &c.id).await;
    let h_c = h_c.id().unwrap();
    let e = err_info(c.orgs.cancel_handshake().handshake_id(h_c).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    let cx = ok(
        "CancelHandshake",
        orgs.cancel_handshake().handshake_id(h_c).send().await,
    );
    assert_eq!(
        cx.handshake().unwrap().state(),
        Some(&HandshakeState::Canceled)
    );
    let e = err_info(c.orgs.accept_handshake().handshake_id(h_c).send().await);
    assert_eq!(e.code, "InvalidHandshakeTransitionException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inviting_an_unknown_email_address_is_invalid() {
    let f = billing_org("orgs-inv-unknown-email").await;
    let (code, reason) = raw_reason(
        &f.server,
        "InviteAccountToOrganization",
        r#"{"Target":{"Type":"EMAIL","Id":"nobody@example.com"}}"#,
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("InvalidInputException", "INVALID_EMAIL_ADDRESS_TARGET")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invited_account_accepts_with_its_own_credentials_and_joins() {
    let f = billing_org("orgs-inv-accept").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    let orgs = f.server.orgs();
    let h_a = invite(&orgs, HandshakePartyType::Account, &a.id).await;
    let h_a = h_a.id().unwrap();
    let acc = ok(
        "AcceptHandshake",
        a.orgs.accept_handshake().handshake_id(h_a).send().await,
    );
    assert_eq!(
        acc.handshake().unwrap().state(),
        Some(&HandshakeState::Accepted)
    );
    let e = err_info(a.orgs.accept_handshake().handshake_id(h_a).send().await);
    assert_eq!(e.code, "HandshakeAlreadyInStateException", "{e:?}");
    let desc = ok(
        "DescribeOrganization",
        a.orgs.describe_organization().send().await,
    );
    assert_eq!(desc.organization().unwrap().master_account_id(), Some(MGMT));
    let a_acct = ok(
        "DescribeAccount",
        orgs.describe_account().account_id(&a.id).send().await,
    );
    assert_eq!(
        a_acct.account().unwrap().joined_method(),
        Some(&AccountJoinedMethod::Invited)
    );
    assert_eq!(a_acct.account().unwrap().name(), Some("Alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_already_in_an_organization_cannot_be_invited() {
    let (f, a) = alice_joined("orgs-inv-member").await;
    let (code, reason) = raw_reason(
        &f.server,
        "InviteAccountToOrganization",
        &format!(r#"{{"Target":{{"Type":"ACCOUNT","Id":"{}"}}}}"#, a.id),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "HandshakeConstraintViolationException",
            "ALREADY_IN_AN_ORGANIZATION"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_handshakes_for_organization_filters_by_action_and_pages() {
    let f = billing_org("orgs-inv-list").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    let b = invitee(&f, "bob@example.com", "Bob");
    let c = invitee(&f, "carol@example.com", "Carol");
    let orgs = f.server.orgs();
    // Three invitations, answered three ways: accepted, declined, canceled.
    join(&orgs, &a, HandshakePartyType::Account, &a.id).await;
    let h_b = invite(&orgs, HandshakePartyType::Email, "BOB@example.com").await;
    ok(
        "DeclineHandshake",
        b.orgs
            .decline_handshake()
            .handshake_id(h_b.id().unwrap())
            .send()
            .await,
    );
    let h_c = invite(&orgs, HandshakePartyType::Account, &c.id).await;
    ok(
        "CancelHandshake",
        orgs.cancel_handshake()
            .handshake_id(h_c.id().unwrap())
            .send()
            .await,
    );
    let all = ok(
        "ListHandshakesForOrganization",
        orgs.list_handshakes_for_organization()
            .filter(
                HandshakeFilter::builder()
                    .action_type(ActionType::InviteAccountToOrganization)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(all.handshakes().len(), 3);
    let page = ok(
        "ListHandshakesForOrganization",
        orgs.list_handshakes_for_organization()
            .max_results(2)
            .send()
            .await,
    );
    assert_eq!(page.handshakes().len(), 2);
    assert!(page.next_token().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_all_features_asks_each_invited_account_to_approve() {
    let (f, _a) = alice_joined("orgs-inv-all-features-ask").await;
    let orgs = f.server.orgs();
    let (parent, kids) = request_all_features(&orgs).await;
    assert_eq!(parent.action(), Some(&ActionType::EnableAllFeatures));
    assert_eq!(parent.state(), Some(&HandshakeState::Requested));
    let (code, reason) = raw_reason(&f.server, "EnableAllFeatures", "{}");
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "HandshakeConstraintViolationException",
            "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"
        )
    );
    assert_eq!(kids.len(), 1);
    // The management account cannot finalize before the approvals.
    let e = err_info(
        orgs.accept_handshake()
            .handshake_id(parent.id().unwrap())
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidHandshakeTransitionException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_all_features_completes_once_approved_and_finalized() {
    let (f, a) = alice_joined("orgs-inv-all-features-done").await;
    let orgs = f.server.orgs();
    let (parent, kids) = request_all_features(&orgs).await;
    ok(
        "AcceptHandshake",
        a.orgs
            .accept_handshake()
            .handshake_id(kids[0].id().unwrap())
            .send()
            .await,
    );
    ok(
        "AcceptHandshake",
        orgs.accept_handshake()
            .handshake_id(parent.id().unwrap())
            .send()
            .await,
    );
    let desc = ok(
        "DescribeOrganization",
        orgs.describe_organization().send().await,
    );
    assert_eq!(
        desc.organization().unwrap().feature_set(),
        Some(&OrganizationFeatureSet::All)
    );
    let (code, reason) = raw_reason(&f.server, "EnableAllFeatures", "{}");
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "HandshakeConstraintViolationException",
            "ORGANIZATION_ALREADY_HAS_ALL_FEATURES"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_account_leaves_on_its_own() {
    let (_f, a) = alice_joined("orgs-inv-leave").await;
    ok(
        "LeaveOrganization",
        a.orgs.leave_organization().send().await,
    );
    let e = err_info(a.orgs.describe_organization().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_account_removes_a_reinvited_account() {
    let (f, a) = alice_joined("orgs-inv-remove").await;
    let orgs = f.server.orgs();
    ok(
        "LeaveOrganization",
        a.orgs.leave_organization().send().await,
    );
    join(&orgs, &a, HandshakePartyType::Email, "alice@example.com").await;
    ok(
        "RemoveAccountFromOrganization",
        orgs.remove_account_from_organization()
            .account_id(&a.id)
            .send()
            .await,
    );
    let e = err_info(orgs.describe_account().account_id(&a.id).send().await);
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
    assert_eq!(
        ok("ListAccounts", orgs.list_accounts().send().await)
            .accounts()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_invitation_is_emailed_to_the_outbox() {
    let f = billing_org("orgs-inv-email").await;
    let a = invitee(&f, "alice@example.com", "Alice");
    invitee(&f, "bob@example.com", "Bob");
    let c = invitee(&f, "carol@example.com", "Carol");
    let orgs = f.server.orgs();
    let h_a = invite(&orgs, HandshakePartyType::Account, &a.id).await;
    let h_a = h_a.id().unwrap();
    invite(&orgs, HandshakePartyType::Email, "BOB@example.com").await;
    invite(&orgs, HandshakePartyType::Account, &c.id).await;
    // One email per invitation: Alice, Bob, Carol.
    let data = f.dir.path().join("data");
    wait_for("invitation emails", || {
        eml_files(&data)
            .iter()
            .filter(|m| m.contains("invites your AWS account"))
            .count()
            >= 3
    })
    .await;
    let mails = eml_files(&data);
    assert!(
        mails
            .iter()
            .any(|m| m.contains("To: alice@example.com") && m.contains(h_a)),
        "{mails:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(cairn_smtp_sink),
    ignore = "needs an SMTP sink: build and run with CAIRN_TEST_SMTP_PYTHON naming a Python with aiosmtpd (.ci/run makes one)"
)]
async fn emails_reach_a_real_smtp_server() {
    let py = PathBuf::from(
        std::env::var("CAIRN_TEST_SMTP_PYTHON")
            .expect("CAIRN_TEST_SMTP_PYTHON was set when this test was built: rebuild"),
    );
    let dir = TempDir::new("orgs-smtp");
    let maildir = dir.path().join("maildir");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut sink = Command::new(&py)
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting aiosmtpd");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = sink.try_wait() {
            panic!("aiosmtpd exited: {status}");
        }
        assert!(Instant::now() < deadline, "aiosmtpd did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _sink = Kill(sink);

    let url = format!("smtp://127.0.0.1:{port}");
    let server = Server::start_with_env(
        &dir,
        &["--account-id", MGMT],
        &[("CAIRN_SMTP_URL", url.as_str())],
    );
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization().send().await,
    );
    let (_, _) = signup(&dir, "dana@example.com", "Dana");
    let out = ok(
        "CreateAccount",
        orgs.create_account()
            .account_name("Mailed")
            .email("mailed@example.com")
            .send()
            .await,
    );
    let st = await_status(&orgs, out.create_account_status().unwrap().id().unwrap()).await;
    assert_eq!(st.state(), Some(&CreateAccountState::Succeeded), "{st:?}");
    ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Email, "dana@example.com"))
            .send()
            .await,
    );
    let read_all = || -> Vec<String> {
        std::fs::read_dir(maildir.join("new"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_for("both emails at the SMTP server", || read_all().len() >= 2).await;
    let mails = read_all();
    assert!(
        mails
            .iter()
            .any(|m| m.contains("mailed@example.com") && m.contains("was created for this email")),
        "{mails:?}"
    );
    assert!(
        mails
            .iter()
            .any(|m| m.contains("dana@example.com") && m.contains("invites your AWS account")),
        "{mails:?}"
    );
    // Nothing went to the outbox.
    assert!(eml_files(&dir.path().join("data")).is_empty());
}
