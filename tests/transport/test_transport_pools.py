"""The clients' own connection pools: the aiohttp-backed async pool and the plain httpx one.

``AsyncCompactifAIClient`` sends through aiohttp when it is installed (httpcore's pool degrades
badly under concurrency) and through httpx's own pool otherwise; both must behave the same.
Pools the client creates also skip ``httpx.Client.send`` (see ``_BaseClient._direct``): these
tests run the real exchanges against the emulator, on both backends and the sync client.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

import compactifai._client as client_module
from compactifai import (
    APIConnectionError,
    APITimeoutError,
    AsyncCompactifAIClient,
    AuthenticationError,
    CompactifAIClient,
    IncompleteStreamError,
    RetryPolicy,
)
from compactifai._aiohttp import AiohttpTransport
from compactifai.emulator import Emulator

pytestmark = pytest.mark.emulator

MODEL = "cai-llama-3-1-8b-slim"
MESSAGES = [{"role": "user", "content": "Tell me about compression"}]
CHAT_PATH = "/v1/chat/completions"
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(api_keys=("pool-key",)) as emu:
        yield emu


@pytest.fixture
def emu(emulator: Emulator) -> Iterator[Emulator]:
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture(params=["aiohttp", "httpx"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(client_module, "ASYNC_BACKEND", request.param)
    return str(request.param)


@pytest.fixture
async def aclient(emu: Emulator, backend: str) -> AsyncIterator[AsyncCompactifAIClient]:
    async with AsyncCompactifAIClient(
        base_url=emu.base_url, api_key=emu.api_key, retry_policy=NO_WAIT
    ) as client:
        yield client


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------------- which pool


async def test_backend_selects_the_transport(backend: str) -> None:
    client = AsyncCompactifAIClient(api_key="k")
    transport = client.http_client._transport
    expected = AiohttpTransport if backend == "aiohttp" else httpx.AsyncHTTPTransport
    assert type(transport) is expected
    await client.aclose()


async def test_without_aiohttp_the_httpx_pool_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "ASYNC_BACKEND", "aiohttp")
    monkeypatch.setitem(sys.modules, "compactifai._aiohttp", None)  # import fails
    client = AsyncCompactifAIClient(api_key="k")
    assert type(client.http_client._transport) is httpx.AsyncHTTPTransport
    await client.aclose()


async def test_a_callers_client_is_used_as_given(backend: str) -> None:
    theirs = httpx.AsyncClient()
    client = AsyncCompactifAIClient(api_key="k", http_client=theirs)
    assert client.http_client is theirs
    assert not client._direct(theirs)
    await theirs.aclose()


def test_environment_proxies_take_the_ordinary_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = CompactifAIClient(api_key="k")
    assert not client._direct(client.http_client)
    client.close()


# ---------------------------------------------------------------------------- exchanges


async def test_call_stream_and_concurrency(aclient: AsyncCompactifAIClient, emu: Emulator) -> None:
    reply = await aclient.create_chat_completion(model=MODEL, messages=MESSAGES, max_tokens=8)
    assert reply.choices[0].message.content
    assert reply.request_id
    sent = emu.requests[-1].headers
    assert sent["x-request-id"] == reply.request_id
    assert sent["user-agent"].startswith("compactifai-integrations/")
    assert sent["content-type"] == "application/json"
    assert "authorization" not in sent  # the emulator drops it from its log; it was checked

    chunks = [
        c
        async for c in aclient.stream_chat_completion(model=MODEL, messages=MESSAGES, max_tokens=5)
    ]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    replies = await asyncio.gather(
        *(aclient.create_chat_completion(model=MODEL, messages=MESSAGES) for _ in range(64))
    )
    assert all(r.choices[0].message.content for r in replies)


async def test_retry_then_success(aclient: AsyncCompactifAIClient, emu: Emulator) -> None:
    emu.inject_fault("status", status=429, retry_after=0, path=CHAT_PATH)
    reply = await aclient.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert reply.choices[0].message.content
    assert emu.faults == []  # the 429 was answered, then the retry went through


async def test_status_errors_are_typed(emu: Emulator, backend: str) -> None:
    async with AsyncCompactifAIClient(base_url=emu.base_url, api_key="wrong") as client:
        with pytest.raises(AuthenticationError) as info:
            await client.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert info.value.request_id


async def test_connection_refused(backend: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    async with AsyncCompactifAIClient(base_url=url, api_key="k", retry_policy=NO_WAIT) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.attempts == 3


async def test_read_timeout(emu: Emulator, backend: str) -> None:
    emu.inject_fault("delay", seconds=3, path=CHAT_PATH)
    async with AsyncCompactifAIClient(
        base_url=emu.base_url, api_key=emu.api_key, timeout=0.3, max_retries=0
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.create_chat_completion(model=MODEL, messages=MESSAGES)


async def test_dropped_stream_is_incomplete(aclient: AsyncCompactifAIClient, emu: Emulator) -> None:
    emu.inject_fault("drop_stream", after_chunks=3, path=CHAT_PATH)
    received: list[Any] = []

    async def consume() -> None:
        async for chunk in aclient.stream_chat_completion(model=MODEL, messages=MESSAGES):
            received.append(chunk)

    with pytest.raises(IncompleteStreamError):
        await consume()
    assert received


async def test_cookies_set_by_the_caller_are_sent(
    aclient: AsyncCompactifAIClient, emu: Emulator
) -> None:
    aclient.http_client.cookies.set("route", "b", domain="127.0.0.1")
    await aclient.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert emu.requests[-1].headers.get("cookie") == "route=b"


def test_sync_pool_exchanges(emu: Emulator) -> None:
    with CompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        assert client._direct(client.http_client)
        reply = client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert reply.request_id == emu.requests[-1].headers["x-request-id"]
        chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES, max_tokens=5))
        assert chunks
        client.http_client.cookies.set("route", "a", domain="127.0.0.1")
        client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert emu.requests[-1].headers.get("cookie") == "route=a"


# ---------------------------------------------------------------------------- odd servers


async def _one_shot_server(response: bytes) -> tuple[asyncio.AbstractServer, str]:
    """A server that answers every request with the given raw HTTP response."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(response)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1"


def _http_response(body: bytes, *headers: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "content-type: application/json", *headers]
    head.append(f"content-length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


COMPLETION: dict[str, Any] = {
    "id": "c1",
    "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "zipped"}}],
}


async def test_compressed_and_cookie_setting_responses(backend: str) -> None:
    body = gzip.compress(json.dumps(COMPLETION).encode())
    raw = _http_response(body, "content-encoding: gzip", "set-cookie: route=z; Path=/")
    server, url = await _one_shot_server(raw)
    async with server:
        async with AsyncCompactifAIClient(base_url=url, api_key="k") as client:
            reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
            assert reply.choices[0].message.content == "zipped"
            assert client.http_client.cookies.get("route") == "z"
            assert not client._direct(client.http_client)  # cookies: the ordinary path now
