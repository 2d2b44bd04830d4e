#!/usr/bin/env bash
# Drives the foundation slice (Organizations, STS, CloudTrail LookupEvents) with boto3 against
# a real `cairn serve` (scripts/boto3-flow.sh). Prints "N passed, N failed".
exec "$(dirname "$0")/boto3-flow.sh" slice
