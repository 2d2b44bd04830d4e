//! The stored shape of an organization and the primitives every Organizations handler
//! shares: records, keys, IDs and ARNs, the tree, policy attachments, pagination tokens,
//! and the caller checks.
//!
//! # Spaces (keys are UTF-8; `/` separates parts; IDs never contain `/`)
//!
//! | space | key | value |
//! |---|---|---|
//! | `org.org` | `<org>` | [`Org`] |
//! | `org.member` | `<account>` | `<org>` (the account's organization) |
//! | `org.acct` | `<org>/<account>` | [`AccountRec`] (every member, the management account too) |
//! | `org.ou` | `<org>/<ou>` | [`OuRec`] |
//! | `org.child` | `<org>/<parent>/<A\|O>/<child>` | empty — children of a root or OU (`A` account, `O` OU) |
//! | `org.parent` | `<org>/<child>` | `<parent>` |
//! | `org.pol` | `<org>/<policy>` | [`PolicyRec`] (customer-managed; AWS-managed ones are built in) |
//! | `org.att` | `<org>/<target>/<policy>` | empty — policy attached to target |
//! | `org.tgt` | `<org>/<policy>/<target>` | empty — the reverse index |
//! | `org.tag` | `<org>/<resource id>/<tag key>` | tag value |
//! | `org.hs` | `<handshake>` | handshake record (handshakes module) |
//! | `org.hsacct` | `<account>/<handshake>` | empty — handshakes an account is party to |
//! | `org.hsorg` | `<org>/<handshake>` | empty — handshakes of an organization |
//! | `org.car` | `<car id>` | create-account request record (accounts module) |
//! | `org.carorg` | `<org>/<car id>` | empty |
//! | `org.svc` | `<org>/<service principal>` | trusted access record (delegation module) |
//! | `org.dadm` | `<org>/<account>/<service principal>` | delegated administrator record |
//! | `org.rp` | `<org>` | resource policy record |
//! | `org.xfer` | `<transfer id>` | responsibility transfer record (transfers module) |
//!
//! Every mutating handler writes through [`crate::authz::write`], which bumps the
//! Organizations generation once the write committed (the CreateAccount job, which writes
//! outside a call, bumps it itself).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cairn_api::organizations::{Error, types};
use cairn_core::{Failure, Ids};
use cairn_store::{StoreError, Tx};
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

pub const ORGS: &str = "org.org";
pub const MEMBERS: &str = "org.member";
pub const ACCOUNTS: &str = "org.acct";
pub const OUS: &str = "org.ou";
pub const CHILDREN: &str = "org.child";
pub const PARENTS: &str = "org.parent";
pub const POLICIES: &str = "org.pol";
pub const ATTACHED: &str = "org.att";
pub const TARGETS: &str = "org.tgt";
pub const TAGS: &str = "org.tag";
pub const HANDSHAKES: &str = "org.hs";
pub const HANDSHAKES_BY_ACCOUNT: &str = "org.hsacct";
pub const HANDSHAKES_BY_ORG: &str = "org.hsorg";
pub const CREATE_REQUESTS: &str = "org.car";
pub const CREATE_REQUESTS_BY_ORG: &str = "org.carorg";
pub const SERVICE_ACCESS: &str = "org.svc";
pub const DELEGATED_ADMINS: &str = "org.dadm";
pub const RESOURCE_POLICY: &str = "org.rp";
pub const TRANSFERS: &str = "org.xfer";

/// Stored-format version of the records.
pub const FORMAT: u32 = 1;

/// AWS's default quotas.
pub mod quota {
    /// Accounts per organization (AWS default; raisable — `CAIRN_ORG_MAX_ACCOUNTS`).
    pub const ACCOUNTS_DEFAULT: usize = 10;
    pub const OUS: usize = 2_000;
    /// OU nesting depth below the root.
    pub const OU_DEPTH: usize = 5;
    /// Policies of one type attached to one target (SCP/RCP: 5).
    pub const POLICIES_PER_TARGET: usize = 5;
    pub const POLICIES_PER_ORG: usize = 1_000;
}

// ----------------------------------------------------------------------------- records

/// A policy type enabled on the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnabledType {
    /// `SERVICE_CONTROL_POLICY`, …
    pub policy_type: String,
    /// `ENABLED`, `PENDING_ENABLE`, `PENDING_DISABLE`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    pub v: u32,
    pub id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    pub management_account_id: String,
    pub management_email: String,
    pub root_id: String,
    pub created_ms: i64,
    /// Policy types enabled on the (single) root.
    #[serde(default)]
    pub policy_types: Vec<EnabledType>,
}

impl Org {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.management_account_id, self.id
        )
    }

    pub fn root_arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:root/{}/{}",
            self.management_account_id, self.id, self.root_id
        )
    }

    pub fn account_arn(&self, account_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:account/{}/{account_id}",
            self.management_account_id, self.id
        )
    }

    pub fn ou_arn(&self, ou_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:ou/{}/{ou_id}",
            self.management_account_id, self.id
        )
    }

    /// A customer-managed policy's ARN; the type is lower-cased (`service_control_policy`).
    pub fn policy_arn(&self, policy_type: &str, policy_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:policy/{}/{}/{policy_id}",
            self.management_account_id,
            self.id,
            policy_type.to_ascii_lowercase()
        )
    }

    /// `handshake_type` lower-case: `invite`, `enable_all_features`, ….
    pub fn handshake_arn(&self, handshake_type: &str, handshake_id: &str) -> String {
        format!(
            "arn:aws:organizations::{}:handshake/{}/{}/{handshake_id}",
            self.management_account_id,
            self.id,
            handshake_type.to_ascii_lowercase()
        )
    }

    pub fn is_all_features(&self) -> bool {
        self.feature_set == "ALL"
    }

    pub fn type_enabled(&self, policy_type: &str) -> bool {
        self.policy_types
            .iter()
            .any(|t| t.policy_type == policy_type && t.status == "ENABLED")
    }

    /// The `Organization` shape. `AvailablePolicyTypes` is deprecated by AWS and lists only
    /// the SCP type's status, as AWS does.
    pub fn to_api(&self) -> types::Organization {
        types::Organization {
            arn: Some(self.arn()),
            available_policy_types: Some(if self.is_all_features() {
                vec![types::PolicyTypeSummary {
                    r#type: Some(types::PolicyType::ServiceControlPolicy),
                    status: Some(types::PolicyTypeStatus::Enabled),
                }]
            } else {
                Vec::new()
            }),
            feature_set: types::OrganizationFeatureSet::from_wire(&self.feature_set),
            id: Some(self.id.clone()),
            master_account_arn: Some(self.account_arn(&self.management_account_id)),
            master_account_email: Some(self.management_email.clone()),
            master_account_id: Some(self.management_account_id.clone()),
        }
    }

    /// The `Root` shape, with the enabled policy types.
    pub fn root_api(&self) -> types::Root {
        types::Root {
            arn: Some(self.root_arn()),
            id: Some(self.root_id.clone()),
            name: Some(String::from("Root")),
            policy_types: Some(
                self.policy_types
                    .iter()
                    .map(|t| types::PolicyTypeSummary {
                        r#type: types::PolicyType::from_wire(&t.policy_type),
                        status: types::PolicyTypeStatus::from_wire(&t.status),
                    })
                    .collect(),
            ),
        }
    }
}

/// A member account as the organization records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRec {
    pub v: u32,
    pub id: String,
    pub name: String,
    pub email: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`.
    pub status: String,
    /// `INVITED` or `CREATED`.
    pub joined_method: String,
    pub joined_ms: i64,
    /// Set by `CloseAccount`.
    #[serde(default)]
    pub closed_ms: Option<i64>,
}

impl AccountRec {
    /// `State` (newer field): `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`.
    pub fn to_api(&self, org: &Org) -> types::Account {
        types::Account {
            arn: Some(org.account_arn(&self.id)),
            email: Some(self.email.clone()),
            id: Some(self.id.clone()),
            joined_method: types::AccountJoinedMethod::from_wire(&self.joined_method),
            joined_timestamp: Some(cairn_wire::Timestamp::from_millis(self.joined_ms)),
            name: Some(self.name.clone()),
            paths: None,
            state: types::AccountState::from_wire(&self.status),
            status: types::AccountStatus::from_wire(&self.status),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OuRec {
    pub v: u32,
    pub id: String,
    pub name: String,
    pub created_ms: i64,
}

/// A customer-managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRec {
    pub v: u32,
    pub id: String,
    pub name: String,
    pub description: String,
    /// `SERVICE_CONTROL_POLICY`, …
    pub policy_type: String,
    pub content: String,
}

/// The AWS-managed policies every organization has: `(id, name, type, description,
/// content)`. `p-FullAWSAccess` is attached to the root and to every new OU and account
/// while SCPs are enabled; `p-RCPFullAWSAccess` likewise for RCPs.
pub const AWS_MANAGED: &[(&str, &str, &str, &str, &str)] = &[
    (
        "p-FullAWSAccess",
        "FullAWSAccess",
        "SERVICE_CONTROL_POLICY",
        "Allows access to every operation",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "p-RCPFullAWSAccess",
        "RCPFullAWSAccess",
        "RESOURCE_CONTROL_POLICY",
        "Allows access to every operation",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
    ),
];

/// A policy as handlers see it: stored or AWS-managed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnyPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub policy_type: String,
    pub content: String,
    pub aws_managed: bool,
}

impl AnyPolicy {
    pub fn arn(&self, org: &Org) -> String {
        if self.aws_managed {
            format!(
                "arn:aws:organizations::aws:policy/{}/{}",
                self.policy_type.to_ascii_lowercase(),
                self.id
            )
        } else {
            org.policy_arn(&self.policy_type, &self.id)
        }
    }

    pub fn summary(&self, org: &Org) -> types::PolicySummary {
        types::PolicySummary {
            arn: Some(self.arn(org)),
            aws_managed: Some(self.aws_managed),
            description: Some(self.description.clone()),
            id: Some(self.id.clone()),
            name: Some(self.name.clone()),
            r#type: types::PolicyType::from_wire(&self.policy_type),
        }
    }
}

/// The AWS-managed policy with this ID.
pub fn aws_managed(policy_id: &str) -> Option<AnyPolicy> {
    AWS_MANAGED.iter().find(|(id, ..)| *id == policy_id).map(
        |(id, name, ty, description, content)| AnyPolicy {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            description: (*description).to_owned(),
            policy_type: (*ty).to_owned(),
            content: (*content).to_owned(),
            aws_managed: true,
        },
    )
}

/// The AWS-managed "full access" policy of a type, if the type has one.
pub fn full_access_of(policy_type: &str) -> Option<&'static str> {
    match policy_type {
        "SERVICE_CONTROL_POLICY" => Some("p-FullAWSAccess"),
        "RESOURCE_CONTROL_POLICY" => Some("p-RCPFullAWSAccess"),
        _ => None,
    }
}

// ----------------------------------------------------------------------------- errors

pub fn corrupt(what: &str) -> Failure {
    Failure::from(StoreError::Backend(format!("corrupt {what} record")))
}

pub fn not_in_use() -> Failure {
    Failure(ApiError::new(
        Error::AWSOrganizationsNotInUseException,
        "Your account is not a member of an organization.",
    ))
}

pub fn access_denied() -> Failure {
    Failure(ApiError::new(
        Error::AccessDeniedException,
        "You don't have permissions to access this resource.",
    ))
}

/// `InvalidInputException` with its `Reason`.
pub fn invalid_input(reason: &str, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::InvalidInputException, message).with("Reason", reason))
}

/// `ConstraintViolationException` with its `Reason`.
pub fn constraint(reason: &str, message: impl Into<String>) -> Failure {
    Failure(ApiError::new(Error::ConstraintViolationException, message).with("Reason", reason))
}

// ----------------------------------------------------------------------------- records io

pub fn get_json<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    space: &str,
    key: &str,
) -> Result<Option<T>, Failure> {
    match tx.get(space, key.as_bytes())? {
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|_| corrupt(space)),
        None => Ok(None),
    }
}

pub fn put_json<T: Serialize>(
    tx: &mut dyn Tx,
    space: &str,
    key: &str,
    value: &T,
) -> Result<(), Failure> {
    let raw = serde_json::to_vec(value).map_err(|_| corrupt(space))?;
    tx.put(space, key.as_bytes(), &raw)?;
    Ok(())
}

/// Values of every key under `prefix` (ascending).
pub fn scan_json<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    space: &str,
    prefix: &str,
) -> Result<Vec<T>, Failure> {
    tx.scan_prefix(space, prefix.as_bytes(), false, usize::MAX)?
        .into_iter()
        .map(|(_, v)| serde_json::from_slice(&v).map_err(|_| corrupt(space)))
        .collect()
}

/// The last `/`-separated part of every key under `prefix` (ascending).
pub fn scan_ids(tx: &mut dyn Tx, space: &str, prefix: &str) -> Result<Vec<String>, Failure> {
    Ok(tx
        .scan_prefix(space, prefix.as_bytes(), false, usize::MAX)?
        .into_iter()
        .filter_map(|(k, _)| {
            let k = String::from_utf8(k).ok()?;
            k.rsplit('/').next().map(str::to_owned)
        })
        .collect())
}

// ----------------------------------------------------------------------------- org & caller

/// Accounts (management included) of the organization.
pub(crate) fn member_count(tx: &mut dyn Tx, org: &Org) -> Result<usize, Failure> {
    let n = tx.count(ACCOUNTS, format!("{}/", org.id).as_bytes())?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The organization `account_id` belongs to, if any.
pub fn org_of(tx: &mut dyn Tx, account_id: &str) -> Result<Option<Org>, Failure> {
    let Some(org_id) = tx.get(MEMBERS, account_id.as_bytes())? else {
        return Ok(None);
    };
    let org_id = String::from_utf8(org_id).map_err(|_| corrupt("membership"))?;
    get_json(tx, ORGS, &org_id)
}

/// An organization by ID.
pub fn get_org(tx: &mut dyn Tx, org_id: &str) -> Result<Option<Org>, Failure> {
    get_json(tx, ORGS, org_id)
}

/// The caller's organization, or `AWSOrganizationsNotInUseException`.
pub fn require_org(tx: &mut dyn Tx, account_id: &str) -> Result<Org, Failure> {
    org_of(tx, account_id)?.ok_or_else(not_in_use)
}

/// Only the management account may call this.
pub fn require_management(org: &Org, account_id: &str) -> Result<(), Failure> {
    if org.management_account_id == account_id {
        Ok(())
    } else {
        Err(access_denied())
    }
}

/// The management account, or a member registered as delegated administrator for any
/// service (AWS lets delegated administrators call Organizations' read-only operations).
pub fn require_management_or_delegated(
    tx: &mut dyn Tx,
    org: &Org,
    account_id: &str,
) -> Result<(), Failure> {
    if org.management_account_id == account_id
        || tx.count(
            DELEGATED_ADMINS,
            format!("{}/{account_id}/", org.id).as_bytes(),
        )? > 0
    {
        Ok(())
    } else {
        Err(access_denied())
    }
}

pub fn save_org(tx: &mut dyn Tx, org: &Org) -> Result<(), Failure> {
    put_json(tx, ORGS, &org.id, org)
}

// ----------------------------------------------------------------------------- ids

/// A new 12-digit account ID (first digit non-zero, unused).
pub fn new_account_id(tx: &mut dyn Tx, ids: &dyn Ids) -> Result<String, Failure> {
    for _ in 0..32 {
        let first = ids.pick(b"123456789", 1);
        let id = format!("{first}{}", ids.digits(11));
        if cairn_iam::accounts::get_account(tx, &id)?.is_none() {
            return Ok(id);
        }
    }
    Err(Failure(ApiError::internal()))
}

/// `ou-<root id without r->-<8 lower alnum>`.
pub fn new_ou_id(ids: &dyn Ids, root_id: &str) -> String {
    let root = root_id.strip_prefix("r-").unwrap_or(root_id);
    format!("ou-{root}-{}", ids.lower_alnum(8))
}

/// `p-<8 lower alnum>`.
pub fn new_policy_id(ids: &dyn Ids) -> String {
    format!("p-{}", ids.lower_alnum(8))
}

/// `h-<10 lower alnum>`.
pub fn new_handshake_id(ids: &dyn Ids) -> String {
    format!("h-{}", ids.lower_alnum(10))
}

/// `car-<32 lower hex>`.
pub fn new_create_request_id(ids: &dyn Ids) -> String {
    format!("car-{}", ids.hex(32))
}

// ----------------------------------------------------------------------------- tree

/// What kind of node an ID names, from its form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Root,
    Ou,
    Account,
}

impl NodeKind {
    pub fn of(id: &str) -> Option<NodeKind> {
        if id.starts_with("r-") {
            Some(NodeKind::Root)
        } else if id.starts_with("ou-") {
            Some(NodeKind::Ou)
        } else if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
            Some(NodeKind::Account)
        } else {
            None
        }
    }

    fn child_tag(self) -> &'static str {
        match self {
            NodeKind::Account => "A",
            NodeKind::Ou | NodeKind::Root => "O",
        }
    }
}

pub fn get_account_rec(
    tx: &mut dyn Tx,
    org: &Org,
    account_id: &str,
) -> Result<Option<AccountRec>, Failure> {
    get_json(tx, ACCOUNTS, &format!("{}/{account_id}", org.id))
}

pub fn put_account_rec(tx: &mut dyn Tx, org: &Org, rec: &AccountRec) -> Result<(), Failure> {
    put_json(tx, ACCOUNTS, &format!("{}/{}", org.id, rec.id), rec)
}

pub fn get_ou(tx: &mut dyn Tx, org: &Org, ou_id: &str) -> Result<Option<OuRec>, Failure> {
    get_json(tx, OUS, &format!("{}/{ou_id}", org.id))
}

pub fn put_ou(tx: &mut dyn Tx, org: &Org, rec: &OuRec) -> Result<(), Failure> {
    put_json(tx, OUS, &format!("{}/{}", org.id, rec.id), rec)
}

/// Whether a root/OU/account ID exists in this organization.
pub fn node_exists(tx: &mut dyn Tx, org: &Org, id: &str) -> Result<bool, Failure> {
    Ok(match NodeKind::of(id) {
        Some(NodeKind::Root) => id == org.root_id,
        Some(NodeKind::Ou) => get_ou(tx, org, id)?.is_some(),
        Some(NodeKind::Account) => get_account_rec(tx, org, id)?.is_some(),
        None => false,
    })
}

/// The parent (root or OU) of an OU or account.
pub fn parent_of(tx: &mut dyn Tx, org: &Org, child: &str) -> Result<Option<String>, Failure> {
    match tx.get(PARENTS, format!("{}/{child}", org.id).as_bytes())? {
        Some(raw) => String::from_utf8(raw)
            .map(Some)
            .map_err(|_| corrupt("parent")),
        None => Ok(None),
    }
}

/// Places `child` (an OU or account) under `parent`, removing it from its old parent.
pub fn set_parent(tx: &mut dyn Tx, org: &Org, child: &str, parent: &str) -> Result<(), Failure> {
    let kind = NodeKind::of(child).ok_or_else(|| corrupt("child id"))?;
    if let Some(old) = parent_of(tx, org, child)? {
        tx.delete(
            CHILDREN,
            format!("{}/{old}/{}/{child}", org.id, kind.child_tag()).as_bytes(),
        )?;
    }
    tx.put(
        CHILDREN,
        format!("{}/{parent}/{}/{child}", org.id, kind.child_tag()).as_bytes(),
        b"",
    )?;
    tx.put(
        PARENTS,
        format!("{}/{child}", org.id).as_bytes(),
        parent.as_bytes(),
    )?;
    Ok(())
}

/// Removes `child` from the tree (it must have no children of its own).
pub fn unlink(tx: &mut dyn Tx, org: &Org, child: &str) -> Result<(), Failure> {
    let kind = NodeKind::of(child).ok_or_else(|| corrupt("child id"))?;
    if let Some(old) = parent_of(tx, org, child)? {
        tx.delete(
            CHILDREN,
            format!("{}/{old}/{}/{child}", org.id, kind.child_tag()).as_bytes(),
        )?;
    }
    tx.delete(PARENTS, format!("{}/{child}", org.id).as_bytes())?;
    Ok(())
}

/// Child IDs of a root or OU, of one kind (`Account` or `Ou`), ascending.
pub fn children(
    tx: &mut dyn Tx,
    org: &Org,
    parent: &str,
    kind: NodeKind,
) -> Result<Vec<String>, Failure> {
    scan_ids(
        tx,
        CHILDREN,
        &format!("{}/{parent}/{}/", org.id, kind.child_tag()),
    )
}

/// The IDs from the root down to `node` inclusive (`[r-…, ou-…, …, node]`).
pub fn path_to(tx: &mut dyn Tx, org: &Org, node: &str) -> Result<Vec<String>, Failure> {
    let mut path = vec![node.to_owned()];
    let mut at = node.to_owned();
    while at != org.root_id {
        let Some(parent) = parent_of(tx, org, &at)? else {
            break;
        };
        if path.len() > quota::OU_DEPTH + 2 || path.contains(&parent) {
            return Err(corrupt("tree"));
        }
        path.push(parent.clone());
        at = parent;
    }
    path.reverse();
    Ok(path)
}

/// `o-…/r-…/ou-…/…/` — the `aws:PrincipalOrgPaths` / `Account.Paths` form of a node's path
/// (for an account, the path of its parent, as AWS writes it: `o-a/r-b/ou-c/`).
pub fn org_path(tx: &mut dyn Tx, org: &Org, node: &str) -> Result<String, Failure> {
    let mut ids = path_to(tx, org, node)?;
    if NodeKind::of(node) == Some(NodeKind::Account) {
        ids.pop();
    }
    let mut out = format!("{}/", org.id);
    for id in ids {
        out.push_str(&id);
        out.push('/');
    }
    Ok(out)
}

// ----------------------------------------------------------------------------- policies

pub fn get_policy(
    tx: &mut dyn Tx,
    org: &Org,
    policy_id: &str,
) -> Result<Option<AnyPolicy>, Failure> {
    if let Some(p) = aws_managed(policy_id) {
        return Ok(Some(p));
    }
    let rec: Option<PolicyRec> = get_json(tx, POLICIES, &format!("{}/{policy_id}", org.id))?;
    Ok(rec.map(|r| AnyPolicy {
        id: r.id,
        name: r.name,
        description: r.description,
        policy_type: r.policy_type,
        content: r.content,
        aws_managed: false,
    }))
}

pub fn put_policy(tx: &mut dyn Tx, org: &Org, rec: &PolicyRec) -> Result<(), Failure> {
    put_json(tx, POLICIES, &format!("{}/{}", org.id, rec.id), rec)
}

pub fn attach(tx: &mut dyn Tx, org: &Org, target: &str, policy_id: &str) -> Result<(), Failure> {
    tx.put(
        ATTACHED,
        format!("{}/{target}/{policy_id}", org.id).as_bytes(),
        b"",
    )?;
    tx.put(
        TARGETS,
        format!("{}/{policy_id}/{target}", org.id).as_bytes(),
        b"",
    )?;
    Ok(())
}

/// Returns whether it was attached.
pub fn detach(tx: &mut dyn Tx, org: &Org, target: &str, policy_id: &str) -> Result<bool, Failure> {
    let was = tx.delete(
        ATTACHED,
        format!("{}/{target}/{policy_id}", org.id).as_bytes(),
    )?;
    tx.delete(
        TARGETS,
        format!("{}/{policy_id}/{target}", org.id).as_bytes(),
    )?;
    Ok(was)
}

/// Policy IDs attached to a target (any type), ascending.
pub fn attached(tx: &mut dyn Tx, org: &Org, target: &str) -> Result<Vec<String>, Failure> {
    scan_ids(tx, ATTACHED, &format!("{}/{target}/", org.id))
}

/// Policies of one type attached to a target.
pub fn attached_of_type(
    tx: &mut dyn Tx,
    org: &Org,
    target: &str,
    policy_type: &str,
) -> Result<Vec<AnyPolicy>, Failure> {
    let mut out = Vec::new();
    for id in attached(tx, org, target)? {
        if let Some(p) = get_policy(tx, org, &id)?
            && p.policy_type == policy_type
        {
            out.push(p);
        }
    }
    Ok(out)
}

/// Target IDs a policy is attached to, ascending.
pub fn targets_of(tx: &mut dyn Tx, org: &Org, policy_id: &str) -> Result<Vec<String>, Failure> {
    scan_ids(tx, TARGETS, &format!("{}/{policy_id}/", org.id))
}

/// Attaches the AWS-managed full-access policy of every enabled type that has one (a new
/// OU or account starts under `FullAWSAccess` while SCPs are enabled).
pub fn attach_defaults(tx: &mut dyn Tx, org: &Org, target: &str) -> Result<(), Failure> {
    for t in &org.policy_types {
        if t.status == "ENABLED"
            && let Some(full) = full_access_of(&t.policy_type)
        {
            attach(tx, org, target, full)?;
        }
    }
    Ok(())
}

/// Removes every attachment and tag of a node being deleted or leaving.
pub fn forget_node(tx: &mut dyn Tx, org: &Org, node: &str) -> Result<(), Failure> {
    for policy in attached(tx, org, node)? {
        detach(tx, org, node, &policy)?;
    }
    for key in scan_ids(tx, TAGS, &format!("{}/{node}/", org.id))? {
        tx.delete(TAGS, format!("{}/{node}/{key}", org.id).as_bytes())?;
    }
    Ok(())
}

// ----------------------------------------------------------------------------- tags

pub fn tags_of(tx: &mut dyn Tx, org: &Org, resource: &str) -> Result<Vec<types::Tag>, Failure> {
    let prefix = format!("{}/{resource}/", org.id);
    tx.scan_prefix(TAGS, prefix.as_bytes(), false, usize::MAX)?
        .into_iter()
        .map(|(k, v)| {
            let k = String::from_utf8(k).map_err(|_| corrupt("tag"))?;
            let key = k.get(prefix.len()..).unwrap_or_default().to_owned();
            let value = String::from_utf8(v).map_err(|_| corrupt("tag"))?;
            Ok(types::Tag { key, value })
        })
        .collect()
}

pub fn put_tag(
    tx: &mut dyn Tx,
    org: &Org,
    resource: &str,
    key: &str,
    value: &str,
) -> Result<(), Failure> {
    tx.put(
        TAGS,
        format!("{}/{resource}/{key}", org.id).as_bytes(),
        value.as_bytes(),
    )?;
    Ok(())
}

// ----------------------------------------------------------------------------- pagination

/// Opaque, tamper-evident pagination tokens bound to the caller and the query.
///
/// A token is `base64url(tag ‖ resume)`, where `resume` is the last item key returned and
/// `tag` = SHA-256(`binding` ‖ 0 ‖ `resume`) truncated to 16 bytes; `binding` names the
/// caller's account, the operation and its query parameters. A token from another caller,
/// another query, or altered → `InvalidInputException` (`INVALID_NEXT_TOKEN`). Integrity,
/// not secrecy: scope always comes from the authenticated caller.
pub struct Page {
    binding: String,
    after: Option<String>,
    max: usize,
}

const TAG_LEN: usize = 16;

fn token_tag(binding: &str, resume: &[u8]) -> [u8; TAG_LEN] {
    let mut h = Sha256::new();
    h.update(binding.as_bytes());
    h.update([0u8]);
    h.update(resume);
    let full = h.finalize();
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(full.get(..TAG_LEN).unwrap_or(&[0u8; TAG_LEN]));
    tag
}

impl Page {
    /// `binding`: e.g. `format!("ListAccounts/{caller}")` plus every query parameter.
    /// `max_results`: the request's `MaxResults` (1–20 by the model; default 20).
    pub fn new(
        binding: String,
        next_token: Option<&str>,
        max_results: Option<i32>,
    ) -> Result<Page, Failure> {
        Self::with_default(binding, next_token, max_results, 20, || {
            invalid_input(
                "INVALID_NEXT_TOKEN",
                "The provided pagination token is invalid.",
            )
        })
    }

    /// [`Page::new`] for another service: its page size without `MaxResults`, and the
    /// error it answers for a token that is not one of its own.
    pub fn with_default(
        binding: String,
        next_token: Option<&str>,
        max_results: Option<i32>,
        default_max: usize,
        bad_token: impl Fn() -> Failure,
    ) -> Result<Page, Failure> {
        let max = max_results
            .and_then(|m| usize::try_from(m).ok())
            .filter(|m| *m > 0)
            .unwrap_or(default_max);
        let after = match next_token {
            None => None,
            Some(t) => Some(Self::open(&binding, t).ok_or_else(bad_token)?),
        };
        Ok(Page {
            binding,
            after,
            max,
        })
    }

    fn open(binding: &str, token: &str) -> Option<String> {
        let raw = B64.decode(token).ok()?;
        if raw.len() < TAG_LEN {
            return None;
        }
        let (tag, resume) = raw.split_at(TAG_LEN);
        if tag != token_tag(binding, resume) {
            return None;
        }
        String::from_utf8(resume.to_vec()).ok()
    }

    /// Whether this is the first page (no token was given).
    pub fn is_first(&self) -> bool {
        self.after.is_none()
    }

    /// One page of `items` (sorted ascending by `key`): the items after the token's resume
    /// key, at most `max`, and the next token when more remain.
    pub fn apply<T>(&self, items: Vec<T>, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
        let mut out: Vec<T> = items
            .into_iter()
            .filter(|i| self.after.as_deref().is_none_or(|a| key(i).as_str() > a))
            .collect();
        if out.len() <= self.max {
            return (out, None);
        }
        out.truncate(self.max);
        let next = out.last().map(|last| self.token_for(&key(last)));
        (out, next)
    }

    fn token_for(&self, resume: &str) -> String {
        let mut raw = token_tag(&self.binding, resume.as_bytes()).to_vec();
        raw.extend_from_slice(resume.as_bytes());
        B64.encode(raw)
    }

    /// One page read straight from the store: the records under `prefix` (keys
    /// `<prefix><id>`, ascending) after the token's resume ID, with a bounded scan — a page
    /// costs one page of reads however long the listing is. Returns `(id, record)` pairs and
    /// the next token.
    #[allow(
        clippy::type_complexity,
        reason = "a page of (id, record) pairs and the next token"
    )]
    pub fn scan<T: DeserializeOwned>(
        &self,
        tx: &mut dyn Tx,
        space: &str,
        prefix: &str,
    ) -> Result<(Vec<(String, T)>, Option<String>), Failure> {
        let (rows, next) = self.scan_raw(tx, space, prefix)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, v) in rows {
            let rec: T = serde_json::from_slice(&v).map_err(|_| corrupt(space))?;
            out.push((id, rec));
        }
        Ok((out, next))
    }

    /// [`Page::scan`] with the values as stored (for index rows that are not JSON).
    #[allow(
        clippy::type_complexity,
        reason = "a page of (id, value) pairs and the next token"
    )]
    pub fn scan_raw(
        &self,
        tx: &mut dyn Tx,
        space: &str,
        prefix: &str,
    ) -> Result<(Vec<(String, Vec<u8>)>, Option<String>), Failure> {
        let start_key = match &self.after {
            Some(after) => format!("{prefix}{after}"),
            None => prefix.to_owned(),
        };
        let end = cairn_store::prefix_successor(prefix.as_bytes());
        let scan = cairn_store::Scan {
            start: match &self.after {
                Some(_) => cairn_store::Bound::Excluded(start_key.as_bytes()),
                None => cairn_store::Bound::Included(start_key.as_bytes()),
            },
            end: end
                .as_deref()
                .map_or(cairn_store::Bound::Unbounded, cairn_store::Bound::Excluded),
            reverse: false,
            limit: self.max.saturating_add(1),
        };
        let mut out = Vec::new();
        for (k, v) in tx.scan(space, &scan)? {
            let k = String::from_utf8(k).map_err(|_| corrupt(space))?;
            let id = k.get(prefix.len()..).unwrap_or_default().to_owned();
            out.push((id, v));
        }
        if out.len() <= self.max {
            return Ok((out, None));
        }
        out.truncate(self.max);
        let next = out.last().map(|(id, _)| self.token_for(id));
        Ok((out, next))
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn tokens_are_bound_to_their_query() {
        let p = Page::new("ListAccounts/111".into(), None, Some(2)).unwrap();
        let (page, next) = p.apply(vec!["a", "b", "c"], |s| (*s).to_owned());
        assert_eq!(page, vec!["a", "b"]);
        let next = next.unwrap();
        let p2 = Page::new("ListAccounts/111".into(), Some(&next), Some(2)).unwrap();
        let (page, more) = p2.apply(vec!["a", "b", "c"], |s| (*s).to_owned());
        assert_eq!(page, vec!["c"]);
        assert!(more.is_none());
        assert!(Page::new("ListAccounts/222".into(), Some(&next), None).is_err());
        assert!(Page::new("ListAccounts/111".into(), Some("garbage"), None).is_err());
    }

    #[test]
    fn store_pages_read_one_page_at_a_time() {
        let store = cairn_store::Store::open_sqlite_memory().unwrap();
        store
            .write_blocking(|tx| -> Result<(), Failure> {
                for i in 0..45 {
                    put_json(tx, ACCOUNTS, &format!("o-1/{i:012}"), &i)?;
                }
                put_json(tx, ACCOUNTS, "o-2/000000000000", &-1)?;
                Ok(())
            })
            .unwrap();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let t = token.clone();
            let (items, next) = store
                .read_blocking(move |tx| -> Result<_, Failure> {
                    let page = Page::new("ListAccounts/x".into(), t.as_deref(), Some(20))?;
                    page.scan::<i32>(tx, ACCOUNTS, "o-1/")
                })
                .unwrap();
            pages += 1;
            seen.extend(items.into_iter().map(|(_, v)| v));
            match next {
                Some(n) => token = Some(n),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, (0..45).collect::<Vec<i32>>());
    }

    #[test]
    fn node_kinds() {
        assert_eq!(NodeKind::of("r-ab12"), Some(NodeKind::Root));
        assert_eq!(NodeKind::of("ou-ab12-abcdefgh"), Some(NodeKind::Ou));
        assert_eq!(NodeKind::of("111122223333"), Some(NodeKind::Account));
        assert_eq!(NodeKind::of("p-abc"), None);
    }
}
