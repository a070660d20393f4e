"""Typed parsing of the YAML/JSON files obsctl reads: a pydantic model per file kind.

Each model declares the type of every field a validator's rules read (and only those: other
fields pass through, ``extra="allow"``). ``problems`` turns a wrong-typed input into one line per
field naming its path (``scrape_configs[0].job_name``), what was expected and what was found, so
the rules that follow run only on data of the declared shape and never end in a traceback.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from obsctl.errors import field_path


class Shape(BaseModel):
    """Base of every file model: unknown keys allowed (the rules read a subset), no coercion of
    a number into a string or back."""

    model_config = ConfigDict(extra="allow", strict=True, populate_by_name=True)


def _found(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


# Pydantic names the member of a union it tried (``threshold.int``, ``ports[0]._Port``) in the
# location; those tags are not fields of the user's file, so they are dropped from the path.
_UNION_TAG = re.compile(r"^(int|float|str|bool|date|none|bytes|list\[.*\]|dict\[.*\]|_[A-Z]\w*|\w+File)$")


def describe(exc: ValidationError) -> list[str]:
    """One line per wrong field: ``<field path>: <what was expected> (found <type> <value>)``; the
    alternatives of a union are joined on one line."""
    found: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if not (isinstance(part, str) and _UNION_TAG.match(part))]
        if error["type"] == "missing":
            line = f"{field_path(loc[:-1])}: missing '{loc[-1]}'" if loc else "missing field"
            found.setdefault(line, [])
            continue
        where = field_path(loc)
        message = f"{error['msg'][0].lower()}{error['msg'][1:]}".removeprefix("input should be ")
        found.setdefault(f"{where}:", [])
        if message not in found[f"{where}:"]:
            found[f"{where}:"].append(message)
        found.setdefault(f"{where}:#input", [_found(error["input"])])
    lines = []
    for key, messages in found.items():
        if key.endswith(":#input"):
            continue
        if not messages:
            lines.append(key)
            continue
        lines.append(f"{key} should be {' or '.join(messages)} (found {found[key + '#input'][0]})")
    return lines


def shape_problems(model: type[Shape], data: Any) -> list[str]:  # noqa: ANN401 - any parsed YAML/JSON document
    """The shape problems of ``data`` as ``model`` (empty when it has that shape)."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return describe(exc)
    return []
