"""A Response (or its event stream) read as the chat completion (or chunks) it equals.

Hand-made shapes for what the emulator does not produce: a server that sends a tool call's
arguments only whole, an answer cut at ``max_output_tokens``, a refusal, cached tokens.
"""

from __future__ import annotations

from typing import Any

from compactifai.chat import StreamAccumulator
from compactifai.responses_mapping import ChatChunks, as_chat_completion
from compactifai.types import ResponsesResult, ResponseStreamEvent

REASONING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [],
    "content": [{"type": "reasoning_text", "text": "Weather needs a tool."}],
}
CALL = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
}
USAGE = {
    "input_tokens": 20,
    "input_tokens_details": {"cached_tokens": 8},
    "output_tokens": 12,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 32,
}


def _result(output: list[dict[str, Any]], **extra: Any) -> ResponsesResult:
    body = {"id": "resp_1", "object": "response", "model": "m", "status": "completed"}
    return ResponsesResult.model_validate({**body, "output": output, "usage": USAGE, **extra})


def test_a_tool_call_response_reads_as_a_tool_call_completion() -> None:
    completion = as_chat_completion(_result([REASONING, CALL]))
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.reasoning == "Weather needs a tool."
    [call] = choice.message.tool_calls or []
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_1",
        "get_weather",
        '{"city": "Paris"}',
    )
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total) == (20, 12, 32)
    assert (usage.reasoning_tokens, usage.prompt_tokens_details) == (5, {"cached_tokens": 8})


def test_an_answer_cut_short_reads_as_length() -> None:
    message = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "The tow"}],
    }
    result = _result(
        [message], status="incomplete", incomplete_details={"reason": "max_output_tokens"}
    )
    completion = as_chat_completion(result)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "The tow"


def test_a_refusal_is_kept() -> None:
    refusal = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": "I cannot help with that."}],
    }
    message = as_chat_completion(_result([refusal])).choices[0].message
    assert (message.content, message.refusal) == ("", "I cannot help with that.")


def _events(*events: dict[str, Any]) -> list[ResponseStreamEvent]:
    return [ResponseStreamEvent.model_validate(e) for e in events]


def test_a_call_sent_whole_still_streams_once() -> None:
    """Some servers send no argument deltas: the call arrives with ``output_item.done``."""
    start = _result([], status="in_progress").model_dump()
    events = _events(
        {"type": "response.created", "response": start},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**CALL, "arguments": ""},
        },
        {"type": "response.output_item.done", "output_index": 0, "item": CALL},
        {"type": "response.completed", "response": _result([CALL]).model_dump()},
    )
    chunks = ChatChunks()
    acc = StreamAccumulator()
    for event in events:
        chunk = chunks.chunk(event)
        if chunk is not None:
            acc.add(chunk)
    [call] = acc.tool_calls
    assert (call.id, call.name, call.args) == ("call_1", "get_weather", {"city": "Paris"})
    assert (acc.finish_reason, acc.id, acc.model) == ("tool_calls", "resp_1", "m")
    assert acc.usage is not None and acc.usage.reasoning_tokens == 5


def test_events_that_add_nothing_give_no_chunk() -> None:
    start = _result([], status="in_progress").model_dump()
    chunks = ChatChunks()
    created, in_progress, part = _events(
        {"type": "response.created", "response": start},
        {"type": "response.in_progress", "response": start},
        {"type": "response.content_part.added", "output_index": 0, "content_index": 0},
    )
    first = chunks.chunk(created)
    assert first is not None and (first.id, first.choices) == ("resp_1", [])
    assert chunks.chunk(in_progress) is None
    assert chunks.chunk(part) is None
