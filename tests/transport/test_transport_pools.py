"""The clients' own connection pools: the aiohttp-backed async pool and httpx's own.

``AsyncCompactifAIClient`` sends through aiohttp when it is installed (httpcore's pool degrades
badly under concurrency) and through httpx's own pool otherwise; both must behave the same.
The sync client uses httpx's own pool. These tests run real exchanges against the emulator
and scripted loopback servers, and count connections on the server side.
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
from collections.abc import AsyncIterator
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
from tests.emulator_fixtures import reset_emulator, running_emulator
from tests.transport.servers import CountingProxy, RawServer, chunked_response, http_response

pytestmark = pytest.mark.emulator

MODEL = "cai-mistral-small-3-1-slim"
MESSAGES = [{"role": "user", "content": "Tell me about compression"}]
CHAT_PATH = "/v1/chat/completions"
NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


emulator = running_emulator(api_keys=("pool-key",))
emu = reset_emulator()


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
    transport = client_module._default_async_transport(client_module.DEFAULT_LIMITS)
    if backend == "aiohttp":
        assert isinstance(transport, AiohttpTransport)
    else:
        assert isinstance(transport, httpx.AsyncHTTPTransport)  # httpx's own pool
    await transport.aclose()


async def test_without_aiohttp_the_httpx_pool_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "ASYNC_BACKEND", "aiohttp")
    monkeypatch.setitem(sys.modules, "compactifai._aiohttp", None)  # import fails
    transport = client_module._default_async_transport(client_module.DEFAULT_LIMITS)
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    await transport.aclose()


async def test_a_callers_client_is_used_as_given(backend: str) -> None:
    theirs = httpx.AsyncClient()
    client = AsyncCompactifAIClient(api_key="k", http_client=theirs)
    assert client.http_client is theirs
    await client.aclose()
    assert not theirs.is_closed
    await theirs.aclose()


def test_environment_proxies_use_httpx_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert client_module._default_async_transport(client_module.DEFAULT_LIMITS) is None


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
        reply = client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert reply.request_id == emu.requests[-1].headers["x-request-id"]
        chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES, max_tokens=5))
        assert chunks
        client.http_client.cookies.set("route", "a", domain="127.0.0.1")
        client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert emu.requests[-1].headers.get("cookie") == "route=a"


# ---------------------------------------------------------------------------- odd servers


COMPLETION: dict[str, Any] = {
    "id": "c1",
    "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "zipped"}}],
}
BODY = json.dumps(COMPLETION).encode()


async def test_compressed_and_cookie_setting_responses(backend: str) -> None:
    body = gzip.compress(BODY)
    raw = http_response(body, "content-encoding: gzip", "set-cookie: route=z; Path=/")
    with RawServer([raw]) as server:
        async with AsyncCompactifAIClient(base_url=server.url, api_key="k") as client:
            reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
            assert reply.choices[0].message.content == "zipped"
            assert client.http_client.cookies.get("route") == "z"


def _sync_call(url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("retry_policy", NO_WAIT)
    with CompactifAIClient(base_url=url, api_key="k", **kwargs) as client:
        return client.create_chat_completion(model=MODEL, messages=MESSAGES)


@pytest.mark.parametrize(
    "answer",
    [
        http_response(BODY),
        chunked_response(BODY),
        http_response(gzip.compress(BODY), "content-encoding: gzip"),
        b"HTTP/1.1 100 Continue\r\n\r\n" + http_response(BODY),
        # No length, no chunks: the body ends with the connection.
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n" + BODY,
    ],
    ids=["content-length", "chunked", "gzip", "100-continue", "close-delimited"],
)
def test_sync_body_framings(answer: bytes) -> None:
    with RawServer([answer], close_after=b"connection: close" in answer) as server:
        reply = _sync_call(server.url)
    assert reply.choices[0].message.content == "zipped"


@pytest.mark.parametrize(
    "answer",
    [http_response(BODY)[:-10], chunked_response(BODY)[:40], b"HTTP/1.1 200 OK\r\ncontent-le"],
    ids=["short-body", "short-chunks", "short-head"],
)
def test_sync_truncated_answers_are_connection_errors(answer: bytes) -> None:
    with RawServer([answer], close_after=True) as server, pytest.raises(APIConnectionError) as info:
        _sync_call(server.url, retry_policy=RetryPolicy(max_retries=0))
    assert not isinstance(info.value, APITimeoutError)


def test_sync_connection_refused() -> None:
    with pytest.raises(APIConnectionError) as info:
        _sync_call(f"http://127.0.0.1:{_closed_port()}/v1")
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.attempts == 3


def test_sync_read_timeout(emu: Emulator) -> None:
    emu.inject_fault("delay", seconds=3, path=CHAT_PATH)
    with CompactifAIClient(
        base_url=emu.base_url, api_key=emu.api_key, timeout=0.3, max_retries=0
    ) as client:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            client.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert time.monotonic() - started < 2


def test_sync_stream_dropped_and_abandoned(emu: Emulator) -> None:
    with (
        CountingProxy(emu.base_url) as proxy,
        CompactifAIClient(base_url=proxy.url, api_key=emu.api_key) as client,
    ):
        emu.inject_fault("drop_stream", after_chunks=3, path=CHAT_PATH)
        received: list[Any] = []

        def consume() -> None:
            for chunk in client.stream_chat_completion(model=MODEL, messages=MESSAGES):
                received.append(chunk)

        with pytest.raises(IncompleteStreamError):
            consume()
        assert received
        emu.inject_fault("stall_stream", after_chunks=2, seconds=3, path=CHAT_PATH)
        stream = client.stream_chat_completion(model=MODEL, messages=MESSAGES, max_tokens=200)
        next(iter(stream))
        stream.close()  # type: ignore[attr-defined]
        assert proxy.wait_open(0) == 0  # neither broken connection went back to the pool
        # The pool still works after both.
        assert client.create_chat_completion(model=MODEL, messages=MESSAGES).choices


# ---------------------------------------------------------------------------- at most 1 + max_retries sends


def _stale_then_answer() -> list[Any]:
    """Two answers on one kept-alive connection, then the server reads the third request and
    closes without answering (a keep-alive race), then answers on a new connection."""
    return [http_response(BODY), http_response(BODY), None, http_response(BODY)]


@pytest.mark.parametrize("retries", [0, 2])
def test_sync_post_on_a_stale_connection_is_sent_once_per_attempt(retries: int) -> None:
    policy = RetryPolicy(max_retries=retries, initial_delay=0.0, max_delay=0.0)
    with (
        RawServer(_stale_then_answer()) as server,
        CompactifAIClient(base_url=server.url, api_key="k", retry_policy=policy) as client,
    ):
        for _ in range(2):
            client.create_chat_completion(model=MODEL, messages=MESSAGES)
        if retries == 0:
            with pytest.raises(APIConnectionError):
                client.create_chat_completion(model=MODEL, messages=MESSAGES)
            assert len(server.requests) == 3  # exactly once: the transport never re-sends a POST
        else:
            client.create_chat_completion(model=MODEL, messages=MESSAGES)
            assert len(server.requests) == 4  # the lost one, then one retry by the policy
            assert server.connections == 2


@pytest.mark.parametrize("retries", [0, 2])
async def test_async_post_on_a_stale_connection_is_sent_once_per_attempt(
    backend: str, retries: int
) -> None:
    policy = RetryPolicy(max_retries=retries, initial_delay=0.0, max_delay=0.0)
    with RawServer(_stale_then_answer()) as server:
        async with AsyncCompactifAIClient(
            base_url=server.url, api_key="k", retry_policy=policy
        ) as client:
            for _ in range(2):
                await client.create_chat_completion(model=MODEL, messages=MESSAGES)
            if retries == 0:
                with pytest.raises(APIConnectionError):
                    await client.create_chat_completion(model=MODEL, messages=MESSAGES)
                assert len(server.requests) == 3
            else:
                await client.create_chat_completion(model=MODEL, messages=MESSAGES)
                assert len(server.requests) == 4
                assert server.connections == 2


@pytest.mark.parametrize("reopened_as", ["own pool", "httpx client"])
async def test_a_retry_after_the_pool_was_closed_goes_out_on_a_new_one(
    emu: Emulator, backend: str, reopened_as: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client is closed while a call waits to retry: the retry opens a new pool and is sent
    once, whether the new pool is the client's own (an aiohttp one takes the request as its
    parts, ``DirectRequest``) or an httpx client (proxies from the environment)."""
    emu.inject_fault("status", status=503, count=1, path=CHAT_PATH)
    policy = RetryPolicy(max_retries=1, initial_delay=0.5, max_delay=0.5)
    client = AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key, retry_policy=policy)
    served = len(emu.requests)
    call = asyncio.create_task(client.create_chat_completion(model=MODEL, messages=MESSAGES))
    for _ in range(500):  # until the 503 is served (the emulator runs in its own thread)
        if not emu.faults:
            break
        await asyncio.sleep(0.01)
    assert not emu.faults
    await asyncio.sleep(0.1)  # and received; the retry waits 0.375-0.5 s
    assert not call.done()
    await client.aclose()
    if reopened_as == "httpx client":
        monkeypatch.setattr(client_module, "_default_async_transport", lambda limits: None)
    reply = await call
    assert reply.choices[0].message.content
    assert len(emu.requests) == served + 1  # the log keeps answered requests, not the 503
    assert (client._own_pool is None) == (reopened_as == "httpx client")
    await client.aclose()


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


async def test_async_requests_reach_a_patched_httpx_transport(emu: Emulator) -> None:
    """Without aiohttp the own pool is httpx's, sent on through its transport's public API
    (``_own_pool``): a mock of that transport (respx's way) sees every request."""
    seen: list[httpx.Request] = []

    async def handle(self: Any, request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _mock_answer(request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client_module, "ASYNC_BACKEND", "httpx")
        async with AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
            patch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle)
            reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
            assert reply.choices[0].message.content == "zipped"
            assert len(seen) == 1
            patch.undo()
            reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
            assert reply.choices[0].message.content != "zipped"


async def test_vcrpy_records_and_replays_the_own_pool(
    emu: Emulator, backend: str, tmp_path: Any
) -> None:
    """vcrpy patches aiohttp's session and httpx's transports: what the client's own pool
    sends (on aiohttp, without an ``httpx.Request``: ``DirectRequest``) is recorded, with the
    request's headers and body, and replayed without the server."""
    from vcr import VCR

    recorder = VCR(filter_headers=["authorization"])
    path = str(tmp_path / "cassette.yaml")
    async with AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
        with recorder.use_cassette(path, record_mode="all") as cassette:
            recorded = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert len(cassette) == 1
        (sent,) = cassette.requests
        assert (sent.method, sent.path) == ("POST", CHAT_PATH)
        assert json.loads(sent.body)["messages"] == MESSAGES
        headers = {name.lower(): value for name, value in sent.headers.items()}
        assert headers["content-type"] == "application/json"
        assert "authorization" not in headers
        assert emu.api_key not in (tmp_path / "cassette.yaml").read_text()
        served = len(emu.requests)
        with recorder.use_cassette(path, record_mode="none") as cassette:
            replayed = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert cassette.play_count == 1
        assert replayed == recorded
        assert len(emu.requests) == served


async def test_a_callers_client_send_sees_every_request(emu: Emulator) -> None:
    seen: list[httpx.Request] = []

    async def send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        seen.append(request)
        return _mock_answer(request)

    async with httpx.AsyncClient() as theirs:
        client = AsyncCompactifAIClient(
            base_url=emu.base_url, api_key=emu.api_key, http_client=theirs
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(httpx.AsyncClient, "send", send)
            reply = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
        assert reply.choices[0].message.content == "zipped"
        assert len(seen) == 1


async def test_vcrpy_records_and_replays_async_calls(
    emu: Emulator, backend: str, tmp_path: Any
) -> None:
    import vcr

    cassette = str(tmp_path / "call.yaml")
    with vcr.use_cassette(cassette, record_mode="all", filter_headers=["authorization"]):
        async with AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
            recorded = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
    served = len(emu.requests)
    with vcr.use_cassette(cassette, record_mode="none", match_on=["method", "path"]):
        async with AsyncCompactifAIClient(base_url=emu.base_url, api_key=emu.api_key) as client:
            replayed = await client.create_chat_completion(model=MODEL, messages=MESSAGES)
    assert replayed.choices[0].message.content == recorded.choices[0].message.content
    assert len(emu.requests) == served  # the replay never reached the server


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


async def test_aiohttp_pool_over_tls(tls: tuple[ssl.SSLContext, ssl.SSLContext]) -> None:
    server_context, client_context = tls
    with RawServer([http_response(BODY), chunked_response(BODY)], tls=server_context) as server:
        transport = AiohttpTransport(LIMITS, verify=client_context)
        async with httpx.AsyncClient(transport=transport) as http:
            for _ in range(2):  # the second request reuses the TLS connection
                response = await http.post(server.url + "/chat/completions", content=b"{}")
                assert response.json() == COMPLETION
    assert server.connections == 1
    with RawServer([http_response(BODY)], tls=server_context) as server:
        untrusting = AiohttpTransport(LIMITS, verify=ssl.create_default_context())
        async with httpx.AsyncClient(transport=untrusting) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(server.url)


def _sse_answer() -> bytes:
    chunk = {"id": "c1", "model": MODEL, "choices": [{"index": 0, "delta": {"content": "hi"}}]}
    events = f"data: {json.dumps(chunk)}\n\n".encode() * 3 + b"data: [DONE]\n\n"
    return chunked_response(events, "content-type: text/event-stream", sizes=40)


def test_sync_streams_reuse_their_connection() -> None:
    # The reader stops at [DONE]; the end of the chunked body (and its trailer) is read too,
    # so the connection goes back to the pool.
    with (
        RawServer([_sse_answer(), _sse_answer()]) as server,
        CompactifAIClient(base_url=server.url, api_key="k") as client,
    ):
        for _ in range(2):
            chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES))
            assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hihihi"
    assert server.connections == 1


async def test_async_streams_reuse_their_connection(backend: str) -> None:
    with RawServer([_sse_answer(), _sse_answer()]) as server:
        async with AsyncCompactifAIClient(base_url=server.url, api_key="k") as client:
            for _ in range(2):
                chunks = [
                    c async for c in client.stream_chat_completion(model=MODEL, messages=MESSAGES)
                ]
                assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hihihi"
    assert server.connections == 1


def _sse_answer_ending_late(sock: socket.socket) -> None:
    """Every event and ``[DONE]``, then the end of the chunked body 3 s later."""
    answer = _sse_answer()
    end = answer.rindex(b"0\r\n")
    sock.sendall(answer[:end])
    time.sleep(3)
    sock.sendall(answer[end:])


def test_sync_stream_waits_a_bounded_time_for_the_end_of_its_body() -> None:
    # The answer is complete at [DONE]: the caller gets it within DRAIN_TIMEOUT, not after the
    # read timeout (30 s) or the server's 3 s, and the connection is closed, never reused.
    with (
        RawServer([_sse_answer_ending_late, _sse_answer()]) as server,
        CompactifAIClient(base_url=server.url, api_key="k", timeout=30) as client,
    ):
        started = time.monotonic()
        chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES))
        assert time.monotonic() - started < client_module.DRAIN_TIMEOUT + 1.5
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hihihi"
        chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES))
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hihihi"
    assert server.connections == 2


def test_sync_streams_start_no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bounding the read of a body's end costs no thread (nor timer) per stream.
    started_here: list[threading.Thread] = []
    start = threading.Thread.start

    def counting_start(thread: threading.Thread) -> None:
        if threading.current_thread() is threading.main_thread():
            started_here.append(thread)
        start(thread)

    with (
        RawServer([_sse_answer()], repeat_last=True) as server,
        CompactifAIClient(base_url=server.url, api_key="k") as client,
    ):
        monkeypatch.setattr(threading.Thread, "start", counting_start)
        for _ in range(50):
            chunks = list(client.stream_chat_completion(model=MODEL, messages=MESSAGES))
            assert "".join(c.choices[0].delta.content or "" for c in chunks) == "hihihi"
        monkeypatch.undo()
    assert started_here == []
    assert server.connections == 1  # and every stream's connection went back to the pool
