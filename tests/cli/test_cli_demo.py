"""``compactifai demo``: offline on the emulator without a key, on "the service" with one.

A key plus ``COMPACTIFAI_BASE_URL`` pointing at an emulator stands in for the real service:
the demo then must not start its own emulator. One test runs the installed console script
in a subprocess with no key and no base URL, as a newcomer would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compactifai.emulator import Emulator

from .conftest import Result, Runner, error_line

pytestmark = pytest.mark.emulator

STEP_TITLES = [
    "Step 1/5 · Model catalog",
    "Step 2/5 · LangChain LCEL chain, streaming",
    "Step 3/5 · LangChain agent calling a tool",
    "Step 4/5 · LlamaIndex RAG over the bundled docs (BM25)",
    "Step 5/5 · Token usage this session",
]


def _assert_complete_demo(out: str, model: str = "cai-llama-3-1-8b-slim") -> None:
    for title in STEP_TITLES:
        assert title in out
    # Each step is timed.
    assert len(re.findall(r"^✓ .+ · \d+\.\d\d s$", out, flags=re.MULTILINE)) == 5
    # 1: the catalog as a table, and the chosen model.
    assert "│ cai-llama-3-3-70b-slim " in out and "multiverse_computing" in out
    assert f"The demo uses {model}" in out
    # 2: the chain's streamed answer and its token usage.
    assert "A: The slim models keep most of the original accuracy" in out
    assert re.search(r"Token usage: \d+ in, \d+ out, \d+ total", out)
    # 3: the tool call, its result and the final answer.
    assert "→ tool call get_model_facts(model='cai-llama-4-scout-slim')" in out
    assert "← tool result cai-llama-4-scout-slim is a slim model with 51.8B parameters" in out
    assert re.search(r"^A: .*51\.8B", out, flags=re.MULTILINE)
    # 4: the RAG answer and the sources it used.
    assert "3.28 billion parameters" in out
    assert "• slim-models.md (BM25 score" in out
    # 5: usage per model as bars.
    assert re.search(rf"^{re.escape(model)} +[█▒]+ +[\d,]+ tokens", out, flags=re.MULTILINE)
    assert "Demo complete" in out


def _demo(cli: Runner, *args: str) -> Result:
    return cli("demo", "--chunk-delay", "0", *args)


def test_without_a_key_the_demo_runs_on_the_emulator(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "http://127.0.0.1:1/v1")  # must not be used
    result = _demo(cli)
    assert result.code == 0, result.err
    first = result.out.splitlines()[0]
    assert first.startswith("No COMPACTIFAI_API_KEY set: using the bundled offline emulator at ")
    _assert_complete_demo(result.out)


def test_with_a_key_the_demo_uses_the_configured_service(cli: Runner, live: Emulator) -> None:
    result = _demo(cli)
    assert result.code == 0, result.err
    assert (
        result.out.splitlines()[0]
        == f"COMPACTIFAI_API_KEY is set: running against {live.base_url}."
    )
    _assert_complete_demo(result.out)
    # Every request went to the configured server, with the configured key.
    paths = [r.path for r in live.requests]
    assert "/v1/models" in paths and "/v1/usage/completions" in paths
    assert sum(p == "/v1/chat/completions" for p in paths) == 4  # chain, agent x2, RAG


def test_model_option_overrides_the_pick(cli: Runner, live: Emulator) -> None:
    result = _demo(cli, "--model", "cai-llama-3-3-70b-slim")
    assert result.code == 0, result.err
    _assert_complete_demo(result.out, model="cai-llama-3-3-70b-slim")
    chat = [r.body["model"] for r in live.requests if r.path == "/v1/chat/completions"]
    assert set(chat) == {"cai-llama-3-3-70b-slim"}


def test_unknown_model_is_one_line_and_exit_1(cli: Runner, live: Emulator) -> None:
    result = _demo(cli, "--model", "gpt-17")
    assert result.code == 1
    line = error_line(result)
    assert "'gpt-17' is not in the catalog" in line and "cai-llama-3-1-8b-slim" in line


def test_a_server_without_usage_statistics_gets_a_note(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(usage_endpoint=False) as emu:
        monkeypatch.setenv("COMPACTIFAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("COMPACTIFAI_API_KEY", emu.api_key)
        result = _demo(cli)
    assert result.code == 0, result.err
    assert "this server does not offer usage statistics" in result.out
    assert "as counted by the LangChain steps" in result.out
    assert "Demo complete" in result.out


def test_bad_key_is_one_line_and_exit_1(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "wrong-key")
    result = _demo(cli)
    assert result.code == 1
    line = error_line(result)
    assert "API key was rejected" in line
    assert "Step 2/5" not in result.out


@pytest.mark.usefixtures("no_backoff")
def test_no_network_is_one_line_and_exit_1(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "some-key")
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "http://127.0.0.1:1/v1")
    result = _demo(cli)
    assert result.code == 1
    assert "cannot reach http://127.0.0.1:1/v1" in error_line(result)


def test_a_failure_mid_demo_is_one_line_and_exit_1(cli: Runner, live: Emulator) -> None:
    live.inject_fault("status", status=401, path="/v1/chat/completions", count=None)
    result = _demo(cli)
    assert result.code == 1
    assert "401" in error_line(result)
    assert "Step 2/5" in result.out


def test_the_installed_console_script_runs_the_demo_offline(tmp_path: Path) -> None:
    """What the README's first command ends with, from a directory that is not the repo."""
    script = Path(sys.executable).with_name("compactifai")
    assert script.exists() or shutil.which("compactifai")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COMPACTIFAI_") and k not in ("NO_COLOR", "COLUMNS")
    }
    env["COLUMNS"] = "120"
    done = subprocess.run(
        [str(script if script.exists() else "compactifai"), "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    _assert_complete_demo(done.stdout)


def test_on_a_terminal_spinners_run_until_the_first_token(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats the captured stdout as a terminal
    result = _demo(cli)
    assert result.code == 0, result.err
    assert "Waiting for the first token" in result.out
    assert "Demo complete" in result.out
