"""Header injection: CR, LF or NUL in a header name or value is refused before anything is sent.

A value like ``"bob\\r\\nX-Injected: 1"`` would otherwise add headers, or a whole second
request (request smuggling), to what the server reads. Every surface that takes headers is
checked against a loopback server that must see no connection at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient, RequestValidationError
from tests.transport.servers import RawServer, http_response

MODEL = "hypernova-60b"
MESSAGES = [{"role": "user", "content": "Hi"}]
SMUGGLED = "bob\r\nX-Injected: 1\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x"
BAD_HEADERS: list[dict[str, str]] = [
    {"x-user": SMUGGLED},
    {"x-user": "line\nbreak"},
    {"x-user": "carriage\rreturn"},
    {"x-user": "nul\0byte"},
    {"x-us\r\ner": "v"},
    {"x-user\0": "v"},
    {"x user": "v"},
    {"": "v"},
]
IDS = ["smuggling", "lf", "cr", "nul", "crlf-name", "nul-name", "space-name", "empty-name"]


@pytest.fixture
def server() -> Iterator[RawServer]:
    with RawServer([http_response(b"{}")]) as raw:
        yield raw
    assert raw.connections == 0, "a request reached the server"


@pytest.mark.parametrize("headers", BAD_HEADERS, ids=IDS)
def test_client_default_headers_are_refused_at_construction(
    headers: dict[str, str], server: RawServer
) -> None:
    for cls in (CompactifAIClient, AsyncCompactifAIClient):
        with pytest.raises(RequestValidationError) as info:
            cls(api_key="k", base_url=server.url, default_headers=headers)
        assert info.value.field == f"default_headers[{next(iter(headers))!r}]"
        assert "bob" not in str(info.value)  # the value is never echoed (it may be a secret)


@pytest.mark.parametrize("headers", BAD_HEADERS, ids=IDS)
async def test_per_call_extra_headers_are_refused(
    headers: dict[str, str], server: RawServer, kind: str
) -> None:
    if kind == "sync":
        with CompactifAIClient(api_key="k", base_url=server.url) as client:
            with pytest.raises(RequestValidationError, match="extra_headers"):
                client.create_chat_completion(model=MODEL, messages=MESSAGES, extra_headers=headers)
            with pytest.raises(RequestValidationError, match="extra_headers"):
                list(
                    client.stream_chat_completion(
                        model=MODEL, messages=MESSAGES, extra_headers=headers
                    )
                )
        return
    async with AsyncCompactifAIClient(api_key="k", base_url=server.url) as aclient:
        with pytest.raises(RequestValidationError, match="extra_headers"):
            await aclient.create_chat_completion(
                model=MODEL, messages=MESSAGES, extra_headers=headers
            )
        stream = aclient.stream_chat_completion(
            model=MODEL, messages=MESSAGES, extra_headers=headers
        )
        with pytest.raises(RequestValidationError, match="extra_headers"):
            await stream.__anext__()


def test_an_api_key_with_a_line_break_is_refused_without_showing_it(server: RawServer) -> None:
    with pytest.raises(RequestValidationError, match="api_key") as info:
        CompactifAIClient(api_key="sk-secret\r\nX-Injected: 1", base_url=server.url)
    assert "sk-secret" not in str(info.value)


def test_good_headers_are_sent() -> None:
    with RawServer([http_response(b'{"object": "list", "data": []}')]) as raw:
        with CompactifAIClient(
            api_key="k", base_url=raw.url, default_headers={"X-Team": "ml platform; a=b"}
        ) as client:
            client.list_models()
    assert b"x-team: ml platform; a=b\r\n" in raw.requests[0].lower()


def _langchain_chat(url: str, headers: dict[str, str]) -> Callable[[], Any]:
    from langchain_compactifai import ChatCompactifAI

    return lambda: ChatCompactifAI(
        model=MODEL, api_key="k", base_url=url, default_headers=headers, max_retries=0
    ).invoke("Hi")


def _langchain_chat_async(url: str, headers: dict[str, str]) -> Callable[[], Any]:
    import asyncio

    from langchain_compactifai import ChatCompactifAI

    model = ChatCompactifAI(
        model=MODEL, api_key="k", base_url=url, default_headers=headers, max_retries=0
    )
    return lambda: asyncio.run(model.ainvoke("Hi"))


def _llama_index(url: str, headers: dict[str, str]) -> Callable[[], Any]:
    from llama_index_compactifai import CompactifAI

    return lambda: CompactifAI(
        model=MODEL, api_key="k", base_url=url, default_headers=headers, max_retries=0
    ).complete("Hi")


def _llama_index_stream(url: str, headers: dict[str, str]) -> Callable[[], Any]:
    from llama_index.core.llms import ChatMessage

    from llama_index_compactifai import CompactifAI

    def run() -> Any:
        llm = CompactifAI(model=MODEL, api_key="k", base_url=url, default_headers=headers)
        return list(llm.stream_chat([ChatMessage(role="user", content="Hi")]))

    return run


@pytest.mark.parametrize(
    "surface",
    [_langchain_chat, _langchain_chat_async, _llama_index, _llama_index_stream],
    ids=["langchain-chat", "langchain-chat-async", "llama-index", "llama-index-stream"],
)
@pytest.mark.parametrize("headers", BAD_HEADERS[:4], ids=IDS[:4])
def test_framework_models_refuse_bad_default_headers(
    surface: Callable[[str, dict[str, str]], Callable[[], Any]],
    headers: dict[str, str],
    server: RawServer,
) -> None:
    with pytest.raises(RequestValidationError, match="default_headers"):
        surface(server.url, headers)()
