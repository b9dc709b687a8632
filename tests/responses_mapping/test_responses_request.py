"""The chat body both integrations build, rewritten as a ``POST /responses`` body.

What the server receives on the Responses path: a tool result must reach it as a
``function_call_output`` naming the call, an earlier tool call as a ``function_call``, a
schema as ``text.format``, the token limit as ``max_output_tokens``.
"""

from __future__ import annotations

from typing import Any

import pytest

from compactifai.chat import chat_body, function_tool, json_schema_response_format
from compactifai.errors import RequestValidationError
from compactifai.responses_mapping import (
    kept_conversation_body,
    latest_answer,
    responses_body_from_chat,
)
from compactifai.types import ResponsesRequest

WEATHER = function_tool(
    "get_weather",
    "Weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?", "name": "ana"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "content": "18 C, sunny", "tool_call_id": "call_1"},
]
ITEMS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "type": "function_call",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    },
    {"type": "function_call_output", "call_id": "call_1", "output": "18 C, sunny"},
]


def test_the_whole_body_says_what_the_chat_body_says() -> None:
    chat = chat_body(
        "hypernova-60b",
        HISTORY,
        (("temperature", 0), ("max_tokens", 64), ("reasoning_effort", "low"), ("n", 1)),
        {"reasoning_enabled": True},
        {
            "tools": [WEATHER],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "stop": ["\n\n"],
        },
        stream=True,
    )
    body = responses_body_from_chat(chat)
    assert body == {
        "model": "hypernova-60b",
        "temperature": 0,
        "max_output_tokens": 64,
        "reasoning": {"effort": "low"},
        "reasoning_enabled": True,
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather in a city.",
                "parameters": WEATHER["function"]["parameters"],
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "stop": ["\n\n"],
        "input": ITEMS,
    }
    assert "stream_options" not in body  # a Responses stream always ends with its usage
    ResponsesRequest.model_validate(body)  # what the client checks before sending


def test_a_schema_becomes_text_format() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}}
    response_format = json_schema_response_format("Answer", schema, strict=True)
    chat = chat_body("hypernova-60b", HISTORY[:2], overrides={"response_format": response_format})
    body = responses_body_from_chat(chat)
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "Answer", "schema": schema, "strict": True}
    }
    assert "response_format" not in body
    ResponsesRequest.model_validate(body)
    json_mode = chat_body(
        "hypernova-60b", HISTORY[:2], overrides={"response_format": {"type": "json_object"}}
    )
    assert responses_body_from_chat(json_mode)["text"] == {"format": {"type": "json_object"}}


def test_a_continuation_names_the_stored_response() -> None:
    body = responses_body_from_chat(
        chat_body("hypernova-60b", HISTORY[3:]), previous_response_id="resp_1", store=True
    )
    assert (body["previous_response_id"], body["store"]) == ("resp_1", True)
    assert body["input"] == ITEMS[3:]


def test_a_kept_conversation_resumes_after_its_latest_answer() -> None:
    # What both integrations' conversation options (LangChain's use_previous_response_id,
    # LlamaIndex's track_previous_responses) send: the messages after the latest answer of
    # the Responses API, continuing it, stored for the next turn.
    ids = [None, "resp_1", None, "chatcmpl-9", None]
    assert latest_answer(ids, lambda response_id: response_id) == (2, "resp_1")
    assert latest_answer([None, "chatcmpl-9"], lambda response_id: response_id) == (0, None)
    first = kept_conversation_body(chat_body("hypernova-60b", HISTORY[:2]), None)
    assert first["store"] is True and "previous_response_id" not in first
    later = kept_conversation_body(chat_body("hypernova-60b", HISTORY[3:]), "resp_1")
    assert (later["previous_response_id"], later["store"], later["input"]) == (
        "resp_1",
        True,
        ITEMS[3:],
    )
    unstored = chat_body("hypernova-60b", HISTORY[3:], overrides={"store": False})
    assert kept_conversation_body(unstored, "resp_1")["store"] is False  # the caller's say


def test_a_chat_completion_id_is_not_a_response_to_continue() -> None:
    with pytest.raises(RequestValidationError, match="previous_response_id"):
        responses_body_from_chat(
            chat_body("hypernova-60b", HISTORY), previous_response_id="chatcmpl-1"
        )


def test_more_than_one_output_is_refused() -> None:
    with pytest.raises(RequestValidationError, match="n must be 1"):
        responses_body_from_chat({"model": "m", "messages": HISTORY[:2], "n": 2})
