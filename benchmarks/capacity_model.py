"""The arithmetic of benchmarks/bench_capacity.py, apart from anything it measures (unit-tested in
tests/unit/test_capacity_model.py): a least-squares line, where it crosses a memory limit, the
Prometheus data volume a retention needs, and the plots (SVG through matplotlib, byte-stable).

Sizing rules, each from the Prometheus storage documentation (docs/storage.md, "Compaction" and
"Operational aspects"; cited in docs/capacity.md):
- blocks are compacted up to 10% of the retention time (or 31 days): a block is deleted only when
  all of it has expired, so up to retention + one largest block of data sits on disk, and a
  compaction into the largest block writes it before deleting its sources (one more such span);
- the WAL (with its checkpoint) and ``chunks_head`` come on top, "peaks every 2 hours": the head
  spans up to 3 h (a 2 h block is cut once it spans 1.5 x 2 h);
- ``--storage.tsdb.retention.size`` counts blocks, WAL and m-mapped chunks; the documentation advises
  a retention size of at most 80-85% of the disk.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

DAY = 86400
WAL_SPAN_HOURS = 3.0
LARGEST_BLOCK_FRACTION = 0.10  # of the retention time
LARGEST_BLOCK_CAP_DAYS = 31.0
RETENTION_SIZE_SHARE = 0.85  # the storage documentation's "at most 80-85%" of the disk


@dataclass(frozen=True)
class Fit:
    slope: float
    intercept: float
    r2: float

    def at(self, x: float) -> float:
        return self.slope * x + self.intercept

    def crossing(self, y: float) -> float:
        """The x where the line reaches ``y`` (inf when it never grows)."""
        return math.inf if self.slope <= 0 else (y - self.intercept) / self.slope


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> Fit:
    """Ordinary least squares of ``ys`` on ``xs`` (at least two distinct x)."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"linear_fit needs two or more (x, y) pairs, got {len(xs)} x and {len(ys)} y")
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("linear_fit needs at least two distinct x values")
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    return Fit(slope, intercept, 1.0 if ss_tot == 0 else 1 - ss_res / ss_tot)


def samples_per_day(series: float, interval_s: float) -> float:
    return series * DAY / interval_s


def largest_block_days(retention_days: float) -> float:
    return min(retention_days * LARGEST_BLOCK_FRACTION, LARGEST_BLOCK_CAP_DAYS)


@dataclass(frozen=True)
class Volume:
    blocks: float  # bytes of blocks kept (retention + the largest block not yet expired)
    compaction: float  # bytes a compaction into the largest block writes before deleting its sources
    head: float  # WAL + checkpoint + chunks_head at their 3 h peak
    total: float
    retention_size_cut_days: float  # days of data --storage.tsdb.retention.size lets stay (inf: no cut)


def data_volume(
    *,
    series: float,
    interval_s: float,
    block_bytes_per_sample: float,
    wal_bytes_per_sample: float,
    retention_days: float,
    retention_size_bytes: float,
) -> Volume:
    """Peak bytes on Prometheus' data volume for ``series`` active series kept ``retention_days``."""
    per_day = samples_per_day(series, interval_s) * block_bytes_per_sample
    largest = largest_block_days(retention_days)
    blocks = per_day * (retention_days + largest)
    compaction = per_day * largest
    head_samples = samples_per_day(series, interval_s) * WAL_SPAN_HOURS / 24
    head = head_samples * (wal_bytes_per_sample + block_bytes_per_sample)
    cut = math.inf
    if retention_size_bytes > 0 and per_day > 0:
        kept = (retention_size_bytes - head) / per_day
        if kept < retention_days + largest:
            cut = max(kept, 0.0)
    return Volume(blocks, compaction, head, blocks + compaction + head, cut)


def fmt_bytes(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


@dataclass(frozen=True)
class Line:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    style: str = "o-"  # matplotlib format string


def svg_plot(
    lines: Sequence[Line],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    hlines: Sequence[tuple[float, str]] = (),
    vlines: Sequence[tuple[float, str]] = (),
) -> str:
    """An SVG of ``lines`` (plus labelled horizontal/vertical guides), identical for identical input."""
    import matplotlib  # noqa: PLC0415 - only the plotting needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    with matplotlib.rc_context({"svg.hashsalt": "obs-platform-capacity", "svg.fonttype": "none"}):
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
        for line in lines:
            ax.plot(list(line.xs), list(line.ys), line.style, label=line.label)
        for (y, label), color in zip(hlines, ("tab:red", "tab:purple", "tab:brown"), strict=False):
            ax.axhline(y, color=color, linestyle="--", linewidth=1, label=label)
        for x, label in vlines:
            ax.axvline(x, color="tab:gray", linestyle=":", linewidth=1, label=label)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper left", fontsize="small")
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    return out.getvalue()
