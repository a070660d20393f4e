"""Where things live in the repository, found from the package location or the CWD."""

from __future__ import annotations

import os
from pathlib import Path

from obsctl.errors import ObsError

_MARKERS = ("ansible.cfg", "roles", "terraform")


def repo_root(start: Path | None = None) -> Path:
    """Return the repository root (the directory holding ansible.cfg, roles/ and terraform/).

    ``OBS_REPO_ROOT`` wins, then the package's own checkout, then the current directory upwards.
    """
    env = os.environ.get("OBS_REPO_ROOT")
    if env:
        return Path(env).resolve()
    candidates = [Path(__file__).resolve().parent.parent]
    here = (start or Path.cwd()).resolve()
    candidates.extend([here, *here.parents])
    for cand in candidates:
        if all((cand / m).exists() for m in _MARKERS):
            return cand
    raise ObsError(
        "cannot find the repository root (a directory with ansible.cfg, roles/ and terraform/)",
        fix="run obsctl from inside the cloned repository, or set OBS_REPO_ROOT=/path/to/repo",
    )


def state_dir() -> Path:
    """Per-checkout scratch space for the lab and caches (git-ignored)."""
    path = repo_root() / ".obs"
    path.mkdir(exist_ok=True)
    return path
