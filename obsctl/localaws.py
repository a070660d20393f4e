"""A local AWS emulator (moto) on a loopback port, for the lab and the Terraform integration test.

Terraform reaches it only through ``AWS_ENDPOINT_URL`` (see :meth:`LocalAws.env`): the provider
block stays exactly what production runs.

Two ways to run it:

* :func:`start` - a thread in this process (tests; gone when the process ends);
* :func:`start_detached` - ``python -m obsctl.localaws --port N`` as its own process with a state
  file, so it outlives one CLI call (``obsctl lab up`` ... ``obsctl lab down``);
  :func:`attach` finds it again and :func:`stop_detached` ends it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obsctl.errors import ObsError

DEFAULT_REGION = "eu-central-1"
LOOPBACK = "127.0.0.1"
_READY_TIMEOUT = 30.0


@dataclass
class LocalAws:
    """A running emulator: where it listens and how to stop it."""

    endpoint: str
    region: str = DEFAULT_REGION
    pid: int | None = None
    _stopper: Callable[[], object] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def env(self) -> dict[str, str]:
        """Environment that points the AWS CLI, SDKs and Terraform (provider and S3 backend) here."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client(self, service: str) -> Any:  # noqa: ANN401 - boto3 clients are dynamically typed
        """A boto3 client bound to the emulator (boto3 comes with the dev requirements)."""
        try:
            import boto3  # type: ignore[import-untyped]  # noqa: PLC0415 - only the lab and tests need boto3
        except ImportError as exc:
            raise ObsError("boto3 is not installed", fix="make setup  (installs requirements.txt)") from exc
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - moto's dummy credentials
        )

    def ensure_bucket(self, name: str) -> None:
        """Create an S3 bucket unless it exists (e.g. the Terraform state bucket of the lab)."""
        s3 = self.client("s3")
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if name not in existing:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})

    def stop(self) -> None:
        if self._stopper is not None:
            self._stopper()
            self._stopper = None


def free_port(host: str = LOOPBACK) -> int:
    """A currently free TCP port on ``host`` (the loopback interface by default)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _endpoint(port: int, host: str = LOOPBACK) -> str:
    return f"http://{host}:{port}"


def _enable_managed_policies() -> None:
    # The module attaches AmazonSSMManagedInstanceCore; moto only knows AWS-managed policies
    # when asked to load them (they are left out by default to save start-up time).
    from moto.core.config import default_user_config  # noqa: PLC0415 - moto is optional

    default_user_config["iam"] = {"load_aws_managed_policies": True}


def start(port: int = 0, region: str = DEFAULT_REGION, host: str = LOOPBACK) -> LocalAws:
    """Run moto in a thread of this process on ``host:port`` (0 = any free port).

    ``host`` is the loopback address unless the emulator must be reachable from containers too
    (the lab binds it to its Docker network's gateway address, never to every interface)."""
    try:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - moto is optional
    except ImportError as exc:
        raise ObsError("moto is not installed", fix="make setup  (installs moto[server])") from exc
    _enable_managed_policies()
    # One log line per request would drown the output of whoever embeds the emulator.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    try:
        server.start()
    except OSError as exc:
        raise ObsError(
            f"cannot start the local AWS emulator on {host}:{port}: {exc}",
            fix="choose a free port (and an address of this machine)",
        ) from exc
    _, bound = server.get_host_and_port()
    return LocalAws(endpoint=_endpoint(int(bound), host), region=region, _stopper=server.stop)


def _wait_ready(
    port: int, proc: subprocess.Popen[bytes] | None, timeout: float = _READY_TIMEOUT, host: str = LOOPBACK
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ObsError(
                f"the local AWS emulator exited with code {proc.returncode} during start-up",
                fix="read its log file; is the port already taken?",
            )
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.2)
    raise ObsError(f"the local AWS emulator did not listen on {host}:{port} within {timeout:.0f}s")


def start_detached(
    state_file: Path, log_file: Path, port: int = 0, region: str = DEFAULT_REGION, host: str = LOOPBACK
) -> LocalAws:
    """Start ``python -m obsctl.localaws`` in its own session; record pid/port in ``state_file``.

    Reuses the emulator already recorded in ``state_file`` when it still runs.
    """
    running = attach(state_file)
    if running is not None:
        return running
    chosen = port or free_port(host)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "obsctl.localaws", "--host", host, "--port", str(chosen)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the CLI call (and its Ctrl-C) that started it
        )
    _wait_ready(chosen, proc, host=host)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    record = {"pid": proc.pid, "host": host, "port": chosen, "region": region}
    state_file.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return LocalAws(
        endpoint=_endpoint(chosen, host), region=region, pid=proc.pid, _stopper=lambda: stop_detached(state_file)
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_state(state_file: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and {"pid", "port"} <= data.keys() else None


def attach(state_file: Path) -> LocalAws | None:
    """The detached emulator recorded in ``state_file``, or None when it no longer runs."""
    state = _read_state(state_file)
    if state is None or not _alive(int(state["pid"])):
        return None
    port = int(state["port"])
    host = str(state.get("host", LOOPBACK))
    try:
        with socket.create_connection((host, port), timeout=2):
            pass
    except OSError:
        return None
    return LocalAws(
        endpoint=_endpoint(port, host),
        region=str(state.get("region", DEFAULT_REGION)),
        pid=int(state["pid"]),
        _stopper=lambda: stop_detached(state_file),
    )


def stop_detached(state_file: Path, timeout: float = 10.0) -> bool:
    """Stop the emulator recorded in ``state_file`` (its state is lost); True if one was running."""
    state = _read_state(state_file)
    state_file.unlink(missing_ok=True)
    if state is None:
        return False
    pid = int(state["pid"])
    if not _alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Foreground server: ``python -m obsctl.localaws --port 4566``; SIGTERM or Ctrl-C stops it."""
    parser = argparse.ArgumentParser(prog="python -m obsctl.localaws", description=main.__doc__)
    parser.add_argument("--host", default=LOOPBACK, help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    args = parser.parse_args(argv)
    aws = start(args.port, host=args.host)
    print(f"local AWS emulator (moto) listening on {aws.endpoint}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    aws.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
