"""The foundation slice, driven by boto3 exactly as a user would."""
import json
import sys
import time

import boto3
import botocore.exceptions
from botocore.config import Config

endpoint, creds_path = sys.argv[1], sys.argv[2]
creds = json.load(open(creds_path))
cfg = Config(retries={"max_attempts": 1})


def client(service, secret=None, key=None):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key or creds["AccessKeyId"],
        aws_secret_access_key=secret or creds["SecretAccessKey"],
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


sts = client("sts")
org = client("organizations")
trail = client("cloudtrail")
acct = creds["AccountId"]

ident = sts.get_caller_identity()
check("GetCallerIdentity account", ident["Account"] == acct, ident)
check("GetCallerIdentity arn", ident["Arn"] == f"arn:aws:iam::{acct}:root", ident)

check("DescribeOrganization before create", error_code(org.describe_organization) == "AWSOrganizationsNotInUseException")
created = org.create_organization(FeatureSet="ALL")["Organization"]
check("CreateOrganization id", created["Id"].startswith("o-") and len(created["Id"]) == 12, created)
check("CreateOrganization management", created["MasterAccountId"] == acct, created)
check("CreateOrganization again", error_code(lambda: org.create_organization(FeatureSet="ALL")) == "AlreadyInOrganizationException")
described = org.describe_organization()["Organization"]
check("DescribeOrganization", described["Id"] == created["Id"] and described["Arn"] == created["Arn"], described)
roots = org.list_roots()["Roots"]
check("ListRoots", len(roots) == 1 and roots[0]["Id"].startswith("r-") and roots[0]["Name"] == "Root", roots)
check("ListRoots bad token", error_code(lambda: org.list_roots(NextToken="forged")) == "InvalidInputException")
org.delete_organization()
check("DeleteOrganization", error_code(org.describe_organization) == "AWSOrganizationsNotInUseException")

bad = client("organizations", secret="x" * 40)
check("wrong secret (json)", error_code(bad.describe_organization) == "InvalidSignatureException")
check("wrong secret (query)", error_code(client("sts", secret="x" * 40).get_caller_identity) == "SignatureDoesNotMatch")
check("unknown key (json)", error_code(client("organizations", key="AKIAUNKNOWNUNKNOWN00").describe_organization) == "UnrecognizedClientException")
check("unknown key (query)", error_code(client("sts", key="AKIAUNKNOWNUNKNOWN00").get_caller_identity) == "InvalidClientTokenId")

# Read-only records are group-committed in short batches: give the batch a moment.
time.sleep(0.5)
events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateOrganization"}])["Events"]
check("LookupEvents CreateOrganization", len(events) == 2, [e["EventName"] for e in events])
records = [json.loads(e["CloudTrailEvent"]) for e in events]
ok = [r for r in records if "errorCode" not in r]
failed_rec = [r for r in records if r.get("errorCode") == "AlreadyInOrganizationException"]
check("record of success", len(ok) == 1 and ok[0]["userIdentity"]["type"] == "Root" and ok[0]["responseElements"] is not None, records)
check("record of failure", len(failed_rec) == 1, records)
check("newest first", events[0]["EventTime"] >= events[1]["EventTime"])
page = trail.lookup_events(MaxResults=2)
check("LookupEvents pagination", len(page["Events"]) == 2 and "NextToken" in page, page.keys())
nxt = trail.lookup_events(MaxResults=2, NextToken=page["NextToken"])
check("LookupEvents next page", len(nxt["Events"]) >= 1 and nxt["Events"][0]["EventId"] not in {e["EventId"] for e in page["Events"]})
check(
    "LookupEvents two attributes",
    error_code(lambda: trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "a"},
        {"AttributeKey": "EventName", "AttributeValue": "b"}])) == "InvalidLookupAttributesException",
)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
