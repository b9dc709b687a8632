"""Faults through every public surface, sync and async, against the emulator's fault injection."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import pytest

from compactifai import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    IncompleteStreamError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
)
from compactifai.emulator import Emulator
from tests.reliability.surfaces import MODEL, SURFACES, Surface
from tests.transport.servers import CountingProxy

CHAT_PATH = "/v1/chat/completions"
surfaces = pytest.mark.parametrize("surface", SURFACES, ids=[s.name for s in SURFACES])


def faulted_requests(emu: Emulator, scripted: int) -> int:
    """How many requests a fault scripted for ``scripted`` requests has answered so far."""
    remaining = sum(f["remaining"] for f in emu.faults)
    return scripted - remaining


@surfaces
async def test_429_with_retry_after_is_retried_until_success(
    surface: Surface, emu: Emulator
) -> None:
    emu.inject_fault("status", status=429, retry_after=0, count=2, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key, max_retries=2)
    answer = await surface.invoke(target)
    assert answer  # a real answer came back after two 429s
    assert emu.faults == []  # both scripted 429s were served


@surfaces
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_errors_give_up_after_max_retries_naming_the_attempts(
    surface: Surface, emu: Emulator, status: int
) -> None:
    emu.inject_fault("status", status=status, retry_after=0, count=10, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key, max_retries=2)
    with pytest.raises(InternalServerError) as info:
        await surface.invoke(target)
    assert info.value.status_code == status
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)
    assert info.value.request_id
    assert faulted_requests(emu, 10) == 3


@surfaces
@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, BadRequestError),
    ],
)
async def test_client_errors_are_never_retried(
    surface: Surface, emu: Emulator, status: int, error: type[APIStatusError]
) -> None:
    emu.inject_fault("status", status=status, count=10, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key, max_retries=3)
    with pytest.raises(error) as info:
        await surface.invoke(target)
    assert info.value.status_code == status
    assert faulted_requests(emu, 10) == 1


@surfaces
async def test_wrong_key_is_an_authentication_error_without_the_key(
    surface: Surface, emu: Emulator
) -> None:
    target = surface.build(emu.base_url, "sk-wrong-secret-key-123")
    with pytest.raises(AuthenticationError) as info:
        await surface.invoke(target)
    assert "Token is not associated with a valid user" in str(info.value)
    assert "sk-wrong-secret-key-123" not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@surfaces
async def test_connection_refused_is_a_typed_error_after_retries(surface: Surface) -> None:
    target = surface.build(f"http://127.0.0.1:{_closed_port()}/v1", "key", max_retries=1)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as info:
        await surface.invoke(target)
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.attempts == 2
    assert time.monotonic() - started < 5


@surfaces
async def test_dns_failure_is_a_typed_error(surface: Surface) -> None:
    target = surface.build("http://no-such-host.invalid/v1", "key", max_retries=0)
    with pytest.raises(APIConnectionError):
        await surface.invoke(target)


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A loopback port whose accept queue is full: connecting to it hangs until the timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    port = int(server.getsockname()[1])
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    yield port
    for sock in [*fillers, server]:
        sock.close()


@surfaces
async def test_connect_timeout_is_an_api_timeout_error(
    surface: Surface, unaccepting_port: int
) -> None:
    target = surface.build(
        f"http://127.0.0.1:{unaccepting_port}/v1", "key", max_retries=0, timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await surface.invoke(target)
    assert time.monotonic() - started < 3


@surfaces
async def test_read_timeout_is_an_api_timeout_error_within_the_configured_time(
    surface: Surface, emu: Emulator
) -> None:
    emu.inject_fault("delay", seconds=3, count=None, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key, max_retries=0, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        await surface.invoke(target)
    assert time.monotonic() - started < 2


@surfaces
async def test_stream_stalled_midway_raises_incomplete_after_delivering_chunks(
    surface: Surface, emu: Emulator
) -> None:
    emu.inject_fault("stall_stream", after_chunks=3, seconds=3, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key, max_retries=0, timeout=0.4)
    received: list[str] = []
    started = time.monotonic()
    with pytest.raises(IncompleteStreamError):
        await surface.stream(target, received)
    assert "".join(received)  # what arrived before the stall was delivered
    assert time.monotonic() - started < 2.5


@surfaces
async def test_stream_dropped_midway_raises_incomplete_after_delivering_chunks(
    surface: Surface, emu: Emulator
) -> None:
    emu.inject_fault("drop_stream", after_chunks=3, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key)
    received: list[str] = []
    with pytest.raises(IncompleteStreamError) as info:
        await surface.stream(target, received)
    assert "".join(received)
    assert info.value.chunks_received >= 2
    assert (
        len([r for r in emu.requests if r.path == CHAT_PATH]) == 1
    )  # not retried after data reached the caller


@surfaces
async def test_error_object_inside_a_stream_is_typed(surface: Surface, emu: Emulator) -> None:
    emu.inject_fault("error_in_stream", after_chunks=2, path=CHAT_PATH, message="backend exploded")
    target = surface.build(emu.base_url, emu.api_key)
    received: list[str] = []
    with pytest.raises(InternalServerError, match="backend exploded") as info:
        await surface.stream(target, received)
    assert info.value.request_id


@surfaces
async def test_malformed_json_body_is_typed_with_status_request_id_and_excerpt(
    surface: Surface, emu: Emulator
) -> None:
    emu.inject_fault("malformed", path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key)
    with pytest.raises(APIResponseValidationError) as info:
        await surface.invoke(target)
    assert info.value.status_code == 200
    assert info.value.request_id
    assert info.value.body


@surfaces
async def test_garbage_sse_line_is_typed(surface: Surface, emu: Emulator) -> None:
    emu.inject_fault("malformed", path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key)
    with pytest.raises(APIResponseValidationError) as info:
        await surface.stream(target, [])
    assert info.value.request_id


@surfaces
async def test_html_error_page_from_a_proxy_is_typed(surface: Surface, emu: Emulator) -> None:
    emu.inject_fault("html", status=502, count=None, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key, max_retries=0)
    with pytest.raises(InternalServerError) as info:
        await surface.invoke(target)
    assert info.value.status_code == 502
    assert info.value.request_id
    assert "<" not in info.value.message or len(info.value.message) <= 210


@surfaces
async def test_unexpected_content_type_is_typed(surface: Surface, emu: Emulator) -> None:
    emu.inject_fault("wrong_content_type", path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key)
    with pytest.raises(APIResponseValidationError, match="text/plain") as info:
        await surface.invoke(target)
    assert info.value.request_id


@pytest.mark.parametrize("surface", [s for s in SURFACES if s.is_async], ids=lambda s: s.name)
async def test_cancelling_an_async_call_stops_it_promptly(surface: Surface, emu: Emulator) -> None:
    emu.inject_fault("delay", seconds=5, path=CHAT_PATH)
    target = surface.build(emu.base_url, emu.api_key)
    task = asyncio.ensure_future(surface.invoke(target))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1


async def test_cancelled_async_call_releases_its_connection(emu: Emulator) -> None:
    from compactifai import AsyncCompactifAIClient

    emu.inject_fault("delay", seconds=5, path=CHAT_PATH)
    messages = [{"role": "user", "content": "hi"}]
    with CountingProxy(emu.base_url) as proxy:
        async with AsyncCompactifAIClient(base_url=proxy.url, api_key=emu.api_key) as client:
            task = asyncio.ensure_future(
                client.create_chat_completion(model=MODEL, messages=messages)
            )
            await asyncio.sleep(0.2)
            assert proxy.open_now == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The cancelled exchange's connection is closed, never reused mid-response.
            assert proxy.wait_open(0) == 0
            for _ in range(2):
                assert (await client.create_chat_completion(model=MODEL, messages=messages)).choices
        assert proxy.opened == 2  # the two later calls shared one connection


def _abandoned_stream_params() -> dict[str, object]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Tell me about compression"}],
        "max_tokens": 200,
    }


def test_abandoned_sync_stream_closes_its_response(emu: Emulator) -> None:
    from compactifai import CompactifAIClient

    with (
        CountingProxy(emu.base_url) as proxy,
        CompactifAIClient(base_url=proxy.url, api_key=emu.api_key) as client,
    ):
        emu.inject_fault("stall_stream", after_chunks=2, seconds=3, path=CHAT_PATH)
        stream = client.stream_chat_completion(**_abandoned_stream_params())
        next(iter(stream))
        stream.close()  # type: ignore[attr-defined]
        assert proxy.wait_open(0) == 0  # closed, not returned to the pool half-read
        assert client.create_chat_completion(
            model=MODEL, messages=[{"role": "user", "content": "x"}]
        )


async def test_abandoned_async_stream_closes_its_response(emu: Emulator) -> None:
    from compactifai import AsyncCompactifAIClient

    with CountingProxy(emu.base_url) as proxy:
        async with AsyncCompactifAIClient(base_url=proxy.url, api_key=emu.api_key) as client:
            emu.inject_fault("stall_stream", after_chunks=2, seconds=3, path=CHAT_PATH)
            stream = client.stream_chat_completion(**_abandoned_stream_params())
            await stream.__anext__()
            await stream.aclose()  # type: ignore[attr-defined]
            assert await asyncio.to_thread(proxy.wait_open, 0) == 0
            messages = [{"role": "user", "content": "x"}]
            assert await client.create_chat_completion(model=MODEL, messages=messages)
