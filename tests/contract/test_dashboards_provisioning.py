"""The committed dashboard files, checked against what Grafana file provisioning and Loki accept.

No Grafana or Loki binary can run here, so the rules their documentation and source state are
checked on the files the role copies: fixed datasource uids that the role's datasource
provisioning defines (no ${DS_*} inputs, which file provisioning cannot resolve), unique panel
ids, panels inside the 24-column grid without overlaps, core panel types only, and LogQL stream
selectors that Loki's grammar and its "at least one non-empty matcher" rule accept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO

DASHBOARD_DIR = REPO / "roles" / "monitoring_stack" / "files" / "grafana" / "dashboards"
DATASOURCES = REPO / "roles" / "monitoring_stack" / "templates" / "grafana" / "datasources" / "datasources.yml.j2"
FILES = sorted(DASHBOARD_DIR.glob("*.json"))
# Panel plugins bundled with Grafana 11.5+/12 (no plugin installation on the server).
CORE_PANELS = {"row", "stat", "timeseries", "table", "logs", "alertlist", "annolist"}
DATASOURCE_TYPES = {"prometheus": "prometheus", "loki": "loki", "-- Grafana --": "grafana"}
# Dashboard schema version written by grafana-foundation-sdk's Grafana 11.6 target; Grafana 12
# migrates older versions on load, never the other way round.
SCHEMA_VERSION = 41


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _datasource_refs(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield value
            else:
                yield from _datasource_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _datasource_refs(item)


def test_every_dashboard_file_is_there() -> None:
    assert {p.stem for p in FILES} == {
        "overview",
        "jvm",
        "http-red",
        "logs",
        "nginx",
        "hosts",
        "self",
        "chatbot",
        "llm",
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_provisioning_can_load_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    model = _load(path)
    assert "${DS_" not in text and "__inputs" not in model and "__requires" not in model
    assert re.fullmatch(r"[a-z0-9-]{1,40}", model["uid"]) and path.stem == model["uid"]
    assert model.get("id") is None, "a fixed numeric id collides between Grafana instances"
    assert model["schemaVersion"] == SCHEMA_VERSION
    assert model["editable"] is False, "provisioned dashboards change through code, not the UI"


def test_titles_are_unique() -> None:
    titles = [_load(p)["title"] for p in FILES]
    assert len(titles) == len(set(titles))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_datasources_are_the_fixed_provisioned_uids(path: Path) -> None:
    refs = list(_datasource_refs(_load(path)))
    assert refs
    for ref in refs:
        assert ref["uid"] in DATASOURCE_TYPES, ref
        assert ref["type"] == DATASOURCE_TYPES[ref["uid"]], ref
    assert DATASOURCES.exists(), f"{DATASOURCES.relative_to(REPO)} is missing"
    provisioned = set(re.findall(r"^\s+uid:\s*(\S+)", DATASOURCES.read_text(encoding="utf-8"), re.MULTILINE))
    used = {r["uid"] for r in refs} - {"-- Grafana --"}
    assert used <= provisioned, f"dashboards use datasource uids the role does not provision: {used - provisioned}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_panels_fit_the_grid_without_overlap(path: Path) -> None:
    panels = _load(path)["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        assert panel["type"] in CORE_PANELS, panel["type"]
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0
        covered = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered


def _loki_exprs() -> list[tuple[str, str]]:
    out = []
    for path in FILES:
        for panel in _load(path)["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["uid"] == "loki":
                    out.append((f"{path.stem}/{panel['title']}", target["expr"]))
    return out


_SELECTOR = re.compile(r"\{([^{}]*)\}")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


def _stream_selectors(expr: str) -> list[str]:
    """Stream selectors only: skip the braces inside quoted strings and backtick patterns."""
    stripped = re.sub(r"`[^`]*`", "``", expr)
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0).replace("{", "(").replace("}", ")"), stripped)
    return [m.group(1) for m in _SELECTOR.finditer(stripped)]


@pytest.mark.parametrize(("where", "expr"), _loki_exprs(), ids=[w for w, _ in _loki_exprs()])
def test_logql_selectors_are_valid_for_loki(where: str, expr: str) -> None:
    # Grafana substitutes "All" of a multi-value variable with its allValue (.+).
    concrete = re.sub(r"\$\w+", ".+", expr)
    selectors = _stream_selectors(concrete)
    assert selectors, f"{where}: a LogQL query needs a stream selector"
    for body in selectors:
        parts = body.split('",')
        matchers = [p + '"' if i < len(parts) - 1 else p for i, p in enumerate(parts)]
        assert all(_MATCHER.fullmatch(m) for m in matchers), f"{where}: malformed selector {{{body}}}"
        non_empty = [
            m
            for m in (_MATCHER.fullmatch(x) for x in matchers)
            if m
            and (
                (m.group(2) == "=" and m.group(3) != "")
                or (m.group(2) == "=~" and re.fullmatch(m.group(3).replace("\\\\", "\\"), "") is None)
            )
        ]
        assert non_empty, f"{where}: Loki rejects {{{body}}}: every matcher matches the empty string"
    assert expr.count("(") == expr.count(")"), f"{where}: unbalanced parentheses"
