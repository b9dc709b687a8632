"""Our client drives the emulator through whole jobs, sync and async."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient
from compactifai.emulator.batches import BatchStore
from compactifai.errors import BadRequestError, NotFoundError, RequestValidationError
from compactifai.types import Batch, FileObject

from .conftest import chat_body

pytestmark = pytest.mark.emulator


def _jsonl(n: int, prefix: str = "q") -> bytes:
    lines = [
        {
            "custom_id": f"{prefix}{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat_body(f"What is {i} plus one?"),
        }
        for i in range(n)
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _wait(client: CompactifAIClient, batch_id: str) -> Batch:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        batch = client.retrieve_batch(batch_id)
        if batch.is_done:
            return batch
        time.sleep(0.01)
    raise AssertionError(f"batch {batch_id} did not finish")


def test_whole_job_sync(client: CompactifAIClient, tmp_path: Path) -> None:
    source = tmp_path / "requests.jsonl"
    source.write_bytes(_jsonl(3))
    uploaded = client.upload_file(source)
    assert isinstance(uploaded, FileObject)
    assert (uploaded.filename, uploaded.purpose, uploaded.bytes) == (
        "requests.jsonl",
        "batch",
        source.stat().st_size,
    )
    assert uploaded.request_id  # the response's x-request-id

    created = client.create_batch(uploaded.id, metadata={"run": "t1"})
    assert created.status == "validating"
    assert created.completion_window == "24h"
    assert created.metadata == {"run": "t1"}
    assert created.expires_at == created.created_at + 24 * 3600

    done = _wait(client, created.id)
    assert done.status == "completed"
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (3, 3)
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    assert done.usage is not None and done.usage.total_tokens > 0
    assert done.output_file_id and done.error_file_id is None

    # The input file comes back byte for byte, as bytes and streamed to a path.
    assert client.download_file(uploaded.id) == source.read_bytes()
    target = tmp_path / "out" / "output.jsonl"
    target.parent.mkdir()
    written = client.download_file(done.output_file_id, target)
    assert written == target.stat().st_size > 0
    assert not (tmp_path / "out" / "output.jsonl.part").exists()
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert sorted(line["custom_id"] for line in lines) == ["q0", "q1", "q2"]
    for line in lines:
        assert line["response"]["status_code"] == 200
        assert line["response"]["body"]["object"] == "chat.completion"
        assert line["error"] is None


def test_download_to_a_file_object(client: CompactifAIClient) -> None:
    uploaded = client.upload_file(io.BytesIO(_jsonl(2)), filename="mem.jsonl")
    sink = io.BytesIO()
    assert client.download_file(uploaded.id, sink) == len(_jsonl(2))
    assert sink.getvalue() == _jsonl(2)


async def test_whole_job_async(aclient: AsyncCompactifAIClient) -> None:
    import asyncio

    uploaded = await aclient.upload_file(_jsonl(4), filename="a.jsonl")
    created = await aclient.create_batch(uploaded.id)
    for _ in range(1000):
        batch = await aclient.retrieve_batch(created.id)
        if batch.is_done:
            break
        await asyncio.sleep(0.01)
    assert batch.status == "completed"
    assert batch.output_file_id is not None
    sink = io.BytesIO()
    assert await aclient.download_file(batch.output_file_id, sink) > 0
    assert len(sink.getvalue().splitlines()) == 4
    assert (await aclient.download_file(batch.output_file_id)) == sink.getvalue()
    page = await aclient.list_batches(limit=1)
    assert [b.id for b in page.data] == [created.id]
    assert [b.id async for b in aclient.iter_batches(limit=1)] == [created.id]


def test_pagination_walks_every_batch_once(client: CompactifAIClient) -> None:
    file_id = client.upload_file(_jsonl(1)).id
    created = [client.create_batch(file_id).id for _ in range(5)]
    first = client.list_batches(limit=2)
    assert first.has_more
    assert [b.id for b in first.data] == created[::-1][:2]  # newest first
    assert (first.first_id, first.last_id) == (first.data[0].id, first.data[-1].id)
    second = client.list_batches(after=first.last_id, limit=2)
    assert [b.id for b in second.data] == created[::-1][2:4]
    last = client.list_batches(after=second.last_id, limit=2)
    assert [b.id for b in last.data] == created[:1] and not last.has_more
    assert [b.id for b in client.iter_batches(limit=2)] == created[::-1]
    with pytest.raises(RequestValidationError, match="limit"):
        client.list_batches(limit=0)
    with pytest.raises(RequestValidationError, match="limit"):
        client.list_batches(limit=101)


def test_cancel_goes_through_cancelling_to_cancelled(
    client: CompactifAIClient, store: BatchStore
) -> None:
    store.configure(request_delay=0.05, concurrency=1)
    batch = client.create_batch(client.upload_file(_jsonl(50)).id)
    while client.retrieve_batch(batch.id).status == "validating":
        time.sleep(0.01)
    cancelling = client.cancel_batch(batch.id)
    assert cancelling.status == "cancelling"
    assert cancelling.cancelling_at is not None
    done = _wait(client, batch.id)
    assert done.status == "cancelled" and done.cancelled_at is not None
    assert done.request_counts is not None and done.request_counts.completed < 50
    with pytest.raises(BadRequestError, match="Cannot cancel a batch with status 'cancelled'"):
        client.cancel_batch(batch.id)


def test_expires_after_the_window_on_a_fast_clock(
    client: CompactifAIClient, store: BatchStore
) -> None:
    # One emulated day per 0.2 real seconds; each request waits 0.05 s, one at a time.
    store.configure(clock=24 * 3600 / 0.2, request_delay=0.05, concurrency=1)
    batch = client.create_batch(client.upload_file(_jsonl(40)).id)
    done = _wait(client, batch.id)
    assert done.status == "expired"
    assert done.expired_at is not None and done.expired_at >= done.expires_at  # type: ignore[operator]
    assert done.error_file_id is not None
    errors = [json.loads(line) for line in client.download_file(done.error_file_id).splitlines()]
    assert errors and {e["error"]["code"] for e in errors} == {"batch_expired"}
    finished = (done.request_counts.completed if done.request_counts else 0) + len(errors)
    assert finished == 40


def test_unknown_ids_are_typed_errors(client: CompactifAIClient) -> None:
    with pytest.raises(NotFoundError, match="File not found"):
        client.download_file("file-nope")
    with pytest.raises(NotFoundError, match="Batch not found"):
        client.retrieve_batch("batch_nope")
    with pytest.raises(BadRequestError, match="input_file_id"):
        client.create_batch("file-nope")
    with pytest.raises(RequestValidationError, match="endpoint"):
        client.create_batch("file-x", endpoint="/v1/nope")
    with pytest.raises(RequestValidationError, match="batch_id"):
        client.retrieve_batch("")
