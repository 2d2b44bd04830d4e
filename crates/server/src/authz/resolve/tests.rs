//! The resource-ARN conformance table (`models/authorization/resource-arns.json`): every
//! case resolved through [`resolve`] against the table's fixture, compared with the ARNs
//! AWS's Service Authorization Reference gives. All mismatches are reported at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use super::*;
use crate::services::SERVICES;
use cairn_core::ResourcePolicy;
use serde_json::Value;
use std::collections::BTreeMap;

const TABLE: &str = include_str!("../../../../../models/authorization/resource-arns.json");

/// The fixture's stored facts.
struct Fixture {
    iam_account: String,
    /// (account, var, name) → path.
    paths: BTreeMap<(String, String, String), String>,
    /// id → (type, AWS-managed).
    policies: BTreeMap<String, (String, bool)>,
    /// id → (action, organization, owner account).
    handshakes: BTreeMap<String, (String, String, String)>,
    /// id → (type, direction).
    transfers: BTreeMap<String, (String, String)>,
    resource_policy: Option<String>,
    /// access key → user.
    access_keys: BTreeMap<String, String>,
    /// deletion task → role.
    deletion_tasks: BTreeMap<String, String>,
}

impl Fixture {
    fn from(table: &Value) -> Fixture {
        let f = &table["fixture"];
        let mut paths = BTreeMap::new();
        let account = f["iam"]["account"].as_str().unwrap().to_owned();
        for (list, var) in [
            ("users", "UserNameWithPath"),
            ("groups", "GroupNameWithPath"),
            ("roles", "RoleNameWithPath"),
        ] {
            for e in f["iam"][list].as_array().into_iter().flatten() {
                paths.insert(
                    (
                        account.clone(),
                        var.to_owned(),
                        e["name"].as_str().unwrap().to_owned(),
                    ),
                    e["path"].as_str().unwrap().to_owned(),
                );
            }
        }
        let mut policies = BTreeMap::new();
        for p in f["organizations"]["policies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            policies.insert(
                p["id"].as_str().unwrap().to_owned(),
                (
                    p["type"].as_str().unwrap().to_owned(),
                    p["aws_managed"].as_bool().unwrap_or(false),
                ),
            );
        }
        let o = &f["organizations"];
        let text = |v: &Value| v.as_str().unwrap().to_owned();
        let management = text(&o["management_account"]);
        let handshakes = o["handshakes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                (
                    text(&h["id"]),
                    (
                        text(&h["action"]),
                        text(&h["organization_id"]),
                        management.clone(),
                    ),
                )
            })
            .collect();
        let transfers = o["responsibility_transfers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (text(&t["id"]), (text(&t["type"]), text(&t["direction"]))))
            .collect();
        let resource_policy = o["resource_policies"]
            .as_array()
            .and_then(|l| l.first())
            .map(|p| text(&p["id"]));
        let i = &f["iam"];
        let access_keys = i["access_keys"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| (text(&k["id"]), text(&k["user"])))
            .collect();
        let deletion_tasks = i["service_linked_role_deletion_tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| (text(&t["id"]), text(&t["role"])))
            .collect();
        Fixture {
            iam_account: account,
            paths,
            policies,
            handshakes,
            transfers,
            resource_policy,
            access_keys,
            deletion_tasks,
        }
    }
}

impl Fixture {
    /// The fixture policy the input names (`PolicyId`, or a `ResourceId` that is one).
    fn named_policy(&self, input: &Value) -> Option<&(String, bool)> {
        ["PolicyId", "ResourceId"]
            .iter()
            .find_map(|m| input.get(*m).and_then(Value::as_str))
            .and_then(|id| self.policies.get(id))
    }
}

impl Lookup for Fixture {
    fn entity_path(
        &mut self,
        _service: &str,
        account: &str,
        var: &str,
        name: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .paths
            .get(&(account.to_owned(), var.to_owned(), name.to_owned()))
            .cloned())
    }

    fn stored_var(
        &mut self,
        service: &str,
        _caller: &str,
        var: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError> {
        if (service, var) == ("organizations", "PolicyType") {
            return Ok(self
                .named_policy(input)
                .map(|(t, _)| t.to_ascii_lowercase()));
        }
        let member = |m: &str| input.get(m).and_then(Value::as_str).map(str::to_owned);
        Ok(match (service, var) {
            ("organizations", "HandshakeType" | "OrganizationId" | "Account") => {
                let Some(id) = member("HandshakeId") else {
                    return Ok(None);
                };
                self.handshakes
                    .get(&id)
                    .map(|(action, org, owner)| match var {
                        "HandshakeType" => action.to_ascii_lowercase(),
                        "OrganizationId" => org.clone(),
                        _ => owner.clone(),
                    })
            }
            ("organizations", "TransferType" | "TransferDirection") => {
                let id = member("Id").or_else(|| member("ResourceId"));
                id.and_then(|id| self.transfers.get(&id))
                    .map(|(t, d)| if var == "TransferType" { t } else { d }.to_ascii_lowercase())
            }
            ("organizations", "ResourcePolicyId") => self.resource_policy.clone(),
            ("iam", "UserNameWithPath") => member("AccessKeyId")
                .and_then(|k| self.access_keys.get(&k).cloned())
                .and_then(|user| {
                    let path = self.paths.get(&(
                        self.iam_account.clone(),
                        String::from("UserNameWithPath"),
                        user.clone(),
                    ))?;
                    Some(format!("{path}{user}"))
                }),
            ("iam", "RoleNameWithPath") => member("DeletionTaskId")
                .and_then(|t| self.deletion_tasks.get(&t).cloned())
                .and_then(|role| {
                    let path = self.paths.get(&(
                        self.iam_account.clone(),
                        String::from("RoleNameWithPath"),
                        role.clone(),
                    ))?;
                    Some(format!("{path}{role}"))
                }),
            _ => None,
        })
    }

    fn names_aws_managed(
        &mut self,
        service: &str,
        _caller: &str,
        input: &Value,
    ) -> Result<bool, StoreError> {
        Ok(service == "organizations" && self.named_policy(input).is_some_and(|(_, aws)| *aws))
    }

    fn stored_condition_key(
        &mut self,
        _service: &str,
        _caller: &str,
        key: &str,
        input: &Value,
    ) -> Result<Option<String>, StoreError> {
        Ok((key == "organizations:PolicyType")
            .then(|| self.named_policy(input).map(|(t, _)| t.clone()))
            .flatten())
    }

    fn resource_policy(
        &mut self,
        _action: &str,
        _arn: &str,
    ) -> Result<Option<ResourcePolicy>, StoreError> {
        Ok(None)
    }

    fn rcp_levels(&mut self, _: &str) -> Result<Vec<Vec<Arc<Policy>>>, StoreError> {
        Ok(Vec::new())
    }
}

fn caller(table: &Value) -> Principal {
    let c = &table["fixture"]["caller"];
    Principal::IamUser {
        account_id: c["account"].as_str().unwrap().to_owned(),
        user_name: c["user_name"].as_str().unwrap().to_owned(),
        user_id: String::from("AIDAEXAMPLEADMIN0001"),
        path: c["path"].as_str().unwrap().to_owned(),
        access_key_id: String::from("AKIAEXAMPLEADMIN0001"),
        session: None,
    }
}

fn org(table: &Value) -> OrgContext {
    let o = &table["fixture"]["organizations"];
    OrgContext {
        org_id: o["organization_id"].as_str().unwrap().to_owned(),
        management_account_id: o["management_account"].as_str().unwrap().to_owned(),
        path: String::new(),
        scp_levels: Vec::new(),
        rcp_levels: Vec::new(),
    }
}

#[test]
fn every_case_of_the_conformance_table_resolves_to_awss_arns() {
    let table: Value = serde_json::from_str(TABLE).unwrap();
    let mut fixture = Fixture::from(&table);
    let principal = caller(&table);
    let org = org(&table);
    let default_region = table["fixture"]["default_region"].as_str().unwrap();
    let mut failures = Vec::new();
    let mut seen_ops = std::collections::BTreeSet::new();
    let mut pending = 0;
    let cases = table["cases"].as_array().unwrap();
    for case in cases {
        let service = case["service"].as_str().unwrap();
        let operation = case["operation"].as_str().unwrap();
        let label = format!("{service}.{operation} {}", case["input"]);
        let Some(service_index) = SERVICES
            .iter()
            .position(|(m, _)| m.module.replace('_', "-") == service)
        else {
            failures.push(format!("{label}: no such service"));
            continue;
        };
        let model = SERVICES[service_index].0;
        let Some(op_index) = model.operations.iter().position(|o| o.name == operation) else {
            failures.push(format!("{label}: no such operation"));
            continue;
        };
        seen_ops.insert((service_index, op_index));
        let op = Catalogue::get().op(service_index, op_index).unwrap();
        let action = op.action.as_deref().unwrap();
        let region = case["region"].as_str().unwrap_or(default_region);
        // As the pipeline does: the input read into Cairn's one partition, the ARNs resolved
        // there rendered back into the region's (`cairn_core::partition`).
        let partition = cairn_core::partition_of(region);
        let mut input = case["input"].clone();
        cairn_core::partition::to_canonical(&mut input, partition);
        let Resolved { checks, .. } = resolve(
            &mut fixture,
            Target {
                principal: &principal,
                region,
                org: Some(&org),
                service_index,
                op,
                action,
                input: &input,
            },
        )
        .unwrap();
        let mut got: Vec<(String, String)> = checks
            .into_iter()
            .map(|c| {
                let resource = cairn_core::partition::render_text(&c.resource, partition);
                (c.action, resource.into_owned())
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String)> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        want.sort();
        match (got == want, case["pending"].as_str()) {
            (true, None) => {}
            (false, None) => failures.push(format!(
                "{label} (region {region}):\n    want {want:?}\n    got  {got:?}"
            )),
            (false, Some(_)) => pending += 1,
            (true, Some(why)) => failures.push(format!(
                "{label}: resolves as AWS does now; remove its \"pending\" marker ({why})"
            )),
        }
    }
    // Every operation that names a resource has at least one case.
    for (i, (model, _)) in SERVICES.iter().enumerate() {
        for (j, o) in model.operations.iter().enumerate() {
            let Some(auth) = Catalogue::get().op(i, j) else {
                continue;
            };
            if !auth.resources.is_empty() && !seen_ops.contains(&(i, j)) {
                failures.push(format!("{}.{}: no case in the table", model.module, o.name));
            }
        }
    }
    eprintln!(
        "{} cases, {pending} pending (named in the table with the issue that closes them)",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from AWS:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn member_values_read_lists_of_scalars_whole() {
    let input = serde_json::json!({"Audience": ["a", "b"], "Tags": [{"Key": "k"}], "N": 5});
    assert_eq!(member_values(&input, "Audience"), ["a", "b"]);
    assert_eq!(member_values(&input, "Audience[]"), ["a", "b"]);
    assert_eq!(member_values(&input, "Tags[].Key"), ["k"]);
    assert_eq!(member_values(&input, "N"), ["5"]);
    assert!(member_values(&input, "Tags").is_empty());
}
