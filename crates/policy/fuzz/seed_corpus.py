#!/usr/bin/env python3
"""Writes the policy documents of ../tests/cases/*.json into corpus/parse/ as seed inputs.

Each distinct document becomes one file named by the SHA-1 of its bytes (libFuzzer's own
naming, so re-running this script or merging with a fuzzer-grown corpus adds no duplicates).
Documents given as `"document"` objects are written as compact JSON, as tests/cases.rs passes
them to the parser; `"text"` documents (invalid JSON, duplicate member names) are written
verbatim. The AWS-managed-policy-like seeds (corpus/parse/managed-*.json) are kept by hand.

Run from crates/policy/fuzz:  python3 seed_corpus.py
"""

import glob
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "..", "tests", "cases")
OUT = os.path.join(HERE, "corpus", "parse")

FULL_AWS_ACCESS = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}'
RCP_FULL_AWS_ACCESS = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}'
)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def document_text(entry):
    """The text of a policy entry, as tests/cases.rs reads it; None if it is not one."""
    if isinstance(entry, str):
        return {"FullAWSAccess": FULL_AWS_ACCESS, "RCPFullAWSAccess": RCP_FULL_AWS_ACCESS}.get(entry)
    if not isinstance(entry, dict):
        return None
    if "Statement" in entry:
        return compact(entry)
    if isinstance(entry.get("text"), str):
        return entry["text"]
    if "document" in entry:
        return compact(entry["document"])
    return None


def documents(case):
    if "parse" in case:
        yield document_text(case["parse"])
        return
    policies = case.get("policies") or {}
    for layer, value in policies.items():
        if layer in ("scp_levels", "rcp_levels"):
            for level in value or []:
                for entry in level if isinstance(level, list) else [level]:
                    yield document_text(entry)
        elif isinstance(value, list):
            for entry in value:
                yield document_text(entry)
        elif value is not None:
            yield document_text(value)


def main():
    os.makedirs(OUT, exist_ok=True)
    written = 0
    for path in sorted(glob.glob(os.path.join(CASES, "*.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for case in data if isinstance(data, list) else [data]:
            for text in documents(case):
                if text is None:
                    continue
                raw = text.encode("utf-8")
                name = os.path.join(OUT, hashlib.sha1(raw).hexdigest())
                if not os.path.exists(name):
                    with open(name, "wb") as out:
                        out.write(raw)
                    written += 1
    print(f"{written} new seed files in {OUT}")


if __name__ == "__main__":
    main()
