"""What the portal flows (boto3_sso_login.py, boto3_browser.py) share: the administrator's
set-up with boto3 and the checks' bookkeeping.

The set-up: an organization with a member account ("Workload"), Identity Center, the user
mary.major with an email (her invitation lands in the outbox), a ReadOnly permission set
(ReadOnlyAccess, one hour) assigned to her in the member account, and an SCP on the member
account denying iam:ListRoles.
"""
import json
import time

import boto3
from botocore.config import Config

cfg = Config(retries={"max_attempts": 1})
USER = "mary.major"
PASSWORD = "Corr3ct-Horse!"


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")
        return cond

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def wait(what, fn, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = fn()
        if out is not None:
            return out
        time.sleep(0.1)
    raise TimeoutError(what)


def setup(endpoint, creds):
    """Runs the administrator's part; answers (member account, identity store ID, user ID)."""
    def client(service):
        return boto3.client(
            service, endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"], config=cfg)

    org, sso_admin, ids = client("organizations"), client("sso-admin"), client("identitystore")
    org.create_organization(FeatureSet="ALL")
    rid = org.create_account(AccountName="Workload",
                             Email="workload@example.com")["CreateAccountStatus"]["Id"]

    def created():
        s = org.describe_create_account_status(CreateAccountRequestId=rid)["CreateAccountStatus"]
        return s if s["State"] != "IN_PROGRESS" else None

    member = wait("CreateAccount", created)["AccountId"]
    org.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    inst = wait("an ACTIVE instance", lambda: next(
        (i for i in sso_admin.list_instances()["Instances"] if i["Status"] == "ACTIVE"), None))
    store, inst_arn = inst["IdentityStoreId"], inst["InstanceArn"]
    uid = ids.create_user(
        IdentityStoreId=store, UserName=USER, DisplayName="Mary Major",
        Name={"GivenName": "Mary", "FamilyName": "Major"},
        Emails=[{"Value": f"{USER}@example.com", "Type": "work", "Primary": True}],
    )["UserId"]
    ps = sso_admin.create_permission_set(
        InstanceArn=inst_arn, Name="ReadOnly", SessionDuration="PT1H",
    )["PermissionSet"]["PermissionSetArn"]
    sso_admin.attach_managed_policy_to_permission_set(
        InstanceArn=inst_arn, PermissionSetArn=ps,
        ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    req = sso_admin.create_account_assignment(
        InstanceArn=inst_arn, PermissionSetArn=ps, TargetId=member, TargetType="AWS_ACCOUNT",
        PrincipalType="USER", PrincipalId=uid,
    )["AccountAssignmentCreationStatus"]["RequestId"]

    def assigned():
        s = sso_admin.describe_account_assignment_creation_status(
            InstanceArn=inst_arn, AccountAssignmentCreationRequestId=req,
        )["AccountAssignmentCreationStatus"]
        return s if s["Status"] != "IN_PROGRESS" else None

    wait("the assignment", assigned)
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    scp = org.create_policy(
        Name="NoListRoles", Type="SERVICE_CONTROL_POLICY", Description="deny iam:ListRoles",
        Content=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]}),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=member)
    return member, store, uid
