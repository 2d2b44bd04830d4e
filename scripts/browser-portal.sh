#!/usr/bin/env bash
# The access portal in a real browser: Debian's Chromium (installed here with apt-get when
# missing) driven by Playwright (playwright-core from npm, told to use that Chromium),
# against a real `cairn serve` (scripts/boto3_browser.py, scripts/browser_portal.mjs).
# Screenshots of every page go to target/test-output/portal/ (not committed).
# Prints "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
chromium="$(command -v chromium || true)"
if [ -z "$chromium" ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
  chromium="$(command -v chromium)"
fi
pw="$root/target/playwright"
version=1.65.2
if ! grep -qs "\"version\": \"$version\"" "$pw/node_modules/playwright-core/package.json"; then
  mkdir -p "$pw"
  (cd "$pw" && npm install --silent --no-audit --no-fund --no-save "playwright-core@$version" >&2)
fi
export CAIRN_PLAYWRIGHT="$pw/node_modules/playwright-core"
export CAIRN_CHROMIUM="$chromium"
export CAIRN_SCREENSHOTS="$root/target/test-output/portal"
rm -rf "$CAIRN_SCREENSHOTS"
exec "$root/scripts/boto3-flow.sh" browser
