"""Checkers for configuration files, one module per kind (``obsctl validate <kind> <file>``).

Each module's name is the kind. It exposes ``check(path: Path) -> list[str]`` returning the
problems found (empty = valid), and its docstring's first line is the kind's help text.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import yaml

from obsctl.errors import ObsError

Checker = Callable[[Path], list[str]]


def kinds() -> dict[str, ModuleType]:
    """Every validator module in this package, keyed by kind."""
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if callable(getattr(module, "check", None)):
            found[info.name] = module
    return found


def summary(module: ModuleType) -> str:
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else module.__name__.rsplit(".", 1)[-1]


def checker(kind: str) -> Checker:
    available = kinds()
    if kind not in available:
        raise ObsError(f"no validator for '{kind}'", fix=f"choose one of: {', '.join(available)}")
    return cast("Checker", available[kind].check)


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML file that must be a mapping; raise ObsError naming the file otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ObsError(f"{path} does not exist", fix="pass the path of the rendered file") from None
    except IsADirectoryError:
        raise ObsError(f"{path} is a directory", fix="pass the path of the rendered file itself") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ObsError(f"cannot read {path}: {exc}", fix="pass a readable UTF-8 text file") from None
    except yaml.YAMLError as exc:
        raise ObsError(f"{path} is not valid YAML: {exc}", fix="fix the YAML syntax at the line named") from None
    except RecursionError:
        raise ObsError(f"{path} nests too deeply to be a configuration file", fix="check the file") from None
    if not isinstance(data, dict):
        raise ObsError(
            f"{path} is not a YAML mapping (its top level is {type(data).__name__})",
            fix="the file must start with `key: value` lines",
        )
    return data
