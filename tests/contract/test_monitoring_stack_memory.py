"""The stack's memory budget (roles/monitoring_stack/defaults) fits a t4g.small with room to spare.

Run with ``-s`` to see the budget table. The same sum is enforced on every rendered compose file
by ``obsctl validate compose`` (x-obs-memory-budget) and by the role's preflight.
"""

from __future__ import annotations

from typing import Any

import yaml

from tests.support import REPO

DEFAULTS = REPO / "roles" / "monitoring_stack" / "defaults" / "main.yml"
T4G_SMALL_MIB = 2048


def _defaults() -> dict[str, Any]:
    data = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_limits_plus_host_reserve_fit_a_t4g_small() -> None:
    d = _defaults()
    limits: dict[str, int] = d["monitoring_stack_mem_limits_mib"]
    reserved: dict[str, int] = d["monitoring_stack_host_reserved_mib"]
    assert d["monitoring_stack_host_memory_mib"] == T4G_SMALL_MIB
    rows = [(f"container {k}", v) for k, v in limits.items()] + [(f"host {k}", v) for k, v in reserved.items()]
    total = sum(limits.values()) + sum(reserved.values())
    print("\nmemory budget on a t4g.small (MiB)")
    for name, mib in rows:
        print(f"  {name:22} {mib:5d}")
    print(f"  {'containers':22} {sum(limits.values()):5d}")
    print(f"  {'host reserve':22} {sum(reserved.values()):5d}")
    print(f"  {'total / host':22} {total:5d} / {T4G_SMALL_MIB}  (slack {T4G_SMALL_MIB - total})")
    assert set(limits) == {"prometheus", "loki", "grafana", "blackbox", "analyzer", "bot", "report"}, (
        "every service and the report job have a limit"
    )
    assert {"os", "dockerd", "alloy"} <= set(reserved), "the OS, dockerd and Alloy each keep memory"
    assert total <= T4G_SMALL_MIB


def test_reserve_is_not_a_token_amount() -> None:
    reserved: dict[str, int] = _defaults()["monitoring_stack_host_reserved_mib"]
    # Alloy's sizing guide: ~120 MiB per 1 MiB/s of logs on top of its base; dockerd+containerd
    # alone sit near 80-100 MiB RSS. Below these the budget would be fiction.
    assert reserved["alloy"] >= 192
    assert reserved["dockerd"] >= 96
    assert reserved["os"] >= 192
