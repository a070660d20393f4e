"""Notification templates (Go text/template, run by Grafana's Alertmanager) with a computed length bound.

Discord rejects message content over 2000 characters and embed titles over 256 (HTTP 400). Grafana
truncates the content itself but cuts from the end, which would drop the links; it does not truncate
the title at all. So every variable part printed here goes through ``printf "%.Ns"`` (Go's precision
on strings counts runes), the alert list is capped, and the template is assembled from pieces that
carry their own worst-case length: :func:`title_bound` and :func:`message_bound` are computed from
the same pieces that produce the text, never written down by hand.

No ``$`` appears in these templates: they need no template variables, so Grafana's environment
expansion can never touch them, whatever a Grafana version does with provisioned template text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from obsctl.alerting.catalog import MAX_TITLE, Catalog

DISCORD_CONTENT_LIMIT = 2000
DISCORD_TITLE_LIMIT = 256
# Kept below Discord's limits: Discord counts UTF-16 units, Go's precision counts runes.
CONTENT_BUDGET = 1900
TITLE_BUDGET = 240
MAX_LISTED_ALERTS = 3
# Numbers printed without printf (alert counts) never exceed this many characters.
_NUMBER_WIDTH = 6

TEMPLATE_GROUP = "obs-platform"
TITLE = "obs.title"
MESSAGE = "obs.message"
EMAIL_SUBJECT = "obs.email.subject"


def _width(text: str) -> int:
    """Worst-case length of literal text: UTF-16 units, which is >= runes for every character."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Piece:
    text: str
    bound: int


def lit(text: str) -> Piece:
    return Piece(text, _width(text))


def field(expr: str, max_runes: int) -> Piece:
    """A variable printed with at most ``max_runes`` runes.

    Counted once per rune: the catalog refuses characters outside the BMP in alert text (they are two
    UTF-16 units), URLs are percent-encoded ASCII, and label values are host names, paths and app names.
    """
    return Piece(f'{{{{ printf "%.{max_runes}s" {expr} }}}}', max_runes)


def number(expr: str) -> Piece:
    return Piece(f"{{{{ {expr} }}}}", _NUMBER_WIDTH)


def seq(pieces: Iterable[Piece]) -> Piece:
    items = list(pieces)
    return Piece("".join(p.text for p in items), sum(p.bound for p in items))


def when(test: str, then: Iterable[Piece], otherwise: Iterable[Piece] = ()) -> Piece:
    yes, no = seq(then), seq(otherwise)
    text = f"{{{{ if {test} }}}}{yes.text}" + (f"{{{{ else }}}}{no.text}" if no.text else "") + "{{ end }}"
    return Piece(text, max(yes.bound, no.bound))


def switch(subject: str, cases: Mapping[str, str], default: str) -> Piece:
    """``if eq subject "k1"``...``else if``... chain printing literal text; bound is the longest branch."""
    parts = []
    for i, (key, text) in enumerate(cases.items()):
        parts.append(f'{{{{ {"if" if i == 0 else "else if"} eq {subject} "{key}" }}}}{text}')
    body = "".join(parts) + f"{{{{ else }}}}{default}{{{{ end }}}}"
    return Piece(body, max(_width(t) for t in (*cases.values(), default)))


def call(name: str, bound: int, arg: str = ".") -> Piece:
    return Piece(f'{{{{ template "{name}" {arg} }}}}', bound)


def define(name: str, body: Piece) -> str:
    return f'{{{{ define "{name}" }}}}{body.text}{{{{ end }}}}'


def _emoji(catalog: Catalog) -> Piece:
    return switch(".CommonLabels.severity", {s.key: s.emoji for s in catalog.severities.values()}, "⚪")


def _title(catalog: Catalog) -> Piece:
    return seq(
        [
            _emoji(catalog),
            lit(" ["),
            field(".CommonLabels.severity", 4),
            lit("] "),
            when('eq .Status "firing"', [lit("FIRING")], [lit("RESOLVED")]),
            lit(": "),
            field(".CommonLabels.alertname", MAX_TITLE),
            when("gt (len .Alerts) 1", [lit(" x"), number("len .Alerts")]),
        ]
    )


def _mention(catalog: Catalog) -> Piece:
    mentions = {s.key: s.mention + " " for s in catalog.severities.values() if s.mention}
    if not mentions:
        return lit("")
    return when('eq .Status "firing"', [switch(".CommonLabels.severity", mentions, "")])


def _alert_line() -> Piece:
    return seq(
        [
            when('eq .Status "resolved"', [lit("✅ ")], [lit("• ")]),
            field(".Annotations.summary", 140),
            when(".Annotations.value", [lit(" — value "), field(".Annotations.value", 24)]),
            lit("\n"),
        ]
    )


def _first_alert_details() -> Piece:
    """Description and links of the first alert in the group (they share rule, dashboard and runbook)."""
    return seq(
        [
            field(".Annotations.description", 200),
            lit("\n📊 Dashboard: "),
            field("(or .PanelURL .DashboardURL)", 250),
            when(".Annotations.runbook_url", [lit("\n📖 Runbook: "), field(".Annotations.runbook_url", 160)]),
            lit("\n🔕 Silence: "),
            field(".SilenceURL", 450),
            lit("\n"),
        ]
    )


def _alert_list(line_bound: int) -> Piece:
    many = [
        Piece(
            f'{{{{ range slice .Alerts 0 {MAX_LISTED_ALERTS} }}}}{{{{ template "obs.alert_line" . }}}}{{{{ end }}}}', 0
        ),
        lit("… "),
        number("len .Alerts"),
        lit(" alerts in this group\n"),
    ]
    few = [Piece('{{ range .Alerts }}{{ template "obs.alert_line" . }}{{ end }}', 0)]
    body = when(f"gt (len .Alerts) {MAX_LISTED_ALERTS}", many, few)
    return Piece(body.text, body.bound + MAX_LISTED_ALERTS * line_bound)


def _message(catalog: Catalog, title_bound: int, details_bound: int, line_bound: int) -> Piece:
    return seq(
        [
            _mention(catalog),
            call(TITLE, title_bound),
            lit("\n"),
            Piece('{{ with index .Alerts 0 }}{{ template "obs.first_alert" . }}{{ end }}', details_bound),
            _alert_list(line_bound),
        ]
    )


def title_bound(catalog: Catalog) -> int:
    return _title(catalog).bound


def message_bound(catalog: Catalog) -> int:
    return _message(catalog, title_bound(catalog), _first_alert_details().bound, _alert_line().bound).bound


def template_text(catalog: Catalog) -> str:
    """The whole template group: one ``define`` per line so the provisioning file stays readable."""
    title = _title(catalog)
    details = _first_alert_details()
    line = _alert_line()
    message = _message(catalog, title.bound, details.bound, line.bound)
    defines = [
        define(TITLE, title),
        define("obs.alert_line", line),
        define("obs.first_alert", details),
        define(MESSAGE, message),
        define(EMAIL_SUBJECT, call(TITLE, title.bound)),
    ]
    return "\n".join(defines) + "\n"
