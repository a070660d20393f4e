"""The Sheets client against recorded answers of the documented shapes (OAuth token, values.append).

The service-account key is generated here; the JWT the client sends is verified with its public
key, so a wrong signature, claim or algorithm fails the test.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from obsctl.clients.http import ClientError
from obsctl.clients.sheets import JWT_GRANT, SCOPE, SheetsClient, load_key
from obsctl.reports import jobs
from obsctl.reports.config import KPIS, Settings, Sheet
from tests.fixtures.reports import PrometheusDouble

TOKEN_URI = "https://oauth2.googleapis.com/token"
# Recorded answers, in the shapes of Google's references (OAuth 2.0 token endpoint; AppendValuesResponse).
TOKEN_ANSWER = {"access_token": "ya29.recorded-token", "expires_in": 3599, "token_type": "Bearer"}


def _append_answer(spreadsheet: str, rows: int) -> dict[str, Any]:
    return {
        "spreadsheetId": spreadsheet,
        "tableRange": "DailyMetrics!A1:N3",
        "updates": {
            "spreadsheetId": spreadsheet,
            "updatedRange": f"DailyMetrics!A4:N{3 + rows}",
            "updatedRows": rows,
            "updatedColumns": 14,
            "updatedCells": 14 * rows,
        },
    }


@pytest.fixture(scope="module")
def key() -> tuple[dict[str, str], rsa.RSAPublicKey]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return (
        {
            "type": "service_account",
            "client_email": "reports@project.iam.gserviceaccount.com",
            "private_key_id": "abc123",
            "private_key": pem,
            "token_uri": TOKEN_URI,
        },
        private.public_key(),
    )


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Recorder:
    def __init__(self, public: rsa.RSAPublicKey, spreadsheet: str = "sheet-1") -> None:
        self.public = public
        self.spreadsheet = spreadsheet
        self.tokens = 0
        self.appends: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth2.googleapis.com":
            form = urllib.parse.parse_qs(request.content.decode())
            assert form["grant_type"] == [JWT_GRANT]
            header, claims, signature = form["assertion"][0].split(".")
            self.public.verify(
                _unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )  # raises InvalidSignature on a bad signature
            assert json.loads(_unb64(header)) == {"alg": "RS256", "typ": "JWT", "kid": "abc123"}
            body = json.loads(_unb64(claims))
            assert body["iss"] == "reports@project.iam.gserviceaccount.com"
            assert body["scope"] == SCOPE and body["aud"] == TOKEN_URI
            assert body["exp"] - body["iat"] == 3600
            self.tokens += 1
            return httpx.Response(200, json=TOKEN_ANSWER)
        assert request.headers["Authorization"] == "Bearer ya29.recorded-token"
        self.appends.append(request)
        rows = len(json.loads(request.content)["values"])
        return httpx.Response(200, json=_append_answer(self.spreadsheet, rows))


def test_append_signs_in_once_and_posts_the_rows(key: tuple[dict[str, str], rsa.RSAPublicKey]) -> None:
    recorder = Recorder(key[1])
    client = SheetsClient(key[0], transport=httpx.MockTransport(recorder), clock=lambda: 1_800_000_000.0)
    first = client.append("sheet-1", "DailyMetrics!A:Z", [["2026-11-30", "chat", 0.95, None]])
    client.append("sheet-1", "DailyMetrics!A:Z", [["2026-12-01", "chat", 0.97, 1.2]])
    client.close()
    assert first["updatedRows"] == 1
    assert recorder.tokens == 1  # the token is reused until it nears expiry
    request = recorder.appends[0]
    assert request.url.path == "/v4/spreadsheets/sheet-1/values/DailyMetrics!A:Z:append"
    assert dict(request.url.params) == {"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}
    assert json.loads(request.content) == {"values": [["2026-11-30", "chat", 0.95, None]]}


def test_an_answer_without_updates_is_an_error(key: tuple[dict[str, str], rsa.RSAPublicKey]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "oauth2.googleapis.com":
            return httpx.Response(200, json=TOKEN_ANSWER)
        return httpx.Response(200, json={"spreadsheetId": "sheet-1"})

    client = SheetsClient(key[0], transport=httpx.MockTransport(handler))
    with pytest.raises(ClientError, match="without 'updates'"):
        client.append("sheet-1", "A:Z", [["x"]])
    client.close()


def test_a_key_file_without_its_fields_names_them(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"client_email": "x@example.org"}), encoding="utf-8")
    with pytest.raises(Exception, match="has no private_key, token_uri"):
        load_key(path)


def test_the_daily_report_appends_one_row_per_service_once(
    tmp_path: Path, key: tuple[dict[str, str], rsa.RSAPublicKey]
) -> None:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(key[0]), encoding="utf-8")
    settings = Settings(
        prometheus_url="unused",
        history=tmp_path / "history.db",
        timezone=ZoneInfo("UTC"),
        sheet=Sheet(key_file, "sheet-1"),
    )
    recorder = Recorder(key[1])
    channels = jobs.channels_of(settings, sheets_transport=httpx.MockTransport(recorder))
    double = PrometheusDouble({("chatbot_success_ratio", "chat"): (0.99, 0.89)}, _midnight(date(2026, 11, 30)))
    for _ in range(2):
        jobs.run_periodic(
            settings, "daily", date(2026, 11, 30), dry_run=False, prom=double, channels=channels, providers=[]
        )
    (request,) = recorder.appends
    rows = json.loads(request.content)["values"]
    success = [k.key for k in KPIS].index("chatbot_success")
    assert rows[0][:2] == ["2026-11-30", "chat"]
    assert rows[0][2 + success] == pytest.approx(0.89)
    assert rows[0][2] == "no data"  # availability: no series in the double, so no value, never 0


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def test_a_deployment_appends_one_row_to_the_deployment_log_once(
    tmp_path: Path, key: tuple[dict[str, str], rsa.RSAPublicKey]
) -> None:
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(key[0]), encoding="utf-8")
    settings = Settings(
        prometheus_url="unused", history=tmp_path / "history.db", timezone=ZoneInfo("UTC"), sheet=Sheet(key_file, "s")
    )
    recorder = Recorder(key[1], spreadsheet="s")
    channels = jobs.channels_of(settings, sheets_transport=httpx.MockTransport(recorder))
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    double = PrometheusDouble({("chatbot_success_ratio", "chat"): (0.99, 0.89)}, at)
    for _ in range(2):  # CI re-running the same deploy step: one row
        report, _ = jobs.run_deploy(
            settings,
            "chat",
            "1.2.0",
            at,
            timedelta(hours=1),
            dry_run=False,
            prom=double,
            channels=channels,
            providers=[],
        )
    (request,) = recorder.appends
    assert urllib.parse.unquote(request.url.path).endswith("/values/Deployments!A:Z:append")
    (row,) = json.loads(request.content)["values"]
    assert row[:5] == [at.isoformat(), "chat", "1.2.0", 60, len(report.regressions)]
    assert len(report.regressions) >= 1  # the success ratio fell from 99 % to 89 %
    success = [k.key for k in KPIS].index("chatbot_success")
    assert row[5 + 2 * success : 7 + 2 * success] == [pytest.approx(0.99), pytest.approx(0.89)]
    assert row[5:7] == ["no data", "no data"]  # availability: no series in the double, never 0
