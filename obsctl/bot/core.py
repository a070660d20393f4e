"""Every bot command as plain Python: a :class:`Member` and arguments in, a :class:`Reply` out.

Nothing here knows Discord; the transport (:mod:`obsctl.bot.discord_app`) only defers, calls these
methods in a thread and sends the reply. Rules every command follows:

* Reading (/status, /dashboard) is open to everyone; changing (/silence, /unsilence, /ack) needs
  one of the configured operator roles, checked again when the change is confirmed.
* /silence and /unsilence change nothing until the same member presses the confirmation button
  (:meth:`ChatOps.confirm`); a pending change expires after ``CONFIRM_TTL`` seconds.
* Every change is audited: a log line, a row in the incident log's ``audit`` table, and a Grafana
  annotation when Grafana is configured (an annotation failure is logged, never fatal).
* Every failure answers with what went wrong and what to do (``ObsError.fix``), never silence.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from obsctl.clients.alertmanager import AlertmanagerClient, Matcher, Silence
from obsctl.clients.discord import LIMITS, DiscordMessage, Embed, EmbedField, fit_to_limits, truncate
from obsctl.clients.grafana import RULE_UID_LABEL
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from obsctl.incidents.store import Incident, IncidentStore

log = logging.getLogger("obsctl.bot")

CONFIRM_TTL = 300.0
GREEN, ORANGE, RED = 0x2ECC71, 0xE67E22, 0xE74C3C
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
# Labels of an incident that narrow an /ack silence to that alert (when the incident has them).
ACK_LABELS = ("alertname", RULE_UID_LABEL, "instance", "app", "host", "job")


@dataclass(frozen=True)
class Member:
    """Who asked: Discord user id, display name, and the ids and names of their roles."""

    id: str
    name: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reply:
    text: str = ""
    embed: Embed | None = None
    image: bytes | None = None
    image_name: str = ""
    ok: bool = True
    ephemeral: bool = False
    confirm_token: str = ""  # non-empty: the transport shows Confirm/Cancel buttons for this token


@dataclass(frozen=True)
class Rule:
    """An alert rule the bot may silence: the catalog's uid and title (Grafana's alertname)."""

    uid: str
    title: str


@dataclass
class Pending:
    token: str
    member_id: str
    action: str
    summary: str
    run: Callable[[Member], Reply]
    expires: float


@dataclass(frozen=True)
class Annotation:
    text: str
    tags: list[str] = field(default_factory=list)


def failure(message: str, fix: str | None) -> Reply:
    text = f"❌ {message}" + (f"\n➡️ {fix}" if fix else "")
    return Reply(text=truncate(text, LIMITS.content), ok=False, ephemeral=True)


def fitted(reply: Reply) -> Reply:
    """The reply cut to Discord's message limits (content, embed fields, 6000 in total)."""
    message = fit_to_limits(DiscordMessage(content=reply.text, embeds=[reply.embed] if reply.embed else []))
    return replace(reply, text=message.content, embed=message.embeds[0] if message.embeds else None)


def parse_duration(text: str, maximum: timedelta | None = None) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1h30m``: whole minutes at least, at most ``maximum``."""
    raw = text.strip().lower()
    match = _DURATION.match(raw)
    if not raw or match is None:
        raise ObsError(
            f"duration '{text}' is not understood",
            fix="write it as a number and a unit: 30m, 2h, 1d (or combined, 1h30m)",
        )
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes)
    if value < timedelta(minutes=1):
        raise ObsError(f"duration '{text}' is zero", fix="give at least 1m")
    if maximum is not None and value > maximum:
        raise ObsError(
            f"duration '{text}' is longer than the allowed maximum {format_duration(maximum)}",
            fix=f"give at most {format_duration(maximum)}, and silence again later if still needed",
        )
    return value


def format_duration(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (mins, "m")) if n) or "0m"


class ChatOps:
    """The bot's commands. ``alertmanager`` is Grafana's built-in one or a standalone one;
    ``rule_uid_matcher`` adds ``__alert_rule_uid__`` to silences (Grafana-managed rules carry it)."""

    def __init__(
        self,
        *,
        store: IncidentStore,
        alertmanager: AlertmanagerClient,
        prometheus: PrometheusClient | None,
        rules: Sequence[Rule],
        operator_roles: frozenset[str],
        max_silence: timedelta = timedelta(hours=24),
        ack_silence: timedelta = timedelta(hours=1),
        rule_uid_matcher: bool = True,
        annotate: Callable[[Annotation], None] | None = None,
        render_dashboard: Callable[[str, str], tuple[bytes, str, str]] | None = None,
        mark_alert_message: Callable[[str, str], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.alertmanager = alertmanager
        self.prometheus = prometheus
        self.rules = list(rules)
        self.operator_roles = operator_roles
        self.max_silence = max_silence
        self.ack_silence = ack_silence
        self.rule_uid_matcher = rule_uid_matcher
        self.annotate = annotate
        self.render_dashboard = render_dashboard
        self.mark_alert_message = mark_alert_message
        self.clock = clock
        self.monotonic = monotonic
        self.pending: dict[str, Pending] = {}

    # -- safety ----------------------------------------------------------------------------------
    def may_change(self, member: Member) -> bool:
        return bool(self.operator_roles & set(member.roles))

    def _forbidden(self, member: Member, what: str) -> Reply:
        log.warning("refused %s for %s (%s): no operator role", what, member.name, member.id)
        roles = ", ".join(sorted(self.operator_roles)) or "(none configured)"
        return failure(
            f"{member.name}, you may read but not {what}: that needs one of the roles {roles}",
            "ask a server admin for the role, or ask a member who has it",
        )

    def _audit(self, member: Member, action: str, detail: str, incident_id: int | None = None) -> None:
        log.info("audit: %s (%s) %s: %s", member.name, member.id, action, detail)
        self.store.audit(f"discord:{member.name} ({member.id})", action, detail, incident_id)
        if self.annotate is not None:
            try:
                self.annotate(Annotation(f"{action} by {member.name}: {detail}", ["chatops", action]))
            except ObsError as exc:
                log.warning("audit annotation for %s failed: %s", action, exc)

    def _ask(self, member: Member, action: str, summary: str, run: Callable[[Member], Reply]) -> Reply:
        now = self.monotonic()
        for token in [t for t, p in self.pending.items() if p.expires < now]:
            del self.pending[token]
        token = secrets.token_hex(8)
        self.pending[token] = Pending(token, member.id, action, summary, run, now + CONFIRM_TTL)
        return Reply(
            text=f"⚠️ {summary}\nConfirm within {int(CONFIRM_TTL // 60)} minutes; nothing changes until then.",
            ephemeral=True,
            confirm_token=token,
        )

    def confirm(self, member: Member, token: str) -> Reply:
        """The confirmation button: runs the pending change if it is this member's and still valid."""
        pending = self.pending.get(token)
        if pending is None or pending.expires < self.monotonic():
            self.pending.pop(token, None)
            return failure("this confirmation has expired or was already used", "run the command again")
        if pending.member_id != member.id:
            return failure(
                "only the member who asked may confirm this change", "run the command yourself if you want it"
            )
        if not self.may_change(member):
            return self._forbidden(member, pending.action)
        del self.pending[token]
        return self._guard(lambda: pending.run(member))

    def cancel(self, member: Member, token: str) -> Reply:
        pending = self.pending.get(token)
        if pending is None or pending.member_id != member.id:
            return failure("nothing of yours to cancel here", "it may have expired already: nothing was changed")
        del self.pending[token]
        return Reply(text=f"Cancelled: {pending.summary} — nothing was changed.", ephemeral=True)

    @staticmethod
    def _guard(work: Callable[[], Reply]) -> Reply:
        try:
            return work()
        except ObsError as exc:
            log.warning("command failed: %s", exc)
            return failure(exc.message, exc.fix)

    # -- /silence and /unsilence ----------------------------------------------------------------
    def find_rule(self, ref: str) -> Rule:
        text = ref.strip()
        for rule in self.rules:
            if text.lower() in {rule.uid.lower(), rule.title.lower()}:
                return rule
        close = [r.uid for r in self.rules if text.lower() in r.uid.lower() or text.lower() in r.title.lower()]
        hint = ", ".join(close[:10] or [r.uid for r in self.rules][:10])
        raise ObsError(f"no alert rule '{ref}' in the alert catalog", fix=f"give a rule uid or title, e.g. {hint}")

    def rule_matchers(self, rule: Rule) -> list[Matcher]:
        matchers = [Matcher("alertname", rule.title)]
        if self.rule_uid_matcher:
            matchers.append(Matcher(RULE_UID_LABEL, rule.uid))
        return matchers

    def request_silence(self, member: Member, rule_ref: str, duration: str, reason: str = "") -> Reply:
        if not self.may_change(member):
            return self._forbidden(member, "silence alerts")

        def plan() -> Reply:
            rule = self.find_rule(rule_ref)
            length = parse_duration(duration, self.max_silence)
            matchers = self.rule_matchers(rule)
            comment = reason.strip() or "silenced from Discord"
            summary = (
                f"Silence **{rule.title}** (`{rule.uid}`) for {format_duration(length)}: "
                f"matchers {', '.join(str(m) for m in matchers)}; reason: {comment}"
            )

            def run(who: Member) -> Reply:
                start = self.clock()
                silence_id = self.alertmanager.create_silence(
                    matchers, start, start + length, who.name, f"{comment} (by {who.name} via Discord)"
                )
                self._audit(who, "silence", f"{silence_id} {rule.uid} for {format_duration(length)}: {comment}")
                until = (start + length).strftime("%Y-%m-%d %H:%M UTC")
                return Reply(text=f"🔕 Silenced **{rule.title}** until {until} (silence `{silence_id}`).")

            return self._ask(member, "silence alerts", summary, run)

        return self._guard(plan)

    def request_unsilence(self, member: Member, silence_id: str) -> Reply:
        if not self.may_change(member):
            return self._forbidden(member, "remove silences")

        def plan() -> Reply:
            wanted = silence_id.strip()
            live = [s for s in self.alertmanager.silences() if s.state in {"active", "pending"}]
            found = [s for s in live if s.id == wanted or (len(wanted) >= 8 and s.id.startswith(wanted))]
            if len(found) != 1:
                ids = ", ".join(s.id[:8] for s in live[:10]) or "none"
                raise ObsError(
                    f"no single silence in force matches '{silence_id}'",
                    fix=f"give the id shown by /status (silences in force: {ids})",
                )
            target = found[0]
            summary = f"Remove silence `{target.id}` ({target.matcher_text()}), set by {target.created_by}"

            def run(who: Member) -> Reply:
                self.alertmanager.expire_silence(target.id)
                self._audit(who, "unsilence", f"{target.id} ({target.matcher_text()})")
                return Reply(text=f"🔔 Silence `{target.id}` removed: {target.matcher_text()} notifies again.")

            return self._ask(member, "remove silences", summary, run)

        return self._guard(plan)

    # -- /ack -----------------------------------------------------------------------------------
    def ack(self, member: Member, alert: str) -> Reply:
        if not self.may_change(member):
            return self._forbidden(member, "acknowledge incidents")

        def work() -> Reply:
            incident = self.store.find(alert)
            if incident is None:
                open_ones = ", ".join(f"#{i.id} {i.alertname}" for i in self.store.open_incidents()[:10]) or "none"
                raise ObsError(
                    f"no incident '{alert}' in the incident log",
                    fix=f"give an incident id (#42) or the alert name of an open one (open: {open_ones})",
                )
            now = self.clock()
            acked, first = self.store.acknowledge(incident.id, member.name, now)
            if not first:
                when = acked.acked_at.strftime("%H:%M UTC") if acked.acked_at else "earlier"
                return Reply(
                    text=f"🔁 Incident #{acked.id} ({acked.alertname}) was already acknowledged by "
                    f"**{acked.acked_by}** at {when}.",
                    ephemeral=True,
                )
            matchers = [Matcher(k, incident.labels[k]) for k in ACK_LABELS if incident.labels.get(k)]
            if not any(m.name == "alertname" for m in matchers):
                matchers.insert(0, Matcher("alertname", incident.alertname))
            try:
                silence_id = self.alertmanager.create_silence(
                    matchers,
                    now,
                    now + self.ack_silence,
                    member.name,
                    f"ACK by {member.name} (#{incident.id})",
                )
            except ObsError as exc:
                self._audit(member, "ack", f"incident #{incident.id} {incident.alertname}; silence failed", incident.id)
                marked = self._mark_original(incident, member, now)
                return failure(
                    f"incident #{incident.id} is acknowledged by you, but the ACK silence failed: {exc.message}"
                    + marked,
                    exc.fix or "silence it with /silence",
                )
            detail = f"incident #{incident.id} {incident.alertname}; silence {silence_id}"
            self._audit(member, "ack-silence", detail, incident.id)
            return Reply(
                text=f"✅ Incident #{incident.id} (**{incident.alertname}**) acknowledged by **{member.name}**; "
                f"notifications silenced for {format_duration(self.ack_silence)} (silence `{silence_id}`)."
                + self._mark_original(incident, member, now)
            )

        return self._guard(work)

    def _mark_original(self, incident: Incident, member: Member, now: datetime) -> str:
        """Add "ACK by <member>" to the analyzer's alert message; the sentence for the /ack answer.
        Whatever fails, the /ack answer itself is posted in the channel and stands for the mark."""
        message_id = incident.message_id or ""
        if self.mark_alert_message is None or not message_id.isdigit():
            why = "no alert message to edit" if self.mark_alert_message else "the bot has no alert webhook"
            return f"\n(The original alert message is not edited: {why}; this answer records the ACK.)"
        line = f"✅ ACK by {member.name} at {now.strftime('%H:%M UTC')} (incident #{incident.id})"
        try:
            self.mark_alert_message(message_id, line)
        except ObsError as exc:
            log.warning("marking alert message %s of incident #%s failed: %s", message_id, incident.id, exc)
            return f"\n⚠️ The original alert message could not be edited ({exc.message}); this answer records the ACK."
        self._audit(member, "ack-message", f"incident #{incident.id}: message {message_id} marked", incident.id)
        return "\nThe original alert message is marked."

    # -- /status --------------------------------------------------------------------------------
    def status(self, member: Member) -> Reply:
        del member  # everyone may read
        fields: list[EmbedField] = []
        worst = GREEN
        services, down = self._services()
        fields.append(EmbedField("Services", services))
        if down:
            worst = RED
        alerts, severe = self._alerts()
        fields.append(EmbedField("Alerts firing", alerts))
        if severe and worst != RED:
            worst = ORANGE
        fields.append(EmbedField("Open incidents", self._incidents()))
        fields.append(EmbedField("Silences in force", self._silences()))
        embed = Embed(
            title="Platform status",
            color=worst,
            fields=fields,
            timestamp=self.clock().isoformat(timespec="seconds"),
        )
        return fitted(Reply(embed=embed))

    def _services(self) -> tuple[str, bool]:
        if self.prometheus is None:
            return "unknown: PROMETHEUS_URL is not set for the bot", False
        try:
            samples = self.prometheus.query("up")
        except ObsError as exc:
            return f"unknown: {exc.message} — {exc.fix or 'check Prometheus'}", False
        by_job: dict[str, list[tuple[str, bool]]] = {}
        for sample in samples:
            job = sample.labels.get("job", "?")
            by_job.setdefault(job, []).append((sample.labels.get("instance", "?"), sample.value == 1))
        if not by_job:
            return "no targets: Prometheus scrapes nothing", True
        lines, any_down = [], False
        for job in sorted(by_job):
            targets = by_job[job]
            dead = sorted(i for i, ok in targets if not ok)
            if dead:
                any_down = True
                lines.append(f"🔴 **{job}** {len(targets) - len(dead)}/{len(targets)} up — down: {', '.join(dead)}")
            else:
                lines.append(f"🟢 {job} {len(targets)}/{len(targets)} up")
        lines.sort(key=lambda line: not line.startswith("🔴"))
        return "\n".join(lines), any_down

    def _alerts(self) -> tuple[str, bool]:
        try:
            alerts = self.alertmanager.alerts(active=True, silenced=False, inhibited=False)
        except ObsError as exc:
            return f"unknown: {exc.message} — {exc.fix or 'check the Alertmanager'}", False
        if not alerts:
            return "none", False
        counts = Counter(a.labels.get("severity", "none") for a in alerts)
        names = Counter(a.labels.get("alertname", "?") for a in alerts)
        head = " · ".join(f"**{sev}**: {n}" for sev, n in sorted(counts.items()))
        body = "\n".join(f"{name} x{n}" for name, n in names.most_common(10))
        return f"{head}\n{body}", True

    def _incidents(self) -> str:
        try:
            incidents = self.store.open_incidents()
        except ObsError as exc:
            return f"unknown: {exc.message}"
        if not incidents:
            return "none"
        return "\n".join(_incident_line(i) for i in incidents[:15]) + (
            f"\n… and {len(incidents) - 15} more" if len(incidents) > 15 else ""
        )

    def _silences(self) -> str:
        try:
            live = self.alertmanager.silences(state="active")
        except ObsError as exc:
            return f"unknown: {exc.message} — {exc.fix or 'check the Alertmanager'}"
        if not live:
            return "none"
        return "\n".join(_silence_line(s) for s in sorted(live, key=lambda s: s.ends_at)[:15])

    # -- /dashboard -----------------------------------------------------------------------------
    def dashboard(self, member: Member, name: str, panel: str = "") -> Reply:
        del member  # everyone may read
        if self.render_dashboard is None:
            return failure("dashboard rendering is not configured", "set PROMETHEUS_URL for the bot")
        render = self.render_dashboard

        def work() -> Reply:
            png, title, link = render(name, panel)
            safe = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "panel"
            return Reply(text=f"📈 **{title}** — {link}", image=png, image_name=f"{safe}.png")

        return self._guard(work)


def _incident_line(incident: Incident) -> str:
    since = incident.started_at.strftime("%m-%d %H:%M")
    acked = f", acked by {incident.acked_by}" if incident.acked_by else ""
    where = f" {incident.service}" if incident.service else ""
    return f"#{incident.id} **{incident.severity}** {incident.alertname}{where} since {since}{acked}"


def _silence_line(silence: Silence) -> str:
    until = silence.ends_at.strftime("%m-%d %H:%M")
    return f"`{silence.id[:8]}` {silence.matcher_text()} until {until} by {silence.created_by}"
