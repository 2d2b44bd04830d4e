"""`cairn serve --dev --account-id 123456789012`, driven by boto3 the way a test suite written
for an emulator drives it: the well-known `test`/`test` credentials act as the account's root,
while the keys and sessions Cairn issues act as their owners."""
import json
import sys

import boto3
import botocore.exceptions
from botocore.config import Config

endpoint = sys.argv[1]
ACCOUNT = "123456789012"
cfg = Config(retries={"max_attempts": 1})


def client(service, key="test", secret="test", token=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=cfg,
    )


passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def error_code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


# Default credentials: the account's root.
me = client("sts").get_caller_identity()
check("default credentials are the root", me["Arn"] == f"arn:aws:iam::{ACCOUNT}:root", me)
check("the account is --account-id", me["Account"] == ACCOUNT, me)
other = client("sts", key="AKIAIOSFODNN7EXAMPLE", secret="anything").get_caller_identity()
check("any other unknown key is the root too", other["Arn"] == me["Arn"], other)

# An IAM user and its key: it signs as the user, not as the root.
iam = client("iam")
iam.create_user(UserName="alice")
key = iam.create_access_key(UserName="alice")["AccessKey"]
alice = client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
check("the user's key is the user", alice["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice", alice)
check("the user's UserId", alice["UserId"].startswith("AIDA"), alice)
alice_iam = client("iam", key["AccessKeyId"], key["SecretAccessKey"])
check(
    "the user has only the user's permissions",
    error_code(alice_iam.list_users) == "AccessDenied",
)
check(
    "an issued key with a wrong secret is refused",
    error_code(client("sts", key["AccessKeyId"], "wrong-secret").get_caller_identity)
    == "SignatureDoesNotMatch",
)

# A role, assumed with the default credentials.
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}
role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
check("CreateRole ARN", role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/deployer", role)
iam.attach_role_policy(RoleName="deployer", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
creds = client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ci")["Credentials"]
check("AssumeRole issues session credentials", creds["AccessKeyId"].startswith("ASIA"), creds)
session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
who = client("sts", *session).get_caller_identity()
check(
    "the session is the role",
    who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci",
    who,
)
users = client("iam", *session).list_users()["Users"]
check("the session has the role's permissions", [u["UserName"] for u in users] == ["alice"], users)
check(
    "a role whose trust policy does not allow the caller is refused",
    error_code(
        lambda: client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
            RoleArn=role["Arn"], RoleSessionName="alice"
        )
    )
    == "AccessDenied",
)

# Organizations: the default credentials manage the account's organization.
org = client("organizations").create_organization(FeatureSet="ALL")["Organization"]
check("CreateOrganization's management account", org["MasterAccountId"] == ACCOUNT, org)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
