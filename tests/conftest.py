"""Suite-wide pytest behaviour: tier markers from the directory, and a summary of skip reasons."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

_TIERS = ("unit", "contract", "integration")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in _TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: Counter[str] = Counter()
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    terminalreporter.section("what could not run here, and why")
    for reason, count in reasons.most_common():
        terminalreporter.write_line(f"{count:3d} x {reason}")
