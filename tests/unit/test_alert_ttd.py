"""Time to detect per severity, from the configuration that is deployed (not from constants here)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from obsctl import cli, common
from obsctl.alerting import catalog as cat
from obsctl.alerting import ttd
from obsctl.common import duration_seconds
from tests.support import REPO

OUT = REPO / "roles" / "monitoring_stack" / "files" / "grafana" / "provisioning" / "alerting"
P1_BUDGET_S = 90  # issue 19: a P1 page within 90 s of the fault, worst case
P1_QUIET_BLIP_S = 30  # ...and none for a fault shorter than 30 s


@pytest.fixture(scope="module")
def rows() -> list[ttd.Row]:
    return ttd.table(cat.load(REPO / "alerting" / "catalog.yml"), common.scrape_interval_seconds())


def _generated(name: str) -> Any:
    return yaml.safe_load((OUT / name).read_text(encoding="utf-8"))


def test_p1_is_detected_within_90_seconds(rows: list[ttd.Row]) -> None:
    p1 = next(r for r in rows if r.severity == "P1")
    print(f"\n{ttd.markdown(rows)}")
    assert p1.total_s <= P1_BUDGET_S, f"P1 worst case {ttd.human(p1.total_s)} exceeds {P1_BUDGET_S}s"


def test_p1_does_not_page_for_a_blip_shorter_than_30_seconds(rows: list[ttd.Row]) -> None:
    p1 = next(r for r in rows if r.severity == "P1")
    assert p1.quiet_blip_s >= P1_QUIET_BLIP_S, (
        f"a {ttd.human(p1.quiet_blip_s + 1)} fault may page P1 ({p1.fastest_alert}: for {ttd.human(p1.fastest_for_s)})"
    )


def test_blip_bound_is_for_minus_one_scrape() -> None:
    row = ttd.Row("P1", 15, 10, 50, 10, "a", 1, fastest_for_s=50, fastest_alert="a")
    assert row.quiet_blip_s == 35
    assert ttd.Row("P3", 15, 60, 0, 60, "b", 1, fastest_for_s=0, fastest_alert="b").quiet_blip_s == 0


def test_terms_are_the_deployed_values(rows: list[ttd.Row]) -> None:
    """Each term equals what the generated provisioning files and roles/obs_common deploy."""
    defaults = yaml.safe_load((REPO / "roles" / "obs_common" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    routes = {r["object_matchers"][0][2]: r for r in _generated("notification-policies.yml")["policies"][0]["routes"]}
    groups = _generated("alert-rules.yml")["groups"]
    for row in rows:
        assert row.scrape_s == duration_seconds(defaults["obs_common_scrape_interval"])
        assert row.group_wait_s == duration_seconds(routes[row.severity]["group_wait"])
        mine = [(g, r) for g in groups for r in g["rules"] if r["labels"]["severity"] == row.severity]
        assert len(mine) == row.alerts
        assert {duration_seconds(g["interval"]) for g, _ in mine} == {row.evaluation_s}
        assert row.for_s == max(duration_seconds(r["for"]) for _, r in mine)
        assert row.fastest_for_s == min(duration_seconds(r["for"]) for _, r in mine)
        assert row.total_s == row.scrape_s + row.evaluation_s + row.for_s + row.group_wait_s


@pytest.mark.parametrize("doc", ["docs/alerting.md", "README.md"])
def test_docs_show_the_current_table(rows: list[ttd.Row], doc: str) -> None:
    text = (REPO / doc).read_text(encoding="utf-8")
    assert ttd.markdown(rows) in text, f"{doc} is stale: paste the output of `obsctl alerts ttd`"


def test_cli_prints_the_table(rows: list[ttd.Row], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["alerts", "ttd"]) == 0
    assert capsys.readouterr().out.strip() == ttd.markdown(rows)


def test_human_durations() -> None:
    assert ttd.human(105) == "1m45s"
    assert ttd.human(4215) == "1h10m15s"
    assert ttd.human(9) == "9s"
