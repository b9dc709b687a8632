"""``compactifai models``: the table, ``--json``, and one-line errors with exit code 1."""

from __future__ import annotations

import json

import pytest

from compactifai.emulator import DEFAULT_MODELS, Emulator

from .conftest import Runner, error_line

pytestmark = pytest.mark.emulator


def test_table_lists_every_model_with_owner_parameters_and_kind(
    cli: Runner, live: Emulator
) -> None:
    result = cli("models")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    for model in DEFAULT_MODELS:
        [line] = [row for row in lines if row.startswith(f"│ {model.id} ")]
        assert model.owned_by in line
        assert model.parameters_number in line
        assert ("slim" if model.id.startswith("cai-") else "original") in line
    [slim_8b] = [row for row in lines if row.startswith("│ cai-llama-3-1-8b-slim ")]
    assert slim_8b.rstrip("│ ").endswith("llama-3-1-8b")  # compressed from


def test_json_is_plain_and_stable(cli: Runner, live: Emulator) -> None:
    result = cli("models", "--json")
    assert result.code == 0, result.err
    models = json.loads(result.out)
    assert [m["id"] for m in models] == [m.id for m in DEFAULT_MODELS]
    assert all(
        set(m) == {"id", "owned_by", "parameters", "created", "kind", "original", "context_window"}
        for m in models
    )
    slim = next(m for m in models if m["id"] == "cai-llama-3-3-70b-slim")
    assert slim == {
        "id": "cai-llama-3-3-70b-slim",
        "owned_by": "multiverse_computing",
        "parameters": "28B",
        "created": 1749600000,
        "kind": "slim",
        "original": "llama-3-3-70b",
        "context_window": 131072,
    }
    assert next(m for m in models if m["id"] == "llama-3-3-70b")["kind"] == "original"
    assert "\x1b[" not in result.out


def test_base_url_option_wins_over_the_environment(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "http://127.0.0.1:1/v1")
    result = cli("models", "--json", "--base-url", live.base_url)
    assert result.code == 0, result.err


def test_bad_key_is_one_line_and_exit_1(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "wrong-key")
    result = cli("models")
    assert result.code == 1
    line = error_line(result)
    assert "API key was rejected" in line and "401" in line and "COMPACTIFAI_API_KEY" in line
    assert "wrong-key" not in line
    assert result.out == ""


def test_no_key_is_one_line_and_exit_1(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY")
    result = cli("models", "--json")
    assert result.code == 1
    assert "COMPACTIFAI_API_KEY" in error_line(result)


@pytest.mark.usefixtures("no_backoff")
def test_unreachable_server_is_one_line_and_exit_1(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "test-key")
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "http://127.0.0.1:1/v1")
    result = cli("models")
    assert result.code == 1
    line = error_line(result)
    assert "cannot reach http://127.0.0.1:1/v1" in line
    assert "gave up after 3 attempts" in line
