"""Run one test body against both the sync and the async client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from compactifai import AsyncCompactifAIClient, CompactifAIClient, RetryPolicy

Handler = Callable[[httpx.Request], httpx.Response]
BASE_URL = "https://api.test.invalid/v1"
KEY = "sk-test-0123456789abcdef"
FAST_RETRIES = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)
CHAT = {"model": "cai-mistral-small-3-1-slim", "messages": [{"role": "user", "content": "Hi"}]}


@dataclass
class Recorder:
    """A MockTransport handler that answers from a script and remembers every request."""

    responses: list[Callable[[httpx.Request], httpx.Response] | httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        index = min(len(self.requests), len(self.responses)) - 1
        answer = self.responses[index]
        return answer(request) if callable(answer) else answer

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.content]


class Driver:
    """The same calls for a sync or an async client; awaited either way."""

    def __init__(self, kind: str, handler: Handler, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("api_key", KEY)
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("retry_policy", FAST_RETRIES)
        transport = httpx.MockTransport(handler)
        if kind == "sync":
            self.client: Any = CompactifAIClient(
                http_client=httpx.Client(transport=transport), **kwargs
            )
        else:
            self.client = AsyncCompactifAIClient(
                http_client=httpx.AsyncClient(transport=transport), **kwargs
            )

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        result = getattr(self.client, method)(*args, **kwargs)
        return await result if self.kind == "async" else result

    async def stream(self, **params: Any) -> list[Any]:
        chunks: list[Any] = []
        await self.stream_into(chunks, **params)
        return chunks

    async def stream_into(self, sink: list[Any], **params: Any) -> None:
        """Collect chunks into ``sink`` so a test sees what arrived before an error."""
        iterator = self.client.stream_chat_completion(**params)
        if self.kind == "async":
            async for chunk in iterator:
                sink.append(chunk)
        else:
            for chunk in iterator:
                sink.append(chunk)


def sse(*events: dict[str, Any] | str, done: bool = True) -> bytes:
    lines = [f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n" for e in events]
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


def chunk(content: str | None = None, *, finish: str | None = None, **delta: Any) -> dict[str, Any]:
    if content is not None:
        delta["content"] = content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "cai-mistral-small-3-1-slim",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def stream_response(
    body: bytes | Iterator[bytes], request_id: str = "req-stream"
) -> httpx.Response:
    stream = body if isinstance(body, bytes) else _IterStream(body)
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "x-request-id": request_id},
        **({"content": stream} if isinstance(stream, bytes) else {"stream": stream}),
    )


class _IterStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body delivered piece by piece; an exception in the iterator breaks the connection."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts

    def __iter__(self) -> Iterator[bytes]:
        yield from self._parts

    async def __aiter__(self) -> Any:
        for part in self._parts:
            yield part


CHAT_COMPLETION = {
    "id": "chatcmpl-123XYZ",
    "object": "chat.completion",
    "created": 1749600000,
    "model": "cai-mistral-small-3-1-slim",
    "choices": [
        {
            "message": {"role": "assistant", "content": "AI is the simulation of intelligence."},
            "finish_reason": "stop",
            "index": 0,
            "stop_reason": None,
        }
    ],
    "usage": {"prompt_tokens": 29, "completion_tokens": 58, "total_tokens": 87},
    "prompt_logprobs": None,
}
