#!/usr/bin/env bash
# A sweep of `aws iam` and `aws sts` commands with the real AWS CLI against a fresh
# `cairn serve` (its own data directory, a free port): every command must succeed and the
# answers checked below must be what AWS answers. Prints "N passed, N failed".
#
#   scripts/awscli-iam-sweep.sh AWS   # AWS: the aws executable (CLI v1 or v2)
set -euo pipefail
aws_bin="${1:?usage: awscli-iam-sweep.sh PATH-TO-aws}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --quiet -p cairn --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/debug/cairn"
data="$(mktemp -d)"
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" --account-id 123456789012 \
  >"$data/stdout" 2>"$data/server.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "listening on" "$data/stdout" 2>/dev/null && break
  sleep 0.1
done
endpoint="$(grep -o 'http://[0-9.:]*' "$data/stdout" | head -n 1 || true)"
[ -n "$endpoint" ] || { echo "awscli-sweep: cairn did not start" >&2; cat "$data/server.log" >&2; exit 1; }
creds="$data/root-credentials.json"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$creds" "$1"; }
export HOME="$data" AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID="$(field AccessKeyId)" AWS_SECRET_ACCESS_KEY="$(field SecretAccessKey)"
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1
echo "awscli-sweep: $("$aws_bin" --version 2>&1)"
acct=123456789012
passed=0 failed=0
# run NAME EXPECTED -- ARGS…: the command must succeed and print EXPECTED (text output; "-"
# for anything).
run() {
  local name="$1" want="$2"
  shift 3
  local got
  if got="$("$aws_bin" "$@" --output text 2>&1)"; then
    if [ "$want" = "-" ] || [ "$got" = "$want" ]; then
      passed=$((passed + 1)); echo "ok   $name"; return
    fi
  fi
  failed=$((failed + 1)); echo "FAIL $name: $got (wanted $want)"
}
# fails NAME CODE -- ARGS…: the command must fail with error CODE.
fails() {
  local name="$1" code="$2"
  shift 3
  local got
  if got="$("$aws_bin" "$@" 2>&1)"; then
    failed=$((failed + 1)); echo "FAIL $name: succeeded: $got"; return
  fi
  if grep -q "($code)" <<<"$got"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name: $got (wanted $code)"
  fi
}

trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}'
policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'

run "sts get-caller-identity" "arn:aws:iam::$acct:root" -- sts get-caller-identity --query Arn
run "iam create-user" "arn:aws:iam::$acct:user/ops/alice" -- iam create-user --user-name alice --path /ops/ --query User.Arn
run "iam get-user" "alice" -- iam get-user --user-name alice --query User.UserName
run "iam tag-user" "-" -- iam tag-user --user-name alice --tags Key=team,Value=platform
run "iam list-user-tags" "team	platform" -- iam list-user-tags --user-name alice --query 'Tags[0].[Key,Value]'
run "iam create-group" "-" -- iam create-group --group-name admins
run "iam add-user-to-group" "-" -- iam add-user-to-group --group-name admins --user-name alice
run "iam list-groups-for-user" "admins" -- iam list-groups-for-user --user-name alice --query 'Groups[0].GroupName'
run "iam create-policy" "arn:aws:iam::$acct:policy/read-objects" -- iam create-policy --policy-name read-objects --policy-document "$policy" --query Policy.Arn
run "iam attach-user-policy" "-" -- iam attach-user-policy --user-name alice --policy-arn "arn:aws:iam::$acct:policy/read-objects"
run "iam attach-group-policy (AWS managed)" "-" -- iam attach-group-policy --group-name admins --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess
run "iam list-attached-user-policies" "read-objects" -- iam list-attached-user-policies --user-name alice --query 'AttachedPolicies[0].PolicyName'
run "iam put-user-policy" "-" -- iam put-user-policy --user-name alice --policy-name inline --policy-document "$policy"
run "iam list-user-policies" "inline" -- iam list-user-policies --user-name alice --query 'PolicyNames[0]'
run "iam create-role" "arn:aws:iam::$acct:role/deployer" -- iam create-role --role-name deployer --assume-role-policy-document "$trust" --query Role.Arn
run "iam attach-role-policy" "-" -- iam attach-role-policy --role-name deployer --policy-arn arn:aws:iam::aws:policy/AdministratorAccess
run "iam create-instance-profile" "arn:aws:iam::$acct:instance-profile/deployer" -- iam create-instance-profile --instance-profile-name deployer --query InstanceProfile.Arn
run "iam add-role-to-instance-profile" "-" -- iam add-role-to-instance-profile --instance-profile-name deployer --role-name deployer
run "iam list-instance-profiles-for-role" "deployer" -- iam list-instance-profiles-for-role --role-name deployer --query 'InstanceProfiles[0].InstanceProfileName'
run "iam create-open-id-connect-provider" "arn:aws:iam::$acct:oidc-provider/token.actions.githubusercontent.com" -- iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com --query OpenIDConnectProviderArn
run "iam list-open-id-connect-providers" "arn:aws:iam::$acct:oidc-provider/token.actions.githubusercontent.com" -- iam list-open-id-connect-providers --query 'OpenIDConnectProviderList[0].Arn'
run "iam create-account-alias" "-" -- iam create-account-alias --account-alias sweep-corp
run "iam list-account-aliases" "sweep-corp" -- iam list-account-aliases --query 'AccountAliases[0]'
run "iam update-account-password-policy" "-" -- iam update-account-password-policy --minimum-password-length 10 --require-numbers
run "iam get-account-password-policy" "10" -- iam get-account-password-policy --query PasswordPolicy.MinimumPasswordLength
fails "iam create-login-profile (weak)" PasswordPolicyViolation -- iam create-login-profile --user-name alice --password short
run "iam create-login-profile" "alice" -- iam create-login-profile --user-name alice --password 'sweep-Passw0rd' --query LoginProfile.UserName
run "iam create-virtual-mfa-device" "arn:aws:iam::$acct:mfa/alice-phone" -- iam create-virtual-mfa-device --virtual-mfa-device-name alice-phone --outfile "$data/qr.png" --bootstrap-method QRCodePNG --query VirtualMFADevice.SerialNumber
if head -c 8 "$data/qr.png" | od -An -c | grep -q 'P   N   G'; then
  passed=$((passed + 1)); echo "ok   the QR code file is a PNG"
else
  failed=$((failed + 1)); echo "FAIL the QR code file is not a PNG"
fi
run "iam list-virtual-mfa-devices" "arn:aws:iam::$acct:mfa/alice-phone" -- iam list-virtual-mfa-devices --assignment-status Unassigned --query 'VirtualMFADevices[0].SerialNumber'
run "iam get-account-summary" "1" -- iam get-account-summary --query 'SummaryMap.Users'
key="$("$aws_bin" iam create-access-key --user-name alice --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)"
akid="${key%%$'\t'*}" secret="${key##*$'\t'}"
if got="$(AWS_ACCESS_KEY_ID="$akid" AWS_SECRET_ACCESS_KEY="$secret" "$aws_bin" sts get-caller-identity --query Arn --output text 2>&1)" &&
  [ "$got" = "arn:aws:iam::$acct:user/ops/alice" ]; then
  passed=$((passed + 1)); echo "ok   alice's key signs as alice"
else
  failed=$((failed + 1)); echo "FAIL alice's key: $got"
fi
run "iam list-access-keys" "$akid" -- iam list-access-keys --user-name alice --query 'AccessKeyMetadata[0].AccessKeyId'
fails "sts assume-role (as the root)" AccessDenied -- sts assume-role --role-arn "arn:aws:iam::$acct:role/deployer" --role-session-name sweep
run "iam put-user-policy (sts:AssumeRole)" "-" -- iam put-user-policy --user-name alice --policy-name assume --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
if got="$(AWS_ACCESS_KEY_ID="$akid" AWS_SECRET_ACCESS_KEY="$secret" "$aws_bin" sts assume-role --role-arn "arn:aws:iam::$acct:role/deployer" --role-session-name sweep --query AssumedRoleUser.Arn --output text 2>&1)" &&
  [ "$got" = "arn:aws:sts::$acct:assumed-role/deployer/sweep" ]; then
  passed=$((passed + 1)); echo "ok   sts assume-role (alice)"
else
  failed=$((failed + 1)); echo "FAIL sts assume-role (alice): $got"
fi
run "sts get-access-key-info" "$acct" -- sts get-access-key-info --access-key-id "$akid" --query Account
run "sts get-session-token" "-" -- sts get-session-token --duration-seconds 900 --query Credentials.Expiration
run "sts get-federation-token" "arn:aws:sts::$acct:federated-user/sweeper" -- sts get-federation-token --name sweeper --policy "$policy" --duration-seconds 900 --query FederatedUser.Arn
fails "sts decode-authorization-message (not one)" InvalidAuthorizationMessageException -- sts decode-authorization-message --encoded-message not-a-message
# Certificates, made here by openssl.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$data/cert.key" -out "$data/cert.pem" -days 2 -subj /CN=sweep.example.com 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$data/other.key" 2>/dev/null
run "iam upload-server-certificate" "arn:aws:iam::$acct:server-certificate/elb/sweep" -- iam upload-server-certificate --server-certificate-name sweep --path /elb/ --certificate-body "file://$data/cert.pem" --private-key "file://$data/cert.key" --query ServerCertificateMetadata.Arn
run "iam list-server-certificates" "sweep" -- iam list-server-certificates --path-prefix /elb/ --query 'ServerCertificateMetadataList[0].ServerCertificateName'
run "iam get-server-certificate" "/elb/" -- iam get-server-certificate --server-certificate-name sweep --query ServerCertificate.ServerCertificateMetadata.Path
fails "iam upload-server-certificate (mismatched key)" KeyPairMismatch -- iam upload-server-certificate --server-certificate-name other --certificate-body "file://$data/cert.pem" --private-key "file://$data/other.key"
run "iam upload-signing-certificate" "Active" -- iam upload-signing-certificate --user-name alice --certificate-body "file://$data/cert.pem" --query Certificate.Status
certid="$("$aws_bin" iam list-signing-certificates --user-name alice --query 'Certificates[0].CertificateId' --output text)"
run "iam update-signing-certificate" "-" -- iam update-signing-certificate --user-name alice --certificate-id "$certid" --status Inactive
run "iam list-signing-certificates" "Inactive" -- iam list-signing-certificates --user-name alice --query 'Certificates[0].Status'
fails "iam delete-user (still has things)" DeleteConflict -- iam delete-user --user-name alice
fails "iam get-role (missing)" NoSuchEntity -- iam get-role --role-name nobody
fails "iam create-user (exists)" EntityAlreadyExists -- iam create-user --user-name alice

# Cleanup, in the order IAM requires.
run "iam delete-login-profile" "-" -- iam delete-login-profile --user-name alice
run "iam delete-access-key" "-" -- iam delete-access-key --user-name alice --access-key-id "$akid"
run "iam delete-user-policy" "-" -- iam delete-user-policy --user-name alice --policy-name inline
run "iam delete-user-policy (assume)" "-" -- iam delete-user-policy --user-name alice --policy-name assume
run "iam detach-user-policy" "-" -- iam detach-user-policy --user-name alice --policy-arn "arn:aws:iam::$acct:policy/read-objects"
run "iam remove-user-from-group" "-" -- iam remove-user-from-group --group-name admins --user-name alice
run "iam delete-signing-certificate" "-" -- iam delete-signing-certificate --user-name alice --certificate-id "$certid"
run "iam delete-server-certificate" "-" -- iam delete-server-certificate --server-certificate-name sweep
run "iam delete-user" "-" -- iam delete-user --user-name alice
run "iam remove-role-from-instance-profile" "-" -- iam remove-role-from-instance-profile --instance-profile-name deployer --role-name deployer
run "iam delete-instance-profile" "-" -- iam delete-instance-profile --instance-profile-name deployer
run "iam detach-role-policy" "-" -- iam detach-role-policy --role-name deployer --policy-arn arn:aws:iam::aws:policy/AdministratorAccess
run "iam delete-role" "-" -- iam delete-role --role-name deployer
run "iam delete-virtual-mfa-device" "-" -- iam delete-virtual-mfa-device --serial-number "arn:aws:iam::$acct:mfa/alice-phone"
run "iam delete-open-id-connect-provider" "-" -- iam delete-open-id-connect-provider --open-id-connect-provider-arn "arn:aws:iam::$acct:oidc-provider/token.actions.githubusercontent.com"
run "iam delete-account-alias" "-" -- iam delete-account-alias --account-alias sweep-corp
run "iam delete-account-password-policy" "-" -- iam delete-account-password-policy
run "iam list-users (empty)" "" -- iam list-users --query 'Users[].UserName'

echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
  echo "awscli-sweep: server log:" >&2
  tail -n 40 "$data/server.log" >&2
  exit 1
fi
