//! The slice, end to end with the SDKs and the bootstrap root credentials:
//! STS GetCallerIdentity and the organization lifecycle.

use crate::common::{Server, TempDir, err_info, ok};
use aws_sdk_organizations::error::DisplayErrorContext;
use aws_sdk_organizations::types::OrganizationFeatureSet;

const ACCOUNT: &str = "123456789012";

fn is_lower_alnum(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slice_with_the_sdks() {
    let dir = TempDir::new("slice");
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    let creds = server.creds.clone();
    assert_eq!(
        creds.account_id, ACCOUNT,
        "--account-id is honoured in root-credentials.json"
    );
    assert!(!creds.access_key_id.is_empty() && !creds.secret_access_key.is_empty());
    assert_eq!(creds.email, "admin@cairn.local");

    // STS GetCallerIdentity.
    let who = ok(
        "GetCallerIdentity",
        server.sts().get_caller_identity().send().await,
    );
    assert_eq!(who.account(), Some(ACCOUNT));
    assert_eq!(
        who.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
    );
    // The root user's UserId is the account id.
    assert_eq!(who.user_id(), Some(ACCOUNT));

    let orgs = server.orgs();

    // Before CreateOrganization.
    let e = err_info(orgs.describe_organization().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    assert_eq!(e.status, 400, "{e:?}");

    // CreateOrganization.
    let created = ok(
        "CreateOrganization",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let org = created
        .organization()
        .expect("CreateOrganization returns the organization")
        .clone();
    let org_id = org.id().expect("Organization.Id").to_owned();
    let suffix = org_id
        .strip_prefix("o-")
        .unwrap_or_else(|| panic!("org id {org_id} must start with o-"));
    assert_eq!(suffix.len(), 10, "org id {org_id}: o- and 10 characters");
    assert!(
        is_lower_alnum(suffix),
        "org id {org_id} must match ^o-[a-z0-9]{{10,32}}$"
    );
    assert_eq!(org.master_account_id(), Some(ACCOUNT));
    assert_eq!(
        org.arn(),
        Some(format!("arn:aws:organizations::{ACCOUNT}:organization/{org_id}").as_str())
    );
    assert_eq!(
        org.master_account_arn(),
        Some(format!("arn:aws:organizations::{ACCOUNT}:account/{org_id}/{ACCOUNT}").as_str())
    );
    assert_eq!(org.master_account_email(), Some("admin@cairn.local"));
    assert_eq!(org.feature_set(), Some(&OrganizationFeatureSet::All));

    // Again: the account already is in an organization.
    let e = err_info(
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    assert_eq!(e.code, "AlreadyInOrganizationException", "{e:?}");
    assert_eq!(e.status, 400, "{e:?}");

    // DescribeOrganization shows the same organization.
    let described = ok(
        "DescribeOrganization",
        orgs.describe_organization().send().await,
    );
    assert_eq!(
        described.organization(),
        Some(&org),
        "DescribeOrganization == CreateOrganization's answer"
    );

    // ListRoots: the one root.
    let roots = ok("ListRoots", orgs.list_roots().send().await);
    assert_eq!(roots.roots().len(), 1, "{roots:?}");
    assert_eq!(roots.next_token(), None);
    let root = &roots.roots()[0];
    let root_id = root.id().expect("Root.Id").to_owned();
    let root_suffix = root_id
        .strip_prefix("r-")
        .unwrap_or_else(|| panic!("root id {root_id} must start with r-"));
    assert!(
        (4..=32).contains(&root_suffix.len()) && is_lower_alnum(root_suffix),
        "root id {root_id} must match ^r-[0-9a-z]{{4,32}}$"
    );
    assert_eq!(root.name(), Some("Root"));
    assert_eq!(
        root.arn(),
        Some(format!("arn:aws:organizations::{ACCOUNT}:root/{org_id}/{root_id}").as_str())
    );

    // DeleteOrganization, then it is gone. (A success the SDK cannot read is reported at the
    // end, so that the rest of the slice is still checked.)
    let mut late_failures = Vec::new();
    match orgs.delete_organization().send().await {
        Ok(_) => {}
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => late_failures
            .push(format!(
                "DeleteOrganization answered 200 but the SDK cannot read the answer: {}",
                DisplayErrorContext(&e)
            )),
        Err(e) => panic!("DeleteOrganization: {}", DisplayErrorContext(&e)),
    }
    let e = err_info(orgs.describe_organization().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");
    let e = err_info(orgs.list_roots().send().await);
    assert_eq!(e.code, "AWSOrganizationsNotInUseException", "{e:?}");

    // A new organization gets a new id.
    let again = ok(
        "CreateOrganization (2nd)",
        orgs.create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await,
    );
    let new_id = again
        .organization()
        .and_then(|o| o.id())
        .expect("Organization.Id")
        .to_owned();
    assert_ne!(new_id, org_id, "a re-created organization has a fresh id");
    // DescribeOrganization answers from a cache: it must follow the change at once.
    let described = ok(
        "DescribeOrganization (2nd)",
        orgs.describe_organization().send().await,
    );
    assert_eq!(described.organization(), again.organization());

    assert!(late_failures.is_empty(), "{}", late_failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_account_id_is_random_and_restart_keeps_credentials() {
    let dir = TempDir::new("restart");
    let mut server = Server::start(&dir, &[]);
    let first = server.creds.clone();
    assert_eq!(first.account_id.len(), 12, "{first:?}");
    assert!(
        first.account_id.bytes().all(|b| b.is_ascii_digit()),
        "{first:?}"
    );
    let who = ok(
        "GetCallerIdentity",
        server.sts().get_caller_identity().send().await,
    );
    assert_eq!(who.account(), Some(first.account_id.as_str()));
    server.kill();

    // Restarting never changes the bootstrap account (a different --account-id is ignored).
    let server = Server::start(&dir, &["--account-id", ACCOUNT]);
    assert_eq!(
        server.creds, first,
        "root-credentials.json changed across a restart"
    );
    let who = ok(
        "GetCallerIdentity after restart",
        server.sts().get_caller_identity().send().await,
    );
    assert_eq!(who.account(), Some(first.account_id.as_str()));
}
