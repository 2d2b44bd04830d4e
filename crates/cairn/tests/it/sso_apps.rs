//! IAM Identity Center applications through the Rust SDK: providers, the application's
//! lifecycle and tags, assignments (and their removal with the user), the assignment
//! configuration, access scopes, authentication methods, grants and the session setting.

use crate::common::{err_info, ok};
use crate::fixture::Fixture;
use crate::sso_instances::enable_sso;
use aws_sdk_ssoadmin::types::{
    ApplicationStatus, AuthenticationMethod, AuthenticationMethodType, AuthorizationCodeGrant,
    Grant, GrantType, IamAuthenticationMethod, PrincipalType, RefreshTokenGrant, Tag,
};

const MGMT: &str = "111111111111";
const CUSTOM: &str = "arn:aws:sso::aws:applicationProvider/custom";

#[tokio::test]
async fn an_application_and_what_hangs_off_it() {
    let (f, _org) = Fixture::with_org("sso-apps", MGMT).await;
    let (inst, store) = enable_sso(&f.server).await;
    let admin = f.server.sso_admin_as(&f.server.root());

    let providers = ok(
        "ListApplicationProviders",
        admin.list_application_providers().send().await,
    );
    assert!(
        providers
            .application_providers()
            .iter()
            .any(|p| p.application_provider_arn() == CUSTOM)
    );
    let p = ok(
        "DescribeApplicationProvider",
        admin
            .describe_application_provider()
            .application_provider_arn(CUSTOM)
            .send()
            .await,
    );
    assert!(p.federation_protocol().is_some());
    let e = err_info(
        admin
            .create_application()
            .instance_arn(&inst)
            .application_provider_arn("arn:aws:sso::aws:applicationProvider/nope")
            .name("x")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    let created = ok(
        "CreateApplication",
        admin
            .create_application()
            .instance_arn(&inst)
            .application_provider_arn(CUSTOM)
            .name("wiki")
            .description("The team wiki")
            .tags(Tag::builder().key("team").value("docs").build().unwrap())
            .send()
            .await,
    );
    let app = created.application_arn().unwrap().to_owned();
    let prefix = format!(
        "arn:aws:sso::{MGMT}:application/{}/apl-",
        inst.rsplit('/').next().unwrap()
    );
    assert!(
        app.starts_with(&prefix) && app.len() == prefix.len() + 16,
        "{app}"
    );
    let d = ok(
        "DescribeApplication",
        admin
            .describe_application()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(d.name(), Some("wiki"));
    assert_eq!(d.status(), Some(&ApplicationStatus::Enabled));
    assert_eq!(d.application_account(), Some(MGMT));
    ok(
        "UpdateApplication",
        admin
            .update_application()
            .application_arn(&app)
            .status(ApplicationStatus::Disabled)
            .send()
            .await,
    );
    let list = ok(
        "ListApplications",
        admin.list_applications().instance_arn(&inst).send().await,
    );
    assert_eq!(list.applications().len(), 1);
    assert_eq!(
        list.applications()[0].status(),
        Some(&ApplicationStatus::Disabled)
    );
    let tags = ok(
        "ListTagsForResource",
        admin
            .list_tags_for_resource()
            .instance_arn(&inst)
            .resource_arn(&app)
            .send()
            .await,
    );
    assert_eq!(tags.tags()[0].key(), "team");

    // Assignments.
    let ids = f.server.identitystore_as(&f.server.root());
    let user = ok(
        "CreateUser",
        ids.create_user()
            .identity_store_id(&store)
            .user_name("hana")
            .display_name("Hana")
            .name(
                aws_sdk_identitystore::types::Name::builder()
                    .given_name("Hana")
                    .family_name("Tester")
                    .build(),
            )
            .send()
            .await,
    )
    .user_id()
    .to_owned();
    let assign = || {
        admin
            .create_application_assignment()
            .application_arn(&app)
            .principal_type(PrincipalType::User)
            .principal_id(&user)
            .send()
    };
    ok("CreateApplicationAssignment", assign().await);
    let listed = ok(
        "ListApplicationAssignments",
        admin
            .list_application_assignments()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(listed.application_assignments().len(), 1);
    let mine = ok(
        "ListApplicationAssignmentsForPrincipal",
        admin
            .list_application_assignments_for_principal()
            .instance_arn(&inst)
            .principal_type(PrincipalType::User)
            .principal_id(&user)
            .send()
            .await,
    );
    assert_eq!(
        mine.application_assignments()[0].application_arn(),
        Some(app.as_str())
    );
    ok(
        "DescribeApplicationAssignment",
        admin
            .describe_application_assignment()
            .application_arn(&app)
            .principal_type(PrincipalType::User)
            .principal_id(&user)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .create_application_assignment()
            .application_arn(&app)
            .principal_type(PrincipalType::Group)
            .principal_id("0123456789-00000000-0000-4000-8000-000000000000")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
    let config = ok(
        "GetApplicationAssignmentConfiguration",
        admin
            .get_application_assignment_configuration()
            .application_arn(&app)
            .send()
            .await,
    );
    assert!(config.assignment_required());
    ok(
        "PutApplicationAssignmentConfiguration",
        admin
            .put_application_assignment_configuration()
            .application_arn(&app)
            .assignment_required(false)
            .send()
            .await,
    );

    // Access scopes, authentication methods, grants, the session setting.
    ok(
        "PutApplicationAccessScope",
        admin
            .put_application_access_scope()
            .application_arn(&app)
            .scope("sso:account:access")
            .send()
            .await,
    );
    let scopes = ok(
        "ListApplicationAccessScopes",
        admin
            .list_application_access_scopes()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(scopes.scopes()[0].scope(), "sso:account:access");
    ok(
        "GetApplicationAccessScope",
        admin
            .get_application_access_scope()
            .application_arn(&app)
            .scope("sso:account:access")
            .send()
            .await,
    );
    ok(
        "DeleteApplicationAccessScope",
        admin
            .delete_application_access_scope()
            .application_arn(&app)
            .scope("sso:account:access")
            .send()
            .await,
    );
    let e = err_info(
        admin
            .get_application_access_scope()
            .application_arn(&app)
            .scope("sso:account:access")
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");

    let policy = aws_smithy_types::Document::Object(
        [(
            "Version".to_owned(),
            aws_smithy_types::Document::String("2012-10-17".to_owned()),
        )]
        .into_iter()
        .collect(),
    );
    ok(
        "PutApplicationAuthenticationMethod",
        admin
            .put_application_authentication_method()
            .application_arn(&app)
            .authentication_method_type(AuthenticationMethodType::Iam)
            .authentication_method(AuthenticationMethod::Iam(
                IamAuthenticationMethod::builder()
                    .actor_policy(policy)
                    .build()
                    .unwrap(),
            ))
            .send()
            .await,
    );
    let methods = ok(
        "ListApplicationAuthenticationMethods",
        admin
            .list_application_authentication_methods()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(methods.authentication_methods().len(), 1);
    ok(
        "GetApplicationAuthenticationMethod",
        admin
            .get_application_authentication_method()
            .application_arn(&app)
            .authentication_method_type(AuthenticationMethodType::Iam)
            .send()
            .await,
    );
    ok(
        "DeleteApplicationAuthenticationMethod",
        admin
            .delete_application_authentication_method()
            .application_arn(&app)
            .authentication_method_type(AuthenticationMethodType::Iam)
            .send()
            .await,
    );

    ok(
        "PutApplicationGrant",
        admin
            .put_application_grant()
            .application_arn(&app)
            .grant_type(GrantType::AuthorizationCode)
            .grant(Grant::AuthorizationCode(
                AuthorizationCodeGrant::builder()
                    .redirect_uris("https://wiki.example.com/callback")
                    .build(),
            ))
            .send()
            .await,
    );
    let e = err_info(
        admin
            .put_application_grant()
            .application_arn(&app)
            .grant_type(GrantType::AuthorizationCode)
            .grant(Grant::RefreshToken(RefreshTokenGrant::builder().build()))
            .send()
            .await,
    );
    assert_eq!(e.code, "ValidationException");
    let grants = ok(
        "ListApplicationGrants",
        admin
            .list_application_grants()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(grants.grants().len(), 1);
    ok(
        "GetApplicationGrant",
        admin
            .get_application_grant()
            .application_arn(&app)
            .grant_type(GrantType::AuthorizationCode)
            .send()
            .await,
    );
    ok(
        "DeleteApplicationGrant",
        admin
            .delete_application_grant()
            .application_arn(&app)
            .grant_type(GrantType::AuthorizationCode)
            .send()
            .await,
    );
    ok(
        "PutApplicationSessionConfiguration",
        admin
            .put_application_session_configuration()
            .application_arn(&app)
            .user_background_session_application_status(
                aws_sdk_ssoadmin::types::UserBackgroundSessionApplicationStatus::Enabled,
            )
            .send()
            .await,
    );
    let s = ok(
        "GetApplicationSessionConfiguration",
        admin
            .get_application_session_configuration()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(
        s.user_background_session_application_status(),
        Some(&aws_sdk_ssoadmin::types::UserBackgroundSessionApplicationStatus::Enabled)
    );

    // Deleting the user removes its assignment.
    ok(
        "DeleteUser",
        ids.delete_user()
            .identity_store_id(&store)
            .user_id(&user)
            .send()
            .await,
    );
    let listed = ok(
        "ListApplicationAssignments",
        admin
            .list_application_assignments()
            .application_arn(&app)
            .send()
            .await,
    );
    assert!(listed.application_assignments().is_empty());

    ok(
        "DeleteApplication",
        admin
            .delete_application()
            .application_arn(&app)
            .send()
            .await,
    );
    let e = err_info(
        admin
            .describe_application()
            .application_arn(&app)
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException");
}
