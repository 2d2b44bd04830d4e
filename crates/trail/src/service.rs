//! The CloudTrail API: trails ([`crate::trails`]), channels ([`crate::channels`]),
//! `ListPublicKeys` ([`crate::digest`]) and `LookupEvents` ([`crate::lookup`]). Operations of
//! CloudTrail Lake, dashboards and imports answer `UnsupportedOperationException` (mapped in
//! `cairn_server::services`).

use crate::trails::{self, TrailRec, fail, find, require_home};
use cairn_api::cloudtrail::types::{
    AddTagsRequest, AddTagsResponse, Channel, CreateChannelRequest, CreateChannelResponse,
    CreateTrailRequest, CreateTrailResponse, DeleteChannelRequest, DeleteChannelResponse,
    DeleteResourcePolicyRequest, DeleteResourcePolicyResponse, DeleteTrailRequest,
    DeleteTrailResponse, DescribeTrailsRequest, DescribeTrailsResponse, GetChannelRequest,
    GetChannelResponse, GetEventSelectorsRequest, GetEventSelectorsResponse,
    GetInsightSelectorsRequest, GetInsightSelectorsResponse, GetResourcePolicyRequest,
    GetResourcePolicyResponse, GetTrailRequest, GetTrailResponse, GetTrailStatusRequest,
    GetTrailStatusResponse, IngestionStatus, ListChannelsRequest, ListChannelsResponse,
    ListPublicKeysRequest, ListPublicKeysResponse, ListTagsRequest, ListTagsResponse,
    ListTrailsRequest, ListTrailsResponse, LookupEventsRequest, LookupEventsResponse, PublicKey,
    PutEventSelectorsRequest, PutEventSelectorsResponse, PutInsightSelectorsRequest,
    PutInsightSelectorsResponse, PutResourcePolicyRequest, PutResourcePolicyResponse,
    RemoveTagsRequest, RemoveTagsResponse, ResourceTag, StartLoggingRequest, StartLoggingResponse,
    StopLoggingRequest, StopLoggingResponse, Tag, UpdateChannelRequest, UpdateChannelResponse,
    UpdateTrailRequest, UpdateTrailResponse,
};
use cairn_api::cloudtrail::{CloudTrail, Error};
use cairn_core::{BucketCheck, Call, Failure, ObjectStore, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use std::sync::Arc;

/// The CloudTrail API.
#[derive(Clone, Default)]
pub struct CloudTrailService {
    /// Organizations' answers (an account's organization), for organization trails.
    orgs: Option<Arc<dyn ResourceFacts>>,
    /// Where trails deliver: checked for the bucket at `CreateTrail` / `UpdateTrail`.
    objects: Option<Arc<dyn ObjectStore>>,
}

impl std::fmt::Debug for CloudTrailService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudTrailService").finish_non_exhaustive()
    }
}

impl CloudTrailService {
    /// The service, with `orgs` answering which organization an account belongs to.
    pub fn new(orgs: Arc<dyn ResourceFacts>) -> Self {
        CloudTrailService {
            orgs: Some(orgs),
            objects: None,
        }
    }

    /// The service, checking trail buckets in `objects`.
    pub fn with_objects(mut self, objects: Arc<dyn ObjectStore>) -> Self {
        self.objects = Some(objects);
        self
    }

    /// CreateTrail's and UpdateTrail's bucket checks, as AWS makes them: the bucket exists
    /// (`S3BucketDoesNotExistException`) and, where the store has bucket policies, its policy
    /// lets CloudTrail write (`InsufficientS3BucketPolicyException`, AWS's text). Without an
    /// object store (tests of the API alone) every bucket is accepted; a local-directory store
    /// has every bucket (it makes the directory on first delivery) and no policies.
    async fn check_bucket(&self, bucket: &str) -> Result<(), ApiError> {
        let Some(objects) = &self.objects else {
            return Ok(());
        };
        trails::check_bucket(bucket).map_err(|f| f.0)?;
        match objects.check_bucket(bucket).await {
            Ok(BucketCheck::Missing) => Err(ApiError::new(
                Error::S3BucketDoesNotExistException,
                // The text is moto's (AWS's is not documented).
                format!("S3 bucket {bucket} does not exist!"),
            )),
            Ok(BucketCheck::Exists { policy }) => {
                if objects.has_policies()
                    && !policy
                        .as_deref()
                        .is_some_and(trails::policy_admits_cloudtrail)
                {
                    return Err(ApiError::new(
                        Error::InsufficientS3BucketPolicyException,
                        format!("Incorrect S3 bucket policy is detected for bucket: {bucket}"),
                    ));
                }
                Ok(())
            }
            Err(e) => {
                tracing::warn!(bucket, error = %e, "checking a trail bucket failed");
                Err(ApiError::internal())
            }
        }
    }
}

/// Where the call is: the caller's account, the region of its credential scope and that
/// region's partition.
#[derive(Debug, Clone)]
struct Here {
    account: String,
    region: String,
    partition: String,
}

impl Here {
    fn of(ctx: &Call) -> Self {
        let region = ctx.info().region.clone();
        Here {
            account: ctx.account_id().to_owned(),
            partition: cairn_core::partition_of(&region).to_owned(),
            region,
        }
    }
}

/// A channel name: 3–128 characters of letters, digits, `.`, `_` and `-` (the model's
/// `ChannelName` pattern).
fn check_channel_name(name: &str) -> Result<(), Failure> {
    let ok = (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(fail(
            Error::InvalidParameterException,
            format!("Channel name {name} is not valid."),
        ))
    }
}

/// The caller's channel a `Channel` parameter names.
fn channel(
    tx: &mut dyn Tx,
    here: &Here,
    given: &str,
) -> Result<crate::channels::ChannelRec, Failure> {
    if given.starts_with("arn:") && crate::channels::parse_arn(given).is_none() {
        return Err(fail(
            Error::ChannelARNInvalidException,
            format!("Invalid channel ARN: {given}"),
        ));
    }
    crate::channels::find(tx, &here.account, &here.region, given)?.ok_or_else(|| {
        fail(
            Error::ChannelNotFoundException,
            format!("Channel {given} not found."),
        )
    })
}

/// The channel a resource-policy call's `ResourceArn` names (the caller's own).
fn policy_target(
    tx: &mut dyn Tx,
    here: &Here,
    arn: &str,
) -> Result<crate::channels::ChannelRec, Failure> {
    if !arn.starts_with("arn:") || !arn.contains(":cloudtrail:") {
        return Err(fail(
            Error::ResourceARNNotValidException,
            format!("The resource ARN {arn} is not valid."),
        ));
    }
    if crate::channels::parse_arn(arn).is_none() {
        // An event data store or dashboard: Cairn has none.
        return Err(fail(
            Error::ResourceNotFoundException,
            format!("Resource not found: {arn}"),
        ));
    }
    crate::channels::find(tx, &here.account, &here.region, arn)?.ok_or_else(|| {
        fail(
            Error::ResourceNotFoundException,
            format!("Resource not found: {arn}"),
        )
    })
}

/// The trail of `Put/GetInsightSelectors` (Cairn has no event data stores).
fn insight_target(trail_name: Option<&str>) -> Result<&str, Failure> {
    trail_name.ok_or_else(|| {
        fail(
            Error::InvalidParameterCombinationException,
            "You must specify a TrailName or an EventDataStore.",
        )
    })
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// `GetTrailStatus`'s `TimeLoggingStarted` / `TimeLoggingStopped` strings: the same instant
/// as the timestamp beside them, as `YYYY-MM-DDTHH:MM:SSZ`.
fn time_string(ms: i64) -> String {
    crate::record::format_event_time(ms)
}

fn create_response(t: &TrailRec) -> CreateTrailResponse {
    let api = t.to_api();
    CreateTrailResponse {
        cloud_watch_logs_log_group_arn: api.cloud_watch_logs_log_group_arn,
        cloud_watch_logs_role_arn: api.cloud_watch_logs_role_arn,
        include_global_service_events: api.include_global_service_events,
        is_multi_region_trail: api.is_multi_region_trail,
        is_organization_trail: api.is_organization_trail,
        kms_key_id: api.kms_key_id,
        log_file_validation_enabled: api.log_file_validation_enabled,
        name: api.name,
        recursive_logging: None,
        s3_bucket_name: api.s3_bucket_name,
        s3_key_prefix: api.s3_key_prefix,
        sns_topic_arn: api.sns_topic_arn,
        sns_topic_name: api.sns_topic_name,
        trail_arn: api.trail_arn,
    }
}

fn update_response(t: &TrailRec) -> UpdateTrailResponse {
    let c = create_response(t);
    UpdateTrailResponse {
        cloud_watch_logs_log_group_arn: c.cloud_watch_logs_log_group_arn,
        cloud_watch_logs_role_arn: c.cloud_watch_logs_role_arn,
        include_global_service_events: c.include_global_service_events,
        is_multi_region_trail: c.is_multi_region_trail,
        is_organization_trail: c.is_organization_trail,
        kms_key_id: c.kms_key_id,
        log_file_validation_enabled: c.log_file_validation_enabled,
        name: c.name,
        recursive_logging: None,
        s3_bucket_name: c.s3_bucket_name,
        s3_key_prefix: c.s3_key_prefix,
        sns_topic_arn: c.sns_topic_arn,
        sns_topic_name: c.sns_topic_name,
        trail_arn: c.trail_arn,
    }
}

/// The settings `CreateTrail` and `UpdateTrail` share, checked and applied.
struct Settings<'a> {
    bucket: Option<&'a str>,
    prefix: Option<&'a str>,
    sns_topic: Option<&'a str>,
    include_global: Option<bool>,
    multi_region: Option<bool>,
    validation: Option<bool>,
    cw_log_group: Option<&'a str>,
    cw_role: Option<&'a str>,
    kms_key: Option<&'a str>,
}

impl Settings<'_> {
    fn apply(&self, t: &mut TrailRec) -> Result<(), Failure> {
        if let Some(b) = self.bucket {
            trails::check_bucket(b)?;
            b.clone_into(&mut t.bucket);
        }
        if let Some(p) = self.prefix {
            trails::check_prefix(p)?;
            // An empty prefix removes it.
            t.prefix = (!p.is_empty()).then(|| p.to_owned());
        }
        if let Some(s) = self.sns_topic {
            t.sns_topic = (!s.is_empty()).then(|| s.to_owned());
        }
        if let Some(v) = self.include_global {
            t.include_global = v;
        }
        if let Some(v) = self.multi_region {
            t.multi_region = v;
        }
        if let Some(v) = self.validation {
            t.validation = v;
        }
        if let Some(v) = self.kms_key {
            t.kms_key = (!v.is_empty()).then(|| v.to_owned());
        }
        match (self.cw_log_group, self.cw_role) {
            (None, None) => {}
            (Some(g), Some(r)) => {
                t.cw_log_group = (!g.is_empty()).then(|| g.to_owned());
                t.cw_role = (!r.is_empty()).then(|| r.to_owned());
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(fail(
                    Error::InvalidCloudWatchLogsLogGroupArnException,
                    "You must specify both a CloudWatch Logs log group ARN and a role ARN.",
                ));
            }
        }
        // CloudTrail API Reference, `CreateTrail` `IsMultiRegionTrail` / InvalidParameter-
        // CombinationException: a multi-Region trail must include global service events.
        if t.multi_region && !t.include_global {
            return Err(fail(
                Error::InvalidParameterCombinationException,
                "Multi-Region trail must include global service events.",
            ));
        }
        Ok(())
    }
}

impl CloudTrailService {
    /// An organization trail's checks: the caller is the management account of an
    /// organization (`OrganizationsNotInUseException`, `NotOrganizationMasterAccount-
    /// Exception` otherwise).
    fn check_org_trail(&self, tx: &mut dyn Tx, account: &str) -> Result<String, Failure> {
        let org = match &self.orgs {
            Some(orgs) => orgs.organization(tx, account)?,
            None => None,
        };
        let Some(org) = org else {
            return Err(fail(
                Error::OrganizationsNotInUseException,
                "This account is not a member of an organization.",
            ));
        };
        if org.management_account_id != account && !self.delegated(tx, account)? {
            return Err(fail(
                Error::NotOrganizationMasterAccountException,
                format!(
                    "The request was rejected because this account {account} is not the management account of the organization."
                ),
            ));
        }
        Ok(org.management_account_id)
    }

    /// Whether `account` is a delegated administrator for CloudTrail in its organization
    /// (CloudTrail UG, "Organization delegated administrator": it may create and manage the
    /// organization's trails, which stay the management account's).
    fn delegated(&self, tx: &mut dyn Tx, account: &str) -> Result<bool, Failure> {
        match &self.orgs {
            Some(orgs) => Ok(orgs.is_delegated_admin(tx, account, "cloudtrail.amazonaws.com")?),
            None => Ok(false),
        }
    }

    /// Every trail the caller sees from this region: its own ([`trails::visible`]) and, in a
    /// member account of an organization, the management account's organization trails
    /// (CloudTrail UG, "Creating a trail for an organization": "Users with CloudTrail
    /// permissions in member accounts can see this trail").
    fn seen(&self, tx: &mut dyn Tx, here: &Here) -> Result<Vec<TrailRec>, Failure> {
        let mut list = trails::visible(tx, &here.account, &here.region)?;
        let org = match &self.orgs {
            Some(orgs) => orgs.organization(tx, &here.account)?,
            None => None,
        };
        if let Some(org) = org
            && org.management_account_id != here.account
        {
            list.extend(trails::organization_trails(
                tx,
                &org.management_account_id,
                &here.region,
            )?);
        }
        Ok(list)
    }

    /// The trail a read names, among those the caller sees.
    fn find_seen(&self, tx: &mut dyn Tx, here: &Here, given: &str) -> Result<TrailRec, Failure> {
        let list = self.seen(tx, here)?;
        trails::pick(list, &here.account, &here.region, given)
    }

    /// The trail a change names: one of the caller's own. A member account that names its
    /// organization's trail by ARN is told it is not the management account (the error the
    /// model lists for DeleteTrail, StartLogging, StopLogging, PutEventSelectors, …; the
    /// message is ours — AWS's text is not documented). By name it is not found, as AWS
    /// resolves names against the caller's own trails.
    fn find_own(&self, tx: &mut dyn Tx, here: &Here, given: &str) -> Result<TrailRec, Failure> {
        match find(tx, &here.account, &here.region, given) {
            Ok(t) => Ok(t),
            Err(e) => {
                if given.starts_with("arn:")
                    && let Ok(t) = self.find_seen(tx, here, given)
                    && t.organization
                {
                    if self.delegated(tx, &here.account)? {
                        return Ok(t);
                    }
                    return Err(fail(
                        Error::NotOrganizationMasterAccountException,
                        format!(
                            "The request was rejected because account {} is not the management account of the organization that owns trail {}.",
                            here.account,
                            t.arn()
                        ),
                    ));
                }
                Err(e)
            }
        }
    }

    async fn set_logging(&self, ctx: &Call, name: String, on: bool) -> Result<(), ApiError> {
        let here = Here::of(ctx);
        let now = ctx.now_ms();
        let this = self.clone();
        ctx.write(move |tx| {
            let mut t = this.find_own(tx, &here, &name)?;
            require_home(&t, &here.region)?;
            if t.logging != on {
                t.logging = on;
                if on {
                    t.start_logging_ms = Some(now);
                } else {
                    t.stop_logging_ms = Some(now);
                }
                trails::put(tx, &t)?;
            }
            Ok(())
        })
        .await
    }

    /// The trail a tagging call's `ResourceId` (a trail ARN) names: for `ListTags` any the
    /// caller sees, for `AddTags` / `RemoveTags` one of its own. A well-formed ARN naming no
    /// trail is `ResourceNotFoundException`.
    fn tagged(
        &self,
        tx: &mut dyn Tx,
        here: &Here,
        resource_id: &str,
        change: bool,
    ) -> Result<TrailRec, Failure> {
        let r = trails::parse_ref(resource_id)?;
        let trails::TrailRef::Arn { .. } = &r else {
            return Err(trails::arn_invalid(resource_id));
        };
        let found = if change {
            self.find_own(tx, here, resource_id)
        } else {
            self.find_seen(tx, here, resource_id)
        };
        found.map_err(|e| {
            if e.0.code == "TrailNotFoundException" {
                fail(
                    Error::ResourceNotFoundException,
                    format!("Resource not found: {resource_id}"),
                )
            } else {
                e
            }
        })
    }
}

impl CloudTrail for CloudTrailService {
    type Context = Call;

    async fn lookup_events(
        &self,
        ctx: &Call,
        input: LookupEventsRequest,
    ) -> Result<LookupEventsResponse, ApiError> {
        crate::lookup::lookup_events(ctx, input).await
    }

    /// The public halves of this region's digest signing keys valid within the range
    /// (`ListPublicKeys`: either bound defaults to now). `Value` is the PKCS#1 DER, base64 on
    /// the wire as every blob (the AWS CLI keeps blobs as their wire text, and `validate-logs`
    /// base64-decodes it before loading the DER).
    async fn list_public_keys(
        &self,
        ctx: &Call,
        input: ListPublicKeysRequest,
    ) -> Result<ListPublicKeysResponse, ApiError> {
        let here = Here::of(ctx);
        let now = ctx.now_ms();
        let start = input.start_time.map_or(now, |t| t.millis);
        let end = input.end_time.map_or(now, |t| t.millis);
        if start > end {
            return Err(ApiError::new(
                Error::InvalidTimeRangeException,
                "Start time must be earlier than end time.",
            ));
        }
        ctx.read(move |tx| {
            let keys = crate::digest::keys_between(tx, &here.region, start, end)?;
            Ok(ListPublicKeysResponse {
                next_token: None,
                public_key_list: Some(
                    keys.iter()
                        .map(|k| PublicKey {
                            fingerprint: Some(k.fingerprint.clone()),
                            validity_start_time: Some(ts(k.valid_from_ms)),
                            validity_end_time: Some(ts(k.valid_to_ms)),
                            value: Some(cairn_wire::Blob(crate::digest::public_der(k))),
                        })
                        .collect(),
                ),
            })
        })
        .await
    }

    async fn create_channel(
        &self,
        ctx: &Call,
        input: CreateChannelRequest,
    ) -> Result<CreateChannelResponse, ApiError> {
        let here = Here::of(ctx);
        let now = ctx.now_ms();
        let id = ctx.ids_arc().uuid();
        check_channel_name(&input.name).map_err(|f| f.0)?;
        if input.source.is_empty() || input.source.len() > 256 {
            return Err(ApiError::new(
                Error::InvalidSourceException,
                "The source must be Custom or the name of a partner source.",
            ));
        }
        if input.destinations.is_empty() || input.destinations.len() > 200 {
            return Err(ApiError::new(
                Error::InvalidParameterException,
                "A channel needs 1 to 200 destinations.",
            ));
        }
        ctx.write(move |tx| {
            let existing = crate::channels::of(tx, &here.account, &here.region)?;
            if existing.iter().any(|c| c.name == input.name) {
                return Err(fail(
                    Error::ChannelAlreadyExistsException,
                    format!("Channel {} already exists.", input.name),
                ));
            }
            let mut tags = Vec::new();
            if let Some(t) = &input.tags {
                trails::merge_tags(&mut tags, t)?;
            }
            let c = crate::channels::ChannelRec {
                id: id.clone(),
                name: input.name.clone(),
                source: input.source.clone(),
                account: here.account.clone(),
                region: here.region.clone(),
                partition: here.partition.clone(),
                destinations: input
                    .destinations
                    .iter()
                    .map(|d| (d.r#type.as_str().to_owned(), d.location.clone()))
                    .collect(),
                tags,
                created_ms: now,
                latest_success_event_id: None,
                latest_success_ms: None,
                resource_policy: None,
            };
            crate::channels::put(tx, &c)?;
            Ok(CreateChannelResponse {
                channel_arn: Some(c.arn()),
                destinations: Some(c.destinations_api()),
                name: Some(c.name.clone()),
                source: Some(c.source.clone()),
                tags: Some(c.tags_api()),
            })
        })
        .await
    }

    async fn get_channel(
        &self,
        ctx: &Call,
        input: GetChannelRequest,
    ) -> Result<GetChannelResponse, ApiError> {
        let here = Here::of(ctx);
        ctx.read(move |tx| {
            let c = channel(tx, &here, &input.channel)?;
            Ok(GetChannelResponse {
                channel_arn: Some(c.arn()),
                destinations: Some(c.destinations_api()),
                ingestion_status: Some(IngestionStatus {
                    latest_ingestion_success_event_id: c.latest_success_event_id.clone(),
                    latest_ingestion_success_time: c.latest_success_ms.map(ts),
                    ..IngestionStatus::default()
                }),
                name: Some(c.name.clone()),
                source: Some(c.source.clone()),
                source_config: None,
            })
        })
        .await
    }

    async fn list_channels(
        &self,
        ctx: &Call,
        _input: ListChannelsRequest,
    ) -> Result<ListChannelsResponse, ApiError> {
        let here = Here::of(ctx);
        ctx.read(move |tx| {
            let list = crate::channels::of(tx, &here.account, &here.region)?;
            Ok(ListChannelsResponse {
                channels: Some(
                    list.iter()
                        .map(|c| Channel {
                            channel_arn: Some(c.arn()),
                            name: Some(c.name.clone()),
                        })
                        .collect(),
                ),
                next_token: None,
            })
        })
        .await
    }

    async fn delete_channel(
        &self,
        ctx: &Call,
        input: DeleteChannelRequest,
    ) -> Result<DeleteChannelResponse, ApiError> {
        let here = Here::of(ctx);
        ctx.write(move |tx| {
            let c = channel(tx, &here, &input.channel)?;
            crate::channels::delete(tx, &c)?;
            Ok(DeleteChannelResponse {})
        })
        .await
    }

    async fn update_channel(
        &self,
        ctx: &Call,
        input: UpdateChannelRequest,
    ) -> Result<UpdateChannelResponse, ApiError> {
        let here = Here::of(ctx);
        if let Some(n) = &input.name {
            check_channel_name(n).map_err(|f| f.0)?;
        }
        ctx.write(move |tx| {
            let mut c = channel(tx, &here, &input.channel)?;
            if let Some(n) = &input.name {
                let others = crate::channels::of(tx, &here.account, &here.region)?;
                if others.iter().any(|o| &o.name == n && o.id != c.id) {
                    return Err(fail(
                        Error::ChannelAlreadyExistsException,
                        format!("Channel {n} already exists."),
                    ));
                }
                c.name.clone_from(n);
            }
            if let Some(d) = &input.destinations {
                c.destinations = d
                    .iter()
                    .map(|d| (d.r#type.as_str().to_owned(), d.location.clone()))
                    .collect();
            }
            crate::channels::put(tx, &c)?;
            Ok(UpdateChannelResponse {
                channel_arn: Some(c.arn()),
                destinations: Some(c.destinations_api()),
                name: Some(c.name.clone()),
                source: Some(c.source.clone()),
            })
        })
        .await
    }

    /// Resource-based policies: on channels (Cairn has no event data stores or dashboards).
    async fn put_resource_policy(
        &self,
        ctx: &Call,
        input: PutResourcePolicyRequest,
    ) -> Result<PutResourcePolicyResponse, ApiError> {
        let here = Here::of(ctx);
        if let Some(problem) = crate::channels::policy_problem(&input.resource_policy) {
            return Err(ApiError::new(
                Error::ResourcePolicyNotValidException,
                problem,
            ));
        }
        ctx.write(move |tx| {
            let mut c = policy_target(tx, &here, &input.resource_arn)?;
            c.resource_policy = Some(input.resource_policy.clone());
            crate::channels::put(tx, &c)?;
            Ok(PutResourcePolicyResponse {
                delegated_admin_resource_policy: None,
                resource_arn: Some(c.arn()),
                resource_policy: c.resource_policy.clone(),
            })
        })
        .await
    }

    async fn get_resource_policy(
        &self,
        ctx: &Call,
        input: GetResourcePolicyRequest,
    ) -> Result<GetResourcePolicyResponse, ApiError> {
        let here = Here::of(ctx);
        ctx.read(move |tx| {
            let c = policy_target(tx, &here, &input.resource_arn)?;
            let Some(policy) = c.resource_policy.clone() else {
                return Err(fail(
                    Error::ResourcePolicyNotFoundException,
                    format!("No resource policy is attached to {}.", input.resource_arn),
                ));
            };
            Ok(GetResourcePolicyResponse {
                delegated_admin_resource_policy: None,
                resource_arn: Some(c.arn()),
                resource_policy: Some(policy),
            })
        })
        .await
    }

    async fn delete_resource_policy(
        &self,
        ctx: &Call,
        input: DeleteResourcePolicyRequest,
    ) -> Result<DeleteResourcePolicyResponse, ApiError> {
        let here = Here::of(ctx);
        ctx.write(move |tx| {
            let mut c = policy_target(tx, &here, &input.resource_arn)?;
            if c.resource_policy.take().is_none() {
                return Err(fail(
                    Error::ResourcePolicyNotFoundException,
                    format!("No resource policy is attached to {}.", input.resource_arn),
                ));
            }
            crate::channels::put(tx, &c)?;
            Ok(DeleteResourcePolicyResponse {})
        })
        .await
    }

    async fn start_logging(
        &self,
        ctx: &Call,
        input: StartLoggingRequest,
    ) -> Result<StartLoggingResponse, ApiError> {
        self.set_logging(ctx, input.name, true).await?;
        Ok(StartLoggingResponse {})
    }

    async fn stop_logging(
        &self,
        ctx: &Call,
        input: StopLoggingRequest,
    ) -> Result<StopLoggingResponse, ApiError> {
        self.set_logging(ctx, input.name, false).await?;
        Ok(StopLoggingResponse {})
    }

    async fn create_trail(
        &self,
        ctx: &Call,
        input: CreateTrailRequest,
    ) -> Result<CreateTrailResponse, ApiError> {
        let here = Here::of(ctx);
        let now = ctx.now_ms();
        let this = self.clone();
        trails::check_name(&input.name).map_err(|f| f.0)?;
        if input.is_multi_region_trail == Some(true)
            && input.include_global_service_events == Some(false)
        {
            // Checked before the bucket (moto's tests, believed captured from AWS).
            return Err(ApiError::new(
                Error::InvalidParameterCombinationException,
                "Multi-Region trail must include global service events.",
            ));
        }
        self.check_bucket(&input.s3_bucket_name).await?;
        ctx.write(move |tx| {
            trails::check_name(&input.name)?;
            // An organization trail is the management account's, also when a delegated
            // administrator creates it.
            let owner = if input.is_organization_trail == Some(true) {
                this.check_org_trail(tx, &here.account)?
            } else {
                here.account.clone()
            };
            let visible = trails::visible(tx, &owner, &here.region)?;
            if visible.iter().any(|t| t.name == input.name) {
                return Err(fail(
                    Error::TrailAlreadyExistsException,
                    format!(
                        "Trail {} already exists for customer: {}",
                        input.name, owner
                    ),
                ));
            }
            let homed = visible
                .iter()
                .filter(|t| t.home_region == here.region)
                .count();
            if homed >= trails::MAX_TRAILS_PER_REGION {
                return Err(fail(
                    Error::MaximumNumberOfTrailsExceededException,
                    format!(
                        "User: {} already has {} trails in {}.",
                        owner,
                        trails::MAX_TRAILS_PER_REGION,
                        here.region
                    ),
                ));
            }
            let mut t = trails::new_rec(
                input.name.clone(),
                owner.clone(),
                here.region.clone(),
                here.partition.clone(),
                String::new(),
                now,
            );
            Settings {
                bucket: Some(&input.s3_bucket_name),
                prefix: input.s3_key_prefix.as_deref(),
                sns_topic: input.sns_topic_name.as_deref(),
                include_global: input.include_global_service_events,
                multi_region: input.is_multi_region_trail,
                validation: input.enable_log_file_validation,
                cw_log_group: input.cloud_watch_logs_log_group_arn.as_deref(),
                cw_role: input.cloud_watch_logs_role_arn.as_deref(),
                kms_key: input.kms_key_id.as_deref(),
            }
            .apply(&mut t)?;
            t.organization = input.is_organization_trail == Some(true);
            if let Some(tags) = &input.tags_list {
                trails::merge_tags(&mut t.tags, tags)?;
            }
            trails::put(tx, &t)?;
            Ok(create_response(&t))
        })
        .await
    }

    async fn update_trail(
        &self,
        ctx: &Call,
        input: UpdateTrailRequest,
    ) -> Result<UpdateTrailResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        if let Some(bucket) = &input.s3_bucket_name {
            self.check_bucket(bucket).await?;
        }
        ctx.write(move |tx| {
            let mut t = this.find_own(tx, &here, &input.name)?;
            require_home(&t, &here.region)?;
            Settings {
                bucket: input.s3_bucket_name.as_deref(),
                prefix: input.s3_key_prefix.as_deref(),
                sns_topic: input.sns_topic_name.as_deref(),
                include_global: input.include_global_service_events,
                multi_region: input.is_multi_region_trail,
                validation: input.enable_log_file_validation,
                cw_log_group: input.cloud_watch_logs_log_group_arn.as_deref(),
                cw_role: input.cloud_watch_logs_role_arn.as_deref(),
                kms_key: input.kms_key_id.as_deref(),
            }
            .apply(&mut t)?;
            if let Some(org) = input.is_organization_trail {
                if org && !t.organization {
                    let owner = this.check_org_trail(tx, &here.account)?;
                    if owner != t.account {
                        // Only the management account's own trail can become the
                        // organization's.
                        return Err(fail(
                            Error::NotOrganizationMasterAccountException,
                            format!(
                                "The request was rejected because this account {} is not the management account of the organization.",
                                here.account
                            ),
                        ));
                    }
                }
                t.organization = org;
            }
            // Turning a single-region trail multi-region must not collide with a trail of
            // the same name homed in another region.
            if t.multi_region {
                let clash = trails::of_account(tx, &here.account)?
                    .into_iter()
                    .any(|o| o.name == t.name && o.home_region != t.home_region);
                if clash {
                    return Err(fail(
                        Error::TrailAlreadyExistsException,
                        format!(
                            "Trail {} already exists for customer: {}",
                            t.name, here.account
                        ),
                    ));
                }
            }
            trails::put(tx, &t)?;
            Ok(update_response(&t))
        })
        .await
    }

    async fn delete_trail(
        &self,
        ctx: &Call,
        input: DeleteTrailRequest,
    ) -> Result<DeleteTrailResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        let now = ctx.now_ms();
        ctx.write(move |tx| {
            let t = this.find_own(tx, &here, &input.name)?;
            require_home(&t, &here.region)?;
            trails::delete(tx, &t)?;
            crate::delivery::forget(tx, &t, now)?;
            Ok(DeleteTrailResponse {})
        })
        .await
    }

    async fn get_trail(
        &self,
        ctx: &Call,
        input: GetTrailRequest,
    ) -> Result<GetTrailResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            let t = this.find_seen(tx, &here, &input.name)?;
            Ok(GetTrailResponse {
                trail: Some(t.to_api()),
            })
        })
        .await
    }

    async fn describe_trails(
        &self,
        ctx: &Call,
        input: DescribeTrailsRequest,
    ) -> Result<DescribeTrailsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            let shadows = input.include_shadow_trails.unwrap_or(true);
            let visible: Vec<TrailRec> = this
                .seen(tx, &here)?
                .into_iter()
                .filter(|t| shadows || t.home_region == here.region)
                .collect();
            let list = match input.trail_name_list.as_deref() {
                None | Some([]) => visible,
                Some(names) => {
                    // Each entry is a name or an ARN; entries naming no trail are left out.
                    let mut out: Vec<TrailRec> = Vec::new();
                    for given in names {
                        let r = trails::parse_ref(given)?;
                        for t in &visible {
                            let hit = match &r {
                                trails::TrailRef::Name(n) => &t.name == n,
                                trails::TrailRef::Arn {
                                    region,
                                    account,
                                    name,
                                } => {
                                    account == &t.account
                                        && region == &t.home_region
                                        && name == &t.name
                                }
                            };
                            if hit && !out.iter().any(|o| o.arn() == t.arn()) {
                                out.push(t.clone());
                            }
                        }
                    }
                    out
                }
            };
            Ok(DescribeTrailsResponse {
                trail_list: Some(list.iter().map(TrailRec::to_api).collect()),
            })
        })
        .await
    }

    async fn list_trails(
        &self,
        ctx: &Call,
        input: ListTrailsRequest,
    ) -> Result<ListTrailsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            // The trails seen from this region: those homed here, multi-region trails
            // homed elsewhere, and the organization's trails in a member account (moto's
            // tests, believed captured from AWS: a single-region trail homed elsewhere is
            // not listed). One page: a region holds at most five trails per account. A
            // `NextToken` from an earlier page ends the listing.
            if input.next_token.is_some() {
                return Ok(ListTrailsResponse {
                    next_token: None,
                    trails: Some(Vec::new()),
                });
            }
            let all = this.seen(tx, &here)?;
            Ok(ListTrailsResponse {
                next_token: None,
                trails: Some(all.iter().map(TrailRec::info).collect()),
            })
        })
        .await
    }

    async fn get_trail_status(
        &self,
        ctx: &Call,
        input: GetTrailStatusRequest,
    ) -> Result<GetTrailStatusResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            let t = this.find_seen(tx, &here, &input.name)?;
            // Only what happened: delivery times and errors as delivery recorded them.
            let st = crate::delivery::status(tx, &t)?;
            Ok(GetTrailStatusResponse {
                is_logging: Some(t.logging),
                latest_delivery_time: st.latest_delivery_ms.map(ts),
                latest_delivery_error: st.latest_delivery_error.clone(),
                latest_digest_delivery_time: st.latest_digest_delivery_ms.map(ts),
                latest_digest_delivery_error: st.latest_digest_delivery_error.clone(),
                start_logging_time: t.start_logging_ms.map(ts),
                stop_logging_time: t.stop_logging_ms.map(ts),
                time_logging_started: t.start_logging_ms.map(time_string),
                time_logging_stopped: t.stop_logging_ms.map(time_string),
                ..GetTrailStatusResponse::default()
            })
        })
        .await
    }

    async fn put_event_selectors(
        &self,
        ctx: &Call,
        input: PutEventSelectorsRequest,
    ) -> Result<PutEventSelectorsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.write(move |tx| {
            let mut t = this.find_own(tx, &here, &input.trail_name)?;
            require_home(&t, &here.region)?;
            match (&input.event_selectors, &input.advanced_event_selectors) {
                // The model lists InvalidEventSelectorsException (not InvalidParameter-
                // CombinationException) for PutEventSelectors; the text is ours.
                (Some(_), Some(_)) | (None, None) => {
                    return Err(fail(
                        Error::InvalidEventSelectorsException,
                        "You must specify either EventSelectors or AdvancedEventSelectors, but not both.",
                    ));
                }
                (Some(basic), None) => {
                    trails::check_event_selectors(basic)?;
                    t.event_selectors = Some(basic.clone());
                    t.advanced_selectors = None;
                }
                (None, Some(adv)) => {
                    trails::check_advanced_selectors(adv)?;
                    t.advanced_selectors = Some(adv.clone());
                    t.event_selectors = None;
                }
            }
            trails::put(tx, &t)?;
            Ok(PutEventSelectorsResponse {
                advanced_event_selectors: t.advanced_selectors.clone(),
                event_selectors: t.event_selectors.clone(),
                trail_arn: Some(t.arn()),
            })
        })
        .await
    }

    async fn get_event_selectors(
        &self,
        ctx: &Call,
        input: GetEventSelectorsRequest,
    ) -> Result<GetEventSelectorsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            let t = this.find_seen(tx, &here, &input.trail_name)?;
            Ok(GetEventSelectorsResponse {
                advanced_event_selectors: t.advanced_selectors.clone(),
                event_selectors: t.effective_event_selectors(),
                trail_arn: Some(t.arn()),
            })
        })
        .await
    }

    async fn put_insight_selectors(
        &self,
        ctx: &Call,
        input: PutInsightSelectorsRequest,
    ) -> Result<PutInsightSelectorsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.write(move |tx| {
            let name = insight_target(input.trail_name.as_deref())?;
            let mut t = this.find_own(tx, &here, name)?;
            require_home(&t, &here.region)?;
            let mut seen = Vec::new();
            for s in &input.insight_selectors {
                let Some(kind) = s.insight_type else {
                    return Err(fail(
                        Error::InvalidInsightSelectorsException,
                        "An InsightType is required for each insight selector.",
                    ));
                };
                if seen.contains(&kind) {
                    return Err(fail(
                        Error::InvalidInsightSelectorsException,
                        format!("Duplicate insight type: {}.", kind.as_str()),
                    ));
                }
                seen.push(kind);
            }
            t.insight_selectors = input.insight_selectors.clone();
            trails::put(tx, &t)?;
            Ok(PutInsightSelectorsResponse {
                event_data_store_arn: None,
                insight_selectors: Some(t.insight_selectors.clone()),
                insights_destination: None,
                trail_arn: Some(t.arn()),
            })
        })
        .await
    }

    async fn get_insight_selectors(
        &self,
        ctx: &Call,
        input: GetInsightSelectorsRequest,
    ) -> Result<GetInsightSelectorsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            let name = insight_target(input.trail_name.as_deref())?;
            let t = this.find_seen(tx, &here, name)?;
            if t.insight_selectors.is_empty() {
                return Err(fail(
                    Error::InsightNotEnabledException,
                    format!(
                        "Trail {} does not have Insights enabled. Edit the trail settings, and then try the operation again.",
                        t.arn()
                    ),
                ));
            }
            Ok(GetInsightSelectorsResponse {
                event_data_store_arn: None,
                insight_selectors: Some(t.insight_selectors.clone()),
                insights_destination: None,
                trail_arn: Some(t.arn()),
            })
        })
        .await
    }

    async fn add_tags(
        &self,
        ctx: &Call,
        input: AddTagsRequest,
    ) -> Result<AddTagsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.write(move |tx| {
            let mut t = this.tagged(tx, &here, &input.resource_id, true)?;
            trails::merge_tags(&mut t.tags, &input.tags_list)?;
            trails::put(tx, &t)?;
            Ok(AddTagsResponse {})
        })
        .await
    }

    async fn remove_tags(
        &self,
        ctx: &Call,
        input: RemoveTagsRequest,
    ) -> Result<RemoveTagsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.write(move |tx| {
            let mut t = this.tagged(tx, &here, &input.resource_id, true)?;
            // A tag given with a value is removed only when the value matches.
            t.tags.retain(|(k, v)| {
                !input
                    .tags_list
                    .iter()
                    .any(|r| &r.key == k && r.value.as_ref().is_none_or(|rv| rv == v))
            });
            trails::put(tx, &t)?;
            Ok(RemoveTagsResponse {})
        })
        .await
    }

    async fn list_tags(
        &self,
        ctx: &Call,
        input: ListTagsRequest,
    ) -> Result<ListTagsResponse, ApiError> {
        let here = Here::of(ctx);
        let this = self.clone();
        ctx.read(move |tx| {
            let mut out = Vec::new();
            for id in &input.resource_id_list {
                let t = this.tagged(tx, &here, id, false)?;
                out.push(ResourceTag {
                    resource_id: Some(id.clone()),
                    tags_list: Some(
                        t.tags
                            .iter()
                            .map(|(k, v)| Tag {
                                key: k.clone(),
                                value: Some(v.clone()),
                            })
                            .collect(),
                    ),
                });
            }
            Ok(ListTagsResponse {
                next_token: None,
                resource_tag_list: Some(out),
            })
        })
        .await
    }
}
