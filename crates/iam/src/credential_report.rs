//! The credential report: one CSV row per user of the account (the root user first) with
//! the state of its password, MFA, access keys and signing certificates, in AWS's columns
//! (IAM User Guide, "Generate credential reports for your AWS account").
//!
//! `GenerateCredentialReport` builds the report at once and keeps it; like AWS it answers
//! `STARTED` when no report existed and `COMPLETE` otherwise, and a report is rebuilt only
//! when the kept one is older than four hours ("If a credential report was generated within
//! the last four hours … IAM doesn't generate a new one", same guide). `GetCredentialReport`
//! refuses a report older than four hours as expired.
//!
//! | space         | key         | value         |
//! |---------------|-------------|---------------|
//! | `iam.credrep` | `<account>` | [`ReportRec`] |

use crate::common::{Ctx, fail, ts};
use crate::records::{self, FORMAT, USER_KEYS, USERS, UserRec, user_keys_prefix};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const REPORTS: &str = "iam.credrep";
const FRESH_MS: i64 = 4 * 3600 * 1000;

/// AWS's columns, in order.
const COLUMNS: &[&str] = &[
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportRec {
    pub v: u32,
    pub generated_ms: i64,
    pub csv: String,
}

/// `2016-10-04T20:47:00+00:00`, the report's time format.
fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_or_else(
        |_| "N/A".to_owned(),
        |t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        },
    )
}

/// The five columns of one access key (or of none): active, last rotated (created), last
/// used date, region and service (`N/A` for a key never used, as IAM answers).
fn key_columns(
    tx: &mut dyn Tx,
    key: Option<&crate::accounts::AccessKey>,
) -> Result<[String; 5], StoreError> {
    Ok(match key {
        Some(k) => {
            let used = crate::accounts::key_last_used(tx, &k.access_key_id)?;
            let (date, region, service) = used.map_or_else(
                || ("N/A".into(), "N/A".into(), "N/A".into()),
                |u| (iso(u.used_ms), u.region, u.service),
            );
            [
                k.active.to_string(),
                iso(k.created_ms),
                date,
                region,
                service,
            ]
        }
        None => [
            "false".into(),
            "N/A".into(),
            "N/A".into(),
            "N/A".into(),
            "N/A".into(),
        ],
    })
}

/// `cert_1_active`, `cert_1_last_rotated`, `cert_2_…`: the two oldest signing certificates
/// (last rotated: uploaded), `false` and `N/A` where there is none (IAM User Guide,
/// "Getting credential reports").
fn cert_columns(cells: &mut Vec<String>, certs: &[crate::certificates::SigningCertRec]) {
    for i in 0..2 {
        match certs.get(i) {
            Some(c) => cells.extend([c.active.to_string(), iso(c.uploaded_ms)]),
            None => cells.extend(["false".to_owned(), "N/A".to_owned()]),
        }
    }
}

fn row(out: &mut String, cells: &[String]) {
    out.push_str(&cells.join(","));
    out.push('\n');
}

fn build(tx: &mut dyn Tx, account: &str) -> Result<String, StoreError> {
    let mut csv = COLUMNS.join(",");
    csv.push('\n');
    // The root user: `<root_account>`, its password columns `not_supported` where AWS
    // cannot report them through IAM.
    let created = crate::accounts::get_account(tx, account)?.map_or(0, |a| a.created_ms);
    let mut root_keys = crate::accounts::root_access_keys(tx, account)?;
    root_keys.sort_by_key(|k| k.created_ms);
    let mut cells = vec![
        "<root_account>".to_owned(),
        format!("arn:aws:iam::{account}:root"),
        iso(created),
        "not_supported".into(),
        "no_information".into(),
        "not_supported".into(),
        "not_supported".into(),
        "false".into(),
    ];
    cells.extend(key_columns(tx, root_keys.first())?);
    cells.extend(key_columns(tx, root_keys.get(1))?);
    cert_columns(
        &mut cells,
        &crate::certificates::signing_certificates(tx, account, None)?,
    );
    row(&mut csv, &cells);

    let users: Vec<(String, UserRec)> = records::load_all(tx, USERS, &format!("{account}/"))?;
    for (_, u) in users {
        let login = crate::login::login(tx, account, &u.name)?;
        let mut keys = Vec::new();
        for id in records::suffixes(tx, USER_KEYS, &user_keys_prefix(account, &u.name))? {
            if let Some(k) = crate::accounts::get_access_key(tx, &id)? {
                keys.push(k);
            }
        }
        keys.sort_by_key(|k| k.created_ms);
        let mut cells = vec![
            u.name.clone(),
            records::entity_arn(account, records::EntityKind::User, &u.path, &u.name),
            iso(u.created_ms),
            login.is_some().to_string(),
            if login.is_some() {
                "no_information"
            } else {
                "N/A"
            }
            .into(),
            login
                .as_ref()
                .map_or_else(|| "N/A".into(), |l| iso(l.created_ms)),
            "N/A".into(),
            crate::mfa::has_devices(tx, account, &u.name)?.to_string(),
        ];
        cells.extend(key_columns(tx, keys.first())?);
        cells.extend(key_columns(tx, keys.get(1))?);
        cert_columns(
            &mut cells,
            &crate::certificates::signing_certificates(tx, account, Some(&u.name))?,
        );
        row(&mut csv, &cells);
    }
    Ok(csv)
}

pub(crate) fn generate_credential_report(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::GenerateCredentialReportResponse, Failure> {
    let kept: Option<ReportRec> = records::load(tx, REPORTS, &c.account)?;
    if let Some(r) = &kept
        && c.now_ms - r.generated_ms < FRESH_MS
    {
        return Ok(types::GenerateCredentialReportResponse {
            state: Some(types::ReportStateType::Complete),
            description: None,
        });
    }
    let csv = build(tx, &c.account)?;
    records::save(
        tx,
        REPORTS,
        &c.account,
        &ReportRec {
            v: FORMAT,
            generated_ms: c.now_ms,
            csv,
        },
    )?;
    // AWS's answer when it starts a report (API reference example).
    Ok(types::GenerateCredentialReportResponse {
        state: Some(types::ReportStateType::Started),
        description: Some("No report exists. Starting a new report generation task".to_owned()),
    })
}

pub(crate) fn get_credential_report(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::GetCredentialReportResponse, Failure> {
    let Some(r) = records::load::<ReportRec>(tx, REPORTS, &c.account)? else {
        // [M]: the texts.
        return Err(fail(
            Error::CredentialReportNotPresentException,
            "Credential report not present.",
        ));
    };
    if c.now_ms - r.generated_ms >= FRESH_MS {
        return Err(fail(
            Error::CredentialReportExpiredException,
            "Credential report expired. Call GenerateCredentialReport to generate a new one.",
        ));
    }
    Ok(types::GetCredentialReportResponse {
        content: Some(cairn_wire::Blob(r.csv.into_bytes())),
        generated_time: Some(ts(r.generated_ms)),
        report_format: Some(types::ReportFormatType::TextCsv),
    })
}
