//! Starting up: the data directory, the master key, the store, the bootstrap account and
//! its `root-credentials.json`, then the server until a shutdown signal.

use crate::cli::{Common, ServeOpts, SignupOpts};
use cairn_core::{Env, RandomIds, SystemClock};
use cairn_iam::Sealer;
use cairn_iam::accounts::{self, AccountError, Credentials};
use cairn_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const META: &str = "meta";
const BOOTSTRAP_KEY: &[u8] = b"bootstrap";

/// What the store remembers about the bootstrap account.
#[derive(Debug, Serialize, Deserialize)]
struct BootstrapRecord {
    v: u32,
    account_id: String,
    access_key_id: String,
}

pub fn now_ms() -> i64 {
    use cairn_core::Clock;
    SystemClock.now_millis()
}

/// Writes `contents` to `path` readable by the owner only.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    f.write_all(contents)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    f.sync_all()
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The 32-byte key that seals secrets at rest: `CAIRN_MASTER_KEY` (64 hex digits; every node
/// sharing one PostgreSQL database needs the same), else `<data-dir>/master.key`, created on
/// first start.
fn master_key(common: &Common) -> Result<[u8; 32], String> {
    let data_dir = common.data_dir.as_path();
    let from_hex = |s: &str| -> Result<[u8; 32], String> {
        let s = s.trim();
        let mut out = [0u8; 32];
        if s.len() != 64 {
            return Err(String::from("the master key must be 64 hex digits"));
        }
        for (i, b) in out.iter_mut().enumerate() {
            let pair = s.get(i * 2..i * 2 + 2).ok_or("bad master key")?;
            *b = u8::from_str_radix(pair, 16)
                .map_err(|_| String::from("the master key must be hex"))?;
        }
        Ok(out)
    };
    if let Some(k) = &common.master_key {
        return from_hex(k);
    }
    let path = data_dir.join("master.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => from_hex(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::Rng::fill(&mut rand::rng(), &mut key);
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            write_private(&path, format!("{hex}\n").as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// Makes the data directory private to its owner: the directory itself `0700` and the files
/// in it (`cairn.db` and its `-wal`/`-shm`, `master.key`, `root-credentials.json`, the outbox)
/// `0600` — they hold CloudTrail records with session tokens, and sealed secrets. Files that
/// a server creates later are private by the process umask ([`private_umask`]); this also
/// tightens a data directory an older version left readable.
fn secure_data_dir(dir: &Path) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("creating {}: {e}", dir.display());
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(fail)?;
        let tighten = |path: &Path, mode: u32| -> Result<(), String> {
            let meta = std::fs::symlink_metadata(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
                return Ok(());
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("securing {}: {e}", path.display()))
        };
        tighten(dir, 0o700)?;
        for subdir in [dir.to_path_buf(), dir.join("outbox")] {
            let Ok(entries) = std::fs::read_dir(&subdir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                tighten(&path, if is_dir { 0o700 } else { 0o600 })?;
            }
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir).map_err(fail)?;
    Ok(())
}

/// Every file and directory the process creates from now on is private to its owner
/// (SQLite's `-wal` and `-shm`, outbox mail, trail objects), whatever the inherited umask.
pub fn private_umask() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// This node's stable name, `<data-dir>/node-id` (created on first start): the owner of
/// its job leases. Every node of a PostgreSQL deployment has a data directory of its own,
/// hence a name of its own; a restart on the same directory is the same node.
fn node_name(data_dir: &Path) -> Result<String, String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    }
    let mut raw = [0u8; 8];
    rand::Rng::fill(&mut rand::rng(), &mut raw);
    let name: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("node-{name}");
    write_private(&path, format!("{name}\n").as_bytes())?;
    Ok(name)
}

/// The object store the settings name.
pub fn object_store(
    config: &crate::cli::ObjectStoreConfig,
) -> Result<Arc<dyn cairn_core::ObjectStore>, String> {
    Ok(match config {
        crate::cli::ObjectStoreConfig::Dir(dir) => {
            Arc::new(crate::objects::LocalDir::new(dir.clone()))
        }
        crate::cli::ObjectStoreConfig::S3 {
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            bucket,
        } => Arc::new(crate::objects::S3::new(
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            bucket.clone(),
        )?),
    })
}

/// The store of a data directory, for commands other than `serve`.
pub fn open_store_for(common: &Common) -> Result<Store, String> {
    open_store(common)
}

fn open_store(common: &Common) -> Result<Store, String> {
    secure_data_dir(&common.data_dir)?;
    let result = match (&common.database_url, &common.database_schema) {
        (Some(url), Some(schema)) => Store::open_in_schema(url, schema),
        (None, Some(_)) => {
            return Err("--database-schema needs a postgres:// --database-url".to_owned());
        }
        (Some(url), None) => Store::open(url),
        (None, None) => Store::open_sqlite(&common.data_dir.join("cairn.db")),
    };
    result.map_err(|e| format!("opening the store: {e}"))
}

/// Creates the bootstrap account on an empty store; returns its root credentials either way.
fn ensure_bootstrap(
    store: &Store,
    sealer: &Sealer,
    opts: &ServeOpts,
) -> Result<(Credentials, bool), String> {
    let sealer = sealer.clone();
    let email = opts.email.clone();
    let fixed = opts.account_id.clone();
    store
        .write_blocking(move |tx| -> Result<(Credentials, bool), AccountError> {
            if let Some(raw) = tx.get(META, BOOTSTRAP_KEY)? {
                let rec: BootstrapRecord = serde_json::from_slice(&raw)
                    .map_err(|_| StoreError::Backend(String::from("corrupt bootstrap record")))?;
                let account = accounts::get_account(tx, &rec.account_id)?.ok_or_else(|| {
                    StoreError::Backend(String::from("bootstrap account missing"))
                })?;
                let (secret, _) = accounts::resolve_access_key(tx, &sealer, &rec.access_key_id)?
                    .ok_or_else(|| {
                        StoreError::Backend(String::from("bootstrap access key missing"))
                    })?;
                return Ok((
                    Credentials {
                        account_id: rec.account_id,
                        access_key_id: rec.access_key_id,
                        secret_access_key: secret,
                        email: account.email,
                    },
                    false,
                ));
            }
            let (_, creds) = accounts::create_account(
                tx,
                &RandomIds,
                &sealer,
                now_ms(),
                &email,
                "Management",
                fixed.as_deref(),
            )?;
            let rec = BootstrapRecord {
                v: 1,
                account_id: creds.account_id.clone(),
                access_key_id: creds.access_key_id.clone(),
            };
            let raw = serde_json::to_vec(&rec)
                .map_err(|_| StoreError::Backend(String::from("encoding")))?;
            tx.put(META, BOOTSTRAP_KEY, &raw)?;
            Ok((creds, true))
        })
        .map_err(|e| format!("bootstrapping: {e}"))
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        // Each line carries the fields of the span it was logged in (a request's ID,
        // service, operation, principal and decision).
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

pub fn serve(opts: ServeOpts) -> Result<(), String> {
    let started = Instant::now();
    init_logging(opts.json_logs);
    let store = open_store(&opts.common)?;
    let sealer = Sealer::new(&master_key(&opts.common)?);
    let (creds, created) = ensure_bootstrap(&store, &sealer, &opts)?;
    if let Some(wanted) = &opts.account_id
        && *wanted != creds.account_id
    {
        tracing::warn!(wanted = %wanted, actual = %creds.account_id, "--account-id ignored: the data directory already has a bootstrap account");
    }
    let node = node_name(&opts.common.data_dir)?;
    let creds_path = opts.common.data_dir.join("root-credentials.json");
    if created || !creds_path.exists() {
        let text = serde_json::to_vec_pretty(&creds).map_err(|e| e.to_string())?;
        write_private(&creds_path, &text)?;
    }
    let addr: SocketAddr = opts.listen.parse().map_err(|_| {
        format!(
            "--listen must be an address like 127.0.0.1:4566, got {:?}",
            opts.listen
        )
    })?;
    // Background work only: requests are served on the front's own threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    // The wall clock, or in a debug build the tests' moved one (`CAIRN_TEST_CLOCK_FILE`).
    let clock: Arc<dyn cairn_core::Clock> = match &opts.clock_file {
        Some(path) => {
            tracing::warn!(file = %path.display(), "the clock is moved by the offset in this file (CAIRN_TEST_CLOCK_FILE, tests only)");
            Arc::new(crate::test_clock::OffsetClock::new(path.clone()))
        }
        None => Arc::new(SystemClock),
    };
    runtime.block_on(async move {
        // Records just written stay in memory for the event streams and trail deliveries
        // that read them right after (cairn_trail::recent).
        let recent = cairn_trail::recent::Recent::new(
            Arc::clone(&clock),
            cairn_trail::recent::DEFAULT_BUDGET_BYTES,
            cairn_trail::recent::DEFAULT_MAX_AGE_MS,
        );
        let recorder = cairn_trail::Recorder::with_recent(store.clone(), Arc::clone(&recent));
        // Jobs this node held when its previous incarnation stopped (crashed mid-job) are
        // claimable again at once, not after their lease; other nodes' leases are left alone.
        let owner = node.clone();
        let released = store
            .write(move |tx| tx.release_leases(&owner))
            .await
            .map_err(|e| format!("releasing job leases: {e}"))?;
        if released > 0 {
            tracing::info!(jobs = released, "resuming jobs left in flight by the previous run");
        }
        let env = Arc::new(Env {
            store,
            clock,
            ids: Arc::new(RandomIds),
            audit: recorder.clone(),
            node,
            faults: opts.faults.clone(),
            jobs: Default::default(),
            generations: Default::default(),
        });
        // Bound first: the address is the public URL's default.
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("listening on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let public_url = opts
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let config = cairn_server::Config {
            dev: opts.dev,
            bootstrap_account_id: creds.account_id.clone(),
            public_url: public_url.clone(),
            key_last_used_interval_ms: opts.key_last_used_ms,
            ..cairn_server::Config::default()
        };
        let objects = object_store(&opts.object_store)?;
        let org_facts: Arc<dyn cairn_core::ResourceFacts> = Arc::new(cairn_organizations::OrgFacts);
        let services = cairn_server::services::Services {
            cloudtrail: cairn_trail::CloudTrailService::new(Arc::clone(&org_facts))
                .with_objects(Arc::clone(&objects)),
            organizations: cairn_organizations::OrganizationsService::new(opts.org)
                .with_trusted_access(vec![Arc::new(cairn_sso::SsoTrustedAccess)]),
            sso_admin: cairn_sso::SsoAdminService::new(Arc::clone(&org_facts)),
            identitystore: cairn_sso::IdentityStoreService::new(Arc::clone(&org_facts))
                .with_portal_url(&public_url),
            portal: cairn_sso::PortalService::new(Some(sealer.clone())),
            oidc: cairn_sso::OidcService::new(&public_url),
            sts: cairn_iam::StsService::new(sealer.clone())
                .dev(opts.dev)
                .with_fetch(Arc::new(crate::objects::HttpWebhook))
                .with_public_url(&public_url)
                .with_orgs(cairn_iam::Orgs::new(Arc::clone(&org_facts))),
            iam: cairn_iam::IamService::with_sealer(sealer.clone())
                .with_public_url(&public_url)
                .with_orgs(cairn_iam::Orgs::new(Arc::clone(&org_facts))),
            ..cairn_server::services::Services::default()
        };
        // The one job runner, with every kind: CreateAccount, and the mail it sends.
        let transport = crate::mail::Transport::new(
            opts.smtp_url.as_deref(),
            opts.common.data_dir.join("outbox"),
        )?;
        let streams = Arc::new(opts.event_streams.clone());
        let handlers: Vec<Arc<dyn cairn_core::jobs::JobHandler>> = vec![
            Arc::new(cairn_organizations::CreateAccountJob::new(
                sealer.clone(),
                opts.org.max_accounts,
            )),
            Arc::new(crate::mail::MailJob::new(transport)),
            Arc::new(crate::notify::NotifyJob::new(
                opts.common.data_dir.join("outbox").join("sns"),
            )),
            Arc::new(cairn_sso::SsoJob),
            Arc::new(cairn_iam::OrgReportJob::new(cairn_iam::Orgs::new(Arc::clone(
                &org_facts,
            )))),
            Arc::new(
                cairn_trail::delivery::DeliveryJob::new(
                    objects,
                    Some(Arc::clone(&org_facts)),
                    opts.trail_delivery_ms,
                )
                .with_digests(Arc::new(sealer.clone()), opts.trail_digest_ms)
                .with_streams(Arc::clone(&streams))
                .with_recent(Arc::clone(&recent)),
            ),
            // Event streams: a round every 250 ms (live, at least once; soon enough that what
            // they post is still in memory).
            Arc::new(
                cairn_trail::stream::StreamJob::new(
                    Arc::clone(&streams),
                    Some(org_facts),
                    Arc::new(crate::objects::HttpWebhook),
                    250,
                )
                .with_recent(recent),
            ),
        ];
        if !streams.is_empty() {
            let now = env.clock.now_millis();
            env.store
                .write(move |tx| cairn_trail::stream::StreamJob::ensure(tx, now))
                .await
                .map_err(|e| format!("scheduling the event streams: {e}"))?;
        }
        // The one recurring delivery job exists from the first start on.
        let now = env.clock.now_millis();
        let interval = opts.trail_delivery_ms;
        env.store
            .write(move |tx| cairn_trail::delivery::DeliveryJob::ensure(tx, now, interval))
            .await
            .map_err(|e| format!("scheduling trail delivery: {e}"))?;
        let jobs = cairn_core::jobs::Runner::new(Arc::clone(&env), handlers).spawn();
        let ids = Arc::clone(&env.ids);
        let app = cairn_server::App::new(env, sealer, config, services);
        let shutdown_app = Arc::clone(&app);
        let front = crate::front::Front::start(
            &cairn_server::router(app),
            crate::front::default_threads(),
            ids,
        )?;
        tracing::info!(
            listen = %local,
            account_id = %creds.account_id,
            dev = opts.dev,
            startup_ms = started.elapsed().as_millis() as u64,
            "cairn is ready"
        );
        // `cairn env` prints these same lines; `AWS_DEFAULT_REGION` is the one the AWS CLI v1
        // and boto3 read, `AWS_REGION` the CLI v2's and the SDKs'.
        let data_dir = crate::env_cmd::quote(&opts.common.data_dir.display().to_string());
        println!(
            "Cairn is listening on http://{local}\nBootstrap account {} — root credentials in {}\nUse it with the AWS CLI, boto3 or an SDK:\n  eval \"$(cairn env --data-dir {data_dir} --listen {local})\"\nor set by hand:\n  export AWS_ENDPOINT_URL={endpoint} AWS_REGION={region} AWS_DEFAULT_REGION={region}\n  export AWS_ACCESS_KEY_ID=<AccessKeyId> AWS_SECRET_ACCESS_KEY=<SecretAccessKey>   # from that file\nthen:\n  aws organizations create-organization",
            creds.account_id,
            creds_path.display(),
            endpoint = crate::env_cmd::endpoint(&local.to_string()),
            region = crate::env_cmd::REGION,
        );
        if opts.dev {
            println!("--dev: credentials Cairn did not issue act as the bootstrap account's root, unchecked; the keys and sessions it issued act as their owners.");
        }
        front
            .serve(listener, async move {
                shutdown_signal().await;
                shutdown_app.set_ready(false);
                tracing::info!("shutting down: draining requests");
            })
            .await
            .map_err(|e| format!("serving: {e}"))?;
        jobs.stop();
        recorder.flush().await;
        tracing::info!("stopped");
        Ok::<(), String>(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `cairn sso enable`: what `EnableAWSServiceAccess(sso.amazonaws.com)` does for the
/// management account, on the store directly (a server on the same store activates the
/// instance with its job runner).
/// A refusal of a `cairn` subcommand that works on the store directly.
fn refuse(message: &str) -> cairn_core::Failure {
    cairn_core::Failure(cairn_wire::ApiError::new(
        cairn_wire::error::ErrorShape {
            code: "Refused",
            status: 400,
            sender_fault: true,
            message_key: "message",
        },
        message,
    ))
}

/// `wanted`, or the data directory's bootstrap account.
fn account_or_bootstrap(
    tx: &mut dyn cairn_store::Tx,
    wanted: Option<&str>,
) -> Result<String, cairn_core::Failure> {
    if let Some(a) = wanted {
        return Ok(a.to_owned());
    }
    let raw = tx.get(META, BOOTSTRAP_KEY)?.ok_or_else(|| {
        refuse("the data directory has no bootstrap account yet: run cairn serve once, or pass --account-id")
    })?;
    let rec: BootstrapRecord =
        serde_json::from_slice(&raw).map_err(|_| refuse("corrupt bootstrap record"))?;
    Ok(rec.account_id)
}

/// `cairn sso settings`: reads (and with flags, changes) the access portal's sign-in
/// settings of the instance an account owns; prints them as JSON.
pub fn sso_settings(opts: &crate::cli::SsoSettingsOpts) -> Result<(), String> {
    let store = open_store(&opts.common)?;
    let o = opts.clone();
    let out = store
        .write_blocking(
            move |tx| -> Result<serde_json::Value, cairn_core::Failure> {
                let account = account_or_bootstrap(tx, o.account_id.as_deref())?;
                let mut inst = cairn_sso::model::instance_of_account(tx, &account)?.ok_or_else(|| {
                refuse("the account has no Identity Center instance: run cairn sso enable first")
            })?;
                if let Some(m) = &o.mfa {
                    inst.portal.mfa = m.clone();
                }
                if let Some(w) = &o.without_device {
                    inst.portal.without_device = w.clone();
                }
                if let Some(d) = o.session_duration_s {
                    inst.portal.session_duration_s = d;
                }
                cairn_sso::model::put_json(tx, cairn_sso::model::INSTANCES, &inst.id, &inst)?;
                Ok(serde_json::json!({
                    "InstanceArn": inst.arn(),
                    "IdentityStoreId": inst.store_id,
                    "StartUrl": format!("https://{}.awsapps.com/start", inst.store_id),
                    "PortalUrl": cairn_sso::signin::start_url(&o.public_url, &inst),
                    "Mfa": inst.portal.mfa,
                    "WithoutMfaDevice": inst.portal.without_device,
                    "SessionDurationSeconds": inst.portal.session_duration_s,
                }))
            },
        )
        .map_err(|cairn_core::Failure(e)| format!("sso settings: {}: {}", e.code, e.message))?;
    let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

pub fn sso_enable(opts: &crate::cli::SsoEnableOpts) -> Result<(), String> {
    let store = open_store(&opts.common)?;
    let wanted = opts.account_id.clone();
    let region = opts.region.clone();
    let out = store
        .write_blocking(
            move |tx| -> Result<serde_json::Value, cairn_core::Failure> {
                let account = account_or_bootstrap(tx, wanted.as_deref())?;
                let hooks: Vec<Arc<dyn cairn_core::TrustedAccess>> =
                    vec![Arc::new(cairn_sso::SsoTrustedAccess)];
                cairn_organizations::enable_service_access_in(
                    tx,
                    &account,
                    "sso.amazonaws.com",
                    now_ms(),
                    &region,
                    &RandomIds,
                    &hooks,
                )?;
                let inst = cairn_sso::model::instance_of_account(tx, &account)?
                    .ok_or_else(|| refuse("no instance was created"))?;
                Ok(serde_json::json!({
                    "InstanceArn": inst.arn(),
                    "IdentityStoreId": inst.store_id,
                    "OwnerAccountId": inst.owner,
                    "Status": inst.status,
                }))
            },
        )
        .map_err(|cairn_core::Failure(e)| format!("sso enable: {}: {}", e.code, e.message))?;
    let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}

pub fn signup(opts: SignupOpts) -> Result<(), String> {
    let store = open_store(&opts.common)?;
    let sealer = Sealer::new(&master_key(&opts.common)?);
    let email = opts.email.clone();
    let name = opts.name.clone();
    let creds = store
        .write_blocking(move |tx| -> Result<Credentials, AccountError> {
            accounts::create_account(tx, &RandomIds, &sealer, now_ms(), &email, &name, None)
                .map(|(_, c)| c)
        })
        .map_err(|e| format!("signup: {e}"))?;
    let text = serde_json::to_string_pretty(&creds).map_err(|e| e.to_string())?;
    println!("{text}");
    Ok(())
}
