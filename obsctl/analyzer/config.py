"""The analyzer's settings, from the environment (the Compose service gets them from the vault).

Secrets are read from ``<NAME>`` or from the file named by ``<NAME>_FILE`` (Docker/Compose
secrets); never from a command-line argument.

========================================  =======================================================
``OBS_ANALYZER_TOKEN`` (``_FILE``)        webhook credential: ``Authorization: Bearer <token>``, or
                                          Basic auth with user ``OBS_ANALYZER_USER`` and the token
                                          as password (Grafana's webhook offers both). Required.
``OBS_ANALYZER_USER``                     Basic-auth user name (default ``analyzer``)
``OBS_ANALYZER_DB``                       incident log (SQLite, WAL) holding the queue too
``OBS_ANALYZER_MAX_BODY``                 largest webhook body in bytes (default 1 MiB) -> 413
``OBS_ANALYZER_QUEUE_CAPACITY``           notifications waiting at most (default 1000) -> 503
``OBS_ANALYZER_OWNERS``                   service -> owner YAML (:mod:`obsctl.analyzer.owners`)
``PROMETHEUS_URL`` / ``LOKI_URL``         evidence sources (unset: that part of the pack is empty)
``GRAFANA_URL`` + ``GRAFANA_TOKEN``       deployment annotations
``DISCORD_WEBHOOK_URL`` (``_FILE``)       where analyses go (unset: recorded, not posted)
``OBS_ANALYZER_PROVIDERS``                provider order, e.g. ``anthropic,openai,gemini``
``<P>_API_KEY`` (``_FILE``), ``<P>_MODEL``  per provider ``P`` in ANTHROPIC, OPENAI, GEMINI; a provider
``<P>_BASE_URL``, ``<P>_PRICE_IN/OUT``    without key or model is skipped; prices in USD per
                                          million tokens (estimates for the budget)
``OBS_ANALYZER_LLM_TIMEOUT``              seconds per LLM call (default 30)
``OBS_ANALYZER_MAX_CALLS_HOUR/DAY``       budget caps on calls (default 20 / 100)
``OBS_ANALYZER_MAX_USD_HOUR/DAY``         budget caps on estimated cost (default 1 / 5)
========================================  =======================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from obsctl.analyzer.llm import BudgetCaps, Price
from obsctl.clients.llm import PROVIDERS, ProviderName
from obsctl.errors import ObsError
from obsctl.incidents.store import DEFAULT_DB

DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class ProviderSettings:
    name: ProviderName
    model: str
    api_key: str
    base_url: str = ""
    price: Price = field(default_factory=lambda: Price(0.0, 0.0))


@dataclass(frozen=True)
class Settings:
    token: str
    user: str = "analyzer"
    db: Path = Path(DEFAULT_DB)
    max_body: int = DEFAULT_MAX_BODY
    queue_capacity: int = 1000
    owners: Path | None = None
    prometheus_url: str = ""
    loki_url: str = ""
    grafana_url: str = ""
    grafana_token: str = ""
    discord_webhook_url: str = ""
    providers: list[ProviderSettings] = field(default_factory=list)
    llm_timeout: float = 30.0
    caps: BudgetCaps = field(default_factory=BudgetCaps)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        token = secret(env, "OBS_ANALYZER_TOKEN")
        if not token:
            raise ObsError(
                "OBS_ANALYZER_TOKEN is not set: the webhook would accept anyone",
                fix="set OBS_ANALYZER_TOKEN (or OBS_ANALYZER_TOKEN_FILE) to the credential Grafana sends",
            )
        providers = providers_from_env(env, "OBS_ANALYZER_PROVIDERS", ",".join(PROVIDERS))
        owners = env.get("OBS_ANALYZER_OWNERS", "").strip()
        return cls(
            token=token,
            user=env.get("OBS_ANALYZER_USER", "analyzer"),
            db=Path(env.get("OBS_ANALYZER_DB", DEFAULT_DB)),
            max_body=int(_float(env, "OBS_ANALYZER_MAX_BODY", DEFAULT_MAX_BODY)),
            queue_capacity=int(_float(env, "OBS_ANALYZER_QUEUE_CAPACITY", 1000)),
            owners=Path(owners) if owners else None,
            prometheus_url=env.get("PROMETHEUS_URL", ""),
            loki_url=env.get("LOKI_URL", ""),
            grafana_url=env.get("GRAFANA_URL", ""),
            grafana_token=secret(env, "GRAFANA_TOKEN"),
            discord_webhook_url=secret(env, "DISCORD_WEBHOOK_URL"),
            providers=providers,
            llm_timeout=_float(env, "OBS_ANALYZER_LLM_TIMEOUT", 30.0),
            caps=BudgetCaps(
                calls_per_hour=int(_float(env, "OBS_ANALYZER_MAX_CALLS_HOUR", 20)),
                calls_per_day=int(_float(env, "OBS_ANALYZER_MAX_CALLS_DAY", 100)),
                usd_per_hour=_float(env, "OBS_ANALYZER_MAX_USD_HOUR", 1.0),
                usd_per_day=_float(env, "OBS_ANALYZER_MAX_USD_DAY", 5.0),
            ),
        )


def providers_from_env(env: Mapping[str, str], order_variable: str, default_order: str) -> list[ProviderSettings]:
    """The LLM providers named, in order, by ``order_variable`` (comma-separated); a provider without
    ``<P>_API_KEY`` or ``<P>_MODEL`` is skipped. Shared by the analyzer and the reports."""
    providers = []
    for name in filter(None, (p.strip().lower() for p in env.get(order_variable, default_order).split(","))):
        if name not in PROVIDERS:
            raise ObsError(f"{order_variable} names '{name}'", fix=f"use some of: {', '.join(PROVIDERS)}")
        upper = name.upper()
        key, model = secret(env, f"{upper}_API_KEY"), env.get(f"{upper}_MODEL", "").strip()
        if key and model:
            price = Price(_float(env, f"{upper}_PRICE_IN", 0.0), _float(env, f"{upper}_PRICE_OUT", 0.0))
            providers.append(ProviderSettings(name, model, key, env.get(f"{upper}_BASE_URL", ""), price))
    return providers


def secret(env: Mapping[str, str], name: str) -> str:
    """``NAME``'s value, or the content of the file ``NAME_FILE`` names (stripped)."""
    value = env.get(name, "").strip()
    if value:
        return value
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ObsError(
            f"{name}_FILE={path} cannot be read: {exc.strerror}", fix="check the path and its permissions"
        ) from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ObsError(f"{name}={raw!r} is not a number", fix=f"set {name} to a number, e.g. {default:g}") from None
    if value < 0:
        raise ObsError(f"{name}={raw!r} is negative", fix=f"set {name} to a number >= 0")
    return value
