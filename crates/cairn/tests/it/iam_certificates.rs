//! IAM signing and server certificates with `aws-sdk-iam`. Certificates and keys are made
//! here, at test time, by the `openssl` binary: a CA, a leaf it signs, an unrelated
//! certificate, an expired one, EC and PKCS #1 keys.

use crate::common::{err_info, ok};
use crate::fixture::{ALLOW_ALL, Fixture};
use aws_sdk_iam::types::{StatusType, SummaryKeyType, Tag};
use std::path::{Path, PathBuf};
use std::process::Command;

const ACCOUNT: &str = "123456789012";

/// PEM files made by `openssl` in a directory of the test's own.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(root: &Path) -> Self {
        let dir = root.join("pki");
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Self { dir };
        // A CA, a leaf it signs (RSA, PKCS #8 key), an expired leaf, an unrelated
        // self-signed certificate, an EC certificate with its SEC 1 and PKCS #8 keys, and
        // the leaf's key in PKCS #1 form.
        pki.run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "3",
            "-subj",
            "/CN=Cairn Test CA",
        ]);
        pki.run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=www.example.com",
        ]);
        pki.run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "leaf.pem",
        ]);
        pki.run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "-1",
            "-out",
            "expired.pem",
        ]);
        pki.run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
            "-days",
            "2",
            "-subj",
            "/CN=other.example.com",
        ]);
        pki.run(&[
            "rsa",
            "-in",
            "leaf.key",
            "-traditional",
            "-out",
            "leaf-pkcs1.key",
        ]);
        pki.run(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "ec.key",
        ]);
        pki.run(&[
            "req",
            "-x509",
            "-key",
            "ec.key",
            "-out",
            "ec.pem",
            "-days",
            "2",
            "-subj",
            "/CN=ec.example.com",
        ]);
        pki.run(&["pkey", "-in", "ec.key", "-out", "ec-pkcs8.key"]);
        pki.run(&[
            "pkey",
            "-in",
            "leaf.key",
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            "encrypted.key",
        ]);
        pki
    }

    fn run(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("the openssl binary");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pem(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificates_upload_get_list_rename_and_delete() {
    let f = Fixture::new("iam-server-certs", ACCOUNT);
    let pki = Pki::new(f.dir.path());
    let iam = f.server.iam();
    let up = ok(
        "UploadServerCertificate",
        iam.upload_server_certificate()
            .server_certificate_name("www")
            .path("/cloudfront/test/")
            .certificate_body(pki.pem("leaf.pem"))
            .private_key(pki.pem("leaf.key"))
            .certificate_chain(pki.pem("ca.pem"))
            .tags(Tag::builder().key("team").value("web").build().unwrap())
            .send()
            .await,
    );
    let meta = up.server_certificate_metadata().unwrap();
    assert_eq!(meta.server_certificate_name(), "www");
    assert_eq!(meta.path(), "/cloudfront/test/");
    assert_eq!(
        meta.arn(),
        format!("arn:aws:iam::{ACCOUNT}:server-certificate/cloudfront/test/www")
    );
    assert!(meta.server_certificate_id().starts_with("ASCA"));
    assert_eq!(meta.server_certificate_id().len(), 21);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expires = meta.expiration().unwrap().secs();
    assert!(
        expires > now + 86_400 && expires <= now + 2 * 86_400 + 60,
        "Expiration is the certificate's notAfter"
    );
    assert_eq!(up.tags().len(), 1);

    let got = ok(
        "GetServerCertificate",
        iam.get_server_certificate()
            .server_certificate_name("WWW")
            .send()
            .await,
    );
    let cert = got.server_certificate().unwrap();
    assert_eq!(cert.certificate_body(), pki.pem("leaf.pem"));
    assert_eq!(cert.certificate_chain(), Some(pki.pem("ca.pem").as_str()));
    assert_eq!(cert.tags()[0].key(), "team");
    assert_eq!(
        cert.server_certificate_metadata()
            .unwrap()
            .server_certificate_id(),
        meta.server_certificate_id()
    );

    let listed = ok(
        "ListServerCertificates",
        iam.list_server_certificates()
            .path_prefix("/cloudfront/")
            .send()
            .await,
    );
    assert_eq!(listed.server_certificate_metadata_list().len(), 1);
    assert!(!listed.is_truncated());
    let none = ok(
        "ListServerCertificates elsewhere",
        iam.list_server_certificates()
            .path_prefix("/elb/")
            .send()
            .await,
    );
    assert!(none.server_certificate_metadata_list().is_empty());

    let summary = ok("GetAccountSummary", iam.get_account_summary().send().await);
    let map = summary.summary_map().unwrap();
    assert_eq!(map.get(&SummaryKeyType::ServerCertificates), Some(&1));
    assert_eq!(map.get(&SummaryKeyType::ServerCertificatesQuota), Some(&20));

    // A second certificate, then renames: onto the second is refused, elsewhere moves it.
    ok(
        "UploadServerCertificate second",
        iam.upload_server_certificate()
            .server_certificate_name("second")
            .certificate_body(pki.pem("other.pem"))
            .private_key(pki.pem("other.key"))
            .send()
            .await,
    );
    let e = err_info(
        iam.update_server_certificate()
            .server_certificate_name("www")
            .new_server_certificate_name("Second")
            .send()
            .await,
    );
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    assert_eq!(
        e.message,
        "The Server Certificate with name Second already exists."
    );
    ok(
        "UpdateServerCertificate",
        iam.update_server_certificate()
            .server_certificate_name("www")
            .new_server_certificate_name("www-2")
            .new_path("/elb/")
            .send()
            .await,
    );
    let e = err_info(
        iam.get_server_certificate()
            .server_certificate_name("www")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(
        e.message,
        "The Server Certificate with name www cannot be found."
    );
    let moved = ok(
        "GetServerCertificate renamed",
        iam.get_server_certificate()
            .server_certificate_name("www-2")
            .send()
            .await,
    );
    let m = moved
        .server_certificate()
        .unwrap()
        .server_certificate_metadata()
        .unwrap();
    assert_eq!(
        m.arn(),
        format!("arn:aws:iam::{ACCOUNT}:server-certificate/elb/www-2")
    );
    assert_eq!(m.server_certificate_id(), meta.server_certificate_id());

    ok(
        "DeleteServerCertificate",
        iam.delete_server_certificate()
            .server_certificate_name("www-2")
            .send()
            .await,
    );
    let e = err_info(
        iam.delete_server_certificate()
            .server_certificate_name("www-2")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    let e = err_info(
        iam.update_server_certificate()
            .server_certificate_name("www-2")
            .new_path("/x/")
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificates_are_validated_as_aws_validates_them() {
    let f = Fixture::new("iam-server-cert-errors", ACCOUNT);
    let pki = Pki::new(f.dir.path());
    let iam = f.server.iam();
    let upload = |name: &str, body: String, key: String, chain: Option<String>| {
        iam.upload_server_certificate()
            .server_certificate_name(name)
            .certificate_body(body)
            .private_key(key)
            .set_certificate_chain(chain)
            .send()
    };
    let e = err_info(upload("bad", "not a certificate".into(), pki.pem("leaf.key"), None).await);
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    assert_eq!(
        e.message,
        "Unable to parse certificate. Please ensure the certificate is in PEM format."
    );
    let e = err_info(upload("bad", pki.pem("expired.pem"), pki.pem("leaf.key"), None).await);
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    assert_eq!(
        e.message,
        "Certificate is no longer valid. The 'Not After' date restriction on the certificate has passed."
    );
    let e = err_info(upload("bad", pki.pem("leaf.pem"), pki.pem("other.key"), None).await);
    assert_eq!(e.code, "KeyPairMismatch", "{e:?}");
    let e = err_info(upload("bad", pki.pem("leaf.pem"), pki.pem("ec.key"), None).await);
    assert_eq!(e.code, "KeyPairMismatch", "{e:?}");
    let e = err_info(upload("bad", pki.pem("leaf.pem"), "garbage".into(), None).await);
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    let e = err_info(upload("bad", pki.pem("leaf.pem"), pki.pem("encrypted.key"), None).await);
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    // A chain that does not start with the leaf's issuer.
    let e = err_info(
        upload(
            "bad",
            pki.pem("leaf.pem"),
            pki.pem("leaf.key"),
            Some(pki.pem("other.pem")),
        )
        .await,
    );
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    assert!(
        e.message
            .starts_with("Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate"),
        "{e:?}"
    );
    let e = err_info(
        upload(
            "bad",
            pki.pem("leaf.pem"),
            pki.pem("leaf.key"),
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()),
        )
        .await,
    );
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    // Nothing was stored by the refusals.
    let listed = ok(
        "ListServerCertificates",
        iam.list_server_certificates().send().await,
    );
    assert!(listed.server_certificate_metadata_list().is_empty());

    // PKCS #1 RSA keys and EC keys (SEC 1 and PKCS #8) are accepted.
    ok(
        "Upload PKCS #1",
        upload(
            "pkcs1",
            pki.pem("leaf.pem"),
            pki.pem("leaf-pkcs1.key"),
            None,
        )
        .await,
    );
    ok(
        "Upload EC",
        upload("ec", pki.pem("ec.pem"), pki.pem("ec.key"), None).await,
    );
    ok(
        "Upload EC PKCS #8",
        upload("ec8", pki.pem("ec.pem"), pki.pem("ec-pkcs8.key"), None).await,
    );
    let e = err_info(upload("EC", pki.pem("ec.pem"), pki.pem("ec.key"), None).await);
    assert_eq!(e.code, "EntityAlreadyExists", "{e:?}");
    assert_eq!(
        e.message,
        "The Server Certificate with name EC already exists."
    );
    // The private key never comes back.
    let got = ok(
        "GetServerCertificate",
        iam.get_server_certificate()
            .server_certificate_name("pkcs1")
            .send()
            .await,
    );
    let debug = format!("{got:?}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    // GetServerCertificate answers Tags also when there are none.
    assert!(got.server_certificate().unwrap().tags().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificates_have_a_quota_and_pages() {
    let f = Fixture::new("iam-server-cert-quota", ACCOUNT);
    let pki = Pki::new(f.dir.path());
    let iam = f.server.iam();
    for i in 0..20 {
        ok(
            "UploadServerCertificate",
            iam.upload_server_certificate()
                .server_certificate_name(format!("cert-{i:02}"))
                .certificate_body(pki.pem("leaf.pem"))
                .private_key(pki.pem("leaf.key"))
                .send()
                .await,
        );
    }
    let e = err_info(
        iam.upload_server_certificate()
            .server_certificate_name("one-too-many")
            .certificate_body(pki.pem("leaf.pem"))
            .private_key(pki.pem("leaf.key"))
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    let mut names = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let page = ok(
            "ListServerCertificates",
            iam.list_server_certificates()
                .max_items(7)
                .set_marker(marker.clone())
                .send()
                .await,
        );
        pages += 1;
        names.extend(
            page.server_certificate_metadata_list()
                .iter()
                .map(|m| m.server_certificate_name().to_owned()),
        );
        if !page.is_truncated() {
            break;
        }
        marker = page.marker().map(str::to_owned);
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..20).map(|i| format!("cert-{i:02}")).collect();
    assert_eq!(names, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificate_tags() {
    let f = Fixture::new("iam-server-cert-tags", ACCOUNT);
    let pki = Pki::new(f.dir.path());
    let iam = f.server.iam();
    ok(
        "UploadServerCertificate",
        iam.upload_server_certificate()
            .server_certificate_name("tagged")
            .certificate_body(pki.pem("leaf.pem"))
            .private_key(pki.pem("leaf.key"))
            .send()
            .await,
    );
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    ok(
        "TagServerCertificate",
        iam.tag_server_certificate()
            .server_certificate_name("tagged")
            .tags(tag("team", "web"))
            .tags(tag("env", "prod"))
            .send()
            .await,
    );
    ok(
        "TagServerCertificate replaces",
        iam.tag_server_certificate()
            .server_certificate_name("tagged")
            .tags(tag("Team", "edge"))
            .send()
            .await,
    );
    let tags = ok(
        "ListServerCertificateTags",
        iam.list_server_certificate_tags()
            .server_certificate_name("tagged")
            .send()
            .await,
    );
    let pairs: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("Team", "edge"), ("env", "prod")]);
    let page = ok(
        "ListServerCertificateTags page",
        iam.list_server_certificate_tags()
            .server_certificate_name("tagged")
            .max_items(1)
            .send()
            .await,
    );
    assert!(page.is_truncated());
    assert_eq!(page.tags().len(), 1);
    ok(
        "UntagServerCertificate",
        iam.untag_server_certificate()
            .server_certificate_name("tagged")
            .tag_keys("TEAM")
            .send()
            .await,
    );
    let tags = ok(
        "ListServerCertificateTags",
        iam.list_server_certificate_tags()
            .server_certificate_name("tagged")
            .send()
            .await,
    );
    assert_eq!(tags.tags().len(), 1);
    let mut many = iam
        .tag_server_certificate()
        .server_certificate_name("tagged");
    for i in 0..50 {
        many = many.tags(tag(&format!("k{i}"), "v"));
    }
    let e = err_info(many.send().await);
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    for call in [
        err_info(
            iam.list_server_certificate_tags()
                .server_certificate_name("nope")
                .send()
                .await,
        ),
        err_info(
            iam.untag_server_certificate()
                .server_certificate_name("nope")
                .tag_keys("a")
                .send()
                .await,
        ),
        err_info(
            iam.tag_server_certificate()
                .server_certificate_name("nope")
                .tags(tag("a", "b"))
                .send()
                .await,
        ),
    ] {
        assert_eq!(call.code, "NoSuchEntity", "{call:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_certificates_per_user_and_for_the_root_user() {
    let f = Fixture::new("iam-signing-certs", ACCOUNT);
    let pki = Pki::new(f.dir.path());
    let iam = f.server.iam();
    ok(
        "CreateUser",
        iam.create_user().user_name("sam").send().await,
    );
    let e = err_info(
        iam.upload_signing_certificate()
            .user_name("nobody")
            .certificate_body(pki.pem("leaf.pem"))
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(e.message, "The user with name nobody cannot be found.");
    let e = err_info(
        iam.upload_signing_certificate()
            .user_name("sam")
            .certificate_body("invalid-certificate-body")
            .send()
            .await,
    );
    assert_eq!(e.code, "MalformedCertificate", "{e:?}");
    assert_eq!(
        e.message,
        "Certificate invalid-certificate-body is malformed."
    );

    let up = ok(
        "UploadSigningCertificate",
        iam.upload_signing_certificate()
            .user_name("sam")
            .certificate_body(pki.pem("leaf.pem"))
            .send()
            .await,
    );
    let cert = up.certificate().unwrap();
    assert_eq!(cert.user_name(), "sam");
    assert_eq!(cert.status(), &StatusType::Active);
    assert_eq!(cert.certificate_body(), pki.pem("leaf.pem"));
    let id = cert.certificate_id().to_owned();
    assert!(
        id.len() >= 24 && id.chars().all(|c| c.is_ascii_alphanumeric()),
        "{id}"
    );

    // The same certificate again, for anyone in the account, is a duplicate.
    ok(
        "CreateUser",
        iam.create_user().user_name("tess").send().await,
    );
    let e = err_info(
        iam.upload_signing_certificate()
            .user_name("tess")
            .certificate_body(pki.pem("leaf.pem"))
            .send()
            .await,
    );
    assert_eq!(e.code, "DuplicateCertificate", "{e:?}");
    ok(
        "UploadSigningCertificate second",
        iam.upload_signing_certificate()
            .user_name("sam")
            .certificate_body(pki.pem("other.pem"))
            .send()
            .await,
    );
    let e = err_info(
        iam.upload_signing_certificate()
            .user_name("sam")
            .certificate_body(pki.pem("ec.pem"))
            .send()
            .await,
    );
    assert_eq!(e.code, "LimitExceeded", "{e:?}");
    assert_eq!(e.message, "Cannot exceed quota for CertificatesPerUser: 2");

    ok(
        "UpdateSigningCertificate",
        iam.update_signing_certificate()
            .user_name("sam")
            .certificate_id(&id)
            .status(StatusType::Inactive)
            .send()
            .await,
    );
    let listed = ok(
        "ListSigningCertificates",
        iam.list_signing_certificates()
            .user_name("sam")
            .send()
            .await,
    );
    assert_eq!(listed.certificates().len(), 2);
    let mine = listed
        .certificates()
        .iter()
        .find(|c| c.certificate_id() == id)
        .unwrap();
    assert_eq!(mine.status(), &StatusType::Inactive);
    let first = ok(
        "ListSigningCertificates page",
        iam.list_signing_certificates()
            .user_name("sam")
            .max_items(1)
            .send()
            .await,
    );
    assert!(first.is_truncated());
    let second = ok(
        "ListSigningCertificates next",
        iam.list_signing_certificates()
            .user_name("sam")
            .max_items(1)
            .set_marker(first.marker().map(str::to_owned))
            .send()
            .await,
    );
    assert!(!second.is_truncated());
    assert_ne!(
        first.certificates()[0].certificate_id(),
        second.certificates()[0].certificate_id()
    );

    let nope = "NONEXISTENTCERTID12345678901";
    let e = err_info(
        iam.update_signing_certificate()
            .user_name("sam")
            .certificate_id(nope)
            .status(StatusType::Active)
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    assert_eq!(
        e.message,
        format!("The Certificate with id {nope} cannot be found.")
    );

    // The credential report shows both certificates, the first inactive.
    ok(
        "GenerateCredentialReport",
        iam.generate_credential_report().send().await,
    );
    let report = ok(
        "GetCredentialReport",
        iam.get_credential_report().send().await,
    );
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    let sam: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("sam,"))
        .unwrap()
        .split(',')
        .collect();
    assert_eq!(sam[18], "false", "{csv}");
    assert_ne!(sam[19], "N/A", "{csv}");
    assert_eq!(sam[20], "true", "{csv}");
    assert_ne!(sam[21], "N/A", "{csv}");

    // DeleteUser refuses while certificates remain.
    let e = err_info(iam.delete_user().user_name("sam").send().await);
    assert_eq!(e.code, "DeleteConflict", "{e:?}");
    for c in listed.certificates() {
        ok(
            "DeleteSigningCertificate",
            iam.delete_signing_certificate()
                .user_name("sam")
                .certificate_id(c.certificate_id())
                .send()
                .await,
        );
    }
    let e = err_info(
        iam.delete_signing_certificate()
            .user_name("sam")
            .certificate_id(&id)
            .send()
            .await,
    );
    assert_eq!(e.code, "NoSuchEntity", "{e:?}");
    ok(
        "DeleteUser",
        iam.delete_user().user_name("sam").send().await,
    );

    // Without UserName: the calling IAM user, or the root user.
    let uma = f.user_with_key("uma", ALLOW_ALL).await;
    let uma_iam = f.server.iam_as(&uma);
    let up = ok(
        "UploadSigningCertificate as uma",
        uma_iam
            .upload_signing_certificate()
            .certificate_body(pki.pem("leaf.pem"))
            .send()
            .await,
    );
    assert_eq!(up.certificate().unwrap().user_name(), "uma");
    let theirs = ok(
        "ListSigningCertificates as uma",
        uma_iam.list_signing_certificates().send().await,
    );
    assert_eq!(theirs.certificates().len(), 1);
    let summary = ok("GetAccountSummary", iam.get_account_summary().send().await);
    let map = summary.summary_map().unwrap();
    assert_eq!(
        map.get(&SummaryKeyType::AccountSigningCertificatesPresent),
        Some(&0)
    );
    ok(
        "UploadSigningCertificate as root",
        iam.upload_signing_certificate()
            .certificate_body(pki.pem("other.pem"))
            .send()
            .await,
    );
    let roots = ok(
        "ListSigningCertificates as root",
        iam.list_signing_certificates().send().await,
    );
    assert_eq!(roots.certificates().len(), 1);
    let summary = ok("GetAccountSummary", iam.get_account_summary().send().await);
    let map = summary.summary_map().unwrap();
    assert_eq!(
        map.get(&SummaryKeyType::AccountSigningCertificatesPresent),
        Some(&1)
    );
    assert_eq!(
        map.get(&SummaryKeyType::SigningCertificatesPerUserQuota),
        Some(&2)
    );
}
