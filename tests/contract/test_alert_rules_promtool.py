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


def test_lab_rule_file_passes_promtool_check(tmp_path: Path) -> None:
    """The rule file the lab's Prometheus evaluates (promrules.alerting_rules): every PromQL alert,
    in its catalog group at the group's interval."""
    doc, left_out = promrules.alerting_rules(CATALOG)
    path = tmp_path / "catalog-alerts.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    proc = subprocess.run([tool("promtool"), "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(PROMQL)} rules found" in proc.stdout
    assert {g["name"]: g["interval"] for g in doc["groups"]} == CATALOG.groups
    assert sorted(line.split(":")[0] for line in left_out if "LogQL" in line or "logql" in line) == sorted(
        a.uid for a in OTHER
    )


def _blip_case(failed_scrapes: int, fires_at: float | None) -> dict[str, Any]:
    """``up`` of one target with ``failed_scrapes`` failed scrapes in a row, checked at every
    evaluation of the P1 group for 4 minutes: service-down fires only at ``fires_at`` (or never)."""
    step = common.scrape_interval_seconds()
    sev = CATALOG.severities["P1"]
    interval = CATALOG.group_interval_seconds(sev.group)
    labels = {"job": "spring", "instance": "app-1", "app": "api"}
    values = " ".join(["1"] * 3 + ["0"] * failed_scrapes + ["1"] * 20)
    alert = CATALOG.by_uid("service-down")
    expected = {**labels, "severity": "P1", "team": alert.team, "service": "spring"}
    checks = []
    t = 0.0
    while t <= 240:
        firing = fires_at is not None and fires_at <= t < fires_at + interval
        checks.append(
            {
                "eval_time": f"{round(t)}s",
                "alertname": "service-down",
                "exp_alerts": [{"exp_labels": expected}] if firing else [],
            }
        )
        t += interval
    return {
        "name": f"{failed_scrapes} failed scrapes",
        "interval": f"{round(step)}s",
        "input_series": [{"series": promrules._sel("up", labels), "values": values}],
        "alert_rule_test": checks,
    }


def test_a_blip_shorter_than_30s_never_pages_p1_in_the_prometheus_engine(tmp_path: Path) -> None:
    """Issue 19: a fault of up to `for` - scrape interval (>= 30 s) spans at most that many failed
    scrapes, which never page; one more failed scrape does, right at `for` after the first evaluation
    that saw the fault. Run by Prometheus's engine on the lab's rule file (annotations dropped: the
    firing state is what is checked)."""
    step = common.scrape_interval_seconds()
    alert = CATALOG.by_uid("service-down")
    interval = CATALOG.group_interval_seconds(CATALOG.severities["P1"].group)
    quiet = int((alert.for_seconds - step) // step) + 1  # failed scrapes a fault of for - scrape can span
    assert (alert.for_seconds - step) >= 30
    doc, _ = promrules.alerting_rules(CATALOG)
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    first_down = 3 * step
    first_eval = interval * -(-first_down // interval)
    tests = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": f"{round(interval)}s",
        "tests": [_blip_case(quiet, None), _blip_case(quiet + 1, first_eval + alert.for_seconds)],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False), encoding="utf-8")
    proc = subprocess.run(
        [tool("promtool"), "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"\n{quiet} failed scrapes ({quiet * step:.0f} s of samples): no page; {quiet + 1}: page")
