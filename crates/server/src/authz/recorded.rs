//! The resources a call's CloudTrail record lists (`resources`, and `LookupEvents`'
//! `Resources` / the `ResourceType` and `ResourceName` lookup attributes): the ARNs the
//! authorization step resolved for the call's own action, each with its CloudFormation-style
//! type (`AWS::IAM::User`, `AWS::Organizations::Account`, …) and owning account.
//!
//! Derived from the authorization catalogue, so every operation with resource-level
//! permissions records its resources; operations without (`ListAccounts`) record none, as on
//! AWS.

use super::resolve::Check;
use cairn_core::call::AuditResource;

/// The resource type of an ARN: `AWS::<Service>::<Type>`.
pub fn resource_type(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, _, _, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let kind = resource.split(['/', ':']).next().unwrap_or(resource);
    // Names as CloudFormation spells them, where it has the resource.
    let known = match (service, kind) {
        ("iam", "user") => "AWS::IAM::User",
        ("iam", "role") => "AWS::IAM::Role",
        ("iam", "group") => "AWS::IAM::Group",
        ("iam", "policy") => "AWS::IAM::ManagedPolicy",
        ("iam", "instance-profile") => "AWS::IAM::InstanceProfile",
        ("iam", "oidc-provider") => "AWS::IAM::OIDCProvider",
        ("iam", "saml-provider") => "AWS::IAM::SAMLProvider",
        ("iam", "mfa") => "AWS::IAM::VirtualMFADevice",
        ("iam", "server-certificate") => "AWS::IAM::ServerCertificate",
        ("iam", "root") => return None,
        ("organizations", "account") => "AWS::Organizations::Account",
        ("organizations", "ou") => "AWS::Organizations::OrganizationalUnit",
        ("organizations", "policy") => "AWS::Organizations::Policy",
        ("organizations", "root") => "AWS::Organizations::Root",
        ("organizations", "organization") => "AWS::Organizations::Organization",
        ("organizations", "handshake") => "AWS::Organizations::Handshake",
        ("organizations", "resourcepolicy") => "AWS::Organizations::ResourcePolicy",
        ("cloudtrail", "trail") => "AWS::CloudTrail::Trail",
        ("cloudtrail", "eventdatastore") => "AWS::CloudTrail::EventDataStore",
        ("cloudtrail", "channel") => "AWS::CloudTrail::Channel",
        ("cloudtrail", "dashboard") => "AWS::CloudTrail::Dashboard",
        ("sso", "instance") => "AWS::SSO::Instance",
        ("sso", "permissionSet") => "AWS::SSO::PermissionSet",
        ("sso", "application") => "AWS::SSO::Application",
        _ => "",
    };
    if !known.is_empty() {
        return Some(known.to_owned());
    }
    let service = match service {
        "iam" => "IAM".to_owned(),
        "sts" => "STS".to_owned(),
        "sso" => "SSO".to_owned(),
        other => pascal(other),
    };
    (!kind.is_empty()).then(|| format!("AWS::{service}::{}", pascal(kind)))
}

fn pascal(s: &str) -> String {
    s.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The recorded resources of the checks for `action`, in order, each once.
pub fn recorded(checks: &[Check], action: &str, caller_account: &str) -> Vec<AuditResource> {
    let mut out: Vec<AuditResource> = Vec::new();
    for c in checks.iter().filter(|c| c.action == action) {
        if c.resource == "*" || c.resource.contains('*') || out.iter().any(|r| r.arn == c.resource)
        {
            continue;
        }
        let Some(resource_type) = resource_type(&c.resource) else {
            continue;
        };
        let account = c
            .resource
            .split(':')
            .nth(4)
            .filter(|a| a.len() == 12)
            .map_or_else(|| caller_account.to_owned(), str::to_owned);
        out.push(AuditResource {
            arn: c.resource.clone(),
            account_id: account,
            resource_type,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::resource_type;

    #[test]
    fn types_follow_cloudformation() {
        for (arn, want) in [
            (
                "arn:aws:iam::123456789012:user/ops/alice",
                Some("AWS::IAM::User"),
            ),
            ("arn:aws:iam::123456789012:role/r", Some("AWS::IAM::Role")),
            (
                "arn:aws:iam::123456789012:policy/p",
                Some("AWS::IAM::ManagedPolicy"),
            ),
            ("arn:aws:iam::123456789012:root", None),
            (
                "arn:aws:organizations::123456789012:account/o-abc/210987654321",
                Some("AWS::Organizations::Account"),
            ),
            (
                "arn:aws:organizations::123456789012:ou/o-abc/ou-ab12-cdefghij",
                Some("AWS::Organizations::OrganizationalUnit"),
            ),
            (
                "arn:aws-cn:cloudtrail:cn-north-1:123456789012:trail/main",
                Some("AWS::CloudTrail::Trail"),
            ),
            (
                "arn:aws:foo::123456789012:some-thing/x",
                Some("AWS::Foo::SomeThing"),
            ),
            ("not an arn", None),
        ] {
            assert_eq!(resource_type(arn).as_deref(), want, "{arn}");
        }
    }
}
