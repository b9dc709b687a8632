"""What a caller's input cannot do to a request's shape (issue 26): framing headers are the
HTTP client's to set, and an id is always exactly one path segment.

Each refusal happens before anything is sent: the loopback server must see no connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient, RequestValidationError
from tests.transport.drivers import Driver, Recorder
from tests.transport.servers import RawServer, http_response

MODEL = "hypernova-60b"
MESSAGES = [{"role": "user", "content": "Hi"}]
FRAMING = [
    {"transfer-encoding": "chunked"},
    {"content-length": "5"},
    {"Content-Length": "5"},
    {"Host": "internal.example"},
    {"connection": "upgrade"},
    {"upgrade": "websocket"},
    {"TE": "trailers"},
    {"trailer": "x-checksum"},
    {"expect": "100-continue"},
]


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer([http_response(b"{}")]) as raw:
        yield raw
    assert raw.connections == 0, "a request reached the server"


@pytest.mark.parametrize("headers", FRAMING, ids=lambda h: next(iter(h)))
def test_framing_headers_are_refused_as_default_headers(
    headers: dict[str, str], server: RawServer
) -> None:
    name = next(iter(headers))
    for cls in (CompactifAIClient, AsyncCompactifAIClient):
        with pytest.raises(RequestValidationError) as info:
            cls(api_key="k", base_url=server.url, default_headers=headers)
        assert info.value.field == f"default_headers[{name!r}]"
        assert name in str(info.value)


@pytest.mark.parametrize("headers", FRAMING, ids=lambda h: next(iter(h)))
async def test_framing_headers_are_refused_per_call(
    headers: dict[str, str], server: RawServer, kind: str
) -> None:
    name = next(iter(headers))
    if kind == "sync":
        with CompactifAIClient(api_key="k", base_url=server.url) as client:
            with pytest.raises(RequestValidationError, match=f"extra_headers\\[{name!r}\\]"):
                client.create_chat_completion(model=MODEL, messages=MESSAGES, extra_headers=headers)
        return
    async with AsyncCompactifAIClient(api_key="k", base_url=server.url) as aclient:
        with pytest.raises(RequestValidationError, match=f"extra_headers\\[{name!r}\\]"):
            await aclient.create_chat_completion(
                model=MODEL, messages=MESSAGES, extra_headers=headers
            )


def _langchain(url: str, headers: dict[str, str]) -> Callable[[], Any]:
    from langchain_compactifai import ChatCompactifAI

    return lambda: ChatCompactifAI(
        model=MODEL, api_key="k", base_url=url, default_headers=headers, max_retries=0
    ).invoke("Hi")


def _llama_index(url: str, headers: dict[str, str]) -> Callable[[], Any]:
    from llama_index_compactifai import CompactifAI

    return lambda: CompactifAI(
        model=MODEL, api_key="k", base_url=url, default_headers=headers, max_retries=0
    ).complete("Hi")


@pytest.mark.parametrize("surface", [_langchain, _llama_index], ids=["langchain", "llama-index"])
def test_framework_models_refuse_framing_default_headers(
    surface: Callable[[str, dict[str, str]], Callable[[], Any]], server: RawServer
) -> None:
    with pytest.raises(RequestValidationError, match="default_headers\\['content-length'\\]"):
        surface(server.url, {"content-length": "5"})()


# -- ids in paths -------------------------------------------------------------------------------

BAD_IDS = ["", ".", "..", "%2e%2e", "%2E", "a/b", "a%2Fb", "a\\b", "x?y", "x#y", "a b", " x"]
BAD_IDS += ["tab\there", "nl\n", "nul\0", "del\x7f"]
OPERATIONS = [
    ("retrieve_model", "model_id"),
    ("download_file", "file_id"),
    ("retrieve_batch", "batch_id"),
    ("cancel_batch", "batch_id"),
    ("retrieve_response", "response_id"),
]


@pytest.mark.parametrize(("method", "field"), OPERATIONS)
@pytest.mark.parametrize("bad_id", BAD_IDS)
async def test_an_id_that_is_not_one_path_segment_is_refused(
    method: str, field: str, bad_id: str, kind: str
) -> None:
    recorder = Recorder([])
    driver = Driver(kind, recorder)
    with pytest.raises(RequestValidationError) as info:
        await driver.call(method, bad_id)
    assert info.value.field == field
    assert recorder.requests == []


@pytest.mark.parametrize("model_id", ["glm-5.1", "org:model_v2", "cai-llama-3-1-8b-slim", "..."])
async def test_real_ids_are_sent_as_one_segment(model_id: str, kind: str) -> None:
    model = {"id": model_id, "object": "model", "created": 0, "owned_by": "x"}
    recorder = Recorder([httpx.Response(200, json=model)])
    driver = Driver(kind, recorder)
    assert (await driver.call("retrieve_model", model_id)).id == model_id
    [request] = recorder.requests
    assert request.url.path.rsplit("/", 1)[0].endswith("/v1/models")
    assert request.url.path.rsplit("/", 1)[1] == model_id
    assert httpx.URL(request.url).path.count("/") == 3
