//! `cairn policy …`: offline policy tools. Only I/O lives here; the simulation itself is
//! `cairn_policy::simulate`.
//!
//! Exit status: 0 when the simulation ran (whatever the decision) and any `expect` in the
//! input was met; 1 when the input's `expect` was not met; 2 for usage errors, unreadable or
//! invalid input, and refused policy documents.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cairn_policy::simulate;

pub const USAGE: &str = "usage:
  cairn policy simulate FILE    decide the request described in FILE (`-`: stdin) against the
                                policies of every layer, offline, and print the decision as JSON

Exit status: 0 evaluated (any decision); 1 the input's \"expect\" was not met;
             2 usage error, unreadable or invalid input, or a malformed policy document.
The input format is described in README.md, \"Testing SCP changes offline\".";

/// Runs `cairn policy ARGS…`.
pub fn main(args: &[String]) -> ExitCode {
    match args {
        [cmd, file] if cmd == "simulate" && file != "--help" && file != "-h" => simulate_file(file),
        [] => usage_error("cairn policy: missing command"),
        [help, ..] if matches!(help.as_str(), "help" | "--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        [cmd, rest @ ..] if cmd == "simulate" => {
            if rest.iter().any(|a| a == "--help" || a == "-h") {
                println!("{USAGE}");
                ExitCode::SUCCESS
            } else {
                usage_error("cairn policy simulate: expected exactly one FILE (or `-`)")
            }
        }
        [other, ..] => usage_error(&format!("cairn policy: unknown command {other:?}")),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("{msg}\n\n{USAGE}");
    ExitCode::from(2)
}

fn simulate_file(file: &str) -> ExitCode {
    let name = if file == "-" { "<stdin>" } else { file };
    let (text, base) = if file == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut text) {
            eprintln!("cairn policy simulate: cannot read stdin: {e}");
            return ExitCode::from(2);
        }
        (text, PathBuf::from("."))
    } else {
        match std::fs::read_to_string(file) {
            Ok(text) => (
                text,
                Path::new(file)
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            ),
            Err(e) => {
                eprintln!("cairn policy simulate: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        }
    };
    // Policy files are named relative to the input file (stdin: the working directory).
    let mut load = |path: &str| std::fs::read_to_string(base.join(path)).map_err(|e| e.to_string());
    let output = match simulate::simulate(&text, &mut load) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cairn policy simulate: {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let json = match serde_json::to_string_pretty(&output) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("cairn policy simulate: cannot render the output: {e}");
            return ExitCode::from(2);
        }
    };
    // One write of the whole document. A reader that stops early (`| grep -q`, `| head`)
    // is not an error of the simulation: as other Unix tools do, stop quietly on EPIPE and
    // let the decision's exit code stand.
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(format!("{json}\n").as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            eprintln!("cairn policy simulate: cannot write the output: {e}");
            return ExitCode::from(2);
        }
    }
    match &output.expectation {
        Some(e) if !e.met => {
            for m in &e.mismatches {
                eprintln!("cairn policy simulate: {name}: expectation not met: {m}");
            }
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}
