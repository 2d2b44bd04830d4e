//! AWS Security Token Service: `GetCallerIdentity`, `AssumeRole`, `GetSessionToken`, and the
//! temporary credentials they mint.
//!
//! Temporary credentials are stateless: the session token *is* the session — the access key
//! id, secret, identity and [`Session`] (expiry, session policies, tags, source identity)
//! sealed with ChaCha20-Poly1305 under the master key. Verifying a request signed with them
//! opens the token ([`open_session_token`]); nothing is stored, so minting credentials writes
//! only the call's CloudTrail record, and a token cannot be altered or forged without the key.
//! Like AWS, sessions cannot be revoked individually; they expire (15 minutes to 36 hours).
//!
//! `AssumeRole` is authorized before the handler runs (the caller's policies *and* the role's
//! trust policy; see the server's authorize step); the handler applies STS's own rules:
//! duration limits, role chaining, session policies, session tags and source identity.

use crate::seal::Sealer;
use cairn_api::sts::{Error, Sts, types};
use cairn_core::{Call, Principal, Session};
use cairn_wire::{ApiError, CommonError, ErrorShape, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Bytes of a session token that encrypt the fixed fields; reported as 100% of nothing in
/// particular — AWS's packed-size percentage counts session policies and tags against 2,048.
const PACKED_LIMIT: usize = 2048;
/// AWS: at most 50 session tags, 10 managed session policies.
const MAX_TAGS: usize = 50;
const MAX_POLICY_ARNS: usize = 10;

/// AWS Security Token Service.
#[derive(Default)]
pub struct StsService {
    sealer: Option<Sealer>,
    /// `--dev`: the root user may assume roles (see [`StsService::dev`]).
    root_assumes_roles: bool,
    /// How OpenID Connect issuers' keys are fetched (`AssumeRoleWithWebIdentity`).
    fetch: Option<std::sync::Arc<dyn cairn_core::Fetch>>,
    jwks: crate::web_identity::JwksCache,
    /// Where clients reach this server: outbound federation's issuers.
    public_url: String,
    /// Organizations, for `AssumeRoot` ([`crate::root_access`]).
    orgs: crate::Orgs,
}

impl std::fmt::Debug for StsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StsService")
            .field("root_assumes_roles", &self.root_assumes_roles)
            .field("fetch", &self.fetch.is_some())
            .finish_non_exhaustive()
    }
}

impl StsService {
    /// The service, sealing session tokens with `sealer` (the master key's).
    pub fn new(sealer: Sealer) -> Self {
        Self {
            sealer: Some(sealer),
            root_assumes_roles: false,
            fetch: None,
            jwks: crate::web_identity::JwksCache::default(),
            public_url: String::new(),
            orgs: crate::Orgs::default(),
        }
    }

    /// The URL clients reach this server at: the base of the issuers of the tokens
    /// `GetWebIdentityToken` signs (see [`crate::outbound`]).
    #[must_use]
    pub fn with_public_url(mut self, url: &str) -> Self {
        url.trim_end_matches('/').clone_into(&mut self.public_url);
        self
    }

    /// Asks Organizations through `orgs` (`AssumeRoot`).
    pub fn with_orgs(mut self, orgs: crate::Orgs) -> Self {
        self.orgs = orgs;
        self
    }

    /// Fetches OpenID Connect issuers' discovery documents and keys with `fetch`.
    pub fn with_fetch(mut self, fetch: std::sync::Arc<dyn cairn_core::Fetch>) -> Self {
        self.fetch = Some(fetch);
        self
    }

    /// `--dev`: there, credentials Cairn did not issue act as the bootstrap account's root,
    /// and test suites written for emulators assume roles with exactly those credentials,
    /// so the root user may call `AssumeRole` (the role's trust policy still decides).
    /// AWS refuses it ("Roles may not be assumed by root accounts."), and so does Cairn
    /// without `--dev`.
    pub fn dev(mut self, dev: bool) -> Self {
        self.root_assumes_roles = dev;
        self
    }
}

/// Who temporary credentials act as.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t")]
enum TokenWho {
    Root,
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
    /// A federated user (`GetFederationToken`) issued by `issuer` (`None`: the root user).
    Federated {
        name: String,
        issuer: Option<cairn_core::IssuingUser>,
    },
}

/// The sealed content of a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenBody {
    v: u32,
    /// The access key id the token belongs to (`ASIA…`).
    k: String,
    /// The secret access key.
    s: String,
    /// The account.
    a: String,
    who: TokenWho,
    session: Session,
}

/// Why a session token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token Cairn issued, or issued for another access key.
    Invalid,
    Expired,
}

/// Opens a session token presented with `access_key_id`: the secret to verify the signature
/// with and the principal the credentials act as.
pub fn open_session_token(
    sealer: &Sealer,
    token: &str,
    access_key_id: &str,
    now_ms: i64,
) -> Result<(String, Principal), TokenError> {
    let plain = sealer.open(token).ok_or(TokenError::Invalid)?;
    let body: TokenBody = serde_json::from_str(&plain).map_err(|_| TokenError::Invalid)?;
    if body.v != 1 || body.k != access_key_id {
        return Err(TokenError::Invalid);
    }
    if now_ms >= body.session.expires_ms {
        return Err(TokenError::Expired);
    }
    let session = Arc::new(body.session);
    let principal = match body.who {
        TokenWho::Root => Principal::Root {
            account_id: body.a,
            access_key_id: body.k,
            session: Some(session),
        },
        TokenWho::User { name, id, path } => Principal::IamUser {
            account_id: body.a,
            user_name: name,
            user_id: id,
            path,
            access_key_id: body.k,
            session: Some(session),
        },
        TokenWho::Role {
            name,
            id,
            path,
            session: session_name,
        } => Principal::AssumedRole {
            account_id: body.a,
            role_name: name,
            role_id: id,
            role_path: path,
            session_name,
            access_key_id: body.k,
            session,
        },
        TokenWho::Federated { name, issuer } => Principal::FederatedUser {
            account_id: body.a,
            name,
            issuer,
            access_key_id: body.k,
            session,
        },
    };
    Ok((body.s, principal))
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(
        ErrorShape {
            code: "ValidationError",
            status: 400,
            sender_fault: true,
            message_key: "Message",
        },
        message,
    )
}

fn access_denied(message: impl Into<String>) -> ApiError {
    CommonError::AccessDenied(message.into()).to_api_error(cairn_wire::model::Protocol::Query)
}

fn invalid_parameter(message: impl Into<String>) -> ApiError {
    ApiError::new(
        ErrorShape {
            code: "InvalidParameterValue",
            status: 400,
            sender_fault: true,
            message_key: "Message",
        },
        message,
    )
}

/// Characters of a policy document that count against the packed size (whitespace does not).
fn packed_chars(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// Mints credentials: a fresh `ASIA…` key and secret, sealed into the token with `who`.
fn mint(
    sealer: Option<&Sealer>,
    ctx: &Call,
    account: &str,
    who: TokenWho,
    session: Session,
) -> Result<types::Credentials, ApiError> {
    let sealer = sealer.ok_or_else(|| {
        tracing::error!("STS has no sealer: session tokens cannot be issued");
        ApiError::internal()
    })?;
    mint_with(sealer, ctx.ids(), account, who, session)
}

/// [`mint`] with the sealer and randomness given.
fn mint_with(
    sealer: &Sealer,
    ids: &dyn cairn_core::Ids,
    account: &str,
    who: TokenWho,
    session: Session,
) -> Result<types::Credentials, ApiError> {
    let access_key_id = cairn_core::access_key_id(ids, "ASIA", account);
    let secret = ids.secret();
    let expires_ms = session.expires_ms;
    let body = TokenBody {
        v: 1,
        k: access_key_id.clone(),
        s: secret.clone(),
        a: account.to_owned(),
        who,
        session,
    };
    let plain = serde_json::to_string(&body).map_err(|_| ApiError::internal())?;
    let mut nonce = [0u8; 12];
    ids.fill(&mut nonce);
    let token = sealer.seal(&plain, nonce).ok_or_else(ApiError::internal)?;
    Ok(types::Credentials {
        access_key_id,
        expiration: Timestamp::from_millis(expires_ms - expires_ms.rem_euclid(1000)),
        secret_access_key: secret,
        session_token: token,
    })
}

/// MFA devices do not exist in Cairn yet: a request that names one cannot be satisfied.
/// `SerialNumber` + `TokenCode`: whether the session is MFA-authenticated. The device must
/// be an MFA device enabled for the calling IAM user and the code current
/// ([`crate::mfa::verify_token`]); anything else is AWS's `AccessDenied`.
async fn check_mfa(
    ctx: &Call,
    sealer: Option<&Sealer>,
    serial: Option<&str>,
    code: Option<&str>,
) -> Result<bool, ApiError> {
    let invalid =
        || access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.");
    let (serial, code) = match (serial, code) {
        (None, None) => return Ok(false),
        (Some(s), Some(c)) => (s.to_owned(), c.to_owned()),
        _ => {
            return Err(access_denied(
                "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.",
            ));
        }
    };
    let Principal::IamUser {
        account_id,
        user_name,
        ..
    } = ctx.principal().clone()
    else {
        return Err(invalid());
    };
    let sealer = sealer.cloned();
    let now = ctx.now_ms();
    let ok = ctx
        .read(move |tx| {
            crate::mfa::verify_token(
                tx,
                sealer.as_ref(),
                &account_id,
                &user_name,
                &serial,
                &code,
                now,
            )
        })
        .await?;
    if ok { Ok(true) } else { Err(invalid()) }
}

/// `PolicyArns` of an assume call: at most ten.
fn session_policy_arns(
    list: Option<&[types::PolicyDescriptorType]>,
) -> Result<Vec<String>, ApiError> {
    let arns: Vec<String> = list
        .unwrap_or_default()
        .iter()
        .filter_map(|d| d.arn.clone())
        .collect();
    if arns.len() > MAX_POLICY_ARNS {
        return Err(validation(format!(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )));
    }
    Ok(arns)
}

/// The first of `arns` that names no managed policy, if any.
fn missing_policy(
    tx: &mut dyn cairn_store::Tx,
    arns: &[String],
) -> Result<Option<String>, cairn_core::Failure> {
    for arn in arns {
        if crate::authz::managed_policy(tx, arn)?.is_none() {
            return Ok(Some(arn.clone()));
        }
    }
    Ok(None)
}

fn not_attachable(arn: &str) -> ApiError {
    ApiError::new(
        Error::MalformedPolicyDocumentException,
        format!("Policy {arn} does not exist or is not attachable."),
    )
}

/// A session may not outlast the role's `MaxSessionDuration`.
fn check_duration(duration_s: i64, role: &crate::authz::RoleInfo) -> Result<(), ApiError> {
    if duration_s > role.max_session_duration_s {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(())
}

/// The inline session policy must be a valid identity policy.
fn check_session_policy(doc: Option<&str>) -> Result<(), ApiError> {
    if let Some(doc) = doc {
        cairn_policy::Policy::parse("", doc, cairn_policy::PolicyKind::Identity)
            .map_err(|e| ApiError::new(Error::MalformedPolicyDocumentException, e.message()))?;
    }
    Ok(())
}

/// Session tags of a session that inherits none: at most 50, keys unique ignoring case.
/// Returns the tags and the characters they count against the packed size.
fn session_tags(new: &[types::Tag]) -> Result<(Vec<(String, String)>, usize), ApiError> {
    if new.len() > MAX_TAGS {
        return Err(validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
        )));
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut packed = 0;
    for t in new {
        if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&t.key)) {
            return Err(invalid_parameter(format!(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive. Duplicate key: {}",
                t.key
            )));
        }
        tags.push((t.key.clone(), t.value.clone()));
        packed += t.key.len() + t.value.len();
    }
    Ok((tags, packed))
}

/// The packed size of session policies and tags as a percentage of AWS's limit;
/// `PackedPolicyTooLarge` above 100%.
fn check_packed(packed: usize) -> Result<usize, ApiError> {
    let percent = (packed * 100).div_ceil(PACKED_LIMIT);
    if percent > 100 {
        return Err(ApiError::new(
            Error::PackedPolicyTooLargeException,
            format!("Packed size of consumed policies and tags exceeds the limit: {percent}%"),
        ));
    }
    Ok(percent)
}

/// What sealed authorization messages start with inside, so that nothing else sealed under
/// the same key (a session token, which holds its secret key) decodes as one.
const AUTHORIZATION_MESSAGE: &str = "cairn-authorization-message:";

/// Encodes a denial's details (AWS's decoded form: `allowed`, `explicitDeny`,
/// `matchedStatements`, `failures`, `context` with `principal`, `action`, `resource`,
/// `conditions`; STS API reference, DecodeAuthorizationMessage) as the opaque message a
/// service hands out instead of them, readable only through `DecodeAuthorizationMessage`.
/// None of the services Cairn serves encode their denials (neither do AWS's IAM,
/// Organizations, STS or CloudTrail); services that do (EC2's `UnauthorizedOperation`)
/// would call this.
pub fn encode_authorization_message(
    sealer: &Sealer,
    decoded: &serde_json::Value,
    nonce: [u8; 12],
) -> Option<String> {
    sealer.seal(&format!("{AUTHORIZATION_MESSAGE}{decoded}"), nonce)
}

/// The decoded JSON text of a message [`encode_authorization_message`] made; `None` for
/// anything else.
pub fn decode_authorization_message(sealer: &Sealer, message: &str) -> Option<String> {
    let plain = sealer.open(message.trim())?;
    plain.strip_prefix(AUTHORIZATION_MESSAGE).map(str::to_owned)
}

/// `AssumedRoleUser` of a session of `role` named `session`.
fn assumed_role_user(role: &crate::authz::RoleInfo, session: &str) -> types::AssumedRoleUser {
    types::AssumedRoleUser {
        arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{session}",
            role.account_id, role.name
        ),
        assumed_role_id: format!("{}:{session}", role.role_id),
    }
}

/// The member account `TargetPrincipal` names: its ID, or its root user's ARN.
fn root_target(target: &str) -> Option<&str> {
    let account = target
        .strip_prefix("arn:aws:iam::")
        .and_then(|rest| rest.strip_suffix(":root"))
        .unwrap_or(target);
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The task policies `AssumeRoot` accepts: AWS's, under `/root-task/` (STS API reference,
/// AssumeRoot, `TaskPolicyArn`).
fn is_task_policy(arn: &str) -> bool {
    arn.strip_prefix("arn:aws:iam::aws:policy")
        .and_then(|rest| rest.strip_prefix(crate::managed::ROOT_TASK_PATH))
        .is_some()
        && crate::managed::by_arn(arn).is_some()
}

impl Sts for StsService {
    type Context = Call;

    /// A privileged session of a member account's root user, scoped by an AWS task policy
    /// (STS API reference, AssumeRoot): the caller is a principal of the organization's
    /// management account or of IAM's delegated administrator — not a root user — with
    /// `RootSessions` enabled ([`crate::root_access::check_assume_root`]); the target is
    /// another member account; at most 900 s (the model bounds `DurationSeconds`), 900 by
    /// default. The credentials act as the target's root user with the task policy as
    /// session policy, whose denies are all it can do (`cairn_policy::evaluate`).
    async fn assume_root(
        &self,
        ctx: &Call,
        input: types::AssumeRootRequest,
    ) -> Result<types::AssumeRootResponse, ApiError> {
        let caller = ctx.principal().clone();
        let caller_arn = caller.arn();
        let target = root_target(&input.target_principal)
            .map(str::to_owned)
            .ok_or_else(|| {
                // [M]: the text.
                validation(format!(
                    "Invalid TargetPrincipal: {} is not an account ID or a root user ARN",
                    input.target_principal
                ))
            })?;
        let not_authorized = || {
            access_denied(format!(
                "User: {caller_arn} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{target}:root"
            ))
        };
        if caller.is_root() {
            // "You cannot use root user credentials to make this call." [M]: the answer.
            return Err(not_authorized());
        }
        let task = input.task_policy_arn.arn.clone().unwrap_or_default();
        if !is_task_policy(&task) {
            // [M]: the code and text.
            return Err(validation(format!(
                "TaskPolicyArn {task} is not a task policy AssumeRoot accepts."
            )));
        }
        let orgs = self.orgs.clone();
        let (account, target2) = (caller.account_id().to_owned(), target.clone());
        let verdict = ctx
            .read(move |tx| crate::root_access::check_assume_root(&orgs, tx, &account, &target2))
            .await?;
        if verdict.is_err() {
            // [M]: AWS's answers for a caller without root sessions and for a target
            // outside the organization (or the management account itself).
            return Err(not_authorized());
        }
        let duration = i64::from(input.duration_seconds.unwrap_or(900));
        let now = ctx.now_ms();
        let session = Session {
            issued_at_ms: now,
            expires_ms: now + duration * 1000,
            source_identity: caller.session().and_then(|s| s.source_identity.clone()),
            policy_arns: vec![task],
            assumed_root: true,
            ..Session::default()
        };
        let source_identity = session.source_identity.clone();
        let credentials = mint(self.sealer.as_ref(), ctx, &target, TokenWho::Root, session)?;
        Ok(types::AssumeRootResponse {
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            source_identity,
            ..Default::default()
        })
    }

    /// The account an access key ID belongs to, read from the key ID itself as AWS does
    /// ([`cairn_core::account_of_access_key`]), for any key: Cairn's, long-term or
    /// temporary, and keys Cairn never issued (API reference: "You can use this operation
    /// with any access key ID"). A key Cairn stored before its IDs carried their account is
    /// answered from the store.
    async fn get_access_key_info(
        &self,
        ctx: &Call,
        input: types::GetAccessKeyInfoRequest,
    ) -> Result<types::GetAccessKeyInfoResponse, ApiError> {
        let id = input.access_key_id.clone();
        let stored = ctx
            .read(move |tx| Ok(crate::accounts::get_access_key(tx, &id)?.map(|k| k.account_id)))
            .await?;
        let account = stored
            .or_else(|| cairn_core::account_of_access_key(&input.access_key_id))
            .ok_or_else(|| {
                // [M]: the text.
                validation(format!(
                    "The access key ID {} is not valid.",
                    input.access_key_id
                ))
            })?;
        Ok(types::GetAccessKeyInfoResponse {
            account: Some(account),
        })
    }

    /// See [`crate::saml`] for the checks and their order.
    async fn assume_role_with_saml(
        &self,
        ctx: &Call,
        input: types::AssumeRoleWithSAMLRequest,
    ) -> Result<types::AssumeRoleWithSAMLResponse, ApiError> {
        use crate::saml;
        let Some((role_account, _)) = parse_role_arn(&input.role_arn) else {
            return Err(validation(format!("{} is invalid", input.role_arn)));
        };
        // The call, and any refusal, are recorded in the role's account.
        ctx.set_recipient_account(role_account);
        let Some((provider_account, provider_name)) =
            saml::parse_provider_arn(&input.principal_arn)
        else {
            return Err(validation(format!("{} is invalid", input.principal_arn)));
        };
        let (role_account, provider_account, provider_name) = (
            role_account.to_owned(),
            provider_account.to_owned(),
            provider_name.to_owned(),
        );
        let role_name = parse_role_arn(&input.role_arn)
            .map(|(_, n)| n.to_owned())
            .unwrap_or_default();
        let policy_arns = session_policy_arns(input.policy_arns.as_deref())?;
        let (ra, pa, pn, arns) = (
            role_account.clone(),
            provider_account.clone(),
            provider_name.clone(),
            policy_arns.clone(),
        );
        let (role, provider, missing) = ctx
            .read(move |tx| {
                Ok((
                    crate::authz::role_by_name(tx, &ra, &role_name)?,
                    crate::reserved::saml_provider(tx, &pa, &pn)?,
                    missing_policy(tx, &arns)?,
                ))
            })
            .await?;
        // [M]: the text (IAM troubleshooting guide names the error, not its exact words).
        let provider = provider.ok_or_else(|| {
            ApiError::new(
                Error::InvalidIdentityTokenException,
                "Specified provider doesn't exist",
            )
        })?;
        let metadata = crate::saml_providers::parse_metadata(&provider.metadata).map_err(|_| {
            tracing::error!(provider = %input.principal_arn, "stored SAML metadata no longer parses");
            ApiError::internal()
        })?;
        let keys = saml::metadata_keys(&metadata.signing_certificates);
        let now = ctx.now_ms();
        let mut assertion = saml::verify(&input.saml_assertion, &metadata.entity_id, &keys, now)?;
        assertion.read_into_canonical(ctx.partition());
        let name_qualifier =
            saml::name_qualifier(&assertion.issuer, &provider_account, &provider_name);
        ctx.set_federated_identity(cairn_core::FederatedIdentity {
            kind: "SAMLUser".to_owned(),
            principal_id: format!("{name_qualifier}:{}", assertion.subject),
            user_name: assertion.subject.clone(),
            identity_provider: name_qualifier.clone(),
            ..Default::default()
        });
        ctx.set_request_parameters(saml::request_parameters(
            ctx.info().request_parameters.as_ref(),
            &assertion,
        ));
        let role = role.ok_or_else(saml::not_authorized)?;
        ctx.set_resources(vec![
            cairn_core::call::AuditResource {
                arn: role.arn.clone(),
                account_id: role.account_id.clone(),
                resource_type: "AWS::IAM::Role".to_owned(),
            },
            cairn_core::call::AuditResource {
                arn: input.principal_arn.clone(),
                account_id: provider_account.clone(),
                resource_type: "AWS::IAM::SAMLProvider".to_owned(),
            },
        ]);
        // "AssumeRoleWithSAML will not work on AWS IAM Identity Center managed roles. These
        // roles' names start with AWSReservedSSO_" (API reference; [M]: the error AWS answers).
        if provider_account != role.account_id
            || role.name.starts_with("AWSReservedSSO_")
            || !assertion.names_role(&input.role_arn, &input.principal_arn)
        {
            return Err(saml::not_authorized());
        }
        let session_name = assertion.session_name()?;
        let source_identity = assertion.source_identity();
        let (tags, transitive) = assertion.session_tags();
        if tags.len() > MAX_TAGS {
            // [M]: the text.
            return Err(invalid_parameter(format!(
                "The number of session tags in the SAML assertion exceeds {MAX_TAGS}"
            )));
        }
        for (i, (k, _)) in tags.iter().enumerate() {
            if tags
                .iter()
                .skip(i + 1)
                .any(|(o, _)| o.eq_ignore_ascii_case(k))
            {
                return Err(invalid_parameter(format!(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive. Duplicate key: {k}"
                )));
            }
        }
        for key in &transitive {
            if !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                return Err(invalid_parameter(format!(
                    "The specified transitive tag key must be included in the requested tags: {key}"
                )));
            }
        }
        let who = saml::SamlIdentity {
            assertion: &assertion,
            provider_arn: &input.principal_arn,
            account: &provider_account,
            provider_name: &provider_name,
            name_qualifier: &name_qualifier,
        };
        // Session tags need `sts:TagSession`, a source identity `sts:SetSourceIdentity`,
        // both in the trust policy (IAM User Guide, "Passing session tags in AWS STS",
        // "Monitor and control actions taken with assumed roles").
        let mut actions = vec!["sts:AssumeRoleWithSAML"];
        if !tags.is_empty() {
            actions.push("sts:TagSession");
        }
        if source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        if !actions
            .iter()
            .all(|a| saml::trust_allows(&role.trust_policy, &role.arn, a, &who, now))
        {
            return Err(saml::not_authorized());
        }
        // Duration: `DurationSeconds`, else the `SessionDuration` attribute, else an hour;
        // the shorter of the two when both are given [M]; never past the assertion's
        // `SessionNotOnOrAfter` (API reference: "whichever is shorter").
        let requested = input.duration_seconds.map(i64::from);
        if let Some(r) = requested {
            check_duration(r, &role)?;
        }
        let duration = match (requested, assertion.session_duration()?) {
            (Some(r), Some(a)) => r.min(a),
            (Some(r), None) => r,
            (None, Some(a)) => a.min(role.max_session_duration_s),
            (None, None) => 3600,
        };
        let mut expires_ms = now + duration * 1000;
        if let Some(end) = assertion.session_not_on_or_after_ms {
            expires_ms = expires_ms.min(end);
        }
        if expires_ms <= now {
            // The IdP's session is over ([M]: AWS's answer for a past SessionNotOnOrAfter).
            return Err(ApiError::new(
                Error::ExpiredTokenException,
                "Token must be redeemed within 5 minutes of issuance",
            ));
        }
        check_session_policy(input.policy.as_deref())?;
        if let Some(arn) = missing {
            return Err(not_attachable(&arn));
        }
        let mut packed = input.policy.as_deref().map_or(0, packed_chars);
        packed += policy_arns.iter().map(|a| a.len()).sum::<usize>();
        packed += tags.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        let packed_percent = (packed * 100).div_ceil(PACKED_LIMIT);
        if packed_percent > 100 {
            return Err(ApiError::new(
                Error::PackedPolicyTooLargeException,
                format!(
                    "Packed size of consumed policies and tags exceeds the limit: {packed_percent}%"
                ),
            ));
        }
        let with_packed = input.policy.is_some() || !policy_arns.is_empty() || !tags.is_empty();
        let session = Session {
            issued_at_ms: now,
            expires_ms,
            source_identity: source_identity.clone(),
            policy: input.policy.clone(),
            policy_arns,
            tags,
            transitive_tag_keys: transitive,
            ..Session::default()
        };
        let token_who = TokenWho::Role {
            name: role.name.clone(),
            id: role.role_id.clone(),
            path: role.path.clone(),
            session: session_name.clone(),
        };
        let credentials = mint(
            self.sealer.as_ref(),
            ctx,
            &role.account_id,
            token_who,
            session,
        )?;
        let response = types::AssumeRoleWithSAMLResponse {
            assumed_role_user: Some(assumed_role_user(&role, &session_name)),
            // "The value of the Recipient attribute of the SubjectConfirmationData element"
            // (API reference).
            audience: Some(assertion.recipient.clone()),
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            issuer: Some(assertion.issuer.clone()),
            name_qualifier: Some(name_qualifier),
            packed_policy_size: with_packed
                .then(|| i32::try_from(packed_percent).unwrap_or(i32::MAX)),
            source_identity,
            subject: Some(assertion.subject.clone()),
            subject_type: Some(assertion.subject_type()),
            ..Default::default()
        };
        // The assertion is spent in the transaction that records the call.
        ctx.write(move |tx| {
            saml::remember(tx, &assertion, now)?;
            Ok(response.clone())
        })
        .await
    }

    /// See [`crate::web_identity`] for the checks and their order.
    async fn assume_role_with_web_identity(
        &self,
        ctx: &Call,
        input: types::AssumeRoleWithWebIdentityRequest,
    ) -> Result<types::AssumeRoleWithWebIdentityResponse, ApiError> {
        use crate::web_identity as wi;
        // The call, and any refusal, are recorded in the role's account.
        if let Some((account, _)) = parse_role_arn(&input.role_arn) {
            ctx.set_recipient_account(account);
        }
        let token = wi::Token::parse(&input.web_identity_token)?;
        let Some(iss) = token.str_claim("iss").map(str::to_owned) else {
            return Err(ApiError::new(
                Error::InvalidIdentityTokenException,
                "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
            ));
        };
        let Some((role_account, role_name)) = parse_role_arn(&input.role_arn) else {
            return Err(validation(format!("{} is invalid", input.role_arn)));
        };
        let policy_arns = session_policy_arns(input.policy_arns.as_deref())?;
        let (ra, rn, issuer) = (role_account.to_owned(), role_name.to_owned(), iss.clone());
        let arns = policy_arns.clone();
        let (role, provider, missing) = ctx
            .read(move |tx| {
                Ok((
                    crate::authz::role_by_name(tx, &ra, &rn)?,
                    crate::providers::provider_for_issuer(tx, &ra, &issuer)?,
                    missing_policy(tx, &arns)?,
                ))
            })
            .await?;
        // AWS's text.
        let provider = provider.ok_or_else(|| {
            ApiError::new(
                Error::InvalidIdentityTokenException,
                format!("No OpenIDConnect provider found in your account for {iss}"),
            )
        })?;
        let now = ctx.now_ms();
        let aud = wi::verify(&token, &provider, self.fetch.as_deref(), &self.jwks, now).await?;
        // The record names the verified identity (CloudTrail User Guide, "Values for AWS STS
        // APIs with SAML and web identity federation": `WebIdentityUser`, principalId
        // `<provider>:<aud>:<sub>`, userName the subject, identityProvider the provider).
        let sub = token.str_claim("sub").unwrap_or_default().to_owned();
        ctx.set_federated_identity(cairn_core::FederatedIdentity {
            kind: "WebIdentityUser".to_owned(),
            principal_id: format!("{}:{aud}:{sub}", provider.url),
            user_name: sub,
            identity_provider: provider.url.clone(),
            ..Default::default()
        });
        let role = role.ok_or_else(wi::not_authorized)?;
        let provider_arn = format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            role.account_id, provider.url
        );
        let who = wi::WebIdentity {
            provider_arn: &provider_arn,
            provider_url: &provider.url,
            token: &token,
            aud: &aud,
        };
        if !wi::trust_allows(&role.trust_policy, &role.arn, &role.account_id, &who, now) {
            return Err(wi::not_authorized());
        }
        let duration = i64::from(input.duration_seconds.unwrap_or(3600));
        check_duration(duration, &role)?;
        check_session_policy(input.policy.as_deref())?;
        if let Some(arn) = missing {
            return Err(not_attachable(&arn));
        }
        let session = Session {
            issued_at_ms: now,
            expires_ms: now + duration * 1000,
            policy: input.policy.clone(),
            policy_arns,
            ..Session::default()
        };
        let who = TokenWho::Role {
            name: role.name.clone(),
            id: role.role_id.clone(),
            path: role.path.clone(),
            session: input.role_session_name.clone(),
        };
        let credentials = mint(self.sealer.as_ref(), ctx, &role.account_id, who, session)?;
        Ok(types::AssumeRoleWithWebIdentityResponse {
            assumed_role_user: Some(assumed_role_user(&role, &input.role_session_name)),
            audience: Some(aud),
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            // "For OpenID Connect ID tokens, this contains the value of the iss field" (API
            // reference).
            provider: Some(iss),
            subject_from_web_identity_token: token.str_claim("sub").map(str::to_owned),
            ..Default::default()
        })
    }

    /// Decodes what [`encode_authorization_message`] encoded, for a caller allowed
    /// `sts:DecodeAuthorizationMessage` (the authorize step checked it).
    async fn decode_authorization_message(
        &self,
        _ctx: &Call,
        input: types::DecodeAuthorizationMessageRequest,
    ) -> Result<types::DecodeAuthorizationMessageResponse, ApiError> {
        let decoded = self
            .sealer
            .as_ref()
            .and_then(|s| decode_authorization_message(s, &input.encoded_message))
            .ok_or_else(|| {
                // [M]: the text.
                ApiError::new(
                    Error::InvalidAuthorizationMessageException,
                    "The message is not a valid authorization message.",
                )
            })?;
        Ok(types::DecodeAuthorizationMessageResponse {
            decoded_message: Some(decoded),
        })
    }

    /// A JWT for an external service, signed with the account's outbound federation key
    /// (IAM User Guide, "Understanding token claims": `iss`, `aud`, `sub`, `iat`, `exp`,
    /// `jti`, and under `https://sts.amazonaws.com/` the account, source Region, the caller's
    /// ARN as `principal_id`, principal tags and request tags). `DurationSeconds` 60–3600,
    /// 300 by default (API reference). Cairn signs RS256 only.
    async fn get_web_identity_token(
        &self,
        ctx: &Call,
        input: types::GetWebIdentityTokenRequest,
    ) -> Result<types::GetWebIdentityTokenResponse, ApiError> {
        // The model allows any five characters; the API reference names RS256 and ES384.
        // [M]: how AWS refuses other values.
        let alg = crate::outbound::Alg::from_name(&input.signing_algorithm).ok_or_else(|| {
            validation(format!(
                "Unsupported signing algorithm: {}. Supported: RS256, ES384.",
                input.signing_algorithm
            ))
        })?;
        let principal = ctx.principal().clone();
        let account = principal.account_id().to_owned();
        let a = account.clone();
        let who = principal.clone();
        let (rec, identity_tags) = ctx
            .read(move |tx| {
                let rec = crate::outbound::load(tx, &a)?;
                let tags = match &who {
                    Principal::IamUser { user_name, .. } => {
                        crate::authz::user_identity(tx, &a, user_name)?.map(|i| i.tags)
                    }
                    Principal::AssumedRole { role_name, .. } => {
                        crate::authz::role_identity(tx, &a, role_name)?.map(|i| i.tags)
                    }
                    _ => None,
                };
                Ok((rec, tags.unwrap_or_default()))
            })
            .await?;
        let rec = rec.filter(|r| r.enabled).ok_or_else(|| {
            // [M]: the text.
            ApiError::new(
                Error::OutboundWebIdentityFederationDisabledException,
                "Outbound identity federation is not enabled for this account.",
            )
        })?;
        let now = ctx.now_ms();
        let duration = i64::from(input.duration_seconds.unwrap_or(300));
        let expires_ms = now + duration * 1000;
        if let Some(session) = principal.session()
            && expires_ms > session.expires_ms
        {
            // [M]: the text.
            return Err(ApiError::new(
                Error::SessionDurationEscalationException,
                "The requested DurationSeconds exceeds the remaining duration of the calling session.",
            ));
        }
        let mut principal_tags = serde_json::Map::new();
        let own_tags = principal
            .session()
            .map(|s| s.tags.clone())
            .unwrap_or_default();
        for (k, v) in identity_tags {
            if !own_tags.iter().any(|(sk, _)| sk.eq_ignore_ascii_case(&k)) {
                principal_tags.insert(k, v.into());
            }
        }
        for (k, v) in own_tags {
            principal_tags.insert(k, v.into());
        }
        let (request_tags, _) = session_tags(input.tags.as_deref().unwrap_or_default())?;
        let mut aws = serde_json::Map::new();
        aws.insert("aws_account".into(), account.clone().into());
        aws.insert("source_region".into(), ctx.info().region.clone().into());
        aws.insert("principal_id".into(), principal.principal_arn().into());
        if !principal_tags.is_empty() {
            aws.insert("principal_tags".into(), principal_tags.into());
        }
        if !request_tags.is_empty() {
            let tags: serde_json::Map<String, serde_json::Value> = request_tags
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect();
            aws.insert("request_tags".into(), tags.into());
        }
        let aud: serde_json::Value = match input.audience.as_slice() {
            [one] => one.clone().into(),
            many => many.to_vec().into(),
        };
        let mut claims = serde_json::json!({
            "iss": crate::outbound::issuer(&self.public_url, &rec),
            "aud": aud,
            "sub": principal.principal_arn(),
            "iat": now.div_euclid(1000),
            "exp": expires_ms.div_euclid(1000),
            "jti": ctx.ids().uuid(),
            "https://sts.amazonaws.com/": aws,
        });
        if let Some(scope) = &input.scope
            && let Some(m) = claims.as_object_mut()
        {
            m.insert("scope".into(), scope.clone().into());
        }
        let sealer = self.sealer.as_ref().ok_or_else(ApiError::internal)?;
        if alg == crate::outbound::Alg::Es384 && rec.ec.is_none() {
            // Enabled before Cairn signed ES384: the key comes with the next enabling.
            return Err(validation(
                "This account has no ES384 key yet: disable and enable outbound identity federation to create one.",
            ));
        }
        let token = crate::outbound::sign(ctx.ids(), sealer, &rec, &claims, alg)
            .ok_or_else(ApiError::internal)?;
        Ok(types::GetWebIdentityTokenResponse {
            expiration: Some(Timestamp::from_millis(
                expires_ms - expires_ms.rem_euclid(1000),
            )),
            web_identity_token: Some(token),
        })
    }

    async fn get_caller_identity(
        &self,
        ctx: &Call,
        _input: types::GetCallerIdentityRequest,
    ) -> Result<types::GetCallerIdentityResponse, ApiError> {
        let p = ctx.principal();
        Ok(types::GetCallerIdentityResponse {
            account: Some(p.account_id().to_owned()),
            arn: Some(p.arn()),
            user_id: Some(p.user_id()),
        })
    }

    async fn assume_role(
        &self,
        ctx: &Call,
        input: types::AssumeRoleRequest,
    ) -> Result<types::AssumeRoleResponse, ApiError> {
        let caller = ctx.principal().clone();
        if caller.is_root() && !self.root_assumes_roles {
            return Err(access_denied("Roles may not be assumed by root accounts."));
        }
        let caller_arn = caller.arn();
        let not_authorized = || {
            access_denied(format!(
                "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {}",
                input.role_arn
            ))
        };
        let Some((role_account, role_name)) = parse_role_arn(&input.role_arn) else {
            return Err(validation(format!("{} is invalid", input.role_arn)));
        };
        let (ra, rn) = (role_account.to_owned(), role_name.to_owned());
        let arns = session_policy_arns(input.policy_arns.as_deref())?;
        let arns2 = arns.clone();
        let (role, missing) = ctx
            .read(move |tx| {
                Ok((
                    crate::authz::role_by_name(tx, &ra, &rn)?,
                    missing_policy(tx, &arns2)?,
                ))
            })
            .await?;
        // A role that does not exist is reported as AWS does: not authorized.
        let role = role.ok_or_else(not_authorized)?;
        if let Some(arn) = missing {
            return Err(not_attachable(&arn));
        }
        // Duration: the role's maximum, or one hour when chaining roles.
        let caller_session = caller.session().cloned();
        let chained = matches!(caller, Principal::AssumedRole { .. });
        let duration = i64::from(input.duration_seconds.unwrap_or(3600));
        if chained && duration > 3600 {
            return Err(validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ));
        }
        check_duration(duration, &role)?;
        // Session policy.
        check_session_policy(input.policy.as_deref())?;
        let mut packed = input.policy.as_deref().map_or(0, packed_chars);
        packed += arns.iter().map(|a| a.len()).sum::<usize>();
        // Session tags: the caller's transitive tags carry over and cannot be overridden.
        let mut tags: Vec<(String, String)> = Vec::new();
        let mut transitive: Vec<String> = Vec::new();
        if let Some(s) = &caller_session
            && chained
        {
            for key in &s.transitive_tag_keys {
                if let Some((k, v)) = s.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
                    tags.push((k.clone(), v.clone()));
                    transitive.push(k.clone());
                }
            }
        }
        let new_tags = input.tags.clone().unwrap_or_default();
        if new_tags.len() > MAX_TAGS {
            return Err(validation(format!(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
            )));
        }
        for t in &new_tags {
            if tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&t.key)) {
                let inherited = transitive.iter().any(|k| k.eq_ignore_ascii_case(&t.key));
                return Err(invalid_parameter(if inherited {
                    format!("Cannot override transitive session tag: {}", t.key)
                } else {
                    format!(
                        "Duplicate tag keys found. Please note that Tag keys are case insensitive. Duplicate key: {}",
                        t.key
                    )
                }));
            }
            tags.push((t.key.clone(), t.value.clone()));
            packed += t.key.len() + t.value.len();
        }
        for key in input.transitive_tag_keys.iter().flatten() {
            if !new_tags.iter().any(|t| t.key.eq_ignore_ascii_case(key)) {
                return Err(invalid_parameter(format!(
                    "The specified transitive tag key must be included in the requested tags: {key}"
                )));
            }
            if !transitive.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                transitive.push(key.clone());
            }
        }
        let packed_percent = check_packed(packed)?;
        // Source identity: once set in a chain of sessions it cannot change.
        let inherited_source = caller_session
            .as_ref()
            .and_then(|s| s.source_identity.clone());
        let source_identity = match (&inherited_source, &input.source_identity) {
            (Some(old), Some(new)) if old != new => {
                return Err(access_denied(format!(
                    "User: {caller_arn} is not authorized to perform: sts:SetSourceIdentity on resource: {}: the source identity of the calling session ({old}) cannot be changed",
                    input.role_arn
                )));
            }
            (Some(old), _) => Some(old.clone()),
            (None, new) => new.clone(),
        };
        let mfa = check_mfa(
            ctx,
            self.sealer.as_ref(),
            input.serial_number.as_deref(),
            input.token_code.as_deref(),
        )
        .await?
            || caller_session.as_ref().is_some_and(|s| s.mfa_authenticated);
        let now = ctx.now_ms();
        let session = Session {
            issued_at_ms: now,
            expires_ms: now + duration * 1000,
            mfa_authenticated: mfa,
            source_identity: source_identity.clone(),
            policy: input.policy.clone(),
            policy_arns: arns,
            tags,
            transitive_tag_keys: transitive,
            chained,
            assumed_root: false,
            ..Session::default()
        };
        let who = TokenWho::Role {
            name: role.name.clone(),
            id: role.role_id.clone(),
            path: role.path.clone(),
            session: input.role_session_name.clone(),
        };
        let credentials = mint(self.sealer.as_ref(), ctx, &role.account_id, who, session)?;
        let with_packed = input.policy.is_some()
            || input.policy_arns.as_ref().is_some_and(|a| !a.is_empty())
            || !new_tags.is_empty();
        Ok(types::AssumeRoleResponse {
            assumed_role_user: Some(assumed_role_user(&role, &input.role_session_name)),
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            packed_policy_size: with_packed
                .then(|| i32::try_from(packed_percent).unwrap_or(i32::MAX)),
            session_token_utilization: None,
            source_identity,
        })
    }

    /// A federated user session: the calling IAM user's (or root user's) permissions,
    /// narrowed by the session policies, which it needs to have any (see
    /// `cairn_policy::evaluate`). STS API reference, GetFederationToken: long-term
    /// credentials only; 900 s to 129,600 s (36 h), 43,200 s by default, at most one hour for
    /// the root user; session tags as `AssumeRole`'s.
    async fn get_federation_token(
        &self,
        ctx: &Call,
        input: types::GetFederationTokenRequest,
    ) -> Result<types::GetFederationTokenResponse, ApiError> {
        let caller = ctx.principal().clone();
        let (account, issuer) = match &caller {
            Principal::Root {
                account_id,
                session: None,
                ..
            } => (account_id.clone(), None),
            Principal::IamUser {
                account_id,
                user_name,
                user_id,
                path,
                session: None,
                ..
            } => (
                account_id.clone(),
                Some(cairn_core::IssuingUser {
                    user_name: user_name.clone(),
                    user_id: user_id.clone(),
                    path: path.clone(),
                }),
            ),
            _ => {
                return Err(access_denied(
                    "Cannot call GetFederationToken with session credentials",
                ));
            }
        };
        let arns = session_policy_arns(input.policy_arns.as_deref())?;
        let arns2 = arns.clone();
        let missing = ctx.read(move |tx| missing_policy(tx, &arns2)).await?;
        check_session_policy(input.policy.as_deref())?;
        if let Some(arn) = missing {
            return Err(not_attachable(&arn));
        }
        let (tags, tags_packed) = session_tags(input.tags.as_deref().unwrap_or_default())?;
        let packed = input.policy.as_deref().map_or(0, packed_chars)
            + arns.iter().map(|a| a.len()).sum::<usize>()
            + tags_packed;
        let packed_percent = check_packed(packed)?;
        let requested = i64::from(input.duration_seconds.unwrap_or(43_200));
        let duration = if issuer.is_none() {
            requested.min(3600)
        } else {
            requested
        };
        let now = ctx.now_ms();
        let with_packed = input.policy.is_some() || !arns.is_empty() || !tags.is_empty();
        let session = Session {
            issued_at_ms: now,
            expires_ms: now + duration * 1000,
            policy: input.policy.clone(),
            policy_arns: arns,
            tags,
            ..Session::default()
        };
        let who = TokenWho::Federated {
            name: input.name.clone(),
            issuer,
        };
        let credentials = mint(self.sealer.as_ref(), ctx, &account, who, session)?;
        Ok(types::GetFederationTokenResponse {
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            federated_user: Some(types::FederatedUser {
                arn: format!("arn:aws:sts::{account}:federated-user/{}", input.name),
                federated_user_id: format!("{account}:{}", input.name),
            }),
            packed_policy_size: with_packed
                .then(|| i32::try_from(packed_percent).unwrap_or(i32::MAX)),
            ..Default::default()
        })
    }

    /// Trades the exchange token of a finalized delegation request
    /// ([`crate::delegation::trade_in`]: once, by the requestor account, within the
    /// delegation period) for credentials in the owner account acting as the identity that
    /// accepted the request, with the request's permission policy as their session policy —
    /// so they can do what both that identity and the delegated permissions allow — expiring
    /// when the delegation period ends. `AssumedPrincipal` is that identity's ARN (STS API
    /// reference: "identifies the IAM entity whose permissions are granted").
    async fn get_delegated_access_token(
        &self,
        ctx: &Call,
        input: types::GetDelegatedAccessTokenRequest,
    ) -> Result<types::GetDelegatedAccessTokenResponse, ApiError> {
        use crate::delegation::{Approver, TradeError};
        let c = crate::common::Ctx::of(ctx);
        let token = input.trade_in_token;
        let trade = ctx
            .write(move |tx| crate::delegation::trade_in(tx, &c, &token))
            .await?;
        let trade = match trade {
            Ok(t) => t,
            // [M]: the texts; a reused token is answered as expired (the model names no
            // other error for it).
            Err(TradeError::Expired) => {
                return Err(ApiError::new(
                    Error::ExpiredTradeInTokenException,
                    "The trade-in token has expired.",
                ));
            }
            Err(TradeError::Used) => {
                return Err(ApiError::new(
                    Error::ExpiredTradeInTokenException,
                    "The trade-in token has already been used.",
                ));
            }
            Err(TradeError::Unknown) => {
                return Err(invalid_parameter("The trade-in token is not valid."));
            }
        };
        let who = match trade.approver {
            Approver::User { name, id, path } => TokenWho::User { name, id, path },
            Approver::Role {
                name,
                id,
                path,
                session,
            } => TokenWho::Role {
                name,
                id,
                path,
                session,
            },
        };
        let now = ctx.now_ms();
        let session = Session {
            issued_at_ms: now,
            expires_ms: trade.expires_ms,
            policy: Some(trade.policy),
            delegation_request_id: Some(trade.request_id.clone()),
            ..Session::default()
        };
        let credentials = mint(
            self.sealer.as_ref(),
            ctx,
            &trade.owner_account,
            who,
            session,
        )?;
        Ok(types::GetDelegatedAccessTokenResponse {
            assumed_principal: Some(trade.approver_arn),
            credentials: Some(credentials),
            packed_policy_size: None,
        })
    }

    async fn get_session_token(
        &self,
        ctx: &Call,
        input: types::GetSessionTokenRequest,
    ) -> Result<types::GetSessionTokenResponse, ApiError> {
        let caller = ctx.principal().clone();
        if caller.session().is_some() || matches!(caller, Principal::AssumedRole { .. }) {
            return Err(access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
        let mfa = check_mfa(
            ctx,
            self.sealer.as_ref(),
            input.serial_number.as_deref(),
            input.token_code.as_deref(),
        )
        .await?;
        let requested = i64::from(input.duration_seconds.unwrap_or(43_200));
        // Root sessions are limited to one hour (longer requests get one hour).
        let duration = if caller.is_root() {
            requested.min(3600)
        } else {
            requested
        };
        let now = ctx.now_ms();
        let session = Session {
            issued_at_ms: now,
            expires_ms: now + duration * 1000,
            mfa_authenticated: mfa,
            ..Session::default()
        };
        let (account, who) = match &caller {
            Principal::Root { account_id, .. } => (account_id.clone(), TokenWho::Root),
            Principal::IamUser {
                account_id,
                user_name,
                user_id,
                path,
                ..
            } => (
                account_id.clone(),
                TokenWho::User {
                    name: user_name.clone(),
                    id: user_id.clone(),
                    path: path.clone(),
                },
            ),
            _ => {
                return Err(access_denied(
                    "Cannot call GetSessionToken with session credentials",
                ));
            }
        };
        let credentials = mint(self.sealer.as_ref(), ctx, &account, who, session)?;
        Ok(types::GetSessionTokenResponse {
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            session_token_utilization: None,
        })
    }

    /// New credentials for the calling session, narrowed (STS API reference,
    /// GetScopedCredentials; IAM User Guide, "Permissions for GetScopedCredentials"): only
    /// temporary credentials may call it (not an IAM user's or root user's long-term keys,
    /// not a root user's session); the identity, session name, tags and source identity are
    /// kept; `Policy` joins the session's scope-down policies, each of which the engine
    /// intersects with what the session could already do (`cairn_policy::Policies::scoped`);
    /// `DurationSeconds` may shorten the session, never extend it
    /// (`InsufficientSessionLifetime`), and without it the expiry is inherited.
    async fn get_scoped_credentials(
        &self,
        ctx: &Call,
        input: types::GetScopedCredentialsRequest,
    ) -> Result<types::GetScopedCredentialsResponse, ApiError> {
        let caller = ctx.principal().clone();
        let (who, session) = scoped_subject(&caller).ok_or_else(|| {
            ApiError::new(
                Error::InvalidSubjectCredentialsException,
                "GetScopedCredentials must be called with temporary security credentials of a role, federated user or IAM user session.",
            )
        })?;
        if input.policy.is_none() && input.duration_seconds.is_none() {
            return Err(validation(
                "A request must provide at least one of Policy or DurationSeconds.",
            ));
        }
        let now = ctx.now_ms();
        let mut session = session.clone();
        if let Some(d) = input.duration_seconds {
            let remaining_s = (session.expires_ms - now).div_euclid(1000);
            if i64::from(d) > remaining_s {
                return Err(ApiError::new(
                    Error::InsufficientSessionLifetimeException,
                    format!(
                        "The requested DurationSeconds ({d}) exceeds the remaining lifetime of the calling session ({remaining_s} seconds)."
                    ),
                ));
            }
            session.expires_ms = now + i64::from(d) * 1000;
        }
        if let Some(doc) = &input.policy {
            check_session_policy(Some(doc))?;
            session.scoped.push(doc.clone());
        }
        // Everything the token carries counts against the packed limit, as for the other
        // calls: the session policies, every scope-down policy, the session tags.
        let packed = session.policy.as_deref().map_or(0, packed_chars)
            + session
                .scoped
                .iter()
                .map(|d| packed_chars(d))
                .sum::<usize>()
            + session
                .tags
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        check_packed(packed)?;
        if input.scoped_session_description.is_some() {
            session
                .scoped_description
                .clone_from(&input.scoped_session_description);
        }
        session.issued_at_ms = now;
        let count = i32::try_from(session.scoped.len()).unwrap_or(i32::MAX);
        let source_identity = session.source_identity.clone();
        let credentials = mint(self.sealer.as_ref(), ctx, caller.account_id(), who, session)?;
        Ok(types::GetScopedCredentialsResponse {
            session_token_size: token_size(&credentials),
            credentials: Some(credentials),
            scoped_policies_count: Some(count),
            session_info: Some(types::ScopedSession {
                arn: caller.arn(),
                scoped_session_id: caller.user_id(),
            }),
            session_token_utilization: None,
            source_identity,
        })
    }
}

/// `SessionTokenSize`: "the size, in bytes, of the session token returned" (STS API
/// reference). `SessionTokenUtilization` — a percentage of a maximum token size AWS does not
/// publish — is left out.
fn token_size(credentials: &types::Credentials) -> Option<i32> {
    i32::try_from(credentials.session_token.len()).ok()
}

/// Who a `GetScopedCredentials` caller's new credentials act as, and its session: a role
/// session, a federated user, or an IAM user's `GetSessionToken` session; `None` for
/// long-term keys and root users' sessions (`AssumeRoot` too), which may not call it.
fn scoped_subject(caller: &Principal) -> Option<(TokenWho, &Session)> {
    match caller {
        Principal::AssumedRole {
            role_name,
            role_id,
            role_path,
            session_name,
            session,
            ..
        } => Some((
            TokenWho::Role {
                name: role_name.clone(),
                id: role_id.clone(),
                path: role_path.clone(),
                session: session_name.clone(),
            },
            session,
        )),
        Principal::FederatedUser {
            name,
            issuer,
            session,
            ..
        } => Some((
            TokenWho::Federated {
                name: name.clone(),
                issuer: issuer.clone(),
            },
            session,
        )),
        Principal::IamUser {
            user_name,
            user_id,
            path,
            session: Some(session),
            ..
        } => Some((
            TokenWho::User {
                name: user_name.clone(),
                id: user_id.clone(),
                path: path.clone(),
            },
            session,
        )),
        _ => None,
    }
}

/// `arn:aws:iam::<12 digits>:role/<path/><name>` → (account, name).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
        .then_some((account, name))
}

/// A role's ID and path, for a session another service starts (`None`: no such role).
pub fn role_identity(
    tx: &mut dyn cairn_store::Tx,
    account: &str,
    role_name: &str,
) -> Result<Option<(String, String)>, cairn_store::StoreError> {
    Ok(crate::records::role(tx, account, role_name)?.map(|r| (r.id, r.path)))
}

/// Credentials for a session of `role_name` (ID `role_id`, path `role_path`) in `account`,
/// started by another service on a person's behalf — Identity Center's
/// `GetRoleCredentials` — sealed exactly as `AssumeRole`'s, so the pipeline and the engine
/// treat them as any role session.
#[allow(clippy::too_many_arguments, reason = "the parts of one session, named")]
pub fn issue_role_session(
    sealer: &Sealer,
    ids: &dyn cairn_core::Ids,
    account: &str,
    role_name: &str,
    role_id: &str,
    role_path: &str,
    session_name: &str,
    session: Session,
) -> Result<types::Credentials, ApiError> {
    let who = TokenWho::Role {
        name: role_name.to_owned(),
        id: role_id.to_owned(),
        path: role_path.to_owned(),
        session: session_name.to_owned(),
    };
    mint_with(sealer, ids, account, who, session)
}

#[cfg(test)]
mod tests {

    use super::*;

    fn body(expires_ms: i64) -> TokenBody {
        TokenBody {
            v: 1,
            k: "ASIAEXAMPLEEXAMPLE12".into(),
            s: "secret".into(),
            a: "111122223333".into(),
            who: TokenWho::Role {
                name: "Admin".into(),
                id: "AROAEXAMPLEEXAMPLE123".into(),
                path: "/".into(),
                session: "s".into(),
            },
            session: Session {
                issued_at_ms: 0,
                expires_ms,
                policy: Some("{}".into()),
                ..Session::default()
            },
        }
    }

    #[test]
    fn tokens_open_only_for_their_key_and_before_expiry() {
        let sealer = Sealer::new(&[3u8; 32]);
        let token = sealer
            .seal(&serde_json::to_string(&body(10_000)).unwrap(), [9u8; 12])
            .unwrap();
        let (secret, p) =
            open_session_token(&sealer, &token, "ASIAEXAMPLEEXAMPLE12", 9_999).unwrap();
        assert_eq!(secret, "secret");
        assert_eq!(p.arn(), "arn:aws:sts::111122223333:assumed-role/Admin/s");
        assert_eq!(p.session().unwrap().policy.as_deref(), Some("{}"));
        assert_eq!(
            open_session_token(&sealer, &token, "ASIAEXAMPLEEXAMPLE12", 10_000).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            open_session_token(&sealer, &token, "ASIAOTHER", 0).unwrap_err(),
            TokenError::Invalid
        );
        let other = Sealer::new(&[4u8; 32]);
        assert_eq!(
            open_session_token(&other, &token, "ASIAEXAMPLEEXAMPLE12", 0).unwrap_err(),
            TokenError::Invalid
        );
        let mut tampered = token.clone().into_bytes();
        tampered[20] ^= 1;
        assert_eq!(
            open_session_token(
                &sealer,
                &String::from_utf8(tampered).unwrap(),
                "ASIAEXAMPLEEXAMPLE12",
                0
            )
            .unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn authorization_messages_decode_and_nothing_else_does() {
        let sealer = Sealer::new(&[7u8; 32]);
        let decoded = serde_json::json!({
            "allowed": false,
            "explicitDeny": false,
            "matchedStatements": {"items": []},
            "failures": {"items": []},
            "context": {"action": "ec2:RunInstances", "resource": "*"}
        });
        let m = encode_authorization_message(&sealer, &decoded, [1; 12]).unwrap();
        let back = decode_authorization_message(&sealer, &m).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&back).unwrap(),
            decoded
        );
        // A session token is sealed under the same key: it does not decode.
        let token = sealer
            .seal(r#"{"v":1,"k":"ASIA","s":"secret"}"#, [2; 12])
            .unwrap();
        assert!(decode_authorization_message(&sealer, &token).is_none());
        assert!(decode_authorization_message(&sealer, "garbage").is_none());
        let other = Sealer::new(&[8u8; 32]);
        assert!(decode_authorization_message(&other, &m).is_none());
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::111122223333:role/ops/Admin"),
            Some(("111122223333", "Admin"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1:role/x"), None);
        assert_eq!(parse_role_arn("arn:aws:iam::111122223333:user/x"), None);
    }
}
