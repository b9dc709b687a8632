"""A user's own test module, run by ``test_reliability_clean_exit.py`` with pytest-asyncio in a
subprocess: async tests, each on its own event loop, using models nobody closes."""

from __future__ import annotations

import pytest

from langchain_compactifai import ChatCompactifAI
from llama_index_compactifai import CompactifAI

MODULE_CHAT = ChatCompactifAI(max_tokens=64)


@pytest.mark.parametrize("run", range(3))
async def test_module_model_on_each_tests_loop(run: int) -> None:
    assert (await MODULE_CHAT.ainvoke("hi")).content


async def test_models_made_in_the_test() -> None:
    assert (await ChatCompactifAI(max_tokens=64).ainvoke("hi")).content
    stream = await CompactifAI(max_tokens=64).astream_complete("hi")
    assert "".join([item.delta or "" async for item in stream])


async def test_abandoned_stream() -> None:
    async for _ in ChatCompactifAI(max_tokens=64).astream("hi"):
        break
