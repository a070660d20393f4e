#!/bin/bash
# Installs what the bootstrap needs. The instance has no public address until Terraform
# associates the Elastic IP (seconds after launch), so wait for the mirror instead of failing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

for attempt in $(seq 1 60); do
  if apt-get update -q; then
    break
  fi
  if [ "$attempt" -eq 60 ]; then
    echo "obs-packages: no package mirror reachable after 10 minutes" >&2
    exit 1
  fi
  sleep 10
done
# wireguard-tools: wg and wg-quick (Debian 12's kernel has the module); awscli publishes the key.
apt-get install -y -q --no-install-recommends wireguard-tools awscli
