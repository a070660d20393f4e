"""The monitoring host's memory budget per profile, from the role's defaults and benchmarks/memory.json.

The profiles are cumulative: core (Prometheus, Loki, Grafana, blackbox and the host reserve: OS,
dockerd, Alloy), then + analyzer, + bot, + Tempo, + reports. The role's preflight sums the same
parts for the features a host has enabled (roles/monitoring_stack/vars/main.yml) and compares the
sum with the host's MemTotal from facts; this module computes the table for every profile against
the planning MemTotal of each instance type, and derives each limit from its basis (a peak RSS
measured by benchmarks/bench_memory.py plus the headroom, or the upstream figure as is), so that
tests/contract/test_monitoring_stack_memory.py can hold the defaults to it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsctl.errors import ObsError
from obsctl.paths import repo_root

# Profile steps in order, each with the components it adds (a component is a container limit of
# monitoring_stack_mem_limits_mib / monitoring_stack_tempo_mem_limit_mib; core also counts every
# line of monitoring_stack_host_reserved_mib).
STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("prometheus", "loki", "grafana", "blackbox")),
    ("analyzer", ("analyzer",)),
    ("bot", ("bot",)),
    ("tempo", ("tempo",)),
    ("reports", ("report",)),
)
KINDS = ("measured", "upstream", "cap", "allowance")


def defaults_path() -> Path:
    return repo_root() / "roles" / "monitoring_stack" / "defaults" / "main.yml"


def results_path() -> Path:
    return repo_root() / "benchmarks" / "memory.json"


def load_defaults(path: Path | None = None) -> dict[str, Any]:
    path = path or defaults_path()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ObsError(f"{path} is not a YAML mapping", fix="restore the role's defaults/main.yml")
    return data


def load_results(path: Path | None = None) -> dict[str, Any]:
    path = path or results_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ObsError(
            f"cannot read the memory figures {path}: {exc}",
            fix="restore benchmarks/memory.json, or re-measure: benchmarks/bench_memory.py --write",
        ) from None
    if not isinstance(data, dict):
        raise ObsError(f"{path} is not a JSON object", fix="restore benchmarks/memory.json")
    return data


@dataclass(frozen=True)
class Basis:
    """What a component's limit is derived from."""

    component: str
    kind: str  # measured | upstream | cap | allowance
    mib: float
    source: str  # the command (measured) or the document (upstream), or why a cap/allowance

    def limit(self, headroom_pct: float, step_mib: int) -> int:
        """Measured peaks get the headroom; upstream figures, caps and allowances are used as they are."""
        factor = 1 + headroom_pct / 100 if self.kind == "measured" else 1.0
        return int(math.ceil(self.mib * factor / step_mib) * step_mib)


def _process(name: str, run: dict[str, Any]) -> str:
    """What ran, as bench_memory.py recorded it."""
    if name == "analyzer":
        return f"`obsctl analyzer serve` through bench_analyzer.py {' '.join(run['args'])}"
    if name == "bot":
        return f"the bot process drawing {run['panels_drawn']} /dashboard panels"
    return f"`{run['command']}`"


def bases(results: dict[str, Any]) -> dict[str, Basis]:
    """Every component's basis: the measured peaks of ``results['measured']`` and the hand-written
    entries of ``results['guidance']`` (upstream figures with their source, caps, allowances)."""
    measured = results.get("measured") or {}
    out: dict[str, Basis] = {}
    planning = int(results["planning_series"])
    runs = measured.get("prometheus_runs") or []
    at_planning = [r for r in runs if int(r["synthetic_series"]) == planning]
    command = str(results.get("command", "benchmarks/bench_memory.py"))
    if at_planning:
        run = at_planning[0]
        out["prometheus"] = Basis(
            "prometheus",
            "measured",
            float(run["prometheus_peak_mib"]),
            f"{command}: peak RSS scraping {planning:,} synthetic + {int(run['head_series']) - planning:,} own series",
        )
        out["blackbox"] = Basis(
            "blackbox",
            "measured",
            max(float(r["blackbox_peak_mib"]) for r in runs),
            f"{command}: peak RSS probing {run['probes']} HTTP targets",
        )
    for name in ("analyzer", "bot", "report"):
        if name in measured:
            peak = float(measured[name]["peak_mib"])
            out[name] = Basis(name, "measured", peak, f"{command}: peak RSS of {_process(name, measured[name])}")
    for name, entry in (results.get("guidance") or {}).items():
        if entry.get("kind") not in KINDS[1:]:
            raise ObsError(
                f"benchmarks/memory.json guidance.{name}.kind is {entry.get('kind')!r}",
                fix=f"use one of {', '.join(KINDS[1:])} (measured figures come from bench_memory.py --write)",
            )
        out[name] = Basis(name, str(entry["kind"]), float(entry["mib"]), str(entry["source"]))
    return out


def derived_limits(results: dict[str, Any]) -> dict[str, int]:
    """The limit every component should have, derived from its basis."""
    headroom, step = float(results["headroom_pct"]), int(results["step_mib"])
    return {name: basis.limit(headroom, step) for name, basis in bases(results).items()}


def reserve(defaults: dict[str, Any]) -> tuple[str, ...]:
    """The host reserve's lines (monitoring_stack_host_reserved_mib), counted in every profile."""
    return tuple(defaults["monitoring_stack_host_reserved_mib"])


def role_limits(defaults: dict[str, Any]) -> dict[str, int]:
    """Every component's MiB as the role's defaults set it (containers, Tempo, host reserve)."""
    limits = {k: int(v) for k, v in defaults["monitoring_stack_mem_limits_mib"].items()}
    limits["tempo"] = int(defaults["monitoring_stack_tempo_mem_limit_mib"])
    limits.update({k: int(v) for k, v in defaults["monitoring_stack_host_reserved_mib"].items()})
    return limits


def needed(defaults: dict[str, Any], steps: list[str]) -> int:
    """MiB a host running ``steps`` (core plus enabled parts, any subset) needs: limits + host reserve."""
    parts = dict(STEPS)
    unknown = [s for s in steps if s not in parts]
    if unknown or "core" not in steps:
        raise ObsError(f"profile steps {steps} are not core plus some of {', '.join(parts)}", fix="name known steps")
    limits = role_limits(defaults)
    return sum(limits[c] for s in steps for c in parts[s]) + sum(limits[r] for r in reserve(defaults))


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def smallest_instance(memtotal: dict[str, int], needed_mib: int, of_family: str) -> str | None:
    """The instance type of ``of_family`` with the least MemTotal that still holds ``needed_mib``."""
    fitting = sorted((mib, name) for name, mib in memtotal.items() if family(name) == of_family and mib >= needed_mib)
    return fitting[0][1] if fitting else None


@dataclass(frozen=True)
class Profile:
    name: str
    adds: tuple[str, ...]
    needed_mib: int
    fits: str | None  # smallest instance type of the configured family that holds it


def profiles(defaults: dict[str, Any]) -> list[Profile]:
    limits = role_limits(defaults)
    memtotal = {k: int(v) for k, v in defaults["monitoring_stack_instance_memtotal_mib"].items()}
    kind = family(str(defaults["monitoring_stack_instance_type"]))
    out: list[Profile] = []
    total = 0
    for i, (step, components) in enumerate(STEPS):
        adds = components + (reserve(defaults) if i == 0 else ())
        total += sum(limits[c] for c in adds)
        name = step if i == 0 else f"{out[-1].name} + {step}"
        out.append(Profile(name, adds, total, smallest_instance(memtotal, total, kind)))
    return out


def markdown(defaults: dict[str, Any], results: dict[str, Any]) -> str:
    """The README's tables: every component's limit and basis, then every profile's sum."""
    limits = role_limits(defaults)
    known = bases(results)
    memtotal = {k: int(v) for k, v in defaults["monitoring_stack_instance_memtotal_mib"].items()}
    headroom = results["headroom_pct"]
    lines = [
        "| component | limit MiB | basis MiB | basis |",
        "| --- | --- | --- | --- |",
    ]
    for _step, components in STEPS:
        for c in components + (reserve(defaults) if _step == "core" else ()):
            b = known.get(c)
            how = "not recorded" if b is None else f"{b.kind}: {b.source}"
            if b is not None and b.kind == "measured":
                how += f" (+{headroom:g} %)"
            lines.append(f"| {c} | {limits[c]} | {'?' if b is None else f'{b.mib:g}'} | {how} |")
    sizes = ", ".join(f"{k} {v}" for k, v in sorted(memtotal.items(), key=lambda kv: (family(kv[0]), kv[1])))
    lines += [
        "",
        f"Planning MemTotal (MiB): {sizes}.",
        "",
        "| profile | adds | needs MiB | smallest instance type |",
        "| --- | --- | --- | --- |",
    ]
    for p in profiles(defaults):
        fits = f"{p.fits} ({memtotal[p.fits]})" if p.fits else "none listed"
        lines.append(f"| {p.name} | {', '.join(p.adds)} | {p.needed_mib} | {fits} |")
    return "\n".join(lines)
