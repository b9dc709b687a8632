"""``compactifai chat``: one streamed answer, options sent as asked, and a session with history."""

from __future__ import annotations

import io
import re

import pytest

from compactifai.catalog import DEFAULT_CHAT_MODEL
from compactifai.emulator import Emulator

from .conftest import Runner, error_line

pytestmark = pytest.mark.emulator

FACT = "The Eiffel Tower was completed in 1889."


def _chat_bodies(emu: Emulator) -> list[dict]:  # type: ignore[type-arg]
    return [r.body for r in emu.requests if r.path.endswith("/chat/completions")]


def test_one_prompt_streams_the_answer_and_reports_usage(cli: Runner, live: Emulator) -> None:
    result = cli("chat", f"{FACT} When was the Eiffel Tower completed?")
    assert result.code == 0, result.err
    assert "1889" in result.out
    assert f"{DEFAULT_CHAT_MODEL} ·" in result.err and " in, " in result.err
    [body] = _chat_bodies(live)
    assert body["stream"] is True
    assert body["model"] == DEFAULT_CHAT_MODEL


def test_model_system_temperature_and_max_tokens_are_sent(cli: Runner, live: Emulator) -> None:
    result = cli(
        "chat",
        "--model",
        "cai-mistral-small-3-1-slim",
        "--system",
        "Answer briefly.",
        "--temperature",
        "0.2",
        "--max-tokens",
        "5",
        FACT,
    )
    assert result.code == 0, result.err
    [body] = _chat_bodies(live)
    assert body["model"] == "cai-mistral-small-3-1-slim"
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": FACT},
    ]
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 5
    assert "finish: length" in result.err


def test_a_reasoning_models_thinking_goes_to_stderr_before_the_answer(
    cli: Runner, live: Emulator
) -> None:
    result = cli("chat", "--reasoning-effort", "low", f"{FACT} When was it completed?")
    assert result.code == 0, result.err
    [body] = _chat_bodies(live)
    assert body["reasoning_effort"] == "low"
    assert "1889" in result.out
    assert re.search(r" out \(\d+ reasoning\) · ", result.err)  # usage counts the thinking
    thinking = result.err.split(f"{DEFAULT_CHAT_MODEL} ·")[0].strip()
    assert thinking  # the thinking, then the usage line
    assert thinking not in result.out  # stdout has the answer alone


def test_a_level_the_model_does_not_implement_is_the_servers_refusal(
    cli: Runner, live: Emulator
) -> None:
    result = cli("chat", "--reasoning-effort", "max", "Hi")
    assert result.code == 1
    line = error_line(result)
    assert "reasoning_effort" in line and "low, medium, high" in line


def test_session_keeps_history_and_reset_forgets_it(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO(f"{FACT}\nWhen was it completed?\n/reset\nHello again\n/exit\n")
    )
    result = cli("chat", "--system", "Be brief.")
    assert result.code == 0, result.err
    bodies = _chat_bodies(live)
    assert [[m["role"] for m in b["messages"]] for b in bodies] == [
        ["system", "user"],
        ["system", "user", "assistant", "user"],
        ["system", "user"],  # after /reset
    ]
    second = bodies[1]["messages"]
    assert second[1]["content"] == FACT
    assert second[2]["content"]  # the first answer, kept as history
    assert "you> When was it completed?" in result.out
    assert "History cleared." in result.err


def test_session_survives_a_refused_turn(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{FACT}\n"))
    live.inject_fault("status", status=400, message="prompt too long")
    result = cli("chat")
    assert result.code == 0
    assert "error:" in result.err and "prompt too long" in result.err


def test_session_ends_at_end_of_input(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert cli("chat").code == 0
    assert _chat_bodies(live) == []


def test_unknown_model_is_one_line_and_exit_1(cli: Runner, live: Emulator) -> None:
    result = cli("chat", "--model", "no-such-model", "Hi")
    assert result.code == 1
    assert "no-such-model" in error_line(result)


def test_bad_key_is_one_line_and_exit_1(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "wrong-key")
    result = cli("chat", "Hi")
    assert result.code == 1
    assert "401" in error_line(result)


def test_out_of_range_temperature_is_refused_before_sending(cli: Runner, live: Emulator) -> None:
    result = cli("chat", "--temperature", "5", "Hi")
    assert result.code == 1
    assert "temperature" in error_line(result)
    assert _chat_bodies(live) == []


@pytest.mark.usefixtures("no_backoff")
def test_unreachable_server_is_one_line_and_exit_1(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "test-key")
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "http://127.0.0.1:1/v1")
    result = cli("chat", "Hi")
    assert result.code == 1
    assert "cannot reach" in error_line(result)


def test_on_a_terminal_a_spinner_runs_until_the_first_token(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    result = cli("chat", f"{FACT} When was it completed?")
    assert result.code == 0, result.err
    assert "Thinking" in result.out
    assert "1889" in result.out
