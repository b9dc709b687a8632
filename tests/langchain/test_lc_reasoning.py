"""Reasoning models in LangChain: where the trace goes, effort levels, tools, churn errors.

Canned 2026 bodies (``reasoning`` and the older ``reasoning_content``) on an in-memory
transport; the recorded conversations with the emulator are in the standard suites.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import ModelNotFoundError as LCModelNotFoundError
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from pydantic import BaseModel

import compactifai
from compactifai import RequestValidationError
from langchain_compactifai import ChatCompactifAI
from tests.langchain.test_lc_chat_models import BASE_URL, FakeAPI, chunk, completion, sse

FIELDS = ["reasoning", "reasoning_content"]
# 22 of the 30 output tokens were spent reasoning.
USAGE = dict(
    prompt_tokens=11, completion_tokens=30, total_tokens=41,
    completion_tokens_details={"reasoning_tokens": 22},
)  # fmt: skip


def _reasoned(field: str, **extra: Any) -> dict[str, Any]:
    return completion("Paris.", model="hypernova-60b", usage=USAGE, **{field: "Capital?"}, **extra)


def _stream(field: str) -> bytes:
    return sse(
        chunk({"role": "assistant", "content": ""}, model="hypernova-60b"),
        chunk({field: "The capital "}, model="hypernova-60b"),
        chunk({field: "of France."}, model="hypernova-60b"),
        chunk({"content": "Par"}, model="hypernova-60b"),
        chunk({"content": "is."}, model="hypernova-60b"),
        chunk({}, finish_reason="stop", model="hypernova-60b"),
        chunk(None, usage=USAGE, model="hypernova-60b"),
    )


def _check_whole(message: AIMessage) -> None:
    assert message.text == "Paris."
    assert message.additional_kwargs["reasoning_content"] == "Capital?"
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": "Capital?"}
    assert message.content_blocks[1]["type"] == "text"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 22}
    assert message.usage_metadata["total_tokens"] == 41


@pytest.mark.parametrize("field", FIELDS)
def test_invoke_puts_reasoning_where_langchain_reads_it(field: str) -> None:
    _check_whole(FakeAPI(_reasoned(field)).model().invoke("Capital of France?"))


@pytest.mark.parametrize("field", FIELDS)
async def test_ainvoke_puts_reasoning_where_langchain_reads_it(field: str) -> None:
    _check_whole(await FakeAPI(_reasoned(field)).model().ainvoke("Capital of France?"))


def _check_stream(chunks: list[AIMessageChunk]) -> None:
    kinds = [
        "reasoning" if c.additional_kwargs.get("reasoning_content") else "text"
        for c in chunks
        if c.additional_kwargs or c.content
    ]
    assert kinds == ["reasoning", "reasoning", "text", "text"]  # the trace before the answer
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.text == "Paris."
    assert total.additional_kwargs["reasoning_content"] == "The capital of France."
    assert total.content_blocks[0] == {
        "type": "reasoning",
        "reasoning": "The capital of France.",
    }
    assert total.usage_metadata is not None
    assert total.usage_metadata["output_token_details"] == {"reasoning": 22}
    assert [c for c in chunks if c.usage_metadata] == [chunks[-1]]


@pytest.mark.parametrize("field", FIELDS)
def test_stream_yields_reasoning_chunks_before_the_answer(field: str) -> None:
    _check_stream(list(FakeAPI(_stream(field)).model().stream("Capital of France?")))


@pytest.mark.parametrize("field", FIELDS)
async def test_astream_yields_reasoning_chunks_before_the_answer(field: str) -> None:
    model = FakeAPI(_stream(field)).model()
    _check_stream([c async for c in model.astream("Capital of France?")])


def test_reasoning_is_never_sent_back_in_history() -> None:
    api = FakeAPI(_reasoned("reasoning"))
    model = api.model()
    first = model.invoke("Capital of France?")
    model.invoke([HumanMessage("Capital of France?"), first, HumanMessage("And Spain?")])
    assistant = api.body["messages"][1]
    assert assistant == {"role": "assistant", "content": "Paris."}
    assert "Capital?" not in json.dumps(api.body)


def test_reasoning_fields_and_call_time_overrides_are_sent() -> None:
    api = FakeAPI(_reasoned("reasoning"))
    model = api.model(reasoning_effort="low", reasoning_enabled=True)
    model.invoke("Hi")
    assert (api.body["reasoning_effort"], api.body["reasoning_enabled"]) == ("low", True)
    model.invoke("Hi", reasoning_effort="high", reasoning_enabled=False)
    assert (api.body["reasoning_effort"], api.body["reasoning_enabled"]) == ("high", False)
    assert model.bind(reasoning_effort="medium").invoke("Hi") is not None
    assert api.body["reasoning_effort"] == "medium"
    model.stream("Hi")  # a generator: nothing sent until read
    assert len(api.requests) == 3


def test_an_unknown_effort_word_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"'low'.*'max'"):
        ChatCompactifAI(reasoning_effort="extreme")
    api = FakeAPI(_reasoned("reasoning"))
    with pytest.raises(RequestValidationError, match="reasoning_effort") as caught:
        api.model().invoke("Hi", reasoning_effort="extreme")
    assert "'xhigh'" in str(caught.value)
    assert api.requests == []


def test_the_servers_refusal_of_a_level_reaches_the_user() -> None:
    message = (
        "Invalid request: Model 'hypernova-60b' does not support reasoning_effort 'max'; "
        "supported: [low, medium, high]"
    )
    model = ChatCompactifAI(
        api_key="k",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx.Client(
            transport=httpx.MockTransport(
                lambda request: httpx.Response(
                    400, json={"error": {"type": "invalid_request_error", "message": message}}
                )
            )
        ),
    )
    with pytest.raises(compactifai.BadRequestError) as caught:
        model.invoke("Hi", reasoning_effort="max")
    assert caught.value.message == message


def test_a_withdrawn_model_raises_langchains_not_found_with_the_served_ids() -> None:
    body = {
        "error": {
            "type": "invalid_request_error",
            "message": "Invalid request: Model 'cai-llama-3-1-8b-slim' not found; "
            "available: [hypernova-60b, gpt-oss-120b]",
        }
    }
    model = ChatCompactifAI(
        model="cai-llama-3-1-8b-slim",
        api_key="k",
        base_url=BASE_URL,
        max_retries=0,
        http_client=httpx.Client(
            transport=httpx.MockTransport(lambda request: httpx.Response(400, json=body))
        ),
    )
    with pytest.raises(LCModelNotFoundError) as caught:
        model.invoke("Hi")
    error = caught.value
    assert isinstance(error, compactifai.ModelNotFoundError)
    assert error.model == "cai-llama-3-1-8b-slim"
    assert error.available == ["hypernova-60b", "gpt-oss-120b"]


class Weather(BaseModel):
    """Weather in a city."""

    city: str


def test_a_tool_call_after_reasoning_in_a_stream() -> None:
    call = {"index": 0, "id": "chatcmpl-tool-1", "type": "function"}
    api = FakeAPI(
        sse(
            chunk({"reasoning": "Need the weather tool."}),
            chunk({"tool_calls": [{**call, "function": {"name": "Weather", "arguments": ""}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Bilbao"}'}}]}),
            chunk({}, finish_reason="tool_calls"),
        )
    )
    chunks = list(api.model().bind_tools([Weather]).stream("Weather in Bilbao?"))
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.tool_calls == [
        {
            "name": "Weather",
            "args": {"city": "Bilbao"},
            "id": "chatcmpl-tool-1",
            "type": "tool_call",
        }
    ]
    assert total.additional_kwargs["reasoning_content"] == "Need the weather tool."
    assert total.text == ""


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_structured_output_on_a_reasoning_model(method: str) -> None:
    call = {"name": "Weather", "arguments": '{"city": "Bilbao"}'}
    answer = (
        completion('{"city": "Bilbao"}', reasoning="Fill the schema.")
        if method == "json_schema"
        else completion(
            None,
            reasoning="Call the tool.",
            tool_calls=[{"id": "c1", "type": "function", "function": call}],
        )
    )
    model = FakeAPI(answer).model()
    assert model.with_structured_output(Weather, method=method).invoke("x") == Weather(
        city="Bilbao"
    )


@pytest.mark.parametrize("output_version", ["v0", "v1"])
def test_reasoning_text_and_a_tool_call_stay_separate_blocks(output_version: str) -> None:
    call = {"index": 0, "id": "chatcmpl-tool-1", "type": "function"}
    api = FakeAPI(
        sse(
            chunk({"reasoning": "Need the tool."}),
            chunk({"content": "Calling it."}),
            chunk({"tool_calls": [{**call, "function": {"name": "Weather", "arguments": ""}}]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Bilbao"}'}}]}),
            chunk({}, finish_reason="tool_calls"),
        )
    )
    total = None
    for c in api.model(output_version=output_version).stream("Weather in Bilbao?"):
        total = c if total is None else total + c
    assert total is not None
    assert [b["type"] for b in total.content_blocks] == ["reasoning", "text", "tool_call"]
    assert total.tool_calls[0]["args"] == {"city": "Bilbao"}
