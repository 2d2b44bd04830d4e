//! Configuration, read once: command-line flags, then `CAIRN_*` environment variables, then
//! the TOML file `--config FILE` names (env `CAIRN_CONFIG`), then defaults — the first that
//! sets a value wins. Everything below the binary receives its settings from here; no other
//! crate reads the environment.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const USAGE: &str = "usage:
  cairn serve [--listen ADDR] [--data-dir DIR] [--database-url URL] [--account-id ID]
              [--email EMAIL] [--dev] [--log-format text|json] [--config FILE]
              [--object-store DIR|s3://[BUCKET]] [--object-store-endpoint URL]
              [--object-store-region REGION] [--trail-delivery-seconds N]
              [--trail-digest-seconds N] [--event-stream URL] [--key-last-used-seconds N]
  cairn env [--data-dir DIR] [--listen ADDR] [--config FILE]
  cairn signup --email EMAIL --name NAME [--data-dir DIR] [--database-url URL] [--config FILE]
  cairn policy simulate FILE
  cairn sso enable [--account-id ID] [--region R] [--data-dir DIR] [--database-url URL]
  cairn sso settings [--mfa context-aware|always-on|disabled]
              [--without-mfa-device require-registration|block|allow]
              [--session-duration SECONDS] [--account-id ID] [--public-url URL]
              [--data-dir DIR] [--database-url URL]
  cairn trail validate --trail-arn ARN [--start-time T] [--end-time T] [--account-id ID]
              [--region R] [--json] [--data-dir DIR] [--object-store …]
  cairn help

commands:
  serve           run the server (AWS APIs on one port)
  env             print the shell exports that point the AWS CLI and SDKs at the server as
                  its root user: eval \"$(cairn env)\"
  signup          create another standalone account and print its root credentials as JSON
  policy simulate decide a request against given policies, offline (see README)
  sso enable      enable IAM Identity Center for an organization (its management account:
                  the bootstrap account unless --account-id), as the console's Enable does:
                  trusted access for sso.amazonaws.com and the organization instance; prints
                  the instance as JSON
  sso settings    the access portal's sign-in settings of the instance an account owns
                  (default: the bootstrap account's): MFA prompts (default context-aware),
                  what a user without an MFA device meets (default require-registration),
                  the portal session's duration (default 28800 s); prints them with the
                  start URL (https://<store>.awsapps.com/start, for CLI profiles) and the
                  portal's URL
  trail validate  check a trail's digest chain and log files as `aws cloudtrail
                  validate-logs` does, also in a local-directory store; exit 1 on any
                  altered, missing or moved file
  help            print this text

  --listen        address to listen on (env CAIRN_LISTEN; default 127.0.0.1:4566)
  --data-dir      data directory (env CAIRN_DATA_DIR; default ./cairn-data)
  --database-url  postgres://… to use PostgreSQL (env CAIRN_DATABASE_URL; default SQLite in the data dir)
  --database-schema
                  PostgreSQL: the schema for Cairn's tables, created if missing (env
                  CAIRN_DATABASE_SCHEMA; default the connection's search_path)
  --account-id    fix the bootstrap account's 12-digit ID (default: random)
  --email         the bootstrap account's email (default admin@cairn.local)
  --dev           emulator convenience: well-formed SigV4 credentials that Cairn did not issue
                  (e.g. test/test) act as the bootstrap account's root, unchecked, and that
                  root may assume roles; the keys and sessions Cairn issued act as their
                  owners, checked and authorized as always. Default is enforcing.
  --log-format    text (default) or json: one JSON object per line, with each request's span
  --object-store  where trails deliver log files: a directory (env CAIRN_OBJECT_STORE;
                  default <data-dir>/objects; a trail's bucket is a directory in it), or
                  s3:// for an S3-compatible service, whose buckets are the trails' buckets
                  (s3://BUCKET: only that one)
  --object-store-endpoint
                  the S3 service, http(s)://host[:port] (env CAIRN_OBJECT_STORE_ENDPOINT);
                  TLS trusts the system's CAs, or SSL_CERT_FILE / SSL_CERT_DIR
  --object-store-region
                  its signing region (env CAIRN_OBJECT_STORE_REGION; default us-east-1)
  --trail-delivery-seconds
                  how often trails deliver (env CAIRN_TRAIL_DELIVERY_SECONDS; default 300,
                  as AWS: about every 5 minutes; a trail with 5,000 records waiting
                  delivers them at once)
  --event-stream  POST every recorded event, in EventBridge's envelope, to this http:// or
                  https:// URL (env CAIRN_EVENT_STREAM_URL; signed with
                  CAIRN_EVENT_STREAM_SECRET when set; CAIRN_EVENT_STREAM_BATCH_SIZE N > 1
                  posts up to N per request as NDJSON); filtered streams: [[event-stream]]
                  tables in the config file (name, url, secret, event-sources, event-names,
                  error-codes, denied-only, batch-size)
  --trail-digest-seconds
                  how often trails with log file validation deliver a digest (env
                  CAIRN_TRAIL_DIGEST_SECONDS; default 3600, hourly as AWS)
  --public-url    the URL clients reach Cairn at, e.g. https://cairn.example.com (env
                  CAIRN_PUBLIC_URL; default http://<listen address>): the issuer of the
                  tokens STS's GetWebIdentityToken signs, whose keys Cairn serves there
  --key-last-used-seconds
                  at most one write of an access key's last use per key per N seconds
                  (env CAIRN_KEY_LAST_USED_SECONDS; default 60): GetAccessKeyLastUsed trails
                  the true last use by less than N
  --config        a TOML file with any of: listen, data-dir, database-url, account-id, email,
                  dev, log-format, master-key, smtp-url, public-url, org-max-accounts, object-store,
                  object-store-endpoint, object-store-region, object-store-access-key-id,
                  object-store-secret-access-key, trail-delivery-seconds,
                  trail-digest-seconds, key-last-used-seconds (env CAIRN_CONFIG)

  environment only: CAIRN_MASTER_KEY (64 hex digits), CAIRN_SMTP_URL (smtp://host:port),
  CAIRN_ORG_MAX_ACCOUNTS (default 10), CAIRN_OBJECT_STORE_ACCESS_KEY_ID and
  CAIRN_OBJECT_STORE_SECRET_ACCESS_KEY (the S3 service's credentials) — each also settable
  in the config file.";

/// The `CAIRN_*` environment, read once by `main`.
pub type Environment = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub struct Common {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// PostgreSQL only: the schema Cairn's tables live in (several stores in one database).
    pub database_schema: Option<String>,
    /// 64 hex digits; `None`: `<data-dir>/master.key`.
    pub master_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServeOpts {
    pub common: Common,
    pub listen: String,
    pub account_id: Option<String>,
    pub email: String,
    pub dev: bool,
    pub json_logs: bool,
    /// `smtp://host[:port]`; `None`: mail is written to `<data-dir>/outbox/`.
    pub smtp_url: Option<String>,
    /// The URL clients reach this server at (`--public-url`); `None`: `http://<listen>`.
    pub public_url: Option<String>,
    pub org: cairn_organizations::OrgConfig,
    /// Crash points (`CAIRN_FAULTS`, debug builds only; for the integration tests).
    pub faults: cairn_core::Faults,
    /// A file holding milliseconds to add to the wall clock (`CAIRN_TEST_CLOCK_FILE`, debug
    /// builds only; for the integration tests of expiry: `crate::test_clock`).
    pub clock_file: Option<PathBuf>,
    /// Where trails deliver.
    pub object_store: ObjectStoreConfig,
    /// How often trail delivery runs, in milliseconds.
    pub trail_delivery_ms: i64,
    /// How often a validating trail delivers a digest, in milliseconds.
    pub trail_digest_ms: i64,
    /// Where every recorded event is pushed.
    pub event_streams: Vec<cairn_trail::stream::StreamConfig>,
    /// At most one write of an access key's last use per this interval, in milliseconds.
    pub key_last_used_ms: i64,
}

/// Where trails deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStoreConfig {
    /// A local directory.
    Dir(PathBuf),
    /// An S3-compatible service.
    S3 {
        endpoint: String,
        region: String,
        access_key_id: String,
        secret_access_key: String,
        /// `s3://BUCKET`: only this bucket.
        bucket: Option<String>,
    },
}

/// Trail delivery's default cadence: CloudTrail "typically delivers log files within an
/// average of about 5 minutes of an API call" (CloudTrail UG, "How CloudTrail works").
pub const DEFAULT_TRAIL_DELIVERY_SECONDS: f64 = 300.0;

#[derive(Debug, Clone)]
pub struct SignupOpts {
    pub common: Common,
    pub email: String,
    pub name: String,
}

/// `cairn env`: where the server's data directory is and where it listens.
#[derive(Debug, Clone)]
pub struct EnvOpts {
    pub common: Common,
    pub listen: String,
}

/// `cairn trail validate`.
#[derive(Debug, Clone)]
pub struct TrailValidateOpts {
    pub common: Common,
    pub object_store: ObjectStoreConfig,
    pub trail_arn: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub json: bool,
}

/// `cairn sso settings`: the access portal's sign-in settings.
#[derive(Debug, Clone)]
pub struct SsoSettingsOpts {
    pub common: Common,
    /// The instance's owner (default: the bootstrap account of the data directory).
    pub account_id: Option<String>,
    /// `CONTEXT_AWARE`, `ALWAYS_ON`, `DISABLED`.
    pub mfa: Option<String>,
    /// `REQUIRE_REGISTRATION`, `BLOCK`, `ALLOW`.
    pub without_device: Option<String>,
    pub session_duration_s: Option<i64>,
    /// Where browsers reach the server (for the portal URL printed).
    pub public_url: String,
}

/// `cairn sso enable`: IAM Identity Center for an organization, as the console's "Enable".
#[derive(Debug, Clone)]
pub struct SsoEnableOpts {
    pub common: Common,
    /// The management account (default: the bootstrap account of the data directory).
    pub account_id: Option<String>,
    /// The instance's home region.
    pub region: String,
}

#[derive(Debug)]
pub enum Command {
    TrailValidate(Box<TrailValidateOpts>),
    SsoEnable(SsoEnableOpts),
    SsoSettings(SsoSettingsOpts),
    Serve(Box<ServeOpts>),
    Env(EnvOpts),
    Signup(SignupOpts),
    Help,
}

/// The `--config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_schema: Option<String>,
    account_id: Option<String>,
    email: Option<String>,
    dev: Option<bool>,
    log_format: Option<String>,
    master_key: Option<String>,
    smtp_url: Option<String>,
    public_url: Option<String>,
    org_max_accounts: Option<usize>,
    object_store: Option<String>,
    object_store_endpoint: Option<String>,
    object_store_region: Option<String>,
    object_store_access_key_id: Option<String>,
    object_store_secret_access_key: Option<String>,
    trail_delivery_seconds: Option<f64>,
    trail_digest_seconds: Option<f64>,
    key_last_used_seconds: Option<f64>,
    #[serde(default)]
    event_stream: Vec<cairn_trail::stream::StreamConfig>,
}

fn read_file(path: &str) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?;
    toml::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

/// A duration setting in seconds (flag or env `given`, else the file's, else `default`),
/// between `min` and a day, in milliseconds.
fn seconds_ms(
    name: &str,
    given: Option<String>,
    file: Option<f64>,
    default: f64,
    min: f64,
) -> Result<i64, String> {
    let seconds = match given {
        Some(v) => v
            .parse::<f64>()
            .map_err(|_| format!("--{name} must be a number, got {v:?}"))?,
        None => file.unwrap_or(default),
    };
    if !(min..=86_400.0).contains(&seconds) {
        return Err(format!(
            "--{name} must be between {min} and 86400, got {seconds}"
        ));
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded to at most 86400 s above"
    )]
    Ok((seconds * 1000.0).round() as i64)
}

pub fn parse(args: &[String], env: &Environment) -> Result<Command, String> {
    let Some((cmd, mut rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let trail_validate = cmd == "trail" && rest.first().is_some_and(|a| a == "validate");
    if trail_validate {
        rest = rest.get(1..).unwrap_or_default();
    } else if cmd == "trail" {
        return Err("unknown command: trail needs validate".to_owned());
    }
    let sso_enable = cmd == "sso" && rest.first().is_some_and(|a| a == "enable");
    let sso_settings = cmd == "sso" && rest.first().is_some_and(|a| a == "settings");
    if sso_enable || sso_settings {
        rest = rest.get(1..).unwrap_or_default();
    } else if cmd == "sso" {
        return Err("unknown command: sso needs enable or settings".to_owned());
    }
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let Some(name) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument {a:?}"));
        };
        if let Some((k, v)) = name.split_once('=') {
            flags.push((k.to_owned(), Some(v.to_owned())));
        } else if matches!(name, "dev" | "help" | "json") {
            flags.push((name.to_owned(), None));
        } else {
            let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            flags.push((name.to_owned(), Some(v.clone())));
        }
    }
    let flag = |k: &str| {
        flags
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.clone())
    };
    let has = |k: &str| flags.iter().any(|(n, _)| n == k);
    if has("help") || cmd == "help" || cmd == "--help" || cmd == "-h" {
        return Ok(Command::Help);
    }
    let known: &[&str] = match cmd.as_str() {
        "serve" => &[
            "listen",
            "data-dir",
            "database-url",
            "database-schema",
            "account-id",
            "email",
            "dev",
            "log-format",
            "config",
            "object-store",
            "object-store-endpoint",
            "object-store-region",
            "trail-delivery-seconds",
            "trail-digest-seconds",
            "event-stream",
            "public-url",
            "key-last-used-seconds",
        ],
        "signup" => &[
            "email",
            "name",
            "data-dir",
            "database-url",
            "database-schema",
            "config",
        ],
        "env" => &["data-dir", "listen", "config"],
        "sso" => &[
            "data-dir",
            "database-url",
            "database-schema",
            "config",
            "account-id",
            "region",
            "mfa",
            "without-mfa-device",
            "session-duration",
            "public-url",
            "listen",
        ],
        "trail" => &[
            "data-dir",
            "database-url",
            "database-schema",
            "config",
            "object-store",
            "object-store-endpoint",
            "object-store-region",
            "trail-arn",
            "start-time",
            "end-time",
            "account-id",
            "region",
            "json",
        ],
        other => return Err(format!("unknown command {other:?}")),
    };
    if let Some((bad, _)) = flags.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        return Err(format!("unknown option --{bad} for {cmd}"));
    }
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
    let file = match flag("config").or_else(|| var("CAIRN_CONFIG")) {
        Some(path) => read_file(&path)?,
        None => FileConfig::default(),
    };
    let common = Common {
        data_dir: flag("data-dir")
            .map(PathBuf::from)
            .or_else(|| var("CAIRN_DATA_DIR").map(PathBuf::from))
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./cairn-data")),
        database_url: flag("database-url")
            .or_else(|| var("CAIRN_DATABASE_URL"))
            .or(file.database_url),
        database_schema: flag("database-schema")
            .or_else(|| var("CAIRN_DATABASE_SCHEMA"))
            .or(file.database_schema),
        master_key: var("CAIRN_MASTER_KEY").or(file.master_key),
    };
    let listen = flag("listen")
        .or_else(|| var("CAIRN_LISTEN"))
        .or(file.listen)
        .unwrap_or_else(|| String::from("127.0.0.1:4566"));
    let store = flag("object-store")
        .or_else(|| var("CAIRN_OBJECT_STORE"))
        .or(file.object_store);
    let object_store = match store {
        None => ObjectStoreConfig::Dir(common.data_dir.join("objects")),
        Some(v) if v == "s3" || v.starts_with("s3://") => {
            let bucket = v
                .strip_prefix("s3://")
                .map(|b| b.trim_end_matches('/'))
                .filter(|b| !b.is_empty())
                .map(str::to_owned);
            let endpoint = flag("object-store-endpoint")
                .or_else(|| var("CAIRN_OBJECT_STORE_ENDPOINT"))
                .or(file.object_store_endpoint)
                .ok_or("--object-store s3:// needs --object-store-endpoint")?;
            ObjectStoreConfig::S3 {
                endpoint,
                region: flag("object-store-region")
                    .or_else(|| var("CAIRN_OBJECT_STORE_REGION"))
                    .or(file.object_store_region)
                    .unwrap_or_else(|| "us-east-1".to_owned()),
                access_key_id: var("CAIRN_OBJECT_STORE_ACCESS_KEY_ID")
                    .or(file.object_store_access_key_id)
                    .ok_or("--object-store s3:// needs CAIRN_OBJECT_STORE_ACCESS_KEY_ID")?,
                secret_access_key: var("CAIRN_OBJECT_STORE_SECRET_ACCESS_KEY")
                    .or(file.object_store_secret_access_key)
                    .ok_or("--object-store s3:// needs CAIRN_OBJECT_STORE_SECRET_ACCESS_KEY")?,
                bucket,
            }
        }
        Some(v) => ObjectStoreConfig::Dir(PathBuf::from(v.strip_prefix("file://").unwrap_or(&v))),
    };
    if sso_settings {
        let account_id = flag("account-id");
        if let Some(id) = &account_id
            && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("--account-id must be 12 digits, got {id:?}"));
        }
        let mfa = match flag("mfa").as_deref() {
            None => None,
            Some("context-aware") => Some("CONTEXT_AWARE".to_owned()),
            Some("always-on") => Some("ALWAYS_ON".to_owned()),
            Some("disabled") => Some("DISABLED".to_owned()),
            Some(other) => {
                return Err(format!(
                    "--mfa is context-aware, always-on or disabled, got {other:?}"
                ));
            }
        };
        let without_device = match flag("without-mfa-device").as_deref() {
            None => None,
            Some("require-registration") => Some("REQUIRE_REGISTRATION".to_owned()),
            Some("block") => Some("BLOCK".to_owned()),
            Some("allow") => Some("ALLOW".to_owned()),
            Some(other) => {
                return Err(format!(
                    "--without-mfa-device is require-registration, block or allow, got {other:?}"
                ));
            }
        };
        let session_duration_s = match flag("session-duration") {
            None => None,
            // User Guide, "Configure the duration of … sessions": 15 minutes to 90 days.
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (900..=90 * 24 * 3600).contains(&n) => Some(n),
                _ => {
                    return Err(format!(
                        "--session-duration is seconds from 900 (15 minutes) to 7776000 (90 days), got {v:?}"
                    ));
                }
            },
        };
        let public_url = flag("public-url")
            .or_else(|| var("CAIRN_PUBLIC_URL"))
            .or(file.public_url.clone())
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        return Ok(Command::SsoSettings(SsoSettingsOpts {
            common,
            account_id,
            mfa,
            without_device,
            session_duration_s,
            public_url,
        }));
    }
    if sso_enable {
        let account_id = flag("account-id");
        if let Some(id) = &account_id
            && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!("--account-id must be 12 digits, got {id:?}"));
        }
        return Ok(Command::SsoEnable(SsoEnableOpts {
            account_id,
            region: flag("region").unwrap_or_else(|| "us-east-1".to_owned()),
            common,
        }));
    }
    if trail_validate {
        let time = |name: &str| -> Result<Option<i64>, String> {
            flag(name)
                .map(|v| {
                    cairn_wire::Timestamp::parse(&v)
                        .map(|t| t.millis)
                        .ok_or_else(|| {
                            format!(
                                "--{name} must be a time such as 2026-01-08T05:21:42Z, got {v:?}"
                            )
                        })
                })
                .transpose()
        };
        return Ok(Command::TrailValidate(Box::new(TrailValidateOpts {
            trail_arn: flag("trail-arn").ok_or("trail validate needs --trail-arn")?,
            start_ms: time("start-time")?,
            end_ms: time("end-time")?,
            account_id: flag("account-id"),
            region: flag("region"),
            json: has("json"),
            object_store,
            common,
        })));
    }
    match cmd.as_str() {
        "env" => Ok(Command::Env(EnvOpts { common, listen })),
        "serve" => {
            let account_id = flag("account-id").or(file.account_id);
            if let Some(id) = &account_id
                && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!("--account-id must be 12 digits, got {id:?}"));
            }
            let json_logs = match flag("log-format").or(file.log_format).as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(format!("--log-format must be text or json, got {other:?}"));
                }
            };
            let max_accounts = match var("CAIRN_ORG_MAX_ACCOUNTS") {
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("CAIRN_ORG_MAX_ACCOUNTS must be a number, got {v:?}"))?,
                None => file
                    .org_max_accounts
                    .unwrap_or(cairn_organizations::OrgConfig::default().max_accounts),
            };
            let faults = match var("CAIRN_FAULTS") {
                Some(list) if cfg!(debug_assertions) => cairn_core::Faults::from_list(&list),
                _ => cairn_core::Faults::default(),
            };
            // Like the crash points, a moved clock exists in debug builds only, so that no
            // release binary can be made to misjudge expiry by its environment.
            let clock_file = var("CAIRN_TEST_CLOCK_FILE")
                .filter(|_| cfg!(debug_assertions))
                .map(PathBuf::from);
            let trail_delivery_ms = seconds_ms(
                "trail-delivery-seconds",
                flag("trail-delivery-seconds").or_else(|| var("CAIRN_TRAIL_DELIVERY_SECONDS")),
                file.trail_delivery_seconds,
                DEFAULT_TRAIL_DELIVERY_SECONDS,
                0.1,
            )?;
            let trail_digest_ms = seconds_ms(
                "trail-digest-seconds",
                flag("trail-digest-seconds").or_else(|| var("CAIRN_TRAIL_DIGEST_SECONDS")),
                file.trail_digest_seconds,
                3600.0,
                1.0,
            )?;
            let key_last_used_ms = seconds_ms(
                "key-last-used-seconds",
                flag("key-last-used-seconds").or_else(|| var("CAIRN_KEY_LAST_USED_SECONDS")),
                file.key_last_used_seconds,
                60.0,
                0.1,
            )?;
            let mut event_streams = file.event_stream.clone();
            if let Some(url) = flag("event-stream").or_else(|| var("CAIRN_EVENT_STREAM_URL")) {
                event_streams.push(cairn_trail::stream::StreamConfig {
                    name: "default".to_owned(),
                    url,
                    secret: var("CAIRN_EVENT_STREAM_SECRET"),
                    batch_size: match var("CAIRN_EVENT_STREAM_BATCH_SIZE") {
                        Some(v) => Some(v.parse::<usize>().map_err(|_| {
                            format!(
                                "CAIRN_EVENT_STREAM_BATCH_SIZE must be a whole number, got {v:?}"
                            )
                        })?),
                        None => None,
                    },
                    ..cairn_trail::stream::StreamConfig::default()
                });
            }
            let mut names: Vec<&str> = event_streams.iter().map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            if names.windows(2).any(|w| w.first() == w.get(1)) || names.iter().any(|n| n.is_empty())
            {
                return Err("event streams need distinct, non-empty names".to_owned());
            }
            if let Some(bad) = event_streams.iter().find(|s| {
                s.batch_size
                    .is_some_and(|n| n == 0 || n > cairn_trail::stream::MAX_BATCH_SIZE)
            }) {
                return Err(format!(
                    "event stream {}: batch-size must be 1 to {}",
                    bad.name,
                    cairn_trail::stream::MAX_BATCH_SIZE
                ));
            }
            for st in &event_streams {
                crate::objects::Target::parse(&st.url)
                    .map_err(|e| format!("event stream {}: {e}", st.name))?;
            }
            Ok(Command::Serve(Box::new(ServeOpts {
                event_streams,
                key_last_used_ms,
                object_store,
                trail_delivery_ms,
                trail_digest_ms,
                common,
                listen,
                account_id,
                email: flag("email")
                    .or(file.email)
                    .unwrap_or_else(|| String::from("admin@cairn.local")),
                dev: has("dev") || file.dev.unwrap_or(false),
                json_logs,
                smtp_url: var("CAIRN_SMTP_URL").or(file.smtp_url),
                public_url: flag("public-url")
                    .or_else(|| var("CAIRN_PUBLIC_URL"))
                    .or(file.public_url)
                    .map(|u| u.trim_end_matches('/').to_owned()),
                org: cairn_organizations::OrgConfig { max_accounts },
                faults,
                clock_file,
            })))
        }
        _ => Ok(Command::Signup(SignupOpts {
            common,
            email: flag("email").ok_or("signup needs --email")?,
            name: flag("name").ok_or("signup needs --name")?,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let dir = std::env::temp_dir().join(format!("cairn-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("cairn.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata-dir = \"/from/file\"\norg-max-accounts = 50\nsmtp-url = \"smtp://file:25\"\n",
        )
        .unwrap();
        let mut env = Environment::new();
        env.insert("CAIRN_DATA_DIR".into(), "/from/env".into());
        env.insert("CAIRN_SMTP_URL".into(), "smtp://env:2525".into());
        let path = file.to_string_lossy().into_owned();
        let Command::Serve(o) = parse(
            &args(&["serve", "--config", &path, "--listen", "127.0.0.1:1"]),
            &env,
        )
        .unwrap() else {
            panic!("serve")
        };
        assert_eq!(o.listen, "127.0.0.1:1");
        assert_eq!(o.common.data_dir, PathBuf::from("/from/env"));
        assert_eq!(o.smtp_url.as_deref(), Some("smtp://env:2525"));
        assert_eq!(o.org.max_accounts, 50);
        let Command::Serve(d) = parse(&args(&["serve"]), &Environment::new()).unwrap() else {
            panic!("serve")
        };
        assert_eq!(d.listen, "127.0.0.1:4566");
        assert_eq!(d.org.max_accounts, 10);
        std::fs::write(&file, "nonsense = 1\n").unwrap();
        let err = parse(&args(&["serve", "--config", &path]), &Environment::new()).unwrap_err();
        assert!(err.contains("nonsense"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
