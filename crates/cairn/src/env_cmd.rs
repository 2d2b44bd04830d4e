//! `cairn env`: the shell lines that point the AWS CLI, boto3 and the SDKs at a Cairn server
//! as its bootstrap account's root user, so that `eval "$(cairn env)"` replaces copying keys
//! out of `root-credentials.json`.
//!
//! Both `AWS_REGION` and `AWS_DEFAULT_REGION` are exported: the AWS CLI v1 and boto3 read only
//! the latter, the CLI v2 and the SDKs the former (botocore's `region` config variable is
//! `AWS_DEFAULT_REGION`; the SDKs' is `AWS_REGION`).

use crate::cli::EnvOpts;
use cairn_iam::Credentials;
use std::fmt::Write as _;

/// The region the exports name. Cairn serves every region on one endpoint; `us-east-1` is the
/// region of the global services (Organizations, IAM) on AWS.
pub const REGION: &str = "us-east-1";

/// The endpoint a client on this machine reaches a server listening on `listen` at: the
/// wildcard addresses become loopback.
pub fn endpoint(listen: &str) -> String {
    let (host, port) = match listen.rsplit_once(':') {
        Some((h, p)) => (h, p),
        None => (listen, "4566"),
    };
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "[::]" => "[::1]",
        h => h,
    };
    format!("http://{host}:{port}")
}

/// Quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:@+=,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The `export` lines, or why there are none.
pub fn render(opts: &EnvOpts) -> Result<String, String> {
    let path = opts.common.data_dir.join("root-credentials.json");
    let text = std::fs::read(&path).map_err(|e| {
        format!(
            "reading {}: {e} (start `cairn serve` on this data directory first)",
            path.display()
        )
    })?;
    let creds: Credentials = serde_json::from_slice(&text)
        .map_err(|e| format!("{} is not Cairn's root credentials: {e}", path.display()))?;
    let mut out = String::new();
    for (name, value) in [
        ("AWS_ENDPOINT_URL", endpoint(&opts.listen)),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", creds.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key),
    ] {
        let _ = writeln!(out, "export {name}={}", quote(&value));
    }
    // A session token or profile left in the shell would override or spoil these keys.
    out.push_str("unset AWS_SESSION_TOKEN AWS_PROFILE\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_become_loopback() {
        assert_eq!(endpoint("127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(endpoint("0.0.0.0:8080"), "http://127.0.0.1:8080");
        assert_eq!(endpoint("[::]:4566"), "http://[::1]:4566");
        assert_eq!(endpoint("cairn.internal:80"), "http://cairn.internal:80");
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(quote("AKIAEXAMPLE"), "AKIAEXAMPLE");
        assert_eq!(quote("a/b+c="), "a/b+c=");
        assert_eq!(quote("it's $x"), r"'it'\''s $x'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn exports_name_both_region_variables() {
        let dir = std::env::temp_dir().join(format!("cairn-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("root-credentials.json"),
            r#"{"AccountId":"123456789012","AccessKeyId":"AKIA0","SecretAccessKey":"s/e+c","Email":"a@example.com"}"#,
        )
        .unwrap();
        let opts = EnvOpts {
            common: crate::cli::Common {
                data_dir: dir.clone(),
                database_url: None,
                database_schema: None,
                master_key: None,
            },
            listen: "0.0.0.0:4566".into(),
        };
        let text = render(&opts).unwrap();
        assert_eq!(
            text,
            "export AWS_ENDPOINT_URL=http://127.0.0.1:4566\nexport AWS_REGION=us-east-1\n\
             export AWS_DEFAULT_REGION=us-east-1\nexport AWS_ACCESS_KEY_ID=AKIA0\n\
             export AWS_SECRET_ACCESS_KEY=s/e+c\nunset AWS_SESSION_TOKEN AWS_PROFILE\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(render(&opts).unwrap_err().contains("cairn serve"));
    }
}
