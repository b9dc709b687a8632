"""Configuration, request building and response mapping of both clients."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import httpx
import pytest

from compactifai import (
    DEFAULT_BASE_URL,
    AsyncCompactifAIClient,
    CompactifAIClient,
    MissingAPIKeyError,
    RequestValidationError,
    __version__,
)
from compactifai.types import ChatCompletion, Completion, Model, UsageReport
from tests.transport.conftest import Make
from tests.transport.drivers import BASE_URL, CHAT, CHAT_COMPLETION, KEY, Driver, Recorder

MODELS = {
    "object": "list",
    "data": [
        {"id": "cai-llama-3-1-8b-slim", "created": 1749600000, "object": "model",
         "owned_by": "multiverse_computing", "parameters_number": "3.28B"},
        {"id": "llama-3-1-8b", "created": 1749600000, "object": "model", "owned_by": "meta",
         "parameters_number": "8B", "supports_function_calling": True},
    ],
}  # fmt: skip


def ok(body: object, request_id: str = "req-1") -> httpx.Response:
    return httpx.Response(200, json=body, headers={"x-request-id": request_id})


# ---------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("cls", [CompactifAIClient, AsyncCompactifAIClient])
def test_key_and_base_url_fall_back_to_env(monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "env-key")
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "https://api-eu.compactif.ai/v1/")
    client = cls()
    assert client.has_api_key
    assert client.base_url == "https://api-eu.compactif.ai/v1"


@pytest.mark.parametrize("cls", [CompactifAIClient, AsyncCompactifAIClient])
def test_defaults_without_env(monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    monkeypatch.delenv("COMPACTIFAI_BASE_URL", raising=False)
    client = cls()  # constructing without a key works
    assert not client.has_api_key
    assert client.base_url == DEFAULT_BASE_URL == "https://api.compactif.ai/v1"
    assert client.max_retries == 2
    assert client.timeout == httpx.Timeout(60.0)


async def test_missing_key_fails_at_request_time_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, make: Make
) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    driver, recorder = make(ok(MODELS), api_key=None)
    with pytest.raises(MissingAPIKeyError, match="COMPACTIFAI_API_KEY"):
        await driver.call("list_models")
    assert recorder.requests == []


@pytest.mark.parametrize("cls", [CompactifAIClient, AsyncCompactifAIClient])
def test_repr_and_str_never_show_the_key(cls: type) -> None:
    client = cls(api_key=KEY)
    assert KEY not in repr(client)
    assert KEY not in str(client)
    assert KEY not in repr(vars(client))


# ---------------------------------------------------------------------------- request headers


async def test_every_request_carries_auth_user_agent_and_a_fresh_request_id(make: Make) -> None:
    driver, recorder = make(ok(MODELS))
    await driver.call("list_models")
    await driver.call("list_models")
    first, second = recorder.requests
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.headers["user-agent"].startswith(f"compactifai-integrations/{__version__} ")
    assert first.url == f"{BASE_URL}/models"
    assert first.headers["x-request-id"] and second.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_caller_request_id_and_headers_are_kept(make: Make) -> None:
    driver, recorder = make(ok(CHAT_COMPLETION), default_headers={"x-app-id": "my-app"})
    await driver.call("create_chat_completion", extra_headers={"X-Request-Id": "mine-1"}, **CHAT)
    sent = recorder.requests[0]
    assert sent.headers["x-request-id"] == "mine-1"
    assert sent.headers["x-app-id"] == "my-app"
    assert sent.headers["content-type"] == "application/json"


async def test_default_headers_cannot_replace_the_key(make: Make) -> None:
    driver, recorder = make(ok(MODELS), default_headers={"Authorization": "Bearer other"})
    await driver.call("list_models")
    assert recorder.requests[0].headers["authorization"] == f"Bearer {KEY}"


# ---------------------------------------------------------------------------- endpoints


async def test_list_models_returns_typed_models(make: Make) -> None:
    driver, recorder = make(ok(MODELS))
    models = await driver.call("list_models")
    assert [m.id for m in models] == ["cai-llama-3-1-8b-slim", "llama-3-1-8b"]
    assert all(isinstance(m, Model) for m in models)
    assert models[0].parameters_number == "3.28B"
    assert models[0].owned_by == "multiverse_computing"
    assert models[1].supports_function_calling is True  # extra field kept
    assert recorder.requests[0].method == "GET"


async def test_retrieve_model_quotes_the_id(make: Make) -> None:
    driver, recorder = make(
        ok({"id": "cai-llama-3-1-8b-slim", "created": 1749600000, "owned_by": "m"})
    )
    model = await driver.call("retrieve_model", "cai-llama-3-1-8b-slim")
    assert model.id == "cai-llama-3-1-8b-slim" and model.created == 1749600000
    assert model.request_id == "req-1"
    await driver.call("retrieve_model", "org:model@v1")  # "/" and spaces are refused instead
    assert recorder.requests[1].url.raw_path == b"/v1/models/org%3Amodel%40v1"


async def test_chat_completion_maps_response_and_sends_only_set_fields(make: Make) -> None:
    driver, recorder = make(ok(CHAT_COMPLETION, "req-42"))
    reply = await driver.call("create_chat_completion", temperature=0.7, max_tokens=150, **CHAT)
    assert isinstance(reply, ChatCompletion)
    assert reply.choices[0].message.content == "AI is the simulation of intelligence."
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None and reply.usage.total_tokens == 87
    assert reply.request_id == "req-42"
    assert reply.choices[0].stop_reason is None  # vLLM's extra field is tolerated
    assert recorder.bodies[0] == {**CHAT, "temperature": 0.7, "max_tokens": 150}


async def test_chat_completion_with_tools_and_json_schema(make: Make) -> None:
    tool_reply = {
        **CHAT_COMPLETION,
        "choices": [{
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": None, "tool_calls": [{
                "id": "chatcmpl-tool-abc", "type": "function",
                "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
            }]},
        }],
    }  # fmt: skip
    driver, recorder = make(ok(tool_reply))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]  # fmt: skip
    reply = await driver.call(
        "create_chat_completion",
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": {"type": "object"}, "strict": True},
        },
        stream_options={"include_usage": True},
        reasoning_effort="low",
        **CHAT,
    )
    call = reply.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "chatcmpl-tool-abc", "get_weather", {"location": "Paris"},
    )  # fmt: skip
    body = recorder.bodies[0]
    assert body["tools"] == tools
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["response_format"]["json_schema"] == {
        "name": "w",
        "schema": {"type": "object"},
        "strict": True,
    }
    assert body["reasoning_effort"] == "low"


async def test_all_roles_and_content_parts_are_accepted(make: Make) -> None:
    driver, recorder = make(ok(CHAT_COMPLETION))
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "system", "content": [{"type": "text", "text": "You help."}]},
        {"role": "user", "name": "ana", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "42"},
        {"role": "function", "name": "f", "content": "42"},
    ]  # fmt: skip
    await driver.call("create_chat_completion", model="m", messages=messages)
    assert recorder.bodies[0]["messages"][2]["content"][1]["image_url"]["url"].startswith("data:")
    assert [m["role"] for m in recorder.bodies[0]["messages"]] == [
        "developer", "system", "user", "assistant", "tool", "function",
    ]  # fmt: skip


async def test_completion(make: Make) -> None:
    body = {
        "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
        "choices": [{"text": "\n\nSilicon dreams", "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 6, "completion_tokens": 101, "total_tokens": 107},
    }  # fmt: skip
    driver, recorder = make(ok(body))
    result = await driver.call(
        "create_completion", model="m", prompt=["a", "b"], max_tokens=150, top_p=0.9
    )
    assert isinstance(result, Completion)
    assert result.choices[0].text == "\n\nSilicon dreams"
    assert result.usage is not None and result.usage.completion_tokens == 101
    assert recorder.requests[0].url.path == "/v1/completions"
    assert recorder.bodies[0] == {
        "model": "m",
        "prompt": ["a", "b"],
        "max_tokens": 150,
        "top_p": 0.9,
    }


async def test_get_usage_sends_the_documented_body_and_reads_rows(make: Make) -> None:
    report = {
        "data": [{
            "groupBy": {"model": "cai-llama-3-1-8b-slim"}, "user_id": "customer-1",
            "input_token": 123, "output_token": 456,
            "windowStart": "2025-05-07T14:00:00Z", "windowEnd": "2025-05-07T15:00:00Z",
        }],
        "start_time": "2025-04-08T00:00:00Z", "end_time": "2025-05-09T00:00:00Z", "window_size": "HOUR",
    }  # fmt: skip
    driver, recorder = make(ok(report))
    result = await driver.call(
        "get_usage",
        datetime(2025, 4, 8, tzinfo=timezone.utc),
        "2025-05-09T00:00:00Z",
        window_size="HOUR",
        group_by=["model"],
        filter_group_by={"model": ["cai-llama-3-1-8b-slim"]},
    )
    assert isinstance(result, UsageReport)
    row = result.data[0]
    assert (row.group_by, row.user_id, row.input_token, row.output_token) == (
        {"model": "cai-llama-3-1-8b-slim"}, "customer-1", 123, 456,
    )  # fmt: skip
    assert row.window_start == datetime(2025, 5, 7, 14, tzinfo=timezone.utc)
    assert recorder.requests[0].url.path == "/v1/usage/completions"
    assert recorder.bodies[0] == {
        "start_time": "2025-04-08T00:00:00Z",
        "end_time": "2025-05-09T00:00:00Z",
        "window_size": "HOUR",
        "window_timezone": "UTC",
        "group_by": ["model"],
        "filter_group_by": {"model": ["cai-llama-3-1-8b-slim"]},
    }


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"n": 2}, "n"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"model": None}, "model"),
        ({"model": ""}, "model"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]},
         "tools[0].function.parameters"),
        ({"seed": object()}, "seed"),
    ],
)  # fmt: skip
async def test_bad_chat_input_is_rejected_before_sending(
    make: Make, change: dict[str, object], field: str
) -> None:
    driver, recorder = make(ok(CHAT_COMPLETION))
    params = {**CHAT, **change}
    if params["model"] is None:
        del params["model"]
    with pytest.raises(RequestValidationError) as info:
        await driver.call("create_chat_completion", **params)
    assert info.value.field == field
    assert f"'{field}'" in str(info.value)
    assert recorder.requests == []
    with pytest.raises(RequestValidationError):
        await driver.stream(**params)
    assert recorder.requests == []


async def test_bad_usage_and_completion_input_is_rejected(make: Make) -> None:
    driver, recorder = make(ok({}))
    with pytest.raises(RequestValidationError, match="window_size"):
        await driver.call("get_usage", "2025-01-01T00:00:00Z", window_size="WEEK")
    with pytest.raises(RequestValidationError, match="start_time"):
        await driver.call("get_usage", "2025-01-01T00:00:00")  # no time zone
    with pytest.raises(RequestValidationError, match="prompt"):
        await driver.call("create_completion", model="m", prompt=[])
    with pytest.raises(RequestValidationError, match="model_id"):
        await driver.call("retrieve_model", "")
    assert recorder.requests == []


# ---------------------------------------------------------------------------- lifecycle


def test_sync_client_closes_its_own_pool_but_not_the_callers() -> None:
    recorder = Recorder([ok(MODELS)])
    theirs = httpx.Client(transport=httpx.MockTransport(recorder))
    with CompactifAIClient(api_key=KEY, http_client=theirs) as client:
        client.list_models()
    assert not theirs.is_closed
    own = CompactifAIClient(api_key=KEY)
    pool = own.http_client
    own.close()
    assert pool.is_closed


async def test_async_client_closes_its_own_pool_but_not_the_callers() -> None:
    recorder = Recorder([ok(MODELS)])
    theirs = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with AsyncCompactifAIClient(api_key=KEY, http_client=theirs) as client:
        await client.list_models()
    assert not theirs.is_closed
    own = AsyncCompactifAIClient(api_key=KEY)
    pool = own.http_client
    await own.aclose()
    assert pool.is_closed
    await theirs.aclose()


def test_plain_http_to_a_remote_host_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="compactifai"):
        CompactifAIClient(api_key=KEY, base_url="http://gateway.example.invalid/v1")
        CompactifAIClient(api_key=KEY, base_url="http://gateway.example.invalid/v1")
        CompactifAIClient(api_key=KEY, base_url="http://127.0.0.1:8080/v1")
        CompactifAIClient(api_key=KEY, base_url="http://localhost:8080/v1")
    warnings = [r for r in caplog.records if "unencrypted" in r.getMessage()]
    assert len(warnings) == 1
    assert KEY not in caplog.text


async def test_debug_logs_never_contain_the_key(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    driver, _ = make(ok(MODELS))
    with caplog.at_level(logging.DEBUG):
        await driver.call("list_models")
    assert "GET /v1/models -> 200" in caplog.text
    assert KEY not in caplog.text


def test_driver_kinds_are_distinct() -> None:
    assert isinstance(Driver("sync", Recorder([ok(MODELS)])).client, CompactifAIClient)
    assert isinstance(Driver("async", Recorder([ok(MODELS)])).client, AsyncCompactifAIClient)
