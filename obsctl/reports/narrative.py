"""The optional AI narrative: the analyzer's providers and budget, and a check that no number is invented.

The input is the report's own text (the KPI table and the deterministic findings, formatted by
:func:`obsctl.reports.build.fmt`). The narrative is accepted only if every number in it appears in
that input; otherwise, or when the provider fails, answers out of shape, or the budget refuses the
call, the report goes out without it and says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from obsctl.analyzer.llm import Budget, Configured
from obsctl.clients.http import ClientError

SYSTEM_PROMPT = (
    "You write the short narrative of an operations health report for the on-call team. Use only the"
    " figures given; do not compute new ones (no sums, differences or percentages of your own)."
    " Cover: overall state, what to watch, what to check first today, action items. Answer with JSON:"
    ' {"narrative": "<at most 120 words>"}'
)
# A number: optional sign, digits with optional decimals (thousands separators are not used in the input).
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?")


def numbers(text: str) -> set[float]:
    return {abs(float(m)) for m in _NUMBER.findall(text)}


def invented(narrative: str, source: str) -> set[float]:
    """Numbers of the narrative that the source does not contain (compared as values: 5 == 5.0)."""
    return numbers(narrative) - numbers(source)


@dataclass
class Result:
    text: str  # empty when rejected
    note: str  # why there is no narrative, or which provider wrote it


def narrate(source: str, providers: Sequence[Configured], budget: Budget | None) -> Result:
    if not providers:
        return Result("", "no AI provider configured")
    user = f"Report:\n{source}"
    estimated_in = (len(SYSTEM_PROMPT) + len(user)) // 4 + 1
    notes = []
    for configured in providers:
        client = configured.client
        if budget is not None:
            refusal = budget.refusal(configured.price.cost(estimated_in, client.max_tokens))
            if refusal:
                return Result("", f"AI narrative skipped: over budget ({refusal})")
        ok, input_tokens, output_tokens = False, 0, 0
        try:
            completion = client.complete(SYSTEM_PROMPT, user)
            input_tokens, output_tokens = completion.input_tokens, completion.output_tokens
            text = _narrative_of(completion.text)
            extra = invented(text, source)
            if extra:
                shown = ", ".join(f"{x:g}" for x in sorted(extra))
                notes.append(f"{client.provider}: rejected, numbers not in the report: {shown}")
            else:
                ok = True
        except (ClientError, ValueError) as exc:
            notes.append(f"{client.provider}: {str(exc)[:200]}")
        if budget is not None:
            budget.ledger.record(
                client.provider,
                client.model,
                ok=ok,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=configured.price.cost(input_tokens, output_tokens),
            )
        if ok:
            return Result(text, f"AI narrative by {client.provider} ({client.model})")
    return Result("", "AI narrative left out: " + "; ".join(notes))


def _narrative_of(answer: str) -> str:
    try:
        data = json.loads(answer)
    except json.JSONDecodeError:
        raise ValueError("the answer is not JSON") from None
    text = data.get("narrative") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise ValueError('the answer has no "narrative" string')
    return text.strip()
