"""``obsctl verify``'s controller-side HTTP (TunnelTransport.http) goes through the clients layer.

A loopback HTTP server (a test double standing in for the monitoring server's ports) records what
arrives; the checks read (status, body) pairs from it, and an unreachable port is status 0 with
the clients layer's "cannot connect" message instead of "answered None".
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsctl import verify
from tests.support import HttpTestDouble, serve_double


class RecordingHandler(HttpTestDouble):
    """Test double: 200 with a fixed JSON body on /ok, 401 elsewhere; records Authorization."""

    seen: list[tuple[str, str]] = []  # noqa: RUF012 - shared with the test through the class

    def do_GET(self) -> None:
        RecordingHandler.seen.append((self.path, self.headers.get("Authorization", "")))
        status, body = (200, b'{"database": "ok"}') if self.path.startswith("/ok") else (401, b'{"message": "no"}')
        self.reply(status, body)


@pytest.fixture
def port() -> Iterator[int]:
    RecordingHandler.seen = []
    with serve_double(RecordingHandler, poll_interval=0.05) as httpd:
        yield httpd.server_port


def _tunnel() -> verify.TunnelTransport:
    return verify.TunnelTransport(inventory=Path("inventories/prod"), address="127.0.0.1", ansible_args=[])


def test_get_with_basic_auth_and_query_string(port: int) -> None:
    code, body = _tunnel().http(port, "/ok?type=dash-db&limit=500", auth=("admin", "pw"))
    assert (code, body) == (200, '{"database": "ok"}')
    path, authorization = RecordingHandler.seen[0]
    assert path == "/ok?type=dash-db&limit=500"
    assert authorization == "Basic YWRtaW46cHc="  # base64("admin:pw")


def test_error_status_is_returned_not_raised(port: int) -> None:
    code, body = _tunnel().http(port, "/api/health")
    assert code == 401
    assert "HTTP 401" in body
    assert verify._json(code, body) is None


def test_unreachable_port_is_status_0_not_an_answer() -> None:
    with socket.socket() as sock:  # a port nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        closed = int(sock.getsockname()[1])
    code, detail = _tunnel().http(closed, "/api/health")
    assert code == 0
    assert f"port {closed} at http://127.0.0.1:{closed}/api/health: cannot connect" in detail
