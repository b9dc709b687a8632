"""Reasoning models in LlamaIndex: ThinkingBlocks, thinking deltas, effort levels, tools.

The conventions are llama-index-llms-openai's: a ``ThinkingBlock`` before the answer's
``TextBlock``, ``additional_kwargs["thinking_delta"]`` on streamed items.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

import compactifai
from compactifai import RequestValidationError
from llama_index_compactifai import CompactifAI
from tests.llama_index.conftest import FakeServer, chat_completion, chunk, sse_response

FIELDS = ["reasoning", "reasoning_content"]
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 40,
    "total_tokens": 52,
    "completion_tokens_details": {"reasoning_tokens": 31},
}
QUESTION = [ChatMessage(role="user", content="Capital of France?")]


def _whole(field: str) -> httpx.Response:
    body = chat_completion("Paris.", usage=USAGE)  # type: ignore[arg-type]
    body["choices"][0]["message"][field] = "It is Paris."
    return httpx.Response(200, json=body)


def _reasoning_chunk(field: str, text: str) -> dict[str, Any]:
    body = chunk()
    body["choices"][0]["delta"][field] = text
    return body


def _stream(field: str) -> httpx.Response:
    return sse_response(
        [
            _reasoning_chunk(field, "It is "),
            _reasoning_chunk(field, "Paris."),
            chunk("Par"),
            chunk("is."),
            chunk(finish="stop"),
            chunk(usage=USAGE, choices=False),  # type: ignore[arg-type]
        ]
    )


def _check_whole(response: ChatResponse) -> None:
    blocks = response.message.blocks
    assert isinstance(blocks[0], ThinkingBlock) and blocks[0].content == "It is Paris."
    assert isinstance(blocks[1], TextBlock)
    assert response.message.content == "Paris."
    assert response.raw["usage"]["completion_tokens_details"]["reasoning_tokens"] == 31
    assert response.additional_kwargs["reasoning_tokens"] == 31


@pytest.mark.parametrize("field", FIELDS)
def test_chat_gives_a_thinking_block_before_the_answer(server: FakeServer, field: str) -> None:
    server.answers = [_whole(field)]
    _check_whole(server.llm().chat(QUESTION))


@pytest.mark.parametrize("field", FIELDS)
async def test_achat_gives_a_thinking_block_before_the_answer(
    server: FakeServer, field: str
) -> None:
    server.answers = [_whole(field)]
    _check_whole(await server.llm().achat(QUESTION))


def _check_stream(items: list[ChatResponse]) -> None:
    deltas = [i.additional_kwargs.get("thinking_delta") for i in items]
    assert deltas[:2] == ["It is ", "Paris."]
    assert not any(deltas[2:])
    assert "".join(i.delta or "" for i in items) == "Paris."
    last = items[-1]
    assert last.message.content == "Paris."  # the answer alone
    assert isinstance(last.message.blocks[0], ThinkingBlock)
    assert last.message.blocks[0].content == "It is Paris."
    assert last.raw["usage"]["reasoning_tokens"] == 31
    assert last.additional_kwargs["completion_tokens"] == 40


@pytest.mark.parametrize("field", FIELDS)
def test_stream_chat_carries_thinking_deltas(server: FakeServer, field: str) -> None:
    server.answers = [_stream(field)]
    _check_stream(list(server.llm().stream_chat(QUESTION)))


@pytest.mark.parametrize("field", FIELDS)
async def test_astream_chat_carries_thinking_deltas(server: FakeServer, field: str) -> None:
    server.answers = [_stream(field)]
    _check_stream([item async for item in await server.llm().astream_chat(QUESTION)])


def test_stream_complete_gives_the_answer_without_reasoning(server: FakeServer) -> None:
    server.answers = [_stream("reasoning")]
    items = list(server.llm().stream_complete("Capital of France?"))
    assert items[-1].text == "Paris."


def test_reasoning_is_never_sent_back(server: FakeServer) -> None:
    server.answers = [_whole("reasoning")]
    llm = server.llm()
    answer = llm.chat(QUESTION).message
    llm.chat([*QUESTION, answer, ChatMessage(role="user", content="And Spain?")])
    assert server.bodies[1]["messages"][1] == {"role": "assistant", "content": "Paris."}
    assert "It is Paris." not in json.dumps(server.bodies[1])


def test_reasoning_fields_and_call_time_overrides_are_sent(server: FakeServer) -> None:
    server.answers = [_whole("reasoning")]
    llm = server.llm(reasoning_effort="low", reasoning_enabled=True)
    llm.chat(QUESTION)
    llm.chat(QUESTION, reasoning_effort="high", reasoning_enabled=False)
    first, second = server.bodies
    assert (first["reasoning_effort"], first["reasoning_enabled"]) == ("low", True)
    assert (second["reasoning_effort"], second["reasoning_enabled"]) == ("high", False)
    assert llm.to_dict()["reasoning_effort"] == "low"


def test_an_unknown_effort_word_is_refused_naming_the_allowed_ones(server: FakeServer) -> None:
    with pytest.raises(ValueError, match=r"'low'.*'max'"):
        CompactifAI(reasoning_effort="extreme")
    with pytest.raises(RequestValidationError, match=r"reasoning_effort.*'xhigh'"):
        server.llm().chat(QUESTION, reasoning_effort="extreme")
    assert server.requests == []


def test_the_servers_refusal_of_a_level_reaches_the_user(server: FakeServer) -> None:
    message = (
        "Invalid request: Model 'hypernova-60b' does not support reasoning_effort 'max'; "
        "supported: [low, medium, high]"
    )
    server.answers = [
        httpx.Response(400, json={"error": {"type": "invalid_request_error", "message": message}})
    ]
    with pytest.raises(compactifai.BadRequestError) as caught:
        server.llm().chat(QUESTION, reasoning_effort="max")
    assert caught.value.message == message


def test_a_tool_call_after_reasoning_is_parsed_when_complete(server: FakeServer) -> None:
    call = {"index": 0, "id": "chatcmpl-tool-1", "type": "function"}
    server.answers = [
        sse_response(
            [
                _reasoning_chunk("reasoning", "Use the tool."),
                chunk(tool_calls=[{**call, "function": {"name": "multiply", "arguments": ""}}]),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 6, '}}]),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": '"b": 7}'}}]),
                chunk(finish="tool_calls"),
            ]
        )
    ]
    items = list(server.llm().stream_chat(QUESTION))
    partial = [b for b in items[2].message.blocks if isinstance(b, ToolCallBlock)]
    assert partial[0].tool_kwargs == '{"a": 6, '  # the JSON so far, unparsed
    final = [b for b in items[-1].message.blocks if isinstance(b, ToolCallBlock)]
    assert final[0].tool_kwargs == {"a": 6, "b": 7}
    llm = server.llm()
    [selection] = llm.get_tool_calls_from_response(items[-1])
    assert (selection.tool_name, selection.tool_kwargs) == ("multiply", {"a": 6, "b": 7})
    assert isinstance(items[-1].message.blocks[0], ThinkingBlock)


def test_replacing_the_key_or_base_url_closes_the_dropped_pool() -> None:
    llm = CompactifAI(api_key="sk-one", base_url="https://a.test.invalid/v1")
    client = llm.client
    pool = client.http_client
    llm.api_key = "sk-two"  # type: ignore[assignment]  # as users write it
    assert pool.is_closed
    assert llm.client is not client
    assert llm.api_key is not None and llm.api_key.get_secret_value() == "sk-two"
    second = llm.client.http_client
    llm.base_url = "https://b.test.invalid/v1"
    assert second.is_closed
    assert llm.client.base_url == "https://b.test.invalid/v1"
    llm.close()


def test_timeout_takes_an_httpx_timeout_as_in_langchain() -> None:
    from langchain_compactifai import ChatCompactifAI

    timeout = httpx.Timeout(3.0, connect=1.0)
    li = CompactifAI(api_key="k", timeout=timeout)
    lc = ChatCompactifAI(api_key="k", timeout=timeout)
    assert li.client.timeout == lc.client.timeout == timeout
    assert CompactifAI(api_key="k").timeout == ChatCompactifAI(api_key="k").timeout == 60.0
    assert CompactifAI(api_key="k").max_retries == ChatCompactifAI(api_key="k").max_retries == 2
    assert "sk-hidden-value" not in repr(CompactifAI(api_key="sk-hidden-value"))
