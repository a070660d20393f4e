"""What the monitoring_stack role left on the Molecule host, checked from the outside.

Offline (default): Prometheus and the blackbox exporter run from obs/prometheus-debian and
obs/blackbox-debian: Debian's builds (forky's Prometheus 3.5, blackbox 0.28), not the pinned upstream
images. Grafana and Loki have no image on this machine; their runtime checks skip with the reason the
role recorded. With OBS_UPSTREAM_IMAGES=1 (the online CI) every service runs its pinned upstream image.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from obsctl.validators import loki as loki_validator

PROJECT = "/opt/monitoring"
DATA = "/var/lib/monitoring"
LEGACY = "/var/lib/loki"
TUNNEL = "10.100.0.1"
PORTS = {"prometheus": 9090, "loki": 3100, "grafana": 3000, "blackbox": 9115, "analyzer": 8095}
ANALYZER_TOKEN = "molecule-analyzer-token-0123456789abcdef"  # molecule.yml
MARKER = ".migrated-from-legacy.json"


def _unavailable(host) -> dict[str, str]:
    data = json.loads(host.file(f"{PROJECT}/unavailable-services.json").content_string)
    return {row["service"]: row["reason"] for row in data}


def _require_running(host, service: str) -> None:
    reason = _unavailable(host).get(service)
    if reason is not None:
        pytest.skip(f"{service} not started here (no image): {reason[:160]}")


def _health(host, service: str) -> str:
    cmd = host.run(f"docker inspect --format '{{{{.State.Health.Status}}}}' monitoring-{service}-1")
    return cmd.stdout.strip() if cmd.rc == 0 else f"no container ({cmd.stderr.strip()})"


def _get(host, url: str) -> dict:
    out = host.check_output(f"curl -fsS --max-time 10 '{url}'")
    return json.loads(out)


def test_images_without_a_registry_are_recorded_not_faked(host) -> None:
    unavailable = _unavailable(host)
    print(f"services not started, with the role's reason: {unavailable}")
    assert set(unavailable) <= {"grafana", "loki"}, "only the images this machine cannot have are missing"
    compose = yaml.safe_load(host.file(f"{PROJECT}/compose.yml").content_string)
    assert set(compose["services"]) == set(PORTS) - set(unavailable) | {"report"}, "the bot is off (no token)"


def test_online_runs_start_every_pinned_upstream_image(host) -> None:
    if os.environ.get("OBS_UPSTREAM_IMAGES") != "1":
        pytest.skip("offline run: Debian-built stand-ins (OBS_UPSTREAM_IMAGES=1 runs the upstream images)")
    assert _unavailable(host) == {}, "a registry answers here: every image must have been pulled"
    defaults = yaml.safe_load(Path(__file__).parents[3].joinpath("defaults", "main.yml").read_text())
    for service in PORTS:
        running = host.check_output(f"docker inspect --format '{{{{.Config.Image}}}}' monitoring-{service}-1")
        assert running == defaults[f"monitoring_stack_{service}_image"], service


@pytest.mark.parametrize("service", sorted(PORTS))
def test_service_is_healthy(host, service: str) -> None:
    _require_running(host, service)
    assert _health(host, service) == "healthy"


@pytest.mark.parametrize("service", sorted(PORTS))
def test_ports_on_tunnel_address_and_loopback_only(host, service: str) -> None:
    _require_running(host, service)
    port = PORTS[service]
    listeners = host.check_output(f"ss -ltnH 'sport = :{port}'").splitlines()
    local = sorted({line.split()[3].rsplit(":", 1)[0] for line in listeners})
    assert local == sorted(["127.0.0.1", TUNNEL]), f"{service} listens on {local}"


def test_docker_waits_for_the_tunnel_and_the_data_mounts(host) -> None:
    """What systemd loaded (not only the drop-in file): after a reboot dockerd starts only once
    wg-quick@wg0 has put the tunnel address up and the data directories are mounted."""
    shown = host.check_output("systemctl show docker -p After -p Wants -p RequiresMountsFor")
    props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    assert "wg-quick@wg0.service" in props["After"].split(), props["After"]
    assert "wg-quick@wg0.service" in props["Wants"].split(), props["Wants"]
    # molecule.yml: docker_data_root /srv/docker-data, the role's default data dir.
    assert set(props["RequiresMountsFor"].split()) >= {DATA, "/srv/docker-data"}, props["RequiresMountsFor"]


def test_prometheus_targets_up_and_nothing_scraped_that_does_not_run(host) -> None:
    _require_running(host, "prometheus")
    # Right after a reload (side_effect.yml) targets are "unknown" until their first scrape.
    deadline = time.monotonic() + 90
    while True:
        targets = _get(host, "http://127.0.0.1:9090/api/v1/targets?state=active")["data"]["activeTargets"]
        if all(t["health"] != "unknown" for t in targets) or time.monotonic() > deadline:
            break
        time.sleep(3)
    by_job: dict[str, list[str]] = {}
    for t in targets:
        by_job.setdefault(t["labels"]["job"], []).append(t["health"])
    print(f"targets by job: {by_job}")
    expected = {"prometheus", "blackbox-exporter", "blackbox", "analyzer"}
    assert set(by_job) == expected, "grafana/loki jobs are absent because they do not run here"
    assert all(h == "up" for hs in by_job.values() for h in hs)


def test_blackbox_probe_through_the_tunnel_succeeds(host) -> None:
    _require_running(host, "blackbox")
    deadline = time.monotonic() + 90
    while True:
        result = _get(host, "http://127.0.0.1:9090/api/v1/query?query=probe_success")["data"]["result"]
        if result or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert result, "no probe result yet"
    assert {r["metric"]["instance"]: r["value"][1] for r in result} == {"stack-prometheus": "1"}


def test_prometheus_runs_with_lifecycle_and_remote_write_receiver(host) -> None:
    _require_running(host, "prometheus")
    flags = _get(host, "http://127.0.0.1:9090/api/v1/status/flags")["data"]
    assert flags["web.enable-lifecycle"] == "true"
    assert flags["web.enable-remote-write-receiver"] == "true"
    assert flags["storage.tsdb.retention.time"] == "30d"


def test_loki_config_has_both_periods_and_v13_starts_in_the_future(host) -> None:
    text = host.file(f"{PROJECT}/loki/loki.yml").content_string
    config = yaml.safe_load(text)
    periods = [(p["from"], p["store"], p["schema"]) for p in config["schema_config"]["configs"]]
    today = dt.datetime.now(dt.UTC).date()
    assert periods[0] == ("2024-03-01", "boltdb-shipper", "v11")
    assert periods[1][1:] == ("tsdb", "v13")
    assert dt.date.fromisoformat(periods[1][0]) > today, "deployed before the v13 period begins"
    assert config["limits_config"]["allow_structured_metadata"] is False
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "loki.yml"
        copy.write_text(text, encoding="utf-8")
        assert loki_validator.check(copy) == []


def _tree(host, root: str) -> dict[str, int]:
    """relative path -> size of every file under root (the migration marker excluded)."""
    out = host.check_output(f"find {root} -type f -printf '%P %s\\n'")
    files = dict(line.rsplit(" ", 1) for line in out.splitlines() if line)
    return {path: int(size) for path, size in files.items() if path != MARKER}


def test_legacy_chunks_copied_with_counts_sizes_and_owner(host) -> None:
    before = _tree(host, LEGACY)
    after = _tree(host, f"{DATA}/loki")
    print(
        f"legacy {LEGACY}: {len(before)} files, {sum(before.values())} bytes; "
        f"stack {DATA}/loki: {len(after)} files, {sum(after.values())} bytes"
    )
    assert len(before) >= 40
    assert after == before, "every legacy file is in the stack's Loki directory with its size"
    marker = json.loads(host.file(f"{DATA}/loki/{MARKER}").content_string)
    assert (marker["files"], marker["bytes"]) == (len(before), sum(before.values()))
    owners = host.check_output(f"find {DATA}/loki -printf '%u:%g\\n' | sort -u").split()
    assert owners == ["10001:10001"]


def test_legacy_directory_kept_and_old_unit_disabled(host) -> None:
    assert host.file(f"{LEGACY}/chunks").is_directory, "the old directory stays until the operator removes it"
    assert host.file(f"{LEGACY}/chunks").user == "loki", "the original is not modified"
    unit = host.service("loki")
    assert not unit.is_running
    assert not unit.is_enabled


def test_env_file_is_private(host) -> None:
    env = host.file(f"{PROJECT}/.env")
    assert env.mode == 0o600
    assert env.user == "root"


def test_grafana_answers_when_it_runs(host) -> None:
    _require_running(host, "grafana")
    assert _get(host, "http://127.0.0.1:3000/api/health")["database"] == "ok"


def test_loki_ready_when_it_runs(host) -> None:
    _require_running(host, "loki")
    assert host.run("curl -fsS http://127.0.0.1:3100/ready").rc == 0


def test_config_change_reloaded_prometheus_without_restarting_anything(host) -> None:
    """side_effect.yml changed only the scrape interval and re-ran the role."""
    _require_running(host, "prometheus")
    record = json.loads(host.file("/root/side-effect.json").content_string)
    assert record["before"] == record["after"], "neither Prometheus nor blackbox was restarted"
    config = _get(host, "http://127.0.0.1:9090/api/v1/status/config")["data"]["yaml"]
    assert "scrape_interval: 20s" in config, "the running Prometheus has the new config (via /-/reload)"
    reload_ok = _get(host, "http://127.0.0.1:9090/api/v1/query?query=prometheus_config_last_reload_successful")
    assert reload_ok["data"]["result"][0]["value"][1] == "1"


# ---- the obsctl image and its services (issues 15, 17, 18) ----

ALERTMANAGER_PAYLOAD = {
    "receiver": "analyzer",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "MoleculeDrill", "severity": "P3", "service": "molecule"},
            "annotations": {"summary": "Molecule verifier drill (P3: recorded, not analysed)"},
            "startsAt": "2026-12-01T09:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "0123456789abcdef",
        }
    ],
    "groupLabels": {"alertname": "MoleculeDrill"},
    "commonLabels": {"alertname": "MoleculeDrill", "severity": "P3"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": '{}:{alertname="MoleculeDrill"}',
    "truncatedAlerts": 0,
}


def _post_webhook(host, headers: str) -> str:
    body = json.dumps(ALERTMANAGER_PAYLOAD).replace("'", "'\\''")
    cmd = (
        f"curl -sS -o /dev/null -w '%{{http_code}}' --max-time 10 -H 'Content-Type: application/json' {headers} "
        f"-d '{body}' http://{TUNNEL}:{PORTS['analyzer']}/webhook"
    )
    return host.check_output(cmd).strip()


def test_obsctl_image_built_on_the_host_from_the_package(host) -> None:
    compose = yaml.safe_load(host.file(f"{PROJECT}/compose.yml").content_string)
    image = compose["services"]["analyzer"]["image"]
    inspect = json.loads(host.check_output(f"docker image inspect {image}"))[0]
    size_mb = inspect["Size"] / 1e6
    print(f"obsctl image {image}: {size_mb:.0f} MB, built {inspect['Created']}")
    assert inspect["Config"]["User"] == "10200:10200", "the services run as the image's non-root user"
    version = host.check_output(f"docker run --rm {image} --version")
    assert version.startswith("obsctl "), version
    # Only the runtime tree is installed: no test or deploy tool in the image.
    frozen = host.check_output(f"docker run --rm --entrypoint /opt/obsctl/venv/bin/pip {image} freeze")
    names = {line.split("==")[0].lower() for line in frozen.splitlines()}
    assert {"fastapi", "uvicorn", "discord.py", "matplotlib", "cryptography"} <= names
    assert not names & {"pytest", "ansible-core", "molecule", "ruff"}


def test_analyzer_is_healthy_and_demands_the_credential(host) -> None:
    assert _health(host, "analyzer") == "healthy"
    assert _post_webhook(host, "") == "401", "no credential"
    assert _post_webhook(host, "-H 'Authorization: Bearer wrong-token-wrong-token-00'") == "401"
    # An Alertmanager-shaped notification with Grafana's credential: accepted at once (202).
    assert _post_webhook(host, f"-H 'Authorization: Bearer {ANALYZER_TOKEN}'") == "202"
    deadline = time.monotonic() + 60
    while True:
        metrics = host.check_output(f"curl -fsS --max-time 10 http://127.0.0.1:{PORTS['analyzer']}/metrics")
        recorded = [
            line for line in metrics.splitlines() if line.startswith('obs_analyzer_analyses_total{outcome="recorded"}')
        ]
        if (recorded and float(recorded[0].split()[-1]) >= 1) or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert recorded and float(recorded[0].split()[-1]) >= 1, "the P3 notification was recorded from the queue"


def test_incident_log_is_on_the_data_volume_owned_by_the_image_user(host) -> None:
    db = host.file(f"{DATA}/obsctl/incidents.db")
    assert db.exists, "the analyzer's incident log lives on the data volume"
    assert host.file(f"{DATA}/obsctl").uid == 10200
    for name in ("analyzer", "bot", "report"):
        env = host.file(f"{PROJECT}/obsctl/{name}.env")
        assert env.mode == 0o600 and env.user == "root"


def test_report_timers_installed_and_off_without_a_delivery(host) -> None:
    for kind in ("daily", "weekly"):
        shown = host.check_output(
            f"systemctl show obs-report-{kind}.timer -p LoadState -p UnitFileState -p ActiveState -p TimersCalendar"
        )
        props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        print(f"obs-report-{kind}.timer: {props}")
        assert props["LoadState"] == "loaded"
        assert props["UnitFileState"] == "disabled" and props["ActiveState"] == "inactive", "no delivery configured"
        assert "Asia/Seoul" in props["TimersCalendar"] and "09:00:00" in props["TimersCalendar"]


def test_report_job_runs_in_the_image_through_compose(host) -> None:
    """What the timers' ExecStart runs, here as a dry run against the real Prometheus."""
    out = host.run(
        f"docker compose --project-directory {PROJECT} -f {PROJECT}/compose.yml run --rm --no-deps -T report "
        "report daily --dry-run"
    )
    print(out.stdout[-1500:])
    assert out.rc == 0, out.stderr[-2000:]
    assert "dry run: nothing sent" in out.stdout
