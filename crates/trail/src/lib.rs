//! CloudTrail for Cairn: every call recorded as an AWS-shaped CloudTrail record, and
//! `LookupEvents` over them.
//!
//! * [`record`]: the record format ([`to_record`]), AWS's exact shape and field order.
//! * [`insights`]: unusual call and error rates, as Insights events.
//! * [`layout`]: how records and the lookup index are keyed in the store.
//! * [`sink`]: [`Recorder`], the [`cairn_core::AuditSink`]: mutations' records in the
//!   mutation's transaction, read-only records group-committed, everything else durable on
//!   return.
//! * [`lookup`]: the `LookupEvents` operation.
//! * [`recent`]: the records just written, in memory for the streams and deliveries that
//!   read them right after.
//! * [`stream`]: event streams, every event pushed to HTTP endpoints in EventBridge's envelope.
//! * [`trails`]: trails — settings, selectors, tags, logging state — and their storage.
//! * [`channels`], [`data`]: channels and `PutAuditEvents` (cloudtrail-data).
//! * [`delivery`]: trails' log files in the object store (fan-out, files, acknowledgement).
//! * [`digest`]: signed, chained digest files and the signing keys (`ListPublicKeys`).
//! * [`facts`]: what authorization learns about trails, their tags ([`TrailFacts`]).
//! * [`validate`]: `cairn trail validate`, the digest chain checked as `validate-logs` does.
//! * [`service`]: [`CloudTrailService`], the `cairn_api::cloudtrail::CloudTrail`
//!   implementation.

pub mod activity;
pub mod channels;
pub mod data;
pub mod delivery;
pub mod digest;
pub mod facts;
pub mod insights;
pub mod layout;
pub mod lookup;
pub mod recent;
pub mod record;
pub mod service;
pub mod sink;
pub mod stream;
pub mod trails;
pub mod validate;

pub use data::CloudTrailDataService;
pub use facts::TrailFacts;
pub use lookup::lookup_events;
pub use record::{EVENT_VERSION, format_event_time, lookup_username, to_record, write_record};
pub use service::CloudTrailService;
pub use sink::Recorder;

#[cfg(test)]
mod test_support {
    use cairn_core::{AuditEvent, Principal};

    pub const ACCT: &str = "111122223333";

    /// A root-user event of [`ACCT`].
    pub fn event(time_ms: i64, id: &str, name: &str, read_only: bool) -> AuditEvent {
        AuditEvent {
            event_time_ms: time_ms,
            event_id: id.to_owned(),
            request_id: format!("req-{id}"),
            principal: Principal::Root {
                account_id: ACCT.to_owned(),
                access_key_id: "AKIAROOTEXAMPLE".to_owned(),
                session: None,
            },
            event_source: "organizations.amazonaws.com".to_owned(),
            event_name: name.to_owned(),
            aws_region: "us-east-1".to_owned(),
            source_ip: "127.0.0.1".to_owned(),
            user_agent: "test".to_owned(),
            request_parameters: None,
            response_elements: None,
            error_code: None,
            error_message: None,
            read_only,
            event_type: "AwsApiCall".to_owned(),
            management_event: true,
            recipient_account_id: ACCT.to_owned(),
            resources: Vec::new(),
            federated: None,
            service_event_details: None,
            additional_event_data: None,
        }
    }
}
