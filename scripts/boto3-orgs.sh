#!/usr/bin/env bash
# The Organizations tutorial flow, driven by boto3 against a real `cairn serve`: an
# organization, nested OUs, created and invited accounts, SCPs, trusted access and a delegated
# administrator (scripts/boto3-flow.sh). Prints "N passed, N failed".
exec "$(dirname "$0")/boto3-flow.sh" orgs
