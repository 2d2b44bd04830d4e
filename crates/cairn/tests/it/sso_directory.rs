//! The identity store (`identitystore`) through the Rust SDK: users, groups, memberships,
//! lookups, updates, pagination and AWS's errors, on the organization instance.

use crate::common::{err_info, ok};
use crate::fixture::Fixture;
use crate::sso_instances::enable_sso;
use aws_sdk_identitystore::Client;
use aws_sdk_identitystore::error::ProvideErrorMetadata;
use aws_sdk_identitystore::operation::RequestId;
use aws_sdk_identitystore::types::{
    AlternateIdentifier, AttributeOperation, Email, Filter, MemberId, Name, UniqueAttribute,
};
use aws_smithy_types::Document;

const MGMT: &str = "222222222222";

async fn directory(tag: &str) -> (Fixture, Client, String) {
    let (f, _org) = Fixture::with_org(tag, MGMT).await;
    let (_arn, store) = enable_sso(&f.server).await;
    let client = f.server.identitystore_as(&f.server.root());
    (f, client, store)
}

fn name(given: &str, family: &str) -> Name {
    Name::builder()
        .given_name(given)
        .family_name(family)
        .build()
}

async fn create_user(c: &Client, store: &str, user: &str) -> String {
    let out = ok(
        "CreateUser",
        c.create_user()
            .identity_store_id(store)
            .user_name(user)
            .display_name(format!("{user} display"))
            .name(name("Given", "Family"))
            .emails(
                Email::builder()
                    .value(format!("{user}@example.com"))
                    .r#type("work")
                    .primary(true)
                    .build(),
            )
            .send()
            .await,
    );
    out.user_id().to_owned()
}

async fn create_group(c: &Client, store: &str, group: &str) -> String {
    let out = ok(
        "CreateGroup",
        c.create_group()
            .identity_store_id(store)
            .display_name(group)
            .description("a group")
            .send()
            .await,
    );
    out.group_id().to_owned()
}

fn doc(s: &str) -> Document {
    Document::String(s.to_owned())
}

#[tokio::test]
async fn a_user_is_created_described_and_deleted() {
    let (_f, c, store) = directory("ids-user").await;
    let out = ok(
        "CreateUser",
        c.create_user()
            .identity_store_id(&store)
            .user_name("alice")
            .display_name("Alice Liddell")
            .name(name("Alice", "Liddell"))
            .emails(
                Email::builder()
                    .value("alice@example.com")
                    .r#type("work")
                    .primary(true)
                    .build(),
            )
            .title("Engineer")
            .send()
            .await,
    );
    let id = out.user_id().to_owned();
    let hex = store.strip_prefix("d-").unwrap();
    assert!(id.starts_with(&format!("{hex}-")), "{id}");
    assert_eq!(id.len(), 47, "{id}");
    assert_eq!(out.user_arn(), format!("arn:aws:identitystore:::user/{id}"));
    assert_eq!(out.revision(), "1");

    let d = ok(
        "DescribeUser",
        c.describe_user()
            .identity_store_id(&store)
            .user_id(&id)
            .send()
            .await,
    );
    assert_eq!(d.user_name(), Some("alice"));
    assert_eq!(d.display_name(), Some("Alice Liddell"));
    assert_eq!(d.name().and_then(|n| n.given_name()), Some("Alice"));
    assert_eq!(d.emails()[0].value(), Some("alice@example.com"));
    assert!(d.emails()[0].primary());
    assert_eq!(d.title(), Some("Engineer"));
    assert_eq!(d.identity_store_id(), store);
    assert!(d.created_at().is_some() && d.updated_at().is_some());
    assert_eq!(
        d.created_by(),
        Some(format!("arn:aws:iam::{MGMT}:root").as_str())
    );

    ok(
        "DeleteUser",
        c.delete_user()
            .identity_store_id(&store)
            .user_id(&id)
            .send()
            .await,
    );
    let err = c
        .describe_user()
        .identity_store_id(&store)
        .user_id(&id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    match err {
        aws_sdk_identitystore::operation::describe_user::DescribeUserError::ResourceNotFoundException(e) => {
            assert_eq!(e.resource_type().map(|t| t.as_str()), Some("USER"));
            assert_eq!(e.resource_id(), Some(id.as_str()));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn user_names_are_unique_whatever_the_case_and_required_attributes_are_checked() {
    let (_f, c, store) = directory("ids-unique").await;
    create_user(&c, &store, "bob").await;
    let err = c
        .create_user()
        .identity_store_id(&store)
        .user_name("BOB")
        .display_name("Bob again")
        .name(name("Bob", "Again"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("ConflictException"));
    match err {
        aws_sdk_identitystore::operation::create_user::CreateUserError::ConflictException(e) => {
            assert_eq!(
                e.reason().map(|r| r.as_str()),
                Some("UNIQUENESS_CONSTRAINT_VIOLATION")
            );
        }
        other => panic!("{other:?}"),
    }
    let e = err_info(
        c.create_user()
            .identity_store_id(&store)
            .user_name("carol")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    assert!(e.message.contains("displayname"), "{}", e.message);
    let e = err_info(
        c.create_user()
            .identity_store_id(&store)
            .user_name("Administrator")
            .display_name("x")
            .name(name("x", "y"))
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException", "{e:?}");
    // The model's constraints: a user name with a space.
    let e = err_info(
        c.create_user()
            .identity_store_id(&store)
            .user_name("has space")
            .display_name("x")
            .name(name("x", "y"))
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException", "{e:?}");
}

#[tokio::test]
async fn an_unknown_identity_store_is_not_found() {
    let (_f, c, _store) = directory("ids-unknown").await;
    let err = c
        .list_users()
        .identity_store_id("d-0123456789")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        err.message(),
        Some("IdentityStore not present for IdentityStoreId: d-0123456789")
    );
    match err {
        aws_sdk_identitystore::operation::list_users::ListUsersError::ResourceNotFoundException(
            e,
        ) => {
            assert_eq!(
                e.resource_type().map(|t| t.as_str()),
                Some("IDENTITY_STORE")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
#[allow(
    deprecated,
    reason = "the deprecated Filters are still served, as AWS serves them"
)]
async fn users_are_found_by_unique_attribute_and_listed_in_pages() {
    let (_f, c, store) = directory("ids-lookup").await;
    let mut ids = Vec::new();
    for u in ["u1", "u2", "u3", "u4", "u5"] {
        ids.push(create_user(&c, &store, u).await);
    }
    let by_name = ok(
        "GetUserId",
        c.get_user_id()
            .identity_store_id(&store)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(
                UniqueAttribute::builder()
                    .attribute_path("userName")
                    .attribute_value(doc("U3"))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await,
    );
    assert_eq!(by_name.user_id(), ids[2]);
    let by_email = ok(
        "GetUserId",
        c.get_user_id()
            .identity_store_id(&store)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(
                UniqueAttribute::builder()
                    .attribute_path("emails.value")
                    .attribute_value(doc("u4@example.com"))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await,
    );
    assert_eq!(by_email.user_id(), ids[3]);
    let e = err_info(
        c.get_user_id()
            .identity_store_id(&store)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(
                UniqueAttribute::builder()
                    .attribute_path("title")
                    .attribute_value(doc("x"))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    let e = err_info(
        c.get_user_id()
            .identity_store_id(&store)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(
                UniqueAttribute::builder()
                    .attribute_path("userName")
                    .attribute_value(doc("nobody"))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    // Pages of two.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = ok(
            "ListUsers",
            c.list_users()
                .identity_store_id(&store)
                .max_results(2)
                .set_next_token(token.clone())
                .send()
                .await,
        );
        pages += 1;
        seen.extend(page.users().iter().map(|u| u.user_id().to_owned()));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(seen, all);
    // The SDK's paginator reads them all too.
    let all_pages: Vec<_> = c
        .list_users()
        .identity_store_id(&store)
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(all_pages.len(), 5);

    // The deprecated filter.
    let filtered = ok(
        "ListUsers (filter)",
        c.list_users()
            .identity_store_id(&store)
            .filters(
                Filter::builder()
                    .attribute_path("UserName")
                    .attribute_value("u2")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(filtered.users().len(), 1);
    assert_eq!(filtered.users()[0].user_id(), ids[1]);

    let e = err_info(
        c.list_users()
            .identity_store_id(&store)
            .next_token("garbage")
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
}

#[tokio::test]
async fn update_user_sets_and_removes_attributes_and_checks_the_revision() {
    let (_f, c, store) = directory("ids-update").await;
    let id = create_user(&c, &store, "dave").await;
    let out = ok(
        "UpdateUser",
        c.update_user()
            .identity_store_id(&store)
            .user_id(&id)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("displayName")
                    .attribute_value(doc("David"))
                    .build()
                    .unwrap(),
            )
            .operations(
                AttributeOperation::builder()
                    .attribute_path("name.givenName")
                    .attribute_value(doc("Dave"))
                    .build()
                    .unwrap(),
            )
            .operations(
                AttributeOperation::builder()
                    .attribute_path("nickName")
                    .attribute_value(doc("D"))
                    .build()
                    .unwrap(),
            )
            .operations(
                AttributeOperation::builder()
                    .attribute_path("emails")
                    .attribute_value(Document::Array(vec![Document::Object(
                        [
                            ("value".to_owned(), doc("dave@new.example.com")),
                            ("type".to_owned(), doc("home")),
                            ("primary".to_owned(), Document::Bool(true)),
                        ]
                        .into_iter()
                        .collect(),
                    )]))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(out.revision(), "2");
    let d = ok(
        "DescribeUser",
        c.describe_user()
            .identity_store_id(&store)
            .user_id(&id)
            .send()
            .await,
    );
    assert_eq!(d.display_name(), Some("David"));
    assert_eq!(d.name().and_then(|n| n.given_name()), Some("Dave"));
    assert_eq!(d.name().and_then(|n| n.family_name()), Some("Family"));
    assert_eq!(d.nick_name(), Some("D"));
    assert_eq!(d.emails()[0].value(), Some("dave@new.example.com"));
    assert_eq!(d.revision(), "2");

    // Removing with a null value.
    ok(
        "UpdateUser (remove)",
        c.update_user()
            .identity_store_id(&store)
            .user_id(&id)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("nickName")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    let d = ok(
        "DescribeUser",
        c.describe_user()
            .identity_store_id(&store)
            .user_id(&id)
            .send()
            .await,
    );
    assert_eq!(d.nick_name(), None);

    // A stale revision.
    let err = c
        .update_user()
        .identity_store_id(&store)
        .user_id(&id)
        .revision("1")
        .operations(
            AttributeOperation::builder()
                .attribute_path("title")
                .attribute_value(doc("x"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    match err {
        aws_sdk_identitystore::operation::update_user::UpdateUserError::ConflictException(e) => {
            assert_eq!(
                e.reason().map(|r| r.as_str()),
                Some("CONCURRENT_MODIFICATION")
            );
        }
        other => panic!("{other:?}"),
    }
    // An unknown attribute path, and a value the model refuses.
    let e = err_info(
        c.update_user()
            .identity_store_id(&store)
            .user_id(&id)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("shoeSize")
                    .attribute_value(doc("9"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    let e = err_info(
        c.update_user()
            .identity_store_id(&store)
            .user_id(&id)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("title")
                    .attribute_value(doc(""))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    // Renaming onto another user's name.
    create_user(&c, &store, "erin").await;
    let e = err_info(
        c.update_user()
            .identity_store_id(&store)
            .user_id(&id)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("userName")
                    .attribute_value(doc("Erin"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
}

#[tokio::test]
#[allow(
    deprecated,
    reason = "the deprecated Filters are still served, as AWS serves them"
)]
async fn groups_are_created_found_updated_and_unique_by_display_name() {
    let (_f, c, store) = directory("ids-groups").await;
    let gid = create_group(&c, &store, "Engineers").await;
    let e = err_info(
        c.create_group()
            .identity_store_id(&store)
            .display_name("engineers")
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    let found = ok(
        "GetGroupId",
        c.get_group_id()
            .identity_store_id(&store)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(
                UniqueAttribute::builder()
                    .attribute_path("displayName")
                    .attribute_value(doc("Engineers"))
                    .build()
                    .unwrap(),
            ))
            .send()
            .await,
    );
    assert_eq!(found.group_id(), gid);
    assert_eq!(
        found.group_arn(),
        format!("arn:aws:identitystore:::group/{gid}")
    );
    let up = ok(
        "UpdateGroup",
        c.update_group()
            .identity_store_id(&store)
            .group_id(&gid)
            .operations(
                AttributeOperation::builder()
                    .attribute_path("description")
                    .attribute_value(doc("builders"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(up.revision(), "2");
    let d = ok(
        "DescribeGroup",
        c.describe_group()
            .identity_store_id(&store)
            .group_id(&gid)
            .send()
            .await,
    );
    assert_eq!(d.description(), Some("builders"));
    assert_eq!(d.display_name(), Some("Engineers"));
    let listed = ok(
        "ListGroups",
        c.list_groups()
            .identity_store_id(&store)
            .filters(
                Filter::builder()
                    .attribute_path("DisplayName")
                    .attribute_value("Engineers")
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
    );
    assert_eq!(listed.groups().len(), 1);
    ok(
        "DeleteGroup",
        c.delete_group()
            .identity_store_id(&store)
            .group_id(&gid)
            .send()
            .await,
    );
    let e = err_info(
        c.describe_group()
            .identity_store_id(&store)
            .group_id(&gid)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    // The name is free again.
    create_group(&c, &store, "Engineers").await;
}

#[tokio::test]
async fn memberships_are_listed_both_ways_and_go_with_their_user() {
    let (f, c, store) = directory("ids-members").await;
    let u1 = create_user(&c, &store, "m1").await;
    let u2 = create_user(&c, &store, "m2").await;
    let g1 = create_group(&c, &store, "G1").await;
    let g2 = create_group(&c, &store, "G2").await;
    let member = |u: &str| MemberId::UserId(u.to_owned());
    let m = ok(
        "CreateGroupMembership",
        c.create_group_membership()
            .identity_store_id(&store)
            .group_id(&g1)
            .member_id(member(&u1))
            .send()
            .await,
    );
    let mid = m.membership_id().to_owned();
    assert_eq!(
        m.membership_arn(),
        format!("arn:aws:identitystore:::membership/{mid}")
    );
    let e = err_info(
        c.create_group_membership()
            .identity_store_id(&store)
            .group_id(&g1)
            .member_id(member(&u1))
            .send()
            .await,
    );
    assert_eq!(e.code, "ConflictException");
    for (g, u) in [(&g2, &u1), (&g1, &u2)] {
        ok(
            "CreateGroupMembership",
            c.create_group_membership()
                .identity_store_id(&store)
                .group_id(g)
                .member_id(member(u))
                .send()
                .await,
        );
    }
    let got = ok(
        "GetGroupMembershipId",
        c.get_group_membership_id()
            .identity_store_id(&store)
            .group_id(&g1)
            .member_id(member(&u1))
            .send()
            .await,
    );
    assert_eq!(got.membership_id(), mid);
    let d = ok(
        "DescribeGroupMembership",
        c.describe_group_membership()
            .identity_store_id(&store)
            .membership_id(&mid)
            .send()
            .await,
    );
    assert_eq!(d.group_id(), g1);
    let is = ok(
        "IsMemberInGroups",
        c.is_member_in_groups()
            .identity_store_id(&store)
            .member_id(member(&u2))
            .group_ids(&g1)
            .group_ids(&g2)
            .send()
            .await,
    );
    let flags: Vec<bool> = is.results().iter().map(|r| r.membership_exists()).collect();
    assert_eq!(flags, [true, false]);
    // A query without side effects: recorded with `readOnly: true`, like the Describe calls.
    {
        let rid = is.request_id().expect("request id").to_owned();
        let records = crate::common::await_records(
            &f.server.cloudtrail(),
            Some(crate::common::attr(
                aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
                "IsMemberInGroups",
            )),
            &[&rid],
        )
        .await;
        assert_eq!(records[&rid]["readOnly"], serde_json::json!(true));
    }
    let of_g1 = ok(
        "ListGroupMemberships",
        c.list_group_memberships()
            .identity_store_id(&store)
            .group_id(&g1)
            .send()
            .await,
    );
    assert_eq!(of_g1.group_memberships().len(), 2);
    let of_u1 = ok(
        "ListGroupMembershipsForMember",
        c.list_group_memberships_for_member()
            .identity_store_id(&store)
            .member_id(member(&u1))
            .send()
            .await,
    );
    assert_eq!(of_u1.group_memberships().len(), 2);
    let e = err_info(
        c.create_group_membership()
            .identity_store_id(&store)
            .group_id(&g2)
            .member_id(member(&format!(
                "{}-00000000-0000-4000-8000-000000000000",
                &store[2..]
            )))
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    // Deleting u1 removes its memberships.
    ok(
        "DeleteUser",
        c.delete_user()
            .identity_store_id(&store)
            .user_id(&u1)
            .send()
            .await,
    );
    let of_g1 = ok(
        "ListGroupMemberships",
        c.list_group_memberships()
            .identity_store_id(&store)
            .group_id(&g1)
            .send()
            .await,
    );
    assert_eq!(of_g1.group_memberships().len(), 1);
    let e = err_info(
        c.describe_group_membership()
            .identity_store_id(&store)
            .membership_id(&mid)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    // And a membership is deleted by its ID.
    let m2 = ok(
        "GetGroupMembershipId",
        c.get_group_membership_id()
            .identity_store_id(&store)
            .group_id(&g1)
            .member_id(member(&u2))
            .send()
            .await,
    );
    ok(
        "DeleteGroupMembership",
        c.delete_group_membership()
            .identity_store_id(&store)
            .membership_id(m2.membership_id())
            .send()
            .await,
    );
    let is = ok(
        "IsMemberInGroups",
        c.is_member_in_groups()
            .identity_store_id(&store)
            .member_id(member(&u2))
            .group_ids(&g1)
            .send()
            .await,
    );
    assert!(!is.results()[0].membership_exists());
}

#[tokio::test]
async fn identity_stores_are_described_listed_and_recorded_in_cloudtrail() {
    let (f, c, store) = directory("ids-stores").await;
    let d = ok(
        "DescribeIdentityStore",
        c.describe_identity_store()
            .identity_store_id(&store)
            .send()
            .await,
    );
    assert_eq!(
        d.identity_store_arn(),
        format!("arn:aws:identitystore::{MGMT}:identitystore/{store}")
    );
    let l = ok("ListIdentityStores", c.list_identity_stores().send().await);
    assert_eq!(l.identity_stores().len(), 1);
    assert_eq!(l.identity_stores()[0].identity_store_id(), store);
    // The store's ARN is accepted where its ID is.
    create_user(&c, d.identity_store_arn(), "arnuser").await;

    let events = crate::common::lookup_all(
        &f.server.cloudtrail(),
        Some(crate::common::attr(
            aws_sdk_cloudtrail::types::LookupAttributeKey::EventName,
            "CreateUser",
        )),
    )
    .await;
    let ours: Vec<_> = events
        .iter()
        .filter(|e| e.event_source() == Some("identitystore.amazonaws.com"))
        .collect();
    assert_eq!(ours.len(), 1, "{events:?}");
}
