//! IAM account settings and the identities around roles, with `aws-sdk-iam`: the account
//! alias, the password policy and the login profiles it governs, `GetAccountSummary`,
//! instance profiles, OpenID Connect providers.

use crate::common::{err_info, ok};
use crate::fixture::Fixture;
use aws_sdk_iam::types::{SummaryKeyType, Tag};

const ACCOUNT: &str = "123456789012";
const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_alias_is_one_and_unique() {
    let f = Fixture::new("iam-alias", ACCOUNT);
    let iam = f.server.iam();
    let none = ok(
        "ListAccountAliases",
        iam.list_account_aliases().send().await,
    );
    assert!(none.account_aliases().is_empty());
    assert!(!none.is_truncated());
    ok(
        "CreateAccountAlias",
        iam.create_account_alias()
            .account_alias("example-corp")
            .send()
            .await,
    );
    // A new alias replaces the old one.
    ok(
        "CreateAccountAlias again",
        iam.create_account_alias()
            .account_alias("example-two")
            .send()
            .await,
    );
    let one = ok(
        "ListAccountAliases",
        iam.list_account_aliases().send().await,
    );
    assert_eq!(one.account_aliases(), ["example-two"]);
    // The model's pattern: no leading dash, no double dash, 3–63 characters.
    for bad in ["-abc", "ab", "a--b", "Upper"] {
        let e = err_info(iam.create_account_alias().account_alias(bad).send().await);
        assert_eq!(e.code, "ValidationError", "{bad}: {e:?}");
    }
    // Another account cannot take it.
    let (_, other) = crate::common::signup(&f.dir, "other@example.com", "Other");
    let other_iam = f.server.iam_as(&other);
    let e = err_info(
        other_iam
            .create_account_alias()
            .account_alias("example-two")
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    let e = err_info(
        iam.delete_account_alias()
            .account_alias("nope")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    ok(
        "DeleteAccountAlias",
        iam.delete_account_alias()
            .account_alias("example-two")
            .send()
            .await,
    );
    // Freed: the other account may now use it.
    ok(
        "CreateAccountAlias (other account)",
        other_iam
            .create_account_alias()
            .account_alias("example-two")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_policy_governs_login_profiles() {
    let f = Fixture::new("iam-passwords", ACCOUNT);
    let iam = f.server.iam();
    let e = err_info(iam.get_account_password_policy().send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(
        e.message,
        format!("The Password Policy with domain name {ACCOUNT} cannot be found.")
    );
    ok(
        "CreateUser",
        iam.create_user().user_name("alice").send().await,
    );

    // Without a policy, AWS's default applies: 8 characters, three kinds.
    let e = err_info(
        iam.create_login_profile()
            .user_name("alice")
            .password("short1A")
            .send()
            .await,
    );
    assert_eq!(e.code, "PasswordPolicyViolation", "{e:?}");

    ok(
        "UpdateAccountPasswordPolicy",
        iam.update_account_password_policy()
            .minimum_password_length(12)
            .require_symbols(true)
            .max_password_age(90)
            .send()
            .await,
    );
    let p = ok(
        "GetAccountPasswordPolicy",
        iam.get_account_password_policy().send().await,
    );
    let p = p.password_policy().unwrap();
    assert_eq!(p.minimum_password_length(), Some(12));
    assert!(p.require_symbols());
    assert!(!p.require_numbers());
    assert!(p.expire_passwords());
    assert_eq!(p.max_password_age(), Some(90));
    assert_eq!(p.password_reuse_prevention(), None);
    let e = err_info(
        iam.update_account_password_policy()
            .minimum_password_length(5)
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationError", "below the model's 6: {e:?}");

    for weak in ["Abcdefghij1", "abcdefghijkl"] {
        let e = err_info(
            iam.create_login_profile()
                .user_name("alice")
                .password(weak)
                .send()
                .await,
        );
        assert_eq!(e.code, "PasswordPolicyViolation", "{weak}: {e:?}");
        assert_eq!(
            e.message,
            "Password does not conform to the account password policy."
        );
    }
    let created = ok(
        "CreateLoginProfile",
        iam.create_login_profile()
            .user_name("alice")
            .password("correct-horse!")
            .password_reset_required(true)
            .send()
            .await,
    );
    let lp = created.login_profile().unwrap();
    assert_eq!(lp.user_name(), "alice");
    assert!(lp.password_reset_required());
    let e = err_info(
        iam.create_login_profile()
            .user_name("alice")
            .password("correct-horse!")
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    ok(
        "UpdateLoginProfile",
        iam.update_login_profile()
            .user_name("alice")
            .password_reset_required(false)
            .send()
            .await,
    );
    let got = ok(
        "GetLoginProfile",
        iam.get_login_profile().user_name("alice").send().await,
    );
    assert!(!got.login_profile().unwrap().password_reset_required());
    let e = err_info(
        iam.update_login_profile()
            .user_name("alice")
            .password("weak")
            .send()
            .await,
    );
    assert_eq!(e.code, "PasswordPolicyViolation", "{e:?}");

    // A user with a password cannot be deleted until the password is.
    let e = err_info(iam.delete_user().user_name("alice").send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    assert_eq!(
        e.message,
        "Cannot delete entity, must delete login profile first."
    );
    ok(
        "DeleteLoginProfile",
        iam.delete_login_profile().user_name("alice").send().await,
    );
    let e = err_info(iam.get_login_profile().user_name("alice").send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let e = err_info(
        iam.create_login_profile()
            .user_name("nobody")
            .password("correct-horse!")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    ok(
        "DeleteUser",
        iam.delete_user().user_name("alice").send().await,
    );

    ok(
        "DeleteAccountPasswordPolicy",
        iam.delete_account_password_policy().send().await,
    );
    let e = err_info(iam.delete_account_password_policy().send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_profiles_hold_one_role() {
    let f = Fixture::new("iam-instance-profiles", ACCOUNT);
    let iam = f.server.iam();
    let created = ok(
        "CreateInstanceProfile",
        iam.create_instance_profile()
            .instance_profile_name("web")
            .path("/app/")
            .tags(Tag::builder().key("team").value("a").build().unwrap())
            .send()
            .await,
    );
    let p = created.instance_profile().unwrap();
    assert_eq!(
        p.arn(),
        format!("arn:aws:iam::{ACCOUNT}:instance-profile/app/web")
    );
    assert!(p.instance_profile_id().starts_with("AIPA"), "{p:?}");
    assert_eq!(p.instance_profile_id().len(), 21);
    assert!(p.roles().is_empty());
    let e = err_info(
        iam.create_instance_profile()
            .instance_profile_name("WEB")
            .send()
            .await,
    );
    assert_eq!(
        e.code, "EntityAlreadyExists",
        "names are case-insensitive: {e:?}"
    );

    for name in ["web-role", "other-role"] {
        ok(
            "CreateRole",
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(TRUST_EC2)
                .send()
                .await,
        );
    }
    ok(
        "AddRoleToInstanceProfile",
        iam.add_role_to_instance_profile()
            .instance_profile_name("web")
            .role_name("web-role")
            .send()
            .await,
    );
    let e = err_info(
        iam.add_role_to_instance_profile()
            .instance_profile_name("web")
            .role_name("other-role")
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    let got = ok(
        "GetInstanceProfile",
        iam.get_instance_profile()
            .instance_profile_name("web")
            .send()
            .await,
    );
    let roles = got.instance_profile().unwrap().roles();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].role_name(), "web-role");
    let for_role = ok(
        "ListInstanceProfilesForRole",
        iam.list_instance_profiles_for_role()
            .role_name("web-role")
            .send()
            .await,
    );
    assert_eq!(for_role.instance_profiles().len(), 1);
    let listed = ok(
        "ListInstanceProfiles",
        iam.list_instance_profiles()
            .path_prefix("/app/")
            .send()
            .await,
    );
    assert_eq!(listed.instance_profiles().len(), 1);
    let tags = ok(
        "ListInstanceProfileTags",
        iam.list_instance_profile_tags()
            .instance_profile_name("web")
            .send()
            .await,
    );
    assert_eq!(tags.tags().len(), 1);

    // Neither the role nor the profile can go while they are joined.
    let e = err_info(iam.delete_role().role_name("web-role").send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    let e = err_info(
        iam.delete_instance_profile()
            .instance_profile_name("web")
            .send()
            .await,
    );
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    ok(
        "RemoveRoleFromInstanceProfile",
        iam.remove_role_from_instance_profile()
            .instance_profile_name("web")
            .role_name("web-role")
            .send()
            .await,
    );
    let e = err_info(
        iam.remove_role_from_instance_profile()
            .instance_profile_name("web")
            .role_name("web-role")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    ok(
        "DeleteInstanceProfile",
        iam.delete_instance_profile()
            .instance_profile_name("web")
            .send()
            .await,
    );
    ok(
        "DeleteRole",
        iam.delete_role().role_name("web-role").send().await,
    );
    let e = err_info(
        iam.get_instance_profile()
            .instance_profile_name("web")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(e.message, "Instance Profile web cannot be found.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_providers_for_ci_federation() {
    let f = Fixture::new("iam-oidc", ACCOUNT);
    let iam = f.server.iam();
    let thumb = "6938fd4d98bab03faadb97b34396831e3780aea1";
    let created = ok(
        "CreateOpenIDConnectProvider",
        iam.create_open_id_connect_provider()
            .url("https://token.actions.githubusercontent.com")
            .client_id_list("sts.amazonaws.com")
            .thumbprint_list(thumb)
            .send()
            .await,
    );
    let arn = created.open_id_connect_provider_arn().unwrap().to_owned();
    assert_eq!(
        arn,
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com")
    );
    let e = err_info(
        iam.create_open_id_connect_provider()
            .url("https://token.actions.githubusercontent.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    let e = err_info(
        iam.create_open_id_connect_provider()
            .url("http://insecure.example.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");

    ok(
        "AddClientIDToOpenIDConnectProvider",
        iam.add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id("my-app")
            .send()
            .await,
    );
    ok(
        "RemoveClientIDFromOpenIDConnectProvider (absent: idempotent)",
        iam.remove_client_id_from_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .client_id("never-added")
            .send()
            .await,
    );
    ok(
        "UpdateOpenIDConnectProviderThumbprint",
        iam.update_open_id_connect_provider_thumbprint()
            .open_id_connect_provider_arn(&arn)
            .thumbprint_list("1c58a3a8518e8759bf075b76b750d4f2df264fcd")
            .send()
            .await,
    );
    let got = ok(
        "GetOpenIDConnectProvider",
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(got.url(), Some("token.actions.githubusercontent.com"));
    assert_eq!(got.client_id_list(), ["sts.amazonaws.com", "my-app"]);
    assert_eq!(
        got.thumbprint_list(),
        ["1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
    );
    ok(
        "TagOpenIDConnectProvider",
        iam.tag_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .tags(Tag::builder().key("ci").value("github").build().unwrap())
            .send()
            .await,
    );
    let tags = ok(
        "ListOpenIDConnectProviderTags",
        iam.list_open_id_connect_provider_tags()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(tags.tags().len(), 1);
    let list = ok(
        "ListOpenIDConnectProviders",
        iam.list_open_id_connect_providers().send().await,
    );
    assert_eq!(list.open_id_connect_provider_list().len(), 1);

    let summary = ok("GetAccountSummary", iam.get_account_summary().send().await);
    let map = summary.summary_map().unwrap();
    assert_eq!(map.get(&SummaryKeyType::Providers), Some(&1));
    assert_eq!(map.get(&SummaryKeyType::UsersQuota), Some(&5000));
    assert_eq!(map.get(&SummaryKeyType::AccountAccessKeysPresent), Some(&1));

    ok(
        "DeleteOpenIDConnectProvider",
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    ok(
        "DeleteOpenIDConnectProvider again (idempotent)",
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    let e = err_info(
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}
