#!/usr/bin/env bash
# `cairn serve --dev --account-id 123456789012` driven by boto3 as an emulator's test suite
# drives it: any credentials act as the account's root, the keys Cairn issues act as their
# owners (scripts/boto3-flow.sh). Prints "N passed, N failed".
exec "$(dirname "$0")/boto3-flow.sh" dev --dev --account-id 123456789012
