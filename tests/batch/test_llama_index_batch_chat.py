"""``CompactifAI.batch_chat``: many conversations as one job, answers as ``chat`` gives them."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from compactifai.emulator import Emulator
from compactifai.emulator.batches import BatchStore
from compactifai.errors import BadRequestError
from llama_index_compactifai import CompactifAI

from .conftest import FAST_POLL, MODEL

pytestmark = pytest.mark.emulator


def _conversations(n: int) -> list[list[ChatMessage]]:
    return [
        [
            ChatMessage(role="system", content="Answer briefly."),
            ChatMessage(role="user", content=f"What is {i} times two?"),
        ]
        for i in range(n)
    ]


def _llm(emulator: Emulator) -> CompactifAI:
    return CompactifAI(model=MODEL, api_key=emulator.api_key, base_url=emulator.base_url)


def test_batch_chat_matches_chat(emulator: Emulator, store: BatchStore) -> None:
    llm = _llm(emulator)
    conversations = _conversations(20)
    responses = llm.batch_chat(conversations, poll=FAST_POLL)
    assert len(store.jobs) == 1
    assert all(isinstance(r, ChatResponse) for r in responses)
    for conversation, response in zip(conversations, responses, strict=True):
        direct = llm.chat(conversation)
        assert response.message.content == direct.message.content
        assert response.raw is not None and response.raw["usage"] == direct.raw["usage"]  # type: ignore[index]


def test_batch_chat_errors(emulator: Emulator, store: BatchStore) -> None:
    llm = _llm(emulator)
    with pytest.raises(BadRequestError, match="no-such-model"):
        llm.batch_chat(_conversations(2), {"model": "no-such-model"}, poll=FAST_POLL)
    mixed = llm.batch_chat(
        _conversations(2), {"model": "no-such-model"}, poll=FAST_POLL, return_exceptions=True
    )
    assert all(isinstance(r, BadRequestError) for r in mixed)


async def test_abatch_chat(emulator: Emulator, store: BatchStore) -> None:
    llm = _llm(emulator)
    seen: list[str] = []
    responses = await llm.abatch_chat(
        _conversations(5), poll=FAST_POLL, on_progress=lambda b: seen.append(b.status)
    )
    assert [r.message.content for r in responses] == [
        (await llm.achat(c)).message.content for c in _conversations(5)
    ]
    assert seen[-1] == "completed"
