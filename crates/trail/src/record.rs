//! The CloudTrail record: an [`AuditEvent`] rendered in AWS's exact JSON shape and field order.
//!
//! One serializer ([`Record`]) serves both uses: [`to_record`] builds a `serde_json::Value`
//! (preserve_order keeps the field order), and [`write_record`] streams the same bytes
//! straight into a buffer for the recording hot path, without an intermediate `Value`.
//!
//! Field order follows AWS's own records:
//! `eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion, sourceIPAddress,
//! userAgent, [errorCode, errorMessage], requestParameters, responseElements, requestID,
//! eventID, readOnly, [resources], eventType, managementEvent, recipientAccountId,
//! eventCategory`. `tlsDetails` is omitted (Cairn does not terminate TLS itself).

use cairn_core::call::AuditResource;
use cairn_core::partition_of;
use cairn_core::{AuditEvent, Principal};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// The `eventVersion` Cairn writes.
///
/// AWS currently writes `"1.11"`, but everything 1.09–1.11 added (Identity Center
/// `onBehalfOf` / `credentialId` / `inScopeOf`, network-activity events, `eventContext`
/// enrichment) is either not emitted by Cairn yet or not documented precisely enough to
/// reproduce. 1.08 is the newest version whose complete field set we emit and can verify
/// against published samples, and every consumer that reads 1.11 reads 1.08. Bump it when
/// the first newer field is emitted.
pub const EVENT_VERSION: &str = "1.08";

/// `eventCategory` of every event Cairn records today.
pub const EVENT_CATEGORY_MANAGEMENT: &str = "Management";

/// The largest `requestParameters` or `responseElements` a record carries, in bytes of
/// JSON. A larger one is recorded as [`omitted`] — the CloudTrail User Guide, "CloudTrail
/// record contents": "CloudTrail truncates a field if the field's contents exceeds the
/// maximum field size. If a field is truncated, `omitted` is present with a value of `true`";
/// 100 KB is the size AWS answers for `responseElements` (re:Post, linking that page).
pub const MAX_ELEMENTS_BYTES: usize = 100 * 1024;

/// The longest `errorMessage` and `userAgent` a record keeps, in bytes (longer ones are cut
/// at a character boundary). AWS documents no figure; Cairn's bound keeps an event within
/// [`MAX_EVENT_BYTES`] whatever a client echoes into an error or sends as its user agent.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// The largest record, in bytes of JSON: AWS's 256 KB event size (CloudTrail quotas, and
/// the largest event CloudTrail Lake ingests). With the bounds above every record fits.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// What an omitted `requestParameters` / `responseElements` is recorded as.
pub fn omitted() -> Value {
    serde_json::json!({ "omitted": true })
}

/// Bytes of `value` as compact JSON, without building the text.
pub fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// `doc`, or [`omitted`] when it is larger than [`MAX_ELEMENTS_BYTES`]. `hint` is an upper
/// bound of its size when the caller knows one cheaply (the request body it came from):
/// under the limit, nothing is measured.
pub fn bound_elements(doc: Option<Value>, hint: Option<usize>) -> Option<Value> {
    match doc {
        Some(d)
            if hint.is_none_or(|h| h > MAX_ELEMENTS_BYTES) && json_len(&d) > MAX_ELEMENTS_BYTES =>
        {
            Some(omitted())
        }
        other => other,
    }
}

fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// `event` brought within the record bounds, or `None` when it already is. Cheap for the
/// common event: only a record longer than [`MAX_ELEMENTS_BYTES`] is looked at field by
/// field.
pub fn fitted(event: &AuditEvent, record_len: usize) -> Option<AuditEvent> {
    if record_len <= MAX_ELEMENTS_BYTES {
        return None;
    }
    let mut e = event.clone();
    e.request_parameters = bound_elements(e.request_parameters.take(), None);
    e.response_elements = bound_elements(e.response_elements.take(), None);
    if let Some(m) = e.error_message.as_mut() {
        cut(m, MAX_TEXT_BYTES);
    }
    cut(&mut e.user_agent, MAX_TEXT_BYTES);
    if json_len(&Record(&e)) > MAX_EVENT_BYTES {
        // Only many large resources could still exceed it: keep the record's core.
        e.request_parameters = e.request_parameters.map(|_| omitted());
        e.response_elements = e.response_elements.map(|_| omitted());
        e.resources.truncate(16);
    }
    (e != *event).then_some(e)
}

/// The record for `event` as a JSON value (field order preserved).
pub fn to_record(event: &AuditEvent) -> Value {
    let mut v = serde_json::to_value(Record(event)).unwrap_or(Value::Null);
    cairn_core::partition::render(&mut v, partition_of(&event.aws_region));
    v
}

/// Appends the record for `event`, compact JSON, to `out`.
///
/// The record is in the partition of its `awsRegion`: Cairn's ARNs (kept in `aws`, see
/// `cairn_core::partition`) are rendered into it, as the call's answer was.
pub fn write_record(event: &AuditEvent, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let start = out.len();
    serde_json::to_writer(&mut *out, &Record(event))?;
    let partition = partition_of(&event.aws_region);
    if partition != cairn_core::partition::CANONICAL
        && let Some(Ok(text)) = out.get(start..).map(std::str::from_utf8)
        && let std::borrow::Cow::Owned(rendered) =
            cairn_core::partition::render_text(text, partition)
    {
        out.truncate(start);
        out.extend_from_slice(rendered.as_bytes());
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), CloudTrail's `eventTime` format.
pub fn format_event_time(millis: i64) -> String {
    IsoSeconds(millis).to_string()
}

/// The `Username` LookupEvents reports and filters on: `root` for the root user, the user
/// name for an IAM user, the session name for a role session; none for anonymous calls.
pub fn lookup_username(principal: &Principal) -> Option<&str> {
    match principal {
        Principal::Root { .. } => Some("root"),
        Principal::IamUser { user_name, .. } => Some(user_name),
        Principal::AssumedRole { session_name, .. } => Some(session_name),
        Principal::FederatedUser { name, .. } => Some(name),
        // An Identity Center user's record names no user (its `userIdentity` has no
        // `userName`, only `onBehalfOf`).
        Principal::IdentityCenterUser(_) | Principal::OidcClient { .. } | Principal::Anonymous => {
            None
        }
    }
}

/// Serializes an [`AuditEvent`] as a CloudTrail record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a>(pub &'a AuditEvent);

impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("eventVersion", EVENT_VERSION)?;
        m.serialize_entry(
            "userIdentity",
            &UserIdentity {
                principal: &e.principal,
                recipient_account_id: &e.recipient_account_id,
                federated: e.federated.as_ref(),
            },
        )?;
        m.serialize_entry("eventTime", &IsoSeconds(e.event_time_ms))?;
        m.serialize_entry("eventSource", &e.event_source)?;
        m.serialize_entry("eventName", &e.event_name)?;
        m.serialize_entry("awsRegion", &e.aws_region)?;
        m.serialize_entry("sourceIPAddress", &e.source_ip)?;
        m.serialize_entry("userAgent", &e.user_agent)?;
        if let Some(code) = &e.error_code {
            m.serialize_entry("errorCode", code)?;
        }
        if let Some(message) = &e.error_message {
            m.serialize_entry("errorMessage", message)?;
        }
        m.serialize_entry("requestParameters", &e.request_parameters)?;
        m.serialize_entry("responseElements", &e.response_elements)?;
        if let Some(d) = &e.additional_event_data {
            m.serialize_entry("additionalEventData", d)?;
        }
        m.serialize_entry("requestID", &e.request_id)?;
        m.serialize_entry("eventID", &e.event_id)?;
        m.serialize_entry("readOnly", &e.read_only)?;
        if !e.resources.is_empty() {
            m.serialize_entry("resources", &Resources(&e.resources))?;
        }
        m.serialize_entry("eventType", &e.event_type)?;
        m.serialize_entry("managementEvent", &e.management_event)?;
        m.serialize_entry("recipientAccountId", &e.recipient_account_id)?;
        if let Some(d) = &e.service_event_details {
            m.serialize_entry("serviceEventDetails", d)?;
        }
        m.serialize_entry("eventCategory", EVENT_CATEGORY_MANAGEMENT)?;
        m.end()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, written without an intermediate `String` by `collect_str`.
#[derive(Debug, Clone, Copy)]
struct IsoSeconds(i64);

impl fmt::Display for IsoSeconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = time::OffsetDateTime::from_unix_timestamp(self.0.div_euclid(1000))
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

impl Serialize for IsoSeconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `arn:aws:iam::<acct>:role<path><name>`, `/` when the path is empty.
struct RoleArn<'a> {
    account_id: &'a str,
    path: &'a str,
    name: &'a str,
}

impl fmt::Display for RoleArn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { self.path };
        write!(
            f,
            "arn:aws:iam::{}:role{}{}",
            self.account_id, path, self.name
        )
    }
}

impl Serialize for RoleArn<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Any `Display` value serialized as a string without allocating.
struct Shown<T>(T);

impl<T: fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

struct UserIdentity<'a> {
    principal: &'a Principal,
    recipient_account_id: &'a str,
    federated: Option<&'a cairn_core::FederatedIdentity>,
}

impl Serialize for UserIdentity<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        match self.principal {
            Principal::Root {
                account_id,
                access_key_id,
                session,
            } => {
                m.serialize_entry("type", "Root")?;
                m.serialize_entry("principalId", account_id)?;
                m.serialize_entry(
                    "arn",
                    &Shown(format_args!("arn:aws:iam::{account_id}:root")),
                )?;
                m.serialize_entry("accountId", account_id)?;
                m.serialize_entry("accessKeyId", access_key_id)?;
                if let Some(session) = session {
                    m.serialize_entry("sessionContext", &UserSessionContext(session))?;
                }
            }
            Principal::IamUser {
                account_id,
                user_name,
                user_id,
                path,
                access_key_id,
                session,
            } => {
                let path = if path.is_empty() { "/" } else { path.as_str() };
                m.serialize_entry("type", "IAMUser")?;
                m.serialize_entry("principalId", user_id)?;
                m.serialize_entry(
                    "arn",
                    &Shown(format_args!(
                        "arn:aws:iam::{account_id}:user{path}{user_name}"
                    )),
                )?;
                m.serialize_entry("accountId", account_id)?;
                m.serialize_entry("accessKeyId", access_key_id)?;
                m.serialize_entry("userName", user_name)?;
                if let Some(session) = session {
                    m.serialize_entry("sessionContext", &UserSessionContext(session))?;
                }
            }
            Principal::AssumedRole {
                account_id,
                role_name,
                role_id,
                role_path,
                session_name,
                access_key_id,
                session,
            } => {
                m.serialize_entry("type", "AssumedRole")?;
                m.serialize_entry(
                    "principalId",
                    &Shown(format_args!("{role_id}:{session_name}")),
                )?;
                m.serialize_entry(
                    "arn",
                    &Shown(format_args!(
                        "arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"
                    )),
                )?;
                m.serialize_entry("accountId", account_id)?;
                m.serialize_entry("accessKeyId", access_key_id)?;
                m.serialize_entry(
                    "sessionContext",
                    &SessionContext {
                        account_id,
                        role_name,
                        role_id,
                        role_path,
                        issued_at_ms: session.issued_at_ms,
                        mfa_authenticated: session.mfa_authenticated,
                        source_identity: session.source_identity.as_deref(),
                        delegation_request_id: session.delegation_request_id.as_deref(),
                    },
                )?;
                if let Some(o) = &session.on_behalf_of {
                    // A role session from the access portal names the Identity Center user
                    // (User Guide, "CloudTrail userIdentity element": `onBehalfOf`).
                    m.serialize_entry(
                        "onBehalfOf",
                        &serde_json::json!({
                            "userId": o.user_id,
                            "identityStoreArn": o.identity_store_arn,
                        }),
                    )?;
                }
            }
            Principal::FederatedUser {
                account_id,
                name,
                issuer,
                access_key_id,
                session,
            } => {
                // CloudTrail User Guide, "CloudTrail userIdentity element": a
                // `GetFederationToken` session names its issuer (`IAMUser` or `Root`).
                m.serialize_entry("type", "FederatedUser")?;
                m.serialize_entry("principalId", &Shown(format_args!("{account_id}:{name}")))?;
                m.serialize_entry(
                    "arn",
                    &Shown(format_args!(
                        "arn:aws:sts::{account_id}:federated-user/{name}"
                    )),
                )?;
                m.serialize_entry("accountId", account_id)?;
                m.serialize_entry("accessKeyId", access_key_id)?;
                m.serialize_entry(
                    "sessionContext",
                    &FederatedSessionContext {
                        account_id,
                        issuer: issuer.as_ref(),
                        session,
                    },
                )?;
            }
            Principal::IdentityCenterUser(u) => {
                // A portal call made with an Identity Center user's bearer token or browser
                // session (User Guide, "CloudTrail userIdentity element": `type`,
                // `accountId`, `onBehalfOf` with `userId` and `identityStoreArn`,
                // `credentialId`).
                m.serialize_entry("type", "IdentityCenterUser")?;
                m.serialize_entry("accountId", &u.account_id)?;
                m.serialize_entry(
                    "onBehalfOf",
                    &serde_json::json!({
                        "userId": u.user_id,
                        "identityStoreArn": u.identity_store_arn,
                    }),
                )?;
                m.serialize_entry("credentialId", &u.credential_id)?;
            }
            Principal::OidcClient { .. } | Principal::Anonymous if self.federated.is_some() => {
                // A federated caller that proved who it is (CloudTrail User Guide, "Values
                // for AWS STS APIs with SAML and web identity federation": `type`,
                // `principalId` `<namequalifier>:<sub>`, `userName` the subject,
                // `identityProvider` the name qualifier; no account or key).
                if let Some(f) = self.federated.filter(|f| f.kind == "IdentityCenterUser") {
                    // A portal call made with an Identity Center user's bearer token (User
                    // Guide, "CloudTrail userIdentity element": `type`, `accountId`,
                    // `onBehalfOf` with `userId` and `identityStoreArn`, `credentialId`).
                    m.serialize_entry("type", &f.kind)?;
                    if !self.recipient_account_id.is_empty() {
                        m.serialize_entry("accountId", self.recipient_account_id)?;
                    }
                    m.serialize_entry(
                        "onBehalfOf",
                        &serde_json::json!({
                            "userId": f.principal_id,
                            "identityStoreArn": f.identity_provider,
                        }),
                    )?;
                    if let Some(c) = &f.credential_id {
                        m.serialize_entry("credentialId", c)?;
                    }
                } else if let Some(f) = self.federated {
                    m.serialize_entry("type", &f.kind)?;
                    m.serialize_entry("principalId", &f.principal_id)?;
                    m.serialize_entry("userName", &f.user_name)?;
                    m.serialize_entry("identityProvider", &f.identity_provider)?;
                }
            }
            Principal::OidcClient { .. } | Principal::Anonymous => {
                // AWS writes `Unknown` for callers it cannot attribute to an IAM identity
                // (unsigned portal / OIDC calls).
                m.serialize_entry("type", "Unknown")?;
                m.serialize_entry("principalId", "")?;
                m.serialize_entry("arn", "")?;
                if !self.recipient_account_id.is_empty() {
                    m.serialize_entry("accountId", self.recipient_account_id)?;
                }
                m.serialize_entry("accessKeyId", "")?;
            }
        }
        m.end()
    }
}

struct SessionContext<'a> {
    account_id: &'a str,
    role_name: &'a str,
    role_id: &'a str,
    role_path: &'a str,
    issued_at_ms: i64,
    mfa_authenticated: bool,
    source_identity: Option<&'a str>,
    delegation_request_id: Option<&'a str>,
}

impl Serialize for SessionContext<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("sessionIssuer", &SessionIssuer(self))?;
        m.serialize_entry("webIdFederationData", &EmptyObject)?;
        m.serialize_entry(
            "attributes",
            &SessionAttributes {
                creation_date: IsoSeconds(self.issued_at_ms),
                mfa_authenticated: self.mfa_authenticated,
            },
        )?;
        if let Some(source_identity) = self.source_identity {
            m.serialize_entry("sourceIdentity", source_identity)?;
        }
        if let Some(id) = self.delegation_request_id {
            m.serialize_entry(DELEGATION_REQUEST_ID, id)?;
        }
        m.end()
    }
}

/// The `sessionContext` of a federated user: the issuing IAM user (or root) and the
/// attributes.
struct FederatedSessionContext<'a> {
    account_id: &'a str,
    issuer: Option<&'a cairn_core::IssuingUser>,
    session: &'a cairn_core::Session,
}

impl Serialize for FederatedSessionContext<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("sessionIssuer", &FederationIssuer(self))?;
        m.serialize_entry("webIdFederationData", &EmptyObject)?;
        m.serialize_entry(
            "attributes",
            &SessionAttributes {
                creation_date: IsoSeconds(self.session.issued_at_ms),
                mfa_authenticated: self.session.mfa_authenticated,
            },
        )?;
        m.end()
    }
}

struct FederationIssuer<'a, 'b>(&'a FederatedSessionContext<'b>);

impl Serialize for FederationIssuer<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let account_id = c.account_id;
        let mut m = serializer.serialize_map(None)?;
        match c.issuer {
            Some(u) => {
                let path = if u.path.is_empty() {
                    "/"
                } else {
                    u.path.as_str()
                };
                m.serialize_entry("type", "IAMUser")?;
                m.serialize_entry("principalId", &u.user_id)?;
                m.serialize_entry(
                    "arn",
                    &Shown(format_args!(
                        "arn:aws:iam::{account_id}:user{path}{}",
                        u.user_name
                    )),
                )?;
                m.serialize_entry("accountId", account_id)?;
                m.serialize_entry("userName", &u.user_name)?;
            }
            None => {
                m.serialize_entry("type", "Root")?;
                m.serialize_entry("principalId", account_id)?;
                m.serialize_entry(
                    "arn",
                    &Shown(format_args!("arn:aws:iam::{account_id}:root")),
                )?;
                m.serialize_entry("accountId", account_id)?;
            }
        }
        m.end()
    }
}

/// Cairn's `sessionContext` member naming the temporary-delegation request that credentials
/// from `sts:GetDelegatedAccessToken` were traded in for (their identity is the accepting
/// user or role session). [M]: AWS's own form; CloudTrail's documentation shows none yet.
const DELEGATION_REQUEST_ID: &str = "delegationRequestId";

/// The `sessionContext` of an IAM user or root user signing with `GetSessionToken`
/// credentials: no issuer, just the attributes; or of a root session from `AssumeRoot`.
struct UserSessionContext<'a>(&'a cairn_core::Session);

impl Serialize for UserSessionContext<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        if !self.0.assumed_root {
            m.serialize_entry("sessionIssuer", &EmptyObject)?;
            m.serialize_entry("webIdFederationData", &EmptyObject)?;
        }
        m.serialize_entry(
            "attributes",
            &SessionAttributes {
                creation_date: IsoSeconds(self.0.issued_at_ms),
                mfa_authenticated: self.0.mfa_authenticated,
            },
        )?;
        if self.0.assumed_root {
            // A member account's root session from `sts:AssumeRoot`, as AWS records it:
            // `"assumedRoot": "true"` beside the attributes. [M]: that no `sessionIssuer`
            // or `webIdFederationData` is recorded with it.
            m.serialize_entry("assumedRoot", "true")?;
        }
        if let Some(id) = &self.0.delegation_request_id {
            m.serialize_entry(DELEGATION_REQUEST_ID, id)?;
        }
        m.end()
    }
}

struct SessionIssuer<'a, 'b>(&'a SessionContext<'b>);

impl Serialize for SessionIssuer<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("type", "Role")?;
        m.serialize_entry("principalId", c.role_id)?;
        m.serialize_entry(
            "arn",
            &RoleArn {
                account_id: c.account_id,
                path: c.role_path,
                name: c.role_name,
            },
        )?;
        m.serialize_entry("accountId", c.account_id)?;
        m.serialize_entry("userName", c.role_name)?;
        m.end()
    }
}

struct SessionAttributes {
    creation_date: IsoSeconds,
    mfa_authenticated: bool,
}

impl Serialize for SessionAttributes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("creationDate", &self.creation_date)?;
        m.serialize_entry(
            "mfaAuthenticated",
            if self.mfa_authenticated {
                "true"
            } else {
                "false"
            },
        )?;
        m.end()
    }
}

struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

struct Resources<'a>(&'a [AuditResource]);

impl Serialize for Resources<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for r in self.0 {
            seq.serialize_element(&ResourceEntry(r))?;
        }
        seq.end()
    }
}

struct ResourceEntry<'a>(&'a AuditResource);

impl Serialize for ResourceEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(None)?;
        m.serialize_entry("accountId", &self.0.account_id)?;
        m.serialize_entry("type", &self.0.resource_type)?;
        m.serialize_entry("ARN", &self.0.arn)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use serde_json::json;

    const ACCT: &str = "123456789012";
    /// 2024-02-03T04:05:06.789Z
    const T: i64 = 1_706_933_106_789;

    fn base(principal: Principal) -> AuditEvent {
        AuditEvent {
            event_time_ms: T,
            event_id: "6c4a1b9e-3f5d-4e2a-9b7c-0d1e2f3a4b5c".to_owned(),
            request_id: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".to_owned(),
            principal,
            event_source: "organizations.amazonaws.com".to_owned(),
            event_name: "DescribeOrganization".to_owned(),
            aws_region: "us-east-1".to_owned(),
            source_ip: "203.0.113.7".to_owned(),
            user_agent: "aws-cli/2.15.0".to_owned(),
            request_parameters: None,
            response_elements: None,
            error_code: None,
            error_message: None,
            read_only: true,
            event_type: "AwsApiCall".to_owned(),
            management_event: true,
            recipient_account_id: ACCT.to_owned(),
            resources: Vec::new(),
            federated: None,
            service_event_details: None,
            additional_event_data: None,
        }
    }

    /// Compact JSON of the record, checked to equal the streamed bytes.
    fn render(e: &AuditEvent) -> String {
        let via_value = serde_json::to_string(&to_record(e)).unwrap();
        let mut streamed = Vec::new();
        write_record(e, &mut streamed).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), via_value);
        via_value
    }

    /// Golden text: whitespace-insensitive but order-sensitive.
    fn golden(text: &str) -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        serde_json::to_string(&v).unwrap()
    }

    #[test]
    fn oversized_fields_are_omitted_or_cut_and_the_record_fits() {
        let root = || Principal::Root {
            account_id: ACCT.to_owned(),
            access_key_id: "AKIAEXAMPLE".to_owned(),
            session: None,
        };
        // A small event is left as it is, without being looked at.
        let small = base(root());
        assert_eq!(fitted(&small, render(&small).len()), None);
        let mut big = base(root());
        big.request_parameters = Some(json!({"name": "n".repeat(7 * 1024 * 1024)}));
        big.response_elements = Some(json!({"ok": "y".repeat(MAX_ELEMENTS_BYTES)}));
        big.error_message = Some("é".repeat(MAX_TEXT_BYTES));
        big.user_agent = "u".repeat(MAX_TEXT_BYTES + 1);
        let fit = fitted(&big, render(&big).len()).expect("it shrinks");
        assert_eq!(fit.request_parameters, Some(omitted()));
        assert_eq!(fit.response_elements, Some(omitted()));
        let message = fit.error_message.as_deref().unwrap();
        assert!(message.len() <= MAX_TEXT_BYTES && message.starts_with('é'));
        assert_eq!(fit.user_agent.len(), MAX_TEXT_BYTES);
        assert!(render(&fit).len() <= MAX_EVENT_BYTES);
        // Parameters just under the bound stay whole.
        let mut near = base(root());
        near.request_parameters = Some(json!({"n": "n".repeat(MAX_ELEMENTS_BYTES - 16)}));
        assert!(json_len(&near.request_parameters) <= MAX_ELEMENTS_BYTES);
        let kept = fitted(&near, render(&near).len());
        assert!(kept.is_none(), "nothing to change");
    }

    #[test]
    fn root_record() {
        let e = base(Principal::Root {
            account_id: ACCT.to_owned(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
            session: None,
        });
        let want = golden(
            r#"{
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "Root",
                "principalId": "123456789012",
                "arn": "arn:aws:iam::123456789012:root",
                "accountId": "123456789012",
                "accessKeyId": "AKIAIOSFODNN7EXAMPLE"
            },
            "eventTime": "2024-02-03T04:05:06Z",
            "eventSource": "organizations.amazonaws.com",
            "eventName": "DescribeOrganization",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": null,
            "responseElements": null,
            "requestID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "eventID": "6c4a1b9e-3f5d-4e2a-9b7c-0d1e2f3a4b5c",
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management"
        }"#,
        );
        assert_eq!(render(&e), want);
    }

    #[test]
    fn iam_user_record_with_resources_and_parameters() {
        let mut e = base(Principal::IamUser {
            account_id: ACCT.to_owned(),
            user_name: "Alice".to_owned(),
            user_id: "AIDAJ45Q7YFFAREXAMPLE".to_owned(),
            path: "/ops/".to_owned(),
            access_key_id: "AKIAI44QH8DHBEXAMPLE".to_owned(),
            session: None,
        });
        e.event_name = "CreateOrganizationalUnit".to_owned();
        e.read_only = false;
        e.request_parameters = Some(json!({"parentId": "r-ab12", "name": "Prod"}));
        e.response_elements =
            Some(json!({"organizationalUnit": {"id": "ou-ab12-34cd56ef", "name": "Prod"}}));
        e.resources = vec![AuditResource {
            arn: "arn:aws:organizations::123456789012:ou/o-abc/ou-ab12-34cd56ef".to_owned(),
            account_id: ACCT.to_owned(),
            resource_type: "AWS::Organizations::OrganizationalUnit".to_owned(),
        }];
        let want = golden(
            r#"{
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAJ45Q7YFFAREXAMPLE",
                "arn": "arn:aws:iam::123456789012:user/ops/Alice",
                "accountId": "123456789012",
                "accessKeyId": "AKIAI44QH8DHBEXAMPLE",
                "userName": "Alice"
            },
            "eventTime": "2024-02-03T04:05:06Z",
            "eventSource": "organizations.amazonaws.com",
            "eventName": "CreateOrganizationalUnit",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"parentId": "r-ab12", "name": "Prod"},
            "responseElements": {"organizationalUnit": {"id": "ou-ab12-34cd56ef", "name": "Prod"}},
            "requestID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "eventID": "6c4a1b9e-3f5d-4e2a-9b7c-0d1e2f3a4b5c",
            "readOnly": false,
            "resources": [{
                "accountId": "123456789012",
                "type": "AWS::Organizations::OrganizationalUnit",
                "ARN": "arn:aws:organizations::123456789012:ou/o-abc/ou-ab12-34cd56ef"
            }],
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management"
        }"#,
        );
        assert_eq!(render(&e), want);
    }

    #[test]
    fn iam_user_with_empty_path_gets_slash() {
        let e = base(Principal::IamUser {
            account_id: ACCT.to_owned(),
            user_name: "Bob".to_owned(),
            user_id: "AIDAEXAMPLEBOB".to_owned(),
            path: String::new(),
            access_key_id: "AKIAEXAMPLEBOB".to_owned(),
            session: None,
        });
        let v = to_record(&e);
        assert_eq!(
            v["userIdentity"]["arn"],
            "arn:aws:iam::123456789012:user/Bob"
        );
    }

    #[test]
    fn assumed_role_record() {
        let e = base(Principal::AssumedRole {
            account_id: ACCT.to_owned(),
            role_name: "AWSReservedSSO_Admin_0123456789abcdef".to_owned(),
            role_id: "AROAIDPPEZS35WEXAMPLE".to_owned(),
            role_path: "/aws-reserved/sso.amazonaws.com/".to_owned(),
            session_name: "alice".to_owned(),
            access_key_id: "ASIAIOSFODNN7EXAMPLE".to_owned(),
            session: std::sync::Arc::new(cairn_core::Session {
                issued_at_ms: 1_706_932_000_000,
                mfa_authenticated: false,
                source_identity: None,
                ..Default::default()
            }),
        });
        let want = golden(
            r#"{
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAIDPPEZS35WEXAMPLE:alice",
                "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice",
                "accountId": "123456789012",
                "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROAIDPPEZS35WEXAMPLE",
                        "arn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef",
                        "accountId": "123456789012",
                        "userName": "AWSReservedSSO_Admin_0123456789abcdef"
                    },
                    "webIdFederationData": {},
                    "attributes": {
                        "creationDate": "2024-02-03T03:46:40Z",
                        "mfaAuthenticated": "false"
                    }
                }
            },
            "eventTime": "2024-02-03T04:05:06Z",
            "eventSource": "organizations.amazonaws.com",
            "eventName": "DescribeOrganization",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": null,
            "responseElements": null,
            "requestID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "eventID": "6c4a1b9e-3f5d-4e2a-9b7c-0d1e2f3a4b5c",
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management"
        }"#,
        );
        assert_eq!(render(&e), want);
    }

    #[test]
    fn assumed_role_with_source_identity_mfa_and_default_path() {
        let e = base(Principal::AssumedRole {
            account_id: ACCT.to_owned(),
            role_name: "Deployer".to_owned(),
            role_id: "AROAEXAMPLEDEPLOYER".to_owned(),
            role_path: "/".to_owned(),
            session_name: "ci-42".to_owned(),
            access_key_id: "ASIAEXAMPLE".to_owned(),
            session: std::sync::Arc::new(cairn_core::Session {
                issued_at_ms: 0,
                mfa_authenticated: true,
                source_identity: Some("alice@example.com".to_owned()),
                ..Default::default()
            }),
        });
        let want = golden(
            r#"{
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEDEPLOYER",
                    "arn": "arn:aws:iam::123456789012:role/Deployer",
                    "accountId": "123456789012",
                    "userName": "Deployer"
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "1970-01-01T00:00:00Z", "mfaAuthenticated": "true"},
                "sourceIdentity": "alice@example.com"
            }"#,
        );
        let v = to_record(&e);
        assert_eq!(
            serde_json::to_string(&v["userIdentity"]["sessionContext"]).unwrap(),
            want
        );
    }

    #[test]
    fn anonymous_record_is_unknown() {
        let mut e = base(Principal::Anonymous);
        e.event_source = "sso.amazonaws.com".to_owned();
        e.event_name = "ListAccounts".to_owned();
        let v = to_record(&e);
        let want = golden(
            r#"{"type": "Unknown", "principalId": "", "arn": "", "accountId": "123456789012", "accessKeyId": ""}"#,
        );
        assert_eq!(serde_json::to_string(&v["userIdentity"]).unwrap(), want);
        e.recipient_account_id = String::new();
        let v = to_record(&e);
        let want =
            golden(r#"{"type": "Unknown", "principalId": "", "arn": "", "accessKeyId": ""}"#);
        assert_eq!(serde_json::to_string(&v["userIdentity"]).unwrap(), want);
    }

    /// The CloudTrail User Guide's `AssumeRoleWithSAML` example's `userIdentity`.
    #[test]
    fn saml_user_record() {
        let mut e = base(Principal::Anonymous);
        e.event_source = "sts.amazonaws.com".to_owned();
        e.event_name = "AssumeRoleWithSAML".to_owned();
        e.federated = Some(cairn_core::FederatedIdentity {
            kind: "SAMLUser".to_owned(),
            principal_id: "SampleUkh1i4+ExamplexL/jEvs=:SamlExample".to_owned(),
            user_name: "SamlExample".to_owned(),
            identity_provider: "bdGOnTesti4+ExamplexL/jEvs=".to_owned(),
            ..Default::default()
        });
        let v = to_record(&e);
        let want = golden(
            r#"{"type": "SAMLUser", "principalId": "SampleUkh1i4+ExamplexL/jEvs=:SamlExample", "userName": "SamlExample", "identityProvider": "bdGOnTesti4+ExamplexL/jEvs="}"#,
        );
        assert_eq!(serde_json::to_string(&v["userIdentity"]).unwrap(), want);
        assert_eq!(v["recipientAccountId"], "123456789012");
    }

    #[test]
    fn failed_call_record() {
        let mut e = base(Principal::Root {
            account_id: ACCT.to_owned(),
            access_key_id: "AKIAIOSFODNN7EXAMPLE".to_owned(),
            session: None,
        });
        e.event_source = "cloudtrail.amazonaws.com".to_owned();
        e.event_name = "UpdateTrail".to_owned();
        e.read_only = false;
        e.request_parameters = Some(json!({"name": "myTrail2"}));
        e.error_code = Some("TrailNotFoundException".to_owned());
        e.error_message = Some("Unknown trail: myTrail2 for the user: 123456789012".to_owned());
        let want = golden(
            r#"{
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "Root",
                "principalId": "123456789012",
                "arn": "arn:aws:iam::123456789012:root",
                "accountId": "123456789012",
                "accessKeyId": "AKIAIOSFODNN7EXAMPLE"
            },
            "eventTime": "2024-02-03T04:05:06Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "UpdateTrail",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0",
            "errorCode": "TrailNotFoundException",
            "errorMessage": "Unknown trail: myTrail2 for the user: 123456789012",
            "requestParameters": {"name": "myTrail2"},
            "responseElements": null,
            "requestID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
            "eventID": "6c4a1b9e-3f5d-4e2a-9b7c-0d1e2f3a4b5c",
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012",
            "eventCategory": "Management"
        }"#,
        );
        assert_eq!(render(&e), want);
    }

    #[test]
    fn event_time_format() {
        assert_eq!(format_event_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_event_time(T), "2024-02-03T04:05:06Z");
        assert_eq!(format_event_time(-1), "1969-12-31T23:59:59Z");
        // Out of `time`'s range: falls back to the epoch rather than failing.
        assert_eq!(format_event_time(i64::MAX), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn usernames_for_lookup() {
        let root = Principal::Root {
            account_id: ACCT.to_owned(),
            access_key_id: "AKIA".to_owned(),
            session: None,
        };
        assert_eq!(lookup_username(&root), Some("root"));
        assert_eq!(lookup_username(&Principal::Anonymous), None);
    }
}
