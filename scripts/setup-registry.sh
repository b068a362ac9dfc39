#!/usr/bin/env bash
# Installs what the registry tests and the pull benchmark need: Debian's docker-registry (the
# CNCF distribution registry, v2) and htpasswd (apache2-utils) for its basic authentication.
# Idempotent; the tests call it when a tool is missing, and fail loudly if it cannot install.
set -euo pipefail
need=()
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
[ ${#need[@]} -eq 0 ] && exit 0
echo "[setup-registry] installing ${need[*]}" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# policy-rc.d 101: the package's own service (a registry on :5000) is not started by the install.
POLICY=/usr/sbin/policy-rc.d
ADDED=0
if [ ! -e "$POLICY" ]; then printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null; $SUDO chmod +x "$POLICY"; ADDED=1; fi
trap '[ "$ADDED" = 1 ] && $SUDO rm -f "$POLICY"' EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
command -v docker-registry >/dev/null 2>&1 || { echo "setup-registry: docker-registry did not install" >&2; exit 1; }
command -v htpasswd >/dev/null 2>&1 || { echo "setup-registry: htpasswd did not install" >&2; exit 1; }
