//! `sts:AssumeRoleWithSAML`: a SAML 2.0 `Response`, signed by the IdP whose metadata an IAM
//! SAML provider holds, becomes a role session when it is genuine, current, meant for AWS,
//! names the role, and the role's trust policy admits it.
//!
//! Checks, in this order, each failing with AWS's error:
//! 1. the assertion is base64 of a well-formed `samlp:Response` (no DTD) whose status is
//!    `Success` (otherwise the IdP refused the sign-in: `IDPRejectedClaim`);
//! 2. **structure against signature wrapping**: exactly one `saml:Assertion` anywhere in the
//!    document, a direct child of the `Response`, no `EncryptedAssertion`; every `ID` in the
//!    document unique; the signatures considered are the `ds:Signature` children of the
//!    `Response` and of the `Assertion` only, each must reference (`URI="#<ID>"`) its own
//!    parent, and every one present must verify ([`crate::xmldsig::verify_enveloped`]);
//!    at least one must cover the assertion (the Response's covers it, being its parent's
//!    signature). Everything used afterwards is read from that very assertion node;
//! 3. the signing key is one of the provider metadata's signing certificates
//!    (`KeyDescriptor use="signing"` or without `use`); a response re-signed with any other
//!    key fails like a tampered one ("Response signature invalid");
//! 4. the assertion's `Issuer` is the metadata's `entityID`;
//! 5. times, with a minute of skew: `Conditions` `NotBefore` / `NotOnOrAfter` and the bearer
//!    `SubjectConfirmationData` `NotOnOrAfter` (required);
//! 6. `AudienceRestriction` names an AWS audience and the bearer confirmation's
//!    `Recipient` is an AWS sign-in endpoint ([`AUDIENCES`], [`is_aws_recipient`]);
//! 7. the `https://aws.amazon.com/SAML/Attributes/Role` attribute holds the pair
//!    (`RoleArn`, `PrincipalArn`) of the request, in either order, the provider is the
//!    role's account's, and the role is not an Identity Center `AWSReservedSSO_` role;
//! 8. the `RoleSessionName` attribute is present and well-formed;
//! 9. the trust policy allows `sts:AssumeRoleWithSAML` (and `sts:TagSession` with session
//!    tags, `sts:SetSourceIdentity` with a source identity) for the `Federated` provider
//!    ARN, with the `SAML:*` condition keys ([`condition_keys`]);
//! 10. the assertion was not used before (its ID is remembered in the store until its
//!     `NotOnOrAfter`, through the call's transaction: it holds across restarts and nodes).
//!
//! Facts come from the STS API reference (`AssumeRoleWithSAML`), the IAM User Guide
//! ("Configuring SAML assertions for the authentication response", "Available keys for
//! SAML-based AWS STS federation", "Troubleshooting SAML 2.0 federation with AWS") and
//! AWS's answers quoted in public reports; the texts marked [M] are ours.

use crate::xmldsig::{self, Doc, NS_DSIG, RsaKey, XmlError};
use base64::Engine;
use cairn_api::sts::Error;
use cairn_policy::{Context, Effect, Policy, Principal, PrincipalType, Request};
use cairn_store::Tx;
use cairn_wire::ApiError;
use std::collections::BTreeMap;

const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const NAMEID_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";
/// The default `NameID` `Format` (SAML 2.0 Core §8.3.1).
const UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

pub(crate) const ATTR_ROLE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const ATTR_SESSION_NAME: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const ATTR_SESSION_DURATION: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const ATTR_SOURCE_IDENTITY: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
const ATTR_TAG_PREFIX: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
const ATTR_TRANSITIVE: &str = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys";

/// Audiences AWS accepts in `AudienceRestriction`: the sign-in endpoint or
/// `urn:amazon:webservices` (IAM User Guide, "Configuring SAML assertions"), and the other
/// partitions' equivalents ([M]: the GovCloud and China values are those AWS's partition
/// guides give for their SAML sign-in).
pub(crate) const AUDIENCES: &[&str] = &[
    "https://signin.aws.amazon.com/saml",
    "urn:amazon:webservices",
    "https://signin.amazonaws-us-gov.com/saml",
    "urn:amazon:webservices:govcloud",
    "https://signin.amazonaws.cn/saml",
    "urn:amazon:webservices:cn-north-1",
];

/// Clock skew allowed either way on the assertion's times [M].
const SKEW_MS: i64 = 60_000;
/// The space of used assertions: `id/<issuer hash>/<assertion ID>` → expiry, and
/// `exp/<expiry, 16 digits>/<issuer hash>/<assertion ID>` to forget them once expired.
pub(crate) const USED: &str = "sts.saml_used";
/// Expired rows removed per successful call (keeps the space bounded without a job).
const PURGE_PER_CALL: usize = 32;

/// Whether `recipient` is an AWS SAML sign-in endpoint: `https://signin.aws.amazon.com/saml`
/// or a regional one `https://<region>.signin.aws.amazon.com/saml` (IAM User Guide,
/// "Configuring SAML assertions": "Recipient … must be … the AWS sign-in endpoint"), or the
/// GovCloud / China endpoints [M].
pub(crate) fn is_aws_recipient(recipient: &str) -> bool {
    let Some(host) = recipient
        .strip_prefix("https://")
        .and_then(|r| r.strip_suffix("/saml"))
    else {
        return false;
    };
    for base in [
        "signin.aws.amazon.com",
        "signin.amazonaws-us-gov.com",
        "signin.amazonaws.cn",
    ] {
        if host == base {
            return true;
        }
        if let Some(region) = host.strip_suffix(base).and_then(|r| r.strip_suffix('.'))
            && !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return true;
        }
    }
    false
}

/// `arn:aws:iam::<12 digits>:saml-provider/<name>` → (account, name).
pub(crate) fn parse_provider_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let name = resource.strip_prefix("saml-provider/")?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty())
        .then_some((account, name))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(Error::InvalidIdentityTokenException, message)
}

/// AWS's text for every signature failure (captured InvalidIdentityToken answers).
fn signature_invalid() -> ApiError {
    invalid("Response signature invalid")
}

/// AWS's text when the assertion does not admit the role, or the trust policy does not
/// (IAM troubleshooting guide: "Not authorized to perform sts:AssumeRoleWithSAML").
pub(crate) fn not_authorized() -> ApiError {
    ApiError::new(
        cairn_wire::error::ErrorShape {
            code: "AccessDenied",
            status: 403,
            sender_fault: true,
            message_key: "message",
        },
        "Not authorized to perform sts:AssumeRoleWithSAML",
    )
}

fn malformed_response(e: &XmlError) -> ApiError {
    tracing::debug!(error = ?e, "SAML response refused");
    match e {
        XmlError::Malformed(_) => invalid("Invalid SAML response"), // [M]
        XmlError::BadSignature(_) => signature_invalid(),
    }
}

/// What a verified assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assertion {
    pub id: String,
    pub issuer: String,
    /// `NameID` and its `Format` (the full URI).
    pub subject: String,
    pub subject_format: String,
    /// The bearer confirmation's `Recipient`.
    pub recipient: String,
    /// The earliest `NotOnOrAfter` of the confirmation and the conditions.
    pub not_on_or_after_ms: i64,
    /// `AuthnStatement` `SessionNotOnOrAfter`, when given.
    pub session_not_on_or_after_ms: Option<i64>,
    /// Attribute `Name` → its values, in document order.
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl Assertion {
    pub(crate) fn attribute(&self, name: &str) -> &[String] {
        self.attributes
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    fn single(&self, name: &str) -> Option<&str> {
        self.attribute(name).first().map(String::as_str)
    }

    /// `SubjectType` / `SAML:sub_type`: `persistent`, `transient`, or the full format URI
    /// ("If the format includes the prefix urn:oasis:names:tc:SAML:2.0:nameid-format, that
    /// prefix is removed … any other prefix … returned with no modifications", API
    /// reference).
    pub(crate) fn subject_type(&self) -> String {
        self.subject_format
            .strip_prefix(NAMEID_FORMAT_PREFIX)
            .unwrap_or(&self.subject_format)
            .to_owned()
    }

    /// The `RoleSessionName` attribute, checked (AWS's texts, from the IAM troubleshooting
    /// guide and captured answers).
    pub(crate) fn session_name(&self) -> Result<String, ApiError> {
        let name = self
            .single(ATTR_SESSION_NAME)
            .ok_or_else(|| invalid("RoleSessionName is required in AuthnResponse"))?
            .trim();
        let ok = (2..=64).contains(&name.len())
            && name.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(b, b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b'-')
            });
        if !ok {
            return Err(invalid(
                "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
            ));
        }
        Ok(name.to_owned())
    }

    /// The `SessionDuration` attribute in seconds (900–43200, IAM User Guide) [M: the text].
    pub(crate) fn session_duration(&self) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.single(ATTR_SESSION_DURATION) else {
            return Ok(None);
        };
        match v.trim().parse::<i64>() {
            Ok(s) if (900..=43_200).contains(&s) => Ok(Some(s)),
            _ => Err(invalid(
                "SessionDuration in AuthnResponse must be an integer between 900 and 43200",
            )),
        }
    }

    pub(crate) fn source_identity(&self) -> Option<String> {
        self.single(ATTR_SOURCE_IDENTITY)
            .map(|s| s.trim().to_owned())
    }

    /// `PrincipalTag:<key>` attributes (the first value each) and `TransitiveTagKeys`.
    pub(crate) fn session_tags(&self) -> (Vec<(String, String)>, Vec<String>) {
        let tags = self
            .attributes
            .iter()
            .filter_map(|(name, values)| {
                let key = name.strip_prefix(ATTR_TAG_PREFIX)?;
                Some((key.to_owned(), values.first().cloned().unwrap_or_default()))
            })
            .collect();
        (tags, self.attribute(ATTR_TRANSITIVE).to_vec())
    }

    /// Reads the attribute values (the `Role` ARNs) of a request in `partition` into Cairn's
    /// `aws` partition, as the pipeline reads the request's own members
    /// (`cairn_core::partition`).
    pub(crate) fn read_into_canonical(&mut self, partition: &str) {
        for values in self.attributes.values_mut() {
            for v in values.iter_mut() {
                let mut doc = serde_json::Value::String(std::mem::take(v));
                cairn_core::partition::to_canonical(&mut doc, partition);
                if let serde_json::Value::String(s) = doc {
                    *v = s;
                }
            }
        }
    }

    /// Whether the `Role` attribute holds the pair `role_arn`, `provider_arn` (each value
    /// is `role,provider` or `provider,role`).
    pub(crate) fn names_role(&self, role_arn: &str, provider_arn: &str) -> bool {
        self.attribute(ATTR_ROLE).iter().any(|v| {
            let mut parts = v.split(',').map(str::trim);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(b), None) => {
                    (a == role_arn && b == provider_arn) || (a == provider_arn && b == role_arn)
                }
                _ => false,
            }
        })
    }
}

fn time_ms(v: &str) -> Result<i64, ApiError> {
    let t = time::OffsetDateTime::parse(v.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|_| invalid("Invalid SAML response"))?; // [M]
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| invalid("Invalid SAML response"))
}

/// The RSA keys of the provider metadata's signing certificates.
pub(crate) fn metadata_keys(certificates: &[String]) -> Vec<RsaKey> {
    certificates
        .iter()
        .filter_map(|c| xmldsig::certificate_key_b64(c))
        .collect()
}

/// Steps 1–6: decodes and verifies `saml_b64` against the provider (its `entityID` and
/// signing keys) at `now_ms`.
pub(crate) fn verify(
    saml_b64: &str,
    entity_id: &str,
    keys: &[RsaKey],
    now_ms: i64,
) -> Result<Assertion, ApiError> {
    let clean: String = saml_b64
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| invalid("Invalid base64 SAMLResponse"))?; // [M]
    let xml = std::str::from_utf8(&bytes).map_err(|_| invalid("Invalid SAML response"))?; // [M]
    let doc = Doc::parse(xml).map_err(|e| malformed_response(&e))?;
    let root = doc.root;
    if !doc.is(root, NS_PROTOCOL, "Response") {
        return Err(invalid("Invalid SAML response")); // [M]
    }
    // 1. The IdP's verdict.
    let status = doc
        .only_child(root, NS_PROTOCOL, "Status")
        .and_then(|s| doc.only_child(s, NS_PROTOCOL, "StatusCode"))
        .and_then(|c| doc.attr(c, "Value"));
    if status != Some(STATUS_SUCCESS) {
        // [M]: the text.
        return Err(ApiError::new(
            Error::IDPRejectedClaimException,
            "The SAML response's status is not Success",
        ));
    }
    // 2. Structure.
    let assertions: Vec<usize> = doc
        .elements()
        .filter(|e| doc.is(*e, NS_ASSERTION, "Assertion"))
        .collect();
    if doc
        .elements()
        .any(|e| doc.is(e, NS_ASSERTION, "EncryptedAssertion"))
    {
        // [M]: encrypted assertions need the provider's private key, which Cairn's SAML
        // providers do not hold yet.
        return Err(invalid("Encrypted SAML assertions are not supported"));
    }
    let [assertion] = assertions.as_slice() else {
        return Err(invalid(
            "The SAML response must contain exactly one assertion",
        )); // [M]
    };
    let assertion = *assertion;
    if doc.element(assertion).and_then(|e| e.parent) != Some(root) {
        return Err(signature_invalid());
    }
    let mut ids: Vec<&str> = doc.elements().filter_map(|e| doc.attr(e, "ID")).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(signature_invalid());
    }
    // 2–3. Signatures.
    let signatures: Vec<usize> = doc
        .children_named(root, NS_DSIG, "Signature")
        .chain(doc.children_named(assertion, NS_DSIG, "Signature"))
        .collect();
    if signatures.is_empty() {
        return Err(signature_invalid());
    }
    let mut covered = false;
    for sig in signatures {
        let signed =
            xmldsig::verify_enveloped(&doc, sig, keys).map_err(|e| malformed_response(&e))?;
        covered |= doc.contains(signed, assertion);
    }
    if !covered {
        return Err(signature_invalid());
    }
    // 4. Issuer.
    let issuer = doc
        .only_child(assertion, NS_ASSERTION, "Issuer")
        .map(|i| doc.text_of(i).trim().to_owned())
        .unwrap_or_default();
    let response_issuer = doc
        .only_child(root, NS_ASSERTION, "Issuer")
        .map(|i| doc.text_of(i).trim().to_owned());
    if issuer != entity_id || response_issuer.is_some_and(|r| r != entity_id) {
        // AWS's text (captured).
        return Err(invalid("Issuer not present in specified provider"));
    }
    // 5–6. Subject, confirmation, conditions.
    let subject = doc
        .only_child(assertion, NS_ASSERTION, "Subject")
        .ok_or_else(|| invalid("Invalid SAML response"))?; // [M]
    let name_id = doc.only_child(subject, NS_ASSERTION, "NameID");
    let subject_name = name_id
        .map(|n| doc.text_of(n).trim().to_owned())
        .unwrap_or_default();
    let subject_format = name_id
        .and_then(|n| doc.attr(n, "Format"))
        .unwrap_or(UNSPECIFIED)
        .to_owned();
    let confirmation = doc
        .children_named(subject, NS_ASSERTION, "SubjectConfirmation")
        .find(|c| doc.attr(*c, "Method") == Some(BEARER))
        .and_then(|c| doc.only_child(c, NS_ASSERTION, "SubjectConfirmationData"))
        .ok_or_else(|| invalid("Invalid SAML response"))?; // [M]
    let recipient = doc.attr(confirmation, "Recipient").unwrap_or("").to_owned();
    let mut not_on_or_after = match doc.attr(confirmation, "NotOnOrAfter") {
        Some(t) => time_ms(t)?,
        None => return Err(invalid("Invalid SAML response")), // [M]
    };
    let mut not_before = doc
        .attr(confirmation, "NotBefore")
        .map(time_ms)
        .transpose()?;
    if let Some(conditions) = doc.only_child(assertion, NS_ASSERTION, "Conditions") {
        if let Some(t) = doc.attr(conditions, "NotOnOrAfter") {
            not_on_or_after = not_on_or_after.min(time_ms(t)?);
        }
        if let Some(t) = doc.attr(conditions, "NotBefore") {
            let t = time_ms(t)?;
            not_before = Some(not_before.map_or(t, |b: i64| b.max(t)));
        }
        for restriction in doc.children_named(conditions, NS_ASSERTION, "AudienceRestriction") {
            let ok = doc
                .children_named(restriction, NS_ASSERTION, "Audience")
                .any(|a| AUDIENCES.contains(&doc.text_of(a).trim()));
            if !ok {
                return Err(invalid("Invalid audience in SAML response")); // [M]
            }
        }
    }
    if now_ms >= not_on_or_after + SKEW_MS {
        // AWS's text for an assertion past its validity (captured ExpiredTokenException
        // answers; [M] whether AWS words the NotOnOrAfter and the IssueInstant cases alike).
        return Err(ApiError::new(
            Error::ExpiredTokenException,
            "Token must be redeemed within 5 minutes of issuance",
        ));
    }
    if not_before.is_some_and(|b| now_ms + SKEW_MS < b) {
        return Err(invalid("The SAML assertion is not yet valid")); // [M]
    }
    if !is_aws_recipient(&recipient) {
        return Err(invalid("Invalid recipient in SAML response")); // [M]
    }
    let session_not_on_or_after_ms = doc
        .children_named(assertion, NS_ASSERTION, "AuthnStatement")
        .filter_map(|s| doc.attr(s, "SessionNotOnOrAfter"))
        .map(time_ms)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .min();
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in doc.children_named(assertion, NS_ASSERTION, "AttributeStatement") {
        for attribute in doc.children_named(statement, NS_ASSERTION, "Attribute") {
            let Some(name) = doc.attr(attribute, "Name") else {
                continue;
            };
            let values = attributes.entry(name.to_owned()).or_default();
            for v in doc.children_named(attribute, NS_ASSERTION, "AttributeValue") {
                values.push(doc.text_of(v).trim().to_owned());
            }
        }
    }
    Ok(Assertion {
        id: doc.attr(assertion, "ID").unwrap_or("").to_owned(),
        issuer,
        subject: subject_name,
        subject_format,
        recipient,
        not_on_or_after_ms: not_on_or_after,
        session_not_on_or_after_ms,
        attributes,
    })
}

/// The record's `requestParameters`: the input without the assertion, with its ID, the
/// session name and the session tags it carried (the CloudTrail User Guide's
/// `AssumeRoleWithSAML` example: `sAMLAssertionID`, `roleSessionName`, `principalTags`,
/// `transitiveTagKeys`; [M] `sourceIdentity`).
pub(crate) fn request_parameters(
    input: Option<&serde_json::Value>,
    assertion: &Assertion,
) -> serde_json::Value {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    out.insert(
        "sAMLAssertionID".to_owned(),
        Value::from(assertion.id.clone()),
    );
    if let Ok(name) = assertion.session_name() {
        out.insert("roleSessionName".to_owned(), Value::from(name));
    }
    let (tags, transitive) = assertion.session_tags();
    if !tags.is_empty() {
        out.insert(
            "principalTags".to_owned(),
            Value::Object(tags.into_iter().map(|(k, v)| (k, Value::from(v))).collect()),
        );
    }
    if !transitive.is_empty() {
        out.insert("transitiveTagKeys".to_owned(), Value::from(transitive));
    }
    if let Some(s) = assertion.source_identity() {
        out.insert("sourceIdentity".to_owned(), Value::from(s));
    }
    if let Some(Value::Object(m)) = input {
        for (k, v) in m {
            if !k.eq_ignore_ascii_case("samlassertion") {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// `SAML:namequalifier`: "BASE64 ( SHA1 ( issuer + account ID + "/" + provider name ) )"
/// (IAM User Guide, "Available keys for SAML-based AWS STS federation").
pub(crate) fn name_qualifier(issuer: &str, account: &str, provider_name: &str) -> String {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(format!("{issuer}{account}/{provider_name}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Attributes that become `SAML:<key>` condition keys: by their OID names (eduPerson and
/// X.500 / RFC 4519 attributes, as the IAM User Guide lists the keys; the OIDs are the
/// schemas' [M: which of them AWS maps by OID and which by friendly name]).
const OID_KEYS: &[(&str, &str)] = &[
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "edupersonaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "edupersonorgdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "edupersonorgunitdn"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "edupersonprimaryaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "edupersonprincipalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "edupersonentitlement"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "edupersonprimaryorgunitdn",
    ),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "edupersonscopedaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "edupersontargetedid"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.11", "edupersonassurance"),
    ("urn:oid:1.3.6.1.4.1.5923.1.2.1.2", "eduorghomepageuri"),
    ("urn:oid:2.5.4.3", "cn"),
    ("urn:oid:2.5.4.4", "surname"),
    ("urn:oid:2.5.4.42", "givenName"),
    ("urn:oid:2.5.4.41", "name"),
    ("urn:oid:2.5.4.45", "x500UniqueIdentifier"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail"),
    ("urn:oid:1.3.6.1.4.1.25178.1.2.9", "organizationStatus"),
    ("urn:oid:1.2.840.113556.1.4.98", "primaryGroupSID"),
];

/// Who a verified assertion stands for, for the trust policy.
pub(crate) struct SamlIdentity<'a> {
    pub assertion: &'a Assertion,
    pub provider_arn: &'a str,
    pub account: &'a str,
    pub provider_name: &'a str,
    pub name_qualifier: &'a str,
}

/// The `SAML:*` condition keys (IAM User Guide, "Available keys for SAML-based AWS STS
/// federation"): `aud` is the confirmation's `Recipient` ("not the Audience field"), `doc`
/// is `<account>/<provider name>`, `sub_type` as [`Assertion::subject_type`].
pub(crate) fn condition_keys(who: &SamlIdentity<'_>) -> Context {
    let a = who.assertion;
    let mut context = Context::new();
    context.insert("SAML:aud", a.recipient.clone());
    context.insert("SAML:iss", a.issuer.clone());
    context.insert("SAML:sub", a.subject.clone());
    context.insert("SAML:sub_type", a.subject_type());
    context.insert("SAML:namequalifier", who.name_qualifier);
    context.insert("SAML:doc", format!("{}/{}", who.account, who.provider_name));
    for (oid, key) in OID_KEYS {
        let values = a.attribute(oid);
        if !values.is_empty() {
            context.insert_multi(&format!("SAML:{key}"), values.iter().cloned());
        }
    }
    context.insert("aws:FederatedProvider", who.provider_arn);
    context
}

/// Step 9: whether the trust policy allows `action` for the provider with these keys.
pub(crate) fn trust_allows(
    trust: &Policy,
    role_arn: &str,
    action: &str,
    who: &SamlIdentity<'_>,
    now_ms: i64,
) -> bool {
    let mut context = condition_keys(who);
    context.insert("aws:EpochTime", now_ms.div_euclid(1000).to_string());
    let principal = Principal::new(PrincipalType::Anonymous, "", who.account)
        .with_federated_provider(who.provider_arn);
    let request = Request {
        principal,
        action,
        resource: role_arn,
        resource_account: None,
        context: &context,
    };
    let matches = cairn_policy::explain(&request, trust);
    matches
        .iter()
        .any(|m| m.matches && m.statement.effect() == Effect::Allow)
        && !matches
            .iter()
            .any(|m| m.matches && m.statement.effect() == Effect::Deny)
}

fn issuer_hash(issuer: &str) -> String {
    use rsa::sha2::Digest as _;
    let d = rsa::sha2::Sha256::digest(issuer.as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Step 10, inside the call's write transaction: refuses an assertion already used, then
/// remembers this one until it expires, and forgets a few expired ones.
pub(crate) fn remember(
    tx: &mut dyn Tx,
    assertion: &Assertion,
    now_ms: i64,
) -> Result<(), cairn_core::Failure> {
    let tail = format!("{}/{}", issuer_hash(&assertion.issuer), assertion.id);
    let id_key = format!("id/{tail}");
    if let Some(v) = tx.get(USED, id_key.as_bytes())? {
        let until = std::str::from_utf8(&v)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(i64::MAX);
        if until + SKEW_MS > now_ms {
            // [M]: the text.
            return Err(invalid("The SAML assertion has already been used").into());
        }
    }
    let until = assertion.not_on_or_after_ms.max(0);
    tx.put(USED, id_key.as_bytes(), until.to_string().as_bytes())?;
    tx.put(USED, format!("exp/{until:016}/{tail}").as_bytes(), b"")?;
    // Forget what expired (a skew's margin later).
    let horizon = format!("exp/{:016}", (now_ms - 2 * SKEW_MS).max(0));
    let expired = tx.scan(
        USED,
        &cairn_store::Scan::range(
            cairn_store::Bound::Included(b"exp/"),
            cairn_store::Bound::Excluded(horizon.as_bytes()),
        )
        .limit(PURGE_PER_CALL),
    )?;
    for (key, _) in expired {
        tx.delete(USED, &key)?;
        if let Some(rest) = key.get(4 + 17..) {
            let mut id = b"id/".to_vec();
            id.extend_from_slice(rest);
            tx.delete(USED, &id)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Responses signed by samlify (npm) with `scripts/saml_idp.mjs`: the assertion signed,
    /// the response signed, both, and the assertion signed by another key; `now_ms` is when
    /// they were made (valid five minutes).
    const FIXTURE: &str = include_str!("testdata/samlify.json");
    const ENTITY: &str = "https://idp.example.com/saml";

    fn fixture() -> serde_json::Value {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn keys_of(metadata: &str) -> Vec<RsaKey> {
        let m = crate::saml_providers::parse_metadata(metadata).unwrap();
        assert_eq!(m.entity_id, ENTITY);
        metadata_keys(&m.signing_certificates)
    }

    fn now() -> i64 {
        fixture()["now_ms"].as_i64().unwrap()
    }

    fn decoded(name: &str) -> String {
        let b = base64::engine::general_purpose::STANDARD
            .decode(fixture()[name].as_str().unwrap())
            .unwrap();
        String::from_utf8(b).unwrap()
    }

    fn encode(xml: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(xml)
    }

    fn check(xml: &str) -> Result<Assertion, ApiError> {
        let f = fixture();
        verify(
            &encode(xml),
            ENTITY,
            &keys_of(f["metadata"].as_str().unwrap()),
            now(),
        )
    }

    #[test]
    fn samlify_responses_verify_signed_either_way() {
        let f = fixture();
        let keys = keys_of(f["metadata"].as_str().unwrap());
        assert_eq!(keys.len(), 1);
        for name in ["assertion-signed", "response-signed", "both-signed"] {
            let a = verify(f[name].as_str().unwrap(), ENTITY, &keys, now())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(a.issuer, ENTITY);
            assert_eq!(a.subject, "alice@example.com");
            assert_eq!(a.subject_type(), "persistent");
            assert_eq!(a.recipient, "https://signin.aws.amazon.com/saml");
            assert!(a.names_role(
                "arn:aws:iam::123456789012:role/SamlRole",
                "arn:aws:iam::123456789012:saml-provider/TestIdP"
            ));
            assert!(!a.names_role(
                "arn:aws:iam::123456789012:role/Other",
                "arn:aws:iam::123456789012:saml-provider/TestIdP"
            ));
            assert_eq!(a.session_name().unwrap(), "alice");
            assert_eq!(
                a.session_tags(),
                (vec![("team".to_owned(), "blue".to_owned())], vec![])
            );
            assert_eq!(
                a.attribute("urn:oid:1.3.6.1.4.1.5923.1.1.1.1"),
                ["member", "staff"]
            );
        }
    }

    /// Signed by xml-crypto (npm; the signer under samlify) with the same key, the way other
    /// IdPs sign: default namespaces, pretty-printed, RSA-SHA1 and SHA-1 digests,
    /// `SignedInfo` canonicalized `#WithComments`, the reference with `InclusiveNamespaces
    /// PrefixList="xs"`, a comment inside the `NameID` (which must not cut it short), the
    /// `Role` pair in provider-first order.
    #[test]
    fn xml_crypto_sha1_with_prefix_list_verifies() {
        let f: serde_json::Value =
            serde_json::from_str(include_str!("testdata/xml-crypto-sha1.json")).unwrap();
        let keys = keys_of(fixture()["metadata"].as_str().unwrap());
        let now = f["now_ms"].as_i64().unwrap();
        let a = verify(f["response"].as_str().unwrap(), ENTITY, &keys, now).unwrap();
        assert_eq!(a.subject, "bob@example.com");
        assert_eq!(a.subject_type(), "transient");
        assert!(a.names_role(
            "arn:aws:iam::123456789012:role/SamlRole",
            "arn:aws:iam::123456789012:saml-provider/TestIdP"
        ));
        assert_eq!(
            a.session_name().unwrap_err().message,
            "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
        );
        // The comment is outside the signed content: removing it keeps the signature valid,
        // changing the text around it does not.
        let xml = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(f["response"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        let uncommented = xml.replace("<!-- a comment inside the name -->", "");
        verify(&encode(&uncommented), ENTITY, &keys, now).unwrap();
        let cut = xml.replace("<!-- a comment inside the name -->@example.com", "");
        assert!(verify(&encode(&cut), ENTITY, &keys, now).is_err());
    }

    #[test]
    fn another_key_is_refused() {
        let f = fixture();
        let e = verify(
            f["other-key"].as_str().unwrap(),
            ENTITY,
            &keys_of(f["metadata"].as_str().unwrap()),
            now(),
        )
        .unwrap_err();
        assert_eq!(e.message, "Response signature invalid");
        // With that key's metadata it verifies: the key, not the content, was the problem.
        verify(
            f["other-key"].as_str().unwrap(),
            ENTITY,
            &keys_of(f["other_metadata"].as_str().unwrap()),
            now(),
        )
        .unwrap();
    }

    #[test]
    fn tampering_is_refused() {
        for name in ["assertion-signed", "response-signed"] {
            let xml = decoded(name);
            let evil = xml.replace(
                "arn:aws:iam::123456789012:role/SamlRole",
                "arn:aws:iam::123456789012:role/Admin",
            );
            assert_ne!(xml, evil);
            let e = check(&evil).unwrap_err();
            assert_eq!(e.message, "Response signature invalid", "{name}");
            // Unsigned altogether.
            let start = xml.find("<ds:Signature").unwrap();
            let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let unsigned = format!("{}{}", &xml[..start], &xml[end..]);
            assert_eq!(
                check(&unsigned).unwrap_err().message,
                "Response signature invalid"
            );
        }
    }

    /// Signature wrapping (XSW): the signed assertion kept where the signature still
    /// verifies, a forged one placed where a careless reader looks.
    #[test]
    fn wrapped_assertions_are_refused() {
        let xml = decoded("assertion-signed");
        let a_start = xml.find("<saml:Assertion").unwrap();
        let a_end = xml.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
        let original = &xml[a_start..a_end];
        let forged = original
            .replace("alice@example.com", "admin@example.com")
            .replace("ID=\"_", "ID=\"_evil");
        // XSW1-like: the forged assertion first, the signed one after it.
        let two = format!("{}{forged}{}", &xml[..a_start], &xml[a_start..]);
        assert_eq!(check(&two).unwrap_err().code, "InvalidIdentityToken");
        // The signed assertion hidden in an extension, the forged one in its place.
        let hidden = format!(
            "{}<samlp:Extensions>{original}</samlp:Extensions>{forged}{}",
            &xml[..a_start],
            &xml[a_end..]
        );
        assert_eq!(check(&hidden).unwrap_err().code, "InvalidIdentityToken");
        // The forged assertion carrying the original's ID (duplicate IDs).
        let same_id = original.replace("alice@example.com", "admin@example.com");
        let dup = format!("{}{same_id}{}", &xml[..a_start], &xml[a_start..]);
        assert_eq!(check(&dup).unwrap_err().code, "InvalidIdentityToken");
        // The response's signature moved onto a forged response around the signed one.
        let resp = decoded("response-signed");
        let forged_resp = resp.replace("alice@example.com", "admin@example.com");
        assert_eq!(
            check(&forged_resp).unwrap_err().message,
            "Response signature invalid"
        );
    }

    #[test]
    fn times_are_enforced() {
        let f = fixture();
        let keys = keys_of(f["metadata"].as_str().unwrap());
        let r = f["assertion-signed"].as_str().unwrap();
        let e = verify(r, ENTITY, &keys, now() + 10 * 60_000).unwrap_err();
        assert_eq!(e.code, "ExpiredTokenException");
        let e = verify(r, ENTITY, &keys, now() - 10 * 60_000).unwrap_err();
        assert_eq!(e.code, "InvalidIdentityToken");
        let e = verify(r, "https://other.example.com", &keys, now()).unwrap_err();
        assert_eq!(e.message, "Issuer not present in specified provider");
    }

    #[test]
    fn recipients() {
        assert!(is_aws_recipient("https://signin.aws.amazon.com/saml"));
        assert!(is_aws_recipient(
            "https://eu-west-1.signin.aws.amazon.com/saml"
        ));
        assert!(is_aws_recipient("https://signin.amazonaws-us-gov.com/saml"));
        assert!(!is_aws_recipient(
            "https://signin.aws.amazon.com.evil.example/saml"
        ));
        assert!(!is_aws_recipient(
            "https://evil.example/signin.aws.amazon.com/saml"
        ));
        assert!(!is_aws_recipient("http://signin.aws.amazon.com/saml"));
        assert!(!is_aws_recipient("https://x.y.signin.aws.amazon.com/saml"));
    }

    #[test]
    fn name_qualifier_is_the_documented_hash() {
        use sha1::Digest as _;
        let expected = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(
            b"https://example.com/saml123456789012/MySAMLIdP",
        ));
        assert_eq!(
            name_qualifier("https://example.com/saml", "123456789012", "MySAMLIdP"),
            expected
        );
    }
}
