"""Both reasoning field names end-to-end: an emulator per name, both frameworks, both modes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import AIMessageChunk
from llama_index.core.base.llms.types import ChatMessage, ThinkingBlock

from compactifai.emulator import Emulator
from langchain_compactifai import ChatCompactifAI
from llama_index_compactifai import CompactifAI

QUESTION = "Which is larger, 9.11 or 9.9? Explain briefly."


@pytest.fixture(scope="module", params=["reasoning", "reasoning_content"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    emu = Emulator(api_keys=("k",), reasoning_field=request.param)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def test_langchain_invoke_and_stream(emulator: Emulator) -> None:
    model = ChatCompactifAI(base_url=emulator.base_url, api_key="k", max_retries=0)
    message = model.invoke(QUESTION)
    assert message.content_blocks[0]["type"] == "reasoning"
    assert message.additional_kwargs["reasoning_content"] not in message.text
    total: AIMessageChunk | None = None
    for chunk in model.stream(QUESTION):
        total = chunk if total is None else total + chunk
    assert total is not None and total.additional_kwargs["reasoning_content"]
    assert total.usage_metadata is not None
    assert total.usage_metadata["output_token_details"]["reasoning"] > 0


async def test_langchain_async(emulator: Emulator) -> None:
    model = ChatCompactifAI(base_url=emulator.base_url, api_key="k", max_retries=0)
    message = await model.ainvoke(QUESTION)
    assert message.additional_kwargs["reasoning_content"]
    chunks = [c async for c in model.astream(QUESTION)]
    assert any(c.additional_kwargs.get("reasoning_content") for c in chunks)


def test_llama_index_chat_and_stream(emulator: Emulator) -> None:
    llm = CompactifAI(base_url=emulator.base_url, api_key="k", max_retries=0)
    messages = [ChatMessage(role="user", content=QUESTION)]
    response = llm.chat(messages)
    assert isinstance(response.message.blocks[0], ThinkingBlock)
    items = list(llm.stream_chat(messages))
    assert any(item.additional_kwargs.get("thinking_delta") for item in items)
    assert isinstance(items[-1].message.blocks[0], ThinkingBlock)


async def test_llama_index_async(emulator: Emulator) -> None:
    llm = CompactifAI(base_url=emulator.base_url, api_key="k", max_retries=0)
    messages = [ChatMessage(role="user", content=QUESTION)]
    response = await llm.achat(messages)
    assert isinstance(response.message.blocks[0], ThinkingBlock)
    items = [item async for item in await llm.astream_chat(messages)]
    assert any(item.additional_kwargs.get("thinking_delta") for item in items)
