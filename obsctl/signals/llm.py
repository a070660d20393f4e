"""The LLM metrics label contract (docs/llm-metrics.md), and the services that follow it.

Every service that calls an LLM exports, under its own prefix ``<prefix>_``:

- ``<prefix>_llm_requests_total{provider, model, outcome}`` (counter; ``outcome``: ``ok`` or ``error``)
- ``<prefix>_llm_tokens_used_total{provider, model, type}`` (counter; ``type``: ``input`` or ``output``)
- ``<prefix>_llm_request_duration_seconds{provider, model}`` (histogram, seconds)
- ``<prefix>_llm_cost_usd_total{provider, model}`` (counter, estimated US dollars)

The LLM usage dashboard reads every family of every source listed in :data:`SOURCES`, adding a
``service`` label (the source's name) so one panel shows the analyzer's calls and the customer's
side by side. A source lists only the families it really exports: the customer's SDB agent names
requests and tokens (seed 002), so its latency and cost are not shown until it exports them.
Adding an LLM service = one :class:`Source` here; the metric catalog
(:mod:`obsctl.signals.metrics`), the queries and the analyzer's own registry derive from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from obsctl.signals import provenance
from obsctl.signals.provenance import Producer

Family = Literal["requests", "tokens", "duration", "cost"]
Kind = Literal["counter", "histogram"]


@dataclass(frozen=True)
class FamilySpec:
    suffix: str  # after "<prefix>_", as Prometheus shows it (counters end in _total)
    kind: Kind
    labels: tuple[str, ...]
    help: str


FAMILIES: dict[Family, FamilySpec] = {
    "requests": FamilySpec(
        "llm_requests_total", "counter", ("provider", "model", "outcome"), "LLM calls, by outcome (ok, error)"
    ),
    "tokens": FamilySpec(
        "llm_tokens_used_total", "counter", ("provider", "model", "type"), "LLM tokens used, by type (input, output)"
    ),
    "duration": FamilySpec(
        "llm_request_duration_seconds", "histogram", ("provider", "model"), "LLM call latency in seconds"
    ),
    "cost": FamilySpec("llm_cost_usd_total", "counter", ("provider", "model"), "estimated LLM cost in US dollars"),
}
OUTCOMES = ("ok", "error")
TOKEN_TYPES = ("input", "output")


@dataclass(frozen=True)
class Source:
    service: str  # the `service` label the dashboard gives its series
    prefix: str
    producer: Producer
    families: tuple[Family, ...]

    def name(self, family: Family) -> str:
        return f"{self.prefix}_{FAMILIES[family].suffix}"


ANALYZER = Source("analyzer", "obs_analyzer", provenance.ANALYZER, ("requests", "tokens", "duration", "cost"))
SDB_AGENT = Source("sdb-agent", "sdb", provenance.SDB_AGENT, ("requests", "tokens"))
SOURCES: tuple[Source, ...] = (ANALYZER, SDB_AGENT)


def sources_with(family: Family) -> tuple[Source, ...]:
    return tuple(s for s in SOURCES if family in s.families)


def union(family: Family, inner: str, by: str) -> str:
    """``sum by (service, <by>)`` over every source exporting ``family``.

    ``inner`` is a PromQL template with ``{metric}`` for the series name (``_bucket`` etc. appended
    by the caller) and the catalog's ``%(m)s`` matcher slot inside the selector's braces; each
    source's result gets ``service="<name>"`` (label_replace) so the union keeps them apart.
    """
    parts = [
        f'label_replace({inner.format(metric=s.name(family))}, "service", "{s.service}", "", "")'
        for s in sources_with(family)
    ]
    return f"sum by (service, {by}) ({' or '.join(parts)})"
