#!/usr/bin/env bash
# Runs the README's "Using it" and `cairn policy simulate` blocks literally (scripts/readme_blocks.py
# turns them into one bash session) against a fresh `cairn serve` on the README's default
# address, with the AWS CLI v1 and boto3 from PyPI, in an environment where no AWS variable is
# set beforehand. The working directory stands for the checkout: it holds the server's
# ./cairn-data, a copy of examples/ and target/release/cairn. Exits non-zero when any block fails.
#
# `readme-test.sh --cli2 DIR` runs the same blocks with the AWS CLI v2 installed at DIR
# (../shared/tools/awscli-v2/install.sh DIR) in front of the v1 one; boto3 stays the PyPI one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli2=""
if [ "${1:-}" = "--cli2" ]; then
  cli2="$(cd "$2" && pwd)/bin"
  [ -x "$cli2/aws" ] || { echo "readme-test: no AWS CLI v2 at $cli2/aws" >&2; exit 1; }
fi
venv="$root/target/readme-venv"
if [ ! -x "$venv/bin/aws" ] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check awscli boto3
fi
# The v2 CLI's directory holds its own python: only `aws` is taken from it.
clidir="$venv/bin"
if [ -n "$cli2" ]; then
  clidir="$(mktemp -d)"
  ln -s "$cli2/aws" "$clidir/aws"
  clidir="$clidir:$venv/bin"
fi
echo "readme-test: $(PATH="$clidir" aws --version 2>&1)"
cargo build --quiet -p cairn --manifest-path "$root/Cargo.toml"
bindir="${CARGO_TARGET_DIR:-$root/target}/debug"
[ -x "$bindir/cairn" ] || { echo "readme-test: no cairn binary in $bindir" >&2; exit 1; }

work="$(mktemp -d)"
mkdir "$work/home" "$work/out"
cp -r "$root/examples" "$work/examples"
# The README's binary is the release build; the debug one stands in for it (same code), at
# the path the README's `export PATH="$PWD/target/release:$PATH"` names.
mkdir -p "$work/target/release"
ln -s "$bindir/cairn" "$work/target/release/cairn"
python3 "$root/scripts/readme_blocks.py" "${README_FILE:-$root/README.md}" > "$work/session.sh"

# The README's server: `cairn serve` with its defaults (127.0.0.1:4566, ./cairn-data).
if (exec 3<>/dev/tcp/127.0.0.1/4566) 2>/dev/null; then
  echo "readme-test: something already listens on 127.0.0.1:4566, the README's address" >&2
  exit 1
fi
(cd "$work" && exec env -i PATH="$bindir:/usr/bin:/bin" HOME="$work/home" cairn serve \
  >"$work/server.out" 2>"$work/server.log") &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/server.out" 2>/dev/null && break
  sleep 0.1
done
grep -q "listening on" "$work/server.out" ||
  { echo "readme-test: cairn did not start" >&2; cat "$work/server.log" >&2; exit 1; }

# A clean environment: no AWS_* variable, a fresh HOME (no ~/.aws), the venv's aws/python on
# PATH, and not the cairn binary: the README's blocks must put it there themselves.
cd "$work"
if env -i PATH="$clidir:/usr/local/bin:/usr/bin:/bin" HOME="$work/home" \
  LANG=C.UTF-8 readme_out="$work/out" bash "$work/session.sh"; then
  echo "readme-test: passed"
else
  echo "readme-test: FAILED (server log follows)" >&2
  tail -n 40 "$work/server.log" >&2
  exit 1
fi
