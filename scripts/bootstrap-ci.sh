#!/usr/bin/env bash
# System set-up for `make test` and `make lab` on Debian/Ubuntu (the Makefile runs this first; so
# does a CI machine, through `make test`). Idempotent: re-running only does what is missing.
#
#   1. prints the plan: which Debian packages are missing, whether the project's Prometheus tools
#      are there, whether a Docker daemon answers;
#   2. installs the packages (as root, or through sudo), extracts Debian forky's prometheus and
#      promtool of the pinned version into $OBS_TOOLS_DIR (default /opt/obs-tools), starts dockerd.
#
# OBS_NO_INSTALL=1 prints the plan and changes nothing (the tests that need what is missing then
# skip, each naming what it needs). Other helpers only add package names to APT_PACKAGES.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  make git docker.io debootstrap iproute2 nftables
  wireguard-go wireguard-tools openssh-client
  prometheus-alertmanager prometheus-node-exporter
  debian-archive-keyring
  chromium  # lays out the report e-mail in tests/integration/test_reports_chromium.py
)

# Prometheus itself: bookworm's package is 2.42, the stack pins 3.x. The tests run Debian forky's
# build of the version the prometheus-debian image pins (the one place it is written), extracted
# with dpkg-deb -x into a directory of the project's own: it needs only libc >= 2.34, and nothing of
# forky enters the host's apt sources or its dpkg database. obsctl.tools finds it there.
OBS_TOOLS_DIR=${OBS_TOOLS_DIR:-/opt/obs-tools}
PROM_DOCKERFILE=molecule/images/prometheus-debian/Dockerfile
PROM_DEB_VERSION=$(sed -n 's/^ARG PROMETHEUS_DEB_VERSION=\([^[:space:]]*\)[[:space:]]*$/\1/p' "$PROM_DOCKERFILE")
PROM_DIR=$OBS_TOOLS_DIR/prometheus-$PROM_DEB_VERSION
FORKY_PACKAGES=(prometheus promtool)

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

[[ -n $PROM_DEB_VERSION ]] || die "$PROM_DOCKERFILE has no 'ARG PROMETHEUS_DEB_VERSION=<version>' line"

# The project's tools are in place when both programs of the pinned version are linked from bin/.
prom_tools_ok() {
  local prog
  for prog in prometheus promtool; do
    [[ $(readlink "$OBS_TOOLS_DIR/bin/$prog" 2>/dev/null) == "$PROM_DIR/usr/bin/$prog" ]] || return 1
    "$PROM_DIR/usr/bin/$prog" --version 2>&1 | grep -qF "version ${PROM_DEB_VERSION%-*} " || return 1
  done
}

# The Debian mirror the host's apt already uses (the only one reachable on a CI machine); Debian's
# own when apt knows none (an Ubuntu host: its libc is new enough for forky's build too).
debian_mirror() {
  local found
  found=$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } \
    | sed -n -e 's#^URIs: *\([^ ]*/debian\)/\{0,1\} *$#\1#p' \
             -e 's#^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*/debian\)/\{0,1\} [a-z-]* .*#\2#p' \
    | head -n 1)
  echo "${found:-http://deb.debian.org/debian}"
}

install_prom_tools() {
  local mirror apt_dir work deb
  mirror=$(debian_mirror)
  apt_dir=$OBS_TOOLS_DIR/apt-forky
  "${SUDO[@]}" mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$OBS_TOOLS_DIR/bin"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror forky main" \
    | "${SUDO[@]}" tee "$apt_dir/forky.list" >/dev/null
  # The host's apt configuration (proxies, a frozen snapshot's Check-Valid-Until) still applies.
  local apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/forky.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  "${SUDO[@]}" apt-get "${apt_opts[@]}" update -qq
  work=$("${SUDO[@]}" mktemp -d "$OBS_TOOLS_DIR/.prometheus-XXXXXX")
  if ! (cd "$work" && "${SUDO[@]}" apt-get "${apt_opts[@]}" download -qq "${FORKY_PACKAGES[@]/%/=$PROM_DEB_VERSION}"); then
    "${SUDO[@]}" apt-cache "${apt_opts[@]}" madison "${FORKY_PACKAGES[@]}" >&2 || true
    "${SUDO[@]}" rm -rf "$work"
    die "forky on $mirror has no ${FORKY_PACKAGES[*]} $PROM_DEB_VERSION (above: what it has); set ARG PROMETHEUS_DEB_VERSION in $PROM_DOCKERFILE"
  fi
  for deb in "$work"/*.deb; do "${SUDO[@]}" dpkg-deb -x "$deb" "$work/root"; done
  "${SUDO[@]}" rm -rf "$PROM_DIR"
  "${SUDO[@]}" mv "$work/root" "$PROM_DIR"
  "${SUDO[@]}" rm -rf "$work"
  for prog in prometheus promtool; do "${SUDO[@]}" ln -sfn "$PROM_DIR/usr/bin/$prog" "$OBS_TOOLS_DIR/bin/$prog"; done
  prom_tools_ok || die "the extracted $PROM_DIR does not run as ${PROM_DEB_VERSION%-*}: $("$PROM_DIR/usr/bin/promtool" --version 2>&1 | head -n 1)"
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
prom_tools=1
prom_tools_ok || prom_tools=0
docker_up=1
docker info >/dev/null 2>&1 || docker_up=0

# -- the plan ---------------------------------------------------------------------------------
if ((${#missing[@]})); then
  log "plan: apt-get install --no-install-recommends ${missing[*]}${SUDO:+ (through sudo)}"
else
  log "plan: every Debian package is installed (${#APT_PACKAGES[@]} checked)"
fi
if ((prom_tools)); then
  log "plan: prometheus/promtool $PROM_DEB_VERSION (Debian forky) present in $OBS_TOOLS_DIR/bin"
else
  log "plan: download prometheus/promtool $PROM_DEB_VERSION from Debian forky (own sources list), dpkg-deb -x into $PROM_DIR, link $OBS_TOOLS_DIR/bin"
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

# -- Prometheus tools of the pinned release ---------------------------------------------------
if ((!prom_tools)); then
  install_prom_tools
  log "installed prometheus/promtool $PROM_DEB_VERSION into $PROM_DIR (linked from $OBS_TOOLS_DIR/bin)"
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
