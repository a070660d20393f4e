"""Google Sheets: append rows with a service account (the reports' optional history sheet).

Two documented calls, on the clients layer's base:

- the service account's token (OAuth 2.0 JWT bearer grant, RFC 7523): ``POST {token_uri}`` with
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion`` = a JWT signed RS256
  with the key's ``private_key`` (claims ``iss`` = ``client_email``, ``scope``, ``aud`` =
  ``token_uri``, ``iat``, ``exp`` at most an hour later); answer ``{access_token, expires_in,
  token_type}``;
- ``POST /v4/spreadsheets/{spreadsheetId}/values/{range}:append?valueInputOption=RAW&insertDataOption=INSERT_ROWS``
  with body ``{"values": [[...], ...]}``; answer ``{spreadsheetId, tableRange, updates: {updatedRange,
  updatedRows, ...}}``.

The key file is the JSON Google issues for a service account (from the vault). Signing needs the
``cryptography`` package (extra ``reports``), imported only when a sheet is configured.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from obsctl.clients.http import ClientError, HttpClient
from obsctl.errors import ObsError

SERVER = "Google Sheets API"
SHEETS_URL = "https://sheets.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
Cell = str | int | float | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_key(path: Path) -> dict[str, str]:
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ObsError(f"the service-account key {path} cannot be read: {exc}", fix="give the JSON key file") from None
    missing = [f for f in ("client_email", "private_key", "token_uri") if not isinstance(key.get(f), str)]
    if missing:
        raise ObsError(
            f"the service-account key {path} has no {', '.join(missing)}",
            fix="download a JSON key of the service account (IAM > Service accounts > Keys)",
        )
    return {k: v for k, v in key.items() if isinstance(v, str)}


def assertion(key: dict[str, str], now: float) -> str:
    """The signed JWT of the JWT bearer grant."""
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415 - extra `reports`
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415

    private = serialization.load_pem_private_key(key["private_key"].encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise ObsError("the service-account key is not an RSA key", fix="use the JSON key Google issued")
    header = {"alg": "RS256", "typ": "JWT", **({"kid": key["private_key_id"]} if "private_key_id" in key else {})}
    claims = {
        "iss": key["client_email"],
        "scope": SCOPE,
        "aud": key["token_uri"],
        "iat": int(now),
        "exp": int(now) + 3600,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


class SheetsClient:
    def __init__(
        self,
        key: dict[str, str],
        *,
        base_url: str = SHEETS_URL,
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.key = key
        self.clock = clock
        token_url = httpx.URL(key["token_uri"])
        self._token_path = token_url.raw_path.decode()
        token_base = str(token_url.copy_with(raw_path=b"/", query=None)).rstrip("/")
        self._auth = HttpClient("Google OAuth", token_base, timeout=timeout, retries=1, transport=transport)
        self.http = HttpClient(SERVER, base_url, timeout=timeout, retries=1, transport=transport)
        self._token = ""
        self._expires = 0.0

    def close(self) -> None:
        self._auth.close()
        self.http.close()

    def token(self) -> str:
        now = self.clock()
        if self._token and now < self._expires - 60:
            return self._token
        answer = self._auth.post_form(
            self._token_path, {"grant_type": JWT_GRANT, "assertion": assertion(self.key, now)}
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ClientError(
                "Google OAuth", self._auth.url_of(self._token_path), f"no access_token in {str(answer)[:200]}"
            )
        self._token, self._expires = token, now + float(answer.get("expires_in", 3600))
        return token

    def append(self, spreadsheet_id: str, range_a1: str, rows: Sequence[Sequence[Cell]]) -> dict[str, Any]:
        """Append ``rows`` after the table found in ``range_a1``; returns the answer's ``updates``."""
        path = (
            f"/v4/spreadsheets/{urllib.parse.quote(spreadsheet_id, safe='')}"
            f"/values/{urllib.parse.quote(range_a1, safe='')}:append"
        )
        response = self.http.request(
            "POST",
            path,
            json={"values": [list(r) for r in rows]},
            params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        answer = self.http._json(response)
        updates = answer.get("updates") if isinstance(answer, dict) else None
        if not isinstance(updates, dict):
            raise ClientError(SERVER, self.http.url_of(path), f"answered without 'updates': {str(answer)[:200]}")
        return updates
