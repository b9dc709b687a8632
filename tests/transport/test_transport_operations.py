"""The generic Operation fields every driver handles once: query params, multipart uploads,
raw bodies and downloads into a sink; run against a scripted loopback server."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from compactifai import (
    APIConnectionError,
    AsyncCompactifAIClient,
    CompactifAIClient,
    InternalServerError,
    RetryPolicy,
)
from compactifai._protocol import Operation
from tests.transport.servers import RawServer, http_response

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0, max_delay=0.0)


def _json(content: bytes, request_id: str | None) -> dict[str, Any]:
    return dict(json.loads(content))


def _bytes(content: bytes, request_id: str | None) -> bytes:
    return content


async def _call(kind: str, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
    if kind == "sync":
        with CompactifAIClient(base_url=url, api_key="k", retry_policy=NO_WAIT) as client:
            return getattr(client, method)(*args, **kwargs)
    async with AsyncCompactifAIClient(base_url=url, api_key="k", retry_policy=NO_WAIT) as client:
        return await getattr(client, method)(*args, **kwargs)


def _status(code: int) -> bytes:
    return http_response(b'{"error": {"message": "busy"}}', status=f"{code} Busy")


def _octets(body: bytes) -> bytes:
    head = "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


async def test_query_params_are_sent(kind: str) -> None:
    op = Operation("GET", "/files", _json, params={"limit": 2, "after": "file-1 x"})
    with RawServer([http_response(b'{"ok": true}')]) as server:
        assert await _call(kind, server.url, "_call", op) == {"ok": True}
    request_line = server.requests[0].split(b"\r\n", 1)[0]
    assert request_line == b"GET /v1/files?limit=2&after=file-1+x HTTP/1.1"


async def test_multipart_upload_is_rewound_and_sent_whole_on_a_retry(kind: str) -> None:
    data = b"line one\n" * 1000
    op = Operation(
        "POST",
        "/files",
        _json,
        files={"file": ("batch.jsonl", io.BytesIO(data), "application/jsonl")},
        form={"purpose": "batch"},
    )
    with RawServer([_status(503), http_response(b'{"id": "file-1"}')]) as server:
        assert await _call(kind, server.url, "_call", op) == {"id": "file-1"}
    assert len(server.requests) == 2
    for request in server.requests:  # both attempts carried the whole file and the form field
        head, _, body = request.partition(b"\r\n\r\n")
        assert b"content-type: multipart/form-data; boundary=" in head.lower()
        assert body.count(data) == 1
        assert b'name="purpose"\r\n\r\nbatch' in body
        assert b'filename="batch.jsonl"' in body


async def test_raw_operation_returns_the_bytes_whatever_the_content_type(kind: str) -> None:
    op = Operation("GET", "/files/f/content", _bytes, raw=True)
    with RawServer([_octets(b"\x00\x01binary")]) as server:
        assert await _call(kind, server.url, "_call", op) == b"\x00\x01binary"


async def test_download_streams_into_the_sink_after_a_retry(kind: str) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB
    op = Operation("GET", "/files/f/content", _bytes, raw=True)
    sink = io.BytesIO()
    with RawServer([_status(502), _octets(body)]) as server:
        written = await _call(kind, server.url, "_download", op, sink)
    assert written == len(body)
    assert sink.getvalue() == body
    assert len(server.requests) == 2


async def test_a_download_broken_after_its_first_byte_is_not_retried(kind: str) -> None:
    body = b"x" * 100_000
    op = Operation("GET", "/files/f/content", _bytes, raw=True)
    sink = io.BytesIO()
    with RawServer([_octets(body)[:50_000], _octets(body)], close_after=True) as server:
        with pytest.raises(APIConnectionError, match="download broke after") as info:
            await _call(kind, server.url, "_download", op, sink)
    assert len(server.requests) == 1  # a retry would append the start of the body again
    assert 0 < len(sink.getvalue()) < len(body)
    assert not isinstance(info.value, InternalServerError)
