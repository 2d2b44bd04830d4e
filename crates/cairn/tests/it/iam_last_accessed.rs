//! What IAM knows of use, with `aws-sdk-iam`: the last use of access keys
//! (`GetAccessKeyLastUsed`, the credential report) and the service last-accessed reports
//! built from what CloudTrail recorded.

use crate::common::{err_info, ok};
use crate::fixture::{ALLOW_ALL, Fixture};
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";

/// `GetAccessKeyLastUsed` of `akid` once its use is recorded (written off the request path).
async fn last_used(iam: &aws_sdk_iam::Client, akid: &str) -> aws_sdk_iam::types::AccessKeyLastUsed {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ok(
            "GetAccessKeyLastUsed",
            iam.get_access_key_last_used()
                .access_key_id(akid)
                .send()
                .await,
        );
        let used = out.access_key_last_used().unwrap().clone();
        if used.last_used_date().is_some() || Instant::now() > deadline {
            return used;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_used_for_organizations_reports_its_last_use() {
    let f = Fixture::new("lastused-orgs", ACCOUNT);
    let who = f.user_with_key("alice", ALLOW_ALL).await;
    let before = aws_sdk_iam::primitives::DateTime::from(
        std::time::SystemTime::now() - Duration::from_secs(2),
    );
    // No organization yet: refused by Organizations, but authenticated all the same.
    let e = err_info(
        f.server
            .orgs_in(&who, "eu-west-1")
            .describe_organization()
            .send()
            .await,
    );
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    let iam = f.server.iam();
    let used = last_used(&iam, &who.akid).await;
    let date = used.last_used_date().expect("a last-used date");
    assert!(date.secs() >= before.secs(), "{date:?}");
    assert_eq!(used.service_name(), "organizations");
    assert_eq!(used.region(), "eu-west-1");
    let out = ok(
        "GetAccessKeyLastUsed",
        iam.get_access_key_last_used()
            .access_key_id(&who.akid)
            .send()
            .await,
    );
    assert_eq!(out.user_name(), Some("alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_key_reports_not_applicable() {
    let f = Fixture::new("lastused-never", ACCOUNT);
    ok(
        "CreateUser",
        f.server.iam().create_user().user_name("bob").send().await,
    );
    let who = f.key_for("bob").await;
    let out = ok(
        "GetAccessKeyLastUsed",
        f.server
            .iam()
            .get_access_key_last_used()
            .access_key_id(&who.akid)
            .send()
            .await,
    );
    let used = out.access_key_last_used().unwrap();
    assert_eq!(used.last_used_date(), None);
    assert_eq!(used.service_name(), "N/A");
    assert_eq!(used.region(), "N/A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_key_reports_its_last_use() {
    let f = Fixture::new("lastused-root", ACCOUNT);
    let iam = f.server.iam();
    ok("ListUsers", iam.list_users().send().await);
    let used = last_used(&iam, &f.server.root().akid).await;
    assert!(used.last_used_date().is_some());
    assert_eq!(used.service_name(), "iam");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_report_shows_key_use() {
    let f = Fixture::new("lastused-report", ACCOUNT);
    let who = f.user_with_key("carol", ALLOW_ALL).await;
    ok(
        "GetCallerIdentity",
        f.server.sts_as(&who).get_caller_identity().send().await,
    );
    let iam = f.server.iam();
    let used = last_used(&iam, &who.akid).await;
    assert_eq!(used.service_name(), "sts");
    ok(
        "GenerateCredentialReport",
        iam.generate_credential_report().send().await,
    );
    let report = ok(
        "GetCredentialReport",
        iam.get_credential_report().send().await,
    );
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let carol: Vec<&str> = lines
        .find(|l| l.starts_with("carol,"))
        .unwrap()
        .split(',')
        .collect();
    let col = |name: &str| carol[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(col("access_key_1_last_used_service"), "sts");
    assert_eq!(col("access_key_1_last_used_region"), "us-east-1");
    assert_ne!(col("access_key_1_last_used_date"), "N/A");
    assert_eq!(col("access_key_2_last_used_date"), "N/A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_use_is_recorded_once_the_interval_has_passed() {
    let f = Fixture::with_args(
        "lastused-interval",
        ACCOUNT,
        &["--key-last-used-seconds", "0.5"],
    );
    let who = f.user_with_key("erin", ALLOW_ALL).await;
    ok(
        "GetCallerIdentity",
        f.server.sts_as(&who).get_caller_identity().send().await,
    );
    let iam = f.server.iam();
    assert_eq!(last_used(&iam, &who.akid).await.service_name(), "sts");
    // Within the interval another use writes nothing; after it, the next use is recorded.
    tokio::time::sleep(Duration::from_millis(600)).await;
    ok("ListUsers", f.server.iam_as(&who).list_users().send().await);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let used = last_used(&iam, &who.akid).await;
        if used.service_name() == "iam" {
            break;
        }
        assert!(Instant::now() < deadline, "still {used:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_has_no_last_use() {
    let f = Fixture::new("lastused-unknown", ACCOUNT);
    let e = err_info(
        f.server
            .iam()
            .get_access_key_last_used()
            .access_key_id("AKIAIOSFODNN7EXAMPLE")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

// ------------------------------------------------------------------ last-accessed reports

const TRUST_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;
const IAM_AND_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","s3:GetObject","organizations:Describe*"],"Resource":"*"}]}"#;

/// A role `reporter` allowed `IAM_AND_S3`, whose session has called `ListUsers`; answers
/// the role's ARN.
async fn role_that_listed_users(f: &Fixture) -> String {
    let iam = f.server.iam();
    let role = ok(
        "CreateRole",
        iam.create_role()
            .role_name("reporter")
            .assume_role_policy_document(TRUST_ACCOUNT)
            .send()
            .await,
    );
    ok(
        "PutRolePolicy",
        iam.put_role_policy()
            .role_name("reporter")
            .policy_name("inline")
            .policy_document(IAM_AND_S3)
            .send()
            .await,
    );
    let admin = f.admin("admin", None).await;
    let creds = ok(
        "AssumeRole",
        f.server
            .sts_as(&admin)
            .assume_role()
            .role_arn(role.role().unwrap().arn())
            .role_session_name("s1")
            .send()
            .await,
    );
    let session = crate::fixture::session(creds.credentials().unwrap());
    ok(
        "ListUsers",
        f.server.iam_as(&session).list_users().send().await,
    );
    role.role().unwrap().arn().to_owned()
}

/// Generates a report of `arn` until `namespace` shows a last authentication (CloudTrail
/// group-commits read-only records within milliseconds), and answers its job ID.
async fn report_once_recorded(
    iam: &aws_sdk_iam::Client,
    arn: &str,
    granularity: aws_sdk_iam::types::AccessAdvisorUsageGranularityType,
    namespace: &str,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let job = ok(
            "GenerateServiceLastAccessedDetails",
            iam.generate_service_last_accessed_details()
                .arn(arn)
                .granularity(granularity.clone())
                .send()
                .await,
        );
        let id = job.job_id().unwrap().to_owned();
        let out = ok(
            "GetServiceLastAccessedDetails",
            iam.get_service_last_accessed_details()
                .job_id(&id)
                .send()
                .await,
        );
        let seen = out
            .services_last_accessed()
            .iter()
            .any(|s| s.service_namespace() == namespace && s.last_authenticated().is_some());
        if seen || Instant::now() > deadline {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_used_for_iam_shows_iam_last_authenticated() {
    use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType as G, JobStatusType};
    let f = Fixture::new("lastacc-role", ACCOUNT);
    let role_arn = role_that_listed_users(&f).await;
    let iam = f.server.iam();
    let id = report_once_recorded(&iam, &role_arn, G::ServiceLevel, "iam").await;
    let out = ok(
        "GetServiceLastAccessedDetails",
        iam.get_service_last_accessed_details()
            .job_id(&id)
            .send()
            .await,
    );
    assert_eq!(out.job_status(), &JobStatusType::Completed);
    assert_eq!(out.job_type(), Some(&G::ServiceLevel));
    assert!(out.job_completion_date().secs() >= out.job_creation_date().secs());
    let namespaces: Vec<&str> = out
        .services_last_accessed()
        .iter()
        .map(|s| s.service_namespace())
        .collect();
    assert_eq!(namespaces, ["iam", "organizations", "s3"]);
    let by = |ns: &str| {
        out.services_last_accessed()
            .iter()
            .find(|s| s.service_namespace() == ns)
            .unwrap()
    };
    let iam_row = by("iam");
    assert_eq!(iam_row.service_name(), "AWS Identity and Access Management");
    assert!(iam_row.last_authenticated().is_some());
    assert_eq!(iam_row.last_authenticated_entity(), Some(role_arn.as_str()));
    assert_eq!(iam_row.last_authenticated_region(), Some("us-east-1"));
    assert_eq!(iam_row.total_authenticated_entities(), Some(1));
    assert!(iam_row.tracked_actions_last_accessed().is_empty());
    for unused in ["organizations", "s3"] {
        let row = by(unused);
        assert_eq!(row.last_authenticated(), None, "{unused}");
        assert_eq!(row.total_authenticated_entities(), Some(0), "{unused}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_level_details_show_the_actions_used() {
    use aws_sdk_iam::types::AccessAdvisorUsageGranularityType as G;
    let f = Fixture::new("lastacc-actions", ACCOUNT);
    let role_arn = role_that_listed_users(&f).await;
    let iam = f.server.iam();
    let id = report_once_recorded(&iam, &role_arn, G::ActionLevel, "iam").await;
    let out = ok(
        "GetServiceLastAccessedDetails",
        iam.get_service_last_accessed_details()
            .job_id(&id)
            .send()
            .await,
    );
    assert_eq!(out.job_type(), Some(&G::ActionLevel));
    let iam_row = out
        .services_last_accessed()
        .iter()
        .find(|s| s.service_namespace() == "iam")
        .unwrap();
    let actions = iam_row.tracked_actions_last_accessed();
    let list = actions
        .iter()
        .find(|a| a.action_name() == Some("ListUsers"))
        .unwrap();
    assert!(list.last_accessed_time().is_some());
    assert_eq!(list.last_accessed_entity(), Some(role_arn.as_str()));
    let get = actions
        .iter()
        .find(|a| a.action_name() == Some("GetUser"))
        .unwrap();
    assert_eq!(get.last_accessed_time(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_list_pages() {
    let f = Fixture::new("lastacc-pages", ACCOUNT);
    let iam = f.server.iam();
    let role_arn = {
        ok(
            "CreateRole",
            iam.create_role()
                .role_name("pager")
                .assume_role_policy_document(TRUST_ACCOUNT)
                .send()
                .await,
        );
        ok(
            "PutRolePolicy",
            iam.put_role_policy()
                .role_name("pager")
                .policy_name("inline")
                .policy_document(IAM_AND_S3)
                .send()
                .await,
        );
        format!("arn:aws:iam::{ACCOUNT}:role/pager")
    };
    let job = ok(
        "GenerateServiceLastAccessedDetails",
        iam.generate_service_last_accessed_details()
            .arn(&role_arn)
            .send()
            .await,
    );
    let id = job.job_id().unwrap();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = ok(
            "GetServiceLastAccessedDetails",
            iam.get_service_last_accessed_details()
                .job_id(id)
                .max_items(2)
                .set_marker(marker.clone())
                .send()
                .await,
        );
        assert!(out.services_last_accessed().len() <= 2);
        seen.extend(
            out.services_last_accessed()
                .iter()
                .map(|s| s.service_namespace().to_owned()),
        );
        if !out.is_truncated() {
            assert_eq!(out.marker(), None);
            break;
        }
        marker = Some(out.marker().unwrap().to_owned());
    }
    assert_eq!(seen, ["iam", "organizations", "s3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_report_names_its_members() {
    use aws_sdk_iam::types::AccessAdvisorUsageGranularityType as G;
    let f = Fixture::new("lastacc-group", ACCOUNT);
    let iam = f.server.iam();
    ok(
        "CreateGroup",
        iam.create_group().group_name("devs").send().await,
    );
    ok(
        "PutGroupPolicy",
        iam.put_group_policy()
            .group_name("devs")
            .policy_name("inline")
            .policy_document(IAM_AND_S3)
            .send()
            .await,
    );
    let mut keys = Vec::new();
    for name in ["ann", "ben"] {
        ok("CreateUser", iam.create_user().user_name(name).send().await);
        ok(
            "AddUserToGroup",
            iam.add_user_to_group()
                .group_name("devs")
                .user_name(name)
                .send()
                .await,
        );
        keys.push(f.key_for(name).await);
    }
    ok(
        "ListRoles",
        f.server.iam_as(&keys[0]).list_roles().send().await,
    );
    let group_arn = format!("arn:aws:iam::{ACCOUNT}:group/devs");
    let id = report_once_recorded(&iam, &group_arn, G::ServiceLevel, "iam").await;
    let out = ok(
        "GetServiceLastAccessedDetailsWithEntities",
        iam.get_service_last_accessed_details_with_entities()
            .job_id(&id)
            .service_namespace("iam")
            .send()
            .await,
    );
    let entities = out.entity_details_list();
    assert_eq!(entities.len(), 2);
    let ann = entities
        .iter()
        .find(|e| e.entity_info().unwrap().name() == "ann")
        .unwrap();
    assert!(ann.last_authenticated().is_some());
    assert_eq!(
        ann.entity_info().unwrap().arn(),
        format!("arn:aws:iam::{ACCOUNT}:user/ann")
    );
    let ben = entities
        .iter()
        .find(|e| e.entity_info().unwrap().name() == "ben")
        .unwrap();
    assert_eq!(ben.last_authenticated(), None);
    let details = ok(
        "GetServiceLastAccessedDetails",
        iam.get_service_last_accessed_details()
            .job_id(&id)
            .send()
            .await,
    );
    let iam_row = &details.services_last_accessed()[0];
    assert_eq!(iam_row.service_namespace(), "iam");
    assert_eq!(iam_row.total_authenticated_entities(), Some(1));
    assert_eq!(
        iam_row.last_authenticated_entity(),
        Some(format!("arn:aws:iam::{ACCOUNT}:user/ann").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_granting_a_service_are_listed() {
    use aws_sdk_iam::types::{PolicyOwnerEntityType, PolicyType};
    let f = Fixture::new("lastacc-granting", ACCOUNT);
    let iam = f.server.iam();
    ok(
        "CreateGroup",
        iam.create_group().group_name("ops").send().await,
    );
    ok(
        "PutGroupPolicy",
        iam.put_group_policy()
            .group_name("ops")
            .policy_name("ops-iam")
            .policy_document(IAM_AND_S3)
            .send()
            .await,
    );
    f.admin("dana", None).await;
    ok(
        "AddUserToGroup",
        iam.add_user_to_group()
            .group_name("ops")
            .user_name("dana")
            .send()
            .await,
    );
    let out = ok(
        "ListPoliciesGrantingServiceAccess",
        iam.list_policies_granting_service_access()
            .arn(format!("arn:aws:iam::{ACCOUNT}:user/dana"))
            .service_namespaces("iam")
            .service_namespaces("sts")
            .send()
            .await,
    );
    let entries = out.policies_granting_service_access();
    assert_eq!(entries.len(), 2);
    let names = |i: usize| -> Vec<String> {
        entries[i]
            .policies()
            .iter()
            .map(|p| p.policy_name().to_owned())
            .collect()
    };
    assert_eq!(entries[0].service_namespace(), Some("iam"));
    // The user's own policies first, then its groups'.
    assert_eq!(names(0), ["AdministratorAccess", "ops-iam"]);
    assert_eq!(names(1), ["AdministratorAccess"]);
    let inline = &entries[0].policies()[1];
    assert_eq!(inline.policy_type(), &PolicyType::Inline);
    assert_eq!(inline.entity_type(), Some(&PolicyOwnerEntityType::Group));
    assert_eq!(inline.entity_name(), Some("ops"));
    let managed = &entries[0].policies()[0];
    assert_eq!(managed.policy_type(), &PolicyType::Managed);
    assert_eq!(
        managed.policy_arn(),
        Some("arn:aws:iam::aws:policy/AdministratorAccess")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_accessed_errors() {
    let f = Fixture::new("lastacc-errors", ACCOUNT);
    let iam = f.server.iam();
    let e = err_info(
        iam.generate_service_last_accessed_details()
            .arn(format!("arn:aws:iam::{ACCOUNT}:role/nobody"))
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let e = err_info(
        iam.generate_service_last_accessed_details()
            .arn("arn:aws:s3:::some-bucket-name")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    let e = err_info(
        iam.get_service_last_accessed_details()
            .job_id("examplef-1305-c245-eba4-71fe298bcda7")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let e = err_info(
        iam.list_policies_granting_service_access()
            .arn(format!("arn:aws:iam::{ACCOUNT}:user/nobody"))
            .service_namespaces("iam")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}
