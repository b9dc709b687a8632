"""Fixtures for the LlamaIndex tests: a scripted MockTransport server and its answers.

Cassette settings come from ``tests/conftest.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from llama_index_compactifai import CompactifAI

MODEL = "hypernova-60b"
KEY = "sk-test-li-0123456789"
BASE_URL = "https://api.test.invalid/v1"
# Distinct from anything a tokenizer would estimate, so a test can tell server counts apart.
USAGE = {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290}


def chat_completion(
    content: str | None = "Hello there.",
    tool_calls: list[dict[str, Any]] | None = None,
    usage: dict[str, int] | None = USAGE,
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
    }
    if usage:
        body["usage"] = usage
    return body


def text_completion(text: str = " compressed.") -> dict[str, Any]:
    return {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
        "usage": USAGE,
    }


def chunk(
    content: str | None = None,
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str | None = None,
    usage: dict[str, int] | None = None,
    choices: bool = True,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    body: dict[str, Any] = {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else [],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def text_chunks(*pieces: str, usage: dict[str, int] | None = USAGE) -> list[dict[str, Any]]:
    chunks = [chunk(piece) for piece in pieces] + [chunk(finish="stop")]
    if usage is not None:
        chunks.append(chunk(usage=usage, choices=False))
    return chunks


def sse_response(chunks: list[dict[str, Any]], done: bool = True) -> httpx.Response:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    if done:
        text += "data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=text)


Answer = Callable[[dict[str, Any]], httpx.Response]


@dataclass
class FakeServer:
    """Answers each request with the next scripted answer; remembers paths and JSON bodies."""

    answers: list[httpx.Response | Answer] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return answer(json.loads(request.content)) if callable(answer) else answer

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def llm(self, **kwargs: Any) -> CompactifAI:
        transport = httpx.MockTransport(self)
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("temperature", 0)
        kwargs.setdefault("max_retries", 0)
        return CompactifAI(
            http_client=httpx.Client(transport=transport),
            async_http_client=httpx.AsyncClient(transport=transport),
            **kwargs,
        )


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def live_llm(compactifai_server: tuple[str, str]) -> CompactifAI:
    """An LLM pointed at the session's server: cassettes in replay, the emulator when recording."""
    base_url, api_key = compactifai_server
    return CompactifAI(base_url=base_url, api_key=api_key, temperature=0, max_tokens=200)
