"""Suite-wide pytest behaviour: tier markers from the directory, and a closing list of what was skipped.

The tier is the first directory under ``tests/`` of the test file's path *relative to the
repository root* (a checkout under a folder named ``unit`` must not mark every test ``unit``).

The closing section sorts every skip into the one kind a fresh machine is allowed to have — an
upstream artifact no reachable registry serves (Grafana, Loki, Alloy, Tempo images) — and
anything else, which is a gap in `make test`'s own set-up. ``OBS_STRICT_SKIPS=1`` turns the second
kind into a failed run.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.support import REPO

TIERS = ("unit", "contract", "integration")
# What no registry this project may use serves: the tests that need it skip, saying so.
UNREACHABLE = re.compile(r"\b(grafana|loki|alloy|tempo)\b", re.IGNORECASE)
STRICT_ENV = "OBS_STRICT_SKIPS"


def tier_of(path: Path, root: Path = REPO) -> str | None:
    """``tests/<tier>/...`` relative to ``root``; None for a file outside the tier directories."""
    try:
        parts = path.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return None
    if len(parts) >= 2 and parts[0] == "tests" and parts[1] in TIERS:
        return parts[1]
    return None


# Files whose tests each run for minutes (a Molecule scenario, the lab): one xdist group per test.
ONE_GROUP_PER_TEST = ("tests/integration/test_molecule.py",)


def xdist_group_of(nodeid: str) -> str:
    """The unit `make test` hands to one pytest-xdist worker: a whole file, so module fixtures
    (an Ansible render, a Prometheus process) are built once, except that each test of a file in
    ONE_GROUP_PER_TEST is its own group, so the Molecule scenarios run side by side."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path in ONE_GROUP_PER_TEST else path


def run_order(item: pytest.Item) -> int:
    """Slow integration tests first: the longest groups start at once and the short tests fill the
    other workers around them, instead of a Molecule scenario starting last."""
    long_drill = item.get_closest_marker("slow") and item.get_closest_marker("integration")
    return 0 if long_drill else 1


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        tier = tier_of(Path(str(item.path)))
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))
        if grouped:
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item.nodeid)))
    items.sort(key=run_order)  # stable: the order within each kind is kept


def skip_reasons(terminalreporter: pytest.TerminalReporter) -> Counter[str]:
    reasons: Counter[str] = Counter()
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    return reasons


def split_skips(reasons: Counter[str]) -> tuple[Counter[str], Counter[str]]:
    """(skips for an artifact no reachable registry serves, every other skip)."""
    unreachable = Counter({r: n for r, n in reasons.items() if UNREACHABLE.search(r)})
    return unreachable, reasons - unreachable


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    unreachable, other = split_skips(skip_reasons(terminalreporter))
    if other:
        terminalreporter.section("skipped although this machine could run them (a set-up gap)", red=True)
        for reason, count in other.most_common():
            terminalreporter.write_line(f"{count:3d} x {reason}")
    terminalreporter.section("skipped: needs what no reachable registry serves (Grafana, Loki, Alloy, Tempo)")
    if not unreachable:
        terminalreporter.write_line("  nothing")
    for reason, count in unreachable.most_common():
        terminalreporter.write_line(f"{count:3d} x {reason}")
    if other and os.environ.get(STRICT_ENV) == "1" and exitstatus == 0:
        terminalreporter.write_line(f"{STRICT_ENV}=1: the skips above the last section fail this run", red=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        # A run that ran nothing proves nothing: never let it pass.
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if os.environ.get(STRICT_ENV) != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and split_skips(skip_reasons(reporter))[1]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
