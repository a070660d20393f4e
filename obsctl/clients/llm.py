"""LLM providers over their HTTP APIs (Anthropic, OpenAI, Gemini), on the clients layer's base.

Why HTTP rather than the vendors' SDKs: docs/decisions/0006-analyzer-llm-over-http.md. Each
provider turns (system prompt, user prompt) into one request and its answer into a
:class:`Completion` (text and token counts). Shapes, from each vendor's API reference:

- Anthropic ``POST /v1/messages`` (headers ``x-api-key``, ``anthropic-version``), body ``{model,
  max_tokens, system, messages: [{role: user, content}]}``; answer ``{content: [{type: text, text}],
  usage: {input_tokens, output_tokens}}``.
- OpenAI ``POST /v1/chat/completions`` (``Authorization: Bearer``), body ``{model, max_completion_tokens,
  messages: [{role: system|user, content}], response_format: {type: json_object}}``; answer
  ``{choices: [{message: {content}}], usage: {prompt_tokens, completion_tokens}}``.
- Gemini ``POST /v1beta/models/{model}:generateContent`` (``x-goog-api-key``), body ``{systemInstruction:
  {parts: [{text}]}, contents: [{role: user, parts: [{text}]}], generationConfig: {maxOutputTokens,
  responseMimeType: application/json}}``; answer ``{candidates: [{content: {parts: [{text}]}}],
  usageMetadata: {promptTokenCount, candidatesTokenCount}}``.

The base client makes one attempt (``retries=0``): the analyzer's chain owns the one retry and the
fallback to the next provider, so a failure is never retried twice over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import httpx

from obsctl.clients.http import ClientError, HttpClient

ProviderName = Literal["anthropic", "openai", "gemini"]
PROVIDERS: tuple[ProviderName, ...] = ("anthropic", "openai", "gemini")
DEFAULT_URLS: dict[ProviderName, str] = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com",
    "gemini": "https://generativelanguage.googleapis.com",
}
ANTHROPIC_VERSION = "2023-06-01"
_SERVER: dict[ProviderName, str] = {"anthropic": "Anthropic API", "openai": "OpenAI API", "gemini": "Gemini API"}


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int


def _int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


class LlmClient:
    """One provider, one model, one key. ``base_url`` points at a test double in tests and drills."""

    def __init__(
        self,
        provider: ProviderName,
        model: str,
        api_key: str,
        *,
        base_url: str = "",
        timeout: float = 30.0,
        max_tokens: int = 1024,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.max_tokens = max_tokens
        self.server = _SERVER[provider]
        headers: dict[str, str] = {"Content-Type": "application/json"}
        if provider == "anthropic":
            headers |= {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
        elif provider == "openai":
            headers |= {"Authorization": f"Bearer {api_key}"}
        else:
            headers |= {"x-goog-api-key": api_key}
        self.http = HttpClient(
            self.server,
            base_url or DEFAULT_URLS[provider],
            headers=headers,
            timeout=timeout,
            retries=0,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def request_of(self, system: str, user: str) -> tuple[str, dict[str, Any]]:
        """The path and JSON body of one completion request."""
        if self.provider == "anthropic":
            return "/v1/messages", {
                "model": self.model,
                "max_tokens": self.max_tokens,
                "system": system,
                "messages": [{"role": "user", "content": user}],
            }
        if self.provider == "openai":
            # max_completion_tokens: the reasoning models refuse the older max_tokens; all accept this.
            return "/v1/chat/completions", {
                "model": self.model,
                "max_completion_tokens": self.max_tokens,
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                "response_format": {"type": "json_object"},
            }
        return f"/v1beta/models/{self.model}:generateContent", {
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": [{"role": "user", "parts": [{"text": user}]}],
            "generationConfig": {"maxOutputTokens": self.max_tokens, "responseMimeType": "application/json"},
        }

    def complete(self, system: str, user: str) -> Completion:
        path, body = self.request_of(system, user)
        answer = self.http.post_json(path, body)
        try:
            return self._parse(answer)
        except (KeyError, IndexError, TypeError) as exc:
            raise ClientError(
                self.server,
                self.http.url_of(path),
                f"answered in an unexpected shape ({exc.__class__.__name__}: {exc}): {str(answer)[:200]}",
                fix=f"check that the URL is the {self.server}'s root and the model name '{self.model}'",
            ) from None

    def _parse(self, answer: Any) -> Completion:  # noqa: ANN401 - decoded JSON
        if self.provider == "anthropic":
            text = "".join(part["text"] for part in answer["content"] if part.get("type") == "text")
            usage = answer.get("usage") or {}
            return Completion(text, _int(usage.get("input_tokens")), _int(usage.get("output_tokens")))
        if self.provider == "openai":
            text = answer["choices"][0]["message"]["content"] or ""
            usage = answer.get("usage") or {}
            return Completion(text, _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
        parts = answer["candidates"][0]["content"]["parts"]
        text = "".join(str(part.get("text", "")) for part in parts)
        usage = answer.get("usageMetadata") or {}
        return Completion(text, _int(usage.get("promptTokenCount")), _int(usage.get("candidatesTokenCount")))
