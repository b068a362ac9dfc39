#!/usr/bin/env bash
# Sets up a fresh Debian machine for canopy: system packages (mosquitto, docker.io,
# busybox-static, git, procps, openssh-client, openssl, age, iproute2, systemd, prometheus, chromium), a running Docker Engine, npm dependencies,
# the build, the offline test image, and `canopy` on the PATH. Idempotent: run it again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need+=(busybox-static)
command -v git >/dev/null 2>&1 || need+=(git)
command -v pgrep >/dev/null 2>&1 || need+=(procps)
# ssh-keygen: git verify-commit checks signed commits with it (fleet.yaml spec.trust.commitSigners).
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v openssl >/dev/null 2>&1 || need+=(openssl) # the TLS tests make their certificates with it
command -v age-keygen >/dev/null 2>&1 || need+=(age) # the tests check identities' age keys with the age CLI
# ip: an agent routes the service range (198.18.0.0/15) to its host so service names have addresses.
command -v ip >/dev/null 2>&1 || [ -x /sbin/ip ] || need+=(iproute2)
# prometheus and promtool: the metrics tests scrape every part with a real Prometheus and check the exposition with promtool.
{ command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; } || need+=(prometheus)
# chromium: the dashboard's tests drive a real headless Chromium (puppeteer-core, no browser download).
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
# systemd-analyze: the tests verify the shipped units (packaging/systemd) with it.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The registry tests' docker-registry and htpasswd, installed here (not by the tests, which run
# two files at a time: two apt-get at once would fight over dpkg's lock).
bash scripts/setup-registry.sh

docker_ok() { timeout 10 docker info >/dev/null 2>&1; }
if ! docker_ok; then
  say "starting dockerd"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  # Prefer the init system when there is one; otherwise run the daemon in the background.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    $SUDO systemctl start docker || true
  fi
  if ! docker_ok; then
    $SUDO sh -c 'nohup dockerd >/var/log/canopy-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker_ok && break; sleep 0.5; done
  docker_ok || { echo "dockerd did not start: see /var/log/canopy-dockerd.log" >&2; exit 1; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "building"
npm run --silent build
bash scripts/build-test-image.sh
npm link --no-audit --no-fund --loglevel=error >/dev/null 2>&1 || say "npm link failed: use npx canopy from this directory"
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { echo "chromium is missing after install: the dashboard tests need it" >&2; exit 1; }
say "ready: $(docker --version), $(/usr/sbin/mosquitto -h 2>/dev/null | head -1 || true)"
