//! Service last-accessed reports for Organizations entities
//! (`GenerateOrganizationsAccessReport`, `GetOrganizationsAccessReport`) with `aws-sdk-iam`
//! and `aws-sdk-organizations`: what a member account's principals did shows under its OU
//! and the root, filtered through SCPs.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{Who, err_info, ok};
use crate::fixture::{Fixture, member_role};
use aws_sdk_iam::operation::get_organizations_access_report::GetOrganizationsAccessReportOutput;
use aws_sdk_iam::types::{JobStatusType, SortKeyType};
use aws_sdk_organizations::types::PolicyType;
use std::time::{Duration, Instant};

const MGMT: &str = "111100003333";
const REGION: &str = "eu-west-2";

/// An organization with SCPs enabled, OUs `workloads` (holding a member account) and
/// `empty`, an administrator of the management account, and a CloudTrail call
/// (`DescribeTrails` in [`REGION`]) and an IAM call by the member's
/// `OrganizationAccountAccessRole`.
struct World {
    f: Fixture,
    org_id: String,
    root_id: String,
    workloads: String,
    empty: String,
    member: String,
    admin: Who,
}

impl World {
    fn root_path(&self) -> String {
        format!("{}/{}", self.org_id, self.root_id)
    }

    fn ou_path(&self, ou: &str) -> String {
        format!("{}/{}/{ou}", self.org_id, self.root_id)
    }

    fn member_path(&self) -> String {
        format!("{}/{}", self.ou_path(&self.workloads), self.member)
    }
}

async fn world(tag: &str) -> World {
    let (f, org) = Fixture::with_org(tag, MGMT).await;
    let orgs = f.server.orgs();
    ok(
        "EnablePolicyType",
        orgs.enable_policy_type()
            .root_id(&org.root_id)
            .policy_type(PolicyType::ServiceControlPolicy)
            .send()
            .await,
    );
    let mut ous = Vec::new();
    for name in ["workloads", "empty"] {
        let ou = ok(
            "CreateOrganizationalUnit",
            orgs.create_organizational_unit()
                .parent_id(&org.root_id)
                .name(name)
                .send()
                .await,
        );
        ous.push(ou.organizational_unit().unwrap().id().unwrap().to_owned());
    }
    let member = f.member("workload", "workload@example.com").await;
    ok(
        "MoveAccount",
        orgs.move_account()
            .account_id(&member)
            .source_parent_id(&org.root_id)
            .destination_parent_id(&ous[0])
            .send()
            .await,
    );
    let admin = f.admin("ops", None).await;
    let session = member_role(&f.server, &admin, &member).await;
    ok(
        "DescribeTrails",
        f.server
            .cloudtrail_in(&session, REGION)
            .describe_trails()
            .send()
            .await,
    );
    ok(
        "ListRoles",
        f.server.iam_as(&session).list_roles().send().await,
    );
    World {
        f,
        org_id: org.id,
        root_id: org.root_id,
        workloads: ous[0].clone(),
        empty: ous[1].clone(),
        member,
        admin,
    }
}

/// Generates a report and waits for its job to end; answers its first page.
async fn report(
    iam: &aws_sdk_iam::Client,
    path: &str,
    policy: Option<&str>,
    sort: Option<SortKeyType>,
    max_items: Option<i32>,
) -> (String, GetOrganizationsAccessReportOutput) {
    let job = ok(
        "GenerateOrganizationsAccessReport",
        iam.generate_organizations_access_report()
            .entity_path(path)
            .set_organizations_policy_id(policy.map(str::to_owned))
            .send()
            .await,
    )
    .job_id()
    .unwrap()
    .to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ok(
            "GetOrganizationsAccessReport",
            iam.get_organizations_access_report()
                .job_id(&job)
                .set_sort_key(sort.clone())
                .set_max_items(max_items)
                .send()
                .await,
        );
        if out.job_status() != &JobStatusType::InProgress {
            return (job, out);
        }
        assert!(Instant::now() < deadline, "report still in progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A report of `path` once the member's CloudTrail call is in it (read-only records are
/// group-committed just after the call).
async fn report_with_cloudtrail(w: &World, path: &str) -> GetOrganizationsAccessReportOutput {
    let iam = w.f.server.iam();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, out) = report(&iam, path, None, None, None).await;
        if detail(&out, "cloudtrail").is_some_and(|d| d.last_authenticated_time().is_some()) {
            return out;
        }
        assert!(Instant::now() < deadline, "no CloudTrail access: {out:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn detail<'a>(
    out: &'a GetOrganizationsAccessReportOutput,
    namespace: &str,
) -> Option<&'a aws_sdk_iam::types::AccessDetail> {
    out.access_details()
        .iter()
        .find(|d| d.service_namespace() == namespace)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_calls_show_under_its_ou_and_the_root() {
    let w = world("orgrep-paths").await;
    for path in [w.ou_path(&w.workloads), w.root_path(), w.member_path()] {
        let out = report_with_cloudtrail(&w, &path).await;
        assert_eq!(out.job_status(), &JobStatusType::Completed);
        assert!(out.job_completion_date().is_some());
        let d = detail(&out, "cloudtrail").unwrap();
        assert_eq!(d.service_name(), "AWS CloudTrail");
        assert_eq!(d.entity_path(), Some(w.member_path().as_str()), "{path}");
        assert_eq!(d.region(), Some(REGION));
        assert_eq!(d.total_authenticated_entities(), Some(1));
    }
    // At the root, IAM was used by the management account as well as by the member.
    let out = report_with_cloudtrail(&w, &w.root_path()).await;
    assert_eq!(
        detail(&out, "iam").unwrap().total_authenticated_entities(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_ou_or_account_does_not_include_the_members_calls() {
    let w = world("orgrep-other").await;
    // The member's call is in by now (else the report waits for it).
    report_with_cloudtrail(&w, &w.root_path()).await;
    let iam = w.f.server.iam();
    for path in [w.ou_path(&w.empty), format!("{}/{MGMT}", w.root_path())] {
        let (_, out) = report(&iam, &path, None, None, None).await;
        assert_eq!(out.job_status(), &JobStatusType::Completed, "{path}");
        let d = detail(&out, "cloudtrail").unwrap();
        assert_eq!(d.last_authenticated_time(), None, "{path}");
        assert_eq!(d.entity_path(), None);
        assert_eq!(d.total_authenticated_entities(), Some(0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_scp_filter_changes_the_services_accessible() {
    let w = world("orgrep-scp").await;
    let out = report_with_cloudtrail(&w, &w.member_path()).await;
    // FullAWSAccess at every level: every served service.
    assert_eq!(out.number_of_services_accessible(), Some(6));
    let only_trails = ok(
        "CreatePolicy",
        w.f.server
            .orgs()
            .create_policy()
            .name("only-cloudtrail")
            .description("d")
            .r#type(PolicyType::ServiceControlPolicy)
            .content(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"cloudtrail:Describe*","Resource":"*"}}"#)
            .send()
            .await,
    );
    let id = only_trails
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap()
        .to_owned();
    let (_, out) = report(&w.f.server.iam(), &w.member_path(), Some(&id), None, None).await;
    assert_eq!(out.number_of_services_accessible(), Some(1));
    assert_eq!(out.number_of_services_not_accessed(), Some(0));
    let names: Vec<&str> = out
        .access_details()
        .iter()
        .map(|d| d.service_namespace())
        .collect();
    assert_eq!(names, ["cloudtrail"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_page_and_sort() {
    let w = world("orgrep-paging").await;
    let path = w.root_path();
    report_with_cloudtrail(&w, &path).await;
    let iam = w.f.server.iam();
    let (job, first) = report(&iam, &path, None, None, Some(4)).await;
    assert_eq!(first.access_details().len(), 4);
    assert!(first.is_truncated());
    let mut names: Vec<String> = first
        .access_details()
        .iter()
        .map(|d| d.service_namespace().to_owned())
        .collect();
    let rest = ok(
        "GetOrganizationsAccessReport",
        iam.get_organizations_access_report()
            .job_id(&job)
            .max_items(4)
            .marker(first.marker().unwrap())
            .send()
            .await,
    );
    assert!(!rest.is_truncated());
    names.extend(
        rest.access_details()
            .iter()
            .map(|d| d.service_namespace().to_owned()),
    );
    assert_eq!(
        names,
        [
            "cloudtrail",
            "iam",
            "identitystore",
            "organizations",
            "sso",
            "sts"
        ]
    );
    let desc = ok(
        "GetOrganizationsAccessReport",
        iam.get_organizations_access_report()
            .job_id(&job)
            .sort_key(SortKeyType::ServiceNamespaceDescending)
            .send()
            .await,
    );
    assert_eq!(
        desc.access_details()[0].service_namespace(),
        "sts",
        "{desc:?}"
    );
    let by_time = ok(
        "GetOrganizationsAccessReport",
        iam.get_organizations_access_report()
            .job_id(&job)
            .sort_key(SortKeyType::LastAuthenticatedTimeDescending)
            .send()
            .await,
    );
    let times: Vec<Option<i64>> = by_time
        .access_details()
        .iter()
        .map(|d| d.last_authenticated_time().map(|t| t.to_millis().unwrap()))
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    assert!(
        times[0].is_some() && times.last().unwrap().is_none(),
        "{times:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paths_unknown_jobs_and_member_callers_are_refused() {
    let w = world("orgrep-errors").await;
    let iam = w.f.server.iam();
    // Not of the form AWS's model allows.
    let e = err_info(
        iam.generate_organizations_access_report()
            .entity_path("not-a-path")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError", "{e:?}");
    // Well formed, but no such entity: the job fails, and says why.
    for path in [
        format!("{}/ou-zzzz-zzzzzzzz", w.root_path()),
        format!("{}/{}", w.ou_path(&w.empty), w.member),
        format!("o-zzzzzzzzzz/{}", w.root_id),
    ] {
        let (_, out) = report(&iam, &path, None, None, None).await;
        assert_eq!(out.job_status(), &JobStatusType::Failed, "{path}");
        let err = out.error_details().unwrap();
        assert_eq!(err.code(), "EntityNotFound");
        assert!(err.message().contains(&path), "{err:?}");
        assert!(out.access_details().is_empty());
    }
    let e = err_info(
        iam.get_organizations_access_report()
            .job_id("00000000-0000-4000-8000-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let session = member_role(&w.f.server, &w.admin, &w.member).await;
    let e = err_info(
        w.f.server
            .iam_as(&session)
            .generate_organizations_access_report()
            .entity_path(w.root_path())
            .send()
            .await,
    );
    assert_eq!(e.code, "CallerIsNotManagementAccountException", "{e:?}");
}
