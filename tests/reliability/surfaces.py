"""The three public surfaces (transport client, LangChain, LlamaIndex), sync and async, behind one interface.

Reliability rules are written once and proven through each surface: a fault injected in the
emulator must surface the same way whichever door the user came in by.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from compactifai import AsyncCompactifAIClient, CompactifAIClient

MODEL = "cai-mistral-small-3-1-slim"
PROMPT = "What does CompactifAI compress?"


@dataclass
class Surface:
    """One way of calling the API; ``invoke`` returns text, ``stream`` collects deltas into ``sink``."""

    name: str
    is_async: bool
    make: Callable[..., Any]
    invoke_fn: Callable[[Any], Any]
    stream_fn: Callable[[Any, list[str]], Any]

    def build(
        self, base_url: str, api_key: str, *, max_retries: int = 2, timeout: float = 10.0
    ) -> Any:
        return self.make(
            base_url=base_url, api_key=api_key, max_retries=max_retries, timeout=timeout
        )

    async def invoke(self, target: Any) -> str:
        result = self.invoke_fn(target)
        return str(await result if self.is_async else result)

    async def stream(self, target: Any, sink: list[str]) -> None:
        result = self.stream_fn(target, sink)
        if self.is_async:
            await result


def _client_surfaces() -> list[Surface]:
    messages = [{"role": "user", "content": PROMPT}]

    def sync_stream(client: CompactifAIClient, sink: list[str]) -> None:
        for chunk in client.stream_chat_completion(model=MODEL, messages=messages):
            sink.extend(c.delta.content or "" for c in chunk.choices)

    async def async_stream(client: AsyncCompactifAIClient, sink: list[str]) -> None:
        async for chunk in client.stream_chat_completion(model=MODEL, messages=messages):
            sink.extend(c.delta.content or "" for c in chunk.choices)

    async def async_invoke(client: AsyncCompactifAIClient) -> str:
        reply = await client.create_chat_completion(model=MODEL, messages=messages)
        return reply.choices[0].message.content or ""

    return [
        Surface(
            "client-sync",
            False,
            CompactifAIClient,
            lambda c: (
                c.create_chat_completion(model=MODEL, messages=messages).choices[0].message.content
            ),
            sync_stream,
        ),
        Surface("client-async", True, AsyncCompactifAIClient, async_invoke, async_stream),
    ]


def _langchain_surfaces() -> list[Surface]:
    from langchain_compactifai import ChatCompactifAI

    def make(**kwargs: Any) -> ChatCompactifAI:
        return ChatCompactifAI(model=MODEL, **kwargs)

    def sync_stream(llm: ChatCompactifAI, sink: list[str]) -> None:
        for chunk in llm.stream(PROMPT):
            sink.append(str(chunk.content))

    async def async_stream(llm: ChatCompactifAI, sink: list[str]) -> None:
        async for chunk in llm.astream(PROMPT):
            sink.append(str(chunk.content))

    async def async_invoke(llm: ChatCompactifAI) -> str:
        return str((await llm.ainvoke(PROMPT)).content)

    return [
        Surface("langchain-sync", False, make, lambda llm: llm.invoke(PROMPT).content, sync_stream),
        Surface("langchain-async", True, make, async_invoke, async_stream),
    ]


def _llama_index_surfaces() -> list[Surface]:
    from llama_index.core.llms import ChatMessage

    from llama_index_compactifai import CompactifAI

    messages = [ChatMessage(role="user", content=PROMPT)]

    def make(**kwargs: Any) -> CompactifAI:
        return CompactifAI(model=MODEL, **kwargs)

    def sync_stream(llm: CompactifAI, sink: list[str]) -> None:
        for item in llm.stream_chat(messages):
            sink.append(item.delta or "")

    async def async_stream(llm: CompactifAI, sink: list[str]) -> None:
        async for item in await llm.astream_chat(messages):
            sink.append(item.delta or "")

    async def async_invoke(llm: CompactifAI) -> str:
        return str((await llm.achat(messages)).message.content)

    return [
        Surface(
            "llamaindex-sync",
            False,
            make,
            lambda llm: llm.chat(messages).message.content,
            sync_stream,
        ),
        Surface("llamaindex-async", True, make, async_invoke, async_stream),
    ]


SURFACES = _client_surfaces() + _langchain_surfaces() + _llama_index_surfaces()
