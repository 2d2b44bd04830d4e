//! The CloudTrail trail API with `aws-sdk-cloudtrail`: the trail lifecycle, AWS's naming
//! rules, errors and messages, logging state, event and insight selectors, tags,
//! multi-region (shadow) trails and organization trails.
//!
//! One test per behaviour, each on its own server ([`Fixture`]).

use crate::common::{err_info, ok};
use crate::fixture::Fixture;
use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, InsightSelector, InsightType,
    ReadWriteType, Tag,
};

const ACCOUNT: &str = "123456789012";

fn trail_arn(region: &str, name: &str) -> String {
    format!("arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{name}")
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn create(ct: &aws_sdk_cloudtrail::Client, name: &str) {
    ok(
        "CreateTrail",
        ct.create_trail()
            .name(name)
            .s3_bucket_name("audit-logs")
            .send()
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_trail_has_aws_defaults_and_its_arn() {
    let f = Fixture::new("trail-create", ACCOUNT);
    let ct = f.server.cloudtrail();
    let out = ok(
        "CreateTrail",
        ct.create_trail()
            .name("main")
            .s3_bucket_name("audit-logs")
            .s3_key_prefix("org")
            .send()
            .await,
    );
    assert_eq!(out.name(), Some("main"));
    assert_eq!(
        out.trail_arn(),
        Some(trail_arn("us-east-1", "main").as_str())
    );
    assert_eq!(out.s3_bucket_name(), Some("audit-logs"));
    assert_eq!(out.s3_key_prefix(), Some("org"));
    assert_eq!(out.include_global_service_events(), Some(true));
    assert_eq!(out.is_multi_region_trail(), Some(false));
    assert_eq!(out.is_organization_trail(), Some(false));
    assert_eq!(out.log_file_validation_enabled(), Some(false));
    assert!(out.sns_topic_arn().is_none());
    let got = ok("GetTrail", ct.get_trail().name("main").send().await);
    let t = got.trail().unwrap();
    assert_eq!(t.home_region(), Some("us-east-1"));
    assert_eq!(t.has_custom_event_selectors(), Some(false));
    assert_eq!(t.has_insight_selectors(), Some(false));
    // By ARN as well.
    let by_arn = ok(
        "GetTrail by ARN",
        ct.get_trail()
            .name(trail_arn("us-east-1", "main"))
            .send()
            .await,
    );
    assert_eq!(by_arn.trail().unwrap().name(), Some("main"));
    let listed = ok("ListTrails", ct.list_trails().send().await);
    assert_eq!(listed.trails().len(), 1);
    assert_eq!(listed.trails()[0].home_region(), Some("us-east-1"));
    let described = ok("DescribeTrails", ct.describe_trails().send().await);
    assert_eq!(described.trail_list().len(), 1);
    assert_eq!(described.trail_list()[0].s3_key_prefix(), Some("org"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_names_follow_aws_rules() {
    let f = Fixture::new("trail-names", ACCOUNT);
    let ct = f.server.cloudtrail();
    for (name, message) in [
        (
            "ab",
            "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters.",
        ),
        ("-abc", "Trail name must starts with a letter or number."),
        ("abc-", "Trail name must ends with a letter or number."),
        (
            "a b c",
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
        ),
    ] {
        let e = err_info(
            ct.create_trail()
                .name(name)
                .s3_bucket_name("audit-logs")
                .send()
                .await,
        );
        assert_eq!(e.code, "InvalidTrailNameException", "{name}: {e:?}");
        assert_eq!(e.message, message, "{name}");
        assert_eq!(e.status, 400);
    }
    let long = "a".repeat(129);
    let e = err_info(ct.get_trail().name(&long).send().await);
    assert_eq!(e.code, "InvalidTrailNameException", "{e:?}");
    assert!(e.message.starts_with("Trail name too long."), "{e:?}");
    let e = err_info(ct.get_trail().name("arn:aws:cloudtrail:x").send().await);
    assert_eq!(e.code, "CloudTrailARNInvalidException", "{e:?}");
    let e = err_info(
        ct.create_trail()
            .name("good")
            .s3_bucket_name("Bad_Bucket")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidS3BucketNameException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_unique_and_a_region_holds_five_trails() {
    let f = Fixture::new("trail-quota", ACCOUNT);
    let ct = f.server.cloudtrail();
    create(&ct, "trail0").await;
    let e = err_info(
        ct.create_trail()
            .name("trail0")
            .s3_bucket_name("audit-logs")
            .send()
            .await,
    );
    assert_eq!(e.code, "TrailAlreadyExistsException", "{e:?}");
    assert_eq!(
        e.message,
        format!("Trail trail0 already exists for customer: {ACCOUNT}")
    );
    for i in 1..5 {
        create(&ct, &format!("trail{i}")).await;
    }
    let e = err_info(
        ct.create_trail()
            .name("trail5")
            .s3_bucket_name("audit-logs")
            .send()
            .await,
    );
    assert_eq!(e.code, "MaximumNumberOfTrailsExceededException", "{e:?}");
    assert_eq!(
        e.message,
        format!("User: {ACCOUNT} already has 5 trails in us-east-1.")
    );
    // Another region has its own five.
    let west = f.server.cloudtrail_in(&f.server.root(), "us-west-2");
    create(&west, "trail5").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_trail_is_named_with_the_caller_account() {
    let f = Fixture::new("trail-unknown", ACCOUNT);
    let ct = f.server.cloudtrail();
    let e = err_info(ct.get_trail().name("nope").send().await);
    assert_eq!(e.code, "TrailNotFoundException", "{e:?}");
    assert_eq!(
        e.message,
        format!("Unknown trail: nope for the user: {ACCOUNT}")
    );
    let arn = trail_arn("us-east-1", "nope");
    let e = err_info(ct.delete_trail().name(&arn).send().await);
    assert_eq!(e.code, "TrailNotFoundException", "{e:?}");
    assert_eq!(
        e.message,
        format!("Unknown trail: {arn} for the user: {ACCOUNT}")
    );
    let e = err_info(ct.start_logging().name("nope").send().await);
    assert_eq!(e.code, "TrailNotFoundException", "{e:?}");
    // DescribeTrails leaves out names that match nothing.
    let d = ok(
        "DescribeTrails",
        ct.describe_trails().trail_name_list("nope").send().await,
    );
    assert!(d.trail_list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_region_trail_includes_global_events() {
    let f = Fixture::new("trail-multi-global", ACCOUNT);
    let ct = f.server.cloudtrail();
    let e = err_info(
        ct.create_trail()
            .name("everywhere")
            .s3_bucket_name("audit-logs")
            .is_multi_region_trail(true)
            .include_global_service_events(false)
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidParameterCombinationException", "{e:?}");
    assert_eq!(
        e.message,
        "Multi-Region trail must include global service events."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_region_trail_is_a_shadow_elsewhere_and_changes_only_at_home() {
    let f = Fixture::new("trail-shadow", ACCOUNT);
    let root = f.server.root();
    let east = f.server.cloudtrail();
    let west = f.server.cloudtrail_in(&root, "us-west-2");
    ok(
        "CreateTrail",
        east.create_trail()
            .name("everywhere")
            .s3_bucket_name("audit-logs")
            .is_multi_region_trail(true)
            .send()
            .await,
    );
    create(&east, "local").await;
    let listed = ok("ListTrails us-west-2", west.list_trails().send().await);
    let names: Vec<&str> = listed.trails().iter().filter_map(|t| t.name()).collect();
    assert_eq!(
        names,
        ["everywhere"],
        "a single-region trail homed elsewhere is not listed"
    );
    let shadows = ok(
        "DescribeTrails us-west-2",
        west.describe_trails().send().await,
    );
    assert_eq!(shadows.trail_list().len(), 1);
    assert_eq!(shadows.trail_list()[0].home_region(), Some("us-east-1"));
    let own_only = ok(
        "DescribeTrails us-west-2 without shadows",
        west.describe_trails()
            .include_shadow_trails(false)
            .send()
            .await,
    );
    assert!(own_only.trail_list().is_empty());
    let e = err_info(west.stop_logging().name("everywhere").send().await);
    assert_eq!(e.code, "InvalidHomeRegionException", "{e:?}");
    let e = err_info(
        west.update_trail()
            .name(trail_arn("us-east-1", "everywhere"))
            .s3_key_prefix("x")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidHomeRegionException", "{e:?}");
    // Reads work from any region.
    ok(
        "GetTrailStatus us-west-2",
        west.get_trail_status().name("everywhere").send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_starts_and_stops_and_status_reports_only_what_happened() {
    let f = Fixture::new("trail-logging", ACCOUNT);
    let ct = f.server.cloudtrail();
    create(&ct, "main").await;
    // CreateTrail does not start logging.
    let st = ok(
        "GetTrailStatus",
        ct.get_trail_status().name("main").send().await,
    );
    assert_eq!(st.is_logging(), Some(false));
    assert!(st.start_logging_time().is_none());
    assert!(st.latest_delivery_time().is_none());
    ok("StartLogging", ct.start_logging().name("main").send().await);
    let st = ok(
        "GetTrailStatus",
        ct.get_trail_status().name("main").send().await,
    );
    assert_eq!(st.is_logging(), Some(true));
    let started = st.start_logging_time().expect("StartLoggingTime");
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - started.as_secs_f64();
    assert!((0.0..60.0).contains(&age), "StartLoggingTime {started:?}");
    let legacy = st.time_logging_started().unwrap();
    assert_eq!(legacy.len(), "2026-01-01T00:00:00Z".len(), "{legacy}");
    assert!(st.stop_logging_time().is_none());
    ok("StopLogging", ct.stop_logging().name("main").send().await);
    let st = ok(
        "GetTrailStatus",
        ct.get_trail_status().name("main").send().await,
    );
    assert_eq!(st.is_logging(), Some(false));
    assert!(st.stop_logging_time().is_some());
    assert!(st.time_logging_stopped().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_trail_changes_settings_and_delete_removes_the_trail() {
    let f = Fixture::new("trail-update", ACCOUNT);
    let ct = f.server.cloudtrail();
    create(&ct, "main").await;
    let out = ok(
        "UpdateTrail",
        ct.update_trail()
            .name("main")
            .s3_bucket_name("other-logs")
            .s3_key_prefix("p")
            .is_multi_region_trail(true)
            .enable_log_file_validation(true)
            .send()
            .await,
    );
    assert_eq!(out.s3_bucket_name(), Some("other-logs"));
    assert_eq!(out.s3_key_prefix(), Some("p"));
    assert_eq!(out.is_multi_region_trail(), Some(true));
    assert_eq!(out.log_file_validation_enabled(), Some(true));
    // An empty prefix removes it.
    let out = ok(
        "UpdateTrail",
        ct.update_trail()
            .name("main")
            .s3_key_prefix("")
            .send()
            .await,
    );
    assert!(out.s3_key_prefix().is_none());
    let e = err_info(
        ct.update_trail()
            .name("main")
            .cloud_watch_logs_log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:ct:*")
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidCloudWatchLogsLogGroupArnException", "{e:?}");
    ok("DeleteTrail", ct.delete_trail().name("main").send().await);
    let e = err_info(ct.get_trail().name("main").send().await);
    assert_eq!(e.code, "TrailNotFoundException", "{e:?}");
    assert!(
        ok("ListTrails", ct.list_trails().send().await)
            .trails()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_selectors_default_to_all_management_events_and_are_replaced() {
    let f = Fixture::new("trail-selectors", ACCOUNT);
    let ct = f.server.cloudtrail();
    create(&ct, "main").await;
    let got = ok(
        "GetEventSelectors",
        ct.get_event_selectors().trail_name("main").send().await,
    );
    assert_eq!(
        got.trail_arn(),
        Some(trail_arn("us-east-1", "main").as_str())
    );
    let sel = got.event_selectors();
    assert_eq!(sel.len(), 1);
    assert_eq!(sel[0].include_management_events(), Some(true));
    assert_eq!(sel[0].read_write_type(), Some(&ReadWriteType::All));
    assert!(got.advanced_event_selectors().is_empty());

    let out = ok(
        "PutEventSelectors",
        ct.put_event_selectors()
            .trail_name("main")
            .event_selectors(
                EventSelector::builder()
                    .read_write_type(ReadWriteType::WriteOnly)
                    .include_management_events(true)
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(
        out.event_selectors()[0].read_write_type(),
        Some(&ReadWriteType::WriteOnly)
    );
    let t = ok("GetTrail", ct.get_trail().name("main").send().await);
    assert_eq!(t.trail().unwrap().has_custom_event_selectors(), Some(true));

    // Advanced selectors replace the basic ones.
    let adv = AdvancedEventSelector::builder()
        .name("writes")
        .field_selectors(
            AdvancedFieldSelector::builder()
                .field("eventCategory")
                .equals("Management")
                .build()
                .unwrap(),
        )
        .field_selectors(
            AdvancedFieldSelector::builder()
                .field("readOnly")
                .equals("false")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ok(
        "PutEventSelectors advanced",
        ct.put_event_selectors()
            .trail_name("main")
            .advanced_event_selectors(adv.clone())
            .send()
            .await,
    );
    let got = ok(
        "GetEventSelectors",
        ct.get_event_selectors().trail_name("main").send().await,
    );
    assert!(got.event_selectors().is_empty());
    assert_eq!(got.advanced_event_selectors().len(), 1);
    assert_eq!(got.advanced_event_selectors()[0].name(), Some("writes"));

    let e = err_info(
        ct.put_event_selectors()
            .trail_name("main")
            .advanced_event_selectors(adv)
            .event_selectors(EventSelector::builder().build())
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidEventSelectorsException", "{e:?}");
    let too_many: Vec<EventSelector> = (0..6).map(|_| EventSelector::builder().build()).collect();
    let e = err_info(
        ct.put_event_selectors()
            .trail_name("main")
            .set_event_selectors(Some(too_many))
            .send()
            .await,
    );
    assert_eq!(e.code, "InvalidEventSelectorsException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insight_selectors_turn_insights_on_and_off() {
    let f = Fixture::new("trail-insights", ACCOUNT);
    let ct = f.server.cloudtrail();
    create(&ct, "main").await;
    let e = err_info(ct.get_insight_selectors().trail_name("main").send().await);
    assert_eq!(e.code, "InsightNotEnabledException", "{e:?}");
    ok(
        "PutInsightSelectors",
        ct.put_insight_selectors()
            .trail_name("main")
            .insight_selectors(
                InsightSelector::builder()
                    .insight_type(InsightType::ApiCallRateInsight)
                    .build(),
            )
            .insight_selectors(
                InsightSelector::builder()
                    .insight_type(InsightType::ApiErrorRateInsight)
                    .build(),
            )
            .send()
            .await,
    );
    let got = ok(
        "GetInsightSelectors",
        ct.get_insight_selectors().trail_name("main").send().await,
    );
    assert_eq!(got.insight_selectors().len(), 2);
    let t = ok("GetTrail", ct.get_trail().name("main").send().await);
    assert_eq!(t.trail().unwrap().has_insight_selectors(), Some(true));
    // An empty list turns Insights off.
    ok(
        "PutInsightSelectors []",
        ct.put_insight_selectors()
            .trail_name("main")
            .set_insight_selectors(Some(Vec::new()))
            .send()
            .await,
    );
    let e = err_info(ct.get_insight_selectors().trail_name("main").send().await);
    assert_eq!(e.code, "InsightNotEnabledException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trails_take_tags_by_arn() {
    let f = Fixture::new("trail-tags", ACCOUNT);
    let ct = f.server.cloudtrail();
    ok(
        "CreateTrail",
        ct.create_trail()
            .name("main")
            .s3_bucket_name("audit-logs")
            .tags_list(tag("team", "sec"))
            .send()
            .await,
    );
    let arn = trail_arn("us-east-1", "main");
    ok(
        "AddTags",
        ct.add_tags()
            .resource_id(&arn)
            .tags_list(tag("env", "prod"))
            .tags_list(tag("team", "audit"))
            .send()
            .await,
    );
    let listed = ok(
        "ListTags",
        ct.list_tags().resource_id_list(&arn).send().await,
    );
    let tags = listed.resource_tag_list()[0].tags_list();
    let mut pairs: Vec<(&str, &str)> = tags
        .iter()
        .map(|t| (t.key(), t.value().unwrap_or("")))
        .collect();
    pairs.sort_unstable();
    assert_eq!(pairs, [("env", "prod"), ("team", "audit")]);
    ok(
        "RemoveTags",
        ct.remove_tags()
            .resource_id(&arn)
            .tags_list(Tag::builder().key("env").build().unwrap())
            .send()
            .await,
    );
    let listed = ok(
        "ListTags",
        ct.list_tags().resource_id_list(&arn).send().await,
    );
    assert_eq!(listed.resource_tag_list()[0].tags_list().len(), 1);
    let e = err_info(
        ct.add_tags()
            .resource_id(trail_arn("us-east-1", "nope"))
            .tags_list(tag("a", "b"))
            .send()
            .await,
    );
    assert_eq!(e.code, "ResourceNotFoundException", "{e:?}");
    let e = err_info(
        ct.add_tags()
            .resource_id("main")
            .tags_list(tag("a", "b"))
            .send()
            .await,
    );
    assert_eq!(e.code, "CloudTrailARNInvalidException", "{e:?}");
}

/// `aws:ResourceTag/*` on a trail comes from its stored tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trail_tags_feed_resource_tag_conditions() {
    let f = Fixture::new("trail-tag-conditions", ACCOUNT);
    let ct = f.server.cloudtrail();
    ok(
        "CreateTrail",
        ct.create_trail()
            .name("guarded")
            .s3_bucket_name("audit-logs")
            .tags_list(tag("protected", "true"))
            .send()
            .await,
    );
    create(&ct, "open").await;
    let admin = f
        .admin(
            "admin",
            Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"cloudtrail:StopLogging","Resource":"*",
                    "Condition":{"StringEquals":{"aws:ResourceTag/protected":"true"}}}]}"#,
            ),
        )
        .await;
    let as_admin = f.server.cloudtrail_as(&admin);
    let e = err_info(as_admin.stop_logging().name("guarded").send().await);
    assert_eq!(e.code, "AccessDeniedException", "{e:?}");
    assert!(
        e.message.contains(&format!(
            "cloudtrail:StopLogging on resource: {}",
            trail_arn("us-east-1", "guarded")
        )),
        "{e:?}"
    );
    ok(
        "StopLogging open",
        as_admin.stop_logging().name("open").send().await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_trail_needs_the_management_account_and_members_see_it() {
    let (f, _org) = Fixture::with_org("trail-org", ACCOUNT).await;
    let ct = f.server.cloudtrail();
    ok(
        "CreateTrail organization",
        ct.create_trail()
            .name("org-trail")
            .s3_bucket_name("audit-logs")
            .is_organization_trail(true)
            .is_multi_region_trail(true)
            .send()
            .await,
    );
    let member = f.member("member", "member@example.com").await;
    let admin = f.admin("admin", None).await;
    let member_who = crate::fixture::member_role(&f.server, &admin, &member).await;
    let member_ct = f.server.cloudtrail_as(&member_who);
    let seen = ok(
        "DescribeTrails as member",
        member_ct.describe_trails().send().await,
    );
    let arns: Vec<&str> = seen
        .trail_list()
        .iter()
        .filter_map(|t| t.trail_arn())
        .collect();
    assert_eq!(arns, [trail_arn("us-east-1", "org-trail").as_str()]);
    assert_eq!(seen.trail_list()[0].is_organization_trail(), Some(true));
    // The member cannot change it: by name it has no such trail, by ARN it is not the
    // management account.
    let e = err_info(member_ct.stop_logging().name("org-trail").send().await);
    assert_eq!(e.code, "TrailNotFoundException", "{e:?}");
    let e = err_info(
        member_ct
            .delete_trail()
            .name(trail_arn("us-east-1", "org-trail"))
            .send()
            .await,
    );
    assert_eq!(e.code, "NotOrganizationMasterAccountException", "{e:?}");
    // A member account may not create one.
    let e = err_info(
        member_ct
            .create_trail()
            .name("mine")
            .s3_bucket_name("audit-logs")
            .is_organization_trail(true)
            .send()
            .await,
    );
    assert_eq!(e.code, "NotOrganizationMasterAccountException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_trail_needs_an_organization() {
    let f = Fixture::new("trail-no-org", ACCOUNT);
    let e = err_info(
        f.server
            .cloudtrail()
            .create_trail()
            .name("org-trail")
            .s3_bucket_name("audit-logs")
            .is_organization_trail(true)
            .send()
            .await,
    );
    assert_eq!(e.code, "OrganizationsNotInUseException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delegated_administrator_creates_and_manages_the_management_accounts_org_trail() {
    let (f, _org) = Fixture::with_org("trail-delegated", ACCOUNT).await;
    let orgs = f.server.orgs();
    let member = f.member("delegate", "delegate@example.com").await;
    ok(
        "EnableAWSServiceAccess",
        orgs.enable_aws_service_access()
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await,
    );
    ok(
        "RegisterDelegatedAdministrator",
        orgs.register_delegated_administrator()
            .account_id(&member)
            .service_principal("cloudtrail.amazonaws.com")
            .send()
            .await,
    );
    let admin = f.admin("admin", None).await;
    let delegate = crate::fixture::member_role(&f.server, &admin, &member).await;
    let ct = f.server.cloudtrail_as(&delegate);
    let out = ok(
        "CreateTrail by the delegated administrator",
        ct.create_trail()
            .name("org-trail")
            .s3_bucket_name("audit-logs")
            .is_organization_trail(true)
            .is_multi_region_trail(true)
            .send()
            .await,
    );
    // The trail is the management account's (its ARN names it).
    let arn = trail_arn("us-east-1", "org-trail");
    assert_eq!(out.trail_arn(), Some(arn.as_str()));
    assert_eq!(out.is_organization_trail(), Some(true));
    // The delegated administrator manages it by ARN.
    ok(
        "StartLogging by ARN",
        ct.start_logging().name(&arn).send().await,
    );
    let st = ok(
        "GetTrailStatus as the management account",
        f.server
            .cloudtrail()
            .get_trail_status()
            .name("org-trail")
            .send()
            .await,
    );
    assert_eq!(st.is_logging(), Some(true));
    // Another member may not.
    let other = f.member("other", "other@example.com").await;
    let other_who = crate::fixture::member_role(&f.server, &admin, &other).await;
    let e = err_info(
        f.server
            .cloudtrail_as(&other_who)
            .stop_logging()
            .name(&arn)
            .send()
            .await,
    );
    assert_eq!(e.code, "NotOrganizationMasterAccountException", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudtrail_lake_operations_are_refused_as_unsupported() {
    let f = Fixture::new("trail-lake", ACCOUNT);
    let ct = f.server.cloudtrail();
    let e = err_info(ct.create_event_data_store().name("eds").send().await);
    assert_eq!(e.code, "UnsupportedOperationException", "{e:?}");
    assert_eq!(e.status, 400);
    let e = err_info(ct.list_event_data_stores().send().await);
    assert_eq!(e.code, "UnsupportedOperationException", "{e:?}");
}
