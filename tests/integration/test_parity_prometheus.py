"""obsctl parity against a real Prometheus (Debian's build of the pinned 3.x) scraping real node_exporters on loopback.

The lab (tests/fixtures/parity/lab.py) first scrapes a full node_exporter as job="node",
instance="lab-host", then switches the same job/instance to a node_exporter without the netstat
and sockstat collectors: parity must name exactly those metrics as missing. Bounded: the lab
gives up after 90 s and always stops its processes and removes its temporary directory.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from obsctl import cli, parity
from obsctl.clients.prometheus import PrometheusClient
from tests.support import REPO, tool

_spec = importlib.util.spec_from_file_location("parity_lab", REPO / "tests/fixtures/parity/lab.py")
assert _spec and _spec.loader
lab: Any = importlib.util.module_from_spec(_spec)
sys.modules["parity_lab"] = lab
_spec.loader.exec_module(lab)


@pytest.fixture(scope="module")
def running() -> Iterator[Any]:
    assert tool("prometheus") == lab.PROMETHEUS  # skips unless it is the pinned release
    missing = lab.missing_programs()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian packages prometheus, prometheus-node-exporter)")
    with lab.running_lab() as running_lab:
        yield running_lab


def _windows(running: Any) -> tuple[parity.Window, parity.Window]:
    return parity.Window(*running.legacy_window), parity.Window(*running.switched_window)


def test_gap_names_exactly_the_dropped_collectors(running: Any) -> None:
    before, after = _windows(running)
    report = parity.compare(PrometheusClient(running.prometheus_url), lab.HOST, before, after)
    assert report.missing, "the switched exporter lacks two collectors: parity must see a gap"
    prefixes = tuple(f"node_{c}_" for c in lab.DROPPED_COLLECTORS)
    assert all(name.startswith(prefixes) for name in report.missing), report.missing
    assert {name.split("_")[1] for name in report.missing} == set(lab.DROPPED_COLLECTORS)
    assert "node_cpu_seconds_total" in report.after_names
    print(f"before={len(report.before_names)} after={len(report.after_names)} missing={len(report.missing)}")


def test_cli_against_real_prometheus_treats_unreachable_loki_as_an_error(
    running: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = _windows(running)
    argv = [
        "parity", "--host", lab.HOST, "--prometheus", running.prometheus_url, "--loki", "http://127.0.0.1:1",
        "--before", f"{before.start:.3f}..{before.end:.3f}", "--after", f"{after.start:.3f}..{after.end:.3f}",
    ]  # fmt: skip
    assert cli.main(argv) == 2
    assert "Loki at http://127.0.0.1:1/loki/api/v1/series: cannot connect" in capsys.readouterr().err


def test_no_gap_when_the_same_exporter_keeps_running(running: Any) -> None:
    before, _ = _windows(running)
    report = parity.compare(PrometheusClient(running.prometheus_url), lab.HOST, before, before)
    assert report.ok and report.missing == []


def test_loki_part_needs_a_real_loki() -> None:
    pytest.skip(
        "Loki cannot be installed or pulled on this machine: "
        "the logs check runs against documented responses only (unit tests)"
    )
