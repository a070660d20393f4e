"""verify's checks against constructed API responses.

The payloads below are built in the documented shapes of each API (Prometheus
/api/v1/targets, Loki /ready and /loki/api/v1/query, Grafana /api/health, /api/datasources/uid,
/api/search, /api/v1/provisioning/alert-rules, `wg show all latest-handshakes`, and the
monitoring stack's unavailable-services.json). A fake transport plays the hosts, so the whole
verify() run is exercised without infrastructure; the real run is tests/integration/test_lab.py.
"""

from __future__ import annotations

import json
import time

import pytest

from obsctl import common, tools, verify
from obsctl.verify import DASHBOARD_UIDS, Host, Report
from tests.support import REPO

NOW = 1_800_000_000.0


RECORDED = REPO / "tests" / "fixtures" / "recorded"
PROMETHEUS_BUILDINFO = (RECORDED / "prometheus-3.5.3-buildinfo.json").read_text(encoding="utf-8")
BLACKBOX_METRICS = (RECORDED / "blackbox-0.28.0-metrics.txt").read_text(encoding="utf-8")


def _targets(*health: tuple[str, str]) -> dict:
    return {
        "status": "success",
        "data": {
            "activeTargets": [
                {
                    "labels": {"job": job, "instance": f"{job}-{i}"},
                    "health": h,
                    "lastError": "" if h == "up" else "timeout",
                }
                for i, (job, h) in enumerate(health)
            ]
        },
    }


def test_handshakes_parsed_with_age_and_never():
    text = f"wg0\tPEERAAAA=\t{int(NOW) - 42}\nwg0\tPEERBBBB=\t0\n"
    assert verify.parse_handshakes(text, NOW) == [("wg0", "PEERAAAA=", 42.0), ("wg0", "PEERBBBB=", None)]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (f"wg0\tA=\t{int(NOW) - 30}\nwg0\tB=\t0\n", "ok"),  # operator offline, app peer fresh
        (f"wg0\tA=\t{int(NOW) - 900}\n", "fail"),  # stale
        ("", "fail"),  # no peers at all
    ],
)
def test_tunnel_status(text, status):
    report = Report()
    verify.check_tunnel(report, "mon-1", text, "", NOW)
    assert report.results[0].status == status


def test_tunnel_command_failure_is_a_failure():
    report = Report()
    verify.check_tunnel(report, "app-1", None, "wg: command not found", NOW)
    assert report.results[0].status == "fail"
    assert "wg: command not found" in report.results[0].detail


def test_targets_all_up():
    report = Report()
    verify.check_prometheus_targets(report, _targets(("node", "up"), ("spring", "up")), {})
    assert [r.status for r in report.results] == ["ok"]
    assert "2/2 up" in report.results[0].detail


def test_target_down_fails_unless_its_service_is_unavailable():
    report = Report()
    verify.check_prometheus_targets(
        report, _targets(("node", "up"), ("loki", "down"), ("spring", "down")), {"loki": "x"}
    )
    statuses = [(r.check, r.status) for r in report.results]
    assert statuses == [("targets", "fail"), ("target down", "fail")]
    assert "spring/spring-2: timeout" in report.results[1].detail
    assert "loki/loki-1" in report.results[0].detail  # listed as not available, not as broken


def test_loki_ready_and_receiving():
    report = Report()
    query = {"status": "success", "data": {"result": [{"metric": {"job": "app-logs"}, "value": [NOW, "120"]}]}}
    verify.check_loki(report, "ready\n", query)
    assert [r.status for r in report.results] == ["ok", "ok"]
    report = Report()
    verify.check_loki(report, "ready", {"data": {"result": []}})
    assert report.results[-1].status == "fail"
    report = Report()
    verify.check_loki(report, "Ingester not ready: waiting for 15s after being ready", None)
    assert report.results[0].status == "fail"


def _grafana_ok() -> tuple:
    health = {"database": "ok", "version": "12.3.1"}
    datasources = {uid: {"uid": uid, "type": uid} for uid in ("prometheus", "loki")}
    dashboards = [{"uid": uid, "type": "dash-db"} for uid in DASHBOARD_UIDS]
    rules = [{"uid": f"r{i}", "labels": {"severity": f"P{i % 4 + 1}"}} for i in range(12)]
    return health, datasources, dashboards, rules


def test_grafana_complete():
    report = Report()
    verify.check_grafana(report, *_grafana_ok(), 12)
    assert all(r.status == "ok" for r in report.results), report.render()
    assert "P1, P2, P3, P4" in report.results[-1].detail


def test_grafana_missing_pieces_fail():
    health, datasources, dashboards, rules = _grafana_ok()
    report = Report()
    verify.check_grafana(report, health, {**datasources, "loki": None}, dashboards[:-1], rules[:3], 12)
    failed = {r.check for r in report.failed}
    assert failed == {"datasources", "dashboards", "alert rules"}
    report = Report()
    verify.check_grafana(report, {"database": "failing"}, datasources, dashboards, rules, 12)
    assert [r.status for r in report.results] == ["fail"]


def test_unavailable_file_shapes():
    listing = json.dumps(
        [{"service": "loki", "image": "grafana/loki:3.7.2", "reason": "no such host", "policy": "skip"}]
    )
    assert verify.parse_unavailable(listing) == {"loki": "no such host"}
    assert verify.parse_unavailable('{"grafana": "no registry"}') == {"grafana": "no registry"}
    assert verify.parse_unavailable("") == {}


class LabTransportDouble:
    """Test double of a Transport: answers like a lab where Loki and Grafana could not run and
    everything else is healthy. Prometheus' buildinfo and the blackbox exporter's /metrics are the
    real programs' responses, recorded (tests/fixtures/recorded/README.md)."""

    def __init__(self, prom_payload: dict) -> None:
        self.prom_payload = prom_payload

    def host_command(self, host: str, argv: list[str]) -> tuple[int, str, str]:  # noqa: PLR0911 - one answer per command
        if argv[0] == "cat" and argv[1] == verify.UNAVAILABLE_FILE:
            return 0, json.dumps([{"service": s, "reason": "no registry here"} for s in ("loki", "grafana")]), ""
        if argv[0] == "wg":
            return 0, f"wg0\tPEER{host}=\t{int(time.time()) - 5}\n", ""
        if argv[:2] == ["systemctl", "is-active"]:
            return 0, "active\n", ""
        if argv[:2] == ["docker", "ps"]:
            return 0, "monitoring-prometheus-1\tobs/prometheus-debian:latest\n", ""
        if argv == verify.report_timers_command():
            return 0, TIMERS_OFF, ""
        if argv == ["prometheus-node-exporter", "--version"]:
            return 0, "node_exporter, version 1.11.1 (branch: debian/sid)\n", ""
        return 1, "", "unexpected"

    def http(self, port: int, path: str, auth=None) -> tuple[int, str]:
        assert port not in (common.port("loki"), common.port("grafana")), (
            f"unavailable services must not be queried: {path}"
        )
        if port == common.port("prometheus") and path == "/api/v1/status/buildinfo":
            return 200, PROMETHEUS_BUILDINFO
        if port == common.port("blackbox") and path == "/metrics":
            return 200, BLACKBOX_METRICS
        assert path.startswith("/api/v1/targets"), f"unexpected request {port}{path}"
        return 200, json.dumps(self.prom_payload)


HOSTS = [
    Host("mon-1", ("monitoring",), {"wireguard_address": "10.100.0.1"}),
    Host("app-1", ("app",), {"wireguard_address": "10.100.0.11", "obs_agent": "legacy"}),
]


def test_full_run_reports_unavailable_services_and_passes():
    report = verify.verify(HOSTS, LabTransportDouble(_targets(("node", "up"), ("spring", "up"))), admin_password=None)
    by = {(r.component, r.check): r.status for r in report.results}
    assert by[("loki", "not running here")] == "unavailable"
    assert by[("grafana", "not running here")] == "unavailable"
    assert by[("wireguard", "app-1 handshakes")] == "ok"
    assert by[("agent", "app-1 node_exporter")] == "ok"
    assert by[("prometheus", "targets")] == "ok"
    assert by[("reports", "obs-report-daily.timer")] == "ok"
    assert not report.failed
    assert "2 not available here" in report.render()
    versions = next(r for r in report.results if r.component == "versions")
    assert "prometheus 3.5.3+ds1" in versions.detail
    assert "blackbox_exporter 0.28.0" in versions.detail
    assert "app-1 prometheus-node-exporter 1.11.1" in versions.detail


# `systemctl show <timers> -p...` as systemd prints it: one block per unit, a blank line between.
TIMERS_OFF = (
    "Id=obs-report-daily.timer\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n"
    "NextElapseUSecRealtime=\n\n"
    "Id=obs-report-weekly.timer\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n"
    "NextElapseUSecRealtime=\n"
)


def test_report_timers_listed_with_state_and_next_run():
    on = TIMERS_OFF.replace(
        "ActiveState=inactive\nUnitFileState=disabled\nNextElapseUSecRealtime=",
        "ActiveState=active\nUnitFileState=enabled\nNextElapseUSecRealtime=Thu 2026-12-03 00:00:00 UTC",
    )
    report = Report()
    verify.check_report_timers(report, on)
    assert [(r.check, r.status) for r in report.results] == [(t, "ok") for t in verify.REPORT_TIMERS]
    assert all("next run Thu 2026-12-03 00:00:00 UTC" in r.detail for r in report.results)
    off = Report()
    verify.check_report_timers(off, TIMERS_OFF)
    assert all(r.status == "ok" and "off until a delivery" in r.detail for r in off.results)
    missing = Report()
    verify.check_report_timers(missing, TIMERS_OFF.replace("LoadState=loaded", "LoadState=not-found", 1))
    assert [r.status for r in missing.results] == ["fail", "ok"]
    half = Report()
    verify.check_report_timers(half, TIMERS_OFF.replace("UnitFileState=disabled", "UnitFileState=enabled", 1))
    assert [r.status for r in half.results] == ["warn", "ok"]


def test_full_run_fails_on_a_down_target():
    report = verify.verify(HOSTS, LabTransportDouble(_targets(("node", "up"), ("spring", "down"))), admin_password=None)
    assert report.failed
    json.loads(report.as_json())


def test_alloy_missing_is_unavailable_only_where_skipping_was_allowed():
    status, reason = verify.alloy_verdict({"alloy_skip_install_when_unreachable": True}, False, "inactive")
    assert status == "unavailable"
    assert "unreachable" in reason
    assert verify.alloy_verdict({}, False, "inactive")[0] == "fail"
    assert verify.alloy_verdict({"alloy_skip_install_when_unreachable": True}, True, "failed")[0] == "fail"


def test_adhoc_json_parsing():
    # Shape of ansible.posix.json output for `ansible mon-1 -m command -a "wg show all latest-handshakes"`.
    ok = {"plays": [{"tasks": [{"hosts": {"mon-1": {"rc": 0, "stdout": "wg0\tK=\t1700000000", "stderr": ""}}}]}]}
    assert verify.parse_adhoc_json(json.dumps(ok), "mon-1", "") == (0, "wg0\tK=\t1700000000", "")
    down = {"plays": [{"tasks": [{"hosts": {"mon-1": {"unreachable": True, "msg": "ssh: timeout"}}}]}]}
    assert verify.parse_adhoc_json(json.dumps(down), "mon-1", "") == (verify.UNREACHABLE, "", "ssh: timeout")
    assert verify.parse_adhoc_json("garbage", "mon-1", "no inventory")[0] == 255


def test_stack_images_name_substitutes():
    report = Report()
    verify.check_stack_images(
        report,
        "monitoring-prometheus-1\tobs/prometheus-debian:latest\nmonitoring-grafana-1\tgrafana/grafana:12.3.1\n"
        "monitoring-analyzer-1\tobs/obsctl:0.1.0-e0737bc850ff\nobs-lab-alertmanager\tobs/alertmanager-debian:latest\n",
    )
    details = {r.check: r.detail for r in report.results}
    assert "built from this repository" in details["monitoring-analyzer-1 running"]
    assert "stand-in for Grafana's alerting" in details["obs-lab-alertmanager running"]
    assert "Debian-built substitute" in details["monitoring-prometheus-1 running"]
    assert "upstream image" in details["monitoring-grafana-1 running"]


class UnreachableAppHostTransportDouble(LabTransportDouble):
    """Test double: the LabTransportDouble lab, except that app-1 cannot be reached at all (its SSH
    through the tunnel times out), as TunnelTransport reports it."""

    def host_command(self, host: str, argv: list[str]) -> tuple[int, str, str]:
        if host == "app-1":
            return verify.UNREACHABLE, "", "Failed to connect to the host via ssh: Connection timed out"
        return super().host_command(host, argv)


def test_unreachable_host_is_reported_as_unreachable_not_as_missing_software():
    hosts = [HOSTS[0], Host("app-1", ("app",), {"wireguard_address": "10.100.0.11"})]  # an Alloy host
    report = verify.verify(hosts, UnreachableAppHostTransportDouble(_targets(("node", "up"))), admin_password=None)
    app1 = [r for r in report.results if "app-1" in r.check]
    assert [(r.component, r.check, r.status) for r in app1] == [("host", "app-1 reachable", "fail")]
    assert "unreachable: Failed to connect to the host via ssh" in app1[0].detail
    assert not any("not installed" in r.detail for r in report.results)


class HttpDownTransportDouble(LabTransportDouble):
    """Test double: hosts answer, but nothing listens on the monitoring server's HTTP ports."""

    def host_command(self, host: str, argv: list[str]) -> tuple[int, str, str]:
        if argv[0] == "cat":
            return 0, "[]", ""
        return super().host_command(host, argv)

    def http(self, port: int, path: str, auth=None) -> tuple[int, str]:
        return 0, "<urlopen error [Errno 111] Connection refused>"


def test_unreachable_http_api_is_reported_as_unreachable():
    report = verify.verify(HOSTS, HttpDownTransportDouble({}), admin_password=None)
    by = {(r.component, r.check): r for r in report.results}
    assert by[("loki", "ready")].status == "fail"
    assert by[("loki", "ready")].detail == "unreachable: <urlopen error [Errno 111] Connection refused>"
    assert by[("prometheus", "targets")].detail.startswith("unreachable: ")
    assert "None" not in by[("loki", "ready")].detail


def test_adhoc_unreachable_maps_to_unreachable_code():
    down = {"plays": [{"tasks": [{"hosts": {"mon-1": {"unreachable": True, "msg": "ssh: timeout"}}}]}]}
    assert verify.parse_adhoc_json(json.dumps(down), "mon-1", "") == (verify.UNREACHABLE, "", "ssh: timeout")


def test_adhoc_args_keep_each_argument_whole_and_untemplated():
    argv = ["docker", "ps", "--format", "{{.Names}}\t{{.Image}}"]
    args = json.loads(verify.adhoc_command_args(argv))["argv"]
    assert len(args) == len(argv)  # the tab did not split the format into two arguments
    assert args[3] == "{% raw %}{{.Names}}\t{{.Image}}{% endraw %}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prometheus-node-exporter, version 1.5.0 (branch: debian/sid)\n  build user: x\n", "1.5.0"),
        ("alloy, version v1.11.3 (branch: HEAD, revision: 1a2b)\n", "v1.11.3"),
        ("", None),
    ],
)
def test_command_version(text, expected):
    assert verify.command_version(text) == expected


def test_versions_come_from_the_running_components():
    # The recorded answers of the real programs (Debian forky's builds, run from the substitutes).
    assert verify.metric_build_version(BLACKBOX_METRICS, "blackbox_exporter_build_info") == "0.28.0"
    assert verify.build_version(json.loads(PROMETHEUS_BUILDINFO)) == "3.5.3+ds1"
    assert verify.build_version(None) is None
    # Another series' build_info line, or a comment naming the metric, is not taken for it.
    assert (
        verify.metric_build_version("# HELP blackbox_exporter_build_info x\n", "blackbox_exporter_build_info") is None
    )
    assert verify.metric_build_version(BLACKBOX_METRICS, "prometheus_build_info") is None


def test_recorded_versions_are_of_the_pinned_series():
    """The recordings stay those of the release the stack pins: re-record when the pin moves."""
    prometheus = verify.build_version(json.loads(PROMETHEUS_BUILDINFO)) or ""
    blackbox = verify.metric_build_version(BLACKBOX_METRICS, "blackbox_exporter_build_info") or ""
    assert tools.series(prometheus) == tools.pinned_series(tools.PROMETHEUS)
    assert tools.series(blackbox) == tools.pinned_series(tools.BLACKBOX)
