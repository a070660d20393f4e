"""Single-node limits of the stack's Prometheus, measured: RSS per active series, the series count at
which its memory limit breaks, head compaction time, disk per day per 1k series, and from these and
the role's retention the data volume a month needs. All ratios come from one run.

Reproduce:  PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_capacity.py --write-docs
            (writes the measured section of docs/capacity.md, docs/capacity/*.svg and
            docs/capacity/results.json; without --write-docs it prints the section only)

What runs, all on 127.0.0.1 (no lab, nothing shared):
- **the real Prometheus of the pinned release**: Debian forky's 3.5 build, found where
  scripts/bootstrap-ci.sh installs it (obsctl.tools; the same programs the integration tests run),
  with the command-line flags the role deploys (read from roles/monitoring_stack/templates/
  compose.yml.j2 and the role's defaults: retention time and size, exemplar storage, ...);
- under the role's **memory limit** (``monitoring_stack_mem_limits_mib.prometheus``) as a real cgroup
  limit: a ``docker run --memory`` of a minimal image holding just that binary and the C library it
  links (built here with ``docker import``, tagged obs-bench/prometheus-forky), with the GOMEMLIMIT
  the role sets (90% of the limit). Without a Docker daemon it runs unconfined and the break point
  is only extrapolated (the output says so);
- a **load generator** (benchmarks/loadgen_series.py): targets of 1000 series each, shaped like one
  application host (Spring Boot histograms, JVM, node metrics) with values that move like real ones.

Phases:
1. memory: the scrape config grows by whole targets (10k, 25k, 50k, ... series); at each step, once
   the head holds every series and a few scrapes more have landed, it reads VmRSS/VmHWM of the
   process (/proc), the cgroup's RSS, and Prometheus' own process_resident_memory_bytes and
   go_memstats_heap_inuse_bytes. It stops at the first step the limit breaks (OOM kill, or scrapes
   failing / not landing) or at the last step. RSS per series is the least-squares slope.
2. head compaction: a fresh Prometheus (same limit) scrapes ``--compaction-series`` series every
   second with ``--storage.tsdb.min-block-duration=1m`` (a benchmark-only setting; production cuts 2 h
   blocks), until it has persisted head blocks; prometheus_tsdb_compaction_duration_seconds.
3. disk: ``promtool tsdb create-blocks-from openmetrics`` turns ``--disk-days`` days of
   ``--disk-series`` series (every 10th series of a load-generator target) at the role's scrape
   interval into blocks of at most 24 h: bytes per sample, disk per day per 1k series, disk against days.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import capacity_model as model  # noqa: E402 - after the path set-up
import jinja2  # noqa: E402
import loadgen_series as loadgen  # noqa: E402

from obsctl import tools  # noqa: E402
from obsctl.common import duration_seconds, role_defaults  # noqa: E402

DOC = REPO / "docs" / "capacity.md"
DOC_DIR = REPO / "docs" / "capacity"
BEGIN, END = "<!-- bench_capacity: begin (generated) -->", "<!-- bench_capacity: end -->"
IMAGE_REPO = "obs-bench/prometheus-forky"
SERIES_PER_TARGET = 1000
MIB = 1 << 20


# ----------------------------------------------------------------------------------------------
# What the role deploys
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleSettings:
    mem_limit_mib: int
    gomemlimit_mib: int
    scrape_interval_s: float
    retention_time: str
    retention_days: float
    retention_size: str
    retention_size_bytes: float
    flags: list[str]  # the role's Prometheus flags, less the paths and the listen address
    planning_series: int  # the series count the memory budget plans for (benchmarks/memory.json)


def _size_bytes(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGTP]?B)", text.strip())
    if not match:
        raise SystemExit(f"monitoring_stack_prometheus_retention_size = {text!r}: not a size like 8GB")
    powers = {"B": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}  # powers of 2 (storage docs)
    return float(match.group(1)) * 1024 ** powers[match.group(2)]


def role_settings() -> RoleSettings:
    defaults = role_defaults("monitoring_stack")
    common = role_defaults("obs_common")
    mem = int(defaults["monitoring_stack_mem_limits_mib"]["prometheus"])
    context = {**common, **defaults}
    context["monitoring_stack_scrape_interval"] = common["obs_common_scrape_interval"]
    template = (REPO / "roles/monitoring_stack/templates/compose.yml.j2").read_text(encoding="utf-8")
    block = template.split("\n  prometheus:\n", 1)[1].split("\n    volumes:", 1)[0]
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    flags = []
    for raw in re.findall(r"^      - (--\S.*)$", block, re.MULTILINE):
        if not raw.startswith(("--config.file", "--storage.tsdb.path", "--web.listen-address")):
            flags.append(env.from_string(raw).render(context).strip('"'))
    # The series count the memory budget plans for: one figure, recorded by bench_memory.py.
    budget = json.loads((REPO / "benchmarks/memory.json").read_text(encoding="utf-8"))
    retention_time = str(defaults["monitoring_stack_prometheus_retention_time"])
    retention_size = str(defaults["monitoring_stack_prometheus_retention_size"])
    return RoleSettings(
        mem_limit_mib=mem,
        gomemlimit_mib=int(mem * 0.9),  # compose.yml.j2: GOMEMLIMIT = 90% of mem_limit
        scrape_interval_s=duration_seconds(str(common["obs_common_scrape_interval"])),
        retention_time=retention_time,
        retention_days=duration_seconds(retention_time) / model.DAY,
        retention_size=retention_size,
        retention_size_bytes=_size_bytes(retention_size),
        flags=flags,
        planning_series=int(budget["planning_series"]),
    )


# ----------------------------------------------------------------------------------------------
# The programs
# ----------------------------------------------------------------------------------------------


def pinned_program(name: str) -> str:
    """``prometheus``/``promtool`` of the pinned release (obsctl.tools, installed by bootstrap-ci.sh)."""
    path = tools.find(name)
    want = tools.pinned_series(tools.PROMETHEUS)
    if path is None:
        raise SystemExit(f"error: {name} is not installed. Fix: {tools.INSTALL_FIX}")
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    version = tools.command_version(proc.stdout + proc.stderr) or "?"
    if tools.series(version) != want:
        raise SystemExit(f"error: {path} is {name} {version}, not {want[0]}.{want[1]}.x. Fix: {tools.INSTALL_FIX}")
    return path


def version_of(binary: str) -> str:
    proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    return tools.command_version(proc.stdout + proc.stderr) or "?"


def docker_ok() -> str | None:
    """None when a Docker daemon answers, else why not."""
    if not shutil.which("docker"):
        return "no docker CLI"
    proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    return None if proc.returncode == 0 else "no Docker daemon answers"


def ensure_image(binary: str) -> str:
    """A minimal image of ``binary`` and the C library it links, for ``docker run --memory``."""
    real = Path(binary).resolve()
    tag = f"{IMAGE_REPO}:{version_of(binary).replace('+', '_')}"
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode == 0:
        return tag
    ldd = subprocess.run(["ldd", str(real)], capture_output=True, text=True, check=True).stdout
    libs = [Path(p) for p in re.findall(r"(/\S+\.so[.\d]*)", ldd)]
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(real, arcname="usr/bin/prometheus")
            for lib in libs:
                tar.add(lib.resolve(), arcname=str(lib).lstrip("/"))
            info = tarfile.TarInfo("tmp")
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
        subprocess.run(
            ["docker", "import", "--change", 'ENTRYPOINT ["/usr/bin/prometheus"]', str(tar_path), tag],
            check=True,
            capture_output=True,
        )
    return tag


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----------------------------------------------------------------------------------------------
# One Prometheus under test
# ----------------------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    pid_of: Any  # () -> int | None: the host PID of the Prometheus process
    alive: Any  # () -> tuple[bool, str]: running, and why not
    cgroup_rss: Any  # () -> int | None: bytes of anonymous memory of its cgroup
    cgroup_events: Any  # () -> str: how often the cgroup hit its limit and OOM-killed ("" unconfined)
    log: Any  # () -> str

    def get(self, path: str, timeout: float = 10) -> str:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return str(resp.read().decode())

    def metrics(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.get("/metrics").splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                try:
                    out[name] = float(value)
                except ValueError:
                    continue
        return out

    def query(self, expr: str) -> float | None:
        body = json.loads(self.get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        result = body["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def reload(self) -> None:
        req = urllib.request.Request(self.url + "/-/reload", method="POST")
        with urllib.request.urlopen(req, timeout=60):
            pass


def _wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running, why = server.alive()
        if not running:
            raise SystemExit(f"error: Prometheus did not start ({why}):\n{server.log()[-3000:]}")
        try:
            server.get("/-/ready", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"error: Prometheus not ready after {timeout:.0f} s:\n{server.log()[-3000:]}")


@contextmanager
def prometheus(work: Path, settings: RoleSettings, extra: list[str], *, limited: bool) -> Iterator[Server]:
    """Prometheus on ``work``/prometheus.yml and ``work``/data, under the role's limit when ``limited``."""
    port = free_port()
    args = [
        "--config.file=/work/prometheus.yml",
        "--storage.tsdb.path=/work/data",
        f"--web.listen-address=127.0.0.1:{port}",
        *settings.flags,
        *extra,
    ]
    (work / "data").mkdir(exist_ok=True)
    run = _in_container if limited else _on_host
    with run(work, settings, args, f"http://127.0.0.1:{port}") as server:
        _wait_ready(server)
        yield server


class _Container:
    """The docker side of one limited Prometheus: state, cgroup figures, log."""

    def __init__(self, name: str) -> None:
        self.name = name
        cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True, check=True)
        self.cgroup = Path("/sys/fs/cgroup/memory/docker") / cid.stdout.strip()

    def state(self) -> dict[str, Any]:
        out = subprocess.run(
            ["docker", "inspect", "-f", "{{json .State}}", self.name], capture_output=True, text=True, check=False
        )
        return dict(json.loads(out.stdout)) if out.returncode == 0 else {}

    def alive(self) -> tuple[bool, str]:
        st = self.state()
        if st.get("Running"):
            return True, ""
        return False, "OOM-killed by its cgroup limit" if st.get("OOMKilled") else f"exited {st.get('ExitCode')}"

    def pid(self) -> int | None:
        return self.state().get("Pid") or None

    def rss(self) -> int | None:
        try:
            stat = (self.cgroup / "memory.stat").read_text()
        except OSError:
            return None
        found = re.search(r"^total_rss (\d+)$", stat, re.MULTILINE)
        return int(found.group(1)) if found else None

    def events(self) -> str:
        try:
            failcnt = (self.cgroup / "memory.failcnt").read_text().strip()
            oom = re.search(r"^oom_kill (\d+)$", (self.cgroup / "memory.oom_control").read_text(), re.MULTILINE)
        except OSError:
            return ""
        return f"the cgroup hit its limit {failcnt} times, {oom.group(1) if oom else '?'} OOM kills"

    def log(self) -> str:
        out = subprocess.run(["docker", "logs", self.name], capture_output=True, text=True, check=False)
        return out.stdout + out.stderr


@contextmanager
def _in_container(work: Path, settings: RoleSettings, args: list[str], url: str) -> Iterator[Server]:
    image = ensure_image(pinned_program("prometheus"))
    name = f"obs-bench-capacity-{os.getpid()}-{url.rsplit(':', 1)[1]}"
    subprocess.run(
        [
            "docker", "run", "-d", "--name", name, "--network", "host",
            f"--memory={settings.mem_limit_mib}m", f"--memory-swap={settings.mem_limit_mib}m",
            "-e", f"GOMEMLIMIT={settings.gomemlimit_mib}MiB", "-v", f"{work}:/work", image, *args,
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        box = _Container(name)
        yield Server(url, box.pid, box.alive, box.rss, box.events, box.log)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        # Files written by the container's root: make the work dir removable by anyone.
        subprocess.run(["chmod", "-R", "a+rwX", str(work)], capture_output=True, check=False)


@contextmanager
def _on_host(work: Path, settings: RoleSettings, args: list[str], url: str) -> Iterator[Server]:
    argv = [pinned_program("prometheus"), *(a.replace("/work/", f"{work}/") for a in args)]
    with (work / "prometheus.log").open("w") as logfile:
        proc = subprocess.Popen(argv, stdout=logfile, stderr=subprocess.STDOUT)

        def alive() -> tuple[bool, str]:
            code = proc.poll()
            return (True, "") if code is None else (False, f"exited {code}")

        try:
            yield Server(
                url,
                lambda: proc.pid if proc.poll() is None else None,
                alive,
                lambda: None,
                lambda: "",
                lambda: (work / "prometheus.log").read_text(errors="replace"),
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def write_config(path: Path, *, interval_s: float, loadgen_port: int, targets: int, self_port: int) -> None:
    lines = [
        "global:",
        f"  scrape_interval: {interval_s:g}s",
        f"  scrape_timeout: {interval_s:g}s",
        f"  evaluation_interval: {interval_s:g}s",
        "scrape_configs:",
        "  - job_name: prometheus",
        "    static_configs:",
        f"      - targets: ['127.0.0.1:{self_port}']",
        "  - job_name: loadgen",
        "    static_configs:",
    ]
    for k in range(targets):
        lines += [
            f"      - targets: ['127.0.0.1:{loadgen_port}']",
            f"        labels: {{__metrics_path__: /t/{k}/metrics, instance: host-{k}, host: host-{k}}}",
        ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def proc_status(pid: int | None) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes (empty when it is gone)."""
    if pid is None:
        return {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {m.group(1): int(m.group(2)) * 1024 for m in re.finditer(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.MULTILINE)}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# ----------------------------------------------------------------------------------------------
# Phase 1: memory against active series
# ----------------------------------------------------------------------------------------------


@dataclass
class MemoryPoint:
    series: int  # load-generator series (the x of the fit)
    head_series: int
    vm_rss: int
    vm_hwm: int
    cgroup_rss: int | None
    process_resident: float
    heap_inuse: float
    max_scrape_s: float
    seconds_to_ingest: float
    wal_bytes: int
    samples_appended: float


@dataclass
class MemoryResult:
    limited: bool
    why_unlimited: str
    interval_s: float
    points: list[MemoryPoint] = field(default_factory=list)
    broke_at: int | None = None
    broke_how: str = ""
    wal_bytes_per_sample: float = 0.0
    scrapes_cut_off: int = 0


def memory_phase(work: Path, settings: RoleSettings, steps: list[int], interval_s: float, hold: int) -> MemoryResult:
    why = docker_ok()
    result = MemoryResult(limited=why is None, why_unlimited=why or "", interval_s=interval_s)
    with loadgen.LoadGenerator(SERIES_PER_TARGET) as gen:
        config = work / "prometheus.yml"
        write_config(config, interval_s=interval_s, loadgen_port=gen.port, targets=0, self_port=0)
        with prometheus(work, settings, [], limited=result.limited) as prom:
            self_port = int(prom.url.rsplit(":", 1)[1])
            for n in steps:
                targets = n // SERIES_PER_TARGET
                write_config(config, interval_s=interval_s, loadgen_port=gen.port, targets=targets, self_port=self_port)
                started = time.monotonic()
                print(f"[memory] {n} series ...", file=sys.stderr, flush=True)
                try:
                    prom.reload()
                    point = _measure_step(
                        prom, n, interval_s=interval_s, hold=hold, started=started, wal=work / "data" / "wal"
                    )
                except (OSError, RuntimeError) as exc:
                    what = f"its HTTP API: {exc}" if isinstance(exc, OSError) else str(exc)
                    result.broke_at, result.broke_how = n, _break_detail(prom, what, interval_s)
                    break
                running, how = prom.alive()
                if not running:
                    result.broke_at, result.broke_how = n, how
                    break
                result.points.append(point)
                print(f"[memory]   {asdict(point)}", file=sys.stderr, flush=True)
                if point.max_scrape_s >= interval_s:
                    result.broke_at, result.broke_how = n, f"scrapes take {point.max_scrape_s:.1f} s >= interval"
                    break
        result.scrapes_cut_off = gen.aborted
    if result.points and result.points[-1].samples_appended:
        result.wal_bytes_per_sample = result.points[-1].wal_bytes / result.points[-1].samples_appended
    return result


def _break_detail(prom: Server, what: str, interval_s: float) -> str:
    """What the break looked like: the failure, then the process' state a few scrapes later."""
    running, how = prom.alive()
    if not running:
        return f"{how}; {prom.cgroup_events()}".rstrip("; ")
    parts = [what, f"VmRSS {model.fmt_bytes(proc_status(prom.pid_of()).get('VmRSS', 0))}"]
    try:
        failing = prom.query('count(up{job="loadgen"} == 0)')
        parts.append(f"{failing or 0:.0f} targets failing to scrape")
    except OSError as exc:
        parts.append(f"its API does not answer ({exc})")
    time.sleep(3 * interval_s)
    running, how = prom.alive()
    parts.append(f"{3 * interval_s:g} s later: {'still running' if running else how}")
    if events := prom.cgroup_events():
        parts.append(events)
    return "; ".join(parts)


def _measure_step(prom: Server, n: int, *, interval_s: float, hold: int, started: float, wal: Path) -> MemoryPoint:
    deadline = started + max(60.0, 12 * interval_s)
    want = n  # the load generator's series; Prometheus' own and the per-target up/scrape_* come on top
    while True:
        running, how = prom.alive()
        if not running:
            raise RuntimeError(how)
        head = prom.metrics().get("prometheus_tsdb_head_series", 0.0)
        if head >= want:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the head holds {head:.0f} of {want} series after {deadline - started:.0f} s")
        time.sleep(1)
    ingested = time.monotonic() - started
    time.sleep(hold * interval_s)
    failing = prom.query('count(up{job="loadgen"} == 0)')
    if failing:
        raise RuntimeError(f"{failing:.0f} targets fail to scrape")
    max_scrape = prom.query('max(scrape_duration_seconds{job="loadgen"})') or 0.0
    m = prom.metrics()
    status = proc_status(prom.pid_of())
    return MemoryPoint(
        series=n,
        head_series=int(m.get("prometheus_tsdb_head_series", 0)),
        vm_rss=status.get("VmRSS", 0),
        vm_hwm=status.get("VmHWM", 0),
        cgroup_rss=prom.cgroup_rss(),
        process_resident=m.get("process_resident_memory_bytes", 0.0),
        heap_inuse=m.get("go_memstats_heap_inuse_bytes", 0.0),
        max_scrape_s=max_scrape,
        seconds_to_ingest=round(ingested, 1),
        wal_bytes=dir_bytes(wal),
        samples_appended=m.get('prometheus_tsdb_head_samples_appended_total{type="float"}', 0.0),
    )


# ----------------------------------------------------------------------------------------------
# Phase 2: head compaction
# ----------------------------------------------------------------------------------------------


@dataclass
class CompactionResult:
    series: int
    interval_s: float
    block_minutes: int
    compactions: int
    duration_sum_s: float
    durations_s: list[float]
    samples_per_series_per_block: float
    block_samples: int
    block_bytes: int
    scrapes_cut_off: int  # scrapes Prometheus abandoned at its timeout (the load generator saw the socket close)


def compaction_phase(work: Path, settings: RoleSettings, series: int, limited: bool, count: int) -> CompactionResult:
    interval_s, block_minutes = 1.0, 1
    extra = [
        f"--storage.tsdb.min-block-duration={block_minutes}m",
        f"--storage.tsdb.max-block-duration={block_minutes}m",
    ]
    with loadgen.LoadGenerator(SERIES_PER_TARGET) as gen:
        config = work / "prometheus.yml"
        write_config(config, interval_s=interval_s, loadgen_port=gen.port, targets=0, self_port=0)
        with prometheus(work, settings, extra, limited=limited) as prom:
            self_port = int(prom.url.rsplit(":", 1)[1])
            write_config(
                config,
                interval_s=interval_s,
                loadgen_port=gen.port,
                targets=series // SERIES_PER_TARGET,
                self_port=self_port,
            )
            prom.reload()
            deadline = time.monotonic() + 60 * (block_minutes * 1.5 + count + 2)
            key = "prometheus_tsdb_compaction_duration_seconds"
            while True:
                m = prom.metrics()
                done = int(m.get(f"{key}_count", 0))
                print(f"[compaction] {done}/{count} head compactions", file=sys.stderr, flush=True)
                if done >= count:
                    break
                if time.monotonic() > deadline or not prom.alive()[0]:
                    raise SystemExit(f"error: no head compaction within the wait:\n{prom.log()[-2000:]}")
                time.sleep(5)
            log = prom.log()
        cut_off = gen.aborted
    durations = [_duration_s(d) for d in re.findall(r'msg="write block".*?duration=(\S+)', log)]
    blocks = [json.loads(p.read_text()) for p in (work / "data").glob("*/meta.json")]
    return CompactionResult(
        series=series,
        interval_s=interval_s,
        block_minutes=block_minutes,
        compactions=done,
        duration_sum_s=m.get(f"{key}_sum", 0.0),
        durations_s=durations,
        samples_per_series_per_block=block_minutes * 60 / interval_s,
        block_samples=sum(b["stats"]["numSamples"] for b in blocks),
        block_bytes=sum(dir_bytes(p.parent) for p in (work / "data").glob("*/meta.json")),
        scrapes_cut_off=cut_off,
    )


def _duration_s(text: str) -> float:
    """Go's duration text (``1.234s``, ``950ms``, ``1m2.5s``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    return sum(float(v) * units[u] for v, u in re.findall(r"([\d.]+)(ms|us|µs|ns|h|m|s)", text))


# ----------------------------------------------------------------------------------------------
# Phase 3: disk against days
# ----------------------------------------------------------------------------------------------


@dataclass
class DiskResult:
    series: int
    days: int
    interval_s: float
    samples: int
    bytes_total: int
    chunk_bytes: int
    index_bytes: int
    per_day: list[tuple[float, int]]  # (days since the start, cumulative block bytes)
    backfill_seconds: float
    blocks: int
    longest_block_hours: float

    @property
    def bytes_per_sample(self) -> float:
        return self.bytes_total / self.samples

    @property
    def bytes_per_day_per_1k(self) -> float:
        return self.bytes_total / self.days * 1000 / self.series


def disk_phase(work: Path, settings: RoleSettings, series: int, days: int) -> DiskResult:
    promtool = pinned_program("promtool")
    template = loadgen.target_series(0, SERIES_PER_TARGET)
    chosen = template[:: max(1, len(template) // series)][:series]
    interval = int(settings.scrape_interval_s)
    end = (int(time.time()) // model.DAY - 1) * model.DAY  # whole days, ending before today (never the head's range)
    start = end - days * model.DAY
    om = work / "samples.om"
    print(f"[disk] writing {len(chosen)} series x {days} d at {interval} s ...", file=sys.stderr, flush=True)
    samples = loadgen.write_openmetrics(om, chosen, start=start, seconds=days * model.DAY, interval=interval)
    data = work / "data"
    began = time.monotonic()
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", "-q", str(om), str(data)],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    backfill = time.monotonic() - began
    om.unlink()
    blocks = []
    for meta_path in data.glob("*/meta.json"):
        meta = json.loads(meta_path.read_text())
        block = meta_path.parent
        hours = (meta["maxTime"] - meta["minTime"]) / 3.6e6
        blocks.append(
            (meta["maxTime"], dir_bytes(block), dir_bytes(block / "chunks"), (block / "index").stat().st_size, hours)
        )
    blocks.sort()
    curve, total = [(0.0, 0)], 0
    for max_time, size, *_ in blocks:
        total += size
        curve.append((round((max_time / 1000 - start) / model.DAY, 3), total))
    return DiskResult(
        series=len(chosen),
        days=days,
        interval_s=interval,
        samples=samples,
        bytes_total=total,
        chunk_bytes=sum(b[2] for b in blocks),
        index_bytes=sum(b[3] for b in blocks),
        per_day=curve,
        backfill_seconds=round(backfill, 1),
        blocks=len(blocks),
        longest_block_hours=max((b[4] for b in blocks), default=0.0),
    )


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def free_points(settings: RoleSettings, mem: MemoryResult) -> list[MemoryPoint]:
    """The steps whose RSS stayed below GOMEMLIMIT: above it the Go runtime collects harder and RSS stops
    growing with the series, so those steps would flatten the RSS line (all steps when fewer than two)."""
    below = [p for p in mem.points if p.vm_rss < settings.gomemlimit_mib * MIB]
    return below if len(below) >= 2 else mem.points


def rss_fit(settings: RoleSettings, mem: MemoryResult) -> model.Fit | None:
    points = free_points(settings, mem)
    return model.linear_fit([p.series for p in points], [p.vm_rss for p in points]) if len(points) >= 2 else None


def derive(settings: RoleSettings, mem: MemoryResult, comp: CompactionResult, disk: DiskResult) -> dict[str, Any]:
    limit = settings.mem_limit_mib * MIB
    rss = rss_fit(settings, mem)
    xs, ys = [float(p.series) for p in mem.points], [float(p.heap_inuse) for p in mem.points]
    heap = model.linear_fit(xs, ys) if len(xs) >= 2 else None
    volumes = {}
    for label, n in _volume_rows(settings, mem, rss, limit):
        volumes[label] = (
            n,
            model.data_volume(
                series=n,
                interval_s=settings.scrape_interval_s,
                block_bytes_per_sample=disk.bytes_per_sample,
                wal_bytes_per_sample=mem.wal_bytes_per_sample,
                retention_days=settings.retention_days,
                retention_size_bytes=settings.retention_size_bytes,
            ),
        )
    return {
        "rss": rss,
        "heap": heap,
        "limit_bytes": limit,
        "rss_crossing": rss.crossing(limit) if rss else None,
        "heap_crossing": heap.crossing(settings.gomemlimit_mib * MIB) if heap else None,
        "volumes": volumes,
    }


def _volume_rows(
    settings: RoleSettings, mem: MemoryResult, rss: model.Fit | None, limit: float
) -> list[tuple[str, int]]:
    rows = [("10k series", 10_000)]
    if settings.planning_series:
        rows.append((f"{settings.planning_series // 1000}k (the budget's planning load)", settings.planning_series))
    if mem.points:
        last = mem.points[-1].series
        rows.append((f"{last // 1000}k (largest measured under the limit)", last))
    if rss and math.isfinite(rss.crossing(limit)):
        n = int(rss.crossing(limit))
        rows.append((f"{n // 1000}k (RSS line reaches the limit)", n))
    return sorted(rows, key=lambda row: row[1])


def render_section(
    settings: RoleSettings, version: str, mem: MemoryResult, comp: CompactionResult, disk: DiskResult
) -> str:
    d = derive(settings, mem, comp, disk)
    rss, heap = d["rss"], d["heap"]
    lines = [
        BEGIN,
        "",
        f"Measured by `benchmarks/bench_capacity.py` on this build machine (2 cores, Debian 12), Prometheus {version} "
        f"(Debian forky's build of the pinned 3.5), with the role's flags: `{' '.join(settings.flags)}`.",
        "",
        "### Memory against active series",
        "",
    ]
    if mem.limited:
        lines.append(
            f"Under a real cgroup memory limit of {settings.mem_limit_mib} MiB (`docker run --memory`, the role's "
            f"`monitoring_stack_mem_limits_mib.prometheus`) with GOMEMLIMIT={settings.gomemlimit_mib}MiB as the role "
            f"sets it; scrape interval {mem.interval_s:g} s (benchmark; memory per series does not depend on it), "
            f"targets of {SERIES_PER_TARGET} series."
        )
    else:
        lines.append(f"**Not under a cgroup limit** ({mem.why_unlimited}): the break point below is extrapolated only.")
    lines += [
        "",
        "| series | head series | VmRSS | VmHWM | cgroup RSS | heap in use | max scrape | time to ingest |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in mem.points:
        cg = model.fmt_bytes(p.cgroup_rss) if p.cgroup_rss is not None else "-"
        lines.append(
            f"| {p.series:,} | {p.head_series:,} | {model.fmt_bytes(p.vm_rss)} | {model.fmt_bytes(p.vm_hwm)} | {cg} | "
            f"{model.fmt_bytes(p.heap_inuse)} | {p.max_scrape_s:.2f} s | {p.seconds_to_ingest:.0f} s |"
        )
    lines.append("")
    if rss:
        lines.append(
            f"- **RSS per active series: {rss.slope / 1024:.2f} KiB** (least squares over the "
            f"{len(free_points(settings, mem))} steps whose RSS stayed below GOMEMLIMIT; above it the Go runtime "
            f"collects harder and RSS stops growing), intercept {model.fmt_bytes(rss.intercept)}, R² {rss.r2:.3f}; "
            f"Go heap in use per series {heap.slope / 1024:.2f} KiB over all steps (R² {heap.r2:.3f})."
        )
        lines.append(
            f"- The RSS line reaches the {settings.mem_limit_mib} MiB limit at **{d['rss_crossing']:,.0f} series** "
            f"(extrapolated); the heap line reaches GOMEMLIMIT ({settings.gomemlimit_mib} MiB) at "
            f"{d['heap_crossing']:,.0f} series."
        )
    if mem.broke_at:
        lines.append(
            f"- **Measured break: {mem.broke_at:,} series** ({mem.broke_how}); the last step that held was "
            f"{mem.points[-1].series:,} series."
            if mem.points
            else f"- Broke at the first step: {mem.broke_how}."
        )
    else:
        lines.append(f"- No step broke the limit up to {mem.points[-1].series:,} series (the largest step run).")
    lines.append(f"- Scrapes cut off at the scrape timeout during this phase: {mem.scrapes_cut_off}.")
    lines += [
        "",
        "![RSS against active series](capacity/prometheus-rss-vs-series.svg)",
        "",
        "### Head compaction",
        "",
        f"{comp.series:,} series scraped every {comp.interval_s:g} s, `--storage.tsdb.min-block-duration="
        f"{comp.block_minutes}m` (benchmark only): {comp.compactions} head compactions, "
        f"prometheus_tsdb_compaction_duration_seconds sum {comp.duration_sum_s:.2f} s, "
        f"**{comp.duration_sum_s / max(comp.compactions, 1):.2f} s per head compaction** "
        f"(log: {', '.join(f'{x:.2f} s' for x in comp.durations_s) or 'none logged'}); the blocks hold "
        f"{comp.block_samples:,} samples in {model.fmt_bytes(comp.block_bytes)} ({comp.scrapes_cut_off} scrapes "
        f"cut off at the {comp.interval_s:g} s scrape timeout on this shared machine). A production head block holds "
        f"2 h at {settings.scrape_interval_s:g} s = {7200 / settings.scrape_interval_s:.0f} samples per series "
        f"(here {comp.samples_per_series_per_block:.0f}); its compaction writes the same index and "
        f"{7200 / settings.scrape_interval_s / comp.samples_per_series_per_block:.0f}x the chunk bytes.",
        "",
        "### Disk against days",
        "",
        f"`promtool tsdb create-blocks-from openmetrics` over {disk.days} days of {disk.series} load-generator series "
        f"at the role's {disk.interval_s:g} s interval ({disk.samples:,} samples, {disk.backfill_seconds:.0f} s), "
        f"`--max-block-duration=24h` ({disk.blocks} blocks of up to {disk.longest_block_hours:.0f} h): "
        f"{model.fmt_bytes(disk.bytes_total)} ({model.fmt_bytes(disk.chunk_bytes)} chunks, "
        f"{model.fmt_bytes(disk.index_bytes)} index).",
        "",
        f"- **{disk.bytes_per_sample:.2f} bytes per sample** on disk (blocks; the storage docs say 1-2: this "
        "depends on the data, and the volume table below scales with it).",
        f"- **Disk per day per 1k series: {model.fmt_bytes(disk.bytes_per_day_per_1k)}** at {disk.interval_s:g} s "
        f"({model.fmt_bytes(disk.bytes_per_day_per_1k * 30)} per 30 days).",
        f"- WAL: {mem.wal_bytes_per_sample:.2f} bytes per sample appended (measured in the memory phase).",
        "",
        "![Disk against days](capacity/prometheus-disk-vs-days.svg)",
        "",
        f"### Data volume for the role's retention ({settings.retention_time}, size limit {settings.retention_size})",
        "",
        "| active series | blocks kept | compaction headroom | WAL + head chunks | "
        f"needed for {settings.retention_time} | {settings.retention_size} cuts retention to |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, (_n, vol) in d["volumes"].items():
        cut = "no cut" if vol.retention_size_cut_days == float("inf") else f"{vol.retention_size_cut_days:.1f} days"
        sizes = " | ".join(model.fmt_bytes(b) for b in (vol.blocks, vol.compaction, vol.head))
        lines.append(f"| {label} | {sizes} | **{model.fmt_bytes(vol.total)}** | {cut} |")
    lines += [
        "",
        f"Where `{settings.retention_size}` cuts retention, Prometheus holds about that much (plus the compaction "
        f'headroom) and keeps fewer days than {settings.retention_time}; the "needed" column is the volume that '
        "would keep them all.",
        "",
        END,
    ]
    return "\n".join(lines)


def plots(settings: RoleSettings, mem: MemoryResult, disk: DiskResult) -> dict[str, str]:
    rss = rss_fit(settings, mem)
    xs = [p.series / 1000 for p in mem.points]
    lines = [
        model.Line("VmRSS", xs, [p.vm_rss / MIB for p in mem.points]),
        model.Line("Go heap in use", xs, [p.heap_inuse / MIB for p in mem.points], "s--"),
    ]
    if rss:
        top = max(mem.points[-1].series, rss.crossing(settings.mem_limit_mib * MIB)) if mem.points else 0
        fit_x = [0.0, top / 1000]
        lines.append(
            model.Line(f"fit {rss.slope / 1024:.2f} KiB/series", fit_x, [rss.at(x * 1000) / MIB for x in fit_x], "k:")
        )
    vlines = [(mem.broke_at / 1000, f"broke at {mem.broke_at // 1000}k")] if mem.broke_at else []
    rss_svg = model.svg_plot(
        lines,
        title="Prometheus 3.5: resident memory against active series",
        xlabel="active series (thousands)",
        ylabel="MiB",
        hlines=[
            (settings.mem_limit_mib, f"memory limit {settings.mem_limit_mib} MiB"),
            (settings.gomemlimit_mib, f"GOMEMLIMIT {settings.gomemlimit_mib} MiB"),
        ],
        vlines=vlines,
    )
    per_1k = 1000 / disk.series
    disk_svg = model.svg_plot(
        [
            model.Line(
                "blocks, per 1k series", [d for d, _ in disk.per_day], [b * per_1k / MIB for _, b in disk.per_day]
            )
        ],
        title=f"Prometheus 3.5: disk against days (1k series, {disk.interval_s:g} s interval)",
        xlabel="days of data",
        ylabel="MiB",
    )
    return {"prometheus-rss-vs-series.svg": rss_svg, "prometheus-disk-vs-days.svg": disk_svg}


def write_docs(section: str, svgs: dict[str, str], results: dict[str, Any]) -> None:
    DOC_DIR.mkdir(parents=True, exist_ok=True)
    for name, svg in svgs.items():
        (DOC_DIR / name).write_text(svg, encoding="utf-8")
    (DOC_DIR / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    text = replace_section(DOC.read_text(encoding="utf-8"), BEGIN, END, section)
    DOC.write_text(replace_section(text, LOKI_BEGIN, LOKI_END, render_loki_section()), encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# Loki: the limits the role configures (rendered from its template), with Loki's default and source
# ----------------------------------------------------------------------------------------------

LOKI_BEGIN, LOKI_END = "<!-- bench_capacity loki: begin (generated) -->", "<!-- bench_capacity loki: end -->"
LOKI_TEMPLATE = REPO / "roles/monitoring_stack/templates/loki/loki.yml.j2"
LOKI_DOCS = "https://grafana.com/docs/loki/latest/configure/"
# setting -> (Loki 3 default, where it is documented, what it guards on this host)
LOKI_LIMITS: dict[str, tuple[str, str, str]] = {
    "limits_config.ingestion_rate_mb": (
        "4",
        "limits_config `-distributor.ingestion-rate-limit-mb`",
        "per-tenant push rate (MB/s); beyond it a push gets HTTP 429 (`rate_limited`)",
    ),
    "limits_config.ingestion_burst_size_mb": (
        "6",
        "limits_config `-distributor.ingestion-burst-size-mb`",
        '"at least the maximum logs size expected in a single push request" (Alloy\'s loki.write batches 1 MiB)',
    ),
    "limits_config.per_stream_rate_limit": (
        "3MB",
        "limits_config `-ingester.per-stream-rate-limit`",
        "one stream never more than the tenant",
    ),
    "limits_config.per_stream_rate_limit_burst": (
        "15MB",
        "limits_config `-ingester.per-stream-rate-limit-burst`",
        "idem, burst",
    ),
    "limits_config.max_global_streams_per_user": (
        "5000",
        "limits_config `-ingester.max-global-streams-per-user`",
        "active streams (label sets): each holds an in-memory head block of up to `chunk_block_size` (256 KiB)",
    ),
    "limits_config.max_line_size": (
        "256KB",
        "limits_config `-distributor.max-line-size`",
        "longer lines are discarded (`max_line_size_truncate` is false)",
    ),
    "limits_config.max_label_names_per_series": (
        "15",
        "limits_config `-validation.max-label-names-per-series`",
        "Loki's default (not set)",
    ),
    "limits_config.reject_old_samples_max_age": (
        "1w",
        "limits_config `-validation.reject-old-samples.max-age`",
        "older lines are refused",
    ),
    "limits_config.retention_period": ("0s (keep forever)", "limits_config", "compactor retention"),
    "limits_config.max_query_length": (
        "30d1h",
        "limits_config `-store.max-query-length`",
        "the whole retention can be queried",
    ),
    "limits_config.max_query_parallelism": (
        "32",
        "limits_config `-querier.max-query-parallelism`",
        "sub-queries in flight (non-tsdb periods)",
    ),
    "limits_config.tsdb_max_query_parallelism": (
        "128",
        "limits_config `-querier.tsdb-max-query-parallelism`",
        "sub-queries in flight for tsdb schemas (the role's v13 period): each holds decompressed chunks",
    ),
    "limits_config.max_query_series": (
        "500",
        "limits_config `-querier.max-query-series`",
        "Loki's default (not set)",
    ),
    "limits_config.max_entries_limit_per_query": (
        "5000",
        "limits_config `-validation.max-entries-limit`",
        "Loki's default (not set)",
    ),
    "limits_config.query_timeout": ("1m", "limits_config `-querier.query-timeout`", "Loki's default"),
    "limits_config.split_queries_by_interval": (
        "1h",
        "limits_config `-querier.split-queries-by-interval`",
        "Loki's default (not set)",
    ),
    "querier.max_concurrent": ("4", "querier `-querier.max-concurrent`", "queries a querier runs at once"),
    "ingester.wal.replay_memory_ceiling": (
        "4GB",
        "ingester `-ingester.wal-replay-memory-ceiling`",
        "WAL replay flushes beyond it",
    ),
}


def loki_config() -> dict[str, Any]:
    """The role's loki.yml rendered from its template with the role's defaults (one schema period)."""
    import yaml  # noqa: PLC0415

    defaults = role_defaults("monitoring_stack")
    context = {
        **defaults,
        "ansible_managed": "rendered by benchmarks/bench_capacity.py",
        "_monitoring_stack_container_ports": {"loki": 3100},
        "_monitoring_stack_loki_periods": [
            {"from": "2024-01-01", "store": "tsdb", "schema": "v13", "object_store": "filesystem",
             "index": {"prefix": "index_", "period": "24h"}},
        ],
        "_monitoring_stack_loki_uses_boltdb": False,
        "_monitoring_stack_loki_structured_metadata": True,
    }  # fmt: skip
    from ansible.module_utils.parsing.convert_bool import boolean  # noqa: PLC0415 - Ansible's own `bool`

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["bool"] = lambda value: boolean(value, strict=False)
    rendered = env.from_string(LOKI_TEMPLATE.read_text(encoding="utf-8")).render(context)
    data = yaml.safe_load(rendered)
    if not isinstance(data, dict):
        raise SystemExit(f"error: {LOKI_TEMPLATE} did not render to a mapping")
    return data


def render_loki_section() -> str:
    config = loki_config()
    mem = int(role_defaults("monitoring_stack")["monitoring_stack_mem_limits_mib"]["loki"])
    lines = [
        LOKI_BEGIN,
        "",
        f"Rendered from `roles/monitoring_stack/templates/loki/loki.yml.j2` with the role's defaults (Loki memory "
        f"limit {mem} MiB, `monitoring_stack_mem_limits_mib.loki`). Regenerate: "
        "`python benchmarks/bench_capacity.py --loki-only --write-docs`.",
        "",
        f"Defaults and flags: the Loki configuration reference ({LOKI_DOCS}; `docs/sources/shared/configuration.md` "
        "in grafana/loki), block `limits_config` unless named.",
        "",
        "| setting | configured | Loki 3 default | block and flag | what it guards here |",
        "|---|---|---|---|---|",
    ]
    for key, (default, source, why) in LOKI_LIMITS.items():
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = "(default)" if node is None else f"`{node}`"
        lines.append(f"| `{key}` | {value} | `{default}` | {source} | {why} |")
    lines += ["", LOKI_END]
    return "\n".join(lines)


def replace_section(text: str, begin: str, end: str, section: str) -> str:
    if begin not in text or end not in text:
        raise SystemExit(f"error: {DOC} has no generated section. Fix: add the two lines\n{begin}\n{end}")
    head, rest = text.split(begin, 1)
    return head + section + rest.split(end, 1)[1]


def results_of(
    version: str, settings: RoleSettings, mem: MemoryResult, comp: CompactionResult, disk: DiskResult
) -> dict[str, Any]:
    return {
        "prometheus": version,
        "settings": asdict(settings),
        "memory": asdict(mem),
        "compaction": asdict(comp),
        "disk": {**asdict(disk), "bytes_per_sample": disk.bytes_per_sample},
    }


def from_results(write: bool) -> int:
    """The section and plots of the run recorded in docs/capacity/results.json (nothing measured again)."""
    raw = json.loads((DOC_DIR / "results.json").read_text(encoding="utf-8"))
    settings = RoleSettings(**raw["settings"])
    mem = MemoryResult(**{**raw["memory"], "points": [MemoryPoint(**p) for p in raw["memory"]["points"]]})
    comp = CompactionResult(**raw["compaction"])
    disk_raw = {k: v for k, v in raw["disk"].items() if k != "bytes_per_sample"}
    disk = DiskResult(**{**disk_raw, "per_day": [tuple(x) for x in disk_raw["per_day"]]})
    section = render_section(settings, raw["prometheus"], mem, comp, disk)
    print(section)
    if write:
        write_docs(section, plots(settings, mem, disk), results_of(raw["prometheus"], settings, mem, comp, disk))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--steps", default="10000,25000,50000,75000,100000,125000,150000,175000,200000,250000,300000")
    ap.add_argument("--interval", type=float, default=5.0, help="scrape interval of the memory phase (s)")
    ap.add_argument("--hold", type=int, default=3, help="scrape intervals to wait once a step is ingested")
    ap.add_argument("--compaction-series", type=int, default=50000)
    ap.add_argument("--compactions", type=int, default=2)
    ap.add_argument("--disk-series", type=int, default=100)
    ap.add_argument("--disk-days", type=int, default=4)
    ap.add_argument("--write-docs", action="store_true", help="write docs/capacity.md's measured section and plots")
    ap.add_argument("--loki-only", action="store_true", help="only the Loki limits table (no benchmark)")
    ap.add_argument(
        "--from-results", action="store_true", help="re-render the section and plots from docs/capacity/results.json"
    )
    args = ap.parse_args()
    if args.loki_only:
        section = render_loki_section()
        print(section)
        if args.write_docs:
            DOC.write_text(
                replace_section(DOC.read_text(encoding="utf-8"), LOKI_BEGIN, LOKI_END, section), encoding="utf-8"
            )
        return 0
    if args.from_results:
        return from_results(args.write_docs)
    settings = role_settings()
    version = version_of(pinned_program("prometheus"))
    steps = sorted({int(s) // SERIES_PER_TARGET * SERIES_PER_TARGET for s in args.steps.split(",")})
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        root = Path(tmp)
        for sub in ("memory", "compaction", "disk"):
            (root / sub).mkdir()
        mem = memory_phase(root / "memory", settings, steps, args.interval, args.hold)
        if len(mem.points) < 2:
            raise SystemExit(f"error: fewer than two memory steps held ({mem.broke_how}); use smaller --steps")
        comp = compaction_phase(root / "compaction", settings, args.compaction_series, mem.limited, args.compactions)
        disk = disk_phase(root / "disk", settings, args.disk_series, args.disk_days)
    section = render_section(settings, version, mem, comp, disk)
    print(section)
    print(f"[bench] whole run {time.monotonic() - began:.0f} s", file=sys.stderr)
    if args.write_docs:
        write_docs(section, plots(settings, mem, disk), results_of(version, settings, mem, comp, disk))
    return 0


if __name__ == "__main__":
    sys.exit(main())
