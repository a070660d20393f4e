#!/usr/bin/env bash
# Prepare a fresh Debian 12 CI machine (root) for `make test`. Idempotent: re-running only
# does what is missing. On a laptop use `make setup` instead, which installs nothing system-wide.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  make git docker.io debootstrap iproute2 nftables
  wireguard-go wireguard-tools
  prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter
)

log() { printf '[bootstrap] %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt: installing ${missing[*]}"
  # Third-party sources configured on some images may be unreachable; Debian's own mirror is enough.
  apt-get update -qq || log "apt-get update reported errors (unreachable extra sources); continuing"
  # --no-install-recommends: wireguard's recommends pull a kernel image we cannot use in a VM/container.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (no systemd here)"
  # A dockerd killed with its session leaves its pid file behind; a stale one blocks the start.
  pgrep -x dockerd >/dev/null || rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up:"; tail -20 /var/log/dockerd.log; exit 1; }
fi

make --no-print-directory setup
make --no-print-directory compose-plugin
make --no-print-directory images
log "ready"
