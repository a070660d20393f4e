"""The one HTTP base every client of the package builds on (httpx, synchronous).

Why one base: every server this project talks to (Prometheus, Loki, Grafana, Alertmanager,
Discord, LLM providers) needs the same three things — a timeout, retries only where a retry is
safe, and an error that names the server and says what to do. Async services call these clients
through ``asyncio.to_thread``; the volume (a few requests per incident or report) does not need
an async client, and one code path keeps the tests honest.

Retries: idempotent calls (GET, DELETE, and POSTs the caller marks ``retry=True``, such as
Prometheus queries) are retried on connection errors, timeouts, 429 (after ``Retry-After``) and
502/503/504, with exponential backoff. A POST that creates something is never retried by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from obsctl.errors import ObsError

# The seam through which tests route a client's calls to a test double (httpx.MockTransport).
Transport = httpx.BaseTransport
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 30.0


class ClientError(ObsError):
    """A server could not be reached or answered with an error; names the server and the fix."""

    def __init__(
        self, server: str, url: str, message: str, *, status: int | None = None, fix: str | None = None
    ) -> None:
        super().__init__(f"{server} at {url}: {message}", fix=fix)
        self.server = server
        self.url = url
        self.status = status
        self.detail = message


def _fix_for(server: str, status: int | None) -> str:  # noqa: PLR0911 - one answer per status class
    if status is None:
        return f"check that {server} is up and that its URL is right (the stack listens on the tunnel address)"
    if status == 401:
        return f"the credential for {server} is missing or wrong: check the token/password in the vault"
    if status == 403:
        return f"the credential for {server} lacks a permission for this call: grant it to the account"
    if status == 404:
        return f"check the {server} URL (its root, without a path) and the name/uid asked for"
    if status in {400, 422}:
        return f"{server} rejected the request body: the message above says which field"
    if status == 429:
        return f"{server} is rate limiting: wait and try again, or lower the request rate"
    return f"{server} failed on its side: look at its logs"


class HttpClient:
    """``server`` is the human name used in errors ("Prometheus", "Grafana", ...)."""

    def __init__(
        self,
        server: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> None:
        url = base_url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ObsError(
                f"{server} URL '{base_url}' is not an http(s) URL",
                fix=f"give the {server} root URL, e.g. http://10.100.0.1:PORT",
            )
        self.server = server
        self.base_url = url
        self.retries = max(0, retries)
        self.backoff = backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport,
            auth=auth,
            follow_redirects=False,
        )

    # -- plumbing -------------------------------------------------------------------------------
    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def url_of(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,  # noqa: ANN401 - any JSON document
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
    ) -> httpx.Response:
        """Send one request; raise ClientError on a transport failure or an HTTP error status."""
        may_retry = method.upper() in {"GET", "HEAD", "DELETE", "PUT"} if retry is None else retry
        attempts = self.retries + 1 if may_retry else 1
        url = self.url_of(path)
        delay = self.backoff
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._client.request(
                    method,
                    path if path.startswith("/") else f"/{path}",
                    params=params,
                    json=json,
                    data=data,
                    content=content,
                    files=files,
                    headers=headers,
                )
            except httpx.TransportError as exc:  # includes timeouts: nothing usable came back
                if not last:
                    self._sleep(delay)
                    delay *= 2
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    problem = f"no answer within {self._client.timeout.read or 0:g}s"
                else:
                    problem = f"cannot connect ({exc.__class__.__name__}: {exc})"
                raise ClientError(self.server, url, problem, fix=_fix_for(self.server, None)) from None
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(self._retry_after(response, delay))
                delay *= 2
                continue
            if response.status_code >= 400:
                detail = " ".join(response.text.split())[:300]
                raise ClientError(
                    self.server,
                    url,
                    f"HTTP {response.status_code} {response.reason_phrase}" + (f": {detail}" if detail else ""),
                    status=response.status_code,
                    fix=_fix_for(self.server, response.status_code),
                )
            return response
        raise AssertionError("unreachable: the loop returns or raises")

    @staticmethod
    def _retry_after(response: httpx.Response, default: float) -> float:
        header = response.headers.get("Retry-After", "")
        try:
            wanted = float(header)
        except ValueError:
            return default
        return min(max(wanted, 0.0), MAX_RETRY_AFTER_SECONDS)

    def _json(self, response: httpx.Response) -> Any:  # noqa: ANN401 - a JSON document
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ClientError(
                self.server,
                str(response.request.url),
                f"answered HTTP {response.status_code} with a body that is not JSON: {response.text[:120]!r}",
                status=response.status_code,
                fix=f"check that the URL points at {self.server} itself, not a proxy or login page",
            ) from None

    # -- the calls clients use ------------------------------------------------------------------
    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:  # noqa: ANN401 - a JSON document
        return self._json(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any, *, retry: bool = False, params: Mapping[str, Any] | None = None) -> Any:  # noqa: ANN401 - JSON in, JSON out
        return self._json(self.request("POST", path, json=body, params=params, retry=retry))

    def post_form(self, path: str, form: Mapping[str, Any], *, retry: bool = False) -> Any:  # noqa: ANN401 - a JSON document
        return self._json(self.request("POST", path, data=form, retry=retry))

    def delete(self, path: str) -> Any:  # noqa: ANN401 - a JSON document
        return self._json(self.request("DELETE", path))
