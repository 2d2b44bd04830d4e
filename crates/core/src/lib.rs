//! What every service handler stands on.
//!
//! * [`Clock`] and [`Ids`]: time and randomness are injected, so tests are deterministic.
//! * [`Principal`]: the authenticated caller.
//! * [`Call`]: the context the pipeline hands a handler once the call is authenticated and
//!   authorized. Handlers reach the store only through it, and [`Call::write`] commits the
//!   call's CloudTrail record in the same transaction as the mutation.
//!
//! **Invariant:** a handler cannot obtain a `Call` except from the pipeline, so it cannot be
//! reached without authenticate → authorize → audit.

pub mod base32;
pub mod call;
pub mod clock;
pub mod facts;
pub mod faults;
pub mod generation;
pub mod ids;
pub mod jobs;
pub mod mail;
pub mod notify;
pub mod objects;
pub mod partition;
pub mod principal;

pub use call::{AuditEvent, AuditSink, Call, CallInfo, Env, Failure, FederatedIdentity};
pub use clock::{Clock, ManualClock, SystemClock};
pub use facts::{
    OrgContext, OrgEntity, ResourceFacts, ResourcePolicy, ServiceStanding, TrustedAccess,
    TrustedAccessEvent,
};
pub use faults::Faults;
pub use generation::{Generation, GenerationCache, Generations};
pub use ids::{
    Ids, RandomIds, SeededIds, access_key_id, account_of_access_key, format_uuid, uuid_v7_millis,
};
pub use objects::{BucketCheck, Fetch, MemoryObjects, ObjectError, ObjectStore, Seal, Webhook};
pub use partition::partition_of;
pub use principal::{
    IdentityCenterUser, IssuingUser, OnBehalfOf, PortalCredential, Principal, Session,
};
