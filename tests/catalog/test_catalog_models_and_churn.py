"""Today's catalog, capability flags, reasoning fields and errors that survive model churn.

The client side of issue 13: what ``GET /models`` and chat bodies look like on the 2026
service (service-2026.md), read through canned bodies on an in-memory transport.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from compactifai import (
    AsyncCompactifAIClient,
    BadRequestError,
    CompactifAIClient,
    ModelNotFoundError,
    NotFoundError,
    RequestValidationError,
)
from compactifai.catalog import DEFAULT_CHAT_MODEL, KNOWN_MODELS, input_kinds, model_info
from compactifai.chat import StreamAccumulator, chat_body
from compactifai.emulator.catalog import load_catalog
from compactifai.types import ChatCompletion, ChatCompletionChunk, Model, ModelList

RETIRED = (
    "cai-llama-3-1-8b-slim",
    "cai-llama-3-3-70b-slim",
    "llama-3-3-70b",
    "cai-llama-4-scout-slim",
    "llama-4-scout",
    "deepseek-r1-0528",
)
# Today's ids as the emulator's bundled "current" catalog lists them: two sources that agree.
TODAY = tuple(model.id for model in load_catalog("current").models)
MODELS_BODY = {
    "object": "list",
    "data": [
        {
            "id": "hypernova-60b",
            "object": "model",
            "created": 1766448000,
            "owned_by": "multiverse_computing",
            "parameters_number": "60B",
            "capabilities": {
                "supports_audio": False,
                "supports_image": False,
                "supports_function_calling": True,
                "support_chat_completion": True,
                "supports_responses": True,
                "supports_reasoning": True,
            },
        },
        {"id": "mistral-small-3-1", "object": "model", "parameters_number": 24},
        {
            "id": "cai-whisper-large-v3-turbo-slim",
            "object": "model",
            "capabilities": {"supports_chat_completion": False, "supports_audio": True},
        },
    ],
}
UNKNOWN_MODEL_400 = {
    "error": {
        "type": "invalid_request_error",
        "message": "Invalid request: Model 'cai-llama-3-1-8b-slim' not found; available: "
        "[hypernova-60b, gpt-oss-120b, mistral-small-3-1]",
        "param": None,
        "code": None,
    }
}
MESSAGES = [{"role": "user", "content": "Hi"}]


# ---------------------------------------------------------------------------- catalog


def test_the_default_model_is_served_today_and_no_retired_model_is_known() -> None:
    assert DEFAULT_CHAT_MODEL == "hypernova-60b"
    assert len(TODAY) == 12
    assert set(KNOWN_MODELS) == set(TODAY)
    assert not set(RETIRED) & set(KNOWN_MODELS)


def test_catalog_facts_of_the_flagship_and_its_original() -> None:
    slim = model_info("hypernova-60b")
    assert (slim.owned_by, slim.parameters_number, slim.original) == (
        "multiverse_computing",
        "60B",
        "gpt-oss-120b",
    )
    assert slim.is_slim and slim.reasoning and slim.supports_function_calling
    assert slim.reasoning_efforts == ("low", "medium", "high")
    assert model_info("gpt-oss-120b").reasoning_efforts == ("low", "medium", "high")
    assert model_info("cai-mistral-small-3-1-slim").original == "mistral-small-3-1"
    assert model_info("mistral-small-3-1").supports_image is True
    assert model_info("nemotron-3-nano-omni").supports_image is True
    assert model_info("cai-whisper-large-v3-turbo-slim").supports_chat_completion is False


def test_only_known_incapacities_are_refused_client_side() -> None:
    assert input_kinds("hypernova-60b") == {"images": False, "audio": False}
    assert input_kinds("mistral-small-3-1") == {"images": True, "audio": False}
    # Known model, flag the vendor leaves open; unknown model: the server decides.
    assert input_kinds("carina-60b") == {"images": True, "audio": True}
    assert input_kinds("some-model-of-2027") == {"images": True, "audio": True}
    assert model_info("some-model-of-2027").supports_function_calling is None


# ---------------------------------------------------------------------------- model list


def test_capabilities_read_in_the_vendor_shape() -> None:
    hypernova, mistral, whisper = ModelList.model_validate(MODELS_BODY).data
    caps = hypernova.capabilities
    assert caps is not None
    assert caps.supports_chat_completion is True  # from the misspelt support_chat_completion
    assert (caps.supports_function_calling, caps.supports_image, caps.supports_audio) == (
        True,
        False,
        False,
    )
    assert caps.supports_responses is True
    assert caps.supports_reasoning is True  # a flag the client does not know yet is kept
    assert hypernova.parameters_number == "60B"
    assert mistral.capabilities is None
    assert mistral.parameters_number == "24"
    assert whisper.capabilities is not None
    assert whisper.capabilities.supports_chat_completion is False  # the s-spelling too
    assert whisper.capabilities.supports_image is None  # missing flag: unknown, not False


# ---------------------------------------------------------------------------- reasoning fields


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_reasoning_is_read_from_either_field(field: str) -> None:
    completion = ChatCompletion.model_validate(
        {
            "choices": [{"message": {"content": "42", field: "6 times 7"}}],
            "usage": {
                "prompt_tokens": 5,
                "completion_tokens": 9,
                "total_tokens": 0,
                "completion_tokens_details": {"reasoning_tokens": 6},
            },
        }
    )
    assert completion.choices[0].message.reasoning == "6 times 7"
    assert completion.choices[0].message.content == "42"
    assert completion.usage is not None
    assert completion.usage.reasoning_tokens == 6
    assert completion.usage.total == 14  # total_tokens missing (0): the sum
    delta = ChatCompletionChunk.model_validate({"choices": [{"delta": {field: "hm"}}]})
    assert delta.choices[0].delta.reasoning == "hm"


def test_reasoning_prefers_the_2026_field_when_both_are_sent() -> None:
    message = ChatCompletion.model_validate(
        {"choices": [{"message": {"reasoning": "new", "reasoning_content": "old"}}]}
    ).choices[0]
    assert message.message.reasoning == "new"


def test_stream_accumulator_keeps_reasoning_apart_and_parses_calls_once() -> None:
    acc = StreamAccumulator()
    chunks = [
        {"choices": [{"delta": {"reasoning": "Think "}}]},
        {"choices": [{"delta": {"reasoning_content": "more."}}]},
        {"choices": [{"delta": {"content": "An"}}]},
        {"choices": [{"delta": {"content": "swer"}}]},
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}}
            ]
        },
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]}}]},
        {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}}]},
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
    ]
    added = [acc.add(ChatCompletionChunk.model_validate(c)) for c in chunks]
    assert added[:4] == ["", "", "An", "swer"]
    assert acc.text == "Answer"
    assert acc.reasoning == "Think more."
    assert acc.tool_call_parts == [("c1", "f", '{"a": 1}')]
    calls = acc.tool_calls
    assert calls[0].args == {"a": 1}
    assert acc.tool_calls is calls  # parsed once until another delta arrives
    assert acc.finish_reason == "tool_calls"


# ---------------------------------------------------------------------------- request bodies


def test_chat_body_maps_settings_extras_and_overrides_once() -> None:
    body = chat_body(
        "hypernova-60b",
        MESSAGES,
        (("temperature", 0), ("max_tokens", 10), ("stop", []), ("reasoning_effort", "low")),
        {"ignore_eos": True},
        {"max_tokens": 20, "reasoning_enabled": False},
        stream=True,
    )
    assert body == {
        "model": "hypernova-60b",
        "temperature": 0,
        "max_completion_tokens": 20,
        "reasoning_effort": "low",
        "ignore_eos": True,
        "reasoning_enabled": False,
        "messages": MESSAGES,
        "stream_options": {"include_usage": True},
    }
    assert "stream_options" not in chat_body("m", MESSAGES, stream=True, stream_usage=False)
    explicit = chat_body("m", MESSAGES, (("max_completion_tokens", 5), ("max_tokens", 9)))
    assert explicit["max_completion_tokens"] == 5


Handler = Callable[[httpx.Request], httpx.Response]
SETTINGS: dict[str, Any] = {
    "api_key": "sk-test",
    "base_url": "https://api.test.invalid/v1",
    "max_retries": 0,
}


def _client(handler: Handler) -> CompactifAIClient:
    transport = httpx.MockTransport(handler)
    return CompactifAIClient(**SETTINGS, http_client=httpx.Client(transport=transport))


def _async_client(handler: Handler) -> AsyncCompactifAIClient:
    transport = httpx.MockTransport(handler)
    return AsyncCompactifAIClient(**SETTINGS, http_client=httpx.AsyncClient(transport=transport))


def test_an_unknown_reasoning_effort_is_refused_before_sending() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    client = _client(handler)
    with pytest.raises(RequestValidationError) as caught:
        client.create_chat_completion(
            model="hypernova-60b", messages=MESSAGES, reasoning_effort="extreme"
        )
    assert caught.value.field == "reasoning_effort"
    for word in ("none", "low", "medium", "high", "xhigh", "max"):
        assert repr(word) in str(caught.value)
    assert sent == []


def test_the_servers_refusal_of_a_level_is_a_bad_request_with_its_message() -> None:
    message = (
        "Invalid request: Model 'hypernova-60b' does not support reasoning_effort 'max'; "
        "supported: [low, medium, high]"
    )
    body = {"error": {"type": "invalid_request_error", "message": message}}
    client = _client(lambda request: httpx.Response(400, json=body))
    with pytest.raises(BadRequestError) as caught:
        client.create_chat_completion(
            model="hypernova-60b", messages=MESSAGES, reasoning_effort="max"
        )
    assert not isinstance(caught.value, ModelNotFoundError)
    assert caught.value.message == message


# ---------------------------------------------------------------------------- churn


class Server:
    """Answers chats with a 400 (``chat_error``) and ``GET /models`` with ``models``."""

    def __init__(self, chat_error: dict[str, Any], models: httpx.Response | None = None) -> None:
        self.chat_error = chat_error
        self.models = models or httpx.Response(200, json=MODELS_BODY)
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path.endswith("/models"):
            return self.models
        if request.url.path.startswith("/v1/models/"):
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(400, json=self.chat_error)


def test_a_withdrawn_model_names_the_models_the_server_listed() -> None:
    server = Server(UNKNOWN_MODEL_400)
    with pytest.raises(ModelNotFoundError) as caught:
        _client(server).create_chat_completion(model="cai-llama-3-1-8b-slim", messages=MESSAGES)
    error = caught.value
    assert error.model == "cai-llama-3-1-8b-slim"
    assert error.available == ["hypernova-60b", "gpt-oss-120b", "mistral-small-3-1"]
    assert "'cai-llama-3-1-8b-slim'" in str(error) and "hypernova-60b" in str(error)
    assert isinstance(error, BadRequestError) and error.status_code == 400
    assert error.message == UNKNOWN_MODEL_400["error"]["message"]  # the server's own words
    assert server.paths == ["/v1/chat/completions"]  # listed: no extra request


def test_a_withdrawn_model_without_a_list_costs_one_models_request() -> None:
    bare = {"error": {"type": "invalid_request_error", "message": "Model 'gone-1b' not found"}}
    server = Server(bare)
    with pytest.raises(ModelNotFoundError) as caught:
        _client(server).create_completion(model="gone-1b", prompt="Hi")
    assert caught.value.available == [m["id"] for m in MODELS_BODY["data"]]
    assert "available now: hypernova-60b" in str(caught.value)
    assert server.paths == ["/v1/completions", "/v1/models"]


def test_a_withdrawn_model_when_the_list_fails_too() -> None:
    bare = {"error": {"type": "invalid_request_error", "message": "Model 'gone-1b' not found"}}
    server = Server(bare, models=httpx.Response(500, json={"detail": "Unexpected server error"}))
    with pytest.raises(ModelNotFoundError) as caught:
        _client(server).create_chat_completion(model="gone-1b", messages=MESSAGES)
    assert caught.value.available is None
    assert "could not be listed" in str(caught.value)


def test_other_bad_requests_stay_bad_requests() -> None:
    other = {"error": {"type": "invalid_request_error", "message": "Invalid request: n"}}
    server = Server(other)
    with pytest.raises(BadRequestError) as caught:
        _client(server).create_chat_completion(model="hypernova-60b", messages=MESSAGES)
    assert not isinstance(caught.value, ModelNotFoundError)
    assert server.paths == ["/v1/chat/completions"]


def test_a_missing_model_by_id_is_named() -> None:
    with pytest.raises(NotFoundError, match="'llama-4-scout' is not served") as caught:
        _client(Server(UNKNOWN_MODEL_400)).retrieve_model("llama-4-scout")
    assert "Not Found" in str(caught.value)


def test_a_stream_naming_a_withdrawn_model() -> None:
    server = Server(UNKNOWN_MODEL_400)
    chunks = _client(server).stream_chat_completion(
        model="cai-llama-3-1-8b-slim", messages=MESSAGES
    )
    with pytest.raises(ModelNotFoundError, match="available now: hypernova-60b"):
        list(chunks)


async def test_async_chat_and_stream_naming_a_withdrawn_model() -> None:
    bare = {"error": {"type": "invalid_request_error", "message": "Model 'gone-1b' not found"}}
    server = Server(bare)
    client = _async_client(server)
    with pytest.raises(ModelNotFoundError) as caught:
        await client.create_chat_completion(model="gone-1b", messages=MESSAGES)
    assert caught.value.available is not None and "hypernova-60b" in caught.value.available
    with pytest.raises(ModelNotFoundError, match="'gone-1b'"):
        async for _ in client.stream_chat_completion(model="gone-1b", messages=MESSAGES):
            pass
    with pytest.raises(NotFoundError, match="'gone-1b' is not served"):
        await client.retrieve_model("gone-1b")


async def test_async_stream_of_a_served_model_is_unchanged() -> None:
    events = [
        {"choices": [{"delta": {"reasoning": "Hm."}}]},
        {"choices": [{"delta": {"content": "Hi"}, "finish_reason": "stop"}]},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    client = _async_client(
        lambda request: httpx.Response(
            200, content=body.encode(), headers={"content-type": "text/event-stream"}
        )
    )
    acc = StreamAccumulator()
    async for chunk in client.stream_chat_completion(model="hypernova-60b", messages=MESSAGES):
        acc.add(chunk)
    assert (acc.reasoning, acc.text) == ("Hm.", "Hi")


def test_constructing_models_makes_no_request() -> None:
    from langchain_compactifai import ChatCompactifAI
    from llama_index_compactifai import CompactifAI

    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(500))
    ChatCompactifAI(model="gone-1b", http_client=httpx.Client(transport=transport))
    CompactifAI(model="gone-1b", http_client=httpx.Client(transport=transport))
    assert Model(id="x").capabilities is None
    assert sent == []
