"""Every method of ``CompactifAI``, sync and async, streaming and not, from cassettes recorded
against the emulator; token usage through ``TokenCountingHandler``."""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler

from llama_index_compactifai import CompactifAI

pytestmark = pytest.mark.vcr

FACTS = (
    "CompactifAI compresses language models with tensor networks. "
    "The weather in Bilbao is often rainy. "
    "Slim models answer about twice as fast as the originals."
)
QUESTION = "How does CompactifAI compress language models?"
MESSAGES = [
    ChatMessage(role="system", content="Answer from the user's notes."),
    ChatMessage(role="user", content=f"Notes: {FACTS}\n\nQuestion: {QUESTION}"),
]
PROMPT = f"Notes: {FACTS}\nQuestion: {QUESTION}\nAnswer:"


def _check_stream(items: list[Any], text_of: Any) -> str:
    assert sum(1 for item in items if item.delta) > 2, "a stream should arrive in several pieces"
    deltas = "".join(item.delta or "" for item in items)
    final = text_of(items[-1])
    assert deltas == final
    # Each item carries the text so far.
    assert all(final.startswith(text_of(item)) for item in items)
    return str(final)


def _chat_text(item: ChatResponse) -> str:
    return item.message.content or ""


def _completion_text(item: CompletionResponse) -> str:
    return item.text


def test_chat(live_llm: CompactifAI) -> None:
    response = live_llm.chat(MESSAGES)
    assert "tensor networks" in (response.message.content or "")
    assert response.raw["usage"]["completion_tokens"] > 0


async def test_achat(live_llm: CompactifAI) -> None:
    response = await live_llm.achat(MESSAGES)
    assert "tensor networks" in (response.message.content or "")


def test_stream_chat(live_llm: CompactifAI) -> None:
    text = _check_stream(list(live_llm.stream_chat(MESSAGES)), _chat_text)
    assert "tensor networks" in text


async def test_astream_chat(live_llm: CompactifAI) -> None:
    items = [item async for item in await live_llm.astream_chat(MESSAGES)]
    assert "tensor networks" in _check_stream(items, _chat_text)


def test_complete(live_llm: CompactifAI) -> None:
    response = live_llm.complete(PROMPT)
    assert response.text.strip()
    assert response.raw["object"] == "text_completion"
    assert response.raw["usage"]["prompt_tokens"] > 0


async def test_acomplete(live_llm: CompactifAI) -> None:
    response = await live_llm.acomplete(PROMPT)
    assert response.text.strip()
    assert response.raw["usage"]["prompt_tokens"] > 0


def test_stream_complete(live_llm: CompactifAI) -> None:
    """Served by the chat endpoint's stream: incremental, with the server's usage at the end."""
    items = list(live_llm.stream_complete(PROMPT))
    assert "tensor networks" in _check_stream(items, _completion_text)
    assert items[-1].raw["usage"]["completion_tokens"] > 0


async def test_astream_complete(live_llm: CompactifAI) -> None:
    items = [item async for item in await live_llm.astream_complete(PROMPT)]
    assert "tensor networks" in _check_stream(items, _completion_text)
    assert items[-1].raw["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize(
    "method", ["chat", "stream_chat", "complete", "stream_complete", "achat", "astream_chat"]
)
async def test_token_counting_handler_reports_the_servers_usage(
    compactifai_server: tuple[str, str], method: str
) -> None:
    counter = TokenCountingHandler()
    base_url, api_key = compactifai_server
    llm = CompactifAI(
        base_url=base_url,
        api_key=api_key,
        temperature=0,
        max_tokens=200,
        callback_manager=CallbackManager([counter]),
    )
    if method == "chat":
        last: Any = llm.chat(MESSAGES)
    elif method == "achat":
        last = await llm.achat(MESSAGES)
    elif method == "stream_chat":
        last = list(llm.stream_chat(MESSAGES))[-1]
    elif method == "astream_chat":
        last = [item async for item in await llm.astream_chat(MESSAGES)][-1]
    elif method == "complete":
        last = llm.complete(PROMPT)
    else:
        last = list(llm.stream_complete(PROMPT))[-1]
    usage = last.raw["usage"]
    assert usage["prompt_tokens"] > 0
    assert len(counter.llm_token_counts) == 1
    assert counter.prompt_llm_token_count == usage["prompt_tokens"]
    assert counter.completion_llm_token_count == usage["completion_tokens"]
    assert counter.total_llm_token_count == usage["total_tokens"]


def test_default_model_shows_its_reasoning(compactifai_server: tuple[str, str]) -> None:
    """hypernova-60b (the default): a ThinkingBlock first, thinking deltas before the answer."""
    base_url, api_key = compactifai_server
    llm = CompactifAI(base_url=base_url, api_key=api_key)
    response = llm.chat(MESSAGES)
    assert response.message.blocks[0].block_type == "thinking"
    assert response.message.content and "tensor networks" in response.message.content
    assert response.raw["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    items = list(llm.stream_chat(MESSAGES))
    first_text = next(i for i, item in enumerate(items) if item.delta)
    assert any(item.additional_kwargs.get("thinking_delta") for item in items[:first_text])
    assert items[-1].message.blocks[0].block_type == "thinking"
    assert items[-1].raw["usage"]["reasoning_tokens"] > 0
