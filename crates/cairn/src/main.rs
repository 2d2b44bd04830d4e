//! `cairn`: the one binary.
//!
//! * `cairn serve` — run the server (see `--help`).
//! * `cairn env` — print the shell exports that point AWS clients at the server (`env_cmd`).
//! * `cairn signup --email E --name N` — create another standalone account and print its
//!   root credentials.
//! * `cairn sso enable` — enable IAM Identity Center for the organization of the bootstrap
//!   (or a given) management account, and print the instance.
//! * `cairn policy simulate FILE` — decide a request against given policies, offline
//!   (`policy_cmd`).

#![allow(
    clippy::disallowed_methods,
    reason = "the binary is where configuration, the wall clock and randomness enter"
)]

mod bootstrap;
mod cli;
mod env_cmd;
mod framing;
mod front;
mod mail;
mod notify;
mod objects;
mod policy_cmd;
mod test_clock;
mod trail_cmd;

use std::process::ExitCode;

/// jemalloc rather than the system allocator: glibc's per-thread arenas kept what a burst of
/// requests had freed (records are allocated on request threads and freed on the SQLite
/// writer), so an idle server stayed several MiB above its working set. Its configuration
/// (decay, background thread) is set at build time in `.cargo/config.toml`.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(("policy", rest)) = args.split_first().map(|(c, r)| (c.as_str(), r)) {
        return policy_cmd::main(rest);
    }
    // The one reading of the environment: `cli` turns it, the flags and the config file into
    // the settings everything else receives.
    let env: cli::Environment = std::env::vars()
        .filter(|(k, _)| k.starts_with("CAIRN_"))
        .collect();
    let cmd = match cli::parse(&args, &env) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    bootstrap::private_umask();
    match cmd {
        cli::Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        cli::Command::TrailValidate(opts) => trail_cmd::main(&opts),
        cli::Command::Serve(opts) => match bootstrap::serve(*opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cairn: {e}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Env(opts) => match env_cmd::render(&opts) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cairn: {e}");
                ExitCode::FAILURE
            }
        },
        cli::Command::SsoSettings(opts) => match bootstrap::sso_settings(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cairn: {e}");
                ExitCode::FAILURE
            }
        },
        cli::Command::SsoEnable(opts) => match bootstrap::sso_enable(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cairn: {e}");
                ExitCode::FAILURE
            }
        },
        cli::Command::Signup(opts) => match bootstrap::signup(opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cairn: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
