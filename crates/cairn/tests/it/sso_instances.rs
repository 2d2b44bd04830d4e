//! IAM Identity Center instances through the Rust SDK: the organization instance that
//! enabling trusted access for `sso.amazonaws.com` creates, account instances
//! (`CreateInstance`), their status, updates, tags and deletion, and who may see them.

use crate::common::{Server, Who, err_info, ok, signup};
use crate::fixture::{Fixture, member_role};
use aws_sdk_ssoadmin::types::{InstanceStatus, Tag};
use std::time::{Duration, Instant};

const MGMT: &str = "111111111111";

/// Enables Identity Center for the organization of `f`'s root and answers the instance ARN
/// and identity store ID once the instance is `ACTIVE`.
pub async fn enable_sso(server: &Server) -> (String, String) {
    ok(
        "EnableAWSServiceAccess",
        server
            .orgs()
            .enable_aws_service_access()
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    let admin = server.sso_admin_as(&server.root());
    let list = ok("ListInstances", admin.list_instances().send().await);
    let inst = list
        .instances()
        .first()
        .expect("the organization instance")
        .clone();
    let arn = inst.instance_arn().unwrap().to_owned();
    await_active(&admin, &arn).await;
    (arn, inst.identity_store_id().unwrap().to_owned())
}

pub async fn await_active(admin: &aws_sdk_ssoadmin::Client, arn: &str) {
    let start = Instant::now();
    loop {
        let d = ok(
            "DescribeInstance",
            admin.describe_instance().instance_arn(arn).send().await,
        );
        match d.status() {
            Some(InstanceStatus::Active) => return,
            Some(InstanceStatus::CreateInProgress) => {}
            other => panic!("instance ended {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "instance never became ACTIVE"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn enabling_trusted_access_creates_the_organization_instance() {
    let (f, _org) = Fixture::with_org("sso-enable", MGMT).await;
    let (arn, store) = enable_sso(&f.server).await;
    let id = arn
        .strip_prefix("arn:aws:sso:::instance/ssoins-")
        .expect(&arn);
    assert_eq!(id.len(), 16, "{arn}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{arn}");
    let hex = store.strip_prefix("d-").expect(&store);
    assert!(
        hex.len() == 10 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{store}"
    );

    let admin = f.server.sso_admin_as(&f.server.root());
    let d = ok(
        "DescribeInstance",
        admin.describe_instance().instance_arn(&arn).send().await,
    );
    assert_eq!(d.owner_account_id(), Some(MGMT));
    assert_eq!(d.identity_store_id(), Some(store.as_str()));
    assert_eq!(
        d.identity_store_arn(),
        Some(format!("arn:aws:identitystore::{MGMT}:identitystore/{store}").as_str())
    );
    assert_eq!(d.status(), Some(&InstanceStatus::Active));
    assert!(d.created_date().is_some());

    // Enabling again changes nothing: still one instance.
    ok(
        "EnableAWSServiceAccess again",
        f.server
            .orgs()
            .enable_aws_service_access()
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    let list = ok("ListInstances", admin.list_instances().send().await);
    assert_eq!(list.instances().len(), 1);

    // The service-linked role, in the management account.
    let role = ok(
        "GetRole",
        f.server
            .iam()
            .get_role()
            .role_name("AWSServiceRoleForSSO")
            .send()
            .await,
    );
    let role = role.role().unwrap();
    assert_eq!(role.path(), "/aws-service-role/sso.amazonaws.com/");
    let attached = ok(
        "ListAttachedRolePolicies",
        f.server
            .iam()
            .list_attached_role_policies()
            .role_name("AWSServiceRoleForSSO")
            .send()
            .await,
    );
    assert_eq!(
        attached.attached_policies()[0].policy_arn(),
        Some("arn:aws:iam::aws:policy/aws-service-role/AWSSSOServiceRolePolicy")
    );
}

#[tokio::test]
async fn the_management_account_cannot_create_an_account_instance() {
    let (f, _org) = Fixture::with_org("sso-mgmt-create", MGMT).await;
    let admin = f.server.sso_admin_as(&f.server.root());
    let e = err_info(admin.create_instance().name("mine").send().await);
    assert_eq!(e.code, "ValidationException");
    assert_eq!(
        e.message,
        "Organization management account is not allowed to perform the operation."
    );
}

#[tokio::test]
async fn a_standalone_account_has_one_account_instance() {
    let f = Fixture::new("sso-account-instance", MGMT);
    let (account, who) = signup(&f.dir, "solo@example.com", "solo");
    let admin = f.server.sso_admin_as(&who);
    let created = ok(
        "CreateInstance",
        admin
            .create_instance()
            .name("solo-instance")
            .tags(Tag::builder().key("team").value("a").build().unwrap())
            .send()
            .await,
    );
    let arn = created.instance_arn().unwrap().to_owned();
    await_active(&admin, &arn).await;
    let d = ok(
        "DescribeInstance",
        admin.describe_instance().instance_arn(&arn).send().await,
    );
    assert_eq!(d.owner_account_id(), Some(account.as_str()));
    assert_eq!(d.name(), Some("solo-instance"));

    let e = err_info(admin.create_instance().name("second").send().await);
    assert_eq!(e.code, "ConflictException", "{e:?}");

    // Another account does not see it.
    let other = f.server.sso_admin_as(&f.server.root());
    let e = err_info(other.describe_instance().instance_arn(&arn).send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    let list = ok("ListInstances", other.list_instances().send().await);
    assert!(list.instances().is_empty());

    // Update and tags.
    ok(
        "UpdateInstance",
        admin
            .update_instance()
            .instance_arn(&arn)
            .name("renamed")
            .send()
            .await,
    );
    ok(
        "TagResource",
        admin
            .tag_resource()
            .resource_arn(&arn)
            .tags(Tag::builder().key("env").value("ci").build().unwrap())
            .send()
            .await,
    );
    let tags = ok(
        "ListTagsForResource",
        admin
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await,
    );
    let keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["team", "env"]);
    ok(
        "UntagResource",
        admin
            .untag_resource()
            .resource_arn(&arn)
            .tag_keys("team")
            .send()
            .await,
    );
    let tags = ok(
        "ListTagsForResource",
        admin
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(tags.tags().len(), 1);
    let d = ok(
        "DescribeInstance",
        admin.describe_instance().instance_arn(&arn).send().await,
    );
    assert_eq!(d.name(), Some("renamed"));

    // Deletion: DELETE_IN_PROGRESS, then gone (access denied, as AWS answers after a delete).
    ok(
        "DeleteInstance",
        admin.delete_instance().instance_arn(&arn).send().await,
    );
    let start = Instant::now();
    loop {
        match admin.describe_instance().instance_arn(&arn).send().await {
            Ok(d) => assert_eq!(d.status(), Some(&InstanceStatus::DeleteInProgress)),
            Err(e) => {
                let e = err_info::<(), _>(Err(e));
                assert_eq!(e.code, "AccessDeniedException");
                break;
            }
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never deleted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And a new one may be created.
    ok("CreateInstance again", admin.create_instance().send().await);
}

#[tokio::test]
async fn a_delegated_administrator_sees_the_organization_instance_and_others_do_not() {
    let (f, _org) = Fixture::with_org("sso-delegated", MGMT).await;
    let (arn, store) = enable_sso(&f.server).await;
    let delegate_account = f.member("delegate", "delegate@example.com").await;
    let other_account = f.member("other", "other@example.com").await;
    ok(
        "RegisterDelegatedAdministrator",
        f.server
            .orgs()
            .register_delegated_administrator()
            .account_id(&delegate_account)
            .service_principal("sso.amazonaws.com")
            .send()
            .await,
    );
    let admin = f.admin("admin", None).await;
    let delegate: Who = member_role(&f.server, &admin, &delegate_account).await;
    let other: Who = member_role(&f.server, &admin, &other_account).await;

    let list = ok(
        "ListInstances (delegate)",
        f.server
            .sso_admin_as(&delegate)
            .list_instances()
            .send()
            .await,
    );
    assert_eq!(list.instances().len(), 1);
    assert_eq!(list.instances()[0].instance_arn(), Some(arn.as_str()));
    ok(
        "ListUsers (delegate)",
        f.server
            .identitystore_as(&delegate)
            .list_users()
            .identity_store_id(&store)
            .send()
            .await,
    );
    // A delegated administrator cannot delete the organization's instance.
    let e = err_info(
        f.server
            .sso_admin_as(&delegate)
            .delete_instance()
            .instance_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDeniedException");

    let list = ok(
        "ListInstances (other)",
        f.server.sso_admin_as(&other).list_instances().send().await,
    );
    assert!(list.instances().is_empty());
    let e = err_info(
        f.server
            .identitystore_as(&other)
            .list_users()
            .identity_store_id(&store)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
}

#[tokio::test]
async fn cairn_sso_enable_creates_the_organization_instance() {
    let (f, _org) = Fixture::with_org("sso-cli-enable", MGMT).await;
    let run = || {
        std::process::Command::new(crate::common::cairn_binary())
            .args(["sso", "enable", "--data-dir"])
            .arg(f.dir.path().join("data"))
            .env_remove("CAIRN_MASTER_KEY")
            .env_remove("CAIRN_DATABASE_URL")
            .env_remove("CAIRN_DATA_DIR")
            .output()
            .expect("running cairn sso enable")
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let arn = v["InstanceArn"].as_str().unwrap().to_owned();
    assert!(arn.starts_with("arn:aws:sso:::instance/ssoins-"), "{v}");
    assert_eq!(v["OwnerAccountId"], MGMT);
    // The server's job runner activates it; trusted access is on, as after the console.
    let admin = f.server.sso_admin_as(&f.server.root());
    await_active(&admin, &arn).await;
    let access = ok(
        "ListAWSServiceAccessForOrganization",
        f.server
            .orgs()
            .list_aws_service_access_for_organization()
            .send()
            .await,
    );
    assert_eq!(
        access.enabled_service_principals()[0].service_principal(),
        Some("sso.amazonaws.com")
    );
    // Again: the same instance.
    let again: serde_json::Value = serde_json::from_slice(&run().stdout).expect("JSON");
    assert_eq!(again["InstanceArn"], arn.as_str());

    // An account in no organization is refused as EnableAWSServiceAccess refuses it.
    let (solo, _) = signup(&f.dir, "sso-cli-solo@example.com", "Solo");
    let out = std::process::Command::new(crate::common::cairn_binary())
        .args(["sso", "enable", "--account-id", &solo, "--data-dir"])
        .arg(f.dir.path().join("data"))
        .env_remove("CAIRN_MASTER_KEY")
        .env_remove("CAIRN_DATABASE_URL")
        .env_remove("CAIRN_DATA_DIR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("AWSOrganizationsNotInUseException"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
