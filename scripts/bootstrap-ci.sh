#!/usr/bin/env bash
# System set-up for `make test` and `make lab` on Debian/Ubuntu (the Makefile runs this first; so
# does a CI machine, through `make test`). Idempotent: re-running only does what is missing.
#
#   1. prints the plan: which Debian packages are missing, whether a Docker daemon answers;
#   2. installs the packages (as root, or through sudo), starts dockerd (systemd or not).
#
# OBS_NO_INSTALL=1 prints the plan and changes nothing (the tests that need what is missing then
# skip, each naming what it needs). Other helpers only add package names to APT_PACKAGES.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  make git docker.io debootstrap iproute2 nftables
  wireguard-go wireguard-tools
  prometheus prometheus-alertmanager prometheus-node-exporter prometheus-blackbox-exporter
)

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 2; }

if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
  die "this set-up knows Debian/Ubuntu (apt-get) only; install the equivalents of: ${APT_PACKAGES[*]} (README, Prerequisites)"
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || die "not root and no sudo: run 'make test' as root, or install sudo"
  SUDO=(sudo)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
docker_up=1
docker info >/dev/null 2>&1 || docker_up=0

# -- the plan ---------------------------------------------------------------------------------
if ((${#missing[@]})); then
  log "plan: apt-get install --no-install-recommends ${missing[*]}${SUDO:+ (through sudo)}"
else
  log "plan: every Debian package is installed (${#APT_PACKAGES[@]} checked)"
fi
if ((docker_up)); then
  log "plan: a Docker daemon answers"
elif [[ -d /run/systemd/system ]]; then
  log "plan: start the Docker daemon with systemctl"
else
  log "plan: start containerd, then dockerd, in the background (no systemd here), logs in /var/log/"
fi
if [[ ${OBS_NO_INSTALL:-} == 1 ]]; then
  log "OBS_NO_INSTALL=1: nothing installed or started; tests that need the above skip, naming it"
  exit 0
fi

# -- packages ---------------------------------------------------------------------------------
if ((${#missing[@]})); then
  # Third-party sources configured on some images may be unreachable; Debian's own mirror is enough.
  "${SUDO[@]}" apt-get update -qq || log "apt-get update reported errors (unreachable extra sources); continuing"
  # --no-install-recommends: wireguard's recommends pull a kernel image that a VM/container cannot use.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed ${missing[*]}"
fi

# -- Docker daemon ----------------------------------------------------------------------------
# Without systemd, containerd runs as its own process first: under load, dockerd's own containerd
# child misses dockerd's start deadline, and a socket left by a dead containerd makes dockerd dial
# it and give up ("connection refused"). Both cases failed CI runs on this kind of machine.
start_containerd() {
  if ! pgrep -x containerd >/dev/null; then
    "${SUDO[@]}" rm -f /run/containerd/containerd.sock /run/containerd/containerd.sock.ttrpc
    log "starting containerd, log in /var/log/containerd.log"
    # Docker needs none of the Kubernetes (CRI) plugin, which alone kept 12% of a core busy at idle.
    "${SUDO[@]}" sh -c "nohup containerd --config '$PWD/scripts/containerd-docker-only.toml' >/var/log/containerd.log 2>&1 &"
  fi
  for _ in $(seq 1 90); do "${SUDO[@]}" ctr version >/dev/null 2>&1 && return 0; sleep 1; done
  "${SUDO[@]}" tail -20 /var/log/containerd.log >&2 || true
  die "containerd did not come up (above: the end of its log)"
}
if ! docker info >/dev/null 2>&1; then
  if pgrep -x dockerd >/dev/null && [[ $(id -u) -ne 0 ]]; then
    die "dockerd runs but $(id -un) may not use it: sudo usermod -aG docker $(id -un), then log in again"
  elif [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl start docker
  elif ! pgrep -x dockerd >/dev/null; then
    start_containerd
    # A dockerd killed with its session leaves its pid file behind; a stale one blocks the start.
    "${SUDO[@]}" rm -f /var/run/docker.pid
    "${SUDO[@]}" sh -c 'nohup dockerd --containerd=/run/containerd/containerd.sock >/var/log/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 1; done
  if ! docker info >/dev/null 2>&1; then
    "${SUDO[@]}" tail -20 /var/log/dockerd.log >&2 || true
    die "the Docker daemon did not come up (above: the end of its log)"
  fi
  log "Docker daemon started"
fi
log "system ready"
