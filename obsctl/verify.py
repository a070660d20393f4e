"""Read-only checks of a deployed platform: tunnel, Prometheus, Loki, Grafana, agents.

Works the same against the lab and prod: HTTP to the monitoring server's tunnel address from
this machine (a WireGuard peer of the tunnel; in the lab the operator interface `obsctl lab up`
brings up), host commands through Ansible over SSH through the tunnel. Nothing is changed
anywhere. Each check is a pure function of the responses it got (unit-tested against
constructed responses); the transports only fetch.

A component the stack could not run (listed by the monitoring stack in
``/opt/monitoring/unavailable-services.json``) is reported as ``unavailable`` with its reason
and does not fail the run; anything else that does not answer does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from obsctl import common
from obsctl.clients.http import ClientError, HttpClient
from obsctl.errors import ObsError
from obsctl.paths import repo_root
from obsctl.proc import run
from obsctl.tools import command_version

Status = Literal["ok", "fail", "unavailable", "warn"]

DATASOURCE_UIDS = ("prometheus", "loki")
DASHBOARD_UIDS = ("overview", "jvm", "http-red", "logs", "nginx", "hosts", "self", "chatbot", "llm")
UNAVAILABLE_FILE = "/opt/monitoring/unavailable-services.json"
# WireGuard re-handshakes every 2 minutes while traffic flows (REKEY_AFTER_TIME 120 s) and the
# hosts keep the tunnel alive; older than this means the peer is not talking to us.
HANDSHAKE_MAX_AGE = 180
# Return code a transport gives when it could not reach the host at all (SSH/tunnel down, lab
# container stopped): the host's checks are reported as "unreachable", never as a wrong answer.
UNREACHABLE = -1


@dataclass(frozen=True)
class Result:
    component: str
    check: str
    status: Status
    detail: str


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    def add(self, component: str, check: str, status: Status, detail: str) -> None:
        self.results.append(Result(component, check, status, detail))

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == "fail"]

    def render(self) -> str:
        marks = {"ok": " ok ", "fail": "FAIL", "unavailable": "n/a ", "warn": "warn"}
        lines = [f"[{marks[r.status]}] {r.component:11} {r.check:28} {r.detail}" for r in self.results]
        counts = {s: sum(r.status == s for r in self.results) for s in marks}
        lines.append(
            f"verify: {counts['ok']} ok, {counts['fail']} failed, {counts['unavailable']} not available here, "
            f"{counts['warn']} warnings"
        )
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps([r.__dict__ for r in self.results], indent=2)


# --- pure evaluation of responses -------------------------------------------------------------


def parse_handshakes(text: str, now: float) -> list[tuple[str, str, float | None]]:
    """`wg show all latest-handshakes` lines -> (interface, peer, age seconds or None if never)."""
    peers: list[tuple[str, str, float | None]] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[2].isdigit():
            continue
        stamp = int(parts[2])
        peers.append((parts[0], parts[1], None if stamp == 0 else max(0.0, now - stamp)))
    return peers


def check_tunnel(report: Report, host: str, wg_output: str | None, error: str, now: float) -> None:
    if wg_output is None:
        report.add("wireguard", f"{host} handshakes", "fail", f"cannot run `wg show`: {error}")
        return
    peers = parse_handshakes(wg_output, now)
    if not peers:
        report.add("wireguard", f"{host} handshakes", "fail", "no WireGuard interface or no peers configured")
        return
    fresh = [p for p in peers if p[2] is not None and p[2] <= HANDSHAKE_MAX_AGE]
    ages = ", ".join(f"{peer[:8]}…={'never' if age is None else f'{age:.0f}s'}" for _, peer, age in peers)
    # Operator peers (laptops) are often offline: one fresh handshake proves this host's tunnel.
    status: Status = "ok" if fresh else "fail"
    report.add("wireguard", f"{host} handshakes", status, f"{len(fresh)}/{len(peers)} peers fresh ({ages})")


def check_prometheus_targets(report: Report, payload: dict[str, Any], unavailable: dict[str, str]) -> None:
    """/api/v1/targets: every active target must be up, unless its job belongs to an unavailable service."""
    targets = payload.get("data", {}).get("activeTargets", [])
    if payload.get("status") != "success":
        report.add("prometheus", "targets", "fail", f"API answered status={payload.get('status')}")
        return
    if not targets:
        report.add("prometheus", "targets", "fail", "no active targets (scrape configuration empty?)")
        return
    down, skipped, up = [], [], 0
    for target in targets:
        labels = target.get("labels", {})
        job, inst = labels.get("job", "?"), labels.get("instance", "?")
        if target.get("health") == "up":
            up += 1
        elif job in unavailable or labels.get("app") in unavailable:
            skipped.append(f"{job}/{inst}")
        else:
            down.append(f"{job}/{inst}: {target.get('lastError') or target.get('health')}")
    jobs = sorted({t.get("labels", {}).get("job", "?") for t in targets})
    detail = f"{up}/{len(targets)} up (jobs: {', '.join(jobs)})"
    if skipped:
        detail += f"; down because not available here: {', '.join(skipped)}"
    report.add("prometheus", "targets", "fail" if down else "ok", detail)
    for line in down:
        report.add("prometheus", "target down", "fail", line)


def check_loki(report: Report, ready: str | None, query: dict[str, Any] | None) -> None:
    if ready is None or ready.strip() != "ready":
        report.add("loki", "ready", "fail", f"/ready answered {ready!r}")
        return
    report.add("loki", "ready", "ok", "/ready = ready")
    results = (query or {}).get("data", {}).get("result", [])
    lines = sum(float(r.get("value", [0, "0"])[1]) for r in results)
    if lines > 0:
        streams = ", ".join(sorted({str(r.get("metric", {}).get("job", "?")) for r in results}))
        report.add("loki", "receiving", "ok", f"{lines:.0f} lines in the last 10m (jobs: {streams})")
    else:
        report.add("loki", "receiving", "fail", "no log lines received in the last 10 minutes")


def check_grafana(  # noqa: PLR0917 - one argument per API answer keeps the check pure
    report: Report,
    health: dict[str, Any] | None,
    datasources: dict[str, dict[str, Any] | None],
    dashboards: list[dict[str, Any]] | None,
    rules: list[dict[str, Any]] | None,
    expected_rules: int | None,
) -> None:
    if not health or health.get("database") != "ok":
        report.add("grafana", "health", "fail", f"/api/health answered {health!r}")
        return
    report.add("grafana", "health", "ok", f"database ok, version {health.get('version', '?')}")
    missing = [uid for uid, ds in datasources.items() if not ds or ds.get("uid") != uid]
    report.add(
        "grafana",
        "datasources",
        "fail" if missing else "ok",
        f"missing: {', '.join(missing)}" if missing else f"uids {', '.join(datasources)} provisioned",
    )
    found = {d.get("uid") for d in dashboards or []}
    absent = [uid for uid in DASHBOARD_UIDS if uid not in found]
    report.add(
        "grafana",
        "dashboards",
        "fail" if absent else "ok",
        f"missing: {', '.join(absent)}"
        if absent
        else f"{len(DASHBOARD_UIDS)} dashboards ({', '.join(DASHBOARD_UIDS)})",
    )
    count = len(rules or [])
    if count == 0 or (expected_rules is not None and count < expected_rules):
        want = f" of {expected_rules} in the catalog" if expected_rules is not None else ""
        report.add("grafana", "alert rules", "fail", f"{count} provisioned{want}")
    else:
        severities = sorted({str(r.get("labels", {}).get("severity", "?")) for r in rules or []})
        report.add("grafana", "alert rules", "ok", f"{count} provisioned (severities {', '.join(severities)})")


def check_stack_images(report: Report, docker_ps: str) -> None:
    """Name the image each running stack container uses; Debian-built substitutes say so."""
    for line in sorted(docker_ps.splitlines()):
        if "\t" not in line:
            continue
        name, image = line.split("\t", 1)
        repo = image.split(":")[0]
        if repo.endswith("alertmanager-debian"):
            what = "Debian's build, the lab's stand-in for Grafana's alerting"
        elif repo.endswith("-debian"):
            what = "Debian-built substitute of the upstream image"
        elif repo.endswith("/obsctl"):
            what = "built from this repository's package"
        else:
            what = "upstream image"
        report.add("stack", f"{name} running", "ok", f"{image} ({what})")


# The report timers the monitoring_stack role installs (templates/systemd/obs-report.timer.j2).
REPORT_TIMERS = ("obs-report-daily.timer", "obs-report-weekly.timer")
_TIMER_PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState", "NextElapseUSecRealtime")


def report_timers_command() -> list[str]:
    return ["systemctl", "show", *REPORT_TIMERS, *(f"-p{p}" for p in _TIMER_PROPERTIES)]


def check_report_timers(report: Report, systemctl_show: str) -> None:
    """State and next run of each report timer, from `systemctl show` (one block per unit).

    Installed but disabled is fine: the role keeps the timers off until a delivery is configured."""
    blocks = [
        dict(line.split("=", 1) for line in block.splitlines() if "=" in line) for block in systemctl_show.split("\n\n")
    ]
    by_id = {b.get("Id", ""): b for b in blocks if b.get("Id")}
    for unit in REPORT_TIMERS:
        props = by_id.get(unit, {})
        load, active, enabled = (
            props.get("LoadState", "?"),
            props.get("ActiveState", "?"),
            props.get("UnitFileState", ""),
        )
        next_run = props.get("NextElapseUSecRealtime", "").strip() or "none"
        if load != "loaded":
            report.add("reports", unit, "fail", f"not installed ({load}): run site.yml --tags monitoring")
        elif enabled == "enabled" and active == "active":
            report.add("reports", unit, "ok", f"enabled, active, next run {next_run}")
        elif enabled != "enabled" and active != "active":
            report.add(
                "reports", unit, "ok", "installed, off until a delivery is configured (monitoring_stack_reports_*)"
            )
        else:
            report.add(
                "reports", unit, "warn", f"{enabled or 'unknown'} but {active}: re-run site.yml --tags monitoring"
            )


def build_version(payload: dict[str, Any] | None) -> str | None:
    """`/api/v1/status/buildinfo` (Prometheus, Loki): the running version, or None."""
    data = (payload or {}).get("data") or payload or {}
    version = data.get("version") if isinstance(data, dict) else None
    return str(version) if version else None


def metric_build_version(metrics_text: str, metric: str) -> str | None:
    """The ``version`` label of an exporter's ``<name>_build_info`` series in /metrics text."""
    for line in metrics_text.splitlines():
        if line.startswith(metric + "{"):
            match = re.search(r'[{,]version="([^"]*)"', line)
            if match:
                return match.group(1)
    return None


def parse_unavailable(text: str | None) -> dict[str, str]:
    """unavailable-services.json: {"svc": "reason"} or [{"service"|"name": .., "reason": ..}]."""
    if not text or not text.strip():
        return {}
    data = json.loads(text)
    if isinstance(data, dict) and "services" in data:
        data = data["services"]
    if isinstance(data, dict):
        return {str(k): str(v.get("reason", v) if isinstance(v, dict) else v) for k, v in data.items()}
    out: dict[str, str] = {}
    for item in data:
        name = item.get("service") or item.get("name") or "?"
        out[str(name)] = str(item.get("reason", "no reason given"))
    return out


def expected_rule_count(root: Path) -> int | None:
    """Rules in the generated provisioning files (None when the generator has not run yet)."""
    import yaml  # noqa: PLC0415 - only needed here

    folder = root / "roles" / "monitoring_stack" / "files" / "grafana" / "provisioning" / "alerting"
    files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
    total = 0
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in data.get("groups", []) if isinstance(data, dict) else []:
            total += len(group.get("rules", []))
    return total or None


# --- transports -------------------------------------------------------------------------------


class Transport(Protocol):
    def host_command(self, host: str, argv: list[str]) -> tuple[int, str, str]: ...

    def http(self, port: int, path: str, auth: tuple[str, str] | None = None) -> tuple[int, str]: ...


@dataclass
class TunnelTransport:
    """Prod: HTTP to the monitoring server's tunnel address; host commands through Ansible."""

    inventory: Path
    address: str
    ansible_args: list[str]

    def host_command(self, host: str, argv: list[str]) -> tuple[int, str, str]:
        ansible = str(Path(sys.executable).parent / "ansible")
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(repo_root() / "ansible.cfg"),
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        )
        proc = run(
            [
                ansible,
                host,
                "-i",
                str(self.inventory),
                *self.ansible_args,
                "-m",
                "ansible.builtin.command",
                "-a",
                adhoc_command_args(argv),
            ],
            check=False,
            timeout=120,
            env=env,
        )
        return parse_adhoc_json(proc.stdout, host, proc.stderr)

    def http(self, port: int, path: str, auth: tuple[str, str] | None = None) -> tuple[int, str]:
        """GET from the controller over the tunnel, through the clients layer's base: one attempt
        (verify reports what it sees, it does not wait for a server to come back), 10 s."""
        server = _service_on(port)
        with HttpClient(server, f"http://{self.address}:{port}", timeout=10, retries=0, auth=auth) as client:
            try:
                response = client.request("GET", path, retry=False)
            except ClientError as exc:
                return exc.status or 0, exc.message
        return response.status_code, response.text


def _service_on(port: int) -> str:
    """The stack service listening on ``port`` (obs_common_ports), for error messages."""
    ports: dict[str, Any] = common.defaults()["obs_common_ports"]
    return next((name for name, number in ports.items() if str(number) == str(port)), f"port {port}")


def adhoc_command_args(argv: list[str]) -> str:
    """``-a`` for ``ansible -m command`` that runs exactly ``argv``.

    As JSON with ``argv`` (no shell-style re-splitting: a tab or a space inside one argument
    stays inside it), and each argument wrapped in a Jinja raw block, because Ansible templates
    module arguments: docker's ``{{.Names}}`` would otherwise be read as a Jinja expression.
    """
    return json.dumps({"argv": [_jinja_literal(a) for a in argv]})


def _jinja_literal(arg: str) -> str:
    if not any(mark in arg for mark in ("{{", "{%", "{#")):
        return arg
    return "{% raw %}" + arg.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}") + "{% endraw %}"


def parse_adhoc_json(text: str, host: str, stderr: str) -> tuple[int, str, str]:
    """(rc, stdout, stderr) of one host from `ansible -m command` with the json stdout callback."""
    try:
        data = json.loads(text[text.index("{") :])
        result = data["plays"][0]["tasks"][0]["hosts"][host]
    except (ValueError, KeyError, IndexError):
        return 255, "", (stderr or text).strip()[-300:]
    if result.get("unreachable"):
        return UNREACHABLE, "", str(result.get("msg", "unreachable"))
    return int(result.get("rc", 1)), str(result.get("stdout", "")), str(result.get("stderr") or result.get("msg", ""))


# --- inventory --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Host:
    name: str
    groups: tuple[str, ...]
    vars: dict[str, Any]


def load_inventory(inventory: Path, vault_password_file: Path | None) -> list[Host]:
    """Hosts with their merged variables, as Ansible itself resolves them (ansible-inventory)."""
    argv = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list"]
    if vault_password_file is not None:
        argv += ["--vault-password-file", str(vault_password_file)]
    env = dict(os.environ, ANSIBLE_CONFIG=str(repo_root() / "ansible.cfg"))
    proc = run(argv, check=False, timeout=120, env=env)
    if proc.returncode != 0:
        raise ObsError(
            f"cannot read inventory {inventory}: {proc.stderr.strip()[-300:]}",
            fix="check the path; for an encrypted vault pass --vault-password-file",
        )
    data = json.loads(proc.stdout)
    hostvars: dict[str, dict[str, Any]] = data.get("_meta", {}).get("hostvars", {})
    groups: dict[str, list[str]] = {}
    for group, body in data.items():
        if isinstance(body, dict):
            for name in body.get("hosts", []):
                groups.setdefault(name, []).append(group)
    return [Host(n, tuple(sorted(groups.get(n, []))), hostvars.get(n, {})) for n in sorted(hostvars)]


# --- the run ----------------------------------------------------------------------------------


def _json(code: int, body: str) -> Any:  # noqa: ANN401 - JSON is untyped until a check reads it
    if code != 200:
        return None
    try:
        return json.loads(body)
    except json.JSONDecodeError:
        return None


def verify(
    hosts: Iterable[Host],
    transport: Transport,
    admin_password: str | None,
    local_wg: str | None = None,
) -> Report:
    hosts = list(hosts)
    report = Report()
    mon = next((h for h in hosts if "monitoring" in h.groups), None)
    if mon is None:
        report.add("inventory", "monitoring host", "fail", "no host in group 'monitoring'")
        return report
    reachable = _check_reachable(report, hosts, transport)
    if mon.name not in reachable:
        report.add("stack", "monitoring host", "fail", f"{mon.name} is unreachable: no stack check possible")
        return report
    code, text, _ = transport.host_command(mon.name, ["cat", UNAVAILABLE_FILE])
    unavailable = parse_unavailable(text) if code == 0 else {}
    for service, reason in sorted(unavailable.items()):
        report.add(service, "not running here", "unavailable", reason)

    code, out, _ = transport.host_command(mon.name, ["docker", "ps", "--format", "{{.Names}}\t{{.Image}}"])
    if code == 0:
        check_stack_images(report, out)
    else:
        report.add("stack", "containers", "fail", f"`docker ps` on {mon.name} failed (exit {code})")

    code, out, err = transport.host_command(mon.name, report_timers_command())
    if code == 0:
        check_report_timers(report, out)
    else:
        report.add("reports", "timers", "fail", f"`systemctl show` on {mon.name} failed (exit {code}): {err[-160:]}")

    _check_tunnels(report, [h for h in hosts if h.name in reachable], transport, local_wg)
    _check_agents(report, [h for h in hosts if h.name in reachable], transport)
    _check_services(report, transport, unavailable, admin_password)
    _check_versions(report, hosts, reachable, transport, unavailable)
    return report


def _check_tunnels(report: Report, hosts: list[Host], transport: Transport, local_wg: str | None) -> None:
    now = time.time()
    for host in hosts:
        if not host.vars.get("wireguard_address"):
            continue
        code, out, err = transport.host_command(host.name, ["wg", "show", "all", "latest-handshakes"])
        check_tunnel(report, host.name, out if code == 0 else None, err.strip()[-200:], now)
    if local_wg is not None:
        check_tunnel(report, "this machine", local_wg, "", now)


def _check_services(
    report: Report, transport: Transport, unavailable: dict[str, str], admin_password: str | None
) -> None:
    """Prometheus targets, Loki readiness and ingestion, Grafana: the stack's HTTP APIs."""
    if "prometheus" not in unavailable:
        code, body = transport.http(common.port("prometheus"), "/api/v1/targets?state=active")
        payload = _json(code, body)
        if code == 0:
            report.add("prometheus", "targets", "fail", f"unreachable: {body[:160]}")
        elif payload is None:
            report.add("prometheus", "targets", "fail", f"/api/v1/targets answered {code}: {body[:120]}")
        else:
            check_prometheus_targets(report, payload, unavailable)

    if "loki" not in unavailable:
        code, ready = transport.http(common.port("loki"), "/ready")
        if code == 0:
            report.add("loki", "ready", "fail", f"unreachable: {ready[:160]}")
        else:
            query = urllib.parse.quote('sum by (job) (count_over_time({job=~".+"}[10m]))')
            qcode, qbody = transport.http(common.port("loki"), f"/loki/api/v1/query?query={query}")
            check_loki(report, ready if code == 200 else None, _json(qcode, qbody))

    if "grafana" not in unavailable:
        _check_grafana(report, transport, admin_password)


def _check_reachable(report: Report, hosts: list[Host], transport: Transport) -> set[str]:
    """Hosts that answer a no-op command; the others are reported once, as unreachable."""
    reachable: set[str] = set()
    for host in hosts:
        code, _, err = transport.host_command(host.name, ["true"])
        if code == UNREACHABLE:
            report.add("host", f"{host.name} reachable", "fail", f"unreachable: {err.strip()[-200:] or 'no answer'}")
        else:
            reachable.add(host.name)
    return reachable


def _check_versions(
    report: Report, hosts: list[Host], reachable: set[str], transport: Transport, unavailable: dict[str, str]
) -> None:
    """The version each running component reports about itself (never the pinned one)."""
    found: list[str] = []
    if "prometheus" not in unavailable:
        version = build_version(_json(*transport.http(common.port("prometheus"), "/api/v1/status/buildinfo")))
        found.append(f"prometheus {version or '?'}")
    if "blackbox" not in unavailable:
        code, body = transport.http(common.port("blackbox"), "/metrics")
        found.append(f"blackbox_exporter {metric_build_version(body, 'blackbox_exporter_build_info') or '?'}")
    if "loki" not in unavailable:
        version = build_version(_json(*transport.http(common.port("loki"), "/loki/api/v1/status/buildinfo")))
        found.append(f"loki {version or '?'}")
    if "grafana" not in unavailable:
        health = _json(*transport.http(common.port("grafana"), "/api/health")) or {}
        found.append(f"grafana {health.get('version') or '?'}")
    for host in hosts:
        if host.name not in reachable:
            continue
        program = "prometheus-node-exporter" if host.vars.get("obs_agent") == "legacy" else "alloy"
        code, out, _ = transport.host_command(host.name, [program, "--version"])
        if code == 0:
            found.append(f"{host.name} {program} {command_version(out) or '?'}")
    unknown = [f for f in found if f.endswith(" ?")]
    report.add(
        "versions",
        "running",
        "warn" if unknown else "ok",
        ", ".join(found) if found else "no component answered",
    )


def _check_grafana(report: Report, transport: Transport, admin_password: str | None) -> None:
    port = common.port("grafana")
    health = _json(*transport.http(port, "/api/health"))
    if admin_password is None:
        report.add("grafana", "api", "fail", "no admin password (vault_grafana_admin_password) to query the API")
        return
    auth = ("admin", admin_password)
    datasources = {uid: _json(*transport.http(port, f"/api/datasources/uid/{uid}", auth)) for uid in DATASOURCE_UIDS}
    dashboards = _json(*transport.http(port, "/api/search?type=dash-db&limit=500", auth))
    rules = _json(*transport.http(port, "/api/v1/provisioning/alert-rules", auth))
    check_grafana(report, health, datasources, dashboards, rules, expected_rule_count(repo_root()))


def _check_agents(report: Report, hosts: list[Host], transport: Transport) -> None:
    """node_exporter on `legacy` hosts; Alloy everywhere else (app hosts and the monitoring host)."""
    for host in hosts:
        if host.vars.get("obs_agent") == "legacy":
            _, out, _ = transport.host_command(host.name, ["systemctl", "is-active", "prometheus-node-exporter"])
            status: Status = "ok" if out.strip() == "active" else "fail"
            report.add("agent", f"{host.name} node_exporter", status, f"legacy agent: {out.strip() or 'unknown'}")
            continue
        _, out, _ = transport.host_command(host.name, ["systemctl", "is-active", "alloy"])
        state = out.strip() or "unknown"
        if state == "active":
            report.add("alloy", f"{host.name} service", "ok", "active")
            continue
        installed, _, _ = transport.host_command(host.name, ["test", "-x", "/usr/bin/alloy"])
        report.add("alloy", f"{host.name} service", *alloy_verdict(host.vars, installed == 0, state))


def alloy_verdict(hostvars: dict[str, Any], installed: bool, state: str) -> tuple[Status, str]:
    """A not-running Alloy is expected only where the inventory allowed skipping its install."""
    if not installed and hostvars.get("alloy_skip_install_when_unreachable") in (True, "true", "True"):
        source = hostvars.get("alloy_package_source", "apt")
        return "unavailable", (
            f"not installed: its package ({source} source) was unreachable when site.yml ran and the inventory "
            "allows skipping it (alloy_skip_install_when_unreachable); site.yml printed the exact reason"
        )
    return "fail", f"alloy is {'installed but ' + state if installed else 'not installed'}"


def local_handshakes() -> str | None:
    """`wg show all latest-handshakes` on this machine when it is a WireGuard peer (else None)."""
    try:
        proc = subprocess.run(
            ["wg", "show", "all", "latest-handshakes"], capture_output=True, text=True, timeout=10, check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 and proc.stdout.strip() else None
