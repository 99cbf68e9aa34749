#!/usr/bin/env bash
# Install a headless-capable Chromium for the browser tests (tests/browser/), from Debian's archive.
#
# Idempotent: when `chromium` is already on PATH it returns at once. It never downloads a browser
# build from elsewhere (Playwright drives this system binary through executable_path).
# Exits 0 with a message when it cannot install (no apt-get, not root and no sudo, no network),
# so `make setup` keeps going; the browser tests then skip with a clear reason.
set -u

if command -v chromium >/dev/null 2>&1; then
    echo "install_browser: chromium already installed at $(command -v chromium) ($(chromium --version 2>/dev/null || echo 'version unknown'))"
    exit 0
fi

. "$(dirname "$0")/apt_access.sh"
apt_access install_browser "run 'sudo apt-get install -y chromium' to enable the browser tests (they skip otherwise)" || exit 0

# The package lists may be missing in a fresh container; refresh them only when chromium is unknown.
if ! apt-cache show chromium >/dev/null 2>&1; then
    $SUDO apt-get update -q || { echo "install_browser: apt-get update failed; browser tests will skip"; exit 0; }
fi
if $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; then
    echo "install_browser: installed $(chromium --version 2>/dev/null || echo chromium)"
else
    echo "install_browser: apt-get install chromium failed; browser tests will skip"
fi
exit 0
