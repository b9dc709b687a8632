"""A refused model is the same typed error wherever in a stream the refusal arrives, on both
clients: the answer's status before the first item, or an error event after some items.

A model can be withdrawn while a stream runs (models are withdrawn without notice): vLLM and
the gateway then end the stream with an error event carrying the 400 ("Model 'x' not found").
A user catching :class:`ModelNotFoundError` to switch models expects it there too, with the
items before it delivered; any other 400 mid-stream stays a plain :class:`BadRequestError`.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from compactifai import (
    AsyncCompactifAIClient,
    BadRequestError,
    CompactifAIClient,
    ModelCapabilityError,
    ModelNotFoundError,
)
from compactifai.capabilities import refused_model
from compactifai.errors import status_error_from_response
from compactifai.responses import RESPONSES_GATE
from compactifai.types import ModelList

MESSAGES = [{"role": "user", "content": "Hi"}]
SERVED = {
    "object": "list",
    "data": [
        {"id": "hypernova-60b", "object": "model", "capabilities": {"supports_responses": True}},
        {"id": "mistral-small-3-1", "object": "model"},
    ],
}
CHUNK = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "A"}}]}
CREATED = {"type": "response.created", "response": {"id": "resp_1", "output": []}}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"


class Server:
    """Streams ``events`` for any POST; lists ``SERVED`` for ``GET /models``."""

    def __init__(self, *events: dict[str, Any]) -> None:
        self.body = _sse(*events)
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json=SERVED)
        headers = {"content-type": "text/event-stream", "x-request-id": "rid-1"}
        return httpx.Response(200, content=self.body, headers=headers)


async def _read(server: Server, api: str, received: list[Any], asynchronous: bool) -> None:
    """Read one stream of ``api`` to its end (or its error), keeping what arrived."""
    options: dict[str, Any] = {"api_key": "k", "base_url": "http://stream.test/v1"}
    transport = httpx.MockTransport(server)
    if asynchronous:
        async with AsyncCompactifAIClient(
            **options, http_client=httpx.AsyncClient(transport=transport)
        ) as aclient:
            if api == "chat":
                async for chunk in aclient.stream_chat_completion(
                    model="gone-1b", messages=MESSAGES
                ):
                    received.append(chunk)
            else:
                async for event in aclient.stream_response(model="gone-1b", input="Hi"):
                    received.append(event)
        return
    with CompactifAIClient(**options, http_client=httpx.Client(transport=transport)) as client:
        if api == "chat":
            received.extend(client.stream_chat_completion(model="gone-1b", messages=MESSAGES))
        else:
            received.extend(client.stream_response(model="gone-1b", input="Hi"))


def _chat_error(message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "message": message, "code": 400}}


def _responses_error(message: str) -> dict[str, Any]:
    return {"type": "error", "code": "invalid_request_error", "message": message}


STREAMS = {
    "chat": ((CHUNK, CHUNK), _chat_error),
    "responses": ((CREATED,), _responses_error),
}


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("api", sorted(STREAMS))
async def test_a_model_withdrawn_mid_stream_is_the_churn_error(
    api: str, asynchronous: bool
) -> None:
    before, error_event = STREAMS[api]
    server = Server(*before, error_event("Model 'gone-1b' not found"))
    received: list[Any] = []
    with pytest.raises(ModelNotFoundError) as caught:
        await _read(server, api, received, asynchronous)
    assert len(received) == len(before)  # the items before the refusal were delivered
    error = caught.value
    assert not isinstance(error, ModelCapabilityError)
    assert error.model == "gone-1b" and error.status_code == 400
    assert error.available == ["hypernova-60b", "mistral-small-3-1"]  # one GET /models
    assert error.request_id == "rid-1"
    assert isinstance(error.__cause__, BadRequestError)
    assert server.paths[-1] == "/v1/models" and len(server.paths) == 2


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_listed_alternative_mid_stream_costs_no_models_request(asynchronous: bool) -> None:
    server = Server(CHUNK, _chat_error("Model 'gone-1b' not found; available: [a-1, b-2]"))
    received: list[Any] = []
    with pytest.raises(ModelNotFoundError) as caught:
        await _read(server, "chat", received, asynchronous)
    assert caught.value.available == ["a-1", "b-2"]
    assert server.paths == ["/v1/chat/completions"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("api", sorted(STREAMS))
async def test_another_bad_request_mid_stream_stays_a_bad_request(
    api: str, asynchronous: bool
) -> None:
    before, error_event = STREAMS[api]
    server = Server(*before, error_event("Invalid request: the prompt is too long"))
    received: list[Any] = []
    with pytest.raises(BadRequestError) as caught:
        await _read(server, api, received, asynchronous)
    assert not isinstance(caught.value, ModelNotFoundError)
    assert caught.value.message == "Invalid request: the prompt is too long"
    assert len(received) == len(before)
    assert len(server.paths) == 1  # no GET /models for a complaint about something else


# ---------------------------------------------------------------------------- the one decision


def _bad_request(message: str) -> BadRequestError:
    error = status_error_from_response(400, json.dumps(_chat_error(message)).encode(), "rid")
    assert isinstance(error, BadRequestError)
    return error


def test_the_decision_says_when_the_served_models_are_needed() -> None:
    listed = refused_model(_bad_request("Model 'x' not found; available: [a]"), "x")
    assert listed is not None and not listed.needs_listing
    assert listed.typed_error(None).available == ["a"]
    bare = refused_model(_bad_request("Model 'x' not found"), "x")
    assert bare is not None and bare.needs_listing
    assert bare.typed_error(None).available is None  # the listing failed: said so
    assert "could not be listed" in str(bare.typed_error(None))
    assert refused_model(_bad_request("Invalid request: n"), "x") is None


def test_the_decision_on_a_gated_route_names_the_models_that_serve_it() -> None:
    error = _bad_request("Model 'x' does not support the Responses API")
    refusal = refused_model(error, "x", RESPONSES_GATE)
    assert refusal is not None and refusal.needs_listing
    served = ModelList.model_validate(SERVED).data
    typed = refusal.typed_error(served)
    assert isinstance(typed, ModelCapabilityError)
    assert typed.available == ["hypernova-60b"]
    # Without the route, the same words are not about a withdrawn model.
    assert refused_model(error, "x") is None
