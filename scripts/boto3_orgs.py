"""The AWS Organizations tutorial flow, driven by boto3 exactly as a user would.

Usage: boto3_orgs.py ENDPOINT ROOT_CREDENTIALS_JSON SIGNUP_COMMAND...

Each step asserts AWS's response shapes. A step whose call fails is reported and the flow
goes on where it can, so the output says which steps pass.
"""
import datetime
import json
import re
import subprocess
import sys
import time

import boto3
import botocore.exceptions
from botocore.config import Config

endpoint, creds_path, signup_cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
creds = json.load(open(creds_path))
cfg = Config(retries={"max_attempts": 1})


def client(service, key=None, secret=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key or creds["AccessKeyId"],
        aws_secret_access_key=secret or creds["SecretAccessKey"],
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


ACCOUNT_ID = re.compile(r"^\d{12}$")
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
POLICY_ID = re.compile(r"^p-[0-9a-zA-Z_]{8,128}$")
HANDSHAKE_ID = re.compile(r"^h-[0-9a-z]{8,32}$")
CAR_ID = re.compile(r"^car-[a-z0-9]{8,32}$")

org = client("organizations")
mgmt = creds["AccountId"]
suffix = str(int(time.time() * 1000))[-8:]


# ------------------------------------------------------------------ the organization
def create_organization():
    o = org.create_organization(FeatureSet="ALL")["Organization"]
    state["org"] = o
    check("CreateOrganization Id", ORG_ID.match(o["Id"]), o)
    check("CreateOrganization Arn", o["Arn"] == f"arn:aws:organizations::{mgmt}:organization/{o['Id']}", o)
    check("CreateOrganization FeatureSet", o["FeatureSet"] == "ALL", o)
    check("CreateOrganization MasterAccount", o["MasterAccountId"] == mgmt
          and o["MasterAccountArn"] == f"arn:aws:organizations::{mgmt}:account/{o['Id']}/{mgmt}"
          and o["MasterAccountEmail"] == creds["Email"], o)
    roots = org.list_roots()["Roots"]
    check("ListRoots", len(roots) == 1 and ROOT_ID.match(roots[0]["Id"]) and roots[0]["Name"] == "Root"
          and roots[0]["Arn"] == f"arn:aws:organizations::{mgmt}:root/{o['Id']}/{roots[0]['Id']}", roots)
    state["root"] = roots[0]["Id"]


step("create organization", create_organization)


# ------------------------------------------------------------------ nested OUs
def create_ous():
    root = state["root"]
    oid = state["org"]["Id"]

    def make(parent, name):
        ou = org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]
        check(f"CreateOrganizationalUnit {name}", OU_ID.match(ou["Id"]) and ou["Name"] == name
              and ou["Arn"] == f"arn:aws:organizations::{mgmt}:ou/{oid}/{ou['Id']}", ou)
        return ou["Id"]

    state["workloads"] = make(root, "Workloads")
    state["prod"] = make(state["workloads"], "Prod")
    state["security"] = make(root, "Security")
    under = org.list_organizational_units_for_parent(ParentId=state["workloads"])["OrganizationalUnits"]
    check("ListOrganizationalUnitsForParent", [u["Id"] for u in under] == [state["prod"]], under)
    parents = org.list_parents(ChildId=state["prod"])["Parents"]
    check("ListParents of nested OU", parents == [{"Id": state["workloads"], "Type": "ORGANIZATIONAL_UNIT"}], parents)
    d = org.describe_organizational_unit(OrganizationalUnitId=state["prod"])["OrganizationalUnit"]
    check("DescribeOrganizationalUnit", d["Name"] == "Prod", d)
    check("CreateOrganizationalUnit duplicate name",
          error_code(lambda: org.create_organizational_unit(ParentId=root, Name="Security"))
          == "DuplicateOrganizationalUnitException")


step("nested OUs", create_ous)


# ------------------------------------------------------------------ created accounts
def create_accounts():
    created = []
    for i in (1, 2):
        email = f"created{i}-{suffix}@example.com"
        st = org.create_account(Email=email, AccountName=f"Created {i}")["CreateAccountStatus"]
        check(f"CreateAccount {i} status", CAR_ID.match(st["Id"]) and st["AccountName"] == f"Created {i}"
              and st["State"] in ("IN_PROGRESS", "SUCCEEDED") and "RequestedTimestamp" in st, st)
        deadline = time.time() + 60
        while st["State"] == "IN_PROGRESS" and time.time() < deadline:
            time.sleep(0.5)
            st = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
        check(f"CreateAccount {i} SUCCEEDED", st["State"] == "SUCCEEDED" and ACCOUNT_ID.match(st.get("AccountId", ""))
              and "CompletedTimestamp" in st, st)
        created.append(st["AccountId"])
        acct = org.describe_account(AccountId=st["AccountId"])["Account"]
        check(f"DescribeAccount created {i}", acct["Email"] == email and acct["JoinedMethod"] == "CREATED"
              and acct["Status"] == "ACTIVE" and acct["Arn"].endswith("/" + st["AccountId"]), acct)
    state["created"] = created


step("create two accounts", create_accounts)


# ------------------------------------------------------------------ an invited account
def invite_account():
    email = f"invited-{suffix}@example.com"
    out = subprocess.run(signup_cmd + ["--email", email, "--name", "Invited"], check=True,
                         capture_output=True, text=True)
    invited = json.loads(out.stdout)
    state["invited"] = invited["AccountId"]
    hs = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": invited["AccountId"]},
                                            Notes="Join us")["Handshake"]
    check("InviteAccountToOrganization", HANDSHAKE_ID.match(hs["Id"]) and hs["Action"] == "INVITE"
          and hs["State"] in ("OPEN", "REQUESTED") and "ExpirationTimestamp" in hs
          and {"Id": invited["AccountId"], "Type": "ACCOUNT"} in hs["Parties"], hs)
    guest = client("organizations", invited["AccessKeyId"], invited["SecretAccessKey"])
    mine = guest.list_handshakes_for_account()["Handshakes"]
    check("ListHandshakesForAccount (invitee)", [h["Id"] for h in mine] == [hs["Id"]], mine)
    acc = guest.accept_handshake(HandshakeId=hs["Id"])["Handshake"]
    check("AcceptHandshake", acc["State"] == "ACCEPTED" and acc["Id"] == hs["Id"], acc)
    joined = guest.describe_organization()["Organization"]
    check("DescribeOrganization (member)", joined["Id"] == state["org"]["Id"], joined)
    acct = org.describe_account(AccountId=invited["AccountId"])["Account"]
    check("DescribeAccount invited", acct["JoinedMethod"] == "INVITED" and acct["Email"] == email, acct)
    accounts = org.list_accounts()["Accounts"]
    check("ListAccounts", {a["Id"] for a in accounts} == {mgmt, invited["AccountId"], *state.get("created", [])}, accounts)


step("invite an account", invite_account)


# ------------------------------------------------------------------ move accounts
def move_accounts():
    root = state["root"]
    for a in state["created"]:
        org.move_account(AccountId=a, SourceParentId=root, DestinationParentId=state["prod"])
    org.move_account(AccountId=state["invited"], SourceParentId=root, DestinationParentId=state["security"])
    in_prod = org.list_accounts_for_parent(ParentId=state["prod"])["Accounts"]
    check("ListAccountsForParent Prod", sorted(a["Id"] for a in in_prod) == sorted(state["created"]), in_prod)
    parents = org.list_parents(ChildId=state["invited"])["Parents"]
    check("ListParents of invited", parents == [{"Id": state["security"], "Type": "ORGANIZATIONAL_UNIT"}], parents)
    children = org.list_children(ParentId=root, ChildType="ACCOUNT")["Children"]
    check("ListChildren root accounts", children == [{"Id": mgmt, "Type": "ACCOUNT"}], children)
    missing = "ou-" + root[2:] + "-zzzzzzzz"
    check("MoveAccount from a missing parent",
          error_code(lambda: org.move_account(AccountId=state["invited"], SourceParentId=missing,
                                              DestinationParentId=state["prod"])) == "SourceParentNotFoundException")


step("move accounts into OUs", move_accounts)


# ------------------------------------------------------------------ SCPs
SCP = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyLeaving", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]})


def scps():
    root = state["root"]
    r = org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")["Root"]
    check("EnablePolicyType", {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} in r["PolicyTypes"], r)
    p = org.create_policy(Content=SCP, Description="No leaving", Name="DenyLeave",
                          Type="SERVICE_CONTROL_POLICY")["Policy"]
    s = p["PolicySummary"]
    check("CreatePolicy", POLICY_ID.match(s["Id"]) and s["Name"] == "DenyLeave" and s["AwsManaged"] is False
          and s["Type"] == "SERVICE_CONTROL_POLICY"
          and s["Arn"] == f"arn:aws:organizations::{mgmt}:policy/{state['org']['Id']}/service_control_policy/{s['Id']}"
          and json.loads(p["Content"]) == json.loads(SCP), p)
    state["scp"] = s["Id"]
    org.attach_policy(PolicyId=s["Id"], TargetId=state["prod"])
    check("AttachPolicy twice", error_code(lambda: org.attach_policy(PolicyId=s["Id"], TargetId=state["prod"]))
          == "DuplicatePolicyAttachmentException")
    listed = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    names = {x["Name"] for x in listed}
    check("ListPolicies", {"FullAWSAccess", "DenyLeave"} <= names, listed)
    targets = org.list_targets_for_policy(PolicyId=s["Id"])["Targets"]
    check("ListTargetsForPolicy", len(targets) == 1 and targets[0]["TargetId"] == state["prod"]
          and targets[0]["Type"] == "ORGANIZATIONAL_UNIT" and targets[0]["Name"] == "Prod", targets)
    on_prod = org.list_policies_for_target(TargetId=state["prod"], Filter="SERVICE_CONTROL_POLICY")["Policies"]
    check("ListPoliciesForTarget", {x["Id"] for x in on_prod} == {"p-FullAWSAccess", s["Id"]}, on_prod)


step("service control policies", scps)


# ------------------------------------------------------------------ delegated administrator
def delegate():
    sp = "sso.amazonaws.com"
    member = (state.get("created") or [state.get("invited")])[0]
    check("RegisterDelegatedAdministrator before trusted access",
          error_code(lambda: org.register_delegated_administrator(AccountId=member, ServicePrincipal=sp))
          == "ConstraintViolationException")
    org.enable_aws_service_access(ServicePrincipal=sp)
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    check("ListAWSServiceAccessForOrganization", [e["ServicePrincipal"] for e in enabled] == [sp]
          and isinstance(enabled[0]["DateEnabled"], datetime.datetime), enabled)
    org.register_delegated_administrator(AccountId=member, ServicePrincipal=sp)
    check("RegisterDelegatedAdministrator twice",
          error_code(lambda: org.register_delegated_administrator(AccountId=member, ServicePrincipal=sp))
          == "AccountAlreadyRegisteredException")
    admins = org.list_delegated_administrators(ServicePrincipal=sp)["DelegatedAdministrators"]
    a = admins[0] if admins else {}
    check("ListDelegatedAdministrators", len(admins) == 1 and a["Id"] == member
          and a["Arn"] == f"arn:aws:organizations::{mgmt}:account/{state['org']['Id']}/{member}"
          and a["Status"] == "ACTIVE" and a["JoinedMethod"] in ("CREATED", "INVITED")
          and isinstance(a["JoinedTimestamp"], datetime.datetime)
          and isinstance(a["DelegationEnabledDate"], datetime.datetime) and "Email" in a and "Name" in a, admins)
    services = org.list_delegated_services_for_account(AccountId=member)["DelegatedServices"]
    check("ListDelegatedServicesForAccount", [s["ServicePrincipal"] for s in services] == [sp], services)


step("trusted access and delegated administrator", delegate)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
