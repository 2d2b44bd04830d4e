//! The identity store (Identity Center's built-in directory): users, groups and group
//! memberships — the `identitystore` API.
//!
//! Spaces (`<store>` is the identity store ID `d-…`; the facts behind the rules are in
//! `notes/identitystore-facts.md`):
//! - `sso.user` — `<store>/<user id>` → [`UserRec`];
//! - `sso.user_name` — `<store>/<user name, lower-case>` → user ID (user names are unique
//!   regardless of case);
//! - `sso.user_email` — `<store>/<email, lower-case>/<user id>` → user ID (`GetUserId` by
//!   `emails.value`);
//! - `sso.group` — `<store>/<group id>` → [`GroupRec`];
//! - `sso.group_name` — `<store>/<display name, lower-case>` → group ID (unique);
//! - `sso.ext` — `<store>/<USER|GROUP>/<hex sha-256 of issuer NUL id>` → user or group ID
//!   (external IDs are unique per kind);
//! - `sso.membership` — `<store>/<membership id>` → [`MembershipRec`];
//! - `sso.group_members` — `<store>/<group id>/<user id>` → membership ID;
//! - `sso.member_groups` — `<store>/<user id>/<group id>` → membership ID.
//!
//! IDs: users, groups and memberships get `<10 hex of the store>-<UUID>`, as AWS's do in
//! identity stores named `d-<10 hex>`; their ARNs are `arn:<partition>:identitystore:::
//! (user|group|membership)/<id>` (the model's `ResourceArn` pattern).

use crate::model::{self, FORMAT, InstanceRec, Page, bare_id, corrupt, get_json, put_json};
use cairn_api::identitystore::{Error, MODEL, Operation, types};
use cairn_core::{Failure, Ids, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const USERS: &str = "sso.user";
pub const USER_NAMES: &str = "sso.user_name";
pub const USER_EMAILS: &str = "sso.user_email";
pub const GROUPS: &str = "sso.group";
pub const GROUP_NAMES: &str = "sso.group_name";
pub const EXTERNAL_IDS: &str = "sso.ext";
pub const MEMBERSHIPS: &str = "sso.membership";
pub const GROUP_MEMBERS: &str = "sso.group_members";
pub const MEMBER_GROUPS: &str = "sso.member_groups";

/// Every space keyed `<store>/…` (what deleting an instance removes).
pub const STORE_SPACES: &[&str] = &[
    USERS,
    USER_NAMES,
    USER_EMAILS,
    GROUPS,
    GROUP_NAMES,
    EXTERNAL_IDS,
    MEMBERSHIPS,
    GROUP_MEMBERS,
    MEMBER_GROUPS,
];

/// `ListUsers`, `ListGroups`, … page size without `MaxResults` (the model allows 1–100).
const DEFAULT_PAGE: usize = 100;

/// Who is calling and when, for one transaction.
pub struct Ctx {
    pub account: String,
    pub caller_arn: String,
    pub now_ms: i64,
    /// Where people reach the access portal (`--public-url`): a user created with an email
    /// gets an invitation to set a password there. `None`: no invitations.
    pub portal_url: Option<String>,
}

/// A user: its attributes under the API's member names (`UserName`, `Name`, `Emails`, …,
/// `Extensions`), and what the store keeps about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRec {
    pub v: u32,
    pub id: String,
    pub attrs: Map<String, Value>,
    #[serde(default)]
    pub external_ids: Vec<(String, String)>,
    pub revision: u64,
    pub created_ms: i64,
    pub created_by: String,
    pub updated_ms: i64,
    pub updated_by: String,
}

impl UserRec {
    pub fn user_name(&self) -> Option<&str> {
        self.attrs.get("UserName").and_then(Value::as_str)
    }

    pub fn display_name(&self) -> Option<&str> {
        self.attrs.get("DisplayName").and_then(Value::as_str)
    }

    /// The values of `Emails[].Value`.
    pub fn emails(&self) -> Vec<String> {
        emails_of(&self.attrs)
    }
}

fn emails_of(attrs: &Map<String, Value>) -> Vec<String> {
    attrs
        .get("Emails")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| e.get("Value").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRec {
    pub v: u32,
    pub id: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub external_ids: Vec<(String, String)>,
    pub revision: u64,
    pub created_ms: i64,
    pub created_by: String,
    pub updated_ms: i64,
    pub updated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipRec {
    pub v: u32,
    pub id: String,
    pub group_id: String,
    pub user_id: String,
    pub created_ms: i64,
    pub created_by: String,
}

// ----------------------------------------------------------------------------- errors

fn validation(message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::ValidationException, message))
}

/// `ResourceNotFoundException` names the resource's type and ID (API Reference).
pub fn not_found(resource_type: &str, id: &str) -> Failure {
    // The identity store's text is AWS's (awslabs/ssosync#221); the others are moto's [M].
    let message = match resource_type {
        "IDENTITY_STORE" => format!("IdentityStore not present for IdentityStoreId: {id}"),
        "GROUP_MEMBERSHIP" => String::from("MEMBERSHIP not found."),
        other => format!("{other} not found."),
    };
    Failure(
        ApiError::new(Error::ResourceNotFoundException, message)
            .with("ResourceType", resource_type)
            .with("ResourceId", id),
    )
}

fn with_message(Failure(mut e): Failure, message: &str) -> Failure {
    e.message = message.to_owned();
    Failure(e)
}

fn conflict(reason: &str, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::ConflictException, message).with("Reason", reason))
}

fn duplicate(what: &str) -> Failure {
    conflict(
        "UNIQUENESS_CONSTRAINT_VIOLATION",
        format!("Duplicate {what}"),
    )
}

fn bad_token() -> Failure {
    validation("The pagination token is invalid.")
}

// ----------------------------------------------------------------------------- the store

/// The identity store `id` (an ID or its ARN) as `ctx`'s account may use it: the owner of
/// its instance, or — for an organization instance — a delegated administrator for
/// `sso.amazonaws.com`. Any other caller is told it does not exist.
pub fn require_store(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    account: &str,
    id: &str,
) -> Result<InstanceRec, Failure> {
    let store_id = bare_id(id);
    let missing = || not_found("IDENTITY_STORE", store_id);
    let Some(inst) = model::instance_of_store(tx, store_id)? else {
        return Err(missing());
    };
    if model::may_administer(tx, orgs, &inst, account)? {
        Ok(inst)
    } else {
        Err(missing())
    }
}

fn new_id(ids: &dyn Ids, inst: &InstanceRec) -> String {
    format!("{}-{}", inst.store_hex(), ids.uuid())
}

fn resource_arn(kind: &str, id: &str) -> String {
    format!(
        "arn:{}:identitystore:::{kind}/{id}",
        cairn_core::partition::CANONICAL
    )
}

fn key(store: &str, rest: &str) -> String {
    format!("{store}/{rest}")
}

fn ext_key(store: &str, kind: &str, issuer: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update(issuer.as_bytes());
    h.update([0u8]);
    h.update(id.as_bytes());
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{store}/{kind}/{digest}")
}

fn get_string(tx: &mut dyn Tx, space: &str, key: &str) -> Result<Option<String>, Failure> {
    match tx.get(space, key.as_bytes())? {
        None => Ok(None),
        Some(v) => String::from_utf8(v).map(Some).map_err(|_| corrupt(space)),
    }
}

pub fn user(tx: &mut dyn Tx, store: &str, id: &str) -> Result<Option<UserRec>, Failure> {
    get_json(tx, USERS, &key(store, bare_id(id)))
}

/// The user named `name` (user names are unique regardless of case).
pub fn user_by_name(tx: &mut dyn Tx, store: &str, name: &str) -> Result<Option<UserRec>, Failure> {
    match get_string(tx, USER_NAMES, &key(store, &name.to_lowercase()))? {
        None => Ok(None),
        Some(id) => user(tx, store, &id),
    }
}

/// The IDs of the groups `user_id` is a member of.
pub fn groups_of(tx: &mut dyn Tx, store: &str, user_id: &str) -> Result<Vec<String>, Failure> {
    let prefix = format!("{store}/{user_id}/");
    Ok(model::scan_strings(tx, MEMBER_GROUPS, &prefix)?
        .into_iter()
        .filter_map(|(k, _)| k.get(prefix.len()..).map(str::to_owned))
        .collect())
}

fn require_user(tx: &mut dyn Tx, store: &str, id: &str) -> Result<UserRec, Failure> {
    user(tx, store, id)?.ok_or_else(|| not_found("USER", bare_id(id)))
}

pub fn group(tx: &mut dyn Tx, store: &str, id: &str) -> Result<Option<GroupRec>, Failure> {
    get_json(tx, GROUPS, &key(store, bare_id(id)))
}

fn require_group(tx: &mut dyn Tx, store: &str, id: &str) -> Result<GroupRec, Failure> {
    group(tx, store, id)?.ok_or_else(|| not_found("GROUP", bare_id(id)))
}

fn ts(ms: i64) -> Option<cairn_wire::Timestamp> {
    Some(cairn_wire::Timestamp::from_millis(ms))
}

fn ts_json(ms: i64) -> Value {
    cairn_wire::Timestamp::from_millis(ms).to_json()
}

// ----------------------------------------------------------------------------- users

/// The members of `CreateUserRequest` a user's attributes may hold.
fn user_attribute_members() -> &'static [cairn_wire::model::Member] {
    let shape = Operation::CreateUser
        .def()
        .input
        .and_then(|id| MODEL.shape(id));
    match shape {
        Some(cairn_wire::model::Shape::Structure(s)) => s.members,
        _ => &[],
    }
}

/// Checks a user's attributes against the model (as `CreateUser` input), so an
/// `UpdateUser` result obeys the same constraints as a created user.
fn validate_user_attrs(attrs: &Map<String, Value>) -> Result<(), Failure> {
    let mut doc = attrs.clone();
    doc.insert("IdentityStoreId".into(), Value::from("d-0000000000"));
    let Some(shape) = Operation::CreateUser.def().input else {
        return Err(Failure(ApiError::internal()));
    };
    let doc = Value::Object(doc);
    match cairn_wire::validate::validate(&MODEL, shape, &doc) {
        Err(m) => Err(validation(format!(
            "Invalid attribute value at '{}': expected {}",
            m.path, m.expected
        ))),
        Ok(v) if v.is_empty() => Ok(()),
        Ok(v) => Err(Failure(cairn_wire::validate::violations_to_error(
            MODEL.validation,
            MODEL.protocol,
            &v,
        ))),
    }
}

/// Rules the model cannot state: at most one `Primary` value per multi-valued attribute, and
/// no blank user name.
fn check_user_rules(attrs: &Map<String, Value>) -> Result<(), Failure> {
    for attr in ["Emails", "PhoneNumbers", "Addresses", "Photos", "Roles"] {
        if let Some(list) = attrs.get(attr).and_then(Value::as_array) {
            let primaries = list
                .iter()
                .filter(|v| v.get("Primary").and_then(Value::as_bool) == Some(true))
                .count();
            if primaries > 1 {
                return Err(validation(format!(
                    "Only one {attr} attribute value can be marked as primary."
                )));
            }
        }
    }
    if let Some(name) = attrs.get("UserName").and_then(Value::as_str)
        && name.trim().is_empty()
    {
        return Err(validation("UserName must not be blank."));
    }
    Ok(())
}

/// Names Identity Center reserves for users and groups (API Reference, CreateUser and
/// CreateGroup).
const RESERVED_NAMES: &[&str] = &["Administrator", "AWSAdministrators"];

fn check_reserved(what: &str, name: &str) -> Result<(), Failure> {
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(validation(format!(
            "The {what} {name} is reserved and cannot be used."
        )));
    }
    Ok(())
}

/// What Identity Center requires of a user although the model does not: a user name, a
/// display name, and a name with given and family names (API Reference: "required when used
/// in IAM Identity Center"; texts as moto words them [M]).
fn check_required_user_attrs(attrs: &Map<String, Value>) -> Result<(), Failure> {
    if attrs.get("UserName").is_none() {
        return Err(validation("userName is a required attribute"));
    }
    let mut missing = Vec::new();
    if attrs.get("DisplayName").is_none() {
        missing.push("displayname");
    }
    match attrs.get("Name") {
        None => missing.push("name"),
        Some(n) => {
            if n.get("GivenName").is_none() {
                missing.push("givenname");
            }
            if n.get("FamilyName").is_none() {
                missing.push("familyname");
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(validation(
        missing
            .iter()
            .map(|a| format!("{a}: The attribute {a} is required"))
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// The index rows of a user (`(space, key)`; each row's value is the user's ID).
fn user_index(store: &str, rec: &UserRec) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if let Some(name) = rec.user_name() {
        rows.push((USER_NAMES, key(store, &name.to_lowercase())));
    }
    for email in rec.emails() {
        rows.push((
            USER_EMAILS,
            format!("{store}/{}/{}", email.to_lowercase(), rec.id),
        ));
    }
    for (issuer, id) in &rec.external_ids {
        rows.push((EXTERNAL_IDS, ext_key(store, "USER", issuer, id)));
    }
    rows
}

/// The index rows of a group, as [`user_index`].
fn group_index(store: &str, rec: &GroupRec) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if let Some(name) = &rec.display_name {
        rows.push((GROUP_NAMES, key(store, &name.to_lowercase())));
    }
    for (issuer, id) in &rec.external_ids {
        rows.push((EXTERNAL_IDS, ext_key(store, "GROUP", issuer, id)));
    }
    rows
}

/// Writes index rows pointing at `id`.
fn put_index(tx: &mut dyn Tx, rows: &[(&str, String)], id: &str) -> Result<(), Failure> {
    for (space, k) in rows {
        tx.put(space, k.as_bytes(), id.as_bytes())?;
    }
    Ok(())
}

fn delete_index(tx: &mut dyn Tx, rows: &[(&str, String)]) -> Result<(), Failure> {
    for (space, k) in rows {
        tx.delete(space, k.as_bytes())?;
    }
    Ok(())
}

fn check_user_name_free(
    tx: &mut dyn Tx,
    store: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), Failure> {
    match get_string(tx, USER_NAMES, &key(store, &name.to_lowercase()))? {
        Some(owner) if Some(owner.as_str()) != except => Err(duplicate("UserName")),
        _ => Ok(()),
    }
}

pub fn create_user(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    ids: &dyn Ids,
    c: &Ctx,
    input: &types::CreateUserRequest,
) -> Result<types::CreateUserResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let mut attrs = match serde_json::to_value(input) {
        Ok(Value::Object(m)) => m,
        _ => return Err(Failure(ApiError::internal())),
    };
    attrs.remove("IdentityStoreId");
    check_required_user_attrs(&attrs)?;
    check_user_rules(&attrs)?;
    if let Some(name) = attrs.get("UserName").and_then(Value::as_str) {
        check_reserved("user name", name)?;
        check_user_name_free(tx, &store, name, None)?;
    }
    let rec = UserRec {
        v: FORMAT,
        id: new_id(ids, &inst),
        attrs,
        external_ids: Vec::new(),
        revision: 1,
        created_ms: c.now_ms,
        created_by: c.caller_arn.clone(),
        updated_ms: c.now_ms,
        updated_by: c.caller_arn.clone(),
    };
    put_json(tx, USERS, &key(&store, &rec.id), &rec)?;
    put_index(tx, &user_index(&store, &rec), &rec.id)?;
    if let Some(url) = &c.portal_url {
        crate::signin::invite(tx, ids, c.now_ms, &inst, &rec, url, "invitation")?;
    }
    Ok(types::CreateUserResponse {
        identity_store_id: store,
        revision: rec.revision.to_string(),
        user_arn: resource_arn("user", &rec.id),
        user_id: rec.id,
    })
}

/// The user as `DescribeUser` answers, with the extensions named in `extensions` (none
/// without it, as AWS answers).
fn user_doc(inst: &InstanceRec, rec: &UserRec, extensions: Option<&[String]>) -> Value {
    let mut doc = rec.attrs.clone();
    if let (Some(Value::Object(all)), Some(wanted)) = (doc.remove("Extensions"), extensions) {
        let picked: Map<String, Value> = all
            .into_iter()
            .filter(|(k, _)| wanted.iter().any(|w| w == k))
            .collect();
        if !picked.is_empty() {
            doc.insert("Extensions".into(), Value::Object(picked));
        }
    }
    doc.insert("IdentityStoreId".into(), Value::from(inst.store_id.clone()));
    doc.insert("UserId".into(), Value::from(rec.id.clone()));
    doc.insert("UserArn".into(), Value::from(resource_arn("user", &rec.id)));
    doc.insert("Revision".into(), Value::from(rec.revision.to_string()));
    doc.insert("UserStatus".into(), Value::from("ENABLED"));
    doc.insert("CreatedAt".into(), ts_json(rec.created_ms));
    doc.insert("CreatedBy".into(), Value::from(rec.created_by.clone()));
    doc.insert("UpdatedAt".into(), ts_json(rec.updated_ms));
    doc.insert("UpdatedBy".into(), Value::from(rec.updated_by.clone()));
    if !rec.external_ids.is_empty() {
        doc.insert("ExternalIds".into(), external_ids_json(&rec.external_ids));
    }
    Value::Object(doc)
}

fn external_ids_json(ext: &[(String, String)]) -> Value {
    Value::Array(
        ext.iter()
            .map(|(issuer, id)| serde_json::json!({"Issuer": issuer, "Id": id}))
            .collect(),
    )
}

/// One API shape as another with the same members.
fn reshape<T: Serialize, U: serde::de::DeserializeOwned>(value: &T) -> Result<U, Failure> {
    from_doc(serde_json::to_value(value).map_err(|_| Failure(ApiError::internal()))?)
}

fn from_doc<T: serde::de::DeserializeOwned>(doc: Value) -> Result<T, Failure> {
    serde_json::from_value(doc).map_err(|e| {
        tracing::error!(error = %e, "identity store record does not fit the API shape");
        Failure(ApiError::internal())
    })
}

pub fn describe_user(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DescribeUserRequest,
) -> Result<types::DescribeUserResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let rec = require_user(tx, &inst.store_id, &input.user_id)?;
    from_doc(user_doc(&inst, &rec, input.extensions.as_deref()))
}

/// The one filter `ListUsers` / `ListGroups` take (deprecated by AWS but served): an exact
/// match on `UserName` / `DisplayName`.
fn single_filter<'a>(
    filters: Option<&'a [types::Filter]>,
    allowed: &str,
) -> Result<Option<&'a str>, Failure> {
    let Some(f) = filters.and_then(<[types::Filter]>::first) else {
        return Ok(None);
    };
    if !f.attribute_path.eq_ignore_ascii_case(allowed) {
        return Err(validation(format!(
            "Filtering by {} is not supported; the supported attribute path is {allowed}.",
            f.attribute_path
        )));
    }
    Ok(Some(f.attribute_value.as_str()))
}

pub fn list_users(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::ListUsersRequest,
) -> Result<types::ListUsersResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let filter = single_filter(input.filters.as_deref(), "UserName")?;
    let page = Page::with_default(
        format!("ListUsers/{}/{store}/{filter:?}", c.account),
        input.next_token.as_deref(),
        input.max_results,
        DEFAULT_PAGE,
        bad_token,
    )?;
    let extensions = input.extensions.as_deref();
    if let Some(name) = filter {
        // An exact user name: at most one user.
        let mut users = Vec::new();
        if page.is_first()
            && let Some(id) = get_string(tx, USER_NAMES, &key(&store, &name.to_lowercase()))?
            && let Some(rec) = user(tx, &store, &id)?
            && rec.user_name() == Some(name)
        {
            users.push(from_doc(user_doc(&inst, &rec, extensions))?);
        }
        return Ok(types::ListUsersResponse {
            next_token: None,
            users,
        });
    }
    let (rows, next_token) = page.scan::<UserRec>(tx, USERS, &format!("{store}/"))?;
    let mut users = Vec::with_capacity(rows.len());
    for (_, rec) in rows {
        users.push(from_doc(user_doc(&inst, &rec, extensions))?);
    }
    Ok(types::ListUsersResponse { next_token, users })
}

/// `name.givenName` → (`Name`, `GivenName`); `aws:identitystore:enterprise.costCenter` →
/// the extension's attribute. The model's paths are the API's member names in lower camel
/// case.
enum AttrPath {
    Top(String),
    Sub(String, String),
    Extension(String, Option<String>),
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn parse_user_path(path: &str) -> Result<AttrPath, Failure> {
    let invalid = || validation(format!("Invalid attribute path: {path}"));
    if path.contains(':') {
        let (ext, rest) = match path.split_once('.') {
            Some((e, r)) => (e, Some(r)),
            None => (path, None),
        };
        if !ext.starts_with("aws:identitystore:") || rest.is_some_and(|r| r.contains('.')) {
            return Err(invalid());
        }
        return Ok(AttrPath::Extension(ext.to_owned(), rest.map(str::to_owned)));
    }
    let mut parts = path.split('.');
    let top = upper_first(parts.next().unwrap_or_default());
    let sub = parts.next().map(upper_first);
    if parts.next().is_some() {
        return Err(invalid());
    }
    let member = user_attribute_members()
        .iter()
        .find(|m| m.name == top && m.name != "IdentityStoreId" && m.name != "Extensions")
        .ok_or_else(invalid)?;
    match sub {
        None => Ok(AttrPath::Top(top)),
        Some(sub) => match MODEL.shape(member.shape) {
            Some(cairn_wire::model::Shape::Structure(s)) if s.member(&sub).is_some() => {
                Ok(AttrPath::Sub(top, sub))
            }
            _ => Err(invalid()),
        },
    }
}

fn set_or_remove(map: &mut Map<String, Value>, key: String, value: Option<&Value>) {
    match value {
        None | Some(Value::Null) => {
            map.remove(&key);
        }
        Some(v) => {
            map.insert(key, api_names(v));
        }
    }
}

/// `UpdateUser` values name sub-attributes in lower camel case (`{"value", "type",
/// "primary"}`, as Terraform sends them to AWS); the stored user uses the API's member names.
fn api_names(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (upper_first(k), api_names(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(api_names).collect()),
        other => other.clone(),
    }
}

fn apply_user_op(
    attrs: &mut Map<String, Value>,
    op: &types::AttributeOperation,
) -> Result<(), Failure> {
    let value = op.attribute_value.as_ref();
    match parse_user_path(&op.attribute_path)? {
        AttrPath::Top(k) => set_or_remove(attrs, k, value),
        AttrPath::Sub(k, sub) => {
            let entry = attrs
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                set_or_remove(inner, sub, value);
                if inner.is_empty() {
                    attrs.remove(&k);
                }
            }
        }
        AttrPath::Extension(ext, attr) => {
            let exts = attrs
                .entry(String::from("Extensions"))
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(exts) = exts {
                // Extension attributes keep the names they are given.
                let raw = |map: &mut Map<String, Value>, k: String| match value {
                    None | Some(Value::Null) => {
                        map.remove(&k);
                    }
                    Some(v) => {
                        map.insert(k, v.clone());
                    }
                };
                match attr {
                    None => raw(exts, ext),
                    Some(a) => {
                        let e = exts
                            .entry(ext.clone())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(inner) = e {
                            raw(inner, a);
                            if inner.is_empty() {
                                exts.remove(&ext);
                            }
                        }
                    }
                }
                if exts.is_empty() {
                    attrs.remove("Extensions");
                }
            }
        }
    }
    Ok(())
}

fn check_revision(given: Option<&str>, current: u64) -> Result<(), Failure> {
    match given {
        Some(r) if r != current.to_string() => Err(conflict(
            "CONCURRENT_MODIFICATION",
            "The resource was modified since the given revision.",
        )),
        _ => Ok(()),
    }
}

pub fn update_user(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::UpdateUserRequest,
) -> Result<types::UpdateUserResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let old = require_user(tx, &store, &input.user_id)?;
    check_revision(input.revision.as_deref(), old.revision)?;
    let mut new = old.clone();
    for op in &input.operations {
        apply_user_op(&mut new.attrs, op)?;
    }
    validate_user_attrs(&new.attrs)?;
    check_required_user_attrs(&new.attrs)?;
    check_user_rules(&new.attrs)?;
    if let Some(name) = new.user_name()
        && old.user_name().map(str::to_lowercase) != Some(name.to_lowercase())
    {
        check_reserved("user name", name)?;
        check_user_name_free(tx, &store, name, Some(&old.id))?;
    }
    new.revision = old.revision.saturating_add(1);
    new.updated_ms = c.now_ms;
    new.updated_by = c.caller_arn.clone();
    delete_index(tx, &user_index(&store, &old))?;
    put_index(tx, &user_index(&store, &new), &new.id)?;
    put_json(tx, USERS, &key(&store, &new.id), &new)?;
    Ok(types::UpdateUserResponse {
        identity_store_id: store.clone(),
        revision: new.revision.to_string(),
        user_arn: resource_arn("user", &new.id),
        user_id: new.id.clone(),
    })
}

pub fn delete_user(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DeleteUserRequest,
) -> Result<types::DeleteUserResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let rec = require_user(tx, &store, &input.user_id)?;
    check_revision(input.revision.as_deref(), rec.revision)?;
    // Its memberships go with it.
    for (k, mid) in model::scan_strings(tx, MEMBER_GROUPS, &format!("{store}/{}/", rec.id))? {
        let gid = k.rsplit('/').next().unwrap_or_default().to_owned();
        remove_membership_rows(tx, &store, &mid, &gid, &rec.id)?;
    }
    crate::admin::remove_principal(tx, &inst, c.now_ms, "USER", &rec.id)?;
    delete_index(tx, &user_index(&store, &rec))?;
    tx.delete(USERS, key(&store, &rec.id).as_bytes())?;
    // Its password, browser sessions and tokens end with it.
    crate::signin::forget_user(tx, &store, &rec.id)?;
    Ok(types::DeleteUserResponse {})
}

fn unique_value(attr: &Value) -> Result<&str, Failure> {
    match attr.as_str() {
        Some(s) if !s.is_empty() => Ok(s),
        // moto's text [M].
        _ => Err(validation(
            "attribute value cannot be empty or null for attribute path",
        )),
    }
}

fn not_unique(path: &str) -> Failure {
    // moto's text [M].
    validation(format!("The attribute {path} is not a unique attribute"))
}

pub fn get_user_id(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::GetUserIdRequest,
) -> Result<types::GetUserIdResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let id = lookup(
        tx,
        &store,
        "USER",
        &input.alternate_identifier,
        |tx, path, value| {
            // Paths match regardless of case: Terraform's tests against AWS use `UserName` and
            // `Emails.Value`.
            match path.to_ascii_lowercase().as_str() {
                "username" => get_string(tx, USER_NAMES, &key(&store, &value.to_lowercase())),
                "emails.value" => Ok(model::scan_strings(
                    tx,
                    USER_EMAILS,
                    &format!("{store}/{}/", value.to_lowercase()),
                )?
                .into_iter()
                .next()
                .map(|(_, id)| id)),
                _ => Err(not_unique(path)),
            }
        },
    )?;
    Ok(types::GetUserIdResponse {
        identity_store_id: store,
        user_arn: resource_arn("user", &id),
        user_id: id,
    })
}

/// Resolves an `AlternateIdentifier` (an external ID, or a unique attribute through
/// `by_attribute`) to a user or group ID.
fn lookup(
    tx: &mut dyn Tx,
    store: &str,
    kind: &str,
    alt: &types::AlternateIdentifier,
    by_attribute: impl Fn(&mut dyn Tx, &str, &str) -> Result<Option<String>, Failure>,
) -> Result<String, Failure> {
    let (found, shown) = match (&alt.external_id, &alt.unique_attribute) {
        (Some(ext), None) => (
            get_string(
                tx,
                EXTERNAL_IDS,
                &ext_key(store, kind, &ext.issuer, &ext.id),
            )?,
            ext.id.clone(),
        ),
        (None, Some(u)) => {
            let value = unique_value(&u.attribute_value)?;
            (
                by_attribute(tx, &u.attribute_path, value)?,
                value.to_owned(),
            )
        }
        _ => {
            return Err(validation(
                "AlternateIdentifier must have exactly one of ExternalId or UniqueAttribute.",
            ));
        }
    };
    found.ok_or_else(|| not_found(kind, &shown))
}

// ----------------------------------------------------------------------------- groups

fn group_doc(inst: &InstanceRec, rec: &GroupRec) -> types::Group {
    types::Group {
        created_at: ts(rec.created_ms),
        created_by: Some(rec.created_by.clone()),
        description: rec.description.clone(),
        display_name: rec.display_name.clone(),
        external_ids: (!rec.external_ids.is_empty()).then(|| {
            rec.external_ids
                .iter()
                .map(|(issuer, id)| types::ExternalId {
                    id: id.clone(),
                    issuer: issuer.clone(),
                })
                .collect()
        }),
        group_arn: resource_arn("group", &rec.id),
        group_id: rec.id.clone(),
        identity_store_id: inst.store_id.clone(),
        revision: rec.revision.to_string(),
        updated_at: ts(rec.updated_ms),
        updated_by: Some(rec.updated_by.clone()),
    }
}

fn check_group_name_free(
    tx: &mut dyn Tx,
    store: &str,
    name: &str,
    except: Option<&str>,
) -> Result<(), Failure> {
    match get_string(tx, GROUP_NAMES, &key(store, &name.to_lowercase()))? {
        Some(owner) if Some(owner.as_str()) != except => Err(duplicate("GroupDisplayName")),
        _ => Ok(()),
    }
}

pub fn create_group(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    ids: &dyn Ids,
    c: &Ctx,
    input: &types::CreateGroupRequest,
) -> Result<types::CreateGroupResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    if let Some(name) = &input.display_name {
        if name.trim().is_empty() {
            return Err(validation("DisplayName must not be blank."));
        }
        check_reserved("group name", name)?;
        check_group_name_free(tx, &store, name, None)?;
    }
    let rec = GroupRec {
        v: FORMAT,
        id: new_id(ids, &inst),
        display_name: input.display_name.clone(),
        description: input.description.clone(),
        external_ids: Vec::new(),
        revision: 1,
        created_ms: c.now_ms,
        created_by: c.caller_arn.clone(),
        updated_ms: c.now_ms,
        updated_by: c.caller_arn.clone(),
    };
    put_json(tx, GROUPS, &key(&store, &rec.id), &rec)?;
    put_index(tx, &group_index(&store, &rec), &rec.id)?;
    Ok(types::CreateGroupResponse {
        group_arn: resource_arn("group", &rec.id),
        group_id: rec.id,
        identity_store_id: store,
        revision: rec.revision.to_string(),
    })
}

pub fn describe_group(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DescribeGroupRequest,
) -> Result<types::DescribeGroupResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let rec = require_group(tx, &inst.store_id, &input.group_id)?;
    // DescribeGroup answers the members of `Group`.
    reshape(&group_doc(&inst, &rec))
}

pub fn list_groups(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::ListGroupsRequest,
) -> Result<types::ListGroupsResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let filter = single_filter(input.filters.as_deref(), "DisplayName")?;
    let page = Page::with_default(
        format!("ListGroups/{}/{store}/{filter:?}", c.account),
        input.next_token.as_deref(),
        input.max_results,
        DEFAULT_PAGE,
        bad_token,
    )?;
    if let Some(name) = filter {
        let mut groups = Vec::new();
        if page.is_first()
            && let Some(id) = get_string(tx, GROUP_NAMES, &key(&store, &name.to_lowercase()))?
            && let Some(rec) = group(tx, &store, &id)?
            && rec.display_name.as_deref() == Some(name)
        {
            groups.push(group_doc(&inst, &rec));
        }
        return Ok(types::ListGroupsResponse {
            groups,
            next_token: None,
        });
    }
    let (rows, next_token) = page.scan::<GroupRec>(tx, GROUPS, &format!("{store}/"))?;
    let groups = rows.iter().map(|(_, rec)| group_doc(&inst, rec)).collect();
    Ok(types::ListGroupsResponse { groups, next_token })
}

pub fn update_group(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::UpdateGroupRequest,
) -> Result<types::UpdateGroupResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let old = require_group(tx, &store, &input.group_id)?;
    check_revision(input.revision.as_deref(), old.revision)?;
    let mut new = old.clone();
    for op in &input.operations {
        let value = match &op.attribute_value {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(validation(format!(
                    "The value of {} must be a string.",
                    op.attribute_path
                )));
            }
        };
        if let Some(v) = &value
            && (v.is_empty() || v.chars().count() > 1024)
        {
            return Err(validation(format!(
                "The value of {} must be 1 to 1024 characters long.",
                op.attribute_path
            )));
        }
        match op.attribute_path.to_ascii_lowercase().as_str() {
            "displayname" => {
                let Some(v) = value else {
                    return Err(validation("The displayName of a group cannot be removed."));
                };
                if v.trim().is_empty() {
                    return Err(validation("DisplayName must not be blank."));
                }
                check_reserved("group name", &v)?;
                new.display_name = Some(v);
            }
            "description" => new.description = value,
            other => {
                return Err(validation(format!("Invalid attribute path: {other}")));
            }
        }
    }
    if let Some(name) = &new.display_name
        && old.display_name.as_ref().map(|n| n.to_lowercase()) != Some(name.to_lowercase())
    {
        check_group_name_free(tx, &store, name, Some(&old.id))?;
    }
    new.revision = old.revision.saturating_add(1);
    new.updated_ms = c.now_ms;
    new.updated_by = c.caller_arn.clone();
    delete_index(tx, &group_index(&store, &old))?;
    put_index(tx, &group_index(&store, &new), &new.id)?;
    put_json(tx, GROUPS, &key(&store, &new.id), &new)?;
    Ok(types::UpdateGroupResponse {
        group_arn: resource_arn("group", &new.id),
        group_id: new.id.clone(),
        identity_store_id: store.clone(),
        revision: new.revision.to_string(),
    })
}

pub fn delete_group(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DeleteGroupRequest,
) -> Result<types::DeleteGroupResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let rec = require_group(tx, &store, &input.group_id)?;
    check_revision(input.revision.as_deref(), rec.revision)?;
    for (k, mid) in model::scan_strings(tx, GROUP_MEMBERS, &format!("{store}/{}/", rec.id))? {
        let uid = k.rsplit('/').next().unwrap_or_default().to_owned();
        remove_membership_rows(tx, &store, &mid, &rec.id, &uid)?;
    }
    crate::admin::remove_principal(tx, &inst, c.now_ms, "GROUP", &rec.id)?;
    delete_index(tx, &group_index(&store, &rec))?;
    tx.delete(GROUPS, key(&store, &rec.id).as_bytes())?;
    Ok(types::DeleteGroupResponse {})
}

pub fn get_group_id(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::GetGroupIdRequest,
) -> Result<types::GetGroupIdResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let id = lookup(
        tx,
        &store,
        "GROUP",
        &input.alternate_identifier,
        |tx, path, value| match path.to_ascii_lowercase().as_str() {
            "displayname" => get_string(tx, GROUP_NAMES, &key(&store, &value.to_lowercase())),
            _ => Err(not_unique(path)),
        },
    )?;
    Ok(types::GetGroupIdResponse {
        group_arn: resource_arn("group", &id),
        group_id: id,
        identity_store_id: store,
    })
}

// ----------------------------------------------------------------------------- memberships

fn member_user(member: &types::MemberId) -> Result<&str, Failure> {
    member
        .user_id
        .as_deref()
        .map(bare_id)
        .ok_or_else(|| validation("MemberId must name a UserId."))
}

fn membership_doc(inst: &InstanceRec, rec: &MembershipRec) -> types::GroupMembership {
    types::GroupMembership {
        created_at: ts(rec.created_ms),
        created_by: Some(rec.created_by.clone()),
        group_id: Some(rec.group_id.clone()),
        identity_store_id: inst.store_id.clone(),
        member_id: Some(types::MemberId {
            user_id: Some(rec.user_id.clone()),
        }),
        membership_arn: resource_arn("membership", &rec.id),
        membership_id: rec.id.clone(),
        updated_at: ts(rec.created_ms),
        updated_by: Some(rec.created_by.clone()),
    }
}

fn remove_membership_rows(
    tx: &mut dyn Tx,
    store: &str,
    mid: &str,
    gid: &str,
    uid: &str,
) -> Result<(), Failure> {
    tx.delete(MEMBERSHIPS, key(store, mid).as_bytes())?;
    tx.delete(GROUP_MEMBERS, format!("{store}/{gid}/{uid}").as_bytes())?;
    tx.delete(MEMBER_GROUPS, format!("{store}/{uid}/{gid}").as_bytes())?;
    Ok(())
}

pub fn create_group_membership(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    ids: &dyn Ids,
    c: &Ctx,
    input: &types::CreateGroupMembershipRequest,
) -> Result<types::CreateGroupMembershipResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    // moto's texts [M].
    let g = group(tx, &store, &input.group_id)?.ok_or_else(|| {
        with_message(
            not_found("GROUP", bare_id(&input.group_id)),
            "Group does not exist",
        )
    })?;
    let uid = member_user(&input.member_id)?;
    let u = user(tx, &store, uid)?
        .ok_or_else(|| with_message(not_found("USER", uid), "Member does not exist"))?;
    if tx
        .get(
            GROUP_MEMBERS,
            format!("{store}/{}/{}", g.id, u.id).as_bytes(),
        )?
        .is_some()
    {
        return Err(conflict(
            "UNIQUENESS_CONSTRAINT_VIOLATION",
            "Member is already in the group.",
        ));
    }
    let rec = MembershipRec {
        v: FORMAT,
        id: new_id(ids, &inst),
        group_id: g.id.clone(),
        user_id: u.id.clone(),
        created_ms: c.now_ms,
        created_by: c.caller_arn.clone(),
    };
    put_json(tx, MEMBERSHIPS, &key(&store, &rec.id), &rec)?;
    tx.put(
        GROUP_MEMBERS,
        format!("{store}/{}/{}", g.id, u.id).as_bytes(),
        rec.id.as_bytes(),
    )?;
    tx.put(
        MEMBER_GROUPS,
        format!("{store}/{}/{}", u.id, g.id).as_bytes(),
        rec.id.as_bytes(),
    )?;
    Ok(types::CreateGroupMembershipResponse {
        identity_store_id: store,
        membership_arn: resource_arn("membership", &rec.id),
        membership_id: rec.id,
    })
}

fn require_membership(tx: &mut dyn Tx, store: &str, id: &str) -> Result<MembershipRec, Failure> {
    get_json(tx, MEMBERSHIPS, &key(store, bare_id(id)))?
        .ok_or_else(|| not_found("GROUP_MEMBERSHIP", bare_id(id)))
}

pub fn describe_group_membership(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DescribeGroupMembershipRequest,
) -> Result<types::DescribeGroupMembershipResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let rec = require_membership(tx, &inst.store_id, &input.membership_id)?;
    // DescribeGroupMembership answers the members of `GroupMembership`.
    reshape(&membership_doc(&inst, &rec))
}

pub fn delete_group_membership(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DeleteGroupMembershipRequest,
) -> Result<types::DeleteGroupMembershipResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let rec = require_membership(tx, &store, &input.membership_id)?;
    remove_membership_rows(tx, &store, &rec.id, &rec.group_id, &rec.user_id)?;
    Ok(types::DeleteGroupMembershipResponse {})
}

pub fn get_group_membership_id(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::GetGroupMembershipIdRequest,
) -> Result<types::GetGroupMembershipIdResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let gid = bare_id(&input.group_id);
    let uid = member_user(&input.member_id)?;
    let mid = get_string(tx, GROUP_MEMBERS, &format!("{store}/{gid}/{uid}"))?
        .ok_or_else(|| not_found("GROUP_MEMBERSHIP", &format!("{gid}/{uid}")))?;
    Ok(types::GetGroupMembershipIdResponse {
        identity_store_id: store,
        membership_arn: resource_arn("membership", &mid),
        membership_id: mid,
    })
}

fn memberships_page(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
    page: &Page,
    space: &str,
    prefix: &str,
) -> Result<(Vec<types::GroupMembership>, Option<String>), Failure> {
    let (rows, next) = page.scan_raw(tx, space, prefix)?;
    let mut out = Vec::with_capacity(rows.len());
    for (_, mid) in rows {
        let mid = String::from_utf8(mid).map_err(|_| corrupt(space))?;
        if let Some(rec) = get_json::<MembershipRec>(tx, MEMBERSHIPS, &key(&inst.store_id, &mid))? {
            out.push(membership_doc(inst, &rec));
        }
    }
    Ok((out, next))
}

pub fn list_group_memberships(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::ListGroupMembershipsRequest,
) -> Result<types::ListGroupMembershipsResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let g = require_group(tx, &store, &input.group_id)?;
    let page = Page::with_default(
        format!("ListGroupMemberships/{}/{store}/{}", c.account, g.id),
        input.next_token.as_deref(),
        input.max_results,
        DEFAULT_PAGE,
        bad_token,
    )?;
    let (group_memberships, next_token) = memberships_page(
        tx,
        &inst,
        &page,
        GROUP_MEMBERS,
        &format!("{store}/{}/", g.id),
    )?;
    Ok(types::ListGroupMembershipsResponse {
        group_memberships,
        next_token,
    })
}

pub fn list_group_memberships_for_member(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::ListGroupMembershipsForMemberRequest,
) -> Result<types::ListGroupMembershipsForMemberResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let u = require_user(tx, &store, member_user(&input.member_id)?)?;
    let page = Page::with_default(
        format!(
            "ListGroupMembershipsForMember/{}/{store}/{}",
            c.account, u.id
        ),
        input.next_token.as_deref(),
        input.max_results,
        DEFAULT_PAGE,
        bad_token,
    )?;
    let (group_memberships, next_token) = memberships_page(
        tx,
        &inst,
        &page,
        MEMBER_GROUPS,
        &format!("{store}/{}/", u.id),
    )?;
    Ok(types::ListGroupMembershipsForMemberResponse {
        group_memberships,
        next_token,
    })
}

pub fn is_member_in_groups(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::IsMemberInGroupsRequest,
) -> Result<types::IsMemberInGroupsResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let store = inst.store_id.clone();
    let u = require_user(tx, &store, member_user(&input.member_id)?)?;
    let mut results = Vec::with_capacity(input.group_ids.len());
    for gid in &input.group_ids {
        let gid = bare_id(gid);
        let exists = tx
            .get(MEMBER_GROUPS, format!("{store}/{}/{gid}", u.id).as_bytes())?
            .is_some();
        results.push(types::GroupMembershipExistenceResult {
            group_id: Some(gid.to_owned()),
            member_id: Some(types::MemberId {
                user_id: Some(u.id.clone()),
            }),
            membership_exists: Some(exists),
        });
    }
    Ok(types::IsMemberInGroupsResponse { results })
}

// ----------------------------------------------------------------------------- the stores

pub fn describe_identity_store(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::DescribeIdentityStoreRequest,
) -> Result<types::DescribeIdentityStoreResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    let network: Option<types::NetworkConfigurationDetails> =
        get_json(tx, NETWORK, &inst.store_id)?;
    Ok(types::DescribeIdentityStoreResponse {
        identity_store_arn: inst.store_arn(),
        identity_store_id: inst.store_id,
        network_configuration: network,
    })
}

/// `sso.store_network` — identity store ID → its `NetworkConfiguration` (kept and answered;
/// Cairn does not filter requests by source IP or VPC).
pub const NETWORK: &str = "sso.store_network";

pub fn update_identity_store(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::UpdateIdentityStoreRequest,
) -> Result<types::UpdateIdentityStoreResponse, Failure> {
    let inst = require_store(tx, orgs, &c.account, &input.identity_store_id)?;
    match &input.network_configuration {
        None => {
            tx.delete(NETWORK, inst.store_id.as_bytes())?;
        }
        Some(n) => {
            let details = types::NetworkConfigurationDetails {
                api_allow_source_ips: n.api_allow_source_ips.clone(),
                api_restrict_source_vpcs: n.api_restrict_source_vpcs.clone(),
                scim_allow_source_ips: n.scim_allow_source_ips.clone(),
                vpce_access_required: n.vpce_access_required,
            };
            put_json(tx, NETWORK, &inst.store_id, &details)?;
        }
    }
    Ok(types::UpdateIdentityStoreResponse {
        identity_store_arn: inst.store_arn(),
        identity_store_id: inst.store_id.clone(),
    })
}

pub fn list_identity_stores(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &Ctx,
    input: &types::ListIdentityStoresRequest,
) -> Result<types::ListIdentityStoresResponse, Failure> {
    let mut all = Vec::new();
    for (_, raw) in tx.scan_prefix(model::INSTANCES, b"", false, usize::MAX)? {
        let inst: InstanceRec =
            serde_json::from_slice(&raw).map_err(|_| corrupt(model::INSTANCES))?;
        if model::may_administer(tx, orgs, &inst, &c.account)? {
            all.push(inst);
        }
    }
    let page = Page::with_default(
        format!("ListIdentityStores/{}", c.account),
        input.next_token.as_deref(),
        input.max_results,
        DEFAULT_PAGE,
        bad_token,
    )?;
    let (items, next_token) = page.apply(all, |i| i.store_id.clone());
    Ok(types::ListIdentityStoresResponse {
        identity_stores: items
            .into_iter()
            .map(|i| types::IdentityStore {
                identity_store_arn: i.store_arn(),
                identity_store_id: i.store_id,
            })
            .collect(),
        next_token,
    })
}
