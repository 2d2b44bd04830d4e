#!/usr/bin/env bash
# The Organizations tutorial flow, driven by boto3 against a real `cairn serve`: an
# organization, nested OUs, created and invited accounts, SCPs, trusted access and a delegated
# administrator. Uses the virtualenv of boto3-slice.sh. Prints "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/target/boto3-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check boto3
fi
cargo build --quiet -p cairn --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/cairn"
[ -x "$bin" ] || { echo "boto3-orgs: no cairn binary at $bin" >&2; exit 1; }
data="$(mktemp -d)"
log="$data/server.log"
extra=()
if [ -n "${CAIRN_DATABASE_URL:-}" ]; then
  echo "boto3-orgs: store at ${CAIRN_DATABASE_URL%%\?*}"
  extra=(--database-url "$CAIRN_DATABASE_URL")
fi
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" "${extra[@]}" >"$data/stdout" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$data/stdout" 2>/dev/null && break
  sleep 0.1
done
endpoint="$(grep -o 'http://[0-9.:]*' "$data/stdout" | head -n 1 || true)"
[ -n "$endpoint" ] || { echo "boto3-orgs: cairn did not start" >&2; cat "$log" >&2; exit 1; }
# `cairn signup` for the invited account, on the same store as the server.
signup=("$bin" signup --data-dir "$data" "${extra[@]}")
if ! "$venv/bin/python" "$root/scripts/boto3_orgs.py" "$endpoint" "$data/root-credentials.json" "${signup[@]}"; then
  echo "boto3-orgs: server log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
