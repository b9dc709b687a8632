"""Bad input is rejected before anything is sent, naming the field, through every surface."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient, RequestValidationError
from compactifai.emulator import Emulator

MODEL = "cai-mistral-small-3-1-slim"
BAD_PARAMS = [
    ({"n": 2}, "n"),
    ({"temperature": 2.5}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"seed": object()}, "seed"),
]


def assert_rejected(exc: BaseException, field: str) -> None:
    assert isinstance(exc, (RequestValidationError, ValueError))
    assert field in str(exc)


def sent(emu: Emulator) -> int:
    return len([r for r in emu.requests if r.path.startswith("/v1/chat")])


# ---------------------------------------------------------------------------- transport


@pytest.mark.parametrize(("params", "field"), BAD_PARAMS)
async def test_client_rejects_bad_params(emu: Emulator, params: dict[str, Any], field: str) -> None:
    messages = [{"role": "user", "content": "hi"}]
    with CompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        with pytest.raises(RequestValidationError) as info:
            client.create_chat_completion(model=MODEL, messages=messages, **params)
    assert_rejected(info.value, field)
    async with AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as aclient:
        with pytest.raises(RequestValidationError):
            aclient.stream_chat_completion(model=MODEL, messages=messages, **params)
    assert sent(emu) == 0


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "messages"),
        ([{"role": "robot", "content": "hi"}], "messages[0].role"),
        ([{"role": "user", "content": [{"type": "video", "video": "x"}]}], "messages[0].content"),
    ],
)
def test_client_rejects_bad_messages(
    emu: Emulator, messages: list[dict[str, Any]], field: str
) -> None:
    with CompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        with pytest.raises(RequestValidationError) as info:
            client.create_chat_completion(model=MODEL, messages=messages)
    assert info.value.field.startswith(field)
    assert sent(emu) == 0


def test_client_rejects_a_tool_schema_that_is_not_an_object(emu: Emulator) -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]
    with CompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        with pytest.raises(RequestValidationError, match=r"tools\[0\]\.function\.parameters"):
            client.create_chat_completion(
                model=MODEL, messages=[{"role": "user", "content": "x"}], tools=tools
            )
    assert sent(emu) == 0


# ---------------------------------------------------------------------------- LangChain


def _chat(emu: Emulator, **kwargs: Any) -> Any:
    from langchain_compactifai import ChatCompactifAI

    return ChatCompactifAI(model=MODEL, base_url=emu.base_url, api_key=emu.api_key, **kwargs)


@pytest.mark.parametrize(("params", "field"), BAD_PARAMS)
async def test_langchain_rejects_bad_params(
    emu: Emulator, params: dict[str, Any], field: str
) -> None:
    calls: list[Callable[[], Any]] = []
    try:
        llm = _chat(emu, **params)
    except (ValueError, RequestValidationError) as exc:  # rejected at construction: fine, and early
        assert_rejected(exc, field)
    else:
        calls = [lambda: llm.invoke("hi"), lambda: list(llm.stream("hi"))]
        for call in calls:
            with pytest.raises((RequestValidationError, ValueError)) as info:
                call()
            assert_rejected(info.value, field)
        with pytest.raises((RequestValidationError, ValueError)):
            await llm.ainvoke("hi")
    assert sent(emu) == 0


def test_langchain_rejects_bad_messages_and_tools(emu: Emulator) -> None:
    from langchain_core.messages import ChatMessage, HumanMessage

    llm = _chat(emu)
    with pytest.raises((RequestValidationError, ValueError), match="messages"):
        llm.invoke([])
    with pytest.raises((RequestValidationError, ValueError), match="robot"):
        llm.invoke([ChatMessage(role="robot", content="hi")])
    audio = HumanMessage(content=[{"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}])
    with pytest.raises((RequestValidationError, ValueError), match="audio"):
        llm.invoke([audio])
    bad_tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}
    with pytest.raises((RequestValidationError, ValueError), match="parameters"):
        llm.bind_tools([bad_tool]).invoke("call f")
    assert sent(emu) == 0


# ---------------------------------------------------------------------------- LlamaIndex


def _llm(emu: Emulator, **kwargs: Any) -> Any:
    from llama_index_compactifai import CompactifAI

    return CompactifAI(model=MODEL, base_url=emu.base_url, api_key=emu.api_key, **kwargs)


@pytest.mark.parametrize(("params", "field"), BAD_PARAMS)
async def test_llama_index_rejects_bad_params(
    emu: Emulator, params: dict[str, Any], field: str
) -> None:
    from llama_index.core.llms import ChatMessage

    messages = [ChatMessage(role="user", content="hi")]
    llm = _llm(emu)
    with pytest.raises((RequestValidationError, ValueError)) as info:
        llm.chat(messages, **params)
    assert_rejected(info.value, field)
    with pytest.raises((RequestValidationError, ValueError)):
        await llm.achat(messages, **params)
    with pytest.raises((RequestValidationError, ValueError)):
        list(llm.stream_chat(messages, **params))
    assert sent(emu) == 0


def test_llama_index_rejects_bad_messages(emu: Emulator) -> None:
    from llama_index.core.base.llms.types import AudioBlock, ChatMessage, TextBlock

    llm = _llm(emu)
    with pytest.raises((RequestValidationError, ValueError), match="messages"):
        llm.chat([])
    audio = ChatMessage(
        role="user", blocks=[TextBlock(text="hear"), AudioBlock(audio=b"RIFF0000", format="wav")]
    )
    with pytest.raises((RequestValidationError, ValueError), match=r"(?i)audio"):
        llm.chat([audio])
    assert sent(emu) == 0
