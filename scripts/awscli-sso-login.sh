#!/usr/bin/env bash
# `aws sso login` (authorization code with PKCE, then the device code) with the real AWS CLI
# v2 against a real `cairn serve`, the browser's part done with HTTP requests as a browser
# sends them (scripts/boto3_sso_login.py). Prints "N passed, N failed".
#
#   scripts/awscli-sso-login.sh AWS_CLI_V2_BINARY
set -euo pipefail
aws="${1:?usage: awscli-sso-login.sh AWS_CLI_V2_BINARY}"
CAIRN_AWS_CLI2="$(cd "$(dirname "$aws")" && pwd)/$(basename "$aws")"
export CAIRN_AWS_CLI2
exec "$(dirname "$0")/boto3-flow.sh" sso_login
