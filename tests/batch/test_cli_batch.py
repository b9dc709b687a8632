"""``compactifai batch``: a JSONL round trip, stable ``--json``, a killed ``wait`` resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compactifai.cli import main
from compactifai.emulator import Emulator
from compactifai.emulator.batches import BatchStore

from .conftest import chat_body

pytestmark = pytest.mark.emulator

BATCH_KEYS = {
    "id",
    "status",
    "endpoint",
    "model",
    "input_file_id",
    "output_file_id",
    "error_file_id",
    "request_counts",
    "usage",
    "errors",
    "metadata",
    "created_at",
    "completed_at",
    "expires_at",
}
RESULT_KEYS = {"custom_id", "ok", "content", "error", "response"}


@pytest.fixture
def env(emulator: Emulator, store: BatchStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", emulator.base_url)
    monkeypatch.setenv("COMPACTIFAI_API_KEY", emulator.api_key)
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("NO_COLOR", "1")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["batch", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    lines = [
        {
            "custom_id": "paris",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": chat_body("Where is Paris?"),
        },
        chat_body("Where is Rome?"),  # a bare body: custom id request-1
        {"custom_id": "broken", "body": chat_body("x", model="no-such-model")},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_round_trip_from_a_jsonl_file(
    env: None, requests_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.jsonl"
    code, stdout, _ = run(
        capsys,
        "submit",
        str(requests_file),
        "--wait",
        "--out",
        str(out),
        "--json",
        "--poll",
        "0.01",
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary == {"id": summary["id"], "out": str(out), "ok": 2, "failed": 1}
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["custom_id"] for r in rows] == ["paris", "request-1", "broken"]
    assert all(set(r) == RESULT_KEYS for r in rows)
    assert rows[0]["ok"] and "Paris" in rows[0]["content"]
    assert rows[0]["response"]["object"] == "chat.completion"
    assert rows[2]["ok"] is False and rows[2]["error"]["status_code"] == 400
    assert "no-such-model" in rows[2]["error"]["message"]

    # The same results again, from the id alone, on stdout.
    code, stdout, _ = run(capsys, "results", summary["id"], "--json")
    assert code == 0
    assert [json.loads(line) for line in stdout.splitlines()] == rows
    # And for humans.
    code, stdout, _ = run(capsys, "results", summary["id"], "--poll", "0.01")
    assert code == 0 and "paris: " in stdout and "broken: error: " in stdout


def test_json_shapes_are_stable(
    env: None, store: BatchStore, requests_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.configure(pace=0.5)
    code, stdout, _ = run(capsys, "submit", str(requests_file), "--json", "--metadata", "run=7")
    submitted = json.loads(stdout)
    assert code == 0 and set(submitted) == BATCH_KEYS
    assert submitted["status"] == "validating" and submitted["metadata"] == {"run": "7"}
    assert set(submitted["request_counts"]) == {"total", "completed", "failed"}
    assert set(submitted["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
    code, stdout, _ = run(capsys, "status", submitted["id"], "--json")
    assert set(json.loads(stdout)) == BATCH_KEYS
    code, stdout, _ = run(capsys, "list", "--json")
    assert [set(b) for b in json.loads(stdout)] == [BATCH_KEYS]
    code, stdout, _ = run(capsys, "cancel", submitted["id"], "--json")
    assert json.loads(stdout)["status"] == "cancelling"
    code, stdout, _ = run(capsys, "wait", submitted["id"], "--json", "--poll", "0.01")
    assert json.loads(stdout)["status"] == "cancelled"
    code, stdout, _ = run(capsys, "list")
    assert submitted["id"] in stdout and "cancelled" in stdout


def test_bad_input_is_one_error_line(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(chat_body("fine")) + "\n{oops\n")
    code, _, err = run(capsys, "submit", str(bad))
    assert code == 1 and err.startswith("error: ") and "bad.jsonl:2" in err
    code, _, err = run(capsys, "status", "batch_missing")
    assert code == 1 and "Batch not found" in err


def test_a_killed_wait_is_resumed_with_results(
    emulator: Emulator, env: None, store: BatchStore, requests_file: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    store.configure(paused=True)
    code, stdout, _ = run(capsys, "submit", str(requests_file), "--json")
    batch_id = json.loads(stdout)["id"]
    waiting = subprocess.Popen(
        [sys.executable, "-m", "compactifai.cli", "batch", "wait", batch_id, "--poll", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    polls = f"/v1/batches/{batch_id}"
    deadline = time.monotonic() + 30
    while sum(r.path == polls for r in store.requests) < 2:  # it is polling
        assert time.monotonic() < deadline and waiting.poll() is None
        time.sleep(0.01)
    waiting.kill()
    waiting.communicate(timeout=20)
    assert waiting.returncode == -signal.SIGKILL
    assert store.jobs[batch_id].record["status"] == "in_progress"
    store.configure(paused=False)
    out = tmp_path / "later.jsonl"
    code, stdout, _ = run(capsys, "results", batch_id, "--out", str(out), "--poll", "0.01")
    assert code == 0 and "2 ok, 1 failed" in stdout
    assert [json.loads(x)["custom_id"] for x in out.read_text().splitlines()] == [
        "paris",
        "request-1",
        "broken",
    ]
