"""The batch runner: JSONL building, result ordering, polling, submit/collect across runners."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from compactifai import AsyncCompactifAIClient, CompactifAIClient
from compactifai.batches import (
    MAX_REQUESTS_PER_FILE,
    AsyncBatchRunner,
    BatchFailedError,
    BatchRequestError,
    BatchRunner,
    BatchWaitTimeout,
    PollPolicy,
    order_results,
    read_custom_ids,
    write_jsonl,
)
from compactifai.emulator.batches import BatchStore
from compactifai.errors import BadRequestError, RequestValidationError
from compactifai.types import Batch, ChatCompletion

from .conftest import FAST_POLL, MODEL, chat_body

# ---------------------------------------------------------------------------- pure parts


def test_write_jsonl_streams_openai_lines_with_custom_ids() -> None:
    sink = io.BytesIO()
    requests = [chat_body("a"), {"custom_id": "mine", "body": chat_body("b", temperature=0)}]
    assert write_jsonl(iter(requests), sink) == ["request-0", "mine"]
    lines = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert lines[0] == {
        "custom_id": "request-0",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": chat_body("a"),
    }
    assert lines[1]["custom_id"] == "mine" and lines[1]["body"]["temperature"] == 0
    assert read_custom_ids(sink.getvalue().splitlines()) == ["request-0", "mine"]


def test_write_jsonl_reads_a_generator_once_without_a_second_copy() -> None:
    consumed = []

    def requests() -> Any:
        for i in range(3):
            consumed.append(i)
            yield chat_body(str(i))

    sink = io.BytesIO()
    write_jsonl(requests(), sink)
    assert consumed == [0, 1, 2] and len(sink.getvalue().splitlines()) == 3


@pytest.mark.parametrize(
    ("requests", "field"),
    [
        (
            [chat_body("a"), {"model": MODEL, "messages": [{"role": "user"}]}],
            "requests[1].messages[0]",
        ),
        ([chat_body("a", temperature=7)], "requests[0].temperature"),
        ([chat_body("a", stream=True)], "requests[0].stream"),
        ([{"custom_id": "x", "body": chat_body("a")}] * 2, "requests[1].custom_id"),
        ([{"custom_id": "x", "url": "/v1/completions", "body": {}}], "requests[0].url"),
        ([], "requests"),
        (["just text"], "requests[0]"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_sent(requests: list[Any], field: str) -> None:
    with pytest.raises(RequestValidationError) as raised:
        write_jsonl(requests, io.BytesIO())
    assert raised.value.field.startswith(field)


def test_the_request_limit_is_enforced_early() -> None:
    many = (chat_body("x") for _ in range(MAX_REQUESTS_PER_FILE + 1))
    with pytest.raises(RequestValidationError, match="at most 50,000"):
        write_jsonl(many, io.BytesIO())


def _batch(status: str = "completed", endpoint: str = "/v1/chat/completions") -> Batch:
    return Batch(
        id="batch_1",
        endpoint=endpoint,
        input_file_id="f",
        completion_window="24h",
        status=status,
        created_at=0,
    )


def _ok(custom_id: str, text: str) -> bytes:
    body = {"choices": [{"message": {"role": "assistant", "content": text}}]}
    line = {
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": "r", "body": body},
    }
    return json.dumps(line).encode()


def test_results_come_back_in_input_order_with_typed_errors() -> None:
    output = [_ok("c", "third"), _ok("a", "first")]
    rejected = {
        "custom_id": "b",
        "response": {
            "status_code": 400,
            "request_id": "rq-b",
            "body": {"error": {"message": "bad model", "type": "invalid_request_error"}},
        },
        "error": None,
    }
    results = order_results(
        ["a", "b", "c", "d"], _batch("expired"), output, [json.dumps(rejected).encode()]
    )
    assert (
        isinstance(results[0], ChatCompletion) and results[0].choices[0].message.content == "first"
    )
    assert results[0].request_id == "r"
    assert (
        isinstance(results[2], ChatCompletion) and results[2].choices[0].message.content == "third"
    )
    error = results[1]
    assert isinstance(error, BatchRequestError)
    assert (error.custom_id, error.status_code, error.request_id) == ("b", 400, "rq-b")
    assert isinstance(error.error, BadRequestError) and error.error.message == "bad model"
    missing = results[3]
    assert isinstance(missing, BatchRequestError) and missing.code == "batch_expired"
    assert results.custom_ids == ["a", "b", "c", "d"] and results.batch.status == "expired"


def test_an_oversized_result_line_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from compactifai import batches

    monkeypatch.setattr(batches, "MAX_RESULT_LINE_BYTES", 200)
    spool = tempfile.SpooledTemporaryFile()  # noqa: SIM115 - _closing_lines closes it
    spool.write(_ok("a", "x" * 500) + b"\n" + _ok("b", "short") + b"\n")
    spool.seek(0)
    lines = list(batches._closing_lines(spool))  # type: ignore[arg-type]
    results = order_results(["a", "b"], _batch(), lines, [])
    assert isinstance(results[0], BatchRequestError) and results[0].code == "missing_result"
    assert isinstance(results[1], ChatCompletion)
    assert spool.closed


def test_polling_backs_off_while_nothing_changes_and_closes_in_on_progress() -> None:
    policy = PollPolicy(initial=1.0, maximum=10.0, factor=2.0)
    assert policy.next_delay(None, False) == 1.0
    assert policy.next_delay(1.0, False) == 2.0
    assert policy.next_delay(8.0, False) == 10.0
    assert policy.next_delay(8.0, True) == 4.0
    assert policy.next_delay(1.0, True) == 1.0
    with pytest.raises(RequestValidationError):
        PollPolicy(initial=0)


# ---------------------------------------------------------------------------- live


@pytest.mark.emulator
def test_run_returns_results_in_order_and_reports_progress(client: CompactifAIClient) -> None:
    seen: list[str] = []
    requests = [chat_body(f"What is {i} plus one?") for i in range(30)]
    requests[7] = chat_body("x", model="no-such-model")
    results = BatchRunner(client, FAST_POLL).run(
        requests, on_progress=lambda b: seen.append(b.status)
    )
    assert len(results) == 30
    for i, result in enumerate(results):
        if i == 7:
            assert isinstance(result, BatchRequestError) and result.status_code == 400
            assert isinstance(result.error, BadRequestError)
        else:
            direct = client.create_chat_completion(**requests[i])
            assert isinstance(result, ChatCompletion)
            assert result.choices[0].message.content == direct.choices[0].message.content
    assert seen[0] == "validating" and seen[-1] == "completed"
    assert results.batch.request_counts is not None and results.batch.request_counts.failed == 1


@pytest.mark.emulator
def test_a_job_survives_its_runner(client: CompactifAIClient, store: BatchStore) -> None:
    requests = [{"custom_id": f"id-{9 - i}", "body": chat_body(f"Q{i}")} for i in range(10)]
    batch = BatchRunner(client, FAST_POLL).submit(requests)
    # A different runner (another process, later) knows only the id: order comes from the input.
    later = BatchRunner(client, FAST_POLL).collect(batch.id)
    assert later.custom_ids == [f"id-{9 - i}" for i in range(10)]
    assert [r.choices[0].message.content for r in later] == [  # type: ignore[union-attr]
        client.create_chat_completion(**chat_body(f"Q{i}")).choices[0].message.content
        for i in range(10)
    ]


@pytest.mark.emulator
def test_wait_timeout_leaves_the_job_running(client: CompactifAIClient, store: BatchStore) -> None:
    store.configure(pace=0.5)
    runner = BatchRunner(client, FAST_POLL)
    batch = runner.submit([chat_body("slow")])
    with pytest.raises(BatchWaitTimeout) as raised:
        runner.wait(batch.id, timeout=0.05)
    assert raised.value.batch.status == "validating"
    assert runner.cancel(batch.id).status == "cancelling"


@pytest.mark.emulator
def test_a_failed_job_raises_with_its_errors(client: CompactifAIClient) -> None:
    file = client.upload_file(b'{"custom_id": "a"}\n')
    batch = client.create_batch(file.id)
    with pytest.raises(BatchFailedError, match="line 1"):
        BatchRunner(client, FAST_POLL).collect(batch.id)


@pytest.mark.emulator
async def test_async_runner(aclient: AsyncCompactifAIClient) -> None:
    runner = AsyncBatchRunner(aclient, FAST_POLL)
    batch = await runner.submit([chat_body("a"), chat_body("b")])
    assert (await runner.status(batch.id)).id == batch.id
    done = await runner.wait(batch.id)
    assert done.status == "completed"
    results = await runner.collect(batch.id)
    assert [r.choices[0].message.content for r in results] == [  # type: ignore[union-attr]
        (await aclient.create_chat_completion(**chat_body(t))).choices[0].message.content
        for t in "ab"
    ]
    again = await runner.run([{"prompt": "Once upon", "model": MODEL}], endpoint="/v1/completions")
    assert again[0].choices[0].text  # type: ignore[union-attr]


@pytest.mark.emulator
def test_a_cancelled_job_gives_partial_results(
    client: CompactifAIClient, store: BatchStore
) -> None:
    store.configure(paused=True)
    runner = BatchRunner(client, FAST_POLL)
    batch = runner.submit([chat_body(f"Q{i}") for i in range(5)])
    while runner.status(batch.id).status == "validating":
        time.sleep(0.005)
    runner.cancel(batch.id)
    store.configure(paused=False)
    results = runner.collect(batch.id)
    assert results.batch.status == "cancelled"
    assert len(results) == 5
    unfinished = [r for r in results if isinstance(r, BatchRequestError)]
    assert unfinished and all(r.code == "batch_cancelled" for r in unfinished)
