"""Parse the PLAY RECAP of an ansible-playbook run (the lab's idempotence check)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$")
_COUNT = re.compile(r"(\w+)=(\d+)")


@dataclass(frozen=True)
class Recap:
    hosts: dict[str, dict[str, int]]

    def total(self, key: str) -> int:
        return sum(counts.get(key, 0) for counts in self.hosts.values())

    @property
    def changed(self) -> int:
        return self.total("changed")

    @property
    def ok(self) -> bool:
        return self.total("failed") == 0 and self.total("unreachable") == 0

    def summary(self) -> str:
        keys = ("ok", "changed", "failed", "unreachable", "skipped")
        return ", ".join(f"{k}={self.total(k)}" for k in keys)


def parse(output: str) -> Recap:
    """The counts of the LAST recap in ``output`` (earlier plays' recaps are superseded)."""
    hosts: dict[str, dict[str, int]] = {}
    in_recap = False
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("PLAY RECAP"):
            hosts, in_recap = {}, True
            continue
        if not in_recap:
            continue
        match = _LINE.match(line)
        if match:
            hosts[match.group("host")] = {k: int(v) for k, v in _COUNT.findall(match.group("counts"))}
        elif line:
            in_recap = False
    return Recap(hosts)
