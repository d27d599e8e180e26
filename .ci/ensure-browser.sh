#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's Chromium (never a downloaded browser build).
# Installs it with apt-get when /usr/bin/chromium is missing; a browser that cannot be installed
# fails the run: in CI a missing browser is a failure, never a skipped test.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "Chromium is missing: installing Debian's chromium package" >&2
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get is not available: install chromium so that $CHROMIUM exists" >&2
    exit 1
  fi
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "Chromium did not install: $CHROMIUM is still missing" >&2
  exit 1
fi
