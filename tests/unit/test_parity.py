"""obsctl parity against Prometheus answers recorded from a real Prometheus 2.42 (tests/fixtures/parity).

A local HTTP server (a test double: it replays, it is not Prometheus) answers each recorded body
and status, and only when obsctl asks exactly the recorded question (path and parameters, as a
query string or, as the Prometheus client sends queries, a form-encoded POST body), so the request
format is checked too. One normalisation: the recording asked ``step=1s``, the client sends
``step=1`` (Prometheus reads both as seconds). The Loki part
replays the response shape documented for GET /loki/api/v1/series (no Loki can run here to record
one); it is marked as such below.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from obsctl import cli, parity
from obsctl.clients.loki import LokiClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from tests.support import REPO, HttpTestDouble, double_url, serve_double

RECORDED = json.loads((REPO / "tests/fixtures/parity/responses.json").read_text())
RESPONSES: dict[str, Any] = RECORDED["responses"]
HOST = RECORDED["host"]

# Shape from Loki's HTTP API documentation (GET /loki/api/v1/series), NOT recorded: no Loki here.
LOKI_DOCUMENTED_SERIES = {
    "status": "success",
    "data": [
        {"host": HOST, "job": "app-logs", "app": "api", "env": "prod", "filename": "/var/log/doktori/api/api.log"},
        {"host": HOST, "job": "journal", "env": "prod", "unit": "nginx.service"},
    ],
}


def _normalised(params: list[tuple[str, str]] | list[list[str]]) -> list[tuple[str, str]]:
    """``step=1s`` and ``step=1`` are the same question to Prometheus."""
    return [(k, v.removesuffix("s") if k == "step" else v) for k, v in params]


def prometheus(url: str, timeout: float = 10.0) -> PrometheusClient:
    return PrometheusClient(url, timeout=timeout, retries=0)


def loki(url: str) -> LokiClient:
    return LokiClient(url, retries=0)


def _window(name: str) -> parity.Window:
    params = dict(RESPONSES[name]["params"])
    return parity.Window(float(params["start"]), float(params["end"]))


class Replay:
    """Routes (path, frozenset(params)) -> (status, body); anything else is a 404 with the request shown."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, frozenset[tuple[str, str]]], tuple[int, Any]] = {}
        self.seen: list[tuple[str, list[tuple[str, str]]]] = []

    def add_recorded(self, name: str) -> None:
        item = RESPONSES[name]
        params = frozenset(_normalised(item["params"]))
        self.routes[(item["path"], params)] = (item["status"], item["body"])

    def add_loki(self, body: Any) -> None:
        self.routes[("/loki/api/v1/series", frozenset())] = (200, body)


@pytest.fixture
def server() -> Iterator[tuple[str, Replay]]:
    replay = Replay()

    class ReplayTestDouble(HttpTestDouble):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            self._answer(parts.path, parse_qsl(parts.query))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qsl(self.rfile.read(length).decode())
            self._answer(urlsplit(self.path).path, form)

        def _answer(self, path: str, params: list[tuple[str, str]]) -> None:
            replay.seen.append((path, params))
            key = (path, frozenset(_normalised(params)))
            if path == "/loki/api/v1/series":
                key = (path, frozenset())
            status, body = replay.routes.get(key, (404, {"status": "error", "error": f"unexpected {path} {params}"}))
            self.reply(status, body)

    with serve_double(ReplayTestDouble) as httpd:
        yield double_url(httpd), replay


def _dropped_names() -> set[str]:
    names = {s["metric"]["__name__"] for s in RESPONSES["names_before"]["body"]["data"]["result"]}
    return {n for n in names if any(n.startswith(f"node_{c}_") for c in RECORDED["dropped_collectors"])}


def test_recorded_gap_is_reported_name_by_name(server: tuple[str, Replay]) -> None:
    url, replay = server
    replay.add_recorded("names_before")
    replay.add_recorded("names_after")
    report = parity.compare(prometheus(url), HOST, _window("names_before"), _window("names_after"))
    assert set(report.missing) == _dropped_names()
    assert report.missing, "the recorded 'after' window lacks the dropped collectors"
    assert not report.ok
    text = parity.render(report)
    assert "result: GAP" in text
    assert all(f"    {name}" in text for name in report.missing)


def test_same_window_twice_is_parity(server: tuple[str, Replay]) -> None:
    url, replay = server
    replay.add_recorded("names_before")
    window = _window("names_before")
    report = parity.compare(prometheus(url), HOST, window, window)
    assert report.missing == []
    assert report.ok
    assert parity.render(report).endswith("result: OK")


def test_unknown_host_is_an_input_error_not_a_pass(server: tuple[str, Replay]) -> None:
    url, replay = server
    replay.add_recorded("names_unknown_host")
    item = dict(RESPONSES["names_unknown_host"]["params"])
    window = parity.Window(float(item["start"]), float(item["end"]))
    # The recorded question spans both windows; ask with the same bounds.
    with pytest.raises(ObsError, match="no series") as exc:
        parity.compare(prometheus(url), "no-such-host", window, window)
    assert exc.value.fix and "host name" in exc.value.fix


def test_prometheus_error_body_is_shown(server: tuple[str, Replay]) -> None:
    url, replay = server
    replay.add_recorded("bad_request")
    params = dict(RESPONSES["bad_request"]["params"])
    api = prometheus(url)
    # The recorded question had start=not-a-time: send exactly that form through the client.
    with pytest.raises(ObsError, match=r"HTTP 400 Bad Request.*invalid parameter.*start.*bad_data") as exc:
        api.http.request("POST", "/api/v1/query_range", data=params, retry=True)
    assert exc.value.fix


def test_logs_found_and_missing(server: tuple[str, Replay]) -> None:
    url, replay = server
    replay.add_recorded("names_before")
    window = _window("names_before")
    replay.add_loki(LOKI_DOCUMENTED_SERIES)
    report = parity.compare(prometheus(url), HOST, window, window, loki=loki(url), logs_window=window)
    assert report.ok
    assert "2 streams" in parity.render(report) and "app-logs, journal" in parity.render(report)
    loki_calls = [params for path, params in replay.seen if path == "/loki/api/v1/series"]
    assert ("match[]", f'{{host="{HOST}"}}') in loki_calls[0]
    assert dict(loki_calls[0])["start"] == str(int(window.start * 1e9))

    replay.add_loki({"status": "success", "data": []})
    report = parity.compare(prometheus(url), HOST, window, window, loki=loki(url), logs_window=window)
    assert not report.ok
    assert f'NO stream with host="{HOST}"' in parity.render(report)


def test_unreachable_endpoint_says_what_to_check() -> None:
    window = parity.Window(1.0, 2.0)
    with pytest.raises(
        ObsError, match=r"Prometheus at http://127\.0\.0\.1:9/api/v1/query_range: cannot connect"
    ) as exc:
        parity.compare(prometheus("http://127.0.0.1:9", timeout=2), HOST, window, window)
    assert exc.value.fix and "tunnel" in exc.value.fix


def test_non_json_answer_names_the_url(server: tuple[str, Replay]) -> None:
    url, _ = server
    window = parity.Window(1.0, 2.0)
    with pytest.raises(ObsError, match="HTTP 404"):
        parity.log_streams(loki(url + "/wrong/prefix"), HOST, window)


def test_loki_answer_that_is_not_a_list_of_streams_is_an_error(server: tuple[str, Replay]) -> None:
    url, replay = server
    replay.add_loki({"status": "success", "data": {"not": "a list"}})
    with pytest.raises(ObsError, match="no list of streams"):
        parity.log_streams(loki(url), HOST, parity.Window(1.0, 2.0))


def test_self_metrics_of_node_exporter_are_not_a_gap() -> None:
    assert parity.ignored_names(
        {"go_goroutines", "process_cpu_seconds_total", "node_load1"}, parity.DEFAULT_IGNORED
    ) == {
        "go_goroutines",
        "process_cpu_seconds_total",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-2h..-1h", (1000.0 - 7200, 1000.0 - 3600)), ("-10m..now", (400.0, 1000.0)), ("100..200", (100.0, 200.0))],
)
def test_window_parsing(text: str, expected: tuple[float, float]) -> None:
    window = parity.parse_window(text, now=1000.0)
    assert (window.start, window.end) == expected


def test_window_parsing_rfc3339() -> None:
    window = parity.parse_window("2026-02-18T09:00:00Z..2026-02-18T19:00:00+09:00", now=0)
    assert window.start == datetime(2026, 2, 18, 9, tzinfo=UTC).timestamp()
    assert window.end == datetime(2026, 2, 18, 10, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "text",
    [
        "-1h",
        "-1h..-2h",
        "yesterday..now",
        "2026-02-18T09:00:00..now",
        # Regressions: float() reads these, and nan compares false with everything (was a traceback).
        "nan..-1h",
        "-1h..inf",
        "-15..now",
        "-inf..now",
    ],
)
def test_bad_windows_are_explained(text: str) -> None:
    with pytest.raises(ObsError) as exc:
        parity.parse_window(text, now=10_000_000.0)
    assert exc.value.fix


def test_logs_since_needs_a_unit() -> None:
    """Regression: `--logs-since 15` was read as the unix timestamp -15 (a window from 1970)."""
    assert parity.logs_window("15m", now=10_000.0) == parity.Window(10_000.0 - 900, 10_000.0)
    for text in ("15", "-15m", "0s", "nan", ""):
        with pytest.raises(ObsError) as exc:
            parity.logs_window(text, now=10_000.0)
        assert "--logs-since" in exc.value.message
        assert exc.value.fix


def test_cli_rejects_bad_times_with_exit_2_and_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["parity", "--host", HOST, "--prometheus", "http://127.0.0.1:9", "--loki", "http://127.0.0.1:9"]
    assert cli.main([*base, "--before", "nan..-1h"]) == 2
    assert cli.main([*base, "--logs-since", "15"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    assert "'nan' is not a time" in err and "--logs-since '15' is not a duration" in err


def test_cli_exit_codes(
    server: tuple[str, Replay], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, replay = server
    replay.add_recorded("names_before")
    replay.add_recorded("names_after")
    replay.add_loki(LOKI_DOCUMENTED_SERIES)
    before, after = _window("names_before"), _window("names_after")
    monkeypatch.setattr(parity, "now", lambda: after.end)
    argv = [
        "parity", "--host", HOST, "--prometheus", url, "--loki", url,
        "--before", f"{before.start:.3f}..{before.end:.3f}", "--after", f"{after.start:.3f}..{after.end:.3f}",
    ]  # fmt: skip
    assert cli.main(argv) == 1
    out = capsys.readouterr().out
    assert "MISSING after the switch" in out and "result: GAP" in out
    assert cli.main([*argv[:-2], "--after", f"{before.start:.3f}..{before.end:.3f}"]) == 0
    assert cli.main(["parity", "--host", HOST, "--prometheus", "http://127.0.0.1:9", "--loki", url]) == 2
    assert "Prometheus at http://127.0.0.1:9/api/v1/query_range: cannot connect" in capsys.readouterr().err


def test_fixture_was_recorded_from_prometheus() -> None:
    assert RECORDED["recorded_with"].startswith("prometheus 2.")
    assert Path(REPO / "tests/fixtures/parity/record.py").exists()
