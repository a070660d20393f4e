"""Alert drills on a running lab (issues 15 and 19): a fault of the demo application, end to end.

``obsctl lab drill blip``: the demo ``api`` stops for :data:`BLIP_S` seconds (shorter than 30 s)
and starts again. The real Prometheus must see it (the P1 rule goes *pending*) and must not page:
no firing state, and no notification at the Discord capture server for ``api`` within the P1
worst-case time to detect (``obsctl alerts ttd``) plus a margin.

``obsctl lab drill p1``: the demo ``api`` stops (systemd, on app-1). The real Prometheus 3.5
evaluates the catalog's P1 rules (service-down, probe-failed), Debian's Alertmanager (the lab
stand-in for Grafana's alerting) routes them with the generated policy's timers and delivers to the
Discord capture server on this machine: the seconds from the stop to that delivery are the
measured time to detect, which must be within the P1 budget (90 s). The same notification reaches
the incident analyzer (Bearer credential); it queries the real Prometheus for its evidence pack, asks
the LLM test double (Anthropic's API shape) and posts its analysis to the capture server: the
drill checks the message's severity, the summary the test double wrote, the owner mention from the
owner map, and that the evidence ids the answer cites are the pack's. Then ``api`` starts again.

The test doubles (obsctl/lab/doubles.py) run in this process on the tunnel address for the
drill's duration. Times are this machine's clock (the capture server's arrival time).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from obsctl import common
from obsctl.alerting import catalog as cat
from obsctl.alerting import ttd
from obsctl.errors import ObsError
from obsctl.lab import standins
from obsctl.lab.doubles import SUMMARY_MARK, DiscordCapture, LlmTestDouble, Recorded, canned_analysis
from obsctl.lab.layout import HOSTS, OPERATOR_ADDRESS, monitoring_host
from obsctl.proc import run

# The demo application the drills stop (roles/lab_demo_app: obs-lab-demo-<name>.service on app-1).
DEMO_APP = "api"
# The P1 rules a stopped application trips (scrape and blackbox probe).
P1_RULES = ("service-down", "probe-failed")
# Issue 19: a P1 page within 90 s; no page for a blip shorter than 30 s.
P1_BUDGET_S = 90.0
BLIP_LIMIT_S = 30.0
BLIP_S = 25.0
# Added to the computed worst case while waiting for something that must (or must not) arrive.
MARGIN_S = 20.0


@dataclass
class DrillResult:
    name: str
    seconds: float | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def p1_worst_case_s() -> float:
    rows = ttd.table(cat.load(), common.scrape_interval_seconds())
    return next(r.total_s for r in rows if r.severity == "P1")


def _app_container() -> str:
    return next(h.container for h in HOSTS if h.group == "app")


def _service(action: str) -> None:
    unit = f"obs-lab-demo-{DEMO_APP}.service"
    proc = run(["docker", "exec", _app_container(), "systemctl", action, unit], check=False, timeout=60)
    if proc.returncode != 0:
        raise ObsError(f"systemctl {action} {unit} on {_app_container()} failed: {proc.stderr.strip()[-300:]}")


def _prometheus() -> str:
    return f"http://{monitoring_host().wireguard_address}:{common.port('prometheus')}"


def _api(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """A Prometheus query API result (through the tunnel, as an operator queries it)."""
    try:
        resp = httpx.get(f"{_prometheus()}{path}", params=params, timeout=15)
        resp.raise_for_status()
        return list(resp.json().get("data", {}).get("result", []))
    except (httpx.HTTPError, ValueError) as exc:
        raise ObsError(f"the lab's Prometheus {_prometheus()}{path} failed: {exc}", fix="obsctl lab status") from None


def _query(expr: str) -> list[dict[str, Any]]:
    return _api("/api/v1/query", {"query": expr})


def _states_between(start: float, end: float) -> set[str]:
    """alertstate values of the P1 rules for the demo app seen by Prometheus in [start, end]."""
    rules = "|".join(P1_RULES)
    params = {
        "query": f'ALERTS{{alertname=~"{rules}",app="{DEMO_APP}"}}',
        "start": f"{start:.0f}",
        "end": f"{end:.0f}",
        "step": "5",
    }
    return {s["metric"].get("alertstate", "") for s in _api("/api/v1/query_range", params)}


def wait_quiet(timeout: float = 180.0) -> None:
    """The demo app is scraped up, and none of the drill's P1 rules fires or is pending for any
    target (an open group of that rule in Alertmanager, grouped by alertname and severity, would
    take the drill's alert in at its group_interval instead of its group_wait)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        up = _query(f'up{{job="spring",app="{DEMO_APP}"}}')
        alerts = _query(f'ALERTS{{severity="P1",alertname=~"{"|".join(P1_RULES)}"}}')
        if up and all(s["value"][1] == "1" for s in up) and not alerts:
            return
        last = f"up={[s['value'][1] for s in up]}, P1 alerts: " + ", ".join(
            f"{a['metric'].get('alertname')}({a['metric'].get('alertstate')}, {a['metric'].get('instance')})"
            for a in alerts
        )
        time.sleep(5)
    raise ObsError(f"the lab is not quiet before the drill: {last}", fix="obsctl verify -i inventories/lab")


@contextmanager
def doubles() -> Iterator[tuple[LlmTestDouble, DiscordCapture]]:
    """The LLM test double and the Discord capture server on the tunnel address, for one drill."""
    llm = LlmTestDouble(OPERATOR_ADDRESS, standins.LLM_DOUBLE_PORT, api_key=standins.LLM_DOUBLE_KEY)
    capture = DiscordCapture(OPERATOR_ADDRESS, standins.DISCORD_CAPTURE_PORT)
    try:
        llm.start()
        capture.start()
    except OSError as exc:
        llm.stop()
        raise ObsError(
            f"cannot listen on {OPERATOR_ADDRESS}:{standins.LLM_DOUBLE_PORT}/{standins.DISCORD_CAPTURE_PORT}: {exc}",
            fix="obsctl lab up (this machine's tunnel interface carries that address); is another drill running?",
        ) from None
    try:
        yield llm, capture
    finally:
        llm.stop()
        capture.stop()


_SUBJECT = re.compile(r"^\[FIRING:\d+\] (\S+) ")


def firing_pages(requests: list[Recorded], since: float) -> list[tuple[Recorded, str]]:
    """Alertmanager's Discord posts (not the analyzer's) announcing a P1 rule firing for the demo
    app, at or after ``since``: (request, alertname). Pure: unit-tested on Alertmanager's payload."""
    found = []
    for req in requests:
        if req.at < since or "/api/webhooks/analyzer/" in req.path or not isinstance(req.body, dict):
            continue
        for embed in req.body.get("embeds") or []:
            title = str(embed.get("title", ""))
            match = _SUBJECT.match(title)
            labels = title[title.find("(") + 1 : title.rfind(")")].split() if "(" in title else []
            if match and match.group(1) in P1_RULES and (DEMO_APP in labels or DEMO_APP in title.split()):
                found.append((req, match.group(1)))
    return found


def analyses(requests: list[Recorded], since: float) -> list[Recorded]:
    """The analyzer's posts for a firing incident of the demo app at or after ``since``."""
    return [
        r
        for r in requests
        if r.at >= since
        and "/api/webhooks/analyzer/" in r.path
        and isinstance(r.body, dict)
        and " incident #" in str(r.body.get("content", ""))
        and str(r.body.get("content", "")).rstrip().endswith(f"on {DEMO_APP}")
    ]


def _field(embed: dict[str, Any], name: str) -> str:
    return next((str(f.get("value", "")) for f in embed.get("fields") or [] if f.get("name") == name), "")


def check_analysis(message: dict[str, Any], prompts: list[str]) -> list[str]:
    """What the analyzer posted for the drill's incident, against what the test double answered.
    Pure: unit-tested."""
    problems = []
    content = str(message.get("content", ""))
    mention = f"<@&{standins.API_OWNER_ROLE}>"
    if not content.startswith(mention):
        problems.append(f"the message does not start with the owner mention {mention}: {content[:120]!r}")
    if standins.API_OWNER_ROLE not in ((message.get("allowed_mentions") or {}).get("roles") or []):
        problems.append("allowed_mentions does not let the owner's role be pinged")
    embeds = message.get("embeds") or []
    if not embeds:
        return [*problems, "the message has no embed"]
    embed = embeds[0]
    if _field(embed, "Severity") != "P1":
        problems.append(f"severity field is {_field(embed, 'Severity')!r}, not P1")
    description = str(embed.get("description", ""))
    if not description.startswith(SUMMARY_MARK):
        problems.append(f"the summary is not the LLM test double's: {description[:120]!r}")
    prompt = next((p for p in prompts if description[len(SUMMARY_MARK) :].split(":", maxsplit=1)[0].strip() in p), "")
    if not prompt:
        problems.append("no prompt the LLM test double received matches the posted summary")
        return problems
    cited = canned_analysis(prompt)["probable_cause"]["evidence"]
    if "(metric)" not in prompt:
        problems.append("the evidence pack holds no metric from Prometheus")
    cause = _field(embed, "Probable cause")
    evidence = _field(embed, "Evidence")
    for ref in cited:
        if ref not in cause:
            problems.append(f"the probable cause does not cite {ref}: {cause[:200]!r}")
        if f"[{ref}]" not in evidence and not ref.startswith("A"):
            problems.append(f"the evidence field does not list {ref}: {evidence[:200]!r}")
    footer = str((embed.get("footer") or {}).get("text", ""))
    if standins.LLM_DOUBLE_MODEL not in footer:
        problems.append(f"the footer does not name the model {standins.LLM_DOUBLE_MODEL}: {footer!r}")
    return problems


def _wait(condition: Callable[[], Any], until: float) -> Any:  # noqa: ANN401 - whatever the condition finds
    while time.time() < until:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    return condition()


def blip(echo: Callable[[str], None] = print) -> DrillResult:
    result = DrillResult("blip")
    wait_quiet()
    window = p1_worst_case_s() + MARGIN_S
    with doubles() as (_, capture):
        start = time.time()
        _service("stop")
        time.sleep(max(0.0, start + BLIP_S - time.time()))
        _service("start")
        down = time.time() - start
        result.seconds = down
        echo(f"blip: {DEMO_APP} down for {down:.1f}s; watching {window:.0f}s for a page")
        if down >= BLIP_LIMIT_S:
            result.problems.append(f"the blip lasted {down:.1f}s, not less than {BLIP_LIMIT_S:.0f}s (a slow host?)")
        pages = _wait(lambda: firing_pages(capture.seen(), start), start + window)
        states = _states_between(start - 5, time.time())
    if pages:
        result.problems.append(
            f"paged for a {down:.1f}s blip: {pages[0][1]} at +{pages[0][0].at - start:.1f}s (must not page)"
        )
    if "firing" in states:
        result.problems.append(f"Prometheus had {'/'.join(P1_RULES)} firing for a {down:.1f}s blip")
    if "pending" not in states:
        result.problems.append("Prometheus never saw the blip (no pending P1 alert): the drill proved nothing")
    result.notes.append(
        f"{DEMO_APP} down {down:.1f}s; alert states seen: {sorted(states) or 'none'}; pages: {len(pages)}"
    )
    for line in result.notes + result.problems:
        echo(line)
    return result


def p1(echo: Callable[[str], None] = print) -> list[DrillResult]:
    """The P1 drill and the end-to-end analyzer check on the same incident."""
    detect, e2e = DrillResult("p1"), DrillResult("e2e")
    wait_quiet()
    worst = p1_worst_case_s()
    with doubles() as (llm, capture):
        start = time.time()
        _service("stop")
        try:
            echo(f"p1: {DEMO_APP} stopped; computed worst case {worst:.0f}s, budget {P1_BUDGET_S:.0f}s")
            pages = _wait(lambda: firing_pages(capture.seen(), start), start + worst + MARGIN_S + 30)
            if not pages:
                detect.problems.append(f"no P1 page for {DEMO_APP} within {worst + MARGIN_S + 30:.0f}s of the stop")
            else:
                first, rule = min(pages, key=lambda p: p[0].at)
                detect.seconds = first.at - start
                detect.notes.append(
                    f"{rule} delivered {detect.seconds:.1f}s after the stop (computed worst {worst:.0f}s)"
                )
                if detect.seconds > P1_BUDGET_S:
                    detect.problems.append(f"P1 delivered after {detect.seconds:.1f}s, over {P1_BUDGET_S:.0f}s")
            posted = _wait(lambda: analyses(capture.seen(), start), time.time() + 60)
            if not posted:
                e2e.problems.append(f"the analyzer posted no analysis for {DEMO_APP} within 60 s of the page")
            else:
                e2e.seconds = posted[0].at - start
                e2e.problems += check_analysis(posted[0].body, llm.prompts())
                e2e.notes.append(
                    f"analysis posted {e2e.seconds:.1f}s after the stop; {len(llm.seen())} LLM test double call(s); "
                    f"content {str(posted[0].body.get('content'))[:100]!r}"
                )
        finally:
            _service("start")
    for line in detect.notes + detect.problems + e2e.notes + e2e.problems:
        echo(line)
    return [detect, e2e]
