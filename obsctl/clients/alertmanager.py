"""Alertmanager API v2: silences and alerts.

Grafana serves the same API for its built-in Alertmanager under
``/api/alertmanager/grafana/api/v2/...`` (a service-account token as Bearer): that is this client
with ``path_prefix=GRAFANA_PREFIX`` (see :func:`obsctl.clients.grafana.alertmanager`). A standalone
Alertmanager (tests, or a stack that routes through one) is the same client without a prefix.

Shapes (Alertmanager's OpenAPI ``api/v2/openapi.yaml``): a silence is ``{id, matchers: [{name,
value, isRegex, isEqual}], startsAt, endsAt, createdBy, comment, status: {state}}`` with state
``active | pending | expired``; ``POST /silences`` answers ``{silenceID}``; ``DELETE
/silence/{id}`` expires it (the silence stays listed as ``expired``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from obsctl.clients.http import ClientError, HttpClient
from obsctl.errors import ObsError

SERVER = "Alertmanager"
GRAFANA_PREFIX = "/api/alertmanager/grafana"
_SILENCE_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Matcher:
        return cls(str(raw["name"]), str(raw["value"]), bool(raw.get("isRegex")), bool(raw.get("isEqual", True)))

    def __str__(self) -> str:
        op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        return f'{self.name}{op[(self.is_regex, self.is_equal)]}"{self.value}"'

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        hit = re.fullmatch(self.value, actual) is not None if self.is_regex else actual == self.value
        return hit == self.is_equal


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str  # active | pending | expired

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Silence:
        return cls(
            id=str(raw["id"]),
            matchers=tuple(Matcher.from_json(m) for m in raw.get("matchers", [])),
            starts_at=parse_time(str(raw["startsAt"])),
            ends_at=parse_time(str(raw["endsAt"])),
            created_by=str(raw.get("createdBy", "")),
            comment=str(raw.get("comment", "")),
            state=str(raw.get("status", {}).get("state", "")),
        )

    def matcher_text(self) -> str:
        return ", ".join(str(m) for m in self.matchers)


@dataclass(frozen=True)
class AlertInstance:
    """One alert as the Alertmanager holds it (``GET /alerts``)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    state: str  # active | suppressed | unprocessed
    fingerprint: str
    silenced_by: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AlertInstance:
        status = raw.get("status", {})
        return cls(
            labels={str(k): str(v) for k, v in raw.get("labels", {}).items()},
            annotations={str(k): str(v) for k, v in raw.get("annotations", {}).items()},
            starts_at=parse_time(str(raw.get("startsAt", "1970-01-01T00:00:00Z"))),
            state=str(status.get("state", "")),
            fingerprint=str(raw.get("fingerprint", "")),
            silenced_by=tuple(str(s) for s in status.get("silencedBy", []) or []),
        )


def parse_time(text: str) -> datetime:
    """RFC 3339 as Alertmanager writes it (nanoseconds and ``Z`` included)."""
    value = text.strip().replace("Z", "+00:00")
    # Python takes at most microseconds: cut a longer fraction.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime: attach a time zone (UTC)")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AlertmanagerClient:
    """``base_url`` is the server root; ``path_prefix`` is ``GRAFANA_PREFIX`` for Grafana's own."""

    def __init__(
        self,
        base_url: str,
        path_prefix: str = "",
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        server: str = SERVER,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = HttpClient(server, base_url, headers=headers, timeout=timeout, retries=retries, transport=transport)
        self.prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""

    def close(self) -> None:
        self.http.close()

    def _path(self, tail: str) -> str:
        return f"{self.prefix}/api/v2/{tail.lstrip('/')}"

    def silences(self, *, state: str | None = None) -> list[Silence]:
        """Every silence the server keeps (expired ones too unless ``state`` filters them)."""
        raw = self.http.get_json(self._path("silences")) or []
        out = [Silence.from_json(item) for item in raw]
        return [s for s in out if state is None or s.state == state]

    def create_silence(
        self,
        matchers: Sequence[Matcher],
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """Create a silence; returns its id. Never retried: a retry could create two."""
        if not matchers:
            raise ObsError("refusing to create a silence without matchers (it would mute everything)")
        if ends_at <= starts_at:
            raise ObsError("a silence must end after it starts", fix="give a positive duration")
        body = {
            "matchers": [m.to_json() for m in matchers],
            "startsAt": format_time(starts_at),
            "endsAt": format_time(ends_at),
            "createdBy": created_by,
            "comment": comment,
        }
        answer = self.http.post_json(self._path("silences"), body)
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not silence_id:
            raise ClientError(
                self.http.server,
                self.http.url_of(self._path("silences")),
                f"answered without a silenceID: {answer!r}",
                fix="check that the URL points at an Alertmanager v2 API",
            )
        return str(silence_id)

    def expire_silence(self, silence_id: str) -> None:
        if not _SILENCE_ID.match(silence_id):
            raise ObsError(f"'{silence_id}' is not a silence id", fix="copy the id from /status or the silence list")
        self.http.delete(self._path(f"silence/{silence_id}"))

    def alerts(self, *, active: bool = True, silenced: bool = True, inhibited: bool = True) -> list[AlertInstance]:
        params = {"active": str(active).lower(), "silenced": str(silenced).lower(), "inhibited": str(inhibited).lower()}
        raw = self.http.get_json(self._path("alerts"), params=params) or []
        return [AlertInstance.from_json(item) for item in raw]

    def post_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Push alerts (``POST /alerts``): what Prometheus does; used to feed a standalone Alertmanager."""
        self.http.post_json(self._path("alerts"), list(alerts))
