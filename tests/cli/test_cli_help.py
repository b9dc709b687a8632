"""Every command has ``--help`` with an example, and ``compactifai --help`` needs no extra."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compactifai.cli import COMMANDS

from .conftest import Runner

MINE = ["models", "chat", "usage", "demo", "emulator"]


@pytest.mark.parametrize("name", MINE)
def test_help_has_an_example(cli: Runner, name: str) -> None:
    result = cli(name, "--help")
    assert result.code == 0
    assert "examples:" in result.out
    assert f"compactifai {name}" in result.out.split("examples:")[1]


def test_every_registered_command_has_help(cli: Runner) -> None:
    result = cli("--help")
    assert result.code == 0
    for name, command in COMMANDS.items():
        assert name in result.out
        assert command.help


def test_no_command_prints_help_and_exits_2(cli: Runner) -> None:
    result = cli()
    assert result.code == 2
    assert "COMMAND" in result.out


def test_unknown_option_is_a_usage_error(cli: Runner) -> None:
    result = cli("models", "--nope")
    assert result.code == 2
    assert "unrecognized arguments: --nope" in result.err


def test_help_works_without_any_extra_installed() -> None:
    """Block the optional packages (as if only the core were installed) and ask for help."""
    code = (
        "import sys\n"
        "for name in ('rich', 'langchain', 'langchain_core', 'langgraph', 'llama_index',"
        " 'starlette', 'uvicorn'):\n"
        "    sys.modules[name] = None\n"
        "from compactifai.cli import main\n"
        "for argv in (['--help'], *[[c, '--help'] for c in ('models', 'chat', 'usage', 'demo')]):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, (argv, exc.code)\n"
        "sys.exit(main(['models']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "COMPACTIFAI_API_KEY": "k",
            "COMPACTIFAI_BASE_URL": "http://127.0.0.1:1/v1",
        },
    )
    assert "usage: compactifai" in done.stdout
    # Without rich, a command that needs it says how to install it, in one line.
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: this command needs 'rich': pip install 'compactifai-integrations[cli]'"
    ]
