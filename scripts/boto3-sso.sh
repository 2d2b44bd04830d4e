#!/usr/bin/env bash
# The IAM Identity Center tutorial flow, driven by boto3 against a real `cairn serve`: enable,
# users and a group, a permission set with ReadOnlyAccess, the group assigned to two member
# accounts, provisioning awaited and the roles checked (scripts/boto3-flow.sh). Prints
# "N passed, N failed".
exec "$(dirname "$0")/boto3-flow.sh" sso
