"""No template may render differently on another day.

A template whose output depends on the clock is rewritten by every run on a later day: its handler
restarts the service (Loki) and a deployment annotation is posted for a change nobody made.
Checked statically here, for every role template and Terraform template: no clock call in the
template itself, and no variable that roles derive from the clock (set_fact, vars, defaults).
tests/contract/test_monitoring_stack_render.py renders loki.yml under two dates as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO

# Jinja/Ansible and Terraform ways of reading the clock.
CLOCK = re.compile(
    r"ansible_date_time|\bnow\s*\(|strftime|\b(?:lookup|query)\(\s*['\"](?:ansible\.builtin\.)?pipe['\"]\s*,\s*['\"]date"
    r"|\b(?:plan)?timestamp\s*\(",
)


def _templates() -> list[Path]:
    found = sorted(REPO.glob("roles/*/templates/**/*.j2")) + sorted((REPO / "terraform" / "templates").iterdir())
    assert len(found) > 10, "the template globs must find the project's templates"
    return found


def _set_facts(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("ansible.builtin.set_fact", "set_fact") and isinstance(value, dict):
                yield from value.items()
            else:
                yield from _set_facts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _set_facts(item)


def clock_variables(roles: Path) -> dict[str, str]:
    """Variables the roles derive from the clock: name -> where it is defined."""
    found: dict[str, str] = {}
    for path in sorted(roles.glob("*/*/*.yml")):
        if path.parent.name not in ("vars", "defaults", "tasks", "handlers"):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        pairs = _set_facts(data) if path.parent.name in ("tasks", "handlers") else (data or {}).items()
        for name, value in pairs:
            if CLOCK.search(str(value)):
                found[str(name)] = str(path.relative_to(roles.parent))
    return found


def clock_uses(text: str, clock_vars: dict[str, str]) -> list[str]:
    """Every clock call or clock-derived variable a template uses."""
    uses = [m.group(0) for m in CLOCK.finditer(text)]
    uses += [
        f"{name} (set from the clock in {where})"
        for name, where in clock_vars.items()
        if re.search(rf"\b{re.escape(name)}\b", text)
    ]
    return uses


def test_the_scan_knows_the_clock_derived_variables() -> None:
    clock_vars = clock_variables(REPO / "roles")
    # The role's one clock reading for the Loki schema decisions (tasks/loki_schema.yml) must be
    # seen, or the template check below could pass by not looking.
    assert "_monitoring_stack_loki_today" in clock_vars, clock_vars


@pytest.mark.parametrize(
    "text",
    [
        "# rendered {{ ansible_date_time.date }}",
        "# {{ now(utc=true) }}",
        "# {{ '%Y' | strftime }}",
        "# {{ lookup('ansible.builtin.pipe', 'date +%F') }}",
        "# ${timestamp()}",
        "# today {{ _monitoring_stack_loki_today }}",
    ],
)
def test_the_scan_flags_each_kind_of_clock_use(text: str) -> None:
    assert clock_uses(text, clock_variables(REPO / "roles")), f"not flagged: {text}"


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_template_depends_on_the_day_it_is_rendered(template: Path) -> None:
    uses = clock_uses(template.read_text(encoding="utf-8"), clock_variables(REPO / "roles"))
    assert uses == [], (
        f"{template.relative_to(REPO)} depends on the date ({uses}): every run on a later day would rewrite it "
        "and restart the service. Render only what the inventory decides."
    )
