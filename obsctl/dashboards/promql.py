"""Small, exact PromQL rewrites the dashboards need on top of the shared concepts."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\d+(ms|s|m|h|d|w|y)$")


def with_offset(expr: str, offset: str) -> str:
    """Shift every selector of ``expr`` back by ``offset`` (today vs. the same time yesterday).

    PromQL takes ``offset`` after each selector: after ``]`` of a range selector, after ``}`` of
    an instant one. Quoted strings are copied unchanged, so ``{status=~"5.."}`` stays intact.
    """
    if not _DURATION.match(offset):
        raise ValueError(f"offset {offset!r} is not a PromQL duration such as 1d")
    out: list[str] = []
    i = 0
    while i < len(expr):
        ch = expr[i]
        if ch == '"':
            end = expr.index('"', i + 1)
            while expr[end - 1] == "\\":
                end = expr.index('"', end + 1)
            out.append(expr[i : end + 1])
            i = end + 1
            continue
        out.append(ch)
        if ch == "]" or (ch == "}" and not expr[i + 1 :].lstrip().startswith("[")):
            out.append(f" offset {offset}")
        i += 1
    return "".join(out)
