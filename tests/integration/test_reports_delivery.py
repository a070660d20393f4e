"""Report delivery through real servers on loopback: SMTP (aiosmtpd, STARTTLS + AUTH) and a Discord capture.

The certificate is generated here (self-signed, for 127.0.0.1) and trusted through SSL_CERT_FILE,
so the report's own STARTTLS code verifies it like any other server's. The e-mail is parsed as
received: the HTML table, the status colours, the inline charts (cid: references to image/png
parts) and the links.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from obsctl.errors import ObsError
from obsctl.reports import jobs
from obsctl.reports.config import Settings, Smtp
from tests.fixtures.reports import PrometheusDouble
from tests.support import HttpTestDouble, double_url, serve_double

USER, PASSWORD = "reports@example.org", "app-password-123"
DASHBOARD, HISTORY = "https://grafana.example.org/d/overview", "https://sheets.example.org/history"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _self_signed(work: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = work / "cert.pem", work / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == USER and data.password.decode() == PASSWORD
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235/535 itself


@pytest.fixture
def smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Inbox, int]]:
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this server's certificate only
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=inbox.authenticate,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class DiscordCapture(HttpTestDouble):
    """Test double for Discord's webhook endpoint: records every post in ``posts``."""

    posts: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.posts.append({"path": self.path, "body": json.loads(body)})
        self.reply(200, {"id": str(len(self.posts))})


@pytest.fixture
def discord() -> Iterator[tuple[list[dict[str, Any]], str]]:
    posts: list[dict[str, Any]] = []
    handler = type("Capture", (DiscordCapture,), {"posts": posts})
    with serve_double(handler) as server:
        yield posts, double_url(server, "/api/webhooks/1/secret-token")


DAY = date(2026, 11, 30)


def _double() -> PrometheusDouble:
    return PrometheusDouble(
        {
            ("chatbot_success_ratio", "chat"): (0.99, 0.89),
            ("chatbot_p95_seconds", "chat"): (1.0, 2.5),
            ("chatbot_error_rate", "chat"): (1e-5, 1e-5),
            ("service_up", "chat"): (1.0, 1.0),
        },
        datetime(2026, 11, 30, tzinfo=UTC),
    )


def _settings(tmp_path: Path, port: int, webhook: str, password: str = PASSWORD) -> Settings:
    return Settings(
        prometheus_url="unused",
        history=tmp_path / "history.db",
        incidents=None,
        timezone=ZoneInfo("UTC"),
        dashboard_url=DASHBOARD,
        history_url=HISTORY,
        discord_webhook_url=webhook,
        smtp=Smtp("127.0.0.1", port, USER, password, "reports@example.org", ("oncall@example.org",)),
    )


def test_the_same_date_twice_is_delivered_once(
    tmp_path: Path, smtp_server: tuple[Inbox, int], discord: tuple[list[dict[str, Any]], str]
) -> None:
    inbox, port = smtp_server
    posts, webhook = discord
    settings = _settings(tmp_path, port, webhook)
    _, first = jobs.run_periodic(settings, "daily", DAY, dry_run=False, prom=_double(), providers=[])
    _, second = jobs.run_periodic(settings, "daily", DAY, dry_run=False, prom=_double(), providers=[])
    assert first == ["discord: sent", "email: sent"]
    assert second == ["discord: already delivered, skipped", "email: already delivered, skipped"]
    assert len(inbox.messages) == 1 and inbox.logins == [USER]
    assert len(posts) == 1 and posts[0]["path"] == "/api/webhooks/1/secret-token?wait=true"
    embeds = posts[0]["body"]["embeds"]
    assert embeds[0]["title"] == "Daily health report 2026-11-30"
    assert "BAD: chat Chatbot success 89.00%" in embeds[0]["description"]
    # The next day is a new period: delivered again.
    jobs.run_periodic(settings, "daily", DAY + timedelta(days=1), dry_run=False, prom=_double(), providers=[])
    assert len(inbox.messages) == 2 and len(posts) == 2


def test_the_email_holds_the_table_the_inline_charts_and_the_links(
    tmp_path: Path, smtp_server: tuple[Inbox, int], discord: tuple[list[dict[str, Any]], str]
) -> None:
    inbox, port = smtp_server
    report, _ = jobs.run_periodic(
        _settings(tmp_path, port, discord[1]), "daily", DAY, dry_run=False, prom=_double(), providers=[]
    )
    (message,) = inbox.messages
    assert message["Subject"] == "Daily health report 2026-11-30"
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    html = html_part.get_content()
    rows = html.count("<tr class='kpi'")
    assert rows == len(report.rows) > 0
    bad_row = re.search(r"<tr class='kpi' data-status='bad' data-service='chat'>(.*?)</tr>", html)
    assert bad_row, "no bad row for chat"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", bad_row.group(1))
    assert cells[0].startswith("Chatbot success<br><img src='cid:") and cells[1:4] == ["89.00%", "99.00%", "-10.1%"]
    assert "<th colspan='5'" in html and ">chat</th></tr>" in html  # one header row per service
    assert "style='background:#c62828;color:#fff;padding:2px 6px'>bad</td>" in html  # the bad row in red
    assert "style='background:#f9a825;color:#fff;padding:2px 6px'>watch</td>" in html  # 2.5 s: watch
    images = {
        str(p["Content-ID"]).strip("<>"): p.get_payload(decode=True)
        for p in message.walk()
        if p.get_content_type() == "image/png"
    }
    referenced = {src.removeprefix("cid:") for src in _attr_values(html, "src")}
    assert referenced == set(images) and len(images) == rows
    assert all(isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n") for png in images.values())
    assert {DASHBOARD, HISTORY} <= set(_attr_values(html, "href"))
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    assert related.get_payload()[0].get_content_type() == "text/html"  # type: ignore[index,union-attr]


def _attr_values(html: str, attr: str) -> list[str]:
    out = []
    marker = f"{attr}='"
    for chunk in html.split(marker)[1:]:
        out.append(chunk.split("'", 1)[0])
    return out


def test_a_failing_channel_does_not_stop_the_other_and_is_retried(
    tmp_path: Path, smtp_server: tuple[Inbox, int], discord: tuple[list[dict[str, Any]], str]
) -> None:
    inbox, port = smtp_server
    posts, webhook = discord
    wrong = _settings(tmp_path, port, webhook, password="wrong")
    with pytest.raises(ObsError, match=r"\(discord: sent\): email: sending the report through 127\.0\.0\.1"):
        jobs.run_periodic(wrong, "daily", DAY, dry_run=False, prom=_double(), providers=[])
    assert inbox.messages == [] and len(posts) == 1
    _, outcome = jobs.run_periodic(
        _settings(tmp_path, port, webhook), "daily", DAY, dry_run=False, prom=_double(), providers=[]
    )
    assert outcome == ["discord: already delivered, skipped", "email: sent"]
    assert len(inbox.messages) == 1 and len(posts) == 1


def test_a_server_without_starttls_gets_no_credentials(tmp_path: Path) -> None:
    inbox = Inbox()
    port = _free_port()
    plain = Controller(inbox, hostname="127.0.0.1", port=port)  # no tls_context: no STARTTLS offered
    plain.start()
    try:
        with pytest.raises(ObsError, match="does not offer STARTTLS"):
            jobs.send_email(
                Smtp("127.0.0.1", port, USER, PASSWORD, "a@example.org", ("b@example.org",)), EmailMessage()
            )
    finally:
        plain.stop()
    assert inbox.messages == []


def test_the_deploy_email_shows_before_after_and_the_regression_in_red(
    tmp_path: Path, smtp_server: tuple[Inbox, int], discord: tuple[list[dict[str, Any]], str]
) -> None:
    inbox, port = smtp_server
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    prom = PrometheusDouble({("chatbot_success_ratio", "chat"): (0.99, 0.89), ("service_up", "chat"): (1.0, 1.0)}, at)
    report, outcome = jobs.run_deploy(
        _settings(tmp_path, port, discord[1]),
        "chat",
        "1.2.0",
        at,
        timedelta(hours=1),
        dry_run=False,
        prom=prom,
        providers=[],
    )
    assert outcome == ["discord: sent", "email: sent"]
    (message,) = inbox.messages
    assert message["Subject"] == "Deployment impact: chat 1.2.0 (1 regression(s))"
    html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_content()
    results = re.findall(r"<tr class='kpi' data-result='(\w+)'>", html)
    assert len(results) == len(report.comparisons) and results.count("regression") == 1
    regression = re.search(r"data-result='regression'>(.*?)</tr>", html)
    assert regression is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", regression.group(1))
    assert cells == ["Chatbot success", "99.00%", "89.00%", "regression"]
    assert "background:#c62828" in regression.group(1)  # red
    assert DASHBOARD in _attr_values(html, "href")
    plain = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Chatbot success: 99.00% -> 89.00% REGRESSION" in plain
    assert [c.kpi.key for c in report.regressions] == ["chatbot_success"]
