"""analyzer-down's absent case, run by Prometheus's rule engine (promtool test rules).

tests/contract/test_alert_rules_promtool.py covers every alert on the up/down side (target answers
or not). What only this alert promises is the *absent* side: the analyzer's target vanishes (its
series go stale: the scrape job was dropped while the analyzer should run) and the alert still
fires after ``for``; where the analyzer was never scraped, nothing fires.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from obsctl import common
from obsctl.alerting import catalog as cat
from obsctl.alerting import promrules
from tests.support import REPO, tool

CATALOG = cat.load(REPO / "alerting" / "catalog.yml")
ALERT = CATALOG.by_uid("analyzer-down")
STEP = common.scrape_interval_seconds()
REPORTED_S = 600  # the target answers for 10 minutes, then vanishes


def _interval() -> tuple[str, float]:
    group = CATALOG.severities[ALERT.severity].group
    return CATALOG.groups[group], CATALOG.group_interval_seconds(group)


def _run(tmp_path: Path, series: list[dict[str, str]], checks: list[dict[str, Any]], rules: Any = None) -> str:
    interval, _ = _interval()
    (tmp_path / "rules.yml").write_text(
        yaml.safe_dump(rules or promrules.rule_file(ALERT, interval), sort_keys=False), encoding="utf-8"
    )
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": interval,
        "tests": [{"interval": f"{round(STEP)}s", "input_series": series, "alert_rule_test": checks}],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [tool("promtool"), "test", "rules", "tests.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return "" if proc.returncode == 0 else proc.stdout + proc.stderr


def _vanishing() -> list[dict[str, str]]:
    samples = int(REPORTED_S / STEP)
    return [{"series": 'up{job="analyzer",instance="mon-1"}', "values": f"1x{samples - 1} stale"}]


def _at(seconds: float, firing: bool) -> dict[str, Any]:
    labels = {"severity": ALERT.severity, "team": ALERT.team}
    return {
        "eval_time": f"{round(seconds)}s",
        "alertname": ALERT.uid,
        "exp_alerts": [{"exp_labels": labels}] if firing else [],
    }


def _checks() -> list[dict[str, Any]]:
    _, eval_s = _interval()
    return [
        _at(REPORTED_S - eval_s, False),  # up: silent
        _at(REPORTED_S + ALERT.for_seconds - eval_s, False),  # vanished, `for` not yet elapsed
        _at(REPORTED_S + ALERT.for_seconds + 2 * eval_s, True),  # vanished for longer than `for`
    ]


def test_a_vanished_analyzer_target_fires_after_for(tmp_path: Path) -> None:
    failure = _run(tmp_path, _vanishing(), _checks())
    assert not failure, failure


def test_a_never_scraped_analyzer_fires_nothing(tmp_path: Path) -> None:
    other = [{"series": 'up{job="prometheus",instance="mon-1"}', "values": f"1x{int(3600 / STEP)}"}]
    failure = _run(tmp_path, other, [_at(1800, False)])
    assert not failure, failure


def test_without_the_absent_branch_the_vanished_case_fails(tmp_path: Path) -> None:
    """The cases are not vacuous: the plain `up < 1` rule misses a vanished target."""
    interval, _ = _interval()
    rules = promrules.rule_file(ALERT, interval)
    rules["groups"][0]["rules"][0]["expr"] = 'max(up{job="analyzer"}) < 1'
    assert _run(tmp_path, _vanishing(), _checks(), rules)
