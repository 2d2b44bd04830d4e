//! Role templates (`GetRoleTemplateVersion`, `AcquireRole`), `GetHumanReadableSummary`,
//! and STS `GetScopedCredentials`, through the official `aws-sdk-iam` and — for
//! `GetScopedCredentials`, newer than the `aws-sdk-sts` in use — signed awsQuery requests.

use crate::common::{Raw, Resp, Sig, Who, err_info, ok};
use crate::fixture::{ADMINISTRATOR_ACCESS, Fixture, session};
use aws_sdk_iam::types::{ReplacementValueEntry, SummaryStateType};

const ACCOUNT: &str = "111122223333";
const POWER: &str = "arn:aws:iam::aws:role-template/iam.amazonaws.com/PowerUserRoleTemplate:1";
const POWER_USER_ACCESS: &str = "arn:aws:iam::aws:policy/PowerUserAccess";

fn values(v: &[&str]) -> ReplacementValueEntry {
    ReplacementValueEntry::builder()
        .set_values(Some(v.iter().map(|s| (*s).to_owned()).collect()))
        .build()
        .unwrap()
}

async fn acquire(
    iam: &aws_sdk_iam::Client,
    pairs: &[(&str, &[&str])],
) -> Result<
    aws_sdk_iam::operation::acquire_role::AcquireRoleOutput,
    aws_sdk_iam::error::SdkError<aws_sdk_iam::operation::acquire_role::AcquireRoleError>,
> {
    let mut req = iam.acquire_role().template_arn(POWER);
    for (k, v) in pairs {
        req = req.replacement_values(*k, values(v));
    }
    req.send().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_role_template_version_answers_the_power_user_template() {
    let f = Fixture::new("tmpl-get", ACCOUNT);
    let iam = f.server.iam();
    let got = ok(
        "GetRoleTemplateVersion",
        iam.get_role_template_version()
            .template_arn(POWER)
            .send()
            .await,
    );
    let v = got.role_template_version().unwrap();
    assert_eq!(v.template_name(), Some("PowerUserRoleTemplate"));
    assert_eq!(v.major_version(), Some(1));
    assert_eq!(v.minor_version(), Some(0));
    assert_eq!(v.managed_policy_arns(), [POWER_USER_ACCESS]);
    let params: Vec<&str> = v.parameters_definition().iter().map(|p| p.name()).collect();
    assert_eq!(params, ["AWSServiceName", "RoleName"]);
    let trust = urlencoding_decode(v.assume_role_policy_document_template().unwrap());
    assert!(trust.contains("${AWSServiceName}"), "{trust}");

    for (arn, minor) in [
        // A documented template whose policies AWS does not publish: not served.
        (
            "arn:aws:iam::aws:role-template/backup.amazonaws.com/AWSBackupDefaultServiceRoleTemplate:1",
            None,
        ),
        (
            "arn:aws:iam::aws:role-template/iam.amazonaws.com/Nope:1",
            None,
        ),
        (POWER, Some(9)),
    ] {
        let e = err_info(
            iam.get_role_template_version()
                .template_arn(arn)
                .set_minor_version(minor)
                .send()
                .await,
        );
        assert_eq!(e.code, "NoSuchEntity", "{arn} {minor:?}: {e:?}");
        assert_eq!(e.status, 404);
    }
}

fn urlencoding_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquired_role_is_a_real_role_that_its_policies_decide() {
    let f = Fixture::new("tmpl-acquire", ACCOUNT);
    let iam = f.server.iam();
    let made = ok(
        "AcquireRole",
        acquire(
            &iam,
            &[
                ("AWSServiceName", &["lambda.amazonaws.com"]),
                ("RoleName", &["fn-role"]),
            ],
        )
        .await,
    );
    let role = made.role().unwrap();
    assert_eq!(role.role_name(), "fn-role");
    assert_eq!(role.arn(), format!("arn:aws:iam::{ACCOUNT}:role/fn-role"));
    let source = role.source_role_template().unwrap();
    assert_eq!(source.template_arn(), POWER);
    assert_eq!(source.template_minor_version(), 0);

    // GetRole and the attachments see it; acquiring again answers the same role.
    let got = ok("GetRole", iam.get_role().role_name("fn-role").send().await);
    assert_eq!(got.role().unwrap().role_id(), role.role_id());
    assert_eq!(
        got.role()
            .unwrap()
            .source_role_template()
            .map(|s| s.template_arn()),
        Some(POWER)
    );
    let trust = urlencoding_decode(got.role().unwrap().assume_role_policy_document().unwrap());
    assert!(trust.contains("lambda.amazonaws.com"), "{trust}");
    let attached = ok(
        "ListAttachedRolePolicies",
        iam.list_attached_role_policies()
            .role_name("fn-role")
            .send()
            .await,
    );
    let arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .collect();
    assert_eq!(arns, [POWER_USER_ACCESS]);
    let again = ok(
        "AcquireRole (again)",
        acquire(
            &iam,
            &[
                ("AWSServiceName", &["lambda.amazonaws.com"]),
                ("RoleName", &["fn-role"]),
            ],
        )
        .await,
    );
    assert_eq!(again.role().unwrap().role_id(), role.role_id());

    // Let the account assume it (which changes it): its session is PowerUserAccess —
    // CloudTrail yes, IAM no.
    let admin = f.admin("admin", None).await;
    ok(
        "UpdateAssumeRolePolicy",
        iam.update_assume_role_policy()
            .role_name("fn-role")
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ))
            .send()
            .await,
    );
    let assumed = ok(
        "AssumeRole",
        f.server
            .sts_as(&admin)
            .assume_role()
            .role_arn(role.arn())
            .role_session_name("fn-session")
            .send()
            .await,
    );
    let who = session(assumed.credentials().unwrap());
    ok(
        "DescribeTrails as PowerUser",
        f.server.cloudtrail_as(&who).describe_trails().send().await,
    );
    let e = err_info(f.server.iam_as(&who).list_users().send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");

    // Changed since the template made it: RoleModified.
    let e = err_info(
        acquire(
            &iam,
            &[
                ("AWSServiceName", &["lambda.amazonaws.com"]),
                ("RoleName", &["fn-role"]),
            ],
        )
        .await,
    );
    assert_eq!(e.code, "RoleModified", "{e:?}");
    assert_eq!(e.status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acquire_role_refuses_what_the_template_does_not_allow() {
    let f = Fixture::new("tmpl-errors", ACCOUNT);
    let iam = f.server.iam();
    let svc: &[&str] = &["ec2.amazonaws.com"];
    for (what, pairs, code) in [
        (
            "required parameter missing",
            vec![("RoleName", &["x"][..])],
            "InvalidInput",
        ),
        (
            "undefined parameter",
            vec![("AWSServiceName", svc), ("Department", &["eng"][..])],
            "InvalidInput",
        ),
        (
            "two values for a String",
            vec![(
                "AWSServiceName",
                &["a.amazonaws.com", "b.amazonaws.com"][..],
            )],
            "InvalidInput",
        ),
        (
            "not a role name",
            vec![("AWSServiceName", svc), ("RoleName", &["bad name"][..])],
            "InvalidInput",
        ),
    ] {
        let e = err_info(acquire(&iam, &pairs).await);
        assert_eq!(e.code, code, "{what}: {e:?}");
    }
    let e = err_info(
        iam.acquire_role()
            .template_arn("arn:aws:iam::aws:role-template/iam.amazonaws.com/Nope:1")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");

    // A role of that name made otherwise: NameConflict, and nothing changes.
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("PowerUserRole")
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await,
    );
    let e = err_info(acquire(&iam, &[("AWSServiceName", svc)]).await);
    assert_eq!(e.code, "NameConflict", "{e:?}");
    assert_eq!(e.status, 409);
    let attached = ok(
        "ListAttachedRolePolicies",
        iam.list_attached_role_policies()
            .role_name("PowerUserRole")
            .send()
            .await,
    );
    assert!(attached.attached_policies().is_empty());
    // A refused acquisition leaves no role behind.
    let e = err_info(iam.get_role().role_name("x").send().await);
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_human_readable_summary_summarizes_policies_and_roles() {
    let f = Fixture::new("tmpl-summary", ACCOUNT);
    let iam = f.server.iam();
    let created = ok(
        "CreatePolicy",
        iam.create_policy()
            .policy_name("readers")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"arn:aws:s3:::data/*"},
                  {"Sid":"NoDelete","Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#,
            )
            .send()
            .await,
    );
    let policy_arn = created.policy().unwrap().arn().unwrap().to_owned();
    let got = ok(
        "GetHumanReadableSummary (policy)",
        iam.get_human_readable_summary()
            .entity_arn(&policy_arn)
            .send()
            .await,
    );
    assert_eq!(got.summary_state(), Some(&SummaryStateType::Available));
    assert_eq!(got.locale(), Some("en-US"));
    let text = got.summary_content().unwrap();
    assert!(
        text.contains("- s3: GetObject, ListBucket on arn:aws:s3:::data/*"),
        "{text}"
    );
    assert!(
        text.contains("Denies:\n- s3: DeleteObject on all resources"),
        "{text}"
    );

    ok(
        "AcquireRole",
        acquire(&iam, &[("AWSServiceName", &["ec2.amazonaws.com"])]).await,
    );
    let role = ok(
        "GetHumanReadableSummary (role)",
        iam.get_human_readable_summary()
            .entity_arn(format!("arn:aws:iam::{ACCOUNT}:role/PowerUserRole"))
            .locale("en-GB")
            .send()
            .await,
    );
    let text = role.summary_content().unwrap();
    assert!(text.contains("every action except iam:*"), "{text}");
    assert!(text.contains(POWER_USER_ACCESS), "{text}");

    let ja = ok(
        "GetHumanReadableSummary (ja-JP)",
        iam.get_human_readable_summary()
            .entity_arn(&policy_arn)
            .locale("ja-JP")
            .send()
            .await,
    );
    assert_eq!(ja.summary_state(), Some(&SummaryStateType::NotSupported));
    assert_eq!(ja.summary_content().unwrap_or_default(), "");

    for (arn, locale, code) in [
        (policy_arn.as_str(), Some("xx-XX"), "InvalidInput"),
        ("arn:aws:s3:::data-bucket-of-ours", None, "InvalidInput"),
        (
            "arn:aws:iam::111122223333:delegation-request/e4bdcdae-4f66-11eD-ELEG-ATIONEXAMPLE",
            None,
            "NoSuchEntity",
        ),
        ("arn:aws:iam::111122223333:role/none", None, "NoSuchEntity"),
    ] {
        let e = err_info(
            iam.get_human_readable_summary()
                .entity_arn(arn)
                .set_locale(locale.map(str::to_owned))
                .send()
                .await,
        );
        assert_eq!(e.code, code, "{arn} {locale:?}: {e:?}");
    }
}

// ---------------------------------------------------------------------------- GetScopedCredentials

fn enc(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `GetScopedCredentials` signed with `who` (and its session token).
fn scoped(f: &Fixture, who: &Who, policy: Option<&str>, duration: Option<u32>) -> Resp {
    let mut form = String::from("Action=GetScopedCredentials&Version=2011-06-15");
    if let Some(p) = policy {
        form.push_str(&format!("&Policy={}", enc(p)));
    }
    if let Some(d) = duration {
        form.push_str(&format!("&DurationSeconds={d}"));
    }
    let mut raw = Raw::query(&form);
    if let Some(t) = &who.token {
        raw = raw.header("x-amz-security-token", t);
    }
    f.server
        .send(&raw.signed(f.server.port, &Sig::new(who, "sts")))
}

fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

fn scoped_who(resp: &Resp) -> Who {
    let xml = resp.text();
    assert_eq!(resp.status, 200, "{xml}");
    Who::session(
        tag(&xml, "AccessKeyId").unwrap(),
        tag(&xml, "SecretAccessKey").unwrap(),
        tag(&xml, "SessionToken").unwrap(),
    )
}

/// An administrator role's session.
async fn admin_session(f: &Fixture) -> Who {
    let admin = f.admin("admin", None).await;
    let iam = f.server.iam();
    ok(
        "CreateRole",
        iam.create_role()
            .role_name("ops")
            .assume_role_policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            ))
            .send()
            .await,
    );
    ok(
        "AttachRolePolicy",
        iam.attach_role_policy()
            .role_name("ops")
            .policy_arn(ADMINISTRATOR_ACCESS)
            .send()
            .await,
    );
    let assumed = ok(
        "AssumeRole",
        f.server
            .sts_as(&admin)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/ops"))
            .role_session_name("agent")
            .send()
            .await,
    );
    session(assumed.credentials().unwrap())
}

const LIST_ROLES_AND_SCOPE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListRoles","iam:ListUsers","sts:GetScopedCredentials"],"Resource":"*"}]}"#;
const LIST_ROLES: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#;
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_credentials_keep_the_identity_and_narrow_the_permissions() {
    let f = Fixture::new("sts-scoped", ACCOUNT);
    let agent = admin_session(&f).await;

    let first = scoped(&f, &agent, Some(LIST_ROLES_AND_SCOPE), None);
    let xml = first.text();
    let one = scoped_who(&first);
    assert_eq!(tag(&xml, "ScopedPoliciesCount"), Some("1"), "{xml}");
    let session_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/ops/agent");
    assert_eq!(tag(&xml, "Arn"), Some(session_arn.as_str()), "{xml}");
    assert!(
        tag(&xml, "ScopedSessionId").unwrap().ends_with(":agent"),
        "{xml}"
    );
    let size: usize = tag(&xml, "SessionTokenSize").unwrap().parse().unwrap();
    assert_eq!(size, tag(&xml, "SessionToken").unwrap().len());

    // Same identity; only what both the role and the scope-down policy allow.
    let me = ok(
        "GetCallerIdentity",
        f.server.sts_as(&one).get_caller_identity().send().await,
    );
    assert_eq!(me.arn(), Some(session_arn.as_str()));
    ok("ListRoles", f.server.iam_as(&one).list_roles().send().await);
    ok("ListUsers", f.server.iam_as(&one).list_users().send().await);
    let e = err_info(f.server.iam_as(&one).list_groups().send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");

    // Recursively: every scope-down policy applies; a wider one grants nothing more.
    let second = scoped(&f, &one, Some(LIST_ROLES), Some(900));
    let xml2 = second.text();
    let two = scoped_who(&second);
    assert_eq!(tag(&xml2, "ScopedPoliciesCount"), Some("2"), "{xml2}");
    ok("ListRoles", f.server.iam_as(&two).list_roles().send().await);
    let e = err_info(f.server.iam_as(&two).list_users().send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
    // The second credentials may not scope again (their policy does not allow it).
    let refused = scoped(&f, &two, Some(ALLOW_ALL), None);
    assert_eq!(refused.status, 403, "{}", refused.text());
    // Nor can the first widen what it has.
    let wide = scoped_who(&scoped(&f, &one, Some(ALLOW_ALL), None));
    let e = err_info(f.server.iam_as(&wide).list_groups().send().await);
    assert_eq!(e.code, "AccessDenied", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_scoped_credentials_answers_its_documented_errors() {
    let f = Fixture::new("sts-scoped-errors", ACCOUNT);
    let agent = admin_session(&f).await;
    let cases: Vec<(&str, Resp, &str)> = vec![
        (
            "long-term credentials",
            scoped(&f, &f.server.root(), Some(LIST_ROLES), None),
            "InvalidSubjectCredentials",
        ),
        (
            "an IAM user's long-term key",
            scoped(&f, &f.key_for("admin").await, Some(LIST_ROLES), None),
            "InvalidSubjectCredentials",
        ),
        (
            "malformed policy",
            scoped(
                &f,
                &agent,
                Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}"#),
                None,
            ),
            "MalformedPolicyDocument",
        ),
        (
            "longer than the session",
            scoped(&f, &agent, None, Some(7_200)),
            "InsufficientSessionLifetime",
        ),
        (
            "neither Policy nor DurationSeconds",
            scoped(&f, &agent, None, None),
            "ValidationError",
        ),
    ];
    for (what, resp, code) in cases {
        assert_eq!(resp.status, 400, "{what}: {}", resp.text());
        assert_eq!(
            resp.error_code().as_deref(),
            Some(code),
            "{what}: {}",
            resp.text()
        );
    }

    // Scope-down policies add up against the packed limit.
    let big = |sid: &str| {
        let actions: Vec<String> = (0..60)
            .map(|i| format!("\"s3:GetObjectVersion{i:03}\""))
            .collect();
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":[{},"sts:GetScopedCredentials"],"Resource":"*"}}]}}"#,
            actions.join(",")
        )
    };
    let p1 = big("one");
    assert!(p1.len() < 2048, "{}", p1.len());
    let one = scoped_who(&scoped(&f, &agent, Some(&p1), None));
    let over = scoped(&f, &one, Some(&big("two")), None);
    assert_eq!(over.status, 400, "{}", over.text());
    assert_eq!(over.error_code().as_deref(), Some("PackedPolicyTooLarge"));

    // A shorter session is fine, and expires as asked.
    let short = scoped(&f, &agent, None, Some(900));
    let xml = short.text();
    assert_eq!(short.status, 200, "{xml}");
    assert_eq!(tag(&xml, "ScopedPoliciesCount"), Some("0"), "{xml}");
}
