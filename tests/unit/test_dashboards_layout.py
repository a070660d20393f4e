"""The seed-000 rules, enforced on the generated dashboard JSON (whatever the modules put in it)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from obsctl import dashboards
from obsctl.dashboards import runbooks, style
from obsctl.signals import queries
from tests.support import REPO

BUILT = dashboards.build_all()
EXPECTED_UIDS = {"overview", "jvm", "http-red", "logs", "nginx", "hosts", "self", "chatbot", "llm"}
SECTION_TITLES = ["Act now", "Key indicators", "Trends", "Details"]


def _panels(model: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in model["panels"] if p["type"] != "row"]


def _sections(model: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Panels grouped under the row header that precedes them."""
    out: dict[str, list[dict[str, Any]]] = {}
    current = ""
    for panel in model["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
            out[current] = []
        else:
            out.setdefault(current, []).append(panel)
    return out


def _colours(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"color", "fixedColor", "iconColor"} and isinstance(value, str):
                yield value
            else:
                yield from _colours(value)
    elif isinstance(node, list):
        for item in node:
            yield from _colours(item)


def test_every_required_dashboard_is_built_with_its_fixed_uid() -> None:
    assert {m["uid"] for m in BUILT.values()} == EXPECTED_UIDS
    for name, model in BUILT.items():
        assert name == f"{model['uid']}.json"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_sections_come_in_reading_order(name: str) -> None:
    rows = [p["title"] for p in BUILT[name]["panels"] if p["type"] == "row"]
    assert rows == SECTION_TITLES
    ys = [p["gridPos"]["y"] for p in BUILT[name]["panels"]]
    assert ys == sorted(ys), "panels must be listed top to bottom (phones stack them in this order)"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_top_row_is_what_needs_action_now(name: str) -> None:
    act = _sections(BUILT[name])["Act now"]
    assert [p["type"] for p in act].count("alertlist") == 1
    alert_list = next(p for p in act if p["type"] == "alertlist")
    assert alert_list["options"]["stateFilter"]["firing"] is True
    tiles = [p for p in act if p["type"] != "alertlist"]
    assert tiles, "the top row needs a red/amber status tile next to the alert list"
    for tile in tiles:
        assert tile["type"] == "stat"
        assert tile["options"]["colorMode"] == "background"
        colours = {s["color"] for s in tile["fieldConfig"]["defaults"]["thresholds"]["steps"]}
        assert {style.CRITICAL, style.WARNING} <= colours, tile["title"]


@pytest.mark.parametrize("name", sorted(BUILT))
def test_second_row_is_four_kpi_stats(name: str) -> None:
    kpis = _sections(BUILT[name])["Key indicators"]
    assert [p["type"] for p in kpis] == ["stat"] * 4
    assert len({p["gridPos"]["y"] for p in kpis}) == 1, "the four KPIs share one row"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_trends_then_details(name: str) -> None:
    sections = _sections(BUILT[name])
    assert sections["Trends"] and all(p["type"] == "timeseries" for p in sections["Trends"])
    assert sections["Details"] and all(p["type"] in {"table", "logs", "annolist"} for p in sections["Details"])


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_panel_says_what_bad_means_and_what_to_do(name: str) -> None:
    for panel in _panels(BUILT[name]):
        text = panel.get("description", "")
        assert "**Bad:**" in text and "**Do:**" in text, panel["title"]
        bad = text.split("**Bad:**")[1].split("**Do:**")[0].strip()
        do = text.split("**Do:**")[1].split("**Runbook:**")[0].strip()
        assert len(bad) > 10 and len(do) > 10, panel["title"]


@pytest.mark.parametrize("name", sorted(BUILT))
def test_runbook_links_name_p1_p2_alerts_of_the_catalog(name: str) -> None:
    linked = re.findall(
        r"docs/runbooks/([a-z0-9-]+)\.md", "".join(p.get("description", "") for p in _panels(BUILT[name]))
    )
    known = runbooks.catalog().severities
    assert known, "alerting/catalog.yml defines no alert: the runbook uids cannot be checked"
    for uid in linked:
        assert known.get(uid) in runbooks.RUNBOOK_SEVERITIES, uid


def test_most_status_and_kpi_panels_link_a_runbook() -> None:
    tiles = [
        p
        for m in BUILT.values()
        for section in ("Act now", "Key indicators")
        for p in _sections(m)[section]
        if p["type"] == "stat"
    ]
    with_runbook = [p for p in tiles if "**Runbook:**" in p["description"]]
    assert len(with_runbook) * 2 >= len(tiles), "at least half of the red/amber tiles point to a runbook"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_one_colour_scheme(name: str) -> None:
    model = BUILT[name]
    assert set(_colours(model)) <= style.PALETTE
    for panel in _panels(model):
        mode = panel.get("fieldConfig", {}).get("defaults", {}).get("color", {}).get("mode")
        assert mode in {None, "thresholds", "shades", "fixed"}, f"{panel['title']}: colour mode {mode}"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_readable_on_a_phone(name: str) -> None:
    rows: dict[int, list[dict[str, Any]]] = {}
    for panel in _panels(BUILT[name]):
        rows.setdefault(panel["gridPos"]["y"], []).append(panel)
        assert panel["gridPos"]["w"] >= style.GRID_WIDTH // style.MAX_PANELS_PER_ROW
        if panel["type"] == "stat":
            assert panel["options"]["text"]["valueSize"] >= 32
    assert max(len(r) for r in rows.values()) <= style.MAX_PANELS_PER_ROW


@pytest.mark.parametrize("name", sorted(BUILT))
def test_deployments_are_marked_on_every_dashboard(name: str) -> None:
    queries = BUILT[name]["annotations"]["list"]
    deploy = [q for q in queries if q.get("target", {}).get("tags") == [style.DEPLOYMENT_TAG]]
    assert len(deploy) == 1
    assert deploy[0]["enable"] is True
    assert deploy[0]["datasource"]["type"] == "grafana"
    assert deploy[0]["target"]["type"] == "tags"


@pytest.mark.parametrize("name", sorted(BUILT))
def test_links_keep_the_time_range(name: str) -> None:
    model = BUILT[name]
    assert model["links"], "every dashboard links to the others"
    for link in model["links"]:
        assert link["keepTime"] is True
        assert style.PLATFORM_TAG in link["tags"]
    assert style.PLATFORM_TAG in model["tags"]
    for panel in _panels(model):
        for override in panel.get("fieldConfig", {}).get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "links":
                    for link in prop["value"]:
                        assert "${__url_time_range}" in link["url"], link["url"]


def test_queries_come_from_the_catalog_only() -> None:
    """Every target expression is some catalogued concept, rendered (no hand-written PromQL)."""
    skeletons = {re.sub(r"\{[^{}]*\}", "{}", q.expr % {"m": ""}) for q in queries.QUERIES.values()}
    for model in BUILT.values():
        for panel in _panels(model):
            for target in panel.get("targets", []):
                shape = re.sub(r"\{[^{}]*\}", "{}", re.sub(r" offset \w+", "", target["expr"]))
                assert shape in skeletons, f"{model['uid']}/{panel['title']}: {target['expr']}"


def test_linked_runbooks_exist() -> None:
    text = "".join(p.get("description", "") for m in BUILT.values() for p in _panels(m))
    linked = sorted(set(re.findall(r"docs/runbooks/([a-z0-9-]+)\.md", text)))
    assert linked, "the dashboards link no runbook at all"
    directory = REPO / "docs" / "runbooks"
    missing = [uid for uid in linked if not (directory / f"{uid}.md").exists()]
    assert not missing, f"panels link runbooks that do not exist: {missing}"
