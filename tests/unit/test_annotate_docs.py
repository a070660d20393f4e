"""The GitHub Actions snippet in docs/annotations.md is valid YAML and calls the real CLI correctly."""

from __future__ import annotations

import re
import shlex
from typing import Any

import yaml

from obsctl.cli import build_parser
from tests.support import REPO

DOC = REPO / "docs" / "annotations.md"


def _yaml_blocks() -> list[Any]:
    text = DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)]


def test_snippets_are_yaml_workflows() -> None:
    reusable, caller = _yaml_blocks()
    assert "workflow_call" in reusable[True]  # YAML 1.1 reads the key `on` as True
    assert caller["jobs"]["annotate"]["needs"] == "deploy"
    assert set(caller["jobs"]["annotate"]["with"]) <= set(reusable[True]["workflow_call"]["inputs"])


def test_reusable_workflow_runs_the_real_cli_with_the_token_in_the_environment() -> None:
    reusable, _ = _yaml_blocks()
    step = next(s for s in reusable["jobs"]["annotate"]["steps"] if "obsctl annotate" in s.get("run", ""))
    assert step["env"]["GRAFANA_TOKEN"] == "${{ secrets.GRAFANA_TOKEN }}"
    run = step["run"].replace("${{ inputs.duration }}", "120")
    argv = shlex.split(re.sub(r"\$\{\{[^}]*\}\}", "x", run))
    assert argv[0] == "obsctl"
    assert "--token" not in argv and "GRAFANA_TOKEN" not in step["run"]
    args = build_parser().parse_args([*argv[1:], "--grafana-url", "http://127.0.0.1:3000"])
    assert args.command == "annotate" and args.service == "x" and args.duration == 120
