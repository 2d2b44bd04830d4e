//! Service-linked roles: roles an AWS service defines, named and placed as the service
//! documents (`AWSServiceRoleFor…` under `/aws-service-role/<service principal>/`), trusted
//! by that service only, and protected from the IAM API except for their description
//! ([`crate::reserved::is_protected_path`]).
//!
//! Deletion is a task (`DeleteServiceLinkedRole` answers its ID, `GetServiceLinkedRole
//! DeletionStatus` its state, as AWS). Cairn deletes at once, so the task it answers has
//! already `SUCCEEDED`.
//!
//! | space         | key                    | value          |
//! |---------------|------------------------|----------------|
//! | `iam.slrtask` | `<account>/<task id>`  | [`DeletionTask`] |

use crate::common::{Ctx, fail};
use crate::records::{self, FORMAT};
use crate::reserved::{SERVICE_ROLE_PATH, delete_reserved_role};
use crate::roles::{NewRole, create_role_tx, role_api};
use cairn_api::iam::{Error, types};
use cairn_core::Failure;
use cairn_store::Tx;
use serde::{Deserialize, Serialize};

const TASKS: &str = "iam.slrtask";

/// A service that defines a service-linked role: its principal, the role's name, whether a
/// `CustomSuffix` is allowed, and its AWS managed permissions policy (attached when Cairn
/// carries that document). Names and policies as each service's user guide documents them
/// ("Using service-linked roles for …"; the IAM User Guide's "AWS services that work with
/// IAM" lists which services have one).
struct LinkedService {
    principal: &'static str,
    role: &'static str,
    suffix: bool,
    policy: &'static str,
}

const fn svc(
    principal: &'static str,
    role: &'static str,
    suffix: bool,
    policy: &'static str,
) -> LinkedService {
    LinkedService {
        principal,
        role,
        suffix,
        policy,
    }
}

const SERVICES: &[LinkedService] = &[
    svc(
        "access-analyzer.amazonaws.com",
        "AWSServiceRoleForAccessAnalyzer",
        false,
        "AccessAnalyzerServiceRolePolicy",
    ),
    svc(
        "autoscaling.amazonaws.com",
        "AWSServiceRoleForAutoScaling",
        true,
        "AutoScalingServiceRolePolicy",
    ),
    svc(
        "cloudtrail.amazonaws.com",
        "AWSServiceRoleForCloudTrail",
        false,
        "CloudTrailServiceRolePolicy",
    ),
    svc(
        "config.amazonaws.com",
        "AWSServiceRoleForConfig",
        false,
        "AWSConfigServiceRolePolicy",
    ),
    svc(
        "controltower.amazonaws.com",
        "AWSServiceRoleForAWSControlTower",
        false,
        "AWSControlTowerServiceRolePolicy",
    ),
    svc(
        "ecs.amazonaws.com",
        "AWSServiceRoleForECS",
        false,
        "AmazonECSServiceRolePolicy",
    ),
    svc(
        "eks.amazonaws.com",
        "AWSServiceRoleForAmazonEKS",
        false,
        "AmazonEKSServiceRolePolicy",
    ),
    svc(
        "elasticbeanstalk.amazonaws.com",
        "AWSServiceRoleForElasticBeanstalk",
        true,
        "AWSElasticBeanstalkServiceRolePolicy",
    ),
    svc(
        "elasticloadbalancing.amazonaws.com",
        "AWSServiceRoleForElasticLoadBalancing",
        false,
        "AWSElasticLoadBalancingServiceRolePolicy",
    ),
    svc(
        "guardduty.amazonaws.com",
        "AWSServiceRoleForAmazonGuardDuty",
        false,
        "AmazonGuardDutyServiceRolePolicy",
    ),
    svc(
        "inspector2.amazonaws.com",
        "AWSServiceRoleForAmazonInspector2",
        false,
        "AmazonInspector2ServiceRolePolicy",
    ),
    svc(
        "macie.amazonaws.com",
        "AWSServiceRoleForAmazonMacie",
        false,
        "AmazonMacieServiceRolePolicy",
    ),
    svc(
        "member.org.stacksets.cloudformation.amazonaws.com",
        "AWSServiceRoleForCloudFormationStackSetsOrgMember",
        false,
        "CloudFormationStackSetsOrgMemberServiceRolePolicy",
    ),
    svc(
        "organizations.amazonaws.com",
        "AWSServiceRoleForOrganizations",
        false,
        "AWSOrganizationsServiceTrustPolicy",
    ),
    svc(
        "rds.amazonaws.com",
        "AWSServiceRoleForRDS",
        false,
        "AmazonRDSServiceRolePolicy",
    ),
    svc(
        "securityhub.amazonaws.com",
        "AWSServiceRoleForSecurityHub",
        false,
        "AWSSecurityHubServiceRolePolicy",
    ),
    svc(
        "spot.amazonaws.com",
        "AWSServiceRoleForEC2Spot",
        false,
        "AWSEC2SpotServiceRolePolicy",
    ),
    svc(
        "ssm.amazonaws.com",
        "AWSServiceRoleForAmazonSSM",
        false,
        "AmazonSSMServiceRolePolicy",
    ),
    svc(
        "sso.amazonaws.com",
        "AWSServiceRoleForSSO",
        false,
        "AWSSSOServiceRolePolicy",
    ),
    svc(
        "stacksets.cloudformation.amazonaws.com",
        "AWSServiceRoleForCloudFormationStackSetsOrgAdmin",
        false,
        "CloudFormationStackSetsOrgAdminServiceRolePolicy",
    ),
    svc(
        "support.amazonaws.com",
        "AWSServiceRoleForSupport",
        false,
        "AWSSupportServiceRolePolicy",
    ),
    svc(
        "trustedadvisor.amazonaws.com",
        "AWSServiceRoleForTrustedAdvisor",
        false,
        "AWSTrustedAdvisorServiceRolePolicy",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeletionTask {
    pub v: u32,
    /// `SUCCEEDED` (Cairn deletes at once).
    pub status: String,
}

pub(crate) fn create_service_linked_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::CreateServiceLinkedRoleRequest,
) -> Result<types::CreateServiceLinkedRoleResponse, Failure> {
    let principal = input.aws_service_name.as_str();
    let Some(service) = SERVICES.iter().find(|s| s.principal == principal) else {
        // [M]: the text.
        return Err(fail(
            Error::InvalidInputException,
            format!("Invalid service name: {principal}"),
        ));
    };
    let name = match input.custom_suffix.as_deref() {
        None => service.role.to_owned(),
        Some(suffix) if service.suffix => format!("{}_{suffix}", service.role),
        Some(_) => {
            // [M]: the text.
            return Err(fail(
                Error::InvalidInputException,
                format!("Custom suffix is not allowed for {principal}"),
            ));
        }
    };
    if records::role(tx, &c.account, &name)?.is_some() {
        // AWS's text (seen in its answers to a second CreateServiceLinkedRole).
        return Err(fail(
            Error::InvalidInputException,
            format!(
                "Service role name {name} has been taken in this account, please try a different suffix."
            ),
        ));
    }
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":["{principal}"]}},"Action":["sts:AssumeRole"]}}]}}"#
    );
    let path = format!("{SERVICE_ROLE_PATH}{principal}/");
    let policy = format!(
        "arn:aws:iam::aws:policy/aws-service-role/{}",
        service.policy
    );
    let attach: Vec<&str> = if crate::managed::by_arn(&policy).is_some() {
        vec![policy.as_str()]
    } else {
        Vec::new()
    };
    let rec = create_role_tx(
        tx,
        c.ids.as_ref(),
        c.now_ms,
        &c.account,
        &NewRole {
            name: &name,
            path: &path,
            trust: &trust,
            description: input.description.as_deref(),
            max_session_s: 3600,
            boundary: None,
            tags: &[],
            attach: &attach,
        },
    )?;
    Ok(types::CreateServiceLinkedRoleResponse {
        role: Some(role_api(&c.account, &rec, true)),
    })
}

pub(crate) fn delete_service_linked_role(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::DeleteServiceLinkedRoleRequest,
) -> Result<types::DeleteServiceLinkedRoleResponse, Failure> {
    let role = records::role(tx, &c.account, &input.role_name)?.ok_or_else(|| {
        crate::common::no_such(crate::records::EntityKind::Role, &input.role_name)
    })?;
    let Some(service) = role.path.strip_prefix(SERVICE_ROLE_PATH) else {
        // [M]: the text.
        return Err(fail(
            Error::InvalidInputException,
            format!("Role {} is not a service-linked role.", role.name),
        ));
    };
    delete_reserved_role(tx, &c.account, &role.name)?;
    // `task/aws-service-role/<service>/<role name>/<uuid>` (API reference, example).
    let task = format!(
        "task/aws-service-role/{}{}/{}",
        service,
        role.name,
        c.ids.uuid()
    );
    records::save(
        tx,
        TASKS,
        &format!("{}/{task}", c.account),
        &DeletionTask {
            v: FORMAT,
            status: "SUCCEEDED".to_owned(),
        },
    )?;
    Ok(types::DeleteServiceLinkedRoleResponse {
        deletion_task_id: task,
    })
}

pub(crate) fn get_service_linked_role_deletion_status(
    tx: &mut dyn Tx,
    c: &Ctx,
    input: &types::GetServiceLinkedRoleDeletionStatusRequest,
) -> Result<types::GetServiceLinkedRoleDeletionStatusResponse, Failure> {
    let task: DeletionTask = records::load(
        tx,
        TASKS,
        &format!("{}/{}", c.account, input.deletion_task_id),
    )?
    .ok_or_else(|| {
        // [M]: the text.
        fail(
            Error::NoSuchEntityException,
            format!("Deletion task {} cannot be found.", input.deletion_task_id),
        )
    })?;
    Ok(types::GetServiceLinkedRoleDeletionStatusResponse {
        status: match task.status.as_str() {
            "SUCCEEDED" => types::DeletionTaskStatusType::Succeeded,
            "FAILED" => types::DeletionTaskStatusType::Failed,
            "IN_PROGRESS" => types::DeletionTaskStatusType::InProgress,
            _ => types::DeletionTaskStatusType::NotStarted,
        },
        reason: None,
    })
}
