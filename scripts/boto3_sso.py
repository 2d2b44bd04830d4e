"""The IAM Identity Center tutorial flow, driven by boto3 exactly as a user would.

Usage: boto3_sso.py ENDPOINT ROOT_CREDENTIALS_JSON [SIGNUP_COMMAND...]

The steps of the user guide's "Getting started" tutorial: enable IAM Identity Center (in
Cairn: trusted access for sso.amazonaws.com, as the console's Enable button does), confirm
the identity source, create users and a group, create a permission set with ReadOnlyAccess,
assign the group to two member accounts, wait for provisioning. Then what a user would check:
the roles in the member accounts (through OrganizationAccountAccessRole), and clean-up.

Each step asserts AWS's response shapes. A step whose call fails is reported and the flow
goes on where it can, so the output says which steps pass.
"""
import datetime
import json
import re
import sys
import time

import boto3
import botocore.exceptions
from botocore.config import Config

endpoint, creds_path = sys.argv[1], sys.argv[2]
creds = json.load(open(creds_path))
cfg = Config(retries={"max_attempts": 1})


def client(service, key=None, secret=None, token=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key or creds["AccessKeyId"],
        aws_secret_access_key=secret or creds["SecretAccessKey"],
        aws_session_token=token,
        config=cfg,
    )


passed = failed = 0
state = {}


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")
    return cond


def step(name, fn):
    """Runs one step; a call that raises fails the step (and is shown), the flow goes on."""
    global failed
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        failed += 1
        err = e.response.get("Error", {})
        print(f"FAIL {name}: {err.get('Code')}: {err.get('Message')}")
    except Exception as e:  # a missing value from an earlier failed step, a shape error
        failed += 1
        print(f"FAIL {name}: {type(e).__name__}: {e}")


def error_code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


def wait(what, fn, timeout=30):
    """Polls fn() until it answers something other than None."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = fn()
        if out is not None:
            return out
        time.sleep(0.1)
    raise TimeoutError(what)


INSTANCE_ARN = re.compile(r"^arn:aws:sso:::instance/ssoins-[0-9a-f]{16}$")
STORE_ID = re.compile(r"^d-[0-9a-f]{10}$")
PS_ARN = re.compile(r"^arn:aws:sso:::permissionSet/ssoins-[0-9a-f]{16}/ps-[0-9a-f]{16}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ROLE_NAME = re.compile(r"^AWSReservedSSO_ReadOnly_[0-9a-f]{16}$")
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"

org = client("organizations")
iam = client("iam")
sso = client("sso-admin")
ids = client("identitystore")
mgmt = creds["AccountId"]


# ------------------------------------------------------------------ prerequisites
def organization():
    org.create_organization(FeatureSet="ALL")
    members = []
    for n in (1, 2):
        car = org.create_account(AccountName=f"Workload {n}", Email=f"workload{n}@example.com")
        rid = car["CreateAccountStatus"]["Id"]

        def done(rid=rid):
            s = org.describe_create_account_status(CreateAccountRequestId=rid)["CreateAccountStatus"]
            return s if s["State"] != "IN_PROGRESS" else None

        s = wait("CreateAccount", done)
        check(f"CreateAccount Workload {n}", s["State"] == "SUCCEEDED", s)
        members.append(s["AccountId"])
    state["members"] = members
    # An administrator in the management account (root users cannot assume roles).
    iam.create_user(UserName="platform-admin")
    iam.attach_user_policy(UserName="platform-admin",
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="platform-admin")["AccessKey"]
    state["admin_key"] = (key["AccessKeyId"], key["SecretAccessKey"])


step("an organization with two member accounts", organization)


# ------------------------------------------------------------------ step 1: enable
def enable():
    org.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")

    def active():
        inst = sso.list_instances()["Instances"]
        return inst[0] if inst and inst[0]["Status"] == "ACTIVE" else None

    inst = wait("an ACTIVE instance", active)
    check("ListInstances InstanceArn", INSTANCE_ARN.match(inst["InstanceArn"]), inst)
    check("ListInstances IdentityStoreId", STORE_ID.match(inst["IdentityStoreId"]), inst)
    check("ListInstances OwnerAccountId", inst["OwnerAccountId"] == mgmt, inst)
    d = sso.describe_instance(InstanceArn=inst["InstanceArn"])
    check("DescribeInstance", d["Status"] == "ACTIVE"
          and isinstance(d["CreatedDate"], datetime.datetime)
          and d["IdentityStoreId"] == inst["IdentityStoreId"], d)
    state["inst"] = inst["InstanceArn"]
    state["store"] = inst["IdentityStoreId"]
    slr = iam.get_role(RoleName="AWSServiceRoleForSSO")["Role"]
    check("the service-linked role", slr["Path"] == "/aws-service-role/sso.amazonaws.com/", slr)


step("enable IAM Identity Center", enable)


# ------------------------------------------------------------------ step 2: identity source
def identity_source():
    # The built-in directory is the identity source: its users list (empty) answers.
    users = ids.list_users(IdentityStoreId=state["store"])["Users"]
    check("ListUsers on a new directory", users == [], users)


step("confirm the identity source", identity_source)


# ------------------------------------------------------------------ step 3: users and a group
def people():
    store = state["store"]
    made = []
    for given, family in (("Mary", "Major"), ("John", "Stiles")):
        name = f"{given.lower()}.{family.lower()}"
        uid = ids.create_user(
            IdentityStoreId=store, UserName=name, DisplayName=f"{given} {family}",
            Name={"GivenName": given, "FamilyName": family},
            Emails=[{"Value": f"{name}@example.com", "Type": "work", "Primary": True}],
        )["UserId"]
        made.append(uid)
    found = ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={
        "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "mary.major"}})
    check("GetUserId by userName", found["UserId"] == made[0], found)
    gid = ids.create_group(IdentityStoreId=store, DisplayName="Auditors",
                           Description="Read-only access to the workloads")["GroupId"]
    for uid in made:
        ids.create_group_membership(IdentityStoreId=store, GroupId=gid, MemberId={"UserId": uid})
    members = ids.list_group_memberships(IdentityStoreId=store, GroupId=gid)["GroupMemberships"]
    check("ListGroupMemberships", sorted(m["MemberId"]["UserId"] for m in members) == sorted(made), members)
    is_member = ids.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": made[1]},
                                        GroupIds=[gid])["Results"]
    check("IsMemberInGroups", is_member and is_member[0]["MembershipExists"] is True, is_member)
    state["users"], state["group"] = made, gid


step("create users and a group", people)


# ------------------------------------------------------------------ step 4: a permission set
def permission_set():
    inst = state["inst"]
    ps = sso.create_permission_set(InstanceArn=inst, Name="ReadOnly",
                                   Description="Read-only access", SessionDuration="PT2H")["PermissionSet"]
    check("CreatePermissionSet", PS_ARN.match(ps["PermissionSetArn"]) and ps["Name"] == "ReadOnly"
          and ps["SessionDuration"] == "PT2H" and isinstance(ps["CreatedDate"], datetime.datetime), ps)
    arn = ps["PermissionSetArn"]
    sso.attach_managed_policy_to_permission_set(InstanceArn=inst, PermissionSetArn=arn,
                                                ManagedPolicyArn=READ_ONLY)
    listed = sso.list_managed_policies_in_permission_set(InstanceArn=inst, PermissionSetArn=arn)
    check("ListManagedPoliciesInPermissionSet", listed["AttachedManagedPolicies"]
          == [{"Name": "ReadOnlyAccess", "Arn": READ_ONLY}], listed)
    check("CreatePermissionSet with the same name",
          error_code(lambda: sso.create_permission_set(InstanceArn=inst, Name="ReadOnly"))
          == "ConflictException")
    state["ps"] = arn


step("create a permission set with ReadOnlyAccess", permission_set)


# ------------------------------------------------------------------ step 5: assign, provision
def assign():
    inst, ps, gid = state["inst"], state["ps"], state["group"]
    requests = []
    for account in state["members"]:
        st = sso.create_account_assignment(
            InstanceArn=inst, TargetId=account, TargetType="AWS_ACCOUNT", PermissionSetArn=ps,
            PrincipalType="GROUP", PrincipalId=gid)["AccountAssignmentCreationStatus"]
        check("CreateAccountAssignment IN_PROGRESS", st["Status"] == "IN_PROGRESS"
              and UUID.match(st["RequestId"]) and st["TargetId"] == account, st)
        requests.append(st["RequestId"])
    for rid in requests:
        def done(rid=rid):
            s = sso.describe_account_assignment_creation_status(
                InstanceArn=inst, AccountAssignmentCreationRequestId=rid)["AccountAssignmentCreationStatus"]
            return s if s["Status"] != "IN_PROGRESS" else None

        s = wait("assignment", done)
        check("DescribeAccountAssignmentCreationStatus SUCCEEDED", s["Status"] == "SUCCEEDED", s)
    accounts = sso.list_accounts_for_provisioned_permission_set(InstanceArn=inst, PermissionSetArn=ps)
    check("ListAccountsForProvisionedPermissionSet",
          sorted(accounts["AccountIds"]) == sorted(state["members"]), accounts)
    mine = sso.list_account_assignments_for_principal(InstanceArn=inst, PrincipalId=gid,
                                                      PrincipalType="GROUP")["AccountAssignments"]
    check("ListAccountAssignmentsForPrincipal", len(mine) == 2, mine)
    statuses = sso.list_account_assignment_creation_status(
        InstanceArn=inst, Filter={"Status": "SUCCEEDED"})["AccountAssignmentsCreationStatus"]
    check("ListAccountAssignmentCreationStatus", len(statuses) == 2, statuses)


step("assign the group to two accounts", assign)


# ------------------------------------------------------------------ the roles in the accounts
def roles():
    key, secret = state["admin_key"]
    sts = client("sts", key, secret)
    for account in state["members"]:
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                            RoleSessionName="check")["Credentials"]
        member_iam = client("iam", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        found = member_iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]
        check(f"the role in {account}", len(found) == 1 and ROLE_NAME.match(found[0]["RoleName"]), found)
        if not found:
            continue
        name = found[0]["RoleName"]
        policies = member_iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        check("its policies", [p["PolicyArn"] for p in policies] == [READ_ONLY], policies)
        check("DeleteRole refused", error_code(lambda: member_iam.delete_role(RoleName=name))
              == "UnmodifiableEntity")


step("the provisioned roles", roles)


# ------------------------------------------------------------------ clean-up
def clean_up():
    inst, ps, gid = state["inst"], state["ps"], state["group"]
    for account in state["members"]:
        st = sso.delete_account_assignment(
            InstanceArn=inst, TargetId=account, TargetType="AWS_ACCOUNT", PermissionSetArn=ps,
            PrincipalType="GROUP", PrincipalId=gid)["AccountAssignmentDeletionStatus"]

        def done(rid=st["RequestId"]):
            s = sso.describe_account_assignment_deletion_status(
                InstanceArn=inst, AccountAssignmentDeletionRequestId=rid)["AccountAssignmentDeletionStatus"]
            return s if s["Status"] != "IN_PROGRESS" else None

        check("DeleteAccountAssignment SUCCEEDED", wait("deletion", done)["Status"] == "SUCCEEDED")
    sso.delete_permission_set(InstanceArn=inst, PermissionSetArn=ps)
    left = sso.list_permission_sets(InstanceArn=inst)["PermissionSets"]
    check("DeletePermissionSet", left == [], left)


step("clean up", clean_up)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
