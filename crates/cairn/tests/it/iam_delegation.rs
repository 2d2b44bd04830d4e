//! IAM temporary delegation with `aws-sdk-iam` and `aws-sdk-sts` against the real binary: a
//! partner (the management account's administrator) asks a customer (a member account,
//! reached through its `OrganizationAccountAccessRole`) for access; the customer associates,
//! accepts and sends the token; the partner reads the exchange token from the notification
//! outbox (`<data-dir>/outbox/sns/`) and trades it in with `GetDelegatedAccessToken`.
//!
//! One test per behaviour, each on its own server ([`Fixture`]). The expiry of the trade-in
//! token needs injected time, which the server fixture has not: it is the unit test
//! `delegation::tests::a_token_expires_with_the_delegation_period` of `cairn-iam`.

use crate::common::{Who, attr, await_records, err_info, ok};
use crate::fixture::{Fixture, member_role, session};
use aws_sdk_cloudtrail::types::LookupAttributeKey;
use aws_sdk_iam::operation::RequestId;
use aws_sdk_iam::types::{
    DelegationPermission, PermissionCheckResultType, PermissionCheckStatusType, PolicyParameter,
    PolicyParameterTypeEnum, StateType,
};
use serde_json::Value;
use std::time::{Duration, Instant};

const PARTNER: &str = "111100003333";
const ROLE: &str = "OrganizationAccountAccessRole";

/// The partner's template: reading users, and `GetRole` on the roles it names.
const TEMPLATE: &str = r#"{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"},
 {"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::*:role/{{RoleNames}}"}]}"#;

struct World {
    f: Fixture,
    /// The customer's account.
    member: String,
    /// The partner's administrator.
    partner: Who,
    /// The customer: a session of the member's `OrganizationAccountAccessRole`.
    customer: Who,
    template_arn: String,
}

async fn world(tag: &str) -> World {
    let (f, _org) = Fixture::with_org(tag, PARTNER).await;
    let member = f.member("customer", "customer@example.com").await;
    let partner = f.admin("partner", None).await;
    let customer = member_role(&f.server, &partner, &member).await;
    let created = ok(
        "CreatePolicy",
        f.server
            .iam_as(&partner)
            .create_policy()
            .policy_name("delegation-template")
            .policy_document(TEMPLATE)
            .send()
            .await,
    );
    let template_arn = created.policy().unwrap().arn().unwrap().to_owned();
    World {
        f,
        member,
        partner,
        customer,
        template_arn,
    }
}

fn permissions(template_arn: &str) -> DelegationPermission {
    DelegationPermission::builder()
        .policy_template_arn(template_arn)
        .parameters(
            PolicyParameter::builder()
                .name("RoleNames")
                .r#type(PolicyParameterTypeEnum::StringList)
                .values(ROLE)
                .build(),
        )
        .build()
}

fn topic() -> String {
    format!("arn:aws:sns:us-east-1:{PARTNER}:delegation-updates")
}

/// The partner creates a request (`owner`: `OwnerAccountId`); answers its ID.
async fn create(w: &World, workflow: &str, owner: Option<&str>, only_owner: bool) -> String {
    let out = ok(
        "CreateDelegationRequest",
        w.f.server
            .iam_as(&w.partner)
            .create_delegation_request()
            .set_owner_account_id(owner.map(str::to_owned))
            .description("Read-only access for the partner's audit")
            .permissions(permissions(&w.template_arn))
            .request_message("first request")
            .requestor_workflow_id(workflow)
            .notification_channel(topic())
            .session_duration(3600)
            .only_send_by_owner(only_owner)
            .send()
            .await,
    );
    assert!(out.console_deep_link().is_some());
    out.delegation_request_id().unwrap().to_owned()
}

/// The notification of `id` in state `state` from the outbox (waiting for the job).
async fn notification(w: &World, id: &str, state: &str) -> Value {
    let dir = w.f.dir.path().join("data").join("outbox").join("sns");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(e.path()) else {
                    continue;
                };
                let Ok(envelope) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let message: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap_or("{}")).unwrap();
                if message["DelegationRequestId"] == id && message["State"] == state {
                    assert_eq!(envelope["Type"], "Notification");
                    assert_eq!(envelope["TopicArn"], topic().as_str());
                    return message;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {state} notification of {id} in {}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The customer associates, accepts and sends the token of `id`; answers the exchange token
/// the partner's channel received.
async fn approve(w: &World, id: &str) -> String {
    let iam = w.f.server.iam_as(&w.customer);
    ok(
        "AssociateDelegationRequest",
        iam.associate_delegation_request()
            .delegation_request_id(id)
            .send()
            .await,
    );
    ok(
        "AcceptDelegationRequest",
        iam.accept_delegation_request()
            .delegation_request_id(id)
            .send()
            .await,
    );
    ok(
        "SendDelegationToken",
        iam.send_delegation_token()
            .delegation_request_id(id)
            .send()
            .await,
    );
    let message = notification(w, id, "FINALIZED").await;
    message["ExchangeToken"].as_str().unwrap().to_owned()
}

fn state_of(
    out: &aws_sdk_iam::operation::get_delegation_request::GetDelegationRequestOutput,
) -> StateType {
    out.delegation_request().unwrap().state().unwrap().clone()
}

#[tokio::test]
async fn a_delegation_runs_end_to_end_and_its_credentials_do_only_what_was_delegated() {
    let w = world("deleg-e2e").await;
    let id = create(&w, "workflow-e2e", None, false).await;
    let customer = w.f.server.iam_as(&w.customer);
    // The customer sees it before associating it, and its own permissions cover it.
    let got = ok(
        "GetDelegationRequest",
        customer
            .get_delegation_request()
            .delegation_request_id(&id)
            .delegation_permission_check(true)
            .send()
            .await,
    );
    assert_eq!(state_of(&got), StateType::Unassigned);
    assert_eq!(
        got.permission_check_status(),
        Some(&PermissionCheckStatusType::Complete)
    );
    assert_eq!(
        got.permission_check_result(),
        Some(&PermissionCheckResultType::Allowed)
    );
    let r = got.delegation_request().unwrap();
    assert_eq!(r.requestor_id(), Some(PARTNER));
    // GetHumanReadableSummary summarizes what the request delegates.
    let summary = ok(
        "GetHumanReadableSummary",
        customer
            .get_human_readable_summary()
            .entity_arn(format!("arn:aws:iam::{PARTNER}:delegation-request/{id}"))
            .send()
            .await,
    );
    assert_eq!(
        summary.summary_state(),
        Some(&aws_sdk_iam::types::SummaryStateType::Available),
        "{summary:?}"
    );
    assert!(
        summary
            .summary_content()
            .unwrap_or_default()
            .contains("delegation request"),
        "{summary:?}"
    );
    assert_eq!(r.session_duration(), Some(3600));
    let policy: Value = serde_json::from_str(r.permission_policy().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][1]["Resource"],
        serde_json::json!([format!("arn:aws:iam::*:role/{ROLE}")])
    );

    let token = approve(&w, &id).await;
    let got = ok(
        "GetDelegationRequest",
        customer
            .get_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(state_of(&got), StateType::Finalized);
    let session_arn = format!("arn:aws:sts::{}:assumed-role/{ROLE}/it", w.member);
    let r = got.delegation_request().unwrap();
    assert_eq!(r.owner_account_id(), Some(w.member.as_str()));
    assert_eq!(r.owner_id(), Some(session_arn.as_str()));
    assert_eq!(r.approver_id(), Some(session_arn.as_str()));

    // The partner trades the token in.
    let sts = w.f.server.sts_as(&w.partner);
    let traded = ok(
        "GetDelegatedAccessToken",
        sts.get_delegated_access_token()
            .trade_in_token(&token)
            .send()
            .await,
    );
    assert_eq!(traded.assumed_principal(), Some(session_arn.as_str()));
    let delegated = session(traded.credentials().unwrap());
    let me = ok(
        "GetCallerIdentity",
        w.f.server
            .sts_as(&delegated)
            .get_caller_identity()
            .send()
            .await,
    );
    assert_eq!(me.account(), Some(w.member.as_str()));
    assert_eq!(me.arn(), Some(session_arn.as_str()));

    // Exactly the delegated actions, in the customer's account.
    let iam = w.f.server.iam_as(&delegated);
    let listed = ok("ListUsers", iam.list_users().send().await);
    let listed_id = listed.request_id().unwrap().to_owned();
    ok("GetRole", iam.get_role().role_name(ROLE).send().await);
    let e = err_info(iam.create_user().user_name("intruder").send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    let e = err_info(iam.list_roles().send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");

    // The token is spent.
    let e = err_info(
        sts.get_delegated_access_token()
            .trade_in_token(&token)
            .send()
            .await,
    );
    assert_eq!(e.code, "ExpiredTradeInTokenException", "{e:?}");

    // CloudTrail in the customer's account names the session and the request.
    let by_id = await_records(
        &w.f.server.cloudtrail_as(&w.customer),
        Some(attr(LookupAttributeKey::EventName, "ListUsers")),
        &[&listed_id],
    )
    .await;
    let who = &by_id[&listed_id]["userIdentity"];
    assert_eq!(who["type"], "AssumedRole", "{who}");
    assert_eq!(who["arn"], session_arn.as_str());
    assert_eq!(who["accountId"], w.member.as_str());
    assert_eq!(who["accessKeyId"], delegated_key(&traded));
    assert_eq!(
        who["sessionContext"]["delegationRequestId"],
        id.as_str(),
        "{who}"
    );
}

fn delegated_key(
    out: &aws_sdk_sts::operation::get_delegated_access_token::GetDelegatedAccessTokenOutput,
) -> String {
    out.credentials().unwrap().access_key_id().to_owned()
}

#[tokio::test]
async fn unknown_requests_and_tokens_are_refused() {
    let w = world("deleg-unknown").await;
    let iam = w.f.server.iam_as(&w.customer);
    let e = err_info(
        iam.get_delegation_request()
            .delegation_request_id("dr-doesnotexist00000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(e.status, 404);
    let e = err_info(
        iam.accept_delegation_request()
            .delegation_request_id("dr-doesnotexist00000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let e = err_info(
        w.f.server
            .sts_as(&w.partner)
            .get_delegated_access_token()
            .trade_in_token("dr-nothing.nothing")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidParameterValue", "{e:?}");
}

#[tokio::test]
async fn invalid_requests_are_refused() {
    let w = world("deleg-invalid").await;
    let iam = w.f.server.iam_as(&w.partner);
    let base = || {
        iam.create_delegation_request()
            .description("d")
            .requestor_workflow_id("workflow-invalid")
            .notification_channel(topic())
            .session_duration(3600)
    };
    // A template that is not one of the partner's policies.
    let e = err_info(
        base()
            .permissions(permissions(&format!(
                "arn:aws:iam::{}:policy/nope",
                w.member
            )))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    // A channel that is not an SNS topic of the partner.
    let e = err_info(
        base()
            .permissions(permissions(&w.template_arn))
            .notification_channel(format!("arn:aws:sqs:us-east-1:{PARTNER}:q"))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    // A parameter the template lacks.
    let e = err_info(
        base()
            .permissions(
                DelegationPermission::builder()
                    .policy_template_arn(&w.template_arn)
                    .parameters(
                        PolicyParameter::builder()
                            .name("Unknown")
                            .r#type(PolicyParameterTypeEnum::String)
                            .values("x")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    assert!(e.message.contains("RoleNames"), "{e:?}");
    // Out of the model's range.
    let e = err_info(
        base()
            .permissions(permissions(&w.template_arn))
            .session_duration(60)
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError", "{e:?}");
    // The same workflow twice.
    create(&w, "workflow-twice", None, false).await;
    let e = err_info(
        base()
            .permissions(permissions(&w.template_arn))
            .requestor_workflow_id("workflow-twice")
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
}

#[tokio::test]
async fn transitions_out_of_order_are_refused() {
    let w = world("deleg-states").await;
    let id = create(&w, "workflow-states", None, false).await;
    let iam = w.f.server.iam_as(&w.customer);
    // Not associated yet: not the customer's to accept.
    let e = err_info(
        iam.accept_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    ok(
        "AssociateDelegationRequest",
        iam.associate_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    let e = err_info(
        iam.associate_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    let e = err_info(
        iam.send_delegation_token()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    assert!(e.message.contains("ASSIGNED"), "{e:?}");
    // Accepted, then rejected before the token went out (User Guide: Accepted → Rejected).
    ok(
        "AcceptDelegationRequest",
        iam.accept_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    ok(
        "RejectDelegationRequest",
        iam.reject_delegation_request()
            .delegation_request_id(&id)
            .notes("not this quarter")
            .send()
            .await,
    );
    let message = notification(&w, &id, "REJECTED").await;
    assert!(message.get("ExchangeToken").is_none());
    let e = err_info(
        iam.send_delegation_token()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    assert!(e.message.contains("REJECTED"), "{e:?}");
    let got = ok(
        "GetDelegationRequest",
        iam.get_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(state_of(&got), StateType::Rejected);
    assert_eq!(
        got.delegation_request().unwrap().rejection_reason(),
        Some("not this quarter")
    );
}

#[tokio::test]
async fn an_update_forwards_for_approval_and_lists_page() {
    let w = world("deleg-update").await;
    let first = create(&w, "workflow-update-1", Some(&w.member.clone()), false).await;
    let second = create(&w, "workflow-update-2", Some(&w.member.clone()), false).await;
    let iam = w.f.server.iam_as(&w.customer);
    for id in [&first, &second] {
        ok(
            "AssociateDelegationRequest",
            iam.associate_delegation_request()
                .delegation_request_id(id)
                .send()
                .await,
        );
    }
    ok(
        "UpdateDelegationRequest",
        iam.update_delegation_request()
            .delegation_request_id(&first)
            .notes("for the security team")
            .send()
            .await,
    );
    let got = ok(
        "GetDelegationRequest",
        iam.get_delegation_request()
            .delegation_request_id(&first)
            .send()
            .await,
    );
    assert_eq!(state_of(&got), StateType::PendingApproval);
    assert_eq!(
        got.delegation_request().unwrap().notes(),
        Some("for the security team")
    );
    notification(&w, &first, "PENDING_APPROVAL").await;
    // Two requests, one a page.
    let owner = format!("arn:aws:sts::{}:assumed-role/{ROLE}/it", w.member);
    let page = ok(
        "ListDelegationRequests",
        iam.list_delegation_requests()
            .owner_id(&owner)
            .max_items(1)
            .send()
            .await,
    );
    assert_eq!(page.delegation_requests().len(), 1);
    assert!(page.is_truncated());
    let rest = ok(
        "ListDelegationRequests",
        iam.list_delegation_requests()
            .owner_id(&owner)
            .marker(page.marker().unwrap())
            .send()
            .await,
    );
    assert_eq!(rest.delegation_requests().len(), 1);
    assert!(!rest.is_truncated());
    let mut ids: Vec<String> = page
        .delegation_requests()
        .iter()
        .chain(rest.delegation_requests())
        .filter_map(|r| r.delegation_request_id().map(str::to_owned))
        .collect();
    ids.sort();
    let mut want = vec![first, second];
    want.sort();
    assert_eq!(ids, want);
    // Another owner's requests: none.
    let none = ok(
        "ListDelegationRequests",
        iam.list_delegation_requests()
            .owner_id(format!("arn:aws:iam::{}:user/nobody", w.member))
            .send()
            .await,
    );
    assert!(none.delegation_requests().is_empty());
}

/// A user of the member account, made by the customer's session, with `policy` inline.
async fn member_user(w: &World, name: &str, policy: &str) -> Who {
    let iam = w.f.server.iam_as(&w.customer);
    ok("CreateUser", iam.create_user().user_name(name).send().await);
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name(name)
            .policy_name("inline")
            .policy_document(policy)
            .send()
            .await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name(name).send().await,
    );
    let key = key.access_key().unwrap();
    Who::new(key.access_key_id(), key.secret_access_key())
}

#[tokio::test]
async fn the_permission_check_reports_what_the_caller_lacks() {
    let w = world("deleg-check").await;
    let id = create(&w, "workflow-check", None, false).await;
    let reader = member_user(
        &w,
        "reader",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetDelegationRequest","iam:ListUsers"],"Resource":"*"}]}"#,
    )
    .await;
    let got = ok(
        "GetDelegationRequest",
        w.f.server
            .iam_as(&reader)
            .get_delegation_request()
            .delegation_request_id(&id)
            .delegation_permission_check(true)
            .send()
            .await,
    );
    // It may list users but neither get one nor the role.
    assert_eq!(
        got.permission_check_result(),
        Some(&PermissionCheckResultType::Denied)
    );
}

#[tokio::test]
async fn only_the_owner_sends_the_token_when_the_request_says_so() {
    let w = world("deleg-owner").await;
    let id = create(&w, "workflow-owner", None, true).await;
    let approver = member_user(&w, "approver", crate::fixture::ALLOW_ALL).await;
    ok(
        "AssociateDelegationRequest",
        w.f.server
            .iam_as(&w.customer)
            .associate_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    let by_approver = w.f.server.iam_as(&approver);
    ok(
        "AcceptDelegationRequest",
        by_approver
            .accept_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    let e = err_info(
        by_approver
            .send_delegation_token()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    ok(
        "SendDelegationToken",
        w.f.server
            .iam_as(&w.customer)
            .send_delegation_token()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    // The credentials act as the approver, who accepted.
    let token = notification(&w, &id, "FINALIZED").await["ExchangeToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let traded = ok(
        "GetDelegatedAccessToken",
        w.f.server
            .sts_as(&w.partner)
            .get_delegated_access_token()
            .trade_in_token(&token)
            .send()
            .await,
    );
    let approver_arn = format!("arn:aws:iam::{}:user/approver", w.member);
    assert_eq!(traded.assumed_principal(), Some(approver_arn.as_str()));
}

#[tokio::test]
async fn only_the_requestor_trades_the_token_in() {
    let w = world("deleg-requestor").await;
    let id = create(&w, "workflow-requestor", None, false).await;
    let token = approve(&w, &id).await;
    let e = err_info(
        w.f.server
            .sts_as(&w.customer)
            .get_delegated_access_token()
            .trade_in_token(&token)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidParameterValue", "{e:?}");
    // Still the partner's to trade in.
    ok(
        "GetDelegatedAccessToken",
        w.f.server
            .sts_as(&w.partner)
            .get_delegated_access_token()
            .trade_in_token(&token)
            .send()
            .await,
    );
}

#[tokio::test]
async fn a_targeted_request_is_the_target_accounts_alone() {
    let w = world("deleg-target").await;
    // Targeted at the partner's own organization's other member: a third account.
    let other = w.f.member("other", "other@example.com").await;
    let id = create(&w, "workflow-target", Some(&other), false).await;
    let e = err_info(
        w.f.server
            .iam_as(&w.customer)
            .associate_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let other_role = member_role(&w.f.server, &w.partner, &other).await;
    ok(
        "AssociateDelegationRequest",
        w.f.server
            .iam_as(&other_role)
            .associate_delegation_request()
            .delegation_request_id(&id)
            .send()
            .await,
    );
}
