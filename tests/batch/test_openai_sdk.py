"""The official ``openai`` SDK drives the emulator's files and batches through a whole job."""

from __future__ import annotations

import json
import time

import openai
import pytest

from compactifai.emulator import Emulator
from compactifai.emulator.batches import BatchStore

from .conftest import chat_body

pytestmark = pytest.mark.emulator


def test_openai_sdk_runs_a_whole_job(emulator: Emulator, store: BatchStore) -> None:
    sdk = openai.OpenAI(base_url=emulator.base_url, api_key=emulator.api_key, max_retries=0)
    lines = [
        {
            "custom_id": "ok",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat_body("Hi"),
        },
        {
            "custom_id": "bad",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat_body("Hi", model="no-such-model"),
        },
    ]
    content = "".join(json.dumps(line) + "\n" for line in lines).encode()
    file = sdk.files.create(file=("requests.jsonl", content), purpose="batch")
    assert file.object == "file" and file.bytes == len(content) and file.purpose == "batch"

    batch = sdk.batches.create(
        input_file_id=file.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"suite": "sdk"},
    )
    assert batch.status == "validating" and batch.metadata == {"suite": "sdk"}
    deadline = time.monotonic() + 10
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
        batch = sdk.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert batch.request_counts is not None
    assert (batch.request_counts.total, batch.request_counts.completed) == (2, 1)
    assert batch.request_counts.failed == 1

    output = [
        json.loads(x) for x in sdk.files.content(batch.output_file_id or "").text.splitlines()
    ]
    assert [o["custom_id"] for o in output] == ["ok"]
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"]
    errors = [json.loads(x) for x in sdk.files.content(batch.error_file_id or "").text.splitlines()]
    assert [e["custom_id"] for e in errors] == ["bad"]
    assert errors[0]["response"]["status_code"] == 400
    assert "no-such-model" in errors[0]["response"]["body"]["error"]["message"]

    listed = sdk.batches.list(limit=10)
    assert [b.id for b in listed.data] == [batch.id]

    slow = sdk.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cancelled = sdk.batches.cancel(slow.id)
    assert cancelled.status == "cancelling" and cancelled.cancelling_at is not None
    # Auto-pagination follows last_id/has_more.
    assert {b.id for b in sdk.batches.list(limit=1)} == {batch.id, slow.id}


def test_openai_sdk_sees_typed_errors(emulator: Emulator, store: BatchStore) -> None:
    sdk = openai.OpenAI(base_url=emulator.base_url, api_key=emulator.api_key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve("batch_missing")
    with pytest.raises(openai.NotFoundError):
        sdk.files.content("file-missing")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=emulator.base_url, api_key="wrong", max_retries=0).batches.list()
