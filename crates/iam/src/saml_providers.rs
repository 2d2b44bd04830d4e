//! IAM SAML identity providers: an IdP's SAML 2.0 metadata document, parsed and checked,
//! named by `arn:aws:iam::<account>:saml-provider/<name>`. Identity Center keeps its own
//! providers in member accounts through [`crate::reserved::ensure_saml_provider`]; the
//! records are the same.
//!
//! The metadata must be an `md:EntityDescriptor` with an `entityID` and an
//! `md:IDPSSODescriptor`; its `validUntil`, when present, is the provider's `ValidUntil`
//! (without one AWS answers a date a hundred years after creation [M]). Signing certificates
//! (`KeyDescriptor` with `use="signing"` or no `use`) are what `AssumeRoleWithSAML` checks
//! assertions with.

use crate::common::{Ctx, api_tags_opt, fail, merge_tags, remove_tags, tag_page, ts};
use crate::records::{self, FORMAT};
use crate::reserved::{SAML, SamlProviderRec, saml_provider_arn};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::Tx;
use quick_xml::events::Event;

/// AWS's default quota (IAM User Guide, "IAM object quotas": SAML providers per account).
const PROVIDERS_QUOTA: u64 = 100;
const HUNDRED_YEARS_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

/// What Cairn reads from a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub entity_id: String,
    pub valid_until_ms: Option<i64>,
    /// Base64 DER of the IdP's signing certificates.
    pub signing_certificates: Vec<String>,
}

fn could_not_parse() -> Failure {
    // AWS's text for metadata it cannot use.
    fail(Error::InvalidInputException, "Could not parse metadata")
}

/// A name without its namespace prefix.
fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (local(a.key.as_ref()) == name)
            .then(|| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

#[derive(Default)]
struct Scan {
    entity_id: Option<String>,
    valid_until: Option<String>,
    idp: bool,
    signing_key: bool,
    in_cert: bool,
    certs: Vec<String>,
}

impl Scan {
    /// An element opens at `depth` (0: the root).
    fn open(&mut self, e: &quick_xml::events::BytesStart<'_>, depth: usize) -> Result<(), Failure> {
        let name = local(e.name().as_ref()).to_owned();
        if depth == 0 {
            if name != "EntityDescriptor" {
                return Err(could_not_parse());
            }
            self.entity_id = attr(e, "entityID");
            self.valid_until = attr(e, "validUntil");
        }
        match name.as_str() {
            "IDPSSODescriptor" => self.idp = true,
            "KeyDescriptor" => {
                self.signing_key = attr(e, "use").is_none_or(|u| u == "signing");
            }
            "X509Certificate" if self.signing_key => self.in_cert = true,
            _ => {}
        }
        Ok(())
    }
}

/// Parses and checks a SAML 2.0 metadata document.
pub fn parse_metadata(doc: &str) -> Result<Metadata, Failure> {
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut depth = 0usize;
    let mut scan = Scan::default();
    loop {
        match reader.read_event().map_err(|_| could_not_parse())? {
            Event::Start(e) => {
                scan.open(&e, depth)?;
                depth += 1;
            }
            Event::Empty(e) => scan.open(&e, depth)?,
            Event::End(e) => {
                if local(e.name().as_ref()) == "X509Certificate" {
                    scan.in_cert = false;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if scan.in_cert => {
                let text = t.xml10_content();
                let cert: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                if !cert.is_empty() {
                    scan.certs.push(cert);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let entity_id = scan
        .entity_id
        .filter(|e| !e.is_empty())
        .ok_or_else(could_not_parse)?;
    if !scan.idp {
        return Err(could_not_parse());
    }
    let valid_until_ms = match scan.valid_until {
        Some(v) => Some(
            time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| could_not_parse())?
                .unix_timestamp()
                * 1000,
        ),
        None => None,
    };
    Ok(Metadata {
        entity_id,
        valid_until_ms,
        signing_certificates: scan.certs,
    })
}

/// The provider name an ARN of the account names.
fn name_of<'a>(account: &str, arn: &'a str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (acct, resource) = rest.split_once(':')?;
    let name = resource.strip_prefix("saml-provider/")?;
    (acct == account && !name.is_empty()).then_some(name)
}

fn not_found(arn: &str) -> Failure {
    // [M]: the text.
    fail(
        Error::NoSuchEntityException,
        format!("Manifest not found for arn {arn}"),
    )
}

fn require(tx: &mut dyn Tx, c: &Ctx, arn: &str) -> Result<SamlProviderRec, Failure> {
    let name = name_of(&c.account, arn).ok_or_else(|| not_found(arn))?;
    records::load(tx, SAML, &format!("{}/{name}", c.account))?.ok_or_else(|| not_found(arn))
}

fn save(tx: &mut dyn Tx, account: &str, r: &SamlProviderRec) -> Result<(), Failure> {
    records::save(tx, SAML, &format!("{account}/{}", r.name), r)?;
    Ok(())
}

fn valid_until(r: &SamlProviderRec) -> i64 {
    r.valid_until_ms.unwrap_or(r.created_ms + HUNDRED_YEARS_MS)
}

pub(crate) fn create_saml_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateSAMLProviderRequest,
) -> Result<types::CreateSAMLProviderResponse, Failure> {
    let key = format!("{}/{}", c.account, input.name);
    if tx.get(SAML, key.as_bytes())?.is_some() {
        return Err(fail(
            Error::EntityAlreadyExistsException,
            format!("SAMLProvider {} already exists.", input.name),
        ));
    }
    if tx.count(SAML, format!("{}/", c.account).as_bytes())? >= PROVIDERS_QUOTA {
        return Err(fail(
            Error::LimitExceededException,
            format!("Cannot exceed quota for SamlProvidersPerAccount: {PROVIDERS_QUOTA}"),
        ));
    }
    let meta = parse_metadata(&input.saml_metadata_document)?;
    let mut tags = Vec::new();
    merge_tags(&mut tags, input.tags.as_deref().unwrap_or_default())?;
    let rec = SamlProviderRec {
        v: FORMAT,
        name: input.name.clone(),
        metadata: input.saml_metadata_document.clone(),
        created_ms: c.now_ms,
        uuid: Some(c.ids.uuid()),
        valid_until_ms: meta.valid_until_ms,
        tags,
    };
    save(tx, &c.account, &rec)?;
    Ok(types::CreateSAMLProviderResponse {
        saml_provider_arn: Some(saml_provider_arn(&c.account, &rec.name)),
        tags: api_tags_opt(&rec.tags),
    })
}

pub(crate) fn get_saml_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    arn: &str,
) -> Result<types::GetSAMLProviderResponse, Failure> {
    let r = require(tx, c, arn)?;
    Ok(types::GetSAMLProviderResponse {
        saml_metadata_document: Some(r.metadata.clone()),
        create_date: Some(ts(r.created_ms)),
        valid_until: Some(ts(valid_until(&r))),
        saml_provider_uuid: r.uuid.clone(),
        tags: api_tags_opt(&r.tags),
        ..Default::default()
    })
}

pub(crate) fn list_saml_providers(
    tx: &mut dyn Tx,
    c: &Ctx,
) -> Result<types::ListSAMLProvidersResponse, Failure> {
    let all: Vec<(String, SamlProviderRec)> =
        records::load_all(tx, SAML, &format!("{}/", c.account))?;
    Ok(types::ListSAMLProvidersResponse {
        saml_provider_list: Some(
            all.iter()
                .map(|(_, r)| types::SAMLProviderListEntry {
                    arn: Some(saml_provider_arn(&c.account, &r.name)),
                    create_date: Some(ts(r.created_ms)),
                    valid_until: Some(ts(valid_until(r))),
                    ..Default::default()
                })
                .collect(),
        ),
    })
}

pub(crate) fn update_saml_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UpdateSAMLProviderRequest,
) -> Result<types::UpdateSAMLProviderResponse, Failure> {
    let mut r = require(tx, c, &input.saml_provider_arn)?;
    if let Some(doc) = &input.saml_metadata_document {
        let meta = parse_metadata(doc)?;
        r.metadata = doc.clone();
        r.valid_until_ms = meta.valid_until_ms;
    }
    save(tx, &c.account, &r)?;
    Ok(types::UpdateSAMLProviderResponse {
        saml_provider_arn: Some(input.saml_provider_arn.clone()),
    })
}

pub(crate) fn delete_saml_provider(tx: &mut dyn Tx, c: &Ctx, arn: &str) -> Result<(), Failure> {
    let r = require(tx, c, arn)?;
    tx.delete(SAML, format!("{}/{}", c.account, r.name).as_bytes())?;
    Ok(())
}

pub(crate) fn tag_saml_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::TagSAMLProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.saml_provider_arn)?;
    merge_tags(&mut r.tags, &input.tags)?;
    save(tx, &c.account, &r)
}

pub(crate) fn untag_saml_provider(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::UntagSAMLProviderRequest,
) -> Result<(), Failure> {
    let mut r = require(tx, c, &input.saml_provider_arn)?;
    remove_tags(&mut r.tags, &input.tag_keys);
    save(tx, &c.account, &r)
}

pub(crate) fn list_saml_provider_tags(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::ListSAMLProviderTagsRequest,
) -> Result<types::ListSAMLProviderTagsResponse, Failure> {
    let r = require(tx, c, &input.saml_provider_arn)?;
    let page = tag_page(&r.tags, input.marker.as_deref(), input.max_items)?;
    Ok(types::ListSAMLProviderTagsResponse {
        is_truncated: page.truncated(),
        marker: page.marker,
        tags: page.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDP: &str = r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml" validUntil="2030-01-01T00:00:00Z">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
      MIIBsjCCAVmgAwIBAgIU
      AAAA
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>ENC</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

    #[test]
    fn metadata_is_parsed_and_checked() {
        let m = parse_metadata(IDP).unwrap();
        assert_eq!(m.entity_id, "https://idp.example.com/saml");
        assert_eq!(m.valid_until_ms, Some(1_893_456_000_000));
        assert_eq!(m.signing_certificates, ["MIIBsjCCAVmgAwIBAgIUAAAA"]);
        for bad in [
            "not xml at all <",
            "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>",
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>",
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"><md:IDPSSODescriptor/></md:EntityDescriptor>",
        ] {
            assert!(parse_metadata(bad).is_err(), "{bad}");
        }
    }
}
