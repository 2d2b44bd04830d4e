//! Project automation: `cargo xtask codegen` regenerates the API crate and COVERAGE.md from the
//! vendored models; `cargo xtask check` fails if they are stale.

mod codegen;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let root = codegen::workspace_root();
    match cmd.as_str() {
        "codegen" => match codegen::generate_all(&root) {
            Ok(files) => {
                for (path, text) in files {
                    let full = root.join(&path);
                    let old = std::fs::read_to_string(&full).unwrap_or_default();
                    if old != text {
                        if let Err(e) = std::fs::write(&full, text) {
                            eprintln!("writing {}: {e}", path.display());
                            return ExitCode::FAILURE;
                        }
                        println!("updated {}", path.display());
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("codegen failed: {e}");
                ExitCode::FAILURE
            }
        },
        "check" => match stale(&root) {
            Ok(list) if list.is_empty() => ExitCode::SUCCESS,
            Ok(list) => {
                eprintln!("stale generated files: {list:?}; run `cargo xtask codegen`");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask <codegen|check>");
            ExitCode::FAILURE
        }
    }
}

/// Generated files whose committed text differs from what codegen produces now.
fn stale(root: &std::path::Path) -> codegen::Result<Vec<String>> {
    let mut out = Vec::new();
    for (path, text) in codegen::generate_all(root)? {
        if std::fs::read_to_string(root.join(&path)).unwrap_or_default() != text {
            out.push(path.display().to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_code_is_fresh() {
        let root = super::codegen::workspace_root();
        match super::stale(&root) {
            Ok(list) => assert!(
                list.is_empty(),
                "generated files are stale: {list:?}\nrun: cargo xtask codegen"
            ),
            Err(e) => {
                #[allow(
                    clippy::panic,
                    reason = "a failed code generation ends the build tool with its message"
                )]
                {
                    panic!("codegen failed: {e}")
                }
            }
        }
    }
}
