"""One small client for the OpenAI-compatible chat API that `vllm serve` provides.

Constrained output uses only the current vLLM forms (DESIGN.md §9): `response_format` with a
JSON schema, or `extra_body={"structured_outputs": {"choice": [...]}}`. The legacy `guided_*`
fields were removed in vLLM 0.12 and are silently ignored (HTTP 200, unconstrained): they are
never sent, and a test inspects the wire to prove it.

Failure policy: the SDK retries transport errors, 5xx and 429 (`retries`, its own backoff);
an answer that does not parse against its schema is asked for once more; anything still
failing raises `LlmUnavailable`, which the back-ends turn into their configured fallback —
except a request the server refuses as such (400/413/422) or answers malformed twice:
`LlmRejected`, where waiting cannot help.

One client per `[llm]` settings object (`shared_client`): the LLM classifier and the LLM
explainer of one scorer share its event loop, its HTTP pool and its concurrency gate, so
`max_concurrency` bounds the scorer's requests, not each back-end's. Its owner closes it on
the way out (`close_shared`): the scoring worker process as it exits, the CLI after scoring.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from scoring.config import LlmSettings
from scoring.errors import LlmRejected, LlmUnavailable

# The request itself is refused (bad request, too large, unprocessable): not a passing outage.
REJECTED = (400, 413, 422)
R = TypeVar("R")


@dataclass
class Usage:
    """Tokens and calls of one client, i.e. of every back-end sharing it (the token-cost
    figures of bench/llm_tokens.py)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    per_call_ms: list[float] = field(default_factory=list)


class LlmClient:
    def __init__(self, settings: LlmSettings) -> None:
        if not settings.base_url or not settings.model:
            raise ValueError("an LLM back-end needs [llm] base_url and model")
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: asyncio.Runner | None = None
        self._client: Any = None
        self._semaphore: asyncio.Semaphore | None = None
        self.usage = Usage()
        self.closed = False

    def run(self, work: Coroutine[Any, Any, R]) -> R:
        """The one bridge from synchronous callers (the scorer, hence the worker and the CLI)
        to this client's coroutines, and the only event loop in scoring: a private loop that
        lives as long as the client, so the HTTP pool and the concurrency gate are made once
        and serve batch after batch. A batch's requests are gathered on it, so vLLM sees
        them together and batches them."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(work)

    def _bind(self) -> tuple[Any, asyncio.Semaphore]:
        """The SDK client and the concurrency gate of the running event loop.

        Both belong to the loop that first uses them (httpx's pool, asyncio primitives); a
        coroutine awaited on another loop (a test's `asyncio.run`) gets its own.
        """
        from openai import AsyncOpenAI

        loop = asyncio.get_running_loop()
        if loop is not self._loop or self._client is None or self._semaphore is None:
            self._loop = loop
            self._client = AsyncOpenAI(
                base_url=self.settings.base_url, api_key=self.settings.key(),
                timeout=self.settings.timeout_s, max_retries=self.settings.retries)
            self._semaphore = asyncio.Semaphore(self.settings.max_concurrency)
        return self._client, self._semaphore

    async def choice(self, messages: list[dict[str, str]], options: list[str]) -> str:
        """One word from `options`, constrained by vLLM's structured outputs."""
        answer = await self._ask(messages, extra_body={"structured_outputs": {"choice": options}},
                                 parse=lambda text: _one_of(text, options), max_tokens=8)
        return str(answer)

    async def json(self, messages: list[dict[str, str]], name: str,
                   schema: dict[str, Any]) -> Any:
        """An object that validates against the (fully bounded) `schema`."""
        response_format = {"type": "json_schema",
                           "json_schema": {"name": name, "schema": schema, "strict": True}}
        return await self._ask(messages, response_format=response_format,
                               parse=lambda text: _validated(text, schema),
                               max_tokens=self.settings.max_tokens)

    async def text(self, messages: list[dict[str, str]], max_tokens: int = 400) -> str:
        answer = await self._ask(messages, parse=lambda text: text.strip() or _bad("empty"),
                                 max_tokens=max_tokens)
        return str(answer)

    async def _ask(self, messages: list[dict[str, str]], *, parse: Any, max_tokens: int,
                   **constraint: Any) -> Any:
        from openai import APIError, APIStatusError

        last = "no answer"
        client, gate = self._bind()
        for attempt in range(2):  # a malformed answer is retried once
            try:
                async with gate:
                    response = await client.chat.completions.create(
                        model=self.settings.model, messages=messages,  # type: ignore[arg-type]
                        temperature=0, max_tokens=max_tokens, **constraint)
            except APIStatusError as exc:
                if exc.status_code in REJECTED:
                    raise LlmRejected(f"HTTP {exc.status_code}") from exc
                raise LlmUnavailable(type(exc).__name__) from exc
            except APIError as exc:  # includes timeouts and connection errors, after retries
                raise LlmUnavailable(type(exc).__name__) from exc
            self.usage.calls += 1
            if response.usage is not None:
                self.usage.prompt_tokens += response.usage.prompt_tokens
                self.usage.completion_tokens += response.usage.completion_tokens
            content = response.choices[0].message.content if response.choices else None
            try:
                return parse(content or "")
            except ValueError as exc:
                last = str(exc)
                self.usage.retries += attempt == 0
        raise LlmRejected(f"malformed answer twice ({last})")

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def shutdown(self) -> None:
        """Close the HTTP pool and the private loop; the client can no longer be used.
        Idempotent. A pool bound to another loop (a test's `asyncio.run`) was that loop's
        and is left to it."""
        if self._runner is not None:
            if self._client is not None and self._loop is self._runner.get_loop():
                with contextlib.suppress(Exception):  # closing: an error has no one to tell
                    self._runner.run(self._client.close())
            self._runner.close()
        self._runner = None
        self._client = None
        self._semaphore = None
        self.closed = True


# Live shared clients by the id of their settings object. The client holds its settings, so
# while it lives the id cannot be reused; when every back-end using it is gone, so is it.
_SHARED: weakref.WeakValueDictionary[int, LlmClient] = weakref.WeakValueDictionary()


def shared_client(settings: LlmSettings) -> LlmClient:
    """The one client of `settings` (the scorer hands the same `[llm]` object to each of its
    back-ends), made on first use; a closed one is replaced."""
    client = _SHARED.get(id(settings))
    if client is None or client.settings is not settings or client.closed:
        client = LlmClient(settings)
        _SHARED[id(settings)] = client
    return client


def close_shared() -> int:
    """Close every live shared client (at shutdown); returns how many were open."""
    clients = [c for c in list(_SHARED.values()) if not c.closed]
    for client in clients:
        client.shutdown()
    return len(clients)


def _bad(why: str) -> Any:
    raise ValueError(why)


def _one_of(text: str, options: list[str]) -> str:
    word = text.strip().strip('."\'').lower()
    if word not in options:
        raise ValueError(f"{word[:20]!r} is not one of {options}")
    return word


def _validated(text: str, schema: dict[str, Any]) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    _check(value, schema, "$")
    return value


def _check(value: Any, schema: dict[str, Any], where: str) -> None:
    """The subset of JSON Schema our bounded schemas use: object, array, enum, boolean,
    string with maxLength. Enough to refuse anything the constraint should have prevented."""
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"{where}: {value!r} not in enum")
    if kind == "object":
        if not isinstance(value, dict) or set(value) - set(schema.get("properties", {})):
            raise ValueError(f"{where}: not the expected object")
        for key in schema.get("required", []):
            if key not in value:
                raise ValueError(f"{where}.{key} missing")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(value[key], sub, f"{where}.{key}")
    elif kind == "array":
        if not isinstance(value, list):
            raise ValueError(f"{where}: not an array")
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            raise ValueError(f"{where}: {len(value)} items")
        for n, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{n}]")
    elif kind == "boolean" and not isinstance(value, bool):
        raise ValueError(f"{where}: not a boolean")
    elif kind == "string":
        if not isinstance(value, str) or len(value) > schema.get("maxLength", 10**9):
            raise ValueError(f"{where}: not a bounded string")
    elif kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{where}: not an integer")
