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
from typing import Any

import pytest

from compactifai.catalog import DEFAULT_CHAT_MODEL, is_slim
from compactifai.emulator import Emulator

from .conftest import Result, Runner, error_line, served_models

pytestmark = pytest.mark.emulator

STEP_TITLES = [
    "Step 1/5 · Model catalog",
    "Step 2/5 · LangChain LCEL chain, streaming",
    "Step 3/5 · LangChain agent calling a tool",
    "Step 4/5 · LlamaIndex RAG over the bundled docs (BM25)",
    "Step 5/5 · Token usage this session",
]


def _assert_complete_demo(
    out: str, catalog: list[dict[str, Any]], model: str = DEFAULT_CHAT_MODEL
) -> None:
    for title in STEP_TITLES:
        assert title in out
    # Each step is timed.
    assert len(re.findall(r"^✓ .+ · \d+\.\d\d s$", out, flags=re.MULTILINE)) == 5
    # 1: the catalog as a table (every id whole), and the chosen model.
    lines = out.splitlines()
    for entry in catalog:
        assert any(line.split()[:2] == [entry["id"], entry["owned_by"]] for line in lines)
    assert f"The demo uses {model} (" in out
    # 2: the chain's streamed answer and its token usage.
    assert "A: The slim models keep most of the original accuracy" in out
    assert re.search(r"Token usage: \d+ in, \d+ out, \d+ total", out)
    # 3: the tool call, its result (facts from the catalog) and the final answer.
    call = re.search(r"^→ tool call get_model_facts\(model='([^']+)'\)$", out, flags=re.MULTILINE)
    assert call is not None, out
    subject = next(m for m in catalog if m["id"] == call.group(1))
    assert is_slim(subject["id"], subject["owned_by"])
    facts = f"{subject['id']} is a slim model with {subject['parameters_number']} parameters"
    assert f"← tool result {facts}" in out
    assert re.search(rf"^A: .*{re.escape(subject['parameters_number'])}", out, re.MULTILINE)
    # 4: the RAG answer and the sources it used.
    assert "60 billion parameters" in out.split("Step 4/5")[1]
    assert "• slim-models.md (BM25 score" in out
    # 5: tokens per model from the responses, as bars.
    usage = out.split("Step 5/5")[1]
    assert "Tokens this session, per model, as the responses reported them:" in usage
    assert re.search(rf"^{re.escape(model)} +[█▒]+ +[\d,]+ tokens", usage, flags=re.MULTILINE)
    assert "Demo complete" in out


def _catalog(emu: Emulator) -> list[dict[str, Any]]:
    return served_models(emu)


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
    with Emulator() as default:
        _assert_complete_demo(result.out, _catalog(default))


def test_with_a_key_the_demo_uses_the_configured_service(cli: Runner, live: Emulator) -> None:
    result = _demo(cli)
    assert result.code == 0, result.err
    assert (
        result.out.splitlines()[0]
        == f"COMPACTIFAI_API_KEY is set: running against {live.base_url}."
    )
    _assert_complete_demo(result.out, _catalog(live))
    # Every request went to the configured server, with the configured key.
    paths = [r.path for r in live.requests]
    assert "/v1/models" in paths
    assert sum(p == "/v1/chat/completions" for p in paths) == 4  # chain, agent x2, RAG
    chat = [r.body["model"] for r in live.requests if r.path == "/v1/chat/completions"]
    assert set(chat) == {DEFAULT_CHAT_MODEL}


def test_model_option_overrides_the_pick(cli: Runner, live: Emulator) -> None:
    other = "gpt-oss-120b"
    result = _demo(cli, "--model", other)
    assert result.code == 0, result.err
    _assert_complete_demo(result.out, _catalog(live), model=other)
    chat = [r.body["model"] for r in live.requests if r.path == "/v1/chat/completions"]
    assert set(chat) == {other}


def test_unknown_model_is_one_line_and_exit_1(cli: Runner, live: Emulator) -> None:
    result = _demo(cli, "--model", "gpt-17")
    assert result.code == 1
    line = error_line(result)
    assert "'gpt-17' is not in the catalog" in line and DEFAULT_CHAT_MODEL in line


def test_a_reasoning_models_thinking_is_shown_dimmed_before_its_answer(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _demo(cli)
    assert result.code == 0, result.err
    chain = result.out.split("Step 2/5")[1].split("Step 3/5")[0]
    assert re.search(r"^Thinking: \S", chain, flags=re.MULTILINE), chain
    assert chain.index("Thinking: ") < chain.index("A: The slim models")
    thinking = chain.split("Thinking: ")[1].split("\nA: ")[0]
    assert thinking.strip() and thinking.strip() not in chain.split("\nA: ")[1]

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # colours, as on a terminal
    coloured = _demo(cli).out.split("Step 2/5")[1].split("Step 3/5")[0]
    faint = re.findall(r"\x1b\[(?:\d+;)*2(?:;\d+)*m([^\x1b]*)", coloured)  # SGR 2: faint
    assert "Thinking: " in faint and thinking.strip() in "".join(faint)


def _usage_step(cli: Runner) -> tuple[str, str]:
    """The model the demo chose, and the output of its usage step."""
    result = _demo(cli)
    assert result.code == 0, result.err
    chosen = re.search(r"The demo uses (\S+) \(", result.out)
    assert chosen is not None
    return chosen.group(1), result.out.split("Step 5/5")[1]


def test_the_usage_step_counts_the_responses_tokens_without_a_statistics_endpoint(
    cli: Runner, live: Emulator
) -> None:
    """Today's service (and the emulator's default catalog) has no usage statistics."""
    model, usage = _usage_step(cli)
    assert model == DEFAULT_CHAT_MODEL
    [bar] = [line for line in usage.splitlines() if line.startswith(DEFAULT_CHAT_MODEL)]
    billed = [r for r in live.ledger.records if r.model == DEFAULT_CHAT_MODEL]
    total = sum(r.input_tokens + r.output_tokens for r in billed)
    assert f"{total:,} tokens" in bar  # every response's tokens, LangChain and LlamaIndex
    assert "removed it on 2026-03-24" in usage
    assert "The server's usage statistics" not in usage


def test_the_usage_step_adds_the_statistics_where_the_server_offers_them(
    cli: Runner, reference: Emulator
) -> None:
    model, usage = _usage_step(cli)
    assert "Tokens this session, per model, as the responses reported them:" in usage
    assert "The server's usage statistics since" in usage
    assert "removed it" not in usage
    bars = [line for line in usage.splitlines() if line.startswith(model + " ")]
    counts = [re.search(r"[\d,]+ tokens \(.*\)", bar) for bar in bars]
    assert len(bars) == 2 and counts[0] and counts[1]
    assert counts[0].group(0) == counts[1].group(0)  # the client's count and the server's agree


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
    with Emulator() as default:
        _assert_complete_demo(done.stdout, _catalog(default))


def test_on_a_terminal_spinners_run_until_the_first_token(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats the captured stdout as a terminal
    result = _demo(cli)
    assert result.code == 0, result.err
    assert "Waiting for the first token" in result.out
    assert "Demo complete" in result.out
