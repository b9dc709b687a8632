"""The emulator's batch engine: validation, limits, background processing, same answers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from compactifai import CompactifAIClient
from compactifai.emulator import Emulator
from compactifai.emulator import batches as emulated
from compactifai.emulator.batches import BatchStore
from compactifai.errors import APIStatusError
from compactifai.types import Batch

from .conftest import chat_body

pytestmark = pytest.mark.emulator


def _line(custom_id: str, body: dict[str, object], url: str = "/v1/chat/completions") -> bytes:
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body}).encode()


def _finish(client: CompactifAIClient, batch_id: str) -> Batch:
    deadline = time.monotonic() + 10
    while (batch := client.retrieve_batch(batch_id)).status not in emulated._TERMINAL:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return batch


def test_bad_lines_fail_the_job_with_their_line_numbers(client: CompactifAIClient) -> None:
    content = b"\n".join(
        [
            _line("a", chat_body("Hi")),
            b"{not json",
            _line("b", chat_body("Hi"), url="/v1/completions"),
            _line("a", chat_body("again")),
            b'{"custom_id": 3, "body": {}}',
        ]
    )
    batch = _finish(client, client.create_batch(client.upload_file(content).id).id)
    assert batch.status == "failed" and batch.failed_at is not None
    assert batch.errors is not None
    found = [(e.line, e.code) for e in batch.errors.data]
    assert found == [
        (2, "invalid_json_line"),
        (3, "mismatched_url"),
        (4, "duplicate_custom_id"),
        (5, "invalid_request"),
    ]


def test_limits(
    client: CompactifAIClient, store: BatchStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulated, "MAX_REQUESTS", 3)
    content = b"\n".join(_line(f"r{i}", chat_body("Hi")) for i in range(4))
    batch = _finish(client, client.create_batch(client.upload_file(content).id).id)
    assert batch.status == "failed"
    assert batch.errors is not None and batch.errors.data[0].code == "too_many_requests"

    monkeypatch.setattr(emulated, "MAX_FILE_BYTES", 1000)
    with pytest.raises(APIStatusError, match="exceeds the 0 MB limit") as raised:
        client.upload_file(b"x" * 70_000)
    assert raised.value.status_code == 413
    assert emulated.MAX_REQUESTS == 3  # patched; the documented defaults:
    monkeypatch.undo()
    assert (emulated.MAX_REQUESTS, emulated.MAX_FILE_BYTES) == (50_000, 200 * 1024 * 1024)


def test_processing_does_not_block_other_requests(
    emulator: Emulator, client: CompactifAIClient, store: BatchStore
) -> None:
    store.configure(request_delay=0.02, concurrency=2)
    content = b"\n".join(_line(f"r{i}", chat_body(f"Q{i}")) for i in range(100))
    batch = client.create_batch(client.upload_file(content).id)
    while client.retrieve_batch(batch.id).status == "validating":
        time.sleep(0.005)
    started = time.monotonic()
    models = client.list_models()
    answer = client.create_chat_completion(**chat_body("Still there?"))
    assert models and answer.choices[0].message.content
    assert client.retrieve_batch(batch.id).status == "in_progress"
    assert time.monotonic() - started < 1.0  # the job needs 1 s or more; we did not wait it out
    client.cancel_batch(batch.id)


def test_answers_come_from_the_interactive_engine(
    emulator: Emulator, client: CompactifAIClient
) -> None:
    bodies = [
        chat_body("What is the capital of France?"),
        chat_body("Name a colour.", temperature=0),
    ]
    content = b"\n".join(_line(f"r{i}", b) for i, b in enumerate(bodies))
    batch = _finish(client, client.create_batch(client.upload_file(content).id).id)
    assert batch.output_file_id is not None
    lines = {
        (line := json.loads(raw))["custom_id"]: line
        for raw in client.download_file(batch.output_file_id).splitlines()
    }
    for i, body in enumerate(bodies):
        direct = client.create_chat_completion(**body)
        from_batch = lines[f"r{i}"]["response"]["body"]
        assert from_batch["choices"][0]["message"] == direct.choices[0].message.model_dump(
            exclude_none=True, mode="json"
        ) | {k: v for k, v in from_batch["choices"][0]["message"].items() if v is None}
        assert from_batch["usage"] == direct.usage.model_dump(exclude_none=True)  # type: ignore[union-attr]
    # Each line went through /v1/chat/completions with the owner's key, marked as the job's.
    internal = [r for r in emulator.requests if r.headers.get("x-emulator-batch-id") == batch.id]
    assert sorted(r.body["messages"][0]["content"] for r in internal) == sorted(
        b["messages"][0]["content"]
        for b in bodies  # type: ignore[index]
    )


def test_wrong_requests_to_batch_routes(emulator: Emulator, store: BatchStore) -> None:
    auth = {"authorization": f"Bearer {emulator.api_key}"}
    with httpx.Client(base_url=emulator.base_url) as http:
        assert http.get("/batches", headers={"authorization": "Bearer nope"}).status_code == 401
        assert http.get("/batches", params={"limit": 0}, headers=auth).status_code == 400
        assert http.post("/files", content=b"{}", headers=auth).status_code == 400
        made = http.post(
            "/batches",
            json={"input_file_id": "x", "endpoint": "/v1/embeddings", "completion_window": "24h"},
            headers=auth,
        )
        assert made.status_code == 400 and made.json()["error"]["param"] == "endpoint"
        window = http.post(
            "/batches",
            json={
                "input_file_id": "x",
                "endpoint": "/v1/chat/completions",
                "completion_window": "1h",
            },
            headers=auth,
        )
        assert window.json()["error"]["param"] == "completion_window"


def test_input_files_may_exceed_the_general_body_limit(
    emulator: Emulator, client: CompactifAIClient
) -> None:
    big = _line("r0", chat_body("Hi")) + b"\n" + b" " * (17 * 2**20) + b"\n"
    assert len(big) > emulator.state.max_body_bytes  # 16 MiB by default
    uploaded = client.upload_file(big, filename="big.jsonl")
    assert uploaded.bytes == len(big)
    assert client.download_file(uploaded.id) == big


def test_an_upload_retried_after_a_503_sends_the_whole_file_again(
    emulator: Emulator, client: CompactifAIClient, tmp_path: Path
) -> None:
    source = tmp_path / "requests.jsonl"
    source.write_bytes(b"\n".join(_line(f"r{i}", chat_body(f"Q{i}")) for i in range(3)) + b"\n")
    emulator.inject_fault("status", status=503, path="/v1/files")
    uploaded = client.upload_file(source)
    assert client.download_file(uploaded.id) == source.read_bytes()
    uploads = [r for r in emulator.requests if r.path == "/v1/files"]
    assert len(uploads) == 1  # the faulted attempt never reached the handler
