"""Every PromQL expression of every dashboard panel, run by a real Prometheus over sample data.

Debian's build of the Prometheus release the stack pins (3.5, from forky; tests/support.tool checks
the major.minor) is started on a free loopback port over a TSDB backfilled with
`promtool tsdb create-blocks-from openmetrics` from tests/fixtures/metrics/samples.py (a series for
every catalogued metric). Each expression, with the dashboard variables replaced by real values,
must parse (HTTP 400 "bad_data" otherwise) and return data.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from obsctl import dashboards
from obsctl.signals import metrics, queries
from tests.fixtures.metrics import samples
from tests.fixtures.metrics.prometheus import backfilled

# Values the dashboard variables take in the lab: app-1 runs api and chat behind nginx.
MULTI = {"app": "api|chat", "instance": ".+", "pool": ".+", "host": "app-1"}
SINGLE_APPS = ("api", "chat")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    work = tmp_path_factory.mktemp("prom")
    end = int(time.time()) // 60 * 60
    openmetrics = work / "samples.om"
    samples.write_openmetrics(str(openmetrics), end)
    with backfilled(work, openmetrics) as url:
        yield url, end


def _query(url: str, expr: str, at: int) -> tuple[str, list[Any]]:
    """('', result) on success, (error text, []) when Prometheus rejects the expression."""
    params = urllib.parse.urlencode({"query": expr, "time": str(at)})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=30) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as exc:
        return json.load(exc).get("error", str(exc)), []
    return "", body["data"]["result"]


def _substitute(expr: str, app: str) -> str:
    out = expr.replace('app="$app"', f'app="{app}"')
    for name, value in MULTI.items():
        out = out.replace(f"${name}", value)
    return out


def _dashboard_exprs() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, expression) for every Prometheus target of every panel."""
    out = []
    for model in dashboards.build_all().values():
        for panel in model["panels"]:
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("uid") == "prometheus":
                    out.append((model["uid"], panel["title"], target["expr"]))
    return out


EXPRS = _dashboard_exprs()
UIDS = sorted({uid for uid, _, _ in EXPRS})


@pytest.mark.parametrize("uid", UIDS)
def test_every_panel_query_parses_and_returns_data(prometheus: tuple[str, int], uid: str) -> None:
    url, at = prometheus
    executed = with_data = 0
    failures = []
    apps = SINGLE_APPS if uid in {"jvm", "http-red"} else ("",)
    for _, title, expr in (e for e in EXPRS if e[0] == uid):
        for app in apps:
            concrete = _substitute(expr, app)
            assert "$" not in concrete, f"unsubstituted variable in {concrete}"
            error, result = _query(url, concrete, at)
            executed += 1
            if error:
                failures.append(f"{title}: parse/eval error {error}: {concrete}")
            elif not result:
                failures.append(f"{title}: no data: {concrete}")
            else:
                with_data += 1
    print(f"\n{uid}: {executed} PromQL queries executed, {with_data} returned data")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("key", sorted(k for k, q in queries.QUERIES.items() if q.language == "promql"))
def test_every_catalogued_concept_runs_unfiltered(prometheus: tuple[str, int], key: str) -> None:
    """The alerts use the concepts with an empty matcher slot: those forms must run too."""
    url, at = prometheus
    error, result = _query(url, queries.get(key).render(), at)
    assert not error, error
    assert result, f"{key} returned no data over the samples"


@pytest.mark.parametrize(("app", "pool"), [("api", "DoktoriHikariPool"), ("chat", "ChatHikariPool")])
def test_jvm_pool_variable_follows_the_application(prometheus: tuple[str, int], app: str, pool: str) -> None:
    url, at = prometheus
    model = dashboards.build_all()["jvm.json"]
    variable = next(v for v in model["templating"]["list"] if v["name"] == "pool")
    selector = variable["query"].removeprefix("label_values(").rsplit(",", 1)[0].replace("$app", app)
    params = urllib.parse.urlencode({"match[]": selector, "start": str(at - 3600), "end": str(at)})
    with urllib.request.urlopen(f"{url}/api/v1/label/pool/values?{params}", timeout=30) as resp:
        assert json.load(resp)["data"] == [pool]


def test_chat_tomcat_max_threads_is_read_from_the_metric(prometheus: tuple[str, int]) -> None:
    url, at = prometheus
    error, result = _query(url, queries.get("tomcat_threads_max").render('app="chat"'), at)
    assert not error
    assert [float(r["value"][1]) for r in result] == [100.0]


def test_samples_cover_every_catalogued_series() -> None:
    names = {s.name for s in samples.all_series()}
    assert metrics.known_series_names() <= names
