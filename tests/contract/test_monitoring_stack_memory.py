"""The stack's memory budget: limits derived from measured peaks or upstream guidance, profiles, the refusal.

Run with ``-s`` to see the table (`obsctl budget`). Each container limit and reserve line of the
role's defaults must equal what obsctl/budget.py derives from its basis in benchmarks/memory.json
(measured by benchmarks/bench_memory.py, or upstream guidance with its source); the README shows the
current table; the role's preflight sums the enabled profile against the host's MemTotal from facts
and refuses, naming the smallest instance type that holds it, exactly when the sum exceeds it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from obsctl import budget, cli
from tests.contract.test_monitoring_stack_render import _fixture_inventory, render
from tests.support import REPO


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    return budget.load_defaults()


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return budget.load_results()


def test_every_limit_is_derived_from_its_recorded_basis(defaults: dict[str, Any], results: dict[str, Any]) -> None:
    print(f"\n{budget.markdown(defaults, results)}")
    role = budget.role_limits(defaults)
    derived = budget.derived_limits(results)
    assert set(role) == set(derived), f"components without a basis: {set(role) ^ set(derived)}"
    wrong = {c: (role[c], derived[c]) for c in role if role[c] != derived[c]}
    assert not wrong, f"defaults differ from the derived limits (default, derived): {wrong}; see `obsctl budget`"
    assert set(defaults["monitoring_stack_mem_limits_mib"]) == {
        "prometheus",
        "loki",
        "grafana",
        "blackbox",
        "analyzer",
        "bot",
        "report",
    }, "every service and the report job have a limit"
    assert {"os", "dockerd", "alloy"} <= set(defaults["monitoring_stack_host_reserved_mib"])


def test_measured_figures_come_from_the_benchmark_and_guidance_names_its_source(results: dict[str, Any]) -> None:
    bases = budget.bases(results)
    measured = {c for c, b in bases.items() if b.kind == "measured"}
    assert {"prometheus", "blackbox", "analyzer", "bot", "report"} <= measured, "what runs here is measured"
    assert {"grafana", "loki", "alloy", "tempo"}.isdisjoint(measured), "these cannot run here: not measured"
    run = next(r for r in results["measured"]["prometheus_runs"] if r["synthetic_series"] == results["planning_series"])
    assert run["probes_succeeding"] == run["probes"], "the blackbox figure is from working probes"
    assert run["head_series"] >= run["synthetic_series"], "Prometheus held the planned series"
    for name, basis in bases.items():
        if basis.kind == "upstream":
            assert re.search(r"https://grafana\.com/docs/\S+", basis.source), f"{name}: upstream figure without its URL"
        assert basis.mib > 0


def test_derivation_adds_headroom_to_measured_peaks_only() -> None:
    measured = budget.Basis("x", "measured", 100.0, "bench")
    upstream = budget.Basis("y", "upstream", 100.0, "doc")
    assert measured.limit(50, 16) == 160  # 150 rounded up to 16 MiB
    assert upstream.limit(50, 16) == 112  # as is, rounded up to 16 MiB


def test_profiles_grow_step_by_step_and_name_the_smallest_type_that_holds_them(defaults: dict[str, Any]) -> None:
    memtotal = defaults["monitoring_stack_instance_memtotal_mib"]
    kind = budget.family(defaults["monitoring_stack_instance_type"])
    steps: list[str] = []
    for profile, (step, _) in zip(budget.profiles(defaults), budget.STEPS, strict=True):
        steps.append(step)
        assert profile.needed_mib == budget.needed(defaults, steps)
        assert profile.fits is not None, f"no {kind} type holds {profile.name}"
        assert memtotal[profile.fits] >= profile.needed_mib
        smaller = [m for t, m in memtotal.items() if budget.family(t) == kind and m < memtotal[profile.fits]]
        assert all(m < profile.needed_mib for m in smaller), f"{profile.fits} is not the smallest for {profile.name}"


def test_planning_memtotal_is_below_the_nominal_size(defaults: dict[str, Any]) -> None:
    nominal = {"small": 2048, "medium": 4096, "large": 8192, "xlarge": 16384}
    for name, mib in defaults["monitoring_stack_instance_memtotal_mib"].items():
        assert mib < nominal[name.split(".")[1]], f"{name}: MemTotal {mib} MiB is not less than the nominal size"


def test_readme_shows_the_current_table(defaults: dict[str, Any], results: dict[str, Any]) -> None:
    assert budget.markdown(defaults, results) in (REPO / "README.md").read_text(encoding="utf-8"), (
        "README.md is stale: paste the output of `obsctl budget`"
    )


def test_cli_prints_the_table(defaults: dict[str, Any], results: dict[str, Any], capsys: Any) -> None:
    assert cli.main(["budget"]) == 0
    assert capsys.readouterr().out.strip() == budget.markdown(defaults, results)


# ---- the preflight, rendered by the role against the facts of a host -----------------------------

# The fixture inventory's profile: the analyzer is on (default), no bot token, no report delivery.
FIXTURE_STEPS = ["core", "analyzer"]


def _facts(memtotal_mb: int) -> dict[str, Any]:
    return {"ansible_facts": {"memtotal_mb": memtotal_mb}}


def test_preflight_refuses_a_host_one_mib_short_naming_profile_sum_memtotal_and_type(
    defaults: dict[str, Any], tmp_path: Path
) -> None:
    need = budget.needed(defaults, FIXTURE_STEPS)
    memtotal = defaults["monitoring_stack_instance_memtotal_mib"]
    fits = budget.smallest_instance(memtotal, need, budget.family(defaults["monitoring_stack_instance_type"]))
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", _facts(need - 1), expect_ok=False)
    out = r.proc.stdout
    assert r.proc.returncode != 0
    assert "The memory profile 'core + analyzer' needs" in out, out[-3000:]
    assert f"needs {need} MiB" in out
    assert f"this host's MemTotal of {need - 1} MiB (from facts)" in out
    assert f"The smallest instance type that holds it is {fits} (MemTotal {memtotal[fits]} MiB)" in out
    assert "monitoring_stack_analyzer_enabled: false" in out
    assert not (tmp_path / "out" / "compose.yml").exists(), "nothing rendered after the refusal"


def test_preflight_accepts_a_host_whose_memtotal_holds_the_profile_exactly(
    defaults: dict[str, Any], tmp_path: Path
) -> None:
    need = budget.needed(defaults, FIXTURE_STEPS)
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", _facts(need))
    stack = r.yaml("compose.yml")
    assert stack["x-obs-memory-budget"]["host_mib"] == need, "the compose budget carries the host's MemTotal"
    assert stack["x-obs-memory-budget"]["unscheduled_jobs"] == ["report"], "no delivery: the report job idles"


def test_preflight_counts_the_report_job_once_its_timers_are_on(defaults: dict[str, Any], tmp_path: Path) -> None:
    need = budget.needed(defaults, [*FIXTURE_STEPS, "reports"])
    extra = _facts(need - 1) | {
        "monitoring_stack_reports_discord_webhook_url": "https://discord.invalid/api/webhooks/3/r"
    }
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert "The memory profile 'core + analyzer + reports' needs" in r.proc.stdout, r.proc.stdout[-3000:]
    assert f"needs {need} MiB" in r.proc.stdout


def test_preflight_refuses_an_instance_type_without_a_planning_figure(tmp_path: Path) -> None:
    r = render(
        _fixture_inventory(tmp_path), tmp_path / "out", {"monitoring_stack_instance_type": "m9q.huge"}, expect_ok=False
    )
    assert "monitoring_stack_instance_type is 'm9q.huge', which monitoring_stack_instance_memtotal_mib" in r.proc.stdout
