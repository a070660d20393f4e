"""The report e-mail as a person sees it: the message received by the real SMTP server (the fixture
of test_reports_delivery.py) is laid out by headless Chromium (Debian's ``chromium``, installed by
scripts/bootstrap-ci.sh) at a phone width and a desktop width.

The screenshot is opened and checked: not blank, every status colour of the table present, the
inline trend charts drawn. Chromium's own layout (``--dump-dom`` of the page after a measuring
script ran) tells whether anything sticks out to the right of the viewport.

A missing ``chromium`` fails this test: `make test` installs it; only OBS_NO_INSTALL=1 (a set-up
that installs nothing on purpose) turns the failure into a skip naming it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from obsctl.reports import jobs, render
from tests.fixtures.reports import PrometheusDouble
from tests.integration.test_reports_delivery import (  # noqa: F401 - fixtures
    DAY,
    Inbox,
    _settings,
    discord,
    smtp_server,
)

PHONE, DESKTOP = 390, 1280
HEIGHT = 1400
# The measuring script: the viewport, the document's scroll width and the right edge of the
# right-most element, written into the parent page's DOM, which --dump-dom prints. The mail is laid
# out in an iframe of the wanted width (headless Chromium's --dump-dom window is at least 500 px
# wide; the iframe is the phone's screen); a srcdoc frame is of the parent's origin and base URL.
MEASURE = (
    "<script>(function(){var r=0;document.querySelectorAll('body *').forEach(function(e){"
    "r=Math.max(r,e.getBoundingClientRect().right)});parent.document.body.setAttribute('data-layout',"
    "JSON.stringify({viewport:window.innerWidth,scroll:document.documentElement.scrollWidth,right:r}))})()"
    "</script>"
)
SPARK_LINE = (21, 101, 192)  # obsctl.reports.render.sparkline's line colour


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    why = "'chromium' is not installed (apt-get install --no-install-recommends chromium; scripts/bootstrap-ci.sh does)"
    if os.environ.get("OBS_NO_INSTALL") == "1":
        pytest.skip(why)
    pytest.fail(why, pytrace=False)


def _run(args: list[str], work: Path) -> str:
    base = [
        chromium(),
        "--headless",
        "--no-sandbox",  # the tests run as root in CI containers
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={work / 'profile'}",
    ]
    done = subprocess.run(base + args, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def as_a_mail_client_shows_it(message: EmailMessage, folder: Path) -> Path:
    """The HTML part with every ``cid:`` reference resolved to its inline image part, as files."""
    folder.mkdir(parents=True, exist_ok=True)
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    page = html_part.get_content()
    for index, part in enumerate(p for p in message.walk() if p.get_content_type() == "image/png"):
        cid = str(part["Content-ID"]).strip("<>")
        data = part.get_payload(decode=True)
        assert isinstance(data, bytes)
        (folder / f"inline-{index}.png").write_bytes(data)
        assert f"cid:{cid}" in page
        page = page.replace(f"cid:{cid}", f"inline-{index}.png")
    assert "cid:" not in page, "an inline image the message does not carry"
    out = folder / "mail.html"
    out.write_text(page, encoding="utf-8")
    return out


def layout(page: Path, width: int, work: Path) -> dict[str, Any]:
    inner = page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>")
    measured = page.with_name(f"measured-{width}.html")
    measured.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        f"<iframe width='{width}' height='{HEIGHT}' style='border:0;display:block' srcdoc=\"{html.escape(inner)}\">"
        "</iframe></body></html>",
        encoding="utf-8",
    )
    dom = _run([f"--window-size={width + 200},{HEIGHT + 100}", "--dump-dom", measured.as_uri()], work)
    found = re.search(r"data-layout=\"([^\"]+)\"", dom)
    assert found, f"the measuring script did not run: {dom[:300]}"
    return dict(json.loads(found.group(1).replace("&quot;", '"')))


def screenshot(page: Path, width: int, work: Path) -> Image.Image:
    shot = work / f"mail-{width}.png"
    _run([f"--window-size={width},{HEIGHT}", f"--screenshot={shot}", page.as_uri()], work)
    image = Image.open(shot)
    image.load()
    return image.convert("RGB")


def near(colours: Counter[tuple[int, int, int]], want: tuple[int, int, int], tolerance: int = 10) -> int:
    return sum(n for c, n in colours.items() if all(abs(a - b) <= tolerance for a, b in zip(c, want, strict=True)))


def hex_rgb(value: str) -> tuple[int, int, int]:
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_email_reads_at_phone_and_desktop_width(
    tmp_path: Path,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    discord: tuple[list[dict[str, Any]], str],  # noqa: F811
    width: int,
) -> None:
    inbox, port = smtp_server
    prom = PrometheusDouble(
        {
            ("chatbot_success_ratio", "chat"): (0.99, 0.89),  # bad
            ("chatbot_p95_seconds", "chat"): (1.0, 2.5),  # watch
            ("chatbot_error_rate", "chat"): (1e-5, 1e-5),
            ("service_up", "chat"): (1.0, 1.0),  # good
            ("service_up", "petclinic-api"): (1.0, 1.0),
        },
        datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC),
    )
    report, _ = jobs.run_periodic(
        _settings(tmp_path, port, discord[1]), "daily", DAY, dry_run=False, prom=prom, providers=[]
    )
    (message,) = inbox.messages
    page = as_a_mail_client_shows_it(message, tmp_path / "mail")
    statuses = {r.status for r in report.rows}
    assert {"good", "watch", "bad"} <= statuses  # the colours below are all expected on the page

    measured = layout(page, width, tmp_path)
    assert measured["viewport"] == width
    assert measured["scroll"] <= width, f"the page scrolls sideways at {width}px: {measured}"
    assert measured["right"] <= width, f"an element sticks out to the right at {width}px: {measured}"

    image = screenshot(page, width, tmp_path)
    assert image.size == (width, HEIGHT)
    colours = Counter(dict((c, n) for n, c in image.getcolors(maxcolors=width * HEIGHT) or []))
    assert len(colours) > 30, "a blank page"
    white = near(colours, (255, 255, 255), 0)
    assert white < width * HEIGHT, "nothing drawn"
    for status in statuses:
        cells = near(colours, hex_rgb(render.COLOURS[status]))
        assert cells > 400, f"the {status} status colour {render.COLOURS[status]} is not visible at {width}px"
    assert near(colours, SPARK_LINE, 30) >= 40 * len(report.rows) // 2, f"the trend charts are not drawn at {width}px"
    # the table's right edge: the status column is inside the screenshot, not cut off
    bad = hex_rgb(render.COLOURS["bad"])
    columns = [
        x for x in range(width) if any(near(Counter({image.getpixel((x, y)): 1}), bad) for y in range(0, HEIGHT, 4))
    ]
    assert columns and max(columns) < width - 1, "the bad status cell touches the right edge: cut off?"


def test_the_deploy_email_fits_a_phone(
    tmp_path: Path,
    smtp_server: tuple[Inbox, int],  # noqa: F811
    discord: tuple[list[dict[str, Any]], str],  # noqa: F811
) -> None:
    inbox, port = smtp_server
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    prom = PrometheusDouble({("chatbot_success_ratio", "chat"): (0.99, 0.89), ("service_up", "chat"): (1.0, 1.0)}, at)
    jobs.run_deploy(
        _settings(tmp_path, port, discord[1]),
        "chat",
        "1.2.0",
        at,
        timedelta(hours=1),
        dry_run=False,
        prom=prom,
        providers=[],
    )
    (message,) = inbox.messages
    page = as_a_mail_client_shows_it(message, tmp_path / "mail")
    measured = layout(page, PHONE, tmp_path)
    assert measured["scroll"] <= PHONE and measured["right"] <= PHONE, measured
    image = screenshot(page, PHONE, tmp_path)
    colours = Counter(dict((c, n) for n, c in image.getcolors(maxcolors=PHONE * HEIGHT) or []))
    assert near(colours, hex_rgb(render.COLOURS["bad"])) > 400, "the regression's red is not visible"
    assert near(colours, hex_rgb(render.COLOURS["good"])) > 400, "the unchanged KPI's green is not visible"
