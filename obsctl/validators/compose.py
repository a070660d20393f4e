"""Compose file: ports bound to one address (never 0.0.0.0), health checks, memory limits within budget.

A service only in the profile ``jobs`` is a one-off job (``docker compose run --rm``, e.g. the report
timers): it needs no health check and no restart policy, but its memory limit counts in the budget
because it runs beside everything else.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field

from obsctl.schema import Shape, shape_problems
from obsctl.validators import load_yaml_mapping

Size = str | int | float  # 512m, 1g, or bytes


class _Port(Shape):
    published: str | int | None = None
    host_ip: str | None = None


class _Healthcheck(Shape):
    test: list[str] | str | None = None
    disable: bool | None = None


class _Limits(Shape):
    memory: Size | None = None


class _Resources(Shape):
    limits: _Limits | None = None


class _Deploy(Shape):
    resources: _Resources | None = None


class _Service(Shape):
    image: str | None = None
    restart: str | None = None
    ports: list[str | int | _Port] | None = None
    healthcheck: _Healthcheck | None = None
    mem_limit: Size | None = None
    deploy: _Deploy | None = None
    profiles: list[str] | None = None


class _Budget(Shape):
    host_mib: float | int
    reserved_mib: float | int | dict[str, float | int] = 0
    instance_sizes_mib: dict[str, float | int] | None = None
    unscheduled_jobs: list[str] | None = None


class ComposeFile(Shape):
    """The part of a compose file the rules read."""

    services: dict[str, _Service | None] | None = None
    memory_budget: _Budget | None = Field(default=None, alias="x-obs-memory-budget")


JOB_PROFILE = "jobs"
_ALL_INTERFACES = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 (what the check looks for)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$", re.IGNORECASE)
_MIB_PER_UNIT = {"": 1 / (1024 * 1024), "b": 1 / (1024 * 1024), "k": 1 / 1024, "m": 1.0, "g": 1024.0}


def memory_mib(value: object) -> float:
    """Compose memory value (``512m``, ``1g``, bytes as int) in MiB."""
    if isinstance(value, int | float):
        return float(value) / (1024 * 1024)
    match = _SIZE.match(str(value).strip())
    if not match:
        raise ValueError(f"'{value}' is not a memory size like 512m or 1g")
    return float(match.group(1)) * _MIB_PER_UNIT[match.group(2).lower()]


def _host_ip(port: object) -> str | None:
    """Host IP a port entry binds to; None when the entry publishes nothing on the host."""
    if isinstance(port, dict):
        if port.get("published") in (None, ""):
            return None
        return str(port.get("host_ip", ""))
    text = str(port)
    if text.startswith("[") and "]" in text:  # [::1]:9090:9090
        return text[: text.index("]") + 1]
    parts = text.split(":")
    if len(parts) == 1:
        return ""  # container port only: Docker picks a host port on every interface
    if len(parts) == 2:
        return ""  # host:container without an address = all interfaces
    return ":".join(parts[:-2])


def _limit(service: dict[str, Any]) -> object:
    limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    return service.get("mem_limit", limits.get("memory"))


def _check_service(name: str, service: dict[str, Any], problems: list[str]) -> float:
    for port in service.get("ports") or []:
        ip = _host_ip(port)
        if ip is not None and ip in _ALL_INTERFACES:
            problems.append(f"service {name}: port {port!r} is published on every interface; bind it to an address")
    if service.get("profiles") == [JOB_PROFILE]:
        if service.get("restart") not in (None, "no"):
            restart = service["restart"]
            problems.append(f"service {name}: a job (profile {JOB_PROFILE}) must not restart (is {restart!r})")
    else:
        health = service.get("healthcheck")
        if not isinstance(health, dict) or health.get("disable") or not health.get("test"):
            problems.append(f"service {name}: no health check")
        elif health["test"] == ["NONE"]:
            problems.append(f"service {name}: health check disabled (NONE)")
        if service.get("restart") != "unless-stopped":
            problems.append(f"service {name}: restart should be unless-stopped (is {service.get('restart')!r})")
    image = str(service.get("image", ""))
    if not image.startswith("obs/") and (image.endswith(":latest") or ":" not in image.rsplit("/", 1)[-1]):
        problems.append(f"service {name}: image {image!r} is not pinned to a version")
    limit = _limit(service)
    if limit is None:
        problems.append(f"service {name}: no mem_limit")
        return 0.0
    try:
        return memory_mib(limit)
    except ValueError as exc:
        problems.append(f"service {name}: {exc}")
        return 0.0


def _unscheduled(name: object, service: dict[str, Any], idle: set[str]) -> bool:
    """A one-off job (profile jobs) that the budget says no timer starts."""
    return str(name) in idle and service.get("profiles") == [JOB_PROFILE]


def budget(compose: dict[str, Any]) -> tuple[float, float] | None:
    """(host MiB, reserved MiB) from the file's ``x-obs-memory-budget`` extension, if present."""
    spec = compose.get("x-obs-memory-budget")
    if not isinstance(spec, dict):
        return None
    reserved = spec.get("reserved_mib", 0)
    total_reserved = sum(float(v) for v in reserved.values()) if isinstance(reserved, dict) else float(reserved)
    return float(spec["host_mib"]), total_reserved


def check(path: Path) -> list[str]:
    compose = load_yaml_mapping(path)
    shape = shape_problems(ComposeFile, compose)
    if shape:
        return shape
    services = compose.get("services")
    if not isinstance(services, dict) or not services:
        return ["no services defined"]
    problems: list[str] = []
    # A job no timer starts (x-obs-memory-budget.unscheduled_jobs) runs only by hand: not counted.
    idle = set((compose.get("x-obs-memory-budget") or {}).get("unscheduled_jobs") or [])
    used = sum(
        _check_service(str(name), svc or {}, problems) * (0 if _unscheduled(name, svc or {}, idle) else 1)
        for name, svc in services.items()
    )
    spec = budget(compose)
    if spec is None:
        problems.append("no x-obs-memory-budget (host_mib, reserved_mib): the memory sum cannot be checked")
    else:
        host, reserved = spec
        if used + reserved > host:
            problems.append(
                f"memory limits {used:.0f} MiB + reserved {reserved:.0f} MiB = {used + reserved:.0f} MiB "
                f"exceed the host's {host:.0f} MiB{_fitting_instance(compose, used + reserved)}"
            )
    return problems


def smallest_instance(sizes: dict[str, float | int], needed_mib: float) -> str | None:
    """The instance size with the least memory that still holds ``needed_mib``; None when none does."""
    fitting = sorted((float(mib), name) for name, mib in sizes.items() if float(mib) >= needed_mib)
    return fitting[0][1] if fitting else None


def _fitting_instance(compose: dict[str, Any], needed_mib: float) -> str:
    """The sentence naming the instance size that holds the stack, from x-obs-memory-budget.instance_sizes_mib."""
    sizes = (compose.get("x-obs-memory-budget") or {}).get("instance_sizes_mib") or {}
    if not sizes:
        return ""
    name = smallest_instance(sizes, needed_mib)
    if name is None:
        return f"; no listed instance size holds it ({', '.join(sorted(sizes))}): turn a service off"
    return (
        f"; the smallest instance size that holds it is {name} ({float(sizes[name]):.0f} MiB): "
        f"use it (Terraform instance_type and monitoring_stack_instance_type) or turn a service off"
    )
