#!/usr/bin/env python3
"""Check models/authorization/*.json against the vendored AWS models.

  python3 scripts/check-authorization.py [repo-root]

Checks, per service model models/<service>.json:
  * models/authorization/<service>.json exists, is 1-space-indented JSON with
    operations sorted by name, and has an entry for every model operation (and
    none for operations the model lacks);
  * every resource type an operation (or an also_requires entry) references is
    defined in resource_types;
  * every `members` value, `condition_sources` value, `also_requires.when` and
    `resolve` "arn:<member>" names a real member path of the operation's input
    shape ("A", "A.B", "A[]", "A[].B");
  * every `members` key is a variable of the resource type's ARN template, or
    "ARN" (the member holds the whole ARN) or "Path" (IAM path);
  * every ARN template variable other than Partition/Region/Account is filled
    by `members` (or a whole-ARN member) or named in `resolve`;
  * actions are "<prefix>:<Name>" (or null with no resources), and every
    condition key used is typed in the file's condition_keys.
Exits 1 and lists the problems if any check fails.
"""
import glob
import json
import os
import re
import sys

CONTEXT_VARS = {"Partition", "Region", "Account"}
RESOLVE_WORDS = {"context", "store", "caller", "new", "wildcard"}
ENTRY_KEYS = {"action", "resources", "condition_keys", "condition_sources", "also_requires",
              "policy_checked", "verified", "source", "note"}
RES_KEYS = {"type", "required", "members", "resolve", "accepts_arn", "default", "condition_keys", "note"}


def path_ok(model, shape, path):
    if shape is None:
        return False
    cur = shape
    for part in path.split("."):
        is_list = part.endswith("[]")
        name = part[:-2] if is_list else part
        sh = model["shapes"].get(cur, {})
        if sh.get("type") != "structure" or name not in sh.get("members", {}):
            return False
        cur = sh["members"][name]["shape"]
        if is_list:
            lsh = model["shapes"][cur]
            if lsh.get("type") != "list":
                return False
            cur = lsh["member"]["shape"]
    return True


def tvars(arn):
    return re.findall(r"\$\{([A-Za-z0-9]+)\}", arn)


def check_resources(where, resources, doc, model, shape, errs):
    rtypes = doc.get("resource_types", {})
    for i, r in enumerate(resources):
        w = f"{where} resource[{i}]"
        extra = set(r) - RES_KEYS
        if extra:
            errs.append(f"{w}: unknown fields {sorted(extra)}")
        t = r.get("type")
        if t not in rtypes:
            errs.append(f"{w}: resource type {t!r} not in resource_types")
            continue
        if not isinstance(r.get("required"), bool):
            errs.append(f"{w}: 'required' must be a boolean")
        members = r.get("members")
        if not isinstance(members, dict):
            errs.append(f"{w}: 'members' must be an object")
            continue
        vs = tvars(rtypes[t]["arn"])
        for k, p in members.items():
            if k not in vs and k not in ("ARN", "Path"):
                errs.append(f"{w}: members key {k!r} is not a variable of {rtypes[t]['arn']}")
            if not path_ok(model, shape, p):
                errs.append(f"{w}: members value {p!r} is not a member of input shape {shape}")
        resolve = r.get("resolve", {})
        for k, how in resolve.items():
            if k not in vs:
                errs.append(f"{w}: resolve key {k!r} is not a variable of {rtypes[t]['arn']}")
            if how.startswith("arn:"):
                if not path_ok(model, shape, how[4:]):
                    errs.append(f"{w}: resolve {k}={how!r}: no such input member")
            elif how not in RESOLVE_WORDS:
                errs.append(f"{w}: resolve {k}={how!r} is not one of {sorted(RESOLVE_WORDS)} or arn:<member>")
        if "ARN" not in members:
            for v in vs:
                if v not in CONTEXT_VARS and v not in members and v not in resolve:
                    errs.append(f"{w}: ARN variable ${{{v}}} of {t} is neither filled by members nor resolved")
        if r.get("default") not in (None, "caller"):
            errs.append(f"{w}: default must be 'caller'")
        for ck in r.get("condition_keys", []):
            if ck not in doc.get("condition_keys", {}):
                errs.append(f"{w}: condition key {ck} has no type in condition_keys")


def check_service(root, model_path, errs):
    svc = os.path.basename(model_path)[:-5]
    auth_path = os.path.join(root, "models", "authorization", svc + ".json")
    if not os.path.exists(auth_path):
        errs.append(f"{svc}: missing {auth_path}")
        return None
    model = json.load(open(model_path))
    text = open(auth_path).read()
    doc = json.loads(text)
    if text != json.dumps(doc, indent=1, ensure_ascii=False) + "\n":
        errs.append(f"{svc}: file is not 1-space-indented JSON as generated (json.dumps(indent=1) + newline)")
    for k in ("service", "prefix", "source", "resource_types", "operations"):
        if k not in doc:
            errs.append(f"{svc}: missing top-level '{k}'")
    if doc.get("service") != svc:
        errs.append(f"{svc}: 'service' is {doc.get('service')!r}")
    ops = doc.get("operations", {})
    if list(ops) != sorted(ops):
        errs.append(f"{svc}: operations are not sorted by name")
    mops = set(model["operations"])
    for op in sorted(mops - set(ops)):
        errs.append(f"{svc}.{op}: model operation has no authorization entry")
    for op in sorted(set(ops) - mops):
        errs.append(f"{svc}.{op}: entry for an operation the model does not have")
    for name, rt in doc.get("resource_types", {}).items():
        if not rt.get("arn", "").startswith("arn:${Partition}:"):
            errs.append(f"{svc}: resource type {name} has a malformed arn {rt.get('arn')!r}")
        for ck in rt.get("condition_keys", []):
            if ck not in doc.get("condition_keys", {}):
                errs.append(f"{svc}: resource type {name}: condition key {ck} has no type in condition_keys")
    prefix = doc.get("prefix")
    verified = 0
    for op in sorted(mops & set(ops)):
        e = ops[op]
        w = f"{svc}.{op}"
        extra = set(e) - ENTRY_KEYS
        if extra:
            errs.append(f"{w}: unknown fields {sorted(extra)}")
        o = model["operations"][op]
        shape = o["input"]["shape"] if "input" in o else None
        if not isinstance(e.get("verified"), bool):
            errs.append(f"{w}: 'verified' must be a boolean")
        elif e["verified"]:
            verified += 1
        act = e.get("action", "missing")
        if act is None:
            if e.get("resources"):
                errs.append(f"{w}: null action with resources")
            if not e.get("note"):
                errs.append(f"{w}: null action needs a note")
        elif not isinstance(act, str) or not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", act):
            errs.append(f"{w}: malformed action {act!r}")
        elif act.split(":")[0] != prefix:
            errs.append(f"{w}: action {act} does not use the file's prefix {prefix}")
        for ck in e.get("condition_keys", []):
            if ck not in doc.get("condition_keys", {}):
                errs.append(f"{w}: condition key {ck} has no type in condition_keys")
        check_resources(w, e.get("resources", []), doc, model, shape, errs)
        known_cks = set(e.get("condition_keys", [])) | {k for r in e.get("resources", [])
                                                         for k in r.get("condition_keys", [])}
        for ck, p in e.get("condition_sources", {}).items():
            if ck not in known_cks:
                errs.append(f"{w}: condition_sources names {ck}, which the action does not list")
            if not path_ok(model, shape, p):
                errs.append(f"{w}: condition_sources {ck} -> {p!r} is not a member of input shape {shape}")
        for j, a in enumerate(e.get("also_requires", [])):
            aw = f"{w} also_requires[{j}]"
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a.get("action", "")):
                errs.append(f"{aw}: malformed action {a.get('action')!r}")
            if not path_ok(model, shape, a.get("when", "")):
                errs.append(f"{aw}: when {a.get('when')!r} is not a member of input shape {shape}")
            if not isinstance(a.get("verified"), bool):
                errs.append(f"{aw}: 'verified' must be a boolean")
            check_resources(aw, a.get("resources", []), doc, model, shape, errs)
    return svc, verified, len(mops)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    errs = []
    rows = []
    for mp in sorted(glob.glob(os.path.join(root, "models", "*.json"))):
        r = check_service(root, mp, errs)
        if r:
            rows.append(r)
    for svc, v, n in rows:
        print(f"{svc:16} {v:4}/{n:<4} operations verified")
    for e in errs:
        print("FAIL:", e)
    print(f"{len(rows) - len({e.split('.')[0].split(':')[0] for e in errs})} passed, "
          f"{len({e.split('.')[0].split(':')[0] for e in errs})} failed")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
