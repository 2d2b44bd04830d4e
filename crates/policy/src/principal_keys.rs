//! The global condition keys AWS derives from the principal — computed here, once, for both
//! the server's authorize step and `cairn policy simulate`, so the two cannot disagree
//! (IAM User Guide, "AWS global condition context keys": `aws:PrincipalArn`,
//! `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`, `aws:username`,
//! `aws:PrincipalIsAWSService`, `aws:PrincipalServiceName`).

use crate::eval::PrincipalType;

/// What the keys are computed from.
#[derive(Debug, Clone, Copy)]
pub struct PrincipalFacts<'a> {
    pub kind: PrincipalType,
    /// The principal's ARN as AWS reports it (an assumed role's session ARN); for a service
    /// principal, its name (`cloudtrail.amazonaws.com`).
    pub arn: &'a str,
    pub account: &'a str,
    /// The role of an assumed-role session: its `aws:PrincipalArn`.
    pub role_arn: Option<&'a str>,
    /// `aws:userid` when known (root: the account ID; user: `AIDA…`; role session:
    /// `AROA…:session`).
    pub user_id: Option<&'a str>,
}

/// The keys, in a fixed order. Unsigned (anonymous) requests carry none of them; a service
/// principal carries `aws:PrincipalIsAWSService = true` and `aws:PrincipalServiceName`;
/// every signed principal `aws:PrincipalIsAWSService = false`.
pub fn principal_keys(p: &PrincipalFacts<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::with_capacity(6);
    let principal_type = match p.kind {
        PrincipalType::Anonymous => return out,
        PrincipalType::Service => {
            out.push(("aws:PrincipalIsAWSService", String::from("true")));
            out.push(("aws:PrincipalServiceName", p.arn.to_owned()));
            return out;
        }
        PrincipalType::Root => "Account",
        PrincipalType::User => "User",
        PrincipalType::AssumedRole => "AssumedRole",
        PrincipalType::FederatedUser => "FederatedUser",
    };
    let principal_arn = match p.kind {
        PrincipalType::AssumedRole => p.role_arn.unwrap_or(p.arn),
        _ => p.arn,
    };
    out.push(("aws:PrincipalArn", principal_arn.to_owned()));
    if !p.account.is_empty() {
        out.push(("aws:PrincipalAccount", p.account.to_owned()));
    }
    out.push(("aws:PrincipalType", principal_type.to_owned()));
    out.push(("aws:PrincipalIsAWSService", String::from("false")));
    if let Some(id) = p.user_id.filter(|id| !id.is_empty()) {
        out.push(("aws:userid", id.to_owned()));
    }
    if p.kind == PrincipalType::User
        && let Some(name) = p.arn.rsplit('/').next().filter(|n| !n.is_empty())
    {
        out.push(("aws:username", name.to_owned()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(p: PrincipalFacts<'_>) -> Vec<(&'static str, String)> {
        principal_keys(&p)
    }

    #[test]
    fn each_principal_kind_gets_its_keys() {
        let user = keys(PrincipalFacts {
            kind: PrincipalType::User,
            arn: "arn:aws:iam::111122223333:user/division/alice",
            account: "111122223333",
            role_arn: None,
            user_id: Some("AIDAEXAMPLE"),
        });
        assert_eq!(
            user,
            vec![
                (
                    "aws:PrincipalArn",
                    "arn:aws:iam::111122223333:user/division/alice".into()
                ),
                ("aws:PrincipalAccount", "111122223333".into()),
                ("aws:PrincipalType", "User".into()),
                ("aws:PrincipalIsAWSService", "false".into()),
                ("aws:userid", "AIDAEXAMPLE".into()),
                ("aws:username", "alice".into()),
            ]
        );
        let role = keys(PrincipalFacts {
            kind: PrincipalType::AssumedRole,
            arn: "arn:aws:sts::111122223333:assumed-role/Admin/s",
            account: "111122223333",
            role_arn: Some("arn:aws:iam::111122223333:role/Admin"),
            user_id: None,
        });
        assert_eq!(role[0].1, "arn:aws:iam::111122223333:role/Admin");
        assert!(!role.iter().any(|(k, _)| *k == "aws:username"));
        let service = keys(PrincipalFacts {
            kind: PrincipalType::Service,
            arn: "cloudtrail.amazonaws.com",
            account: "",
            role_arn: None,
            user_id: None,
        });
        assert_eq!(
            service,
            vec![
                ("aws:PrincipalIsAWSService", "true".into()),
                (
                    "aws:PrincipalServiceName",
                    "cloudtrail.amazonaws.com".into()
                ),
            ]
        );
        let anonymous = keys(PrincipalFacts {
            kind: PrincipalType::Anonymous,
            arn: "",
            account: "",
            role_arn: None,
            user_id: None,
        });
        assert!(anonymous.is_empty());
    }
}
