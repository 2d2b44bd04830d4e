//! The call context and the audit hook.

use crate::clock::Clock;
use crate::ids::Ids;
use crate::principal::Principal;
use cairn_store::{Store, StoreError, Tx};
use cairn_wire::ApiError;
use cairn_wire::model::{OperationDef, ServiceModel};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Everything a CloudTrail record is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub event_time_ms: i64,
    pub event_id: String,
    pub request_id: String,
    pub principal: Principal,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    pub source_ip: String,
    pub user_agent: String,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub read_only: bool,
    /// `AwsApiCall`, `AwsConsoleSignIn`, `AwsServiceEvent`, …
    pub event_type: String,
    pub management_event: bool,
    pub recipient_account_id: String,
    pub resources: Vec<AuditResource>,
    /// The federated identity an unsigned call proved (`AssumeRoleWithSAML`: a
    /// `SAMLUser`), recorded as the record's `userIdentity` instead of `Unknown`.
    pub federated: Option<FederatedIdentity>,
    /// `serviceEventDetails` (service and sign-in events: what the service reports).
    pub service_event_details: Option<Value>,
    /// `additionalEventData`.
    pub additional_event_data: Option<Value>,
}

/// A `userIdentity` of a federated caller (CloudTrail User Guide, "Values for AWS STS APIs
/// with SAML and web identity federation").
///
/// An Identity Center user calling the portal API with a bearer token is recorded the same
/// way (User Guide, "CloudTrail userIdentity element", the example of a request made on
/// behalf of an IAM Identity Center user): `kind` `IdentityCenterUser`, `principal_id` the
/// user's ID and `identity_provider` the identity store's ARN (`onBehalfOf`), and
/// `credential_id` the token's ID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FederatedIdentity {
    /// `SAMLUser`, `WebIdentityUser` or `IdentityCenterUser`.
    pub kind: String,
    pub principal_id: String,
    pub user_name: String,
    pub identity_provider: String,
    /// `IdentityCenterUser`: the `credentialId`.
    pub credential_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditResource {
    pub arn: String,
    pub account_id: String,
    pub resource_type: String,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where audit events go. Implemented by `cairn-trail`.
pub trait AuditSink: Send + Sync + 'static {
    /// Writes the record inside the caller's transaction (mutations).
    fn record_in(&self, tx: &mut dyn Tx, event: &AuditEvent) -> Result<(), StoreError>;

    /// Records outside a mutation. Read-only events may be group-committed in short batches
    /// (the future resolves once queued); any other event is durable when it resolves.
    fn record(&self, event: AuditEvent) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Whether CloudTrail records the call's `responseElements`: AWS records none for read-only
/// calls, except STS's credential-issuing `Get…` calls, whose records carry the credentials
/// they issued as `AssumeRole`'s do (IAM User Guide, "Logging IAM and AWS STS API calls with
/// AWS CloudTrail", "Example AWS STS API events": `responseElements.credentials` with
/// `accessKeyId`, `sessionToken`, `expiration`). That `GetSessionToken` and
/// `GetFederationToken` records have the same shape is taken from published samples of
/// real records, not from an AWS page (unverified).
fn records_response(model: &ServiceModel, operation: &OperationDef) -> bool {
    !operation.read_only
        || (model.signing_name == "sts"
            && matches!(operation.name, "GetSessionToken" | "GetFederationToken"))
}

/// CloudTrail's `responseElements` for an output document: `None` for read-only calls (AWS
/// records none, see [`records_response`]) and for operations without output.
///
/// Issued credentials are recorded as AWS records them: `accessKeyId`, `sessionToken` and
/// `expiration`, never the secret access key (not even as a placeholder: AWS's STS records
/// have no `secretAccessKey` member).
fn response_elements(
    model: &ServiceModel,
    operation: &OperationDef,
    output: &Value,
) -> Option<Value> {
    if !records_response(model, operation) {
        return None;
    }
    let mut doc = operation
        .output
        .and_then(|shape| cairn_wire::trail::to_trail_document(model, shape, output))?;
    if model.signing_name == "sts"
        && let Some(Value::Object(credentials)) = doc.get_mut("credentials")
    {
        credentials.remove("secretAccessKey");
    }
    Some(doc)
}

/// Shared services for every call.
pub struct Env {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub audit: Arc<dyn AuditSink>,
    /// This process's stable name (the same after a restart on the same data directory):
    /// the owner of the job leases it takes, so that a restart reclaims its own previous
    /// incarnation's leases at once (`cairn_store::Tx::release_leases`).
    pub node: String,
    /// Crash points armed for tests (none in production).
    pub faults: crate::Faults,
    /// The job runner's handle: wake it after enqueueing a job.
    pub jobs: Arc<crate::jobs::Jobs>,
    /// The counters the per-process caches are checked against.
    pub generations: crate::Generations,
}

/// What the pipeline knows about a call before the handler runs.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub request_id: String,
    pub principal: Principal,
    /// Region from the credential scope (or the default).
    pub region: String,
    pub source_ip: String,
    pub user_agent: String,
    pub model: &'static ServiceModel,
    pub operation: &'static OperationDef,
    /// The request document in CloudTrail form (`None`: no parameters).
    pub request_parameters: Option<Value>,
    pub received_ms: i64,
}

/// The error type of transaction closures: an AWS error or a storage failure.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Failure(ApiError::internal())
    }
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure(e)
    }
}

/// The authenticated, authorized call a handler serves.
pub struct Call {
    info: CallInfo,
    env: Arc<Env>,
    recorded: AtomicBool,
    /// The resources the call acts on, as authorization resolved them (its record's
    /// `resources`).
    resources: std::sync::Mutex<Vec<AuditResource>>,
    /// The account whose record this is, when the caller has none (an unsigned call that
    /// acts in an account: `AssumeRoleWithWebIdentity` is recorded in the role's account).
    recipient: std::sync::Mutex<Option<String>>,
    /// The federated identity the call proved (see [`Call::set_federated_identity`]).
    federated: std::sync::Mutex<Option<FederatedIdentity>>,
    /// The record's `requestParameters` as the handler restated them (see
    /// [`Call::set_request_parameters`]).
    request_parameters: std::sync::Mutex<Option<Value>>,
}

impl Call {
    /// Only the pipeline makes calls (clippy's `disallowed-methods` refuses it elsewhere):
    /// a handler receives its `Call` already authenticated and authorized, and reaches the
    /// store only through [`Call::read`] and [`Call::write`].
    pub fn new(info: CallInfo, env: Arc<Env>) -> Self {
        Self {
            info,
            env,
            recorded: AtomicBool::new(false),
            resources: std::sync::Mutex::new(Vec::new()),
            recipient: std::sync::Mutex::new(None),
            federated: std::sync::Mutex::new(None),
            request_parameters: std::sync::Mutex::new(None),
        }
    }

    /// Records the call in `account` (for a caller without an account of its own; a signed
    /// caller's record is always its own account's).
    pub fn set_recipient_account(&self, account: &str) {
        if self.info.principal.account_id().is_empty() {
            match self.recipient.lock() {
                Ok(mut r) => *r = Some(account.to_owned()),
                Err(p) => *p.into_inner() = Some(account.to_owned()),
            }
        }
    }

    /// Records the call as made by `identity` (for a caller without credentials of its own
    /// who proved one: a verified SAML assertion's subject).
    pub fn set_federated_identity(&self, identity: FederatedIdentity) {
        if self.info.principal.account_id().is_empty() {
            match self.federated.lock() {
                Ok(mut r) => *r = Some(identity),
                Err(p) => *p.into_inner() = Some(identity),
            }
        }
    }

    /// Replaces the record's `requestParameters` (for the operations whose record AWS
    /// writes differently from the input: `AssumeRoleWithSAML` records the assertion's ID,
    /// not the assertion).
    pub fn set_request_parameters(&self, parameters: Value) {
        match self.request_parameters.lock() {
            Ok(mut r) => *r = Some(parameters),
            Err(p) => *p.into_inner() = Some(parameters),
        }
    }

    fn request_parameters(&self) -> Option<Value> {
        let set = match self.request_parameters.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        };
        set.or_else(|| self.info.request_parameters.clone())
    }

    fn federated_identity(&self) -> Option<FederatedIdentity> {
        match self.federated.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn recipient_account(&self) -> String {
        let set = match self.recipient.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        };
        set.unwrap_or_else(|| self.info.principal.account_id().to_owned())
    }

    /// Sets the resources the call's CloudTrail record lists (the pipeline, from the
    /// authorization step's resolved resource ARNs).
    pub fn set_resources(&self, resources: Vec<AuditResource>) {
        match self.resources.lock() {
            Ok(mut r) => *r = resources,
            Err(p) => *p.into_inner() = resources,
        }
    }

    fn resources(&self) -> Vec<AuditResource> {
        match self.resources.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn info(&self) -> &CallInfo {
        &self.info
    }

    pub fn principal(&self) -> &Principal {
        &self.info.principal
    }

    /// The partition of the request (from the region its signature is scoped to). Handlers
    /// keep ARNs in `aws` (see `cairn_core::partition`); this is for the few facts that
    /// depend on the partition itself.
    pub fn partition(&self) -> &'static str {
        crate::partition::partition_of(&self.info.region)
    }

    /// The caller's account.
    pub fn account_id(&self) -> &str {
        self.info.principal.account_id()
    }

    pub fn request_id(&self) -> &str {
        &self.info.request_id
    }

    /// The ID source, to move into a transaction closure.
    pub fn ids_arc(&self) -> Arc<dyn Ids> {
        Arc::clone(&self.env.ids)
    }

    /// The cache counters: bump one after the commit of a change (see
    /// `cairn_core::generation`).
    pub fn generations(&self) -> &crate::Generations {
        &self.env.generations
    }

    /// Wakes the job runner (after the commit of a transaction that enqueued a job).
    pub fn kick_jobs(&self) {
        self.env.jobs.kick();
    }

    /// Whether this process is the only writer of its store (SQLite): a per-process cache
    /// of an answer can then be kept under a generation alone.
    pub fn sole_writer(&self) -> bool {
        self.env.store.backend_name() == "sqlite"
    }

    pub fn now_ms(&self) -> i64 {
        self.env.clock.now_millis()
    }

    pub fn ids(&self) -> &dyn Ids {
        self.env.ids.as_ref()
    }

    /// Whether the call's audit record has already been written (by [`Call::write`]).
    pub fn recorded(&self) -> bool {
        self.recorded.load(Ordering::SeqCst)
    }

    /// The audit event for this call with the given outcome.
    pub fn audit_event(
        &self,
        response_elements: Option<Value>,
        error: Option<&ApiError>,
    ) -> AuditEvent {
        // A global service's calls are recorded in the region its partition endpoint signs
        // for (IAM: `us-east-1` in `aws`, `cn-north-1` in `aws-cn`; see
        // `partition::global_region`).
        let region = match self.info.model.global {
            true => crate::partition::global_region(self.info.model.signing_name, self.partition())
                .map_or_else(|| self.info.region.clone(), str::to_owned),
            false => self.info.region.clone(),
        };
        AuditEvent {
            event_time_ms: self.info.received_ms,
            event_id: self.env.ids.uuid_v7(self.info.received_ms),
            request_id: self.info.request_id.clone(),
            principal: self.info.principal.clone(),
            event_source: self.info.model.event_source.to_owned(),
            event_name: self.info.operation.name.to_owned(),
            aws_region: region,
            source_ip: self.info.source_ip.clone(),
            user_agent: self.info.user_agent.clone(),
            request_parameters: self.request_parameters(),
            response_elements: if records_response(self.info.model, self.info.operation) {
                response_elements
            } else {
                None
            },
            error_code: error.map(|e| e.code.to_string()),
            error_message: error.map(|e| e.message.clone()),
            read_only: self.info.operation.read_only,
            event_type: String::from("AwsApiCall"),
            management_event: true,
            recipient_account_id: self.recipient_account(),
            resources: self.resources(),
            federated: self.federated_identity(),
            service_event_details: None,
            additional_event_data: None,
        }
    }

    /// The audit event of a successful call whose output document is `output`.
    pub fn success_event(&self, output: &Value) -> AuditEvent {
        self.audit_event(
            response_elements(self.info.model, self.info.operation, output),
            None,
        )
    }

    /// A read-only snapshot transaction.
    pub async fn read<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<R, Failure> + Send + 'static,
    {
        self.env.store.read(f).await.map_err(|Failure(e)| e)
    }

    /// A read-write transaction that also commits this call's CloudTrail record: the
    /// mutation and its record are durable together or not at all. The closure may run more
    /// than once (the store retries serialization conflicts), so it must not consume state.
    pub async fn write<R, F>(&self, mut f: F) -> Result<R, ApiError>
    where
        R: Serialize + Send + 'static,
        F: FnMut(&mut dyn Tx) -> Result<R, Failure> + Send + 'static,
    {
        let draft = self.audit_event(None, None);
        let audit = Arc::clone(&self.env.audit);
        let model = self.info.model;
        let operation = self.info.operation;
        let result = self
            .env
            .store
            .write(move |tx| {
                let out = f(tx)?;
                let mut event = draft.clone();
                if records_response(model, operation) && operation.output.is_some() {
                    let doc =
                        serde_json::to_value(&out).map_err(|_| Failure(ApiError::internal()))?;
                    event.response_elements = response_elements(model, operation, &doc);
                }
                audit.record_in(tx, &event)?;
                Ok(out)
            })
            .await;
        match result {
            Ok(out) => {
                self.recorded.store(true, Ordering::SeqCst);
                Ok(out)
            }
            Err(Failure(e)) => Err(e),
        }
    }

    /// [`Call::write`] for a call whose refusal is itself state: the closure answers
    /// `Ok(Err(e))` to commit its writes (and the record, with `e` as its error) and still
    /// answer `e` — a device-code poll that is too early (`SlowDownException`) counts, a
    /// wrong password counts towards lockout. `Err(_)` rolls back as in `write`.
    pub async fn write_outcome<R, F>(&self, mut f: F) -> Result<R, ApiError>
    where
        R: Serialize + Send + 'static,
        F: FnMut(&mut dyn Tx) -> Result<Result<R, ApiError>, Failure> + Send + 'static,
    {
        let draft = self.audit_event(None, None);
        let audit = Arc::clone(&self.env.audit);
        let model = self.info.model;
        let operation = self.info.operation;
        let result = self
            .env
            .store
            .write(move |tx| {
                let out = f(tx)?;
                let event = match &out {
                    Ok(out) => {
                        let mut event = draft.clone();
                        if records_response(model, operation) && operation.output.is_some() {
                            let doc = serde_json::to_value(out)
                                .map_err(|_| Failure(ApiError::internal()))?;
                            event.response_elements = response_elements(model, operation, &doc);
                        }
                        event
                    }
                    Err(e) => {
                        let mut event = draft.clone();
                        event.error_code = Some(e.code.to_string());
                        event.error_message = Some(e.message.clone());
                        event
                    }
                };
                audit.record_in(tx, &event)?;
                Ok(out)
            })
            .await;
        match result {
            Ok(out) => {
                self.recorded.store(true, Ordering::SeqCst);
                out
            }
            Err(Failure(e)) => Err(e),
        }
    }
}
