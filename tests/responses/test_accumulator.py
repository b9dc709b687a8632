"""ResponseStreamAccumulator on the event streams servers send: piece by piece, items only
whole, only the final response; each piece delivered once, the whole answer at the end."""

from __future__ import annotations

from typing import Any

from compactifai.responses import (
    ResponseDelta,
    ResponseStreamAccumulator,
    ResponseToolCallDelta,
    input_from_chat_messages,
    responses_body,
    responses_tool,
    usage_dict,
)
from compactifai.types import ResponseStreamEvent, ResponseUsage

MESSAGE = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Paris is in France."}],
}
REASONING = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [],
    "content": [{"type": "reasoning_text", "text": "Think first."}],
}
CALL = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
}
USAGE = {
    "input_tokens": 10,
    "output_tokens": 7,
    "total_tokens": 17,
    "output_tokens_details": {"reasoning_tokens": 3},
}


def event(kind: str, **fields: Any) -> ResponseStreamEvent:
    return ResponseStreamEvent.model_validate({"type": kind, **fields})


def completed(
    *output: dict[str, Any], status: str = "completed", **extra: Any
) -> ResponseStreamEvent:
    response = {
        "id": "resp_1",
        "model": "m",
        "status": status,
        "output": list(output),
        "usage": USAGE,
    }
    return event(f"response.{status}", response={**response, **extra})


def fold(
    events: list[ResponseStreamEvent],
) -> tuple[ResponseStreamAccumulator, list[ResponseDelta]]:
    acc = ResponseStreamAccumulator()
    return acc, [acc.add(e) for e in events]


def test_piece_by_piece() -> None:
    where = {"output_index": 1, "item_id": "msg_1", "content_index": 0}
    acc, deltas = fold(
        [
            event("response.created", response={"id": "resp_1", "model": "m", "output": []}),
            event("response.reasoning_text.delta", output_index=0, item_id="rs_1", delta="Think "),
            event("response.reasoning_text.delta", output_index=0, item_id="rs_1", delta="first."),
            event(
                "response.reasoning_text.done", output_index=0, item_id="rs_1", text="Think first."
            ),
            event("response.output_item.done", output_index=0, item=REASONING),
            event("response.output_text.delta", **where, delta="Paris is "),
            event("response.output_text.delta", **where, delta="in France."),
            event("response.output_text.done", **where, text="Paris is in France."),
            event("response.output_item.done", output_index=1, item=MESSAGE),
            completed(REASONING, MESSAGE),
        ]
    )
    assert [d.reasoning for d in deltas if d.reasoning] == ["Think ", "first."]
    assert [d.text for d in deltas if d.text] == ["Paris is ", "in France."]
    assert acc.text == "Paris is in France." and acc.reasoning == "Think first."
    assert acc.id == "resp_1" and acc.model == "m" and acc.finished
    assert acc.usage is not None and acc.usage.reasoning_tokens == 3
    assert acc.tool_calls == []


def test_items_sent_only_whole_are_delivered_once() -> None:
    acc, deltas = fold(
        [
            event("response.output_item.done", output_index=0, item=REASONING),
            event(
                "response.output_text.done",
                output_index=1,
                content_index=0,
                text="Paris is in France.",
            ),
            event("response.output_item.done", output_index=1, item=MESSAGE),
            completed(REASONING, MESSAGE),
        ]
    )
    assert [(d.text, d.reasoning) for d in deltas] == [
        ("", "Think first."),
        ("Paris is in France.", ""),
        ("", ""),
        ("", ""),
    ]
    assert acc.text == "Paris is in France."


def test_only_the_final_response() -> None:
    acc, [delta] = fold([completed(REASONING, CALL, MESSAGE)])
    assert delta.text == "Paris is in France." and delta.reasoning == "Think first."
    assert delta.tool_calls == (
        ResponseToolCallDelta(0, "call_1", "get_weather", CALL["arguments"]),
    )
    [call] = acc.tool_calls
    assert (call.id, call.name, call.args) == ("call_1", "get_weather", {"city": "Paris"})


def test_function_call_pieces() -> None:
    added = {**CALL, "arguments": ""}
    second = {**CALL, "id": "fc_2", "call_id": "call_2", "name": "get_time", "arguments": "{}"}
    acc, deltas = fold(
        [
            event("response.output_item.added", output_index=0, item=added),
            event(
                "response.function_call_arguments.delta",
                output_index=0,
                item_id="fc_1",
                delta='{"city"',
            ),
            event(
                "response.function_call_arguments.delta",
                output_index=0,
                item_id="fc_1",
                delta=': "Paris"}',
            ),
            event(
                "response.function_call_arguments.done",
                output_index=0,
                item_id="fc_1",
                arguments=CALL["arguments"][:-1] + "}",
            ),
            event("response.output_item.done", output_index=0, item=CALL),
            event("response.output_item.added", output_index=1, item={**second, "arguments": ""}),
            event("response.output_item.done", output_index=1, item=second),
            completed(CALL, second),
        ]
    )
    pieces = [p for d in deltas for p in d.tool_calls]
    assert pieces == [
        ResponseToolCallDelta(0, "call_1", "get_weather", ""),
        ResponseToolCallDelta(0, None, None, '{"city"'),
        ResponseToolCallDelta(0, None, None, ': "Paris"}'),
        ResponseToolCallDelta(1, "call_2", "get_time", ""),
        ResponseToolCallDelta(1, None, None, "{}"),
    ]
    assert [(c.id, c.name, c.args) for c in acc.tool_calls] == [
        ("call_1", "get_weather", {"city": "Paris"}),
        ("call_2", "get_time", {}),
    ]
    assert acc.tool_call_parts[0] == ("call_1", "get_weather", '{"city": "Paris"}')


def test_broken_arguments_are_reported_not_raised() -> None:
    bad = {**CALL, "arguments": '{"city": '}
    acc, _ = fold([completed(bad)])
    [call] = acc.tool_calls
    assert call.args is None and call.error and "not valid JSON" in call.error


def test_incomplete_and_unknown_events() -> None:
    acc, deltas = fold(
        [
            event("response.queued", response={"id": "resp_1", "output": []}),
            event("response.something_new", whatever=[1, 2]),
            event("response.output_text.delta", output_index=0, content_index=0, delta="Par"),
            completed(
                {**MESSAGE, "content": [{"type": "output_text", "text": "Par"}]},
                status="incomplete",
                incomplete_details={"reason": "max_output_tokens"},
            ),
        ]
    )
    assert not deltas[1]
    assert acc.text == "Par" and deltas[-1].text == ""
    assert acc.status == "incomplete" and acc.incomplete_reason == "max_output_tokens"


def test_refusals_are_kept_apart_from_the_text() -> None:
    acc, _ = fold([event("response.refusal.delta", output_index=0, delta="I can't help.")])
    assert acc.refusal == "I can't help." and acc.text == ""
    refused = {**MESSAGE, "content": [{"type": "refusal", "refusal": "No."}]}
    acc, _ = fold([completed(refused)])
    assert acc.refusal == "No." and acc.text == ""
    assert acc.response is not None and acc.response.refusal == "No."


def test_request_mapping_helpers() -> None:
    chat = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AA", "detail": "low"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        {"role": "assistant", "content": "It is sunny."},
    ]
    assert input_from_chat_messages(chat) == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Weather?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "low"},
            ],
        },
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "Sunny"},
        {"role": "assistant", "content": "It is sunny."},
    ]
    tool = responses_tool("w", "Weather.", {"type": "object", "properties": {}})
    assert tool == {
        "type": "function",
        "name": "w",
        "description": "Weather.",
        "parameters": {"type": "object", "properties": {}},
    }
    body = responses_body(
        "hypernova-60b",
        "Hi",
        settings=[
            ("temperature", 0.5),
            ("max_tokens", 99),
            ("reasoning_effort", "low"),
            ("stop", None),
        ],
        extra={"stream_options": {"include_usage": True}},
        overrides={
            "tools": [{"type": "function", "function": {"name": "w"}}],
            "tool_choice": {"type": "function", "function": {"name": "w"}},
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "p", "schema": {"type": "object"}, "strict": True},
            },
        },
    )
    assert body == {
        "model": "hypernova-60b",
        "temperature": 0.5,
        "max_output_tokens": 99,
        "reasoning": {"effort": "low"},
        "tools": [{"type": "function", "name": "w"}],
        "tool_choice": {"type": "function", "name": "w"},
        "text": {
            "format": {
                "type": "json_schema",
                "name": "p",
                "schema": {"type": "object"},
                "strict": True,
            }
        },
        "input": "Hi",
    }
    assert usage_dict(ResponseUsage.model_validate(USAGE)) == {
        "prompt_tokens": 10,
        "completion_tokens": 7,
        "total_tokens": 17,
        "reasoning_tokens": 3,
    }
    assert usage_dict(None) is None
