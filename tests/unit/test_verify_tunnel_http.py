"""``obsctl verify``'s controller-side HTTP (TunnelTransport.http) goes through the clients layer.

A loopback HTTP server (a test double standing in for the monitoring server's ports) records what
arrives; the checks read (status, body) pairs from it, and an unreachable port is status 0 with
the clients layer's "cannot connect" message instead of "answered None".
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from obsctl import verify


class RecordingHandler(BaseHTTPRequestHandler):
    """Test double: 200 with a fixed JSON body on /ok, 401 elsewhere; records Authorization."""

    seen: list[tuple[str, str]] = []  # noqa: RUF012 - shared with the test through the class

    def do_GET(self) -> None:
        RecordingHandler.seen.append((self.path, self.headers.get("Authorization", "")))
        status, body = (200, b'{"database": "ok"}') if self.path.startswith("/ok") else (401, b'{"message": "no"}')
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    RecordingHandler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


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
