"""Which model reaches ``/v1/responses``: once this client's server has listed its catalog, a
model it marks without ``supports_responses`` (or does not list) is refused before anything is
sent, with the churn-style error; before that only the bundled table refuses, and the server
decides the rest."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from compactifai import (
    AsyncCompactifAIClient,
    CompactifAIClient,
    ModelCapabilityError,
    ModelNotFoundError,
    _served_catalog,
)
from compactifai.emulator import Emulator

from .conftest import CHAT_ONLY_MODEL, OTHER_KEY, REASONING_MODEL, responses_requests

pytestmark = pytest.mark.emulator

SERVING = ["hypernova-60b", "gpt-oss-120b", "glm-5-1"]
WHISPER = "cai-whisper-large-v3-turbo-slim"


def _sent_to_responses(sent: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in sent if r.url.path.endswith("/responses")]


@pytest.fixture
def sent() -> list[httpx.Request]:
    """Every request the clients below put on the wire (an httpx event hook sees them all)."""
    return []


@pytest.fixture
def watched(emu: Emulator, sent: list[httpx.Request]) -> Iterator[CompactifAIClient]:
    http = httpx.Client(event_hooks={"request": [sent.append]})
    with (
        http,
        CompactifAIClient(
            api_key=emu.api_key, base_url=emu.base_url, max_retries=0, http_client=http
        ) as client,
    ):
        yield client


def test_a_listed_catalog_refuses_a_model_without_the_flag_before_sending(
    watched: CompactifAIClient, emu: Emulator, sent: list[httpx.Request]
) -> None:
    watched.list_models()
    with pytest.raises(ModelCapabilityError) as info:
        watched.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    with pytest.raises(ModelCapabilityError) as streamed:
        watched.stream_response(model=CHAT_ONLY_MODEL, input="Hi")  # at the call
    assert _sent_to_responses(sent) == [] and responses_requests(emu) == []
    for error in (info.value, streamed.value):
        assert error.route == "/v1/responses" and error.model == CHAT_ONLY_MODEL
        assert error.available == SERVING
        assert error.request_id is None and error.attempts == 0
        assert "Responses API models served: hypernova-60b, gpt-oss-120b, glm-5-1" in str(error)
        assert "Refused before sending: its capabilities say supports_responses: false" in str(
            error
        )
    # A model the catalog says serves the route is sent as before.
    assert watched.create_response(model=REASONING_MODEL, input="Hi").output_text
    assert len(_sent_to_responses(sent)) == 1


def test_a_model_missing_from_the_listed_catalog_is_the_churn_error_before_sending(
    watched: CompactifAIClient, emu: Emulator, sent: list[httpx.Request]
) -> None:
    listed = [m.id for m in watched.list_models()]
    with pytest.raises(ModelNotFoundError) as info:
        watched.create_response(model="cai-llama-3-1-8b-slim", input="Hi")
    error = info.value
    assert not isinstance(error, ModelCapabilityError)
    assert error.model == "cai-llama-3-1-8b-slim" and error.available == listed
    assert error.attempts == 0 and error.request_id is None
    assert "not in the catalog this server listed" in str(error)
    assert "Responses API models served: hypernova-60b, gpt-oss-120b, glm-5-1" in str(error)
    assert _sent_to_responses(sent) == [] and responses_requests(emu) == []


def test_the_served_catalog_wins_over_the_bundled_table(
    watched: CompactifAIClient, emu: Emulator, sent: list[httpx.Request]
) -> None:
    """The account's catalog is the truth: a model the table says serves the route is refused
    when the listed catalog says it does not; a flag the catalog leaves out is the table's."""
    emu.serve_catalog(
        {
            "object": "list",
            "data": [
                {"id": REASONING_MODEL, "capabilities": {"supports_responses": False}},
                {"id": "glm-5-1", "capabilities": {}},
            ],
        }
    )
    watched.list_models()
    with pytest.raises(ModelCapabilityError) as info:
        watched.create_response(model=REASONING_MODEL, input="Hi")
    assert info.value.available == ["glm-5-1"]  # the table's supports_responses=True
    assert _sent_to_responses(sent) == []


def test_without_a_listed_catalog_only_the_bundled_table_refuses(
    watched: CompactifAIClient, emu: Emulator, sent: list[httpx.Request]
) -> None:
    with pytest.raises(ModelCapabilityError) as info:
        watched.create_response(model=WHISPER, input="Hi")
    assert info.value.available == SERVING  # the bundled table's serving models
    assert "the bundled model table says supports_responses: false" in str(info.value)
    assert sent == []
    # The table leaves a chat model open and does not know a withdrawn one: both are sent,
    # and the server's 400s become the same errors (naming the models from one listing).
    with pytest.raises(ModelCapabilityError) as refused:
        watched.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    assert refused.value.request_id and refused.value.attempts == 1
    assert refused.value.available == SERVING
    _served_catalog.forget()
    with pytest.raises(ModelNotFoundError) as withdrawn:
        watched.create_response(model="cai-llama-3-1-8b-slim", input="Hi")
    assert withdrawn.value.request_id and withdrawn.value.attempts == 1
    assert len(_sent_to_responses(sent)) == 2


def test_another_accounts_catalog_does_not_decide(
    watched: CompactifAIClient, emu: Emulator, sent: list[httpx.Request]
) -> None:
    with CompactifAIClient(api_key=OTHER_KEY, base_url=emu.base_url, max_retries=0) as other:
        other.list_models()
    with pytest.raises(ModelCapabilityError) as info:
        watched.create_response(model=CHAT_ONLY_MODEL, input="Hi")
    assert info.value.request_id  # the server refused it: this key's catalog was not known
    assert len(_sent_to_responses(sent)) == 1


async def test_the_async_client_refuses_the_same(emu: Emulator) -> None:
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    http = httpx.AsyncClient(event_hooks={"request": [record]})
    async with (
        http,
        AsyncCompactifAIClient(
            api_key=emu.api_key, base_url=emu.base_url, max_retries=0, http_client=http
        ) as aclient,
    ):
        await aclient.list_models()
        with pytest.raises(ModelCapabilityError) as info:
            await aclient.create_response(model=CHAT_ONLY_MODEL, input="Hi")
        assert info.value.available == SERVING and info.value.attempts == 0
        with pytest.raises(ModelCapabilityError):
            aclient.stream_response(model=CHAT_ONLY_MODEL, input="Hi")
        with pytest.raises(ModelNotFoundError, match="not in the catalog"):
            await aclient.create_response(model="whisper-1", input="Hi")
    assert _sent_to_responses(sent) == [] and responses_requests(emu) == []


def _client_refusing(detail: str, catalog: list[dict[str, Any]]) -> CompactifAIClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": catalog})
        return httpx.Response(400, json={"detail": detail}, headers={"x-request-id": "rid-9"})

    return CompactifAIClient(
        api_key="k",
        base_url="http://gate.test/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def test_a_refusal_names_the_serving_models_of_the_catalog_listed_then() -> None:
    """The server refuses a model the listed catalog had no word on: the error lists the
    catalog again (it may have changed) and names those that serve the route now."""
    catalog = [
        {"id": "acme-7b", "capabilities": {}},
        {"id": "acme-70b", "capabilities": {"supports_responses": True}},
    ]
    with _client_refusing("Model 'acme-7b' does not support the Responses API", catalog) as c:
        c.list_models()
        with pytest.raises(ModelCapabilityError) as info:
            c.create_response(model="acme-7b", input="Hi")
    assert info.value.request_id == "rid-9" and info.value.available == ["acme-70b"]
    assert "Server said: Model 'acme-7b' does not support the Responses API" in str(info.value)
