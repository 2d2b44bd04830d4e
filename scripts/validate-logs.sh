#!/usr/bin/env bash
# AWS's own validator against Cairn's digests: starts moto's S3 server on loopback (PyPI),
# runs `cairn serve` delivering trails into it on a short cadence, makes calls, waits for log
# files and digests, and runs the real `aws cloudtrail validate-logs` (the AWS CLI v1 from
# PyPI; with --cli2 DIR also the v2 installed in DIR): every digest and log file must be
# reported valid. Then it alters one byte of one log file and deletes one digest, and the
# validator must report both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli2=""
if [ "${1:-}" = "--cli2" ]; then cli2="$2"; fi
venv="$root/target/validate-venv"
if ! "$venv/bin/python" -c 'import moto.server, awscli' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]" awscli
fi
cargo build --quiet -p cairn --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/cairn"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "validate-logs: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done; exit 1; }

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
s3port="$(free_port)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$s3port" >"$work/moto.log" 2>&1 &
pids+=($!)
s3="http://127.0.0.1:$s3port"
for _ in $(seq 1 100); do
  curl -fsS "$s3/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$s3/" >/dev/null 2>&1 || fail "moto did not start"

# The S3 side: any credentials do for moto.
s3env=(env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL="$s3")
aws1="$venv/bin/aws"
bucket="audit-logs"
"${s3env[@]}" "$aws1" s3api create-bucket --bucket "$bucket" >/dev/null
cat >"$work/policy.json" <<EOF
{"Version":"2012-10-17","Statement":[
 {"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::$bucket"},
 {"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::$bucket/AWSLogs/*"}]}
EOF
"${s3env[@]}" "$aws1" s3api put-bucket-policy --bucket "$bucket" --policy "file://$work/policy.json"
"${s3env[@]}" "$aws1" s3api create-bucket --bucket no-policy >/dev/null

CAIRN_OBJECT_STORE_ACCESS_KEY_ID=testing CAIRN_OBJECT_STORE_SECRET_ACCESS_KEY=testing \
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data" --account-id 123456789012 \
  --object-store s3:// --object-store-endpoint "$s3" \
  --trail-delivery-seconds 1 --trail-digest-seconds 4 >"$work/cairn.out" 2>"$work/cairn.log" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/cairn.out" 2>/dev/null && break
  sleep 0.1
done
endpoint="$(grep -o 'http://[0-9.:]*' "$work/cairn.out" | head -n 1 || true)"
[ -n "$endpoint" ] || fail "cairn did not start"
eval "$("$bin" env --data-dir "$work/data" --listen "${endpoint#http://}")"
export AWS_ENDPOINT_URL_S3="$s3"

# Bucket checks as AWS makes them.
out="$("$aws1" cloudtrail create-trail --name nope --s3-bucket-name missing-bucket 2>&1 || true)"
grep -q S3BucketDoesNotExistException <<<"$out" || fail "missing bucket accepted: $out"
out="$("$aws1" cloudtrail create-trail --name nope --s3-bucket-name no-policy 2>&1 || true)"
grep -q InsufficientS3BucketPolicyException <<<"$out" || fail "bucket without policy accepted: $out"

start="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
arn="$("$aws1" cloudtrail create-trail --name main --s3-bucket-name "$bucket" \
  --enable-log-file-validation --query TrailARN --output text)"
"$aws1" cloudtrail start-logging --name "$arn"
for i in 1 2 3; do
  "$aws1" iam create-user --user-name "user$i" >/dev/null
  "$aws1" iam list-users >/dev/null
done

count() { "${s3env[@]}" "$aws1" s3api list-objects-v2 --bucket "$bucket" --prefix "$1" --query 'length(Contents[])' --output text 2>/dev/null || echo 0; }
for _ in $(seq 1 120); do
  logs="$(count AWSLogs/123456789012/CloudTrail/)"
  digests="$(count AWSLogs/123456789012/CloudTrail-Digest/)"
  [ "$logs" != "None" ] && [ "$digests" != "None" ] && [ "$logs" -ge 1 ] && [ "$digests" -ge 3 ] && break
  sleep 0.5
done
echo "validate-logs: $logs log files, $digests digests delivered"
[ "$digests" != "None" ] && [ "$digests" -ge 3 ] || fail "digests not delivered"
"$aws1" cloudtrail stop-logging --name "$arn"
sleep 3
end="$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)"

validate() {
  local cli="$1"
  "$cli" cloudtrail validate-logs --trail-arn "$arn" --start-time "$start" --end-time "$end" --verbose ${VALIDATE_DEBUG:+--debug}
}

check_valid() {
  local cli="$1" out
  out="$(validate "$cli" 2>&1)" || fail "validate-logs ($cli) failed on untouched files: $out"
  echo "$out" | tail -n 6
  grep -q "INVALID" <<<"$out" && fail "validate-logs ($cli) reported INVALID on untouched files: $out"
  grep -Eq '[0-9]+/[0-9]+ digest files valid' <<<"$out" || fail "no digests validated: $out"
  grep -Eq '[0-9]+/[0-9]+ log files valid' <<<"$out" || fail "no log files validated: $out"
}
check_valid "$aws1"
if [ -n "$cli2" ]; then check_valid "$cli2/bin/aws"; fi
cairn_validate() {
  CAIRN_OBJECT_STORE_ACCESS_KEY_ID=testing CAIRN_OBJECT_STORE_SECRET_ACCESS_KEY=testing \
    "$bin" trail validate --data-dir "$work/data" --object-store s3:// \
    --object-store-endpoint "$s3" --trail-arn "$arn" --start-time "$start" --end-time "$end"
}
out="$(cairn_validate 2>&1)" || fail "cairn trail validate failed on untouched files: $out"
echo "cairn trail validate: $(echo "$out" | grep -E 'files valid' | tr '\n' ' ')"

# Tamper: one byte of one log file, and one digest removed.
log_key="$("${s3env[@]}" "$aws1" s3api list-objects-v2 --bucket "$bucket" --prefix AWSLogs/123456789012/CloudTrail/ --query 'Contents[0].Key' --output text)"
"${s3env[@]}" "$aws1" s3api get-object --bucket "$bucket" --key "$log_key" "$work/log.gz" >/dev/null
"$venv/bin/python" - "$work/log.gz" <<'EOF'
import gzip, sys
p = sys.argv[1]
data = bytearray(gzip.decompress(open(p, 'rb').read()))
data[len(data) // 2] ^= 0x01
open(p, 'wb').write(gzip.compress(bytes(data)))
EOF
"${s3env[@]}" "$aws1" s3api put-object --bucket "$bucket" --key "$log_key" --body "$work/log.gz" >/dev/null
# The digest removed must not be the one that lists the altered log file: with it gone, no
# validator can see the alteration (it has no hash to compare against), and the check below
# would depend on which keys sort first. Take the first digest after the oldest that does not.
digest_key=""
for key in $("${s3env[@]}" "$aws1" s3api list-objects-v2 --bucket "$bucket" --prefix AWSLogs/123456789012/CloudTrail-Digest/ --query 'Contents[1:].Key' --output text); do
  "${s3env[@]}" "$aws1" s3api get-object --bucket "$bucket" --key "$key" "$work/digest.gz" >/dev/null
  if ! gzip -dc "$work/digest.gz" | grep -qF "$log_key"; then digest_key="$key"; break; fi
done
[ -n "$digest_key" ] || fail "every digest after the first lists $log_key"
"${s3env[@]}" "$aws1" s3api delete-object --bucket "$bucket" --key "$digest_key"

check_tampered() {
  local cli="$1" out
  if out="$(validate "$cli" 2>&1)"; then fail "validate-logs ($cli) passed tampered files: $out"; fi
  grep -q "INVALID: hash value doesn't match" <<<"$out" || fail "altered log not reported ($cli): $out"
  grep -q "INVALID: not found" <<<"$out" || fail "deleted digest not reported ($cli): $out"
  echo "validate-logs ($cli): the altered log file and the deleted digest are reported"
}
check_tampered "$aws1"
if [ -n "$cli2" ]; then check_tampered "$cli2/bin/aws"; fi
if out="$(cairn_validate 2>&1)"; then fail "cairn trail validate passed tampered files: $out"; fi
grep -q "INVALID: hash value doesn't match" <<<"$out" || fail "cairn trail validate missed the altered log: $out"
grep -q "INVALID: not found" <<<"$out" || fail "cairn trail validate missed the deleted digest: $out"
echo "cairn trail validate: gives the same verdicts"
echo "validate-logs: passed"
