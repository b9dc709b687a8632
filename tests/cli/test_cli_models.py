"""``compactifai models``: the table, ``--json``, and one-line errors with exit code 1."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from compactifai.catalog import DEFAULT_CHAT_MODEL, is_slim, model_info
from compactifai.emulator import Emulator

from .conftest import Runner, error_line, served_models

pytestmark = pytest.mark.emulator


FLAGS = {
    "tools": "supports_function_calling",
    "image": "supports_image",
    "audio": "supports_audio",
    "responses": "supports_responses",
}


def _expected_flags(served: dict[str, Any]) -> dict[str, bool | None]:
    capabilities = served.get("capabilities") or {}
    flags = {name: capabilities.get(name) for name in FLAGS.values()}
    # The vendor spells this one without the s.
    flags["supports_chat_completion"] = capabilities.get("support_chat_completion")
    return flags


def _rows(out: str, ids: list[str]) -> dict[str, list[str]]:
    """The table's cells per model id (columns are separated by two spaces or more)."""
    rows = {}
    for line in out.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in ids:
            rows[cells[0]] = cells
    return rows


def test_table_lists_every_model_with_owner_parameters_kind_and_capabilities(
    cli: Runner, live: Emulator
) -> None:
    served = served_models(live)
    assert any(m.get("capabilities") for m in served), "today's catalog reports capabilities"
    result = cli("models")
    assert result.code == 0, result.err
    header = next(line for line in result.out.splitlines() if line.strip().startswith("id "))
    assert re.split(r"\s{2,}", header.strip()) == [
        "id", "owner", "params", "kind", "compressed from", "tools", "image", "audio", "responses"
    ]  # fmt: skip
    rows = _rows(result.out, [m["id"] for m in served])
    assert list(rows) == [m["id"] for m in served]
    for model in served:
        cells = rows[model["id"]]
        assert cells[1:3] == [model["owned_by"], model["parameters_number"]]
        kind = "slim" if is_slim(model["id"], model["owned_by"]) else "original"
        assert cells[3] == kind
        flags = _expected_flags(model)
        shown = {True: "yes", False: "no", None: "?"}
        assert cells[-4:] == [shown[flags[name]] for name in FLAGS.values()], model["id"]
    slim = rows[DEFAULT_CHAT_MODEL]
    assert slim[3:5] == ["slim", model_info(DEFAULT_CHAT_MODEL).original]  # compressed from


def test_json_is_plain_and_stable(cli: Runner, live: Emulator) -> None:
    served = served_models(live)
    result = cli("models", "--json")
    assert result.code == 0, result.err
    models = json.loads(result.out)
    assert [m["id"] for m in models] == [m["id"] for m in served]
    assert all(
        set(m)
        == {
            "id",
            "owned_by",
            "parameters",
            "created",
            "kind",
            "original",
            "context_window",
            "capabilities",
        }
        for m in models
    )
    for shown, model in zip(models, served, strict=True):
        assert shown["owned_by"] == model["owned_by"]
        assert shown["parameters"] == model["parameters_number"]
        assert shown["created"] == model["created"]
        assert shown["capabilities"] == (
            _expected_flags(model) if model.get("capabilities") is not None else None
        )
    default = next(m for m in models if m["id"] == DEFAULT_CHAT_MODEL)
    assert default["kind"] == "slim"
    assert default["original"] == model_info(DEFAULT_CHAT_MODEL).original
    assert default["capabilities"]["supports_function_calling"] is True
    assert "\x1b[" not in result.out


def test_flags_a_server_leaves_out_are_unknown_not_no(
    cli: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Older servers send no flags, newer ones may send some: shown as ?, null in JSON."""
    catalog = tmp_path / "models.json"
    old = {"id": "old-model", "object": "model", "created": 1, "owned_by": "meta",
           "parameters_number": "8B"}  # fmt: skip
    partly = {
        "id": "partly-described-model",
        "object": "model",
        "created": 2,
        "owned_by": "multiverse_computing",
        "parameters_number": "12B",
        "capabilities": {
            "supports_image": True,
            "support_chat_completion": True,
            "supports_function_calling": False,
        },
    }
    catalog.write_text(json.dumps({"object": "list", "data": [old, partly]}))
    with Emulator(catalog=str(catalog)) as emu:
        monkeypatch.setenv("COMPACTIFAI_BASE_URL", emu.base_url)
        monkeypatch.setenv("COMPACTIFAI_API_KEY", emu.api_key)
        table = cli("models")
        listed = cli("models", "--json")
    assert table.code == 0, table.err
    rows = _rows(table.out, ["old-model", "partly-described-model"])
    assert rows["old-model"][-4:] == ["?", "?", "?", "?"]
    assert rows["partly-described-model"][-4:] == ["no", "yes", "?", "?"]
    shown_old, shown_partly = json.loads(listed.out)
    assert shown_old["capabilities"] is None
    assert shown_partly["capabilities"] == {
        "supports_function_calling": False,
        "supports_image": True,
        "supports_audio": None,
        "supports_chat_completion": True,
        "supports_responses": None,
    }


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


def test_no_key_is_one_line_and_exit_1_before_any_request(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPACTIFAI_API_KEY")
    result = cli("models", "--json")
    assert result.code == 1
    assert "no API key: set COMPACTIFAI_API_KEY" in error_line(result)
    assert result.out == ""
    assert live.requests == []


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
