"""The emulator's /v1/responses over plain HTTP: gating, storage per key, previous_response_id,
structured output, tools, reasoning, incomplete answers and the stream's framing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from compactifai.emulator import Emulator
from compactifai.emulator.tokenizer import tokenize

from .conftest import (
    CHAT_ONLY_MODEL,
    FACT,
    HYBRID_MODEL,
    OTHER_KEY,
    PERSON_SCHEMA,
    REASONING_MODEL,
    WEATHER_TOOL,
    person_format,
)

pytestmark = pytest.mark.emulator


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers=_auth(emu.api_key), timeout=10) as c:
        yield c


def _auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _create(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/responses", json=body)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


def _text(payload: dict[str, Any]) -> str:
    return "".join(
        part["text"]
        for item in payload["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def _types(payload: dict[str, Any]) -> list[str]:
    return [item["type"] for item in payload["output"]]


@pytest.mark.parametrize("model", [CHAT_ONLY_MODEL, "cai-whisper-large-v3-turbo-slim"])
def test_models_without_the_capability_get_a_detail_400(http: httpx.Client, model: str) -> None:
    response = http.post("/responses", json={"model": model, "input": "Hi"})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["detail"]
    assert model in body["detail"]
    assert "[hypernova-60b, gpt-oss-120b, glm-5-1]" in body["detail"]


def test_an_unknown_model_gets_the_services_unknown_model_400(http: httpx.Client) -> None:
    response = http.post("/responses", json={"model": "no-such-model", "input": "Hi"})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "Model 'no-such-model' not found; available: [" in message


def test_the_response_object(http: httpx.Client, emu: Emulator) -> None:
    payload = _create(
        http,
        model=REASONING_MODEL,
        input=f"{FACT} When was it completed?",
        instructions="Answer briefly.",
        metadata={"run": "7"},
    )
    assert payload["object"] == "response" and payload["id"].startswith("resp_")
    assert payload["status"] == "completed" and payload["incomplete_details"] is None
    assert payload["completed_at"] >= payload["created_at"]
    assert payload["store"] is False  # the service's default, unlike OpenAI's
    assert payload["instructions"] == "Answer briefly." and payload["metadata"] == {"run": "7"}
    assert payload["reasoning"]["effort"] == "medium"
    assert (payload["tools"], payload["tool_choice"], payload["parallel_tool_calls"]) == (
        [],
        "auto",
        True,
    )
    assert _types(payload) == ["reasoning", "message"]
    reasoning = payload["output"][0]
    [content] = reasoning["content"]
    assert content["type"] == "reasoning_text" and content["text"]
    assert "1889" in _text(payload)
    usage = payload["usage"]
    reasoning_tokens = usage["output_tokens_details"]["reasoning_tokens"]
    assert reasoning_tokens == len(tokenize(content["text"]))
    assert usage["output_tokens"] == reasoning_tokens + len(tokenize(_text(payload)))
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    # The key's usage is in the ledger, the request in the log.
    assert emu.ledger.totals(emu.user_id()) == (usage["input_tokens"], usage["output_tokens"])
    assert emu.requests[-1].body["instructions"] == "Answer briefly."


def test_service_headers(http: httpx.Client) -> None:
    response = http.post(
        "/responses",
        json={"model": REASONING_MODEL, "input": "Hi"},
        headers={"x-request-id": "r-1"},
    )
    assert response.headers["x-request-id"] == "r-1"
    assert response.headers["x-served-by-region"]
    assert int(response.headers["x-envoy-upstream-service-time"]) >= 0


def test_keys_are_checked(emu: Emulator) -> None:
    response = httpx.post(
        f"{emu.base_url}/responses",
        json={"model": REASONING_MODEL, "input": "Hi"},
        headers=_auth("wrong"),
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Token is not associated with a valid user"}


def test_stored_responses_are_readable_by_their_key_only(http: httpx.Client, emu: Emulator) -> None:
    stored = _create(http, model=REASONING_MODEL, input="Hi", store=True)
    assert stored["store"] is True
    again = http.get(f"/responses/{stored['id']}")
    assert again.status_code == 200 and again.json() == stored
    other = httpx.get(f"{emu.base_url}/responses/{stored['id']}", headers=_auth(OTHER_KEY))
    assert other.status_code == 404 and list(other.json()) == ["detail"]
    unstored = _create(http, model=REASONING_MODEL, input="Hi")
    missing = http.get(f"/responses/{unstored['id']}")
    assert missing.status_code == 404 and unstored["id"] in missing.json()["detail"]


def test_previous_response_id_continues_a_stored_conversation(
    http: httpx.Client, emu: Emulator
) -> None:
    first = _create(http, model=HYBRID_MODEL, input="My name is Ada Lovelace.", store=True)
    second = _create(
        http,
        model=HYBRID_MODEL,
        input="What is my name?",
        previous_response_id=first["id"],
        store=True,
    )
    assert "Ada Lovelace" in _text(second)
    assert second["previous_response_id"] == first["id"]
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]
    # The chain goes on through the second turn.
    third = _create(
        http, model=HYBRID_MODEL, input="Repeat my name.", previous_response_id=second["id"]
    )
    assert "Ada Lovelace" in _text(third)
    # Without it, the name is unknown.
    alone = _create(http, model=HYBRID_MODEL, input="What is my name?")
    assert "Ada" not in _text(alone)
    # Another key cannot continue it; an unknown id is refused.
    for key, previous in ((OTHER_KEY, first["id"]), (emu.api_key, "resp_unknown")):
        response = httpx.post(
            f"{emu.base_url}/responses",
            json={"model": HYBRID_MODEL, "input": "Hi", "previous_response_id": previous},
            headers=_auth(key),
        )
        assert response.status_code == 400
        assert previous in response.json()["detail"]


def test_structured_output_follows_the_schema(http: httpx.Client) -> None:
    payload = _create(
        http,
        model=HYBRID_MODEL,
        input='Extract the person: "Ada Lovelace" is 36 years old.',
        text=person_format(),
    )
    value = json.loads(_text(payload))
    jsonschema.validate(value, PERSON_SCHEMA)
    assert value == {"name": "Ada Lovelace", "age": 36}
    assert payload["text"] == person_format()


def test_function_calls_and_their_results(http: httpx.Client) -> None:
    payload = _create(
        http, model=REASONING_MODEL, input="What is the weather in Paris?", tools=[WEATHER_TOOL]
    )
    assert _types(payload) == ["reasoning", "function_call"]
    call = payload["output"][1]
    assert call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["status"] == "completed"
    assert payload["tools"] == [WEATHER_TOOL]

    answer = _create(
        http,
        model=REASONING_MODEL,
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "What is the weather in Paris?"},
            *payload["output"],
            {"type": "function_call_output", "call_id": call["call_id"], "output": "Rainy, 12 C"},
        ],
    )
    assert _types(answer) == ["reasoning", "message"] and "Rainy, 12 C" in _text(answer)

    none = _create(
        http,
        model=REASONING_MODEL,
        input="What is the weather in Paris?",
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    assert _types(none) == ["reasoning", "message"]
    forced = _create(
        http,
        model=REASONING_MODEL,
        input="Hello",
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "name": "get_weather"},
    )
    assert _types(forced)[-1] == "function_call"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        (
            {"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "name": "nope"}},
            "tool_choice",
        ),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"temperature": 3}, "temperature"),
        ({"max_output_tokens": 150_001}, "max_output_tokens"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"input": [{"type": "computer_call"}]}, "input[0].type"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": []}, "input"),
    ],
)
def test_bad_values_are_400s_naming_the_field(
    http: httpx.Client, body: dict[str, Any], param: str
) -> None:
    response = http.post("/responses", json={"model": REASONING_MODEL, "input": "Hi", **body})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("model", "effort", "supported"),
    [
        (REASONING_MODEL, "minimal", "low, medium, high"),
        # ``none`` turns a hybrid model's thinking off on chat, but this route has no word for it.
        (HYBRID_MODEL, "low", "high"),
    ],
)
def test_an_unsupported_effort_is_refused_as_on_chat_naming_this_routes_field(
    http: httpx.Client, model: str, effort: str, supported: str
) -> None:
    # The service's semantic 400 (service-2026.md §7: ``param`` is always null), worded as the
    # chat route's with the field as this route spells it.
    response = http.post(
        "/responses", json={"model": model, "input": "Hi", "reasoning": {"effort": effort}}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "type": "invalid_request_error",
            "message": f"Invalid request: Model '{model}' does not support reasoning.effort "
            f"'{effort}'; supported: [{supported}]",
            "param": None,
            "code": None,
        }
    }


@pytest.mark.parametrize("cap", [None, 20, 50])
@pytest.mark.parametrize("model", [REASONING_MODEL, HYBRID_MODEL])
def test_the_same_answer_costs_the_same_as_on_chat(
    http: httpx.Client, model: str, cap: int | None
) -> None:
    """One accounting for both routes: the same question (the same generated reply) is cut and
    counted alike, whether the cap falls in the reasoning or in the answer."""
    question = "Which is larger, 9.11 or 9.9?"
    chat_limit = {} if cap is None else {"max_tokens": cap}
    chat = http.post(
        "/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": question}], **chat_limit},
    ).json()
    limit = {} if cap is None else {"max_output_tokens": cap}
    answer = _create(http, model=model, input=question, **limit)
    usage, chat_usage = answer["usage"], chat["usage"]
    assert usage["input_tokens"] == chat_usage["prompt_tokens"]
    assert usage["output_tokens"] == chat_usage["completion_tokens"]
    reasoning = chat_usage["completion_tokens_details"]["reasoning_tokens"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == reasoning
    cut = chat["choices"][0]["finish_reason"] == "length"
    assert answer["status"] == ("incomplete" if cut else "completed")
    assert cut == (cap is not None)
    assert (_text(answer) or None) == (chat["choices"][0]["message"]["content"] or None)


def test_reasoning_levels_are_the_models(http: httpx.Client) -> None:
    refused = http.post(
        "/responses",
        json={"model": HYBRID_MODEL, "input": "Hi", "reasoning": {"effort": "low"}},
    )
    assert refused.status_code == 400
    assert "supported: [high]" in refused.json()["error"]["message"]
    low = _create(http, model=REASONING_MODEL, input="Hi there?", reasoning={"effort": "low"})
    high = _create(http, model=REASONING_MODEL, input="Hi there?", reasoning={"effort": "high"})
    assert low["reasoning"]["effort"] == "low"
    low_tokens = low["usage"]["output_tokens_details"]["reasoning_tokens"]
    assert high["usage"]["output_tokens_details"]["reasoning_tokens"] > low_tokens


def test_schema_violations_are_422(http: httpx.Client) -> None:
    response = http.post("/responses", json={"model": REASONING_MODEL})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "input"]


def test_an_answer_cut_by_max_output_tokens_is_incomplete(http: httpx.Client) -> None:
    question = f"{FACT} Where is the Eiffel Tower located?"
    whole = _create(http, model=REASONING_MODEL, input=question)
    reasoning = whole["usage"]["output_tokens_details"]["reasoning_tokens"]
    cut = _create(http, model=REASONING_MODEL, input=question, max_output_tokens=reasoning + 2)
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}
    assert cut["usage"]["output_tokens"] == reasoning + 2
    assert cut["output"][-1]["status"] == "incomplete"
    assert _text(whole).startswith(_text(cut)) and _text(cut) != _text(whole)
    # A budget the thinking uses up leaves no message at all.
    thinking_only = _create(http, model=REASONING_MODEL, input="Hi", max_output_tokens=3)
    assert _types(thinking_only) == ["reasoning"]
    assert thinking_only["status"] == "incomplete"


def _stream(http: httpx.Client, **body: Any) -> tuple[list[str], list[dict[str, Any]]]:
    with http.stream("POST", "/responses", json={**body, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    events = [json.loads(line[len("data: ") :]) for line in lines[:-1]]
    return lines, events


def test_stream_framing_and_event_order(http: httpx.Client) -> None:
    lines, events = _stream(
        http, model=REASONING_MODEL, input=f"{FACT} Where is the Eiffel Tower located?"
    )
    assert all(line.startswith("data: ") for line in lines)  # no event: lines
    assert lines[-1] == "data: [DONE]"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    kinds = [e["type"] for e in events]
    collapsed = [k for i, k in enumerate(kinds) if i == 0 or k != kinds[i - 1]]
    assert collapsed == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[0]["response"]["status"] == "in_progress"
    final = events[-1]["response"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    thought = "".join(e["delta"] for e in events if e["type"] == "response.reasoning_text.delta")
    assert text == _text(final) and "Eiffel Tower" in text
    assert thought == final["output"][0]["content"][0]["text"]
    assert {e["item_id"] for e in events if e["type"] == "response.output_text.delta"} == {
        final["output"][1]["id"]
    }


def test_streamed_function_calls_and_incomplete_answers(http: httpx.Client) -> None:
    _, events = _stream(
        http, model=REASONING_MODEL, input="What is the weather in Paris?", tools=[WEATHER_TOOL]
    )
    final = events[-1]["response"]
    call = final["output"][-1]
    pieces = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(pieces) == call["arguments"]
    [done] = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert (done["name"], done["arguments"], done["item_id"]) == (
        "get_weather",
        call["arguments"],
        call["id"],
    )

    question = f"{FACT} Where is the Eiffel Tower located?"
    whole = _create(http, model=REASONING_MODEL, input=question)
    cap = whole["usage"]["output_tokens_details"]["reasoning_tokens"] + 2
    _, events = _stream(http, model=REASONING_MODEL, input=question, max_output_tokens=cap)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}


def test_a_stored_stream_is_retrievable_and_usage_is_counted(
    http: httpx.Client, emu: Emulator
) -> None:
    _, events = _stream(http, model=REASONING_MODEL, input="Hi", store=True)
    final = events[-1]["response"]
    assert http.get(f"/responses/{final['id']}").json() == final
    usage = final["usage"]
    assert emu.ledger.totals(emu.user_id()) == (usage["input_tokens"], usage["output_tokens"])


def test_faults_apply_to_the_route(http: httpx.Client, emu: Emulator) -> None:
    emu.inject_fault("status", status=503, path="/v1/responses")
    assert (
        http.post("/responses", json={"model": REASONING_MODEL, "input": "Hi"}).status_code == 503
    )
    emu.inject_fault("error_in_stream", after_chunks=2, path="/v1/responses")
    lines, events = _stream(http, model=REASONING_MODEL, input="Hi")
    assert lines[-1] == "data: [DONE]"
    assert events[-1]["type"] == "error" and events[-1]["code"] == "server_error"
    assert len(events) == 3
