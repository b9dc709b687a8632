"""The client's Responses API against the emulator: create, stream and retrieve (sync and async),
validation before anything is sent, and the typed errors of refusals and broken streams."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient, _served_catalog
from compactifai.emulator import Emulator
from compactifai.errors import (
    BadRequestError,
    InternalServerError,
    ModelCapabilityError,
    ModelNotFoundError,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
)
from compactifai.responses import ResponseStreamAccumulator, tool_calls_of_response
from compactifai.types import (
    ResponseFunctionCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponsesResult,
    ResponseStreamEvent,
)

from .conftest import (
    CHAT_ONLY_MODEL,
    FACT,
    OTHER_KEY,
    REASONING_MODEL,
    WEATHER_TOOL,
    responses_requests,
)

pytestmark = pytest.mark.emulator

QUESTION = f"{FACT} When was the Eiffel Tower completed?"
SERVING = ["hypernova-60b", "gpt-oss-120b", "glm-5-1"]


def _check_answer(result: ResponsesResult) -> None:
    assert result.status == "completed"
    assert result.id.startswith("resp_")
    assert "1889" in result.output_text
    reasoning, message = result.output
    assert isinstance(reasoning, ResponseReasoningItem) and reasoning.text
    assert isinstance(message, ResponseOutputMessage) and message.text == result.output_text
    assert result.reasoning_text == reasoning.text
    assert result.usage is not None
    assert result.usage.reasoning_tokens is not None and result.usage.reasoning_tokens > 0
    assert result.usage.output_tokens > result.usage.reasoning_tokens
    assert result.usage.total == result.usage.input_tokens + result.usage.output_tokens
    assert result.completed_at is not None and result.completed_at >= result.created_at
    assert result.request_id  # the response's x-request-id


def test_create_response(client: CompactifAIClient, emu: Emulator) -> None:
    result = client.create_response(model=REASONING_MODEL, input=QUESTION)
    _check_answer(result)
    [request] = responses_requests(emu)
    assert request.body == {"model": REASONING_MODEL, "input": QUESTION}


async def test_create_response_async(aclient: AsyncCompactifAIClient) -> None:
    _check_answer(await aclient.create_response(model=REASONING_MODEL, input=QUESTION))


def _check_stream(events: list[ResponseStreamEvent]) -> None:
    acc = ResponseStreamAccumulator()
    texts, thoughts = [], []
    for event in events:
        delta = acc.add(event)
        texts.append(delta.text)
        thoughts.append(delta.reasoning)
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    numbers = [e.sequence_number for e in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    final = events[-1].response
    assert final is not None and acc.response is final
    assert "1889" in acc.text
    # The pieces add up to the completed answer, once each.
    assert "".join(texts) == acc.text == final.output_text
    assert "".join(thoughts) == acc.reasoning == final.reasoning_text != ""
    assert acc.usage is not None and acc.usage.reasoning_tokens
    assert acc.status == "completed" and acc.id == final.id
    assert acc.request_id


def test_stream_response(client: CompactifAIClient, emu: Emulator) -> None:
    _check_stream(list(client.stream_response(model=REASONING_MODEL, input=QUESTION)))
    [request] = responses_requests(emu)
    assert request.body["stream"] is True


async def test_stream_response_async(aclient: AsyncCompactifAIClient) -> None:
    events = [e async for e in aclient.stream_response(model=REASONING_MODEL, input=QUESTION)]
    _check_stream(events)


def test_function_calls_create_and_stream(client: CompactifAIClient) -> None:
    params: dict[str, Any] = {
        "model": REASONING_MODEL,
        "input": "What is the weather in Paris?",
        "tools": [WEATHER_TOOL],
    }
    result = client.create_response(**params)
    [call] = result.function_calls
    assert isinstance(call, ResponseFunctionCall)
    assert call.name == "get_weather" and call.call_id
    [parsed] = tool_calls_of_response(result)
    assert parsed.args == {"city": "Paris"} and parsed.id == call.call_id

    acc = ResponseStreamAccumulator()
    pieces = []
    for event in client.stream_response(**params):
        pieces.extend(acc.add(event).tool_calls)
    [streamed] = acc.tool_calls
    assert (streamed.name, streamed.args) == ("get_weather", {"city": "Paris"})
    assert pieces[0].call_id == streamed.id and pieces[0].name == "get_weather"
    assert all(p.index == 0 for p in pieces)
    assert all(p.call_id is None and p.name is None for p in pieces[1:])
    assert "".join(p.arguments for p in pieces) == streamed.arguments


def test_a_tool_result_is_read_back(client: CompactifAIClient) -> None:
    first = client.create_response(
        model=REASONING_MODEL, input="What is the weather in Paris?", tools=[WEATHER_TOOL]
    )
    [call] = first.function_calls
    second = client.create_response(
        model=REASONING_MODEL,
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "What is the weather in Paris?"},
            *[item.model_dump() for item in first.output],  # reasoning and call sent back
            {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 24 C"},
        ],
    )
    assert "Sunny, 24 C" in second.output_text


def test_retrieve_a_stored_response(client: CompactifAIClient, emu: Emulator) -> None:
    created = client.create_response(model=REASONING_MODEL, input=QUESTION, store=True)
    assert created.store is True
    again = client.retrieve_response(created.id)
    assert again.id == created.id and again.output_text == created.output_text
    with CompactifAIClient(api_key=OTHER_KEY, base_url=emu.base_url) as other:
        with pytest.raises(NotFoundError) as info:
            other.retrieve_response(created.id)
    assert info.value.status_code == 404
    assert "store=True" in str(info.value) and created.id in str(info.value)


async def test_retrieve_async_and_unstored_is_not_found(aclient: AsyncCompactifAIClient) -> None:
    created = await aclient.create_response(model=REASONING_MODEL, input=QUESTION)
    assert created.store is False  # the service's default
    with pytest.raises(NotFoundError):
        await aclient.retrieve_response(created.id)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"model": REASONING_MODEL}, "input"),
        ({"input": "Hi"}, "model"),
        ({"model": REASONING_MODEL, "input": []}, "input"),
        ({"model": REASONING_MODEL, "input": ""}, "input"),
        ({"model": REASONING_MODEL, "input": 3}, "input"),
        ({"model": REASONING_MODEL, "input": [{"type": "image"}]}, "input[0].type"),
        ({"model": REASONING_MODEL, "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        (
            {"model": REASONING_MODEL, "input": [{"role": "user", "content": [{"type": "text"}]}]},
            "input[0].content[0].type",
        ),
        (
            {"model": REASONING_MODEL, "input": [{"type": "function_call_output", "output": "1"}]},
            "input[0].call_id",
        ),
        (
            {"model": REASONING_MODEL, "input": "Hi", "reasoning": {"effort": "max"}},
            "reasoning.effort",
        ),
        ({"model": REASONING_MODEL, "input": "Hi", "max_output_tokens": 0}, "max_output_tokens"),
        (
            {"model": REASONING_MODEL, "input": "Hi", "max_output_tokens": 150_001},
            "max_output_tokens",
        ),
        ({"model": REASONING_MODEL, "input": "Hi", "temperature": 2.5}, "temperature"),
        ({"model": REASONING_MODEL, "input": "Hi", "top_p": 0}, "top_p"),
        # Chat's nested tool shape: the Responses API's is flat.
        (
            {
                "model": REASONING_MODEL,
                "input": "Hi",
                "tools": [{"type": "function", "function": {"name": "f"}}],
            },
            "tools[0].name",
        ),
        ({"model": REASONING_MODEL, "input": "Hi", "tool_choice": "any"}, "tool_choice"),
        (
            {"model": REASONING_MODEL, "input": "Hi", "tool_choice": {"type": "function"}},
            "tool_choice.name",
        ),
        # A json_schema format needs its name and schema: the error names the missing field.
        (
            {
                "model": REASONING_MODEL,
                "input": "Hi",
                "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
            },
            "text.format.name",
        ),
        (
            {
                "model": REASONING_MODEL,
                "input": "Hi",
                "text": {"format": {"type": "json_schema", "name": "", "schema": {}}},
            },
            "text.format.name",
        ),
        (
            {
                "model": REASONING_MODEL,
                "input": "Hi",
                "text": {"format": {"type": "json_schema", "name": "answer"}},
            },
            "text.format.schema",
        ),
        (
            {"model": REASONING_MODEL, "input": "Hi", "text": {"format": {"type": "xml"}}},
            "text.format.type",
        ),
        ({"model": REASONING_MODEL, "input": "Hi", "stream": True}, "stream"),
        ({"model": REASONING_MODEL, "input": "Hi", "extra": object()}, "extra"),
    ],
)
def test_bad_requests_are_refused_before_sending(
    client: CompactifAIClient, emu: Emulator, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        client.create_response(**params)
    assert info.value.field == field
    if field != "stream":
        with pytest.raises(RequestValidationError):
            client.stream_response(**params)  # refused at the call, not the first event
    assert responses_requests(emu) == []


@pytest.mark.parametrize("response_id", ["", " ", "a/b", "..", ".", "resp?x=1", "resp#x"])
def test_bad_response_ids_are_refused_before_sending(
    client: CompactifAIClient, emu: Emulator, response_id: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        client.retrieve_response(response_id)
    assert info.value.field == "response_id"
    assert responses_requests(emu) == []


def test_extra_fields_pass_through(client: CompactifAIClient, emu: Emulator) -> None:
    client.create_response(
        model=REASONING_MODEL,
        input="Hi",
        instructions="Be brief.",
        metadata={"run": "1"},
        truncation="auto",
        parallel_tool_calls=False,
        vendor_option={"x": 1},
    )
    [request] = responses_requests(emu)
    assert request.body["vendor_option"] == {"x": 1}
    assert request.body["instructions"] == "Be brief." and request.body["truncation"] == "auto"


def test_a_model_the_catalog_says_cannot_is_refused_before_sending(
    client: CompactifAIClient, emu: Emulator
) -> None:
    with pytest.raises(ModelCapabilityError) as info:
        client.create_response(model="cai-whisper-large-v3-turbo-slim", input="Hi")
    error = info.value
    assert error.model == "cai-whisper-large-v3-turbo-slim" and error.route == "/v1/responses"
    assert error.available == SERVING
    assert "before sending" in str(error)
    assert emu.requests == []


def _check_refusal(error: ModelCapabilityError) -> None:
    assert isinstance(error, ModelNotFoundError) and isinstance(error, BadRequestError)
    assert error.status_code == 400 and error.request_id
    assert error.model == CHAT_ONLY_MODEL and error.available == SERVING
    assert error.route == "/v1/responses"
    assert isinstance(error.body, dict) and "detail" in error.body  # the route's guidance shape
    assert "hypernova-60b, gpt-oss-120b, glm-5-1" in str(error)


def test_a_model_without_the_capability_names_those_that_serve_the_route(
    client: CompactifAIClient,
) -> None:
    """Nothing listed yet and the bundled table leaves the model open: the server refuses it
    (the error's listing of the serving models also remembers the catalog, so the stream is
    sent with none remembered)."""
    with pytest.raises(ModelCapabilityError) as info:
        client.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    _check_refusal(info.value)
    _served_catalog.forget()
    with pytest.raises(ModelCapabilityError) as info:
        list(client.stream_response(model=CHAT_ONLY_MODEL, input="Hi"))
    _check_refusal(info.value)


async def test_a_model_without_the_capability_async(aclient: AsyncCompactifAIClient) -> None:
    with pytest.raises(ModelCapabilityError) as info:
        await aclient.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    _check_refusal(info.value)
    _served_catalog.forget()
    with pytest.raises(ModelCapabilityError) as info:
        [e async for e in aclient.stream_response(model=CHAT_ONLY_MODEL, input="Hi")]
    _check_refusal(info.value)


def test_the_refusal_says_when_the_models_could_not_be_listed(
    client: CompactifAIClient, emu: Emulator
) -> None:
    emu.inject_fault("status", status=500, path="/v1/models")
    with pytest.raises(ModelCapabilityError) as info:
        client.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    assert info.value.available is None
    assert "could not be listed" in str(info.value)


def test_a_withdrawn_model_is_the_churn_error(client: CompactifAIClient) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        client.create_response(model="cai-llama-3-1-8b-slim", input="Hi")
    assert not isinstance(info.value, ModelCapabilityError)
    assert info.value.available is not None and REASONING_MODEL in info.value.available


def test_an_unknown_previous_response_is_a_bad_request(client: CompactifAIClient) -> None:
    with pytest.raises(BadRequestError) as info:
        client.create_response(model=REASONING_MODEL, input="Hi", previous_response_id="resp_nope")
    assert not isinstance(info.value, ModelNotFoundError)
    assert "resp_nope" in info.value.message


def test_an_error_event_mid_stream_raises_after_the_events_before_it(
    client: CompactifAIClient, emu: Emulator
) -> None:
    emu.inject_fault(
        "error_in_stream", after_chunks=4, path="/v1/responses", message="GPU fell over"
    )
    received: list[str] = []

    def read() -> None:
        for event in client.stream_response(model=REASONING_MODEL, input=QUESTION):
            received.append(event.type)

    with pytest.raises(InternalServerError) as info:
        read()
    assert len(received) == 4 and received[0] == "response.created"
    assert info.value.status_code == 500 and info.value.message == "GPU fell over"
    assert info.value.request_id


def _sse(*events: str) -> bytes:
    return b"".join(f"data: {e}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


def _client_answering(body: bytes) -> CompactifAIClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=body,
            headers={"content-type": "text/event-stream", "x-request-id": "rid-1"},
        )

    return CompactifAIClient(
        api_key="k",
        base_url="http://responses.test/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def test_a_failed_response_event_raises_its_typed_error() -> None:
    body = _sse(
        '{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","status":"in_progress","output":[],"error":null}}',
        '{"type":"response.failed","sequence_number":1,"response":{"id":"resp_1","status":"failed","output":[],'
        '"error":{"code":"rate_limit_exceeded","message":"Slow down"}}}',
    )
    with _client_answering(body) as client:
        events = client.stream_response(model=REASONING_MODEL, input="Hi")
        assert next(events).type == "response.created"
        with pytest.raises(RateLimitError) as info:
            next(events)
    assert info.value.message == "Slow down" and info.value.request_id == "rid-1"


def test_unknown_event_types_parse_leniently() -> None:
    body = _sse(
        '{"type":"response.created","sequence_number":0,"response":{"id":"resp_1","output":[]}}',
        '{"type":"response.future_thing","sequence_number":1,"gadget":{"level":3}}',
        '{"type":"response.output_text.delta","sequence_number":2,"output_index":0,"content_index":0,"item_id":"m","delta":"Hi"}',
        '{"type":"response.completed","sequence_number":3,"response":{"id":"resp_1","status":"completed",'
        '"output":[{"type":"message","id":"m","content":[{"type":"output_text","text":"Hi"}]},'
        '{"type":"web_search_call","id":"ws_1","status":"completed"}]}}',
    )
    with _client_answering(body) as client:
        events = list(client.stream_response(model=REASONING_MODEL, input="Hi"))
    acc = ResponseStreamAccumulator()
    deltas = [acc.add(e) for e in events]
    assert events[1].type == "response.future_thing"
    assert events[1].gadget == {"level": 3}  # type: ignore[attr-defined]
    assert not deltas[1]
    assert acc.text == "Hi" and acc.status == "completed"
    final = events[-1].response
    assert final is not None and final.output[1].type == "web_search_call"


async def test_an_error_event_mid_stream_async(
    aclient: AsyncCompactifAIClient, emu: Emulator
) -> None:
    emu.inject_fault("error_in_stream", after_chunks=2, path="/v1/responses")
    received: list[str] = []

    async def read() -> None:
        async for event in aclient.stream_response(model=REASONING_MODEL, input=QUESTION):
            received.append(event.type)

    with pytest.raises(InternalServerError):
        await read()
    assert received == ["response.created", "response.in_progress"]


async def test_async_validation_before_sending(
    aclient: AsyncCompactifAIClient, emu: Emulator
) -> None:
    with pytest.raises(RequestValidationError) as info:
        await aclient.create_response(model=REASONING_MODEL, input="Hi", reasoning={"effort": "x"})
    assert info.value.field == "reasoning.effort"
    with pytest.raises(RequestValidationError):
        aclient.stream_response(model=REASONING_MODEL)
    with pytest.raises(RequestValidationError):
        await aclient.retrieve_response("../models")
    assert emu.requests == []


@pytest.mark.parametrize(
    ("detail", "capability"),
    [
        ("This model does not support the Responses API.", True),
        ("Responses are not enabled for this model", True),
        ("Previous response resp_1 not found; responses must be stored to be continued", False),
        ("Responses API: input must not be empty", False),
    ],
)
def test_a_refusal_is_read_from_the_detail_whatever_its_wording(
    detail: str, capability: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            models = [
                {"id": m, "capabilities": {"supports_responses": m != CHAT_ONLY_MODEL}}
                for m in (CHAT_ONLY_MODEL, "gpt-oss-120b")
            ]
            return httpx.Response(200, json={"object": "list", "data": models})
        return httpx.Response(400, json={"detail": detail})

    with CompactifAIClient(
        api_key="k",
        base_url="http://responses.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    ) as client:
        with pytest.raises(BadRequestError) as info:
            client.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    assert isinstance(info.value, ModelCapabilityError) is capability
    if capability:
        assert info.value.available == ["gpt-oss-120b"]  # type: ignore[attr-defined]
    assert info.value.message == detail
