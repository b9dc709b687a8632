"""The emulator's Responses API through the official ``openai`` SDK, unchanged: create, stream
(raw events and the SDK's stream helper), retrieve, previous_response_id, tools, parse, errors."""

from __future__ import annotations

import json

import openai
import pytest
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseReasoningItem,
    ResponseTextDeltaEvent,
)
from pydantic import BaseModel

from compactifai.emulator import Emulator

from .conftest import CHAT_ONLY_MODEL, FACT, HYBRID_MODEL, REASONING_MODEL, WEATHER_TOOL

pytestmark = pytest.mark.emulator

QUESTION = f"{FACT} When was the Eiffel Tower completed?"


def test_create(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(model=REASONING_MODEL, input=QUESTION)
    assert response.status == "completed"
    assert "1889" in response.output_text
    reasoning, message = response.output
    assert isinstance(reasoning, ResponseReasoningItem) and reasoning.content
    assert isinstance(message, ResponseOutputMessage)
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens > 0


def test_stream_deltas_add_up_to_the_completed_text(sdk: openai.OpenAI) -> None:
    stream = sdk.responses.create(model=REASONING_MODEL, input=QUESTION, stream=True)
    text = ""
    events = list(stream)
    for event in events:
        if isinstance(event, ResponseTextDeltaEvent):
            text += event.delta
    assert events[0].type == "response.created"
    last = events[-1]
    assert last.type == "response.completed"
    assert text == last.response.output_text and "1889" in text


def test_the_sdks_stream_helper_rebuilds_the_response(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model=REASONING_MODEL, input=QUESTION) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text and "1889" in final.output_text


def test_retrieve_and_previous_response_id(sdk: openai.OpenAI, emu: Emulator) -> None:
    first = sdk.responses.create(model=HYBRID_MODEL, input="My name is Ada Lovelace.", store=True)
    assert sdk.responses.retrieve(first.id).output_text == first.output_text
    second = sdk.responses.create(
        model=HYBRID_MODEL, input="What is my name?", previous_response_id=first.id
    )
    assert "Ada Lovelace" in second.output_text
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(second.id)  # not stored: the default
    with pytest.raises(openai.BadRequestError):
        sdk.responses.create(model=HYBRID_MODEL, input="Hi", previous_response_id="resp_gone")


def test_function_calls(sdk: openai.OpenAI) -> None:
    response = sdk.responses.create(
        model=REASONING_MODEL,
        input="What is the weather in Paris?",
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    [call] = [item for item in response.output if isinstance(item, ResponseFunctionToolCall)]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    follow_up = sdk.responses.create(
        model=REASONING_MODEL,
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
        input=[
            {"role": "user", "content": "What is the weather in Paris?"},
            *response.output,  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": call.call_id, "output": "Foggy, 9 C"},
        ],
    )
    assert "Foggy, 9 C" in follow_up.output_text


class Person(BaseModel):
    name: str
    age: int


def test_parse_structured_output(sdk: openai.OpenAI) -> None:
    response = sdk.responses.parse(
        model=HYBRID_MODEL,
        input='Extract the person: "Ada Lovelace" is 36 years old.',
        text_format=Person,
    )
    assert response.output_parsed == Person(name="Ada Lovelace", age=36)


def test_refusals_are_the_sdks_errors(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model=CHAT_ONLY_MODEL, input="Hi")
    assert info.value.status_code == 400
    assert isinstance(info.value.body, dict) and "hypernova-60b" in str(info.value.body)
