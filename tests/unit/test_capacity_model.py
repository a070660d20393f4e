"""The arithmetic of benchmarks/bench_capacity.py (benchmarks/capacity_model.py) and its load
generator's shape (benchmarks/loadgen_series.py): no Prometheus, no timing."""

from __future__ import annotations

import math
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import capacity_model as model  # noqa: E402 - benchmarks/ is not a package
import loadgen_series as loadgen  # noqa: E402


def test_linear_fit_recovers_a_line_and_its_crossing() -> None:
    xs = [10_000.0, 25_000.0, 50_000.0, 100_000.0]
    ys = [3072.0 * x + 60e6 for x in xs]
    fit = model.linear_fit(xs, ys)
    assert fit.slope == pytest.approx(3072.0)
    assert fit.intercept == pytest.approx(60e6)
    assert fit.r2 == pytest.approx(1.0)
    limit = 448 * 2**20
    assert fit.crossing(limit) == pytest.approx((limit - 60e6) / 3072.0)
    assert fit.at(fit.crossing(limit)) == pytest.approx(limit)


def test_linear_fit_of_noisy_points_is_least_squares() -> None:
    fit = model.linear_fit([0, 1, 2, 3], [1, 3, 2, 4])
    # Closed form for these four points: slope 0.8, intercept 1.3, R² 0.64.
    assert (fit.slope, fit.intercept, fit.r2) == pytest.approx((0.8, 1.3, 0.64))


def test_linear_fit_refuses_what_has_no_line() -> None:
    with pytest.raises(ValueError, match="two or more"):
        model.linear_fit([1.0], [2.0])
    with pytest.raises(ValueError, match="distinct x"):
        model.linear_fit([5.0, 5.0], [1.0, 2.0])


def test_a_flat_line_never_reaches_a_limit() -> None:
    assert model.linear_fit([1, 2, 3], [5, 5, 5]).crossing(10) == math.inf


def test_data_volume_adds_blocks_compaction_and_the_head() -> None:
    vol = model.data_volume(
        series=1000,
        interval_s=15,
        block_bytes_per_sample=1.5,
        wal_bytes_per_sample=4.0,
        retention_days=30,
        retention_size_bytes=0,
    )
    per_day = 1000 * 86400 / 15 * 1.5  # 8.64 MB of blocks a day
    assert vol.blocks == pytest.approx(per_day * 33)  # 30 days + the largest block (10% of 30 d) not yet expired
    assert vol.compaction == pytest.approx(per_day * 3)  # a compaction into that largest block, before deletion
    assert vol.head == pytest.approx(1000 * 86400 / 15 * 3 / 24 * (4.0 + 1.5))  # 3 h of WAL and head chunks
    assert vol.total == pytest.approx(vol.blocks + vol.compaction + vol.head)
    assert vol.retention_size_cut_days == math.inf


def test_the_largest_block_is_capped_at_31_days() -> None:
    assert model.largest_block_days(30) == pytest.approx(3)
    assert model.largest_block_days(3650) == 31


def test_retention_size_cuts_the_days_kept_when_it_binds_first() -> None:
    kwargs = {"interval_s": 15.0, "block_bytes_per_sample": 1.5, "wal_bytes_per_sample": 4.0, "retention_days": 30.0}
    small = model.data_volume(series=1000, retention_size_bytes=8 * 2**30, **kwargs)
    assert small.retention_size_cut_days == math.inf  # 8.6 MB a day: 8 GiB holds far more than 33 days
    big = model.data_volume(series=100_000, retention_size_bytes=8 * 2**30, **kwargs)
    per_day = 100_000 * 86400 / 15 * 1.5
    assert big.retention_size_cut_days == pytest.approx((8 * 2**30 - big.head) / per_day)
    assert big.retention_size_cut_days < 30


def test_fmt_bytes_uses_binary_units() -> None:
    assert model.fmt_bytes(512) == "512 B"
    assert model.fmt_bytes(3 * 2**20) == "3.0 MiB"
    assert model.fmt_bytes(1.5 * 2**30) == "1.5 GiB"


def test_svg_plot_draws_every_line_and_is_byte_stable() -> None:
    lines = [model.Line("VmRSS", [10, 25, 50], [90, 130, 200]), model.Line("heap", [10, 25, 50], [40, 70, 120], "s--")]
    kwargs = {"title": "RSS against series", "xlabel": "series (thousands)", "ylabel": "MiB"}
    svg = model.svg_plot(lines, hlines=[(448, "limit 448 MiB")], vlines=[(60, "broke")], **kwargs)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag.endswith("svg")
    for text in ("VmRSS", "heap", "limit 448 MiB", "broke", "RSS against series", "series (thousands)"):
        assert text in svg, f"{text!r} missing from the plot"
    # Regenerating the docs does not churn them: same input, same bytes (no date, fixed ids).
    assert svg == model.svg_plot(lines, hlines=[(448, "limit 448 MiB")], vlines=[(60, "broke")], **kwargs)
    assert "<dc:date>" not in svg
    # A different curve is a different picture.
    moved = [model.Line("VmRSS", [10, 25, 50], [90, 130, 300])]
    assert model.svg_plot(moved, **kwargs) != model.svg_plot(lines[:1], **kwargs)


def test_load_generator_targets_have_the_asked_size_and_distinct_series() -> None:
    for size in (50, 1000, 2500):
        series = loadgen.target_series(3, size)
        prefixes = loadgen.prefixes_of(series)
        assert len(series) == size
        assert len(set(prefixes)) == size, "a target exposes each series once"
    names = {s.name for s in loadgen.target_series(0, 1000)}
    assert {"http_server_requests_seconds_bucket", "jvm_memory_used_bytes", "node_cpu_seconds_total"} <= names


def test_load_generator_counters_never_decrease_and_runs_repeat() -> None:
    series = loadgen.target_series(0, 1000)
    a, b = loadgen.TargetValues(series, seed=7), loadgen.TargetValues(series, seed=7)
    first, second = a.advance(), a.advance()
    assert first == b.advance(), "same seed, same values"
    counters = [i for i, s in enumerate(series) if s.kind in (loadgen.COUNTER, loadgen.FLOAT_COUNTER)]
    assert counters
    assert all(second[i] >= first[i] for i in counters)
    constants = [i for i, s in enumerate(series) if s.kind == loadgen.CONSTANT]
    assert constants and all(second[i] == first[i] for i in constants)
    assert any(second[i] != first[i] for i, s in enumerate(series) if s.kind == loadgen.GAUGE)


def test_load_generator_exposition_is_one_line_per_series() -> None:
    series = loadgen.target_series(1, 300)
    values = loadgen.TargetValues(series, seed=1).advance()
    body = loadgen.render(loadgen.prefixes_of(series), values)
    lines = body.splitlines()
    assert len(lines) == 300
    for line, prefix, value in zip(lines, loadgen.prefixes_of(series), values, strict=True):
        exposed, number = line.rsplit(" ", 1)
        assert exposed == prefix and float(number) == value
        assert re.match(r"[a-zA-Z_:][\w:]*(\{|$)", exposed), line


def test_openmetrics_backfill_file_groups_families_and_ends_with_eof(tmp_path: Path) -> None:
    series = loadgen.target_series(0, 1000)[::50]
    path = tmp_path / "samples.om"
    count = loadgen.write_openmetrics(path, series, start=1_700_000_000, seconds=600, interval=15)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert count == len(series) * 40 == len(lines) - 1
    assert lines[-1] == "# EOF"
    names = [line.split("{")[0].split(" ")[0] for line in lines[:-1]]
    seen: list[str] = []
    for name in names:
        if not seen or seen[-1] != name:
            assert name not in seen, f"family {name} interleaved with another"
            seen.append(name)
