//! Multi-Region replication of an instance: `AddRegion` starts an asynchronous workflow — the
//! Region is `ADDING`, then `ACTIVE` — and `RemoveRegion` one that ends with the Region gone
//! (`REMOVING` meanwhile); the primary Region (where the instance was enabled) is always
//! listed, with the instance's creation time, and cannot be removed (API Reference: AddRegion,
//! RemoveRegion, RegionMetadata). The workflows are `sso.task` jobs.
//!
//! Space: `sso.region` — `<instance id>/<region>` → [`RegionRec`] (added Regions only).

use crate::instance::{conflict, require_active, validation};
use crate::jobs::{self, Task};
use crate::model::{self, AdminCtx, InstanceRec, Page};
use cairn_api::sso_admin::{Error, types};
use cairn_core::{Failure, ResourceFacts};
use cairn_store::Tx;
use cairn_wire::{ApiError, Timestamp};
use serde::{Deserialize, Serialize};

pub const REGIONS: &str = "sso.region";

/// Regions an instance may be replicated to besides its primary one [M: AWS's quota is not
/// documented in the sources seen].
const MAX_ADDED: u64 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionRec {
    pub v: u32,
    pub name: String,
    /// `ADDING`, `ACTIVE`, `REMOVING`.
    pub status: String,
    pub added_ms: i64,
}

fn key(inst: &str, region: &str) -> String {
    format!("{inst}/{region}")
}

fn status(s: &str) -> types::RegionStatus {
    match s {
        "ADDING" => types::RegionStatus::Adding,
        "REMOVING" => types::RegionStatus::Removing,
        _ => types::RegionStatus::Active,
    }
}

fn not_found(region: &str, inst: &InstanceRec) -> Failure {
    // [M]: the text.
    Failure(ApiError::new(
        Error::ResourceNotFoundException,
        format!(
            "The Region {region} is not enabled for the instance {}.",
            inst.arn()
        ),
    ))
}

/// The primary Region first, then the added ones in name order (also `DescribeInstance`'s
/// `Regions`).
pub fn all(tx: &mut dyn Tx, inst: &InstanceRec) -> Result<Vec<types::RegionMetadata>, Failure> {
    let mut out = vec![types::RegionMetadata {
        added_date: Some(Timestamp::from_millis(inst.created_ms)),
        is_primary_region: Some(true),
        region_name: Some(inst.region.clone()),
        status: Some(types::RegionStatus::Active),
    }];
    let prefix = format!("{}/", inst.id);
    for (_, raw) in tx.scan_prefix(REGIONS, prefix.as_bytes(), false, usize::MAX)? {
        let r: RegionRec = serde_json::from_slice(&raw).map_err(|_| model::corrupt(REGIONS))?;
        out.push(types::RegionMetadata {
            added_date: Some(Timestamp::from_millis(r.added_ms)),
            is_primary_region: Some(false),
            region_name: Some(r.name),
            status: Some(status(&r.status)),
        });
    }
    Ok(out)
}

pub fn add_region(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::AddRegionRequest,
) -> Result<types::AddRegionResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let region = &input.region_name;
    if cairn_core::partition_of(region) != inst.partition {
        // [M]: the text; a Region of another partition cannot hold a replica.
        return Err(validation(format!(
            "The Region {region} is not in the partition {} of the instance.",
            inst.partition
        )));
    }
    if *region == inst.region || tx.get(REGIONS, key(&inst.id, region).as_bytes())?.is_some() {
        return Err(conflict(format!(
            "The Region {region} is already enabled for the instance {}.",
            inst.arn()
        )));
    }
    if tx.count(REGIONS, format!("{}/", inst.id).as_bytes())? >= MAX_ADDED {
        return Err(Failure(ApiError::new(
            Error::ServiceQuotaExceededException,
            format!("An instance can be replicated to at most {MAX_ADDED} additional Regions."),
        )));
    }
    let rec = RegionRec {
        v: model::FORMAT,
        name: region.clone(),
        status: "ADDING".to_owned(),
        added_ms: c.now_ms,
    };
    model::put_json(tx, REGIONS, &key(&inst.id, region), &rec)?;
    jobs::enqueue(
        tx,
        c.now_ms,
        &Task::RegionAdded {
            instance: inst.id.clone(),
            region: region.clone(),
        },
    )?;
    Ok(types::AddRegionResponse {
        status: Some(types::RegionStatus::Adding),
    })
}

pub fn describe_region(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::DescribeRegionRequest,
) -> Result<types::DescribeRegionResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let r = all(tx, &inst)?
        .into_iter()
        .find(|r| r.region_name.as_deref() == Some(input.region_name.as_str()))
        .ok_or_else(|| not_found(&input.region_name, &inst))?;
    Ok(types::DescribeRegionResponse {
        added_date: r.added_date,
        is_primary_region: r.is_primary_region,
        region_name: r.region_name,
        status: r.status,
    })
}

pub fn list_regions(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::ListRegionsRequest,
) -> Result<types::ListRegionsResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let page = Page::with_default(
        format!("ListRegions/{}/{}", c.account, inst.id),
        input.next_token.as_deref(),
        input.max_results,
        100,
        || validation("The provided NextToken is not valid."),
    )?;
    // Positions keep the primary Region first across pages.
    let items: Vec<(String, types::RegionMetadata)> = all(tx, &inst)?
        .into_iter()
        .enumerate()
        .map(|(i, r)| (format!("{i:04}"), r))
        .collect();
    let (items, next_token) = page.apply(items, |(k, _)| k.clone());
    Ok(types::ListRegionsResponse {
        next_token,
        regions: Some(items.into_iter().map(|(_, r)| r).collect()),
    })
}

pub fn remove_region(
    tx: &mut dyn Tx,
    orgs: &dyn ResourceFacts,
    c: &AdminCtx,
    input: &types::RemoveRegionRequest,
) -> Result<types::RemoveRegionResponse, Failure> {
    let inst = require_active(tx, orgs, &c.account, &input.instance_arn)?;
    let region = &input.region_name;
    if *region == inst.region {
        // The primary Region cannot be removed (API Reference, RegionMetadata) [M: the text].
        return Err(validation(format!(
            "The Region {region} is the primary Region of the instance and cannot be removed."
        )));
    }
    let k = key(&inst.id, region);
    let mut rec: RegionRec =
        model::get_json(tx, REGIONS, &k)?.ok_or_else(|| not_found(region, &inst))?;
    if rec.status != "ACTIVE" {
        return Err(conflict(format!(
            "The Region {region} is {}; try again when it is ACTIVE.",
            rec.status
        )));
    }
    rec.status = "REMOVING".to_owned();
    model::put_json(tx, REGIONS, &k, &rec)?;
    jobs::enqueue(
        tx,
        c.now_ms,
        &Task::RegionRemoved {
            instance: inst.id.clone(),
            region: region.clone(),
        },
    )?;
    Ok(types::RemoveRegionResponse {
        status: Some(types::RegionStatus::Removing),
    })
}

/// The end of `AddRegion`'s workflow: the Region is `ACTIVE`.
pub fn finish_add(tx: &mut dyn Tx, inst_id: &str, region: &str) -> Result<(), Failure> {
    let k = key(inst_id, region);
    if let Some(mut rec) = model::get_json::<RegionRec>(tx, REGIONS, &k)?
        && rec.status == "ADDING"
    {
        rec.status = "ACTIVE".to_owned();
        model::put_json(tx, REGIONS, &k, &rec)?;
    }
    Ok(())
}

/// The end of `RemoveRegion`'s workflow: the Region is gone.
pub fn finish_remove(tx: &mut dyn Tx, inst_id: &str, region: &str) -> Result<(), Failure> {
    let k = key(inst_id, region);
    if model::get_json::<RegionRec>(tx, REGIONS, &k)?.is_some_and(|r| r.status == "REMOVING") {
        tx.delete(REGIONS, k.as_bytes())?;
    }
    Ok(())
}

/// Removes the instance's Regions (its deletion).
pub fn purge(tx: &mut dyn Tx, inst: &InstanceRec) -> Result<(), Failure> {
    for (k, _) in tx.scan_prefix(
        REGIONS,
        format!("{}/", inst.id).as_bytes(),
        false,
        usize::MAX,
    )? {
        tx.delete(REGIONS, &k)?;
    }
    Ok(())
}
