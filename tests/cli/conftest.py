"""Fixtures for the CLI tests: a live local emulator and an in-process runner.

The root conftest exports replay placeholders as ``COMPACTIFAI_*``; every test here sets or
removes them explicitly so that it tests what it means to (key set, no key, bad key...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from compactifai.cli import main
from compactifai.emulator import Emulator
from tests.emulator_fixtures import running_emulator

pytestmark = pytest.mark.emulator


@dataclass
class Result:
    code: int
    out: str
    err: str


emu = running_emulator(name="emu", scope="session", api_keys=("test-key",))


def reference_emulator(**options: Any) -> Emulator:
    """An emulator serving the reference page's catalog, usage statistics included."""
    return Emulator(catalog="reference", **options)


reference_emu = running_emulator(
    name="reference_emu", scope="session", api_keys=("test-key",), catalog="reference"
)


def _as_the_users_service(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    emu.reset()
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", emu.base_url)
    monkeypatch.setenv("COMPACTIFAI_API_KEY", emu.api_key)
    return emu


def as_a_cli_user(emu: Emulator, monkeypatch: pytest.MonkeyPatch, columns: int = 160) -> Emulator:
    """The environment of a user whose key and base URL point at ``emu``, on a plain terminal
    ``columns`` wide (so output does not wrap or colour differently from machine to machine)."""
    monkeypatch.setenv("COMPACTIFAI_BASE_URL", emu.base_url)
    monkeypatch.setenv("COMPACTIFAI_API_KEY", emu.api_key)
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("NO_COLOR", "1")
    return emu


@pytest.fixture
def reference(reference_emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Like :func:`live`, on a server that still offers usage statistics."""
    return _as_the_users_service(reference_emu, monkeypatch)


@pytest.fixture
def live(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, reset, with the environment pointing at it (as a user with a key)."""
    return _as_the_users_service(emu, monkeypatch)


@pytest.fixture(autouse=True)
def _wide_plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def served_models(emu: Emulator) -> list[dict[str, Any]]:
    """``GET /models`` as the emulator serves it, raw JSON (what the CLI must show)."""
    import httpx

    response = httpx.get(
        f"{emu.base_url}/models", headers={"authorization": f"Bearer {emu.api_key}"}
    )
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries of unreachable hosts happen, but without waiting."""
    import compactifai._client

    monkeypatch.setattr(compactifai._client, "_sleep", lambda seconds: None)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    return Runner(capsys)


class Runner:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *argv: str) -> Result:
        self.capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
            code = int(exc.code or 0)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


def error_line(result: Result) -> str:
    """The single ``error: ...`` line a failed command printed to stderr."""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: "), result.err
    assert "Traceback" not in result.err
    return lines[0]
