"""Shared helpers for tests: locating the repo and skipping, with a reason, what cannot run here."""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from socketserver import BaseServer
from typing import Any, TypeVar

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
ServerT = TypeVar("ServerT", bound=BaseServer)


# Programs of the Prometheus release the stack pins: found in the project's tools directory first
# (scripts/bootstrap-ci.sh installs Debian forky's build there), and used only when their
# major.minor is the pinned upstream image's (a 2.x promtool accepts what Prometheus 3 rejects).
PROMETHEUS_PROGRAMS = ("prometheus", "promtool")


@functools.cache
def _prometheus_program(name: str) -> tuple[str | None, str]:
    """(path, "") of a usable ``name``, or (None, why it is not usable)."""
    from obsctl import tools  # noqa: PLC0415 - the rest of this module needs no obsctl

    path = tools.find(name)
    if path is None:
        return None, f"'{name}' is not installed here (run scripts/bootstrap-ci.sh: {tools.tools_bin()})"
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    version = tools.command_version(proc.stdout + proc.stderr) or "?"
    want = tools.pinned_series(tools.PROMETHEUS)
    if tools.series(version) != want:
        return None, (
            f"{path} is {name} {version}, not the pinned Prometheus {want[0]}.{want[1]}.x "
            f"(run scripts/bootstrap-ci.sh: it installs forky's build into {tools.tools_bin()})"
        )
    return path, ""


def tool(name: str) -> str:
    """Path of a CLI tool, preferring the project's venv; skips the test when it is absent.

    ``prometheus`` and ``promtool`` must also be of the pinned release (see PROMETHEUS_PROGRAMS)."""
    if name in PROMETHEUS_PROGRAMS:
        path, why = _prometheus_program(name)
        if path is None:
            pytest.skip(why)
        return path
    venv_tool = VENV_BIN / name
    if venv_tool.exists():
        return str(venv_tool)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"'{name}' is not installed here (run `make setup` / scripts/bootstrap-ci.sh)")
    return found


@functools.cache
def docker_available() -> str | None:
    """None when a Docker daemon answers, else the reason it does not."""
    if not shutil.which("docker"):
        return "docker CLI not installed"
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    return None if proc.returncode == 0 else "no Docker daemon answers (start dockerd)"


def require_docker() -> None:
    reason = docker_available()
    if reason:
        pytest.skip(reason)


def image_present(ref: str) -> bool:
    if docker_available():
        return False
    proc = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True, check=False)
    return proc.returncode == 0


def require_image(ref: str, why: str = "") -> None:
    require_docker()
    if not image_present(ref):
        extra = f" ({why})" if why else ""
        pytest.skip(f"image {ref} is not available on this machine{extra}")


def terraform_cli_config(scratch: Path) -> Path:
    """An offline Terraform CLI config for the local provider mirror; skips, with the reason,
    when terraform or a mirror holding hashicorp/aws is missing."""
    from obsctl.terraform import offline_cli_config  # noqa: PLC0415 - only Terraform tests need it

    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed (obsctl doctor)")
    cli_config = offline_cli_config(scratch)
    if cli_config is None:
        pytest.skip("no Terraform provider mirror with hashicorp/aws on this machine (set OBS_TF_MIRROR)")
    return cli_config


class HttpTestDouble(BaseHTTPRequestHandler):
    """Base of the tests' HTTP test doubles (each subclass is named as one): ``reply`` answers with a
    body (bytes, text, or anything JSON can encode), and no access-log lines reach the test output."""

    def reply(self, status: int, body: object, content_type: str = "application/json") -> None:
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a test double's requests are asserted on, not logged."""


@contextlib.contextmanager
def serving(server: ServerT, poll_interval: float = 0.5) -> Iterator[ServerT]:
    """Run an already bound ``server`` in a thread for the block; shut down and closed afterwards."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_double(
    handler: type[BaseHTTPRequestHandler], port: int = 0, poll_interval: float = 0.5
) -> Iterator[ThreadingHTTPServer]:
    """Run a test double on loopback for the block (``port`` 0: any free one); stopped afterwards."""
    with serving(ThreadingHTTPServer(("127.0.0.1", port), handler), poll_interval) as server:
        yield server


def double_url(server: HTTPServer, path: str = "") -> str:
    """``http://127.0.0.1:<port><path>`` of a server ``serve_double`` runs."""
    return f"http://127.0.0.1:{server.server_port}{path}"


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_server(argv: list[str], ready_url: str, log_path: Path, what: str, timeout: float = 60) -> Iterator[None]:
    """Run a real server process (Prometheus, Alertmanager) on loopback for the duration of the block:
    started, waited for until ``ready_url`` answers 200 (a clear failure with its log tail if it
    dies or takes longer than ``timeout``), stopped afterwards."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(ready_url, timeout=2) as resp:
                        if resp.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError):
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{what} did not become ready: {log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def local_alertmanager(binary: str, config: str, work: Path) -> Iterator[str]:
    """A real Alertmanager on loopback with ``config`` (YAML text), single instance (no gossip port),
    its data and log under ``work``; yields its base URL once ``/-/ready`` answers."""
    (work / "alertmanager.yml").write_text(config, encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        binary,
        f"--config.file={work / 'alertmanager.yml'}",
        f"--storage.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with local_server(argv, f"{url}/-/ready", work / "alertmanager.log", "alertmanager", timeout=30):
        yield url


ANSIBLE_TASK_NESTING = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")


def ansible_tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every task of a task list, a play list or a block, recursively (blocks themselves are not yielded)."""
    if isinstance(node, list):
        for item in node:
            yield from ansible_tasks(item)
    elif isinstance(node, dict):
        nested = [key for key in ANSIBLE_TASK_NESTING if key in node]
        if nested:
            for key in nested:
                yield from ansible_tasks(node[key])
        elif "name" in node or any("." in key for key in node):
            yield node
