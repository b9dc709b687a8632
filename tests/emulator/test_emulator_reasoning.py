"""Reasoning models on the emulator, as today's service serves them (service-2026.md §2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from compactifai.emulator import Emulator
from compactifai.emulator.tokenizer import count_tokens

REASONING_MODEL = "hypernova-60b"
PLAIN_MODEL = "cai-mistral-small-3-1-slim"
QUESTION = "Paris is the capital of France. Rome is in Italy. What is the capital of France?"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def chat(http: httpx.Client, **body: Any) -> httpx.Response:
    request = {"model": REASONING_MODEL, "messages": [{"role": "user", "content": QUESTION}]}
    return http.post("/chat/completions", json={**request, **body})


def stream_events(http: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    events = []
    with http.stream(
        "POST",
        "/chat/completions",
        json={
            "model": REASONING_MODEL,
            "messages": [{"role": "user", "content": QUESTION}],
            "stream": True,
            "stream_options": {"include_usage": True},
            **body,
        },
    ) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                events.append(json.loads(line[6:]))
    return events


def test_reasoning_model_answers_with_reasoning_apart_from_the_answer(http: httpx.Client) -> None:
    r = chat(http)
    assert r.status_code == 200
    body = r.json()
    message = body["choices"][0]["message"]
    reasoning, content = message["reasoning"], message["content"]
    assert reasoning and content
    assert "capital of France" in reasoning
    assert reasoning not in content and "The user asks" not in content
    assert "reasoning_content" not in message
    usage = body["usage"]
    reasoning_tokens = usage["completion_tokens_details"]["reasoning_tokens"]
    assert reasoning_tokens == count_tokens(reasoning)
    assert usage["completion_tokens"] == reasoning_tokens + count_tokens(content)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_non_reasoning_model_has_no_reasoning(http: httpx.Client) -> None:
    body = chat(http, model=PLAIN_MODEL).json()
    assert "reasoning" not in body["choices"][0]["message"]
    assert "completion_tokens_details" not in body["usage"]


@pytest.fixture(scope="module")
def old_vllm() -> Iterator[httpx.Client]:
    with (
        Emulator(reasoning_field="reasoning_content") as emu,
        httpx.Client(
            base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}
        ) as http,
    ):
        yield http


def test_reasoning_field_can_be_older_vllms_reasoning_content(old_vllm: httpx.Client) -> None:
    message = chat(old_vllm).json()["choices"][0]["message"]
    assert message["reasoning_content"] and "reasoning" not in message
    events = stream_events(old_vllm)
    deltas = [e["choices"][0]["delta"] for e in events if e["choices"]]
    assert any("reasoning_content" in d for d in deltas)
    assert not any("reasoning" in d for d in deltas)


def test_bad_reasoning_field_is_refused() -> None:
    with pytest.raises(ValueError, match="reasoning_field"):
        Emulator(reasoning_field="thinking")  # type: ignore[arg-type]


def test_stream_sends_reasoning_before_the_answer(http: httpx.Client) -> None:
    whole = chat(http).json()
    events = stream_events(http)
    kinds = []
    reasoning, content = [], []
    for event in events:
        if not event["choices"]:
            continue
        delta = event["choices"][0]["delta"]
        if delta.get("reasoning"):
            kinds.append("reasoning")
            reasoning.append(delta["reasoning"])
        elif delta.get("content"):
            kinds.append("content")
            content.append(delta["content"])
    assert kinds == sorted(kinds, key=lambda k: k != "reasoning")  # all reasoning first
    assert "reasoning" in kinds and "content" in kinds
    message = whole["choices"][0]["message"]
    assert "".join(reasoning) == message["reasoning"]
    assert "".join(content) == message["content"]
    usage = events[-1]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == len(reasoning)


@pytest.mark.parametrize(
    ("model", "effort", "supported"),
    [
        (REASONING_MODEL, "max", "low, medium, high"),
        (REASONING_MODEL, "none", "low, medium, high"),
        ("gpt-oss-120b", "xhigh", "low, medium, high"),
        ("glm-5-1", "low", "none, high"),
        (PLAIN_MODEL, "low", "none"),
    ],
)
def test_unsupported_effort_is_400_naming_the_supported_ones(
    http: httpx.Client, model: str, effort: str, supported: str
) -> None:
    r = chat(http, model=model, reasoning_effort=effort)
    assert r.status_code == 400
    assert r.json() == {
        "error": {
            "type": "invalid_request_error",
            "message": f"Invalid request: Model '{model}' does not support reasoning_effort "
            f"'{effort}'; supported: [{supported}]",
            "param": None,
            "code": None,
        }
    }


def test_unknown_effort_word_is_a_schema_error(http: httpx.Client) -> None:
    r = chat(http, reasoning_effort="extreme")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "reasoning_effort"]


def test_effort_sets_how_much_the_model_thinks(http: httpx.Client) -> None:
    def thinking(effort: str) -> str:
        return str(chat(http, reasoning_effort=effort).json()["choices"][0]["message"]["reasoning"])

    low, medium, high = thinking("low"), thinking("medium"), thinking("high")
    assert len(low) < len(medium) < len(high)
    assert chat(http).json()["choices"][0]["message"]["reasoning"] == medium


def test_reasoning_can_be_turned_off(http: httpx.Client) -> None:
    for body in ({"reasoning_enabled": False}, {"model": "glm-5-1", "reasoning_effort": "none"}):
        r = chat(http, **body)
        assert r.status_code == 200
        message = r.json()["choices"][0]["message"]
        assert message["reasoning"] is None and message["content"]
        assert r.json()["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0
    # Asking a model without reasoning for none of it is fine, and so is the switch.
    assert chat(http, model=PLAIN_MODEL, reasoning_effort="none").status_code == 200
    assert chat(http, model=PLAIN_MODEL, reasoning_enabled=True).status_code == 200


def test_hybrid_model_thinks_by_default(http: httpx.Client) -> None:
    message = chat(http, model="qwen-3-6-27b").json()["choices"][0]["message"]
    assert message["reasoning"] and message["content"]


def test_tool_call_comes_after_reasoning(http: httpx.Client) -> None:
    messages = [{"role": "user", "content": "What is the weather in Madrid?"}]
    body = chat(http, messages=messages, tools=[WEATHER_TOOL]).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Madrid"}
    assert "get_weather" in choice["message"]["reasoning"]
    events = stream_events(http, messages=messages, tools=[WEATHER_TOOL])
    order = [
        "reasoning" if d.get("reasoning") else "tool" if d.get("tool_calls") else "other"
        for e in events
        if e["choices"]
        for d in [e["choices"][0]["delta"]]
    ]
    assert order.index("tool") > max(i for i, k in enumerate(order) if k == "reasoning")


def test_structured_output_keeps_json_in_content(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"capital": {"type": "string"}},
        "required": ["capital"],
    }
    r = chat(
        http,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    message = r.json()["choices"][0]["message"]
    assert set(json.loads(message["content"])) == {"capital"}
    assert "JSON" in message["reasoning"]


def test_transcription_model_is_refused_for_chat(http: httpx.Client) -> None:
    for path, body in (
        ("/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("/completions", {"prompt": "hi"}),
    ):
        r = http.post(path, json={"model": "cai-whisper-large-v3-turbo-slim", **body})
        assert r.status_code == 400
        message = r.json()["error"]["message"]
        assert "does not support chat completions" in message
        assert "/v1/audio/transcriptions" in message


def test_max_tokens_bounds_reasoning_and_answer_together(http: httpx.Client) -> None:
    whole = chat(http).json()
    thinking = whole["usage"]["completion_tokens_details"]["reasoning_tokens"]
    roomy = chat(http, max_tokens=thinking + 2).json()
    assert roomy["usage"]["completion_tokens"] == thinking + 2
    assert roomy["choices"][0]["finish_reason"] == "length"
    assert count_tokens(roomy["choices"][0]["message"]["content"]) == 2
    tight = chat(http, max_completion_tokens=3).json()
    choice = tight["choices"][0]
    assert choice["finish_reason"] == "length" and choice["message"]["content"] == ""
    assert count_tokens(choice["message"]["reasoning"]) == 3
    assert tight["usage"]["completion_tokens"] == 3
    assert tight["usage"]["completion_tokens_details"]["reasoning_tokens"] == 3
    streamed = stream_events(http, max_completion_tokens=3)
    deltas = [e["choices"][0]["delta"] for e in streamed if e["choices"]]
    assert "".join(d.get("reasoning", "") for d in deltas) == choice["message"]["reasoning"]
    assert not any(d.get("content") for d in deltas)
    assert streamed[-1]["usage"]["completion_tokens"] == 3
