"""Prometheus config: promtool check config, plus the project's job and label conventions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from obsctl import tools
from obsctl.errors import ObsError
from obsctl.proc import run
from obsctl.schema import Shape, shape_problems
from obsctl.validators import load_yaml_mapping

LabelValue = str | int | float | bool  # YAML scalars; Prometheus reads each as a string


class _StaticConfig(Shape):
    targets: list[str] | None = None
    labels: dict[str, LabelValue] | None = None


class _ScrapeConfig(Shape):
    job_name: str
    static_configs: list[_StaticConfig] | None = None


class PrometheusFile(Shape):
    """The part of prometheus.yml the convention rules read."""

    scrape_configs: list[_ScrapeConfig] | None = None


# docs/conventions.md: job names and the labels each kind of target carries.
KNOWN_JOBS = {
    "node",
    "spring",
    "nginx",
    "blackbox",
    "prometheus",
    "loki",
    "grafana",
    "blackbox-exporter",
    "alloy",
    "analyzer",
}
REQUIRED_LABELS = {"node": {"instance", "host", "env"}, "spring": {"instance", "host", "app", "env"}}
_ADDRESS_LIKE = re.compile(r"[:/]")


def _promtool_path() -> str:
    """The project's promtool (tools.find: its own tools directory first, then the PATH)."""
    found = tools.find("promtool")
    if found is None:
        raise ObsError(f"'promtool' is not in {tools.tools_bin()} nor on PATH", fix=tools.INSTALL_FIX)
    return found


def promtool_version() -> str:
    promtool = _promtool_path()
    out = run([promtool, "--version"], check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "promtool (unknown version)"


def _promtool(path: Path) -> list[str]:
    promtool = _promtool_path()
    proc = run([promtool, "check", "config", str(path)], check=False, timeout=60)
    if proc.returncode == 0:
        return []
    output = (proc.stderr + proc.stdout).strip().splitlines()
    return [f"promtool: {line.strip()}" for line in output if line.strip() and "Checking" not in line]


def _conventions(config: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for job in config.get("scrape_configs") or []:
        name = str(job.get("job_name"))
        if name not in KNOWN_JOBS:
            problems.append(f"job {name!r} is not one of the job names in docs/conventions.md")
        for static in job.get("static_configs") or []:
            labels = static.get("labels") or {}
            missing = REQUIRED_LABELS.get(name, set()) - set(labels)
            if missing:
                problems.append(f"job {name}: targets {static.get('targets')} lack labels {sorted(missing)}")
            instance = str(labels.get("instance", ""))
            if name in REQUIRED_LABELS and _ADDRESS_LIKE.search(instance):
                problems.append(f"job {name}: instance {instance!r} must be the inventory hostname, not an address")
    return problems


def check(path: Path) -> list[str]:
    config = load_yaml_mapping(path)
    shape = shape_problems(PrometheusFile, config)
    if shape:
        return shape + _promtool(path)
    return _promtool(path) + _conventions(config)
