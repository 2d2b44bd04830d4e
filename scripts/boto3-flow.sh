#!/usr/bin/env bash
# Runs one boto3 flow (scripts/boto3_<FLOW>.py) against a real `cairn serve` on a fresh data
# directory, in a virtualenv this script creates (boto3 from PyPI); with CAIRN_DATABASE_URL
# set, on that PostgreSQL database. The flow gets the endpoint, the root credentials file and
# a `cairn signup` command on the same store. Arguments after the flow go to `cairn serve`.
# Prints "N passed, N failed".
#
#   scripts/boto3-flow.sh slice|orgs|sso|dev [SERVE-ARGS...]
set -euo pipefail
flow="${1:?usage: boto3-flow.sh FLOW [SERVE-ARGS...]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
script="$root/scripts/boto3_$flow.py"
[ -f "$script" ] || { echo "boto3-flow: no flow $script" >&2; exit 2; }
venv="$root/target/boto3-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check boto3
fi
cargo build --quiet -p cairn --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/cairn"
[ -x "$bin" ] || { echo "boto3-$flow: no cairn binary at $bin" >&2; exit 1; }
data="$(mktemp -d)"
log="$data/server.log"
extra=()
if [ -n "${CAIRN_DATABASE_URL:-}" ]; then
  echo "boto3-$flow: store at ${CAIRN_DATABASE_URL%%\?*}"
  extra=(--database-url "$CAIRN_DATABASE_URL")
fi
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" "${extra[@]}" "$@" >"$data/stdout" 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$data/stdout" 2>/dev/null && break
  sleep 0.1
done
endpoint="$(grep -o 'http://[0-9.:]*' "$data/stdout" | head -n 1 || true)"
[ -n "$endpoint" ] || { echo "boto3-$flow: cairn did not start" >&2; cat "$log" >&2; exit 1; }
signup=("$bin" signup --data-dir "$data" "${extra[@]}")
if ! "$venv/bin/python" "$script" "$endpoint" "$data/root-credentials.json" "${signup[@]}"; then
  echo "boto3-$flow: server log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
