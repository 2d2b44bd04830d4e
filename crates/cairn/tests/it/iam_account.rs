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

/// A virtual MFA device enrolled with real TOTP codes (computed from the seed it returns),
/// and policies conditioned on `aws:MultiFactorAuthPresent` that admit only MFA sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mfa_devices_gate_what_policies_reserve_for_mfa() {
    use cairn_iam::mfa::{base32_decode, step_of, totp_code};
    let f = Fixture::new("iam-mfa", ACCOUNT);
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("bob").send().await,
    );
    let only_with_mfa = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","sts:AssumeRole"],"Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("bob")
            .policy_name("mfa-only")
            .policy_document(only_with_mfa)
            .send()
            .await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("bob").send().await,
    );
    let key = key.access_key().unwrap();
    let bob = crate::common::Who::new(key.access_key_id(), key.secret_access_key());

    let created = ok(
        "CreateVirtualMFADevice",
        iam.create_virtual_mfa_device()
            .virtual_mfa_device_name("bob-phone")
            .send()
            .await,
    );
    let device = created.virtual_mfa_device().unwrap();
    let serial = device.serial_number().to_owned();
    assert_eq!(serial, format!("arn:aws:iam::{ACCOUNT}:mfa/bob-phone"));
    let seed_b32 =
        String::from_utf8(device.base32_string_seed().unwrap().as_ref().to_vec()).unwrap();
    let seed = base32_decode(&seed_b32).expect("a base32 seed");
    assert_eq!(seed.len(), 20, "{seed_b32}");
    let png = device.qr_code_png().unwrap().as_ref();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let s = step_of(i64::try_from(now_ms).unwrap());
    // Two codes that are not consecutive are refused.
    let e = err_info(
        iam.enable_mfa_device()
            .user_name("bob")
            .serial_number(&serial)
            .authentication_code1(totp_code(&seed, s - 3))
            .authentication_code2(totp_code(&seed, s))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidAuthenticationCode", "{e:?}");
    ok(
        "EnableMFADevice",
        iam.enable_mfa_device()
            .user_name("bob")
            .serial_number(&serial)
            .authentication_code1(totp_code(&seed, s - 1))
            .authentication_code2(totp_code(&seed, s))
            .send()
            .await,
    );
    let listed = ok(
        "ListMFADevices",
        iam.list_mfa_devices().user_name("bob").send().await,
    );
    assert_eq!(listed.mfa_devices().len(), 1);
    assert_eq!(listed.mfa_devices()[0].serial_number(), serial);
    let assigned = ok(
        "ListVirtualMFADevices",
        iam.list_virtual_mfa_devices()
            .assignment_status(aws_sdk_iam::types::AssignmentStatusType::Assigned)
            .send()
            .await,
    );
    assert_eq!(
        assigned.virtual_mfa_devices()[0]
            .user()
            .map(|u| u.user_name()),
        Some("bob")
    );

    // Without MFA: denied.
    let e = err_info(f.server.iam_as(&bob).list_users().send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    let sts = f.server.sts_as(&bob);
    let plain = ok(
        "GetSessionToken (no MFA)",
        sts.get_session_token().send().await,
    );
    let c = plain.credentials().unwrap();
    let plain =
        crate::common::Who::session(c.access_key_id(), c.secret_access_key(), c.session_token());
    // AWS: GetSessionToken credentials without MFA cannot call IAM at all.
    let e = err_info(f.server.iam_as(&plain).list_users().send().await);
    assert_eq!(e.code, "InvalidClientTokenId", "{e:?}");

    // A wrong code, or the code that enabled the device, is refused.
    for (what, code) in [
        ("wrong", "000000".to_owned()),
        ("reused", totp_code(&seed, s)),
    ] {
        let e = err_info(
            sts.get_session_token()
                .serial_number(&serial)
                .token_code(code)
                .send()
                .await,
        );
        assert_eq!(e.code, "AccessDenied", "{what}: {e:?}");
        assert_eq!(
            e.message, "MultiFactorAuthentication failed with invalid MFA one time pass code.",
            "{what}"
        );
    }
    // The next code: an MFA session, which the policy admits.
    let mfa = ok(
        "GetSessionToken (MFA)",
        sts.get_session_token()
            .serial_number(&serial)
            .token_code(totp_code(&seed, s + 1))
            .send()
            .await,
    );
    let c = mfa.credentials().unwrap();
    let mfa_session =
        crate::common::Who::session(c.access_key_id(), c.secret_access_key(), c.session_token());
    let users = ok(
        "ListUsers (MFA session)",
        f.server.iam_as(&mfa_session).list_users().send().await,
    );
    assert_eq!(users.users().len(), 1);

    // An MFA-protected role: its trust policy admits only a caller who passes a code.
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole","Condition":{{"Bool":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
    );
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("admin")
            .assume_role_policy_document(&trust)
            .send()
            .await,
    );
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/admin");
    let e = err_info(
        sts.assume_role()
            .role_arn(&role_arn)
            .role_session_name("bob")
            .send()
            .await,
    );
    assert_eq!(e.code, "AccessDenied", "no MFA: {e:?}");
    ok(
        "AssumeRole with MFA",
        sts.assume_role()
            .role_arn(&role_arn)
            .role_session_name("bob")
            .serial_number(&serial)
            .token_code(totp_code(&seed, s + 1))
            .send()
            .await,
    );

    // The device is the user's until deactivated; then it can be deleted.
    let e = err_info(
        iam.delete_virtual_mfa_device()
            .serial_number(&serial)
            .send()
            .await,
    );
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    ok(
        "DeactivateMFADevice",
        iam.deactivate_mfa_device()
            .user_name("bob")
            .serial_number(&serial)
            .send()
            .await,
    );
    ok(
        "DeleteVirtualMFADevice",
        iam.delete_virtual_mfa_device()
            .serial_number(&serial)
            .send()
            .await,
    );
    let e = err_info(iam.get_mfa_device().serial_number(&serial).send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

/// `sts:GetAccessKeyInfo` reads the account from the key ID itself, as AWS does: for the
/// keys Cairn issues (long-term and temporary) and for a key AWS issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_access_key_info_reads_the_account_from_the_key() {
    let f = Fixture::new("sts-key-info", ACCOUNT);
    let sts = f.server.sts();
    let info = |id: String| {
        let sts = sts.clone();
        async move { sts.get_access_key_info().access_key_id(id).send().await }
    };
    let root = ok(
        "GetAccessKeyInfo (root key)",
        info(f.server.creds.access_key_id.clone()).await,
    );
    assert_eq!(root.account(), Some(ACCOUNT));
    let session = ok("GetSessionToken", sts.get_session_token().send().await);
    let asia = session.credentials().unwrap().access_key_id().to_owned();
    assert!(asia.starts_with("ASIA"), "{asia}");
    let temp = ok("GetAccessKeyInfo (session key)", info(asia).await);
    assert_eq!(temp.account(), Some(ACCOUNT));
    // A key ID AWS issued, from the public research on their layout.
    let aws = ok(
        "GetAccessKeyInfo (AWS's key)",
        info("ASIAY34FZKBOKMUTVV7A".to_owned()).await,
    );
    assert_eq!(aws.account(), Some("609629065308"));
    let e = err_info(info("AKIA0000000000000000".to_owned()).await);
    assert_eq!(e.code, "ValidationError", "{e:?}");
}

/// Service-linked roles: AWS's names and paths, trusted by their service, protected from
/// the IAM API but for their description, deleted through a deletion task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_linked_roles_are_the_services() {
    let f = Fixture::new("iam-slr", ACCOUNT);
    let iam = f.server.iam();
    let created = ok(
        "CreateServiceLinkedRole",
        iam.create_service_linked_role()
            .aws_service_name("autoscaling.amazonaws.com")
            .custom_suffix("web")
            .description("scaling the web tier")
            .send()
            .await,
    );
    let role = created.role().unwrap();
    assert_eq!(role.role_name(), "AWSServiceRoleForAutoScaling_web");
    assert_eq!(role.path(), "/aws-service-role/autoscaling.amazonaws.com/");
    assert_eq!(
        role.arn(),
        format!(
            "arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling_web"
        )
    );
    let trust = crate::iam::url_decode(role.assume_role_policy_document().unwrap());
    assert!(trust.contains("autoscaling.amazonaws.com"), "{trust}");
    let e = err_info(
        iam.create_service_linked_role()
            .aws_service_name("autoscaling.amazonaws.com")
            .custom_suffix("web")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    assert!(
        e.message.contains("has been taken in this account"),
        "{e:?}"
    );
    let e = err_info(
        iam.create_service_linked_role()
            .aws_service_name("guardduty.amazonaws.com")
            .custom_suffix("x")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "no suffix for GuardDuty: {e:?}");
    ok(
        "CreateServiceLinkedRole (Organizations)",
        iam.create_service_linked_role()
            .aws_service_name("organizations.amazonaws.com")
            .send()
            .await,
    );

    // Protected: no trust or policy change, no DeleteRole; the description may change.
    let name = "AWSServiceRoleForAutoScaling_web";
    let e = err_info(iam.delete_role().role_name(name).send().await);
    assert_eq!(e.code, "UnmodifiableEntity", "{e:?}");
    let e = err_info(
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
            .send()
            .await,
    );
    assert_eq!(e.code, "UnmodifiableEntity", "{e:?}");
    ok(
        "UpdateRoleDescription",
        iam.update_role_description()
            .role_name(name)
            .description("new words")
            .send()
            .await,
    );

    let task = ok(
        "DeleteServiceLinkedRole",
        iam.delete_service_linked_role()
            .role_name(name)
            .send()
            .await,
    );
    let id = task.deletion_task_id();
    assert!(
        id.starts_with(&format!(
            "task/aws-service-role/autoscaling.amazonaws.com/{name}/"
        )),
        "{id}"
    );
    let status = ok(
        "GetServiceLinkedRoleDeletionStatus",
        iam.get_service_linked_role_deletion_status()
            .deletion_task_id(id)
            .send()
            .await,
    );
    assert_eq!(
        status.status(),
        &aws_sdk_iam::types::DeletionTaskStatusType::Succeeded
    );
    let e = err_info(iam.get_role().role_name(name).send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    // An ordinary role is not deleted this way.
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("plain")
            .assume_role_policy_document(TRUST_EC2)
            .send()
            .await,
    );
    let e = err_info(
        iam.delete_service_linked_role()
            .role_name("plain")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
}

/// The credential report: generated on request, AWS's CSV columns, the root user first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_report_lists_every_users_credentials() {
    let f = Fixture::new("iam-credential-report", ACCOUNT);
    let iam = f.server.iam();
    let e = err_info(iam.get_credential_report().send().await);
    assert_eq!(e.code, "ReportNotPresent", "{e:?}");
    ok(
        "CreateUser",
        iam.create_user().user_name("carol").send().await,
    );
    ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("carol").send().await,
    );
    ok(
        "CreateLoginProfile",
        iam.create_login_profile()
            .user_name("carol")
            .password("Report-Passw0rd")
            .send()
            .await,
    );
    let first = ok(
        "GenerateCredentialReport",
        iam.generate_credential_report().send().await,
    );
    assert_eq!(
        first.state(),
        Some(&aws_sdk_iam::types::ReportStateType::Started)
    );
    let again = ok(
        "GenerateCredentialReport again",
        iam.generate_credential_report().send().await,
    );
    assert_eq!(
        again.state(),
        Some(&aws_sdk_iam::types::ReportStateType::Complete)
    );
    let report = ok(
        "GetCredentialReport",
        iam.get_credential_report().send().await,
    );
    assert_eq!(
        report.report_format(),
        Some(&aws_sdk_iam::types::ReportFormatType::TextCsv)
    );
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let root: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(root[0], "<root_account>");
    assert_eq!(root[1], format!("arn:aws:iam::{ACCOUNT}:root"));
    assert_eq!(root[8], "true", "the root's access key: {csv}");
    let carol: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(carol.len(), 22);
    assert_eq!(carol[0], "carol");
    assert_eq!(carol[3], "true", "password_enabled");
    assert_eq!(carol[7], "false", "mfa_active");
    assert_eq!(carol[8], "true", "access_key_1_active");
    assert!(carol[9].ends_with("+00:00"), "{}", carol[9]);
    assert_eq!(carol[13], "false", "access_key_2_active");
}

/// The condition keys policies reference (for a simulation's context entries), and the STS
/// token preference `GetAccountSummary` reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_keys_and_sts_preferences() {
    let f = Fixture::new("iam-context-keys", ACCOUNT);
    let iam = f.server.iam();
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"StringLike":{"s3:prefix":"home/*"}}},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:sourceip":"x","aws:MultiFactorAuthPresent":"false"}}}]}"#;
    let keys = ok(
        "GetContextKeysForCustomPolicy",
        iam.get_context_keys_for_custom_policy()
            .policy_input_list(doc)
            .send()
            .await,
    );
    assert_eq!(
        keys.context_key_names(),
        ["aws:SourceIp", "s3:prefix", "aws:MultiFactorAuthPresent"]
    );
    let e = err_info(
        iam.get_context_keys_for_custom_policy()
            .policy_input_list("{not json")
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedPolicyDocument", "{e:?}");
    ok(
        "CreateUser",
        iam.create_user().user_name("dana").send().await,
    );
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("dana")
            .policy_name("p")
            .policy_document(doc)
            .send()
            .await,
    );
    let keys = ok(
        "GetContextKeysForPrincipalPolicy",
        iam.get_context_keys_for_principal_policy()
            .policy_source_arn(format!("arn:aws:iam::{ACCOUNT}:user/dana"))
            .policy_input_list(
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"a"}}}}"#,
            )
            .send()
            .await,
    );
    assert_eq!(
        keys.context_key_names(),
        [
            "aws:SourceIp",
            "s3:prefix",
            "aws:MultiFactorAuthPresent",
            "aws:PrincipalTag/team"
        ]
    );

    let version = |m: &std::collections::HashMap<SummaryKeyType, i32>| {
        m.get(&SummaryKeyType::GlobalEndpointTokenVersion).copied()
    };
    let s = ok("GetAccountSummary", iam.get_account_summary().send().await);
    assert_eq!(version(s.summary_map().unwrap()), Some(1));
    ok(
        "SetSecurityTokenServicePreferences",
        iam.set_security_token_service_preferences()
            .global_endpoint_token_version(aws_sdk_iam::types::GlobalEndpointTokenVersion::V2Token)
            .send()
            .await,
    );
    let s = ok("GetAccountSummary", iam.get_account_summary().send().await);
    assert_eq!(version(s.summary_map().unwrap()), Some(2));
}

/// `GetAccountAuthorizationDetails`: the whole account's identities and policies, filtered
/// and paginated across its four lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_authorization_details_snapshot_the_account() {
    use aws_sdk_iam::types::EntityType;
    let f = Fixture::new("iam-authz-details", ACCOUNT);
    let iam = f.server.iam();
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    ok(
        "CreateUser",
        iam.create_user().user_name("erin").send().await,
    );
    ok(
        "CreateGroup",
        iam.create_group().group_name("auditors").send().await,
    );
    ok(
        "AddUserToGroup",
        iam.add_user_to_group()
            .group_name("auditors")
            .user_name("erin")
            .send()
            .await,
    );
    ok(
        "PutUserPolicy",
        iam.put_user_policy()
            .user_name("erin")
            .policy_name("inline")
            .policy_document(allow)
            .send()
            .await,
    );
    ok(
        "AttachGroupPolicy",
        iam.attach_group_policy()
            .group_name("auditors")
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .send()
            .await,
    );
    let p = ok(
        "CreatePolicy",
        iam.create_policy()
            .policy_name("mine")
            .policy_document(allow)
            .send()
            .await,
    );
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    ok(
        "CreatePolicyVersion",
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(allow)
            .set_as_default(true)
            .send()
            .await,
    );
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("app")
            .assume_role_policy_document(TRUST_EC2)
            .send()
            .await,
    );
    ok(
        "CreateInstanceProfile",
        iam.create_instance_profile()
            .instance_profile_name("app")
            .send()
            .await,
    );
    ok(
        "AddRoleToInstanceProfile",
        iam.add_role_to_instance_profile()
            .instance_profile_name("app")
            .role_name("app")
            .send()
            .await,
    );

    let all = ok(
        "GetAccountAuthorizationDetails",
        iam.get_account_authorization_details().send().await,
    );
    assert!(!all.is_truncated());
    let user = &all.user_detail_list()[0];
    assert_eq!(user.user_name(), Some("erin"));
    assert_eq!(user.group_list(), ["auditors"]);
    assert_eq!(user.user_policy_list()[0].policy_name(), Some("inline"));
    let doc = crate::iam::url_decode(user.user_policy_list()[0].policy_document().unwrap());
    assert!(doc.contains("s3:GetObject"), "{doc}");
    assert_eq!(
        all.group_detail_list()[0].attached_managed_policies()[0].policy_arn(),
        Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
    );
    let role = &all.role_detail_list()[0];
    assert_eq!(
        role.instance_profile_list()[0].instance_profile_name(),
        "app"
    );
    let policies: Vec<&str> = all
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert_eq!(
        policies,
        ["mine", "ReadOnlyAccess"],
        "the customer's, then AWS's in use"
    );
    let mine = &all.policies()[0];
    assert_eq!(mine.policy_version_list().len(), 2);
    assert_eq!(mine.default_version_id(), Some("v2"));

    let only_roles = ok(
        "GetAccountAuthorizationDetails (Role)",
        iam.get_account_authorization_details()
            .filter(EntityType::Role)
            .send()
            .await,
    );
    assert!(only_roles.user_detail_list().is_empty());
    assert_eq!(only_roles.role_detail_list().len(), 1);

    // One item per page, across the lists.
    let mut marker: Option<String> = None;
    let mut seen = 0;
    loop {
        let page = ok(
            "GetAccountAuthorizationDetails (page)",
            iam.get_account_authorization_details()
                .max_items(1)
                .set_marker(marker.clone())
                .send()
                .await,
        );
        seen += page.user_detail_list().len()
            + page.group_detail_list().len()
            + page.role_detail_list().len()
            + page.policies().len();
        marker = page.marker().map(str::to_owned);
        if !page.is_truncated() {
            break;
        }
    }
    assert_eq!(seen, 5, "a user, a group, a role, two policies");
}

/// SAML identity providers: metadata parsed and checked, ARNs, tags, updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saml_providers_hold_checked_metadata() {
    let f = Fixture::new("iam-saml", ACCOUNT);
    let iam = f.server.iam();
    // The model wants at least 1,000 characters: a comment pads the documents.
    let pad = format!("<!-- {} -->", "p".repeat(1000));
    let metadata = |valid: &str| {
        format!(
            r#"<?xml version="1.0"?>{pad}<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/saml" validUntil="{valid}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    };
    let e = err_info(
        iam.create_saml_provider()
            .name("corp")
            .saml_metadata_document(format!("<html>{pad}not metadata</html>"))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidInput", "{e:?}");
    assert_eq!(e.message, "Could not parse metadata");
    let created = ok(
        "CreateSAMLProvider",
        iam.create_saml_provider()
            .name("corp")
            .saml_metadata_document(metadata("2030-01-01T00:00:00Z"))
            .tags(Tag::builder().key("idp").value("okta").build().unwrap())
            .send()
            .await,
    );
    let arn = created.saml_provider_arn().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:iam::{ACCOUNT}:saml-provider/corp"));
    let e = err_info(
        iam.create_saml_provider()
            .name("corp")
            .saml_metadata_document(metadata("2030-01-01T00:00:00Z"))
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    let got = ok(
        "GetSAMLProvider",
        iam.get_saml_provider().saml_provider_arn(&arn).send().await,
    );
    assert_eq!(
        got.valid_until().map(|t| t.secs()),
        Some(1_893_456_000),
        "validUntil of the metadata"
    );
    assert!(got.saml_provider_uuid().is_some());
    assert!(
        got.saml_metadata_document()
            .unwrap()
            .contains("idp.example.com")
    );
    ok(
        "UpdateSAMLProvider",
        iam.update_saml_provider()
            .saml_provider_arn(&arn)
            .saml_metadata_document(metadata("2031-01-01T00:00:00Z"))
            .send()
            .await,
    );
    let list = ok("ListSAMLProviders", iam.list_saml_providers().send().await);
    assert_eq!(list.saml_provider_list().len(), 1);
    assert_eq!(
        list.saml_provider_list()[0].valid_until().map(|t| t.secs()),
        Some(1_924_992_000)
    );
    let tags = ok(
        "ListSAMLProviderTags",
        iam.list_saml_provider_tags()
            .saml_provider_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(tags.tags().len(), 1);
    ok(
        "DeleteSAMLProvider",
        iam.delete_saml_provider()
            .saml_provider_arn(&arn)
            .send()
            .await,
    );
    let e = err_info(iam.get_saml_provider().saml_provider_arn(&arn).send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

/// SSH public keys: an OpenSSH `ssh-rsa` key made here, its MD5 fingerprint, the PEM form
/// (which uploads to the same fingerprint), status, limits, and DeleteUser's conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_public_keys_in_openssh_and_pem_form() {
    use base64::Engine;
    use rsa::traits::PublicKeyParts;
    let f = Fixture::new("iam-ssh", ACCOUNT);
    let iam = f.server.iam();
    let key = rsa::PrivateKey::new(&mut crate::web_identity::TestRng, 2048).unwrap();
    let public = key.to_public_key();
    let field = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(&u32::try_from(b.len()).unwrap().to_be_bytes());
        out.extend_from_slice(b);
    };
    let mpint = |b: Vec<u8>| {
        if b[0] & 0x80 != 0 {
            [vec![0u8], b].concat()
        } else {
            b
        }
    };
    let mut blob = Vec::new();
    field(&mut blob, b"ssh-rsa");
    field(
        &mut blob,
        &mpint(crate::web_identity::unsigned_be(public.e())),
    );
    field(
        &mut blob,
        &mpint(crate::web_identity::unsigned_be(public.n())),
    );
    let openssh = format!(
        "ssh-rsa {} dev@laptop",
        base64::engine::general_purpose::STANDARD.encode(&blob)
    );
    for user in ["frank", "grace"] {
        ok("CreateUser", iam.create_user().user_name(user).send().await);
    }
    let up = ok(
        "UploadSSHPublicKey",
        iam.upload_ssh_public_key()
            .user_name("frank")
            .ssh_public_key_body(&openssh)
            .send()
            .await,
    );
    let k = up.ssh_public_key().unwrap();
    assert!(k.ssh_public_key_id().starts_with("APKA") && k.ssh_public_key_id().len() == 20);
    let print = k.fingerprint().to_owned();
    assert_eq!(print.len(), 47, "16 colon-separated hex pairs: {print}");
    let id = k.ssh_public_key_id().to_owned();
    let e = err_info(
        iam.upload_ssh_public_key()
            .user_name("frank")
            .ssh_public_key_body(&openssh)
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateSSHPublicKey", "{e:?}");
    let e = err_info(
        iam.upload_ssh_public_key()
            .user_name("frank")
            .ssh_public_key_body("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGa9 x")
            .send()
            .await,
    );
    assert_eq!(e.code, "UnrecognizedPublicKeyEncoding", "{e:?}");

    let pem = ok(
        "GetSSHPublicKey (PEM)",
        iam.get_ssh_public_key()
            .user_name("frank")
            .ssh_public_key_id(&id)
            .encoding(aws_sdk_iam::types::EncodingType::Pem)
            .send()
            .await,
    );
    let pem_body = pem
        .ssh_public_key()
        .unwrap()
        .ssh_public_key_body()
        .to_owned();
    assert!(
        pem_body.starts_with("-----BEGIN PUBLIC KEY-----"),
        "{pem_body}"
    );
    let again = ok(
        "UploadSSHPublicKey (PEM)",
        iam.upload_ssh_public_key()
            .user_name("grace")
            .ssh_public_key_body(&pem_body)
            .send()
            .await,
    );
    assert_eq!(again.ssh_public_key().unwrap().fingerprint(), print);

    ok(
        "UpdateSSHPublicKey",
        iam.update_ssh_public_key()
            .user_name("frank")
            .ssh_public_key_id(&id)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await,
    );
    let listed = ok(
        "ListSSHPublicKeys",
        iam.list_ssh_public_keys().user_name("frank").send().await,
    );
    assert_eq!(
        listed.ssh_public_keys()[0].status(),
        &aws_sdk_iam::types::StatusType::Inactive
    );
    let e = err_info(iam.delete_user().user_name("frank").send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    ok(
        "DeleteSSHPublicKey",
        iam.delete_ssh_public_key()
            .user_name("frank")
            .ssh_public_key_id(&id)
            .send()
            .await,
    );
    ok(
        "DeleteUser",
        iam.delete_user().user_name("frank").send().await,
    );
}

/// Service-specific credentials: a CodeCommit user name and password, shown once, reset,
/// listed without the secret, limited to two per service, and DeleteUser's conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_specific_credentials_for_git_over_https() {
    let f = Fixture::new("iam-sscred", ACCOUNT);
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("hank").send().await,
    );
    let created = ok(
        "CreateServiceSpecificCredential",
        iam.create_service_specific_credential()
            .user_name("hank")
            .service_name("codecommit.amazonaws.com")
            .send()
            .await,
    );
    let cred = created.service_specific_credential().unwrap();
    assert_eq!(cred.service_user_name(), format!("hank-at-{ACCOUNT}"));
    let first = cred.service_password().to_owned();
    assert!(first.len() >= 40, "{first}");
    let id = cred.service_specific_credential_id().to_owned();
    assert!(id.starts_with("ACCA"), "{id}");
    let reset = ok(
        "ResetServiceSpecificCredential",
        iam.reset_service_specific_credential()
            .user_name("hank")
            .service_specific_credential_id(&id)
            .send()
            .await,
    );
    assert_ne!(
        reset
            .service_specific_credential()
            .unwrap()
            .service_password(),
        first
    );
    ok(
        "CreateServiceSpecificCredential (2nd)",
        iam.create_service_specific_credential()
            .user_name("hank")
            .service_name("codecommit.amazonaws.com")
            .send()
            .await,
    );
    let e = err_info(
        iam.create_service_specific_credential()
            .user_name("hank")
            .service_name("codecommit.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    let e = err_info(
        iam.create_service_specific_credential()
            .user_name("hank")
            .service_name("s3.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(e.code, "NotSupportedService", "{e:?}");
    let listed = ok(
        "ListServiceSpecificCredentials",
        iam.list_service_specific_credentials()
            .user_name("hank")
            .send()
            .await,
    );
    assert_eq!(listed.service_specific_credentials().len(), 2);
    ok(
        "UpdateServiceSpecificCredential",
        iam.update_service_specific_credential()
            .user_name("hank")
            .service_specific_credential_id(&id)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await,
    );
    let e = err_info(iam.delete_user().user_name("hank").send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    for c in listed.service_specific_credentials() {
        ok(
            "DeleteServiceSpecificCredential",
            iam.delete_service_specific_credential()
                .user_name("hank")
                .service_specific_credential_id(c.service_specific_credential_id())
                .send()
                .await,
        );
    }
    ok(
        "DeleteUser",
        iam.delete_user().user_name("hank").send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_change_their_own_passwords_as_the_policy_allows() {
    let f = Fixture::new("iam-change-password", ACCOUNT);
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("alice").send().await,
    );
    let key = ok(
        "CreateAccessKey",
        iam.create_access_key().user_name("alice").send().await,
    );
    let key = key.access_key().unwrap();
    let alice = crate::common::Who::new(key.access_key_id(), key.secret_access_key());
    let as_alice = f.server.iam_as(&alice);
    let change = |old: &str, new: &str| {
        as_alice
            .change_password()
            .old_password(old)
            .new_password(new)
            .send()
    };
    // No policy grants it, and the password policy does not either.
    let e = err_info(change("Old-pass-1", "New-pass-2").await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    ok(
        "UpdateAccountPasswordPolicy",
        iam.update_account_password_policy()
            .allow_users_to_change_password(true)
            .password_reuse_prevention(2)
            .minimum_password_length(10)
            .send()
            .await,
    );
    // Allowed now, but Alice has no console password yet.
    let e = err_info(change("Old-pass-1", "New-pass-2").await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    ok(
        "CreateLoginProfile",
        iam.create_login_profile()
            .user_name("alice")
            .password("First-pass-1")
            .password_reset_required(true)
            .send()
            .await,
    );
    let e = err_info(change("Wrong-pass-1", "Second-pass-2").await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    let e = err_info(change("First-pass-1", "short").await);
    assert_eq!(e.code, "PasswordPolicyViolation", "{e:?}");
    // Reusing the current password is refused (reuse prevention 2).
    let e = err_info(change("First-pass-1", "First-pass-1").await);
    assert_eq!(e.code, "PasswordPolicyViolation", "{e:?}");
    ok(
        "ChangePassword",
        change("First-pass-1", "Second-pass-2").await,
    );
    let profile = ok(
        "GetLoginProfile",
        iam.get_login_profile().user_name("alice").send().await,
    );
    assert!(!profile.login_profile().unwrap().password_reset_required());
    // The one before is remembered too.
    let e = err_info(change("Second-pass-2", "First-pass-1").await);
    assert_eq!(e.code, "PasswordPolicyViolation", "{e:?}");
    ok(
        "ChangePassword again",
        change("Second-pass-2", "Third-pass-3").await,
    );
    // The root user has no IAM password to change.
    let e = err_info(
        iam.change_password()
            .old_password("x")
            .new_password("Another-pass-4")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidUserType", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_properties_are_namespaced_settings() {
    let f = Fixture::new("iam-properties", ACCOUNT);
    let iam = f.server.iam();
    let none = ok(
        "GetAccountProperties",
        iam.get_account_properties().send().await,
    );
    assert!(none.properties().is_some_and(|p| p.is_empty()));
    ok(
        "PutAccountProperties",
        iam.put_account_properties()
            .properties("RoleManager/Enabled", "true")
            .properties("RoleManager/MaxRoles", "10")
            .send()
            .await,
    );
    for bad in [
        vec![("NoSlash", "x")],
        vec![("A/b/c", "x")],
        vec![("A/x", "1"), ("B/y", "2")],
    ] {
        let mut req = iam.put_account_properties();
        for (k, v) in &bad {
            req = req.properties(*k, *v);
        }
        let e = err_info(req.send().await);
        assert_eq!(e.code, "InvalidInput", "{bad:?}: {e:?}");
    }
    let got = ok(
        "GetAccountProperties",
        iam.get_account_properties().send().await,
    );
    let p = got.properties().unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p["RoleManager/Enabled"], "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_providers_take_a_context_provider_and_an_identity_center_association() {
    // UpdateOpenIDConnectProvider is newer than the aws-sdk-iam in use: signed awsQuery.
    let f = Fixture::new("iam-oidc-context", ACCOUNT);
    let iam = f.server.iam();
    let created = ok(
        "CreateOpenIDConnectProvider",
        iam.create_open_id_connect_provider()
            .url("https://idp.example.com")
            .client_id_list("app")
            .send()
            .await,
    );
    let arn = created.open_id_connect_provider_arn().unwrap().to_owned();
    let enc = |v: &str| v.replace(':', "%3A").replace('/', "%2F");
    let update = |extra: &str| {
        let form = format!(
            "Action=UpdateOpenIDConnectProvider&Version=2010-05-08&OpenIDConnectProviderArn={}{extra}",
            enc(&arn)
        );
        f.server
            .send_signed(crate::common::Raw::query(&form), "iam")
    };
    let cp = "&ContextProvider.SubjectSourceKey=sub";
    let instance = "arn:aws:sso:::instance/ssoins-1234567890abcdef";
    let ic = format!("&IdentityCenterInstanceArn={}", enc(instance));
    let refused = |resp: crate::common::Resp, what: &str| {
        assert_eq!(resp.status, 400, "{what}: {}", resp.text());
        assert_eq!(resp.error_code().as_deref(), Some("InvalidInput"), "{what}");
    };
    // An association needs a context provider first; one change per request; a value and
    // its Remove flag never together.
    refused(update(&ic), "association first");
    refused(update(&format!("{cp}{ic}")), "both at once");
    refused(
        update(&format!("{cp}&RemoveContextProvider=true")),
        "value and remove",
    );
    refused(update(""), "nothing");
    assert_eq!(update(cp).status, 200);
    assert_eq!(update(&ic).status, 200);
    let got = ok(
        "GetOpenIDConnectProvider",
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await,
    );
    // An older SDK reads the answer, the members it does not know skipped.
    assert_eq!(got.url(), Some("idp.example.com"));
    let raw = f.server.send_signed(
        crate::common::Raw::query(&format!(
            "Action=GetOpenIDConnectProvider&Version=2010-05-08&OpenIDConnectProviderArn={}",
            enc(&arn)
        )),
        "iam",
    );
    let text = raw.text();
    assert!(
        text.contains("<SubjectSourceKey>sub</SubjectSourceKey>"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "<IdentityCenterInstanceArn>{instance}</IdentityCenterInstanceArn>"
        )),
        "{text}"
    );
    // The context provider stays while the association does.
    refused(
        update("&RemoveContextProvider=true"),
        "context provider under an association",
    );
    assert_eq!(update("&RemoveIdentityCenterInstance=true").status, 200);
    assert_eq!(update("&RemoveContextProvider=true").status, 200);
    let raw = f.server.send_signed(
        crate::common::Raw::query(&format!(
            "Action=GetOpenIDConnectProvider&Version=2010-05-08&OpenIDConnectProviderArn={}",
            enc(&arn)
        )),
        "iam",
    );
    assert!(!raw.text().contains("SubjectSourceKey"), "{}", raw.text());
}
