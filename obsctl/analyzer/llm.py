"""From an evidence pack to a validated analysis: provider chain, schema check, budget.

The chain tries each configured provider in order: one call, one retry on a failure (transport
error, timeout, HTTP error, an answer that is not the schema, or that cites evidence the pack does
not hold), then the next provider, then the deterministic summary. Before every call the budget
(calls and estimated cost per hour and per day, from the ledger in the incident log, so a restart
does not reset it) must allow it; over budget means the deterministic summary with a note.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from obsctl.analyzer.evidence import EvidencePack, deterministic_summary
from obsctl.clients.http import ClientError
from obsctl.clients.llm import Completion
from obsctl.incidents.store import LlmLedger

HOUR = 3600.0
DAY = 86400.0


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)
    evidence: list[str] = Field(min_length=1, max_length=20)


class Analysis(BaseModel):
    """What an LLM must answer (JSON): every claim names the evidence ids it rests on."""

    model_config = ConfigDict(extra="forbid")
    summary: str = Field(min_length=1, max_length=2000)
    probable_cause: Claim
    impact: Claim
    actions: list[Claim] = Field(default_factory=list, max_length=10)
    confidence: Literal["low", "medium", "high"]

    def cited(self) -> set[str]:
        claims = [self.probable_cause, self.impact, *self.actions]
        return {ref for claim in claims for ref in claim.evidence}


class AnswerRejected(ValueError):
    """An answer that breaks the schema or cites unknown evidence."""


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def validate_answer(text: str, pack: EvidencePack) -> Analysis:
    """Parse an LLM's text as :class:`Analysis`; reject unknown evidence ids, naming them."""
    fenced = _FENCE.match(text)
    raw = fenced.group(1) if fenced else text
    try:
        analysis = Analysis.model_validate_json(raw)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(answer)'}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise AnswerRejected(f"the answer breaks the schema: {fields}") from None
    unknown = sorted(analysis.cited() - pack.ids)
    if unknown:
        raise AnswerRejected(f"the answer cites evidence the pack does not hold: {', '.join(unknown)}")
    return analysis


SYSTEM_PROMPT = """You are an SRE assistant analysing one production alert.
Use ONLY the evidence listed by the user; every claim must cite the ids (like M1, L2, D1, A1) it rests on.
Answer with one JSON object and nothing else, exactly these keys:
{"summary": str, "probable_cause": {"text": str, "evidence": [id, ...]},
 "impact": {"text": str, "evidence": [id, ...]},
 "actions": [{"text": str, "evidence": [id, ...]}, ...],
 "confidence": "low" | "medium" | "high"}
If the evidence does not show a cause, say so with confidence "low"."""


def user_prompt(alert_title: str, pack: EvidencePack) -> str:
    return f"Alert: {alert_title}\n\nEvidence:\n{pack.to_prompt()}"


class Provider(Protocol):
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def max_tokens(self) -> int: ...

    def complete(self, system: str, user: str) -> Completion: ...


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens (an estimate from configuration, not a bill)."""

    input_per_mtok: float
    output_per_mtok: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000


@dataclass(frozen=True)
class BudgetCaps:
    calls_per_hour: int = 20
    calls_per_day: int = 100
    usd_per_hour: float = 1.0
    usd_per_day: float = 5.0


class Budget:
    def __init__(self, ledger: LlmLedger, caps: BudgetCaps, *, clock: Callable[[], float] = time.time) -> None:
        self.ledger = ledger
        self.caps = caps
        self.clock = clock

    def refusal(self, estimated_usd: float) -> str | None:
        """None when one more call of ``estimated_usd`` fits every cap; else which cap it breaks."""
        now = self.clock()
        hour, day = self.ledger.since(now - HOUR), self.ledger.since(now - DAY)
        if hour.calls + 1 > self.caps.calls_per_hour:
            return f"hourly cap of {self.caps.calls_per_hour} LLM calls reached"
        if day.calls + 1 > self.caps.calls_per_day:
            return f"daily cap of {self.caps.calls_per_day} LLM calls reached"
        if hour.cost_usd + estimated_usd > self.caps.usd_per_hour:
            return f"hourly cost cap of ${self.caps.usd_per_hour:g} reached (${hour.cost_usd:.4f} spent)"
        if day.cost_usd + estimated_usd > self.caps.usd_per_day:
            return f"daily cost cap of ${self.caps.usd_per_day:g} reached (${day.cost_usd:.4f} spent)"
        return None


@dataclass
class Attempt:
    provider: str
    model: str
    ok: bool
    seconds: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    error: str = ""


@dataclass
class Outcome:
    """``outcome``: ``llm`` (a provider's validated answer) or ``deterministic`` (with ``note``)."""

    analysis: dict[str, Any]
    outcome: Literal["llm", "deterministic"]
    provider: str = ""
    model: str = ""
    cost_usd: float = 0.0
    note: str = ""
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Configured:
    client: Provider
    price: Price


Observer = Callable[[Attempt], None]


class AnalysisChain:
    ATTEMPTS_PER_PROVIDER = 2  # one call and one retry

    def __init__(
        self,
        providers: Sequence[Configured],
        budget: Budget,
        *,
        observe: Observer | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.providers = list(providers)
        self.budget = budget
        self.observe = observe
        self.clock = clock

    def analyse(self, alert_title: str, pack: EvidencePack, *, incident_id: int | None = None) -> Outcome:
        attempts: list[Attempt] = []
        if not self.providers:
            return self._fallback(pack, "no LLM provider configured", attempts)
        user = user_prompt(alert_title, pack)
        estimated_in = (len(SYSTEM_PROMPT) + len(user)) // 4 + 1  # ~4 characters per token
        spent = 0.0
        for configured in self.providers:
            client = configured.client
            for _ in range(self.ATTEMPTS_PER_PROVIDER):
                refusal = self.budget.refusal(configured.price.cost(estimated_in, client.max_tokens))
                if refusal:
                    return self._fallback(pack, f"over budget: {refusal}", attempts, spent)
                started = self.clock()
                attempt = Attempt(client.provider, client.model, ok=False, seconds=0.0)
                try:
                    completion = client.complete(SYSTEM_PROMPT, user)
                    attempt.input_tokens, attempt.output_tokens = completion.input_tokens, completion.output_tokens
                    attempt.cost_usd = configured.price.cost(completion.input_tokens, completion.output_tokens)
                    analysis = validate_answer(completion.text, pack)
                    attempt.ok = True
                except (ClientError, AnswerRejected) as exc:
                    attempt.error = str(exc)[:500]
                    analysis = None
                attempt.seconds = self.clock() - started
                spent += attempt.cost_usd
                attempts.append(attempt)
                self.budget.ledger.record(
                    client.provider,
                    client.model,
                    ok=attempt.ok,
                    input_tokens=attempt.input_tokens,
                    output_tokens=attempt.output_tokens,
                    cost_usd=attempt.cost_usd,
                    incident_id=incident_id,
                )
                if self.observe is not None:
                    self.observe(attempt)
                if analysis is not None:
                    return Outcome(
                        analysis.model_dump(), "llm", client.provider, client.model, spent, attempts=attempts
                    )
        errors = "; ".join(f"{a.provider}: {a.error}" for a in attempts)
        return self._fallback(pack, f"every provider failed ({errors})", attempts, spent)

    @staticmethod
    def _fallback(pack: EvidencePack, note: str, attempts: list[Attempt], spent: float = 0.0) -> Outcome:
        return Outcome(deterministic_summary(pack), "deterministic", cost_usd=spent, note=note, attempts=attempts)
