"""``compactifai chat --responses``: the answer on stdout, the reasoning dimmed on stderr, the
options in the Responses API's words, refusals as one error line, and a session's history."""

from __future__ import annotations

import io
import re

import pytest

from compactifai.emulator import Emulator
from tests.cli.conftest import Runner, as_a_cli_user, error_line

from .conftest import CHAT_ONLY_MODEL, FACT, HYBRID_MODEL, REASONING_MODEL, responses_requests

pytestmark = pytest.mark.emulator


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(capsys)


@pytest.fixture
def live(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    return as_a_cli_user(emu, monkeypatch, columns=200)


def test_one_prompt_over_the_responses_api(cli: Runner, live: Emulator) -> None:
    result = cli("chat", "--responses", f"{FACT} When was the Eiffel Tower completed?")
    assert result.code == 0, result.err
    assert result.out.strip() == "The Eiffel Tower was completed in 1889."
    [request] = responses_requests(live)
    assert request.body["stream"] is True and request.body["model"] == REASONING_MODEL
    assert request.body["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": f"{FACT} When was the Eiffel Tower completed?",
        }
    ]
    thinking, usage = result.err.strip().rsplit("\n", 1)
    assert thinking.startswith("The user asks") and thinking not in result.out
    assert re.fullmatch(rf"{REASONING_MODEL} · \d+ in, \d+ out \(\d+ reasoning\) · .* s", usage)


def test_options_are_sent_in_the_responses_words(cli: Runner, live: Emulator) -> None:
    result = cli(
        "chat",
        "--responses",
        "--model",
        HYBRID_MODEL,
        "--system",
        "Answer briefly.",
        "--temperature",
        "0.3",
        "--reasoning-effort",
        "high",
        "--max-tokens",
        "40",
        f"{FACT} Where is the Eiffel Tower located?",
    )
    assert result.code == 0, result.err
    [request] = responses_requests(live)
    body = request.body
    assert body["input"][0] == {"type": "message", "role": "system", "content": "Answer briefly."}
    assert (body["model"], body["temperature"], body["max_output_tokens"]) == (
        HYBRID_MODEL,
        0.3,
        40,
    )
    assert body["reasoning"] == {"effort": "high"}
    assert "max_tokens" not in body and "reasoning_effort" not in body
    assert "incomplete: max_output_tokens" in result.err


def test_reasoning_text_is_not_read_as_markup(cli: Runner, live: Emulator) -> None:
    prompt = "Is [bold]this[/bold] shown as written?"
    result = cli("chat", "--responses", prompt)
    assert result.code == 0, result.err
    assert prompt in result.err  # the reasoning quotes the question, brackets and all


def test_a_model_without_the_capability_is_one_error_line(cli: Runner, live: Emulator) -> None:
    result = cli("chat", "--responses", "--model", CHAT_ONLY_MODEL, "Hi")
    assert result.code == 1
    line = error_line(result)
    assert CHAT_ONLY_MODEL in line and "hypernova-60b, gpt-oss-120b, glm-5-1" in line


def test_a_level_outside_the_schema_is_refused_before_sending(cli: Runner, live: Emulator) -> None:
    result = cli("chat", "--responses", "--reasoning-effort", "max", "Hi")
    assert result.code == 1
    assert "reasoning.effort" in error_line(result)
    assert responses_requests(live) == []


def test_a_session_keeps_its_history(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("My name is Ada Lovelace.\nWhat is my name?\n"))
    result = cli("chat", "--responses")
    assert result.code == 0, result.err
    first, second = (r.body for r in responses_requests(live))
    assert len(first["input"]) == 1
    assert [item["role"] for item in second["input"]] == ["user", "assistant", "user"]
    assert "Ada Lovelace" in result.out.split("you> What is my name?")[1]
