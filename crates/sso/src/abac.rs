//! Attributes for access control (ABAC): which user attributes an instance passes on as
//! session tags (`aws:PrincipalTag/<key>`) when a user's role session starts. Facts:
//! `notes/sso-admin-facts.md` §9 — creating the configuration enables the feature,
//! deleting it disables it and removes every mapping; one configuration per instance.
//!
//! Space: `sso.abac` — instance ID → [`AbacRec`].

use crate::instance::{conflict, require_active, validation};
use crate::model::{self, AdminCtx, InstanceRec};
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::ApiError;
use serde::{Deserialize, Serialize};

pub const ABAC: &str = "sso.abac";

/// An instance's access-control attributes: key → its sources (one, per the model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbacRec {
    pub v: u32,
    pub attributes: Vec<(String, Vec<String>)>,
    pub created_ms: i64,
}

fn not_configured(inst: &InstanceRec) -> Failure {
    // [M]: the text (moto answers ResourceNotFoundException, as the model allows).
    Failure(ApiError::new(
        Error::ResourceNotFoundException,
        format!(
            "Attributes for access control are not enabled for the instance {}.",
            inst.arn()
        ),
    ))
}

/// The attributes of a configuration, with duplicate keys refused.
fn attributes(
    cfg: &types::InstanceAccessControlAttributeConfiguration,
) -> Result<Vec<(String, Vec<String>)>, Failure> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for a in &cfg.access_control_attributes {
        if out.iter().any(|(k, _)| k == &a.key) {
            // [M]: the text.
            return Err(validation(format!(
                "The attribute key {} appears more than once.",
                a.key
            )));
        }
        out.push((a.key.clone(), a.value.source.clone()));
    }
    Ok(out)
}

fn api(rec: &AbacRec) -> types::InstanceAccessControlAttributeConfiguration {
    types::InstanceAccessControlAttributeConfiguration {
        access_control_attributes: rec
            .attributes
            .iter()
            .map(|(k, src)| types::AccessControlAttribute {
                key: k.clone(),
                value: types::AccessControlAttributeValue {
                    source: src.clone(),
                },
            })
            .collect(),
    }
}

/// The attributes an instance passes on as session tags (none when ABAC is not enabled).
pub fn access_control_attributes(
    tx: &mut dyn Tx,
    inst: &InstanceRec,
) -> Result<Vec<(String, Vec<String>)>, Failure> {
    Ok(model::get_json::<AbacRec>(tx, ABAC, &inst.id)?
        .map(|r| r.attributes)
        .unwrap_or_default())
}

pub fn create_instance_access_control_attribute_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::CreateInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::CreateInstanceAccessControlAttributeConfigurationResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    if model::get_json::<AbacRec>(tx, ABAC, &inst.id)?.is_some() {
        // [M]: the text; enabling twice is a conflict (moto).
        return Err(conflict(format!(
            "Attributes for access control are already enabled for the instance {}.",
            inst.arn()
        )));
    }
    let rec = AbacRec {
        v: model::FORMAT,
        attributes: attributes(&input.instance_access_control_attribute_configuration)?,
        created_ms: c.now_ms,
    };
    model::put_json(tx, ABAC, &inst.id, &rec)?;
    Ok(types::CreateInstanceAccessControlAttributeConfigurationResponse {})
}

pub fn describe_instance_access_control_attribute_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::DescribeInstanceAccessControlAttributeConfigurationResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let rec: AbacRec = model::get_json(tx, ABAC, &inst.id)?.ok_or_else(|| not_configured(&inst))?;
    // Enabling takes effect at once in Cairn: the status is ENABLED from the start.
    Ok(
        types::DescribeInstanceAccessControlAttributeConfigurationResponse {
            instance_access_control_attribute_configuration: Some(api(&rec)),
            status: Some(types::InstanceAccessControlAttributeConfigurationStatus::Enabled),
            status_reason: None,
        },
    )
}

pub fn update_instance_access_control_attribute_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::UpdateInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::UpdateInstanceAccessControlAttributeConfigurationResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let mut rec: AbacRec =
        model::get_json(tx, ABAC, &inst.id)?.ok_or_else(|| not_configured(&inst))?;
    rec.attributes = attributes(&input.instance_access_control_attribute_configuration)?;
    model::put_json(tx, ABAC, &inst.id, &rec)?;
    Ok(types::UpdateInstanceAccessControlAttributeConfigurationResponse {})
}

pub fn delete_instance_access_control_attribute_configuration(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DeleteInstanceAccessControlAttributeConfigurationRequest,
) -> Result<types::DeleteInstanceAccessControlAttributeConfigurationResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    if !tx.delete(ABAC, inst.id.as_bytes())? {
        return Err(not_configured(&inst));
    }
    Ok(types::DeleteInstanceAccessControlAttributeConfigurationResponse {})
}

/// Removes the instance's configuration (its deletion).
pub fn purge(tx: &mut dyn Tx, inst: &InstanceRec) -> Result<(), Failure> {
    tx.delete(ABAC, inst.id.as_bytes())?;
    Ok(())
}
