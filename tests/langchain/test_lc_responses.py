"""``ChatCompactifAI(use_responses_api=True)`` against the bundled emulator's ``/v1/responses``.

What a user relies on: the answer, its reasoning and its usage arrive as on the chat path,
streams are incremental (reasoning chunks before the answer's, usage on one chunk), tools
round-trip (earlier calls as ``function_call`` items, results as ``function_call_output``),
structured output goes as ``text.format``, and ``use_previous_response_id`` sends only the
new turn. The standard suites also run on this path
(``TestChatCompactifAIResponses*`` in the ``test_lc_chat_standard_*`` modules).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from pydantic import BaseModel

from compactifai import ModelNotFoundError, RequestValidationError
from compactifai.emulator import Emulator
from langchain_compactifai import ChatCompactifAI
from tests.emulator_fixtures import reset_emulator, running_emulator

pytestmark = pytest.mark.emulator

QUESTION = "Which is larger, 9.11 or 9.9?"


class GetWeather(BaseModel):
    """Current weather in a city."""

    city: str


class Verdict(BaseModel):
    """Which number is larger."""

    larger: str
    reason: str


emulator = running_emulator(api_keys=("test-key",))
emu = reset_emulator()


def _model(emu: Emulator, **kwargs: Any) -> ChatCompactifAI:
    kwargs.setdefault("use_responses_api", True)
    return ChatCompactifAI(
        base_url=emu.base_url, api_key=emu.api_key, temperature=0, max_retries=0, **kwargs
    )


def _paths(emu: Emulator) -> list[str]:
    return [r.path for r in emu.requests]


def _check_reasoned(message: AIMessage) -> None:
    assert message.text and "reasoning" not in message.text
    reasoning = message.additional_kwargs["reasoning_content"]
    assert reasoning and reasoning not in message.text
    assert message.content_blocks[0] == {"type": "reasoning", "reasoning": reasoning}
    assert message.content_blocks[-1]["type"] == "text"
    usage = message.usage_metadata
    assert usage is not None
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert 0 < usage["output_token_details"]["reasoning"] < usage["output_tokens"]
    assert message.response_metadata["id"].startswith("resp_")
    assert message.response_metadata["finish_reason"] == "stop"


def _check_streamed(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    kinds = [
        "reasoning" if c.additional_kwargs.get("reasoning_content") else "text"
        for c in chunks
        if c.content or c.additional_kwargs
    ]
    # One chunk per delta, the trace before the answer.
    assert kinds.count("reasoning") > 3 and kinds.count("text") > 3
    assert kinds == sorted(kinds, key=["reasoning", "text"].index)
    assert [c for c in chunks if c.usage_metadata] == [chunks[-1]]  # usage counted once
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    _check_reasoned(total)
    return total


def test_invoke_answers_with_reasoning_and_usage(emu: Emulator) -> None:
    _check_reasoned(_model(emu).invoke(QUESTION))
    assert _paths(emu) == ["/v1/responses"]
    assert emu.requests[0].body["input"] == [
        {"type": "message", "role": "user", "content": QUESTION}
    ]


async def test_ainvoke_answers_with_reasoning_and_usage(emu: Emulator) -> None:
    _check_reasoned(await _model(emu).ainvoke(QUESTION))
    assert _paths(emu) == ["/v1/responses"]


def test_stream_is_incremental_and_adds_up_to_the_answer(emu: Emulator) -> None:
    model = _model(emu)
    total = _check_streamed(list(model.stream(QUESTION)))
    whole = model.invoke(QUESTION)  # the emulator is deterministic
    assert (total.text, total.additional_kwargs) == (whole.text, whole.additional_kwargs)
    assert total.usage_metadata == whole.usage_metadata
    assert emu.requests[0].body["stream"] is True


async def test_astream_is_incremental(emu: Emulator) -> None:
    _check_streamed([c async for c in _model(emu).astream(QUESTION)])
    assert _paths(emu) == ["/v1/responses"]


def test_v1_output_keeps_reasoning_and_text_blocks(emu: Emulator) -> None:
    message = _model(emu, output_version="v1").invoke(QUESTION)
    assert [block["type"] for block in message.content] == ["reasoning", "text"]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_tool_calls_round_trip_as_function_call_items(emu: Emulator, stream: bool) -> None:
    model = _model(emu).bind_tools([GetWeather])
    question = HumanMessage("What is the weather in Paris?")
    if stream:
        first: AIMessage | None = None
        for chunk in model.stream([question]):
            first = chunk if first is None else first + chunk  # type: ignore[operator]
        assert first is not None
    else:
        first = model.invoke([question])
    [call] = first.tool_calls
    assert (call["name"], call["args"]) == ("GetWeather", {"city": "Paris"})
    assert first.response_metadata["finish_reason"] == "tool_calls"
    sent_tools = emu.requests[0].body["tools"]
    assert [(t["type"], t["name"]) for t in sent_tools] == [("function", "GetWeather")]

    result = ToolMessage("18 C and sunny", tool_call_id=call["id"])
    answer = model.invoke([question, first, result])
    assert "18 C and sunny" in answer.text
    assert emu.requests[-1].body["input"][1:] == [
        {
            "type": "function_call",
            "call_id": call["id"],
            "name": "GetWeather",
            "arguments": json.dumps({"city": "Paris"}),
        },
        {"type": "function_call_output", "call_id": call["id"], "output": "18 C and sunny"},
    ]


async def test_async_tool_call_streams_its_arguments(emu: Emulator) -> None:
    model = _model(emu).bind_tools([GetWeather], tool_choice="GetWeather")
    chunks = [c async for c in model.astream("Weather in Lyon?")]
    assert sum(1 for c in chunks if c.tool_call_chunks) > 1  # name first, then argument pieces
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert [(c["name"], c["args"]) for c in total.tool_calls] == [("GetWeather", {"city": "Lyon"})]
    assert emu.requests[0].body["tool_choice"] == {"type": "function", "name": "GetWeather"}


def test_structured_output_asks_for_the_schema_as_text_format(emu: Emulator) -> None:
    verdict = _model(emu).with_structured_output(Verdict).invoke(QUESTION)
    assert isinstance(verdict, Verdict)
    fmt = emu.requests[0].body["text"]["format"]
    assert (fmt["type"], fmt["name"]) == ("json_schema", "Verdict")
    assert set(fmt["schema"]["properties"]) == {"larger", "reason"}


def test_previous_response_id_sends_only_the_new_turn(emu: Emulator) -> None:
    model = _model(emu, use_responses_api=None, use_previous_response_id=True)
    opening = HumanMessage("The secret word is pineapple.")
    first = model.invoke([opening])
    second = model.invoke([opening, first, HumanMessage("What is the secret word?")])
    assert _paths(emu) == ["/v1/responses", "/v1/responses"]
    sent_first, sent_second = (r.body for r in emu.requests)
    assert sent_first["store"] is True  # kept by the service, so the next turn can refer to it
    assert "previous_response_id" not in sent_first
    assert sent_second["previous_response_id"] == first.response_metadata["id"]
    assert sent_second["input"] == [
        {"type": "message", "role": "user", "content": "What is the secret word?"}
    ]
    # The service answered from the stored turn: as it does when sent the whole history.
    whole = _model(emu).invoke([opening, first, HumanMessage("What is the secret word?")])
    assert "pineapple" in second.text
    assert second.text == whole.text


def test_a_streamed_answer_can_be_continued_too(emu: Emulator) -> None:
    model = _model(emu, use_previous_response_id=True)
    opening = HumanMessage("The secret word is pineapple.")
    first: AIMessageChunk | None = None
    for chunk in model.stream([opening]):
        first = chunk if first is None else first + chunk
    assert first is not None
    assert first.response_metadata["request_id"]
    second = model.invoke([opening, first, HumanMessage("What is the secret word?")])
    assert emu.requests[-1].body["previous_response_id"] == first.response_metadata["id"]
    assert "pineapple" in second.text


def test_previous_response_id_skips_answers_of_the_chat_api(emu: Emulator) -> None:
    from_chat = AIMessage("Hello!", response_metadata={"id": "chatcmpl-1"})
    model = _model(emu, use_previous_response_id=True)
    model.invoke([HumanMessage("Hi"), from_chat, HumanMessage("And now?")])
    body = emu.requests[0].body
    assert "previous_response_id" not in body
    assert [item["role"] for item in body["input"]] == ["user", "assistant", "user"]


def test_by_default_only_calls_that_need_it_use_the_responses_api(emu: Emulator) -> None:
    model = _model(emu, use_responses_api=None)
    model.invoke("Hi")
    model.invoke("Hi", reasoning={"effort": "low"})
    model.bind(instructions="Answer in one word.").invoke("Hi")
    _model(emu, use_responses_api=False).invoke("Hi", reasoning_effort="low")
    assert _paths(emu) == [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/responses",
        "/v1/chat/completions",
    ]
    assert emu.requests[2].body["instructions"] == "Answer in one word."


def test_a_model_without_the_responses_api_is_named_with_those_that_have_it(
    emu: Emulator,
) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        _model(emu, model="carina-60b").invoke("Hi")
    assert "/v1/responses" in str(caught.value)
    assert "hypernova-60b" in str(caught.value)


def test_an_effort_the_responses_api_does_not_take_is_refused_before_sending(
    emu: Emulator,
) -> None:
    with pytest.raises(RequestValidationError, match=r"reasoning\.effort"):
        _model(emu, reasoning_effort="max").invoke("Hi")
    assert emu.requests == []


def test_options_that_cannot_work_together_are_refused() -> None:
    with pytest.raises(ValueError, match="use_previous_response_id needs the Responses API"):
        ChatCompactifAI(api_key="k", use_responses_api=False, use_previous_response_id=True)
    with pytest.raises(ValueError, match="use_batch_api"):
        ChatCompactifAI(api_key="k", use_responses_api=True, use_batch_api=True)


def test_images_and_files_go_as_responses_input_parts() -> None:
    """No model serving /v1/responses reads images today: the parts are checked as sent."""
    bodies: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            200, json={"id": "resp_1", "object": "response", "model": "glm-5-1", "output": []}
        )

    model = ChatCompactifAI(
        model="glm-5-1",
        api_key="k",
        base_url="https://api.test.invalid/v1",
        use_responses_api=True,
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    model.invoke(
        [
            HumanMessage(
                [
                    {"type": "text", "text": "Compare:"},
                    {"type": "image", "url": "https://example.com/a.png"},
                    {
                        "type": "file",
                        "base64": "JVBERi0=",
                        "mime_type": "application/pdf",
                        "filename": "a.pdf",
                    },
                ]
            )
        ]
    )
    assert bodies[0]["input"][0]["content"] == [
        {"type": "input_text", "text": "Compare:"},
        {"type": "input_image", "image_url": "https://example.com/a.png"},
        {
            "type": "input_file",
            "file_data": "data:application/pdf;base64,JVBERi0=",
            "filename": "a.pdf",
        },
    ]


@pytest.mark.parametrize(
    ("setting", "call_kwargs"),
    [
        ({"stream_usage": False}, {}),
        ({}, {"stream_usage": False}),
        ({"model_kwargs": {"stream_options": {"include_usage": False}}}, {}),
    ],
    ids=["field", "call", "stream_options"],
)
@pytest.mark.parametrize("api", [True, False], ids=["responses", "chat"])
async def test_stream_usage_off_means_no_usage_on_either_api(
    emu: Emulator, api: bool, setting: dict[str, Any], call_kwargs: dict[str, Any]
) -> None:
    # The Responses API reports usage unasked; a model told not to report it on streams
    # does not, whichever API a call goes to (ChatOpenAI does on its Responses path: the
    # one place we differ, so that routing a call never changes what a stream carries).
    model = _model(emu, use_responses_api=api, **setting)
    streamed = list(model.stream(QUESTION, **call_kwargs))
    streamed += [c async for c in model.astream(QUESTION, **call_kwargs)]
    assert [c for c in streamed if c.usage_metadata] == []
    assert streamed[-1].chunk_position == "last" and streamed[-1].response_metadata["id"]
    assert "".join(c.text for c in streamed) == 2 * model.invoke(QUESTION).text
    assert model.invoke(QUESTION, **call_kwargs).usage_metadata  # invoke: usage as ever
    paths = {"/v1/responses"} if api else {"/v1/chat/completions"}
    assert set(_paths(emu)) == paths
