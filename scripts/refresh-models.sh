#!/usr/bin/env bash
# Refresh the vendored AWS service models in models/ from a pinned botocore wheel (PyPI).
# Documentation text is stripped; everything else is kept as botocore ships it.
# Usage: scripts/refresh-models.sh [BOTOCORE_VERSION]
set -euo pipefail
version="${1:-$(cat "$(dirname "$0")/../models/BOTOCORE_VERSION")}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" "botocore==${version}"
python3 - "$tmp" "$root/models" "$version" <<'PY'
import glob, gzip, json, os, sys, zipfile
tmp, out, version = sys.argv[1:]
services = ["organizations", "sso-admin", "identitystore", "sso", "sso-oidc",
            "cloudtrail", "cloudtrail-data", "sts", "iam"]
wheel = glob.glob(os.path.join(tmp, "botocore-*.whl"))[0]
z = zipfile.ZipFile(wheel)
names = z.namelist()
def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ("documentation", "documentationUrl", "examples")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node
for svc in services:
    cands = sorted(n for n in names if n.startswith(f"botocore/data/{svc}/") and n.endswith("/service-2.json.gz"))
    if not cands:
        sys.exit(f"no model for {svc} in botocore {version}")
    path = cands[-1]
    model = json.loads(gzip.decompress(z.read(path)))
    model = strip(model)
    with open(os.path.join(out, f"{svc}.json"), "w") as f:
        json.dump(model, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{svc}: {path.split('/')[3]} ({len(model['operations'])} operations)")
# Partitions: their regions (a region Cairn does not know is refused) and, per global
# service, the region its partition endpoint signs for (and CloudTrail records it in).
partitions = json.loads(z.read("botocore/data/partitions.json"))["partitions"]
endpoints = {p["partition"]: p for p in json.loads(z.read("botocore/data/endpoints.json"))["partitions"]}
summary = []
for part in partitions:
    pid = part["id"]
    global_services = {}
    for svc, desc in sorted(endpoints.get(pid, {}).get("services", {}).items()):
        if svc in services and desc.get("partitionEndpoint"):
            scope = desc["endpoints"][desc["partitionEndpoint"]].get("credentialScope", {})
            if "region" in scope:
                global_services[svc] = scope["region"]
    summary.append({
        "id": pid,
        "regionRegex": part["regionRegex"],
        "implicitGlobalRegion": part["outputs"]["implicitGlobalRegion"],
        "regions": sorted(r for r in part["regions"] if not r.endswith("-global")),
        "globalServices": global_services,
    })
os.makedirs(os.path.join(out, "endpoints"), exist_ok=True)
with open(os.path.join(out, "endpoints", "partitions.json"), "w") as f:
    json.dump(summary, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"partitions: {', '.join(p['id'] for p in summary)}")
with open(os.path.join(out, "BOTOCORE_VERSION"), "w") as f:
    f.write(version + "\n")
PY
