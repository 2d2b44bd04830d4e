#!/usr/bin/env bash
# Installs the test SAML identity provider's library, samlify (npm, pure JavaScript), into
# target/saml-idp (or $1), and prints that directory: the value of CAIRN_TEST_SAML_IDP for
# the AssumeRoleWithSAML integration tests (crates/cairn/tests/it/saml.rs), which sign their
# assertions with it through scripts/saml_idp.mjs. Needs node, npm and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-$PWD/target/saml-idp}"
version=2.15.1
if ! [ -f "$dir/node_modules/samlify/package.json" ] \
  || ! grep -q "\"version\": \"$version\"" "$dir/node_modules/samlify/package.json"; then
  mkdir -p "$dir"
  (cd "$dir" && npm install --silent --no-audit --no-fund --no-save "samlify@$version" >&2)
fi
command -v openssl >/dev/null || { echo "!! openssl is needed to make the IdP's keys" >&2; exit 1; }
echo "$dir"
