"""The two webhook payloads the analyzer accepts, parsed into one shape.

Prometheus Alertmanager's webhook (``version: "4"``): ``{receiver, status, alerts: [{status, labels,
annotations, startsAt, endsAt, generatorURL, fingerprint}], groupLabels, commonLabels,
commonAnnotations, externalURL, version, groupKey, truncatedAlerts}``.

Grafana's webhook contact point sends the same document plus, at the top, ``orgId`` (and ``title``,
``state``, ``message``) and, per alert, ``silenceURL``, ``dashboardURL``, ``panelURL`` and the query
results: ``values`` (``{"B": 44.2, "C": 1}``) on current Grafana, ``valueString`` (``"[ metric=''
labels={} value=14151.3 ]"``) on older releases. Either is kept as the alert's value text.

Only what the analyzer reads is required (``status``, ``alerts[].status``, ``alerts[].labels`` with
an ``alertname``, ``alerts[].startsAt``); everything else is optional, unknown keys are ignored.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from obsctl.errors import field_path

Source = Literal["grafana", "alertmanager"]
ZERO_TIME_YEAR = 1  # "0001-01-01T00:00:00Z": Alertmanager's and Grafana's "no end yet"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WebhookAlert(_Model):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""
    silence_url: str = Field(default="", alias="silenceURL")
    dashboard_url: str = Field(default="", alias="dashboardURL")
    panel_url: str = Field(default="", alias="panelURL")
    values: dict[str, float | None] | None = None
    value_string: str = Field(default="", alias="valueString")

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            raise ValueError("labels must carry 'alertname'")
        return labels

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a time zone is required (RFC 3339, e.g. 2026-01-02T03:04:05Z)")
        return value

    @property
    def ended_at(self) -> datetime | None:
        if self.ends_at is None or self.ends_at.year <= ZERO_TIME_YEAR:
            return None
        return self.ends_at

    def identity(self) -> str:
        """The fingerprint the sender computed, or one from the labels when it sent none."""
        if self.fingerprint:
            return self.fingerprint
        return hashlib.sha256(json.dumps(self.labels, sort_keys=True).encode()).hexdigest()[:16]

    def value_text(self) -> str:
        if self.values:
            return ", ".join(f"{k}={v:g}" if v is not None else f"{k}=none" for k, v in sorted(self.values.items()))
        return self.value_string


class WebhookPayload(_Model):
    receiver: str = ""
    status: Literal["firing", "resolved"]
    alerts: list[WebhookAlert] = Field(min_length=1)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    version: str = ""
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts")
    org_id: int | None = Field(default=None, alias="orgId")
    title: str = ""
    message: str = ""

    def source(self) -> Source:
        grafana = self.org_id is not None or any(
            a.values is not None or a.value_string or a.dashboard_url or a.panel_url or a.silence_url
            for a in self.alerts
        )
        return "grafana" if grafana else "alertmanager"

    def group(self) -> str:
        """The group key, or one derived from receiver and group labels when the sender gave none."""
        return self.group_key or f"{self.receiver}:{json.dumps(self.group_labels, sort_keys=True)}"


def dedup_key(group_key: str, alert: WebhookAlert) -> str:
    """One incident = one alert instance of one group for one firing episode: group key +
    fingerprint + start time. Grafana's repeats and the final ``resolved`` carry the same three."""
    start = alert.starts_at.astimezone(UTC).isoformat(timespec="seconds")
    raw = f"{group_key}\n{alert.identity()}\n{start}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


class PayloadError(ValueError):
    """A webhook body that is not one of the two documented shapes; ``fields`` names what is wrong."""

    def __init__(self, fields: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{f['field']}: {f['error']}" for f in fields))
        self.fields = fields


def parse(body: bytes | str) -> WebhookPayload:
    """Parse and validate; raise PayloadError naming each wrong field (``alerts[0].startsAt``)."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError([{"field": "(body)", "error": f"not JSON: {exc}"}]) from None
    if not isinstance(data, dict):
        raise PayloadError([{"field": "(body)", "error": f"expected a JSON object, found {type(data).__name__}"}])
    try:
        return WebhookPayload.model_validate(data)
    except ValidationError as exc:
        fields = []
        for error in exc.errors(include_url=False):
            loc = list(error["loc"])
            if error["type"] == "missing":
                fields.append({"field": field_path(loc), "error": "required field is missing"})
            else:
                fields.append({"field": field_path(loc), "error": str(error["msg"])})
        raise PayloadError(fields) from None
