#!/usr/bin/env python3
"""Extract the AWS-managed policies Cairn serves from the `moto` wheel (PyPI).

  python3 scripts/extract-managed-policies.py [moto-wheel-or-aws_managed_policies.py]

Without an argument, downloads the newest `moto` wheel with pip (no dependencies) into a
temporary directory. moto ships AWS's managed policies (default version only) in
`moto/iam/aws_managed_policies.py` as one JSON string; this keeps the few Cairn serves and
writes crates/iam/data/aws-managed-policies.json (1-space indent, sorted by ARN):

  {"source": "moto <version>", "policies": [{"Arn", "PolicyName", "Path",
   "DefaultVersionId", "CreateDate", "UpdateDate", "Document" (compact JSON text)}]}
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

# (path, name): the policies Cairn serves. The first eleven are the policies of IAM Identity
# Center's predefined permission sets (IAM Identity Center User Guide, "Predefined permission
# sets"); AWSSSOServiceRolePolicy is what its service-linked role carries.
WANTED = [
    ("/", "AdministratorAccess"),
    ("/", "PowerUserAccess"),
    ("/", "ReadOnlyAccess"),
    ("/", "SecurityAudit"),
    ("/job-function/", "ViewOnlyAccess"),
    ("/job-function/", "Billing"),
    ("/job-function/", "DatabaseAdministrator"),
    ("/job-function/", "DataScientist"),
    ("/job-function/", "NetworkAdministrator"),
    ("/job-function/", "SupportUser"),
    ("/job-function/", "SystemAdministrator"),
    ("/aws-service-role/", "AWSSSOServiceRolePolicy"),
    # The task policies of `sts:AssumeRoot` (IAM User Guide, "Perform a privileged task on an
    # AWS Organizations member account"): not attachable, only a root session's task policy.
    ("/root-task/", "IAMAuditRootUserCredentials"),
    ("/root-task/", "IAMCreateRootUserPassword"),
    ("/root-task/", "IAMDeleteRootUserCredentials"),
    ("/root-task/", "S3UnlockBucketPolicy"),
    ("/root-task/", "SQSUnlockQueuePolicy"),
]
MEMBER = "moto/iam/aws_managed_policies.py"


def read_source(arg):
    """(python source of aws_managed_policies.py, moto version)."""
    if arg and arg.endswith(".py"):
        # An installed moto: its version from the `moto-<version>.dist-info` beside it.
        site = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(arg))))
        infos = glob.glob(os.path.join(site, "moto-*.dist-info"))
        version = os.path.basename(infos[0])[len("moto-"):-len(".dist-info")] if infos else "unknown"
        with open(arg, encoding="utf-8") as f:
            return f.read(), version
    if arg:
        wheel = arg
    else:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", tmp, "moto"], check=True)
        wheel = glob.glob(os.path.join(tmp, "moto-*.whl"))[0]
    version = os.path.basename(wheel).split("-")[1]
    with zipfile.ZipFile(wheel) as z:
        return z.read(MEMBER).decode("utf-8"), version


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else None
    src, version = read_source(arg)
    m = re.search(r'aws_managed_policies_data\s*=\s*"""(.*?)"""', src, re.S)
    if not m:
        sys.exit(f"no aws_managed_policies_data in {MEMBER}")
    data = json.loads(m.group(1))
    out = []
    for path, name in WANTED:
        p = data.get(name)
        if p is None:
            sys.exit(f"{name} is missing from moto {version}")
        if p.get("Path") != path:
            sys.exit(f"{name}: path {p.get('Path')!r}, expected {path!r}")
        out.append({
            "Arn": f"arn:aws:iam::aws:policy{path}{name}",
            "PolicyName": name,
            "Path": path,
            "DefaultVersionId": p["DefaultVersionId"],
            "CreateDate": p["CreateDate"],
            "UpdateDate": p["UpdateDate"],
            "Document": json.dumps(p["Document"], separators=(",", ":"), sort_keys=False),
        })
    out.sort(key=lambda p: p["Arn"])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dest = os.path.join(root, "crates", "iam", "data", "aws-managed-policies.json")
    with open(dest, "w", encoding="utf-8") as f:
        json.dump({"source": f"moto {version}", "policies": out}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(out)} policies from moto {version} to {dest}")


if __name__ == "__main__":
    main()
