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
import ssl
import subprocess
import sys
import threading
import time
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
from compactifai._sync_http import SocketTransport
from compactifai.emulator import Emulator

pytestmark = pytest.mark.emulator

MODEL = "cai-mistral-small-3-1-slim"
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


# ---------------------------------------------------------------------------- the sync socket pool


@pytest.fixture(params=["socket", "httpx"])
def sync_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(client_module, "SYNC_BACKEND", request.param)
    return str(request.param)


class RawServer:
    """A loopback server that answers each request with the next scripted raw response.

    Each script entry is the bytes to send back, or None to close the connection without
    answering; ``close_after`` closes the connection after answering.
    """

    def __init__(
        self,
        script: list[bytes | None],
        close_after: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.script = list(script)
        self.close_after = close_after
        self.tls = tls
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.script:
            try:
                conn, _ = self.sock.accept()
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:
                return
            self.connections += 1
            with conn, conn.makefile("rb") as reader:  # both: the fd closes with the last
                while self.script:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = reader.readline()
                        if not line:
                            break
                        head += line
                    if not head:
                        break
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    reader.read(length)
                    answer = self.script.pop(0)
                    if answer is None:
                        break
                    conn.sendall(answer)
                    if self.close_after:
                        break

    def close(self) -> None:
        self.sock.close()


def _chunked(body: bytes, *headers: str, sizes: int = 7) -> bytes:
    head = ["HTTP/1.1 200 OK", "content-type: application/json", "transfer-encoding: chunked"]
    out = ("\r\n".join([*head, *headers]) + "\r\n\r\n").encode()
    for start in range(0, len(body), sizes):
        part = body[start : start + sizes]
        out += f"{len(part):x};ext=1\r\n".encode() + part + b"\r\n"
    return out + b"0\r\nx-trailer: y\r\n\r\n"


def _sync_call(url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("retry_policy", NO_WAIT)
    with CompactifAIClient(base_url=url, api_key="k", **kwargs) as client:
        return client.create_chat_completion(model=MODEL, messages=MESSAGES)


BODY = json.dumps(COMPLETION).encode()


def test_sync_backend_selects_the_transport(sync_backend: str) -> None:
    from compactifai._sync_http import SocketTransport

    client = CompactifAIClient(api_key="k")
    expected = SocketTransport if sync_backend == "socket" else httpx.HTTPTransport
    assert type(client.http_client._transport) is expected
    client.close()


@pytest.mark.parametrize(
    "answer",
    [
        _http_response(BODY),
        _chunked(BODY),
        _http_response(gzip.compress(BODY), "content-encoding: gzip"),
        b"HTTP/1.1 100 Continue\r\n\r\n" + _http_response(BODY),
        # No length, no chunks: the body ends with the connection.
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" + BODY,
    ],
    ids=["content-length", "chunked", "gzip", "100-continue", "close-delimited"],
)
def test_sync_body_framings(sync_backend: str, answer: bytes) -> None:
    server = RawServer([answer], close_after=b"connection: close" in answer)
    try:
        reply = _sync_call(server.url)
    finally:
        server.close()
    assert reply.choices[0].message.content == "zipped"


def test_sync_keep_alive_reuse_and_a_stale_connection(sync_backend: str) -> None:
    # Two answers on one connection, then the server closes it on the next request unanswered
    # (a keep-alive race): the call goes out again on a fresh connection. The socket pool does
    # that itself, without using up one of the client's retries (httpcore needs the retry).
    server = RawServer([_http_response(BODY), _http_response(BODY), None, _http_response(BODY)])
    policy = RetryPolicy(max_retries=0) if sync_backend == "socket" else NO_WAIT
    try:
        with CompactifAIClient(base_url=server.url, api_key="k", retry_policy=policy) as client:
            for _ in range(3):
                reply = client.create_chat_completion(model=MODEL, messages=MESSAGES)
                assert reply.choices[0].message.content == "zipped"
    finally:
        server.close()
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [_http_response(BODY)[:-10], _chunked(BODY)[:40], b"HTTP/1.1 200 OK\r\ncontent-le"],
    ids=["short-body", "short-chunks", "short-head"],
)
def test_sync_truncated_answers_are_connection_errors(sync_backend: str, answer: bytes) -> None:
    server = RawServer([answer], close_after=True)
    try:
        with pytest.raises(APIConnectionError) as info:
            _sync_call(server.url, retry_policy=RetryPolicy(max_retries=0))
    finally:
        server.close()
    assert not isinstance(info.value, APITimeoutError)


def test_sync_connection_refused(sync_backend: str) -> None:
    with pytest.raises(APIConnectionError) as info:
        _sync_call(f"http://127.0.0.1:{_closed_port()}/v1")
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.attempts == 3


def test_sync_read_timeout(sync_backend: str, emu: Emulator) -> None:
    emu.inject_fault("delay", seconds=3, path=CHAT_PATH)
    with CompactifAIClient(
        base_url=emu.base_url, api_key=emu.api_key, timeout=0.3, max_retries=0
    ) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert time.monotonic() - started < 2


def test_sync_stream_dropped_and_abandoned(sync_backend: str, emu: Emulator) -> None:
    with CompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        emu.inject_fault("drop_stream", after_chunks=3, path=CHAT_PATH)
        received: list[Any] = []

        def consume() -> None:
            for chunk in client.stream_chat_completion(model=MODEL, messages=MESSAGES):
                received.append(chunk)

        with pytest.raises(IncompleteStreamError):
            consume()
        assert received
        stream = client.stream_chat_completion(model=MODEL, messages=MESSAGES, max_tokens=200)
        next(iter(stream))
        stream.close()  # type: ignore[attr-defined]
        pool = client.http_client._transport._pool  # type: ignore[attr-defined]
        assert all(c.is_idle() or c.is_closed() for c in pool.connections)
        # The pool still works after both.
        assert client.create_chat_completion(model=MODEL, messages=MESSAGES).choices


# ---------------------------------------------------------------------------- mocks still see requests


def _mock_answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=COMPLETION, request=request)


def test_sync_requests_reach_a_patched_httpx_transport(emu: Emulator) -> None:
    seen: list[httpx.Request] = []

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _mock_answer(request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.HTTPTransport, "handle_request", handle)
        reply = _sync_call(emu.base_url)
    assert reply.choices[0].message.content == "zipped"
    assert len(seen) == 1
    with CompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        reply = client.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert reply.choices[0].message.content != "zipped"  # unpatched again: the socket pool


async def test_async_requests_reach_a_patched_httpx_transport(emu: Emulator, backend: str) -> None:
    seen: list[httpx.Request] = []

    async def handle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _mock_answer(request)

    async with AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
            reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert reply.choices[0].message.content == "zipped"
        assert len(seen) == 1
        reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert reply.choices[0].message.content != "zipped"


# ---------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for a self-signed 127.0.0.1 certificate."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(command, check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=8)


def test_socket_pool_over_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    server = RawServer([_http_response(BODY), _chunked(BODY)], tls=server_context)
    try:
        with httpx.Client(transport=SocketTransport(LIMITS, verify=client_context)) as http:
            for _ in range(2):  # the second request reuses the TLS connection
                assert (
                    http.post(server.url + "/chat/completions", content=b"{}").json() == COMPLETION
                )
    finally:
        server.close()
    assert server.connections == 1
    untrusting = SocketTransport(LIMITS, verify=ssl.create_default_context())
    server = RawServer([_http_response(BODY)], tls=server_context)
    try:
        with httpx.Client(transport=untrusting) as http, pytest.raises(httpx.ConnectError):
            http.get(server.url)
    finally:
        server.close()


async def test_aiohttp_pool_over_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    server = RawServer([_http_response(BODY)], tls=server_context)
    try:
        transport = AiohttpTransport(LIMITS, verify=client_context)
        async with httpx.AsyncClient(transport=transport) as http:
            response = await http.post(server.url + "/chat/completions", content=b"{}")
            assert response.json() == COMPLETION
    finally:
        server.close()


def _sse_answer() -> bytes:
    chunk = {"id": "c1", "model": MODEL, "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    events = f"data: {json.dumps(chunk)}\n\n".encode() * 3 + b"data: [DONE]\n\n"
    return _chunked(events, "content-type: text/event-stream", sizes=40)


def test_sync_streams_reuse_their_connection(sync_backend: str) -> None:
    # The reader stops at [DONE]; the end of the chunked body is already there: the socket pool
    # reads it and keeps the connection (httpx's pool closes it).
    server = RawServer([_sse_answer(), _sse_answer()])
    try:
        with CompactifAIClient(base_url=server.url, api_key="k") as client:
            for _ in range(2):
                chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES))
                assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hihihi"
    finally:
        server.close()
    assert server.connections == (1 if sync_backend == "socket" else 2)
