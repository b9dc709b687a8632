"""A newcomer's first minutes (issue 17): one rule without a key, ``--version``, whole ids.

The rule: with no ``COMPACTIFAI_API_KEY``, a command that talks to the API either runs on the
bundled emulator and says so on its first line (``demo``, ``compare``), or fails at once,
before reading any input or sending anything. Tables of ids are checked piped at 80 columns
(``COLUMNS=80``), where they used to be cut to ``cai-mistr…``.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from compactifai import __version__
from compactifai._defaults import DEFAULT_BASE_URL
from compactifai.cli import COMMANDS
from compactifai.emulator import Emulator

from .conftest import Runner, error_line, served_models

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]
NO_KEY = "no API key: set COMPACTIFAI_API_KEY"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class UntouchedInput(io.StringIO):
    """Standard input that records whether a command read from it."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.read_from = False

    def readline(self, size: int | None = -1) -> str:
        self.read_from = True
        return super().readline(size)

    def read(self, size: int | None = -1) -> str:
        self.read_from = True
        return super().read(size)

    def isatty(self) -> bool:
        return True  # as at a terminal: an interactive chat would greet and wait here


@pytest.fixture
def no_key(live: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The environment of a user who has not set a key (the base URL points at ``live``)."""
    monkeypatch.delenv("COMPACTIFAI_API_KEY")
    return live


# ------------------------------------------------------------------------------ no key


@pytest.mark.parametrize(
    "argv",
    [
        ["models"],
        ["models", "--json"],
        ["usage", "--since", "1d"],
        ["chat", "Hello"],
        ["chat"],  # the interactive session: must not greet, then wait, then fail
        ["chat", "--system", "Be brief."],
    ],
)
def test_without_a_key_api_commands_fail_before_reading_input(
    cli: Runner, no_key: Emulator, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    stdin = UntouchedInput("What is a tensor network?\n")
    monkeypatch.setattr("sys.stdin", stdin)
    monkeypatch.setattr("builtins.input", lambda prompt="": stdin.readline())
    result = cli(*argv)
    assert result.code == 1
    assert NO_KEY in error_line(result)  # the one and only line on stderr: no greeting
    assert result.out == ""
    assert not stdin.read_from
    assert no_key.requests == []


def test_without_a_key_compare_runs_on_the_emulator_and_says_so_first(
    cli: Runner, no_key: Emulator
) -> None:
    result = cli(
        "compare", "--models", "cai-mistral-small-3-1-slim,mistral-small-3-1", "--json",
        "--chunk-delay", "0",
    )  # fmt: skip
    assert result.code == 0, result.err
    first = result.err.splitlines()[0]
    assert first.startswith("No COMPACTIFAI_API_KEY set: using the bundled offline emulator at ")
    assert no_key.base_url not in first  # COMPACTIFAI_BASE_URL alone does not count
    assert no_key.requests == []
    assert json.loads(result.out)["models"]


def test_without_a_key_an_explicit_base_url_fails_before_reading_the_prompts(
    cli: Runner, no_key: Emulator, tmp_path: Path
) -> None:
    """Naming a server asks for that server, which needs a key: no silent emulator."""
    missing = tmp_path / "not-there.jsonl"
    result = cli("compare", "--base-url", no_key.base_url, "--prompts", str(missing))
    assert result.code == 1
    assert NO_KEY in error_line(result)
    assert no_key.requests == []


def test_without_a_key_demo_with_an_explicit_base_url_fails_at_once(
    cli: Runner, no_key: Emulator
) -> None:
    result = cli("demo", "--base-url", no_key.base_url)
    assert result.code == 1
    assert NO_KEY in error_line(result)
    assert result.out == ""


def test_help_states_the_rule(cli: Runner) -> None:
    result = cli("--help")
    assert "Without it, `demo` and `compare` run on the" in result.out
    assert "stops at once" in result.out


def test_the_readme_says_what_each_command_does_without_a_key() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Without an API key", 1)[1].split("\n#", 1)[0]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `compactifai (\w+)[^`]*` \| (.+) \|$", section, re.MULTILINE)
    }
    assert set(COMMANDS) <= set(rows)  # every registered command is there
    for name in ("demo", "compare"):
        assert "bundled offline emulator" in rows[name]
    for name in set(COMMANDS) - {"demo", "compare", "emulator"}:
        assert "fails at once" in rows[name], name


# ------------------------------------------------------------------------------ --version


def test_version_shows_the_package_version_and_the_base_url(
    cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMPACTIFAI_BASE_URL", raising=False)
    monkeypatch.delenv("COMPACTIFAI_API_KEY", raising=False)
    result = cli("--version")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == f"compactifai {__version__}"
    assert lines[1] == f"API base URL: {DEFAULT_BASE_URL} (default)"
    assert lines[2].startswith("API key: not set")

    monkeypatch.setenv("COMPACTIFAI_BASE_URL", "http://127.0.0.1:8080/v1/")
    monkeypatch.setenv("COMPACTIFAI_API_KEY", "secret-key-value")
    result = cli("--version")
    assert result.out.splitlines()[1:] == [
        "API base URL: http://127.0.0.1:8080/v1 (COMPACTIFAI_BASE_URL)",
        "API key: set (COMPACTIFAI_API_KEY)",
    ]
    assert "secret-key-value" not in result.out


# ------------------------------------------------------------------------------ whole ids


def _ids_and_owners(emu: Emulator) -> tuple[list[str], list[str]]:
    served = served_models(emu)
    return [m["id"] for m in served], sorted({m["owned_by"] for m in served})


def test_piped_models_table_at_80_columns_keeps_ids_and_owners_whole(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    ids, owners = _ids_and_owners(live)
    result = cli("models")
    assert result.code == 0, result.err
    assert "…" not in result.out
    lines = result.out.splitlines()
    assert max(len(line) for line in lines) > 80  # the table needed more: it got it
    for model_id in ids:
        [row] = [line for line in lines if line.split() and line.split()[0] == model_id]
        assert any(owner in row.split() for owner in owners)


def test_models_table_on_an_80_column_terminal_folds_instead_of_cutting(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats the captured stdout as a terminal
    ids, _ = _ids_and_owners(live)
    result = cli("models")
    assert result.code == 0, result.err
    assert "…" not in result.out
    lines = [ANSI.sub("", line) for line in result.out.splitlines()]
    assert max(len(line) for line in lines) <= 80
    # The id column, read top to bottom, holds every id in full (folded over lines).
    body = lines[lines.index(next(x for x in lines if set(x.strip()) == {"─"})) + 1 :]
    width = len(body[0]) - len(body[0].lstrip()) + len(body[0].split()[0])
    column = "".join(line[:width].strip() for line in body)
    assert column == "".join(ids)


def test_piped_compare_tables_at_80_columns_keep_ids_whole(
    cli: Runner, live: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    chat = [
        m["id"]
        for m in served_models(live)
        if (m.get("capabilities") or {}).get("support_chat_completion") is not False
    ]
    longest = sorted(chat, key=len)[-2:]
    result = cli("compare", "--models", ",".join(longest), "--chunk-delay", "0")
    assert result.code == 0, result.err
    assert "…" not in result.out
    lines = result.out.splitlines()
    for model_id in longest:
        assert any(line.split()[:1] == [model_id] for line in lines)  # Models table
    agreement = lines[[line.strip() for line in lines].index("Agreement") :]
    assert any(
        line.split()[:2] == longest[::-1] or line.split()[:2] == longest for line in agreement
    )
