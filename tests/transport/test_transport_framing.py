"""A broken or hostile server's framing: typed errors, bounded, and the connection never reused.

Each case is scripted byte for byte on a loopback server that keeps the connection open after
its bad answer and answers the next request properly: if the client put the broken connection
back into its pool, the next call would go out on it (one connection seen by the server).
Run on the sync client (httpx/h11) and the async client on both of its pools.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import compactifai._client as client_module
from compactifai import (
    APIConnectionError,
    APITimeoutError,
    AsyncCompactifAIClient,
    CompactifAIClient,
    CompactifAIError,
    RetryPolicy,
)
from tests.transport.servers import RawServer, http_response

MODEL = "hypernova-60b"
MESSAGES = [{"role": "user", "content": "Hi"}]
COMPLETION = {
    "id": "c1",
    "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}}],
}
GOOD = http_response(json.dumps(COMPLETION).encode())
HEAD = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
NO_RETRY = RetryPolicy(max_retries=0)


@pytest.fixture(params=["sync", "async-aiohttp", "async-httpx"])
def flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "async-httpx":
        monkeypatch.setattr(client_module, "ASYNC_BACKEND", "httpx")
    return str(request.param)


async def _calls(flavour: str, url: str, count: int, **kwargs: Any) -> list[Any]:
    """``count`` sequential chat calls on one client; each result or the error it raised."""
    kwargs.setdefault("retry_policy", NO_RETRY)
    kwargs.setdefault("timeout", 2.0)
    results: list[Any] = []
    if flavour == "sync":
        with CompactifAIClient(base_url=url, api_key="k", **kwargs) as client:
            for _ in range(count):
                try:
                    results.append(client.create_chat_completion(model=MODEL, messages=MESSAGES))
                except CompactifAIError as exc:
                    results.append(exc)
        return results
    async with AsyncCompactifAIClient(base_url=url, api_key="k", **kwargs) as aclient:
        for _ in range(count):
            try:
                results.append(await aclient.create_chat_completion(model=MODEL, messages=MESSAGES))
            except CompactifAIError as exc:
                results.append(exc)
    return results


def _chunked_with_size(size: str) -> bytes:
    return f"{HEAD}transfer-encoding: chunked\r\n\r\n{size}\r\n".encode() + b"{" * 40 + b"\r\n"


BROKEN: dict[str, bytes] = {
    "chunk-size-negative": _chunked_with_size("-1"),
    "chunk-size-24-digits": _chunked_with_size("1" + "0" * 23),
    "chunk-size-0x-prefix": _chunked_with_size("0x10"),
    "chunk-size-underscore": _chunked_with_size("1_0"),
    "chunk-size-not-hex": _chunked_with_size("zz"),
    "transfer-coding-obsolete": f"{HEAD}transfer-encoding: compress\r\n\r\n".encode() + b"x" * 40,
    "transfer-coding-gzip-chunked": (
        f"{HEAD}transfer-encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".encode()
    ),
    "content-length-conflict": f"{HEAD}content-length: 10\r\ncontent-length: 200\r\n\r\n".encode()
    + b"0123456789",
    "content-length-not-a-number": f"{HEAD}content-length: 1_0\r\n\r\n0123456789".encode(),
    "header-value-bare-cr": f"{HEAD}x-injected: a\rb\r\ncontent-length: 2\r\n\r\n{{}}".encode(),
    "header-value-nul": f"{HEAD}x-injected: a\0b\r\ncontent-length: 2\r\n\r\n{{}}".encode(),
    "header-name-space": f"{HEAD}x bad: a\r\ncontent-length: 2\r\n\r\n{{}}".encode(),
    "header-too-large": f"{HEAD}x-big: {'a' * 200_000}\r\ncontent-length: 2\r\n\r\n{{}}".encode(),
    "too-many-headers": (
        HEAD + "".join(f"x-h{i}: {i}\r\n" for i in range(20_000)) + "content-length: 2\r\n\r\n{}"
    ).encode(),
    "status-line-garbage": b"HTTP/1.1 2OO OK\r\ncontent-length: 2\r\n\r\n{}",
}


# Refused after a body whose chunked framing was intact: aiohttp may already have put that
# connection back (it is in step), so it may be reused; everywhere else it must not be.
INTACT_FRAMING = {"transfer-coding-gzip-chunked"}


@pytest.mark.parametrize("case", list(BROKEN))
async def test_broken_framing_is_a_typed_error_and_the_connection_is_dropped(
    flavour: str, case: str
) -> None:
    with RawServer([BROKEN[case], GOOD]) as server:
        started = time.monotonic()
        first, second = await _calls(flavour, server.url, 2)
        elapsed = time.monotonic() - started
    assert isinstance(first, CompactifAIError), f"accepted: {first!r}"
    assert isinstance(first, APIConnectionError), repr(first)
    assert elapsed < 10  # bounded: an error, not a wait for more bytes
    assert second.choices[0].message.content == "fine"
    expected = {1, 2} if case in INTACT_FRAMING else {2}
    assert server.connections in expected  # a broken connection is never reused


def _slow_huge_chunk(sock: socket.socket) -> None:
    """Announces a 281 TB chunk and sends a little of it, then nothing (the client gives up)."""
    sock.sendall(_chunked_with_size("FFFFFFFFFFFF")[:-2])
    time.sleep(1.5)


async def test_a_huge_announced_chunk_costs_neither_memory_nor_unbounded_time(
    flavour: str,
) -> None:
    with RawServer([_slow_huge_chunk, GOOD]) as server:
        started = time.monotonic()
        first, second = await _calls(flavour, server.url, 2, timeout=0.5)
        elapsed = time.monotonic() - started
    assert isinstance(first, APITimeoutError), repr(first)
    assert elapsed < 10
    assert second.choices[0].message.content == "fine"
    assert server.connections == 2


# ---------------------------------------------------------------------------- many open files


@pytest.fixture
def many_open_files() -> Iterator[int]:
    """1,100 open file descriptors, so new sockets get numbers above select()'s 1024 limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2048:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        yield len(fds)
    finally:
        for fd in fds:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_keep_alive_holds_with_1100_open_files(flavour: str, many_open_files: int) -> None:
    with RawServer([GOOD], repeat_last=True) as server:
        results = await _calls(flavour, server.url, 5)
    assert all(r.choices[0].message.content == "fine" for r in results)
    assert server.connections == 1


# ---------------------------------------------------------------------------- pool limits


def _answer_after(delay: float) -> Callable[[socket.socket], None]:
    def answer(sock: socket.socket) -> None:
        time.sleep(delay)
        sock.sendall(GOOD)

    return answer


POOL_TIMEOUT = httpx.Timeout(5.0, connect=0.2, pool=0.3)


async def test_max_connections_and_the_pool_timeout_are_enforced(flavour: str) -> None:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    kwargs: dict[str, Any] = {"limits": limits, "timeout": POOL_TIMEOUT, "retry_policy": NO_RETRY}
    with RawServer([_answer_after(1.5)], repeat_last=True) as server:
        if flavour == "sync":
            with CompactifAIClient(base_url=server.url, api_key="k", **kwargs) as client:
                outcomes: list[Any] = []

                def call() -> None:
                    try:
                        outcomes.append(
                            client.create_chat_completion(model=MODEL, messages=MESSAGES)
                        )
                    except CompactifAIError as exc:
                        outcomes.append(exc)

                threads = [threading.Thread(target=call) for _ in range(3)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=20)
        else:
            async with AsyncCompactifAIClient(base_url=server.url, api_key="k", **kwargs) as ac:
                outcomes = await asyncio.gather(
                    *(ac.create_chat_completion(model=MODEL, messages=MESSAGES) for _ in range(3)),
                    return_exceptions=True,
                )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], APITimeoutError), outcomes
    assert server.connections == 2


# ---------------------------------------------------------------------------- body sizes


async def test_an_oversized_json_answer_is_refused_not_buffered(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compactifai import APIResponseValidationError

    monkeypatch.setattr("compactifai._protocol.RESPONSE_BODY_LIMIT", 100_000)
    huge = http_response(b'{"id": "' + b"x" * 1_000_000 + b'"}')
    with RawServer([huge, GOOD]) as server:
        first, second = await _calls(flavour, server.url, 2)
    assert isinstance(first, APIResponseValidationError), repr(first)
    assert "larger than 100000 bytes" in str(first)
    assert second.choices[0].message.content == "fine"
    assert server.connections == 2


async def test_an_oversized_error_body_gives_its_message_and_is_not_read_whole(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from compactifai import BadRequestError

    monkeypatch.setattr("compactifai._protocol.ERROR_BODY_LIMIT", 10_000)
    body = b"<html>" + b"proxy page " * 200_000
    with RawServer([http_response(body, status="400 Bad Request"), GOOD]) as server:
        first, second = await _calls(flavour, server.url, 2)
    assert isinstance(first, BadRequestError), repr(first)
    assert first.message.startswith("<html>proxy page")
    assert second.choices[0].message.content == "fine"
    assert server.connections == 2  # the unread rest of the body: the connection is dropped
