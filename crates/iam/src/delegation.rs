//! IAM temporary delegation: a partner (the *requestor* account) asks a customer (the *owner*
//! account) for temporary access with `CreateDelegationRequest`; an identity of the owner
//! account claims it (`AssociateDelegationRequest`), may forward it for approval
//! (`UpdateDelegationRequest`), accepts or rejects it, and releases the exchange token
//! (`SendDelegationToken`), which reaches the partner through its notification channel; the
//! partner trades it in with STS `GetDelegatedAccessToken` ([`trade_in`]) for credentials
//! that act as the accepting identity, scoped to the delegated permissions.
//!
//! Sources: IAM API Reference (CreateDelegationRequest, AssociateDelegationRequest,
//! AcceptDelegationRequest, RejectDelegationRequest, UpdateDelegationRequest,
//! SendDelegationToken, GetDelegationRequest, ListDelegationRequests, DelegationRequest,
//! DelegationPermission); STS API Reference (GetDelegatedAccessToken); IAM User Guide,
//! "Building your integration" (temporary-delegation-building-integration: states,
//! transitions, expiry).
//!
//! The state machine (User Guide): `UNASSIGNED → ASSIGNED` (associate), `ASSIGNED →
//! PENDING_APPROVAL` (update: forwarded with notes), `ASSIGNED | PENDING_APPROVAL → ACCEPTED`
//! (accept), `ASSIGNED | PENDING_APPROVAL | ACCEPTED → REJECTED` (reject), `ACCEPTED →
//! FINALIZED` (send). A request without action expires: `UNASSIGNED` after 1 day, every
//! other state 7 days after its last change (`ExpirationTime`); Cairn computes `EXPIRED` when
//! read rather than by a job, so an expired request refuses every transition.
//!
//! Where AWS is silent, Cairn's choices (each stated again where it is made):
//! - *Policy templates.* AWS maps `PolicyTemplateArn` to policy content registered during
//!   partner onboarding, which has no API. Cairn's stand-in: the ARN of a customer managed
//!   policy of the requestor account, whose default version is the template. A template
//!   parameter is written `{{Name}}` inside a string value, so that the template is itself
//!   a valid policy; a `string` parameter is replaced by its one value, and a string holding
//!   a `stringList` parameter becomes one string per value (spliced into its array, or an
//!   array where it stood alone): `"arn:aws:s3:::{{Buckets}}/*"`. Every placeholder needs a
//!   parameter and every parameter a placeholder; the result must be a valid identity
//!   policy (`PermissionPolicy`).
//! - *Notification channel.* An SNS topic ARN of the requestor account. Cairn has no SNS:
//!   notifications (state changes and the exchange token) are `notify.publish` jobs written
//!   into `<data-dir>/outbox/sns/` ([`cairn_core::notify`]).
//! - *Wrong states* answer `InvalidInput` naming the state; requests an account may not see
//!   answer `NoSuchEntity`, as IAM answers for entities of other accounts.
//! - *The root user* cannot accept: the delegated credentials must map to an IAM user or role
//!   session whose permissions the session policy narrows (a root session policy only denies
//!   in Cairn's engine, reserved for `AssumeRoot`).
//! - *The exchange token* is valid for `SessionDuration` from `FINALIZED` (the delegation
//!   period, User Guide: "The delegation period (exchange token validity) begins when the
//!   request reaches Finalized state"), may be traded in once, and only by the requestor
//!   account; the credentials expire when the delegation period ends.
//!
//! Spaces:
//!
//! | space            | key                                 | value             |
//! |------------------|-------------------------------------|-------------------|
//! | `iam.deleg`      | `<request id>`                      | [`DelegationRec`] |
//! | `iam.deleg_acct` | `<account>/<request id>`            | empty: who lists it (requestor, owner) |
//! | `iam.deleg_wf`   | `<requestor account>/<workflow id>` | request id        |
//! | `iam.deleg_tok`  | SHA-256 of the exchange token, hex  | request id        |

use crate::authz::{IDENTITY_POLICY, PERMISSIONS_BOUNDARY, principal_policy_documents};
use crate::common::{Ctx, fail, paginate, ts};
use crate::records::{self, load, save};
use cairn_api::iam::{Error, types};
use cairn_core::{Failure, Principal};
use cairn_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;

const REQUESTS: &str = "iam.deleg";
const BY_ACCOUNT: &str = "iam.deleg_acct";
const WORKFLOWS: &str = "iam.deleg_wf";
const TOKENS: &str = "iam.deleg_tok";

const DAY_MS: i64 = 86_400_000;
/// User Guide: `UNASSIGNED → EXPIRED (1 day)`.
const UNASSIGNED_TTL_MS: i64 = DAY_MS;
/// User Guide: every other state `→ EXPIRED (7 days)`.
const STATE_TTL_MS: i64 = 7 * DAY_MS;

/// The identity that accepted a request: what the delegated credentials act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub(crate) enum Approver {
    User {
        name: String,
        id: String,
        path: String,
    },
    Role {
        name: String,
        id: String,
        path: String,
        session: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Param {
    pub name: String,
    /// `string` or `stringList`.
    pub kind: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DelegationRec {
    pub v: u32,
    pub id: String,
    pub requestor: String,
    /// Who created it (ARN).
    pub requestor_arn: String,
    #[serde(default)]
    pub owner_account: Option<String>,
    /// The identity that associated it (ARN).
    #[serde(default)]
    pub owner_id: Option<String>,
    pub description: String,
    #[serde(default)]
    pub request_message: Option<String>,
    pub workflow_id: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
    pub channel: String,
    pub session_duration_s: i64,
    pub only_send_by_owner: bool,
    pub template_arn: String,
    pub parameters: Vec<Param>,
    /// The rendered permission policy.
    pub policy: String,
    /// The stored state (the wire name); [`DelegationRec::state`] adds expiry.
    pub state: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub rejection_reason: Option<String>,
    #[serde(default)]
    pub approver: Option<Approver>,
    #[serde(default)]
    pub approver_arn: Option<String>,
    #[serde(default)]
    pub finalized_ms: Option<i64>,
    #[serde(default)]
    pub token_used: bool,
}

impl DelegationRec {
    fn stored_state(&self) -> types::StateType {
        types::StateType::from_wire(&self.state).unwrap_or(types::StateType::Expired)
    }

    /// When the request expires in its present state.
    fn expires_ms(&self) -> i64 {
        match self.stored_state() {
            types::StateType::Unassigned => self.created_ms + UNASSIGNED_TTL_MS,
            _ => self.updated_ms + STATE_TTL_MS,
        }
    }

    /// The state at `now`: the stored one, or `EXPIRED` once its time is up.
    fn state(&self, now_ms: i64) -> types::StateType {
        let s = self.stored_state();
        if s != types::StateType::Expired && now_ms >= self.expires_ms() {
            types::StateType::Expired
        } else {
            s
        }
    }

    fn arn(&self) -> String {
        let account = self.owner_account.as_deref().unwrap_or(&self.requestor);
        format!("arn:aws:iam::{account}:delegation-request/{}", self.id)
    }

    /// Whether `account` may see the request: the requestor; the owner account once it is
    /// associated; while unassigned, the targeted account, or any account when none is
    /// targeted (the customer reaches it from the partner's link before associating it).
    fn visible_to(&self, account: &str) -> bool {
        account == self.requestor
            || match &self.owner_account {
                Some(owner) => owner == account,
                None => self.stored_state() == types::StateType::Unassigned,
            }
    }

    fn to_api(&self, now_ms: i64) -> types::DelegationRequest {
        let state = self.state(now_ms);
        types::DelegationRequest {
            approver_id: self.approver_arn.clone(),
            create_date: Some(ts(self.created_ms)),
            delegation_request_id: Some(self.id.clone()),
            description: Some(self.description.clone()),
            expiration_time: Some(ts(if state == types::StateType::Expired {
                self.expires_ms().min(now_ms)
            } else {
                self.expires_ms()
            })),
            notes: self.notes.clone(),
            only_send_by_owner: Some(self.only_send_by_owner),
            owner_account_id: self.owner_account.clone(),
            owner_id: self.owner_id.clone(),
            permission_policy: Some(self.policy.clone()),
            permissions: Some(types::DelegationPermission {
                policy_template_arn: Some(self.template_arn.clone()),
                parameters: (!self.parameters.is_empty()).then(|| {
                    self.parameters
                        .iter()
                        .map(|p| types::PolicyParameter {
                            name: Some(p.name.clone()),
                            r#type: types::PolicyParameterTypeEnum::from_wire(&p.kind),
                            values: Some(p.values.clone()),
                        })
                        .collect()
                }),
            }),
            redirect_url: self.redirect_url.clone(),
            rejection_reason: self.rejection_reason.clone(),
            request_message: self.request_message.clone(),
            requestor_id: Some(self.requestor.clone()),
            requestor_name: None,
            role_permission_restriction_arns: None,
            session_duration: i32::try_from(self.session_duration_s).ok(),
            state: Some(state),
            updated_time: Some(ts(self.updated_ms)),
        }
    }
}

fn no_such(id: &str) -> Failure {
    fail(
        Error::NoSuchEntityException,
        format!("The delegation request with ID {id} cannot be found."),
    )
}

fn invalid(message: impl Into<String>) -> Failure {
    fail(Error::InvalidInputException, message)
}

fn wrong_state(id: &str, state: types::StateType, action: &str) -> Failure {
    invalid(format!(
        "Delegation request {id} is in state {} and cannot be {action}.",
        state.as_str()
    ))
}

fn account_key(account: &str, id: &str) -> String {
    format!("{account}/{id}")
}

fn token_key(token: &str) -> String {
    let digest = sha2::Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request `id` as `c`'s account may see it.
pub(crate) fn visible(tx: &mut dyn Tx, c: &Ctx, id: &str) -> Result<DelegationRec, Failure> {
    let rec: Option<DelegationRec> = load(tx, REQUESTS, id)?;
    rec.filter(|r| r.visible_to(&c.account))
        .ok_or_else(|| no_such(id))
}

/// The request `id` for a decision of its owner account (associated to `c`'s account).
fn owned(tx: &mut dyn Tx, c: &Ctx, id: &str) -> Result<DelegationRec, Failure> {
    let rec = visible(tx, c, id)?;
    if rec.owner_account.as_deref() != Some(c.account.as_str()) {
        return Err(no_such(id));
    }
    Ok(rec)
}

fn store(tx: &mut dyn Tx, rec: &DelegationRec) -> Result<(), Failure> {
    save(tx, REQUESTS, &rec.id, rec)?;
    Ok(())
}

/// Queues a notification of `rec`'s new state to its channel (`token`: the exchange token).
fn notify(
    tx: &mut dyn Tx,
    c: &Ctx,
    rec: &DelegationRec,
    token: Option<&str>,
) -> Result<(), Failure> {
    let state = rec.stored_state().as_str();
    let mut message = serde_json::json!({
        "DelegationRequestId": rec.id,
        "RequestorWorkflowId": rec.workflow_id,
        "State": state,
        "OwnerAccountId": rec.owner_account,
        "UpdatedTime": ts(rec.updated_ms).to_iso8601(),
    });
    if let (Some(t), Some(m)) = (token, message.as_object_mut()) {
        m.insert("ExchangeToken".into(), Value::String(t.to_owned()));
        if let Some(f) = rec.finalized_ms {
            m.insert(
                "ExchangeTokenExpiration".into(),
                Value::String(ts(f + rec.session_duration_s * 1000).to_iso8601()),
            );
        }
    }
    let n = cairn_core::notify::Notification {
        topic_arn: rec.channel.clone(),
        subject: format!("IAM delegation request {} {state}", rec.id),
        message: message.to_string(),
        tag: format!("{}-{}-{}", rec.id, state.to_ascii_lowercase(), c.now_ms),
        at_ms: c.now_ms,
    };
    cairn_core::notify::enqueue(tx, &n)?;
    Ok(())
}

// ------------------------------------------------------------------------------ templates

/// The `{{Name}}` placeholders in `s`, in order.
fn placeholders(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find("}}") else { break };
        out.push(after.get(..end).unwrap_or_default());
        rest = after.get(end + 2..).unwrap_or_default();
    }
    out
}

/// Replaces the placeholders of one string value; `Err` names a misused parameter.
fn render_value(v: &Value, params: &[Param], used: &mut Vec<String>) -> Result<Value, Failure> {
    Ok(match v {
        Value::String(s) => {
            let names = placeholders(s);
            if names.is_empty() {
                return Ok(v.clone());
            }
            let find = |n: &str| {
                params.iter().find(|p| p.name == n).ok_or_else(|| {
                    invalid(format!("Missing value for policy template parameter {n}."))
                })
            };
            let mut out = s.clone();
            let mut list: Option<&Param> = None;
            for n in names {
                let p = find(n)?;
                used.push(p.name.clone());
                if p.kind == "stringList" {
                    if list.is_some_and(|l| l.name != p.name) {
                        return Err(invalid(format!(
                            "A policy template value may hold one stringList parameter, not several ({n})."
                        )));
                    }
                    list = Some(p);
                } else {
                    out = out.replace(&format!("{{{{{n}}}}}"), &p.values.concat());
                }
            }
            match list {
                // One value per list value, spliced into the enclosing array.
                Some(l) => {
                    let placeholder = format!("{{{{{}}}}}", l.name);
                    Value::Array(
                        l.values
                            .iter()
                            .map(|v| Value::String(out.replace(&placeholder, v)))
                            .collect(),
                    )
                }
                None => Value::String(out),
            }
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match render_value(item, params, used)? {
                    // A stringList element spliced into its array.
                    Value::Array(inner) if !item.is_array() => out.extend(inner),
                    other => out.push(other),
                }
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, item) in map {
                out.insert(k.clone(), render_value(item, params, used)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// The permission policy of `template` with `params` (Cairn's template form; module doc).
pub(crate) fn render(
    template_arn: &str,
    template: &str,
    params: &[Param],
) -> Result<String, Failure> {
    let doc: Value = serde_json::from_str(template)
        .map_err(|_| invalid(format!("Policy template {template_arn} is not valid JSON.")))?;
    let mut used = Vec::new();
    let rendered = render_value(&doc, params, &mut used)?;
    if let Some(unused) = params.iter().find(|p| !used.contains(&p.name)) {
        return Err(invalid(format!(
            "Policy template {template_arn} has no parameter {}.",
            unused.name
        )));
    }
    let text = rendered.to_string();
    cairn_policy::Policy::parse("", &text, cairn_policy::PolicyKind::Identity).map_err(|e| {
        invalid(format!(
            "The permissions of policy template {template_arn} are not a valid policy: {}",
            e.message()
        ))
    })?;
    Ok(text)
}

fn params_of(p: &types::DelegationPermission) -> Result<Vec<Param>, Failure> {
    let mut out: Vec<Param> = Vec::new();
    for (i, param) in p.parameters.iter().flatten().enumerate() {
        let n = i + 1;
        let name = param
            .name
            .clone()
            .ok_or_else(|| invalid(format!("Permissions.Parameters.{n}.Name is required.")))?;
        let kind = param
            .r#type
            .ok_or_else(|| invalid(format!("Permissions.Parameters.{n}.Type is required.")))?;
        let values = param.values.clone().unwrap_or_default();
        if out.iter().any(|o| o.name == name) {
            return Err(invalid(format!(
                "Duplicate policy template parameter {name}."
            )));
        }
        match kind {
            types::PolicyParameterTypeEnum::String if values.len() != 1 => {
                return Err(invalid(format!(
                    "Policy template parameter {name} of type string takes exactly one value."
                )));
            }
            types::PolicyParameterTypeEnum::StringList if values.is_empty() => {
                return Err(invalid(format!(
                    "Policy template parameter {name} of type stringList takes at least one value."
                )));
            }
            _ => {}
        }
        out.push(Param {
            name,
            kind: kind.as_str().to_owned(),
            values,
        });
    }
    Ok(out)
}

/// `arn:aws:sns:<region>:<account>:<topic>`: the account, when it is a topic ARN.
fn topic_account(arn: &str) -> Option<&str> {
    let mut parts = arn.strip_prefix("arn:aws:sns:")?.splitn(3, ':');
    let (region, account, topic) = (parts.next()?, parts.next()?, parts.next()?);
    (!region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !topic.is_empty()
        && !topic.contains(':'))
    .then_some(account)
}

// ----------------------------------------------------------------------------- operations

pub(crate) fn create(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateDelegationRequestRequest,
) -> Result<types::CreateDelegationRequestResponse, Failure> {
    let template_arn = input
        .permissions
        .policy_template_arn
        .clone()
        .ok_or_else(|| invalid("Permissions.PolicyTemplateArn is required."))?;
    if topic_account(&input.notification_channel) != Some(c.account.as_str()) {
        // Cairn: the channel is an SNS topic of the partner's own account (User Guide: "an
        // SNS topic ARN in your registered AWS account").
        return Err(invalid(format!(
            "NotificationChannel {} is not an Amazon SNS topic ARN of account {}.",
            input.notification_channel, c.account
        )));
    }
    let params = params_of(&input.permissions)?;
    // Cairn's stand-in for a registered template: a customer managed policy of the
    // requestor account (module doc).
    let template = records::parse_policy_arn(&template_arn)
        .filter(|(account, _, _)| *account == c.account)
        .map(|_| records::customer_policy(tx, &template_arn))
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            invalid(format!(
                "Policy template {template_arn} does not exist or is not registered for account {}.",
                c.account
            ))
        })?;
    let document = template
        .default_document()
        .ok_or_else(|| Failure::from(records::corrupt(records::POLICIES)))?
        .to_owned();
    let policy = render(&template_arn, &document, &params)?;
    let wf_key = format!("{}/{}", c.account, input.requestor_workflow_id);
    if tx.get(WORKFLOWS, wf_key.as_bytes())?.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!(
                "A delegation request with RequestorWorkflowId {} already exists.",
                input.requestor_workflow_id
            ),
        ));
    }
    let id = format!("dr-{}", c.ids.lower_alnum(24));
    let rec = DelegationRec {
        v: 1,
        id: id.clone(),
        requestor: c.account.clone(),
        requestor_arn: c.principal.arn(),
        owner_account: input.owner_account_id.clone(),
        owner_id: None,
        description: input.description.clone(),
        request_message: input.request_message.clone(),
        workflow_id: input.requestor_workflow_id.clone(),
        redirect_url: input.redirect_url.clone(),
        channel: input.notification_channel.clone(),
        session_duration_s: i64::from(input.session_duration),
        only_send_by_owner: input.only_send_by_owner.unwrap_or(false),
        template_arn,
        parameters: params,
        policy,
        state: types::StateType::Unassigned.as_str().to_owned(),
        created_ms: c.now_ms,
        updated_ms: c.now_ms,
        notes: None,
        rejection_reason: None,
        approver: None,
        approver_arn: None,
        finalized_ms: None,
        token_used: false,
    };
    store(tx, &rec)?;
    tx.put(WORKFLOWS, wf_key.as_bytes(), id.as_bytes())?;
    tx.put(BY_ACCOUNT, account_key(&c.account, &id).as_bytes(), b"")?;
    if let Some(owner) = &rec.owner_account
        && owner != &c.account
    {
        tx.put(BY_ACCOUNT, account_key(owner, &id).as_bytes(), b"")?;
    }
    Ok(types::CreateDelegationRequestResponse {
        // AWS's console page for the request; Cairn's console has none (yet).
        console_deep_link: Some(format!(
            "https://console.aws.amazon.com/iam/home#/delegation-requests/{id}"
        )),
        delegation_request_id: Some(id),
    })
}

pub(crate) fn get(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetDelegationRequestRequest,
) -> Result<types::GetDelegationRequestResponse, Failure> {
    let rec = visible(tx, c, &input.delegation_request_id)?;
    let (status, result) = if input.delegation_permission_check == Some(true) {
        match permission_check(tx, c, &rec.policy)? {
            Some(r) => (Some(types::PermissionCheckStatusType::Complete), Some(r)),
            None => (Some(types::PermissionCheckStatusType::Failed), None),
        }
    } else {
        (None, None)
    };
    Ok(types::GetDelegationRequestResponse {
        delegation_request: Some(rec.to_api(c.now_ms)),
        permission_check_status: status,
        permission_check_result: result,
    })
}

pub(crate) fn list(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListDelegationRequestsRequest,
) -> Result<types::ListDelegationRequestsResponse, Failure> {
    let prefix = format!("{}/", c.account);
    let mut items = Vec::new();
    for id in records::suffixes(tx, BY_ACCOUNT, &prefix)? {
        let Some(rec) = load::<DelegationRec>(tx, REQUESTS, &id)? else {
            continue;
        };
        if !rec.visible_to(&c.account) {
            continue;
        }
        if let Some(owner) = &input.owner_id
            && rec.owner_id.as_ref() != Some(owner)
        {
            continue;
        }
        items.push((id, rec.to_api(c.now_ms)));
    }
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListDelegationRequestsResponse {
        is_truncated: page.truncated(),
        marker: page.marker.clone(),
        delegation_requests: Some(page.items),
    })
}

pub(crate) fn associate(tx: &mut dyn Tx, c: &Ctx, id: &str) -> Result<(), Failure> {
    let mut rec = visible(tx, c, id)?;
    if rec.owner_account.as_ref().is_some_and(|o| o != &c.account) {
        return Err(no_such(id));
    }
    let state = rec.state(c.now_ms);
    if state != types::StateType::Unassigned {
        return Err(wrong_state(id, state, "associated"));
    }
    if rec.owner_account.is_none() && c.account != rec.requestor {
        tx.put(BY_ACCOUNT, account_key(&c.account, id).as_bytes(), b"")?;
    }
    rec.owner_account = Some(c.account.clone());
    rec.owner_id = Some(c.principal.arn());
    rec.state = types::StateType::Assigned.as_str().to_owned();
    rec.updated_ms = c.now_ms;
    store(tx, &rec)
}

pub(crate) fn update(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateDelegationRequestRequest,
) -> Result<(), Failure> {
    let id = &input.delegation_request_id;
    let mut rec = owned(tx, c, id)?;
    let state = rec.state(c.now_ms);
    if !matches!(
        state,
        types::StateType::Assigned | types::StateType::PendingApproval
    ) {
        return Err(wrong_state(id, state, "updated"));
    }
    if input.notes.is_some() {
        rec.notes.clone_from(&input.notes);
    }
    // API reference: "When the delegation request is updated, it reaches the
    // PENDING_APPROVAL state."
    rec.state = types::StateType::PendingApproval.as_str().to_owned();
    rec.updated_ms = c.now_ms;
    store(tx, &rec)?;
    notify(tx, c, &rec, None)
}

pub(crate) fn accept(tx: &mut dyn Tx, c: &Ctx, id: &str) -> Result<(), Failure> {
    let mut rec = owned(tx, c, id)?;
    let state = rec.state(c.now_ms);
    if !matches!(
        state,
        types::StateType::Assigned | types::StateType::PendingApproval
    ) {
        return Err(wrong_state(id, state, "accepted"));
    }
    // API reference: "IAM records the details and the state of the identity that called
    // this API. This is the identity that gets mapped to the delegated credential."
    let approver = match &c.principal {
        Principal::IamUser {
            user_name,
            user_id,
            path,
            ..
        } => Approver::User {
            name: user_name.clone(),
            id: user_id.clone(),
            path: path.clone(),
        },
        Principal::AssumedRole {
            role_name,
            role_id,
            role_path,
            session_name,
            ..
        } => Approver::Role {
            name: role_name.clone(),
            id: role_id.clone(),
            path: role_path.clone(),
            session: session_name.clone(),
        },
        // Cairn: the delegated credentials must be an IAM identity the session policy can
        // narrow (module doc).
        _ => {
            return Err(invalid(
                "A delegation request must be accepted by an IAM user or role session.",
            ));
        }
    };
    rec.approver = Some(approver);
    rec.approver_arn = Some(c.principal.arn());
    rec.state = types::StateType::Accepted.as_str().to_owned();
    rec.updated_ms = c.now_ms;
    store(tx, &rec)?;
    notify(tx, c, &rec, None)
}

pub(crate) fn reject(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::RejectDelegationRequestRequest,
) -> Result<(), Failure> {
    let id = &input.delegation_request_id;
    let mut rec = owned(tx, c, id)?;
    let state = rec.state(c.now_ms);
    if !matches!(
        state,
        types::StateType::Assigned | types::StateType::PendingApproval | types::StateType::Accepted
    ) {
        return Err(wrong_state(id, state, "rejected"));
    }
    rec.rejection_reason.clone_from(&input.notes);
    rec.state = types::StateType::Rejected.as_str().to_owned();
    rec.updated_ms = c.now_ms;
    store(tx, &rec)?;
    notify(tx, c, &rec, None)
}

/// `SendDelegationToken`: the exchange token, to the partner's channel. Answers nothing;
/// the caller kicks the job runner after the commit.
pub(crate) fn send_token(tx: &mut dyn Tx, c: &Ctx, id: &str) -> Result<(), Failure> {
    let mut rec = owned(tx, c, id)?;
    let state = rec.state(c.now_ms);
    if state != types::StateType::Accepted {
        return Err(wrong_state(id, state, "finalized"));
    }
    if rec.only_send_by_owner && rec.owner_id.as_deref() != Some(c.principal.arn().as_str()) {
        // API reference, CreateDelegationRequest `OnlySendByOwner`: "prevents any party
        // other than the owner from calling SendDelegationToken".
        return Err(crate::common::access_denied(
            &c.principal,
            "SendDelegationToken",
            &rec.arn(),
        ));
    }
    let token = format!("{}.{}", rec.id, c.ids.lower_alnum(48));
    tx.put(TOKENS, token_key(&token).as_bytes(), rec.id.as_bytes())?;
    rec.state = types::StateType::Finalized.as_str().to_owned();
    rec.finalized_ms = Some(c.now_ms);
    rec.updated_ms = c.now_ms;
    store(tx, &rec)?;
    notify(tx, c, &rec, Some(&token))
}

// ------------------------------------------------------------------------------- trade-in

/// What a trade-in token is worth: who the credentials act as, where, for how long, with
/// which session policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Trade {
    pub request_id: String,
    pub owner_account: String,
    pub approver: Approver,
    pub approver_arn: String,
    pub policy: String,
    pub expires_ms: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum TradeError {
    /// Not a token Cairn sent (or sent to another account).
    Unknown,
    /// Its delegation period is over, or its request expired.
    Expired,
    /// Traded in before.
    Used,
}

/// Spends `token` (STS `GetDelegatedAccessToken`, called by the requestor account `c`).
pub(crate) fn trade_in(
    tx: &mut dyn Tx,
    c: &Ctx,
    token: &str,
) -> Result<Result<Trade, TradeError>, Failure> {
    let Some(id) = tx.get(TOKENS, token_key(token).as_bytes())? else {
        return Ok(Err(TradeError::Unknown));
    };
    let id = String::from_utf8_lossy(&id).into_owned();
    let Some(mut rec) = load::<DelegationRec>(tx, REQUESTS, &id)? else {
        return Ok(Err(TradeError::Unknown));
    };
    if rec.requestor != c.account {
        return Ok(Err(TradeError::Unknown));
    }
    let (Some(finalized), Some(approver), Some(approver_arn), Some(owner)) = (
        rec.finalized_ms,
        rec.approver.clone(),
        rec.approver_arn.clone(),
        rec.owner_account.clone(),
    ) else {
        return Ok(Err(TradeError::Unknown));
    };
    let expires_ms = finalized + rec.session_duration_s * 1000;
    if rec.state(c.now_ms) != types::StateType::Finalized || c.now_ms >= expires_ms {
        return Ok(Err(TradeError::Expired));
    }
    if rec.token_used {
        return Ok(Err(TradeError::Used));
    }
    rec.token_used = true;
    store(tx, &rec)?;
    Ok(Ok(Trade {
        request_id: rec.id.clone(),
        owner_account: owner,
        approver,
        approver_arn,
        policy: rec.policy.clone(),
        expires_ms,
    }))
}

// ----------------------------------------------------------------------- permission check

/// `DelegationPermissionCheck`: whether the caller's own identity policies (and boundary)
/// allow every action × resource the permission policy's `Allow` statements name, with the
/// policy engine. `DENIED` when one is refused; `UNSURE` when a statement cannot be
/// enumerated (wildcard actions, `NotAction`/`NotResource`, conditions) or a wildcard
/// resource is refused for an action some `Allow` of the caller names; `ALLOWED` otherwise. `None` (status `FAILED`) when the caller's
/// policies cannot be read. The caller's session policies are not counted: what is checked
/// is the identity's permissions, which the delegated credentials are mapped to.
fn permission_check(
    tx: &mut dyn Tx,
    c: &Ctx,
    policy: &str,
) -> Result<Option<types::PermissionCheckResultType>, Failure> {
    use cairn_policy::{Context, DecisionEffect, Policies, PrincipalType, Request};
    use types::PermissionCheckResultType as R;
    let (kind, entity_arn) = match &c.principal {
        Principal::Root { .. } => return Ok(Some(R::Allowed)),
        Principal::IamUser {
            user_name, path, ..
        } => (
            PrincipalType::User,
            format!("arn:aws:iam::{}:user{path}{user_name}", c.account),
        ),
        Principal::AssumedRole {
            role_name,
            role_path,
            ..
        } => (
            PrincipalType::AssumedRole,
            format!("arn:aws:iam::{}:role{role_path}{role_name}", c.account),
        ),
        _ => return Ok(Some(R::Unsure)),
    };
    let Some(docs) = principal_policy_documents(tx, &c.account, &entity_arn)? else {
        return Ok(None);
    };
    let mut identity = Vec::new();
    let mut boundary = None;
    for (id, kind, doc) in &docs {
        let Ok(p) = cairn_policy::Policy::parse(id, doc, cairn_policy::PolicyKind::Identity) else {
            return Ok(None);
        };
        if kind == PERMISSIONS_BOUNDARY {
            boundary = Some(p);
        } else if kind == IDENTITY_POLICY {
            identity.push(p);
        }
    }
    let policies = Policies {
        identity: identity.iter().collect(),
        scp_levels: Vec::new(),
        rcp_levels: Vec::new(),
        resource: None,
        boundary: boundary.as_ref(),
        session: Vec::new(),
        scoped: Vec::new(),
    };
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Ok(None);
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return Ok(None),
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let wild = |s: &str| s.contains('*') || s.contains('?');
    let arn = c.principal.arn();
    let principal = cairn_policy::Principal::new(kind, &arn, &c.account);
    let context = Context::default();
    let mut unsure = false;
    for st in &statements {
        if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        if st.get("NotAction").is_some()
            || st.get("NotResource").is_some()
            || st.get("Condition").is_some()
        {
            unsure = true;
        }
        for action in strings(st.get("Action")) {
            if wild(&action) {
                unsure = true;
                continue;
            }
            for resource in strings(st.get("Resource")) {
                let request = Request {
                    principal,
                    action: &action,
                    resource: &resource,
                    resource_account: None,
                    context: &context,
                };
                if cairn_policy::evaluate(&request, &policies).effect != DecisionEffect::Allowed {
                    // A wildcard resource refused may still be allowed on the resources
                    // it stands for — unless no Allow of the caller names the action at all.
                    let named = identity.iter().any(|p| {
                        p.statements().iter().any(|s| {
                            s.effect() == cairn_policy::Effect::Allow && s.covers_action(&action)
                        })
                    });
                    if wild(&resource) && named {
                        unsure = true;
                    } else {
                        return Ok(Some(R::Denied));
                    }
                }
            }
        }
    }
    Ok(Some(if unsure { R::Unsure } else { R::Allowed }))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation panics"
)]
mod tests {
    use super::*;

    fn p(name: &str, kind: &str, values: &[&str]) -> Param {
        Param {
            name: name.into(),
            kind: kind.into(),
            values: values.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    const T: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":["arn:aws:iam::*:user{{Path}}{{UserNames}}","arn:aws:iam::*:user/x"]}]}"#;

    #[test]
    fn templates_render_strings_and_lists() {
        let out = render(
            "t",
            T,
            &[
                p("Path", "string", &["/ops/"]),
                p("UserNames", "stringList", &["alice", "bob"]),
            ],
        )
        .unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["Statement"][0]["Resource"],
            serde_json::json!([
                "arn:aws:iam::*:user/ops/alice",
                "arn:aws:iam::*:user/ops/bob",
                "arn:aws:iam::*:user/x"
            ])
        );
    }

    #[test]
    fn templates_refuse_missing_unused_and_misplaced_parameters() {
        let err = |params: &[Param]| render("t", T, params).unwrap_err().0.message;
        assert!(
            err(&[p("Path", "string", &["a/"])])
                .contains("Missing value for policy template parameter UserNames")
        );
        assert!(
            err(&[
                p("Path", "string", &["/"]),
                p("UserNames", "stringList", &["a"]),
                p("Extra", "string", &["x"]),
            ])
            .contains("has no parameter Extra")
        );
        assert!(
            err(&[
                p("Path", "stringList", &["a/"]),
                p("UserNames", "stringList", &["a"]),
            ])
            .contains("one stringList parameter")
        );
    }

    // ------------------------------------------------------------ the state machine

    use cairn_core::SeededIds;
    use cairn_store::Store;
    use std::sync::Arc;

    const PARTNER: &str = "111111111111";
    const OWNER: &str = "222222222222";
    const HOUR: i64 = 3_600_000;

    fn user(account: &str, name: &str, now_ms: i64) -> Ctx {
        Ctx {
            account: account.to_owned(),
            principal: Principal::IamUser {
                account_id: account.to_owned(),
                user_name: name.to_owned(),
                user_id: format!("AIDA{}", name.to_uppercase()),
                path: "/".to_owned(),
                access_key_id: "AKIAX".to_owned(),
                session: None,
            },
            now_ms,
            ids: Arc::new(SeededIds::new(now_ms.unsigned_abs())),
        }
    }

    fn at(c: &Ctx, now_ms: i64) -> Ctx {
        Ctx {
            now_ms,
            ..c.clone()
        }
    }

    fn run<R: Send + 'static>(
        store: &Store,
        f: impl FnMut(&mut dyn Tx) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, (String, String)> {
        store
            .write_blocking(f)
            .map_err(|Failure(e)| (e.code.to_string(), e.message))
    }

    /// A store with the partner's template and a request created at `t0` (`only_owner`:
    /// `OnlySendByOwner`); answers the store and the request ID.
    fn setup(only_owner: bool, owner: Option<&str>) -> (Store, String) {
        let store = Store::open_sqlite_memory().unwrap();
        let p = user(PARTNER, "partner", 0);
        let owner = owner.map(str::to_owned);
        let id = run(&store, move |tx| {
            crate::policies::create_policy(
                tx,
                &p,
                &types::CreatePolicyRequest {
                    policy_name: "tmpl".into(),
                    policy_document: T.into(),
                    ..Default::default()
                },
            )?;
            create(
                tx,
                &p,
                &types::CreateDelegationRequestRequest {
                    description: "d".into(),
                    notification_channel: format!("arn:aws:sns:us-east-1:{PARTNER}:t"),
                    only_send_by_owner: Some(only_owner),
                    owner_account_id: owner.clone(),
                    permissions: types::DelegationPermission {
                        policy_template_arn: Some(format!("arn:aws:iam::{PARTNER}:policy/tmpl")),
                        parameters: Some(vec![
                            types::PolicyParameter {
                                name: Some("Path".into()),
                                r#type: Some(types::PolicyParameterTypeEnum::String),
                                values: Some(vec!["/".into()]),
                            },
                            types::PolicyParameter {
                                name: Some("UserNames".into()),
                                r#type: Some(types::PolicyParameterTypeEnum::StringList),
                                values: Some(vec!["alice".into()]),
                            },
                        ]),
                    },
                    requestor_workflow_id: "wf-00001".into(),
                    session_duration: 3600,
                    ..Default::default()
                },
            )
            .map(|r| r.delegation_request_id.unwrap_or_default())
        })
        .unwrap();
        (store, id)
    }

    fn code<R: std::fmt::Debug>(r: Result<R, (String, String)>) -> String {
        r.expect_err("expected an error").0
    }

    /// Associates, accepts and sends as `alice` of the owner account at `t`.
    fn finalize(store: &Store, id: &str, t: i64) -> String {
        let o = user(OWNER, "alice", t);
        let id = id.to_owned();
        run(store, move |tx| {
            associate(tx, &o, &id)?;
            accept(tx, &o, &id)?;
            send_token(tx, &o, &id)
        })
        .unwrap();
        // The token, as the outbox job carries it.
        let job: Vec<Vec<u8>> = store
            .claim_jobs_blocking(
                &[cairn_core::notify::NOTIFY_KIND],
                "t",
                i64::MAX / 2,
                1_000,
                100,
            )
            .unwrap()
            .into_iter()
            .map(|j| j.payload)
            .collect();
        let finalized: Vec<Value> = job
            .iter()
            .map(|p| {
                let n: cairn_core::notify::Notification = serde_json::from_slice(p).unwrap();
                serde_json::from_str(&n.message).unwrap()
            })
            .filter(|m: &Value| m["State"] == "FINALIZED")
            .collect();
        finalized[0]["ExchangeToken"].as_str().unwrap().to_owned()
    }

    fn trade(store: &Store, account: &str, token: &str, t: i64) -> Result<Trade, TradeError> {
        let c = user(account, "partner", t);
        let token = token.to_owned();
        run(store, move |tx| trade_in(tx, &c, &token)).unwrap()
    }

    #[test]
    fn a_token_trades_in_once_for_the_approver_within_the_delegation_period() {
        let (store, id) = setup(false, None);
        let token = finalize(&store, &id, HOUR);
        let t = trade(&store, PARTNER, &token, HOUR + 1000).unwrap();
        assert_eq!(t.owner_account, OWNER);
        assert_eq!(t.approver_arn, format!("arn:aws:iam::{OWNER}:user/alice"));
        assert_eq!(t.expires_ms, 2 * HOUR);
        assert!(t.policy.contains("user/alice"));
        assert_eq!(
            trade(&store, PARTNER, &token, HOUR + 2000).unwrap_err(),
            TradeError::Used
        );
    }

    #[test]
    fn a_token_expires_with_the_delegation_period() {
        let (store, id) = setup(false, None);
        let token = finalize(&store, &id, HOUR);
        assert_eq!(
            trade(&store, PARTNER, &token, 2 * HOUR).unwrap_err(),
            TradeError::Expired
        );
    }

    #[test]
    fn only_the_requestor_account_trades_a_token_in() {
        let (store, id) = setup(false, None);
        let token = finalize(&store, &id, HOUR);
        assert_eq!(
            trade(&store, OWNER, &token, HOUR + 1).unwrap_err(),
            TradeError::Unknown
        );
        assert_eq!(
            trade(&store, PARTNER, "dr-nope.x", HOUR + 1).unwrap_err(),
            TradeError::Unknown
        );
    }

    #[test]
    fn an_unassigned_request_expires_after_a_day() {
        let (store, id) = setup(false, None);
        let o = user(OWNER, "alice", DAY_MS);
        let id2 = id.clone();
        let (c, m) = run(&store, move |tx| associate(tx, &o, &id2)).unwrap_err();
        assert_eq!(c, "InvalidInput");
        assert!(m.contains(&format!("{id} is in state EXPIRED")), "{m}");
    }

    #[test]
    fn transitions_out_of_order_are_refused_with_the_state() {
        let (store, id) = setup(false, None);
        let o = user(OWNER, "alice", 10);
        let (oc, i) = (o.clone(), id.clone());
        let (c, m) = run(&store, move |tx| accept(tx, &oc, &i)).unwrap_err();
        // Not yet associated: the owner account does not own it yet.
        assert_eq!(c, "NoSuchEntity", "{m}");
        let (oc, i) = (o.clone(), id.clone());
        run(&store, move |tx| associate(tx, &oc, &i)).unwrap();
        let (oc, i) = (o.clone(), id.clone());
        let (c, m) = run(&store, move |tx| send_token(tx, &oc, &i)).unwrap_err();
        assert_eq!(c, "InvalidInput");
        assert!(m.contains("is in state ASSIGNED"), "{m}");
        let (oc, i) = (o.clone(), id.clone());
        assert_eq!(
            code(run(&store, move |tx| associate(tx, &oc, &i))),
            "InvalidInput"
        );
        let (oc, i) = (at(&o, 20), id.clone());
        run(&store, move |tx| {
            reject(
                tx,
                &oc,
                &types::RejectDelegationRequestRequest {
                    delegation_request_id: i.clone(),
                    notes: Some("no".into()),
                },
            )
        })
        .unwrap();
        let (oc, i) = (at(&o, 30), id.clone());
        let (c, m) = run(&store, move |tx| accept(tx, &oc, &i)).unwrap_err();
        assert_eq!(c, "InvalidInput");
        assert!(m.contains("is in state REJECTED"), "{m}");
        // Seven days after its last change the rejected request is EXPIRED.
        let (oc, i) = (at(&o, 20 + STATE_TTL_MS), id);
        let got = run(&store, move |tx| {
            get(
                tx,
                &oc,
                &types::GetDelegationRequestRequest {
                    delegation_request_id: i.clone(),
                    delegation_permission_check: None,
                },
            )
        })
        .unwrap();
        let r = got.delegation_request.unwrap();
        assert_eq!(r.state, Some(types::StateType::Expired));
        assert_eq!(r.rejection_reason.as_deref(), Some("no"));
    }

    #[test]
    fn a_targeted_request_is_invisible_to_other_accounts() {
        let (store, id) = setup(false, Some(OWNER));
        let other = user("333333333333", "eve", 10);
        let i = id.clone();
        assert_eq!(
            code(run(&store, move |tx| associate(tx, &other, &i))),
            "NoSuchEntity"
        );
        let o = user(OWNER, "alice", 10);
        run(&store, move |tx| associate(tx, &o, &id)).unwrap();
    }

    #[test]
    fn only_the_owner_sends_when_only_send_by_owner() {
        let (store, id) = setup(true, None);
        let alice = user(OWNER, "alice", 10);
        let bob = user(OWNER, "bob", 20);
        let (a, i) = (alice.clone(), id.clone());
        run(&store, move |tx| associate(tx, &a, &i)).unwrap();
        let (b, i) = (bob.clone(), id.clone());
        run(&store, move |tx| accept(tx, &b, &i)).unwrap();
        let (b, i) = (bob, id.clone());
        assert_eq!(
            code(run(&store, move |tx| send_token(tx, &b, &i))),
            "AccessDenied"
        );
        let a = at(&alice, 30);
        run(&store, move |tx| send_token(tx, &a, &id)).unwrap();
    }

    #[test]
    fn the_root_user_cannot_accept() {
        let (store, id) = setup(false, None);
        let root = Ctx {
            principal: Principal::Root {
                account_id: OWNER.into(),
                access_key_id: "AKIAROOT".into(),
                session: None,
            },
            ..user(OWNER, "x", 10)
        };
        let (r, i) = (root.clone(), id.clone());
        run(&store, move |tx| associate(tx, &r, &i)).unwrap();
        assert_eq!(
            code(run(&store, move |tx| accept(tx, &root, &id))),
            "InvalidInput"
        );
    }

    #[test]
    fn topics_are_sns_arns() {
        assert_eq!(
            topic_account("arn:aws:sns:us-east-1:111122223333:partner"),
            Some("111122223333")
        );
        assert_eq!(topic_account("arn:aws:sqs:us-east-1:111122223333:q"), None);
        assert_eq!(topic_account("arn:aws:sns:us-east-1:1111:partner"), None);
    }
}
