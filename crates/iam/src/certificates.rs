//! X.509 certificates in IAM: users' signing certificates (at most two per user, the root
//! user's too) and the account's server certificates (a certificate, its private key and an
//! optional chain, for load balancers and CloudFront; at most 20 per account) — IAM User
//! Guide, "IAM object quotas" and "Manage server certificates in IAM".
//!
//! Certificates are parsed and checked by [`crate::x509`]. A server certificate's private
//! key is sealed under the master key and never returned.
//!
//! | space         | key                                       | value              |
//! |---------------|-------------------------------------------|--------------------|
//! | `iam.sigcert` | `<account>/<lower user>/<certificate id>` | [`SigningCertRec`] |
//! | `iam.scert`   | `<account>/<lower name>`                  | [`ServerCertRec`]  |
//!
//! The root user's signing certificates are kept under the user `:root` (no IAM user name
//! holds a `:`).
//!
//! Facts marked `[M]` are not confirmed against AWS. Sources of the others: "localstack
//! snapshot" is `localstack/localstack` `tests/aws/services/iam/test_iam_server_certificates`
//! and `test_iam_signing_certificates` `.snapshot.json`, responses recorded from AWS in
//! February and March 2026.

use crate::common::{
    Ctx, fail, merge_tags, paginate, path_or_root, remove_tags, tag_page, to_api_tags, ts,
};
use crate::keys::status;
use crate::records::{self, FORMAT};
use crate::seal::Sealer;
use crate::users::{caller_user_name, require_user};
use crate::x509::{self, KeyError};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::{StoreError, Tx};
use serde::{Deserialize, Serialize};

const SIGNING: &str = "iam.sigcert";
const SERVER: &str = "iam.scert";
/// IAM User Guide, "IAM object quotas": signing certificates per user, 2; server
/// certificates per account, 20.
const CERTIFICATES_PER_USER: usize = 2;
const SERVER_CERTIFICATES_PER_ACCOUNT: u64 = 20;
/// The key part standing for the root user.
const ROOT: &str = ":root";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SigningCertRec {
    pub v: u32,
    /// The IAM user's name, or [`ROOT`].
    pub user: String,
    pub id: String,
    /// The PEM as uploaded.
    pub body: String,
    /// Hex SHA-1 of the certificate's DER, to refuse the same certificate twice.
    pub fingerprint: String,
    pub active: bool,
    pub uploaded_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServerCertRec {
    pub v: u32,
    pub name: String,
    pub id: String,
    pub path: String,
    pub body: String,
    #[serde(default)]
    pub chain: Option<String>,
    /// The private key PEM, sealed under the master key.
    pub key: String,
    pub uploaded_ms: i64,
    /// The certificate's `notAfter`.
    pub expires_ms: i64,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------- signing

fn signing_prefix(account: &str, user: &str) -> String {
    format!("{account}/{}/", user.to_lowercase())
}

/// Whether the user has signing certificates (`DeleteUser` refuses while it does).
pub(crate) fn has_signing_certificates(
    tx: &mut dyn Tx,
    account: &str,
    user: &str,
) -> Result<bool, StoreError> {
    Ok(tx.count(SIGNING, signing_prefix(account, user).as_bytes())? > 0)
}

/// A user's signing certificates (the root user's for `None`), oldest first: the credential
/// report's `cert_1_*` and `cert_2_*` columns.
pub(crate) fn signing_certificates(
    tx: &mut dyn Tx,
    account: &str,
    user: Option<&str>,
) -> Result<Vec<SigningCertRec>, StoreError> {
    let mut all: Vec<SigningCertRec> =
        records::load_all(tx, SIGNING, &signing_prefix(account, user.unwrap_or(ROOT)))?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
    all.sort_by_key(|r| r.uploaded_ms);
    Ok(all)
}

/// The owner a signing-certificate call is about: the user named, else the calling IAM
/// user, else (the root user calling) the root user (API reference, UploadSigningCertificate:
/// "you can use this operation to manage AWS account root user credentials even if the AWS
/// account has no associated users").
fn signing_owner(tx: &mut dyn Tx, c: &Ctx, name: Option<&str>) -> Result<String, Failure> {
    let name = match name {
        Some(n) => Some(n.to_owned()),
        None => caller_user_name(&c.principal)?,
    };
    match name {
        Some(n) => Ok(require_user(tx, &c.account, &n)?.name),
        None => Ok(ROOT.to_owned()),
    }
}

/// `UserName` in answers: the user's, or for the root user the account ID [M].
fn owner_name(c: &Ctx, user: &str) -> String {
    if user == ROOT {
        c.account.clone()
    } else {
        user.to_owned()
    }
}

fn signing_api(c: &Ctx, r: &SigningCertRec) -> types::SigningCertificate {
    types::SigningCertificate {
        certificate_body: r.body.clone(),
        certificate_id: r.id.clone(),
        status: status(r.active),
        upload_date: Some(ts(r.uploaded_ms)),
        user_name: owner_name(c, &r.user),
    }
}

fn no_certificate(id: &str) -> Failure {
    // localstack snapshot (test_signing_certificate_errors).
    fail(
        Error::NoSuchEntityException,
        format!("The Certificate with id {id} cannot be found."),
    )
}

fn require_signing(
    tx: &mut dyn Tx,
    c: &Ctx,
    user: &str,
    id: &str,
) -> Result<SigningCertRec, Failure> {
    records::load(
        tx,
        SIGNING,
        &format!("{}{id}", signing_prefix(&c.account, user)),
    )?
    .ok_or_else(|| no_certificate(id))
}

fn save_signing(tx: &mut dyn Tx, account: &str, r: &SigningCertRec) -> Result<(), StoreError> {
    records::save(
        tx,
        SIGNING,
        &format!("{}{}", signing_prefix(account, &r.user), r.id),
        r,
    )
}

pub(crate) fn upload_signing_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UploadSigningCertificateRequest,
) -> Result<types::UploadSigningCertificateResponse, Failure> {
    let user = signing_owner(tx, c, input.user_name.as_deref())?;
    let body = &input.certificate_body;
    let parsed = x509::pem_certificates(body).map(|c| c.len());
    let der = match (parsed, x509::pem_certificate_ders(body).as_slice()) {
        (Some(1), [der]) => der.clone(),
        // localstack snapshot (test_signing_certificate_errors): the body itself in the
        // message.
        _ => {
            return Err(fail(
                Error::MalformedCertificateException,
                format!("Certificate {body} is malformed."),
            ));
        }
    };
    let fingerprint = {
        use sha1::Digest;
        hex(&sha1::Sha1::digest(&der))
    };
    // The model's DuplicateCertificate: "the same certificate is associated with an IAM
    // user in the account" — any user of the account.
    let everyone: Vec<(String, SigningCertRec)> =
        records::load_all(tx, SIGNING, &format!("{}/", c.account))?;
    if everyone.iter().any(|(_, r)| r.fingerprint == fingerprint) {
        // [M]: the text.
        return Err(fail(
            Error::DuplicateCertificateException,
            "The certificate already exists in the account.",
        ));
    }
    let lower = user.to_lowercase();
    let mine = everyone
        .iter()
        .filter(|(_, r)| r.user.to_lowercase() == lower)
        .count();
    if mine >= CERTIFICATES_PER_USER {
        // localstack snapshot (test_signing_certificate_errors).
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for CertificatesPerUser: {CERTIFICATES_PER_USER}"),
        ));
    }
    let rec = SigningCertRec {
        v: FORMAT,
        user,
        // [M]: 32 characters of `[A-Z2-7]` (the model allows 24 to 128 `\w`).
        id: c.ids.upper_alnum(32),
        body: body.clone(),
        fingerprint,
        active: true,
        uploaded_ms: c.now_ms,
    };
    save_signing(tx, &c.account, &rec)?;
    Ok(types::UploadSigningCertificateResponse {
        certificate: signing_api(c, &rec),
    })
}

pub(crate) fn list_signing_certificates(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListSigningCertificatesRequest,
) -> Result<types::ListSigningCertificatesResponse, Failure> {
    let user = signing_owner(tx, c, input.user_name.as_deref())?;
    let items =
        records::load_all::<SigningCertRec>(tx, SIGNING, &signing_prefix(&c.account, &user))?
            .into_iter()
            .map(|(k, r)| (k, signing_api(c, &r)))
            .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListSigningCertificatesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        certificates: page.items,
    })
}

pub(crate) fn update_signing_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateSigningCertificateRequest,
) -> Result<(), Failure> {
    let user = signing_owner(tx, c, input.user_name.as_deref())?;
    let mut r = require_signing(tx, c, &user, &input.certificate_id)?;
    r.active = input.status == types::StatusType::Active;
    save_signing(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn delete_signing_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteSigningCertificateRequest,
) -> Result<(), Failure> {
    let user = signing_owner(tx, c, input.user_name.as_deref())?;
    let r = require_signing(tx, c, &user, &input.certificate_id)?;
    tx.delete(
        SIGNING,
        format!("{}{}", signing_prefix(&c.account, &user), r.id).as_bytes(),
    )?;
    Ok(())
}

// ----------------------------------------------------------------------------- server

/// How many server certificates the account holds (`GetAccountSummary`).
pub(crate) fn server_certificate_count(tx: &mut dyn Tx, account: &str) -> Result<u64, StoreError> {
    tx.count(SERVER, format!("{account}/").as_bytes())
}

/// The path of a stored server certificate (authorization's `CertificateNameWithPath`).
pub(crate) fn server_certificate_path(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        records::load::<ServerCertRec>(tx, SERVER, &records::entity_key(account, name))?
            .map(|r| r.path),
    )
}

fn no_server_certificate(name: &str) -> Failure {
    // localstack snapshot (test_server_certificate_errors).
    fail(
        Error::NoSuchEntityException,
        format!("The Server Certificate with name {name} cannot be found."),
    )
}

fn server_exists(name: &str) -> Failure {
    // localstack snapshot (test_server_certificate_errors).
    fail(
        Error::EntityAlreadyExistsException,
        format!("The Server Certificate with name {name} already exists."),
    )
}

fn require_server(tx: &mut dyn Tx, c: &Ctx, name: &str) -> Result<ServerCertRec, Failure> {
    records::load(tx, SERVER, &records::entity_key(&c.account, name))?
        .ok_or_else(|| no_server_certificate(name))
}

fn save_server(tx: &mut dyn Tx, account: &str, r: &ServerCertRec) -> Result<(), StoreError> {
    records::save(tx, SERVER, &records::entity_key(account, &r.name), r)
}

fn server_metadata(c: &Ctx, r: &ServerCertRec) -> types::ServerCertificateMetadata {
    types::ServerCertificateMetadata {
        // API reference, ServerCertificateMetadata; the ARN's form from the localstack
        // snapshot: `server-certificate<path><name>`.
        arn: format!(
            "arn:aws:iam::{}:server-certificate{}{}",
            c.account, r.path, r.name
        ),
        expiration: Some(ts(r.expires_ms)),
        path: r.path.clone(),
        server_certificate_id: r.id.clone(),
        server_certificate_name: r.name.clone(),
        upload_date: Some(ts(r.uploaded_ms)),
    }
}

fn unparsable() -> Failure {
    // openshift/openshift-ansible#11214, vmware-archive/terraforming-aws#46 (AWS's answer
    // quoted).
    fail(
        Error::MalformedCertificateException,
        "Unable to parse certificate. Please ensure the certificate is in PEM format.",
    )
}

/// The certificate body (exactly one certificate [M]) checked against the clock: AWS
/// refuses one that has expired (hashicorp/terraform-provider-aws#7049, AWS's text quoted)
/// or is not yet valid (aws/aws-sdk-go#2586: MalformedCertificate; the text [M]).
fn checked_body(c: &Ctx, body: &str) -> Result<x509::Certificate, Failure> {
    let cert = match x509::pem_certificates(body) {
        Some(mut certs) if certs.len() == 1 => certs.pop().ok_or_else(unparsable)?,
        _ => return Err(unparsable()),
    };
    if cert.not_after_ms < c.now_ms {
        return Err(fail(
            Error::MalformedCertificateException,
            "Certificate is no longer valid. The 'Not After' date restriction on the certificate has passed.",
        ));
    }
    if cert.not_before_ms > c.now_ms {
        return Err(fail(
            Error::MalformedCertificateException,
            "Certificate is not yet valid. The 'Not Before' date restriction on the certificate has not passed yet.",
        ));
    }
    Ok(cert)
}

/// The chain must start with the body's issuer and go on with each certificate's issuer
/// (AWS's text from go-acme/lego#304 and aws/aws-cli#715). Issuers are matched by name;
/// the index is -1 for the body, else the chain certificate whose issuer does not follow
/// [M: the indexing].
fn check_chain(body: &x509::Certificate, chain: Option<&str>) -> Result<(), Failure> {
    let Some(chain) = chain else {
        return Ok(());
    };
    let certs = x509::pem_certificates(chain).ok_or_else(unparsable)?;
    let mut previous = body;
    for (i, cert) in certs.iter().enumerate() {
        if previous.issuer != cert.subject {
            let index = i64::try_from(i).unwrap_or(i64::MAX) - 1;
            return Err(fail(
                Error::MalformedCertificateException,
                format!(
                    "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: {index}"
                ),
            ));
        }
        previous = cert;
    }
    Ok(())
}

fn check_key(body: &x509::Certificate, key: &str) -> Result<(), Failure> {
    let public = x509::private_key_public_half(key).map_err(|e| match e {
        // [M]: the texts.
        KeyError::Encrypted => fail(
            Error::MalformedCertificateException,
            "Unable to parse private key. Encrypted private keys are not supported.",
        ),
        KeyError::Malformed => fail(
            Error::MalformedCertificateException,
            "Unable to parse private key. Please ensure the private key is in PEM format.",
        ),
    })?;
    if !x509::key_matches(&body.key, &public) {
        // [M]: the text (the brief's wording).
        return Err(fail(
            Error::KeyPairMismatchException,
            "The private key did not match the public key provided.",
        ));
    }
    Ok(())
}

pub(crate) fn upload_server_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    sealer: Option<&Sealer>,
    input: &types::UploadServerCertificateRequest,
) -> Result<types::UploadServerCertificateResponse, Failure> {
    let name = &input.server_certificate_name;
    if records::load::<ServerCertRec>(tx, SERVER, &records::entity_key(&c.account, name))?.is_some()
    {
        return Err(server_exists(name));
    }
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let body = checked_body(c, &input.certificate_body)?;
    check_key(&body, &input.private_key)?;
    check_chain(&body, input.certificate_chain.as_deref())?;
    if server_certificate_count(tx, &c.account)? >= SERVER_CERTIFICATES_PER_ACCOUNT {
        // [M]: the quota's name in the text.
        return Err(fail(
            Error::LimitExceededException,
            format!(
                "Cannot exceed quota for ServerCertificatesPerAccount: {SERVER_CERTIFICATES_PER_ACCOUNT}"
            ),
        ));
    }
    let Some(sealer) = sealer else {
        tracing::error!("no master key to seal a server certificate's private key with");
        return Err(Failure(cairn_wire::ApiError::internal()));
    };
    let mut nonce = [0u8; 12];
    c.ids.fill(&mut nonce);
    let key = sealer
        .seal(&input.private_key, nonce)
        .ok_or_else(|| Failure(cairn_wire::ApiError::internal()))?;
    let rec = ServerCertRec {
        v: FORMAT,
        name: name.clone(),
        // `ASCA` + 17 characters, as IAM's other unique IDs (IAM User Guide, "IAM
        // identifiers", unique ID prefixes).
        id: c.unique_id("ASCA"),
        path: path_or_root(input.path.as_deref()),
        body: input.certificate_body.clone(),
        chain: input.certificate_chain.clone(),
        key,
        uploaded_ms: c.now_ms,
        expires_ms: body.not_after_ms,
        tags,
    };
    save_server(tx, &c.account, &rec)?;
    Ok(types::UploadServerCertificateResponse {
        server_certificate_metadata: Some(server_metadata(c, &rec)),
        // Echoed when given (API reference, UploadServerCertificate response `Tags`).
        tags: (!rec.tags.is_empty()).then(|| to_api_tags(&rec.tags)),
    })
}

pub(crate) fn get_server_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetServerCertificateRequest,
) -> Result<types::GetServerCertificateResponse, Failure> {
    let r = require_server(tx, c, &input.server_certificate_name)?;
    Ok(types::GetServerCertificateResponse {
        server_certificate: types::ServerCertificate {
            certificate_body: r.body.clone(),
            certificate_chain: r.chain.clone(),
            server_certificate_metadata: server_metadata(c, &r),
            // localstack snapshot: `Tags` present, also empty.
            tags: Some(to_api_tags(&r.tags)),
        },
    })
}

pub(crate) fn list_server_certificates(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListServerCertificatesRequest,
) -> Result<types::ListServerCertificatesResponse, Failure> {
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let items = records::load_all::<ServerCertRec>(tx, SERVER, &format!("{}/", c.account))?
        .into_iter()
        .filter(|(_, r)| r.path.starts_with(prefix))
        .map(|(k, r)| (k, server_metadata(c, &r)))
        .collect();
    let page = paginate(items, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListServerCertificatesResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        server_certificate_metadata_list: page.items,
    })
}

pub(crate) fn update_server_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateServerCertificateRequest,
) -> Result<(), Failure> {
    let old = require_server(tx, c, &input.server_certificate_name)?;
    let mut new = old.clone();
    if let Some(n) = &input.new_server_certificate_name {
        new.name = n.clone();
    }
    if let Some(p) = &input.new_path {
        new.path = p.clone();
    }
    if old.name.to_lowercase() != new.name.to_lowercase() {
        if records::load::<ServerCertRec>(tx, SERVER, &records::entity_key(&c.account, &new.name))?
            .is_some()
        {
            return Err(server_exists(&new.name));
        }
        tx.delete(
            SERVER,
            records::entity_key(&c.account, &old.name).as_bytes(),
        )?;
    }
    save_server(tx, &c.account, &new)?;
    Ok(())
}

pub(crate) fn delete_server_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteServerCertificateRequest,
) -> Result<(), Failure> {
    let r = require_server(tx, c, &input.server_certificate_name)?;
    tx.delete(SERVER, records::entity_key(&c.account, &r.name).as_bytes())?;
    Ok(())
}

pub(crate) fn tag_server_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::TagServerCertificateRequest,
) -> Result<(), Failure> {
    let mut r = require_server(tx, c, &input.server_certificate_name)?;
    merge_tags(&mut r.tags, &input.tags)?;
    save_server(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn untag_server_certificate(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UntagServerCertificateRequest,
) -> Result<(), Failure> {
    let mut r = require_server(tx, c, &input.server_certificate_name)?;
    remove_tags(&mut r.tags, &input.tag_keys);
    save_server(tx, &c.account, &r)?;
    Ok(())
}

pub(crate) fn list_server_certificate_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListServerCertificateTagsRequest,
) -> Result<types::ListServerCertificateTagsResponse, Failure> {
    let r = require_server(tx, c, &input.server_certificate_name)?;
    let page = tag_page(&r.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListServerCertificateTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}
