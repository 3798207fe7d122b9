#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/browser). Idempotent: does nothing when
# /usr/bin/chromium is already there. Playwright's own browser download is not used: the test
# drives the system Chromium through playwright-core with executablePath /usr/bin/chromium.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "chromium already installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "installing chromium needs root (or sudo): apt-get install chromium" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo "installed: $("$CHROMIUM" --version)"
