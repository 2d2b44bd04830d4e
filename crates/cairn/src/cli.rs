//! Command-line parsing (small enough not to need a framework).

use std::path::PathBuf;

pub const USAGE: &str = "usage:
  cairn serve [--listen ADDR] [--data-dir DIR] [--database-url URL] [--account-id ID]
              [--email EMAIL] [--dev] [--log-format text|json]
  cairn signup --email EMAIL --name NAME [--data-dir DIR] [--database-url URL]

  --listen        address to listen on (env CAIRN_LISTEN; default 127.0.0.1:4566)
  --data-dir      data directory (env CAIRN_DATA_DIR; default ./cairn-data)
  --database-url  postgres://… to use PostgreSQL (env CAIRN_DATABASE_URL; default SQLite in the data dir)
  --account-id    fix the bootstrap account's 12-digit ID (default: random)
  --email         the bootstrap account's email (default admin@cairn.local)
  --dev           emulator convenience: any well-formed SigV4 credentials act as the bootstrap
                  account's root and signatures are not checked. Default is enforcing.";

#[derive(Debug, Clone)]
pub struct Common {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServeOpts {
    pub common: Common,
    pub listen: String,
    pub account_id: Option<String>,
    pub email: String,
    pub dev: bool,
    pub json_logs: bool,
}

#[derive(Debug, Clone)]
pub struct SignupOpts {
    pub common: Common,
    pub email: String,
    pub name: String,
}

#[derive(Debug)]
pub enum Command {
    Serve(ServeOpts),
    Signup(SignupOpts),
    Help,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Ok(Command::Help);
    };
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let Some(name) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument {a:?}"));
        };
        if let Some((k, v)) = name.split_once('=') {
            flags.push((k.to_owned(), Some(v.to_owned())));
        } else if matches!(name, "dev" | "help") {
            flags.push((name.to_owned(), None));
        } else {
            let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            flags.push((name.to_owned(), Some(v.clone())));
        }
    }
    let get = |k: &str| {
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
            "account-id",
            "email",
            "dev",
            "log-format",
        ],
        "signup" => &["email", "name", "data-dir", "database-url"],
        other => return Err(format!("unknown command {other:?}")),
    };
    if let Some((bad, _)) = flags.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        return Err(format!("unknown option --{bad} for {cmd}"));
    }
    let common = Common {
        data_dir: PathBuf::from(
            get("data-dir")
                .or_else(|| env("CAIRN_DATA_DIR"))
                .unwrap_or_else(|| String::from("./cairn-data")),
        ),
        database_url: get("database-url").or_else(|| env("CAIRN_DATABASE_URL")),
    };
    match cmd.as_str() {
        "serve" => {
            let account_id = get("account-id");
            if let Some(id) = &account_id
                && (id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!("--account-id must be 12 digits, got {id:?}"));
            }
            let json_logs = match get("log-format").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(format!("--log-format must be text or json, got {other:?}"));
                }
            };
            Ok(Command::Serve(ServeOpts {
                common,
                listen: get("listen")
                    .or_else(|| env("CAIRN_LISTEN"))
                    .unwrap_or_else(|| String::from("127.0.0.1:4566")),
                account_id,
                email: get("email").unwrap_or_else(|| String::from("admin@cairn.local")),
                dev: has("dev"),
                json_logs,
            }))
        }
        _ => Ok(Command::Signup(SignupOpts {
            common,
            email: get("email").ok_or("signup needs --email")?,
            name: get("name").ok_or("signup needs --name")?,
        })),
    }
}
