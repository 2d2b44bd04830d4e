//! `cairn trail validate`: the digest chain and log files of a trail, checked as
//! `aws cloudtrail validate-logs` checks them ([`cairn_trail::validate`]), in whichever
//! object store the server delivers to — also the local directory, which the AWS CLI cannot
//! read. Reads the trail and the signing keys from the store directly (a running server may
//! keep running).

use crate::cli::TrailValidateOpts;
use cairn_trail::validate::{Report, Request};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub fn main(opts: &TrailValidateOpts) -> ExitCode {
    match run(opts) {
        Ok(report) => {
            if opts.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print_text(&report);
            }
            if report.failed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("cairn trail validate: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_text(r: &Report) {
    println!(
        "Validating log files for trail {} between {} and {}\n",
        r.trail_arn, r.start_time, r.end_time
    );
    for f in &r.findings {
        if f.status == "valid" {
            println!("{}", f.message);
        } else {
            eprintln!("{}\n", f.message);
        }
    }
    println!("\nResults requested for {} to {}", r.start_time, r.end_time);
    if r.valid_digests + r.invalid_digests == 0 {
        println!("No digests found");
        return;
    }
    let ratio = |valid: usize, invalid: usize, name: &str| {
        let total = valid + invalid;
        if total > 0 {
            print!("\n{valid}/{total} {name} files valid");
            if invalid > 0 {
                print!(", {invalid}/{total} {name} files INVALID");
            }
        }
    };
    ratio(r.valid_digests, r.invalid_digests, "digest");
    ratio(r.valid_logs, r.invalid_logs, "log");
    println!();
}

fn run(opts: &TrailValidateOpts) -> Result<Report, String> {
    let parts: Vec<&str> = opts.trail_arn.splitn(6, ':').collect();
    let (Some(region), Some(account), Some(name)) = (
        parts.get(3),
        parts.get(4),
        parts.get(5).and_then(|r| r.strip_prefix("trail/")),
    ) else {
        return Err(format!("invalid trail ARN: {}", opts.trail_arn));
    };
    let (region, account, name) = ((*region).to_owned(), (*account).to_owned(), name.to_owned());
    let store = crate::bootstrap::open_store_for(&opts.common)?;
    let objects = crate::bootstrap::object_store(&opts.object_store)?;
    let chain_region = opts.region.clone().unwrap_or_else(|| region.clone());
    let member = opts.account_id.clone();
    let keys_region = chain_region.clone();
    let (trail, keys, org_id) = store
        .read_blocking(move |tx| {
            let trail = cairn_trail::trails::get(tx, &account, &region, &name)?;
            let keys = cairn_trail::digest::keys_of(tx, &keys_region)?;
            let org = cairn_core::ResourceFacts::organization(
                &cairn_organizations::OrgFacts,
                tx,
                &account,
            )?;
            Ok::<_, cairn_store::StoreError>((trail, keys, org.map(|o| o.org_id)))
        })
        .map_err(|e| format!("reading the store: {e}"))?;
    let trail = trail.ok_or_else(|| format!("no trail {}", opts.trail_arn))?;
    let org_id = if trail.organization { org_id } else { None };
    let now = crate::bootstrap::now_ms();
    let req = Request {
        account: member.unwrap_or_else(|| trail.account.clone()),
        region: chain_region,
        org_id,
        start_ms: opts.start_ms.unwrap_or(trail.created_ms),
        end_ms: opts.end_ms.unwrap_or(now),
        trail,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let tty = std::io::stderr().is_terminal();
    let mut progress = |n: usize| {
        if tty {
            let _ = write!(std::io::stderr(), "\rchecked {n} files");
        }
    };
    let report = runtime.block_on(cairn_trail::validate::validate(
        objects.as_ref(),
        &keys,
        &req,
        &mut progress,
    ));
    if tty {
        eprintln!();
    }
    Ok(report)
}
