"""Every PromQL alert of the catalog, run by Prometheus's own rule engine (promtool test rules).

The cases are generated here from the catalog (obsctl.alerting.promrules): fires above the threshold
after `for`, silent before `for`, silent on the healthy side (with a witness proving the healthy
series produce a value). Mutated rules must make the same cases fail, so the cases are not vacuous.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl import common
from obsctl.alerting import catalog as cat
from obsctl.alerting import promrules
from tests.support import REPO, tool

CATALOG = cat.load(REPO / "alerting" / "catalog.yml")
PROMQL = [a for a in CATALOG.alerts if a.language == "promql"]
OTHER = [a for a in CATALOG.alerts if a.language != "promql"]


def _run(
    tmp_path: Path, p: promrules.TestPlan, rules: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    promtool = tool("promtool")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules or p.rules, sort_keys=False), encoding="utf-8")
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(p.tests, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120
    )


def _plan(alert: cat.Alert) -> promrules.TestPlan:
    return promrules.plan(CATALOG, alert, common.scrape_interval_seconds(), "rules.yml")


def test_every_promql_concept_has_a_synthesizer() -> None:
    missing = sorted({a.query.key for a in PROMQL} - set(promrules.SYNTHESIZERS))
    assert not missing, f"add a recipe to obsctl/alerting/promrules.py SYNTHESIZERS for: {missing}"


def test_translated_rules_pass_promtool_check(tmp_path: Path) -> None:
    promtool = tool("promtool")
    groups = [g for a in PROMQL for g in promrules.rule_file(a, "1m")["groups"]]
    path = tmp_path / "all.rules.yml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{2 * len(PROMQL)} rules found" in proc.stdout
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True, check=False).stdout
    print(f"\npromtool used: {promtool}: {version.splitlines()[0] if version else '?'}")


@pytest.mark.parametrize("alert", PROMQL, ids=[a.uid for a in PROMQL])
def test_alert_behaves_in_the_prometheus_engine(tmp_path: Path, alert: cat.Alert) -> None:
    p = _plan(alert)
    proc = _run(tmp_path, p)
    assert proc.returncode == 0, f"promtool test rules failed for {alert.uid}:\n{proc.stdout}\n{proc.stderr}"
    print(f"\n{alert.uid}: {len(p.cases)} promtool cases passed" + (f"; {'; '.join(p.skipped)}" if p.skipped else ""))


@pytest.mark.parametrize("alert", PROMQL, ids=[a.uid for a in PROMQL])
def test_inverted_comparison_is_caught(tmp_path: Path, alert: cat.Alert) -> None:
    p = _plan(alert)
    rules = yaml.safe_load(yaml.safe_dump(p.rules))
    rules["groups"][0]["rules"][0]["expr"] = promrules.prometheus_expr(alert, invert=True)
    proc = _run(tmp_path, p, rules)
    assert proc.returncode != 0, f"{alert.uid}: the cases still pass with the comparison inverted"


@pytest.mark.parametrize(
    "alert", [a for a in PROMQL if a.for_seconds > 0], ids=[a.uid for a in PROMQL if a.for_seconds > 0]
)
def test_dropping_for_is_caught(tmp_path: Path, alert: cat.Alert) -> None:
    p = _plan(alert)
    if not any("before for" in c.name for c in p.cases):
        pytest.skip(f"{alert.uid}: for {alert.for_} is shorter than one evaluation, no before-for case")
    rules = yaml.safe_load(yaml.safe_dump(p.rules))
    rules["groups"][0]["rules"][0]["for"] = "0s"
    proc = _run(tmp_path, p, rules)
    assert proc.returncode != 0, f"{alert.uid}: the before-for case passes even without `for`"


@pytest.mark.parametrize("alert", OTHER, ids=[a.uid for a in OTHER])
def test_logql_alerts_cannot_run_here(alert: cat.Alert) -> None:
    pytest.skip(f"{alert.uid} is a LogQL alert: promtool evaluates PromQL only and Loki cannot run here")


def test_case_count_summary() -> None:
    total = sum(len(_plan(a).cases) for a in PROMQL)
    print(f"\n{len(PROMQL)} PromQL alerts -> {total} promtool cases; {len(OTHER)} LogQL alert(s) not testable here")
    assert total >= 2 * len(PROMQL)
