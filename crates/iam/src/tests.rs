//! Storage logic of the IAM entities, against an in-memory store.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code: a failed expectation panics"
)]

use crate::authz::{self, EntityKind};
use crate::common::Ctx;
use crate::seal::Sealer;
use crate::{accounts, groups, keys, policies, roles, users};
use cairn_api::iam::types;
use cairn_core::{Failure, Principal, SeededIds};
use cairn_store::{Store, Tx};
use std::sync::Arc;

const ACCOUNT: &str = "111122223333";
const ALLOW_S3: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}"#;

fn ctx() -> Ctx {
    Ctx {
        account: ACCOUNT.to_owned(),
        principal: Principal::Root {
            account_id: ACCOUNT.to_owned(),
            access_key_id: String::from("AKIAROOT"),
            session: None,
        },
        now_ms: 1_700_000_000_000,
        ids: Arc::new(SeededIds::new(7)),
    }
}

/// Runs `f` in one write transaction; an AWS error is returned as (code, message).
fn run<R: Send + 'static>(
    store: &Store,
    f: impl FnMut(&mut dyn Tx) -> Result<R, Failure> + Send + 'static,
) -> Result<R, (String, String)> {
    store
        .write_blocking(f)
        .map_err(|Failure(e)| (e.code.to_string(), e.message))
}

fn code<R: std::fmt::Debug>(r: Result<R, (String, String)>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err((code, _)) => code,
    }
}

fn user_req(name: &str) -> types::CreateUserRequest {
    types::CreateUserRequest {
        user_name: name.to_owned(),
        ..Default::default()
    }
}

#[test]
fn renaming_a_user_carries_everything_along() {
    let store = Store::open_sqlite_memory().unwrap();
    let c = ctx();
    let sealer = Sealer::new(&[3u8; 32]);
    let (cc, s) = (c.clone(), sealer.clone());
    let akid = run(&store, move |tx| {
        users::create_user(tx, &cc, &user_req("Dana"))?;
        groups::create_group(
            tx,
            &cc,
            &types::CreateGroupRequest {
                group_name: String::from("ops"),
                path: None,
            },
        )?;
        groups::add_user_to_group(tx, &cc, "ops", "dana")?;
        policies::put_inline(tx, &cc, EntityKind::User, "Dana", "mine", ALLOW_S3)?;
        policies::put_inline(tx, &cc, EntityKind::Group, "ops", "ours", ALLOW_S3)?;
        policies::attach(
            tx,
            &cc,
            EntityKind::User,
            "Dana",
            "arn:aws:iam::aws:policy/ReadOnlyAccess",
        )?;
        let key = keys::create_access_key(tx, &cc, Some(&s), Some("Dana"))?;
        Ok(key.access_key.access_key_id)
    })
    .unwrap();

    let cc = c.clone();
    run(&store, move |tx| {
        users::update_user(
            tx,
            &cc,
            &types::UpdateUserRequest {
                user_name: String::from("dana"),
                new_user_name: Some(String::from("Erin")),
                new_path: Some(String::from("/x/")),
            },
        )
    })
    .unwrap();

    let s = sealer.clone();
    let (identity, principal, path, docs) = store
        .read_blocking(move |tx| -> Result<_, cairn_store::StoreError> {
            let identity = authz::user_identity(tx, ACCOUNT, "erin")?.unwrap();
            let principal = accounts::resolve_access_key(tx, &s, &akid)?.unwrap().1;
            let path = authz::entity_path(tx, ACCOUNT, EntityKind::User, "ERIN")?;
            let docs = authz::principal_policy_documents(
                tx,
                ACCOUNT,
                &format!("arn:aws:iam::{ACCOUNT}:user/x/Erin"),
            )?
            .unwrap();
            assert!(authz::user_identity(tx, ACCOUNT, "dana")?.is_none());
            Ok((identity, principal, path, docs))
        })
        .unwrap();
    // Own inline + attached AWS managed + the group's inline.
    assert_eq!(identity.policies.len(), 3);
    let ids: Vec<&str> = identity.policies.iter().map(|p| p.id()).collect();
    assert!(
        ids.contains(&"arn:aws:iam::aws:policy/ReadOnlyAccess"),
        "{ids:?}"
    );
    assert!(ids.contains(&""));
    assert_eq!(path.as_deref(), Some("/x/"));
    assert_eq!(
        principal.arn(),
        format!("arn:aws:iam::{ACCOUNT}:user/x/Erin")
    );
    let sources: Vec<&str> = docs.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(
        sources,
        ["mine", "arn:aws:iam::aws:policy/ReadOnlyAccess", "ours"]
    );

    // Deleting needs keys, policies and memberships gone, in that order.
    let cc = c.clone();
    assert_eq!(
        run(&store, move |tx| users::delete_user(tx, &cc, "erin")),
        Err((
            String::from("DeleteConflict"),
            String::from("Cannot delete entity, must delete access keys first.")
        ))
    );
}

#[test]
fn roles_created_inside_a_transaction_are_complete() {
    let store = Store::open_sqlite_memory().unwrap();
    let c = ctx();
    let cc = c.clone();
    let info = run(&store, move |tx| {
        authz::create_role_in(
            tx,
            cc.ids.as_ref(),
            cc.now_ms,
            ACCOUNT,
            "OrganizationAccountAccessRole",
            "/",
            TRUST,
            &["arn:aws:iam::aws:policy/AdministratorAccess"],
        )
    })
    .unwrap();
    assert_eq!(
        info.arn,
        format!("arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole")
    );
    assert!(info.role_id.starts_with("AROA") && info.role_id.len() == 21);
    assert_eq!(info.max_session_duration_s, 3600);
    assert_eq!(info.trust_policy.id(), info.arn);

    let cc = c.clone();
    let again = run(&store, move |tx| {
        authz::create_role_in(
            tx,
            cc.ids.as_ref(),
            cc.now_ms,
            ACCOUNT,
            "organizationaccountaccessrole",
            "/",
            TRUST,
            &[],
        )
    });
    assert_eq!(code(again), "EntityAlreadyExists");

    let (identity, role) = store
        .read_blocking(|tx| -> Result<_, cairn_store::StoreError> {
            Ok((
                authz::role_identity(tx, ACCOUNT, "OrganizationAccountAccessRole")?.unwrap(),
                authz::role_by_name(tx, ACCOUNT, "organizationaccountaccessrole")?.unwrap(),
            ))
        })
        .unwrap();
    assert_eq!(identity.policies.len(), 1);
    assert_eq!(
        identity.policies[0].id(),
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    assert_eq!(role.name, "OrganizationAccountAccessRole");

    // A role with a policy attached cannot be deleted.
    let cc = c.clone();
    assert_eq!(
        code(run(&store, move |tx| roles::delete_role(
            tx,
            &cc,
            "OrganizationAccountAccessRole"
        ))),
        "DeleteConflict"
    );
}

#[test]
fn managed_policy_versions_and_boundaries() {
    let store = Store::open_sqlite_memory().unwrap();
    let c = ctx();
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/Boundary");
    let (cc, a) = (c.clone(), arn.clone());
    run(&store, move |tx| {
        policies::create_policy(
            tx,
            &cc,
            &types::CreatePolicyRequest {
                policy_name: String::from("Boundary"),
                policy_document: ALLOW_S3.to_owned(),
                ..Default::default()
            },
        )?;
        let v2 = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#;
        policies::create_policy_version(
            tx,
            &cc,
            &types::CreatePolicyVersionRequest {
                policy_arn: a.clone(),
                policy_document: v2.to_owned(),
                set_as_default: Some(true),
            },
        )?;
        users::create_user(
            tx,
            &cc,
            &types::CreateUserRequest {
                user_name: String::from("bounded"),
                permissions_boundary: Some(a.clone()),
                ..Default::default()
            },
        )?;
        Ok(())
    })
    .unwrap();

    let a = arn.clone();
    let (managed, identity) = store
        .read_blocking(move |tx| -> Result<_, cairn_store::StoreError> {
            Ok((
                authz::managed_policy(tx, &a)?.unwrap(),
                authz::user_identity(tx, ACCOUNT, "bounded")?.unwrap(),
            ))
        })
        .unwrap();
    assert_eq!(managed.id(), arn);
    // The default version (v2) is the one in force.
    assert_eq!(managed.statements().len(), 1);
    assert!(identity.policies.is_empty());
    assert_eq!(
        identity.boundary.as_ref().map(|p| p.id()),
        Some(arn.as_str())
    );

    // A policy in use as a boundary cannot be deleted; nor the default version.
    let (cc, a) = (c.clone(), arn.clone());
    assert_eq!(
        code(run(&store, move |tx| policies::delete_policy(tx, &cc, &a))),
        "DeleteConflict"
    );
    let (cc, a) = (c.clone(), arn.clone());
    assert_eq!(
        code(run(&store, move |tx| policies::delete_policy_version(
            tx, &cc, &a, "v2"
        ))),
        "DeleteConflict"
    );
    // AWS managed policies are read-only.
    let cc = c.clone();
    assert_eq!(
        code(run(&store, move |tx| policies::delete_policy(
            tx,
            &cc,
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ))),
        "AccessDenied"
    );
    let cc = c.clone();
    run(&store, move |tx| {
        users::set_user_boundary(tx, &cc, "bounded", None)?;
        users::delete_user(tx, &cc, "bounded")
    })
    .unwrap();
    let (cc, a) = (c.clone(), arn.clone());
    assert_eq!(
        code(run(&store, move |tx| policies::delete_policy(tx, &cc, &a))),
        "DeleteConflict",
        "two versions remain"
    );
    let (cc, a) = (c.clone(), arn.clone());
    run(&store, move |tx| {
        policies::delete_policy_version(tx, &cc, &a, "v1")?;
        policies::delete_policy(tx, &cc, &a)
    })
    .unwrap();
}

#[test]
fn inline_quotas_count_non_whitespace_characters() {
    let store = Store::open_sqlite_memory().unwrap();
    let c = ctx();
    let cc = c.clone();
    run(&store, move |tx| {
        users::create_user(tx, &cc, &user_req("q"))?;
        Ok(())
    })
    .unwrap();
    // Whitespace does not count: a padded small document fits.
    let padded = format!("{}{ALLOW_S3}", " ".repeat(5_000));
    let cc = c.clone();
    run(&store, move |tx| {
        policies::put_inline(tx, &cc, EntityKind::User, "q", "padded", &padded)
    })
    .unwrap();
    let actions: Vec<String> = (0..200).map(|i| format!("\"s3:Get{i:05}\"")).collect();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":[{}],"Resource":"*"}}}}"#,
        actions.join(",")
    );
    let cc = c.clone();
    let err = run(&store, move |tx| {
        policies::put_inline(tx, &cc, EntityKind::User, "q", "big", &big)
    });
    assert_eq!(
        err,
        Err((
            String::from("LimitExceeded"),
            String::from("Maximum policy size of 2048 bytes exceeded for user q")
        ))
    );
}

#[test]
fn managed_policies_need_the_current_version_inline_ones_do_not() {
    let store = Store::open_sqlite_memory().unwrap();
    let c = ctx();
    let old = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
    let cc = c.clone();
    let refused = run(&store, move |tx| {
        policies::create_policy(
            tx,
            &cc,
            &types::CreatePolicyRequest {
                policy_name: String::from("Old"),
                policy_document: old.to_owned(),
                ..Default::default()
            },
        )
    });
    assert_eq!(
        refused.unwrap_err(),
        (
            "MalformedPolicyDocument".to_owned(),
            "Policy document must be version 2012-10-17 or greater.".to_owned()
        )
    );
    let cc = c.clone();
    run(&store, move |tx| {
        users::create_user(tx, &cc, &user_req("Olga"))?;
        policies::put_inline(tx, &cc, EntityKind::User, "Olga", "old", old)
    })
    .unwrap();
}

/// A used SAML assertion is refused until it expires; expired ones are forgotten.
#[test]
fn saml_assertions_are_spent_once_and_forgotten_after_expiry() {
    let store = Store::open_sqlite_memory().unwrap();
    let assertion = |id: &str, until: i64| crate::saml::Assertion {
        id: id.to_owned(),
        issuer: "https://idp.example.com/saml".to_owned(),
        subject: "alice".to_owned(),
        subject_format: String::new(),
        recipient: String::new(),
        not_on_or_after_ms: until,
        session_not_on_or_after_ms: None,
        attributes: Default::default(),
    };
    let first = assertion("_a", 1_000_000);
    let a = first.clone();
    run(&store, move |tx| crate::saml::remember(tx, &a, 900_000)).unwrap();
    let a = first.clone();
    let (code, message) =
        run(&store, move |tx| crate::saml::remember(tx, &a, 950_000)).unwrap_err();
    assert_eq!(code, "InvalidIdentityToken");
    assert_eq!(message, "The SAML assertion has already been used");
    // Another assertion, long after the first expired: the first is purged.
    let second = assertion("_b", 5_000_000);
    run(&store, move |tx| {
        crate::saml::remember(tx, &second, 4_000_000)
    })
    .unwrap();
    let left = run(&store, |tx| {
        Ok(tx
            .scan_prefix(crate::saml::USED, b"", false, usize::MAX)?
            .into_iter()
            .map(|(k, _)| String::from_utf8(k).unwrap())
            .collect::<Vec<_>>())
    })
    .unwrap();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|k| k.ends_with("/_b")), "{left:?}");
}
