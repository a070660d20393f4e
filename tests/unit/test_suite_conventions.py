"""The suite's own rules: tiers from the repo-relative path, and a run that ran nothing fails."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.conftest import ONE_GROUP_PER_TEST, split_skips, tier_of, xdist_group_of
from tests.support import REPO


def test_tier_comes_from_the_path_relative_to_the_repository(tmp_path: Path) -> None:
    # A checkout under a folder named `unit` (or `integration`) must not mark every test that tier.
    root = tmp_path / "unit" / "integration" / "checkout"
    assert tier_of(root / "tests" / "contract" / "test_x.py", root) == "contract"
    assert tier_of(root / "tests" / "test_top.py", root) is None
    assert tier_of(tmp_path / "elsewhere" / "tests" / "unit" / "test_x.py", root) is None
    assert tier_of(REPO / "tests" / "integration" / "test_lab.py") == "integration"


def test_only_unreachable_upstream_artifacts_count_as_expected_skips() -> None:
    reasons = Counter(
        {
            "image grafana/loki:3.5.1 is not available on this machine": 2,
            "image grafana/alloy:v1.9.1 is not available on this machine": 1,
            "'promtool' is not installed here": 3,
        }
    )
    unreachable, other = split_skips(reasons)
    assert set(unreachable) == {r for r in reasons if "grafana/" in r}
    assert other == Counter({"'promtool' is not installed here": 3})


def test_a_run_that_collects_no_test_fails() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/test_cli.py", "-k", "no_such"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    assert "deselected" in proc.stdout


def test_xdist_groups_keep_files_together_and_split_the_molecule_scenarios() -> None:
    # A file is one group (its module fixtures are built once) ...
    assert xdist_group_of("tests/contract/test_alloy_config.py::test_a[app-1]") == "tests/contract/test_alloy_config.py"
    assert xdist_group_of("tests/contract/test_alloy_config.py::test_b") == "tests/contract/test_alloy_config.py"
    # ... but every Molecule scenario is a group of its own, so they run side by side.
    a = xdist_group_of("tests/integration/test_molecule.py::test_molecule_scenario[docker:default]")
    b = xdist_group_of("tests/integration/test_molecule.py::test_molecule_scenario[wireguard:default]")
    assert a != b
    assert all(p in ONE_GROUP_PER_TEST for p in ["tests/integration/test_molecule.py"])
    assert (REPO / ONE_GROUP_PER_TEST[0]).is_file(), "ONE_GROUP_PER_TEST names a file that is gone"
