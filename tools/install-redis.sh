#!/bin/sh
# Install the distro's Redis 7.0 server and tools (used by differential tests and benchmarks).
# Needs root (or sudo) and a package mirror; tests that need redis-server skip when this fails.
set -e
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else echo "install-redis: not root, skipping" >&2; exit 1; fi
fi
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
    # The package starts a system service on port 6379; the tests start their own servers.
    if command -v service >/dev/null 2>&1; then $SUDO service redis-server stop >/dev/null 2>&1 || true; fi
    exit 0
fi
echo "install-redis: no apt-get on this machine" >&2
exit 1
