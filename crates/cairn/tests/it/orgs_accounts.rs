//! Organizations accounts and handshakes, end to end: `CreateAccount` (the job, the role the
//! management account assumes, the verification email), the account reads, moving,
//! removing, closing and leaving, invitations by ID and by email to accounts made with
//! `cairn signup` (accepted with the invitee's own credentials, declined, canceled),
//! `EnableAllFeatures`, and the emails over a real SMTP sink.

use crate::common::{Server, TempDir, Who, err_info, ok, raw_reason, signup};
use aws_sdk_organizations::types::{
    AccountJoinedMethod, AccountStatus, ActionType, CreateAccountFailureReason, CreateAccountState,
    CreateAccountStatus, HandshakeFilter, HandshakeParty, HandshakePartyType, HandshakeState,
    OrganizationFeatureSet,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_and_the_account_operations() {
    let dir = TempDir::new("orgs-create");
    let server = Server::start(&dir, &["--account-id", MGMT]);
    let orgs = server.orgs();

    // Before CreateOrganization.
    let e = err_info(
        orgs.create_account()
            .account_name("x")
            .email("x@example.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");

    let org = ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let org_id = org.organization().unwrap().id().unwrap().to_owned();
    let root_id = ok("ListRoots", orgs.list_roots().send().await).roots()[0]
        .id()
        .unwrap()
        .to_owned();

    // CreateAccount answers IN_PROGRESS without an account ID; the job finishes it.
    let mut created = Vec::new();
    for i in 0..3 {
        let out = ok(
            "CreateAccount",
            orgs.create_account()
                .account_name(format!("Workload {i}"))
                .email(format!("workload{i}@example.com"))
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
        created.push((car, id));
    }
    let (car0, acct0) = created[0].clone();

    // The same email again fails asynchronously.
    let dup = ok(
        "CreateAccount",
        orgs.create_account()
            .account_name("Again")
            .email("WORKLOAD0@example.com")
            .send()
            .await,
    );
    let failed = await_status(&orgs, dup.create_account_status().unwrap().id().unwrap()).await;
    assert_eq!(failed.state(), Some(&CreateAccountState::Failed));
    assert_eq!(
        failed.failure_reason(),
        Some(&CreateAccountFailureReason::EmailAlreadyExists)
    );
    assert!(failed.account_id().is_none());

    // Each finished request is a CreateAccountResult service event in CloudTrail.
    let results = crate::common::lookup_all(
        &server.cloudtrail(),
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

    // ListCreateAccountStatus with its States filter and pagination.
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
    let e = err_info(
        orgs.describe_create_account_status()
            .create_account_request_id("car-0000000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "CreateAccountStatusNotFoundException", "{e:?}");
    assert!(
        ok(
            "DescribeCreateAccountStatus",
            orgs.describe_create_account_status()
                .create_account_request_id(&car0)
                .send()
                .await
        )
        .create_account_status()
        .unwrap()
        .account_id()
            == Some(acct0.as_str())
    );

    // DescribeAccount / ListAccounts / ListAccountsForParent.
    let a = ok(
        "DescribeAccount",
        orgs.describe_account().account_id(&acct0).send().await,
    );
    let a = a.account().unwrap();
    assert_eq!(a.joined_method(), Some(&AccountJoinedMethod::Created));
    assert_eq!(a.status(), Some(&AccountStatus::Active));
    assert_eq!(a.email(), Some("workload0@example.com"));
    assert_eq!(
        a.arn(),
        Some(format!("arn:aws:organizations::{MGMT}:account/{org_id}/{acct0}").as_str())
    );
    let e = err_info(
        orgs.describe_account()
            .account_id("999999999999")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
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
    let under_root = ok(
        "ListAccountsForParent",
        orgs.list_accounts_for_parent()
            .parent_id(&root_id)
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

    // The management account assumes the created account's OrganizationAccountAccessRole
    // (as an IAM user: root users cannot assume roles).
    let iam = server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("ops").send().await,
    );
    ok(
        "AttachUserPolicy",
        iam.attach_user_policy()
            .user_name("ops")
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("ops").send().await,
    );
    let key = key.access_key().unwrap();
    let ops = Who::new(key.access_key_id(), key.secret_access_key());
    let assumed = ok(
        "AssumeRole",
        server
            .sts_as(&ops)
            .assume_role()
            .role_arn(format!(
                "arn:aws:iam::{acct0}:role/OrganizationAccountAccessRole"
            ))
            .role_session_name("admin")
            .send()
            .await,
    );
    let c = assumed.credentials().unwrap();
    let inside = Who::session(c.access_key_id(), c.secret_access_key(), c.session_token());
    let me = ok(
        "GetCallerIdentity",
        server.sts_as(&inside).get_caller_identity().send().await,
    );
    assert_eq!(me.account(), Some(acct0.as_str()));
    // A member is not the management account.
    let e = err_info(server.orgs_as(&inside).list_accounts().send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");

    // The verification email went to the outbox.
    let data = dir.path().join("data");
    wait_for("verification emails", || {
        eml_files(&data)
            .iter()
            .filter(|m| m.contains("workload"))
            .count()
            >= 3
    })
    .await;

    // CreateGovCloudAccount: no GovCloud pairing in Cairn.
    let (code, reason) = raw_reason(
        &server,
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

    // MoveAccount and its errors.
    let ou = ok(
        "CreateOrganizationalUnit",
        orgs.create_organizational_unit()
            .parent_id(&root_id)
            .name("Workloads")
            .send()
            .await,
    );
    let ou_id = ou.organizational_unit().unwrap().id().unwrap().to_owned();
    ok(
        "MoveAccount",
        orgs.move_account()
            .account_id(&acct0)
            .source_parent_id(&root_id)
            .destination_parent_id(&ou_id)
            .send()
            .await,
    );
    let in_ou = ok(
        "ListAccountsForParent",
        orgs.list_accounts_for_parent()
            .parent_id(&ou_id)
            .send()
            .await,
    );
    assert_eq!(in_ou.accounts().len(), 1);
    assert_eq!(in_ou.accounts()[0].id(), Some(acct0.as_str()));
    let mv = |src: &str, dst: &str, acct: &str| {
        orgs.move_account()
            .account_id(acct)
            .source_parent_id(src)
            .destination_parent_id(dst)
            .send()
    };
    let e = err_info(mv(&ou_id, &ou_id, &acct0).await);
    assert_eq!(e.code, "DuplicateAccountException", "{e:?}");
    let e = err_info(mv("ou-zzzz-zzzzzzzz", &root_id, &acct0).await);
    assert_eq!(e.code, "SourceParentNotFoundException", "{e:?}");
    let e = err_info(mv(&ou_id, "ou-zzzz-zzzzzzzz", &acct0).await);
    assert_eq!(e.code, "DestinationParentNotFoundException", "{e:?}");
    let e = err_info(mv(&root_id, &ou_id, "999999999999").await);
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");

    // RemoveAccountFromOrganization: not the management account, not a fresh created one.
    let (code, reason) = raw_reason(
        &server,
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
    let (code, reason) = raw_reason(
        &server,
        "RemoveAccountFromOrganization",
        &format!(r#"{{"AccountId":"{acct0}"}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("ConstraintViolationException", "WAIT_PERIOD_ACTIVE")
    );

    // CloseAccount: PENDING_CLOSURE, then SUSPENDED; closing again fails.
    let (_, acct1) = created[1].clone();
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
    let (code, reason) = raw_reason(
        &server,
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

    // The management account cannot leave.
    let e = err_info(orgs.leave_organization().send().await);
    assert_eq!(e.code, "MasterCannotLeaveOrganizationException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_accept_decline_cancel_leave_remove() {
    let dir = TempDir::new("orgs-invite");
    let server = Server::start(&dir, &["--account-id", MGMT]);
    let orgs = server.orgs();
    ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::ConsolidatedBilling)
            .send()
            .await,
    );
    let (a_id, a) = signup(&dir, "alice@example.com", "Alice");
    let (b_id, b) = signup(&dir, "bob@example.com", "Bob");
    let (c_id, c) = signup(&dir, "carol@example.com", "Carol");
    let a_orgs = server.orgs_as(&a);
    let b_orgs = server.orgs_as(&b);
    let c_orgs = server.orgs_as(&c);

    // Invite Alice by account ID.
    let inv = ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Account, &a_id))
            .notes("Welcome aboard")
            .send()
            .await,
    );
    let h = inv.handshake().unwrap();
    let h_a = h.id().unwrap().to_owned();
    assert_eq!(h.state(), Some(&HandshakeState::Open));
    assert_eq!(h.action(), Some(&ActionType::InviteAccountToOrganization));
    assert!(h.arn().unwrap().contains("/invite/"), "{:?}", h.arn());
    assert_eq!(h.parties().len(), 2);
    let exp = h.expiration_timestamp().unwrap().secs() - h.requested_timestamp().unwrap().secs();
    assert_eq!(exp, 15 * 24 * 3600);
    let e = err_info(
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Account, &a_id))
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateHandshakeException", "{e:?}");

    // Alice sees it.
    let mine = ok(
        "ListHandshakesForAccount",
        a_orgs.list_handshakes_for_account().send().await,
    );
    assert_eq!(mine.handshakes().len(), 1);
    ok(
        "DescribeHandshake",
        a_orgs.describe_handshake().handshake_id(&h_a).send().await,
    );
    // Bob cannot see it, nor answer it.
    let e = err_info(b_orgs.describe_handshake().handshake_id(&h_a).send().await);
    assert_eq!(e.code, "HandshakeNotFoundException", "{e:?}");
    let e = err_info(b_orgs.accept_handshake().handshake_id(&h_a).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    // The sender cannot accept it either.
    let e = err_info(orgs.accept_handshake().handshake_id(&h_a).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");

    // Bob by email; he declines.
    let inv_b = ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Email, "BOB@example.com"))
            .send()
            .await,
    );
    let h_b = inv_b.handshake().unwrap().id().unwrap().to_owned();
    let d = ok(
        "DeclineHandshake",
        b_orgs.decline_handshake().handshake_id(&h_b).send().await,
    );
    assert_eq!(
        d.handshake().unwrap().state(),
        Some(&HandshakeState::Declined)
    );
    let e = err_info(b_orgs.accept_handshake().handshake_id(&h_b).send().await);
    assert_eq!(e.code, "InvalidHandshakeTransitionException", "{e:?}");
    let e = err_info(b_orgs.decline_handshake().handshake_id(&h_b).send().await);
    assert_eq!(e.code, "HandshakeAlreadyInStateException", "{e:?}");

    // Carol's invitation is canceled by the sender.
    let inv_c = ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Account, &c_id))
            .send()
            .await,
    );
    let h_c = inv_c.handshake().unwrap().id().unwrap().to_owned();
    let e = err_info(c_orgs.cancel_handshake().handshake_id(&h_c).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    let cx = ok(
        "CancelHandshake",
        orgs.cancel_handshake().handshake_id(&h_c).send().await,
    );
    assert_eq!(
        cx.handshake().unwrap().state(),
        Some(&HandshakeState::Canceled)
    );
    let e = err_info(c_orgs.accept_handshake().handshake_id(&h_c).send().await);
    assert_eq!(e.code, "InvalidHandshakeTransitionException", "{e:?}");

    // Inviting an unknown address, or the organization itself.
    let (code, reason) = raw_reason(
        &server,
        "InviteAccountToOrganization",
        r#"{"Target":{"Type":"EMAIL","Id":"nobody@example.com"}}"#,
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        ("InvalidInputException", "INVALID_EMAIL_ADDRESS_TARGET")
    );

    // Alice accepts with her own credentials and joins.
    let acc = ok(
        "AcceptHandshake",
        a_orgs.accept_handshake().handshake_id(&h_a).send().await,
    );
    assert_eq!(
        acc.handshake().unwrap().state(),
        Some(&HandshakeState::Accepted)
    );
    let e = err_info(a_orgs.accept_handshake().handshake_id(&h_a).send().await);
    assert_eq!(e.code, "HandshakeAlreadyInStateException", "{e:?}");
    let desc = ok(
        "DescribeOrganization",
        a_orgs.describe_organization().send().await,
    );
    assert_eq!(desc.organization().unwrap().master_account_id(), Some(MGMT));
    let a_acct = ok(
        "DescribeAccount",
        orgs.describe_account().account_id(&a_id).send().await,
    );
    assert_eq!(
        a_acct.account().unwrap().joined_method(),
        Some(&AccountJoinedMethod::Invited)
    );
    assert_eq!(a_acct.account().unwrap().name(), Some("Alice"));
    let (code, reason) = raw_reason(
        &server,
        "InviteAccountToOrganization",
        &format!(r#"{{"Target":{{"Type":"ACCOUNT","Id":"{a_id}"}}}}"#),
    );
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "HandshakeConstraintViolationException",
            "ALREADY_IN_AN_ORGANIZATION"
        )
    );

    // The organization's handshakes, filtered.
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

    // EnableAllFeatures: Alice (invited) must approve; then the management account finalizes.
    let en = ok("EnableAllFeatures", orgs.enable_all_features().send().await);
    let parent = en.handshake().unwrap();
    assert_eq!(parent.action(), Some(&ActionType::EnableAllFeatures));
    assert_eq!(parent.state(), Some(&HandshakeState::Requested));
    let parent_id = parent.id().unwrap().to_owned();
    let (code, reason) = raw_reason(&server, "EnableAllFeatures", "{}");
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "HandshakeConstraintViolationException",
            "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"
        )
    );
    let kids = ok(
        "ListHandshakesForOrganization",
        orgs.list_handshakes_for_organization()
            .filter(
                HandshakeFilter::builder()
                    .parent_handshake_id(&parent_id)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(kids.handshakes().len(), 1);
    let approval = kids.handshakes()[0].id().unwrap().to_owned();
    let e = err_info(
        orgs.accept_handshake()
            .handshake_id(&parent_id)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidHandshakeTransitionException", "{e:?}");
    ok(
        "AcceptHandshake",
        a_orgs
            .accept_handshake()
            .handshake_id(&approval)
            .send()
            .await,
    );
    ok(
        "AcceptHandshake",
        orgs.accept_handshake()
            .handshake_id(&parent_id)
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
    let (code, reason) = raw_reason(&server, "EnableAllFeatures", "{}");
    assert_eq!(
        (code.as_str(), reason.as_str()),
        (
            "HandshakeConstraintViolationException",
            "ORGANIZATION_ALREADY_HAS_ALL_FEATURES"
        )
    );

    // Alice leaves on her own; re-invited, she is removed by the management account.
    ok(
        "LeaveOrganization",
        a_orgs.leave_organization().send().await,
    );
    let e = err_info(a_orgs.describe_organization().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    let again = ok(
        "InviteAccountToOrganization",
        orgs.invite_account_to_organization()
            .target(party(HandshakePartyType::Email, "alice@example.com"))
            .send()
            .await,
    );
    ok(
        "AcceptHandshake",
        a_orgs
            .accept_handshake()
            .handshake_id(again.handshake().unwrap().id().unwrap())
            .send()
            .await,
    );
    ok(
        "RemoveAccountFromOrganization",
        orgs.remove_account_from_organization()
            .account_id(&a_id)
            .send()
            .await,
    );
    let e = err_info(orgs.describe_account().account_id(&a_id).send().await);
    assert_eq!(e.code, "AccountNotFoundException", "{e:?}");
    assert_eq!(
        ok("ListAccounts", orgs.list_accounts().send().await)
            .accounts()
            .len(),
        1
    );
    let _ = b_id;

    // Invitation emails reached the outbox (one per invitation: Alice ×2, Bob, Carol).
    let data = dir.path().join("data");
    wait_for("invitation emails", || {
        eml_files(&data)
            .iter()
            .filter(|m| m.contains("invites your AWS account"))
            .count()
            >= 4
    })
    .await;
    let mails = eml_files(&data);
    assert!(
        mails
            .iter()
            .any(|m| m.contains("To: alice@example.com") && m.contains(&h_a)),
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
