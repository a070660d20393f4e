"""The hub-and-spoke tunnel after converge + idempotence: peers, handshakes, traffic, keys, firewall."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import testinfra
from testinfra.host import Host

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HUB = "wg-hub"
SPOKES = {"wg-spoke-1": "10.100.0.11", "wg-spoke-2": "10.100.0.12"}
HUB_ADDRESS = "10.100.0.1"
OPERATOR_ALICE_KEY = "2wtU1K0l/cTb9SEMm2HSQn5/KMz3iWRrG8fNQwJVUUc="
CLIENT_CONFIGS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "client-configs"


def host(name: str) -> Host:
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def public_key(name: str) -> str:
    return str(host(name).check_output("cat /etc/wireguard/wg0.pub")).strip()


def test_hub_has_every_spoke_and_operator_as_peer() -> None:
    peers = set(host(HUB).check_output("wg show wg0 peers").split())
    operator_bob = (CLIENT_CONFIGS / "bob.key").read_text().strip()
    bob_public = host(HUB).check_output(f"echo {operator_bob} | wg pubkey").strip()
    assert peers == {public_key(s) for s in SPOKES} | {OPERATOR_ALICE_KEY, bob_public}


@pytest.mark.parametrize("spoke", sorted(SPOKES))
def test_spoke_has_only_the_hub_as_peer_with_keepalive(spoke: str) -> None:
    assert host(spoke).check_output("wg show wg0 peers").split() == [public_key(HUB)]
    keepalive = host(spoke).check_output("wg show wg0 persistent-keepalive").split()
    assert keepalive == [public_key(HUB), "25"]


@pytest.mark.parametrize("spoke", sorted(SPOKES))
def test_recent_handshake_between_spoke_and_hub(spoke: str) -> None:
    host(spoke).run(f"ping -c 1 -W 2 {HUB_ADDRESS}")  # wakes the tunnel if it was idle
    line = host(spoke).check_output("wg show wg0 latest-handshakes").split()
    assert line[0] == public_key(HUB)
    assert time.time() - int(line[1]) < 180, f"{spoke}: last handshake {line[1]} is not recent"


@pytest.mark.parametrize(("spoke", "address"), sorted(SPOKES.items()))
def test_hub_and_spoke_reach_each_other_through_the_tunnel(spoke: str, address: str) -> None:
    assert host(HUB).run(f"ping -c 2 -W 3 {address}").rc == 0
    assert host(spoke).run(f"ping -c 2 -W 3 {HUB_ADDRESS}").rc == 0


@pytest.mark.parametrize("name", [HUB, *sorted(SPOKES)])
def test_private_key_unchanged_by_the_second_converge(name: str) -> None:
    h = host(name)
    first = h.check_output("sha256sum < /root/wg0.key.first-converge")
    assert h.check_output("sha256sum < /etc/wireguard/wg0.key") == first
    # The running interface uses that key (reloads keep it).
    assert h.check_output("wg show wg0 public-key").strip() == public_key(name)


@pytest.mark.parametrize("name", [HUB, *sorted(SPOKES)])
def test_secret_files_are_root_only(name: str) -> None:
    for path in ("/etc/wireguard/wg0.conf", "/etc/wireguard/wg0.key"):
        f = host(name).file(path)
        assert (f.user, f.mode) == ("root", 0o600), path
    config_lines = host(name).file("/etc/wireguard/wg0.conf").content_string.splitlines()
    assert not [line for line in config_lines if line.startswith("PrivateKey")]


@pytest.mark.parametrize("name", [HUB, *sorted(SPOKES)])
def test_tunnel_service_enabled_on_userspace_fallback(name: str) -> None:
    h = host(name)
    assert h.service("wg-quick@wg0").is_enabled
    assert h.service("wg-quick@wg0").is_running
    # No kernel module here: wg-quick fell back to wireguard-go.
    assert h.process.filter(comm="wireguard-go")


def test_hub_exposes_only_wireguard_outside_the_tunnel() -> None:
    hub = host(HUB)
    assert hub.socket("udp://0.0.0.0:51820").is_listening or hub.socket("udp://:::51820").is_listening
    assert hub.socket("tcp://0.0.0.0:9090").is_listening  # the stand-in from prepare
    spoke = host("wg-spoke-1")
    via_tunnel = spoke.run(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 5 http://{HUB_ADDRESS}:9090/")
    assert via_tunnel.stdout == "200"
    outside = spoke.run("curl -s -o /dev/null --max-time 5 http://wg-hub:9090/")
    assert outside.rc == 28, f"expected a timeout (dropped), got rc={outside.rc}"
    ruleset = hub.check_output("nft list table inet wireguard_hub")
    assert "policy drop" in ruleset
    assert "udp dport 51820 accept" in ruleset


def test_operator_client_configs() -> None:
    hub_key = public_key(HUB)
    alice = CLIENT_CONFIGS / "alice.conf"
    bob = CLIENT_CONFIGS / "bob.conf"
    for conf in (alice, bob):
        assert conf.stat().st_mode & 0o777 == 0o600
        text = conf.read_text()
        assert f"PublicKey = {hub_key}" in text
        assert "Endpoint = wg-hub:51820" in text
        assert "AllowedIPs = 10.100.0.0/24" in text
    # alice brought her own key: her config carries a placeholder, never a private key.
    assert "PrivateKey = <paste" in alice.read_text()
    bob_key = (CLIENT_CONFIGS / "bob.key").read_text().strip()
    assert f"PrivateKey = {bob_key}" in bob.read_text()
